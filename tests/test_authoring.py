"""`examgen new`: the skeleton it writes passes `examgen check` and `examgen preview`
(student and solution) unchanged, its own test stub passes under pytest, and bad
requests are refused with one line and no files. Also: a template's own solver.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import pdftotext

from examgen import BANK_DIR, ROOT
from examgen.bank import load_bank
from examgen.pipeline import solve_one

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # this checkout


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examgen", *args], capture_output=True, text=True, cwd=cwd, env=ENV)


@pytest.mark.pdf
@pytest.mark.parametrize("kind, title", [("numeric", "Neuron Output"), ("free-text", "Diagnosing a Training Run")])
def test_skeleton_passes_check_preview_and_its_own_tests(tmp_path: Path, kind: str, title: str) -> None:
    bank = tmp_path / "bank"
    tid = f"my_{kind.replace('-', '_')}_question"
    res = run("new", tid, "--topic", "mine", "--bank", str(bank), "--kind", kind)
    assert res.returncode == 0, res.stderr
    folder = bank / "mine" / tid
    assert sorted(f.name for f in folder.iterdir()) == sorted(
        ["question.yaml", "statement.tex.j2", "solution.tex.j2", "solver.py", f"test_{tid}.py"])

    res = run("check", "--bank", str(bank), "-t", tid, "--draws", "100", "--compile", "1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all passed" in res.stdout

    for flag, out in (((), "student.pdf"), (("--solution",), "solution.pdf")):
        res = run("preview", tid, "--bank", str(bank), "--seed", "4", *flag, "--out", str(tmp_path / out))
        assert res.returncode == 0, res.stderr
        assert title in pdftotext(tmp_path / out)
    assert "Grading notes" in pdftotext(tmp_path / "solution.pdf")
    assert "Grading notes" not in pdftotext(tmp_path / "student.pdf")

    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                         capture_output=True, text=True, cwd=ROOT, env=ENV)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed" in res.stdout


def test_solver_beside_the_template_is_used(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    assert run("new", "dot_demo", "--topic", "mine", "--bank", str(bank)).returncode == 0
    _, q = solve_one("dot_demo", 7, {"x": [1, 2, 3], "w": [4, -5, 6], "b": -20}, [bank])
    assert q.answers == {"products": [4, -10, 18], "dot": 12, "y": 0}
    # an edit of solver.py is picked up by the next load (no stale import)
    solver = bank / "mine" / "dot_demo" / "solver.py"
    solver.write_text(solver.read_text().replace('"y": max(0, dot + p["b"])', '"y": dot + p["b"]'))
    _, q = solve_one("dot_demo", 7, {"x": [1, 2, 3], "w": [4, -5, 6], "b": -20}, [bank])
    assert q.answers["y"] == -8


def test_broken_solver_file_is_one_line(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    assert run("new", "dot_demo", "--topic", "mine", "--bank", str(bank)).returncode == 0
    (bank / "mine" / "dot_demo" / "solver.py").write_text("import no_such_module_xyz\n")
    res = run("solve", "dot_demo", "--bank", str(bank))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "solver.py: importing it failed: ModuleNotFoundError" in res.stderr


def test_refusals_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    for args, message in [
        (("Bad-Id", "--topic", "mine"), "invalid template id 'Bad-Id'"),
        (("1abc", "--topic", "mine"), "invalid template id '1abc'"),
        (("ok_id", "--topic", "../up"), "invalid topic '../up'"),
        (("batchnorm_forward", "--topic", "mine"), "template id 'batchnorm_forward' is already used"),
    ]:
        res = run("new", *args, "--bank", str(bank))
        assert res.returncode == 1, args
        assert res.stderr.startswith("examgen: error: ") and res.stderr.count("\n") == 1, res.stderr
        assert message in res.stderr
        assert not bank.exists() or not any(bank.rglob("*.py"))

    assert run("new", "dot_demo", "--topic", "mine", "--bank", str(bank)).returncode == 0
    before = {f: f.read_bytes() for f in (bank / "mine" / "dot_demo").iterdir()}
    res = run("new", "dot_demo", "--topic", "mine", "--bank", str(bank), "--kind", "free-text")
    assert res.returncode == 1 and "already exists" in res.stderr and res.stderr.count("\n") == 1
    assert {f: f.read_bytes() for f in (bank / "mine" / "dot_demo").iterdir()} == before
    res = run("new", "dot_demo", "--topic", "other", "--bank", str(bank))  # the same id in another topic
    assert res.returncode == 1 and "already used" in res.stderr
    assert sorted(p.name for p in (bank / "mine").iterdir()) == ["dot_demo"]  # no temporary folders left


def test_default_bank_is_my_bank_in_the_working_directory(tmp_path: Path) -> None:
    res = run("new", "dot_demo", "--topic", "mine", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "my_bank" / "mine" / "dot_demo" / "question.yaml").is_file()
    assert not (BANK_DIR / "mine").exists()


def test_shipped_bank_named_as_bank_is_loaded_once() -> None:
    assert load_bank([BANK_DIR]).templates.keys() == load_bank().templates.keys()
