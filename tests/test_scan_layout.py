"""Issue 16, "Layout" (helper scanlayout): corner discs, the booklet QR codes, --booklets and
E????/layout.json, checked against the grading columns (answers.json via examgen.grading)
and against the rendered pixels (pdftoppm -r 300 -gray, numpy only)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from conftest import LayoutBuilds as Builds
from conftest import both_layouts, grey_pages, pages_text, pdfinfo

from examgen import ROOT
from examgen.cli import main
from examgen.grading import load_build
from examgen.layouts import Region, regions
from examgen.uptodate import Inputs

QUIZ = ROOT / "exams" / "quiz.yaml"
SEED, VARIANTS, BOOKLETS = 3, 2, 5
DPI = 300
PX = 25.4 / DPI  # mm per pixel
TOL = 0.1  # mm: positions from the log against the pixels
PAGE_KEYS = {"page", "marks", "qr", "mc_boxes", "recheck_boxes", "score_boxes", "answer_regions"}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """The quiz in the TUM layout (2 variants, 5 booklets) and in the plain layout (1 variant, --keep-tex)."""
    return both_layouts(QUIZ, tmp_path_factory.mktemp("scanlayout"), SEED, VARIANTS, 1, booklets=BOOKLETS)


def renders(pdf: Path, dpi: int, pages: list[int] | None = None) -> list[np.ndarray]:
    """Pages (default: all) as greyscale arrays, in order."""
    return grey_pages(pdf, dpi) if pages is None else [img for n in pages for img in grey_pages(pdf, dpi, n)]


def render(pdf: Path, page: int, dpi: int = DPI) -> np.ndarray:
    (img,) = renders(pdf, dpi, [page])
    return img


def decode(pdf: Path, dpi: int = 150) -> list[str]:
    """The QR text of every page, in order (zxing-cpp; 150 dpi, half a scanner's)."""
    return [";".join(r.text for r in zxingcpp.read_barcodes(img)) for img in renders(pdf, dpi)]


def px(mm: float) -> int:
    return int(round(mm / PX))


def dark_bbox(img: np.ndarray, x: float, y: float, w: float, h: float, pad: float, level: int = 128) \
        -> tuple[float, float, float, float]:
    """The bounding box (mm: left, top, right, bottom) of the pixels darker than `level` in the
    rectangle grown by `pad` mm; pixel i covers [i, i+1) * PX."""
    x0, y0 = px(x - pad), px(y - pad)
    win = img[y0:px(y + h + pad), x0:px(x + w + pad)] < level
    rows, cols = np.nonzero(win.any(axis=1))[0], np.nonzero(win.any(axis=0))[0]
    assert rows.size and cols.size, f"nothing dark near ({x}, {y})"
    return ((x0 + cols[0]) * PX, (y0 + rows[0]) * PX, (x0 + cols[-1] + 1) * PX, (y0 + rows[-1] + 1) * PX)


def layout(folder: Path, code: str = "E0001") -> dict:
    return json.loads((folder / code / "layout.json").read_text())


# ---------------------------------------------------------------- the log protocol
def test_boxes_from_a_log() -> None:
    """EXAMGEN-BOX: bottom-left corner and size in sp -> top-left corner and size in mm."""
    mm = 65536 * 72.27 / 25.4  # sp per mm
    height = round(297 * mm)
    log = "\n".join([
        f"EXAMGEN-BOX: E0001 disc 0 top-left 1 {round(12.25 * mm)} {round(281.25 * mm)} "
        f"{round(3.5 * mm)} {round(3.5 * mm)} {height}",
        f"EXAMGEN-BOX: E0001 score 2 a/2/3 3 {round(187 * mm)} {round(200 * mm)} {round(3.5 * mm)} "
        f"{round(3.39 * mm)} {height}",
        "EXAMGEN-BOX: E0001 disc 0 top-left 1 12 13",  # cut short: no box
    ])
    assert regions(log) == {"E0001": [Region(0, "top-left", 1, 12.25, 12.25, 3.5, 3.5, "disc"),
                                      Region(2, "a/2/3", 3, 187.0, 93.61, 3.5, 3.39, "score")]}


def test_score_grid_from_one_log_line() -> None:
    """EXAMGEN-GRID: one line per score grid; its cells, row by row, where the line stands."""
    mm = 65536 * 72.27 / 25.4  # sp per mm
    height = round(297 * mm)
    cell, first, row, pitch, column = round(3.5 * mm), round(3.08 * mm), round(3.39 * mm), round(3.5 * mm), \
        round(3.6 * mm)
    log = "\n".join([
        f"EXAMGEN-BOX: E0001 disc 0 top-left 1 {round(12.25 * mm)} {round(281.25 * mm)} {cell} {cell} {height}",
        f"EXAMGEN-GRID: E0001 2 b 3 {round(187 * mm)} {round(200 * mm)} 3 {cell} {first} {row} {pitch} {column} "
        f"{height}",
        f"EXAMGEN-BOX: E0001 recheck 3 a.1 3 {round(20 * mm)} {round(100 * mm)} {cell} {cell} {height}",
    ])
    # cell (c, r): left 187 + (c-1) * 3.6 mm; bottom 200 - r * 3.5 mm above the paper's foot; top = 297 - bottom - h
    expected = [Region(0, "top-left", 1, 12.25, 12.25, 3.5, 3.5, "disc")]
    for r in range(3):
        h = 3.08 if r == 0 else 3.39
        for c in (1, 2):
            expected.append(Region(2, f"b/{c}/{r}", 3, round(187 + (c - 1) * 3.6, 2), round(97 + 3.5 * r - h, 2),
                                   3.5, h, "score"))
    expected.append(Region(3, "a.1", 3, 20.0, 193.5, 3.5, 3.5, "recheck"))
    assert regions(log) == {"E0001": expected}


# ---------------------------------------------------------------- layout.json
@pytest.mark.pdf
def test_layout_json_shape_and_columns(builds: Builds) -> None:
    """Every variant's layout.json: the issue's shape, one entry per page, and exactly the
    boxes the responses CSV has columns for (from answers.json, via examgen.grading)."""
    key = load_build(builds.tum)
    for code, vkey in key.variants.items():
        data = layout(builds.tum, code)
        assert data["version"] == 1 and data["page_size_mm"] == [210, 297]
        assert data["variant"] == code and data["exam_id"] == "IN2346"
        pages = int(pdfinfo(builds.tum / code / "student.pdf")["Pages"])
        assert [p["page"] for p in data["pages"]] == list(range(1, pages + 1))
        assert all(set(p) == PAGE_KEYS for p in data["pages"])
        every = [(b, p["page"]) for p in data["pages"] for k in ("mc_boxes", "recheck_boxes", "score_boxes",
                                                                  "answer_regions") for b in p[k]]
        assert all({"x", "y", "w", "h", "column"} <= set(b) for b, _ in every)
        mc = sorted((b["column"], b["box"]) for p in data["pages"] for b in p["mc_boxes"])
        expected = sorted((c.column, n) for c in vkey.cells.values() if c.kind == "mc"
                          for n in range(1, c.n_options + 1))
        assert mc == expected and len(mc) == 12  # the legend's example boxes are not among them
        recheck = [b for p in data["pages"] for b in p["recheck_boxes"]]
        assert sorted((b["column"], b["box"]) for b in recheck) == expected
        assert all(b["kind"] == "recheck" for b in recheck)
        boxes = {(b["column"], b["box"]): b for p in data["pages"] for b in p["mc_boxes"]}
        for r in recheck:  # left of its box, same row, the 5.6 mm pitch
            b = boxes[(r["column"], r["box"])]
            assert (b["x"] - r["x"], b["y"] - r["y"], r["w"], r["h"]) == pytest.approx((5.6, 0, 3.5, 3.5), abs=0.02)
        parts = {c.column: c.credits for c in vkey.cells.values() if c.kind == "part"}
        assert sorted(b["column"] for p in data["pages"] for b in p["answer_regions"]) == sorted(parts)
        for col, credits in parts.items():
            cells = [b for p in data["pages"] for b in p["score_boxes"] if b["column"] == col]
            for correction in (1, 2):
                values = [b["value"] for b in cells if b["correction"] == correction]
                assert values == [i / 2 for i in range(int(2 * credits) + 1)], (col, correction)
            first, second = ([b for b in cells if b["correction"] == k] for k in (1, 2))
            assert all(s["x"] > f["x"] + 3.5 and s["y"] == f["y"] for f, s in zip(first, second))
            assert all(b["y"] < c["y"] for b, c in zip(first, first[1:]))  # value grows downwards
        assert data["qr_format"].format(booklet=17, page=7) == f"IN2346-{code}-B017-07"


@pytest.mark.pdf
def test_marks_and_qr_are_12mm_from_every_edge(builds: Builds) -> None:
    for folder in (builds.tum, builds.plain):
        for page in layout(folder)["pages"]:
            marks, qr = page["marks"], page["qr"]
            assert sorted(m["corner"] for m in marks) == sorted(
                ["top-left", "top-right", "bottom-left" if page["page"] % 2 else "bottom-right"])
            for m in marks:
                assert 3.5 <= m["d"] <= 4
                r = m["d"] / 2
                assert min(m["x"] - r, m["y"] - r, 210 - m["x"] - r, 297 - m["y"] - r) >= 12 - 1e-9, m
            assert qr["w"] == qr["h"] == 10
            assert qr["corner"] == ("bottom-right" if page["page"] % 2 else "bottom-left")  # the outer corner
            assert min(qr["x"], qr["y"], 210 - qr["x"] - qr["w"], 297 - qr["y"] - qr["h"]) >= 12 - 1e-9, qr
            # 3 mm clear of every score cell (they reach the text block's bottom at most)
            for b in page["score_boxes"]:
                assert qr["y"] - (b["y"] + b["h"]) >= 3 - 1e-9 or b["x"] + b["w"] + 3 <= qr["x"] or \
                    b["x"] >= qr["x"] + qr["w"] + 3


def _check_pixels(pdf: Path, data: dict, pages: list[int]) -> int:
    """Discs, QR squares, MC box frames, re-check squares and score cells found in the
    pixels where layout.json puts them, to TOL mm; the number of boxes checked."""
    checked = 0
    for n in pages:
        page = data["pages"][n - 1]
        img = render(pdf, n)
        assert abs(img.shape[0] - 297 / PX) <= 1 and abs(img.shape[1] - 210 / PX) <= 1  # pdftoppm rounds up
        for m in page["marks"]:  # the disc: its dark pixels' centroid and area
            r = m["d"] / 2
            x0, y0 = px(m["x"] - r - 1), px(m["y"] - r - 1)
            win = img[y0:px(m["y"] + r + 1), x0:px(m["x"] + r + 1)]
            ink = 1 - win / 255.0
            ys, xs = np.mgrid[0:win.shape[0], 0:win.shape[1]]
            cx, cy = ((xs + 0.5) * ink).sum() / ink.sum(), ((ys + 0.5) * ink).sum() / ink.sum()
            assert abs(x0 * PX + cx * PX - m["x"]) <= TOL and abs(y0 * PX + cy * PX - m["y"]) <= TOL, (n, m)
            assert abs(2 * np.sqrt(ink.sum() * PX * PX / np.pi) - m["d"]) <= TOL, (n, m)
            checked += 1
        q = page["qr"]  # the symbol's dark modules span the square (three finder patterns in its corners)
        box = dark_bbox(img, q["x"], q["y"], q["w"], q["h"], 1.0)
        assert np.allclose(box, (q["x"], q["y"], q["x"] + q["w"], q["y"] + q["h"]), atol=TOL), (n, q, box)
        checked += 1
        for b in page["mc_boxes"]:  # the frame's outer edge: the box
            box = dark_bbox(img, b["x"], b["y"], b["w"], b["h"], 0.6)
            assert np.allclose(box, (b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]), atol=TOL), (n, b, box)
            inside = img[px(b["y"] + 0.5):px(b["y"] + b["h"] - 0.5), px(b["x"] + 0.5):px(b["x"] + b["w"] - 0.5)]
            assert inside.min() > 200, (n, b)  # empty in the student version
            checked += 1
        for b in page["recheck_boxes"]:  # dotted, grey: darker than paper, within the square
            box = dark_bbox(img, b["x"], b["y"], b["w"], b["h"], 0.6, level=230)
            assert np.allclose(box, (b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]), atol=TOL), (n, b, box)
            checked += 1
        for b in page["score_boxes"]:  # the white inside: white; the rules around it: dark, at its edges
            cx, cy = b["x"] + b["w"] / 2, b["y"] + b["h"] / 2
            inside = img[px(b["y"] + 0.3):px(b["y"] + b["h"] - 0.3), px(b["x"] + 0.3):px(b["x"] + b["w"] - 0.3)]
            assert inside.min() > 200, (n, b)
            row, col = img[px(cy), :], img[:, px(cx)]
            edges = []
            for line, start, step in ((row, px(cx), -1), (row, px(cx), 1), (col, px(cy), -1), (col, px(cy), 1)):
                i = start
                while line[i] >= 160:
                    i += step
                edges.append(i * PX if step == 1 else (i + 1) * PX)  # the first ruled pixel's near side
            found = (edges[0], edges[2], edges[1], edges[3])
            assert np.allclose(found, (b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]), atol=TOL), (n, b, found)
            checked += 1
    return checked


