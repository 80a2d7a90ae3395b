"""Build speed of examgen against the naive way, in one run (issue 6).

    python benchmarks/build_speed.py [--spec exams/in2346-endterm.yaml] [--sizes 20 200]

For each size N: a cold build (`examgen build SPEC -n N`, a fresh compile cache,
so every format, page count and PDF is made) in a subprocess, timed (Python's
start-up included). For the first size also:
  edited  the build again with only the preamble formats cached (as after an
          instructor edits the exam: every PDF is typeset anew);
  naive   the same PDFs made the naive way: one plain `pdflatex` pass per kept
          student.tex / solution.tex (--keep-tex), one after another;
  warm    the same build again with the cache filled (nothing changed);
  python  the Python stages alone (pick, sample, solve, render the LaTeX of both
          versions), timed in this process, as a share of the cold build.
Prints seconds per PDF, the ratio examgen / naive, the Python share and the warm
rebuild time. The machine is noisy: compare the ratios of one run, not absolute
seconds across runs."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(spec: Path, n: int, out: Path, cache: Path, keep_tex: bool = False) -> float:
    env = dict(os.environ, EXAMGEN_CACHE=str(cache), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "examgen", "build", str(spec), "-n", str(n), "-o", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd + (["--keep-tex"] if keep_tex else []), check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def naive(out: Path) -> tuple[float, int]:
    """One plain pdflatex pass per kept .tex, sequential, each in a copy of its folder."""
    texs = sorted(out.glob("E*/student.tex")) + sorted(out.glob("E*/solution.tex"))
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for tex in texs:
            folder = Path(tmp) / f"{tex.parent.name}-{tex.stem}"
            folder.mkdir()
            for f in tex.parent.iterdir():
                if f.suffix in (".tex", ".cls", ".png", ".jpg", ".pdf") and f.name not in ("student.pdf",
                                                                                         "solution.pdf"):
                    (folder / f.name).write_bytes(f.read_bytes())
            start = time.perf_counter()
            subprocess.run(["pdflatex", "-interaction=batchmode", tex.name], cwd=folder, check=True,
                           capture_output=True)
            total += time.perf_counter() - start
    return total, len(texs)


def python_stages(spec_path: Path, n: int) -> float:
    from examgen import layouts
    from examgen.bank import load_bank
    from examgen.pipeline import _batch
    from examgen.questions import build_variant
    from examgen.spec import load_spec

    start = time.perf_counter()
    bank = load_bank()
    spec = load_spec(spec_path, bank)
    seed = spec.seed or 0
    variants = [build_variant(spec, bank, seed, i) for i in range(1, n + 1)]
    for version in (layouts.STUDENT, layouts.SOLUTION):
        _batch(spec, variants, version)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=ROOT / "exams" / "in2346-endterm.yaml")
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200])
    args = ap.parse_args()
    print(f"spec {args.spec.name}; {os.cpu_count()} cores; one run, noisy machine: read the ratios")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        first = args.sizes[0]
        for n in args.sizes:
            cache = tmp_path / f"cache-{n}"
            out = tmp_path / f"out-{n}"
            cold = build(args.spec, n, out, cache, keep_tex=(n == first))
            print(f"examgen build -n {n:<4} cold: {cold:6.1f} s = {cold / (2 * n):.3f} s per PDF ({2 * n} PDFs)")
            py = python_stages(args.spec, n)
            print(f"  python stages (load the bank and spec; pick, sample, solve, render): {py:.2f} s = "
                  f"{100 * py / cold:.1f} % of that build (they overlap the compiling of earlier batches)")
            if n != first:
                continue
            warm = build(args.spec, n, tmp_path / f"warm-{n}", cache)
            for sub in ("pdf", "pages"):  # as after editing the exam: the formats stay, every PDF is new
                shutil.rmtree(cache / sub, ignore_errors=True)
            edited = build(args.spec, n, tmp_path / f"edited-{n}", cache)
            naive_s, count = naive(out)
            print(f"naive (1 plain pdflatex pass per kept .tex, sequential), {count} PDFs: {naive_s:6.1f} s = "
                  f"{naive_s / count:.3f} s per PDF")
            print(f"examgen build -n {n:<4} formats cached (as after an edit): {edited:6.1f} s = "
                  f"{edited / (2 * n):.3f} s per PDF")
            print(f"ratio examgen / naive per PDF: cold {cold / (2 * n) / (naive_s / count):.3f}x, formats cached "
                  f"{edited / (2 * n) / (naive_s / count):.3f}x  (target <= 0.25x)")
            print(f"warm rebuild -n {n} (unchanged, cache filled): {warm:.2f} s (target < 1 s; "
                  f"includes the python start-up)")


if __name__ == "__main__":
    main()
