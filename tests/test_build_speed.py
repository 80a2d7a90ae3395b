"""The ways a build got faster (issue 18) keep their promises: the bank loads only the
templates a spec names yet still finds every template, and a page total is typeset in the
pass that counts it, on a guess (remembered from an earlier build, else from the layout) that a
second pass corrects if it does not fit (the same PDFs either way);
the scan codes stamped per batch while compiling give the bytes of stamping each file alone."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import pages_text
from test_layout_checklist import _decode

from examgen import BANK_DIR, ROOT, bank, pipeline, qrcodes
from examgen.cli import main
from examgen.compiler import Batch, Built, Compiler, batching, core, tex
from examgen.compiler import qpdf as qpdf_module
from examgen.compiler.cache import Cache, key
from examgen.errors import ExamgenError
from examgen.questions import build_variant
from examgen.spec import load_spec
from examgen.writers import answers as answers_writer
from examgen.writers import layoutjson as layout_writer
from examgen.writers import pdf

QUIZ = ROOT / "exams" / "quiz.yaml"


def test_the_lazy_bank_finds_every_template() -> None:
    folders = {q.parent.name for q in BANK_DIR.rglob("question.yaml")}
    assert len(folders) >= 40
    templates = bank.load_bank().templates
    assert set(templates) == folders and len(templates) == len(folders)
    for tid in sorted(folders):
        assert templates[tid].id == tid
        assert templates[tid].directory == next(BANK_DIR.rglob(f"{tid}/question.yaml")).parent


def test_an_extra_bank_template_is_found_and_a_duplicate_refused(tmp_path: Path) -> None:
    shutil.copytree(BANK_DIR / "data" / "class_imbalance", tmp_path / "mine" / "data" / "my_imbalance")
    q = tmp_path / "mine" / "data" / "my_imbalance" / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: my_imbalance"))
    assert bank.load_bank([tmp_path / "mine"]).templates["my_imbalance"].directory == q.parent
    shutil.copytree(BANK_DIR / "data" / "class_imbalance", tmp_path / "twice" / "x" / "class_imbalance")
    with pytest.raises(bank.TemplateError, match="template id 'class_imbalance' is already defined in "):
        bank.load_bank([tmp_path / "twice"])


def test_a_spec_loads_only_the_templates_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []
    real = bank._load_template

    def recording(qfile: Path) -> object:
        loaded.append(qfile.parent.name)
        return real(qfile)

    monkeypatch.setattr(bank, "_load_template", recording)
    bank._load_bank.cache_clear()
    try:
        load_spec(QUIZ, bank.load_bank())
    finally:
        bank._load_bank.cache_clear()  # the other tests get a bank loaded without the recorder
    assert sorted(loaded) == ["batchnorm_forward", "rnn_relu_scalar"]  # quiz.yaml's choose: from


def _logging_pdflatex(tmp: Path) -> tuple[Path, Path]:
    """A pdflatex that logs its arguments, then runs the real one."""
    log = tmp / "runs"
    fake = tmp / "pdflatex"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec pdflatex "$@"\n')
    fake.chmod(0o755)
    return fake, log


def _pages(pdf: Path) -> int:
    return int(subprocess.run(["qpdf", "--show-npages", str(pdf)], capture_output=True, text=True,
                              check=True).stdout)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def _remembered(cache: Path) -> Path:
    return cache / "totals" / key(str(QUIZ.resolve()))


@pytest.mark.parametrize("remembered, passes, more", [(0, 1, ()), (4, 1, ()), (8, 2, ()), (-1, 2, ()),
                                                      (-1, 1, ("--booklets", "4"))],
                         ids=["right total", "a larger total of as many digits", "a total of more digits",
                              "a total below the pages", "a total below the pages, codes stamped"])
def test_a_remembered_page_total_is_guessed_and_a_guess_that_does_not_fit_typeset_again(
        remembered: int, passes: int, more: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No draft pass: a cold build guesses the total (from the layout's lower bound: 8 for the quiz's
    2 problems), the class prints the total it counts as wide as the guess's digits, and the scan
    codes are defined for the guessed pages. A guess that does not fit (more digits than the
    total, or, with the codes typeset, fewer pages than it has) costs a second pass; codes stamped
    on afterwards (two booklets a variant) need no definitions; the bytes are the same in every case."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("EXAMGEN_CACHE", str(cache))
    fake, log = _logging_pdflatex(tmp_path)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "first"), *more], pdflatex=str(fake)) == 0
    first = _outputs(tmp_path / "first")
    total = _pages(tmp_path / "first" / "E0001" / "student.pdf")
    assert total == 4 and _pages(tmp_path / "first" / "E0002" / "student.pdf") == total
    for version in ("student", "solution"):  # the total it counted, where the guess (8) left its place
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "first" / "E0002" / f"{version}.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "This exam consists of 4 pages with a total of 2 problems." in text
        assert [" ".join(line.split()) for line in text.splitlines() if "– Page" in line] == \
            [f"– Page {n} / 4 – E0002" if n % 2 else f"E0002 – Page {n} / 4 –" for n in range(1, 5)]
    runs = log.read_text().splitlines()
    assert not [r for r in runs if "-draftmode" in r] and len(runs) == 2, runs  # one pass per batch: 8 fits 4
    assert json.loads((_remembered(cache) / "total.json").read_text()) == total
    if remembered:  # a total that no longer holds (as after an edit that added pages), properly stored
        Cache.discard(_remembered(cache))
        Cache(cache).store(_remembered(cache), {"total.json": json.dumps(total + remembered).encode()})
    for sub in ("pdf", "pages"):  # formats and the remembered total stay: every PDF is typeset anew
        shutil.rmtree(cache / sub)
    log.unlink()
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second"), *more], pdflatex=str(fake)) == 0
    runs = log.read_text().splitlines()
    assert not [r for r in runs if "-draftmode" in r]
    assert len(runs) == 2 * passes, runs  # one pass per batch (student, solution), or two each
    assert _outputs(tmp_path / "second") == first  # the same bytes either way
    assert json.loads((_remembered(cache) / "total.json").read_text()) == total  # corrected for the next build


def qpdf_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The arguments of every qpdf run from now on (the real qpdf still runs)."""
    runs: list[list[str]] = []
    real = qpdf_module.qpdf
    monkeypatch.setattr(qpdf_module, "qpdf", lambda args: runs.append(args) or real(args))
    monkeypatch.setattr(qrcodes, "qpdf", qpdf_module.qpdf)
    return runs


def _base(path: Path, pages: int, k: int) -> Path:
    """A PDF of `pages` A4 pages, each with a mark of its own (a QR code at another place)."""
    qrcodes.stamp_pdf([(100.0 + 10 * k, 400.0, f"BASE{k}-{p}") for p in range(pages)], path, (595.2756, 841.8898))
    return path


