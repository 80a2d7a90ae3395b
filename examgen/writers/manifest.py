"""manifest.json of a build: examgen's version, the spec, the seed, the variant count, the booklet count,
every file with its sha256 (what makes the folder examgen's, see targets.py), the TeX
distribution that typeset it (`tex`: pdfTeX's version and the sha256 of its font map) and the
inputs fingerprint that lets an unchanged rebuild return at once (uptodate.py). Written
last, after every other file of the folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compiler.cache import tex_distribution
from ..model import Exam
from ..outputs import MANIFEST, folder_manifest


def write(exam: Exam, folder: Path, inputs: dict[str, Any] | None = None, booklets: int | None = None) -> None:
    """`inputs` (uptodate.Inputs.record) lets an unchanged rebuild return at once; `booklets`: the
    numbered booklets printed (default one per variant; examgen seat reads it)."""
    extra: dict[str, Any] = {"inputs": inputs} if inputs is not None else {}
    text = folder_manifest(folder, "build", spec=exam.spec.path.name, spec_sha256=exam.spec.sha256, seed=exam.seed,
                           variants=len(exam.variants), booklets=booklets or len(exam.variants), tex=tex_distribution(),
                           **extra)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
