"""`examgen check`: the whole shipped bank passes; a broken template is named
with its draw and what broke (sampling, rendering, LaTeX), and the exit code is 1."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import error_lines
from faults import session_procs, signalled

from examgen import ROOT
from examgen.bank import load_bank
from examgen.checking import CHECK_SEED, check_bank
from examgen.compiler import Compiler
from examgen.questions import solve_question
from examgen.sampling import derive_seed


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examgen", *args], capture_output=True, text=True)


def test_shipped_bank_passes_and_typesets_every_template() -> None:
    bank = load_bank()
    report = check_bank(bank, draws=30, compile_draws=1)
    assert report.failures == []
    assert report.templates == len(bank.templates)
    assert report.compiled == len(bank.templates) + 2  # one draw of each, an MC draw, the whole MC pool


def _copy(tmp_path: Path, new_id: str) -> Path:
    dst = tmp_path / "bank" / "data" / new_id
    shutil.copytree(ROOT / "question_bank" / "data" / "class_imbalance", dst)
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("id: class_imbalance", f"id: {new_id}"))
    return dst


def test_latex_error_is_named_by_template(tmp_path: Path) -> None:
    dst = _copy(tmp_path, "broken_latex")
    so = dst / "solution.tex.j2"
    so.write_text(so.read_text().replace("<% block a %>", r"<% block a %>\nosuchmacro "))
    res = run("check", "--draws", "3", "--bank", str(tmp_path / "bank"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    fails = [line for line in res.stderr.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2, res.stderr  # the two typeset draws; the student version has no solution text
    for n, line in enumerate(fails, start=1):
        assert line.startswith(f"FAIL broken_latex draw {n} (solution): LaTeX error: Undefined control sequence. ")
        assert "\\nosuchmacro')" in line and line.endswith("in problem 1 (template broken_latex) at line 28 of the "
                                                            "generated source")
    assert "2 failures" in res.stdout


class _Counting(Compiler):
    """A compiler (no cache) that counts its one-variant documents."""

    def __init__(self) -> None:
        super().__init__(None)
        self.documents = 0

    def compile_one(self, *args: Any, **kwargs: Any) -> Any:
        self.documents += 1
        return super().compile_one(*args, **kwargs)


def test_a_broken_template_is_found_by_halving_the_draws_document(tmp_path: Path) -> None:
    """The draw's document of every template and two multiple-choice problems (65 questions) fails: its
    halves are typeset, and the failing one halved again: at most 1 + 2 x 7 documents a version (not
    1 + 65), and the culprit's own error, as it fails alone."""
    dst = _copy(tmp_path, "broken_latex")
    so = dst / "solution.tex.j2"
    so.write_text(so.read_text().replace("<% block a %>", r"<% block a %>\nosuchmacro "))
    bank = load_bank([tmp_path / "bank"])
    compiler = _Counting()
    report = check_bank(bank, draws=1, compile_draws=1, compiler=compiler)
    assert report.compiled == len(bank.templates) + 2 == 65
    assert len(report.failures) == 1
    assert report.failures[0].startswith("broken_latex draw 1 (solution): LaTeX error: Undefined control sequence. ")
    assert compiler.documents <= 2 * (1 + 2 * 7)