def test_stamp_each_gives_the_bytes_of_one_stamp_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Variants of equal page counts are stamped in one qpdf run (overlaid together, then cut),
    yet every file has exactly the bytes of stamping it alone; a run with nothing to stamp too."""
    sizes = [3, 3, 3, 2, 2, 2]
    pdfs = [_base(tmp_path / f"in{k}.pdf", n, k) for k, n in enumerate(sizes)]
    codes = [[(20.0 + k, 250.0, f"X-E{k:04d}-B001-{p:02d}") for p in range(1, n + 1)] for k, n in enumerate(sizes)]
    codes[3:] = [[(0.0, 0.0, "")] * 2] * 3  # the 2-page run: nothing to stamp
    alone = []
    for k, (source, per) in enumerate(zip(pdfs, codes)):
        qrcodes.stamp([source], [per], tmp_path / f"alone{k}.pdf")
        alone.append((tmp_path / f"alone{k}.pdf").read_bytes())
    runs = qpdf_runs(monkeypatch)
    outs = [tmp_path / "out" / f"E{k:04d}.pdf" for k in range(len(sizes))]
    outs[0].parent.mkdir()
    qrcodes.stamp_each(pdfs, codes, outs)
    assert [out.read_bytes() for out in outs] == alone
    assert len(runs) == 2 and ["--overlay" in r for r in runs] == [True, False]  # one qpdf run per page count
    assert sorted(p.name for p in outs[0].parent.iterdir()) == [o.name for o in outs]  # no leftovers


def test_stamping_while_compiling_gives_the_bytes_of_stamping_at_the_end(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The variants' own PDFs are stamped as their batch is built (compile_exam's finish),
    and the solutions joined into print/ once all are stamped, the same bytes as pdf.write
    stamping and joining them all after compiling; from the cache too."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    args = ["build", str(QUIZ), "-n", "3", "--booklets", "4"]
    joins: list[tuple[list[str], str]] = []
    real_join = pdf.join_solutions
    monkeypatch.setattr(pdf, "join_solutions", lambda pdfs, codes, folder: joins.append(
        (codes, f"{folder.parent.name}/{folder.name}")) or real_join(pdfs, codes, folder))
    assert main([*args, "-o", str(tmp_path / "early")]) == 0
    assert joins == [(["E0001", "E0002", "E0003"], "stamped/print")]  # while compiling, in the work folder
    assert main([*args, "-o", str(tmp_path / "cached")]) == 0  # every batch from the cache, stamped as it comes
    called: list[str] = []

    class Late(pdf.Stamper):  # stamps nothing while compiling: pdf.write stamps everything at the end
        def __call__(self, version: str, built: dict[str, Built]) -> None:
            called.append(version)

    monkeypatch.setattr(pdf, "Stamper", Late)
    shutil.rmtree(tmp_path / "cache")
    assert main([*args, "-o", str(tmp_path / "late")]) == 0
    assert sorted(called) == ["solution", "student"]
    late = _outputs(tmp_path / "late")
    assert len([name for name in late if name.endswith(".pdf")]) == 3 * 2 + 2
    assert _outputs(tmp_path / "early") == late == _outputs(tmp_path / "cached")


def test_with_one_booklet_per_variant_the_booklets_are_joined_while_compiling(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """One booklet per variant (the default): booklet b is variant b with the codes it was
    stamped with, so print/all-students.pdf is joined from the stamped variants as soon as the
    last student batch is stamped (no second stamping after compiling), the bytes of joining
    them at the end, from the cache too; its pages are the variants' student pages in order."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    args = ["build", str(QUIZ), "-n", "3"]
    joins: list[tuple[int, str]] = []
    stamps: list[str] = []
    real_join, real_stamp = pdf.join_booklets, qrcodes.stamp
    monkeypatch.setattr(pdf, "join_booklets", lambda pdfs, folder: joins.append(
        (len(pdfs), f"{folder.parent.name}/{folder.name}")) or real_join(pdfs, folder))
    monkeypatch.setattr(qrcodes, "stamp",
                        lambda pdfs, codes, out: stamps.append(out.name) or real_stamp(pdfs, codes, out))
    assert main([*args, "-o", str(tmp_path / "early")]) == 0
    assert joins == [(3, "stamped/print")] and stamps == []  # while compiling, in the work folder; no stamping after
    assert main([*args, "-o", str(tmp_path / "cached")]) == 0

    class Late(pdf.Stamper):  # stamps nothing while compiling: pdf.write stamps, print_files joins at the end
        def __call__(self, version: str, built: dict[str, Built]) -> None:
            pass

    monkeypatch.setattr(pdf, "Stamper", Late)
    shutil.rmtree(tmp_path / "cache")
    assert main([*args, "-o", str(tmp_path / "late")]) == 0
    assert _outputs(tmp_path / "early") == _outputs(tmp_path / "late") == _outputs(tmp_path / "cached")
    students = [tmp_path / "early" / f"E000{k}" / "student.pdf" for k in (1, 2, 3)]
    assert pages_text(tmp_path / "early" / "print" / "all-students.pdf") == [
        page for s in students for page in pages_text(s)]


def fonts(pdf: Path) -> list[str]:
    """The fonts a PDF embeds, one line per font object (pdffonts)."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()[2:]]


def test_the_print_files_are_joined_from_the_batch_pdfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typeset with their codes, the print files are joined from the pages of the batch PDFs the
    variants were cut from: each batch's fonts once (each variant's PDF carries the batch's subsets
    of the fonts it uses: joined from those, a print file held them once per variant, two to three
    times the bytes), the same pages in order, and the same bytes from the cache."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    for out in ("fresh", "cached"):
        assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / out)]) == 0  # one batch
    for version, name in (("student", "all-students.pdf"), ("solution", "all-solutions.pdf")):
        joined = tmp_path / "fresh" / "print" / name
        variants = [tmp_path / "fresh" / f"E000{k}" / f"{version}.pdf" for k in (1, 2, 3)]
        each = [font for v in variants for font in fonts(v)]  # a font per variant that uses it
        assert len(each) > len(set(each))  # (variants share fonts: joined from them, the file held copies)
        assert sorted(fonts(joined)) == sorted(set(each))  # each font once
        assert pages_text(joined) == [page for v in variants for page in pages_text(v)]
        assert joined.read_bytes() == (tmp_path / "cached" / "print" / name).read_bytes()


@pytest.mark.parametrize("booklets", [None, 3])
def test_with_one_booklet_per_variant_tex_typesets_the_codes(booklets: int | None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """One booklet per variant (the default): the final pass typesets each page's scan code
    (the batch's final-qr.tex), so the build runs no qpdf overlay at all (stamping a batch
    cost more CPU than pdfTeX's own pages beside it); with more booklets than variants the
    codes are stamped on as before. Either way every page carries its booklet's code."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    runs = qpdf_runs(monkeypatch)
    out = tmp_path / "out"
    more = ["--booklets", str(booklets)] if booklets else []
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(out), *more]) == 0
    overlays = [r for r in runs if "--overlay" in r]
    assert (overlays == []) == (booklets is None), overlays
    n = booklets or 2
    expected = [f"IN2346-E{b:04d}-B{b:03d}-{p:02d}" for b in (1, 2) for p in (1, 2, 3, 4)]
    assert _decode(out / "E0001" / "student.pdf") + _decode(out / "E0002" / "solution.pdf") == expected
    assert _decode(out / "print" / "all-students.pdf") == [
        f"IN2346-E{(b - 1) % 2 + 1:04d}-B{b:03d}-{p:02d}" for b in range(1, n + 1) for p in (1, 2, 3, 4)]


