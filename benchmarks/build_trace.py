"""Where one build's time goes: its TeX and qpdf processes on a timeline, and its CPU by program
(issue 18's traces, as a script).

    python benchmarks/build_trace.py [--spec exams/in2346-endterm.yaml] [-n 20] [--cold] [--rounds R]
                                     [--against OTHER_CHECKOUT]

Each build is `examgen build SPEC -n N` in a subprocess, as build_speed.py runs it (compiled Python
modules, a private EXAMGEN_CACHE; formats cached unless --cold: a first untimed build leaves the format,
then the PDF and page-count entries are removed before each timed build). pdftex, pdflatex and qpdf are
wrapped by scripts on PATH that log each run's start, end and CPU seconds (the shell's `times`).

Prints, for the last round, every TeX and qpdf run (start and end in seconds from the build's start,
what it worked on), then per round and as medians: the build's seconds, the first TeX process, the last
TeX process's end, the tail after it, and the CPU seconds of TeX, qpdf and Python (the whole process
tree's CPU less the wrapped programs'). With --against, a second checkout (e.g. a `git worktree` of an
earlier commit) is built in turns with this one, each with its own cache: on a noisy machine only such
interleaved rounds compare two versions fairly (two CPU-bound processes each run 15-25% slower than one
alone, and a machine's speed moves by a tenth within minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_speed import cpu, wrappers  # (benchmarks/, the script's folder, is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
WRAPPED = ("pdftex", "pdflatex", "qpdf")
# $TRACE_LOG gets "start end user system name arguments" per run (`times` of the wrapper: its child's
# user and system seconds; written to a file, not a pipe, which would run it in a subshell of its own)
WRAPPER = """#!/bin/sh
case "$1" in --version) exec {real} "$@" ;; esac
start=$(date +%s.%N)
{real} "$@"
rc=$?
end=$(date +%s.%N)
times > "$TRACE_LOG.$$"
cpu=$(tail -n 1 "$TRACE_LOG.$$")
rm -f "$TRACE_LOG.$$"
echo "$start $end $cpu {name} $*" >> "$TRACE_LOG"
exit $rc
"""


def seconds(field: str) -> float:
    """A `times` field (e.g. 0m1.250s) in seconds."""
    minutes, rest = field.rstrip("s").split("m")
    return 60 * float(minutes) + float(rest)


class Tree:
    """One checkout's builds: its wrappers, cache, compiled modules and output."""

    def __init__(self, root: Path, work: Path, spec: Path, n: int, cold: bool):
        self.root, self.work, self.n, self.cold = root, work, n, cold
        self.spec = root / spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec
        bindir = wrappers(work, WRAPPED, WRAPPER)
        self.log = work / "trace.log"
        self.cache = work / "cache"
        self.env = dict(os.environ, PYTHONPATH=str(root), EXAMGEN_CACHE=str(self.cache),
                        PYTHONPYCACHEPREFIX=str(work / "pycache"), TRACE_LOG=str(self.log),
                        PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.run()  # untimed: the compiled modules, the format (and the bank) in the cache

    def run(self) -> tuple[float, float, list[tuple[float, float, float, str, str]]]:
        """One build: its seconds, its process tree's CPU seconds and the wrapped runs (start and end
        from the build's start, CPU seconds, program, arguments)."""
        if self.cold:
            shutil.rmtree(self.cache, ignore_errors=True)
        else:
            for sub in ("pdf", "pages"):
                shutil.rmtree(self.cache / sub, ignore_errors=True)
        out = self.work / "out"
        shutil.rmtree(out, ignore_errors=True)
        self.log.unlink(missing_ok=True)
        t0, start, cpu0 = time.time(), time.perf_counter(), cpu()
        subprocess.run([sys.executable, "-m", "examgen", "build", str(self.spec), "-n", str(self.n), "-o", str(out)],
                       cwd=self.root, env=self.env, check=True, capture_output=True)
        wall, used = time.perf_counter() - start, cpu() - cpu0
        runs = []
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            s, e, user, system, name, *args = line.split()
            work = next((a for a in reversed(args) if not a.startswith("-")), "")
            runs.append((float(s) - t0, float(e) - t0, seconds(user) + seconds(system), name, work))
        return wall, used, sorted(runs)


def figures(wall: float, cpu: float, runs: list[tuple[float, float, float, str, str]]) -> dict[str, float]:
    tex = [r for r in runs if r[3] != "qpdf"]
    used = {name: sum(r[2] for r in runs if (r[3] == "qpdf") == (name == "qpdf")) for name in ("tex", "qpdf")}
    return {"build s": wall, "first TeX s": min(r[0] for r in tex), "last TeX ends s": max(r[1] for r in tex),
            "tail s": wall - max(r[1] for r in tex), "TeX CPU s": used["tex"], "qpdf CPU s": used["qpdf"],
            "Python CPU s": cpu - used["tex"] - used["qpdf"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=ROOT / "exams" / "in2346-endterm.yaml")
    ap.add_argument("-n", "--variants", type=int, default=20)
    ap.add_argument("--cold", action="store_true", help="an empty cache before each build")
    ap.add_argument("--rounds", type=int, default=3, help="timed builds (of each checkout)")
    ap.add_argument("--against", type=Path, help="another checkout of examgen, built in turns with this one")
    args = ap.parse_args()
    spec = args.spec.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        roots = [ROOT, *([args.against.resolve()] if args.against else [])]
        trees = [Tree(root, Path(tmp) / f"tree{k}", spec, args.variants, args.cold) for k, root in enumerate(roots)]
        results: list[list[dict[str, float]]] = [[] for _ in trees]
        last: list[tuple[float, float, float, str, str]] = []
        for _ in range(args.rounds):
            for k, tree in enumerate(trees):
                wall, cpu, runs = tree.run()
                results[k].append(figures(wall, cpu, runs))
                if k == 0:
                    last = runs
    print(f"{spec.name}, {args.variants} variants, {'cold' if args.cold else 'formats cached'}; "
          f"{os.cpu_count()} cores; the last round of {ROOT}:")
    for s, e, used, name, work in last:
        print(f"  {s:6.3f} -> {e:6.3f} s  {e - s:5.3f} s  CPU {used:5.2f} s  {name:8} {work[-60:]}")
    for root, rows in zip(roots, results):
        print(f"{root}:")
        for key in rows[0]:
            values = " ".join(f"{r[key]:6.3f}" for r in rows)
            print(f"  {key:16} median {statistics.median(r[key] for r in rows):6.3f}   ({values})")


if __name__ == "__main__":
    main()
