"""examgen scan on simulated scans of a real build (tests/scansim.py): every booklet read back
exactly at 150 and 300 dpi, rescans adding nothing, thresholds re-classifying stored
measurements, and examgen grade reading the database."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import scansim
from conftest import grey_pages

from examgen.cli import main
from examgen.pipeline import build_exam
from examgen.scan.layout import load_layouts
from examgen.scan.pages import read_page


@pytest.fixture(scope="module")
def scanned(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two booklets (both variants, all pages), filled, printed, distorted and saved as JPEG PDFs."""
    layouts = load_layouts(quiz_build)
    rng = np.random.default_rng(16)
    truth = scansim.random_truth(layouts, 2, rng)
    cols = scansim.columns_of(layouts)
    out = {"build": quiz_build, "expected": {f"B{b.number:03d}": b.expected(cols) for b in truth}}
    for dpi in (150, 300):
        pages = scansim.scan_pages(scansim.simulate(quiz_build, layouts, truth, dpi, rng), dpi, rng, 0.25)
        out[dpi] = scansim.write_scans(pages, tmp_path_factory.mktemp(f"scans{dpi}"), dpi, per_file=3)
    return out


def rows(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "responses.csv", encoding="utf-8", newline="") as f:
        return {r.pop("registration"): r for r in csv.DictReader(f)}


def flagged(folder: Path) -> set[tuple[str, str]]:
    db = sqlite3.connect(folder / "grading.sqlite")
    try:
        return {(f"B{b:03d}", c) for b, c, fl in db.execute("SELECT booklet, column_name, flags FROM automatic")
                if json.loads(fl)}
    finally:
        db.close()


@pytest.mark.parametrize("dpi", [150, 300])
def test_booklets_read_back(scanned, dpi, tmp_path, capsys):
    out = tmp_path / "grading"
    code = main(["scan", str(scanned["build"]), *map(str, scanned[dpi]), "-o", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    got = rows(out)
    assert set(got) == set(scanned["expected"])
    wrong = {(b, c) for b, exp in scanned["expected"].items() for c, v in exp.items() if got[b][c] != v}
    assert not wrong - flagged(out), "unflagged errors"
    if dpi == 300:
        assert not wrong
        assert {b: {c: v for c, v in r.items() if c != "variant"} for b, r in got.items()} == scanned["expected"]
    assert code == (1 if flagged(out) else 0)
    review = (out / "review" / "review.html").read_text()
    for booklet, col in flagged(out):  # every flagged column is in review.html, with its crops
        assert f"<h2>{booklet} {col}: read as" in review
        assert list((out / "review").glob(f"{booklet}-{col}-*.png"))
    assert "scan: 3 files written" in captured.out


def test_rescan_reclassify_and_grade(scanned, tmp_path, capsys):
    out = tmp_path / "grading"
    files = list(map(str, scanned[300]))
    main(["scan", str(scanned["build"]), *files, "-o", str(out)])
    first = rows(out)
    db = sqlite3.connect(out / "grading.sqlite")
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("scan_files", "pages", "measurements")]
    db.close()
    assert counts[1] == 8  # 2 booklets x 4 pages
    capsys.readouterr()
    main(["scan", str(scanned["build"]), files[0], files[1], "-o", str(out)])  # a rescan of the same files
    assert f"0 new scan files ({2} already read), 0 pages" in capsys.readouterr().out
    db = sqlite3.connect(out / "grading.sqlite")
    assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("scan_files", "pages", "measurements")] == counts
    db.close()
    # a mark threshold above every cross: the stored crosses now read as empty, without a rescan
    main(["scan", str(scanned["build"]), "-o", str(out), "--set", "mark=0.999", "--set", "mark_band=0"])
    high = rows(out)
    assert all(high[b][c] == "" for b in high for c in high[b] if c.startswith("P1"))
    assert any(first[b][c] for b in first for c in first[b] if c.startswith("P1"))
    main(["scan", str(scanned["build"]), "-o", str(out), "--set", "mark=0.15", "--set", "mark_band=0.07"])
    assert rows(out) == first
    db = sqlite3.connect(out / "grading.sqlite")
    assert [d for (d,) in db.execute("SELECT detail FROM audit WHERE action = 'threshold' ORDER BY id")] == \
        ["mark: 0.15 -> 0.999", "mark_band: 0.07 -> 0", "mark: 0.999 -> 0.15", "mark_band: 0 -> 0.07"]
    # a manual override wins over the automatic value
    db.execute("INSERT INTO overrides VALUES (1, 'P1a', '2', 'checked by hand', '')")
    db.commit()
    db.close()
    capsys.readouterr()
    # examgen grade BUILD -o OUT reads the database (no --responses) and keeps the scan's files
    assert main(["grade", str(scanned["build"]), "-o", str(out)]) == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} >= {"grading.sqlite", "responses.csv", "review", "results.csv",
                                                "report.pdf", "manifest.json"}
    with open(out / "results.csv", encoding="utf-8", newline="") as f:
        assert sorted(r["registration"] for r in csv.DictReader(f)) == ["B001", "B002"]
    main(["scan", str(scanned["build"]), "-o", str(out)])
    assert rows(out)["B001"]["P1a"] == "2"
    assert (out / "results.csv").is_file()  # scan keeps grade's files too