def test_the_last_print_join_overlaps_the_writing_of_the_records(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The print files are joined in the Stamper's own threads: the last join runs while the
    build writes answers.json and layout.json (before, compile_exam waited for it). Shown
    without timing: the solutions' join waits until answers.json is being written, which only
    happens if the build does not wait for the join first (else the join gives up after 120 s)."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    writing, waited = threading.Event(), []
    real_join, real_answers = pdf.join_solutions, answers_writer.write

    def join(pdfs: list[Path], codes: list[str], folder: Path) -> list[str]:
        waited.append(writing.wait(timeout=120))
        return real_join(pdfs, codes, folder)

    monkeypatch.setattr(pdf, "join_solutions", join)
    monkeypatch.setattr(answers_writer, "write", lambda *a: writing.set() or real_answers(*a))
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "out")]) == 0
    assert waited == [True]
    assert pages_text(tmp_path / "out" / "print" / "all-solutions.pdf") == [
        page for k in (1, 2) for page in pages_text(tmp_path / "out" / f"E000{k}" / "solution.pdf")]


@pytest.mark.parametrize("booklets", [None, 5])
def test_records_are_made_as_each_student_batch_is_built(booklets: int | None, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """answers.json and layout.json of a variant are made in the compiler's pool as soon as its
    student version is built (beside the TeX runs still going), not all after the last one: the
    same bytes as made from the whole exam's record at the end."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    more = ["--booklets", str(booklets)] if booklets else []
    in_main: list[bool] = []
    real = pipeline._made_ahead

    def spy(*args: Any) -> tuple[str, str]:
        in_main.append(threading.current_thread() is threading.main_thread())
        return real(*args)

    monkeypatch.setattr(pipeline, "_made_ahead", spy)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "ahead"), *more]) == 0
    assert in_main == [False, False, False]
    # all made at the end from the whole exam's record: the writers are given none made ahead
    real_answers, real_layout = answers_writer.write, layout_writer.write
    monkeypatch.setattr(answers_writer, "write", lambda exam, folder, made=None: real_answers(exam, folder))
    monkeypatch.setattr(layout_writer, "write", lambda exam, folder, booklets=None, made=None:
                        real_layout(exam, folder, booklets))
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "end"), *more]) == 0
    for code in ("E0001", "E0002", "E0003"):
        for name in ("answers.json", "layout.json"):
            ahead, end = ((tmp_path / d / code / name).read_bytes() for d in ("ahead", "end"))
            assert ahead == end, (code, name)


@pytest.mark.parametrize("booklets", [None, 15])
def test_each_batchs_variants_are_in_the_staging_folder_when_compiling_ends(booklets: int | None, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's variant PDFs (typeset with their codes, or stamped: --booklets) and its records are
    placed in the output's staging folder as soon as the batch is built, not all after the last one
    (40 endterm PDFs and their records took 35-50 ms of the build's tail): when compile_exam returns,
    every variant's four files are there, and pdf.write places none. The same bytes as a build that
    places them all at the end (its finish only stamps)."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    more = ["--booklets", str(booklets)] if booklets else []
    at_return: list[list[str]] = []
    real_compile = Compiler.compile_exam

    def compile_exam(self: Compiler, *args: Any, **kw: Any) -> Any:
        built = real_compile(self, *args, **kw)
        (stage,) = (tmp_path).glob(".ahead.tmp-*")  # staging's folder beside the target
        at_return.append(sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()))
        return built

    real_place, ahead = pdf.place, [True]
    placed_at_end = [0]  # the variant PDFs placed by pdf.write (in the main thread), after compiling

    def place(folder: Path, version: str, made: dict[str, Path], work: Path | None) -> None:
        at_end = threading.current_thread() is threading.main_thread()
        placed_at_end[0] += len(made) if at_end else 0
        real_place(folder, version, made if at_end or ahead[0] else {}, work)

    monkeypatch.setattr(Compiler, "compile_exam", compile_exam)
    monkeypatch.setattr(pdf, "place", place)
    n = 13  # two batches (7 and 6 variants)
    assert main(["build", str(QUIZ), "-n", str(n), "-o", str(tmp_path / "ahead"), *more]) == 0
    assert at_return == [sorted(f"E{k:04d}/{name}" for k in range(1, n + 1)
                                for name in ("answers.json", "layout.json", "solution.pdf", "student.pdf"))]
    assert placed_at_end == [0]
    # placed at the end (the batches' finish, in the compiler's pool, places none): the same bytes
    ahead[0] = False
    monkeypatch.setattr(Compiler, "compile_exam", real_compile)
    shutil.rmtree(tmp_path / "cache")
    assert main(["build", str(QUIZ), "-n", str(n), "-o", str(tmp_path / "end"), *more]) == 0
    assert placed_at_end == [2 * n]
    assert _outputs(tmp_path / "ahead") == _outputs(tmp_path / "end")


def _versions_cut(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], tuple[str, ...]]:
    """The versions in the document whose PDF (workdir/final.pdf) is cut: a batch's, or both (a lane of
    the opening, Pair), learnt as its final pass ran in workdir (a streamed batch's final.tex is a FIFO:
    it cannot be read to learn it; qpdf cuts the batch in a thread of its own)."""
    versions: dict[Path, tuple[str, ...]] = {}
    real, real_pair = Compiler._typeset_from, Compiler._pair_from

    def typeset_from(self: Compiler, batch: Any, pages: Any, workdir: Path, *rest: Any) -> Any:
        versions[workdir] = (batch.version,)
        return real(self, batch, pages, workdir, *rest)

    def pair_from(self: Compiler, pair: Any, pages: Any, workdir: Path, *rest: Any) -> Any:
        versions[workdir] = ("student", "solution")
        return real_pair(self, pair, pages, workdir, *rest)

    monkeypatch.setattr(Compiler, "_typeset_from", typeset_from)
    monkeypatch.setattr(Compiler, "_pair_from", pair_from)
    return lambda batch_pdf: versions[batch_pdf.parent]


def test_a_batch_is_stored_in_the_cache_while_the_records_are_written(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A batch's cache entry (its PDFs copied and hashed: 0.1 s for the build's last batch) is stored
    in a thread, beside the writers, not before them; the build ends once it is stored, and the next
    build finds it. Shown without timing: storing the batches waits until answers.json is written."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    writing = threading.Event()
    real_store, real_answers = Cache.store, answers_writer.write

    def store(self: Cache, final: Path, files: Any, **meta: Any) -> None:
        if final.parent.name == "pdf":
            assert writing.wait(30), "the batch was stored before the records were written"
        real_store(self, final, files, **meta)

    def answers(*args: Any, **kw: Any) -> None:
        writing.set()
        real_answers(*args, **kw)

    monkeypatch.setattr(Cache, "store", store)
    monkeypatch.setattr(answers_writer, "write", answers)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "one")]) == 0
    assert "compile cache: 0 hits, 2 misses" in capsys.readouterr().out
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "two")]) == 0
    assert "compile cache: 2 hits, 0 misses" in capsys.readouterr().out
    for name in ("student.pdf", "solution.pdf"):
        assert (tmp_path / "one" / "E0003" / name).read_bytes() == (tmp_path / "two" / "E0003" / name).read_bytes()


def test_compile_exam_returns_with_its_batches_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a build asks compile_exam not to wait for its cache entries (stored=False, then settle());
    any other caller finds them stored when it returns, however slow the cache is (here: storing a
    batch's PDFs takes 0.3 s longer)."""
    real_store = Cache.store

    def slow_store(self: Cache, final: Path, files: Any, **meta: Any) -> None:
        if final.parent.name == "pdf":  # (a batch's PDFs: stored beside the rest)
            time.sleep(0.3)
        real_store(self, final, files, **meta)

    monkeypatch.setattr(Cache, "store", slow_store)
    loaded = bank.load_bank()
    spec = load_spec(QUIZ, loaded)
    variants = [build_variant(spec, loaded, 3, 1)]
    pair = (pipeline._batch(spec, variants, "student", None), pipeline._batch(spec, variants, "solution", None))
    Compiler(tmp_path / "cache").compile_exam([pair], tmp_path / "work")
    assert len([e for e in (tmp_path / "cache" / "pdf").iterdir() if (e / "entry.json").exists()]) == 2


