"""Build speed of examgen against one plain pdflatex pass per page, in one run (issues 6, 18).

    python benchmarks/build_speed.py [--spec exams/in2346-endterm.yaml] [-n 20] [--runs 1]

Each build is `examgen build SPEC -n N` in a subprocess, timed from its start
(Python's start-up included), with a private EXAMGEN_CACHE:
  cold            an empty cache: every format, page total and PDF is made;
  formats cached  the same build again with only the formats left in the cache
                  (as after an instructor edits the exam: every PDF is typeset anew);
  plain pass      the baseline: the same variant bodies (kept with --keep-tex, not
                  timed), one plain `pdflatex` pass per kept student.tex and
                  solution.tex, one after another, each in a copy of its folder.
  pdfTeX limit    what pdfTeX itself needs for the same bodies (issue 18's measure): the kept
                  bodies batched as examgen batches them (12 variants at most), one pass each
                  on a format of their preamble (mylatexformat, built before, not timed), two
                  at a time (longest first), each cut into one PDF per variant with qpdf.
Both are compared per page (examgen's time / its pages against the plain passes'
time / theirs: the same pages); examgen is also compared with the limit (1.0x: no overhead
beyond pdfTeX's own typesetting), in seconds and in CPU seconds (steadier on a loaded
machine). Also "Python before the first TeX process": TeX programs (pdftex, pdflatex) are
wrapped by a script on PATH that logs the time it starts; the first typesetting run (not
`--version`) against the build's start. Also the seconds after the last TeX process ended
(the tail: cutting, joining,
writing) and the CPU seconds of the whole process tree against the plain passes'
(less sensitive to other load than wall time: on a loaded machine compare those).
Prints the figures and the ratios (targets of issue 18: formats cached <= 0.16x,
cold <= 0.20x, Python before the first TeX process <= 0.3 s). The machine is noisy:
compare the ratios of one run, not absolute seconds across runs; --runs R takes
each build's median of R runs, and the plain passes are then timed in R parts, one after each run's
builds and limit (a shared machine has slower and faster spells of tens of seconds: a plain pass timed
in one spell and the builds in another moved the ratios by a quarter)."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPED = ("pdftex", "pdflatex")
WRAPPER = """#!/bin/sh
case "$1" in --version) exec {real} "$@" ;; esac
start=$(date +%s.%N)
{real} "$@"
rc=$?
echo "$start $(date +%s.%N) {name}" >> "$EXAMGEN_BENCH_LOG"
exit $rc
"""


def wrappers(folder: Path, names: tuple[str, ...] = WRAPPED, wrapper: str = WRAPPER) -> Path:
    """folder/bin with these programs (default: pdftex and pdflatex) as `wrapper` scripts (default: they
    log when they start), which run the real ones ({real}, named {name})."""
    bindir = folder / "bin"
    bindir.mkdir(parents=True)
    for name in names:
        real = shutil.which(name)
        if real is None:
            sys.exit(f"{Path(sys.argv[0]).stem}: {name} not found on PATH; install TeX Live and qpdf (make exam)")
        script = bindir / name
        script.write_text(wrapper.format(name=name, real=real))
        script.chmod(0o755)
    return bindir


def bytecode(folder: Path, spec: Path) -> dict[str, str]:
    """Python's compiled modules for the builds, as an installed Python and examgen have them:
    written into folder/pycache by one untimed build of one variant (with a cache of its own);
    a machine with PYTHONDONTWRITEBYTECODE would otherwise compile every module in every build."""
    env = {"PYTHONPYCACHEPREFIX": str(folder / "pycache")}
    if not (folder / "pycache").exists():
        run = dict(os.environ, PYTHONPATH=str(ROOT), EXAMGEN_CACHE=str(folder / "warm-cache"), **env)
        run.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "examgen", "build", str(spec), "-n", "1", "-o", str(folder / "warm")],
                       check=True, env=run, capture_output=True)
    return env


def cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far (theirs included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build(spec: Path, n: int, out: Path, cache: Path, bindir: Path,
          keep_tex: bool = False) -> tuple[float, float, float, float]:
    """One build in a subprocess: (seconds, seconds from its start to the first TeX run,
    seconds after the last TeX run ended, CPU seconds of the whole process tree)."""
    log = out.parent / f"{out.name}.tex-starts"
    env = dict(os.environ, EXAMGEN_CACHE=str(cache), PYTHONPATH=str(ROOT), EXAMGEN_BENCH_LOG=str(log),
               PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", **bytecode(bindir.parent, spec))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "examgen", "build", str(spec), "-n", str(n), "-o", str(out)]
    shutil.rmtree(out, ignore_errors=True)
    log.unlink(missing_ok=True)
    t0 = time.time()
    start, cpu0 = time.perf_counter(), cpu()
    subprocess.run(cmd + (["--keep-tex"] if keep_tex else []), check=True, env=env, capture_output=True)
    seconds, t1, used = time.perf_counter() - start, time.time(), cpu() - cpu0
    runs = [tuple(map(float, line.split()[:2])) for line in log.read_text().splitlines()] if log.exists() else []
    if not runs:
        return seconds, float("nan"), float("nan"), used
    return seconds, min(s for s, _ in runs) - t0, t1 - max(e for _, e in runs), used


def pages_of(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def pages(out: Path) -> int:
    """All pages of the build's student and solution PDFs."""
    return sum(pages_of(pdf) for pdf in sorted(out.glob("E*/student.pdf")) + sorted(out.glob("E*/solution.pdf")))


