"""Records every writer shares: the manifest.json every folder examgen writes carries
(its kind and every file's sha256), sha256 in chunks, and CSV text safe from formula
injection. The writers of each output are examgen/writers/; where they may be written,
and how atomically, is targets.py."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__, jsontext

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(rows: Iterable[Sequence[object]], delimiter: str = ",") -> str:
    """Every CSV examgen writes: a text cell that a spreadsheet would run as a formula
    (starting with = + - @ TAB or CR) gets a leading ' (OWASP, CSV injection); numbers stay numbers."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerows([f"'{c}" if isinstance(c, str) and c.startswith(FORMULA_START) else c for c in row] for row in rows)
    return buf.getvalue()


def sha256(path: Path) -> str:
    """In chunks: the print files of a large build are hundreds of MB. A file hashed before by
    `remember_sha256` and unchanged since (the same inode, size and modification time) is not read again."""
    known = _HASHED.get(_identity(os.stat(path)))
    return known if known is not None else _sha256(path)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return _digest(f)


def _digest(f: io.BufferedReader) -> str:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


# sha256 of files examgen made and will not change, by _identity: a build's PDFs are hashed as they are made,
# beside TeX, and linked into the output; the manifest then reads none of them again (remembered_hashes)
_HASHED: dict[tuple[int, int, int, int], str] = {}


_BUILDS = [0]  # the remembered_hashes blocks open now


def remember_sha256(path: Path) -> None:
    """Hash a file now (in a thread of its own: the hashing releases the GIL), for sha256 later: inside
    remembered_hashes only (outside, nothing would forget it)."""
    if _BUILDS[0]:
        with open(path, "rb") as f:
            _HASHED[_identity(os.fstat(f.fileno()))] = _digest(f)


@contextmanager
def remembered_hashes() -> Iterator[None]:
    """The hashes remembered inside (a build), dropped once the last such block is left (its work folder
    gone): a removed file's inode may be reused by another file of the same size and modification time,
    as the file system's clock counts it."""
    _BUILDS[0] += 1
    try:
        yield
    finally:
        _BUILDS[0] -= 1
        if not _BUILDS[0]:
            _HASHED.clear()


# ------------------------------------------------------------------ ownership
MANIFEST = "manifest.json"
KINDS = ("build", "grading", "diagnostics", "seating", "review")


def folder_manifest(root: Path, kind: str, live: tuple[str, ...] = (), **fields: Any) -> str:
    """manifest.json of a folder examgen writes: version, kind, the given fields, every file with its
    sha256; `live` files (a database updated in place, e.g. by the correction app) are listed as
    "live", without a hash, whether or not they are in root yet (targets.staging moves them in)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST
                   and p.relative_to(root).as_posix() not in live)
    listed = {p.relative_to(root).as_posix(): sha256(p) for p in files}
    listed.update({name: "live" for name in live})
    data = {"examgen": __version__, "kind": kind, **fields, "files": dict(sorted(listed.items()))}
    return jsontext.dumps(data, indent=2, ensure_ascii=False) + "\n"
