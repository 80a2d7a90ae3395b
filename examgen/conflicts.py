"""Give-aways: which questions must never share a variant.

A template declares the quantities it asks as topic tags (`asks: [init-variance]`), a
multiple-choice item what it is about (`tags: [init-variance]`); an item tagged with a tag
that a template asks gives that template's answer away. Either side may also name the other
in `conflicts_with:` (a template id, an MC item id or a tag). `questions.pick` and
`questions.draw_mc` never place two conflicting questions in one variant, and `examgen check`
reports an item whose text names a template's asked quantity without a declared conflict."""

from __future__ import annotations

import difflib
import re
from typing import NamedTuple

from .errors import TemplateError
from .model import McItem, Template

Question = Template | McItem


def names(q: Question) -> set[str]:
    """What `conflicts_with:` can name of a question: its id and its tags."""
    return {q.id, *(q.asks if isinstance(q, Template) else q.tags)}


def _kind(q: Question) -> str:
    return "template" if isinstance(q, Template) else "multiple-choice item"


class _Sets(NamedTuple):
    """What the rule reads of one question, as sets."""

    question: Question
    wants: frozenset[str]  # its conflicts_with:
    names: frozenset[str]  # names(question)
    own: frozenset[str]  # its asks: (a template) or tags: (an item)
    item: bool  # a multiple-choice item


def _sets(q: Question) -> _Sets:
    return _Sets(q, frozenset(q.conflicts_with), frozenset(names(q)),
                 frozenset(q.asks if isinstance(q, Template) else q.tags), isinstance(q, McItem))


# (a, b, why(a, b)) by (id(a), id(b)), computed once per pair: a variant's draw asks about the same 900
# pairs as every other's (the pair is kept: neither id is reused while it is here)
_WHY: dict[tuple[int, int], tuple[Question, Question, str | None]] = {}


def why(a: Question, b: Question) -> str | None:
    """Why a and b must not share a variant (None: they may)."""
    if a is b:
        return None
    key = (id(a), id(b))
    found = _WHY.get(key)
    if found is None or found[0] is not a or found[1] is not b:
        if len(_WHY) > 200_000:  # (questions of many banks in one process: start over)
            _WHY.clear()
        found = _WHY[key] = (a, b, _why(a, b))
    return found[2]


def _why(a: Question, b: Question) -> str | None:
    sa, sb = _sets(a), _sets(b)
    for x, y in ((sa, sb), (sb, sa)):
        hit = x.wants & y.names
        if hit:
            return (f"{_kind(x.question)} '{x.question.id}' declares conflicts_with: {min(hit)} "
                    f"({_kind(y.question)} '{y.question.id}')")
    for item, t in ((sa, sb), (sb, sa)):
        shared = item.own & t.own if item.item and not t.item else None
        if shared:
            return (f"multiple-choice item '{item.question.id}' is tagged '{min(shared)}', which template "
                    f"'{t.question.id}' asks")
    return None


def validate(templates: dict[str, Template], mc: dict[str, McItem]) -> None:
    """Every `conflicts_with:` entry names a template, an MC item or a tag of the bank."""
    known = set(templates) | set(mc) | {t for q in templates.values() for t in q.asks} | {
        t for it in mc.values() for t in it.tags}
    questions: list[Question] = [*templates.values(), *mc.values()]
    for q in questions:
        for entry, where in zip(q.conflicts_with, q.conflicts_at):
            if entry == q.id:
                raise TemplateError(f"{where}: conflicts_with: '{entry}' is this {_kind(q)} itself; name another "
                                    "question")
            if entry not in known:
                close = difflib.get_close_matches(entry, sorted(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise TemplateError(f"{where}: conflicts_with: '{entry}' is no template id, multiple-choice item id "
                                    f"or tag (asks:/tags:) of the bank{hint}")


# ------------------------------------------------------------------ the check's heuristic
def _plain(tex: str) -> str:
    """LaTeX reduced to what a reader sees: no $, braces, font commands or spaces; lower case."""
    tex = re.sub(r"\\(mathrm|mathbf|text|operatorname|boldsymbol|left|right|big|Big)\b", "", tex)
    return re.sub(r"[\s${}\\,;!]", "", tex).lower()


def asked_phrases(t: Template) -> list[str]:
    """What a template's statement asks, as an MC item would say it: the labels of its graded
    numeric answers (plain, at least 4 characters with a bracket: 'var(w)', not 'y') and its
    `asks:` tags read as words ('xavier-init' -> 'xavier init')."""
    out = []
    for p in t.parts:
        for a in p.answers:
            label = _plain(a.label)
            if a.numeric and len(label) >= 4 and "(" in label and len(label) <= 24:
                out.append(label)
    return out + [tag.replace("-", " ").replace("_", " ") for tag in t.asks]


def giveaways(templates: dict[str, Template], mc: dict[str, McItem]) -> list[str]:
    """`examgen check`'s heuristic: an MC item whose stem or options (what the student reads;
    the reasons are printed in the solution only) name what a template asks (a graded
    answer's label, or an `asks:` tag as words, at a word start)
    without a declared conflict between the two. One line each."""
    fails = []
    for item in mc.values():
        seen = " ".join([item.stem, *(o.text for o in item.options)])  # the student's text (reasons: solution only)
        plain = _plain(seen)
        words = " ".join(re.sub(r"\\[a-zA-Z]+|[^a-zA-Z0-9]+", " ", seen).lower().split())
        for t in templates.values():
            if why(item, t):
                continue
            for phrase in asked_phrases(t):
                found = phrase in plain if "(" in phrase else re.search(rf"\b{re.escape(phrase)}", words)
                if found:
                    fails.append(f"multiple-choice item '{item.id}' (mc/{item.topic}.yaml) names '{phrase}', which "
                                 f"template '{t.id}' asks, without a declared conflict: a variant may hold both; "
                                 f"tag the item with one of the template's asks: ({', '.join(t.asks) or 'none'}) or "
                                 f"add conflicts_with: [{t.id}]")
                    break
    return fails
