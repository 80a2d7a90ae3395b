"""Where examgen may write, and how: the rules for every folder and file examgen
writes (the records themselves are outputs.py).

examgen replaces only what examgen wrote. A folder target (build, grading,
diagnostics) carries manifest.json with "examgen" and its "kind"; it may be
replaced only if it does not exist, is empty, or holds examgen's manifest of the
same kind. A file target (Moodle XML, preview PDF, responses template) may be
replaced only if its content shows examgen wrote it. Everything is staged beside
the target (inside it when the target is a mount point) and swapped in under a
lock (.NAME.lock, fcntl.flock) with SIGINT/SIGTERM held back; stale staging
leftovers of killed runs are removed under that lock. Work folders in $TMPDIR
(examgen-*) hold a lock for their lifetime, so the next run can remove the ones
of dead processes."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ExamgenError, OutputError
from .outputs import KINDS, MANIFEST, folder_manifest

_STAGED_IN_MOUNT = re.compile(r"\.examgen-(tmp|old)-[a-z0-9_]+$")  # staging inside a mount point
_IN_TARGET = re.compile(_STAGED_IN_MOUNT.pattern + r"|\.examgen\.lock$")


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """examgen's manifest.json of folder (with a known "kind"), or None when examgen did not write it.
    A manifest of examgen 0.1 builds (no "kind", but "spec_sha256") is a build's."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "examgen" not in data:
        return None
    kind = data.get("kind", "build" if "spec_sha256" in data else None)
    return {**data, "kind": kind} if kind in KINDS else None


def folder_kind(folder: Path) -> str | None:
    """The kind of examgen folder this is (its manifest.json), or None when examgen did not write it."""
    data = _read_manifest(folder)
    return data["kind"] if data else None


def _owns(folder: Path, kind: str) -> bool:
    """Whether folder is examgen's of this kind, with nothing in it that its manifest does not
    list: the rule ensure_replaceable applies, for a folder examgen removes on its own."""
    data = _read_manifest(folder)
    return data is not None and data["kind"] == kind and _unlisted(folder, data, False) is None


def _sidecar(path: str, listed: set[str]) -> bool:
    """A live database's journal beside it (grading.sqlite-journal while the correction app writes)."""
    return any(path.endswith(side) and path[:-len(side)] in listed for side in LIVE_SIDECARS)


def _unlisted(folder: Path, data: dict[str, Any], mount: bool) -> str | None:
    """A file in an examgen folder that its manifest does not list (the user put it there), or None."""
    listed = data.get("files")
    listed = set(listed) if isinstance(listed, dict) else set()
    top = set(_entries(folder, mount))
    for here, dirs, files in os.walk(folder):
        rel = Path(here).relative_to(folder)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d in top]
            files = [f for f in files if f in top]
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(here, d))]):
            path = (rel / name).as_posix()
            if path not in listed and path != MANIFEST and not _sidecar(path, listed):
                return path
    return None


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "not writable"
    return (exc.strerror or str(exc)).lower()


def is_mount(target: Path) -> bool:
    """A mount point (a Docker volume) or a folder on another device than its parent:
    the folder itself cannot be renamed, so it is staged and swapped from inside."""
    try:
        return target.is_dir() and (os.path.ismount(target) or target.stat().st_dev != target.parent.stat().st_dev)
    except OSError:
        return False


def _entries(target: Path, mount: bool) -> list[str]:
    """The entries that count: not examgen's own staging leftovers in a mount point,
    nor the lost+found of a mounted file system."""
    return sorted(e for e in os.listdir(target)
                  if not (mount and (_IN_TARGET.match(e) or e == "lost+found")))


def _blocker(target: Path) -> Path | None:
    return next((p for p in target.parents if p.exists() and not p.is_dir()), None)


