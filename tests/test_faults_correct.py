"""Fault rows of `examgen correct` (issue 17, the correction room): no grading database yet, a
grading.sqlite that is no database, a --second problem the exam lacks, an unknown tutor to
remove, an empty tutor name, and a port already taken. One line each, exit 2, the database left
as it was."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import error_lines
from faults import Row, run_row
from test_faults_scanread import build

from examgen.cli import main
from examgen.scan import open_db


def with_db(content: bytes | None = None):
    """The minimal build and a grading folder {tmp}/g: a real (empty) database, or these bytes."""
    def setup(tmp: Path) -> None:
        build(tmp)
        (tmp / "g").mkdir()
        if content is None:
            open_db(tmp / "g" / "grading.sqlite").close()
        else:
            (tmp / "g" / "grading.sqlite").write_bytes(content)
    return setup


def unchanged(data: bytes):
    def check(tmp: Path) -> None:
        assert (tmp / "g" / "grading.sqlite").read_bytes() == data
    return check


GARBAGE = b"not a database, a user's notes\n" * 40
CORRECT = ("correct", "{tmp}/build", "-o", "{tmp}/g")
ROWS = [
    Row("no-database", "{out}/grading.sqlite: no grading database; run examgen scan {tmp}/build SCANS... first", 2,
        args=("correct", "{tmp}/build", "-o", "{out}"), setup=lambda tmp: build(tmp)),
    Row("not-a-database", "{tmp}/g/grading.sqlite: not a grading database of examgen scan (file is not a database); "
        "move it away", 2, args=CORRECT, setup=with_db(GARBAGE), check=unchanged(GARBAGE)),
    Row("second-unknown-problem", "--second P9: no such problem in this exam; this exam has no hand-graded parts to "
        "correct twice", 2,
        args=(*CORRECT, "--second", "P9"), setup=with_db()),
    Row("remove-unknown-tutor", "--remove-tutor Bob: no such tutor; none has been added", 2,
        args=(*CORRECT, "--remove-tutor", "Bob"), setup=with_db()),
    Row("tutor-name-empty", "--add-tutor ' ': a tutor's name is 1-60 printable characters; e.g. --add-tutor Anna", 2,
        args=(*CORRECT, "--add-tutor", " "), setup=with_db()),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)


def test_port_taken(tmp_path, capsys):
    with_db()(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["correct", str(tmp_path / "build"), "-o", str(tmp_path / "g"), "--port", str(port)])
    assert code == 2
    assert error_lines(capsys.readouterr().err) == [
        f"examgen: error: --host 127.0.0.1 --port {port}: cannot serve there (Address already in use); "
        "give another --port"]
