"""The cover's registration-number grid (exam.registration_grid): typeset into the TUM cover and
layout.json, read by examgen scan from simulated booklets (tests/scansim.py) and mapped to the
class list; unclear reads, numbers outside the class list and human mappings are left to people."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import scansim
from conftest import pdftotext

from examgen import ROOT
from examgen.cli import main
from examgen.pipeline import build_exam
from examgen.scan.layout import load_layouts

INSTRUCTION = "Cross your registration number, one box per column."
UNCLEAR = "0370?039"  # B003: no cross in column 5
DOUBLE = "037*4052"  # B004 in the double-cross test: two crosses in column 4


@pytest.fixture(scope="module")
def grid(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The pinned quiz with registration_grid: true, 2 variants, 4 booklets, filled from a ground
    truth (B003's registration with an empty column 5) and scanned at 200 dpi."""
    folder = tmp_path_factory.mktemp("regbox")
    text = (quiz_build.parent / "quiz.yaml").read_text()
    spec = folder / "quiz.yaml"
    spec.write_text(text.replace("  language: en\n", "  language: en\n  registration_grid: true\n"))
    assert "registration_grid: true" in spec.read_text()
    build = folder / "quiz"
    build_exam(spec, None, 2, build, booklets=4)
    layouts = load_layouts(build)
    rng = np.random.default_rng(171)
    truth = scansim.random_truth(layouts, 4, rng)
    truth[2].registration = UNCLEAR
    pages = scansim.simulate(build, layouts, truth, 200, rng)
    files = scansim.write_scans(scansim.scan_pages(pages, 200, rng, 0.1), folder / "scans", 200, per_file=4)
    return {"build": build, "files": files, "truth": {f"B{b.number:03d}": b.registration for b in truth},
            "folder": folder, "layouts": layouts}