def ensure_replaceable(target: Path, kind: str) -> Path:
    """Fail early, before anything is sampled or compiled, when target cannot be created
    or is not examgen's to replace; returns the absolute target."""
    target = Path(target).expanduser().resolve()
    if target == Path(target.anchor) or target == Path.home().resolve():
        raise OutputError(f"{target}: the root or home folder is never an output folder; choose an empty or new --out")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; choose another --out or remove the file")
    blocker = _blocker(target)
    if blocker is not None:
        raise OutputError(f"{target}: cannot write the output folder there ({blocker} is a file, not a folder); "
                          "choose another --out")
    mount = is_mount(target)
    if target.is_dir():
        try:
            entries = _entries(target, mount)
        except OSError as exc:
            raise OutputError(f"{target}: cannot read the output folder ({_reason(exc)}); choose another --out") \
                from None
        data = _read_manifest(target) if entries else {"kind": kind, "files": {}}
        foreign = None if data is None else _unlisted(target, data, mount) if entries else None
        if data is not None and data["kind"] != kind:
            raise OutputError(f"{target}: an examgen {data['kind']} folder, not a {kind} folder (its {MANIFEST} says "
                              "so); choose an empty or new --out")
        if foreign is not None:
            raise OutputError(f"{target}: holds {foreign}, which examgen did not write (its {MANIFEST} does not list "
                              "it); move it elsewhere or choose an empty or new --out")
        if data is None:
            foreign = next((e for e in entries if e != MANIFEST), entries[0])
            raise OutputError(f"{target}: not an examgen {kind} folder (it holds {foreign}, which examgen did not "
                              "write); choose an empty or new --out")
    try:
        place = target if mount else target.parent
        place.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".examgen-probe-", dir=place))
        probe.rmdir()
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the output folder there ({exc.strerror or exc}); "
                          "choose another --out") from None
    return target


# ------------------------------------------------------------------ the lock
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def locked(target: Path, mount: bool = False) -> Iterator[None]:
    """One writer per target: an flock on .NAME.lock beside it (inside a mount point:
    .examgen.lock). A second examgen says once that it waits, then waits. The lock
    file is removed while held; a waiter that then finds another file (or none)
    under the name retries, so two writers never hold different files."""
    path = target / ".examgen.lock" if mount else target.parent / f".{target.name}.lock"
    waited = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise OutputError(f"{target}: cannot lock it for writing ({_reason(exc)}); choose another --out") \
                from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not waited:
                    _say(f"examgen: waiting for another examgen writing {target}")
                    waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _remove_stale(target: Path, mount: bool) -> None:
    """Staging leftovers of a killed examgen (called with the target's lock held:
    no live examgen can own them)."""
    if mount:
        place, pattern = target, _STAGED_IN_MOUNT
    else:
        name = re.escape(target.name)
        place, pattern = target.parent, re.compile(rf"\.{name}\.(tmp-[a-z0-9_]{{8}}|old-\d+)$")
    for entry in os.scandir(place):
        if pattern.match(entry.name):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                Path(entry.path).unlink(missing_ok=True)


@contextmanager
def _held_signals() -> Iterator[None]:
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _write_failed(target: Path, exc: OSError) -> OutputError:
    return OutputError(f"{target}: cannot write the output there ({_reason(exc)}); free space there or choose "
                       "another --out")


@contextmanager
def writing_into(target: Path) -> Iterator[None]:
    """Writing into target's staging folder outside staging's own block (a build places each batch's
    variants from the threads that finish them): a failure is staging's one error line."""
    try:
        yield
    except OSError as exc:
        raise _write_failed(target, exc) from None


# ------------------------------------------------------------------ folders
#: what a live database keeps beside itself (SQLite's rollback journal, WAL and shared memory)
LIVE_SIDECARS = ("-journal", "-wal", "-shm")


def _move_live(target: Path, tmp: Path, live: tuple[str, ...]) -> list[tuple[Path, Path]]:
    """Move target's live files (and their sidecars) into the staging folder just before the
    swap, unless the staging folder has its own: a live file is updated in place, never copied,
    so that a write made while the staging folder was filled is not lost."""
    moved = []
    for name in live:
        if (tmp / name).exists() or not (target / name).is_file():
            continue
        for side in ("", *LIVE_SIDECARS):
            if (target / f"{name}{side}").is_file():
                os.replace(target / f"{name}{side}", tmp / f"{name}{side}")
                moved.append((target / f"{name}{side}", tmp / f"{name}{side}"))
    return moved


