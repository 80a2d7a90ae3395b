"""Batched, cached, single-pass compilation (examgen/compiler/) gives the same PDFs as
building a variant alone: same text, same renders, about the same size; the
same build twice gives the same bytes; a warm rebuild compiles nothing; kept
.tex files compile alone. (Speed itself is measured by benchmarks/build_speed.py.)"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import pages_text

from examgen import ROOT
from examgen.compiler import Compiler, batches
from examgen.pipeline import build_exam

SPEC = ROOT / "exams" / "in2346-endterm.yaml"
N = 18  # two batches of 9 per version


@pytest.fixture(scope="module")
def batched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("batched") / "out"
    build_exam(SPEC, None, N, out, keep_tex=True)
    return out


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alone") / "out"
    build_exam(SPEC, None, 1, out, compiler=Compiler(None))
    return out


def renders(pdf: Path, dpi: int = 30) -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), str(pdf), f"{tmp}/p"], check=True)
        return [f.read_bytes() for f in sorted(Path(tmp).glob("p*.pgm"))]


def test_batch_composition_depends_only_on_the_variant_count() -> None:
    assert batches(N) == [range(0, 9), range(9, 18)]
    assert batches(1) == [range(0, 1)]
    sizes = [len(r) for r in batches(200)]  # 17 balanced batches of at most 12
    assert len(sizes) == 17 and set(sizes) == {11, 12} and sum(sizes) == 200
    assert [r.start for r in batches(200)][1:] == [r.stop for r in batches(200)][:-1]


@pytest.mark.parametrize("version", ["student", "solution"])
def test_a_variant_reads_and_renders_the_same_batched_or_alone(batched: Path, alone: Path, version: str) -> None:
    a, b = batched / "E0001" / f"{version}.pdf", alone / "E0001" / f"{version}.pdf"
    assert pages_text(a) == pages_text(b)
    assert renders(a) == renders(b)
    # font subsets are shared across a batch: the split PDF may carry a few more glyphs, not much more
    assert 0.8 < a.stat().st_size / b.stat().st_size < 1.25, (a.stat().st_size, b.stat().st_size)


def test_every_variant_of_a_batch_is_its_own_pdf(batched: Path) -> None:
    for k in (1, 9, 10, N):
        code = f"E{k:04d}"
        for version in ("student", "solution"):
            pages = pages_text(batched / code / f"{version}.pdf")
            assert all(code in p for p in pages) and len(pages) % 4 == 0
            assert f"– Page {len(pages)} / {len(pages)} –" in pages[-1]


def test_same_build_twice_gives_the_same_bytes_without_the_cache(batched: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_exam(SPEC, None, N, again, compiler=Compiler(None), keep_tex=True)
    files = sorted(p.relative_to(batched) for p in batched.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert hashlib.sha256((batched / rel).read_bytes()).digest() == \
            hashlib.sha256((again / rel).read_bytes()).digest(), rel


def test_warm_rebuild_compiles_nothing_and_a_change_recompiles(tmp_path: Path) -> None:
    spec = tmp_path / "quiz.yaml"
    spec.write_text((ROOT / "exams" / "quiz.yaml").read_text())
    first = Compiler.default()
    build_exam(spec, None, 3, tmp_path / "a", compiler=first)
    warm = Compiler.default()
    build_exam(spec, None, 3, tmp_path / "b", compiler=warm)
    assert (warm.stats.hits, warm.stats.misses) == (2, 0)
    assert first.stats.misses >= 2
    for f in ("E0001/student.pdf", "E0003/solution.pdf", "manifest.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    spec.write_text(spec.read_text().replace("name: Quiz 1", "name: Quiz 2"))
    changed = Compiler.default()
    build_exam(spec, None, 3, tmp_path / "c", compiler=changed)
    assert changed.stats.misses == 2
    assert "Quiz 2" in pages_text(tmp_path / "c" / "E0002" / "student.pdf")[0]


def test_kept_tex_compiles_alone_to_the_same_text(batched: Path, tmp_path: Path) -> None:
    folder = tmp_path / "E0010"
    shutil.copytree(batched / "E0010", folder)
    for version in ("student", "solution"):
        (folder / f"{version}.pdf").unlink()
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{version}.tex"], cwd=folder,
                       check=True, capture_output=True)
        assert pages_text(folder / f"{version}.pdf") == pages_text(batched / "E0010" / f"{version}.pdf")
