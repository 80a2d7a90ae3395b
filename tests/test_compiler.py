"""Issue 13, item 4: a Compiler owns its TeX processes, cancellation and cache
statistics; nothing is process-wide. Once cancelled (Ctrl-C, SIGTERM, a timeout), a
compiler starts no TeX process again, whichever entry point a thread calls next (the
old module-level flag was cleared by every compile call: a thread starting after
stop_all() un-cancelled the build); another compiler is not affected."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from examgen.compiler import Batch, BuildCancelled, Compiler, Piece
from examgen.compiler.tex import TexRunner, TexTimeout

pytestmark = pytest.mark.pdf


def _fake(tmp: Path) -> tuple[Path, Path]:
    started = tmp / "started"
    fake = tmp / "pdflatex"
    fake.write_text(f"#!/bin/sh\necho started >> {started}\nexit 1\n")
    fake.chmod(0o755)
    return fake, started


def test_a_cancelled_compiler_starts_no_tex_process(tmp_path: Path) -> None:
    fake, started = _fake(tmp_path)
    compiler = Compiler(None, 2, pdflatex=str(fake), timeout=60)
    compiler.cancel()
    with pytest.raises(BuildCancelled, match=r"^grading report: build cancelled$"):
        compiler.compile_once(tmp_path / "once", "report", "\\relax\n", "grading report")
    piece = Piece("E0001", "variant E0001", "")
    batch = Batch("student", "\\documentclass{article}\\begin{document}\n", (piece,))
    with pytest.raises(BuildCancelled, match=r"^the document preamble \(format\): build cancelled$"):
        compiler.compile_one(batch, tmp_path / "one")
    with pytest.raises(BuildCancelled):
        compiler.compile_exam(iter([(batch, batch)]), tmp_path / "exam")
    assert not started.exists()
    assert compiler.tex.running == 0


def test_compilers_are_independent(tmp_path: Path) -> None:
    fake, started = _fake(tmp_path)
    cancelled = Compiler(None, 1, pdflatex=str(fake), timeout=60)
    cancelled.cancel()
    other = Compiler(None, 1, pdflatex=str(fake), timeout=60)
    with pytest.raises(Exception, match="pdflatex failed"):  # it runs: the fake fails, with no log
        other.compile_once(tmp_path / "once", "report", "\\relax\n", "grading report")
    assert started.read_text().split() == ["started"]
    assert (cancelled.stats.hits, cancelled.stats.misses) == (0, 0) == (other.stats.hits, other.stats.misses)


def test_a_latex_failure_does_not_cancel_the_compiler(tmp_path: Path) -> None:
    """A batch that fails to typeset is an error of that build, not a cancellation: the
    same compiler still runs TeX afterwards (it stayed cancelled for good before)."""
    fake, started = _fake(tmp_path)
    compiler = Compiler(None, 1, pdflatex=str(fake), timeout=60)
    piece = Piece("E0001", "variant E0001", "")
    batch = Batch("student", "\\documentclass{article}\\begin{document}\n", (piece,))
    with pytest.raises(Exception, match="pdflatex failed") as failed:
        compiler.compile_exam(iter([(batch, batch)]), tmp_path / "exam")
    assert not isinstance(failed.value, BuildCancelled)
    runs = len(started.read_text().split())
    with pytest.raises(Exception, match="pdflatex failed"):  # it runs again: the fake fails, not "build cancelled"
        compiler.compile_once(tmp_path / "once", "report", "\\relax\n", "grading report")
    assert len(started.read_text().split()) == runs + 1


# ------------------------------------------------------------------ the TeX slots
def _queue(runner: TexRunner, n: int) -> None:
    """Wait until n runs wait for (or have reserved) a slot (threads started just before)."""
    while len(runner._slots.waiting) < n:  # type: ignore[union-attr]
        time.sleep(0.005)


def test_a_timeout_cancels_before_its_slot_is_free(tmp_path: Path) -> None:
    """A timed-out run ends the build: the runner is cancelled while the run still holds its slot,
    so that a run waiting for that slot never starts (CI once saw it start in between: with -j 1,
    a build's second batch began before the build was stopped)."""
    runner = TexRunner(timeout=1, slots=1)
    started = tmp_path / "started"
    raised: dict[str, BaseException] = {}

    def run(name: str, cmd: str, cost: int | None) -> None:
        try:
            runner.spawn(["sh", "-c", f"echo {name} >> {started}; {cmd}"], tmp_path, name, cost=cost)
        except BaseException as exc:
            raised[name] = exc

    with runner._slots.taken(None):  # type: ignore[union-attr]  (held until both wait)
        looping = threading.Thread(target=run, args=("A", "sleep 600", None))
        looping.start()
        _queue(runner, 1)
        waiting = threading.Thread(target=run, args=("B", "true", 5))
        waiting.start()
        _queue(runner, 2)
    looping.join(120)
    waiting.join(120)
    assert isinstance(raised["A"], TexTimeout)
    assert "B" in raised, "the run waiting for the slot started after the timeout"
    # refused, it reports the timeout that stopped the build (not "build cancelled")
    assert isinstance(raised["B"], TexTimeout) and str(raised["B"]) == str(raised["A"]), raised["B"]
    assert started.read_text().split() == ["A"]
    assert runner.running == 0


def test_a_run_killed_by_another_runs_timeout_reports_that_timeout(tmp_path: Path) -> None:
    """Two runs at once (a build's two TeX slots); the first to time out cancels the runner, which kills
    the other: that one reports the same timeout, so that the build's error is the timeout whichever
    batch is collected first (CI saw a streamed batch killed so reported as "build cancelled"). The
    second run starts a second after the first, so only the first reaches the timeout on its own."""
    fake = tmp_path / "pdflatex"
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    runner = TexRunner(pdflatex=str(fake), timeout=3, slots=2)
    raised: dict[str, BaseException] = {}

    def run(name: str) -> None:
        (tmp_path / name).mkdir()
        try:
            runner.run(tmp_path / name, "final", None, False, f"run {name}", "")
        except BaseException as exc:
            raised[name] = exc

    first = threading.Thread(target=run, args=("A",))
    first.start()
    time.sleep(1)
    second = threading.Thread(target=run, args=("B",))
    second.start()
    first.join(120)
    second.join(120)
    assert isinstance(raised["A"], TexTimeout)
    assert str(raised["A"]).startswith("run A: pdflatex did not finish within 3 s (killed)")
    assert isinstance(raised["B"], TexTimeout) and str(raised["B"]) == str(raised["A"]), raised["B"]
    assert runner.running == 0


def test_a_planned_run_keeps_its_place_while_its_source_is_made(tmp_path: Path) -> None:
    """A costlier batch reserves its place when its job starts (TexRunner.planned): a cheaper run that
    is ready first does not take the free slot before it (a cached build's last solution batch ran
    alone at the end, 0.4-0.6 s, when its student batch, hashed sooner, took the slot)."""
    runner = TexRunner(timeout=60, slots=1)
    order = tmp_path / "order"
    prepared, entered = threading.Event(), threading.Event()

    def costly() -> None:
        with runner.planned(100):
            entered.set()
            prepared.wait(120)  # (its source being assembled and hashed)
            runner.spawn(["sh", "-c", f"echo costly >> {order}"], tmp_path, "costly", cost=100)

    def cheap() -> None:
        runner.spawn(["sh", "-c", f"echo cheap >> {order}"], tmp_path, "cheap", cost=10)

    threads = [threading.Thread(target=costly), threading.Thread(target=cheap)]
    with runner._slots.taken(None):  # type: ignore[union-attr]
        threads[0].start()
        assert entered.wait(120)
        threads[1].start()
        _queue(runner, 1)  # (the cheap run waits; with the costly one's place, two wait)
    time.sleep(0.2)  # (the cheap run is ready, the slot free: it must still wait)
    prepared.set()
    for t in threads:
        t.join(120)
    assert order.read_text().split() == ["costly", "cheap"]
    assert runner._slots.waiting == [] and runner._slots.free == 1  # type: ignore[union-attr]


def test_a_planned_place_not_taken_is_given_up(tmp_path: Path) -> None:
    """A batch found in the cache never runs TeX: its reserved place must not hold the others back."""
    runner = TexRunner(timeout=60, slots=1)
    with runner.planned(100):
        pass  # (no run)
    runner.spawn(["true"], tmp_path, "next", cost=1)
    assert runner._slots.waiting == []  # type: ignore[union-attr]
