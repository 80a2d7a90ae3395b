"""Issue 18: the opening's lanes. Typeset with its scan codes, a build's first variants (all of them up
to 24) go into two TeX runs side by side, each holding both versions of its variants (batching.Pair:
each variant's student pages, then its solution's), instead of a student and a solution run per batch:
a run's format, cover, figures and fonts once instead of twice, and the solution takes the statements
its student version typeset (\\egbothversions). What a build writes is the same as without lanes: the
same pages and texts, the same records; only the PDFs' bytes differ (each carries its lane's fonts)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from conftest import pages_text

from examgen import ROOT, layouts, pipeline, qrcodes
from examgen.bank import load_bank
from examgen.cli import main
from examgen.compiler import Compiler, Pair, batches, drawing_order, lanes
from examgen.questions import build_variant
from examgen.spec import load_spec

QUIZ = ROOT / "exams" / "quiz.yaml"
ENDTERM = ROOT / "exams" / "in2346-endterm.yaml"


@pytest.mark.parametrize(("n", "expected"), [
    (1, []),  # (its two versions side by side, as two batches)
    (2, [range(0, 1), range(1, 2)]),
    (3, [range(0, 2), range(2, 3)]),
    (12, [range(0, 6), range(6, 12)]),
    (13, [range(0, 6), range(6, 13)]),
    (20, [range(0, 10), range(10, 20)]),
    (24, [range(0, 12), range(12, 24)]),
    (25, [range(0, 8), range(8, 17)]),  # (then a student and a solution run for variants 18-25)
])
def test_the_lanes_depend_on_the_variant_count_only(n: int, expected: list[range]) -> None:
    assert lanes(n) == expected
    # the lanes, then the batches after them (without lanes: the batches), hold every variant once, in order
    assert [i for r in (expected + batches(n)[2:] if expected else batches(n)) for i in r] == list(range(n))


def test_the_lanes_are_drawn_in_turn() -> None:
    assert drawing_order([range(0, 2), range(2, 3)]) == [0, 2, 1]
    assert drawing_order(lanes(20)) == [i for k in range(10) for i in (k, 10 + k)]
    assert sorted(drawing_order(lanes(13))) == list(range(13))


def _records(out: Path) -> dict[str, bytes]:
    """Everything but the PDFs and the manifest (which lists their hashes)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix != ".pdf" and p.name != "manifest.json"}


def test_a_build_in_lanes_writes_what_a_build_without_them_writes(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Three quiz variants (two lanes) against the same build as batches: the same records, key and page
    texts (the PDFs' bytes differ: a lane's fonts), every print file page in order."""
    outs = {}
    for name in ("lanes", "batches"):
        monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / f"cache-{name}"))
        if name == "batches":
            monkeypatch.setattr(pipeline, "lanes", lambda n: [])
        outs[name] = tmp_path / name
        assert main(["build", str(QUIZ), "-n", "3", "-o", str(outs[name])]) == 0
    assert _records(outs["lanes"]) == _records(outs["batches"])
    codes = ("E0001", "E0002", "E0003")
    for version in ("student", "solution"):
        texts = {code: pages_text(outs["lanes"] / code / f"{version}.pdf") for code in codes}
        for code in codes:
            assert texts[code] == pages_text(outs["batches"] / code / f"{version}.pdf")
        joined = "all-students.pdf" if version == "student" else "all-solutions.pdf"
        assert pages_text(outs["lanes"] / "print" / joined) == [page for code in codes for page in texts[code]]
    assert "Grading notes" in "".join(pages_text(outs["lanes"] / "E0002" / "solution.pdf"))
    assert "Grading notes" not in "".join(pages_text(outs["lanes"] / "E0002" / "student.pdf"))


def test_the_variants_after_the_lanes_are_built_as_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """25 variants: two lanes (1-8, 9-17), then a student and a solution batch (18-25): four TeX runs,
    every variant's PDFs its own, the print file every page in order."""
    monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["build", str(QUIZ), "-n", "25", "-o", str(out)]) == 0
    assert "compile cache: 0 hits, 4 misses" in capsys.readouterr().out
    codes = [f"E{k:04d}" for k in range(1, 26)]
    for code in codes:
        assert code in pages_text(out / code / "student.pdf")[0] and code in pages_text(out / code / "solution.pdf")[0]
    assert pages_text(out / "print" / "all-students.pdf") == [
        page for code in codes for page in pages_text(out / code / "student.pdf")]
    rows = (out / "answer_key.csv").read_text().splitlines()[1:]
    assert sorted({row.split(",")[0] for row in rows}) == codes  # every variant's key, and no other


def _pair_log(spec_path: Path, probe: str) -> str:
    """The log of a Pair of the spec's first two variants (draft mode) with `probe` after \\egbothversions."""
    bank = load_bank(())
    spec = load_spec(spec_path, bank)
    seed = pipeline.exam_seed_of(spec, None)
    variants = [build_variant(spec, bank, seed, k) for k in (1, 2)]
    marks = qrcodes.Typeset(qrcodes.exam_id(spec.info.code), 2)
    pair = Pair(pipeline._batch(spec, variants, layouts.STUDENT, None, marks),
                pipeline._batch(spec, variants, layouts.SOLUTION, None, marks))
    source = pair.source({v.code: 24 for v in variants}).replace("\\egbothversions%", "\\egbothversions" + probe, 1)
    with tempfile.TemporaryDirectory() as tmp:
        return Compiler(None).log_of(Path(tmp), "pair", source, "a pair", layouts.get(spec.layout).classes)


# each statement of a solution: taken from its student version (its box the student's), or typeset again
TAKEN = r"""\makeatletter\let\eg@probed\eg@statement
\long\def\eg@statement#1{\ifeg@solution\typeout{STATEMENT \ifnum\pdfstrcmp{\csname eg@stmt@\the\numexpr\eg@stmtno
+1\relax @of\endcsname}{\egget{variant}}=0 taken\else typeset\fi}\fi\eg@probed{#1}}\makeatother%"""


def test_a_solution_takes_the_statements_its_student_version_typeset() -> None:
    """Every statement of the endterm's solutions is its student version's box, except those with a cell the
    solution fills (\\egfill: the data-mismatch table, parts c-e), which are typeset again with the fills."""
    found = re.findall(r"STATEMENT (taken|typeset)", _pair_log(ENDTERM, TAKEN))
    assert found.count("typeset") == 6  # (two variants, three parts each)
    assert found.count("taken") == len(found) - 6 > 80


def test_statements_taken_give_the_same_pdfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lane whose solutions typeset their statements again (the class not told both versions follow each
    other) gives the same PDFs, to the byte: taking the student's box changes no page. (A box taken from
    another variant, or a fill lost, would.)"""
    outs = {}
    for shared in (True, False):
        monkeypatch.setenv("EXAMGEN_CACHE", str(tmp_path / f"cache-{shared}"))
        if not shared:
            monkeypatch.setattr(Pair, "head_of", staticmethod(lambda preamble: preamble))
        outs[shared] = tmp_path / f"out-{shared}"
        assert main(["build", str(ENDTERM), "-n", "2", "-o", str(outs[shared])]) == 0
    pdfs = [{p.relative_to(o).as_posix(): p.read_bytes() for p in sorted(o.rglob("*.pdf"))} for o in outs.values()]
    assert len(pdfs[0]) == 6 and pdfs[0] == pdfs[1]
    text = "".join(pages_text(outs[True] / "E0001" / "solution.pdf"))
    assert "Bridge / train-dev" in text  # (an \egfill of the data-mismatch table, typeset again in the solution)
