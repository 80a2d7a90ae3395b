"""Issue 13, "The layout is one unit" (helper layouts): an exam spec's `layout:` names a
folder of examgen/layouts/; anything else is one line naming the file, line and the
valid layouts, before anything is sampled or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from faults import GOOD, Row, run_row

ROWS = [
    Row("layout-unknown", "{spec}:1:1: layout: unknown layout 'x'; valid: plain, tum", 2,
        spec="layout: x\n" + GOOD),
    Row("layout-wrong-case", "{spec}:1:1: layout: unknown layout 'TUM'; valid: plain, tum", 2,
        spec="layout: TUM\n" + GOOD),
    Row("layout-not-a-string", "layout: found ['plain'], expected string", 2,
        spec=GOOD + "layout: [plain]\n"),
    Row("layout-unknown-keeps-a-previous-build", "{spec}:1:1: layout: unknown layout 'plainer'; valid: plain, tum",
        2, out="untouched", spec="layout: plainer\n" + GOOD),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
