"""answer_key.csv: one row per graded answer of every variant (an MC item: its boxes),
for a spreadsheet or a grading script: the exact value, the tolerance and the points."""

from __future__ import annotations

import json
from pathlib import Path

from ..model import Exam, SolvedMc, item_label
from ..outputs import csv_text

COLUMNS = ["variant", "problem", "part", "template", "answer", "kind", "value", "round", "tolerance", "points"]


def answer_key_csv(exam: Exam) -> str:
    rows: list[list[object]] = [list(COLUMNS)]
    for v in exam.variants:
        for k, q in enumerate(v.questions, start=1):
            if isinstance(q, SolvedMc):
                for i, d in enumerate(q.items):
                    rows.append([v.code, k, item_label(i), f"mc:{d.item.id}", "boxes", "choice",
                                 ";".join(map(str, d.correct_boxes)), "", "", q.credits_per_item])
                continue
            for part, a, value in q.graded():
                # a number stays a number (a spreadsheet reads it; no formula guard needed), the rest JSON
                shown = "" if value is None else value if isinstance(value, str) else value \
                    if a.kind == "number" else json.dumps(value, separators=(",", ":"))
                rows.append([v.code, k, part.name, q.template.id, a.name or "", a.kind, shown,
                             "" if a.round is None else a.round, a.tolerance if a.numeric else "", a.points])
            for part in q.parts:
                if not part.answers:  # graded by hand from the rubric
                    rows.append([v.code, k, part.name, q.template.id, "", "text", "", "", "", part.credits])
    return csv_text(rows)


def write(exam: Exam, folder: Path) -> None:
    (folder / "answer_key.csv").write_text(answer_key_csv(exam), encoding="utf-8")
