"""The fault-table harness (issues 7 and 12). A Row is one bad input or fault:
the command, the exact message fragment, the exit code and the state of every
folder involved afterwards. Every row also runs beside a user's folder
(tmp/user, with a file and a subfolder) that must survive byte for byte, and
every failure must be one line on stderr, never a traceback, with no staging
folder, lock or diagnostics left behind.

Fault tables live in tests/test_bad_inputs.py and tests/test_faults_*.py, each
with its own ROWS list run through run_row(); tests/test_fault_table.py counts them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import error_lines

from examgen import ROOT
from examgen.cli import main

GOOD = (ROOT / "exams" / "quiz.yaml").read_text()
HEAD = GOOD.split("problems:")[0] + "problems:\n"  # the exam: block of the quiz, then our problems
PWNED = [Path(f"/tmp/examgen_pwned_{i}") for i in range(4)]


@dataclass(frozen=True)
class Row:
    id: str
    fragment: str  # exact part of the one stderr line ({spec}, {tmp}, {out}, {user} filled in)
    code: int
    out: str = "absent"  # absent | untouched: a previous build is there and must stay byte for byte
    spec: str | bytes | None = None  # the spec file's content (None: no spec file)
    args: tuple[str, ...] = ("build", "{spec}", "-o", "{out}")
    setup: Callable[[Path], None] | None = None
    files: dict[str, str] = field(default_factory=dict)  # more files beside the spec
    check: Callable[[Path], None] | None = None  # more assertions on tmp after the run
    env: dict[str, str] = field(default_factory=dict)  # environment variables for this row
    cwd: str | None = None  # run in this folder ({tmp}, {user} filled in), e.g. for `--out .`


def problems(text: str) -> str:
    return HEAD + text


def pinned(id: str, template: str, params: str, parameter: str, why: str) -> Row:
    """A row: a spec whose only problem pins `params` (YAML flow mapping) on `template`,
    refused with one line naming the spec's place, the template and the parameter (exit 2)."""
    return Row(id, f"{{spec}}:15:5: problems[0]: variant E0001: template '{template}', parameter '{parameter}': "
               f"{why}", 2, spec=problems(f"  - template: {template}\n    params: {params}\n"))


def solved(template: str, params: str) -> dict[str, object]:
    """A row's arguments for `examgen solve TEMPLATE --params p.yaml` with this p.yaml."""
    return {"args": ("solve", template, "--params", "{tmp}/p.yaml"), "files": {"p.yaml": params}}


def bank_template(new_id: str, statement: Callable[[str], str] = lambda s: s,
                  question: Callable[[str], str] = lambda s: s) -> Callable[[Path], None]:
    """A setup: the shipped class_imbalance copied into tmp/bank as new_id, then edited."""

    def setup(tmp: Path) -> None:
        dst = tmp / "bank" / "data" / new_id
        shutil.copytree(ROOT / "question_bank" / "data" / "class_imbalance", dst)
        q = dst / "question.yaml"
        q.write_text(question(q.read_text().replace("id: class_imbalance", f"id: {new_id}")))
        st = dst / "statement.tex.j2"
        st.write_text(statement(st.read_text()))

    return setup


def inject(snippet: str) -> Callable[[str], str]:
    return lambda s: s.replace("<% block a %>", "<% block a %>" + snippet)


BANK = ("build", "{spec}", "-o", "{out}", "--bank", "{tmp}/bank")


def session_procs(sid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every live process of a session (a build started with
    start_new_session: what it left running)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            comm = (d / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session id
            out.append((int(d.name), comm))
    return out


def signalled(proc: subprocess.Popen, pid: int, sig: int, timeout: float = 60) -> str:
    """Send `sig` to `pid` (the session leader `proc`, or one of its processes) and wait for `proc` to
    end (its stderr); a `proc` still running after `timeout` s is killed with its session."""
    try:
        os.kill(pid, sig)
        return proc.communicate(timeout=timeout)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_build(out: Path) -> dict[str, str]:
    """A stand-in for a complete earlier build in out/ (examgen's build manifest)."""
    (out / "E0001").mkdir(parents=True)
    (out / "E0001" / "student.pdf").write_bytes(b"%PDF-1.5 previous build\n")
    (out / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "kind": "build",
                                                   "files": {"E0001/student.pdf": "..."}}))
    return snapshot(out)


def user_folder(tmp: Path) -> dict[str, str]:
    """A user's own folder beside everything (notes and a project file) that no row may touch."""
    user = tmp / "user"
    (user / "project").mkdir(parents=True)
    (user / "notes.txt").write_text("my lecture notes\n")
    (user / "project" / "exam.tex").write_text("\\documentclass{article}\n")
    return snapshot(user)


def fill(text: str, tmp: Path) -> str:
    return text.format(spec=tmp / "exam.yaml", tmp=tmp, out=tmp / "out", user=tmp / "user")


def assert_no_leftovers(tmp: Path, name: str = "out") -> None:
    assert not list(tmp.glob(f".{name}.tmp-*")), "staging folder left behind"
    assert not list(tmp.glob(f".{name}.old-*")), "previous build left aside"
    assert not list(tmp.glob(f".{name}.*lock*")), "lock file left behind"


def run_row(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch | None = None, main_kwargs: dict[str, Any] | None = None) -> None:
    """Run one row through examgen's main() (`main_kwargs`: its keyword arguments, e.g. a
    fake pdflatex) and check the one error line, the exit code and every folder."""
    spec = tmp_path / "exam.yaml"
    if isinstance(row.spec, bytes):
        spec.write_bytes(row.spec)
    elif row.spec is not None:
        spec.write_text(row.spec)
    for name, content in row.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    user = user_folder(tmp_path)
    if row.setup:
        row.setup(tmp_path)
    out = tmp_path / "out"
    before = previous_build(out) if row.out == "untouched" else None
    for f in PWNED:
        f.unlink(missing_ok=True)
    if row.env:
        assert monkeypatch is not None, "a row with env needs the monkeypatch fixture"
        for k, v in row.env.items():
            monkeypatch.setenv(k, fill(v, tmp_path))
    if row.cwd is not None:
        assert monkeypatch is not None, "a row with cwd needs the monkeypatch fixture"
        monkeypatch.chdir(fill(row.cwd, tmp_path))

    code = main([fill(a, tmp_path) for a in row.args], **(main_kwargs or {}))

    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert "Traceback" not in captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("examgen: error: ")
    assert fill(row.fragment, tmp_path) in lines[0]
    assert code == row.code
    if row.out == "absent":
        assert not out.exists()
    elif row.out == "untouched":
        assert snapshot(out) == before
    assert snapshot(tmp_path / "user") == user, "the user's folder was touched"
    assert not (tmp_path / "out-diagnostics").exists()
    assert_no_leftovers(tmp_path)
    assert not any(f.exists() for f in PWNED), "a template ran a command"
    if row.check:
        row.check(tmp_path)


def qpdf_fails_on(pattern: str) -> Callable[[Path], None]:
    """A setup: a qpdf on tmp/bin (put it on PATH with the row's env) that fails the runs whose
    arguments match the shell `case` pattern and runs every other one with the real qpdf."""
    real = shutil.which("qpdf") or "qpdf"

    def setup(tmp: Path) -> None:
        fake = tmp / "bin" / "qpdf"
        fake.parent.mkdir()
        fake.write_text(f'#!/bin/sh\ncase "$*" in {pattern}) echo "qpdf: disk on fire" >&2; exit 2;; esac\n'
                        f'exec {real} "$@"\n')
        fake.chmod(0o755)
    return setup
