"""Never degenerate (issue 14): every case the audit of 2026-12-01 lists, at 0 % over the
first 200 draws of `examgen check` -- computed here from the solved values by this file's own
code, not by the predicates question.yaml declares -- the check failing above a declared
limit or below the distinct share, and the README's table being current."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import numpy as np
from faults import bank_template

from examgen import ROOT
from examgen.bank import load_bank
from examgen.checking import CHECK_SEED
from examgen.cli import main
from examgen.model import SolvedQuestion
from examgen.questions import solve_question
from examgen.sampling import derive_seed

DRAWS = 200


@cache
def _draws(tid: str) -> tuple[SolvedQuestion, ...]:
    """The draws `examgen check` makes of a template (same seeds)."""
    t = load_bank().templates[tid]
    return tuple(solve_question(t, derive_seed(CHECK_SEED, n, tid)) for n in range(1, DRAWS + 1))


def _rate(tid: str, bad) -> float:
    qs = _draws(tid)
    return sum(bool(bad(q.params, q.answers)) for q in qs) / len(qs)


def test_skip_connection_path_always_enlarges_the_gradient():
    """Audit: 11.5 % of draws had |dy/dx| smaller with the skip (w = -1.5, x = -1: -1.5 -> -0.5)."""
    assert _rate("skip_connection_gradient", lambda p, a: abs(a["dy_dx_skip"]) <= abs(a["dy_dx_plain"])) == 0
    pairs = {(q.params["w"], q.params["x"]) for q in _draws("skip_connection_gradient")}
    assert len(pairs) >= 84  # 51 before; the declared space of 110 expects about 92 in 200 draws
    v = load_bank().templates["skip_connection_gradient"].variants
    assert v.space == 110 and v.why


def test_rnn_sequence_forward_no_dead_unit_and_no_zero_input():
    """Audit: a hidden unit dead at every step in 27 %, a zero input column in 6 %."""
    def dead(p, a):
        h = np.array(a["h"], dtype=float)  # T x hidden
        return any(all(h[t, j] == 0 for t in range(h.shape[0])) for j in range(h.shape[1]))

    def zero_column(p, a):
        x = p["X"]
        return any(all(row[i] == 0 for row in x) for i in range(len(x[0])))

    assert _rate("rnn_sequence_forward", dead) == 0
    assert _rate("rnn_sequence_forward", zero_column) == 0


def test_conv_forward_backward_no_asked_kernel_gradient_is_zero():
    """Audit: at least one of the four asked kernel gradients was 0 in 79 %."""
    assert _rate("conv_forward_backward", lambda p, a: 0 in a["dK1_tl"] + a["dK2_tl"]) == 0


def test_weight_decay_l1_and_l2_steps_differ_and_no_zero_entries():
    """Audit: identical L1 and L2 steps in 14.5 %, a zero in x in 42.5 %, in w in 70.5 %."""
    assert _rate("weight_decay_update", lambda p, a: list(a["w_l1"]) == list(a["w_l2"])) == 0
    assert _rate("weight_decay_update", lambda p, a: 0 in p["x"]) == 0
    assert _rate("weight_decay_update", lambda p, a: 0 in p["w"]) == 0


def _solve_cli(tid: str, seed: int, capsys) -> dict:
    assert main(["solve", tid, "--seed", str(seed)]) == 0
    return json.loads(capsys.readouterr().out)["params"]


def test_softmax_distinct_entries_and_problems(capsys):
    """Audit: repeated entries in 60 %, 61 distinct problems up to shift and permutation,
    seeds 10 and 14 identical."""
    assert _rate("softmax", lambda p, a: len(set(p["x"])) != len(p["x"])) == 0
    shapes = set()
    for q in _draws("softmax"):
        x = sorted(q.params["x"])
        shapes.add(tuple(round(v - x[0], 6) for v in x))
    assert len(shapes) >= 180
    a, b = _solve_cli("softmax", 10, capsys), _solve_cli("softmax", 14, capsys)
    xa, xb = sorted(a["x"]), sorted(b["x"])
    assert [v - xa[0] for v in xa] != [v - xb[0] for v in xb]


def test_dropout_nonzero_input_and_five_different_predictions():
    """Audit: x = (0, 0) drawn; two of the five predictions coincided in 15 %."""
    assert _rate("dropout_forward", lambda p, a: all(v == 0 for v in p["x"])) == 0
    keys = ("y_a", "y_b", "y_a_scaled", "y_b_scaled", "y_full")
    assert _rate("dropout_forward", lambda p, a: len({round(a[k], 9) for k in keys}) < 5) == 0


def test_mlp_forward_nonzero_input():
    assert _rate("mlp_forward", lambda p, a: all(v == 0 for v in p["x"])) == 0


def test_rnn_relu_scalar_x1_matters_and_v_is_not_one():
    """Audit: dh_T/dx_1 = 0 in 19.5 %; v = 1 in 31.5 % (part c repeated part b)."""
    def dx1_zero(p, a):  # dh_T/dx_1 = w * prod_t ReLU'(z_t) * u^(T-1), from the solved pre-activations
        return p["w"] * np.prod([1.0 if z > 0 else 0.0 for z in a["z"]]) * p["u"] ** (len(p["x"]) - 1) == 0

    assert _rate("rnn_relu_scalar", dx1_zero) == 0
    assert _rate("rnn_relu_scalar", lambda p, a: p.get("v", 1) == 1) == 0


def test_rnn_gradient_stability_no_rho_one_and_no_duplicates():
    """Audit: rho = 1 ('borderline') in 12 %, duplicate matrices (151 distinct in 200)."""
    assert _rate("rnn_gradient_stability",
                 lambda p, a: abs(max(abs(np.linalg.eigvals(np.array(p["W"], dtype=float)))) - 1) < 1e-9) == 0
    assert len({json.dumps(q.params["W"]) for q in _draws("rnn_gradient_stability")}) >= 180


def test_rnn_tanh_gradient_w_nonzero():
    assert _rate("rnn_tanh_gradient", lambda p, a: p["W"] == 0) == 0


def test_conv2d_apply_draws_same_padding_and_the_relu_branch():
    """Audit: the seed's 'same' padding and the ReLU branch of part c were never drawn."""
    assert _rate("conv2d_apply", lambda p, a: p["padding"] == "same") >= 0.1
    assert _rate("conv2d_apply", lambda p, a: p["pool"] is None) >= 0.1