def scan(grid: dict, out: Path, capsys: pytest.CaptureFixture[str], files: list[Path] | None = None) -> str:
    code = main(["scan", str(grid["build"]), *map(str, files or grid["files"]), "-o", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return captured.out + captured.err


def mapping(out: Path) -> dict[str, str | None]:
    db = sqlite3.connect(out / "grading.sqlite")
    try:
        return {f"B{b:03d}": r for b, r in db.execute("SELECT booklet, registration FROM booklets")}
    finally:
        db.close()


def class_list(path: Path, registrations: list[str]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["REGISTRATION_NUMBER", "FAMILY_NAME_OF_STUDENT", "FIRST_NAME_OF_STUDENT"])
        for i, reg in enumerate(registrations):
            w.writerow([reg, f"Student{i}", "Ann"])
    return path


def test_truth_numbers():  # the simulator's numbers, written out: not derived from the code under test
    assert [scansim.registration_of(b) for b in (1, 2, 4)] == ["03701013", "03702026", "03704052"]


def test_layout_and_cover(grid, quiz_build):
    for code in ("E0001", "E0002"):
        data = json.loads((grid["build"] / code / "layout.json").read_text())
        boxes = data["pages"][0]["registration_boxes"]
        assert len(boxes) == 80
        assert {(b["digit"], b["value"]) for b in boxes} == {(d, v) for d in range(1, 9) for v in range(10)}
        assert all(b["w"] == b["h"] == 3.5 for b in boxes)
        assert not any("registration_boxes" in p for p in data["pages"][1:])
        cover = pdftotext(grid["build"] / code / "student.pdf", "-f", "1", "-l", "1")
        assert INSTRUCTION in " ".join(cover.split())
        assert "Registration number" in cover
    # the key off (the session's quiz build): no grid in layout.json, none on the cover
    for code in ("E0001", "E0002"):
        data = json.loads((quiz_build / code / "layout.json").read_text())
        assert not any("registration_boxes" in p for p in data["pages"])
        assert INSTRUCTION not in " ".join(pdftotext(quiz_build / code / "student.pdf", "-f", "1", "-l", "1").split())


def test_german_cover(grid, tmp_path):
    spec = tmp_path / "quiz.yaml"
    spec.write_text((grid["folder"] / "quiz.yaml").read_text().replace("language: en", "language: de"))
    build_exam(spec, None, 1, tmp_path / "out")
    cover = " ".join(pdftotext(tmp_path / "out" / "E0001" / "student.pdf", "-f", "1", "-l", "1").split())
    assert "Matrikelnummer Kreuzen Sie Ihre Matrikelnummer an, ein Kästchen pro Spalte." in cover
    assert len(json.loads((tmp_path / "out" / "E0001" / "layout.json").read_text())["pages"][0]
               ["registration_boxes"]) == 80


def test_no_class_list_clean_digits_mapped(grid, tmp_path, capsys):
    out = tmp_path / "grading"
    said = scan(grid, out, capsys)
    assert mapping(out) == {"B001": "03701013", "B002": "03702026", "B003": None, "B004": "03704052"}
    assert {b: r for b, r in mapping(out).items() if r} == {b: r for b, r in grid["truth"].items() if "?" not in r}
    assert "B003 registration read as 0370?039: column 5 unclear (no box crossed); map it on the mapping page" in said
    db = sqlite3.connect(out / "grading.sqlite")
    reads = dict(db.execute("SELECT booklet, value FROM registration_reads"))
    audit = db.execute("SELECT who, what, booklet, old, new FROM changes ORDER BY booklet").fetchall()
    db.close()
    assert reads == {1: "03701013", 2: "03702026", 3: "0370?039", 4: "03704052"}
    assert audit == [("scan", "booklet mapped", 1, None, "03701013"), ("scan", "booklet mapped", 2, None, "03702026"),
                     ("scan", "booklet mapped", 4, None, "03704052")]
    with open(out / "responses.csv", encoding="utf-8") as f:
        assert [r["registration"] for r in csv.DictReader(f)] == ["03701013", "03702026", "B003", "03704052"]
    # a rescan changes nothing and logs nothing more
    scan(grid, out, capsys)
    db = sqlite3.connect(out / "grading.sqlite")
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == 3
    db.close()


def test_class_list_and_waiting_booklets(grid, tmp_path, capsys):
    out = tmp_path / "grading"
    build = str(grid["build"])
    # the class list first, without B004's student
    assert main(["students", build, "-o", str(out), "--import",
                 str(class_list(tmp_path / "c1.csv", ["03701013", "03702026", "03703039"]))]) == 0
    said = scan(grid, out, capsys)
    assert mapping(out) == {"B001": "03701013", "B002": "03702026", "B003": None, "B004": None}
    assert "B004 registration read as 03704052: not in the class list; map it" in said
    # the student registers late: a re-import and a rescan map what was waiting
    assert main(["students", build, "-o", str(out), "--import",
                 str(class_list(tmp_path / "c2.csv", ["03701013", "03702026", "03703039", "03704052"]))]) == 0
    said = scan(grid, out, capsys)
    assert mapping(out)["B004"] == "03704052"
    assert "B004 registration" not in said
    assert "B003 registration read as 0370?039: column 5 unclear" in said


def test_human_mapping_kept(grid, tmp_path, capsys):
    out = tmp_path / "grading"
    build = str(grid["build"])
    scan(grid, out, capsys)
    everyone = ["03701013", "03702026", "03703039", "03704052", "03709999"]
    assert main(["students", build, "-o", str(out), "--import", str(class_list(tmp_path / "c.csv", everyone))]) == 0
    # a person maps B003 (unclear on the cover) and re-maps B001 to another student
    (tmp_path / "map.csv").write_text("booklet,registration\nB003,03703039\nB001,03709999\n")
    assert main(["students", build, "-o", str(out), "--map", str(tmp_path / "map.csv"), "--who", "alice"]) == 0
    said = scan(grid, out, capsys)
    assert mapping(out) == {"B001": "03709999", "B002": "03702026", "B003": "03703039", "B004": "03704052"}
    assert "B003 registration" not in said and "B001 registration" not in said
    db = sqlite3.connect(out / "grading.sqlite")
    assert db.execute("SELECT count(*) FROM changes WHERE who = 'scan' AND booklet IN (1, 3)").fetchone()[0] == 1
    db.close()


def test_double_cross_flagged(grid, tmp_path, capsys):
    """Two crosses in one column: flagged, not mapped (scanned again from a new truth, B004 only)."""
    layouts = grid["layouts"]
    rng = np.random.default_rng(172)
    truth = scansim.random_truth(layouts, 4, rng)[3:]
    truth[0].registration = DOUBLE
    pages = [p for p in scansim.simulate(grid["build"], layouts, truth, 200, rng) if p[1][2] == 1]
    files = scansim.write_scans(scansim.scan_pages(pages, 200, rng, 0.0), tmp_path / "scans", 200)
    out = tmp_path / "grading"
    said = scan(grid, out, capsys, files)
    assert mapping(out) == {"B004": None}
    assert "B004 registration read as 037?4052: column 4 unclear (2 boxes crossed (0, 9))" in said


def test_shipped_modern_exams_have_the_grid():
    for name in ("modern-dl.yaml", "modern-dl-de.yaml"):
        assert "registration_grid: true" in (ROOT / "exams" / name).read_text()


def test_cover_that_cannot_hold_the_grid_fails_the_build(grid, tmp_path, capsys):
    """60 problems (five grading tables) leave no room for the grid: one line, exit 1, no output;
    48 still fit on the one cover page."""
    head = (grid["folder"] / "quiz.yaml").read_text().split("problems:")[0] + "problems:\n"
    (tmp_path / "many.yaml").write_text(head + "  - mc: {count: 1}\n" * 60)
    code = main(["build", str(tmp_path / "many.yaml"), "-o", str(tmp_path / "out"), "--variants", "1"])
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("examgen: error:")]
    assert code == 1 and len(lines) == 1, lines
    assert ("Class examgentum Error: the cover with the registration grid does not fit one page (60 problems and "
            "the instructions); remove registration_grid from exam: or shorten the instructions") in lines[0]
    assert not (tmp_path / "out").exists()
    (tmp_path / "fits.yaml").write_text(head + "  - mc: {count: 1}\n" * 48)
    assert main(["build", str(tmp_path / "fits.yaml"), "-o", str(tmp_path / "fits"), "--variants", "1"]) == 0
    cover = " ".join(pdftotext(tmp_path / "fits" / "E0001" / "student.pdf", "-f", "1", "-l", "1").split())
    assert INSTRUCTION in cover and "Early submission" in cover and "P 48" in cover


def test_plain_layout_refuses_the_grid(grid, tmp_path, capsys):
    (tmp_path / "plain.yaml").write_text("layout: plain\n" + (grid["folder"] / "quiz.yaml").read_text())
    code = main(["build", str(tmp_path / "plain.yaml"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert err.count("examgen: error:") == 1
    assert ("plain.yaml:14:3: exam.registration_grid: the plain layout has no registration grid (only layout: tum "
            "prints one); remove the key or use layout: tum") in err, err