def cut_qr(img: np.ndarray, qr: tuple[float, float, float, float], dpi: int) -> None:
    """Paint over the outer 0.6 mm of a printed page's QR code (its quiet zone and a module
    column): what the paper's edge leaves of a code cut off by a shifted, turned scan."""
    x, y, w, h = qr
    s = dpi / 25.4
    lo, hi = (x - 4, x + 0.6) if x < 105 else (x + w - 0.6, x + w + 4)
    img[int((y - 4) * s):int((y + h + 4) * s), int(lo * s):int(hi * s)] = 255


def scans_without_qr(build: Path, booklets: int, blank: set[tuple[int, int]], folder: Path, seed: int,
                     cut: frozenset[tuple[int, int]] = frozenset()) -> tuple[list[Path], dict[str, dict[str, str]]]:
    """Every page of `booklets` booklets filled and scanned at 300 dpi, the QR codes of the
    (booklet, page)s in `blank` painted over (those pages turned upside down), those in `cut`
    cut at the outer edge; the files and the expected responses per booklet."""
    layouts = load_layouts(build)
    rng = np.random.default_rng(seed)
    truth = scansim.random_truth(layouts, booklets, rng)
    cols = scansim.columns_of(layouts)
    pages = []
    for img, (variant, booklet, page) in scansim.simulate(build, layouts, truth, 300, rng):
        if (booklet, page) in blank:
            scansim.blank_qr(img, layouts[variant].pages[page].qr, 300)
        if (booklet, page) in cut:
            cut_qr(img, layouts[variant].pages[page].qr, 300)
        pages.append((scansim.distort(img, 300, rng, (booklet, page) in blank), (variant, booklet, page)))
    files = scansim.write_scans(pages, folder, 300, per_file=4)
    return files, {f"B{b.number:03d}": b.expected(cols) for b in truth}


def scan_reads_all(build: Path, scans: tuple[list[Path], dict], out: Path, capsys) -> None:
    """`examgen scan` of these scans identifies every page and reads the ground truth back
    (the variant column aside); it exits 1 exactly when something is flagged."""
    files, expected = scans
    code = main(["scan", str(build), *map(str, files), "-o", str(out)])
    err = capsys.readouterr().err
    assert "no readable QR code" not in err
    got = rows(out)
    assert {b: {c: v for c, v in r.items() if c != "variant"} for b, r in got.items()} == expected
    assert code == (1 if flagged(out) else 0), err


def test_page_without_qr_identified_by_its_print(quiz_build, tmp_path, capsys):
    # B001 page 3 (E0001's numbers differ from E0002's), B001 page 2 (the MC page: quiz_build
    # pins the items, so both variants print the same; the booklet lacking a page 2 tells) and
    # B002 page 1 (the cover: both variants alike but for the variant code in the footer)
    out = tmp_path / "grading"
    scan_reads_all(quiz_build, scans_without_qr(quiz_build, 2, {(1, 2), (1, 3), (2, 1)}, tmp_path / "scans", 1601),
                   out, capsys)
    db = sqlite3.connect(out / "grading.sqlite")
    try:
        assert db.execute("SELECT booklet, page, variant, status FROM pages WHERE how = 'content' "
                          "ORDER BY booklet, page").fetchall() == [(1, 2, "E0001", "read"), (1, 3, "E0001", "read"),
                                                                   (2, 1, "E0002", "read")]
        assert db.execute("SELECT count(*) FROM pages WHERE how = 'qr' AND status = 'read'").fetchone()[0] == 5
        audit = [d for (d,) in db.execute("SELECT detail FROM audit WHERE action = 'identified' ORDER BY id")]
    finally:
        db.close()
    assert len(audit) == 3, audit
    assert sum("by its print E0001 page 3: booklet B001 page 3 (E0001), the only booklet without that page" in a
               for a in audit) == 1, audit
    assert sum("booklet B001 page 2 (E0001), the only booklet without that page" in a for a in audit) == 1, audit
    assert sum("by its print E0002 page 1: booklet B002 page 1 (E0002), the only booklet without that page" in a
               for a in audit) == 1, audit


def test_qr_cut_at_the_edge_read_from_its_fixed_patterns(quiz_build, tmp_path, capsys):
    # the outer module column of B001 page 2's code (left: an even page) and of B002 page 3's
    # (right) gone: zxing finds no code; its grid fitted to what is left of the finder
    # patterns reads it (how = 'qr'), so no booklet has to be inferred
    out = tmp_path / "grading"
    scan_reads_all(quiz_build, scans_without_qr(quiz_build, 2, set(), tmp_path / "scans", 1603,
                                                frozenset({(1, 2), (2, 3)})), out, capsys)
    db = sqlite3.connect(out / "grading.sqlite")
    try:
        assert db.execute("SELECT qr, how, status FROM pages WHERE (booklet, page) IN ((1, 2), (2, 3)) "
                          "ORDER BY booklet").fetchall() == [("IN2346-E0001-B001-02", "qr", "read"),
                                                             ("IN2346-E0002-B002-03", "qr", "read")]
        assert db.execute("SELECT count(*) FROM pages WHERE how = 'qr' AND status = 'read'").fetchone()[0] == 8
    finally:
        db.close()


