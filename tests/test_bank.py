"""The whole bank, every template over many seeded draws: constraints hold,
answers are finite, statement/solution/rubric render, variants differ.
(R/exams' stresstest_exercise, PrairieLearn's 'test every question'.)"""

from __future__ import annotations

import json
import math

import pytest

from examgen import solvers
from examgen.bank import load_bank
from examgen.layouts import SOLUTION, STUDENT
from examgen.layouts.tum import render_mc_body, render_question_body
from examgen.model import McProblem
from examgen.questions import draw_mc, solve_question
from examgen.sampling import derive_seed

BANK = load_bank()
DRAWS = 200


def finite(x) -> bool:
    if isinstance(x, list):
        return all(finite(v) for v in x)
    if isinstance(x, bool) or isinstance(x, str):
        return True
    return math.isfinite(x)


@pytest.mark.parametrize("tid", sorted(BANK.templates))
def test_template_over_many_draws(tid: str) -> None:
    t = BANK.templates[tid]
    seen = set()
    for n in range(1, DRAWS + 1):
        q = solve_question(t, derive_seed(2026, n, tid))
        for c in t.draw_constraints:
            assert solvers.resolve(c)(q.params), (tid, n, c)
        assert finite(list(q.answers.values())), (tid, n)
        json.dumps(q.answers)  # JSON numbers and nested lists only
        assert abs(sum(r["points"] for r in q.rubric) - t.credits) < 1e-9
        if n <= 20:  # rendering is slower: a sample of draws
            for version in (STUDENT, SOLUTION):
                body = "".join(render_question_body(q, version))
                assert "\\egsubproblem" in body
                assert ("\\eggradingnotes" in body) == (version == SOLUTION)
        seen.add(json.dumps(q.params, sort_keys=True))
    assert len(seen) >= 30 if t.kind == "numeric" else len(seen) >= 10  # enough variety for 30 variants


def test_mc_pool_is_valid_and_draws_shuffle() -> None:
    assert len(BANK.mc) >= 8
    sources = {it.source.split()[1] for it in BANK.mc.values() if it.source.startswith("seed")}
    assert len(sources) >= 3
    for it in BANK.mc.values():
        assert len(it.options) >= 4
        assert all(o.why.strip() for o in it.options)
    p = McProblem(count=8)
    a = draw_mc(p, BANK, derive_seed(1, 1, "mc"))
    b = draw_mc(p, BANK, derive_seed(1, 1, "mc"))
    c = draw_mc(p, BANK, derive_seed(1, 2, "mc"))
    assert a == b and a != c
    assert all(len(d.options) == 4 for d in a.items)
    assert len({d.item.id for d in a.items}) == 8
    body = "".join(render_mc_body(a))
    assert body.count("\\egmcitem") == 8 and body.count("\\egmcoption") == 32


def test_adding_a_problem_never_changes_the_others() -> None:
    """Seeds are keyed by template id and occurrence, not by position."""
    t = BANK.templates["batchnorm_forward"]
    alone = solve_question(t, derive_seed(5, 3, "batchnorm_forward", 0))
    again = solve_question(t, derive_seed(5, 3, "batchnorm_forward", 0))
    assert alone.params == again.params
    second = solve_question(t, derive_seed(5, 3, "batchnorm_forward", 1))
    assert second.params != alone.params
    import pathlib
    import tempfile

    from examgen import ROOT
    from examgen.questions import build_variant
    from examgen.spec import load_spec
    base = (ROOT / "exams" / "quiz.yaml").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        a, b = pathlib.Path(tmp) / "a.yaml", pathlib.Path(tmp) / "b.yaml"
        a.write_text(base)
        b.write_text(base.replace("problems:\n", "problems:\n  - template: cnn_shapes\n"))
        va = build_variant(load_spec(a, BANK), BANK, 7, 1)
        vb = build_variant(load_spec(b, BANK), BANK, 7, 1)
    assert len(vb.questions) == len(va.questions) + 1
    for qa, qb in zip(va.questions, vb.questions[1:]):
        assert qa == qb