def test_the_output_pdfs_share_nothing_with_the_compile_cache(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A build's PDFs typeset in its work folder are linked into the output (not copied: 40 ms of the
    tail); PDFs from the cache are copied: changing an output file in place (an editor that saves so)
    changes nothing in the cache, and the next build still gives the compiled bytes."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    outs = [tmp_path / name for name in ("made", "hit", "again")]
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(outs[0])]) == 0
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(outs[1])]) == 0
    assert "compile cache: 2 hits, 0 misses" in capsys.readouterr().out
    pdfs = [Path("E0001") / "student.pdf", Path("E0002") / "solution.pdf"]
    for name in pdfs:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
        assert os.stat(outs[1] / name).st_nlink == 1, f"{name} is linked to another file (the cache's)"
        with open(outs[1] / name, "r+b") as f:  # changed in place
            f.write(b"%PDF-broken")
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(outs[2])]) == 0
    assert "compile cache: 2 hits, 0 misses" in capsys.readouterr().out
    for name in pdfs:
        assert (outs[2] / name).read_bytes() == (outs[0] / name).read_bytes()


def test_records_are_made_while_the_student_batch_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A student batch's records (answers.json, layout.json) are made as soon as its pages and
    regions are known, beside qpdf's cutting of the batch, not after it (the last batch's records
    followed its cutting in the build's tail). Shown without timing: cutting a student batch waits
    until the records of its variants are being made."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    making: dict[str, threading.Event] = {f"E000{k}": threading.Event() for k in (1, 2, 3)}
    real_made, real_split = pipeline._made_ahead, qpdf_module.split
    version_of = _versions_cut(monkeypatch)

    def made(spec: Any, seed: int, v: Any, *rest: Any) -> tuple[str, str]:
        making[v.code].set()
        return real_made(spec, seed, v, *rest)

    def split(batch_pdf: Path, parts: Any, folder: Path) -> None:
        versions = version_of(batch_pdf)
        for name, _, _ in parts:  # (a lane's parts are named <code>-<version>)
            code = name.removesuffix("-student")
            if "student" in versions and "solution" not in name:
                assert making[code].wait(60), f"the records of {code} were not being made while its batch was cut"
        real_split(batch_pdf, parts, folder)

    monkeypatch.setattr(pipeline, "_made_ahead", made)
    monkeypatch.setattr(qpdf_module, "split", split)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "out")]) == 0  # two lanes
    for code in making:
        record = json.loads((tmp_path / "out" / code / "answers.json").read_text())
        assert record["variant"] == code


