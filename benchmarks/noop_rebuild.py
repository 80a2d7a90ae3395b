"""A no-op rebuild against a warm full rebuild, in one run (issue 13, item 5).

    python benchmarks/noop_rebuild.py [--spec exams/quiz.yaml] [-n 2] [--runs 10]

Builds SPEC once into a temporary folder (a fresh compile cache), then times, each
in a subprocess (Python's start-up included):
  noop  `examgen build` again with nothing changed: the manifest's inputs and every
        output file are verified and nothing else happens (median of --runs runs);
  warm  one full rebuild with the compile cache filled but the inputs changed by one
        byte (a comment appended to a copy of the spec): loading the bank, sampling,
        solving, rendering, PDFs from the cache, writing.
Prints both times and their ratio. The machine is noisy: compare the ratio of one
run, not absolute seconds across runs."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(spec: Path, n: int, out: Path, env: dict[str, str]) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "examgen", "build", str(spec), "-n", str(n), "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, default=ROOT / "exams" / "quiz.yaml")
    ap.add_argument("-n", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="noop-bench-") as tmp:
        env = dict(os.environ, EXAMGEN_CACHE=str(Path(tmp) / "cache"), PYTHONPATH=str(ROOT))
        spec = Path(tmp) / args.spec.name  # a copy beside its logo, if any, so that it can be edited
        spec.write_bytes(args.spec.read_bytes())
        for f in args.spec.parent.iterdir():
            if f.is_file() and f.suffix in (".png", ".jpg", ".pdf"):
                (Path(tmp) / f.name).write_bytes(f.read_bytes())
        out = Path(tmp) / "out"
        build(spec, args.n, out, env)  # cold: fills the compile cache
        noop = []
        for _ in range(args.runs):
            seconds, line = build(spec, args.n, out, env)
            if "up to date" not in line:
                raise SystemExit(f"not a no-op rebuild: {line}")
            noop.append(seconds)
        spec.write_bytes(spec.read_bytes() + b"\n# edited\n")
        warm, line = build(spec, args.n, out, env)
        if "files written" not in line:
            raise SystemExit(f"not a full rebuild: {line}")
    median = statistics.median(noop)
    print(f"{args.spec.name}, {args.n} variants: no-op rebuild {median:.3f} s (median of {args.runs}; "
          f"min {min(noop):.3f}, max {max(noop):.3f}); warm full rebuild {warm:.3f} s; "
          f"ratio {warm / median:.1f}x")


if __name__ == "__main__":
    main()