@contextmanager
def staging(target: Path, kind: str = "build", live: tuple[str, ...] = ()) -> Iterator[Path]:
    """A temporary folder beside target (inside it on a mount point); on success it
    replaces target whole, under target's lock, with Ctrl-C and SIGTERM held back
    during the swap, so target is never missing or half-swapped. Any failure or
    interrupt removes the staging folder: nothing was written. `live` names files of target
    that are updated in place under the lock (a database): they are moved, not copied, into
    the new folder at the swap, and back if the swap fails."""
    target = ensure_replaceable(target, kind)
    mount = is_mount(target)
    with locked(target, mount):
        _remove_stale(target, mount)
        ensure_replaceable(target, kind)  # again under the lock: what another writer left must be ours too
        place = target if mount else target.parent
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".examgen-tmp-" if mount else f".{target.name}.tmp-", dir=place))
        except OSError as exc:
            raise _write_failed(target, exc) from None
        try:
            tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 is for temporary folders, not outputs
            yield tmp
            moved = _move_live(target, tmp, live)
            try:
                _swap(tmp, target, mount)
            except BaseException:
                for back, staged in reversed(moved):
                    if staged.exists():  # the swap did not happen: the live files go home
                        os.replace(staged, back)
                raise
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _write_failed(target, exc) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _swap(tmp: Path, target: Path, mount: bool) -> None:
    old: Path | None = None
    swapped = False
    try:
        with _held_signals():
            if mount:  # the folder itself cannot move: move its entries aside, then the new ones in
                old = Path(tempfile.mkdtemp(prefix=".examgen-old-", dir=target))
                moved: list[tuple[Path, Path]] = []
                try:
                    for e in _entries(target, True):
                        os.replace(target / e, old / e)
                        moved.append((old / e, target / e))
                    for e in os.listdir(tmp):
                        os.replace(tmp / e, target / e)
                        moved.append((target / e, tmp / e))
                except OSError:  # put everything back as it was (an entry that cannot move: a nested mount)
                    for src, dst in reversed(moved):
                        os.replace(src, dst)
                    old.rmdir()
                    raise
                tmp.rmdir()
            else:
                if target.exists():
                    old = target.parent / f".{target.name}.old-{os.getpid()}"
                    os.replace(target, old)
                os.replace(tmp, target)
            swapped = True
    except KeyboardInterrupt as exc:
        # Ctrl-C or SIGTERM that arrived during the swap is delivered as the signals are let
        # through again: the new output is complete, and the message must say so (cli.py)
        if swapped:
            exc.written = target  # type: ignore[attr-defined]
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def carry_over(target: Path, stage: Path, skip: set[str]) -> None:
    """Copy into a staging folder what target's manifest lists, except the entries (top-level
    names) the caller rewrites: two commands sharing one folder (scan and grade) keep each
    other's files. Called inside staging(target), under its lock."""
    data = _read_manifest(Path(target))
    listed = data.get("files") if data else None
    for rel in sorted(listed) if isinstance(listed, dict) else []:
        if rel.split("/", 1)[0] in skip or not (Path(target) / rel).is_file():
            continue
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(target) / rel, stage / rel)


def remove_owned(folder: Path, kind: str) -> None:
    """Remove folder only when it is examgen's of this kind and holds nothing else (a user's
    folder of the same name, or a user's file put into it, stays)."""
    folder = Path(folder).resolve()
    if not _owns(folder, kind) or is_mount(folder):
        return
    with locked(folder):
        if _owns(folder, kind):
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            with _held_signals():
                os.replace(folder, old)
            shutil.rmtree(old, ignore_errors=True)


DIAGNOSTICS_SLOTS = 9


def diagnostics_folders(out: Path) -> list[Path]:
    """OUT-diagnostics, then OUT-diagnostics-2 ... -9: where a failed build keeps its .tex and .log."""
    out = Path(out).resolve()
    return [out.with_name(f"{out.name}-diagnostics" + (f"-{k}" if k > 1 else ""))
            for k in range(1, DIAGNOSTICS_SLOTS + 1)]


