"""layout.json (written by `examgen build` into every variant folder): where each machine-read
thing sits on each page, in mm from the page's top-left corner, y downwards.

    {"version": 1, "page_size_mm": [210, 297], "exam_id": "IN2346",
     "pages": [{"page": 1,
                "marks": [{"x": 14, "y": 14, "d": 4}, ...],          disc centres and diameters
                "qr": {"x": ..., "y": ..., "w": ..., "h": ...},       the symbol's box
                "mc_boxes": [{"column": "P1a", "box": 1, "x", "y", "w", "h"}, ...],
                "recheck_boxes": [{"column": "P1a", "box": 1, "x", "y", "w", "h"}, ...],
                "score_boxes": [{"column": "P2a", "value": 0.5, "correction": 1, "x", "y", "w", "h"}],
                "answer_regions": [...],
                "registration_boxes": [{"digit": 1, "value": 0, "x", "y", "w", "h"}, ...]}]}

as examgen.writers.layoutjson writes it (the one format read here). A recheck square is
TUM's "cross next to a filled box"; a score cell's "correction" is its grid column (1st/2nd)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GradingError

Rect = tuple[float, float, float, float]  # x, y, w, h in mm (top-left corner)
REGISTRATION = "registration"  # the column name of the cover's registration-grid boxes (no responses column)


@dataclass(frozen=True)
class Box:
    """One measured field: an MC box, its recheck square or a score-grid cell."""

    kind: str  # "mc" | "recheck" | "score" | "registration"
    column: str  # registration boxes: REGISTRATION
    number: float  # the MC box number, the points a score cell means, a registration box's digit value
    corrector: int  # score cells: 1st or 2nd correction; registration boxes: the digit's column 1..8; 0 otherwise
    rect: Rect


@dataclass(frozen=True)
class PageLayout:
    page: int
    marks: tuple[tuple[float, float, float], ...]  # disc centre x, y and diameter
    qr: Rect
    boxes: tuple[Box, ...]
    regions: tuple[Rect, ...] = ()  # the answer regions (handwriting)
    region_columns: tuple[str, ...] = ()  # ... the part each is for (P2a), in the same order


@dataclass(frozen=True)
class Layout:
    variant: str
    size: tuple[float, float]
    pages: dict[int, PageLayout]
    exam_id: str = ""  # what the QR codes of this build name as their exam


def _rect(d: dict[str, Any]) -> Rect:
    return float(d["x"]), float(d["y"]), float(d["w"]), float(d["h"])


def _mark(d: dict[str, Any]) -> tuple[float, float, float]:
    """A corner disc: its centre and diameter."""
    return float(d["x"]), float(d["y"]), float(d["d"])


def parse(data: dict[str, Any], variant: str) -> Layout:
    pages: dict[int, PageLayout] = {}
    for p in data["pages"]:
        boxes: list[Box] = []
        for b in p.get("mc_boxes", []):
            boxes.append(Box("mc", str(b["column"]), float(b["box"]), 0, _rect(b)))
        for b in p.get("recheck_boxes", []):
            boxes.append(Box("recheck", str(b["column"]), float(b["box"]), 0, _rect(b)))
        for b in p.get("score_boxes", []):
            boxes.append(Box("score", str(b["column"]), float(b["value"]), int(b["correction"]), _rect(b)))
        for b in p.get("registration_boxes", []):
            boxes.append(Box("registration", REGISTRATION, float(b["value"]), int(b["digit"]), _rect(b)))
        pages[int(p["page"])] = PageLayout(int(p["page"]), tuple(_mark(m) for m in p.get("marks", [])),
                                           _rect(p["qr"]), tuple(boxes),
                                           tuple(_rect(r) for r in p.get("answer_regions", [])),
                                           tuple(str(r.get("column", "")) for r in p.get("answer_regions", [])))
    w, h = data.get("page_size_mm", [210, 297])
    return Layout(variant, (float(w), float(h)), pages, str(data.get("exam_id", "")))


def load_layouts(build_dir: Path) -> dict[str, Layout]:
    """Every variant's layout.json of a build folder, by variant code."""
    layouts: dict[str, Layout] = {}
    for f in sorted(Path(build_dir).glob("E[0-9][0-9][0-9][0-9]/layout.json")):
        try:
            layouts[f.parent.name] = parse(json.loads(f.read_text(encoding="utf-8")), f.parent.name)
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GradingError(f"{f}: not a layout.json of examgen build ({type(exc).__name__}: {exc}); "
                               "rebuild the exam with examgen build") from None
    if not layouts:
        raise GradingError(f"{Path(build_dir).resolve()}: no E0001/layout.json; the build is older than "
                           "scanning: rebuild it with examgen build, print and scan that")
    return layouts
