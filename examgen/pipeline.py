"""The only place the stages meet:
spec -> pick -> sample -> solve -> render -> compile -> write."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import interrupts, layouts, outputs, qrcodes
from .bank import Bank, load_bank
from .compiler import Batch, Built, Compiler, Opening, Piece, batches, drawing_order, lanes
from .errors import LatexError
from .model import Exam, ExamInfo, ExamSpec, SeedInfo, SolvedQuestion, Variant
from .questions import build_variant, pick, solve_question, variant_code
from .sampling import derive_seed
from .spec import load_spec
from .targets import (
    PREVIEW_OWNED,
    diagnostics_folders,
    ensure_file_replaceable,
    ensure_replaceable,
    remove_owned,
    staging,
    stamp_preview,
    work_folder,
    write_diagnostics,
    write_file,
    writing_into,
)
from .uptodate import Inputs
from .writers import answers, keycsv, layoutjson, manifest, pdf


def exam_seed_of(spec: ExamSpec, seed: int | None) -> int:
    """The seed a build or export uses: the one given, else the spec's exam.seed, else 0."""
    return seed if seed is not None else (spec.seed if spec.seed is not None else 0)


def document(layout: layouts.Layout, info: ExamInfo, variants: Iterable[Variant], version: str,
             files: tuple[Path, ...] = (), label: str = "variant {code}") -> Batch:
    """The render stage's document: these variants in one version and layout, as one batch
    for the compiler (`label` names a variant in errors)."""
    pieces = tuple(_piece(layout, info, v, version, label) for v in variants)
    return Batch(version, layout.preamble(info.language), pieces, files, layout.classes)


def _piece(layout: layouts.Layout, info: ExamInfo, v: Variant, version: str, label: str = "variant {code}") -> Piece:
    """A variant's part of a batch document in one version."""
    return Piece(v.code, label.format(code=v.code), layout.variant_body(info, v, version),
                 layout.pages_at_least(len(v.questions)))


def _batch(spec: ExamSpec, variants: list[Variant], version: str, logo: Path | None,
           marks: qrcodes.Typeset | None = None) -> Batch:
    """One batch document of these variants in one version (`logo`: the logo under its fixed name;
    `marks`: the scan codes typeset with the pages, Batch.marks)."""
    return replace(document(layouts.get(spec.layout), spec.info, variants, version, (logo,) if logo else ()),
                   marks=marks)


def _stage_logo(spec: ExamSpec, folder: Path) -> Path | None:
    """The spec's logo, as read at load, written as folder/logo.png (.jpg, .pdf)."""
    if not spec.info.logo_file:
        return None
    logo = folder / spec.info.logo_file
    logo.write_bytes(spec.info.logo_data)
    return logo


