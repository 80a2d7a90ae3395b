"""Drawings given to TeX as the PDF operators pgf writes for them (examgen/layouts/tum/drawings.py),
checked against TeX's own arithmetic and against pgf typesetting the same pictures: the same
numbers to the digit, the same boxes to the sp, the same pixels."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import grey_pages, question_source
from test_typeset_once import compile_tex

from examgen.bank import load_bank
from examgen.layouts import SOLUTION, STUDENT
from examgen.layouts.tum import pictures_once
from examgen.layouts.tum.drawings import bp, dimen, literal, print_scaled, times
from examgen.questions import solve_question
from examgen.sampling import derive_seed


def tex_lines(tmp_path: Path, body: str) -> list[str]:
    """What plain pdfTeX writes to the terminal for `body` (\\immediate\\write16 lines starting with T)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "t.tex").write_text(body + "\n\\end\n")
    out = subprocess.run(["pdftex", "-interaction=batchmode", "t.tex"], cwd=tmp_path, capture_output=True, text=True)
    log = (tmp_path / "t.log").read_text()
    assert out.returncode == 0, log[-2000:]
    return [line for line in log.splitlines() if re.match(r"T\d+ ", line)]


def decimal(rng: random.Random, whole: int) -> str:
    sign = rng.choice(["", "-"])
    return f"{sign}{rng.randint(0, whole)}.{rng.randint(0, 10 ** rng.randint(1, 9) - 1)}" if rng.random() < 0.9 \
        else f"{sign}{rng.randint(0, whole)}"


@pytest.mark.pdf
def test_the_arithmetic_is_texs(tmp_path: Path) -> None:
    """A decimal times a dimension, a dimension with a unit, and \\the of the result: what pdfTeX itself
    prints, over 600 random draws (the numbers of pgf's operators are made of nothing else)."""
    rng = random.Random(18)
    body, expected = [], []
    for i in range(400):
        factor, v = decimal(rng, 99), rng.randint(-2 ** 23, 2 ** 23)
        body.append(f"\\dimen2={v}sp \\dimen0={factor}\\dimen2 \\immediate\\write16{{T{i} \\the\\dimen0}}")
        r = times(factor, v)
        assert r is not None
        expected.append(f"T{i} {print_scaled(r)}pt")
    for i in range(400, 600):
        unit, whole = rng.choice([("pt", 9999), ("cm", 500), ("mm", 5000), ("bp", 9999), ("in", 200)])
        text = decimal(rng, whole) + unit
        body.append(f"\\dimen0={text}\\immediate\\write16{{T{i} \\the\\dimen0}}")
        r = dimen(text)
        assert r is not None
        expected.append(f"T{i} {print_scaled(r)}pt")
    assert tex_lines(tmp_path, "\n".join(body)) == expected
    assert bp(dimen("0.8pt") or 0) == "0.79701" and bp(times("1", dimen("0.5cm") or 0) or 0) == "14.17339"


def random_picture(rng: random.Random) -> str:
    """A drawing of pgf's basic layer with a bounding box first: dots and ellipses (axes at any angle),
    polylines (closed or not), fills, strokes in colours and widths, clips in scopes, at random scales."""
    n = lambda lo, hi: f"{rng.uniform(lo, hi):.{rng.randint(0, 5)}f}"  # noqa: E731
    xy = lambda: f"\\pgfqpointxy{{{n(-3, 12)}}}{{{n(-2, 3)}}}"  # noqa: E731
    pt = lambda: f"\\pgfqpoint{{{n(-6, 6)}pt}}{{{n(-6, 6)}pt}}"  # noqa: E731
    out = [f"\\begin{{tikzpicture}}[x={n(0.1, 1.5)}cm,y={n(1, 30)}mm]",
           f"\\pgfpathrectanglecorners{{{xy()}}}{{{xy()}}}\\pgfusepath{{use as bounding box}}"]
    depth = 0
    for _ in range(rng.randint(2, 8)):
        kind = rng.choice(["dots", "line", "scope", "width", "colour", "end"])
        if kind == "dots":
            out += [f"\\pgfpathellipse{{{xy()}}}{{{pt()}}}{{{pt()}}}" for _ in range(rng.randint(1, 4))]
            out.append(rng.choice(["\\pgfusepath{fill}", "\\pgfusepath{stroke}"]))
        elif kind == "line":
            out.append(f"\\pgfpathmoveto{{{xy()}}}" + "".join(f"\\pgfpathlineto{{{xy()}}}"
                                                               for _ in range(rng.randint(1, 40))))
            out.append(rng.choice(["", "\\pgfpathclose"]) + rng.choice(["\\pgfusepath{stroke}", "\\pgfusepath{fill}"]))
        elif kind == "scope":
            out.append(f"\\begin{{pgfscope}}\\pgfpathmoveto{{{xy()}}}\\pgfpathlineto{{{xy()}}}"
                       f"\\pgfpathlineto{{{xy()}}}\\pgfpathclose\\pgfusepath{{clip}}")
            depth += 1
        elif kind == "width":
            out.append(f"\\pgfsetlinewidth{{{n(0.1, 3)}pt}}")
        elif kind == "colour":
            out.append(f"\\pgfsetstrokecolor{{{rng.choice(['black', 'blue', 'red'])}}}")
        elif depth:
            out.append("\\end{pgfscope}")
            depth -= 1
    return "\n".join(out + ["\\end{pgfscope}"] * depth + ["\\end{tikzpicture}"])


