"""The verified compile cache: formats, page counts and each batch's PDFs.

Every entry records the sha256 of each of its files (entry.json, written last)
and is verified on read: a damaged entry is removed and built anew, never
shipped. A cache folder that cannot be used gives one warning (cachedir) and
the build goes on without it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from .. import __version__, cachedir
from ..errors import ExamgenError
from ..outputs import sha256

ENTRY = "entry.json"  # in every cache entry, written last: {"files": {name: sha256}, ...what it is for}


class CacheStats:
    """Final-pass batches taken from the PDF cache (hits) or typeset (misses) by one
    compiler: the CLI's summary line reads them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


def key(*parts: str | bytes) -> str:
    """A cache key: the sha256 of the parts, each terminated."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def _tex_installation() -> tuple[str, dict[str, str]]:
    """pdfTeX's version line and where kpsewhich finds the font map and the LaTeX format (by file
    name; a file it does not find is missing): one kpsewhich run for both, beside `pdftex --version`
    (the three, one after another, were 25 ms before the CLI's first TeX run). Once per process."""
    try:
        with subprocess.Popen(["pdftex", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) as version:
            found = subprocess.run(["kpsewhich", "-engine=pdftex", "pdftex.map", "pdflatex.fmt"], capture_output=True,
                                   text=True).stdout.splitlines()
            line = version.communicate()[0].splitlines()[0]
    except (FileNotFoundError, IndexError, OSError):
        raise ExamgenError("pdflatex not found: install TeX Live (see README: 'make exam')") from None
    return line, {Path(f).name: f for f in found if f.strip()}


@lru_cache(maxsize=1)
def tex_distribution() -> dict[str, str]:
    """The TeX distribution that typesets, as a build's manifest records it (so that a byte
    difference between two machines can be explained): pdfTeX's version line
    (`pdflatex --version`) and the sha256 of the font map pdfTeX reads (pdftex.map: which
    font file each font embeds; installing a TeX font package changes it). Once per process."""
    version, files = _tex_installation()
    try:
        font_map = sha256(Path(files["pdftex.map"])) if "pdftex.map" in files else "none"
    except OSError:
        raise ExamgenError("pdflatex not found: install TeX Live (see README: 'make exam')") from None
    return {"pdftex": version, "font_map_sha256": font_map}


@lru_cache(maxsize=1)
def tex_identity() -> str:
    """The TeX installation, for cache keys: pdfTeX's version, the font map and the format it loads."""
    tex = tex_distribution()
    fmt = _tex_installation()[1].get("pdflatex.fmt", "")
    try:
        stamp = f"{fmt}:{os.stat(fmt).st_mtime_ns}" if fmt else ""
    except OSError:
        raise ExamgenError("pdflatex not found: install TeX Live (see README: 'make exam')") from None
    return f"{tex['pdftex']}|{tex['font_map_sha256']}|{stamp}|examgen {__version__}"


class Cache:
    """One cache folder (already probed as usable): entries under root/<kind>/<key>."""

    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def usable(cls, root: Path | None) -> Cache | None:
        """The cache at root (usually cachedir.cache_dir()) if it can be created and written
        (cachedir.usable_cache: a probe file; an unusable folder is warned about once), else None."""
        found = cachedir.usable_cache(root)
        return cls(found) if found is not None else None

    def entry(self, kind: str, name: str) -> Path:
        return self.root / kind / name

    def store(self, final: Path, files: dict[str, Path | bytes], **meta: object) -> None:
        """Create a cache entry atomically: the files copied into a temporary folder beside
        it, their sha256 recorded in entry.json (written last), then renamed. A cache that
        fails (read-only, full) gives one warning (cachedir.unusable); the build goes on."""
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        except OSError as exc:
            cachedir.unusable(self.root, exc)
            return
        try:
            digests = {}
            for name, src in files.items():
                if isinstance(src, bytes):
                    (tmp / name).write_bytes(src)
                else:
                    shutil.copyfile(src, tmp / name)
                digests[name] = sha256(tmp / name)
            (tmp / ENTRY).write_text(json.dumps({"files": digests, **meta}, sort_keys=True))
            try:
                tmp.rename(final)
            except OSError:
                if not final.exists():
                    raise
                # another build stored it first (its entry is verified when read)
        except OSError as exc:
            cachedir.unusable(self.root, exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def verified(self, entry: Path, names: list[str], **meta: object) -> Path | None:
        """A cache entry that holds exactly these files, each with the sha256 its entry.json
        records, and records `meta` (what it is for); None on a miss. A damaged entry (a
        changed, missing or extra file, an unreadable or malformed record) is removed: a miss."""
        if not entry.exists():
            return None
        try:
            record = json.loads((entry / ENTRY).read_text())
            files = record["files"]
            good = (isinstance(files, dict) and sorted(files) == sorted(names)
                    and sorted(os.listdir(entry)) == sorted([*names, ENTRY])
                    and all(record.get(k) == v for k, v in meta.items())
                    and all(sha256(entry / name) == files[name] for name in names))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            good = False
        if good:
            return entry
        self.discard(entry)
        return None

    @staticmethod
    def discard(entry: Path) -> None:
        """Remove a damaged entry; another build may be removing it at the same time."""
        doomed = entry.with_name(f".bad-{entry.name}-{os.getpid()}-{threading.get_ident()}")
        try:
            entry.rename(doomed)
        except OSError:  # gone already, or the cache is read-only: the next store reports that
            return
        shutil.rmtree(doomed, ignore_errors=True)