def test_solution_too_long_for_its_area_names_template_part_and_height(tmp_path: Path) -> None:
    """The class's 7 pt floor (a solution that would shrink below 7 pt in its answer area)
    fails the check with the template, the draw, the part and the answer_height to give."""
    dst = _copy(tmp_path, "tiny_area")
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("credits: 1\n    answer_height: 30\n", "credits: 1\n    answer_height: 10\n", 1))
    res = run("check", "--draws", "2", "--template", "tiny_area", "--bank", str(tmp_path / "bank"))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    fails = [line for line in res.stderr.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2, res.stderr  # the two typeset draws, solution version only
    for n, line in enumerate(fails, start=1):
        assert line.startswith(f"FAIL tiny_area draw {n} (solution): LaTeX error: Class examgentum Error: "
                               "solution of part a) shrinks below 7 pt in its 10 mm answer area; "
                               "give the part answer_height: "), line
        needed = re.search(r"answer_height: (\d+) \(mm\) in question.yaml or shorten the solution", line)
        assert needed and 10 < int(needed.group(1)) <= 30, line  # the shipped 30 mm fit
        assert line.endswith("in problem 1 (template tiny_area) at line 28 of the generated source"), line


def test_render_error_names_template_and_draw(tmp_path: Path) -> None:
    dst = _copy(tmp_path, "broken_render")
    st = dst / "statement.tex.j2"
    # fails only when the minority class is 'tumor': some draws, not all
    st.write_text(st.read_text().replace("<% block a %>", "<% block a %><< 1 // 0 if classes[1] == 'tumor' else '' >>"))
    res = run("check", "--draws", "40", "--compile", "0", "--template", "broken_render",
              "--bank", str(tmp_path / "bank"))
    assert res.returncode == 1
    fails = [line for line in res.stderr.splitlines() if line.startswith("FAIL")]
    assert fails and all(f.startswith("FAIL broken_render draw ") for f in fails)
    assert all("rendering the" in f and "ZeroDivisionError" in f and "statement.tex.j2, block 'a'" in f for f in fails)
    assert 0 < len(fails) < 80
    assert "checked 1 templates x 40 draws" in res.stdout


def test_unknown_template_is_one_line() -> None:
    res = run("check", "--template", "batchnorm_fwd")
    assert res.returncode == 2
    assert res.stderr.strip() == "examgen: error: unknown template 'batchnorm_fwd'; did you mean 'batchnorm_forward'?"


def _odd_draws(tmp_path: Path) -> Path:
    """A bank whose template `odd_draws` fails the check on the draws that pick a class name with a
    glyph LaTeX cannot typeset (one of its five pairs)."""
    q = _copy(tmp_path, "odd_draws") / "question.yaml"
    text = q.read_text()
    assert "[road, pedestrian]]" in text
    q.write_text(text.replace("[road, pedestrian]]", "[road, pedestrian], [\"road \\u2603\", snow]]"))
    return tmp_path / "bank"


def test_a_sampled_value_pdflatex_cannot_typeset_fails_the_draws_that_draw_it(tmp_path: Path) -> None:
    """A class name with a snowman reaches the statement only in the draws that pick it: those draws
    fail, in both versions, whether or not they are among the few typeset ones (before, only a
    typeset draw that picked it failed, in LaTeX)."""
    bank = load_bank([_odd_draws(tmp_path)])
    report = check_bank(bank, draws=12, compile_draws=0, compiler=Compiler(None), templates=["odd_draws"], jobs=1)
    t = bank.templates["odd_draws"]
    picked = [n for n in range(1, 13)
              if "\u2603" in str(solve_question(t, derive_seed(CHECK_SEED, n, "odd_draws")).params["classes"])]
    assert 0 < len(picked) < 12
    why = ("character U+2603 (\u2603) cannot be typeset by pdflatex; remove it (from the template's text or a "
           "sampled value)")
    assert report.failures == [f"odd_draws draw {n}: the {version} version: {why}"
                               for n in picked for version in ("student", "solution")]


def test_check_in_processes_reports_what_one_process_does(tmp_path: Path) -> None:
    """Several processes (one per core, the default) give the report one gives: the same failures
    in the same order (template by template, each in draw order) and the same measures."""
    bank = load_bank([_odd_draws(tmp_path)])
    ids = ["class_imbalance", "odd_draws", "bce_loss", "attention_scores", "cnn_shapes"]
    one = check_bank(bank, draws=12, compile_draws=0, compiler=Compiler(None), templates=ids, jobs=1)
    many = check_bank(bank, draws=12, compile_draws=0, compiler=Compiler(None), templates=ids, jobs=3)
    assert one.failures and all(f.startswith("odd_draws draw ") for f in one.failures)
    assert many.failures == one.failures
    assert many.measures == one.measures and list(many.measures) == sorted(ids)


def _workers(proc: subprocess.Popen) -> list[int]:
    """The check's worker processes: the other processes of its session."""
    return [pid for pid, _ in session_procs(proc.pid) if pid != proc.pid]


def _check_with_workers(tmp_path: Path) -> subprocess.Popen:
    """`examgen check` of many draws (minutes) in a session of its own, once its two workers run."""
    proc = subprocess.Popen([sys.executable, "-m", "examgen", "check", "--draws", "100000", "--compile", "0",
                             "-j", "2"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_workers(proc)) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("sig, code, message", [
    (signal.SIGINT, 130, "examgen: interrupted; nothing was written"),
    (signal.SIGTERM, 143, "examgen: terminated (SIGTERM); nothing was written"),
])
def test_an_interrupted_check_stops_its_workers(tmp_path: Path, sig: signal.Signals, code: int,
                                                message: str) -> None:
    proc = _check_with_workers(tmp_path)
    err = signalled(proc, proc.pid, sig)  # examgen only (as a kill of its pid): it stops its workers itself
    assert proc.returncode == code, err
    assert error_lines(err) == [message]
    assert session_procs(proc.pid) == [], "check workers left running"


def test_a_check_worker_that_dies_is_one_error(tmp_path: Path) -> None:
    proc = _check_with_workers(tmp_path)
    err = signalled(proc, _workers(proc)[0], signal.SIGKILL)  # (as the out-of-memory killer would)
    assert proc.returncode == 1, err
    assert error_lines(err) == ["examgen: error: check: a worker process died (killed from outside, or out of "
                                "memory); run the check again, or with --jobs 1"]
    assert session_procs(proc.pid) == []