def build_exam(spec_path: Path | ExamSpec, seed: int | None, n_variants: int, out: Path,
               bank_dirs: Iterable[Path] = (), compiler: Compiler | None = None,
               progress: Callable[[int], None] | None = None, keep_tex: bool = False,
               inputs: Inputs | None = None, bank: Bank | None = None, booklets: int | None = None) -> list[Path]:
    """Build n_variants of an exam (a spec file, or a spec already loaded with `bank`) into
    out/ with `compiler` (default: the user's cache, all cores); returns the written files.
    print/ holds `booklets` numbered booklets (default: one per variant; writers/pdf.py).
    The manifest records `inputs` (taken now unless given: give them when the bank was
    loaded before), so that an unchanged rebuild can return at once."""
    compiler = compiler or Compiler.default()
    inputs = inputs or Inputs.of(bank_dirs, seed, n_variants, keep_tex, booklets)
    # driver: load -- the bank and the spec, validated before anything is sampled
    bank = bank or load_bank(bank_dirs)
    spec = spec_path if isinstance(spec_path, ExamSpec) else load_spec(Path(spec_path), bank)
    exam_seed = exam_seed_of(spec, seed)
    # refused now, before anything is sampled or compiled: a folder examgen did not write, a read-only place
    out = ensure_replaceable(Path(out), "build")
    variants: list[Variant] = []
    kept: list[Batch] = []

    # one booklet per variant (the default): the booklets are the variants' own PDFs, so TeX typesets
    # their scan codes with the pages; otherwise the codes are stamped on (pdf.Stamper)
    marks = qrcodes.Typeset(qrcodes.exam_id(spec.info.code), n_variants) if (booklets or n_variants) == n_variants \
        else None
    by_code: dict[str, Variant] = {}
    # code -> its answers.json and layout.json, being made ahead, straight into the output's staging
    # folder (a large build holds none in memory)
    records: dict[str, Future[None]] = {}

    def record(code: str, student: Built) -> None:
        texts = _made_ahead(spec, exam_seed, by_code[code], student, booklets or n_variants)
        (stage / code).mkdir(exist_ok=True)  # (an OSError: staging's one line, once the build waits for it)
        for name, text in zip(("answers.json", "layout.json"), texts):
            (stage / code / name).write_text(text, encoding="utf-8")

    def paged(version: str, done: dict[str, Built]) -> None:
        """A batch's pages and regions are known, before it is cut (compile_exam's `paged`): its print
        file may be joined (stamper.paged), and the student version's records are made in a thread of
        their own (recorder) while qpdf cuts the batch, so that the last batch's TeX run is not followed
        by the cutting and then its records (0.15 s of Python for 10 endterm variants)."""
        if marks is not None:
            stamper.paged(version, done)
        if version == layouts.STUDENT:
            for code, b in done.items():
                records[code] = recorder.submit(record, code, b)

    def finish(version: str, done: dict[str, Built]) -> None:
        """A batch's variants are built (in the compiler's pool, beside the next TeX runs): stamp them
        and place them in the output's staging folder (so that the build's tail places only the last
        batch's: 40 endterm PDFs and their records took 35-50 ms of it, after the last qpdf run)."""
        stamper(version, done)
        with writing_into(out):
            pdf.place(stage, version, {code: stamper.stamped[(code, version)] for code in done
                                       if (code, version) in stamper.stamped}, Path(tmp))

    def variant(number: int) -> Variant:
        v = build_variant(spec, bank, exam_seed, number)
        interrupts.check()  # (a signal whose exception numpy swallowed while the variant was drawn)
        return v

    def drawn_batch(r: Iterable[int]) -> list[Variant]:
        # driver: pick + sample + solve -- the batch's questions, answers and rubric
        vs = [variant(i + 1) for i in r]
        variants.extend(vs)
        by_code.update((v.code, v) for v in vs)  # (before the batch is compiled: finish reads it)
        return vs

    # the opening's lanes (each both versions of its variants in one TeX run), where the solution's boxes are
    # not read (typeset with its scan codes: Pair); else the first batch opens, as a student and a solution run
    lane_ranges = lanes(n_variants) if marks is not None else []
    rest = batches(n_variants)[2 if lane_ranges else 1:]

    def pairs() -> Iterator[tuple[Batch, Batch]]:
        """Batch by batch after the opening, so that sampling and rendering overlap the compiling of earlier
        batches."""
        for r in rest:
            vs = drawn_batch(r)
            # driver: render -- student and solution from the same draws
            pair = (_batch(spec, vs, layouts.STUDENT, logo, marks), _batch(spec, vs, layouts.SOLUTION, logo, marks))
            if keep_tex:
                kept.extend(pair)
            yield pair

    def opening() -> Opening:
        """The opening's variants (its lanes', else the first batch's), one by one: its TeX runs may start
        before they are drawn (compile_exam)."""
        r = drawing_order(lane_ranges) if lane_ranges else list(batches(n_variants)[0])
        shells = _batch(spec, [], layouts.STUDENT, logo, marks), _batch(spec, [], layouts.SOLUTION, logo, marks)
        layout = layouts.get(spec.layout)

        def pieces() -> Iterator[tuple[Piece, Piece]]:
            got = []
            for i in r:
                (v,) = drawn_batch([i])
                # driver: render -- student and solution from the same draws
                got.append((_piece(layout, spec.info, v, layouts.STUDENT), _piece(layout, spec.info, v,
                                                                                   layouts.SOLUTION)))
                yield got[-1]
            if keep_tex:
                got.sort(key=lambda p: p[0].code)
                kept.extend(shell.only(tuple(p[k] for p in got)) for k, shell in enumerate(shells))

        # (every variant has as many problems: a choose: block picks as many templates in each)
        return Opening(*shells, tuple(variant_code(i + 1) for i in sorted(r)), pieces(),
                       layout.pages_at_least(len(pick(spec, exam_seed, r[0] + 1))),
                       tuple(tuple(variant_code(i + 1) for i in lane) for lane in lane_ranges))

    # the variants' own PDFs get their scan codes as each batch is built (overlapping TeX), and
    # the print files are joined as soon as their variants are (overlapping TeX or the records)
    # (the hashes of its PDFs, remembered for the manifest, are dropped once the work folder is gone).
    # driver: write -- atomically, into a staging folder that replaces the target only once all is
    # written (a failure or an interrupt leaves the target untouched); each batch's variants are placed
    # in it as soon as they are built
    with outputs.remembered_hashes(), work_folder() as tmp, staging(out, "build") as stage, \
            pdf.Stamper(spec.info.code, booklets or n_variants, Path(tmp) / "stamped", n_variants,
                        marked=marks is not None) as stamper, _thread() as recorder:
        logo = _stage_logo(spec, Path(tmp))
        # driver: compile -- one pdflatex run per batch, split into one PDF per variant
        try:
            built = compiler.compile_exam(pairs(), tmp, progress,
                                          # the format (one: both versions share the preamble)
                                          [_batch(spec, [], layouts.SOLUTION, logo)],
                                          remember=str(spec.path.resolve()), finish=finish,
                                          paged=paged, opening=opening(), stored=False)
        except LatexError as exc:  # failed for good (not interrupted): keep the culprits' .tex and .log
            if not exc.files:
                raise
            err = LatexError(f"{exc}{write_diagnostics(out, exc.files)}")
            err.failures = exc.failures
            raise err from None
        interrupts.check()
        variants.sort(key=lambda v: v.number)  # (the opening's lanes draw theirs in turn: drawing_order)
        # the exam record: what every writer reads
        student = {v.code: built[(v.code, layouts.STUDENT)] for v in variants}
        exam = Exam(spec, exam_seed, tuple(variants), {c: b.pages for c, b in student.items()},
                    {(v.code, version): built[(v.code, version)].pdf for v in variants
                     for version in (layouts.STUDENT, layouts.SOLUTION)},
                    {c: b.regions for c, b in student.items()})
        # a kept student .tex holds no key: the MC reasons become spaces of their measured size
        keys_out = _keyless_students(spec, variants, compiler, Path(tmp)) if keep_tex else {}
        # E????/student.pdf, solution.pdf (typeset with their codes, or stamped): those not placed yet
        pdf.write(exam, stage, booklets, exam.pdfs if marks is not None else stamper.stamped, Path(tmp))
        with ThreadPoolExecutor(max_workers=1) as joins:  # print/ (qpdf runs) while Python writes the records
            # (typeset with their codes, the print files are joined from the batch PDFs' pages)
            sources = {k: b.source for k, b in built.items()} if marks is not None else None
            printing = joins.submit(lambda: pdf.write_print(exam, stage, booklets, stamper.finished(), sources))
            for r in records.values():
                r.result()
            answers.write(exam, stage, records)
            layoutjson.write(exam, stage, booklets, records)
            if keep_tex:
                _keep_tex(stage, kept, exam.pages, keys_out, qrcodes.exam_id(spec.info.code),
                          booklets or n_variants)
            keycsv.write(exam, stage)
            printing.result()
        # last: it lists every file with its sha256
        manifest.write(exam, stage, inputs.record(spec.sha256, spec.logo, spec.info.logo_data) if inputs else None,
                       booklets)
    compiler.settle()  # (the compile cache's entries, stored beside the writers: Compiler._store_later)
    for d in diagnostics_folders(out):  # a successful build leaves no stale diagnostics (only examgen's own)
        remove_owned(d, "diagnostics")
    return sorted(p for p in out.rglob("*") if p.is_file())


