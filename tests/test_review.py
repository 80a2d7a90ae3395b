"""examgen review: per student one PDF of the cover (points per subproblem), the scanned pages
(re-extracted from PDF and JPEG scan files) and the variant's solution, the registration on
every page; two simulated booklets scanned, mapped to students and graded first."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scansim
from conftest import error_lines, pages_text, pdfinfo

from examgen.cli import main
from examgen.scan.layout import load_layouts

STUDENTS = {"B001": "03700001", "B002": "03700002"}


@pytest.fixture(scope="module")
def graded(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two booklets scanned at 300 dpi (one PDF of 3 pages, the rest JPEGs), the class list imported,
    the booklets mapped, and graded."""
    layouts = load_layouts(quiz_build)
    rng = np.random.default_rng(17)
    truth = scansim.random_truth(layouts, 2, rng)
    cols = scansim.columns_of(layouts)
    pages = scansim.scan_pages(scansim.simulate(quiz_build, layouts, truth, 300, rng), 300, rng, 0.25)
    tmp = tmp_path_factory.mktemp("review")
    files = scansim.write_scans(pages[:3], tmp / "pdf", 300, per_file=3) + \
        scansim.write_scans(pages[3:], tmp / "jpg", 300, as_pdf=False)
    grading = tmp / "grading"
    assert main(["scan", str(quiz_build), *map(str, files), "-o", str(grading)]) in (0, 1)
    (tmp / "cl.csv").write_text("Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n03700002;Öz;Ayşe\n")
    (tmp / "map.csv").write_text("booklet,registration\nB001,03700001\n2,03700002\n")
    assert main(["students", str(quiz_build), "-o", str(grading), "--import", str(tmp / "cl.csv"),
                 "--map", str(tmp / "map.csv")]) == 0
    assert main(["grade", str(quiz_build), "-o", str(grading)]) == 0
    with open(grading / "results.csv", encoding="utf-8", newline="") as f:  # the mapped booklets' rows
        assert sorted(r["registration"] for r in csv.DictReader(f)) == ["03700001", "03700002"]
    with open(grading / "tumonline.csv", encoding="utf-8", newline="") as f:
        assert [r["REGISTRATION_NUMBER"] for r in csv.DictReader(f, delimiter=";")] == ["03700001", "03700002"]
    return {"build": quiz_build, "grading": grading, "tmp": tmp,
            "expected": {STUDENTS[f"B{b.number:03d}"]: (b.variant, b.expected(cols)) for b in truth}}


def points(build: Path, variant: str, cells: dict[str, str]) -> dict[str, tuple[str, float, float]]:
    """column -> (label, points, credits), from answers.json: MC all boxes right or 0, parts as read."""
    answers = json.loads((build / variant / "answers.json").read_text())
    out = {}
    for q in answers["questions"]:
        k = q["problem"]
        if q["type"] == "mc":
            for it in q["items"]:
                col = f"P{k}{it['label']}"
                crossed = sorted(int(x) for x in cells[col].split(";") if x)
                out[col] = (it["label"], float(it["credits"]) * (crossed == sorted(it["correct_boxes"])),
                            float(it["credits"]))
        else:
            for p in q["parts"]:
                col = f"P{k}{p['name']}"
                out[col] = (p["name"], float(cells[col] or 0), float(p["credits"]))
    return out


def g(x: float) -> str:
    return f"{x:g}"


def test_review_pdfs(graded, tmp_path, capsys):
    out = tmp_path / "review"
    capsys.readouterr()
    assert main(["review", str(graded["build"]), "--grading", str(graded["grading"]), "-o", str(out)]) == 0, \
        capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["03700001.pdf", "03700002.pdf", "manifest.json"]
    for reg, (variant, cells) in graded["expected"].items():
        pdf = out / f"{reg}.pdf"
        solution = int(pdfinfo(graded["build"] / variant / "solution.pdf")["Pages"])
        scanned = 4  # the quiz booklet's pages
        assert int(pdfinfo(pdf)["Pages"]) == scanned + 1 + solution
        texts = pages_text(pdf)
        assert all(f"Einsicht {reg}" in t for t in texts), [i for i, t in enumerate(texts) if reg not in t]
        cover = " ".join(texts[0].split())
        expect = points(graded["build"], variant, cells)
        for _col, (label, pts, credits) in expect.items():
            assert f"{label}) {g(pts)}/{g(credits)}" in cover
        total = sum(p for _, p, _ in expect.values())
        assert f"Total {g(total)} of 12 points" in cover
        assert ("Müller" if reg == "03700001" else "Öz") in cover
    # a second run replaces what examgen wrote; a user's folder is never replaced
    assert main(["review", str(graded["build"]), "--grading", str(graded["grading"]), "-o", str(out)]) == 0
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["review", str(graded["build"]), "--grading", str(graded["grading"]), "-o", str(user)]) == 2
    assert "which examgen did not write" in capsys.readouterr().err
    assert [p.name for p in user.iterdir()] == ["notes.txt"]


def test_missing_scan_file(graded, tmp_path, capsys):
    moved = graded["tmp"] / "pdf-moved"
    (graded["tmp"] / "pdf").rename(moved)
    try:
        capsys.readouterr()
        code = main(["review", str(graded["build"]), "--grading", str(graded["grading"]), "-o",
                     str(tmp_path / "review")])
        err = capsys.readouterr().err
    finally:
        moved.rename(graded["tmp"] / "pdf")
    assert code == 2
    assert error_lines(err) == [
        f"examgen: error: {graded['tmp'] / 'pdf' / 'scan000.pdf'}: scan file not found (1 of the scan files "
        "grading.sqlite names are missing); run examgen review where you ran examgen scan, with the scans in place"]
    assert not (tmp_path / "review").exists()


def test_review_replays_regrading(graded, tmp_path, capsys):
    """The cover's points are those examgen grade gives: a cancelled MC item scores nothing and leaves
    the maximum (the review scored the key without the re-grading operations: its totals disagreed with
    results.csv's)."""
    import shutil

    grading = tmp_path / "grading"
    shutil.copytree(graded["grading"], grading)
    assert main(["regrade", str(graded["build"]), "-o", str(grading), "--cancel", "P1a@E0001", "--why", "ambiguous",
                 "--who", "lecturer"]) == 0
    item = json.loads((graded["build"] / "E0001" / "answers.json").read_text())["questions"][0]["items"][0]["id"]
    assert main(["review", str(graded["build"]), "--grading", str(grading), "-o", str(tmp_path / "review")]) == 0, \
        capsys.readouterr().err
    for reg, (variant, cells) in graded["expected"].items():
        answers = json.loads((graded["build"] / variant / "answers.json").read_text())
        gone = {f"P{q['problem']}{it['label']}" for q in answers["questions"] if q["type"] == "mc"
                for it in q["items"] if it["id"] == item}
        kept = {col: v for col, v in points(graded["build"], variant, cells).items() if col not in gone}
        assert gone and len(kept) == len(points(graded["build"], variant, cells)) - len(gone)
        cover = " ".join(pages_text(tmp_path / "review" / f"{reg}.pdf")[0].split())
        total, credits = sum(p for _, p, _ in kept.values()), sum(c for _, _, c in kept.values())
        assert f"Total {g(total)} of {g(credits)} points" in cover, cover