@pytest.fixture(scope="module")
def four_booklets(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """quiz_build's exam as 4 numbered booklets: B001 and B003 are E0001, B002 and B004 E0002."""
    out = tmp_path_factory.mktemp("booklets") / "quiz"
    build_exam(quiz_build.parent / "quiz.yaml", None, 2, out, booklets=4)
    return out


def test_page_without_qr_of_a_shared_variant_flagged_not_guessed(four_booklets, tmp_path, capsys):
    # page 3 of B001 and of B003 (both E0001) without a QR code: the same print, and both booklets
    # lack a page 3, so which is which is not for the scanner to guess
    files, expected = scans_without_qr(four_booklets, 4, {(1, 3), (3, 3)}, tmp_path / "scans", 1602)
    out = tmp_path / "grading"
    assert main(["scan", str(four_booklets), *map(str, files), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    ambiguous = ("no readable QR code; by its print E0001 page 3, but not one booklet for sure "
                 "(B001 page 3, B003 page 3); rescan it, or enter its boxes by hand (overrides table)")
    assert err.count(ambiguous) == 2, err
    assert "booklet B001 (E0001): page(s) 3 not scanned" in err
    assert "booklet B003 (E0001): page(s) 3 not scanned" in err
    got = rows(out)
    for b in ("B001", "B003"):  # page 3 holds P2's score grids: nothing read into either booklet
        assert [got[b][c] for c in ("P2a", "P2b", "P2c")] == ["", "", ""]
        assert {c: v for c, v in got[b].items() if c.startswith("P1")} == \
            {c: v for c, v in expected[b].items() if c.startswith("P1")}
    for b in ("B002", "B004"):
        assert {c: v for c, v in got[b].items() if c != "variant"} == expected[b]
    db = sqlite3.connect(out / "grading.sqlite")
    try:
        assert db.execute("SELECT booklet, page, status, candidates FROM pages WHERE how = 'content'").fetchall() \
            == [(None, None, "content", '[["E0001", 3]]')] * 2
    finally:
        db.close()


def test_a_page_of_another_exam_is_not_read_into_this_one(quiz_build):
    # the same variant and page, but the QR names another exam (or an older build's code):
    # never merged into this build's grades
    layouts = load_layouts(quiz_build)
    (page,) = grey_pages(quiz_build / "E0001" / "student.pdf", 200, 2)
    assert not read_page(page, 0, layouts).problem  # the control: this exam's page reads
    other = {v: dataclasses.replace(lay, exam_id="OTHER") for v, lay in layouts.items()}
    read = read_page(page, 0, other)
    assert read.problem == "QR 'IN2346-E0001-B001-02': a page of exam IN2346, not of this build (OTHER)"
    assert not read.boxes


@pytest.mark.parametrize("corner_error", [(0, 0), (5, 0), (-5, 3)], ids=["exact corners", "one off 5 px", "skewed"])
def test_discs_found_from_a_code_whose_corners_are_off(corner_error):
    """register() finds all three corner discs when zxing's QR corners are off by a few pixels (a
    module is 3.7 px at 200 dpi), as it reported for a stamped booklet's page that then had 2 of 3
    discs and every part flagged: the disc 300 mm from the code is looked for from the discs found
    nearer, not from the four corners alone. The truth is drawn here: a page turned by 0.8 degrees
    and shifted, its discs as filled circles, the homography checked against the drawn transform."""
    import cv2

    from examgen.scan.layout import PageLayout
    from examgen.scan.pages import register

    s, angle = 200 / 25.4, np.radians(0.8)  # px per mm, the scan's turn
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * s
    shift = np.array([31.0, -17.0])

    def to_px(pts):
        return np.asarray(pts, np.float64) @ turn.T + shift

    marks = ((14.0, 14.0, 3.5), (14.0, 283.0, 3.5), (196.0, 14.0, 3.5))
    page = PageLayout(page=2, marks=marks, qr=(188.0, 275.0, 10.0, 10.0), boxes=())
    img = np.full((int(297 * s), int(210 * s)), 255, np.uint8)
    for x, y, d in marks:
        cx, cy = to_px([[x, y]])[0]
        cv2.circle(img, (int(round(cx * 16)), int(round(cy * 16))), int(round(d * s / 2 * 16)), 0, -1,
                   cv2.LINE_AA, shift=4)
    x, y, w, h = page.qr
    qr_px = to_px([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    qr_px[1] += corner_error  # zxing's top-right corner off (a module and a half at most)
    qr_px[2] += (corner_error[0], -corner_error[1])
    homography, _, discs = register(img, page, qr_px)
    assert discs == 3
    found = cv2.perspectiveTransform(np.array([[[x, y] for x, y, _ in marks]], np.float64), homography)[0]
    assert np.abs(found - to_px([[x, y] for x, y, _ in marks])).max() < 0.5
