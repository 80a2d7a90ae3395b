"""E????/answers.json, version 2: per variant, every question's graded answers (exact
value, tolerance, points), rubric, and where each part sits in the student PDF. The JSON
Schema is examgen/schemas/answers-v2.schema.json (SCHEMA); tests validate every build
against it. Grading, scanning and correction read this file, nothing else."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from .. import jsontext, values
from ..layouts import Region
from ..model import Exam, GradedAnswer, SolvedMc, SolvedQuestion, Variant, item_label
from ..resources import package_file

VERSION = 2
SCHEMA = package_file("examgen", "schemas/answers-v2.schema.json")


def _plain(x: Any) -> Any:
    """numpy values as JSON values: for parameters, which an instructor's sampler may return
    as numpy scalars (sampling.jsonable would also turn 2.0 into 2, which prints differently)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def graded_record(a: GradedAnswer, value: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"name": a.name, "label": a.label, "kind": a.kind, "points": a.points}
    if a.kind != "text" or value is not None:
        rec["value"] = value  # the solver's answers are JSON values already (sampling.solve)
    if a.numeric:
        rec["shape"] = values.shape(value)
        rec["round"] = a.round
        rec["tolerance"] = a.tolerance
    if a.choices:
        rec["choices"] = list(a.choices)
    if a.accepts:
        rec["accepts"] = a.accepts
    return rec


def question_record(k: int, q: SolvedQuestion | SolvedMc, regions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One problem; `regions` maps its part names (and MC boxes, "<item>.<option>") to
    where their answer areas sit in the student PDF."""
    seed = {"entropy": q.seed.entropy, "spawn_key": list(q.seed.spawn_key)}
    if isinstance(q, SolvedMc):
        return {
            "problem": k, "type": "mc", "title": q.title, "credits": q.credits, "seed": seed,
            "items": [
                {
                    "label": item_label(i), "id": d.item.id, "credits": q.credits_per_item,
                    "options": [{"box": j + 1, "text": o.text, "correct": o.correct,
                                 **({"region": regions[f"{item_label(i)}.{j + 1}"]}
                                    if f"{item_label(i)}.{j + 1}" in regions else {})}
                                for j, o in enumerate(d.options)],
                    "correct_boxes": list(d.correct_boxes),
                }
                for i, d in enumerate(q.items)
            ],
        }
    graded = q.graded()
    return {
        "problem": k, "type": q.template.kind, "id": q.template.id, "title": q.title, "credits": q.credits,
        "seed": seed, "params": _plain(q.params),
        "parts": [
            {
                "name": p.name, "credits": p.credits,
                "answers": [graded_record(a, v) for part, a, v in graded if part.name == p.name],
                "rubric": [{"points": r["points"], "text": r["text"]} for r in q.rubric if r["part"] == p.name],
                **({"region": regions[p.name]} if p.name in regions else {}),
            }
            for p in q.parts
        ],
    }


def variant_record(exam: Exam, v: Variant) -> dict[str, Any]:
    where = _where(exam.boxes.get(v.code, ()))
    return {
        "version": VERSION, "variant": v.code,
        "exam": {"code": exam.spec.info.code, "name": exam.spec.info.name}, "exam_seed": exam.seed,
        "credits": v.credits,
        **({"pages": exam.pages[v.code]} if v.code in exam.pages else {}),
        "questions": [question_record(k, q, where.get(k, {})) for k, q in enumerate(v.questions, start=1)],
    }


def answers_json(exam: Exam, v: Variant) -> str:
    return jsontext.dumps(variant_record(exam, v), indent=2, ensure_ascii=False) + "\n"


def write(exam: Exam, folder: Path, made: Collection[str] = ()) -> None:
    """folder/E????/answers.json for every variant (the variant folders exist) but those `made`
    ahead: written there already (answers_json of an exam of that variant alone, with its pages
    and regions: the same text)."""
    for v in exam.variants:
        if v.code not in made:
            (folder / v.code / "answers.json").write_text(answers_json(exam, v), encoding="utf-8")


def _where(found: Iterable[Region]) -> dict[int, dict[str, dict[str, float]]]:
    """The answer areas and MC boxes as answers.json gives them: problem -> part label (or
    "<item>.<option>" for a multiple-choice box) -> page and rectangle in mm."""
    out: dict[int, dict[str, dict[str, float]]] = {}
    for r in found:
        if r.kind != "region":  # a scan mark, a score cell, a re-check square: layout.json only
            continue
        out.setdefault(r.problem, {})[r.part] = {"page": r.page, "x": r.x_mm, "y": r.y_mm, "width": r.width_mm,
                                                 "height": r.height_mm}
    return out
