"""Issue 18: the first batch's TeX runs start as soon as the format is there (with the format in the
cache, before its variants are drawn) and typeset each variant as it comes (Opening,
Compiler.typeset_streamed, TexRunner.stream): the same bytes as a build that waits for the whole
batch; a LaTeX failure, a wrong total, a batch already in the cache and a drawing that fails each
end as they do without it."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_build_speed import _logging_pdflatex, _outputs

from examgen import ROOT, bank, layouts, pipeline
from examgen import spec as spec_module
from examgen.cli import main
from examgen.compiler import Compiler, core, tex

pytestmark = pytest.mark.pdf

QUIZ = ROOT / "exams" / "quiz.yaml"
STREAMED = "-no-parse-first-line"  # on the command line of a streamed run only (TexRunner.stream)


def _runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _built_before(spec: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Path:
    """Build `spec` once into tmp/first with a cache of its own, then drop its PDFs and page counts
    from the cache (as after an instructor's edit): the format and the page total stay."""
    cache = tmp / "cache"
    monkeypatch.setenv("EXAMGEN_CACHE", str(cache))
    assert main(["build", str(spec), "-n", "2", "-o", str(tmp / "first"), *args]) == 0
    for sub in ("pdf", "pages"):
        shutil.rmtree(cache / sub)
    return cache


def _wait_for_streamed_runs(log: Path, count: int = 2) -> None:
    deadline = time.monotonic() + 60
    while sum(STREAMED in r for r in _runs(log)) < count:
        assert time.monotonic() < deadline, f"no streamed TeX run started while the batch was drawn: {_runs(log)}"
        time.sleep(0.01)


@pytest.mark.parametrize("booklets", [None, "1"], ids=["codes typeset", "codes stamped"])
def test_the_first_batch_is_typeset_while_it_is_drawn(booklets: str | None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("--booklets", booklets) if booklets else ()
    _built_before(QUIZ, tmp_path, monkeypatch, *args)
    fake, log = _logging_pdflatex(tmp_path)
    real = pipeline.build_variant

    def drawing(spec: object, bank: object, seed: int, number: int) -> object:
        if number == 2:  # the batch's second variant is drawn only once both its TeX runs have started
            _wait_for_streamed_runs(log)
        return real(spec, bank, seed, number)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "build_variant", drawing)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second"), *args], pdflatex=str(fake)) == 0
    runs = _runs(log)
    assert len(runs) == 2 and all(STREAMED in r for r in runs), runs  # its two lanes (codes typeset), or versions
    assert _outputs(tmp_path / "second") == _outputs(tmp_path / "first")  # the same bytes


def test_a_batch_in_the_cache_is_not_typeset_while_it_is_drawn(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is looked up once a batch is complete; a streamed run whose first variant is that of a
    batch in the cache is given up before any variant is written into it."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("EXAMGEN_CACHE", str(cache))
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "first")]) == 0
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second")]) == 0  # (the total is now known)
    written: list[str] = []
    real = tex.TexRunner.stream

    def recording(self: tex.TexRunner, workdir: Path, name: str, fmt: str, label: str, chunks: object,
                  **kw: object) -> tuple[str, str]:
        def kept() -> object:
            for chunk in chunks:  # type: ignore[attr-defined]
                written.append(chunk)
                yield chunk
        return real(self, workdir, name, fmt, label, kept(), **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tex.TexRunner, "stream", recording)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "third")]) == 0
    assert written and not [c for c in written if "\\egbeginvariant" in c]  # only the documents' heads
    assert _outputs(tmp_path / "third") == _outputs(tmp_path / "first")
    # the same build after its PDFs left the cache: both runs streamed, every variant written (in both
    # versions: the opening's lanes, Pair)
    written.clear()
    shutil.rmtree(cache / "pdf")
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "fourth")]) == 0
    assert sum(c.count("\\egbeginvariant") for c in written) == 4
    assert _outputs(tmp_path / "fourth") == _outputs(tmp_path / "first")


def _broken_spec(tmp: Path) -> tuple[Path, Path]:
    """quiz.yaml with an extra template of its own, and that template's statement."""
    bank = tmp / "bank" / "data" / "broken_question"
    shutil.copytree(ROOT / "question_bank" / "data" / "class_imbalance", bank)
    q = bank / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: broken_question"))
    spec = tmp / "s.yaml"
    spec.write_text(QUIZ.read_text().replace("  - choose:", "  - template: broken_question\n  - choose:", 1))
    return spec, bank / "statement.tex.j2"


