"""The PDFs of a build: each variant's student.pdf and solution.pdf, and the print files
(print/all-students.pdf: every booklet in order; print/all-solutions.pdf: every variant in
order; each already padded to a multiple of 4 pages, for one duplex print job).

Booklets: `--booklets N` prints N numbered booklets over the V variants, booklet b of
variant ((b - 1) mod V) + 1. Every page's QR code names its booklet (examgen.qrcodes). A
variant's own student.pdf and solution.pdf carry the codes of its first booklet (booklet b =
the variant's number), so with the default N = V they are exactly the booklets: then pdfTeX
typesets the codes with the pages (the pipeline gives the batches their marks) and the
booklets are joined from them: from the pages of the batch PDFs they were cut from (Built.source),
so that a print file holds one copy of each batch's fonts, not one per variant (a third of the
bytes; qpdf's work halves). Otherwise the compiled pages carry no codes and they are
stamped on here: each variant's own as its batch is built (Stamper: one qpdf run per batch),
the booklets of print/ while the build writes the exam's records (write_print)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

from .. import qrcodes
from ..compiler import Built, concatenate
from ..compiler.qpdf import Pages
from ..layouts import SOLUTION, STUDENT, VERSIONS, Region
from ..model import Exam
from ..outputs import remember_sha256


def booklet_variants(n_variants: int, booklets: int) -> list[int]:
    """The variant index (from 0) of each booklet 1..booklets, in order."""
    return [(b - 1) % n_variants for b in range(1, booklets + 1)]


def variant_codes(exam_id: str, code: str, pages: int, regions: Iterable[Region], booklet: int,
                  booklets: int) -> qrcodes.Codes:
    """Per page of variant `code` (`pages` pages), where its QR square sits (its logged `regions`
    of kind qr, mm) and booklet `booklet`'s text (of `booklets`)."""
    where = {r.page: r for r in regions if r.kind == "qr"}
    return [(where[p].x_mm, where[p].y_mm, qrcodes.text(exam_id, code, booklet, p, booklets))
            if p in where else (0.0, 0.0, "")
            for p in range(1, pages + 1)]


def _codes(exam: Exam, index: int, booklet: int, booklets: int) -> qrcodes.Codes:
    """Per page of variant `index`, where its QR square sits (layout, mm) and booklet `booklet`'s text."""
    v = exam.variants[index]
    return variant_codes(qrcodes.exam_id(exam.spec.info.code), v.code, exam.pages[v.code],
                         exam.boxes.get(v.code, ()), booklet, booklets)


class Stamper:
    """compile_exam's `finish`: each compiled batch's variants stamped with the codes of their
    first booklet (of `booklets`) into folder/E????/<version>.pdf as soon as the batch is
    built, in the compiler's pool, so that the stamping overlaps the next TeX runs
    (one qpdf run per batch: qrcodes.stamp_each), unless they are `marked` (typeset with their
    codes: then they are taken as they are). `stamped` maps (code, version) to the file.
    Once the solutions of all `variants` are stamped (usually before the last student batch
    is typeset: the longest runs go first), they are joined into folder/print/ at once; so are
    the student versions when there is one booklet per variant (booklet b is then variant b
    with exactly these codes: joining them gives the booklets without stamping them again).
    Typeset with their codes (`marked`), they are joined from the batch PDFs' pages (`sources`),
    as soon as the compiler knows them (`paged`: before the last batch is cut).
    The joins run in the Stamper's own threads (the last ones overlap the writing of the
    records); `finished()` waits for them and maps the print files' names to them (print_files
    copies them). A `with` block ends them before the work folder goes."""

    def __init__(self, exam_code: str, booklets: int, folder: Path, variants: int, marked: bool = False):
        self.exam_id, self.booklets, self.folder, self.variants = qrcodes.exam_id(exam_code), booklets, folder, variants
        self.marked = marked  # the compiled PDFs carry their codes already (typeset: Batch.marks), nothing to stamp
        self.stamped: dict[tuple[str, str], Path] = {}
        self.sources: dict[tuple[str, str], Pages] = {}  # what the print files are joined from
        self.joining: set[str] = set()  # the versions whose print files are joined (or being joined)
        self.joined: dict[str, Path] = {}
        self.lock = threading.Lock()
        self.joins = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future[None]] = []

    def __enter__(self) -> Stamper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.joins.shutdown(wait=True, cancel_futures=True)  # no qpdf still writing into the work folder

    def finished(self) -> dict[str, Path]:
        """The print files joined while compiling (name -> file), once all are joined; a failed
        join raises its error here."""
        for f in self.pending:
            f.result()
        return self.joined

    def _join(self, version: str, pdfs: list[Pages], codes: list[str]) -> None:
        names = join_solutions(pdfs, codes, self.folder / "print") if version == SOLUTION \
            else join_booklets(pdfs, self.folder / "print")
        with self.lock:
            self.joined.update({name: self.folder / "print" / name for name in names})

    def paged(self, version: str, built: dict[str, Built]) -> None:
        """compile_exam's `paged`, when the variants are typeset with their codes (`marked`): their
        pages in the batch PDFs are known (Built.source) before the batch is cut, so a version's
        print file is joined from them as soon as its last batch is typeset, beside the cutting."""
        with self.lock:
            self.sources.update({(code, version): b.source for code, b in built.items()})
        self._join_when_done(version)

    def __call__(self, version: str, built: dict[str, Built]) -> None:
        if self.marked:  # typeset with their codes: nothing to stamp (joined from the batch PDFs: paged)
            for b in built.values():  # (for the manifest: the output links these files, _place)
                remember_sha256(b.pdf)
            with self.lock:
                self.stamped.update({(code, version): b.pdf for code, b in built.items()})
            return
        outs = {code: self.folder / code / f"{version}.pdf" for code in built}
        for out in outs.values():
            out.parent.mkdir(parents=True, exist_ok=True)
        qrcodes.stamp_each([b.pdf for b in built.values()],
                           [variant_codes(self.exam_id, code, b.pages, b.regions, qrcodes.first_booklet(code),
                                          self.booklets) for code, b in built.items()],
                           list(outs.values()))
        for out in outs.values():
            remember_sha256(out)
        with self.lock:
            self.stamped.update({(code, version): out for code, out in outs.items()})
            self.sources.update({(code, version): out for code, out in outs.items()})
        self._join_when_done(version)

    def _join_when_done(self, version: str) -> None:
        """Once this version's variants are all there (`sources`), its print files, joined in the
        Stamper's own threads (each version once: the call that completes it joins)."""
        with self.lock:
            done = sorted((c for c, v in self.sources if v == version), key=qrcodes.first_booklet)
            if len(done) < self.variants or (version == STUDENT and self.booklets != self.variants) \
                    or version in self.joining:
                return
            self.joining.add(version)
            (self.folder / "print").mkdir(parents=True, exist_ok=True)
            self.pending.append(self.joins.submit(self._join, version, [self.sources[(c, version)] for c in done],
                                                  done))


