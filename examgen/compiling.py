"""LaTeX -> PDF with pdflatex: a draft pass to count the pages, a final pass
with the count on the cover and in the footers (the same source both times;
the count is defined on the command line); parallel over all cores; no shell
escape, paranoid file access; reproducible bytes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import TEMPLATES_DIR
from .errors import ExamgenError, LatexError

CLASS_FILE = TEMPLATES_DIR / "examgentum.cls"
_PAGES = re.compile(r"EXAMGEN-PAGES: (\d+)")


@dataclass(frozen=True)
class Job:
    """One PDF to build from the LaTeX text `tex`; `label` names it in errors
    (e.g. 'variant E0003 (solution)')."""

    workdir: Path
    name: str
    tex: str
    label: str
    files: tuple[Path, ...] = ()  # extra files (a logo) copied into workdir


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1",
        openin_any="p", openout_any="p", shell_escape="f",
        TEXINPUTS=".:", max_print_line="200", error_line="200", half_error_line="150",
    )
    return env


def _excerpt(log: str, tex: str, label: str) -> str:
    lines = log.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("!")), None)
    if first is None:
        return f"{label}: pdflatex failed: " + " | ".join(lines[-5:])
    msg = lines[first].lstrip("! ").strip()
    m = next((re.match(r"l\.(\d+) (.*)", line) for line in lines[first:first + 30] if re.match(r"l\.\d+ ", line)), None)
    where = ""
    if m:
        n = int(m.group(1))
        src = tex.splitlines()
        if 0 < n <= len(src):
            where = f" at line {n} of the generated source: {src[n - 1][:160]!r}"
            marker = next((line for line in reversed(src[:n]) if line.startswith("% examgen: problem ")), None)
            if marker:
                where = f" in {marker[len('% examgen: '):]}" + where
    return f"{label}: LaTeX error: {msg}{where}"


def _run(job: Job, total_pages: int, draft: bool) -> str:
    cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"-jobname={job.name}"]
    if draft:
        cmd.append("-draftmode")
    cmd.append(f"\\def\\egtotalpages{{{total_pages}}}\\input{{{job.name}.tex}}")
    try:
        proc = subprocess.run(cmd, cwd=job.workdir, env=_env(), capture_output=True, timeout=300)
    except FileNotFoundError:
        raise ExamgenError("pdflatex not found: install TeX Live (see README: 'make setup')") from None
    except subprocess.TimeoutExpired:
        raise LatexError(f"{job.label}: pdflatex did not finish within 300 s") from None
    logfile = job.workdir / f"{job.name}.log"
    log = logfile.read_text(encoding="latin-1") if logfile.exists() else proc.stdout.decode("latin-1")
    if proc.returncode != 0:
        raise LatexError(_excerpt(log, job.tex, job.label))
    return log


def compile_job(job: Job) -> tuple[Path, int]:
    """Two pdflatex runs of the same source: -draftmode with a total of 0 to count
    the pages, then the real one with the count."""
    job.workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CLASS_FILE, job.workdir / CLASS_FILE.name)
    for f in job.files:
        shutil.copyfile(f, job.workdir / f.name)
    (job.workdir / f"{job.name}.tex").write_text(job.tex, encoding="utf-8")
    m = _PAGES.search(_run(job, 0, draft=True))
    if not m:
        raise LatexError(f"{job.label}: the class did not report the page count (EXAMGEN-PAGES) in {job.name}.log")
    pages = int(m.group(1))
    m2 = _PAGES.search(_run(job, pages, draft=False))
    if not m2 or int(m2.group(1)) != pages:
        raise LatexError(f"{job.label}: page count changed between passes ({pages} -> {m2 and m2.group(1)})")
    return job.workdir / f"{job.name}.pdf", pages


def compile_all(jobs: Sequence[Job], workers: int | None = None,
                progress: Callable[[int], None] | None = None) -> list[tuple[Path, int]]:
    """Compile jobs in parallel (one pdflatex per core); results in job order."""
    workers = max(1, workers or os.cpu_count() or 1)
    results: list[tuple[Path, int]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for res in pool.map(compile_job, jobs):
            results.append(res)
            if progress:
                progress(1)
    return results


def compile_once(job: Job) -> Path:
    """One pdflatex pass with the same hardening (no shell escape, paranoid file access,
    reproducible bytes) for documents that need no page total, e.g. the grading report."""
    job.workdir.mkdir(parents=True, exist_ok=True)
    (job.workdir / f"{job.name}.tex").write_text(job.tex, encoding="utf-8")
    _run(job, 0, draft=False)
    return job.workdir / f"{job.name}.pdf"
