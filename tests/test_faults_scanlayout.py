"""Issue 16, "Layout" (helper scanlayout): faults of the booklet stamping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from faults import Row, run_row

from examgen import ROOT

QUIZ = ROOT / "exams" / "quiz.yaml"
REAL_QPDF = shutil.which("qpdf") or "qpdf"


def _qpdf_fails_to_overlay(tmp: Path) -> None:
    """A qpdf on PATH that fails the stamping runs (--overlay) and runs every other one."""
    fake = tmp / "bin" / "qpdf"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\ncase "$*" in *--overlay*) echo "qpdf: disk on fire" >&2; exit 2;; esac\n'
                    f'exec {REAL_QPDF} "$@"\n')
    fake.chmod(0o755)


ROWS = [
    Row("stamping the codes fails: nothing written", "E0001/solution.pdf: stamping the scan codes failed "
        "(qpdf failed: qpdf: disk on fire); check that qpdf works (qpdf --version)", 1, out="untouched",
        args=("build", str(QUIZ), "-o", "{out}", "--booklets", "3"), setup=_qpdf_fails_to_overlay,
        env={"PATH": f"{{tmp}}/bin:{os.environ.get('PATH', '')}"}),
]


@pytest.mark.pdf
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
