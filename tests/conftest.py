"""Shared fixtures: the shipped specs are built once per test session (2
variants each) and read back with poppler's pdftotext / pdfinfo / pdftoppm."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest

from examgen import ROOT
from examgen.pipeline import build_exam

SPECS = sorted((ROOT / "exams").glob("*.yaml"))


@pytest.fixture(scope="session", autouse=True)
def fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compile cache of this test session only: every session really compiles
    (once), and the user's ~/.cache is never touched. Subprocesses inherit it."""
    import os

    path = tmp_path_factory.mktemp("examgen-cache")
    os.environ["EXAMGEN_CACHE"] = str(path)
    # the record of exam seeds warns when two exams share a seed, as the tests' specs do;
    # tests of that record set EXAMGEN_STATE themselves
    os.environ["EXAMGEN_STATE"] = "off"
    return path


@dataclass(frozen=True)
class LayoutBuilds:
    """The same spec built in the TUM layout and in the plain one."""
    tum: Path
    plain: Path


def both_layouts(spec: Path, root: Path, seed: int, variants: int, plain_variants: int,
                 **tum_options: object) -> LayoutBuilds:
    """`spec` built into root/tum (with `tum_options` for build_exam) and, as the same spec
    with `layout: plain`, into root/plain (--keep-tex)."""
    plain_spec = root / f"{spec.stem}-plain.yaml"
    plain_spec.write_text("layout: plain\n" + spec.read_text())
    build_exam(spec, seed, variants, root / "tum", **tum_options)  # type: ignore[arg-type]
    build_exam(plain_spec, seed, plain_variants, root / "plain", keep_tex=True)
    return LayoutBuilds(root / "tum", root / "plain")


PROGRESS_LINE = re.compile(r"^examgen: [A-Z][^:]*: \d+/\d+ \(\d+ %\)")


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress log lines (printed when stderr is not a terminal)."""
    return [line for line in stderr.strip().splitlines() if not PROGRESS_LINE.match(line)]


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour (a logo for the tests; none is shipped)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def pdfinfo(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def pages_text(pdf: Path) -> list[str]:
    """Text of every page (pdftotext separates pages with form feeds)."""
    return pdftotext(pdf).split("\f")[:-1]


def question_source(q, version: str) -> str:
    """A question's texts as its templates render them, in the order the layout places them (the intro,
    then each part's statement and, in the solution, its solution), before the layout wraps its pictures
    (layouts/tum.pictures_once: a drawing then reaches TeX as pgf's PDF operators)."""
    from examgen.layouts import SOLUTION
    from examgen.questions import texts

    r = texts(q, solutions=version == SOLUTION)
    return (r.intro or "") + "".join(r.statements[p.name] + (r.solutions[p.name] if version == SOLUTION else "")
                                     for p in q.parts)


def grey_pages(pdf: Path, dpi: int, first: int | None = None, last: int | None = None) -> list[np.ndarray]:
    """Pages first..last (default: all) rendered by pdftoppm -gray at `dpi`, as arrays."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args = ["pdftoppm", "-gray", "-r", str(dpi)]
        if first:
            args += ["-f", str(first), "-l", str(last or first)]
        subprocess.run([*args, str(pdf), f"{tmp}/p"], check=True, capture_output=True)
        out = []
        for f in sorted(Path(tmp).glob("p*.pgm")):
            data = f.read_bytes()
            m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
            w, h = int(m.group(1)), int(m.group(2))
            out.append(np.frombuffer(data[m.end():m.end() + w * h], dtype=np.uint8).reshape(h, w))
        return out


def blue_pixels(pdf: Path, dpi: int = 40) -> int:
    """How many pixels of the rendered PDF are pure-ish blue (#0000FF answers)."""
    import tempfile

    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), str(pdf), f"{tmp}/p"], check=True, capture_output=True)
        for f in sorted(Path(tmp).glob("p*.ppm")):
            data = f.read_bytes()
            m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
            assert m, "unexpected pdftoppm output"
            w, h = int(m.group(1)), int(m.group(2))
            img = np.frombuffer(data[m.end():m.end() + w * h * 3], dtype=np.uint8).reshape(h, w, 3).astype(int)
            total += int(np.sum((img[..., 2] > 200) & (img[..., 0] < 90) & (img[..., 1] < 90)))
    return total


