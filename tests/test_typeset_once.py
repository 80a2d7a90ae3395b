"""Issue 18, "the last factor of two": the class typesets a part's solution and each TikZ
picture once per font instead of once per measurement. A part's statement is set twice
(measured, then placed) and a solution up to four times (measured for its \\egsetfill, then
tried at 10, 9 and 8 pt until it fits its answer area); examgen wraps every TikZ picture of a
question in \\egpicture{key}{...}, which keeps the typeset picture per font and line width and
copies it. Checked here: which pictures are wrapped (and which must not be: one that reads
examgen's per-variant macros), how many TikZ pictures TeX really typesets (counted with a LaTeX
hook in the log), and that the pages are those the old class typesets, to the pixel."""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import grey_pages, question_source

from examgen.bank import load_bank
from examgen.layouts import SOLUTION, STUDENT
from examgen.layouts.plain import CLASS_FILE as PLAIN_CLASS
from examgen.layouts.tum import CLASS_FILE, FONTS_FILE, pictures_once, render_question_body
from examgen.layouts.tum.drawings import literal
from examgen.questions import solve_question
from examgen.sampling import derive_seed

PIC = "\\begin{tikzpicture}\\draw (0,0) -- (1,1) node[right]{$x$};\\end{tikzpicture}"


def key(picture: str) -> str:
    return hashlib.sha256(picture.encode()).hexdigest()[:20]


def test_pictures_are_wrapped_with_the_hash_of_their_source() -> None:
    other = PIC.replace("(1,1)", "(2,1)")
    text = f"Look: {PIC} and {other}."
    wrapped = [f"\\egpicture{{{key(p)}}}{{{p}}}" for p in (PIC, other)]
    assert pictures_once(text) == f"Look: {wrapped[0]} and {wrapped[1]}."
    assert pictures_once("no figure $x^2$") == "no figure $x^2$"


@pytest.mark.parametrize("picture", [
    "\\begin{tikzpicture}\\node {\\egfill{z1}};\\end{tikzpicture}",  # differs per variant under one source
    "\\begin{tikzpicture}[remember picture]\\node (a) {};\\end{tikzpicture}",
    "\\begin{tikzpicture}[overlay]\\draw (0,0) -- (1,1);\\end{tikzpicture}",
    "\\begin{tikzpicture}\\node {\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}};\\end{tikzpicture}",
])
def test_pictures_that_must_be_set_each_time_are_left_alone(picture: str) -> None:
    assert "\\egpicture" not in pictures_once(f"a {picture} b")


# One part whose statement holds one picture and whose solution (one picture and text) does
# not fit its 30 mm answer area at 10 pt nor at 9 pt, so all three sizes are tried.
LONG = " ".join(["The solution goes on and on."] * 25)
DOC = """\\documentclass[solution,en]{examgentum}
\\makeatletter\\AddToHook{env/tikzpicture/begin}{\\typeout{EG-TIKZ \\f@size}}\\makeatother
%(old)s
\\begin{document}
\\egbeginvariant{E0001}{4}
\\egproblem{1}{Figures}{2 credits}
\\egsubproblem{a}{4}{30mm}{0}{Statement %(st)s}{Solution %(so)s %(long)s}
\\egadditionalspace
\\end{document}
"""
# the class as it was before: every picture typeset where it stands (a solution's in the font of its
# first try: \\eg@answerfont, as the class sets its figures), the solution measured alone
OLD = """\\makeatletter\\renewcommand{\\egpicture}[2]{{\\eg@answerfont#2}}\\renewcommand{\\egdrawing}[2]{#2}
\\renewcommand{\\eg@firsttry}[1]{\\sbox{\\eg@measure}{\\parbox{\\linewidth}{#1}}}\\makeatother"""


def compile_tex(folder: Path, tex: str, classes: tuple[Path, ...] = ()) -> tuple[bytes, list[str]]:
    """doc.tex compiled with the class (and `classes`) in a folder of its own: the PDF and the font
    sizes at which TikZ pictures were typeset (EG-TIKZ lines)."""
    folder.mkdir()
    for f in (CLASS_FILE, FONTS_FILE, *classes):
        shutil.copyfile(f, folder / f.name)
    (folder / "doc.tex").write_text(tex)
    subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error", "doc.tex"], cwd=folder,
                   check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "0"})
    log = (folder / "doc.log").read_text(errors="replace")
    return (folder / "doc.pdf").read_bytes(), [line.split()[1] for line in log.splitlines()
                                               if line.startswith("EG-TIKZ ")]


