"""Correction room speed (issue 17): page-load times of `examgen correct`'s main pages with
600 booklets x 20 pages in grading.sqlite (target: under 300 ms each on the 2-core machine).

    python benchmarks/correct_speed.py [--build BUILD] [--booklets 600] [--pages 20] [--repeat 5]

The database is filled with synthetic rows the shape examgen scan writes: per booklet 20
read pages, 40 measured boxes a page (8 per column, each with its ~0.3 kB crop), an answer-region crop
(~6 kB) per part, an automatic value per column (5 % flagged), a class list of one student
per booklet, half of them mapped. The build's answer keys
(default: the quiz, built into a temporary folder) give the columns. Each page is requested
through Flask's test client (server time, no network): median and worst of --repeat, after
one warm-up request."""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from examgen.correct import Store, create_app  # noqa: E402
from examgen.grading import load_build  # noqa: E402
from examgen.scan import open_db  # noqa: E402


def png(w: int, h: int, rng: np.random.Generator) -> bytes:
    img = np.full((h, w), 255, np.uint8)
    for _ in range(6):
        p, q = rng.integers(0, [w, h], 2), rng.integers(0, [w, h], 2)
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 40, 2)
    return cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def fill(db_path: Path, build: Path, booklets: int, pages: int) -> tuple[str, str]:
    key = load_build(build)
    rng = np.random.default_rng(17)
    box, answer = png(40, 40, rng), png(660, 180, rng)
    db = open_db(db_path)
    codes = sorted(key.variants)
    db.execute("INSERT INTO scan_files(path, sha256, pages, added) VALUES ('synthetic.pdf', 'x', 0, '')")
    page_id = 0
    for b in range(1, booklets + 1):
        variant = codes[(b - 1) % len(codes)]
        cells = key.variants[variant].cells
        cols = sorted(cells)
        db.execute("INSERT INTO booklets(booklet, variant) VALUES (?, ?)", (b, variant))
        for p in range(1, pages + 1):
            page_id += 1
            db.execute("INSERT INTO pages(id, file, idx, qr, variant, booklet, page, residual, discs, status, how) "
                       "VALUES (?, 1, ?, '', ?, ?, ?, 0.1, 3, 'read', 'qr')", (page_id, page_id, variant, b, p))
            # 40 boxes a page, 8 per column: the key's columns on their own page each, the rest
            # columns of problems the key does not have (the build's 20 pages hold more than its columns)
            names = [cols[p - 1] if p <= len(cols) and k == 0 else f"Q{p}{k}" for k in range(5)]
            db.executemany("INSERT INTO measurements(page, kind, column_name, number, corrector, x, y, w, h, dark, "
                           "paper, paper_share, crop) VALUES (?, 'mc', ?, ?, 0, 0, 0, 5, 5, 0.1, 1, 0.9, ?)",
                           [(page_id, names[n // 8], n % 8 + 1, box) for n in range(40)])
            if p <= len(cols) and cells[cols[p - 1]].kind == "part":
                db.execute("INSERT INTO answer_crops(page, column_name, crop) VALUES (?, ?, ?)",
                           (page_id, cols[p - 1], answer))
        for c in cols:
            flags = json.dumps(["box 2: darkness 0.16 near the mark threshold 0.15"]) if rng.random() < 0.05 else "[]"
            db.execute("INSERT INTO automatic VALUES (?, ?, ?, ?)",
                       (b, c, "1" if cells[c].kind == "part" else "2", flags))
    # the class list: one student per booklet, half of the booklets mapped
    db.executemany("INSERT INTO students(registration, last_name, first_name) VALUES (?, ?, ?)",
                   [(f"037{b:05d}", f"Name{b}", f"First{b}") for b in range(1, booklets + 1)])
    db.executemany("UPDATE booklets SET registration = ? WHERE booklet = ?",
                   [(f"037{b:05d}", b) for b in range(1, booklets + 1, 2)])
    db.commit()
    db.close()
    part = next(c for c in key.columns if any(c in v.cells and v.cells[c].kind == "part"
                                               for v in key.variants.values()))
    return part, codes[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, default=None)
    ap.add_argument("--booklets", type=int, default=600)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="examgen-correct-bench-") as tmp:
        build = args.build
        if build is None:
            from examgen.pipeline import build_exam

            build = Path(tmp) / "quiz"
            build_exam(ROOT / "exams" / "quiz.yaml", None, 2, build)
        db = Path(tmp) / "grading.sqlite"
        t0 = time.perf_counter()
        part, _ = fill(db, build, args.booklets, args.pages)
        print(f"filled {args.booklets} booklets x {args.pages} pages in {time.perf_counter() - t0:.1f} s "
              f"({db.stat().st_size / 1e6:.0f} MB)")
        store = Store(db)
        token = store.add_tutor("bench")
        store.close()
        client = create_app(build, db).test_client()
        client.get(f"/login/{token}")
        middle = args.booklets // 2
        booklet_page = client.get(f"/part/{part}/{middle}").get_data(as_text=True)
        crop = re.search(r'src="(/crop/\d+\.png)"', booklet_page)
        pages = {"problems (/)": "/", f"part list (/part/{part})": f"/part/{part}",
                 f"booklet (/part/{part}/{middle})": f"/part/{part}/{middle}",
                 "answer crop": crop[1] if crop else "/", "review queue": "/review", "progress": "/progress",
                 "mapping": "/mapping", "consensus": "/consensus"}
        worst = 0.0
        for name, url in pages.items():
            times = []
            for _ in range(args.repeat + 1):
                t = time.perf_counter()
                r = client.get(url)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (url, r.status_code)
            times = times[1:]
            worst = max(worst, max(times))
            print(f"{name:34s} median {1000 * statistics.median(times):7.1f} ms   worst {1000 * max(times):7.1f} ms")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', booklet_page)
        version = re.search(r'name="version" value="(\d+)"', booklet_page)
        assert csrf and version
        t = time.perf_counter()
        r = client.post(f"/part/{part}/{middle}", data={"points": "1", "version": version[1], "csrf_token": csrf[1]})
        save = time.perf_counter() - t
        assert r.status_code == 302, r.get_data(as_text=True)
        print(f"{'save (POST, then redirect)':34s}        {1000 * save:7.1f} ms")
        print(f"worst page load {1000 * worst:.0f} ms (target < 300 ms): {'ok' if worst < 0.3 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
