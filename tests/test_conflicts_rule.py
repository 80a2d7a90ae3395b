"""conflicts.why answers as the give-away rule reads (issue 14; the module's docstring), over every
pair of the shipped bank's questions and of questions made to conflict in each declared way: the
sets it keeps per question (a variant's draw asks about 900 pairs) change no answer."""

from __future__ import annotations

from dataclasses import replace

from examgen import bank, conflicts
from examgen.model import McItem, Template


def rule(a: Template | McItem, b: Template | McItem) -> str | None:
    """The rule written out, independently of conflicts.py: a names b (its id or tags/asks) in
    conflicts_with:, or b names a; or an item is tagged with a tag the template asks."""
    def names(q: Template | McItem) -> list[str]:
        return [q.id, *(q.asks if isinstance(q, Template) else q.tags)]

    def kind(q: Template | McItem) -> str:
        return "template" if isinstance(q, Template) else "multiple-choice item"

    if a is b:
        return None
    for x, y in ((a, b), (b, a)):
        hit = sorted(c for c in set(x.conflicts_with) if c in names(y))
        if hit:
            return f"{kind(x)} '{x.id}' declares conflicts_with: {hit[0]} ({kind(y)} '{y.id}')"
    for item, t in ((a, b), (b, a)):
        if isinstance(item, McItem) and isinstance(t, Template):
            shared = sorted(tag for tag in set(item.tags) if tag in t.asks)
            if shared:
                return f"multiple-choice item '{item.id}' is tagged '{shared[0]}', which template '{t.id}' asks"
    return None


def test_why_answers_as_the_rule_for_every_pair_of_the_bank() -> None:
    loaded = bank.load_bank()
    questions = [*(loaded.templates[t] for t in sorted(loaded.templates)), *loaded.mc.values()]
    clashes = 0
    for a in questions:
        for b in questions:
            expected = rule(a, b)
            assert conflicts.why(a, b) == expected, (a.id, b.id)
            clashes += expected is not None
    assert clashes > 20  # the shipped bank declares give-aways (tags a template asks, conflicts_with:)


def test_why_answers_as_the_rule_for_each_declared_way() -> None:
    loaded = bank.load_bank()
    t = loaded.templates["init_variance"]
    other = loaded.templates["bce_loss"]
    item = next(iter(loaded.mc.values()))
    cases = [
        (replace(item, conflicts_with=("init_variance",), tags=()), t),  # an item names a template's id
        (replace(item, conflicts_with=(), tags=tuple(t.asks[:1])), t),  # tagged with what the template asks
        (replace(other, conflicts_with=(t.asks[0],)), t),  # a template names another's asks: tag
        (replace(other, conflicts_with=("nothing-here",)), t),  # names nothing of it: no clash
        (replace(item, conflicts_with=(), tags=("x",)), replace(item, id="other-item", tags=("x",))),  # items only
        (replace(other, asks=("same",)), replace(t, asks=("same",))),  # two templates asking alike: no rule
    ]
    for a, b in cases:
        for x, y in ((a, b), (b, a)):
            assert conflicts.why(x, y) == rule(x, y), (x.id, y.id)
    assert [conflicts.why(a, b) is not None for a, b in cases] == [True, True, True, False, False, False]
    # a question edited (a new object with the same id, as a reloaded bank has): answered from its own sets
    first = replace(item, conflicts_with=(), tags=())
    assert conflicts.why(first, t) is None
    assert conflicts.why(replace(first, tags=tuple(t.asks[:1])), t) is not None
