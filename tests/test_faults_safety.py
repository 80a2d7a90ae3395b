"""Issue 12, "nothing lost": examgen replaces only what examgen wrote.

The fault table: every output-path mistake (a folder examgen did not write as
--out, a build as grading --out and back, a folder or a foreign file as a file
target, an unusable TMPDIR) is one line, exit 2, before any work, with every
folder involved untouched. The ordinary tests below cover what does not fit a
row: the lock (two real processes), stale leftovers, mount points (a real tmpfs
and a simulated one), diagnostics folders, signals at several moments of a build
(deterministic stop points, no timing luck), a full disk and the umask."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import error_lines
from faults import (
    GOOD,
    Row,
    assert_no_leftovers,
    bank_template,
    inject,
    previous_build,
    problems,
    run_row,
    session_procs,
    snapshot,
)

from examgen import ROOT, outputs, targets
from examgen.cli import main
from examgen.errors import OutputError

QUIZ = ROOT / "exams" / "quiz.yaml"
FILLED = "registration,variant,P1a,P2a\n03712345,E0001,2,1.5\n"  # a responses sheet with the user's marks


def folder(rel: str, files: dict[str, str]) -> tuple[Callable[[Path], None], Callable[[Path], None]]:
    """A setup that makes tmp/rel with these files, and a check that they are still exactly there."""

    def setup(tmp: Path) -> None:
        for name, text in files.items():
            (tmp / rel / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel / name).write_text(text)

    def check(tmp: Path) -> None:
        on_disk = {p.relative_to(tmp / rel).as_posix(): p.read_text() for p in (tmp / rel).rglob("*") if p.is_file()}
        assert on_disk == files, f"{rel} was touched"
        assert_no_leftovers(tmp, Path(rel).name)

    return setup, check


SPECS = folder("specs", {"exam2.yaml": GOOD, "notes.md": "my notes\n"})
PROJECT = folder("proj", {".git/HEAD": "ref: refs/heads/main\n", "main.py": "print('hi')\n"})
FOREIGN_MANIFEST = folder("data", {"manifest.json": "{}\n", "table.csv": "a,b\n"})
GRADING = folder("graded", {"manifest.json": json.dumps({"examgen": "0.1.0", "kind": "grading",
                                                          "files": {"results.csv": "..."}}),
                            "results.csv": "registration,variant\n"})
USER_GRADING = folder("out-grading", {"my-marks.xlsx": "marks\n"})
A_DIR = folder("adir", {"keep.txt": "keep\n"})
FILLED_SHEET = folder("sheets", {"responses.csv": FILLED})
FOREIGN_XML = folder("x", {"quiz.xml": "<?xml version=\"1.0\"?>\n<quiz/>\n"})
FOREIGN_PDF = folder("p", {"q.pdf": "%PDF-1.5 my own paper\n"})

GRADE = ("grade", "{out}", "-r", "{tmp}/r.csv")
EXPORT = ("export", "moodle", "{spec}", "--out")
PREVIEW = ("preview", "softmax", "--out")
NOT_BUILD = "not an examgen build folder (it holds "
CHOOSE = "which examgen did not write); choose an empty or new --out"
FOREIGN_FILE = "exists and was not written by examgen; remove it or choose another"

ROWS = [
    # build --out: a folder examgen did not write is refused before anything is sampled
    Row("build-out-specs", "{tmp}/specs: " + NOT_BUILD + "exam2.yaml, " + CHOOSE, 2, spec=GOOD,
        args=("build", "{spec}", "-o", "{tmp}/specs"), setup=SPECS[0], check=SPECS[1]),
    Row("build-out-project-with-git", "{tmp}/proj: " + NOT_BUILD + ".git, " + CHOOSE, 2, spec=GOOD,
        args=("build", "{spec}", "-o", "{tmp}/proj"), setup=PROJECT[0], check=PROJECT[1]),
    Row("build-out-dot", "{user}: " + NOT_BUILD + "notes.txt, " + CHOOSE, 2, spec=GOOD,
        args=("build", "{spec}", "-o", "."), cwd="{user}"),
    Row("build-out-cwd-absolute", "{user}: " + NOT_BUILD + "notes.txt, " + CHOOSE, 2, spec=GOOD,
        args=("build", "{spec}", "-o", "{user}")),
    Row("build-out-root", "/: the root or home folder is never an output folder; choose an empty or new --out", 2,
        spec=GOOD, args=("build", "{spec}", "-o", "/")),
    Row("build-out-home", "{user}: the root or home folder is never an output folder", 2, spec=GOOD,
        args=("build", "{spec}", "-o", "~"), env={"HOME": "{user}"}),
    Row("build-out-foreign-manifest", "{tmp}/data: " + NOT_BUILD + "table.csv, " + CHOOSE, 2, spec=GOOD,
        args=("build", "{spec}", "-o", "{tmp}/data"), setup=FOREIGN_MANIFEST[0], check=FOREIGN_MANIFEST[1]),
    Row("build-out-grading-folder", "{tmp}/graded: an examgen grading folder, not a build folder (its manifest.json "
        "says so); choose an empty or new --out", 2, spec=GOOD, args=("build", "{spec}", "-o", "{tmp}/graded"),
        setup=GRADING[0], check=GRADING[1]),
    Row("build-bad-spec-keeps-previous", "unknown template 'nope'", 2, out="untouched",
        spec=problems("  - template: nope\n")),
    # grade --out: a build is not a grading folder; a user's folder is no one's to replace
    Row("grade-out-is-the-build", "{out}: an examgen build folder, not a grading folder (its manifest.json says so); "
        "choose an empty or new --out", 2, out="untouched", args=(*GRADE, "--out", "{out}")),
    Row("grade-default-out-foreign", "{tmp}/out-grading: not an examgen grading folder (it holds my-marks.xlsx, "
        + CHOOSE, 2, out="untouched", args=GRADE, setup=USER_GRADING[0], check=USER_GRADING[1]),
    Row("grade-out-user-folder", "{user}: not an examgen grading folder (it holds notes.txt, " + CHOOSE, 2,
        out="untouched", args=(*GRADE, "--out", "{user}")),
    Row("grade-dot-not-a-build", "{user}: not an examgen build folder (manifest.json and E0001/answers.json "
        "missing); give the --out folder of examgen build", 2, args=("grade", ".", "-r", "r.csv"), cwd="{user}",
        check=lambda tmp: None if not (tmp / "user-grading").exists() else pytest.fail("user-grading written")),
    Row("grade-stand-in-without-keys", "{out}: not an examgen build folder (E0001/answers.json missing)", 2,
        out="untouched", args=GRADE),
    # grade --template FILE: a folder, `.`, a name ending in /, a foreign or filled sheet
    Row("template-is-a-dir", "{tmp}/adir: names a folder; --template takes a file name (e.g. "
        "{tmp}/adir/responses.csv)", 2, out="untouched", args=("grade", "{out}", "--template", "{tmp}/adir"),
        setup=A_DIR[0], check=A_DIR[1]),
    Row("template-dot", "{user}: names a folder; --template takes a file name", 2, out="untouched",
        args=("grade", "{out}", "--template", "."), cwd="{user}"),
    Row("template-trailing-slash", "{tmp}/new/: names a folder; --template takes a file name", 2, out="untouched",
        args=("grade", "{out}", "--template", "{tmp}/new/"),
        check=lambda tmp: None if not (tmp / "new").exists() else pytest.fail("new/ created")),
    Row("template-foreign-file", "{user}/notes.txt: " + FOREIGN_FILE + " --template", 2, out="untouched",
        args=("grade", "{out}", "--template", "{user}/notes.txt")),
    Row("template-filled-sheet", "{tmp}/sheets/responses.csv: " + FOREIGN_FILE + " --template", 2,
        out="untouched", args=("grade", "{out}", "--template", "{tmp}/sheets/responses.csv"),
        setup=FILLED_SHEET[0], check=FILLED_SHEET[1]),
    # export moodle --out FILE
    Row("export-out-root", "/: names a folder; --out takes a file name (e.g. /quiz.xml)", 2, spec=GOOD,
        args=(*EXPORT, "/")),
    Row("export-out-dot", "{user}: names a folder; --out takes a file name (e.g. {user}/quiz.xml)", 2, spec=GOOD,
        args=(*EXPORT, "."), cwd="{user}"),
    Row("export-out-trailing-slash", "{tmp}/q/: names a folder", 2, spec=GOOD, args=(*EXPORT, "{tmp}/q/"),
        check=lambda tmp: None if not (tmp / "q").exists() else pytest.fail("q/ created")),
    Row("export-out-foreign-xml", "{tmp}/x/quiz.xml: " + FOREIGN_FILE + " --out", 2, spec=GOOD,
        args=(*EXPORT, "{tmp}/x/quiz.xml"), setup=FOREIGN_XML[0], check=FOREIGN_XML[1]),
    Row("export-out-below-a-file", "{user}/notes.txt/q.xml: cannot write the file there ({user}/notes.txt is a "
        "file, not a folder); choose another --out", 2, spec=GOOD, args=(*EXPORT, "{user}/notes.txt/q.xml")),
    # preview --out FILE
    Row("preview-out-dot", "{user}: names a folder; --out takes a file name (e.g. {user}/softmax.pdf)", 2,
        args=(*PREVIEW, "."), cwd="{user}"),
    Row("preview-out-root", "/: names a folder; --out takes a file name", 2, args=(*PREVIEW, "/")),
    Row("preview-out-foreign-pdf", "{tmp}/p/q.pdf: " + FOREIGN_FILE + " --out", 2, args=(*PREVIEW, "{tmp}/p/q.pdf"),
        setup=FOREIGN_PDF[0], check=FOREIGN_PDF[1]),
    # TMPDIR unusable: named, with what to do
    Row("tmpdir-is-a-file", "{user}/notes.txt: TMPDIR is not a folder; set TMPDIR to a writable folder", 2,
        spec=GOOD, env={"TMPDIR": "{user}/notes.txt"}),
    Row("tmpdir-missing", "{tmp}/nowhere: TMPDIR is not a folder; set TMPDIR to a writable folder", 2,
        spec=GOOD, env={"TMPDIR": "{tmp}/nowhere"}),
    Row("tmpdir-not-writable", "/proc: cannot use it for work files (", 2, spec=GOOD, env={"TMPDIR": "/proc"},
        args=(*PREVIEW, "{tmp}/out.pdf")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)


# ------------------------------------------------------------------ helpers
def _stage_build(target: Path, text: str, kind: str = "build") -> None:
    """What a build writes, without compiling: one file and examgen's manifest, through staging."""
    with targets.staging(target, kind) as stage:
        (stage / "E0001").mkdir()
        (stage / "E0001" / "answers.json").write_text(text)
        (stage / "manifest.json").write_text(outputs.folder_manifest(stage, kind))


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------ ownership (unit level)
def test_replaceable_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _stage_build(empty, "1")  # empty: may be replaced
    assert (empty / "E0001" / "answers.json").read_text() == "1"
    _stage_build(empty, "2")  # now examgen's build: may be replaced again
    assert (empty / "E0001" / "answers.json").read_text() == "2"
    legacy = tmp_path / "legacy"  # an examgen 0.1 build manifest has no "kind"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"examgen": "0.1.0", "spec_sha256": "ab", "files": {}}))
    assert targets.folder_kind(legacy) == "build"
    _stage_build(legacy, "3")
    with pytest.raises(OutputError, match="an examgen build folder, not a grading folder"):
        _stage_build(legacy, "4", "grading")
    assert (legacy / "E0001" / "answers.json").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "legacy"]


