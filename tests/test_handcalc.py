"""Issue 14, "No calculator unless the exam allows one": what each template needs, the tables
its statement prints, and `examgen check`'s proof (examgen.handcalc) that every declared
answer follows from the printed values within its tolerance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from examgen import ROOT, handcalc
from examgen.bank import load_bank
from examgen.checking import CHECK_SEED, check_draw
from examgen.layouts import STUDENT
from examgen.layouts.tum import render_question_body
from examgen.pipeline import solve_one
from examgen.questions import solve_question
from examgen.sampling import derive_seed
from examgen.spec import calculator_allowed, load_spec

# the templates issue 14 lists as needing a calculator, and the function each table prints
LISTED = {
    "rnn_sequence_forward": ["sigmoid"],
    "conv_forward_backward": ["sigmoid", "log"],
    "rbf_gradient": ["exp"],
    "rnn_tanh_gradient": ["tanh"],
    "softplus_gradient": ["sigmoid"],
    "lstm_scalar_forward": ["sigmoid", "tanh"],
    "conv1x1_pool_bce": ["log"],
    "mlp_forward": ["sigmoid"],
}
HEAD = {"sigmoid": r"\sigma(", "log": r"\ln ", "exp": "e^{", "tanh": r"\tanh ", "sqrt": r"\sqrt{"}


def _draw(tid: str, n: int, bank=None):
    bank = bank or load_bank()
    return solve_question(bank.templates[tid], derive_seed(CHECK_SEED, n, tid))


def _student(q) -> str:
    return "".join(render_question_body(q, STUDENT))


@pytest.mark.parametrize("tid", sorted(LISTED))
def test_listed_template_prints_its_tables_and_is_solvable_by_hand(tid):
    bank = load_bank()
    assert bank.templates[tid].calculator == "tables"
    for n in range(1, 41):
        q = _draw(tid, n, bank)
        text = _student(q)
        assert "calculator" not in text.lower(), f"{tid} draw {n} still mentions a calculator"
        for function in LISTED[tid]:
            if function == "tanh" and q.params.get("cell") == "textbook":
                continue
            assert r"\begin{array}" in text and HEAD[function] in text, f"{tid} draw {n}: no {function} table"
        assert handcalc.failures(q) == [], f"{tid} draw {n}"


def test_optimizer_trace_prints_the_roots_of_adaptive_optimizers():
    """adagrad/rmsprop/adam needed square roots to 4 decimals in 53.5 % of draws: the statement now
    prints them, w is asked to 3 decimals and every draw is reachable by hand."""
    bank = load_bank()
    seen = set()
    for n in range(1, 61):
        q = _draw("optimizer_trace", n, bank)
        opt = q.params["optimizer"]
        seen.add(opt)
        assert (r"\sqrt{" in _student(q)) == (opt in ("adagrad", "rmsprop", "adam")), f"draw {n} ({opt})"
        assert handcalc.failures(q) == [], f"draw {n} ({opt})"
    assert {"adagrad", "rmsprop", "adam"} <= seen


def test_mlp_forward_table_covers_sigma_5_of_seed_002_q3():
    """Seed 002 Q3c pins y = 5: the old table stopped at sigma(4). sigma(5) = 0.99331 -> 0.9933."""
    q = solve_one("mlp_forward", 1, {"x": [-1, 1], "W": [[1, 2, 1], [1, 1, 2]], "v": [1, -1, 2]})[1]
    text = _student(q)
    assert r"& 5 \\ \hline" in text and "& 0.9933" in text
    assert handcalc.failures(q) == []


def test_conv1x1_pool_bce_2019_endterm_loss_from_the_ln_table():
    """The shipped 2019 endterm (Resources: None) asked a 4-decimal log value with no table: the
    statement now prints ln 0.2, ln 0.4, ln 0.5 and asks the loss to 3 decimals."""
    bank = load_bank()
    spec = load_spec(ROOT / "exams" / "in2346-2019.yaml", bank)
    assert spec.info.calculator is False
    q = _draw("conv1x1_pool_bce", 1, bank)
    text = _student(q)
    for value in ("-1.6094", "-0.9163", "-0.6931"):
        assert value in text
    assert "rounded to 3 decimals" in text


# Seed 002 Q17 (workbook SoSe2018), in the template's names: the seed's g-gate is the input gate i,
# q the output gate o, and the unnamed U = 0.01, W = 0.1, b = 1 block the cell input g.
SEED_002_Q17 = {
    "x": [0.7, 0.5, 0.7], "h0": 0, "c0": 0,
    "w_i": 0.3, "u_i": -0.3, "b_i": 0.1, "w_f": 0.25, "u_f": 0.3, "b_f": 0,
    "w_o": 0.4, "u_o": 0.3, "b_o": 0.2, "w_g": 0.01, "u_g": 0.1, "b_g": 1,
}


def test_lstm_textbook_cell_reproduces_seed_002_q17():
    """The seed's cell: sigmoid cell input and h = ReLU(s) q. By hand, t = 1:
    i = sigma(0.31) = 0.5769, f = sigma(0.175), o = sigma(0.48) = 0.6177, g = sigma(1.007) = 0.7324,
    s_1 = 0.5769 * 0.7324 = 0.4225, h_1 = 0.4225 * 0.6177 = 0.261; then h = 0.391, 0.495 (the
    seed's answer). The output at t = 3 is not the one at t = 1 although x_3 = x_1."""
    q = solve_one("lstm_scalar_forward", 1, {**SEED_002_Q17, "cell": "textbook"})[1]
    assert [round(v, 3) for v in q.answers["h"]] == [0.261, 0.391, 0.495]
    assert round(q.answers["g_1"], 4) == 0.7324 and round(q.answers["c_1"], 4) == 0.4225
    assert q.answers["same_output"] == "no"
    text = _student(q)
    assert r"\mathrm{ReLU}(c_t)\, o_t" in text
    assert r"Is the output $h_3$ the same as $h_1$, although $x_3 = x_1$? Why?" in text
    assert r"\tanh" not in text  # no tanh table, no tanh in the equations
    assert handcalc.failures(q) == []
    # the default cell stays PyTorch's (h_1 = 0.256, test_declared_recurrent_calculus)
    assert round(solve_one("lstm_scalar_forward", 1, SEED_002_Q17)[1].answers["h_1"], 3) == 0.256


def _copy(tmp_path: Path, topic: str, tid: str, new: str, edit_statement=None, edit_question=None) -> Path:
    """A shipped template copied into tmp_path/bank as `new`, then edited."""
    dst = tmp_path / "bank" / topic / new
    shutil.copytree(ROOT / "question_bank" / topic / tid, dst)
    q = dst / "question.yaml"
    q.write_text((edit_question or (lambda s: s))(q.read_text().replace(f"id: {tid}", f"id: {new}")))
    st = dst / "statement.tex.j2"
    st.write_text((edit_statement or (lambda s: s))(st.read_text()))
    return tmp_path / "bank"


def test_check_catches_a_table_that_lacks_an_entry(tmp_path):
    """rnn_sequence_forward with its sigma table cut to its first two arguments (-4, -3)."""
    cut = "sigma_args|table('sigmoid', 's')"
    root = _copy(tmp_path, "recurrent", "rnn_sequence_forward", "rnn_cut",
                 edit_statement=lambda s: s.replace(cut, "sigma_args[:2]|table('sigmoid', 's')"))
    bank = load_bank([root])
    q, fails = check_draw(bank, "rnn_cut", 1)
    assert q is None
    missing = [f for f in fails if "used but not printed" in f]
    assert len(missing) == 1, fails
    assert missing[0].startswith("rnn_cut draw 1: $\\sigma(")
    assert "(calculator: tables; the statement does not print it); print it with the table filter" in missing[0]
    # the shipped one prints them all
    assert check_draw(load_bank(), "rnn_sequence_forward", 1)[1] == []


def test_check_catches_a_by_hand_result_outside_the_tolerance(tmp_path):
    """optimizer_trace as it was: w asked to 4 decimals with one unit of tolerance. In check's draw 319
    (rmsprop) the roots read off the 4-decimal table give w = 3.3342 where the key is 3.33341."""
    root = _copy(tmp_path, "optimization", "optimizer_trace", "trace4",
                 edit_statement=lambda s: s.replace("$w$ after every update, rounded to 3 decimals.",
                                                    "$w$ after every update, rounded to 4 decimals."),
                 edit_question=lambda s: s.replace("kind: matrix, round: 3, tolerance: 0.002,",
                                                   "kind: matrix, round: 4,"))
    bank = load_bank([root])
    seed = derive_seed(CHECK_SEED, 319, "optimizer_trace")  # check's draw 319 of the shipped template
    fails = handcalc.failures(solve_question(bank.templates["trace4"], seed))
    assert fails[0] == ("part a) answer 'w_steps': by hand from the printed tables it is 3.3342 (rounded to 4 "
                        "decimals), the key 3.33341: off by more than the tolerance 0.0001; print more decimals, "
                        "ask fewer or make the draws hand-friendly"), fails
    assert check_draw(load_bank(), "optimizer_trace", 319)[1] == []


def test_a_template_declared_none_may_not_use_a_table(tmp_path):
    root = _copy(tmp_path, "calculus", "softplus_gradient", "softplus_none",
                 edit_question=lambda s: s.replace("calculator: tables", "calculator: none"))
    fails = check_draw(load_bank([root]), "softplus_none", 1)[1]
    assert any("are used but not printed (calculator: none; the statement prints no table of them)" in f
               for f in fails), fails


def test_exact_values_need_no_table():
    """sqrt of a perfect square (batchnorm's sigma), sigma(0), e^0, ln 1, tanh 0: known by hand."""
    assert handcalc._exact("sqrt", 2.25) == 1.5 and handcalc._exact("sqrt", 16.0) == 4.0
    assert handcalc._exact("sqrt", 2.0) is None
    assert handcalc._exact("sigmoid", 0.0) == 0.5 and handcalc._exact("exp", 0.0) == 1.0
    assert handcalc._exact("log", 1.0) == 0.0 and handcalc._exact("tanh", 0.0) == 0.0
    assert handcalc._exact("sigmoid", 1.0) is None


@pytest.mark.parametrize(("resources", "allowed"), [
    ("None", False), ("One handwritten A4 sheet", False), ("Non-programmable calculator", True),
    ("No calculator", False), ("Pocket calculator, one A4 sheet", True), ("", False),
])
def test_calculator_default_from_resources(resources, allowed):
    assert calculator_allowed(resources) is allowed


def test_every_template_declares_its_calculator_need():
    bank = load_bank()
    # the audit's templates print tables (the schema alone only says every template declares something)
    assert {tid for tid in LISTED if bank.templates[tid].calculator == "tables"} == set(LISTED)
    for spec in ("in2346-endterm.yaml", "in2346-2019.yaml", "quiz.yaml"):
        load_spec(ROOT / "exams" / spec, bank)  # no shipped problem is refused
