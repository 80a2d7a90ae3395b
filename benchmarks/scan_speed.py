"""Scan speed (issue 16): CPU ms per page at 300 dpi on one core, and 6,000 pages on 2 cores.

    python benchmarks/scan_speed.py [--pages 40] [--build BUILD] [--workers 2]

Simulated 300 dpi JPEG (q60) pages of the quiz (tests/scansim.py) are read the way
`examgen scan` reads an image file: JPEG decode, QR, discs and homography, every box
measured. One core: CPU time per page (time.process_time, so other load on the machine
counts less). Two cores: the same pages through a process pool of --workers, wall time,
extrapolated to 6,000 pages (the target: under 4 minutes)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import scansim  # noqa: E402

from examgen.scan.layout import load_layouts  # noqa: E402
from examgen.scan.pages import read_page  # noqa: E402

_LAYOUTS: dict = {}


def _read(args: tuple[str, bytes]) -> int:
    build, data = args
    if build not in _LAYOUTS:
        _LAYOUTS[build] = load_layouts(Path(build))
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return len(read_page(img, 0, _LAYOUTS[build]).boxes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--build", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build = args.build
        if build is None:
            build = Path(tmp) / "quiz"
            subprocess.run([sys.executable, "-m", "examgen", "build", str(ROOT / "exams" / "quiz.yaml"), "-n", "2",
                            "--booklets", str(-(-args.pages // 4)), "-o", str(build)], check=True,
                           capture_output=True)
        layouts = load_layouts(build)
        rng = np.random.default_rng(6000)
        truth = scansim.random_truth(layouts, -(-args.pages // 4), rng)
        pages = scansim.scan_pages(scansim.simulate(build, layouts, truth, 300, rng), 300, rng)
        jpegs = [(str(build), scansim.jpeg(img, 60)) for img, _ in pages][:args.pages]
        _read(jpegs[0])  # warm-up: imports, layouts
        cpu = time.process_time()
        wall = time.perf_counter()
        for j in jpegs:
            _read(j)
        per_page = (time.process_time() - cpu) / len(jpegs) * 1000
        wall_one = (time.perf_counter() - wall) / len(jpegs) * 1000
        with ProcessPoolExecutor(args.workers) as pool:
            list(pool.map(_read, jpegs[:args.workers]))  # start the workers
            start = time.perf_counter()
            list(pool.map(_read, jpegs, chunksize=4))
            pooled = (time.perf_counter() - start) / len(jpegs)
        print(f"300 dpi, {len(jpegs)} pages: {per_page:.1f} ms CPU per page on one core ({wall_one:.1f} ms wall); "
              f"{args.workers} processes: {pooled * 1000:.1f} ms wall per page, 6,000 pages in about "
              f"{pooled * 6000 / 60:.1f} min measured (on a loaded machine this counts the other load); "
              f"from the CPU time, 6,000 pages on 2 idle cores take {per_page * 6000 / 2 / 1000 / 60:.1f} min")


if __name__ == "__main__":
    main()