@pytest.mark.parametrize("stamped", [False, True], ids=["codes typeset", "codes stamped"])
def test_a_solution_typeset_with_its_codes_has_its_boxes_left_unread(stamped: bool, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The boxes a batch logs (6,000 lines a batch of 10 endterms) are read for the student version
    (layout.json) and, when the codes are stamped afterwards, for the solution too (where its codes
    go); a solution typeset with its codes has nothing that reads them, and its batch is not read."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    typesetting = threading.local()  # the version of the batch whose final pass the thread finishes
    read: list[str] = []
    real_regions, real_typeset_from = core.regions, Compiler._typeset_from

    real_pair_from = Compiler._pair_from

    def typeset_from(self: Compiler, batch: Any, *rest: Any) -> Any:
        typesetting.version = batch.version
        return real_typeset_from(self, batch, *rest)

    def pair_from(self: Compiler, pair: Any, *rest: Any) -> Any:
        typesetting.version = "both"  # (a lane: its solution's boxes are not logged, see the next test)
        return real_pair_from(self, pair, *rest)

    def regions(log: str) -> Any:
        read.append(typesetting.version)
        return real_regions(log)

    monkeypatch.setattr(Compiler, "_typeset_from", typeset_from)
    monkeypatch.setattr(Compiler, "_pair_from", pair_from)
    monkeypatch.setattr(core, "regions", regions)
    more = ["--booklets", "6"] if stamped else []  # (2 booklets a variant: stamped on, pdf.Stamper)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "out"), *more]) == 0
    # typeset with their codes, the three variants are two lanes (both versions in one run each); stamped
    # afterwards, one student and one solution batch, whose regions are both read
    assert sorted(read) == (["solution", "student"] if stamped else ["both", "both"])
    layout = json.loads((tmp_path / "out" / "E0002" / "layout.json").read_text())
    assert len(layout["pages"]) == len(pages_text(tmp_path / "out" / "E0002" / "student.pdf"))
    assert sum(len(p["answer_regions"]) for p in layout["pages"]) > 0


def test_a_solution_typeset_with_its_codes_logs_no_boxes_and_gives_the_same_pdfs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reads the boxes of a solution typeset with its codes: its document tells the class
    (\\egunreadboxes), which logs none (a sixth of a solution batch's TeX time); its pages are the
    same, to the byte, as when it logs them, and the student version still logs every box. In a lane
    (both versions in one document, Pair) the class logs them again for each student version."""
    logs: dict[str, list[str]] = {}
    real_typeset_from, real_pair_from, real_text = Compiler._typeset_from, Compiler._pair_from, batching.Pair.text

    def typeset_from(self: Compiler, batch: Any, pages: Any, workdir: Path, log: str, *rest: Any) -> Any:
        logs.setdefault(batch.version, []).append(log)
        return real_typeset_from(self, batch, pages, workdir, log, *rest)

    def pair_from(self: Compiler, pair: Any, pages: Any, workdir: Path, log: str, *rest: Any) -> Any:
        # each variant's student part ends with its EXAMGEN-VARIANT line, then its solution part with its own
        ends = [m.end() for m in re.finditer(r"^EXAMGEN-VARIANT: .*\n", log, re.M)]
        for i, (start, end) in enumerate(zip([0, *ends], ends)):
            logs.setdefault(["student", "solution"][i % 2], []).append(log[start:end])
        return real_pair_from(self, pair, pages, workdir, log, *rest)

    def kinds(version: str) -> list[set[str]]:
        return [{line.split(":")[0] for line in log.splitlines() if line.startswith("EXAMGEN-")}
                for log in logs.pop(version, [])]

    def pdfs(out: Path) -> dict[str, bytes]:
        return {name: data for name, data in _outputs(out).items() if name.endswith(".pdf")}

    monkeypatch.setattr(Compiler, "_typeset_from", typeset_from)
    monkeypatch.setattr(Compiler, "_pair_from", pair_from)
    for lanes, name in ((True, "lanes"), (False, "batches")):  # lanes(2): a lane a variant; then none
        if not lanes:
            monkeypatch.setattr(pipeline, "lanes", lambda n: [])
        monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / f"cache-{name}"))
        assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / name)]) == 0
        student, solution = kinds("student"), kinds("solution")
        assert len(student) == len(solution) == (2 if lanes else 1)
        assert all({"EXAMGEN-BOX", "EXAMGEN-REGION", "EXAMGEN-GRID", "EXAMGEN-VARIANT"} <= k for k in student)
        assert all(k == {"EXAMGEN-VARIANT"} for k in solution)
    # every batch logs its boxes: the same PDFs
    monkeypatch.setattr(Batch, "reads_regions", property(lambda self: True))
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache-logged"))
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "logged")]) == 0
    assert "EXAMGEN-BOX" in logs["solution"][0]
    assert _outputs(tmp_path / "logged") == _outputs(tmp_path / "batches")
    # every lane's solution logs its boxes (its regions then mixed with the student's: PDFs only): the same PDFs
    logs.clear()
    monkeypatch.undo()
    monkeypatch.setattr(Compiler, "_pair_from", pair_from)
    monkeypatch.setattr(batching.Pair, "text", staticmethod(
        lambda s, t, pages=None: real_text(s, t, pages).replace("\\egunreadboxes%\n", "")))
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache-lanes-logged"))
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "lanes-logged")]) == 0
    assert all("EXAMGEN-BOX" in k for k in kinds("solution"))
    assert pdfs(tmp_path / "lanes-logged") == pdfs(tmp_path / "lanes")


def test_the_format_is_kept_inflated_and_typesets_what_pdftex_s_own_does(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """pdfTeX dumps a format gzip-compressed; examgen keeps it inflated (pdfTeX reads it as it is: inflating
    was two thirds of loading it, in every run). The format in the cache is not compressed, and a kept
    variant typeset on it and on the same format compressed as pdfTeX writes it (gzip) gives the same PDF."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["build", str(QUIZ), "-n", "1", "-o", str(out), "--keep-tex"]) == 0
    (entry,) = [e for e in (tmp_path / "cache" / "formats").iterdir() if not e.name.startswith(".")]
    (fmt,) = entry.glob("*.fmt")
    data = fmt.read_bytes()
    assert data[:2] != b"\x1f\x8b" and len(gzip.compress(data, 1)) < len(data) / 2  # inflated
    pdfs = []
    for name, content in (("inflated", data), ("compressed", gzip.compress(data, 1))):
        folder = tmp_path / name
        shutil.copytree(out / "E0001", folder)
        (folder / "doc.fmt").write_bytes(content)
        subprocess.run(["pdflatex", "-fmt=doc", "-interaction=batchmode", "-jobname=student", "student.tex"],
                       cwd=folder, check=True, capture_output=True, env=dict(os.environ, SOURCE_DATE_EPOCH="0"))
        assert "preloaded format=eg-" in (folder / "student.log").read_text(errors="replace")  # (it was the format)
        pdfs.append((folder / "student.pdf").read_bytes())
    assert pdfs[0] == pdfs[1]


def test_a_new_format_is_handed_out_before_it_is_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build's batches wait for the format: storing its 19 MB in the cache took them 0.5-0.9 s
    beside the drawing. The format is handed out once pdfTeX has dumped it and it is inflated (each run that
    read it compressed spent 60 ms more loading it), and stored in a thread (settle() waits for it): here
    the store is held until format_file has returned (the old order, storing before returning, never
    returns). Afterwards the cache holds it inflated too."""
    from examgen import layouts

    layout = layouts.get("tum")
    stored, release = threading.Event(), threading.Event()
    store = Cache.store

    def held(self: Cache, final: Path, files: dict[str, Any], **meta: object) -> None:
        release.wait(600)
        store(self, final, files, **meta)
        stored.set()

    monkeypatch.setattr(Cache, "store", held)
    cache = Cache(tmp_path / "cache")
    compiler = Compiler(tmp_path / "cache", 1)
    got: list[Path] = []
    making = threading.Thread(target=lambda: got.append(
        compiler.format_file(layout.preamble("en"), layout.classes, tmp_path / "work", cache)))
    making.start()
    making.join(300)
    returned = not making.is_alive()
    handed = got[0].read_bytes()[:4] if got else b""  # (what its first runs load)
    release.set()
    making.join(600)
    assert returned, "format_file waited for the cache store"
    assert handed == b"W2TX"  # inflated (pdfTeX's format header, not gzip's) before the store
    compiler.settle()
    assert stored.is_set()
    (entry,) = [e for e in (tmp_path / "cache" / "formats").iterdir() if not e.name.startswith(".")]
    (fmt,) = entry.glob("*.fmt")
    assert fmt.read_bytes()[:4] == b"W2TX"  # inflated (pdfTeX's format header, not gzip's)
    assert got[0].read_bytes() == fmt.read_bytes()  # (the work folder's copy was inflated in place too)


def test_student_and_solution_share_one_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both versions have one preamble (the version is \\egversion after \\begin{document}), so a
    cold build makes one precompiled format, not two, and each version still comes out as itself."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(out)]) == 0
    assert len([e for e in (tmp_path / "cache" / "formats").iterdir() if not e.name.startswith(".")]) == 1
    student, solution = (pages_text(out / "E0001" / f"{v}.pdf") for v in ("student", "solution"))
    assert "Eexam" in student[0] and "Esolution" in solution[0]
    assert not any("Grading notes" in p for p in student) and any("Grading notes" in p for p in solution)


def _recording_operators(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The contents of the codes encoded from now on (qrcodes.operators, its lru_cache new and empty)."""
    encoded: list[str] = []
    real = qrcodes.operators.__wrapped__  # what encodes a code, kept as qrcodes keeps it (lru_cache)
    monkeypatch.setattr(qrcodes, "operators", functools.lru_cache(maxsize=1024)(
        lambda content: encoded.append(content) or real(content)))
    qrcodes._definitions.cache_clear()
    return encoded


def test_typeset_codes_are_encoded_once_then_taken_from_the_cache(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The codes a batch typesets are encoded once for its student and solution documents (which
    ask at the same moment) and kept in the cache: a rebuild after an edit (every PDF typeset
    anew) encodes none, and its PDFs are the bytes of the first build. The first build encodes
    them for its guessed total (8 pages for the quiz) and keeps those of the 4 pages it found too."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    encoded = _recording_operators(monkeypatch)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "first")]) == 0
    assert sorted(encoded) == [f"IN2346-E{b:04d}-B{b:03d}-{p:02d}" for b in (1, 2) for p in range(1, 9)]
    encoded = _recording_operators(monkeypatch)  # (as a new process: nothing encoded in memory)
    for sub in ("pdf", "pages"):
        shutil.rmtree(tmp_path / "cache" / sub)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "again")]) == 0
    assert encoded == []
    assert _outputs(tmp_path / "first") == _outputs(tmp_path / "again")


