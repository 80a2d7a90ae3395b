"""The graded-answer declarations of recurrent templates, checked against what the seed exams
(/work/shared/seeds/) and the rendered statements ask the student for; the expected declarations
and values are written out by hand here, never read from question.yaml or a solver."""

from __future__ import annotations

import pytest

from examgen.bank import load_bank
from examgen.layouts import STUDENT
from examgen.layouts.tum import render_question_body
from examgen.pipeline import solve_one
from examgen.solvers.recurrent import check_eigenvalues_answer

BANK = load_bank()


def _declared(tid: str) -> dict[str, list[tuple]]:
    """Per part: (name, kind, round, tolerance, points) of every graded answer."""
    return {p.name: [(a.name, a.kind, a.round, a.tolerance, a.points) for a in p.answers]
            for p in BANK.templates[tid].parts}


def _graded(q) -> dict:
    return {a.name: value for _, a, value in q.graded() if a.name}


def test_rnn_param_count_seed_004_p6a():
    """Seed 004 P6a asks 'what is the number of parameters in the RNN cell?' (4 x 12 + 12 x 12 = 192):
    an integer, so an exact answer (no rounding, tolerance 0). The template adds 'Show how you count
    them': the rubric's 1.5 of 2 credits for the count (input, recurrent, bias terms) are graded by hand."""
    assert _declared("rnn_param_count") == {
        "a": [("total", "number", None, 0.0, 0.5), (None, "text", None, 0.0, 1.5)]}
    q = solve_one("rnn_param_count", 0, {"input_dim": 4, "hidden_dim": 12, "cell": "rnn", "bias": False})[1]
    assert _graded(q) == {"total": 192}


def test_rnn_relu_scalar_seed_004_p6cd():
    """Seed 004 P6c asks h_1, h_2, h_3 (0, 4, 4) and d) the derivatives dh_3/dV, dh_3/dW, dh_3/dx_1
    (4, 2, 0): integers, asked exactly; one credit per derivative (the part's 3 credits). The template
    also asks y_T (a, with h) and dy_T/du (c)."""
    assert _declared("rnn_relu_scalar") == {
        "a": [("h", "vector", None, 0.0, 1), ("y_T", "number", None, 0.0, 1)],
        "b": [("dh_du", "number", None, 0.0, 1), ("dh_dw", "number", None, 0.0, 1),
              ("dh_dx1", "number", None, 0.0, 1)],
        "c": [("dy_du", "number", None, 0.0, 1)],
    }
    q = solve_one("rnn_relu_scalar", 4, {"u": 1, "w": 2, "v": 1, "h0": -3, "x": [1, 2, 0], "relu_grad_at_zero": 1})[1]
    assert _graded(q) == {"h": [0, 4, 4], "y_T": 4, "dh_du": 4, "dh_dw": 2, "dh_dx1": 0, "dy_du": 4}


SEED_002_Q17 = {
    "x": [0.7, 0.5, 0.7], "h0": 0, "c0": 0,
    "w_i": 0.3, "u_i": -0.3, "b_i": 0.1, "w_f": 0.25, "u_f": 0.3, "b_f": 0,
    "w_o": 0.4, "u_o": 0.3, "b_o": 0.2, "w_g": 0.01, "u_g": 0.1, "b_g": 1,
}


def test_lstm_scalar_forward_seed_002_q17():
    """Seed 002 Q17 asks the forward pass over the whole sequence; the template's statement says
    'give the results rounded to 3 decimals': every graded number is declared with 3 decimals. The
    rubric accepts +-0.002 on c_t and h_t (values carried from the step before), so those declare 2
    units. By hand (t = 1): i = sigma(0.31) = 0.577, f = sigma(0.175) = 0.544, g = tanh(1.007) = 0.765,
    o = sigma(0.48) = 0.618, c_1 = 0.441, h_1 = 0.256; then c = 0.663, 0.807 and h = 0.358, 0.429."""
    gate, carried = (3, 0.001, 0.5), (3, 0.002)
    assert _declared("lstm_scalar_forward") == {
        "a": [("i_1", "number", *gate), ("f_1", "number", *gate), ("g_1", "number", *gate),
              ("o_1", "number", *gate), ("c_1", "number", *carried, 1.5), ("h_1", "number", *carried, 1.5)],
        "b": [("c_rest", "vector", *carried, 2), ("h_rest", "vector", *carried, 2)],
        # issue 14: the seed's "is the output at t = 1 the same as at t = 3? Why?"
        "c": [("same_output", "choice", None, 0.0, 0.5), (None, "text", None, 0.0, 0.5)],
    }
    q = solve_one("lstm_scalar_forward", 0, SEED_002_Q17)[1]
    assert "give the\nresults rounded to 3 decimals" in "".join(render_question_body(q, STUDENT))
    graded = _graded(q)
    assert graded.pop("same_output") == "no"  # h_3 != h_1 although x_3 = x_1
    rounded = {k: [round(x, 3) for x in v] if isinstance(v, list) else round(v, 3) for k, v in graded.items()}
    assert rounded == {"i_1": 0.577, "f_1": 0.544, "g_1": 0.765, "o_1": 0.618, "c_1": 0.441, "h_1": 0.256,
                       "c_rest": [0.663, 0.807], "h_rest": [0.358, 0.429]}


ORTHOGONAL = {"W": [[0.6, -0.8], [0.8, 0.6]]}  # seed 001 P10a's orthogonal theta_c: |lambda| = 1


@pytest.mark.parametrize(("proposed", "verdict"), [
    ([[0.6, 0.8], [0.6, -0.8]], (True, "correct")),
    ([[0.6, -0.8], [0.6, 0.8]], (True, "correct")),  # any order
    ([0.6, 0.6], (False, "0.6 + 0.8i is an eigenvalue of W but missing from the answer")),
    ([[0.6, 0.8]], (False, "expected 2 eigenvalues, got 1")),
    ([[0.6, 0.8], "0.6-0.8i"], (False, "expected a number or [re, im] per eigenvalue, got '0.6-0.8i'")),
])
def test_eigenvalues_checker_seed_001_p10a(proposed, verdict):
    """Seed 001 P10a: eigenvalues decide vanishing/exploding; for the orthogonal W they are 0.6 +- 0.8i
    (trace 1.2, det 1), and the answer 'neither' (rho = 1). Any order is right; reals alone are not."""
    assert check_eigenvalues_answer(ORTHOGONAL, proposed) == verdict
    q = solve_one("rnn_gradient_stability", 0, ORTHOGONAL)[1]
    assert (_graded(q)["rho"], _graded(q)["regime"]) == (1, "neither")


@pytest.mark.parametrize(("W", "proposed", "verdict"), [
    # triangular: the eigenvalues are the diagonal (hand-checked), real, any order
    ([[0.5, 2], [0, -0.25]], [-0.25, 0.5], (True, "correct")),
    # [[1,1],[1,1]] has eigenvalues 2 and 0 (trace 2, det 0): 2 twice is not the answer (multiplicity)
    ([[1, 1], [1, 1]], [2, 2], (False, "0 is an eigenvalue of W but missing from the answer")),
    # within 1e-6 of 0.5 is right, 1e-3 off is not
    ([[0.5, 2], [0, -0.25]], [-0.25, 0.5000001], (True, "correct")),
    ([[0.5, 2], [0, -0.25]], [-0.25, 0.501], (False, "0.5 is an eigenvalue of W but missing from the answer")),
])
def test_eigenvalues_checker_real_cases(W, proposed, verdict):
    assert check_eigenvalues_answer({"W": W}, proposed) == verdict
