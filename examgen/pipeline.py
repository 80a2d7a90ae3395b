"""The only place the stages meet:
spec -> pick -> sample -> solve -> render -> compile -> write."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import layout
from .bank import Bank, load_bank
from .compiling import Job, compile_all
from .errors import LayoutError
from .model import ExamSpec, SeedInfo, SolvedQuestion, Variant
from .outputs import answer_key_csv, answers_json, manifest, staging
from .questions import build_variant, solve_question
from .sampling import derive_seed
from .spec import load_spec


def _jobs(spec: ExamSpec, variant: Variant, workdir: Path) -> list[Job]:
    files = (spec.info.logo,) if spec.info.logo else ()
    logo = spec.info.logo.name if spec.info.logo else None
    return [Job(workdir / variant.code, version, layout.document(spec.info, variant, version, logo),
                f"variant {variant.code} ({version})", files)
            for version in (layout.STUDENT, layout.SOLUTION)]


def build_exam(spec_path: Path, seed: int | None, n_variants: int, out: Path, bank_dirs: Iterable[Path] = (),
               workers: int | None = None, progress: Callable[[int], None] | None = None) -> list[Path]:
    """Build n_variants of an exam into out/; returns the written files."""
    # driver: load -- the bank and the spec, validated before anything is sampled
    bank = load_bank(bank_dirs)
    spec = load_spec(Path(spec_path), bank)
    exam_seed = seed if seed is not None else (spec.seed if spec.seed is not None else 0)
    # driver: pick + sample + solve -- every variant's questions, answers and rubric
    variants = [build_variant(spec, bank, exam_seed, n) for n in range(1, n_variants + 1)]
    with tempfile.TemporaryDirectory(prefix="examgen-") as tmp:
        # driver: render + compile -- student and solution of every variant from one source
        jobs = [job for v in variants for job in _jobs(spec, v, Path(tmp))]
        results = compile_all(jobs, workers, progress)
        # driver: write -- atomically: a failure above leaves the target untouched
        with staging(Path(out)) as stage:
            for v, (student, solution) in zip(variants, zip(results[0::2], results[1::2])):
                if student[1] != solution[1]:
                    raise LayoutError(f"variant {v.code}: student has {student[1]} pages, solution {solution[1]}")
                vdir = stage / v.code
                vdir.mkdir()
                shutil.copyfile(student[0], vdir / "student.pdf")
                shutil.copyfile(solution[0], vdir / "solution.pdf")
                (vdir / "answers.json").write_text(answers_json(spec, exam_seed, v), encoding="utf-8")
            (stage / "answer_key.csv").write_text(answer_key_csv(variants), encoding="utf-8")
            (stage / "manifest.json").write_text(manifest(spec, exam_seed, n_variants, stage), encoding="utf-8")
    out = Path(out).resolve()
    return sorted(p for p in out.rglob("*") if p.is_file())


def solve_one(template_id: str, seed: int, pinned: dict[str, Any] | None = None,
              bank_dirs: Iterable[Path] = ()) -> tuple[Bank, SolvedQuestion]:
    """One question as variant 1 of an exam with this seed would draw it."""
    bank = load_bank(bank_dirs)
    template = bank.template(template_id)
    info: SeedInfo = derive_seed(seed, 1, template_id, 0)
    return bank, solve_question(template, info, pinned or {})


def preview(template_id: str, seed: int, pinned: dict[str, Any] | None, solution: bool, out_pdf: Path,
            bank_dirs: Iterable[Path] = ()) -> Path:
    """One question as a PDF (cover and additional space included), for authors."""
    from .model import ExamInfo

    _, q = solve_one(template_id, seed, pinned, bank_dirs)
    info = ExamInfo(course=f"Preview: {template_id}", code="PREVIEW", name=template_id, date="", time="",
                    examiner="", resources="", instructions=(), institution=(), logo=None, language="en")
    variant = Variant(number=0, code=f"S{seed}", questions=(q,))
    version = layout.SOLUTION if solution else layout.STUDENT
    with tempfile.TemporaryDirectory(prefix="examgen-") as tmp:
        job = Job(Path(tmp), version, layout.document(info, variant, version, None), f"preview of {template_id}")
        (pdf, _), = compile_all([job], 1)
        out_pdf = Path(out_pdf)
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out_pdf.with_name(f".{out_pdf.name}.tmp")
        shutil.copyfile(pdf, tmp_out)
        tmp_out.replace(out_pdf)
    return out_pdf