def _place(made: Path, out: Path, work: Path | None) -> None:
    """A compiled PDF copied to its name in the output; one the build made in its `work` folder
    (removed afterwards, nothing else writes to it) is linked instead where both are on one file
    system (40 PDFs of an endterm build, 12 MB: 42 ms copied, 3 ms linked, on the build's tail).
    A PDF from the compile cache is always copied: the output shares nothing with the cache."""
    if work is not None and made.is_relative_to(work):
        try:
            os.link(made, out)
            return
        except OSError:
            pass
    shutil.copyfile(made, out)


def place(folder: Path, version: str, made: Mapping[str, Path], work: Path | None) -> None:
    """folder/E????/<version>.pdf of the variants `made` (code -> its PDF with the codes of its first
    booklet: Stamper.stamped), as a build places each batch's variants as soon as they are built
    (linked if made in the build's `work` folder: _place)."""
    for code, pdf in made.items():
        (folder / code).mkdir(exist_ok=True)
        _place(pdf, folder / code / f"{version}.pdf", work)


def write(exam: Exam, folder: Path, booklets: int | None = None,
          stamped: dict[tuple[str, str], Path] | None = None, work: Path | None = None) -> None:
    """folder/E????/{student,solution}.pdf from the compiled PDFs with the codes of the
    variant's first booklet (of `booklets`; default one per variant), copied from `stamped`
    (Stamper.stamped) where they are already stamped (`place`), except those in `folder` already (a
    build's staging folder: placed as their batch was built). The print files: write_print."""
    n = booklets or len(exam.variants)
    stamped = stamped or {}
    jobs = []
    for i, v in enumerate(exam.variants):
        vdir = folder / v.code
        vdir.mkdir(exist_ok=True)
        for version in VERSIONS:
            if (vdir / f"{version}.pdf").exists():
                continue
            if (v.code, version) in stamped:
                place(folder, version, {v.code: stamped[(v.code, version)]}, work)
            else:
                codes = _codes(exam, i, qrcodes.first_booklet(v.code), n)
                jobs.append(([exam.pdfs[(v.code, version)]], [codes], vdir / f"{version}.pdf"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: qrcodes.stamp(*job), jobs))


def write_print(exam: Exam, folder: Path, booklets: int | None = None, joined: dict[str, Path] | None = None,
                sources: dict[tuple[str, str], Pages] | None = None) -> None:
    """folder/print/: `booklets` booklets (default one per variant) and the solutions
    (print_files), after `write` (the solutions are joined from `sources` ((code, version) ->
    the variant's pages in its batch PDF, Built.source), else from folder/E????/solution.pdf,
    unless `joined` (Stamper.joined) has them already)."""
    n = booklets or len(exam.variants)
    print_files(folder, [v.code for v in exam.variants],
                [(exam.pdfs[(exam.variants[i].code, STUDENT)], _codes(exam, i, b, n))
                 for b, i in enumerate(booklet_variants(len(exam.variants), n), start=1)], joined, sources)


