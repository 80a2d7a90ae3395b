"""Issue 18, "Vector fonts only" and "One typography": every PDF examgen ships (student,
solution, print files, grading report, preview, `examgen check`'s documents) embeds only
vector fonts with a Unicode map, its typewriter text can be extracted, no text is printed
below 7 pt, and a build's manifest records the TeX distribution. The PDFs are read back
with poppler (pdffonts, pdftotext) and qpdf (tests/pdfprint.py), never with examgen."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import Built, pdftotext
from pdfprint import Shown, fonts, text_sizes
from test_grading import header_of, keys, right_row, write_csv

from examgen.bank import load_bank
from examgen.checking import check_bank
from examgen.compiler import Compiler
from examgen.grading import grade_build
from examgen.pipeline import preview

pytestmark = pytest.mark.pdf
SMALLEST = 7.0  # pt (TeX points), the smallest printed text
SLACK = 0.005  # pdfTeX writes sizes with 3 decimals (in big points)


@pytest.fixture(scope="module")
def report(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grading report of the quiz (one student, all right)."""
    folder = tmp_path_factory.mktemp("report")
    rows = [right_row("001", keys(quiz_build)["E0001"])]
    grade_build(quiz_build, write_csv(folder / "r.csv", header_of(quiz_build), rows), folder / "grading")
    return folder / "grading" / "report.pdf"


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A preview (student and solution) of a template with typewriter text."""
    folder = tmp_path_factory.mktemp("preview")
    return [preview("conv_param_count", 3, None, solution, folder / f"{v}.pdf")
            for solution, v in ((False, "student"), (True, "solution"))]


@pytest.fixture(scope="module")
def check_pdfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """`examgen check`'s documents (one draw of every template, every multiple-choice
    option), student and solution, from a cache folder of their own."""
    cache = tmp_path_factory.mktemp("check-cache")
    report = check_bank(load_bank(), draws=1, compile_draws=1, compiler=Compiler(cache))
    assert report.failures == []
    pdfs = sorted(cache.glob("pdf/*/CHECK.pdf"))
    assert len(pdfs) == 2
    return pdfs


def shipped(built: dict[str, Built]) -> list[Path]:
    """Every PDF of the three shipped builds: per variant and the print files."""
    pdfs = [p for b in built.values() for p in sorted(b.out.rglob("*.pdf"))]
    assert {p.parent.name for p in pdfs} >= {"E0001", "E0002", "print"}
    return pdfs


def test_only_embedded_vector_fonts_with_unicode(built: dict[str, Built], report: Path, previews: list[Path],
                                                  check_pdfs: list[Path]) -> None:
    """No Type 3 (bitmap) font anywhere, every font embedded, each with a ToUnicode map."""
    bad = {}
    for pdf in [*shipped(built), report, *previews, *check_pdfs]:
        found = fonts(pdf)
        assert found, f"{pdf}: pdffonts lists no font"
        wrong = [f for f in found if f.type == "Type 3" or f.type not in ("Type 1", "Type 1C", "TrueType")
                 or not f.embedded or not f.unicode]
        if wrong:
            bad[str(pdf)] = wrong
    assert bad == {}


def test_typewriter_text_is_vector_and_extractable(check_pdfs: list[Path], previews: list[Path]) -> None:
    """\\texttt is Latin Modern Mono (a Type 1 font) and pdftotext reads the words back."""
    for pdf in check_pdfs:
        assert any(f.name.endswith("LMMono10-Regular") for f in fonts(pdf)), pdf
        assert "nn.BCEWithLogitsLoss" in pdftotext(pdf)  # the multiple-choice pool's losses item
    for pdf in previews:
        assert "nn.Conv2d(" in pdftotext(pdf)  # conv_param_count's statement


def too_small(pdf: Path) -> list[Shown]:
    return [s for s in text_sizes(pdf) if s.size < SMALLEST - SLACK]


def test_no_text_below_7pt(built: dict[str, Built], report: Path, previews: list[Path],
                           check_pdfs: list[Path]) -> None:
    """Every string on every page of the student PDFs (all three shipped exams, the print
    file), the quiz's solution, the grading report, the previews and check's student
    document is printed at 7 pt or more, as measured from the PDF's own content."""
    pdfs = [p for p in shipped(built) if "solution" not in p.name]
    pdfs += [built["quiz"].out / "E0001" / "solution.pdf", report, *previews]
    pdfs += [p for p in check_pdfs if "Grading notes" not in pdftotext(p)]  # the student version
    small = {str(p): sorted({(s.page, s.font, s.size) for s in too_small(p)}) for p in pdfs}
    assert {p: s for p, s in small.items() if s} == {}
    assert len(pdfs) >= 3 * 2 + 3 + 1 + 2 + 1


