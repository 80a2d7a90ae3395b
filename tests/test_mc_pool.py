"""The multiple-choice pool as a whole: size, seed coverage, well-formed items
(true and false options in every pool, unique stems and options, an explanation
per option, LaTeX-safe text) and reproducible, seed-dependent draws."""

from __future__ import annotations

import difflib
import re

from examgen.bank import load_bank
from examgen.model import McProblem
from examgen.questions import draw_mc
from examgen.sampling import derive_seed

BANK = load_bank()
ITEMS = list(BANK.mc.values())


def _norm(s: str) -> str:
    """Lower case, LaTeX commands and everything but letters/digits removed."""
    s = re.sub(r"\\[a-zA-Z]+", " ", s.lower())
    return " ".join(re.findall(r"[a-z0-9]+", s))


def test_pool_size() -> None:
    assert len(ITEMS) >= 45


def test_all_five_seeds_are_sources() -> None:
    seeds = {m for it in ITEMS for m in re.findall(r"seed (\d{3})", it.source)}
    assert {"000", "001", "002", "003", "004"} <= seeds
    assert all(re.search(r"seed \d{3}|issue \d+", it.source) for it in ITEMS), \
        "every item names its seed question (or, for a topic no seed has, the issue that added it)"


def test_every_item_has_true_and_false_options() -> None:
    for it in ITEMS:
        assert len(it.options) >= 4, it.id
        assert any(o.correct for o in it.options), f"{it.id}: no true option"
        assert not all(o.correct for o in it.options), f"{it.id}: no false option"


def test_stems_unique_after_normalization() -> None:
    stems = [_norm(it.stem) for it in ITEMS]
    dupes = {s for s in stems if stems.count(s) > 1}
    assert not dupes


def test_no_near_duplicate_stems() -> None:
    """Generic 'Which statements about X are true?' stems score about 0.82; copies score above 0.9."""
    stems = [(it.id, _norm(it.stem)) for it in ITEMS]
    for i, (a, sa) in enumerate(stems):
        for b, sb in stems[i + 1:]:
            assert difflib.SequenceMatcher(None, sa, sb).ratio() < 0.9, (a, b)


def test_option_texts_unique_within_item() -> None:
    for it in ITEMS:
        texts = [" ".join(o.text.lower().split()) for o in it.options]
        assert len(set(texts)) == len(texts), it.id


def test_every_why_non_empty() -> None:
    for it in ITEMS:
        for o in it.options:
            assert o.why.strip(), (it.id, o.text)


def test_latex_special_characters_escaped() -> None:
    """%, &, #, _ outside maths must be escaped (& inside bmatrix is fine)."""
    for it in ITEMS:
        for s in [it.stem] + [f for o in it.options for f in (o.text, o.why)]:
            text = re.sub(r"\$[^$]*\$", "", s)  # drop inline maths
            assert s.count("$") % 2 == 0, (it.id, s)
            assert not re.search(r"(?<!\\)[%&#_]", text), (it.id, s)


def test_draws_reproducible_and_seed_dependent() -> None:
    p = McProblem(count=20)
    a = draw_mc(p, BANK, derive_seed(3, 1, "mc"))
    b = draw_mc(p, BANK, derive_seed(3, 1, "mc"))
    c = draw_mc(p, BANK, derive_seed(3, 2, "mc"))
    assert a == b
    assert a != c
    assert len({d.item.id for d in a.items}) == 20
    assert all(len(d.options) == 4 for d in a.items)
