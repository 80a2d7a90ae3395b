"""Records every writer shares: the manifest.json every folder examgen writes carries
(its kind and every file's sha256), sha256 in chunks, and CSV text safe from formula
injection. The writers of each output are examgen/writers/; where they may be written,
and how atomically, is targets.py."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
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
    """In chunks: the print files of a large build are hundreds of MB."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


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
