"""Issue 16, "Layout" (helper scanlayout): faults of the booklet stamping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faults import Row, qpdf_fails_on, run_row

from examgen import ROOT

QUIZ = ROOT / "exams" / "quiz.yaml"


ROWS = [
    Row("stamping the codes fails: nothing written", "E0001/solution.pdf: stamping the scan codes failed "
        "(qpdf failed: qpdf: disk on fire); check that qpdf works (qpdf --version)", 1, out="untouched",
        args=("build", str(QUIZ), "-o", "{out}", "--booklets", "3"), setup=qpdf_fails_on("*--overlay*"),
        env={"PATH": f"{{tmp}}/bin:{os.environ.get('PATH', '')}"}),
]


@pytest.mark.pdf
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
