"""The PDFs of a build: each variant's student.pdf and solution.pdf, and the print files
(print/all-students.pdf, print/all-solutions.pdf: every variant in order, each already
padded to a multiple of 4 pages, for one duplex print job)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..compiler import concatenate
from ..layouts import SOLUTION, STUDENT
from ..model import Exam

VERSIONS = (STUDENT, SOLUTION)


def write(exam: Exam, folder: Path) -> None:
    """folder/E????/{student,solution}.pdf from the compiled PDFs, then the print files."""
    for v in exam.variants:
        vdir = folder / v.code
        vdir.mkdir()
        for version in VERSIONS:
            shutil.copyfile(exam.pdfs[(v.code, version)], vdir / f"{version}.pdf")
    print_files(folder, [v.code for v in exam.variants])


PRINT_PART = 100  # variants per print file: qpdf's memory grows with its output (about 150 MB per 100 endterms)


def print_parts(codes: list[str]) -> list[tuple[str, list[str]]]:
    """The print files' name suffixes and variants: one file ("") up to PRINT_PART variants,
    else runs of PRINT_PART named by their first and last variant ("-E0001-E0100")."""
    if len(codes) <= PRINT_PART:
        return [("", codes)]
    runs = [codes[i:i + PRINT_PART] for i in range(0, len(codes), PRINT_PART)]
    return [(f"-{run[0]}-{run[-1]}", run) for run in runs]


def print_files(stage: Path, codes: list[str]) -> None:
    """print/all-students.pdf and print/all-solutions.pdf: every variant in order, each
    already padded to a multiple of 4 pages, for one duplex A3 print job. Beyond
    PRINT_PART variants, one print job per PRINT_PART variants (all-students-E0001-E0100.pdf,
    ...), so that memory stays flat for 1,000 variants (qpdf holds its whole output)."""
    (stage / "print").mkdir()
    jobs = [([stage / c / f"{version}.pdf" for c in run], stage / "print" / f"all-{name}{suffix}.pdf")
            for suffix, run in print_parts(codes)
            for version, name in ((STUDENT, "students"), (SOLUTION, "solutions"))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: concatenate(*job), jobs))


