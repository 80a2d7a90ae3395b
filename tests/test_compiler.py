"""Issue 13, item 4: a Compiler owns its TeX processes, cancellation and cache
statistics; nothing is process-wide. Once cancelled (Ctrl-C, SIGTERM, a timeout), a
compiler starts no TeX process again, whichever entry point a thread calls next (the
old module-level flag was cleared by every compile call: a thread starting after
stop_all() un-cancelled the build); another compiler is not affected."""

from __future__ import annotations

from pathlib import Path

import pytest

from examgen.compiler import Batch, BuildCancelled, Compiler, Piece

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