# ------------------------------------------------------------------ the lock: two real processes
def test_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another examgen" is writing out
    errfile = tmp_path / "stderr"
    with open(errfile, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "examgen", "build", str(QUIZ), "-o", str(out)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)
    released = False
    try:
        deadline = time.monotonic() + 300
        waiting = f"examgen: waiting for another examgen writing {out}"
        while waiting not in errfile.read_text():
            assert proc.poll() is None, errfile.read_text()
            assert time.monotonic() < deadline, "the second writer never waited"
            time.sleep(0.1)
        assert not out.exists()  # it waits: nothing swapped in while the lock is held
        os.close(fd)  # release (the holder leaves its lock file; the waiter takes the same inode)
        released = True
        assert proc.wait(timeout=300) == 0, errfile.read_text()
    finally:
        if not released:
            os.close(fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [line for line in errfile.read_text().splitlines() if "waiting" in line]
    assert lines == [waiting], "the waiting line is printed once"
    assert targets.folder_kind(out) == "build" and (out / "E0001" / "student.pdf").exists()
    assert not lock.exists(), "the lock file is removed on release"
    assert_no_leftovers(tmp_path)


def test_waiter_retries_when_the_lock_file_was_removed(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiter blocked on a lock file that its holder unlinks on release must not trust
    that (now nameless) file: it retries on the current name, so two writers never both
    hold 'the' lock."""
    import threading

    target = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    leave, waits = threading.Event(), threading.Event()
    held: list[int] = []
    say = targets._say

    def said(line: str) -> None:  # (polling capfd instead lost the line once: a read and its truncation
        say(line)                 # around the waiter's write; the output is read once, at the end)
        waits.set()

    monkeypatch.setattr(targets, "_say", said)

    def holder() -> None:
        with targets.locked(target):
            held.append(os.stat(lock).st_ino)
            leave.wait(300)

    def waiter() -> None:
        with targets.locked(target):
            held.append(os.stat(lock).st_ino)

    t1 = threading.Thread(target=holder)
    t1.start()
    deadline = time.monotonic() + 300
    while not held:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    t2 = threading.Thread(target=waiter)
    t2.start()
    waited = waits.wait(300)
    leave.set()
    t1.join(300)
    t2.join(300)
    assert waited, "the waiter never waited"
    assert not t1.is_alive() and not t2.is_alive() and len(held) == 2
    assert not lock.exists()
    assert capfd.readouterr().err == f"examgen: waiting for another examgen writing {target}\n"


# ------------------------------------------------------------------ stale leftovers
def test_stale_staging_leftovers_removed_under_the_lock(tmp_path: Path) -> None:
    for name in (".out.tmp-abcd1234", ".out.old-4242", ".out.tmp-zz_9yx8w"):
        (tmp_path / name / "E0001").mkdir(parents=True)
    keep = [".out.tmp-short", ".other.tmp-abcd1234", "out.tmp-abcd1234", ".out.old-x", ".outx.old-12"]
    for name in keep:
        (tmp_path / name).mkdir()
    _stage_build(tmp_path / "out", "1")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "out"])


def test_stale_work_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "tmpdir"
    monkeypatch.setenv("TMPDIR", str(base))
    dead, live, old, new = (base / f"examgen-{n}" for n in ("dead", "live", "ab_cd123", "new"))
    for d in (dead, live, old, new):
        d.mkdir(parents=True)
    (old / "b00000").mkdir()
    (old / "formats").mkdir()  # what an older examgen left after kill -9
    (dead / "examgen.lock").touch()  # its process is gone: nobody holds the lock
    (live / "examgen.lock").touch()
    held = os.open(live / "examgen.lock", os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # a live run
    day_ago = time.time() - 2 * 86400
    os.utime(old, (day_ago, day_ago))  # an older examgen's folder (no lock file), two days old
    # a user's own folders: other names, an examgen-* name that is not tempfile's, and one with
    # tempfile's name that holds something an older examgen never wrote (a clone of examgen, say)
    others = [base / "pytest-of-me", base / "examgenfoo", base / "notes-examgen-1", base / "examgen-my-clone",
              base / "examgen-x1y2z3w4"]
    for d in others:
        d.mkdir()
    (base / "examgen-my-clone" / "formats").mkdir()
    (base / "examgen-x1y2z3w4" / ".git").mkdir()
    (base / "examgen-x1y2z3w4" / "b00000").mkdir()
    for d in others:
        os.utime(d, (day_ago, day_ago))
    (base / "examgen-file").write_text("a file, not a work folder\n")
    os.utime(base / "examgen-file", (day_ago, day_ago))
    try:
        with targets.work_folder() as work:
            assert work.parent == base and work.name.startswith("examgen-")
            # this run's folder is locked for its lifetime: another run cannot take it
            probe = os.open(work / "examgen.lock", os.O_RDONLY)
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.close(probe)
            targets.remove_stale_work_folders(base)
            assert work.exists()
        assert not work.exists()
    finally:
        os.close(held)
    left = sorted(p.name for p in base.iterdir())
    assert left == sorted(["examgen-live", "examgen-new", "examgen-file", *(d.name for d in others)])


# ------------------------------------------------------------------ mount points
@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    vol = tmp_path / "vol"
    vol.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(vol)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield vol
    finally:
        subprocess.run(["umount", "-l", str(vol)], check=False)


@pytest.mark.pdf
def test_build_into_a_real_mount_point(tmpfs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert os.path.ismount(tmpfs)
    assert main(["build", str(QUIZ), "-o", str(tmpfs)]) == 0
    first = snapshot(tmpfs)
    assert "E0001/student.pdf" in first and targets.folder_kind(tmpfs) == "build"
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmpfs)]) == 0  # replaced in place
    assert "E0002/student.pdf" in snapshot(tmpfs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vol"], "no copy or staging left in the parent"
    assert not [p for p in tmpfs.iterdir() if p.name.startswith(".examgen")], "staging left in the volume"
    capsys.readouterr()
    (tmpfs / "mine.txt").write_text("mine\n")
    before = snapshot(tmpfs)
    assert main(["build", str(QUIZ), "-o", str(tmpfs)]) == 2
    assert f"{tmpfs}: holds mine.txt, which examgen did not write (its manifest.json does not list it); move it " \
        "elsewhere or choose an empty or new --out" in _one_error(capsys)
    assert snapshot(tmpfs) == before


def test_simulated_mount_point_is_swapped_from_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same code path on a plain folder: os.path.ismount says yes; also another st_dev."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "lost+found").mkdir()  # a mounted file system's own folder: not foreign, left alone
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == vol or real_ismount(p))
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        assert Path(src) != vol and Path(dst) != vol, "a mount point cannot be renamed"
        renamed.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(targets.os, "replace", replace)
    (vol / ".examgen-tmp-dead1234").mkdir()  # a killed run's staging inside the volume
    _stage_build(vol, "1")
    _stage_build(vol, "2")
    assert renamed
    assert sorted(p.name for p in vol.iterdir()) == ["E0001", "lost+found", "manifest.json"]
    assert (vol / "E0001" / "answers.json").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vol"]
    monkeypatch.setattr(os.path, "ismount", real_ismount)
    real_stat = Path.stat

    def stat(self: Path, **kw: bool) -> os.stat_result:
        st = real_stat(self, **kw)
        if self != vol:
            return st
        fields = list(st)
        fields[2] += 1  # st_dev: another device than its parent
        return os.stat_result(fields)

    monkeypatch.setattr(Path, "stat", stat)
    assert targets.is_mount(vol)
    _stage_build(vol, "3")
    assert (vol / "E0001" / "answers.json").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vol"]


# ------------------------------------------------------------------ diagnostics
def _flaky_spec(tmp_path: Path) -> list[str]:
    bank_template("broken_question", inject("\\nosuchmacro "))(tmp_path)
    spec = tmp_path / "exam.yaml"
    spec.write_text(problems("  - template: broken_question\n"))
    return ["build", str(spec), "-o", str(tmp_path / "out"), "--bank", str(tmp_path / "bank")]


@pytest.mark.pdf
def test_diagnostics_beside_a_users_folder_of_that_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "out-diagnostics"
    mine.mkdir()
    (mine / "my-notes.txt").write_text("mine\n")
    args = _flaky_spec(tmp_path)
    assert main(args) == 1
    line = _one_error(capsys)
    assert line.endswith(f"(.tex and .log kept in {tmp_path / 'out-diagnostics-2'})"), line
    assert "Undefined control sequence" in line
    assert [p.name for p in mine.iterdir()] == ["my-notes.txt"]
    diag = tmp_path / "out-diagnostics-2"
    assert targets.folder_kind(diag) == "diagnostics"
    assert "\\nosuchmacro" in (diag / "E0001" / "student.tex").read_text()
    assert (diag / "E0001" / "student.log").exists() and (diag / "E0001" / "examgentum.cls").exists()
    assert not (tmp_path / "out").exists()
    assert_no_leftovers(tmp_path)
    assert_no_leftovers(tmp_path, "out-diagnostics-2")
    # a successful build removes examgen's diagnostics, never the user's folder
    assert main(["build", str(QUIZ), "-o", str(tmp_path / "out")]) == 0
    assert not diag.exists()
    assert [p.name for p in mine.iterdir()] == ["my-notes.txt"]
    assert_no_leftovers(tmp_path)



def test_a_users_file_inside_examgens_diagnostics_survives(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """examgen's own OUT-diagnostics, into which the user put a file: a successful build
    leaves it (and the file) alone, since the folder is no longer only examgen's."""
    assert main(_flaky_spec(tmp_path)) == 1
    capsys.readouterr()
    diag = tmp_path / "out-diagnostics"
    assert targets.folder_kind(diag) == "diagnostics"
    (diag / "fix-ideas.txt").write_text("try \\newcommand\n")
    before = snapshot(diag)
    assert main(["build", str(QUIZ), "-o", str(tmp_path / "out")]) == 0
    assert snapshot(diag) == before


# ------------------------------------------------------------------ a full disk, the umask
def _build_fails_for_no_space(out: Path, before: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """A build into `out` (holding the build `before`) fails on a full disk: one line, the previous build
    untouched, nothing left beside it."""
    assert main(["build", str(QUIZ), "-o", str(out)]) == 2
    assert _one_error(capsys) == (f"examgen: error: {out}: cannot write the output there (no space left on device); "
                                  "free space there or choose another --out")
    assert snapshot(out) == before
    assert_no_leftovers(out.parent)


def test_no_space_while_writing_a_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    before = previous_build(out)

    copyfile, link = shutil.copyfile, os.link

    def full(src: object, dst: object, *args: object, **kwargs: object) -> object:
        if ".out.tmp-" in str(dst):  # the disk fills up while the PDFs are written into the stage
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return copyfile(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    def full_link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if ".out.tmp-" in str(dst):  # (a PDF typeset in the work folder is linked, a cached one copied)
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        link(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "copyfile", full)
    monkeypatch.setattr(os, "link", full_link)
    _build_fails_for_no_space(out, before, capsys)


def test_no_space_while_the_records_are_written_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """answers.json and layout.json are written into the stage by the recorder thread as each student
    batch is built: a full disk there is the same one line, and nothing is left behind."""
    out = tmp_path / "out"
    before = previous_build(out)
    write_text = Path.write_text

    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        if ".out.tmp-" in str(self) and self.name in ("answers.json", "layout.json"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    _build_fails_for_no_space(out, before, capsys)


def test_full_volume_for_a_file_target(tmpfs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real full file system: the Moodle export fails with one line and leaves no .NAME.tmp-*."""
    with open(tmpfs / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    target = tmpfs / "quiz.xml"
    assert main(["export", "moodle", str(QUIZ), "-n", "3", "--out", str(target)]) == 2
    line = _one_error(capsys)
    assert line.startswith(f"examgen: error: {target}: cannot write ") and "(no space left on device)" in line, line
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler"]


def test_full_tmpdir(tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    with open(tmpfs / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    monkeypatch.setenv("TMPDIR", str(tmpfs))
    assert main(["preview", "softmax", "--seed", "1", "--out", str(tmp_path / "q.pdf")]) == 2
    line = _one_error(capsys)
    assert line.startswith(f"examgen: error: {tmpfs}: cannot use it for work files (no space left on device); "
                           "set TMPDIR to a writable folder with free space"), line
    assert not (tmp_path / "q.pdf").exists()
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler"]


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        _stage_build(tmp_path / "out", "1")
        targets.write_file(tmp_path / "f.xml", b"x", targets.MOODLE_OWNED)
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "out" / "E0001" / "answers.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "f.xml").stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------------ file targets examgen wrote
@pytest.mark.pdf
def test_file_targets_replace_only_their_own(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             quiz_build: Path) -> None:
    xml, pdf, sheet = tmp_path / "quiz.xml", tmp_path / "q.pdf", tmp_path / "responses.csv"
    for _ in range(2):  # the second run replaces what the first wrote
        assert main(["export", "moodle", str(QUIZ), "--out", str(xml)]) == 0
        assert main(["preview", "softmax", "--out", str(pdf)]) == 0
        assert main(["grade", str(quiz_build), "--template", str(sheet)]) == 0
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<!-- examgen 0.1.0 Moodle XML export -->\n<quiz>'
    assert xml.read_text().startswith(head)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "examgen 0.1.0 preview" in info
    sheet.write_text(sheet.read_text().replace(",E0001,", "03712345,E0001,", 1))  # the user fills in a row
    capsys.readouterr()
    assert main(["grade", str(quiz_build), "--template", str(sheet)]) == 2
    assert f"{sheet}: exists and was not written by examgen" in _one_error(capsys)
    assert "03712345" in sheet.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.pdf", "quiz.xml", "responses.csv"]


# ------------------------------------------------------------------ signals at several moments
WRAPPER = """#!/bin/sh
# stops (blocked on a fifo, in the shell itself: no child to orphan) at one moment of the build
case "$*" in
  {pattern}) exec 3<>"$EXAMGEN_TEST_FIFO"; : > "$EXAMGEN_TEST_MARK"; read _ <&3; exec 3>&-;;
esac
exec {real} "$@"
"""


@pytest.mark.pdf
@pytest.mark.parametrize("moment, tool, pattern", [
    ("format build", "pdftex", "*-ini*"),
    ("final pass", "pdflatex", "*-jobname=final*"),
    ("write stage", "qpdf", "*all-students.pdf*"),
])
@pytest.mark.parametrize("sig, code, message", [
    (signal.SIGINT, 130, "examgen: interrupted; nothing was written"),
    (signal.SIGTERM, 143, "examgen: terminated (SIGTERM); nothing was written"),
])
def test_signal_at_every_moment_writes_nothing(moment: str, tool: str, pattern: str, sig: signal.Signals, code: int,
                                               message: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = shutil.which(tool)
    assert real
    (bin_dir / tool).write_text(WRAPPER.format(pattern=pattern, real=real))
    (bin_dir / tool).chmod(0o755)
    fifo, mark = tmp_path / "fifo", tmp_path / "mark"
    os.mkfifo(fifo)
    out = tmp_path / "X"
    before = previous_build(out) if sig == signal.SIGINT else None  # a previous build must survive
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "EXAMGEN_TEST_FIFO": str(fifo),
           "EXAMGEN_TEST_MARK": str(mark), "TMPDIR": str(tmp_path)}
    # at the write stage: four booklets of three variants are stamped there (one per variant: joined while compiling)
    booklets = ["--booklets", "4"] if moment == "write stage" else []
    proc = subprocess.Popen([sys.executable, "-m", "examgen", "build", str(QUIZ), "-n", "3", "-o", str(out),
                             "--no-cache", "-j", "2", *booklets], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():  # the build has reached the moment and is held there
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"the build never reached the {moment}"
            time.sleep(0.05)
        os.kill(proc.pid, sig)
        if tool == "qpdf":  # the held qpdf now finishes, as a slow one would (examgen waits for it, then cleans up)
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # the wrapper holds the fifo open: never ENXIO
            os.write(fd, b"go\n")
            os.close(fd)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code, err
    assert [line for line in error_lines(err) if line] == [message], err
    deadline = time.monotonic() + 60
    while session_procs(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_procs(proc.pid) == [], "TeX or qpdf processes left running"
    if before is not None:
        assert snapshot(out) == before
    else:
        assert not out.exists()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("bin", "fifo", "mark", "X"))
    assert leftovers == [], f"left behind at the {moment}: {leftovers}"  # no staging, lock, diagnostics, work folder


def test_mount_swap_puts_everything_back_when_an_entry_cannot_move(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A nested mount inside the volume cannot be moved aside (EBUSY): the swap is undone."""
    vol = tmp_path / "vol"
    vol.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == vol or real_ismount(p))
    _stage_build(vol, "1")
    (vol / "zz-nested").mkdir()
    manifest = json.loads((vol / "manifest.json").read_text())
    manifest["files"]["zz-nested/x"] = "..."  # listed, so the folder is examgen's and may be replaced
    (vol / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(vol)
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(src).name == "zz-nested":
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        real_replace(src, dst)

    monkeypatch.setattr(targets.os, "replace", replace)
    with pytest.raises(OutputError, match="cannot write the output there"):
        _stage_build(vol, "2")
    assert snapshot(vol) == before and (vol / "zz-nested").is_dir()
    assert sorted(p.name for p in vol.iterdir()) == ["E0001", "manifest.json", "zz-nested"]


def test_signal_during_the_swap_says_the_output_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C pressed while the finished build is swapped in is held back until the swap is
    done; the message then says the output is complete (not 'nothing was written'), and it is."""
    import threading

    out = tmp_path / "out"
    previous_build(out)
    real = os.replace
    sent: list[str] = []

    def replace(src: object, dst: object) -> None:
        if not sent and Path(str(src)) == out:  # the swap moves the old build aside: Ctrl-C now
            sent.append(str(dst))  # (SIGINT is blocked during the swap: it stays pending)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(targets.os, "replace", replace)
    code = main(["build", str(QUIZ), "-o", str(out)])
    err = [line for line in error_lines(capsys.readouterr().err) if line]
    assert sent, "the swap never ran"
    assert code == 130
    assert err == [f"examgen: interrupted; {out} was written completely before it stopped"]
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert files == {k: v for k, v in snapshot(out).items() if k != "manifest.json"}
    assert "E0001/answers.json" in files and "E0001/solution.pdf" in files
    assert_no_leftovers(tmp_path)


@pytest.mark.pdf
def test_kill_9_leftovers_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    """kill -9 (no clean-up possible) while the build is held at its write stage: the
    staging folder beside OUT, its lock file and the work folder in TMPDIR stay behind;
    the next build removes them all, and a previous build is still whole until replaced."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = shutil.which("qpdf")
    assert real
    (bin_dir / "qpdf").write_text(WRAPPER.format(pattern="*all-students.pdf*", real=real))
    (bin_dir / "qpdf").chmod(0o755)
    fifo, mark, tmpdir = tmp_path / "fifo", tmp_path / "mark", tmp_path / "tmpdir"
    os.mkfifo(fifo)
    tmpdir.mkdir()
    out = tmp_path / "X"
    before = previous_build(out)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "EXAMGEN_TEST_FIFO": str(fifo),
           "EXAMGEN_TEST_MARK": str(mark), "TMPDIR": str(tmpdir)}
    # three booklets of two variants: the booklets are stamped at the write stage (one per variant: joined earlier)
    args = [sys.executable, "-m", "examgen", "build", str(QUIZ), "-n", "2", "-o", str(out), "--no-cache",
            "--booklets", "3"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the build never reached its write stage"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of examgen and everything it started
        proc.wait()
    assert snapshot(out) == before
    staged = sorted(p.name for p in tmp_path.glob(".X.*"))
    assert [n for n in staged if n.startswith(".X.tmp-")], staged  # what kill -9 leaves: a staging folder
    assert [p.name for p in tmpdir.iterdir() if p.name.startswith("examgen-")], "no work folder was left"

    env["PATH"] = os.environ["PATH"]  # the real qpdf from now on
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.glob(".X.*")) == []
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert "E0002/student.pdf" in files and files == {k: v for k, v in snapshot(out).items() if k != "manifest.json"}
