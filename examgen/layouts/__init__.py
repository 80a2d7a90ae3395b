"""Layouts: how an exam looks on paper. A layout is ONE folder, examgen/layouts/<name>/,
holding its LaTeX class file(s) and its Python side (the package's __init__.py), which
defines `LAYOUT`, a `Layout`:

- `name`: the folder's name, what an exam spec selects with `layout: <name>`;
- `classes`: the class files the document needs, the document class first (its stem is
  the class name: \\documentclass[<language>]{<stem>}), and the packages they
  load; they are copied beside the precompiled format, a kept .tex and a failure's
  diagnostics. One of them is the layout's typography, `fonts` (examgenfonts.sty: the
  fonts and the smallest sizes), which the grading report loads too;
- `variant_body(info, variant, version)`: one variant's LaTeX after
  \\egbeginvariant{code}{pages}, from the cover to the last page;
- `render_question_body(question, version, language)`, `render_mc_body(mc)`: one problem's
  LaTeX (used alone by `examgen check`);
- a kept student .tex (`build --keep-tex`) must not hold the key, yet paginate like the
  student PDF: `reserved(variant)` lists the texts the student version only reserves space
  for (the MC reasons), `measure_body(texts)` is a body whose log holds
  `EXAMGEN-WHY: <i> <height> <depth>` for each, and `variant_body(..., reserve)` with those
  sizes (text -> (height, depth)) writes the student version with spaces of those sizes
  instead of the texts, and no correct box.

`preamble(language)` is the same for every layout: the \\documentclass line and
\\begin{document}, nothing per variant or version, so it can be dumped into one format for
both versions; the compiler writes \\egversion{student|solution} right after it (the class
must define it). Both versions must paginate identically.

The protocol between every layout's class and the compiler (examgen/compiler/):

- the document holds many variants; each starts with \\egbeginvariant{<code>}{<total pages>}
  (the compiler writes that line; the total is a guess, and the class prints the total it counts,
  as wide as the guess's digits: examgentum.cls, \\eg@total) and the class must write to the log,
  when the variant's last page is done, one line
  `EXAMGEN-VARIANT: <code> <first page in the document> <pages> <version>`
  (pages even, a multiple of 4 for the TUM booklets); the compiler splits the document with it;
- the scan marks: the class draws three corner discs on every page and reserves the QR
  code's square; the class draws the codes that \\jobname-qr.tex defines, lines
  \\egqr{<code>-<page>}{<PDF operators>}, each on its page: the compiler writes that file for a
  batch with Batch.marks (one booklet per variant: the codes are typeset with the pages), a kept
  .tex has one beside it; otherwise examgen stamps the codes onto the compiled PDFs, one set per
  booklet (examgen.qrcodes);
- answer regions (what scanning reads): for every answer area of a template part and every
  multiple-choice box, two deferred \\write-1 lines at shipout, after a \\pdfsavepos at the
  area's top-left (tl) and bottom-right (br) corners:
  `EXAMGEN-REGION: <code> <problem> <part> tl|br <page in variant> <x sp> <y sp> <paper height sp>`
  with x, y in scaled points from the page's bottom-left corner, <part> the part's label
  ("a") or, for a multiple-choice box, "<item>.<option>" ("c.2", options counted from 1).
- boxes (what scanning measures or registers with): for every scan mark (kind `disc`, `qr`;
  label the corner, e.g. "top-left"), every cell of a score grid (kind `score`, label
  "<part>/<correction 1|2>/<row from 0 at the top>", the cell's white inside) and every
  re-check square beside an MC box (kind `recheck`, label "<item>.<option>"), one deferred
  \\write-1 line at shipout, after a \\pdfsavepos at the box's bottom-left corner:
  `EXAMGEN-BOX: <code> <kind> <problem> <label> <page in variant> <x sp> <y sp> <width sp> <height sp>
  <paper height sp>` (one line). A score grid logs one line for all its cells instead, at its first
  cell's bottom-left corner: `EXAMGEN-GRID: <code> <problem> <part> <page in variant> <x sp> <y sp>
  <rows> <cell width sp> <first row's height sp> <row height sp> <row pitch sp> <column pitch sp>
  <paper height sp>`: cell (correction c = 1, 2; row r from 0) has its bottom-left corner at
  (x + (c-1) * column pitch, y - r * row pitch), the first row's height or the row height, and
  stands for the box `score` "<part>/<c>/<r>", in that order (row by row) where the line stands.
  `regions(log)` turns both kinds of lines into Region values (mm from the page's top-left);
  a region's `kind` is "region" for the tl/br pairs, else the box's kind. In a document whose
  boxes the compiler does not read (Batch.reads_regions), \\egunreadboxes follows \\egversion:
  the class may then log none of these lines (the pages must stay the same).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SpecError

if TYPE_CHECKING:  # (the CLI's early path reads a layout's preamble before examgen's data model is imported)
    from ..model import SolvedQuestion, Variant

STUDENT, SOLUTION = "student", "solution"
VERSIONS = (STUDENT, SOLUTION)  # in the order a variant's PDFs are made and a Pair holds them
DEFAULT = "tum"
MM_PER_SP = 25.4 / 72.27 / 65536  # a TeX point is 1/72.27 inch, a scaled point 1/65536 of it
_WHY = re.compile(r"^EXAMGEN-WHY: (\d+) (\S+) (\S+)$", re.MULTILINE)
Reserve = dict[str, tuple[str, str]]  # a reserved text -> its (height, depth) as TeX printed them ("12.3pt")
_REGION = re.compile(r"^EXAMGEN-REGION: (\S+) (\d+) (\S+) (tl|br) (\d+) (-?\d+) (-?\d+) (\d+)$", re.MULTILINE)
_BOX = re.compile(r"^EXAMGEN-BOX: (\S+) (\S+) (\d+) (\S+) (\d+) (-?\d+) (-?\d+) (\d+) (\d+) (\d+)$"
                  r"|^EXAMGEN-GRID: (\S+) (\d+) (\S+) (\d+) (-?\d+) (-?\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$",
                  re.MULTILINE)


@dataclass(frozen=True, slots=True)  # (slots: a build holds about 190 per variant and version)
class Region:
    """Where an answer area (or a multiple-choice box) sits: page `page` of its variant
    (from 1), the rectangle in mm from the page's top-left corner. `part` is the part's
    label, or "<item>.<option>" for a multiple-choice box. A box the class logged with
    EXAMGEN-BOX (a scan mark, a score cell, a re-check square) has its kind in `kind` and
    its label in `part` (see the module's docstring)."""

    problem: int
    part: str
    page: int
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    kind: str = "region"


def regions(log: str) -> dict[str, list[Region]]:
    """The answer regions a layout's class logged (EXAMGEN-REGION lines, see above), per
    variant code, in the order the document holds them, then its boxes (EXAMGEN-BOX lines)
    in the same order. Values in mm, rounded to 0.01 mm."""
    # a batch of 10 endterms logs 6,000 boxes, nearly all of them at the few places its pages share:
    # each length in sp is converted (round(): 0.7 us) once
    known: dict[int, float] = {}

    def mm(sp: int) -> float:
        found = known.get(sp)
        if found is None:
            found = known[sp] = round(sp * MM_PER_SP, 2)
        return found

    corners: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    out: dict[str, list[Region]] = {}
    for m in _REGION.finditer(log):
        code, problem, part, corner, page, x, y, height = m.groups()
        key = (code, problem, part)
        if corner == "tl":
            corners[key] = (int(page), int(x), int(y))
            continue
        tl = corners.pop(key, None)
        if tl is None or tl[0] != int(page):  # a bottom-right without its top-left: not a region
            continue
        x0, top, x1, bottom = tl[1], tl[2], int(x), int(y)
        out.setdefault(code, []).append(Region(
            int(problem), part, tl[0], mm(x0), mm(int(height) - top), mm(x1 - x0), mm(top - bottom)))
    for m in _BOX.finditer(log):
        if m.group(1) is None:  # a score grid: its cells, row by row
            code, problem, part, page, x, y, rows, w, first, h, pitch, column, height = m.groups()[10:]
            cells = out.setdefault(code, [])
            p, n, left, bottom, paper = int(problem), int(page), int(x), int(y), int(height)
            width, step, xs = mm(int(w)), int(pitch), (mm(left), mm(left + int(column)))
            for r in range(int(rows)):
                tall = int(first if r == 0 else h)
                y_mm, h_mm = mm(paper - (bottom - r * step) - tall), mm(tall)
                cells.append(Region(p, f"{part}/1/{r}", n, xs[0], y_mm, width, h_mm, "score"))
                cells.append(Region(p, f"{part}/2/{r}", n, xs[1], y_mm, width, h_mm, "score"))
            continue
        code, kind, problem, label, page, x, y, w, h, height = m.groups()[:10]
        out.setdefault(code, []).append(Region(int(problem), label, int(page), mm(int(x)),
                                               mm(int(height) - int(y) - int(h)), mm(int(w)), mm(int(h)), kind))
    return out


@dataclass(frozen=True)
class Layout:
    """One layout: its class files and its Python side (see the module's docstring)."""

    name: str
    classes: tuple[Path, ...]  # the document class first
    variant_body: Callable[..., str]  # (info, variant, version, reserve=None); the logo is info.logo_file
    render_question_body: Callable[[SolvedQuestion, str, str], list[str]]
    render_mc_body: Callable[..., list[str]]  # (mc, version=SOLUTION, reserve=None)
    reserved: Callable[[Variant], list[str]]
    measure_body: Callable[[list[str]], str]

    @property
    def fonts(self) -> Path:
        """The layout's typography (a LaTeX package: fonts, smallest sizes), for other documents
        that should look like its exams (the grading report)."""
        (sty,) = [f for f in self.classes if f.name == "examgenfonts.sty"]
        return sty

    @staticmethod
    def pages_at_least(problems: int) -> int:
        """A lower bound of the page count of a variant of so many problems, known before TeX: the
        cover and a page per problem (the class starts each problem on a page of its own: \\egproblem)."""
        return 1 + problems

    def preamble(self, language: str) -> str:
        """The document up to and including \\begin{document}: the same for every
        variant (and every exam) of a language, student and solution alike, so it is dumped
        once into a format. Everything else comes after \\begin{document}, the version first
        (\\egversion{student|solution}, which the compiler writes: Batch.source)."""
        # written out, not with pylatex's Document: its '%'-terminated lines defeat
        # mylatexformat's line scanner, which looks for a line holding \\begin{document}
        return f"\\documentclass[{language}]{{{self.classes[0].stem}}}\n\\begin{{document}}\n"


def sizes(log: str) -> dict[int, tuple[str, str]]:
    """The sizes a measure_body document logged: i -> (height, depth) as TeX printed them
    (TeX reads its own printed dimensions back exactly)."""
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in _WHY.finditer(log)}


def names() -> list[str]:
    """The layouts shipped: the subpackages of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


@cache
def get(name: str) -> Layout:
    """The layout `name`; SpecError naming the valid ones if there is none."""
    if name not in names():
        raise SpecError(f"layout: unknown layout '{name}'; valid: {', '.join(names())}")
    layout: Layout = importlib.import_module(f"{__name__}.{name}").LAYOUT
    return layout
