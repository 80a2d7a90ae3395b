"""Issue 14, "Layout faults found by looking at the PDFs" (helper layoutfix): the faults
that are a user's input: a credits override whose rubric cannot be scaled in halves, and
a template whose solution would be shrunk below 7 pt to fit its answer area."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import error_lines
from faults import BANK, Row, fill, problems, run_row

from examgen import ROOT
from examgen.cli import main


def long_solution(tmp: Path) -> None:
    """class_imbalance as tmp/bank's long_solution, with part a)'s solution ten times as long
    as its 30 mm answer area holds."""
    dst = tmp / "bank" / "data" / "long_solution"
    shutil.copytree(ROOT / "question_bank" / "data" / "class_imbalance", dst)
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: long_solution"))
    so = dst / "solution.tex.j2"
    so.write_text(so.read_text().replace("<% block a %>", "<% block a %>" + "A long explanation. " * 300, 1))


ROWS = [
    # training_fundamentals a) has 1 credit in two 0.5-point rubric items; at 3 credits (f = 0.5) the
    # part has 0.5 credits and the items 0.25 each: in halves one of them would get nothing
    Row("credits-override-leaves-a-rubric-item-0-points",
        "{spec}:16:5: problems[0].credits: credits 3 for template 'training_fundamentals' would give rubric item 2 "
        "of part a) 0 points (0.25 rounded to halves, as the score boxes and grade count); totals that scale "
        "evenly: 6, 9, 12, 15, 18, 21", 2,
        spec=problems("  - template: training_fundamentals\n    credits: 3\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)


def test_solution_that_would_shrink_below_7pt_fails_the_build(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A LaTeX build failure: one line naming the variant, part, template and the answer_height
    the part needs; no output (a failed compile leaves its diagnostics folder, by design)."""
    (tmp_path / "exam.yaml").write_text(problems("  - template: long_solution\n"))
    long_solution(tmp_path)
    code = main([fill(a, tmp_path) for a in BANK])
    lines = error_lines(capsys.readouterr().err)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("examgen: error: variant E0001 (solution): LaTeX error: Class examgentum Error: "
                               "solution of part a) shrinks below 7 pt in its 30 mm answer area; give the part "
                               "answer_height: ")
    assert "(mm) in question.yaml or shorten the solution. in problem 1 (template long_solution)" in lines[0]
    assert not (tmp_path / "out").exists()
