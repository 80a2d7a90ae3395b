"""`examgen review BUILD`: the exam review (Einsicht), per student one PDF: a cover with the
points per subproblem, the student's scanned pages and their variant's solution, every page
stamped with the registration number.

Data flow: grading.sqlite (booklets mapped to students, their latest reading of every page,
the values with overrides) -> score (as `examgen grade` does; the grade from its results.csv)
-> per student: the scanned pages re-extracted from the scan files (qpdf for a PDF page, the
image itself, or examgen scan's loader for TIFF and the like) -> one LaTeX document (pdfpages
includes the pages and the solution, eso-pic stamps every page) -> BUILD-review/, written
atomically (a folder of kind "review")."""

from __future__ import annotations

import csv
import json
import math
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import layouts
from .compiler import Compiler
from .compiler.qpdf import qpdf
from .errors import GradingError
from .grading import BuildKey, _fmt, load_build, read_responses, score
from .model import GradingScale
from .outputs import MANIFEST, folder_manifest
from .records import NO_GRADE_ROW, german, students_of
from .scan import DB, responses_text
from .targets import ensure_replaceable, staging, work_folder
from .texfmt import escape

INCLUDED = (".pdf", ".png", ".jpg", ".jpeg")  # what pdfpages takes as it is; other images are converted


@dataclass(frozen=True)
class ScanPage:
    page: int  # the booklet page
    path: Path  # the scan file
    index: int  # 0-based page of the scan file
    upside_down: bool = False  # scanned the wrong way round (its registration turns it by about 180 degrees)


@dataclass(frozen=True)
class Sheet:
    """One student's review PDF."""

    registration: str
    name: str
    booklet: int
    variant: str
    pages: tuple[ScanPage, ...]
    cells: dict[str, float]  # column -> points
    total: float
    credits: float
    grade: str  # from results.csv ('' when examgen grade has not run)