def test_waiting_tex_runs_take_a_free_slot_costliest_first() -> None:
    """TeX slots go to the longest waiting run (a solution batch before a student batch),
    runs without a cost (formats, drafts) before all; equal costs in the order they came."""
    slots = tex._Slots(1)
    order: list[str] = []
    held = []  # each thread keeps its slot (a dropped context manager would give it back)

    def take(name: str, cost: int | None) -> None:
        held.append(slots.taken(cost))
        held[-1].__enter__()
        order.append(name)

    with slots.taken(None):  # the only slot is busy while the others line up
        threads = []
        for name, cost in (("student", 100), ("solution", 250), ("draft", None), ("student2", 100)):
            t = threading.Thread(target=take, args=(name, cost))
            t.start()
            threads.append(t)
            deadline = time.monotonic() + 60
            while len(slots.waiting) < len(threads) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(slots.waiting) == len(threads)
    for k in range(1, len(threads) + 1):  # free one more slot once the last one is taken
        deadline = time.monotonic() + 60
        while len(order) < k and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(order) == k
        if k < len(threads):
            with slots.cond:
                slots.free += 1
                slots.cond.notify_all()
    for t in threads:
        t.join(60)
    assert order == ["draft", "solution", "student", "student2"]


@pytest.mark.parametrize("spec, option", [(QUIZ, "en"), (ROOT / "exams" / "modern-dl-de.yaml", "de")])
def test_the_format_is_started_before_the_bank_is_loaded(spec: Path, option: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build starts making its format (its longest TeX step; the preamble depends on the
    spec's layout and language only) before Python imports and loads the bank (0.3 s), shown by
    the order of the calls; the build then uses that format (one in the cache) and writes the
    bytes of a build that does not start it ahead."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    order: list[str] = []
    real_start, real_load = Compiler.start_format, bank.load_bank
    monkeypatch.setattr(Compiler, "start_format", lambda self, preamble, classes, folder, **kw: order.append(
        preamble.splitlines()[0]) or real_start(self, preamble, classes, folder, **kw))
    monkeypatch.setattr(bank, "load_bank", lambda *args: order.append("bank") or real_load(*args))
    assert main(["build", str(spec), "-n", "1", "-o", str(tmp_path / "early")]) == 0
    assert order == [f"\\documentclass[{option}]{{examgentum}}", "bank"]
    assert len(list((tmp_path / "cache" / "formats").iterdir())) == 1
    shutil.rmtree(tmp_path / "cache")
    monkeypatch.setattr(Compiler, "start_format", lambda self, preamble, classes, folder, **kw: None)
    assert main(["build", str(spec), "-n", "1", "-o", str(tmp_path / "late")]) == 0
    assert _outputs(tmp_path / "early") == _outputs(tmp_path / "late")


def test_a_cold_builds_first_codes_are_encoded_while_its_format_is_built(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build's first batch encodes its scan codes (for its guessed total: 8 pages of the quiz)
    before it waits for the format, not after: shown without timing, the format's build is held
    until they are encoded (a batch that asked for the format first would wait for it for ever)."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    encoded = _recording_operators(monkeypatch)
    code = "IN2346-E{0:04d}-B{0:03d}-{1:02d}".format
    first = {code(b, p) for b in (1, 2, 3) for p in range(1, 9)}
    held: list[bool] = []
    real = Compiler._made_format

    def made_format(self: Compiler, *args: Any, **kwargs: Any) -> Path:
        deadline = time.monotonic() + 60
        while not first <= set(encoded) and time.monotonic() < deadline:
            time.sleep(0.01)
        held.append(first <= set(encoded))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Compiler, "_made_format", made_format)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "out")]) == 0
    assert held == [True]
    assert sorted(encoded) == sorted(first)  # each once
    assert _decode(tmp_path / "out" / "E0002" / "student.pdf") == [code(2, p) for p in (1, 2, 3, 4)]


def test_the_openings_codes_are_encoded_before_its_first_variant_is_drawn(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed first batch's scan codes (for its guessed total: 8 pages of the quiz) are encoded
    before the drawing starts, not beside it: the drawing took half the GIL from the encoding, and a
    cold build's TeX runs waited 0.2 s for the codes once their format was built. Shown by the order
    in which the codes are encoded and the variants drawn."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    events = _recording_operators(monkeypatch)  # (the codes encoded, and the variants drawn, in order)
    monkeypatch.setattr(pipeline, "build_variant", lambda *args: events.append(f"draw {args[3]}") or
                        build_variant(*args))
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "out")]) == 0
    code = "IN2346-E{0:04d}-B{0:03d}-{1:02d}".format
    first = events.index("draw 1")
    assert sorted(events[:first]) == sorted(code(b, p) for b in (1, 2, 3) for p in range(1, 9))
    # (the opening's two lanes, variants 1-2 and 3, drawn in turn: batching.drawing_order)
    assert [e for e in events if e.startswith("draw")] == ["draw 1", "draw 3", "draw 2"]


