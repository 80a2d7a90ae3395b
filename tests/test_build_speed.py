"""The ways a build got faster (issue 18) keep their promises: the bank loads only the
templates a spec names yet still finds every template, and a page total remembered from
an earlier build skips the draft pass but is verified (a wrong one gives the right PDFs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from examgen import BANK_DIR, ROOT, bank
from examgen.cli import main
from examgen.compiler.cache import Cache, key
from examgen.spec import load_spec

QUIZ = ROOT / "exams" / "quiz.yaml"


def test_the_lazy_bank_finds_every_template() -> None:
    folders = {q.parent.name for q in BANK_DIR.rglob("question.yaml")}
    assert len(folders) >= 40
    templates = bank.load_bank().templates
    assert set(templates) == folders and len(templates) == len(folders)
    for tid in sorted(folders):
        assert templates[tid].id == tid
        assert templates[tid].directory == next(BANK_DIR.rglob(f"{tid}/question.yaml")).parent


def test_an_extra_bank_template_is_found_and_a_duplicate_refused(tmp_path: Path) -> None:
    shutil.copytree(BANK_DIR / "data" / "class_imbalance", tmp_path / "mine" / "data" / "my_imbalance")
    q = tmp_path / "mine" / "data" / "my_imbalance" / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", "id: my_imbalance"))
    assert bank.load_bank([tmp_path / "mine"]).templates["my_imbalance"].directory == q.parent
    shutil.copytree(BANK_DIR / "data" / "class_imbalance", tmp_path / "twice" / "x" / "class_imbalance")
    with pytest.raises(bank.TemplateError, match="template id 'class_imbalance' is already defined in "):
        bank.load_bank([tmp_path / "twice"])


def test_a_spec_loads_only_the_templates_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []
    real = bank._load_template

    def recording(qfile: Path) -> object:
        loaded.append(qfile.parent.name)
        return real(qfile)

    monkeypatch.setattr(bank, "_load_template", recording)
    bank._load_bank.cache_clear()
    try:
        load_spec(QUIZ, bank.load_bank())
    finally:
        bank._load_bank.cache_clear()  # the other tests get a bank loaded without the recorder
    assert sorted(loaded) == ["batchnorm_forward", "rnn_relu_scalar"]  # quiz.yaml's choose: from


def _logging_pdflatex(tmp: Path) -> tuple[Path, Path]:
    """A pdflatex that logs its arguments, then runs the real one."""
    log = tmp / "runs"
    fake = tmp / "pdflatex"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec pdflatex "$@"\n')
    fake.chmod(0o755)
    return fake, log


def _pages(pdf: Path) -> int:
    return int(subprocess.run(["qpdf", "--show-npages", str(pdf)], capture_output=True, text=True,
                              check=True).stdout)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def _remembered(cache: Path) -> Path:
    return cache / "totals" / key(str(QUIZ.resolve()))


@pytest.mark.parametrize("wrong", [False, True], ids=["right total", "wrong total"])
def test_a_remembered_page_total_is_used_and_verified(wrong: bool, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("EXAMGEN_CACHE", str(cache))
    fake, log = _logging_pdflatex(tmp_path)
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "first")], pdflatex=str(fake)) == 0
    first = _outputs(tmp_path / "first")
    total = _pages(tmp_path / "first" / "E0001" / "student.pdf")
    assert _pages(tmp_path / "first" / "E0002" / "student.pdf") == total
    assert any("-draftmode" in line for line in log.read_text().splitlines())  # nothing remembered yet: a draft
    assert json.loads((_remembered(cache) / "total.json").read_text()) == total
    if wrong:  # a total that no longer holds (as after an edit that added pages), properly stored
        Cache.discard(_remembered(cache))
        Cache(cache).store(_remembered(cache), {"total.json": json.dumps(total + 4).encode()})
    for sub in ("pdf", "pages"):  # formats and the remembered total stay: every PDF is typeset anew
        shutil.rmtree(cache / sub)
    log.unlink()
    assert main(["build", str(QUIZ), "-n", "2", "-o", str(tmp_path / "second")], pdflatex=str(fake)) == 0
    runs = log.read_text().splitlines()
    assert not [r for r in runs if "-draftmode" in r]  # the remembered total replaced the draft pass
    # one final pass per batch (student, solution) with the right total; a wrong one: a second pass each
    assert len(runs) == (4 if wrong else 2), runs
    assert _outputs(tmp_path / "second") == first  # the same bytes either way
    assert json.loads((_remembered(cache) / "total.json").read_text()) == total  # corrected for the next build