@pytest.mark.pdf
def test_positions_match_the_pixels(builds: Builds) -> None:
    """The cover, the MC page (odd/even: page 2) and the score-grid page (page 3)."""
    data = layout(builds.tum)
    assert _check_pixels(builds.tum / "E0001" / "student.pdf", data, [1, 2, 3]) >= 3 * 4 + 12 * 2 + 30


@pytest.mark.pdf
def test_plain_layout_positions_match_the_pixels(builds: Builds) -> None:
    data = layout(builds.plain)
    assert _check_pixels(builds.plain / "E0001" / "student.pdf", data, [1, 2, 3]) >= 3 * 4 + 12 * 2 + 30


# ---------------------------------------------------------------- codes and booklets
@pytest.mark.pdf
def test_every_page_code_decodes(builds: Builds) -> None:
    """A variant's own PDFs carry the codes of its first booklet (booklet number = variant number)."""
    for code, booklet in (("E0001", 1), ("E0002", 2)):
        for version in ("student", "solution"):
            pdf = builds.tum / code / f"{version}.pdf"
            n = len(pages_text(pdf))
            assert decode(pdf) == [f"IN2346-{code}-B{booklet:03d}-{p:02d}" for p in range(1, n + 1)]
    assert decode(builds.plain / "E0001" / "student.pdf")[0] == "IN2346-E0001-B001-01"