PRINT_PART = 100  # variants per print file: qpdf's memory grows with its output (about 150 MB per 100 endterms)


def print_parts(codes: list[str]) -> list[tuple[str, list[str]]]:
    """The print files' name suffixes and variants (or booklets): one file ("") up to PRINT_PART,
    else runs of PRINT_PART named by their first and last ("-E0001-E0100", "-B001-B100")."""
    if len(codes) <= PRINT_PART:
        return [("", codes)]
    runs = [codes[i:i + PRINT_PART] for i in range(0, len(codes), PRINT_PART)]
    return [(f"-{run[0]}-{run[-1]}", run) for run in runs]


Booklet = tuple[Path, qrcodes.Codes]  # the compiled student PDF and its codes (qrcodes.stamp)


def join_solutions(pdfs: Sequence[Pages], codes: list[str], folder: Path) -> list[str]:
    """folder/all-solutions*.pdf: the solution PDFs `pdfs` of the variants `codes`, in
    order, in parts of PRINT_PART (print_parts); the files' names."""
    return _join(pdfs, codes, SOLUTIONS, folder)


SOLUTIONS = "all-solutions{}.pdf"  # print/'s solutions, with print_parts' suffix
STUDENTS = "all-students{}.pdf"  # print/'s booklets, with print_parts' suffix


def booklet_numbers(booklets: int) -> list[str]:
    """B001, B002, ... (at least three digits): the booklets' names in print_parts."""
    width = max(3, len(str(booklets)))
    return [f"B{b:0{width}d}" for b in range(1, booklets + 1)]


def join_booklets(pdfs: Sequence[Pages], folder: Path) -> list[str]:
    """folder/all-students*.pdf from `pdfs`, booklets 1, 2, ... already stamped with their
    codes, in parts of PRINT_PART (print_parts); the files' names."""
    return _join(pdfs, booklet_numbers(len(pdfs)), STUDENTS, folder)


def _join(pdfs: Sequence[Pages], names: list[str], file: str, folder: Path) -> list[str]:
    """folder/<file with print_parts' suffix>: `pdfs` (named `names`, in order) joined in parts
    of PRINT_PART; the files' names."""
    where = dict(zip(names, pdfs))
    files = []
    for suffix, run in print_parts(names):
        files.append(file.format(suffix))
        concatenate([where[name] for name in run], folder / files[-1])
        remember_sha256(folder / files[-1])  # (for the manifest, in the joining thread: beside TeX or the records)
    return files


def print_files(stage: Path, codes: list[str], booklets: list[Booklet], joined: dict[str, Path] | None = None,
                sources: dict[tuple[str, str], Pages] | None = None) -> None:
    """print/all-students.pdf (every booklet in order, stamped with its codes) and
    print/all-solutions.pdf (the variants `codes` in order), each variant already padded to
    a multiple of 4 pages, for one duplex A3 print job. Beyond PRINT_PART booklets (variants),
    one print job per PRINT_PART (all-students-B001-B100.pdf, all-solutions-E0001-E0100.pdf,
    ...), so that memory stays flat for 1,000 variants (qpdf holds its whole output).
    `joined`: print files joined already (Stamper.joined), copied; `sources`: what the variants'
    versions are joined from where stage/E????/<version>.pdf is not taken (write_print)."""
    (stage / "print").mkdir()
    numbers = booklet_numbers(len(booklets))

    def stamped_job(suffix: str, run: list[str]) -> None:
        chosen = [booklets[int(b[1:]) - 1] for b in run]
        qrcodes.stamp([pdf for pdf, _ in chosen], [c for _, c in chosen], stage / "print" / STUDENTS.format(suffix))
        remember_sha256(stage / "print" / STUDENTS.format(suffix))  # (for the manifest, in this job's thread)

    joined, sources = joined or {}, sources or {}

    def pages(code: str, version: str) -> Pages:
        return sources.get((code, version), stage / code / f"{version}.pdf")

    for name, path in joined.items():  # (made in the build's work folder: linked where one file system holds both)
        _place(path, stage / "print" / name, path.parent)
    jobs: list[Callable[[], object]] = []
    if STUDENTS.format(print_parts(numbers)[0][0]) not in joined:
        if len(booklets) == len(codes):  # booklet b is variant b, stamped with its codes already (as Stamper joins)
            jobs.append(partial(join_booklets, [pages(c, STUDENT) for c in codes], stage / "print"))
        else:
            jobs += [partial(stamped_job, suffix, run) for suffix, run in print_parts(numbers)]
    if SOLUTIONS.format(print_parts(codes)[0][0]) not in joined:
        jobs.append(partial(join_solutions, [pages(c, SOLUTION) for c in codes], codes, stage / "print"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: job(), jobs))
