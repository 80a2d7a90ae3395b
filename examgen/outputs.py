"""Write a build's records: per-variant answers.json, answer_key.csv and the
manifest.json every folder examgen writes carries (its kind and every file's
sha256). Where they may be written, and how atomically, is targets.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .model import ExamSpec, SolvedMc, SolvedQuestion, Variant, item_label


def question_record(k: int, q: SolvedQuestion | SolvedMc) -> dict[str, Any]:
    seed = {"entropy": q.seed.entropy, "spawn_key": list(q.seed.spawn_key)}
    if isinstance(q, SolvedMc):
        return {
            "problem": k, "type": "mc", "title": q.title, "credits": q.credits, "seed": seed,
            "items": [
                {
                    "label": item_label(i), "id": d.item.id, "credits": q.credits_per_item,
                    "options": [{"box": j + 1, "text": o.text, "correct": o.correct} for j, o in enumerate(d.options)],
                    "correct_boxes": list(d.correct_boxes),
                }
                for i, d in enumerate(q.items)
            ],
        }
    return {
        "problem": k, "type": q.template.kind, "id": q.template.id, "title": q.title, "credits": q.credits,
        "parts": [{"name": p.name, "credits": p.credits} for p in q.parts],
        "seed": seed, "params": q.params, "answers": q.answers, "rubric": list(q.rubric),
    }


def answers_json(spec: ExamSpec, exam_seed: int, v: Variant) -> str:
    data = {
        "variant": v.code, "exam": {"code": spec.info.code, "name": spec.info.name}, "exam_seed": exam_seed,
        "credits": v.credits,
        "questions": [question_record(k, q) for k, q in enumerate(v.questions, start=1)],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Every CSV examgen writes: a text cell that a spreadsheet would run as a formula
    (starting with = + - @ TAB or CR) gets a leading ' (OWASP, CSV injection); numbers stay numbers."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows([f"'{c}" if isinstance(c, str) and c.startswith(FORMULA_START) else c for c in row] for row in rows)
    return buf.getvalue()


def answer_key_csv(variants: list[Variant]) -> str:
    rows: list[list[object]] = [["variant", "problem", "item", "template", "answers"]]
    for v in variants:
        for k, q in enumerate(v.questions, start=1):
            if isinstance(q, SolvedMc):
                for i, d in enumerate(q.items):
                    rows.append([v.code, k, item_label(i), f"mc:{d.item.id}", ";".join(map(str, d.correct_boxes))])
            else:
                rows.append([v.code, k, "", q.template.id, json.dumps(q.answers, separators=(",", ":"))])
    return csv_text(rows)


def sha256(path: Path) -> str:
    """In chunks: the print files of a large build are hundreds of MB."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# ------------------------------------------------------------------ ownership
MANIFEST = "manifest.json"
KINDS = ("build", "grading", "diagnostics")


def folder_manifest(root: Path, kind: str, **fields: Any) -> str:
    """manifest.json of a folder examgen writes: version, kind, the given fields, every file with its sha256."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    data = {"examgen": __version__, "kind": kind, **fields,
            "files": {p.relative_to(root).as_posix(): sha256(p) for p in files}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def manifest(spec: ExamSpec, exam_seed: int, n_variants: int, root: Path,
             inputs: dict[str, Any] | None = None) -> str:
    """A build's manifest; `inputs` (uptodate.Inputs.record) lets an unchanged rebuild return at once."""
    extra = {"inputs": inputs} if inputs is not None else {}
    return folder_manifest(root, "build", spec=spec.path.name, spec_sha256=spec.sha256, seed=exam_seed,
                           variants=n_variants, **extra)