def test_solutions_below_7pt_only_inside_answer_areas(built: dict[str, Built]) -> None:
    """In the solution PDFs of the shipped exams everything outside the answer areas
    (cover, statements, headings, score boxes, multiple-choice reasons) is 7 pt or more; a
    solution too long for its area is set again in \\small, then \\footnotesize, and
    only one that does not fit even then is scaled down, inside its area (answers.json
    gives each area's place; the solution paginates like the student version)."""
    outside = []
    for b in built.values():
        for v in b.variants:
            areas = [p["region"] for q in v.answers["questions"] if q["type"] != "mc" for p in q["parts"]]
            for s in too_small(v.dir / "solution.pdf"):
                if not any(a["page"] == s.page and a["x"] - 1 <= s.x_mm <= a["x"] + a["width"] + 1
                           and a["y"] - 1 <= s.y_mm <= a["y"] + a["height"] + 1 for a in areas):
                    outside.append((str(v.dir), s))
    assert outside == []


def test_the_size_measure_sees_tiny_and_scaled_text(tmp_path: Path) -> None:
    """The measure itself: a \\tiny note (5 pt, Helvetica at 0.95: 4.75 pt), a 10 pt word
    and a 10 pt word scaled by \\resizebox to half its height (5 pt) in the typography
    of the exams (examgenfonts.sty)."""
    from examgen.layouts.tum import FONTS_FILE

    shutil.copyfile(FONTS_FILE, tmp_path / FONTS_FILE.name)
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\usepackage{examgenfonts}\\usepackage{graphicx}\\usepackage[margin=30mm]{geometry}"
        "\\pagestyle{empty}\\begin{document}\n"
        "\\noindent normal {\\tiny tiny} \\scalebox{0.5}{half} \\texttt{mono}\n\\end{document}\n")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, check=True, capture_output=True)
    shown = text_sizes(tmp_path / "t.pdf")
    # "normal": at the text area's left edge, its baseline \\topskip (10 pt = 3.51 mm) below the top margin
    assert (shown[0].x_mm, shown[0].y_mm) == (30.0, 33.51)
    sizes = sorted((s.font.split("+")[-1], s.size) for s in shown)
    assert sizes == [("LMMono10-Regular", 10.0), ("NimbusSanL-Regu", 4.75), ("NimbusSanL-Regu", 4.75),
                     ("NimbusSanL-Regu", 9.5)]
    assert [s.size for s in too_small(tmp_path / "t.pdf")] == [4.75, 4.75]


def test_manifest_records_the_tex_distribution(built: dict[str, Built]) -> None:
    version = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, check=True).stdout
    font_map = subprocess.run(["kpsewhich", "pdftex.map"], capture_output=True, text=True, check=True).stdout.strip()
    expected = {"pdftex": version.splitlines()[0],
                "font_map_sha256": hashlib.sha256(Path(font_map).read_bytes()).hexdigest()}
    assert re.match(r"pdfTeX 3\.\d+-", expected["pdftex"])
    assert re.fullmatch(r"[0-9a-f]{64}", expected["font_map_sha256"])
    for b in built.values():
        assert json.loads((b.out / "manifest.json").read_text())["tex"] == expected


def test_streams_are_compressed_at_zlibs_fast_level(built: dict[str, Built]) -> None:
    """Every compressed stream of the shipped PDFs at zlib's level 2 (the second byte of its zlib header
    is 0x5E for levels 2 to 5; 0x9C at 6, its default; 0xDA at pdfTeX's usual 9): a variant's PDF 3-4%
    larger than at 6, for 5-6% less TeX time."""
    levels = Counter(data[m.end():m.end() + 2].hex() for data in (pdf.read_bytes() for pdf in shipped(built))
                     for m in re.finditer(rb"\bstream\r?\n", data))  # (not "endstream")
    assert set(levels) == {"785e"} and levels["785e"] > 100, levels