@pytest.mark.pdf
def test_a_kept_tex_draws_the_same_codes(builds: Builds, tmp_path: Path) -> None:
    """A kept student.tex reads its codes from student-qr.tex and draws them where the stamp goes."""
    folder = tmp_path / "kept"
    shutil.copytree(builds.plain / "E0001", folder)
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "student.tex"], cwd=folder,
                   check=True, capture_output=True)
    assert decode(folder / "student.pdf") == decode(builds.plain / "E0001" / "student.pdf")
    q = layout(builds.plain)["pages"][0]["qr"]
    box = dark_bbox(render(folder / "student.pdf", 1), q["x"], q["y"], q["w"], q["h"], 1.0)
    assert np.allclose(box, (q["x"], q["y"], q["x"] + q["w"], q["y"] + q["h"]), atol=TOL), box


@pytest.mark.pdf
def test_booklets_in_print_in_order(builds: Builds) -> None:
    """--booklets 5 over 2 variants: booklets 1..5 of variants E0001, E0002, E0001, E0002, E0001."""
    assert sorted(p.name for p in (builds.tum / "print").iterdir()) == ["all-solutions.pdf", "all-students.pdf"]
    pdf = builds.tum / "print" / "all-students.pdf"
    own = {c: pages_text(builds.tum / c / "student.pdf") for c in ("E0001", "E0002")}
    order = ["E0001", "E0002", "E0001", "E0002", "E0001"]
    assert pages_text(pdf) == [p for c in order for p in own[c]]
    expected = [f"IN2346-{c}-B{b:03d}-{p:02d}" for b, c in enumerate(order, start=1)
                for p in range(1, len(own[c]) + 1)]
    assert decode(pdf) == expected
    solutions = builds.tum / "print" / "all-solutions.pdf"  # one per variant
    assert len(pages_text(solutions)) == len(own["E0001"]) + len(own["E0002"])


