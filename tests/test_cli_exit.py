"""The command line ends at once after a build (cli.run: os._exit once everything is written,
without Python's finalization of numpy, jinja2 and the rest), and loses nothing doing so: the exit
code, stdout and stderr through pipes, the written folder. Other commands end as Python ends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from examgen import ROOT

QUIZ = ROOT / "exams" / "quiz.yaml"
FINALIZED = "import atexit, sys; atexit.register(lambda: print('FINALIZED', flush=True)); " \
            "from examgen.cli import run; sys.argv = ['examgen', *sys.argv[1:]]; run()"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_build_ends_at_once_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run("-m", "examgen", "build", str(QUIZ), "-n", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    # stdout is a pipe (block-buffered): the summary line arrives whole, and the progress on stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert done.stdout.startswith(f"build: {len(written)} files written to {out} in "), done.stdout
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1
    assert "Compiling 4 PDFs: 4/4 (100 %)" in done.stderr
    assert json.loads((out / "E0002" / "answers.json").read_text())["variant"] == "E0002"
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(p.relative_to(out).as_posix() for p in written
                                               if p.name != "manifest.json")  # every file, with its sha256
    # Python's finalization (atexit) is skipped after a build, not after another command
    assert "FINALIZED" not in _run("-c", FINALIZED, "build", str(QUIZ), "-n", "1", "-o", str(tmp_path / "b")).stdout
    listed = _run("-c", FINALIZED, "list")
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("FINALIZED")


def test_a_failed_build_keeps_its_exit_code_and_message(tmp_path: Path) -> None:
    done = _run("-m", "examgen", "build", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"examgen: error: {tmp_path / 'missing.yaml'}: file not found\n"
    assert not (tmp_path / "out").exists()
    script = Path(sys.executable).parent / "examgen"  # the console script (pyproject: examgen.cli:run)
    if script.exists():
        again = subprocess.run([str(script), "build", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
        assert (again.returncode, again.stderr) == (done.returncode, done.stderr)
