"""examgen scan on simulated scans of a real build (tests/scansim.py): every booklet read back
exactly at 150 and 300 dpi, rescans adding nothing, thresholds re-classifying stored
measurements, and examgen grade reading the database."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import scansim

from examgen.cli import main


@pytest.fixture(scope="module")
def scanned(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two booklets (both variants, all pages), filled, printed, distorted and saved as JPEG PDFs."""
    layouts, real = scansim.layouts_of(quiz_build)
    assert real, "the build writes E0001/layout.json"
    rng = np.random.default_rng(16)
    truth = scansim.random_truth(layouts, 2, rng)
    cols = scansim.columns_of(layouts)
    out = {"build": quiz_build, "expected": {f"B{b.number:03d}": b.expected(cols) for b in truth}}
    for dpi in (150, 300):
        pages = scansim.scan_pages(scansim.simulate(quiz_build, layouts, truth, dpi, rng, True), dpi, rng, 0.25)
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
    main(["scan", str(scanned["build"]), "-o", str(out), "--set", "mark=0.3", "--set", "mark_band=0.1"])
    assert rows(out) == first
    db = sqlite3.connect(out / "grading.sqlite")
    assert [d for (d,) in db.execute("SELECT detail FROM audit WHERE action = 'threshold' ORDER BY id")] == \
        ["mark: 0.3 -> 0.999", "mark_band: 0.1 -> 0", "mark: 0.999 -> 0.3", "mark_band: 0 -> 0.1"]
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