def plain(kept: Path, part: int = 0, parts: int = 1) -> tuple[float, int, float]:
    """One plain pdflatex pass per kept .tex (every `parts`-th of them, from the `part`-th), sequential,
    each in a copy of its folder: (seconds, pages, CPU seconds)."""
    texs = (sorted(kept.glob("E*/student.tex")) + sorted(kept.glob("E*/solution.tex")))[part::parts]
    total, count, used = 0.0, 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for tex in texs:
            folder = Path(tmp) / f"{tex.parent.name}-{tex.stem}"
            shutil.copytree(tex.parent, folder, ignore=shutil.ignore_patterns("*.pdf", "*.json"))
            for f in tex.parent.glob("*.pdf"):
                if f.name not in ("student.pdf", "solution.pdf"):  # a logo
                    shutil.copyfile(f, folder / f.name)
            start, cpu0 = time.perf_counter(), cpu()
            subprocess.run(["pdflatex", "-interaction=batchmode", tex.name], cwd=folder, check=True,
                           capture_output=True, env=dict(os.environ, SOURCE_DATE_EPOCH="0"))
            total += time.perf_counter() - start
            used += cpu() - cpu0
            count += pages_of(folder / f"{tex.stem}.pdf")
    return total, count, used


def limit(kept: Path, n: int, work: Path) -> tuple[float, float]:
    """The pdfTeX limit (see the module's text): seconds from the first batch's start to the
    last one's split, two batches at a time, and the CPU seconds of those runs."""
    from concurrent.futures import ThreadPoolExecutor

    from examgen.compiler.batching import batches

    work.mkdir()
    for f in [*(kept / "E0001").glob("*.cls"), *(kept / "E0001").glob("*.sty")]:
        shutil.copyfile(f, work / f.name)
    begin = "\\begin{document}"
    docs = []
    for version in ("student", "solution"):
        texs = [(kept / f"E{i + 1:04d}" / f"{version}.tex").read_text() for i in range(n)]
        preamble = texs[0][:texs[0].index(begin) + len(begin)] + "\n"  # the same for both versions: one format
        if not (work / "fmt.fmt").exists():
            (work / "fmt.tex").write_text(preamble + "\\end{document}\n")
            subprocess.run(["pdftex", "-ini", "-interaction=nonstopmode", "-jobname=fmt", "&pdflatex",
                            "mylatexformat.ltx", "fmt.tex"], cwd=work, check=True, capture_output=True)
        for b, r in enumerate(batches(n)):  # examgen's batches
            bodies = [t[t.index(begin) + len(begin):t.rindex("\\end{document}")] for t in texs[r.start:r.stop]]
            name = f"{version}-{b}"
            (work / f"{name}.tex").write_text(preamble + "".join(bodies) + "\\end{document}\n")
            docs.append((name, sum(map(len, bodies))))
    docs.sort(key=lambda d: -d[1])  # longest first, as examgen's slots

    def run(doc: tuple[str, int]) -> None:
        name = doc[0]
        subprocess.run(["pdflatex", "-fmt=fmt", "-interaction=batchmode", f"{name}.tex"], cwd=work,
                       check=True, capture_output=True, env=dict(os.environ, SOURCE_DATE_EPOCH="0"))
        log = (work / f"{name}.log").read_text(errors="replace")
        sizes = {int(line.split()[3]) for line in log.splitlines() if line.startswith("EXAMGEN-VARIANT: ")}
        if len(sizes) != 1:
            sys.exit(f"build_speed: {name}.tex: variants of unequal page counts {sorted(sizes)}")
        (work / name).mkdir()
        subprocess.run(["qpdf", f"{name}.pdf", f"--split-pages={sizes.pop()}", f"{name}/part.pdf"], cwd=work,
                       check=True, capture_output=True)

    start, cpu0 = time.perf_counter(), cpu()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, docs))
    return time.perf_counter() - start, cpu() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=ROOT / "exams" / "in2346-endterm.yaml")
    ap.add_argument("-n", "--variants", type=int, default=20)
    ap.add_argument("--runs", type=int, default=1, help="builds of each kind (the median is reported)")
    args = ap.parse_args()
    n = args.variants
    print(f"spec {args.spec.name}, {n} variants; {os.cpu_count()} cores; one run, noisy machine: read the ratios")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bindir = wrappers(tmp_path)
        kinds: dict[str, list[tuple[float, float, float, float]]] = {"cold": [], "formats cached": []}
        build(args.spec, n, tmp_path / "kept", tmp_path / "cache-kept", bindir, keep_tex=True)  # not timed
        # the plain passes in `runs` parts, one after each run's builds: the machine's slower and faster
        # spells (a shared machine's) then weigh on the builds and on the plain passes alike
        plain_s = plain_cpu = 0.0
        plain_pages = 0
        limits = []
        for r in range(args.runs):
            cache = tmp_path / f"cache-{r}"
            kinds["cold"].append(build(args.spec, n, tmp_path / "cold", cache, bindir))
            for sub in ("pdf", "pages"):  # as after editing the exam: the formats stay, every PDF is new
                shutil.rmtree(cache / sub, ignore_errors=True)
            kinds["formats cached"].append(build(args.spec, n, tmp_path / "cached", cache, bindir))
            part = plain(tmp_path / "kept", r, args.runs)
            plain_s, plain_pages, plain_cpu = plain_s + part[0], plain_pages + part[1], plain_cpu + part[2]
            limits.append(limit(tmp_path / "kept", n, tmp_path / f"limit-{r}"))
        total = pages(tmp_path / "cold")
        if plain_pages != total:
            sys.exit(f"build_speed: the kept .tex files typeset to {plain_pages} pages, the build has {total}")
        per_plain = plain_s / plain_pages
        print(f"plain pdflatex, one pass per kept .tex, sequential: {plain_s:6.2f} s for {plain_pages} pages = "
              f"{1000 * per_plain:.1f} ms per page; CPU {plain_cpu:.2f} s")
        limit_s, limit_cpu = (statistics.median(x[k] for x in limits) for k in range(2))
        print(f"pdfTeX limit, the bodies batched on a format, two at a time, split: {limit_s:6.2f} s = "
              f"{limit_s / total / per_plain:.3f}x plain; CPU {limit_cpu:.2f} s")
        for (name, runs), target in zip(kinds.items(), (0.20, 0.16)):
            s, first, tail, used = (statistics.median(r[k] for r in runs) for k in range(4))
            print(f"examgen build -n {n} {name:>14}: {s:6.2f} s for {total} pages = {1000 * s / total:.1f} ms per "
                  f"page = {s / total / per_plain:.3f}x plain (target <= {target:.2f}x); Python before the first "
                  f"TeX process {first:.2f} s (target <= 0.3 s); after the last TeX process {tail:.2f} s; "
                  f"CPU {used:.2f} s = {used / plain_cpu:.3f}x the plain passes' CPU; "
                  f"{s / limit_s:.2f}x the pdfTeX limit (CPU {used / limit_cpu:.2f}x its CPU)")

if __name__ == "__main__":
    main()
