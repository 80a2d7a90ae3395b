"""Fault rows of re-grading (issue 17): `examgen regrade` and `examgen grade` replaying stored operations.
The build is the quiz build's answer keys copied into tmp/build (all that regrade and the key need)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from faults import Row, run_row, snapshot

BUILD: list[Path] = []  # the session's quiz build, set by the fixture below


@pytest.fixture(autouse=True)
def _quiz(quiz_build: Path) -> None:
    BUILD[:] = [quiz_build]


def keys_only(tmp: Path) -> None:
    for f in BUILD[0].glob("E*/answers.json"):
        (tmp / "build" / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, tmp / "build" / f.parent.name / "answers.json")


def grading_folder(db: bytes | None = None, ops: tuple[tuple[str, str], ...] = ()) -> Callable[[Path], None]:
    """A setup: keys_only, then tmp/g as examgen's grading folder with a grading.sqlite (these
    bytes, or a database holding these (op, target) rows of regrade)."""

    def setup(tmp: Path) -> None:
        keys_only(tmp)
        g = tmp / "g"
        g.mkdir()
        if db is not None:
            (g / "grading.sqlite").write_bytes(db)
        else:
            con = sqlite3.connect(g / "grading.sqlite")
            con.execute("CREATE TABLE regrade(id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, "
                        "op TEXT NOT NULL, target TEXT NOT NULL, argument TEXT, why TEXT NOT NULL)")
            con.executemany("INSERT INTO regrade(at, who, op, target, why) VALUES ('now', 't', ?, ?, 'w')", ops)
            con.commit()
            con.close()
        (g / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "kind": "grading",
                                                     "files": {"grading.sqlite": ""}}))
        (tmp / "r.csv").write_text("registration,variant,P1a,P1b,P1c,P2a,P2b,P2c\n1,E0001,3,1,1;3,2,3,1\n")
        (tmp / "before.json").write_text(json.dumps(snapshot(g)))

    return setup


def untouched(tmp: Path) -> None:
    assert snapshot(tmp / "g") == json.loads((tmp / "before.json").read_text())


REGRADE = ("regrade", "{tmp}/build", "-o", "{out}")
ROWS = [
    Row("regrade-unknown-column", "--cancel P9z: the build has no column P9z; the build has P1a, P1b, P1c, P2a, "
        "P2b, P2c", 2, args=(*REGRADE, "--cancel", "P9z", "--why", "w"), setup=keys_only),
    Row("regrade-no-why", "--full-marks P2a: give the reason with --why", 2,
        args=(*REGRADE, "--full-marks", "P2a"), setup=keys_only),
    Row("regrade-accept-part", "--accept P2b: a part is graded by hand (its points are given, not its answer); "
        "correct its points, or give everyone its credits with --full-marks P2b", 2,
        args=(*REGRADE, "--accept", "P2b=1", "--why", "w"), setup=keys_only),
    Row("regrade-not-a-build", "{user}: not an examgen build folder", 2,
        args=("regrade", "{user}", "-o", "{out}", "--cancel", "P1a", "--why", "w")),
    Row("regrade-out-user-folder", "{user}: not an examgen grading folder (it holds notes.txt", 2,
        args=("regrade", "{tmp}/build", "-o", "{user}", "--cancel", "P1a", "--why", "w"), setup=keys_only),
    Row("regrade-db-not-sqlite", "{tmp}/g/grading.sqlite: not a grading database of examgen", 2,
        args=("regrade", "{tmp}/build", "-o", "{tmp}/g", "--cancel", "P1b", "--why", "w"),
        setup=grading_folder(b"my marks, not a database\n" * 100), check=untouched),
    Row("grade-stored-op-unknown-column", "#1 cancel P9z: the build has no column P9z", 2,
        args=("grade", "{tmp}/build", "-r", "{tmp}/r.csv", "-o", "{tmp}/g"),
        setup=grading_folder(ops=(("cancel", "P9z"),)), check=untouched),
    Row("grade-stored-op-unknown-kind", "#1: unknown re-grading operation 'drop'; examgen knows cancel, accept, "
        "full-marks, undo", 2, args=("grade", "{tmp}/build", "-r", "{tmp}/r.csv", "-o", "{tmp}/g"),
        setup=grading_folder(ops=(("drop", "P1a"),)), check=untouched),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
