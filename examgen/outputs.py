"""Write a build: per-variant PDFs and answers.json, answer_key.csv and
manifest.json. Everything goes to a temporary folder beside the target and is
moved into place only when complete, so a failed build leaves no half output."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import OutputError
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


def manifest(spec: ExamSpec, exam_seed: int, n_variants: int, root: Path) -> str:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "manifest.json")
    data = {
        "examgen": __version__, "spec": spec.path.name, "spec_sha256": spec.sha256, "seed": exam_seed,
        "variants": n_variants,
        "files": {p.relative_to(root).as_posix(): sha256(p) for p in files},
    }
    return json.dumps(data, indent=2) + "\n"


def ensure_writable(target: Path) -> None:
    """Fail early, before anything is compiled, when target cannot be created or replaced."""
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; choose another --out or remove the file")
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"{target}: cannot write the output folder there ({blocker} is a file, not a folder); "
                          "choose another --out")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent)).rmdir()
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the output folder there ({exc.strerror or exc}); "
                          "choose another --out") from None


@contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A temporary folder beside target; on success it replaces target whole
    (Ctrl-C and SIGTERM are held back during the swap, so target is never missing)."""
    target = Path(target).resolve()
    ensure_writable(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
