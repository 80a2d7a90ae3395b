"""Issue 14, "Layout faults found by looking at the PDFs" and the retake's seed (helper
layoutfix): each fault as it shows in the rendered LaTeX or in the PDF's text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import pdftotext

from examgen import ROOT, cachedir
from examgen.bank import load_bank
from examgen.checking import check_bank, glyph_failures, template_failures
from examgen.pipeline import preview, solve_one
from examgen.questions import in_halves, scaled_parts, texts

BANK = load_bank()


# -- 1. the XOR answer table is a displayed table, not a run-in after the hint
def test_xor_answer_table_is_displayed_in_the_rendered_statement() -> None:
    _, q = solve_one("xor_threshold_network", 1, {"target": "xor"})
    st = str(texts(q).statements["a"])
    assert "Hint: $\\mathrm{XOR}(A, B)" in st
    assert re.search(r"\.\n*\\begin\{center\}\n\\begin\{tabular\}\{l\|c\|c\|c\}", st), st


def test_xor_answer_table_is_on_lines_of_its_own_in_the_pdf(tmp_path: Path) -> None:
    pdf = preview("xor_threshold_network", 1, {"target": "xor"}, False, tmp_path / "xor.pdf")
    lines = pdftotext(pdf, "-layout", "-f", "2", "-l", "2").splitlines()
    head = next(line for line in lines if re.search(r"\bneuron\s+w1\b", line))
    assert head.split() == ["neuron", "w1", "w2", "b"], head  # old: "(A ∧ ¬B) ∨ (¬A ∧ B).   neuron w1 w2 b"
    hint = next(i for i, line in enumerate(lines) if "Hint:" in line)
    assert lines.index(head) > hint + 1


# -- 2. \mathbb{1} prints as "⊮"
def test_no_shipped_text_prints_a_wrong_blackboard_glyph() -> None:
    assert [f for t in BANK.templates.values() for f in template_failures(t) if "mathbb" in f] == []
    texts_of = {i: [it.stem, it.note] + [x for o in it.options for x in (o.text, o.why)] for i, it in BANK.mc.items()}
    assert [(i, text) for i, strings in texts_of.items() for text in strings if glyph_failures(text)] == []


def test_glyph_check_names_mathbb_of_a_digit_or_small_letter() -> None:
    assert glyph_failures(r"$\mathbb{R}^n$, $\mathbb E$, $\mathbb{N}$") == []
    one = (r"\mathbb{1} prints a wrong glyph (\mathbb has capital letters only); "
           r"write \mathbf{1} for the indicator function")
    assert glyph_failures(r"$\mathbb{1}(x > 0)$ and $\mathbb 1[y]$") == [one, one]
    assert glyph_failures(r"$\mathbb{x}$") == [
        r"\mathbb{x} prints a wrong glyph (\mathbb has capital letters only); use a capital letter or \mathbf"]


def test_check_reports_a_template_with_mathbb_1(tmp_path: Path) -> None:
    dst = tmp_path / "bank" / "mlp" / "indicator_bb"
    shutil.copytree(ROOT / "question_bank" / "mlp" / "skip_connection_gradient", dst)
    q = dst / "question.yaml"
    q.write_text(q.read_text().replace("id: skip_connection_gradient", "id: indicator_bb"))
    so = dst / "solution.tex.j2"
    so.write_text(so.read_text().replace(r"\mathbf{1}", r"\mathbb{1}"))
    bank = load_bank([tmp_path / "bank"])
    report = check_bank(bank, draws=1, compile_draws=0, templates=["indicator_bb"])
    assert report.failures == [
        r"indicator_bb: solution.tex.j2: \mathbb{1} prints a wrong glyph (\mathbb has capital letters only); "
        r"write \mathbf{1} for the indicator function"] * 2


def test_skip_connection_solution_prints_a_bold_one_not_the_negated_forces_sign(tmp_path: Path) -> None:
    pdf = preview("skip_connection_gradient", 1, None, True, tmp_path / "skip.pdf")
    text = pdftotext(pdf, "-layout")
    assert "\u22ae" not in text  # ⊮, what msbm has in the slot of "1"
    assert re.search(r"1\(wx \+ x > 0\)", text), text


# -- 3. data_mismatch_case_study: the solution in the table the student fills, never below 7 pt
def _words(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """(word, xMin, yMin) of one page (pdftotext -bbox)."""
    html = pdftotext(pdf, "-bbox", "-f", str(page), "-l", str(page))
    return [(m.group(3), float(m.group(1)), float(m.group(2)))
            for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" [^>]*>([^<]*)</word>', html)]


def test_data_mismatch_solution_fills_the_students_table(tmp_path: Path) -> None:
    _, q = solve_one("data_mismatch_case_study", 1)
    a = q.answers
    solution = preview("data_mismatch_case_study", 1, None, True, tmp_path / "solution.pdf")
    student = preview("data_mismatch_case_study", 1, None, False, tmp_path / "student.pdf")
    sol, stu = _words(solution, 2), _words(student, 2)
    row = next(y for w, _, y in sol if w == "samples")
    assert row == next(y for w, _, y in stu if w == "samples")  # same place in both versions
    # in the samples row of c)'s table, right of its label: train, bridge, validation, test
    cells = sorted((x, w) for w, x, y in sol if abs(y - row) < 6 and w != "samples")
    assert [w for _, w in cells] == [str(a["train_c"]), str(a["bridge_c"]), str(q.params["n_eval"]),
                                     str(q.params["n_eval"])]
    assert not [w for w, x, y in stu if abs(y - row) < 6 and w != "samples"]  # the student's cells are empty
    name_row = next(y for w, _, y in sol if w == "Train")
    assert [w for _, w in sorted((x, w) for w, x, y in sol if abs(y - name_row) < 6)] == [
        "name", "Train", "Bridge", "/", "train-dev", "Validation", "Test"]


def test_data_mismatch_fills_leave_html_exports() -> None:
    from examgen.writers.htmltext import latex_to_html

    _, q = solve_one("data_mismatch_case_study", 1)
    rendered = texts(q, solutions=True)
    statement = latex_to_html(rendered.statements["c"])
    assert "egfill" not in statement and "c-n1" not in statement
    html = latex_to_html(rendered.solutions["c"])
    assert "egsetfill" not in html and "Train" not in html and html.startswith("<p>The table above, filled in: train ")


# -- 4. a credits override scales rubric points in halves
def test_in_halves_keeps_the_sum_by_largest_remainder() -> None:
    assert in_halves([0.75, 0.75], 1.5) == [1.0, 0.5]  # a tie goes to the earlier item
    assert in_halves([0.3, 1.2, 1.5], 3) == [0.5, 1.0, 1.5]  # remainders 0.6, 0.4, 0: the first gets the half
    assert in_halves([1.5, 3.0, 1.5], 6) == [1.5, 3.0, 1.5]


def test_endterm_credits_override_gives_rubric_points_in_halves() -> None:
    t = BANK.templates["training_fundamentals"]  # 6 credits: a 1 (0.5 + 0.5), b 2 (4 x 0.5), c 1, d 2 (1 + 1)
    parts = {p.name: p for p in scaled_parts(t, 9)}  # the endterm's P8: x 1.5, each 0.5 item would be 0.75
    assert [r.points for r in parts["a"].rubric] == [1.0, 0.5]
    assert [r.points for r in parts["b"].rubric] == [1.0, 1.0, 0.5, 0.5]  # four 0.75: ties to the earlier
    assert [r.points for r in parts["d"].rubric] == [1.5, 1.5]
    assert all(sum(r.points for r in p.rubric) == p.credits for p in parts.values())
    assert [a.points for a in parts["d"].answers] == [1.875, 0.375, 0.375, 0.375]  # weights within the part, exact


# -- 5. relu_decision_regions: the piece labels are not cut by the figure's clip
def test_relu_piece_labels_are_drawn_outside_the_clip() -> None:
    _, q = solve_one("relu_decision_regions", 5)
    sol = str(texts(q, solutions=True).solutions["a"])
    scope_end = sol.index(r"\end{scope}")
    labels = [m.start() for m in re.finditer(r"\{\$y = ", sol)]
    assert len(labels) == 4 and min(labels) > scope_end  # old: inside \begin{scope}\clip ... \end{scope}


# -- 6. the retake: a build with the seed of another exam warns
def _build(spec: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "examgen.cli", "build", str(spec), "--variants", "1", "--out",
                           str(out)], capture_output=True, text=True, env=env)


def test_retake_with_the_first_exams_seed_warns_and_builds(tmp_path: Path) -> None:
    env = {**os.environ, "EXAMGEN_STATE": str(tmp_path / "state")}
    quiz = (ROOT / "exams" / "quiz.yaml").read_text()
    assert "  name: Quiz 1\n" in quiz and "  seed: 7\n" in quiz
    first, retake = tmp_path / "quiz.yaml", tmp_path / "retake.yaml"
    first.write_text(quiz)
    retake.write_text(quiz.replace("  name: Quiz 1\n", "  name: Quiz 1 retake\n"))
    res = _build(first, tmp_path / "o1", env)
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr
    res = _build(first, tmp_path / "o1b", env)  # the same exam again: no warning
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr
    res = _build(retake, tmp_path / "o2", env)
    warnings = [line for line in res.stderr.splitlines() if line.startswith("examgen: warning")]
    assert res.returncode == 0 and (tmp_path / "o2" / "E0001" / "student.pdf").exists()
    assert warnings == [f"examgen: warning: seed 7 was used to build another exam, Introduction to Deep Learning "
                        f"Quiz 1 (Tuesday 10th November, 2026, {first}): this build repeats its questions and "
                        "numbers; give this exam its own exam.seed in the spec (or --seed)"]
    res = _build(retake, tmp_path / "o3", {**env, "EXAMGEN_STATE": "off"})
    assert "warning" not in res.stderr  # no record: nothing to compare with
    res = _build(retake, tmp_path / "o4", {**env, "EXAMGEN_CACHE": "off"})
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("examgen: warning: seed 7")]) == 1, res.stderr
    assert (tmp_path / "state" / cachedir.SEEDS_FILE).exists() and not (tmp_path / "cache").exists()


def test_seed_record_survives_a_damaged_file_and_keeps_one_entry_per_exam(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    (root / cachedir.SEEDS_FILE).write_text("{not json")
    a = {"course": "C", "name": "Endterm", "date": "1.2.2027", "spec": "/x/a.yaml"}
    b = {**a, "name": "Retake", "spec": "/x/b.yaml"}
    assert cachedir.seed_used_by_other_exam(root, 3, a) is None
    cachedir.record_seed(root, 3, a)
    cachedir.record_seed(root, 3, {**a, "spec": "/moved/a.yaml"})  # the same exam from another place
    assert json.loads((root / cachedir.SEEDS_FILE).read_text()) == {"3": [{**a, "spec": "/moved/a.yaml"}]}
    assert cachedir.seed_used_by_other_exam(root, 3, b) == {**a, "spec": "/moved/a.yaml"}
    assert cachedir.seed_used_by_other_exam(root, 4, b) is None
    assert not list(root.glob(".seeds-*"))
