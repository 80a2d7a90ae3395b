"""Graded answers are declared once, in question.yaml: `examgen check` fails on a template
whose declarations and solver or statement disagree, and the loader refuses declarations
that cannot be right. Each case edits a copy of the shipped class_imbalance (a numeric
answer rounded to 2 decimals, a text answer) in an instructor's bank."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from faults import bank_template

DECL = ('      - {name: majority_accuracy_percent, label: "accuracy of always predicting the majority class (\\\\%)", '
        'kind: number, round: 2, points: 0.5}')


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examgen", "check", "--draws", "5", "--compile", "0",
                           "--bank", str(tmp / "bank"), "-t", "t1", *args], capture_output=True, text=True)


def test_the_copy_passes(tmp_path: Path) -> None:
    bank_template("t1")(tmp_path)
    q = (tmp_path / "bank" / "data" / "t1" / "question.yaml").read_text()
    assert DECL in q and RUBRIC_KEY in q  # the edits below find what they change
    res = run(tmp_path)
    assert res.returncode == 0, res.stderr


RUBRIC_KEY = "already reaches << majority_accuracy_percent|num(2) >>\\\\%"
SOLUTION_KEY = "= << majority_accuracy_percent|num(2) >>\\,\\%"


def hide_from_solution(tmp: Path) -> None:
    """The solution block of the copy no longer shows the key."""
    so = tmp / "bank" / "data" / "t1" / "solution.tex.j2"
    assert SOLUTION_KEY in so.read_text()
    so.write_text(so.read_text().replace(SOLUTION_KEY, ""))


CHECK_FAILS: list[tuple[str, Callable[[str], str], Callable[[str], str], str]] = [
    ("rounding drift", lambda q: q.replace("round: 2", "round: 3"), lambda s: s,
     "graded answer 'majority_accuracy_percent' of part a) is declared rounded to 3 decimals but the statement of "
     "a) asks for 2 decimals; say the rounding in the statement"),
    ("statement silent", lambda q: q, lambda s: s.replace(" Give it in percent, rounded to 2 decimals.", ""),
     "is declared rounded to 2 decimals but the statement of a) asks for no rounding"),
    # no longer declared, and neither rubric nor solution reads it: the solver returns a value nobody uses
    ("undeclared and unused", lambda q: q.replace(DECL, '      - {label: "accuracy", kind: text, points: 0.5}')
     .replace(RUBRIC_KEY, "already reaches a high"), lambda s: s,
     "the solver data.class_imbalance returns 'majority_accuracy_percent', which no text reads"),
    ("not on the solution sheet", lambda q: q.replace(RUBRIC_KEY, "already reaches a high"), lambda s: s,
     "graded answer 'majority_accuracy_percent' of part a) is shown neither in the solution's block a nor in its "
     "rubric"),
]


@pytest.mark.parametrize("case", CHECK_FAILS, ids=[c[0] for c in CHECK_FAILS])
def test_check_fails(case, tmp_path: Path) -> None:
    name, question, statement, fragment = case
    bank_template("t1", statement=statement, question=question)(tmp_path)
    if name in ("undeclared and unused", "not on the solution sheet"):
        hide_from_solution(tmp_path)
    res = run(tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    fails = [line for line in res.stderr.splitlines() if line.startswith("FAIL")]
    assert fails and all(fragment in f for f in fails), res.stderr


LOAD_FAILS: list[tuple[str, Callable[[str], str], str]] = [
    ("points", lambda q: q.replace("kind: number, round: 2, points: 0.5", "kind: number, round: 2, points: 1"),
     "part 'a': graded answers' points add up to 1.5 but the part has 1 credits; make them equal"),
    ("tolerance", lambda q: q.replace("round: 2, points", "round: 2, tolerance: 0.05, points"),
     "tolerance 0.05 for an answer rounded to 2 decimals must be above 0.005 (the rounding alone) and at most 0.02"),
    ("no name", lambda q: q.replace("{name: majority_accuracy_percent, ", "{"),
     "a graded answer of kind 'number' needs 'name:'"),
    ("not returned", lambda q: q.replace("name: majority_accuracy_percent", "name: accuracy"),
     "part a) graded answer 'accuracy': the solver data.class_imbalance does not return it"),
    ("choice without choices", lambda q: q.replace("kind: number, round: 2", "kind: choice"),
     "a graded answer of kind 'choice' needs 'choices: [...]'"),
]


@pytest.mark.parametrize("case", LOAD_FAILS, ids=[c[0] for c in LOAD_FAILS])
def test_bad_declarations_are_one_line(case, tmp_path: Path) -> None:
    _, question, fragment = case
    bank_template("t1", question=question)(tmp_path)
    res = run(tmp_path)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode in (1, 2) and "Traceback" not in res.stderr
    assert any(fragment in line for line in lines), res.stderr


def test_a_checker_must_accept_the_solvers_own_answer() -> None:
    """kind checker: every solve runs the declared `accepts` on the solver's key, so a key
    the checker refuses (here the XOR network with its output neuron's signs flipped) fails."""
    import copy

    from examgen.bank import load_bank
    from examgen.errors import TemplateError
    from examgen.questions import check_graded, solve_question
    from examgen.sampling import derive_seed

    t = load_bank().templates["xor_threshold_network"]
    q = solve_question(t, derive_seed(3, 1, t.id))
    check_graded(t, q.parts, q.answers, q.params)  # the solver's own network passes
    wrong = copy.deepcopy(q.answers)
    wrong["network"][2] = [-x for x in wrong["network"][2]]
    with pytest.raises(TemplateError, match="mlp.check_xor_table refuses the solver's own answer"):
        check_graded(t, q.parts, wrong, q.params)