@pytest.fixture
def browsers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A factory of headless Chromium sessions (tests/browser.py; a test module using it imports browser,
    which skips it when Chromium or selenium is missing)."""
    from browser import chromium_sessions

    yield from chromium_sessions(tmp_path, monkeypatch)


@dataclass
class BuiltVariant:
    dir: Path

    @cached_property
    def answers(self) -> dict:
        return json.loads((self.dir / "answers.json").read_text())

    @cached_property
    def student_pages(self) -> list[str]:
        return pages_text(self.dir / "student.pdf")

    @cached_property
    def solution_pages(self) -> list[str]:
        return pages_text(self.dir / "solution.pdf")


@dataclass
class Built:
    spec: Path
    out: Path

    @property
    def variants(self) -> list[BuiltVariant]:
        return [BuiltVariant(d) for d in sorted(self.out.glob("E[0-9][0-9][0-9][0-9]"))]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (make setup)")
    result = {}
    for spec in SPECS:
        out = tmp_path_factory.mktemp(spec.stem) / "out"
        build_exam(spec, None, 2, out)
        result[spec.stem] = Built(spec, out)
    return result


@pytest.fixture(scope="session")
def quiz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (make setup)")
    # the shipped quiz with its multiple-choice items pinned, so that the pool
    # can grow without changing the keys the grading tests are written against
    folder = tmp_path_factory.mktemp("grading")
    spec = folder / "quiz.yaml"
    items = "conv2d_weight_count, init_symmetry_and_uniform_scale, underfitting_small_model, xor_with_step_units"
    text = (ROOT / "exams" / "quiz.yaml").read_text()
    mc = text[text.index("  - mc:"):text.index("\n", text.index("  - mc:")) + 1]
    spec.write_text(text.replace(mc, f"  - mc: {{count: 3, title: Multiple Choice, items: [{items}]}}\n"))
    out = folder / "quiz"
    build_exam(spec, None, 2, out)
    return out


@pytest.fixture(scope="session")
def quiz_scanned(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The pinned quiz's booklets filled (tests/scansim.py), with a few handwritten-looking words in
    every answer region, scanned at 200 dpi and read by examgen scan into a grading folder; two
    flagged cells for the review queue: B002's P2a has no score cross, B003's P1a a faint stroke
    in box 1 (darkness near the mark threshold).
    Tests copy the folder (`grading`) before they write to it."""
    import cv2
    import scansim

    from examgen.cli import main
    from examgen.scan.layout import load_layouts

    folder = tmp_path_factory.mktemp("correct")
    build = folder / "quiz"  # the pinned quiz again (its variants come from the compile cache), 4 booklets
    build_exam(quiz_build.parent / "quiz.yaml", None, 2, build, booklets=4)
    layouts = load_layouts(build)
    rng = np.random.default_rng(17)
    truth = scansim.random_truth(layouts, 4, rng)
    part = sorted(c for c, k in scansim.columns_of(layouts).items() if k == "part")[0]
    truth[1].scores[(part, 1)] = truth[1].scores[(part, 2)] = None  # B002: no cross in its grid
    pages = scansim.simulate(build, layouts, truth, 200, rng)
    s = 200 / 25.4
    for img, (variant, booklet, n) in pages:
        page = layouts[variant].pages[n]
        if booklet == 3:  # B003: a faint pencil stroke across P1a's empty boxes (near the mark threshold: flagged)
            for b in page.boxes:
                if b.kind == "mc" and b.column == "P1a" and truth[2].boxes[("P1a", int(b.number))] == "empty":
                    x, y, w, h = b.rect
                    cv2.line(img, (int((x + 0.5) * s), int((y + 0.5) * s)), (int((x + w - 0.5) * s),
                             int((y + h - 0.5) * s)), 170, 4, cv2.LINE_AA)
        for col, (x, y, _, _) in zip(page.region_columns, page.regions):
            cv2.putText(img, f"{col}: answer of B{booklet:03d}", (int((x + 8) * s), int((y + 14) * s)),
                        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.6, 40, 3, cv2.LINE_AA)
    files = scansim.write_scans(scansim.scan_pages(pages, 200, rng, 0.1), folder / "scans", 200, per_file=4)
    grading = folder / "grading"
    assert main(["scan", str(build), *map(str, files), "-o", str(grading)]) in (0, 1)
    expected = {f"B{b.number:03d}": b.expected(scansim.columns_of(layouts)) for b in truth}
    return {"build": build, "grading": grading, "expected": expected, "part": part}
