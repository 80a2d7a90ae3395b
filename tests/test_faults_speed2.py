"""Issue 18, "The last factor of two" (helper speed2): faults of the stamping and joining
that now overlap other work (the stamping runs in the compiler's pool as each batch is
built; print/ is joined while the records are written)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faults import Row, qpdf_fails_on, run_row

from examgen import ROOT

QUIZ = ROOT / "exams" / "quiz.yaml"


ENV = {"PATH": f"{{tmp}}/bin:{os.environ.get('PATH', '')}"}
ROWS = [
    Row("joining the booklets fails while the records are written: nothing written",
        "print/all-students.pdf: stamping the scan codes failed (qpdf failed: qpdf: disk on fire); "
        "check that qpdf works (qpdf --version)", 1, out="untouched",
        args=("build", str(QUIZ), "-n", "2", "-o", "{out}", "--booklets", "3"),
        setup=qpdf_fails_on("*all-students*"), env=ENV),
    Row("joining the solutions fails: nothing written", "qpdf failed: qpdf: disk on fire", 1, out="untouched",
        args=("build", str(QUIZ), "-n", "2", "-o", "{out}"), setup=qpdf_fails_on("*all-solutions*"), env=ENV),
    Row("stamping a batch of variants fails while compiling: nothing written",
        "E0001/solution.pdf: stamping the scan codes failed (qpdf failed: qpdf: disk on fire); "
        "check that qpdf works (qpdf --version)", 1, out="untouched",
        args=("build", str(QUIZ), "-n", "2", "-o", "{out}", "--booklets", "3"),  # (one per variant: nothing stamped)
        setup=qpdf_fails_on("*--overlay*--split-pages*"), env=ENV),
]


@pytest.mark.pdf
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
