"""Where examgen keeps what it can reuse between runs: formats, compiled
batches, page counts (compiler/), jinja2 bytecode (rendering.py), the loaded
question bank (bank.py) and which YAML documents passed their schema (schema.py).

The cache only ever saves time: a folder that cannot be used (read-only, a file
in the way, a full disk) gives one warning line and the build goes on without it."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

_warned: set[Path] = set()  # cache folders found unusable in this process (warned about once)
_lock = threading.Lock()


def cache_dir() -> Path | None:
    """$EXAMGEN_CACHE, else $XDG_CACHE_HOME/examgen, else ~/.cache/examgen;
    EXAMGEN_CACHE=off disables it."""
    env = os.environ.get("EXAMGEN_CACHE")
    if env == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "examgen"


def unusable(root: Path, exc: OSError) -> None:
    """The cache folder failed (it cannot be created or written, the disk is full):
    one warning line per folder and process; callers go on without the cache."""
    with _lock:
        if root in _warned:
            return
        _warned.add(root)
    reason = exc.strerror or str(exc)
    sys.stderr.write(f"examgen: warning: compile cache {root} is not usable ({reason}); building without it\n")
    sys.stderr.flush()


def usable_cache(root: Path | None) -> Path | None:
    """root (usually cache_dir()) if it can be created and written (a probe file), else
    None (after the warning); None also when disabled or found unusable earlier."""
    if root is None or root in _warned:
        return None
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        unusable(root, exc)
        return None
    return root


# --------------------------------------------------------------- exam seeds
SEEDS_FILE = "seeds.json"  # in the state folder: exam seed -> the exams (course, name, date, spec) built with it


def state_dir() -> Path | None:
    """Where examgen remembers what it built (the exam seeds): not a cache, as deleting the
    cache must not forget them. $EXAMGEN_STATE, else $XDG_STATE_HOME/examgen, else
    ~/.local/state/examgen; EXAMGEN_STATE=off disables the record (and its warning);
    a folder that cannot be created counts as off."""
    env = os.environ.get("EXAMGEN_STATE")
    if env == "off":
        return None
    root = Path(env) if env else Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "examgen"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return root


def _exams_by_seed(root: Path) -> dict[str, list[dict[str, str]]]:
    """The record; an unreadable or damaged one counts as empty (it only serves a warning)."""
    try:
        data = json.loads((root / SEEDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _same_exam(a: dict[str, str], b: dict[str, str]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("course", "name", "date"))


def seed_used_by_other_exam(root: Path | None, seed: int, exam: dict[str, str]) -> dict[str, str] | None:
    """A build recorded in the state folder `root` with this exam seed for another exam
    (course, name or date differ): a copied spec for the retake would repeat its numbers."""
    if root is None:
        return None
    found = _exams_by_seed(root).get(str(seed), [])
    return next((e for e in found if isinstance(e, dict) and not _same_exam(e, exam)), None)


def record_seed(root: Path | None, seed: int, exam: dict[str, str]) -> None:
    """Record that `exam` was built with `seed` (atomically; a failure only loses the record)."""
    if root is None:
        return
    data = _exams_by_seed(root)
    known = [e for e in data.get(str(seed), []) if isinstance(e, dict) and not _same_exam(e, exam)]
    data[str(seed)] = known + [exam]
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".seeds-", dir=root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, root / SEEDS_FILE)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
