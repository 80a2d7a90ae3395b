"""A no-op rebuild is free: `examgen build` with the inputs of the build already in
OUT returns at once, before anything heavy (numpy, sympy, jinja2, the bank) is imported.

A build records its inputs in its manifest (`inputs`): the sha256 of the spec's bytes,
of every file of examgen itself (its code, layouts' classes and shipped bank) and of every
--bank folder (names and contents, never mtimes), of the files the spec reads (the
logo, named in `inputs.reads` as the spec gives them), and the seed as given, the
variant count, --keep-tex and --booklets (none: one per variant, the same as
--booklets equal to the variant count). A later build with the same fingerprint, whose
OUT holds exactly the files its manifest lists with their sha256 and no diagnostics folder, is
up to date. Anything else (an edited file, an output file changed or missing, another
seed or count, --no-cache) is a normal build. Not covered: a change of the TeX
installation (use --no-cache after updating TeX Live)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import BANK_DIR, __version__
from .outputs import sha256

PACKAGE_DIR = Path(__file__).resolve().parent
_SKIP = {"__pycache__"}  # written by Python itself when a solver is imported


def _hash_tree(h: Any, root: Path) -> None:
    """Every file under root, by relative name and content, in a fixed order."""
    if not root.is_dir():
        h.update(b"missing\0")
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP)
        rel = os.path.relpath(folder, root)
        for name in sorted(names):
            if name.endswith(".pyc"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                digest = hashlib.file_digest(f, "sha256").digest()
            h.update(f"{rel}/{name}\0".encode() + digest)


def tree_digest(banks: Iterable[Path]) -> str:
    """sha256 of examgen's own files (code, class, shipped bank) and of every extra bank folder."""
    h = hashlib.sha256(f"examgen {__version__}\0".encode())
    roots = [PACKAGE_DIR, *([BANK_DIR] if not BANK_DIR.is_relative_to(PACKAGE_DIR) else [])]
    for k, root in enumerate([*roots, *map(Path, banks)]):
        h.update(f"\0root {k}\0".encode())
        _hash_tree(h, root)
    return h.hexdigest()


@dataclass(frozen=True)
class Inputs:
    """What a build's output depends on besides the spec file: taken before the bank is loaded."""

    tree: str  # tree_digest of examgen and the banks
    seed: int | None  # as given (None: the spec's own)
    variants: int
    keep_tex: bool
    booklets: int | None = None  # as given (None: one per variant)

    @classmethod
    def of(cls, banks: Iterable[Path], seed: int | None, variants: int, keep_tex: bool,
           booklets: int | None = None) -> Inputs | None:
        """None when a bank file cannot be read (the normal build reports that)."""
        try:
            return cls(tree_digest(banks), seed, variants, keep_tex, booklets)
        except OSError:
            return None

    def fingerprint(self, spec_sha256: str, reads: dict[str, str]) -> str:
        data = {"spec": spec_sha256, "tree": self.tree, "seed": self.seed, "variants": self.variants,
                "keep_tex": self.keep_tex, "reads": reads, "booklets": self.booklets or self.variants}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def record(self, spec_sha256: str, logo: str, logo_data: bytes) -> dict[str, Any]:
        """The manifest's `inputs`: the fingerprint and the files the spec reads (as it names them)."""
        reads = {logo: hashlib.sha256(logo_data).hexdigest()} if logo else {}
        return {"sha256": self.fingerprint(spec_sha256, reads), "reads": sorted(reads)}

    def up_to_date(self, out: Path, spec: Path) -> int | None:
        """The variant count of OUT when it was built from these inputs and is intact; else None."""
        try:
            if not stat.S_ISREG(os.stat(spec).st_mode):  # a pipe is read once, by the build
                return None
            from .targets import _owns, _read_manifest, _unlisted, diagnostics_folders

            data = _read_manifest(out)  # the rules every folder examgen writes follows (targets.py)
            if data is None or data["kind"] != "build" or data["examgen"] != __version__:
                return None
            inputs, files = data["inputs"], data["files"]
            reads = {}
            for given in inputs["reads"]:
                path = Path(given)
                reads[given] = sha256(path if path.is_absolute() else spec.parent / path)
            if inputs["sha256"] != self.fingerprint(sha256(spec), reads):
                return None
            if any(_owns(d, "diagnostics") for d in diagnostics_folders(out)):  # a normal build removes them
                return None
            if _unlisted(out, data, False) is not None or any(p.is_symlink() for p in out.rglob("*")):
                return None  # a file the manifest does not list (the build refuses it), a link examgen never writes
            if any(sha256(out / name) != digest for name, digest in files.items()):  # missing: OSError
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return self.variants
