"""Where examgen keeps what it can reuse between runs: formats, compiled
batches, page counts (compiler/) and jinja2 bytecode (rendering.py).

The cache only ever saves time: a folder that cannot be used (read-only, a file
in the way, a full disk) gives one warning line and the build goes on without it."""

from __future__ import annotations

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
