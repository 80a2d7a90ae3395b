"""Same spec, seed and variant count: byte-identical PDFs, keys and manifest."""

from __future__ import annotations

import pytest

from examgen import ROOT
from examgen.compiler import Compiler
from examgen.pipeline import build_exam

pytestmark = pytest.mark.pdf


def test_rebuild_is_byte_identical(tmp_path, built) -> None:
    spec = ROOT / "exams" / "quiz.yaml"
    first = built["quiz"].out
    second = tmp_path / "again"
    build_exam(spec, None, 2, second, compiler=Compiler.default(workers=1))  # another worker count, another folder
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_other_seed_gives_other_numbers(tmp_path, built) -> None:
    spec = ROOT / "exams" / "quiz.yaml"
    other = tmp_path / "other"
    build_exam(spec, 12345, 1, other)
    a = (built["quiz"].out / "E0001" / "answers.json").read_text()
    b = (other / "E0001" / "answers.json").read_text()
    assert a != b
    assert '"exam_seed": 12345' in b
