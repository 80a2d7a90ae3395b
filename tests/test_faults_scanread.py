"""Fault rows of `examgen scan` (issue 16): bad scan files, a folder that is not a build,
an --out examgen did not write, a bad threshold. Nothing is written in any of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faults import Row, run_row

ANSWERS = {"version": 2, "variant": "E0001", "exam": {"title": "t"}, "credits": 2.0, "pages": 2,
           "questions": [{"problem": 1, "type": "mc", "title": "MC", "credits": 2.0,
                          "items": [{"label": "a", "id": "x", "credits": 2.0,
                                     "options": [{"text": "yes"}, {"text": "no"}], "correct_boxes": [1]}]}]}
LAYOUT = {"version": 1, "page_size_mm": [210, 297],
          "pages": [{"page": 1, "marks": [{"x": 14, "y": 14, "d": 3.5}], "qr": {"x": 188, "y": 275, "w": 10, "h": 10},
                     "mc_boxes": [{"column": "P1a", "box": 1, "x": 30, "y": 50, "w": 3.5, "h": 3.5}],
                     "score_boxes": [], "answer_regions": []}]}


def build(tmp: Path, layout: bool = True) -> None:
    """A minimal build folder: one variant's answers.json (and layout.json)."""
    (tmp / "build" / "E0001").mkdir(parents=True)
    (tmp / "build" / "E0001" / "answers.json").write_text(json.dumps(ANSWERS))
    if layout:
        (tmp / "build" / "E0001" / "layout.json").write_text(json.dumps(LAYOUT))
    (tmp / "build" / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "kind": "build", "files": {}}))


def with_file(name: str, data: bytes, layout: bool = True):
    def setup(tmp: Path) -> None:
        build(tmp, layout)
        (tmp / name).write_bytes(data)
    return setup


SCAN = ("scan", "{tmp}/build", "{tmp}/scan.pdf", "-o", "{out}")
ROWS = [
    Row("unreadable-pdf", "{tmp}/scan.pdf: cannot read it as a scan (a PDF or PNG/JPEG/TIFF image)", 2,
        args=SCAN, setup=with_file("scan.pdf", b"%PDF-1.4 this is not a PDF\n")),
    Row("unreadable-image", "{tmp}/scan.png: cannot read it as a scan", 2,
        args=("scan", "{tmp}/build", "{tmp}/scan.png", "-o", "{out}"), setup=with_file("scan.png", b"\x89PNG broken")),
    Row("not-an-image", "{tmp}/notes.txt: not a PDF or image", 2,
        args=("scan", "{tmp}/build", "{tmp}/notes.txt", "-o", "{out}"), setup=with_file("notes.txt", b"hello")),
    Row("missing-scan", "{tmp}/scan.pdf: no such scan file; give PDFs or images of the scanned pages", 2,
        args=SCAN, setup=lambda tmp: build(tmp)),
    Row("not-a-build", "not an examgen build folder", 2,
        args=("scan", "{tmp}/user", "{tmp}/scan.pdf", "-o", "{out}"), setup=with_file("scan.pdf", b"%PDF")),
    Row("build-without-layout", "no E0001/layout.json; the build is older than scanning", 2,
        args=SCAN, setup=with_file("scan.pdf", b"%PDF", layout=False)),
    Row("foreign-out", "{out}: an examgen build folder, not a grading folder", 2, out="untouched",
        args=SCAN, setup=with_file("scan.pdf", b"%PDF")),
    Row("bad-threshold", "--set mark=dark: not NAME=NUMBER with NAME one of mark, mark_band", 2,
        args=(*SCAN, "--set", "mark=dark"), setup=with_file("scan.pdf", b"%PDF")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
