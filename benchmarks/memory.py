"""Peak memory and time of full builds (issue 7, item 7: flat memory per variant; issue 12:
1,000 variants under 1 GB for the whole process tree).

    python benchmarks/memory.py [--spec exams/quiz.yaml] [N ...]    # default: endterm, 30 300

Each build runs `python -m examgen build SPEC -n N --no-cache` in its own subprocess.
Reported per build:
  python peak RSS   VmHWM of the examgen process itself (read from /proc while it runs)
  largest process   ru_maxrss of wait4(): the largest single process of the tree (python, a pdflatex or a qpdf)
  tree peak RSS     the largest sum of VmRSS over the examgen process and all its descendants,
                    sampled every 50 ms from /proc (a short spike between samples can be missed;
                    the largest single process above bounds that error)
  time              wall-clock seconds
The difference between the 30- and 300-variant python peaks, divided by 270, is the
growth per variant."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over `root` and its descendants (from /proc: parent links)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parent[int(d.name)] = int(fields.get("PPid", "0"))
        rss[int(d.name)] = int(fields["VmRSS"].split()[0]) if "VmRSS" in fields else 0
    total = 0
    for pid in rss:
        p = pid
        while p and p != root:
            p = parent.get(p, 0)
        if p == root:
            total += rss[pid]
    return total


def measure(n: int, spec: Path, jobs: int | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="examgen-bench-") as tmp:
        cmd = [sys.executable, "-m", "examgen", "build", str(spec),
               "-n", str(n), "-o", str(Path(tmp) / "out"), "--no-cache"]
        if jobs:
            cmd += ["-j", str(jobs)]
        env = dict(os.environ, EXAMGEN_CACHE="off")
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        hwm = tree = 0
        while True:
            hwm = max(hwm, _hwm_kib(proc.pid) or 0)  # before wait4 reaps it
            tree = max(tree, _tree_rss_kib(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        if proc.returncode:
            raise SystemExit(f"build of {n} variants failed: {proc.stderr.read().decode() if proc.stderr else ''}")
        pdfs = len(list((Path(tmp) / "out").rglob("*.pdf")))
    return {"variants": n, "python_peak_mib": hwm / 1024, "largest_mib": usage.ru_maxrss / 1024,
            "tree_peak_mib": tree / 1024, "seconds": elapsed, "pdfs": pdfs}


def main(argv: list[str]) -> None:
    spec = ROOT / "exams" / "in2346-endterm.yaml"
    if argv[:1] == ["--spec"]:
        spec, argv = Path(argv[1]).resolve(), argv[2:]
    counts = [int(a) for a in argv] or [30, 300]
    rows = []
    for n in counts:
        r = measure(n, spec)
        rows.append(r)
        print(f"{spec.name} {n:5d} variants: python peak RSS {r['python_peak_mib']:7.1f} MiB, largest process "
              f"{r['largest_mib']:7.1f} MiB, tree peak RSS {r['tree_peak_mib']:7.1f} MiB, {r['seconds']:7.1f} s, "
              f"{r['pdfs']} PDFs", flush=True)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        growth = (b["python_peak_mib"] - a["python_peak_mib"]) * 1024 / (b["variants"] - a["variants"])
        print(f"growth of the python peak: {growth:.1f} KiB per variant")


if __name__ == "__main__":
    main(sys.argv[1:])