def test_a_batchs_codes_do_not_wait_for_another_batchs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The codes of a batch are encoded once however many documents ask at once, but a batch
    does not wait while another batch's codes are encoded (the first final passes waited for the
    second batch's codes, 0.1 s). Shown with a second batch whose encoding is held."""
    qrcodes._definitions.cache_clear()
    held, release = threading.Event(), threading.Event()
    real = qrcodes.operators.__wrapped__

    def operators(content: str) -> str:
        if "E0002" in content:
            held.set()
            assert release.wait(60)
        return real(content)

    monkeypatch.setattr(qrcodes, "operators", operators)
    other = threading.Thread(target=qrcodes.definitions, args=([("E0002", 1)], "IN2346", 2))
    other.start()
    try:
        assert held.wait(60)
        done: list[str] = []
        mine = threading.Thread(target=lambda: done.append(qrcodes.definitions([("E0001", 1)], "IN2346", 2)))
        mine.start()
        mine.join(60)  # (returns at once; with one lock for all batches it waited for `other`)
        assert done and done[0].startswith("\\egqr{E0001-1}")
    finally:
        release.set()
        other.join(60)


def test_a_print_file_is_joined_while_its_last_batch_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typeset with their codes, a version's print file is joined from the batch PDFs as soon as the
    last batch is typeset (its pages known), beside the cutting of that batch into the variants'
    PDFs, not after it (the cutting, the regions and the cache entry came first, 0.1-0.15 s of the
    build's tail). Shown without timing: cutting a batch waits until its version's join has begun."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    joining = {"student": threading.Event(), "solution": threading.Event()}
    real_concatenate, real_split = pdf.concatenate, qpdf_module.split
    version_of = _versions_cut(monkeypatch)

    def concatenate(parts: Any, out: Path) -> None:
        joining["student" if out.name.startswith("all-students") else "solution"].set()
        real_concatenate(parts, out)

    def split(batch_pdf: Path, parts: Any, folder: Path) -> None:
        for version in version_of(batch_pdf):  # (a lane's: both versions', once both lanes are typeset)
            assert joining[version].wait(60), f"the {version} print file was not being joined while its batch was cut"
        real_split(batch_pdf, parts, folder)

    monkeypatch.setattr(pdf, "concatenate", concatenate)
    monkeypatch.setattr(qpdf_module, "split", split)
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(tmp_path / "out")]) == 0  # two lanes
    assert pages_text(tmp_path / "out" / "print" / "all-solutions.pdf") == [
        page for k in (1, 2, 3) for page in pages_text(tmp_path / "out" / f"E000{k}" / "solution.pdf")]