def typeset_both(tmp_path: Path, pictures: list[str], colours: tuple[str, ...] = ("black",)) -> dict[str, Path]:
    """The pictures typeset by pgf and as examgen's literals, one per line, each box's size logged."""
    compiled = [literal(p) for p in pictures]
    assert all(c is not None for c in compiled)
    pdfs = {}
    for name, pics in (("pgf", pictures), ("literal", compiled)):
        body = "".join(f"{{\\color{{{c}}}\\noindent\\setbox0\\hbox{{{p}}}\\typeout{{BOX \\the\\wd0\\space\\the\\ht0"
                       f"\\space\\the\\dp0}}\\copy0\\par}}\n" for c in colours for p in pics)
        compile_tex(tmp_path / name, "\\documentclass[en]{examgentum}\\begin{document}\\egversion{student}"
                                     "\\pagestyle{empty}\n" + body + "\\end{document}\n")
        pdfs[name] = tmp_path / name / "doc.pdf"
    return pdfs


def boxes(pdf: Path) -> list[str]:
    return re.findall(r"^BOX .*$", pdf.with_suffix(".log").read_text(), re.M)


def operators(pdf: Path) -> list[str]:
    """The page streams' path, painting, line width and stroke colour operators in order, without the
    colour pgf sets again at each picture's start (the current colour, as the page has it already),
    TikZ's own scope and its empty path (q/Q, n): what draws, with its numbers as written."""
    qdf = pdf.with_suffix(".qdf")
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(pdf), str(qdf)], check=True)
    text = qdf.read_bytes().decode("latin-1")
    streams = "\n".join(m.group(1) for m in re.finditer(r"stream\n(.*?)endstream", text, re.S))
    # (pgf's colour at a picture's start: the current stroke and fill colour, again, right after its q)
    streams = re.sub(r"(?<=\sq)\s+(?:[\d.]+\s+){1,3}(?:RG|G)\s+(?:[\d.]+\s+){1,3}(?:rg|g)\s", " ", streams)
    found = re.findall(r"(?:-?[\d.]+\s+){2,6}[mlc](?=\s)|(?<=\s)[hfS](?=\s)|W\s+n|[\d.]+\s+w(?=\s)"
                       r"|(?<=\s)[01] [01] [01] RG", streams)
    return [" ".join(f.split()) for f in found]


@pytest.mark.pdf
def test_random_drawings_are_pgfs_numbers_boxes_and_pixels(tmp_path: Path) -> None:
    """80 random drawings (at random scales, with ellipses at any angle, closed and open polylines, clips in
    scopes, line widths and stroke colours): examgen's operators carry pgf's numbers, in pgf's order, its
    boxes have pgf's sizes, and the page renders to pgf's pixels (150 dpi)."""
    rng = random.Random(1821)
    pictures = [random_picture(rng) for _ in range(80)]
    pdfs = typeset_both(tmp_path, pictures)
    assert boxes(pdfs["pgf"]) == boxes(pdfs["literal"]) and len(boxes(pdfs["pgf"])) == 80
    ops = {k: operators(v) for k, v in pdfs.items()}
    assert len(ops["pgf"]) > 3000 and sum(o.endswith(" c") for o in ops["pgf"]) > 500
    assert ops["literal"] == ops["pgf"]
    a, b = (grey_pages(p, 150) for p in pdfs.values())
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def bank_drawings(tid: str, draws: int) -> list[str]:
    """The drawings (pictures without text) of a template's statements and solutions over `draws` variants."""
    t = load_bank().templates[tid]
    found = []
    for i in range(1, draws + 1):
        q = solve_question(t, derive_seed(5, i, tid))
        for version in (STUDENT, SOLUTION):
            found += [m.group(0) for m in re.finditer(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}",
                                                      question_source(q, version), re.S)
                      if pictures_once(m.group(0)).startswith("\\egliteral{")]
    return found


