"""`examgen check`: the whole shipped bank passes; a broken template is named
with its draw and what broke (sampling, rendering, LaTeX), and the exit code is 1."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from examgen import ROOT
from examgen.bank import load_bank
from examgen.checking import check_bank


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
        assert "\\nosuchmacro')" in line and line.endswith("in problem 1 (template broken_latex) at line 29 of the "
                                                            "generated source")
    assert "2 failures" in res.stdout


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
        assert line.endswith("in problem 1 (template tiny_area) at line 29 of the generated source"), line


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