def write_diagnostics(out: Path, files: tuple[tuple[str, bytes], ...]) -> str:
    """Keep a failed build's files (path relative to the folder, content) in the first
    OUT-diagnostics[-N] that is free or examgen's; returns the note for the error line."""
    folder = next((d for d in diagnostics_folders(out) if not d.exists() or _owns(d, "diagnostics")), None)
    if folder is None:
        return f" (.tex and .log not kept: {diagnostics_folders(out)[0]} and its -2 ... -{DIAGNOSTICS_SLOTS} " \
               "are not examgen's)"
    try:
        with staging(folder, "diagnostics") as stage:
            for rel, data in files:
                (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                (stage / rel).write_bytes(data)
            (stage / MANIFEST).write_text(folder_manifest(stage, "diagnostics"), encoding="utf-8")
    except OutputError as exc:
        return f" (.tex and .log not kept: {exc})"
    return f" (.tex and .log kept in {folder})"


# ------------------------------------------------------------------ files
def ensure_file_replaceable(target: Path | str, owned: Callable[[Path], bool], option: str = "--out",
                            example: str = "NAME") -> Path:
    """Fail early when a file target names a folder (also `.`, `/` or a name ending in /),
    sits below a file, cannot be written, or is a file examgen did not write; returns the
    absolute target. Pass the command line's string: a Path drops a trailing slash."""
    raw = os.fspath(target)
    path = Path(raw).expanduser().resolve()
    if raw.endswith(("/", os.sep)) or path.is_dir():
        name = path if path.is_dir() else raw
        raise OutputError(f"{name}: names a folder; {option} takes a file name (e.g. {path / example})")
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: exists and is not a regular file; remove it or choose another {option}")
    if path.exists() and not owned(path):
        raise OutputError(f"{path}: exists and was not written by examgen; remove it or choose another {option}")
    blocker = _blocker(path)
    if blocker is not None:
        raise OutputError(f"{path}: cannot write the file there ({blocker} is a file, not a folder); "
                          f"choose another {option}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".examgen-probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the file there ({_reason(exc)}); choose another {option}") from None
    return path


def write_file(target: Path | str, data: bytes, owned: Callable[[Path], bool], option: str = "--out") -> Path:
    """Write data to target atomically (a temporary .NAME.tmp-* beside it, then os.replace),
    under target's lock, with the user's umask; never leaves the temporary file behind."""
    target = ensure_file_replaceable(target, owned, option)
    with locked(target):
        _remove_stale(target, False)
        ensure_file_replaceable(target, owned, option)
        tmp: Path | None = None
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
            tmp = Path(name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            with _held_signals():
                os.replace(tmp, target)
        except OSError as exc:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise OutputError(f"{target}: cannot write it ({_reason(exc)}); free space there or choose another "
                              f"{option}") from None
        except BaseException:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise
    return target


def starts_with(prefix: bytes) -> Callable[[Path], bool]:
    """An ownership test: the file begins with these bytes."""
    def owned(path: Path) -> bool:
        with open(path, "rb") as f:
            return f.read(len(prefix)) == prefix
    return owned


# ------------------------------------------------------------------ work folders
WORK_PREFIX = "examgen-"
WORK_LOCK = "examgen.lock"
STALE_UNLOCKED = 24 * 3600  # a work folder of an older examgen (no lock file) is stale after a day
# An older examgen's work folder (no lock file): tempfile's name (8 random characters) and nothing
# inside but what those versions put there (batch folders, formats, the draft and final passes, a
# grading report). A user's own /tmp/examgen-notes never matches both, and is never touched.
_OLD_WORK_NAME = re.compile(r"examgen-(?:grade-)?[a-z0-9_]{8}")
_OLD_WORK_ENTRY = re.compile(r"b\d{5}|formats|draft|final|split|report\.(?:tex|log|aux|pdf)")


def _work_base() -> Path:
    env = os.environ.get("TMPDIR")
    return Path(env) if env else Path(tempfile.gettempdir())


def _tmpdir_error(base: Path, exc: OSError) -> OutputError:
    return OutputError(f"{base}: cannot use it for work files ({_reason(exc)}); set TMPDIR to a writable folder "
                       "with free space, or free space there")


def remove_stale_work_folders(base: Path) -> None:
    """Remove examgen-* work folders in base left by dead runs: their lock can be taken
    (kept while held), or, without a lock file (older examgen), older than a day.
    Only this user's folders whose name starts with examgen-; nothing else."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.name.startswith(WORK_PREFIX) or not entry.is_dir(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            lock = Path(entry.path) / WORK_LOCK
            if not lock.exists():
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_UNLOCKED \
                        and _OLD_WORK_NAME.fullmatch(entry.name) \
                        and all(_OLD_WORK_ENTRY.fullmatch(e) for e in os.listdir(entry.path)):
                    shutil.rmtree(entry.path, ignore_errors=True)
                continue
            fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live run holds it
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            os.close(fd)


@contextmanager
def work_folder(prefix: str = WORK_PREFIX) -> Iterator[Path]:
    """A private work folder in $TMPDIR, locked for its lifetime (so the next run
    can tell a dead run's folder from a live one's) and removed afterwards. A TMPDIR
    that is missing, a file, unwritable or full is one clear error naming it."""
    base = _work_base()
    remove_stale_work_folders(base)
    fd = -1
    try:
        if not base.is_dir():
            raise OutputError(f"{base}: TMPDIR is not a folder; set TMPDIR to a writable folder with free space")
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        # the lock is taken on a hidden name and then renamed: a cleaner never sees an untaken lock file
        hidden = path / f".{WORK_LOCK}"
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(hidden, path / WORK_LOCK)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        raise _tmpdir_error(base, exc) from None
    try:
        yield path
    except OSError as exc:
        if _inside(exc, path):
            raise _tmpdir_error(base, exc) from None
        raise
    except ExamgenError as exc:  # a worker's OSError, wrapped where it happened
        cause = exc.__cause__
        if isinstance(cause, OSError) and _inside(cause, path) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _tmpdir_error(base, cause) from None
        raise
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _inside(exc: OSError, folder: Path) -> bool:
    """Whether the failed operation wrote in folder (a copy names its source first, its destination second)."""
    return any(isinstance(name, (str, os.PathLike)) and Path(os.fsdecode(name)).is_relative_to(folder)
               for name in (exc.filename, exc.filename2))


# ------------------------------------------------------------------ what examgen's files look like
MOODLE_MARK = f"<!-- examgen {__version__} Moodle XML export -->"
PREVIEW_CREATOR = f"examgen {__version__} preview"


def _contains(marker: bytes) -> Callable[[Path], bool]:
    """An ownership test: the file holds these bytes (read in chunks)."""
    def owned(path: Path) -> bool:
        tail = b""
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                if marker in tail + chunk:
                    return True
                tail = chunk[-len(marker):]
        return False
    return owned


_XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- examgen '  # an export's first line and examgen's mark
MOODLE_OWNED = starts_with(_XML_HEAD)
PREVIEW_OWNED = _contains(b"/Creator (examgen ")
QTI_MARK = f"<!-- examgen {__version__} QTI 2.1 export -->"


def QTI_OWNED(path: Path) -> bool:  # noqa: N802 -- an ownership test, named like its siblings
    """An ownership test: a zip whose imsmanifest.xml begins with examgen's comment (a
    user's zip, a broken zip or any other file is not examgen's)."""
    try:
        with zipfile.ZipFile(path) as z, z.open("imsmanifest.xml") as f:
            return f.read(len(_XML_HEAD)) == _XML_HEAD
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, EOFError, NotImplementedError,
            zlib.error):
        return False


def stamp_preview(pdf: Path, out: Path) -> Path:
    """A copy of pdf whose document info says examgen made it (/Creator), so that a later
    preview may replace it and nothing else. Only previews: build PDFs stay unchanged."""
    from .compiler.qpdf import qpdf

    probe = qpdf(["--json-output", "--json-key=qpdf", "--json-object=trailer", str(pdf), "-"])
    head, objects = json.loads(probe)["qpdf"]
    trailer = {k: v for k, v in objects["trailer"]["value"].items() if k != "/ID"}
    info = f"obj:{head['maxobjectid'] + 1} 0 R"
    trailer.update({"/Info": info[4:], "/Size": head["maxobjectid"] + 2})
    update = out.with_suffix(".json")
    update.write_text(json.dumps({"qpdf": [head, {"trailer": {"value": trailer},
                                                  info: {"value": {"/Creator": f"u:{PREVIEW_CREATOR}"}}}]}))
    qpdf([str(pdf), f"--update-from-json={update}", str(out)])
    return out