@contextmanager
def _thread() -> Iterator[ThreadPoolExecutor]:
    """A thread for work done beside the compiler's; on leaving, its work has ended (a build that
    succeeds has waited for all of it; one that failed or was interrupted cancels what had not begun,
    as the Stamper's joins do)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _made_ahead(spec: ExamSpec, seed: int, v: Variant, student: Built, booklets: int) -> tuple[str, str]:
    """A variant's answers.json and layout.json, from its student version's pages and regions
    (what the writers make of the whole exam's record: neither reads another variant)."""
    one = Exam(spec, seed, (v,), {v.code: student.pages}, {}, {v.code: student.regions})
    return answers.answers_json(one, v), layoutjson.layout_json(one, v, booklets)


def _keyless_students(spec: ExamSpec, variants: list[Variant], compiler: Compiler, tmp: Path) -> dict[str, str]:
    """Each variant's student body without the key, for --keep-tex: the texts the student
    version only reserves space for (the MC reasons, which give the key away) are measured
    in one TeX run and replaced by spaces of exactly their size; no box is marked correct."""
    layout = layouts.get(spec.layout)
    texts = sorted({t for v in variants for t in layout.reserved(v)})
    reserve: layouts.Reserve = {}
    if texts:
        preamble = layout.preamble(spec.info.language)
        log = compiler.log_of(tmp / "measure", "measure", preamble + layout.measure_body(texts) + "\\end{document}\n",
                              "the multiple-choice reasons (measured for --keep-tex)", layout.classes)
        found = layouts.sizes(log)
        reserve = {t: found[i] for i, t in enumerate(texts)}
    return {v.code: layout.variant_body(spec.info, v, layouts.STUDENT, reserve) for v in variants}


def _keep_tex(stage: Path, all_batches: list[Batch], pages: dict[str, int], students: dict[str, str],
              exam_id: str, booklets: int) -> None:
    """Each variant's standalone student.tex and solution.tex, compilable in its folder
    (the student version's body from `students`: without the key; the scan codes of the
    variant's own booklet in <version>-qr.tex)."""
    for b in all_batches:
        for piece in b.pieces:
            if b.version == layouts.STUDENT:
                piece = Piece(piece.code, piece.label, students[piece.code])
            vdir = stage / piece.code
            (vdir / f"{b.version}.tex").write_text(b.standalone(piece, pages[piece.code]), encoding="utf-8")
            (vdir / f"{b.version}-qr.tex").write_text(
                qrcodes.definitions([(piece.code, pages[piece.code])], exam_id, booklets), encoding="utf-8")
            for f in (*b.classes, *b.files):
                shutil.copyfile(f, vdir / f.name)


def solve_exam(spec: ExamSpec, bank: Bank, seed: int | None, n_variants: int,
               progress: Callable[[int], None] | None = None) -> Exam:
    """pick + sample + solve: the exam record of n_variants, exactly the variants `build`
    draws with this seed (no PDF: pages and regions stay empty). `progress(1)` per variant."""
    exam_seed = exam_seed_of(spec, seed)
    variants = []
    for n in range(1, n_variants + 1):
        variants.append(build_variant(spec, bank, exam_seed, n))
        if progress:
            progress(1)
    return Exam(spec, exam_seed, tuple(variants))


def export(spec_path: Path, n_variants: int, seed: int | None, out: Path | str, render: Callable[[Exam], bytes],
           owned: Callable[[Path], bool], example: str, bank_dirs: Iterable[Path] = (),
           progress: Callable[[int], None] | None = None) -> Path:
    """Any single-file export: load, refuse a target examgen did not write, solve, render
    with the writer, write atomically."""
    bank = load_bank(bank_dirs)
    spec = load_spec(Path(spec_path), bank)
    ensure_file_replaceable(out, owned, example=example)  # refused before any variant is drawn
    exam = solve_exam(spec, bank, seed, n_variants, progress)
    return write_file(out, render(exam), owned)


def solve_one(template_id: str, seed: int, pinned: dict[str, Any] | None = None,
              bank_dirs: Iterable[Path] = ()) -> tuple[Bank, SolvedQuestion]:
    """One question as variant 1 of an exam with this seed would draw it."""
    bank = load_bank(bank_dirs)
    template = bank.template(template_id)
    info: SeedInfo = derive_seed(seed, 1, template_id, 0)
    return bank, solve_question(template, info, pinned or {})


def preview(template_id: str, seed: int, pinned: dict[str, Any] | None, solution: bool, out_pdf: Path | str,
            bank_dirs: Iterable[Path] = (), compiler: Compiler | None = None) -> Path:
    """One question as a PDF (cover and additional space included), for authors."""
    out_pdf = ensure_file_replaceable(out_pdf, PREVIEW_OWNED, example=f"{template_id}.pdf")  # before any work
    _, q = solve_one(template_id, seed, pinned, bank_dirs)
    info = ExamInfo(course=f"Preview: {template_id}", code="PREVIEW", name=template_id, date="", time="",
                    examiner="", resources="", instructions=(), institution=(), language="en")
    variant = Variant(number=0, code=f"S{seed}", questions=(q,))
    version = layouts.SOLUTION if solution else layouts.STUDENT
    batch = document(layouts.get(layouts.DEFAULT), info, [variant], version, label=f"preview of {template_id}")
    with work_folder() as tmp:
        built = (compiler or Compiler.default()).compile_one(batch, tmp)
        stamped = stamp_preview(built.pdf, tmp / "stamped.pdf")
        return write_file(out_pdf, stamped.read_bytes(), PREVIEW_OWNED)
