"""Issue 13, item 5: a no-op rebuild is free. `examgen build` with unchanged inputs
(spec bytes, every bank file, the logo, seed, variant count, examgen) and an intact
OUT (every file as its manifest lists it) returns 'up to date' without typesetting
anything or importing the bank; every kind of change builds for real. No timing here
(benchmarks/noop_rebuild.py measures the speed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import error_lines, pdftotext, png
from faults import bank_template, snapshot

from examgen import ROOT
from examgen.cli import main

pytestmark = pytest.mark.pdf

QUIZ = ROOT / "exams" / "quiz.yaml"
UP_TO_DATE = "is up to date (2 variants, unchanged inputs)"
WRITTEN = "files written to"


@pytest.fixture
def exam(tmp_path: Path) -> Path:
    """A folder with the quiz (with a logo) and an extra bank, built once into out/."""
    spec = tmp_path / "quiz.yaml"
    spec.write_text(QUIZ.read_text().replace("  language: en\n", "  language: en\n  logo: logo.png\n"))
    (tmp_path / "logo.png").write_bytes(png(1, 1, (200, 0, 0)))
    bank_template("noop_extra")(tmp_path)  # tmp/bank: a template the quiz does not use
    assert _build(tmp_path) == 0
    return tmp_path


def _args(tmp: Path, *extra: str) -> list[str]:
    return ["build", str(tmp / "quiz.yaml"), "-n", "2", "-o", str(tmp / "out"), "--bank", str(tmp / "bank"), *extra]


def _build(tmp: Path, *extra: str) -> int:
    return main(_args(tmp, *extra))


def test_noop_rebuild_typesets_nothing_imports_no_bank_and_leaves_out_byte_identical(exam: Path) -> None:
    before = snapshot(exam / "out")
    stamps = {p: p.stat().st_mtime_ns for p in (exam / "out").rglob("*")}
    started = exam / "pdflatex-started"
    fake = exam / "pdflatex"
    fake.write_text(f"#!/bin/sh\necho started >> {started}\nexit 1\n")
    fake.chmod(0o755)
    code = (f"import sys; from examgen.cli import main; code = main({_args(exam)!r}, pdflatex={str(fake)!r}); "
            "heavy = ('numpy', 'sympy', 'jinja2', 'yaml', 'examgen.bank', 'examgen.spec', 'examgen.pipeline', "
            "'examgen.compiler', 'examgen.questions'); "
            "print('IMPORTED', sorted(m for m in heavy if m in sys.modules)); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=exam, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"build: {exam / 'out'} {UP_TO_DATE} in "), proc.stdout
    assert lines[1] == "IMPORTED []"
    assert not started.exists(), "pdflatex was started"
    assert snapshot(exam / "out") == before
    assert {p: p.stat().st_mtime_ns for p in (exam / "out").rglob("*")} == stamps  # not even rewritten


def _spec_edited(tmp: Path) -> None:
    spec = tmp / "quiz.yaml"
    spec.write_text(spec.read_text().replace("name: Quiz 1", "name: Quiz 2"))


def _bank_file_edited(tmp: Path) -> None:
    statement = tmp / "bank" / "data" / "noop_extra" / "statement.tex.j2"
    statement.write_text(statement.read_text() + "\n")


def _bank_file_added(tmp: Path) -> None:
    (tmp / "bank" / "data" / "noop_extra" / "notes.txt").write_text("an instructor's note\n")


def _logo_changed(tmp: Path) -> None:
    (tmp / "logo.png").write_bytes(png(1, 1, (0, 0, 200)))


def _output_edited(tmp: Path) -> None:
    (tmp / "out" / "answer_key.csv").write_text("edited\n")


def _output_missing(tmp: Path) -> None:
    (tmp / "out" / "print" / "all-students.pdf").unlink()


CHANGES: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("spec edited", _spec_edited, ()),
    ("bank file edited", _bank_file_edited, ()),
    ("bank file added", _bank_file_added, ()),
    ("logo changed", _logo_changed, ()),
    ("output file edited", _output_edited, ()),
    ("output file missing", _output_missing, ()),
    ("seed changed", lambda tmp: None, ("--seed", "8")),
    ("variant count changed", lambda tmp: None, ("-n", "3")),
    ("keep-tex", lambda tmp: None, ("--keep-tex",)),
    ("no-cache", lambda tmp: None, ("--no-cache",)),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_every_change_builds_for_real(change: tuple[str, Callable[[Path], None], tuple[str, ...]], exam: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, edit, extra = change
    built = snapshot(exam / "out")
    edit(exam)
    capsys.readouterr()
    assert _build(exam, *extra) == 0
    out = capsys.readouterr().out
    assert WRITTEN in out and "up to date" not in out, out
    after = snapshot(exam / "out")
    if change[0] in ("output file edited", "output file missing"):
        assert after == built  # the build put back what it wrote
    if extra == ("--no-cache",):  # always a real build; without it, the same inputs are up to date
        assert _build(exam, *extra) == 0
        assert WRITTEN in capsys.readouterr().out
        extra = ()
    assert _build(exam, *extra) == 0  # and now it is up to date again
    assert "up to date (" in capsys.readouterr().out


def test_rebuilt_content_follows_the_change(exam: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _spec_edited(exam)
    assert _build(exam) == 0
    assert "Quiz 2" in pdftotext(exam / "out" / "E0001" / "student.pdf")
    manifest = json.loads((exam / "out" / "manifest.json").read_text())
    assert manifest["inputs"]["reads"] == ["logo.png"]
    assert manifest["seed"] == 7 and manifest["variants"] == 2


def test_a_users_file_in_out_is_refused_not_called_up_to_date(exam: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (exam / "out" / "mine.txt").write_text("my notes\n")
    before = snapshot(exam / "out")
    capsys.readouterr()
    assert _build(exam) == 2
    err = error_lines(capsys.readouterr().err)
    assert len(err) == 1 and "mine.txt" in err[0], err
    assert snapshot(exam / "out") == before


def test_stale_diagnostics_are_removed_by_a_real_build(exam: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed build's diagnostics beside OUT: the next build with the old inputs is a
    real one (a successful build removes them), not 'up to date'."""
    diag = exam / "out-diagnostics"
    diag.mkdir()
    (diag / "E0001").mkdir()
    (diag / "E0001" / "student.log").write_text("log\n")
    (diag / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "kind": "diagnostics",
                                                    "files": {"E0001/student.log": "x"}}))
    capsys.readouterr()
    assert _build(exam) == 0
    assert WRITTEN in capsys.readouterr().out
    assert not diag.exists()


