"""E????/layout.json: where everything a scanner reads sits on each page of the variant's
student PDF, as the class logged it while typesetting (\\pdfsavepos; layouts.regions), so
that `examgen scan` can register a page with its corner discs and measure its boxes.

    {"version": 1, "page_size_mm": [210, 297], "exam_id": "IN2346", "variant": "E0001",
     "qr_format": "IN2346-E0001-B{booklet:03d}-{page:02d}", "pages": [{"page": 1,
       "marks": [{"corner": "top-left", "x": 14.0, "y": 14.0, "d": 3.5}, ...],
       "qr": {"corner": "bottom-right", "x": 188.0, "y": 275.0, "w": 10.0, "h": 10.0},
       "mc_boxes": [{"column": "P1a", "box": 1, "x": ..., "y": ..., "w": ..., "h": ...}],
       "recheck_boxes": [{"kind": "recheck", "column": "P1a", "box": 1, "x": ..., ...}],
       "score_boxes": [{"column": "P2a", "value": 0.5, "correction": 1, "row": 1, "x": ..., ...}],
       "answer_regions": [{"column": "P2a", "x": ..., "y": ..., "w": ..., "h": ...}],
       "registration_boxes": [{"digit": 1, "value": 0, "x": ..., ...}]}, ...]}

Millimetres, origin at the page's top-left corner, y downwards; (x, y) is a box's top-left
corner, except in `marks`, where (x, y) is a disc's centre and `d` its diameter.
`column` and `box` are the column names and box numbers of the responses CSV
(`examgen grade --template`, examgen/grading.py): P<problem><item or part>, boxes from 1.
- mc_boxes: an MC box's outer edge (its 0.6 pt frame included);
- recheck_boxes: the dotted square left of each MC box, for TUM's rule "a cross next to a
  filled box checks it again" (its own list, so that mc_boxes holds only boxes);
- score_boxes: every cell of a score grid, its white inside between the rules; `value` the
  points the cell means (row r from the top: r/2), `correction` 1 or 2 (the grid's left and
  right column: first and second correction);
- answer_regions: the frame of a part's answer area;
- registration_boxes (page 1, only with exam.registration_grid): the cover's grid, 8 columns
  (`digit` 1..8, left to right: the registration number's digits) of 10 boxes (`value` 0..9),
  each box's outer edge as in mc_boxes;
- qr: the QR code's square (without its quiet zone); `qr_format` its content, a Python
  format string of the booklet and page numbers (examgen.qrcodes.text).
The rule examples on the MC pages (crossed and filled boxes) are not listed."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from .. import jsontext, qrcodes
from ..layouts import Region
from ..model import Exam, Variant

VERSION = 1
PAGE_SIZE_MM = [210, 297]  # A4: both layouts


def _box(r: Region) -> dict[str, float]:
    return {"x": r.x_mm, "y": r.y_mm, "w": r.width_mm, "h": r.height_mm}


def layout_record(exam_id: str, code: str, pages: int, found: tuple[Region, ...], booklets: int = 1) -> dict[str, Any]:
    """The layout.json of one variant from the regions and boxes its student PDF logged."""
    record: list[dict[str, Any]] = [{"page": p, "marks": [], "qr": None, "mc_boxes": [], "recheck_boxes": [],
                                     "score_boxes": [], "answer_regions": []} for p in range(1, pages + 1)]
    for r in found:
        if not 1 <= r.page <= pages:
            continue
        page = record[r.page - 1]
        if r.kind == "disc":
            page["marks"].append({"corner": r.part, "x": round(r.x_mm + r.width_mm / 2, 2),
                                  "y": round(r.y_mm + r.height_mm / 2, 2), "d": r.width_mm})
        elif r.kind == "qr":
            page["qr"] = {"corner": r.part, **_box(r)}
        elif r.kind == "score":
            part, correction, row = r.part.split("/")
            page["score_boxes"].append({"column": f"P{r.problem}{part}", "value": int(row) / 2,
                                        "correction": int(correction), "row": int(row), **_box(r)})
        elif r.kind == "recheck":
            item, box = r.part.split(".")
            page["recheck_boxes"].append({"kind": "recheck", "column": f"P{r.problem}{item}", "box": int(box),
                                          **_box(r)})
        elif r.kind == "registration":
            digit, value = r.part.split(".")
            page.setdefault("registration_boxes", []).append({"digit": int(digit), "value": int(value), **_box(r)})
        elif r.kind == "region" and "." in r.part:
            item, box = r.part.split(".")
            page["mc_boxes"].append({"column": f"P{r.problem}{item}", "box": int(box), **_box(r)})
        elif r.kind == "region":
            page["answer_regions"].append({"column": f"P{r.problem}{r.part}", **_box(r)})
    for page in record:
        page["marks"].sort(key=lambda m: (m["y"], m["x"]))
    return {"version": VERSION, "page_size_mm": PAGE_SIZE_MM, "exam_id": exam_id, "variant": code,
            "qr_format": qrcodes.pattern(exam_id, code, booklets), "pages": record}


def layout_json(exam: Exam, v: Variant, booklets: int) -> str:
    """A variant's layout.json (of `booklets` booklets)."""
    data = layout_record(qrcodes.exam_id(exam.spec.info.code), v.code, exam.pages[v.code],
                         tuple(exam.boxes.get(v.code, ())), booklets)
    return jsontext.dumps(data, indent=1) + "\n"


def write(exam: Exam, folder: Path, booklets: int | None = None, made: Collection[str] = ()) -> None:
    """folder/E????/layout.json for every variant (the variant folders exist) but those `made`
    ahead: written there already (layout_json with the same booklets: the same text)."""
    n = booklets or len(exam.variants)
    for v in exam.variants:
        if v.code not in made:
            (folder / v.code / "layout.json").write_text(layout_json(exam, v, n), encoding="utf-8")