@dataclass
class Plan:
    key: BuildKey
    students: list[Sheet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _grades(folder: Path) -> dict[str, str]:
    """registration -> grade of the last `examgen grade` run (results.csv), if any."""
    try:
        with open(folder / "results.csv", encoding="utf-8", newline="") as f:
            return {r["registration"]: r["grade"] for r in csv.DictReader(f)}
    except (OSError, KeyError, csv.Error):
        return {}


def plan(build_dir: Path, grading: Path) -> Plan:
    """Who gets a review PDF, with which pages and points; checked before anything is typeset."""
    from . import regrade

    key = load_build(build_dir)
    key = regrade.apply(key, regrade.operations(Path(grading)))  # the points grade gave: operations replayed
    path = Path(grading) / DB
    if not path.is_file():
        raise GradingError(f"{grading}: no grading database ({DB}); run examgen scan first (or give --grading)")
    out = Plan(key)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            with work_folder("examgen-review-") as work:
                (work / "responses.csv").write_text(responses_text(db, key), encoding="utf-8")
                results = {r.registration: r for r in score(key, read_responses(work / "responses.csv", key),
                                                             GradingScale())}
            students = students_of(db)
            booklets = db.execute("SELECT booklet, variant, registration FROM booklets ORDER BY booklet").fetchall()
            pages = db.execute("SELECT p.booklet, p.page, f.path, p.idx, p.transform FROM pages p JOIN scan_files f "
                               "ON f.id = p.file WHERE p.status = 'read' AND p.id = (SELECT max(id) FROM pages q WHERE "
                               "q.booklet = p.booklet AND q.page = p.page AND q.status = 'read') "
                               "ORDER BY p.booklet, p.page").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise GradingError(f"{path}: not a grading database of examgen scan ({exc}); rerun examgen scan") from None
    grades = _grades(Path(grading))
    by_booklet: dict[int, list[ScanPage]] = {}
    for booklet, page, scan, idx, transform in pages:
        by_booklet.setdefault(booklet, []).append(ScanPage(page, Path(scan), idx, _upside_down(transform)))
    unmapped = [f"B{b:03d}" for b, _, reg in booklets if not reg]
    for booklet, variant, reg in booklets:
        s = students.get(reg) if reg else None
        if not reg or (s is not None and s.status in NO_GRADE_ROW):
            continue
        r = results[reg]
        name = f"{s.first_name} {s.last_name}".strip() if s is not None else ""
        out.students.append(Sheet(reg, name, booklet, variant, tuple(by_booklet.get(booklet, ())), r.cells, r.total,
                                  r.credits, grades.get(reg, "")))
    if unmapped:
        out.notes.append(f"{len(unmapped)} booklet(s) not mapped to a student, no review PDF: "
                         f"{', '.join(unmapped[:10])}{', ...' if len(unmapped) > 10 else ''}; map them with "
                         "examgen students BUILD --map FILE")
    missing = sorted({p.path for sheet in out.students for p in sheet.pages if not p.path.is_file()})
    if missing:
        raise GradingError(f"{missing[0]}: scan file not found ({len(missing)} of the scan files grading.sqlite "
                           "names are missing); run examgen review where you ran examgen scan, with the scans "
                           "in place")
    return out


def _upside_down(transform: str | None) -> bool:
    """Whether a page's homography (layout millimetres -> scan pixels) turns it by more than 90 degrees."""
    if not transform:
        return False
    try:
        h = json.loads(transform)
        return bool(math.cos(math.atan2(h[1][0], h[0][0])) < 0)
    except (ValueError, TypeError, IndexError):
        return False


def _extract(page: ScanPage, work: Path) -> str:
    """The scanned page as a file pdfpages includes, in work; its name."""
    suffix = page.path.suffix.lower()
    name = f"scan{page.page:03d}"
    if suffix == ".pdf":
        qpdf(["--empty", "--pages", str(page.path), str(page.index + 1), "--", str(work / f"{name}.pdf")])
        return f"{name}.pdf"
    if suffix in INCLUDED and page.index == 0:
        shutil.copyfile(page.path, work / f"{name}{suffix}")
        return f"{name}{suffix}"
    import cv2

    from .scan.pages import load

    for k, img in enumerate(load(page.path, work)):
        if k == page.index:
            cv2.imwrite(str(work / f"{name}.png"), img)
            return f"{name}.png"
    raise GradingError(f"{page.path}: has no page {page.index + 1} any more (grading.sqlite read it there); "
                       "put the scan file back as it was scanned")


def cover_rows(key: BuildKey, sheet: Sheet) -> list[str]:
    """One table row per problem: its subproblems' points, its sum of its credits."""
    v = key.variants[sheet.variant]
    rows = []
    for k, (title, credits, _) in sorted(v.problems.items()):
        cells = [c for c in v.cells.values() if c.problem == k]
        parts = ", ".join(f"{c.label}) {_fmt(sheet.cells[c.column])}/{_fmt(c.credits)}" for c in cells)
        got = sum(sheet.cells[c.column] for c in cells)
        rows.append(f"{k} & {escape(title)} & {parts} & {_fmt(got)} of {_fmt(credits)} \\\\")
    return rows


def document(key: BuildKey, sheet: Sheet, files: list[str]) -> str:
    """The review PDF's LaTeX: cover, scanned pages, solution; the stamp on every page."""
    exam = escape(f"{key.exam.get('code', '')} {key.exam.get('name', '')}".strip())
    stamp = escape(f"Einsicht {sheet.registration}")
    grade = f"grade {german(float(sheet.grade))}" if sheet.grade else "not graded yet (examgen grade)"
    pages = "\n".join(f"\\includepdf[pages=1{',angle=180' if p.upside_down else ''}]{{{f}}}"
                      for p, f in zip(sheet.pages, files))
    return rf"""\documentclass[10pt,a4paper]{{article}}
\usepackage{{examgenfonts}}
\usepackage[margin=20mm]{{geometry}}
\usepackage{{booktabs,tabularx,xcolor,pdfpages,eso-pic}}
\pagestyle{{empty}}
\AddToShipoutPictureFG{{%
  \AtPageUpperLeft{{\raisebox{{-7mm}}{{\hspace{{8mm}}\sffamily\footnotesize\color{{red!70!black}}{stamp} -- {exam}}}}}%
  \AtPageLowerLeft{{\raisebox{{4mm}}{{\hspace{{8mm}}\sffamily\footnotesize\color{{red!70!black}}{stamp}}}}}}}
\begin{{document}}
\section*{{Exam review: {exam}}}
{escape(sheet.name)}\quad registration {escape(sheet.registration)}\quad booklet B{sheet.booklet:03d}\quad
variant {escape(sheet.variant)}

\medskip
\begin{{tabularx}}{{\textwidth}}{{@{{}}rXp{{0.42\textwidth}}r@{{}}}}
\toprule
 & Problem & subproblems: points/credits & points \\
\midrule
{chr(10).join(cover_rows(key, sheet))}
\midrule
 & Total & & {_fmt(sheet.total)} of {_fmt(sheet.credits)} \\
\bottomrule
\end{{tabularx}}

\medskip
Total {_fmt(sheet.total)} of {_fmt(sheet.credits)} points, {grade}.
Then: the {len(files)} scanned pages, and the solution of variant {escape(sheet.variant)}.
\clearpage
{pages}
\includepdf[pages=-]{{solution.pdf}}
\end{{document}}
"""


def write(p: Plan, out: Path, compiler: Compiler, progress: Callable[[int], None] | None = None) -> list[Path]:
    """Every student's PDF into out (atomically: any error leaves out as it was)."""
    step = progress or (lambda n: None)
    ensure_replaceable(Path(out), "review")
    fonts = layouts.get(layouts.DEFAULT).fonts
    with work_folder("examgen-review-") as work:
        pdfs: list[tuple[str, Path]] = []
        for sheet in p.students:
            folder = work / sheet.registration
            folder.mkdir()
            files = [_extract(page, folder) for page in sheet.pages]
            shutil.copyfile(p.key.dir / sheet.variant / "solution.pdf", folder / "solution.pdf")
            pdf = compiler.compile_once(folder, "review", document(p.key, sheet, files),
                                        f"review PDF of {sheet.registration}", (fonts,))
            pdfs.append((f"{sheet.registration}.pdf", pdf))
            step(1)
        with staging(Path(out), "review") as stage:
            for name, pdf in pdfs:
                shutil.copyfile(pdf, stage / name)
            (stage / MANIFEST).write_text(folder_manifest(stage, "review", build=p.key.dir.name), encoding="utf-8")
    return [Path(out).resolve() / name for name, _ in pdfs]
