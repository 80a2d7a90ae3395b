"""grading.sqlite is live (issue 17): the correction app, the class list and re-grading write it in
place while `examgen scan` and `examgen grade` rebuild the grading folder around it. A write made
through a connection the app opened before grade staged the folder must survive grade's swap (grade
once copied the database into its staging folder, so such a write was lost), and a writer that
comes while grade holds the folder waits for it instead of writing into the old folder."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from test_regrade import responses

from examgen import regrade
from examgen.cli import main
from examgen.scan import DB, LIVE, log_change, transaction
from examgen.targets import staging


def _changes(folder: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(folder / DB)
    try:
        return db.execute("SELECT who, what FROM changes ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_write_the_app_makes_while_grade_runs_is_kept(quiz_build: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g"
    assert main(["regrade", str(quiz_build), "-o", str(out), "--who", "lead", "--full-marks", "P2c",
                 "--why", "c) was not solvable"]) == 0
    app = sqlite3.connect(out / DB)  # the app's connection, open before grade starts
    keep_run = regrade.keep_run

    def app_writes_meanwhile(*args, **kwargs):  # inside grade's staging, after it carried the folder over
        log_change(app, "anna", "points", booklet=17, column="P2a", old="1", new="2")
        app.commit()
        return keep_run(*args, **kwargs)

    monkeypatch.setattr(regrade, "keep_run", app_writes_meanwhile)
    assert main(["grade", str(quiz_build), "--responses", str(responses(quiz_build, tmp_path)), "-o", str(out)]) == 0
    app.close()
    monkeypatch.undo()
    assert _changes(out) == [("lead", "regrade full-marks"), ("anna", "points")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"][DB] == "live" and "results.csv" in manifest["files"]
    db = sqlite3.connect(out / DB)
    assert db.execute("SELECT count(*) FROM grading_runs").fetchone()[0] == 1
    db.close()
    # the folder is still examgen's own: a second grade replaces it
    assert main(["grade", str(quiz_build), "--responses", str(responses(quiz_build, tmp_path)), "-o", str(out)]) == 0
    assert len(list((out / "runs").iterdir())) == 2


def test_a_writer_waits_while_the_folder_is_rebuilt(tmp_path: Path) -> None:
    out = tmp_path / "g"
    with transaction(out) as db:  # creates the folder and its database
        log_change(db, "lead", "import")
    inside, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def tutor() -> None:
        inside.wait()
        try:
            with transaction(out) as db:
                log_change(db, "anna", "points")
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            errors.append(exc)
        done.set()

    t = threading.Thread(target=tutor)
    t.start()
    with staging(out, "grading", live=LIVE) as stage:
        inside.set()
        assert not done.wait(1.0)  # the tutor's write waits for the lock (it cannot finish while held)
        (stage / "results.csv").write_text("registration\n")
        from examgen.scan import manifest_text

        (stage / "manifest.json").write_text(manifest_text(stage, out))
    t.join(timeout=120)
    assert done.is_set() and not errors
    assert _changes(out) == [("lead", "import"), ("anna", "points")]
    assert (out / "results.csv").read_text() == "registration\n"


def test_a_failed_swap_leaves_the_live_database_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g"
    with transaction(out) as db:
        log_change(db, "lead", "import")
    import examgen.targets as targets

    def broken_swap(tmp: Path, target: Path, mount: bool) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(targets, "_swap", broken_swap)
    with pytest.raises(Exception, match="no space left on device"):
        with staging(out, "grading", live=LIVE) as stage:
            (stage / "results.csv").write_text("x\n")
    assert _changes(out) == [("lead", "import")]
    assert not list(tmp_path.glob(".g.tmp-*"))


def test_a_busy_database_is_named_busy_not_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that waits longer than BUSY_SECONDS for another's transaction (a scan holds one for its
    whole run) is told so; it once read 'not a grading database ... move it away'."""
    import examgen.scan as scan
    from examgen.errors import GradingError

    out = tmp_path / "g"
    with transaction(out) as db:
        log_change(db, "lead", "import")
    other = sqlite3.connect(out / DB)
    other.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(scan, "BUSY_SECONDS", 0.2)
    try:
        with pytest.raises(GradingError, match=r"grading.sqlite: busy for 0.2 s \(another examgen, e.g. a scan, is "
                                               r"writing it\); try again when it has finished"):
            scan.open_db(out / DB)
    finally:
        other.rollback()
        other.close()
    assert _changes(out) == [("lead", "import")]
