"""Cutting batch PDFs into one PDF per variant and joining PDFs, with qpdf."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ExamgenError

T = TypeVar("T")


def equal_runs(items: list[T], sizes: list[int]) -> list[list[T]]:
    """items in runs of consecutive equal sizes (page counts), in order: each run is one qpdf
    --split-pages."""
    runs: list[list[T]] = []
    for i, item in enumerate(items):
        if runs and sizes[i] == sizes[i - 1]:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def split(pdf: Path, parts: list[tuple[str, int, int]], folder: Path) -> None:
    """Cut a batch PDF into folder/<code>.pdf; parts are (code, first page, pages) in order.
    Variants with the same page count in a row (usually all of them) are cut by
    one qpdf run (--split-pages) instead of reading the whole batch once per variant."""
    for k, run in enumerate(equal_runs(parts, [size for _, _, size in parts])):
        first, size = run[0][1], run[0][2]
        if len(run) == 1:
            qpdf(["--empty", "--pages", str(pdf), f"{first}-{first + size - 1}", "--",
                  str(folder / f"{run[0][0]}.pdf")])
            continue
        tmp = folder / f"run{k}"
        tmp.mkdir()
        source = pdf
        if len(run) != len(parts):  # this run only
            source = tmp / "run.pdf"
            qpdf(["--empty", "--pages", str(pdf), f"{first}-{first + size * len(run) - 1}", "--", str(source)])
        split_pages([str(source)], size, [folder / f"{code}.pdf" for code, _, _ in run], tmp, pdf.name)


def split_pages(args: list[str], size: int, outs: list[Path], tmp: Path, name: str) -> None:
    """One qpdf run: the document of `args` (input and options) cut every `size` pages into
    outs, in order; `tmp` (an empty folder, removed) holds the pieces meanwhile."""
    qpdf([*args, f"--split-pages={size}", str(tmp / "part.pdf")])
    pieces = sorted(f for f in tmp.iterdir() if f.name.startswith("part"))  # zero-padded: sorted = in order
    if len(pieces) != len(outs):
        raise ExamgenError(f"qpdf split {name} into {len(pieces)} files, expected {len(outs)}")
    for out, f in zip(outs, pieces):
        f.replace(out)
    shutil.rmtree(tmp)


Pages = Path | tuple[Path, int, int]  # a whole PDF, or a PDF's pages first..last


def concatenate(parts: Sequence[Pages], out: Path) -> None:
    """One PDF of `parts` in order (qpdf): whole PDFs, or page ranges (consecutive ranges of one
    PDF are taken as one, so that its shared objects are read and written once). qpdf holds
    every object of its output (about 1.4 MB per endterm variant): callers keep it short (PRINT_PART)."""
    runs: list[list[Any]] = []  # [pdf] or [pdf, first page, last page]
    for part in parts:
        if not isinstance(part, tuple):
            runs.append([part])
        elif runs and len(runs[-1]) == 3 and runs[-1][0] == part[0] and runs[-1][2] + 1 == part[1]:
            runs[-1][2] = part[2]
        else:
            runs.append(list(part))
    args = [a for run in runs for a in (str(run[0]), *([f"{run[1]}-{run[2]}"] if len(run) == 3 else []))]
    qpdf(["--empty", "--pages", *args, "--", str(out)])


def qpdf(args: list[str]) -> str:
    """Run qpdf (deterministic ids); its standard output."""
    try:
        proc = subprocess.run(["qpdf", "--deterministic-id", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise ExamgenError("qpdf not found: install it (Debian package 'qpdf'; see README: 'make exam')") from None
    if proc.returncode not in (0, 3):  # 3 = warnings only
        raise ExamgenError(f"qpdf failed: {proc.stderr.strip()}")
    return proc.stdout