def test_the_early_format_needs_no_numpy() -> None:
    """The CLI reads the spec's layout and language and starts the format (and, with a total remembered,
    the first batch's TeX runs) before it imports numpy (0.1 s): the layout module that gives the preamble
    must not import numpy (texfmt imports it where it formats numbers), nor pylatex (16 ms: texfmt and the
    layout import it where they escape text and write commands), nor examgen's data model (31 ms of
    dataclasses: the layouts import it for type checking and where they read a variant)."""
    probe = ("import sys; import examgen.cli, examgen.compiler, examgen.uptodate, examgen.targets, examgen.yamlfile; "
             "from examgen import layouts; "
             "[layouts.get(n).preamble(l) for n in ('tum', 'plain') for l in ('en', 'de')]; "
             "print(sorted(m for m in ('numpy', 'jinja2', 'jsonschema', 'pylatex', 'examgen.model') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("given", "seen"), [(None, "1"), ("3", "3")])
def test_the_cli_runs_numpy_without_blas_threads(given: str | None, seen: str) -> None:
    """`examgen` (cli.run) sets OPENBLAS_NUM_THREADS=1 before numpy is imported (its matrices are a few
    numbers: no BLAS thread pool is needed, and starting one is 15-20 ms of numpy's import), unless the
    user set it."""
    probe = ("import os, examgen.cli as c; "
             "c.main = lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in __import__('sys').modules) "
             "or 0; c.run()")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == [seen, "False"]


def test_the_tex_identity_is_the_installation_s() -> None:
    """The cache keys' TeX identity and the manifest's distribution (one kpsewhich run for the font map and
    the format, beside pdftex --version) are what the three commands give one by one."""
    import hashlib

    from examgen import __version__
    from examgen.compiler import cache

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    version = run("pdftex", "--version").splitlines()[0]
    font_map = run("kpsewhich", "-engine=pdftex", "pdftex.map").strip()
    fmt = run("kpsewhich", "-engine=pdftex", "pdflatex.fmt").strip()
    digest = hashlib.sha256(Path(font_map).read_bytes()).hexdigest()
    for f in (cache._tex_installation, cache.tex_distribution, cache.tex_identity):
        f.cache_clear()
    try:
        assert cache.tex_distribution() == {"pdftex": version, "font_map_sha256": digest}
        assert cache.tex_identity() == f"{version}|{digest}|{fmt}:{os.stat(fmt).st_mtime_ns}|examgen {__version__}"
    finally:
        for f in (cache._tex_installation, cache.tex_distribution, cache.tex_identity):
            f.cache_clear()


# rubric lines (render_string): literal ones, and ones whose only jinja2 is a comment, a variable, a block
RUBRIC_LINES = ["", "  Full credit for 0.5 (either sign).  ", "line one\nline two\n",
                "\\textbf{1 point} $a_{i}$ & \\\\",
                "100%> of the >> arrows #> stay, as {{ x }} and {% raw %} do", "% a TeX comment\n", "a < b > c, a<b",
                "keep <# a jinja2 comment #>out", "x is << x >>", "<% if x %>one<% endif %> point"]


@pytest.mark.parametrize("source", RUBRIC_LINES)
def test_a_rubric_line_renders_as_jinja2_renders_it(source: str) -> None:
    """render_string gives a line without jinja2 syntax as it is, without compiling it: the text
    jinja2 itself gives for it (examgen's environment, stripped), for lines with and without syntax."""
    from examgen import rendering, texfmt

    got = rendering.render_string(source, {"x": 1}, "a test's rubric")
    assert type(got) is texfmt.Latex
    assert got == rendering.environment().from_string(source).render(x=1).strip()


@pytest.mark.pdf
def test_qpdf_cuts_a_batch_while_python_reads_its_regions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Once a batch's final pass ran, qpdf cuts it in a process of its own while Python reads the
    answer regions from the log (the last batch's cutting waited for them): the regions are read
    only once the cutting has started, and the build writes what it always did."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    started = threading.Event()
    real_split, real_regions = core.qpdf.split, core.regions

    def split(*args: Any) -> None:
        started.set()
        real_split(*args)

    def regions(log: str) -> Any:
        assert started.wait(60), "the regions were read before qpdf started cutting the batch"
        started.clear()  # (the next batch's)
        return real_regions(log)

    monkeypatch.setattr(core.qpdf, "split", split)
    monkeypatch.setattr(core, "regions", regions)
    quiz = ROOT / "exams" / "quiz.yaml"
    assert main(["build", str(quiz), "-n", "2", "-o", str(tmp_path / "out"), "--jobs", "1"]) == 0
    monkeypatch.undo()
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache-2"))
    assert main(["build", str(quiz), "-n", "2", "-o", str(tmp_path / "again")]) == 0
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "again")

    def failing(*args: Any) -> None:
        raise ExamgenError("qpdf failed: a damaged batch PDF")

    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache-3"))
    monkeypatch.setattr(core.qpdf, "split", failing)
    capsys.readouterr()
    assert main(["build", str(quiz), "-n", "2", "-o", str(tmp_path / "failed")]) != 0
    assert "qpdf failed: a damaged batch PDF" in capsys.readouterr().err
    assert not (tmp_path / "failed").exists()


def test_a_questions_rubric_lines_share_one_context_and_render_as_jinja2_renders_each() -> None:
    """string_renderer (a question's rubric lines: one context, merged with jinja2's globals once) gives
    each line the text jinja2 gives it alone; a line's `set` does not reach the next line or the context."""
    from examgen import rendering

    ctx = {"x": 1, "answers": {"y": 2.5}}
    lines = [*RUBRIC_LINES, "<% set x = 7 %>x is << x >>", "x is still << x >>",
             "<< range(3)|list|length >> of << answers.y >>", "<< max(x, 4) >>"]
    line = rendering.string_renderer(ctx)
    got = [line(source, "a test's rubric") for source in lines]
    assert got == [rendering.environment().from_string(s).render(**ctx).strip() for s in lines]
    assert got[-4:] == ["x is 7", "x is still 1", "3 of 2.5", "4"]
    assert ctx == {"x": 1, "answers": {"y": 2.5}}


def test_a_questions_statements_are_rendered_once_for_both_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build renders each template question's statements once: the solution version takes those its
    student version rendered (questions.texts), and both versions' texts are those of separate renders
    (the memo cleared before each version: every statement block rendered twice)."""
    from examgen import layouts, questions, rendering

    spec = load_spec(ROOT / "exams" / "in2346-endterm.yaml", bank.load_bank())
    layout = layouts.get(spec.layout)
    variants = [build_variant(spec, bank.load_bank(), 7, n) for n in (1, 2)]
    rendered: list[str] = []
    made = rendering.block_renderer

    def counting(template: Any, context: dict[str, Any], origin: str) -> Callable[[str], Any]:
        render = made(template, context, origin)
        return lambda block: (rendered.append(f"{Path(origin).name}:{block}"), render(block))[1]

    monkeypatch.setattr(rendering, "block_renderer", counting)

    def bodies(clear: bool) -> tuple[list[str], Counter[str]]:
        rendered.clear()
        questions._TEXTS.clear()
        out = []
        for v in variants:
            for version in (layouts.STUDENT, layouts.SOLUTION):
                if clear:
                    questions._TEXTS.clear()
                out.append(pipeline._piece(layout, spec.info, v, version).body)
        return out, Counter(r.split(":")[0] for r in rendered)

    separate, apart = bodies(clear=True)
    together, shared = bodies(clear=False)
    assert together == separate
    assert apart["solution.tex.j2"] >= 20 and shared["solution.tex.j2"] == apart["solution.tex.j2"]
    assert apart["statement.tex.j2"] >= 40 and shared["statement.tex.j2"] * 2 == apart["statement.tex.j2"]


def test_a_shipped_solver_is_resolved_once_and_an_instructors_folder_each_time(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """solvers.resolve looks for a template's own module.py once per shipped template and function (the
    shipped bank does not change while examgen runs), and in an instructor's folder at every call: a
    solver.py written there later is found."""
    from examgen import solvers

    shipped = next(BANK_DIR.rglob("batchnorm*/question.yaml")).parent
    looked: list[Path] = []
    is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda self: (looked.append(self), is_file(self))[1])
    solvers._resolve_shipped.cache_clear()
    first = solvers.resolve("normalization.batchnorm_forward", shipped)
    assert first is solvers.resolve("normalization.batchnorm_forward", shipped)
    assert first.__module__ == "examgen.solvers.normalization"
    assert looked == [shipped / "normalization.py"]
    mine = tmp_path / "my_template"
    mine.mkdir()
    assert solvers.resolve("normalization.batchnorm_forward", mine) is first
    (mine / "normalization.py").write_text("def batchnorm_forward(p):\n    return {'mine': 1}\n")
    assert solvers.resolve("normalization.batchnorm_forward", mine)({}) == {"mine": 1}
    assert looked[1:] == [mine / "normalization.py"] * 2


@pytest.mark.parametrize("booklets", [None, 2])
def test_the_manifest_reads_no_pdf_again_and_lists_every_files_sha256(booklets: int | None, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A build's PDFs (the variants', typeset with their codes or stamped, and the print files) are hashed
    as they are made, beside TeX (outputs.remember_sha256); the manifest, on the build's tail, reads none
    of them again, and lists each file's sha256 as hashlib gives it for the file's bytes. A remembered
    file changed since is read again."""
    import hashlib

    from examgen import outputs

    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    read: list[Path] = []
    real = outputs._sha256
    monkeypatch.setattr(outputs, "_sha256", lambda path: (read.append(Path(path)), real(path))[1])
    out = tmp_path / "out"
    more = ["--booklets", str(booklets)] if booklets else []
    assert main(["build", str(QUIZ), "-n", "3", "-o", str(out), *more]) == 0
    files = json.loads((out / "manifest.json").read_text())["files"]
    pdfs = sorted(name for name in files if name.endswith(".pdf"))
    assert len(pdfs) == 8  # 3 variants x 2 versions, print/all-students.pdf and all-solutions.pdf
    # (in the staging folder, then moved to out; not the font map, nor the cache entries hashed as they are stored)
    read = [p for p in read if p.is_relative_to(tmp_path) and not p.is_relative_to(tmp_path / "cache")]
    assert [p for p in read if p.suffix == ".pdf"] == []
    assert sorted(p.name for p in read) == sorted(Path(name).name for name in files if not name.endswith(".pdf"))
    assert files == {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in files}
    assert outputs._HASHED == {}  # (forgotten with the build's work folder: its inodes may be reused)
    changed = out / pdfs[0]
    with outputs.remembered_hashes():
        outputs.remember_sha256(changed)
        changed.write_bytes(changed.read_bytes() + b"%")
        assert outputs.sha256(changed) == hashlib.sha256(changed.read_bytes()).hexdigest()
