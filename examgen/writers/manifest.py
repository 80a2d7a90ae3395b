"""manifest.json of a build: examgen's version, the spec, the seed, the variant count,
every file with its sha256 (what makes the folder examgen's, see targets.py) and the
inputs fingerprint that lets an unchanged rebuild return at once (uptodate.py). Written
last, after every other file of the folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model import Exam
from ..outputs import MANIFEST, manifest


def write(exam: Exam, folder: Path, inputs: dict[str, Any] | None = None) -> None:
    (folder / MANIFEST).write_text(manifest(exam.spec, exam.seed, len(exam.variants), folder, inputs),
                                   encoding="utf-8")
