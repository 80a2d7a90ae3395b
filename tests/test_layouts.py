"""Issue 13, "The layout is one unit" (helper layouts): the layouts package
(examgen/layouts/<name>/, one folder each), the plain layout beside the TUM one, and
the answer regions the class logs for scanning (EXAMGEN-REGION), checked against
where pdftotext -bbox finds the text inside them."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import LayoutBuilds as Builds
from conftest import both_layouts, pages_text, pdfinfo

from examgen import ROOT, layouts
from examgen.bank import load_bank
from examgen.compiler import Built, Compiler
from examgen.compiler.core import REGION_FIELDS
from examgen.errors import SpecError
from examgen.layouts import Region, regions
from examgen.pipeline import _batch
from examgen.questions import build_variant
from examgen.spec import load_spec

QUIZ = ROOT / "exams" / "quiz.yaml"
SEED, N = 3, 2
PT_MM = 25.4 / 72.27  # a TeX point in mm
A4 = (210.0, 297.0)
#: texts only the TUM cover has (sticker box, personalisation notes, the "left room" box)
TUM_ONLY = ["Place student sticker here", "Note:", "During the attendance check", "Left room from",
            "Early submission at", "Eexam", "Esolution"]


# ---------------------------------------------------------------- the package
def test_layouts_are_the_folders_with_their_classes() -> None:
    assert layouts.names() == ["plain", "tum"]
    tum, plain = layouts.get("tum"), layouts.get("plain")
    assert [f.name for f in tum.classes] == ["examgentum.cls", "examgenfonts.sty"]  # the class loads the typography
    # plain loads the TUM class
    assert [f.name for f in plain.classes] == ["examgenplain.cls", "examgentum.cls", "examgenfonts.sty"]
    assert tum.fonts == plain.fonts == ROOT / "examgen" / "layouts" / "tum" / "examgenfonts.sty"
    for lay in (tum, plain):
        assert lay.name == lay.classes[0].parent.name
        assert all(f.is_file() and f.parent.parent == ROOT / "examgen" / "layouts" for f in lay.classes)
    assert plain.preamble("de") == "\\documentclass[de]{examgenplain}\n\\begin{document}\n"
    assert not (ROOT / "templates").exists()  # the class lives in its layout's folder only


def test_an_unknown_layout_names_the_valid_ones() -> None:
    with pytest.raises(SpecError, match=r"^layout: unknown layout 'x'; valid: plain, tum$"):
        layouts.get("x")


def test_regions_from_a_log() -> None:
    """Corners in sp from the bottom-left -> mm from the top-left; an unpaired corner is no region."""
    mm = 65536 / PT_MM  # sp per mm
    height = round(297 * mm)
    log = "\n".join([
        "some TeX output",
        f"EXAMGEN-REGION: E0001 2 a tl 3 {round(15 * mm)} {round(200 * mm)} {height}",
        "[3] more output",
        f"EXAMGEN-REGION: E0001 2 a br 3 {round(180 * mm)} {round(175 * mm)} {height}",
        f"EXAMGEN-REGION: E0002 1 c.4 tl 2 {round(30 * mm)} {round(100 * mm)} {height}",
        f"EXAMGEN-REGION: E0002 1 c.4 br 2 {round(33.5 * mm)} {round(96.5 * mm)} {height}",
        f"EXAMGEN-REGION: E0002 1 d.1 br 2 {round(33.5 * mm)} {round(96.5 * mm)} {height}",  # no top-left
        f"EXAMGEN-REGION: E0002 3 b tl 4 {round(15 * mm)} {round(90 * mm)} {height}",  # no bottom-right
    ])
    assert regions(log) == {
        "E0001": [Region(2, "a", 3, 15.0, 97.0, 165.0, 25.0)],
        "E0002": [Region(1, "c.4", 2, 30.0, 197.0, 3.5, 3.5)],
    }


# ---------------------------------------------------------------- real builds
@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """exams/quiz.yaml built in both layouts (the plain one: the same spec with `layout: plain`)."""
    return both_layouts(QUIZ, tmp_path_factory.mktemp("layouts"), SEED, N, N)


@pytest.mark.pdf
def test_plain_layout_has_its_own_cover_and_the_same_exam(builds: Builds) -> None:
    for code in ("E0001", "E0002"):
        for version in ("student", "solution"):
            tum, plain = (pages_text(b / code / f"{version}.pdf") for b in (builds.tum, builds.plain))
            assert all(t in tum[0] for t in TUM_ONLY[:5]), tum[0]  # the TUM cover, as a control
            for text in TUM_ONLY:
                assert text not in "".join(plain), (code, version, text)
            cover = " ".join(plain[0].split())
            for text in ("Introduction to Deep Learning", "IN2346 – Quiz 1", "Tuesday 10th November, 2026",
                         "Prof. Dr. Example Examiner", "Name:", "Registration number:", "Signature:",
                         "Working instructions", "Detaching pages from the exam is prohibited."):
                assert text in cover, (text, cover)
            if version == "student":  # the solution's watermark runs through these lines
                assert f"This exam consists of {len(plain)} pages with a total of 2 problems" in cover, cover
                assert "Allowed resources: One handwritten A4 sheet" in cover
                assert re.search(r"P ?1 P ?2 I II", cover), cover  # the grading table
            # the same problems, answer areas and (in the solution) answers, page for page
            assert len(plain) == len(tum) and len(plain) % 4 == 0
            assert plain[1:] == tum[1:]
            assert "Problem 1" in plain[1] and "Multiple Choice" in plain[1]
        info = pdfinfo(builds.plain / code / "student.pdf")
        assert info["Pages"] == pdfinfo(builds.plain / code / "solution.pdf")["Pages"]
        assert info["Page size"].startswith("595.276 x 841.89 pts (A4)")


@pytest.mark.pdf
def test_kept_tex_of_the_plain_layout_compiles_alone(builds: Builds, tmp_path: Path) -> None:
    """--keep-tex puts both class files (plain loads the TUM class) beside the .tex."""
    folder = tmp_path / "E0001"
    shutil.copytree(builds.plain / "E0001", folder)
    assert {"examgenplain.cls", "examgentum.cls", "student.tex"} <= {f.name for f in folder.iterdir()}
    (folder / "student.pdf").unlink()
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "student.tex"], cwd=folder,
                   check=True, capture_output=True)
    assert pages_text(folder / "student.pdf")[1:] == pages_text(builds.plain / "E0001" / "student.pdf")[1:]
    assert "Registration number:" in pages_text(folder / "student.pdf")[0]


@pytest.mark.pdf
def test_keys_do_not_depend_on_the_layout(builds: Builds) -> None:
    for name in ("E0001/answers.json", "E0002/answers.json", "answer_key.csv"):
        assert (builds.plain / name).read_bytes() == (builds.tum / name).read_bytes(), name


def _page1(pdf: Path, folder: Path) -> np.ndarray:
    """Page 1 rendered at 50 dpi, grey levels (0 black, 255 white)."""
    subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", str(pdf), str(folder / "p")], check=True)
    (pgm,) = folder.glob("p*.pgm")
    data = pgm.read_bytes()
    pgm.unlink()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert m, "unexpected pdftoppm output"
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data[m.end():m.end() + w * h], dtype=np.uint8).reshape(h, w)


@pytest.mark.pdf
def test_plain_cover_renders_without_the_sticker_box(builds: Builds, tmp_path: Path) -> None:
    """Page 1 rendered: the TUM cover has its sticker box top left (grey hatching, frame), the
    plain cover nothing there, and ink elsewhere."""
    tum = _page1(builds.tum / "E0001" / "student.pdf", tmp_path)
    plain = _page1(builds.plain / "E0001" / "student.pdf", tmp_path)
    mm = plain.shape[1] / A4[0]  # pixels per mm
    box = (slice(int(35 * mm), int(60 * mm)), slice(int(15 * mm), int(55 * mm)))  # where the sticker box sits
    assert tum[box].min() < 200 and (tum[box] < 240).sum() > 100  # the control: the box is there
    assert plain[box].min() > 200, "ink where the TUM layout has its sticker box"
    assert (plain < 128).sum() > 1000  # the cover is not blank


# ---------------------------------------------------------------- answer regions
def _expected(answers: dict) -> set[tuple[int, str]]:
    """(problem, part) of every answer area and MC box, from the variant's answers.json."""
    out = set()
    for q in answers["questions"]:
        if q["type"] == "mc":
            out |= {(q["problem"], f"{it['label']}.{o['box']}") for it in q["items"] for o in it["options"]}
        else:
            out |= {(q["problem"], p["name"]) for p in q["parts"]}
    return out