def test_a_users_own_diagnostics_folder_leaves_the_rebuild_free(exam: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder named like OUT-diagnostics that examgen did not write is never removed by a
    build, so it does not make every later build a full one: the rebuild stays a no-op."""
    diag = exam / "out-diagnostics"
    diag.mkdir()
    (diag / "notes.txt").write_text("mine\n")
    capsys.readouterr()
    assert _build(exam) == 0
    assert UP_TO_DATE in capsys.readouterr().out
    assert (diag / "notes.txt").read_text() == "mine\n"


def test_spec_from_a_pipe_is_left_to_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec that is not a regular file (a pipe, <(cat spec)) can be read once only:
    the check leaves it to the build, which reads it and builds what it says."""
    spec = tmp_path / "quiz.yaml"
    spec.write_text(QUIZ.read_text())
    out = tmp_path / "out"
    assert main(["build", str(spec), "-n", "2", "-o", str(out)]) == 0
    r, w = os.pipe()
    os.write(w, QUIZ.read_bytes().replace(b"name: Quiz 1", b"name: Quiz 2"))
    os.close(w)
    capsys.readouterr()
    try:
        code = main(["build", f"/dev/fd/{r}", "-n", "2", "-o", str(out)])
    finally:
        os.close(r)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert WRITTEN in captured.out
    assert "Quiz 2" in pdftotext(out / "E0001" / "student.pdf")
