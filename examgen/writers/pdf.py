"""The PDFs of a build: each variant's student.pdf and solution.pdf, and the print files
(print/all-students.pdf: every booklet in order; print/all-solutions.pdf: every variant in
order; each already padded to a multiple of 4 pages, for one duplex print job).

Booklets: `--booklets N` prints N numbered booklets over the V variants, booklet b of
variant ((b - 1) mod V) + 1. Every page's QR code names its booklet (examgen.qrcodes), so
the codes are stamped onto the compiled pages here, one qpdf run per file, never typeset.
A variant's own student.pdf and solution.pdf carry the codes of its first booklet (booklet
b = the variant's number), so with the default N = V they are exactly the booklets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import qrcodes
from ..compiler import concatenate
from ..layouts import SOLUTION, STUDENT
from ..model import Exam

VERSIONS = (STUDENT, SOLUTION)


def booklet_variants(n_variants: int, booklets: int) -> list[int]:
    """The variant index (from 0) of each booklet 1..booklets, in order."""
    return [(b - 1) % n_variants for b in range(1, booklets + 1)]


def _codes(exam: Exam, index: int, booklet: int, booklets: int) -> list[tuple[float, float, str]]:
    """Per page of variant `index`, where its QR square sits (layout, mm) and booklet `booklet`'s text."""
    v = exam.variants[index]
    exam_id = qrcodes.exam_id(exam.spec.info.code)
    where = {r.page: r for r in exam.boxes.get(v.code, ()) if r.kind == "qr"}
    return [(where[p].x_mm, where[p].y_mm, qrcodes.text(exam_id, v.code, booklet, p, booklets))
            if p in where else (0.0, 0.0, "")
            for p in range(1, exam.pages[v.code] + 1)]


def write(exam: Exam, folder: Path, booklets: int | None = None) -> None:
    """folder/E????/{student,solution}.pdf from the compiled PDFs with the codes of the
    variant's first booklet, then the print files (`booklets` booklets; default one per variant)."""
    n = booklets or len(exam.variants)
    jobs = []
    for i, v in enumerate(exam.variants):
        vdir = folder / v.code
        vdir.mkdir()
        codes = _codes(exam, i, qrcodes.first_booklet(v.code), n)
        jobs += [([exam.pdfs[(v.code, version)]], [codes], vdir / f"{version}.pdf") for version in VERSIONS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: qrcodes.stamp(*job), jobs))
    print_files(folder, [v.code for v in exam.variants],
                [(exam.pdfs[(exam.variants[i].code, STUDENT)], _codes(exam, i, b, n))
                 for b, i in enumerate(booklet_variants(len(exam.variants), n), start=1)])


PRINT_PART = 100  # variants per print file: qpdf's memory grows with its output (about 150 MB per 100 endterms)


def print_parts(codes: list[str]) -> list[tuple[str, list[str]]]:
    """The print files' name suffixes and variants (or booklets): one file ("") up to PRINT_PART,
    else runs of PRINT_PART named by their first and last ("-E0001-E0100", "-B001-B100")."""
    if len(codes) <= PRINT_PART:
        return [("", codes)]
    runs = [codes[i:i + PRINT_PART] for i in range(0, len(codes), PRINT_PART)]
    return [(f"-{run[0]}-{run[-1]}", run) for run in runs]


Booklet = tuple[Path, list[tuple[float, float, str]]]  # the compiled student PDF and its codes (qrcodes.stamp)


def print_files(stage: Path, codes: list[str], booklets: list[Booklet]) -> None:
    """print/all-students.pdf (every booklet in order, stamped with its codes) and
    print/all-solutions.pdf (the variants `codes` in order), each variant already padded to
    a multiple of 4 pages, for one duplex A3 print job. Beyond PRINT_PART booklets (variants),
    one print job per PRINT_PART (all-students-B001-B100.pdf, all-solutions-E0001-E0100.pdf,
    ...), so that memory stays flat for 1,000 variants (qpdf holds its whole output)."""
    (stage / "print").mkdir()
    width = max(3, len(str(len(booklets))))
    numbers = [f"B{b:0{width}d}" for b in range(1, len(booklets) + 1)]

    def student_job(suffix: str, run: list[str]) -> None:
        chosen = [booklets[int(b[1:]) - 1] for b in run]
        qrcodes.stamp([pdf for pdf, _ in chosen], [c for _, c in chosen], stage / "print" / f"all-students{suffix}.pdf")

    def solution_job(suffix: str, run: list[str]) -> None:
        concatenate([stage / c / f"{SOLUTION}.pdf" for c in run], stage / "print" / f"all-solutions{suffix}.pdf")

    jobs = [(student_job, suffix, run) for suffix, run in print_parts(numbers)]
    jobs += [(solution_job, suffix, run) for suffix, run in print_parts(codes)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: job[0](job[1], job[2]), jobs))