def test_booklets_are_in_the_rebuild_fingerprint() -> None:
    """--booklets changes the output: an unchanged rebuild must not skip it. None = one per variant."""
    def fp(booklets: int | None, variants: int = 2) -> str:
        return Inputs("tree", 3, variants, False, booklets).fingerprint("spec", {})

    assert fp(5) != fp(None) and fp(5) != fp(6)
    assert fp(None) == fp(2)


@pytest.mark.pdf
def test_a_rebuild_with_other_booklets_is_no_noop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`build --booklets 3` over a build with one booklet per variant builds again (3 booklets in
    print/); the same command again is up to date; no --booklets is the same as --booklets 1 here."""
    args = ["build", str(QUIZ), "-n", "1", "-o", str(tmp_path / "out")]
    assert main(args) == 0
    assert main([*args, "--booklets", "1"]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert main([*args, "--booklets", "3"]) == 0
    assert "files written to" in capsys.readouterr().out
    n = len(pages_text(tmp_path / "out" / "E0001" / "student.pdf"))
    assert decode(tmp_path / "out" / "print" / "all-students.pdf")[::n] == [
        f"IN2346-E0001-B{b:03d}-01" for b in (1, 2, 3)]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["booklets"] == 3  # examgen seat reads it
    assert main([*args, "--booklets", "3"]) == 0
    assert "is up to date" in capsys.readouterr().out


def _words(pdf: Path) -> dict[int, list[tuple[float, float, float, float]]]:
    """Every word's box (mm: left, top, right, bottom) per page (pdftotext -bbox)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages: dict[int, list[tuple[float, float, float, float]]] = {}
    for n, chunk in enumerate(xml.split("<page ")[1:], start=1):
        pages[n] = [tuple(float(v) * 25.4 / 72 for v in m) for m in
                    re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', chunk)]
    return pages


@pytest.mark.pdf
def test_marks_are_3mm_clear_of_text_and_score_grids(builds: Builds) -> None:
    """No word (its font box) and no score cell comes within 3 mm of a disc or the QR square."""
    for folder in (builds.tum, builds.plain):
        for version in ("student", "solution"):
            words = _words(folder / "E0001" / f"{version}.pdf")
            for page in layout(folder)["pages"]:
                marks = [(m["x"] - m["d"] / 2, m["y"] - m["d"] / 2, m["x"] + m["d"] / 2, m["y"] + m["d"] / 2)
                         for m in page["marks"]]
                q = page["qr"]
                marks.append((q["x"], q["y"], q["x"] + q["w"], q["y"] + q["h"]))
                cells = [(b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]) for b in page["score_boxes"]]
                for w in words[page["page"]] + cells:
                    for m in marks:
                        gap = max(m[0] - w[2], w[0] - m[2], m[1] - w[3], w[1] - m[3])
                        if version == "solution" and w[3] - w[1] > 8:  # the watermark's big letters
                            continue
                        assert gap >= 3 - 1e-6, (folder.name, version, page["page"], w, m)
