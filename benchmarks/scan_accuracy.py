"""Scan accuracy on simulated booklets (issue 16), per resolution.

    python benchmarks/scan_accuracy.py [--pages 500] [--dpi 150 200 300] [--seed 16] [--blank-qr 0.1]

Builds the quiz (exams/quiz.yaml, 2 variants) with enough numbered booklets for --pages
pages, fills every booklet from a random ground truth (tests/scansim.py: pen crosses of
random width and jitter, some past the box; filled boxes; crosses in recheck squares;
score crosses by two correctors), rasterises print/all-students.pdf at each dpi, distorts
(rotation ±3°, shift ±4 mm, scale 0.97-1.03, blur, noise, contrast, 10 % upside down),
JPEG q60, shuffles, and reads every page with examgen's scan stages (a page without a
readable QR code by its print, its booklet decided over all pages as examgen scan does).
--blank-qr paints the QR code over on that share of the pages before printing, to measure
identification by print. Prints, per dpi: pages identified (how many by their print), wrong booklet/page, MC boxes
right / wrong / wrong and not flagged, MC items right, score columns right / wrong / wrong and
not flagged."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import scansim  # noqa: E402

from examgen.scan.classify import (  # noqa: E402
    DEFAULTS,
    assign_booklets,
    box_state,
    cell_crossed,
    mc_value,
    score_value,
)
from examgen.scan.layout import load_layouts  # noqa: E402
from examgen.scan.pages import Reference, read_page  # noqa: E402


def build(folder: Path, booklets: int) -> Path:
    out = folder / "quiz"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXAMGEN_CACHE": str(folder / "cache")}
    subprocess.run([sys.executable, "-m", "examgen", "build", str(ROOT / "exams" / "quiz.yaml"), "-n", "2",
                    "--booklets", str(booklets), "-o", str(out)], check=True, env=env, capture_output=True)
    return out


def run(build_dir: Path, pages: int, dpi: int, seed: int, blank: float = 0.0) -> dict[str, int]:
    layouts = load_layouts(build_dir)
    reference = Reference(build_dir, layouts)
    per = max(len(lay.pages) for lay in layouts.values())
    rng = np.random.default_rng([seed, dpi])
    truth = scansim.random_truth(layouts, -(-pages // per), rng)
    columns = scansim.columns_of(layouts)
    stats = dict.fromkeys(["pages", "identified", "by_content", "content_undecided", "print_unique", "print_wrong",
                           "wrong_page", "discs_missing",
                           "boxes", "boxes_right", "boxes_wrong", "boxes_wrong_unflagged", "boxes_flagged", "items",
                           "items_right", "scores", "scores_right", "scores_wrong", "scores_wrong_unflagged"], 0)
    booklets: dict[int, str] = {}  # known from their QR codes
    have: set[tuple[int, int]] = set()
    pending = []  # pages identified by their print: their booklet is decided over all pages (as examgen scan does)
    for start in range(0, len(truth), 8):  # a few booklets at a time: memory stays flat
        chunk = truth[start:start + 8]
        printed = scansim.simulate(build_dir, layouts, chunk, dpi, rng)
        for img, (variant, _, page) in printed:
            if blank and rng.random() < blank:  # --blank-qr: the page must be identified by its print
                scansim.blank_qr(img, layouts[variant].pages[page].qr, dpi)
        for img, (variant, booklet, page) in scansim.scan_pages(printed, dpi, rng, 0.1):
            img = cv2.imdecode(np.frombuffer(scansim.jpeg(img, 60), np.uint8), cv2.IMREAD_GRAYSCALE)
            bk = next(b for b in chunk if b.number == booklet)
            stats["pages"] += 1
            read = read_page(img, 0, layouts, reference)
            if read.identity is None and os.environ.get("SCAN_DUMP"):  # a folder: keep the pages without a QR code
                cv2.imwrite(f"{os.environ['SCAN_DUMP']}/{dpi}-B{booklet:03d}-{page}.png", img)
            if read.identity is None and not read.candidates:
                continue
            if read.identity is None:
                pending.append((read, bk, (booklet, variant, page)))
                continue
            stats["identified"] += 1
            if (read.identity.variant, read.identity.booklet, read.identity.page) != (variant, booklet, page):
                stats["wrong_page"] += 1
                continue
            booklets[booklet] = variant
            have.add((booklet, page))
            page_flag = read.discs < 3 or read.residual > DEFAULTS["residual"]
            stats["discs_missing"] += read.discs < 3
            evaluate(stats, read.boxes, bk, page_flag, columns, f"{dpi}-B{booklet:03d}-{page}")
    decided = assign_booklets(booklets, have, [[(v, p) for v, p, _ in r.candidates] for r, _, _ in pending])
    for (read, bk, slot), (got, mine) in zip(pending, decided):
        stats["by_content"] += 1
        said = [c[:2] for c in read.candidates]
        stats["print_unique"] += said == [slot[1:]]  # the print alone named the right variant and page
        stats["print_wrong"] += slot[1:] not in said  # ... or missed it
        if got is None:
            stats["content_undecided"] += 1
            if os.environ.get("SCAN_DUMP"):
                print(f"{dpi} dpi, B{slot[0]:03d} page {slot[2]} ({slot[1]}): by its print "
                      f"{[c[:2] for c in read.candidates]}, undecided between {mine}", file=sys.stderr, flush=True)
            continue
        stats["identified"] += 1
        if got != slot:
            stats["wrong_page"] += 1
            continue
        boxes = next(c[2] for c in read.candidates if c[:2] == (slot[1], slot[2]))
        evaluate(stats, boxes, bk, False, columns, f"{dpi}-B{slot[0]:03d}-{slot[2]}")
    return stats


def evaluate(stats: dict[str, int], measured: list, bk: scansim.Booklet, page_flag: bool, columns: dict[str, str],
             name: str) -> None:
    """Classify one page's measured boxes as examgen scan does and count them against the truth."""
    t = DEFAULTS
    items: dict[str, dict[int, list]] = {}
    grids: dict[str, dict[int, list]] = {}
    for m in measured:
        if m.box.kind == "score":
            crossed, flag = cell_crossed(m.dark, t)
            grids.setdefault(m.box.column, {}).setdefault(m.box.corrector, []).append((m.box.number, crossed, flag))
            continue
        r = box_state(m.dark, m.share, t)
        items.setdefault(m.box.column, {}).setdefault(int(m.box.number), [None, None])[
            0 if m.box.kind == "mc" else 1] = r
        if m.box.kind == "mc":
            want = bk.boxes[(m.box.column, int(m.box.number))]
            want = "filled" if want == "refilled" else want
            stats["boxes"] += 1
            ok = r.state == want
            stats["boxes_right"] += ok
            stats["boxes_wrong"] += not ok
            stats["boxes_flagged"] += bool(r.flag) or page_flag
            stats["boxes_wrong_unflagged"] += not ok and not r.flag and not page_flag
            if not ok and os.environ.get("SCAN_DUMP"):  # keep the wrong box's crop to look at
                box = f"{name}-{m.box.column}-{int(m.box.number)}"
                Path(os.environ["SCAN_DUMP"], f"{box}.png").write_bytes(m.crop)
                print(f"{box}: want {want}, read {r.state} (dark {m.dark:.3f}, paper share {m.share:.3f}, "
                      f"radius {m.paper:.2f} mm){' flagged: ' + r.flag if r.flag else ''}", file=sys.stderr,
                      flush=True)
    expected = bk.expected(columns)
    for col, boxes in items.items():
        value, flags = mc_value({n: (a, b) for n, (a, b) in boxes.items()})
        stats["items"] += 1
        stats["items_right"] += value == expected[col]
    for col, grid in grids.items():
        value, flags = score_value(grid)
        stats["scores"] += 1
        ok = value == expected[col]
        stats["scores_right"] += ok
        stats["scores_wrong"] += not ok
        stats["scores_wrong_unflagged"] += not ok and not flags and not page_flag


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--build", type=Path, default=None, help="an existing build with enough --booklets")
    ap.add_argument("--blank-qr", type=float, default=0.0, metavar="FRACTION",
                    help="paint the QR code over on this share of the pages (identification by print)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build_dir = args.build or build(Path(tmp), -(-args.pages // 4))
        for dpi in args.dpi:
            s = run(build_dir, args.pages, dpi, args.seed, args.blank_qr)
            print(f"{dpi} dpi: pages {s['identified']}/{s['pages']} identified ({s['by_content']} without a readable "
                  f"QR code, by their print: variant and page right and alone {s['print_unique']}, missed "
                  f"{s['print_wrong']}, booklet undecided {s['content_undecided']}), "
                  f"{s['wrong_page']} wrong booklet/page, "
                  f"{s['discs_missing']} with a disc missing; MC boxes {s['boxes_right']}/{s['boxes']} right "
                  f"({100 * s['boxes_right'] / max(1, s['boxes']):.2f} %), {s['boxes_wrong']} wrong, "
                  f"{s['boxes_wrong_unflagged']} wrong and not flagged, {s['boxes_flagged']} flagged; "
                  f"MC items {s['items_right']}/{s['items']}; score columns {s['scores_right']}/{s['scores']} right, "
                  f"{s['scores_wrong']} wrong, {s['scores_wrong_unflagged']} wrong and not flagged", flush=True)


if __name__ == "__main__":
    main()
