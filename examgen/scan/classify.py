"""Measurements -> values, by thresholds that live in grading.sqlite (change them and the next
`examgen scan BUILD` re-classifies every stored measurement; nothing is rescanned).

MC boxes by TUM's rule: a crossed box is checked, a filled box is cancelled, a cross in the
recheck square beside a filled box checks it again. Score grids: one cross per correction
column; the 2nd correction's cross, when there is one, replaces the 1st; two crosses in one
column, or none at all, is a flag. A measurement within `band` of a threshold is a flag."""

from __future__ import annotations

from dataclasses import dataclass

# calibrated on the simulator (tests/scansim.py, benchmarks/scan_accuracy.py); recalibrate on a
# dry run of real scans (README)
DEFAULTS = {
    # mean darkness from which a box holds a mark (empty below): simulated empty boxes read at
    # most 0.04, crosses of the thinnest pen at 300 dpi from 0.30 (at 150 dpi the blur thickens
    # them: from 0.48); the first calibration's 0.30 misread such a cross as empty
    "mark": 0.15,
    "mark_band": 0.07,  # +- around mark: flagged
    "fill": 0.08,  # share of the inside left as paper up to which a marked box is filled (cancelled)
    "fill_band": 0.04,
    "score": 0.30,  # mean darkness from which a score cell is crossed
    "score_band": 0.10,
    "residual": 0.50,  # mm: registration residual above which the page is flagged
}


@dataclass(frozen=True)
class Reading:
    state: str  # "empty" | "crossed" | "filled"
    flag: str  # '' or why a person should look


def box_state(dark: float, share: float, t: dict[str, float]) -> Reading:
    """A box from its mean darkness and the share of its inside left as paper: a cross leaves
    paper between its strokes (measured >= 15 %), a filled box at most specks (<= 4 %)."""
    near_mark = abs(dark - t["mark"]) < t["mark_band"]
    flag = f"darkness {dark:.2f} near the mark threshold {t['mark']:.2f}" if near_mark else ""
    if dark < t["mark"]:
        return Reading("empty", flag)
    if abs(share - t["fill"]) < t["fill_band"]:
        flag = flag or f"paper share {share:.2f}: crossed or filled?"
    return Reading("filled" if share <= t["fill"] else "crossed", flag)


def cell_crossed(dark: float, t: dict[str, float]) -> tuple[bool, str]:
    near = abs(dark - t["score"]) < t["score_band"]
    return dark >= t["score"], f"darkness {dark:.2f} near the score threshold {t['score']:.2f}" if near else ""


def mc_value(boxes: dict[int, tuple[Reading, Reading | None]]) -> tuple[str, list[str]]:
    """An item's checked boxes ('1;3') from each box's (box reading, recheck reading), and flags."""
    checked, flags = [], []
    for n, (box, recheck) in sorted(boxes.items()):
        if box.flag:
            flags.append(f"box {n}: {box.flag}")
        if recheck is not None and recheck.flag:
            flags.append(f"box {n} recheck square: {recheck.flag}")
        again = recheck is not None and recheck.state != "empty"
        if box.state == "crossed" or (box.state == "filled" and again):
            checked.append(n)
        elif box.state == "empty" and again:
            flags.append(f"box {n}: a cross in the recheck square beside an empty box")
    return ";".join(map(str, checked)), flags


def score_value(cells: dict[int, list[tuple[float, bool, str]]]) -> tuple[str, list[str]]:
    """Points from the grid: corrector -> [(value, crossed, flag)], and flags."""
    flags: list[str] = []
    chosen: dict[int, float] = {}
    for corrector, row in sorted(cells.items()):
        flags += [f"correction {corrector}, {v:g} points: {f}" for v, _, f in row if f]
        crossed = [v for v, c, _ in row if c]
        if len(crossed) > 1:
            flags.append(f"correction {corrector}: {len(crossed)} crosses ({', '.join(f'{v:g}' for v in crossed)})")
        if crossed:
            chosen[corrector] = max(crossed)
    if not chosen:
        return "", ["no cross in the score grid"]
    v = chosen[max(chosen)]
    return (str(int(v)) if v == int(v) else str(v)), flags


def registration_value(grid: dict[int, dict[int, Reading]]) -> tuple[str, list[str]]:
    """The cover's registration grid, digit column (1..8) -> value (0..9) -> its box's reading,
    as the number read ('0370?001': '?' for a column without exactly one crossed box) and a
    flag per unclear column. A box near a threshold makes its column unclear; a filled box
    counts as not crossed (TUM's rule for MC boxes)."""
    digits, flags = [], []
    for col, boxes in sorted(grid.items()):
        crossed = sorted(v for v, r in boxes.items() if r.state == "crossed")
        near = [f"box {v}: {r.flag}" for v, r in sorted(boxes.items()) if r.flag]
        why = "no box crossed" if not crossed else f"{len(crossed)} boxes crossed ({', '.join(map(str, crossed))})" \
            if len(crossed) > 1 else "; ".join(near)
        digits.append(str(crossed[0]) if len(crossed) == 1 and not near else "?")
        if digits[-1] == "?":
            flags.append(f"column {col} unclear ({why})")
    return "".join(digits), flags


Slot = tuple[int, str, int]  # booklet, variant, page


def assign_booklets(booklets: dict[int, str], have: set[tuple[int, int]],
                    pending: list[list[tuple[str, int]]]) -> list[tuple[Slot | None, list[Slot]]]:
    """Which booklet page each page identified by its print (not its QR code) is. `booklets`:
    booklet -> variant, the booklets known from their other pages' codes; `have`: the (booklet,
    page)s read; `pending`: each page's candidate (variant, page)s. A page's slots are the
    booklets of a candidate's variant that lack the candidate's page; it is decided when it has
    exactly one slot and no other pending page could be that slot (a rescan, or two students'
    copies of the same page, stay undecided: a person looks). Returns (the slot or None, all
    its slots) per page."""
    slots = [sorted({(b, v, p) for v, p in cands for b, bv in booklets.items() if bv == v and (b, p) not in have})
             for cands in pending]
    return [(mine[0] if len(mine) == 1 and sum(mine[0] in other for other in slots) == 1 else None, mine)
            for mine in slots]