@pytest.mark.parametrize("cold", [False, True], ids=["built before", "cold"])
def test_a_latex_failure_in_a_streamed_batch_is_reported_as_without_streaming(
        cold: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """With the format and total of a build before, or cold (the streamed runs wait for the format)."""
    spec, statement = _broken_spec(tmp_path)
    bank = ("--bank", str(tmp_path / "bank"))
    cache = tmp_path / "cache"
    if cold:
        monkeypatch.setenv("EXAMGEN_CACHE", str(cache))
    else:
        _built_before(spec, tmp_path, monkeypatch, *bank)
    statement.write_text(statement.read_text().replace("Name two possible solutions.",
                                                       r"Name two \nosuchmacro solutions."))
    capsys.readouterr()
    fake, log = _logging_pdflatex(tmp_path)
    found = {}
    for streamed in (True, False):
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        if not streamed:  # no run streamed, none started ahead
            monkeypatch.setattr(core._Stream, "streams", staticmethod(lambda opening: False))
            real_start = core.Compiler.start_format

            def not_ahead(self: core.Compiler, *a: object, real: object = real_start, **kw: object) -> None:
                real(self, *a)  # type: ignore[operator]  # (without the name whose total it would look up)

            monkeypatch.setattr(core.Compiler, "start_format", not_ahead)
        out = tmp_path / f"out-{streamed}"
        assert main(["build", str(spec), "-n", "2", "-o", str(out), *bank], pdflatex=str(fake)) == 1
        assert (STREAMED in log.read_text()) is streamed
        log.unlink()
        err = capsys.readouterr().err
        kept = out.parent / f"{out.name}-diagnostics"
        found[streamed] = (err.replace(str(out), "OUT"),
                           {p.relative_to(kept).as_posix(): p.read_bytes() for p in kept.rglob("*")
                            if p.is_file() and p.name != "manifest.json"})
        assert not (cache / "pdf").exists() or not list((cache / "pdf").iterdir())  # no failure was stored
    err, files = found[True]
    assert err.startswith("examgen: error: variant E0001 (student): LaTeX error: Undefined control sequence.")
    assert "variant E0002 (student)" in err and "Traceback" not in err
    assert "E0001/student.tex" in " ".join(files) and "E0001/student.log" in " ".join(files)
    assert found[True] == found[False]  # the same lines, the same diagnostics


def test_a_cold_build_streams_its_first_batch_once_the_format_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No format, no page total (an empty cache), no draft pass: once the format is built both runs of
    the opening (its lanes) start with a guessed total and typeset each variant as it comes: the same
    bytes as without streaming (each lane typeset whole, once drawn)."""
    fake, log = _logging_pdflatex(tmp_path)
    outs = {}
    for streamed in (True, False):
        monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / f"cache-{streamed}"))
        if not streamed:
            monkeypatch.setattr(core._Stream, "streams", staticmethod(lambda opening: False))
        outs[streamed] = tmp_path / f"out-{streamed}"
        assert main(["build", str(QUIZ), "-n", "13", "-o", str(outs[streamed])], pdflatex=str(fake)) == 0
        runs = _runs(log)
        log.unlink()
        assert all("-draftmode" not in r for r in runs)
        # lanes(13): variants 1-7 and 8-13, each lane both versions in one pass: two passes
        assert len(runs) == 2
        assert [STREAMED in r for r in runs] == [streamed] * 2
    assert _outputs(outs[True]) == _outputs(outs[False])  # the same bytes


DRAWING_FAILS = """
import sys, time
from pathlib import Path
from examgen import pipeline
from examgen.cli import main
from examgen.errors import SpecError
log, fake, args = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
real = pipeline.build_variant

def drawing(spec, bank, seed, number):
    if number == 2:  # once both TeX runs of the batch have started
        while sum("-no-parse-first-line" in r for r in (log.read_text().splitlines() if log.exists() else [])) < 2:
            time.sleep(0.01)
        raise SpecError("s.yaml:3:4: variant E0002: no value fits")
    return real(spec, bank, seed, number)

pipeline.build_variant = drawing
sys.exit(main(args, pdflatex=fake))
"""


def test_a_drawing_that_fails_ends_the_streamed_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(In a process of its own: a build that hung would hold the test run's threads.)"""
    _built_before(QUIZ, tmp_path, monkeypatch)
    fake, log = _logging_pdflatex(tmp_path)
    work = tmp_path / "tmp"
    work.mkdir()
    env = dict(os.environ, TMPDIR=str(work))
    proc = subprocess.Popen([sys.executable, "-c", DRAWING_FAILS, str(log), str(fake), "build", str(QUIZ), "-n", "2",
                             "-o", str(tmp_path / "second")], env=env, stderr=subprocess.PIPE, text=True,
                            process_group=0)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the build hung after its drawing failed")
    assert proc.returncode == 2, err
    assert err.strip().splitlines()[-1] == "examgen: error: s.yaml:3:4: variant E0002: no value fits"
    assert sum(STREAMED in r for r in _runs(log)) == 2  # (the runs had started)
    assert not (tmp_path / "second").exists() and not list(work.iterdir())  # nothing half-written, no work folder
    assert not _tex_left(work)  # no TeX process of the build is left


def test_a_streamed_run_that_never_reads_is_timed_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _built_before(QUIZ, tmp_path, monkeypatch)
    fake = tmp_path / "pdflatex"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")  # never opens its input
    fake.chmod(0o755)
    start = time.monotonic()
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second")], pdflatex=str(fake),
                tex_timeout=1) == 1
    err = capsys.readouterr().err  # (a lane of each variant: the one whose timeout came first)
    assert re.search(r"examgen: error: variant E000[12] \(student and solution\): pdflatex did not finish within 1 s "
                     r"\(killed\); build stopped", err), err
    assert "Traceback" not in err and time.monotonic() - start < 30
    assert not (tmp_path / "second").exists()