@pytest.mark.pdf
@pytest.mark.parametrize("tid", ["regression_sketch_and_kernel", "training_short_questions"])
def test_the_banks_drawings_are_pgfs_numbers_boxes_and_pixels(tid: str, tmp_path: Path) -> None:
    """Each variant's points and model curve over 40 draws, in the statement and the solution, in black
    and in blue: pgf's numbers, boxes and pixels (150 dpi)."""
    pictures = bank_drawings(tid, 40)
    assert len(pictures) >= 160 and len(set(pictures)) > 40  # (two panels a version; the points vary)
    pdfs = typeset_both(tmp_path, pictures, ("black", "blue"))
    assert boxes(pdfs["pgf"]) == boxes(pdfs["literal"])
    assert operators(pdfs["literal"]) == operators(pdfs["pgf"])
    a, b = (grey_pages(p, 150) for p in pdfs.values())
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


BBOX = "\\pgfpathrectanglecorners{\\pgfqpointxy{0}{0}}{\\pgfqpointxy{1}{1}}\\pgfusepath{use as bounding box}"


@pytest.mark.parametrize("picture", [
    "\\begin{tikzpicture}\\pgfpathmoveto{\\pgfqpointxy{0}{0}}\\pgfusepath{stroke}\\end{tikzpicture}",  # no box
    f"\\begin{{tikzpicture}}\\pgfpathmoveto{{\\pgfqpointxy{{0}}{{0}}}}\\pgfusepath{{stroke}}{BBOX}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}[x=1cm,y=1cm,rotate=30]{BBOX}\\end{{tikzpicture}}",  # an option TikZ applies
    f"\\begin{{tikzpicture}}[scale=2]{BBOX}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}\\draw (0,0) -- (1,1);\\end{{tikzpicture}}",  # TikZ syntax
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathcircle{{\\pgfqpointxy{{0}}{{0}}}}{{2pt}}\\pgfusepath{{fill}}"
    "\\end{tikzpicture}",  # not \\pgfpathellipse
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathmoveto{{\\pgfpointxy{{0}}{{0}}}}\\pgfusepath{{stroke}}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathmoveto{{\\pgfqpointxy{{1e-3}}{{0}}}}\\pgfusepath{{stroke}}"
    "\\end{tikzpicture}",  # a number TeX does not read so
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathmoveto{{\\pgfqpoint{{1em}}{{0pt}}}}\\pgfusepath{{stroke}}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}\\pgfsetstrokecolor{{egblue}}\\end{{tikzpicture}}",  # a colour not known here
    f"\\begin{{tikzpicture}}{BBOX}\\pgfsetfillcolor{{red}}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathmoveto{{\\pgfqpointxy{{0}}{{0}}}}\\end{{tikzpicture}}",  # never used
    f"\\begin{{tikzpicture}}{BBOX}\\begin{{pgfscope}}\\end{{tikzpicture}}",  # a scope left open
    f"\\begin{{tikzpicture}}{BBOX}\\end{{pgfscope}}\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}\\pgfpathclosed\\end{{tikzpicture}}",
    f"\\begin{{tikzpicture}}{BBOX}%\n\\end{{tikzpicture}}",  # a comment
])
def test_anything_else_is_left_to_pgf(picture: str) -> None:
    assert literal(picture) is None
    wrapped = pictures_once(picture)
    assert wrapped.startswith(("\\egdrawing{", "\\egpicture{")) and wrapped.endswith(f"{{{picture}}}")


def test_a_number_tex_cannot_hold_is_left_to_pgf() -> None:
    """Coordinates beyond TeX's largest dimension (16383.99999 pt): pgf's TeX stops with an error, so
    the picture stays with pgf (and the error is TeX's, as before), here and in the bounding box."""
    far = "\\begin{tikzpicture}[x=1cm,y=1cm]" + BBOX + "\\pgfpathmoveto{\\pgfqpointxy{700}{0}}\\pgfusepath{stroke}" \
          "\\end{tikzpicture}"
    wide = "\\begin{tikzpicture}[x=1cm,y=1cm]\\pgfpathrectanglecorners{\\pgfqpointxy{-300}{0}}{\\pgfqpointxy{300}{1}}" \
           "\\pgfusepath{use as bounding box}\\end{tikzpicture}"
    near = far.replace("{700}", "{500}")  # 500 cm = 14226 pt: still a dimension
    assert literal(far) is None and literal(wide) is None and literal(near) is not None
