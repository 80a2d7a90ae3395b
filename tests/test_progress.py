"""Progress and feedback of the long commands when stderr is not a terminal (CI):
plain `examgen: LABEL: i/N (P %), T s elapsed` lines on stderr, no bar, and one
summary line on stdout (files written, time, compile-cache hits for build)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.progress import cache_note, progress, summary

LINE = re.compile(r"^examgen: (?P<label>.+): (?P<done>\d+)/(?P<total>\d+)"
                  r" \((?P<pct>\d+) %\), \d+\.\d s elapsed(, about \d+\.\d s left)?$")


def run(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EXAMGEN_CACHE": str(cache)}
    # capture_output: stderr is a pipe, not a TTY, as in CI
    return subprocess.run([sys.executable, "-m", "examgen", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)


def log_lines(stderr: str, label: str) -> list[tuple[int, int]]:
    """(done, total) of every progress line; every stderr line must be one (no bar, no escapes)."""
    assert "\r" not in stderr and "\x1b" not in stderr
    out = []
    for line in stderr.splitlines():
        m = LINE.match(line)
        assert m, f"not a progress line: {line!r}"
        assert m["label"] == label
        out.append((int(m["done"]), int(m["total"])))
    return out


def test_log_lines_once_per_tenth() -> None:
    stream = io.StringIO()  # not a TTY
    with progress("Working", 100, stream) as update:
        for _ in range(100):
            update(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10  # 10 %, 20 %, ..., 100 %; nothing before the first step
    assert lines[0].startswith("examgen: Working: 10/100 (10 %), ")
    assert [int(LINE.match(x)["pct"]) for x in lines] == list(range(10, 101, 10))  # type: ignore[index]
    assert lines[-1].endswith("s elapsed") and "left" not in lines[-1]


def test_summary_format() -> None:
    assert summary("build", 7, 3.04, Path("out/x"), cache_note(1, 3)) == \
        "build: 7 files written to out/x in 3.0 s; compile cache: 1 hit, 3 misses"
    assert summary("export", 1, 0.25, "quiz.xml") == "export: 1 file written to quiz.xml in 0.2 s"
    assert summary("check", None, 12.0, extra="compile cache: 0 hits, 0 misses") == \
        "check: done in 12.0 s; compile cache: 0 hits, 0 misses"


SUMMARY = r"^{cmd}: (?P<n>\d+) files? written(?: to (?P<to>\S+))? in \d+\.\d s{extra}$"


@pytest.mark.pdf
def test_build_then_grade_log_lines_and_summaries(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "quiz"
    # the second build (another folder: the same one would be up to date) takes both batches from the cache
    for hits, misses, folder in ((0, 2, out), (2, 0, tmp_path / "again")):
        res = run("build", "exams/quiz.yaml", "--variants", "2", "--out", str(folder), cache=cache)
        assert res.returncode == 0, res.stderr
        assert log_lines(res.stderr, "Compiling 4 PDFs")[-1] == (4, 4)  # one line per batch (2 + 2 PDFs)
        last = res.stdout.splitlines()[-1]
        m = re.match(SUMMARY.format(cmd="build", extra=f"; compile cache: {hits} hits?, {misses} miss(es)?"), last)
        assert m, last
        assert int(m["n"]) == sum(1 for f in folder.rglob("*") if f.is_file()) and m["to"] == str(folder)

    sheet = tmp_path / "responses.csv"
    assert run("grade", str(out), "--template", str(sheet), cache=cache).returncode == 0
    rows = list(csv.reader(sheet.open()))
    for i, row in enumerate(rows[1:], start=1):
        row[0] = f"0370000{i}"  # empty cells: no box crossed, 0 points
    with sheet.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    res = run("grade", str(out), "--responses", str(sheet), "--out", str(tmp_path / "grading"), cache=cache)
    assert res.returncode == 0, res.stderr
    assert log_lines(res.stderr, "Grading") == [(1, 3), (2, 3), (3, 3)]
    assert re.match(SUMMARY.format(cmd="grade", extra=""), res.stdout.splitlines()[-1])
    assert "3 files written to" in res.stdout.splitlines()[-1]


def test_export_log_lines_and_summary(tmp_path: Path) -> None:
    xml = tmp_path / "quiz.xml"
    res = run("export", "moodle", "exams/quiz.yaml", "--variants", "10", "--out", str(xml), cache=tmp_path / "c")
    assert res.returncode == 0, res.stderr
    assert log_lines(res.stderr, "Exporting 10 variants") == [(i, 10) for i in range(1, 11)]  # one per 10 %
    assert res.stdout.splitlines()[-1].startswith(f"export: 1 file written to {xml} in ")
    assert xml.is_file()


def test_check_log_lines_and_summary(tmp_path: Path) -> None:
    res = run("check", "-t", "class_imbalance", "-t", "softmax", "--draws", "5", "--compile", "0",
              cache=tmp_path / "c")
    assert res.returncode == 0, res.stdout + res.stderr
    assert log_lines(res.stderr, "Checking 2 templates x 5 draws, typesetting 0") == [(1, 2), (2, 2)]
    last = res.stdout.splitlines()[-1]
    assert re.match(r"^check: done in \d+\.\d s; compile cache: 0 hits, 0 misses$", last), last