def same_pixels(tmp_path: Path) -> bool:
    """new/doc.pdf and old/doc.pdf render to the same pages at 150 dpi."""
    new, old = (grey_pages(tmp_path / n / "doc.pdf", 150) for n in ("new", "old"))
    return len(new) == len(old) and all(np.array_equal(a, b) for a, b in zip(new, old))


def typeset(folder: Path, old: bool, pic: str = PIC) -> tuple[bytes, list[str]]:
    sol = pic.replace("(1,1)", "(3,1)")
    return compile_tex(folder, DOC % {"old": OLD + OLD_SUBPROBLEM if old else "", "st": pictures_once(pic),
                                      "so": pictures_once(sol), "long": LONG})


def word_heights(pdf: bytes, folder: Path) -> dict[str, float]:
    """The height (pt) of each word's box on the PDF's pages (pdftotext -bbox), by word."""
    (folder / "words.pdf").write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", "words.pdf", "-"], cwd=folder, check=True, capture_output=True,
                          text=True).stdout
    return {m.group(3): float(m.group(2)) - float(m.group(1))
            for m in re.finditer(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>', html)}


@pytest.mark.pdf
def test_each_picture_is_typeset_once_per_font_and_the_pdf_is_unchanged(tmp_path: Path) -> None:
    new_pdf, new_runs = typeset(tmp_path / "new", old=False)
    old_pdf, old_runs = typeset(tmp_path / "old", old=True)
    # before: the statement's picture twice (measured, placed), the solution's four times
    # (measured, then at each size tried), its text in the font of the first try (10 pt)
    assert sorted(old_runs) == ["10", "10", "10", "10", "10", "10"]
    # now: the statement's picture once, the solution's once: the sizes tried after the first
    # copy it (its text keeps the first try's size, as the statement's figures have it)
    assert sorted(new_runs) == ["10", "10"]
    assert same_pixels(tmp_path)  # (not the same bytes: the statement is placed as one box now)
    # the solution's text was set smaller (it fits its area at 8 pt only): only its figure kept 10 pt
    words = word_heights(new_pdf, tmp_path)
    assert words["Solution"] < 0.85 * words["Statement"]


DRAWING = "\\begin{tikzpicture}\\fill (0,0) circle (2.5pt);\\draw[thick,blue] (0,0) -- (1,1);\\end{tikzpicture}"


@pytest.mark.parametrize("picture", [
    PIC,  # a node's text
    "\\begin{tikzpicture}\\draw (0,0) -- (1,1) node[midway,above]{$a$};\\end{tikzpicture}",
    "\\begin{tikzpicture}\\draw[label=right:$x$] (0,0) circle (1pt);\\end{tikzpicture}",
    "\\begin{tikzpicture}\\draw[line width=0.1em] (0,0) -- (1,1);\\end{tikzpicture}",  # font-relative unit
    "\\begin{tikzpicture}\\draw (0,0) -- (2 ex,1);\\end{tikzpicture}",
    "\\begin{tikzpicture}\\pgftext{$x$}\\end{tikzpicture}",
    "\\begin{tikzpicture}\\matrix {\\draw (0,0) circle (1pt);\\\\};\\end{tikzpicture}",
    "\\begin{tikzpicture}\\draw (0,0) -- (0.5\\linewidth,0);\\end{tikzpicture}",  # the line width
    "\\begin{tikzpicture}\\pgfnode{circle}{center}{$a$}{a}{\\pgfusepath{stroke}}\\end{tikzpicture}",  # pgf's node
    "\\begin{tikzpicture}\\pgfpathcircle{\\pgfpointxy{0}{0}}{1em}\\pgfusepath{fill}\\end{tikzpicture}",  # 1em
    "\\begin{tikzpicture}\\pgfpathcircle{\\pgfpoint{0pt}{\\baselineskip}}{1pt}\\pgfusepath{fill}\\end{tikzpicture}",
    "\\begin{tikzpicture}\\pgfpathellipse{\\pgfqpointxy{0}{0}}{\\pgfqpoint{1em}{0pt}}{\\pgfqpoint{0pt}{1em}}"
    "\\pgfusepath{fill}\\end{tikzpicture}",  # 1em, in a quick point too
    "\\begin{tikzpicture}\\pgfpathclosed\\end{tikzpicture}",  # (not \\pgfpathclose: any other pgf command)
])
def test_pictures_with_text_are_keyed_by_the_font(picture: str) -> None:
    assert pictures_once(picture) == f"\\egpicture{{{key(picture)}}}{{{picture}}}"


def test_pictures_without_text_are_drawings_set_once_whatever_the_font() -> None:
    arrows = ("\\begin{tikzpicture}[x=0.5cm]\\draw[->] (0,0) -- (1,0);"
              "\\fill[pattern=dots] (0,0) rectangle (1,1);\\end{tikzpicture}")
    basic = ("\\begin{tikzpicture}[x=0.5cm]\\pgfpathcircle{\\pgfpointxy{1}{0}}{2.5pt}\\pgfusepath{fill}"
             "\\pgfsetlinewidth{0.8pt}\\pgfsetstrokecolor{blue}\\pgfpathmoveto{\\pgfpointxy{0}{0}}"
             "\\pgfpathlineto{\\pgfpointxy{1}{1}}\\pgfusepath{stroke}\\end{tikzpicture}")  # pgf's basic layer
    sketch = ("\\begin{tikzpicture}[x=0.5cm,y=2cm]\\pgfpathrectanglecorners{\\pgfqpointxy{-1}{-1}}{\\pgfqpointxy{2}{2}}"
              "\\pgfusepath{use as bounding box}\\pgfpathellipse{\\pgfqpointxy{1}{0}}{\\pgfqpoint{2.5pt}{0pt}}"
              "{\\pgfqpoint{0pt}{2.5pt}}\\pgfusepath{fill}\\begin{pgfscope}\\pgfpathmoveto{\\pgfqpointxy{0}{0}}"
              "\\pgfpathlineto{\\pgfqpointxy{0}{1}}\\pgfpathclose\\pgfusepath{clip}\\end{pgfscope}\\end{tikzpicture}")
    for picture in (DRAWING, arrows, basic):  # (basic: no bounding box first)
        assert pictures_once(picture) == f"\\egdrawing{{{key(picture)}}}{{{picture}}}"
    # pgf's basic layer with its bounding box first: pgf's operators, computed by examgen (test_drawings.py);
    # the box 3 x 0.5cm wide (TeX: 0.5cm = 932339 sp), the dot's first point as pgf wrote it (16.66408 bp)
    assert pictures_once(sketch) == literal(sketch) and literal(sketch).startswith(
        "\\egliteral{2797017}{11188077}{932339}{3729359}{q 0.3985 w 16.66408 0.0 m ")


@pytest.mark.pdf
def test_a_drawing_is_typeset_once_for_all_sizes_tried_and_the_pdf_is_unchanged(tmp_path: Path) -> None:
    new_pdf, new_runs = typeset(tmp_path / "new", old=False, pic=DRAWING)
    old_pdf, old_runs = typeset(tmp_path / "old", old=True, pic=DRAWING)
    assert sorted(old_runs) == ["10", "10", "10", "10", "8", "9"]
    # the statement's drawing once, the solution's once (at its first try, 10 pt), not once per size
    assert sorted(new_runs) == ["10", "10"]
    assert same_pixels(tmp_path)  # (not the same bytes: the statement is placed as one box now)


@pytest.mark.pdf
def test_a_drawing_is_copied_at_another_line_width_but_not_into_another_colour(tmp_path: Path) -> None:
    """The statement holds the drawing twice (the second in a 5 cm parbox), the solution (blue) once:
    typeset once in black for both widths, once in blue; the same PDF as the old class's."""
    st = pictures_once(f"{DRAWING} \\parbox{{5cm}}{{{DRAWING}}}")
    runs = {}
    for name in ("new", "old"):
        _, sizes = compile_tex(tmp_path / name, DOC % {"old": OLD + OLD_SUBPROBLEM if name == "old" else "",
                                                        "st": st, "so": pictures_once(DRAWING), "long": LONG})
        runs[name] = len(sizes)
    assert runs == {"new": 2, "old": 8}
    assert same_pixels(tmp_path)  # (not the same bytes: the statement is placed as one box now)


# ------------------------------------------------- the regression sketches, drawn in layers
SKETCHES = ["regression_sketch_and_kernel", "training_short_questions"]
_SOURCE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)


def wrapped(q, version: str) -> list[tuple[str, str, str]]:
    """(macro, what the layout gives TeX, the picture's source) of every picture of the sketch's part,
    in order: \\egpicture{key}{source} or \\egliteral{...}{pgf's operators} (layouts/tum/drawings.py)."""
    rendered = "".join(render_question_body(q, version))
    out = []
    for source in (m.group(0) for m in _SOURCE.finditer(question_source(q, version)) if "y=2cm" in m.group(0)):
        given = pictures_once(source)
        assert given in rendered  # (what the layout renders)
        out.append((re.match(r"\\(eg[a-z]+)\{", given).group(1), given, source))
    return out


@pytest.mark.parametrize("tid", SKETCHES)
def test_sketch_axes_are_one_picture_for_all_variants(tid: str) -> None:
    """Per panel the axes (with text: \\egpicture, the same source in every variant, so a batch typesets
    them once per font and colour) and the variant's points (in the solution with the model: \\egliteral,
    the PDF operators pgf would write for them, computed by examgen)."""
    t = load_bank().templates[tid]
    axes: set[str] = set()
    points: set[str] = set()
    for i in range(1, 41):
        q = solve_question(t, derive_seed(5, i, tid))
        st, so = wrapped(q, STUDENT), wrapped(q, SOLUTION)
        assert [m for m, _, _ in st] == ["egpicture", "egliteral"] * 2
        assert so[:4] == st  # the statement, then the solution's panels
        so = so[4:]
        assert [m for m, _, _ in so] == ["egpicture", "egliteral"] * 2
        assert [k for _, k, _ in so[0::2]] == [k for _, k, _ in st[0::2]]  # the statement's axes
        assert st[1][1] == st[3][1]  # both panels: the same points
        assert all("\\pgfsetlinewidth{0.8pt}\\pgfsetstrokecolor{blue}" in p for _, _, p in so[1::2])
        axes.update(k for _, k, _ in st[0::2])
        points.add(st[1][1])
        # the points: \pgfpathellipse with \pgfqpoint axes (\pgfpathcircle's radius, 2.5pt, went through
        # pgfmath's parser twice: 38% of a dot's TeX instructions; the same PDF bytes)
        assert "node" not in st[1][2] and "\\pgfpathcircle" not in st[1][2]
        dots = len(q.params["x0"]) + len(q.params["x1"])
        assert st[1][2].count("}{\\pgfqpoint{2.5pt}{0pt}}{\\pgfqpoint{0pt}{2.5pt}}") == dots
    assert len(axes) == 2  # linear and logistic: one source each over all 40 variants
    assert len(points) > 10  # the points differ between variants


def tikz_sketch(q, panel: str, solution: bool) -> tuple[str, str]:
    """The panel's axes and points (and model) as the templates drew them with TikZ nodes, \\fill and \\draw
    before issue 18 (the same coordinates): what the pgf drawing of the bank must look like."""
    p, a = q.params, q.answers
    bbox = "\\begin{tikzpicture}[x=0.5cm,y=2cm]\n\\useasboundingbox (-0.8762,-0.30352) rectangle (11.661,1.67463);\n"
    axes = bbox + ("\\draw[->] (-0.5,0) -- (10.8,0) node[right]{$x$};\n"
                   "\\draw[->] (0,-0.3) -- (0,1.45) node[above]{$y$};\n"
                   "\\draw (0.12,1) -- (-0.12,1) node[left]{\\footnotesize 1};\n") + "".join(
        f"\\draw ({t},0.05) -- ({t},-0.05) node[below]{{\\footnotesize {t}}};\n" for t in range(0, 11, 2)) + \
        f"\\node at (5,1.4) {{\\small {panel} regression}};\n\\end{{tikzpicture}}"
    model = bbox + "".join(f"\\fill ({x},0) circle (2.5pt);\n" for x in p["x0"]) + "".join(
        f"\\fill ({x},1) circle (2.5pt);\n" for x in p["x1"])
    if solution:
        slope, intercept = a["ls_slope"], a["ls_intercept"]
        if panel == "linear":
            line = f"(-0.5,{intercept - 0.5 * slope:.6f}) -- (10.5,{intercept + 10.5 * slope:.6f})"
        else:  # 1/(1+exp(-3u)) at u = -2.5, -2.375, ..., 2.5, to 4 decimals
            us = [-2.5 + 0.125 * i for i in range(41)]
            line = "(-0.5,0.0006) -- " + " -- ".join(
                f"({a['logistic_center'] + u:.3f},{1 / (1 + math.exp(-3 * u)):.4f})" for u in us) + " -- (10.5,0.9994)"
        model += (f"\\begin{{scope}}\n\\clip (-0.5,-0.3) rectangle (10.8,1.3);\n\\draw[thick,blue] {line};\n"
                  "\\end{scope}\n")
    return axes, model + "\\end{tikzpicture}"


@pytest.mark.pdf
@pytest.mark.parametrize("tid", SKETCHES)
def test_sketches_look_as_their_tikz_nodes_and_paths_did(tid: str, tmp_path: Path) -> None:
    """The sketches' axes (pgf's \\pgftext and paths, a third of the TeX time of TikZ's nodes) and points
    and models (pgf's basic layer, given to TeX as the PDF operators pgf writes for them: \\egliteral) render
    to the pixels of the TikZ pictures they replace,
    written out here from the variant's draws and the solver's model: both panels, in the statement
    and in the solution, at the three sizes a solution is tried at, in black and in blue, at 300 dpi."""
    q = solve_question(load_bank().templates[tid], derive_seed(5, 7, tid))
    st, so = wrapped(q, STUDENT), wrapped(q, SOLUTION)[4:]
    pictures = {"bank": [(st[i][1], st[i + 1][1]) for i in (0, 2)] + [(so[i][1], so[i + 1][1]) for i in (0, 2)],
                "tikz": [tikz_sketch(q, panel, sol) for sol in (False, True) for panel in ("linear", "logistic")]}
    for name, pairs in pictures.items():
        body = "".join(f"{{{size}\\color{{{colour}}}\\noindent\\rlap{{{axes}}}{model}\\par}}\\vspace{{2mm}}\n"
                       for size in ("\\normalsize", "\\small", "\\footnotesize") for colour in ("black", "blue")
                       for axes, model in pairs)
        compile_tex(tmp_path / name, "\\documentclass[en]{examgentum}\\begin{document}\\egversion{student}"
                    "\\pagestyle{empty}\n" + body + "\\end{document}\n")
    bank, tikz = (grey_pages(tmp_path / n / "doc.pdf", 300) for n in pictures)
    assert len(bank) == len(tikz) >= 2 and sum(int((page < 128).sum()) for page in bank) > 50000  # drawn
    assert all(np.array_equal(a, b) for a, b in zip(bank, tikz))


_CLIP = ("\\pgfpathmoveto{\\pgfqpointxy{-0.5}{-0.3}}\\pgfpathmoveto{\\pgfqpointxy{-0.5}{-0.3}}"
         "\\pgfpathlineto{\\pgfqpointxy{-0.5}{1.3}}\\pgfpathlineto{\\pgfqpointxy{10.8}{1.3}}"
         "\\pgfpathlineto{\\pgfqpointxy{10.8}{-0.3}}\\pgfpathclose\\pgfpathmoveto{\\pgfqpointxy{10.8}{1.3}}"
         "\\pgfusepath{clip}")


def as_written_before(picture: str) -> str:
    """A sketch's picture as the bank wrote it before (the same geometry through pgf's and TikZ's parsing
    front ends): \\pgfpathcircle{point}{2.5pt}, \\pgfpointxy, TikZ's \\useasboundingbox and \\clip in a scope."""
    old = re.sub(r"\\pgfpathellipse\{(\\pgfqpointxy\{[^}]*\}\{[^}]*\})\}\{\\pgfqpoint\{2\.5pt\}\{0pt\}\}"
                 r"\{\\pgfqpoint\{0pt\}\{2\.5pt\}\}", r"\\pgfpathcircle{\1}{2.5pt}", picture)
    old = re.sub(r"\\pgfpathrectanglecorners\{\\pgfqpointxy\{([^}]*)\}\{([^}]*)\}\}\{\\pgfqpointxy\{([^}]*)\}"
                 r"\{([^}]*)\}\}\\pgfusepath\{use as bounding box\}",
                 r"\\useasboundingbox (\1,\2) rectangle (\3,\4);", old)
    old = old.replace("\\begin{pgfscope}\n" + _CLIP, "\\begin{scope}\n\\clip (-0.5,-0.3) rectangle (10.8,1.3);")
    old = old.replace("\\end{pgfscope}\n\\end{tikzpicture}", "\\end{scope}\n\\end{tikzpicture}")
    return old.replace("\\pgfqpointxy{", "\\pgfpointxy{")


@pytest.mark.pdf
@pytest.mark.parametrize("tid", SKETCHES)
def test_sketches_are_the_pdf_bytes_of_pgfs_circles_and_tikzs_clip(tid: str, tmp_path: Path) -> None:
    """The sketches' dots (\\pgfpathellipse with \\pgfqpoint axes), points (\\pgfqpointxy: no pgfmath parse), clip
    and bounding box (pgf's basic layer) cost 7% fewer TeX instructions than the bank's earlier \\pgfpathcircle,
    \\pgfpointxy and TikZ syntax: typeset both ways, in black and blue, the PDFs are the same bytes."""
    q = solve_question(load_bank().templates[tid], derive_seed(5, 11, tid))
    pictures = [p for _, _, p in wrapped(q, STUDENT) + wrapped(q, SOLUTION)]
    olds = [as_written_before(p) for p in pictures]
    assert all(o != p and "\\pgfq" not in o and "pgfscope" not in o and "pgfpathellipse" not in o
               for o, p in zip(olds, pictures))
    assert sum("\\clip (-0.5,-0.3)" in o for o in olds) == 2 and sum("\\pgfpathcircle{" in o for o in olds) >= 3
    pdfs = {}
    for name, pics in (("bank", pictures), ("before", olds)):
        body = "".join(f"{{\\color{{{c}}}\\noindent{p}\\par}}\n" for c in ("black", "blue") for p in pics)
        pdfs[name], _ = compile_tex(tmp_path / name, "\\documentclass[en]{examgentum}\\begin{document}"
                                    "\\egversion{student}\\pagestyle{empty}\n" + body + "\\end{document}\n")
    assert pdfs["bank"] == pdfs["before"]


def merged(layers: list[str]) -> str:
    """The layers' pictures as the one picture they replaced (same bounding box, same order)."""
    bodies = [p.split("\n", 1)[1].rsplit("\\end{tikzpicture}", 1)[0] for p in layers]
    bbox = bodies[0].split("\n", 1)[0]
    assert all(b.startswith(bbox + "\n") for b in bodies)
    return "\\begin{tikzpicture}[x=0.5cm,y=2cm]\n" + bbox + "\n" + "".join(
        b.split("\n", 1)[1] for b in bodies) + "\\end{tikzpicture}"


@pytest.mark.pdf
@pytest.mark.parametrize("tid", SKETCHES)
def test_sketch_layers_lie_exactly_on_one_another(tid: str, tmp_path: Path) -> None:
    """The solution's panels typeset as layers (\\rlap'ed pictures) and as the one picture they
    stand for render to the same pixels at 300 dpi: the layers share one origin (a layer shifted
    by its line width would not)."""
    q = solve_question(load_bank().templates[tid], derive_seed(5, 3, tid))
    so = wrapped(q, SOLUTION)[4:]
    axes, model = (pictures_once(p) for _, _, p in so[2:4])  # the logistic panel
    docs = {"layered": f"\\leavevmode\\rlap{{{axes}}}{model}", "merged": merged([p for _, _, p in so[2:4]])}
    for name, body in docs.items():
        compile_tex(tmp_path / name, "\\documentclass[en]{examgentum}\\begin{document}\\egversion{student}"
                    "\\pagestyle{empty}\n" + body + "\n\\end{document}\n")
    a, b = (grey_pages(tmp_path / n / "doc.pdf", 300)[0] for n in docs)
    assert (a < 128).sum() > 2000  # the panel is drawn
    assert np.array_equal(a, b)


COVERS = """\\documentclass[en]{examgentum}
\\makeatletter\\AddToHook{env/tikzpicture/begin}{\\typeout{EG-TIKZ \\f@size}}\\makeatother
\\AddToHook{env/tabular/begin}{\\typeout{EG-TABULAR}}
%(old)s
\\begin{document}
\\egversion{%(version)s}
""" + "".join(f"""\\egbeginvariant{{E000{i}}}{{4}}
\\egset{{problems}}{{1}}\\egset{{credits}}{{2}}
\\egcover{{\\eggradingtable{{1}}{{1}}{{12.2mm}}{{8mm}}}}
\\egadditionalspace
""" for i in (1, 2, 3)) + "\\end{document}\n"


@pytest.mark.pdf
@pytest.mark.parametrize("version", ["student", "solution"])
def test_the_cover_sticker_and_grading_tables_are_typeset_once_per_document(tmp_path: Path, version: str) -> None:
    runs, tables, pdfs = {}, {}, {}
    for name, old in (("new", ""), ("old", "\\makeatletter\\renewcommand{\\egpicture}[2]{#2}"
                                           "\\renewcommand{\\eggradingtable}{\\eg@gradingtable}\\makeatother")):
        pdfs[name], sizes = compile_tex(tmp_path / name, COVERS % {"old": old, "version": version})
        runs[name] = len(sizes)
        tables[name] = (tmp_path / name / "doc.log").read_text(errors="replace").count("EG-TABULAR")
    assert runs == {"new": 1, "old": 3}
    assert tables == {"new": 1 + 3, "old": 3 + 3}  # (+ each cover's exam/date tabular)
    assert pdfs["new"] == pdfs["old"]
    text = subprocess.run(["pdftotext", str(tmp_path / "new" / "doc.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count("Esolution" if version == "solution" else "Eexam") == 3


# the same covers, each variant's with the key examgen gives it; variant E0002 with another page total
SHARED = COVERS.replace("\\egcover{", "\\egcover[k1]{").replace("\\egbeginvariant{E0002}{4}",
                                                                "\\egbeginvariant{E0002}{5}")


@pytest.mark.pdf
@pytest.mark.parametrize("version", ["student", "solution"])
@pytest.mark.parametrize("layout", ["examgentum", "examgenplain"])
def test_a_keyed_cover_is_typeset_once_per_page_total_and_copied_as_typesetting_it_gives(
        tmp_path: Path, version: str, layout: str) -> None:
    """\\egcover[key]: the cover is typeset once per key, guessed page total and version, and its lines
    copied (\\unvcopy) into the other variants' first pages: the same PDF, to the byte, as the same
    document without a key (each cover typeset on its page; copying the lines alone left \\prevdepth,
    which \\newpage reads, at 0 instead of the last line's depth: the bottom box moved up 5 pt)."""
    lists, pdfs = {}, {}
    shared = SHARED.replace("{examgentum}", f"{{{layout}}}").replace(
        "\\AddToHook{env/tabular/begin}{\\typeout{EG-TABULAR}}", "\\AddToHook{env/itemize/begin}{\\typeout{EG-LIST}}")
    for name, doc in (("keyed", shared), ("each", shared.replace("\\egcover[k1]{", "\\egcover{"))):
        pdfs[name], _ = compile_tex(tmp_path / name, doc % {"old": "", "version": version}, (PLAIN_CLASS,))
        lists[name] = (tmp_path / name / "doc.log").read_text(errors="replace").count("EG-LIST")
    # the cover's lists (instructions; the TUM cover's sticker notes) for each cover typeset: keyed, one
    # for the guess 4 (E0001, E0003) and one for 5 (E0002)
    assert lists["each"] % 3 == 0 and lists["keyed"] == lists["each"] // 3 * 2 > 0
    assert pdfs["keyed"] == pdfs["each"]
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "keyed" / "doc.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    covers = [page for page in text.split("\f") if "This exam consists of" in page]
    # each shows the total it counted: E0002's guess (5) was wrong, its cover shows its 4 pages too
    assert [re.search(r"consists of (\d+) pages", " ".join(c.split())).group(1) for c in covers] == ["4", "4", "4"]


def test_the_cover_key_names_what_the_cover_shows() -> None:
    """variant_body keys the cover by the lines that set what it shows and its grading tables:
    two variants of one exam share it; another course, instruction or number of problems does not."""
    from dataclasses import replace

    from examgen.layouts.tum import variant_body
    from examgen.model import ExamInfo, Variant

    info = ExamInfo(course="Deep Learning", code="IN2346", name="Endterm", date="1 May", time="8:00",
                    examiner="X", resources="None", instructions=("No phones.",), institution=("TUM",), language="en")

    def cover_key(i: ExamInfo, questions: int = 0) -> str:
        q = solve_question(load_bank().templates["bce_loss"], derive_seed(5, 1, "bce_loss"))
        body = variant_body(i, Variant(number=1, code="E0001", questions=(q,) * questions), STUDENT)
        found = re.findall(r"\\egcover\[([0-9a-f]{16})\]", body)
        assert len(found) == 1
        return found[0]

    same = cover_key(info, 2)
    assert cover_key(info, 2) == same
    assert cover_key(replace(info, course="Machine Learning"), 2) != same
    assert cover_key(replace(info, instructions=("No phones.", "No notes.")), 2) != same
    assert cover_key(info, 3) != same


# ------------------------------------------------------------------ statements set once
# the class's \egsubproblem before: the statement measured alone (a \parbox), then set again as paragraphs
OLD_SUBPROBLEM = r"""\makeatletter\renewcommand{\egsubproblem}[6]{\par
  \ifeg@solution\eg@firsttry{#6}\fi
  \sbox{\eg@measure}{\parbox{\linewidth}{#5}}%
  \setlength{\eg@need}{\dimexpr\ht\eg@measure+\dp\eg@measure+#3+6mm\relax}%
  \Needspace*{\eg@need}\def\eg@part{#1}%
  \ifnum#2>0 \marginpar[\hbox to\marginparwidth{\hss\raisebox{-\height}[0pt][0pt]{\eg@scorebox{#2}}}]%
    {\raisebox{-\height}[0pt][0pt]{\eg@scorebox{#2}}}\fi
  \textbf{#1)}\ #5\par\nopagebreak\vspace{1mm}\nopagebreak
  \eganswerarea{#3}{#4}{#6}\par\vspace{4mm}}\makeatother"""
STATEMENTS = [
    ("a", "A one-line statement.\\typeout{EG-STATEMENT}", ""),
    ("b", "Consider the ground truth\n\\[ y = \\begin{bmatrix} 0 & 1 \\\\ 1 & 1 \\end{bmatrix}. \\]\nCalculate the "
          "cross-entropy by summing over all output pixels of the forward pass computed in a); write down the "
          "equation and keep the logarithms.\n\\[ \\begin{array}{c|cc} p & 0.2 & 0.4 \\\\ \\hline \\ln p & -1.6094 & "
          "-0.9163 \\end{array} \\]", "$-3.2$"),
    ("c", "Two paragraphs. " + "The first goes on for a while to fill its lines. " * 6 + "\n\nThe second, then a "
          "table:\n\\begin{center}\\begin{tabular}{|c|c|}\\hline Train & Test\\\\\\hline \\egfill{t1} & "
          "\\egfill{t2}\\\\\\hline\\end{tabular}\\end{center}",
     "\\egsetfill{t1}{high}\\egsetfill{t2}{low}Both."),
    ("d", "A list:\n\\begin{itemize}\\item one $\\frac{a}{b}$\\item two\\end{itemize}\nand text after it.", "ok"),
    # long unbreakable words: \\fussy and \\sloppy (a \\parbox's default) break these lines differently
    ("e", "Call " + " then ".join(["\\texttt{torch.nn.functional.binary\\_cross\\_entropy\\_with\\_logits}",
                                    "\\texttt{torch.nn.BCEWithLogitsLoss}"] * 3) + ".", ""),
]


def statements_doc(version: str, old: bool, parts=STATEMENTS) -> str:
    body = "".join(f"\\egsubproblem{{{label}}}{{4}}{{25mm}}{{0}}{{{st}}}{{{so}}}\n" for label, st, so in parts)
    return (f"\\documentclass[en]{{examgentum}}\n{OLD_SUBPROBLEM if old else ''}\n\\begin{{document}}\n"
            f"\\egversion{{{version}}}\\egbeginvariant{{E0001}}{{4}}\n\\egproblem{{1}}{{Statements}}{{8 credits}}\n"
            f"{body}\\egadditionalspace\n\\end{{document}}\n")


@pytest.mark.pdf
@pytest.mark.parametrize("version", ["student", "solution"])
def test_a_statement_is_typeset_once_and_looks_as_before(tmp_path: Path, version: str) -> None:
    """Each part's statement is set once (measured as the box that is then placed), not measured and
    set again: the pages render to the same pixels as the old class's (displays, paragraphs, a table
    with \\egfill, a list; the score boxes in the margin beside them)."""
    logs, pages = {}, {}
    for name in ("new", "old"):
        compile_tex(tmp_path / name, statements_doc(version, old=name == "old"))
        logs[name] = (tmp_path / name / "doc.log").read_text(errors="replace").count("EG-STATEMENT")
        pages[name] = grey_pages(tmp_path / name / "doc.pdf", 150)
    assert logs == {"new": 1, "old": 2}
    assert len(pages["new"]) == len(pages["old"]) == 4
    assert (pages["new"][0] < 128).sum() > 20000  # the page holds the parts
    assert all(np.array_equal(a, b) for a, b in zip(pages["new"], pages["old"]))


@pytest.mark.pdf
def test_a_statement_longer_than_a_page_still_breaks_across_pages(tmp_path: Path) -> None:
    long = [("a", "Start. " + " ".join(f"Line {i} of a statement that goes on." for i in range(300)) + " End.", "")]
    texts = []
    for name in ("new", "old"):
        compile_tex(tmp_path / name, statements_doc("student", old=name == "old", parts=long))
        texts.append(subprocess.run(["pdftotext", str(tmp_path / name / "doc.pdf"), "-"], capture_output=True,
                                    text=True, check=True).stdout)
        assert "Line 299 of a statement" in texts[-1] and "End." in texts[-1]  # nothing below the page's end
    assert texts[0] == texts[1]
    new, old = (grey_pages(tmp_path / n / "doc.pdf", 100) for n in ("new", "old"))
    assert len(new) == len(old) >= 4 and all(np.array_equal(a, b) for a, b in zip(new, old))
