"""Where examgen keeps what it can reuse between runs: formats, compiled
batches, page counts (compiling.py) and jinja2 bytecode (rendering.py)."""

from __future__ import annotations

import os
from pathlib import Path


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