def test_conv1x1_pool_bce_draws_pool_padding_and_ties():
    """Audit: the seed's pool padding and the tie rule were never drawn."""
    assert _rate("conv1x1_pool_bce", lambda p, a: p["pool_padding"] == 1) >= 0.1
    assert _rate("conv1x1_pool_bce", lambda p, a: a["pool_ties"] > 0) >= 0.05


# ------------------------------------------------------------------ examgen check fails
def _main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # check ends with SystemExit(1) on failures
        return int(exc.code or 0)


def _check(tmp_path: Path, capsys, draws: int = 40) -> tuple[int, str, str]:
    code = _main(["check", "--bank", str(tmp_path / "bank"), "-t", "q1", "--draws", str(draws), "--compile", "0"])
    out = capsys.readouterr()
    return code, out.out, out.err


def _distinct_q1(tmp_path: Path, key=lambda p: p) -> int:
    """Distinct problems among check's 200 draws of the fixture, counted here."""
    t = load_bank([tmp_path / "bank"]).templates["q1"]
    return len({json.dumps(key(solve_question(t, derive_seed(CHECK_SEED, n, "q1")).params), sort_keys=True)
                for n in range(1, 201)})


def _fixture(tmp_path: Path, yaml_extra: str, solver: str = "") -> None:
    bank_template("q1", question=lambda s: re.sub(r"\nvariants: .*", "", s).replace(
        "\nparams:", f"\n{yaml_extra}\nparams:"))(tmp_path)
    (tmp_path / "bank" / "data" / "q1" / "solver.py").write_text(solver)


def test_check_fails_when_a_predicate_exceeds_its_limit(tmp_path, capsys):
    _fixture(tmp_path, "variants: {space: 100, why: a case study}\n"
             "degenerate: [{name: big_majority, check: solver.big, limit: 0.02}]",
             "def big(params, answers):\n    return params['n_major'] >= 6000\n")
    code, out, err = _check(tmp_path, capsys)
    assert code == 1
    assert "FAIL q1: degenerate 'big_majority' in " in err
    assert "above its limit 2%; change the sampler (or a constraint) so that solver.big holds for none" in err
    assert re.search(r"variety q1: \d+ distinct in 40 draws \(at least \d+\); big_majority \d+\.\d% \(limit 2%\)", out)


def test_check_passes_a_predicate_that_never_holds(tmp_path, capsys):
    _fixture(tmp_path, "variants: {space: 100, why: a case study}\n"
             "degenerate: [{name: negative, check: solver.negative}]",
             "def negative(params, answers):\n    return params['n_major'] < 0\n")
    code, out, err = _check(tmp_path, capsys)
    assert code == 0, err
    assert "negative 0.0% (limit 0%)" in out


def test_check_fails_below_the_distinct_share(tmp_path, capsys):
    """class_imbalance's 100 problems without its declared space: far fewer than 180 of 200."""
    _fixture(tmp_path, "")
    n = _distinct_q1(tmp_path)
    assert n < 180
    code, out, err = _check(tmp_path, capsys, draws=200)
    assert code == 1
    assert (f"FAIL q1: {n} distinct variants in 200 draws, fewer than the 180 required (min_distinct 0.9, "
            "no declared space); widen the sampled values or declare variants: {space: N, why: ...}") in err


def test_a_declared_space_lowers_the_requirement(tmp_path, capsys):
    """200 uniform draws from 100 problems give 100 (1 - 0.99^200) = 86.60 distinct on average,
    with a variance of 100 a + 9900 b - 10^4 a^2 = 8.01 (a = 0.99^200, b = 0.98^200):
    floor(0.9 * 86.60 - 2 * 2.83) = 72."""
    _fixture(tmp_path, 'variants: {space: 100, why: "a case study"}')
    n = _distinct_q1(tmp_path)
    code, out, err = _check(tmp_path, capsys, draws=200)
    assert code == 0, err
    assert f"variety q1: {n} distinct in 200 draws (at least 72)" in out  # 0.9 * 86.60 - 2 * 2.83, below


def test_canonical_merges_draws_that_are_the_same_problem(tmp_path, capsys):
    _fixture(tmp_path, 'variants: {space: 100, why: "a case study"}\ncanonical: solver.names_only',
             "def names_only(params, answers):\n    return params['classes']\n")
    code, out, err = _check(tmp_path, capsys, draws=200)
    assert code == 1
    assert "FAIL q1: 4 distinct variants in 200 draws, fewer than the 72 required" in err


# ------------------------------------------------------------------ the README table
BEGIN, END = "<!-- variety-table:begin -->", "<!-- variety-table:end -->"


def test_readme_table_is_current(capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme, f"README.md has no {BEGIN} ... {END} block"
    shown = readme.split(BEGIN)[1].split(END)[0].strip()
    code = _main(["check", "--draws", str(DRAWS), "--table"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert shown == out.out.strip(), (
        "README.md's variety table is stale; refresh it: run `examgen check --draws 200 --table` and put its "
        f"output between {BEGIN} and {END}")