def _words(pdf: Path) -> dict[int, list[tuple[float, float, float, float, str]]]:
    """pdftotext -bbox: page -> (xMin, yMin, xMax, yMax in mm from the top-left, word), text
    lines only (no word taller than 8 mm)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages: dict[int, list[tuple[float, float, float, float, str]]] = {}
    for n, page in enumerate(html.split("<page ")[1:], start=1):
        pages[n] = [(*(float(v) * 25.4 / 72 for v in m.groups()[:4]), m.group(5)) for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)]
    # without the solution's watermark (big rotated letters)
    return {n: [w for w in ws if w[3] - w[1] < 8] for n, ws in pages.items()}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Built]:
    """The quiz's two variants compiled twice into a cache of their own: the first time every
    batch is typeset, the second time a cache hit, whose regions come from the cache entry."""
    root = tmp_path_factory.mktemp("regions")
    bank = load_bank()
    spec = load_spec(QUIZ, bank)
    variants = [build_variant(spec, bank, SEED, i) for i in range(1, N + 1)]
    pair = (_batch(spec, variants, "student", None), _batch(spec, variants, "solution", None))
    compiler = Compiler(root / "cache")
    first = compiler.compile_exam([pair], root / "first")
    assert (compiler.stats.hits, compiler.stats.misses) == (0, 2)
    again = compiler.compile_exam([pair], root / "again")
    assert (compiler.stats.hits, compiler.stats.misses) == (2, 2)
    assert {k: b.regions for k, b in again.items()} == {k: b.regions for k, b in first.items()}
    return first


def _areas(built: Built) -> list[Region]:
    """The answer areas and MC boxes (EXAMGEN-REGION), without the scan marks, score cells and
    re-check squares (EXAMGEN-BOX, issue 16: tests/test_scan_layout.py)."""
    return [r for r in built.regions if r.kind == "region"]


@pytest.mark.pdf
def test_regions_are_every_answer_area_and_box_inside_the_page(compiled: dict[tuple[str, str], Built],
                                                                builds: Builds) -> None:
    for code in ("E0001", "E0002"):
        student, solution = compiled[(code, "student")], compiled[(code, "solution")]
        answers = json.loads((builds.tum / code / "answers.json").read_text())
        found = [(r.problem, r.part) for r in _areas(student)]
        assert len(found) == len(set(found)) and set(found) == _expected(answers)
        assert student.regions == solution.regions  # the same paper: the solution is written into it
        for r in _areas(student):
            assert 1 < r.page <= student.pages  # never on the cover
            assert 0 < r.x_mm and r.x_mm + r.width_mm < A4[0] and 0 < r.y_mm and r.y_mm + r.height_mm < A4[1], r
            if "." in r.part:  # an MC box: 3.5 mm square
                assert (r.width_mm, r.height_mm) == pytest.approx((3.5, 3.5), abs=0.05)
            else:  # the answer area: the text width, the template's answer_height
                assert r.width_mm == pytest.approx(165.0, abs=0.05)


@pytest.mark.pdf
def test_regions_lie_where_the_pdf_has_their_text(compiled: dict[tuple[str, str], Built]) -> None:
    """In the solution, an answer's text starts inside its area, 2 mm from its left edge and
    about 1.5 mm below its top; an MC option's text follows its box on the box's line."""
    for code in ("E0001", "E0002"):
        built = compiled[(code, "solution")]
        words = _words(built.pdf)
        for r in _areas(built):
            page = words[r.page]
            if "." in r.part:
                after = [w for w in page if abs((w[1] + w[3]) / 2 - (r.y_mm + r.height_mm / 2)) < 2
                         and 0 <= w[0] - (r.x_mm + r.width_mm) < 3]
                assert after, (code, r)  # the option's first word, two spaces (about 2.5 mm) right of the box
                continue
            inside = [w for w in page if r.x_mm <= w[0] and w[2] <= r.x_mm + r.width_mm
                      and r.y_mm <= w[1] and w[3] <= r.y_mm + r.height_mm]
            assert inside, (code, r)
            left = min(w[0] for w in inside)
            top = min(w[1] for w in inside)
            assert abs(left - (r.x_mm + 2)) < 2 and abs(top - (r.y_mm + 1.5)) < 2, (code, r, left, top)
            # nothing of the answer outside: no word straddles the area's bottom edge
            assert not [w for w in page if r.x_mm <= w[0] < r.x_mm + r.width_mm
                        and w[1] < r.y_mm + r.height_mm < w[3]], (code, r)


@pytest.mark.pdf
@pytest.mark.parametrize("damage", ["wrong shape", "other variants", "rows as dicts"])
def test_a_damaged_regions_record_in_the_cache_is_typeset_anew(damage: str, tmp_path: Path) -> None:
    """regions.json whose hash entry.json agrees with but that is not the batch's regions:
    the entry is discarded (a miss) and the regions are the typeset ones again."""
    bank = load_bank()
    spec = load_spec(QUIZ, bank)
    variants = [build_variant(spec, bank, SEED, 1)]
    pair = (_batch(spec, variants, "student", None), _batch(spec, variants, "solution", None))
    cache = tmp_path / "cache"
    first = Compiler(cache).compile_exam([pair], tmp_path / "first")
    entries = [e for e in (cache / "pdf").iterdir() if (e / "regions.json").exists()]
    assert len(entries) == 2
    for e in entries:
        bad = {"E0001": [{"page": "two"}]} if damage == "wrong shape" else {"E0009": []}
        if damage == "rows as dicts":  # the right values in the shape an older examgen wrote: not read as regions
            rows = json.loads((e / "regions.json").read_text())
            bad = {code: [dict(zip(REGION_FIELDS, row)) for row in rs] for code, rs in rows.items()}
        (e / "regions.json").write_text(json.dumps(bad))
        record = json.loads((e / "entry.json").read_text())
        record["files"]["regions.json"] = hashlib.sha256((e / "regions.json").read_bytes()).hexdigest()
        (e / "entry.json").write_text(json.dumps(record))
    compiler = Compiler(cache)
    again = compiler.compile_exam([pair], tmp_path / "again")
    assert (compiler.stats.hits, compiler.stats.misses) == (0, 2)
    assert {k: b.regions for k, b in again.items()} == {k: b.regions for k, b in first.items()}
    assert len(first[("E0001", "student")].regions) > 3