def test_writing_into_a_fifo_waits_for_its_reader_within_the_timeout(tmp_path: Path) -> None:
    fifo = tmp_path / "final.tex"
    os.mkfifo(fifo)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:  # nobody opens it for reading: given up after the timeout
        with pytest.raises(subprocess.TimeoutExpired):
            tex._writer(fifo, sleeper, 0.3)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        fd = tex._writer(fifo, sleeper, 0.3)
        assert fd is not None
        # widened to hold a whole variant (an endterm's student text is 65 kB, a pipe's default 64 KiB)
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) == 2**20
        assert tex._write(fd, b"v" * 2**20, 0.3) is True  # (at once: the reader reads nothing)
        with pytest.raises(subprocess.TimeoutExpired):  # a reader that does not read: a full pipe, then the timeout
            tex._write(fd, b"x", 0.3)
        os.close(reader)  # the reader is gone (TeX stopped): False, no exception
        assert tex._write(fd, b"y" * 2**20, 0.3) is False
        os.close(fd)
    finally:
        sleeper.kill()
        sleeper.wait()
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert tex._writer(fifo, ended, 5) is None  # the process ended without opening it: no writer, at once


def _tex_left(work: Path) -> list[str]:
    """The processes running in a folder under `work` (a build's TeX runs: each in a work folder under TMPDIR)."""
    left = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and os.readlink(p / "cwd").startswith(str(work)):
                left.append(p.name)
        except OSError:
            continue
    return left


def test_the_first_batchs_tex_runs_start_with_the_format(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With the format in the cache and the spec's page total remembered, the build starts the first
    pair's two TeX runs with its format (cli._early_format -> Compiler.start_format -> TexRunner.standby),
    in the thread that finds the format, which is started before Python imports and loads the bank
    (test_build_speed); the streamed runs take them; the same bytes."""
    _built_before(QUIZ, tmp_path, monkeypatch)
    order: list[str] = []
    taken: list[bool] = []
    real_standby, real_stream, real_load = tex.TexRunner.standby, tex.TexRunner.stream, bank.load_bank
    monkeypatch.setattr(tex.TexRunner, "standby", lambda self, *a: order.append("standby") or real_standby(self, *a))
    monkeypatch.setattr(bank, "load_bank", lambda *a: order.append("bank") or real_load(*a))

    def stream(self: tex.TexRunner, *a: object, standby: object = None, **kw: object) -> tuple[str, str]:
        taken.append(standby is not None)
        return real_stream(self, *a, standby=standby, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tex.TexRunner, "stream", stream)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second")]) == 0
    assert sorted(order) == ["bank", "standby", "standby"] and taken == [True, True]
    assert _outputs(tmp_path / "second") == _outputs(tmp_path / "first")


def test_tex_runs_started_ahead_end_with_a_build_that_fails_before_compiling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(QUIZ.read_text())
    _built_before(spec, tmp_path, monkeypatch)
    spec.write_text(QUIZ.read_text().replace("from: [batchnorm_forward, rnn_relu_scalar]",
                                             "from: [batchnorm_forward, no_such_template]"))
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))
    started: list[str] = []
    real_standby, real_load = tex.TexRunner.standby, spec_module.load_spec
    monkeypatch.setattr(tex.TexRunner, "standby", lambda self, *a: started.append("standby") or real_standby(self, *a))

    def loading(*a: object) -> object:  # the spec is refused once both runs ahead have started (in their thread)
        deadline = time.monotonic() + 60
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_load(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(spec_module, "load_spec", loading)
    assert main(["build", str(spec), "-n", "2", "-o", str(tmp_path / "second")]) == 2
    assert "no_such_template" in capsys.readouterr().err
    assert started == ["standby", "standby"]  # (the spec's layout and language were read ahead)
    assert not _tex_left(work) and not list(work.iterdir())


def test_tex_runs_started_ahead_and_not_taken_end_with_the_compiler(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _built_before(QUIZ, tmp_path, monkeypatch)
    layout = layouts.get("tum")
    folder = tmp_path / "early"
    folder.mkdir()
    with Compiler(cache) as compiler:
        compiler.start_format(layout.preamble("en"), layout.classes, folder, remember=str(QUIZ.resolve()))
        compiler.format_file(layout.preamble("en"), layout.classes, folder, None)  # (waits for the start)
        assert compiler.tex.running == 2
    assert compiler.tex.running == 0 and not _tex_left(folder)
    with Compiler(cache) as compiler:  # no documents to come: nothing started ahead
        compiler.start_format(layout.preamble("en"), layout.classes, folder)
        compiler.format_file(layout.preamble("en"), layout.classes, folder, None)
        assert compiler.tex.running == 0
