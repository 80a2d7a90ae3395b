"""Independent oracles for the mlp templates (examgen/solvers/mlp.py).

Every expected value comes from torch (torch.nn.functional, autograd,
torch.optim), from a brute-force enumeration, or from the seed exams' numbers
(/work/shared/seeds/); examgen's own formulas are never called for an
expected value. Draws go through the template's own sampler
(solve_question(BANK.templates[id], derive_seed(...)))."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracle import ATOL, float64  # noqa: F401  (float64: autouse fixture)
from oracle import close as _close
from oracle import t as _t

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.pipeline import solve_one
from examgen.questions import solve_question
from examgen.sampling import derive_seed
from examgen.solvers import mlp

BANK = load_bank()
DRAWS = 200


def _draws(tid: str):
    t = BANK.templates[tid]
    for n in range(1, DRAWS + 1):
        q = solve_question(t, derive_seed(4242, n, tid))
        yield f"{tid} draw {n}, params {q.params}", q.params, q.answers


def _pinned(tid: str, params: dict):
    return solve_one(tid, 1, params)[1].answers


def _hand(x, places: int = 2) -> bool:
    a = np.asarray(x, dtype=float).reshape(-1) * 10**places
    return bool(np.all(np.abs(a - np.round(a)) < 1e-6))


# ============================================================== mlp_forward
def _forward_oracle(p: dict) -> dict:
    x, W, v = _t(p["x"]), _t(p["W"]), _t(p["v"])
    h = F.relu(F.linear(x, W[:, 1:], W[:, 0]))
    y = F.linear(h, v[1:].unsqueeze(0), v[:1])[0]
    return {"h": h, "y_reg": y, "y_cls": torch.sigmoid(y)}


def test_mlp_forward_matches_torch():
    for ctx, p, a in _draws("mlp_forward"):
        exp = _forward_oracle(p)
        for key in ("h", "y_reg", "y_cls"):
            _close(a[key], exp[key], key, ctx)
        assert _hand(a["h"], 0) and _hand(a["y_reg"], 0), f"{ctx}: not integers"
        assert 0 < abs(a["y_reg"]) <= 4, f"{ctx}: sigmoid argument outside the table of the statement"


def test_seed002_q3_forward():
    """Seed 002 Q3c: x = (-1, 1), W = [[1, 2, 1], [1, 1, 2]] (column 0 bias), v = (1, -1, 2).
    h1 = ReLU(1 - 2 + 1) = 0 (pre-activation exactly 0), h2 = ReLU(1 - 1 + 2) = 2,
    regression y = 1 - 0 + 2*2 = 5, classification sigmoid(5) = 0.993. (The workbook has no
    worked solution; these are hand-computed and checked against torch.)"""
    p = {"x": [-1, 1], "W": [[1, 2, 1], [1, 1, 2]], "v": [1, -1, 2]}
    a = _pinned("mlp_forward", p)
    assert a["h"] == [0, 2]
    assert a["y_reg"] == 5
    assert round(a["y_cls"], 3) == 0.993
    exp = _forward_oracle(p)
    _close(a["y_cls"], exp["y_cls"], "y_cls", "seed 002 Q3")


# ============================================================== skip_connection_gradient
def _skip_oracle(w: float, x: float) -> tuple[float, float]:
    """Autograd through torch.relu (ReLU'(0) = 0)."""
    xs = torch.tensor(float(x), requires_grad=True)
    (g1,) = torch.autograd.grad(torch.relu(w * xs), xs)
    xs = torch.tensor(float(x), requires_grad=True)
    (g2,) = torch.autograd.grad(torch.relu(w * xs + xs), xs)
    return float(g1), float(g2)


def test_skip_connection_gradient_matches_autograd():
    for ctx, p, a in _draws("skip_connection_gradient"):
        g1, g2 = _skip_oracle(p["w"], p["x"])
        _close(a["dy_dx_plain"], g1, "dy_dx_plain", ctx)
        _close(a["dy_dx_skip"], g2, "dy_dx_skip", ctx)
        assert g2 != 0, f"{ctx}: the skip path must be active"
        assert p["w"] * p["x"] != 0 and (p["w"] + 1) * p["x"] != 0, f"{ctx}: kink at 0"


def test_seed001_p6_skip_connection():
    """Seed 001 P6c: w = 0.001 and y > 0 (x = 1): dy/dx = 0.001 without, 1.001 with the skip."""
    a = _pinned("skip_connection_gradient", {"w": 0.001, "x": 1})
    assert a["dy_dx_plain"] == pytest.approx(0.001, abs=1e-12)
    assert a["dy_dx_skip"] == pytest.approx(1.001, abs=1e-12)


def test_skip_connection_kink_uses_relu_grad_zero():
    """Pinned x = 0 puts both units at the kink; the statement fixes ReLU'(0) = 0 (torch agrees)."""
    a = _pinned("skip_connection_gradient", {"w": 0.5, "x": 0})
    assert (a["dy_dx_plain"], a["dy_dx_skip"]) == (0, 0) == _skip_oracle(0.5, 0)


# ============================================================== softmax
def test_softmax_matches_torch():
    for ctx, p, a in _draws("softmax"):
        _close(a["softmax"], F.softmax(_t(p["x"]), dim=0), "softmax", ctx)
        _close(a["exp_sum"], torch.exp(_t(p["x"])).sum(), "exp_sum", ctx)
        assert len(set(p["x"])) > 1, ctx


def test_seed002_q1c_softmax():
    """Seed 002 Q1c: softmax(1, 0, 2) = (0.245, 0.090, 0.665) (no worked solution in the seed;
    the MC item softmax_of_small_vector of the bank uses the same numbers)."""
    a = _pinned("softmax", {"x": [1, 0, 2]})
    assert [round(v, 3) for v in a["softmax"]] == [0.245, 0.090, 0.665]


# ============================================================== dropout_forward
def _dropout_oracle(p: dict, masks, scale: float) -> float:
    a = _t(p["x"])
    masks = masks or []
    for i in range(len(p["weights"]) + 1):
        if i > 0:
            a = F.relu(F.linear(a, _t(p["weights"][i - 1]), _t(p["biases"][i - 1])))
        if i < len(masks):
            a = a * _t(masks[i]) * scale
    return float(F.linear(a, _t(p["v"]).unsqueeze(0), _t([p["b_out"]]))[0])


def _torch_inverted_scale(p: float) -> float:
    """The factor torch's F.dropout (training mode) gives a kept unit: inverted dropout."""
    torch.manual_seed(0)
    out = F.dropout(torch.ones(2000), p=p, training=True)
    kept = out[out != 0]
    assert torch.allclose(kept, kept[0].expand_as(kept))
    return float(kept[0])


def test_dropout_forward_matches_torch():
    scales = {}
    for ctx, p, a in _draws("dropout_forward"):
        s = scales.setdefault(p["p"], _torch_inverted_scale(p["p"]))
        _close(a["scale"], s, "scale", ctx)
        for tag in ("a", "b"):
            _close(a[f"y_{tag}"], _dropout_oracle(p, p[f"masks_{tag}"], 1.0), f"y_{tag}", ctx)
            _close(a[f"y_{tag}_scaled"], _dropout_oracle(p, p[f"masks_{tag}"], s), f"y_{tag}_scaled", ctx)
        _close(a["y_full"], _dropout_oracle(p, None, 1.0), "y_full", ctx)
        assert len({a["y_a"], a["y_b"], a["y_full"]}) == 3, f"{ctx}: outputs not distinct"
        vals = [v for k in ("act_a_scaled", "act_b_scaled") for layer in a[k] for v in layer]
        assert _hand(vals, 0), f"{ctx}: activations not integers"


SEED002_Q8 = {
    "x": [1, 1],
    "weights": [[[1, 2], [-1, 1], [2, -1]], [[1, 2, -2], [2, -1, 1]], [[2, 1], [-1, -1]]],
    "biases": [[-1, 1, 2], [2, -1], [1, 1]],
    "v": [1, -1], "b_out": 1, "p": 0.5,
    "masks_a": [[1, 1], [1, 0, 1], [1, 0]],
    "masks_b": [[0, 1], [0, 1, 1], [1, 1]],
}


def test_seed002_q8_dropout():
    """Seed 002 Q8b: W^{lT} of the seed is our weights[l-1] (rows = units of layer l); masks mu^0
    (input), mu^1, mu^2; h^3 has no mask; linear output v^T h^3 + b^4. No worked solution in the
    seed; by hand: first masks h1 = (2, 0, 3), h2 = (0, 6) -> dropped to (0, 0), h3 = b3 = (1, 1),
    y = 1; second masks x~ = (0, 1), h1 = (0, 2, 1), h2 = (4, 0), h3 = (9, 0), y = 10. The seed gives
    no p; with p = 0.5 (scale 2): y = 1 and 58. Without dropout y = 7."""
    a = _pinned("dropout_forward", SEED002_Q8)
    assert (a["y_a"], a["y_b"]) == (1, 10)
    assert a["act_a"][1:] == [[2, 0, 3], [0, 0], [1, 1]]
    assert a["act_b"][1:] == [[0, 2, 1], [4, 0], [9, 0]]
    assert (a["y_a_scaled"], a["y_b_scaled"], a["y_full"]) == (1, 58, 7)
    for tag in ("a", "b"):
        assert a[f"y_{tag}_scaled"] == _dropout_oracle(SEED002_Q8, SEED002_Q8[f"masks_{tag}"], 2.0)


# ============================================================== mlp_backprop_step
def _backprop_oracle(p: dict) -> dict:
    W1 = _t(p["W1"]).clone().requires_grad_(True)
    b1 = _t(p["b1"]).clone().requires_grad_(True)
    w2 = _t(p["w2"]).clone().requires_grad_(True)
    b2 = _t([p["b2"]]).clone().requires_grad_(True)
    x, y = _t(p["x"]), _t(p["y"])
    out = torch.relu if p.get("output_relu", True) else (lambda z: z)

    def forward():
        h = F.relu(F.linear(x, W1, b1))
        return h, out(F.linear(h, w2.unsqueeze(0), b2))[0]

    h, yhat = forward()
    loss = F.mse_loss(yhat, y, reduction="sum")  # (y_hat - y)^2, no 1/2
    opt = torch.optim.SGD([W1, b1, w2, b2], lr=p["lr"])
    opt.zero_grad()
    loss.backward()
    res = {"h": h.detach().clone(), "y_hat": float(yhat.detach()), "loss": float(loss.detach()),
           "grad_W1": W1.grad.clone(), "grad_b1": b1.grad.clone(), "grad_w2": w2.grad.clone(),
           "grad_b2": float(b2.grad[0])}
    opt.step()
    with torch.no_grad():
        h2, yhat2 = forward()
        res.update({"W1_new": W1.detach().clone(), "b1_new": b1.detach().clone(), "w2_new": w2.detach().clone(),
                    "b2_new": float(b2[0]), "h_after": h2, "y_hat_after": float(yhat2),
                    "loss_after": float((yhat2 - y) ** 2)})
    return res


BP_KEYS = ("h", "y_hat", "loss", "grad_W1", "grad_b1", "grad_w2", "grad_b2", "W1_new", "b1_new", "w2_new",
           "b2_new", "h_after", "y_hat_after", "loss_after")


def test_mlp_backprop_step_matches_autograd():
    for ctx, p, a in _draws("mlp_backprop_step"):
        exp = _backprop_oracle(p)
        for key in BP_KEYS:
            _close(a[key], exp[key], key, ctx)
        _close(a["loss_decrease"], exp["loss"] - exp["loss_after"], "loss_decrease", ctx)
        assert exp["loss_after"] < exp["loss"], f"{ctx}: the step does not improve the loss"
        assert _hand([a[k] for k in ("y_hat", "loss", "y_hat_after")]), f"{ctx}: more than two decimals"


def test_seed002_q5_backprop():
    """Seed 002 Q5a: x = (2, 4), y = 2.5, learning rate 0.1, all nodes ReLU. The network itself is
    in a figure that the seed's text extraction lost, so there is no worked solution; the weights
    below are ours: W1 = [[1, -1], [0, 1]], b1 = 0, w2 = (1, 0.5), b2 = 0.
    By hand: z1 = (-2, 4), h = (0, 4), y_hat = 2, L = 0.25; dL/dy_hat = -1; dL/dw2 = (0, -4),
    dL/db2 = -1; dL/dz1 = (0, -0.5); dL/dW1 = [[0, 0], [-1, -2]], dL/db1 = (0, -0.5).
    After the step: W1 = [[1, -1], [0.1, 1.2]], b1 = (0, 0.05), w2 = (1, 0.9), b2 = 0.1,
    y_hat = 0.9 * 5.05 + 0.1 = 4.645, L = 2.145^2 = 4.601025: with lr 0.1 the loss gets WORSE
    (overshoot), the effect the seed's question 2 asks students to comment on."""
    p = {"x": [2, 4], "y": 2.5, "W1": [[1, -1], [0, 1]], "b1": [0, 0], "w2": [1, 0.5], "b2": 0, "lr": 0.1,
         "output_relu": True}
    a = _pinned("mlp_backprop_step", p)
    assert a["h"] == [0, 4] and a["y_hat"] == 2 and a["loss"] == 0.25
    assert a["grad_w2"] == [0, -4] and a["grad_b2"] == -1
    assert a["grad_W1"] == [[0, 0], [-1, -2]] and a["grad_b1"] == [0, -0.5]
    _close(a["W1_new"], [[1, -1], [0.1, 1.2]], "W1_new", "seed 002 Q5")
    _close(a["b1_new"], [0, 0.05], "b1_new", "seed 002 Q5")
    _close(a["w2_new"], [1, 0.9], "w2_new", "seed 002 Q5")
    _close(a["y_hat_after"], 4.645, "y_hat_after", "seed 002 Q5")
    _close(a["loss_after"], 4.601025, "loss_after", "seed 002 Q5")
    exp = _backprop_oracle(p)
    for key in BP_KEYS:
        _close(a[key], exp[key], key, "seed 002 Q5")


# ============================================================== xor_threshold_network
TRUTH = {"xor": [0, 1, 1, 0], "xnor": [1, 0, 0, 1], "and_not": [0, 0, 1, 0]}
X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def _all_networks(values: list[int]) -> np.ndarray:
    """Every (W11, W12, b1, W21, W22, b2, u1, u2, c) with entries from values: shape (n^9, 9)."""
    v = np.asarray(values)
    idx = np.indices((len(v),) * 9).reshape(9, -1).T
    return v[idx]


def _outputs(nets: np.ndarray, at_zero: int) -> np.ndarray:
    """Truth tables (n, 4) computed independently of examgen."""
    def f(z):
        return (z > 0) | ((z == 0) & (at_zero == 1))
    h1 = f(nets[:, None, 0] * X4[:, 0] + nets[:, None, 1] * X4[:, 1] + nets[:, None, 2]).astype(int)
    h2 = f(nets[:, None, 3] * X4[:, 0] + nets[:, None, 4] * X4[:, 1] + nets[:, None, 5]).astype(int)
    return f(nets[:, None, 6] * h1 + nets[:, None, 7] * h2 + nets[:, None, 8]).astype(int)


def _as_answer(row) -> dict:
    r = [int(v) for v in row]
    return {"W_hidden": [r[0:2], r[3:5]], "b_hidden": [r[2], r[5]], "w_out": r[6:8], "b_out": r[8]}


VALUE_SETS = BANK.templates["xor_threshold_network"].params[1].sample["options"]


@pytest.mark.parametrize("values", VALUE_SETS, ids=lambda v: ",".join(map(str, v)))
def test_xor_checker_accepts_every_correct_network(values):
    """For every target and step convention: brute force over all |values|^9 networks; the
    solver's network is correct (or the solver says none exists exactly when brute force finds
    none); check_xor_answer accepts every correct network (a sample of 3000 for AND-NOT over
    five values) and rejects sampled wrong ones."""
    nets = _all_networks(values)
    rng = np.random.default_rng(0)
    for at_zero in (0, 1):
        tables = _outputs(nets, at_zero)
        for target, want in TRUTH.items():
            params = {"target": target, "values": list(values), "step_at_zero": at_zero}
            ok = np.all(tables == want, axis=1)
            assert mlp.xor_realizable(params) == bool(ok.any()), (params, int(ok.sum()))
            if not ok.any():
                with pytest.raises(Exception, match="no 2-2-1 step network"):
                    mlp.xor_threshold_network(params)
                continue
            key = mlp.xor_threshold_network(params)
            assert mlp.check_xor_answer(params, key) == (True, "correct")
            got = _outputs(np.array([[*key["W_hidden"][0], key["b_hidden"][0], *key["W_hidden"][1],
                                      key["b_hidden"][1], *key["w_out"], key["b_out"]]]), at_zero)
            assert got.tolist() == [want]
            correct = nets[ok]
            # all of them, except AND-NOT over 5 values (32855 networks): 3000 of those
            sample = correct if len(correct) <= 3300 else correct[rng.choice(len(correct), 3000, replace=False)]
            for row in sample:
                assert mlp.check_xor_answer(params, _as_answer(row))[0], (params, row)
            wrong = nets[~ok]
            for row in wrong[rng.choice(len(wrong), min(300, len(wrong)), replace=False)]:
                assert not mlp.check_xor_answer(params, _as_answer(row))[0], (params, row)


def test_xor_checker_rejects_values_outside_the_set():
    params = {"target": "xor", "values": [-1, 0, 1], "step_at_zero": 0}
    # a correct XOR network, but with weight 2 that is not allowed
    ans = {"W_hidden": [[2, -1], [-1, 1]], "b_hidden": [0, 0], "w_out": [1, 1], "b_out": 0}
    ok, why = mlp.check_xor_answer(params, ans)
    assert not ok and "not in the allowed set" in why
    assert mlp.check_xor_answer(params, {"W_hidden": [[1, -1]], "b_hidden": [0, 0], "w_out": [1, 1],
                                         "b_out": 0})[0] is False


def test_xor_draws_solvable():
    for ctx, p, a in _draws("xor_threshold_network"):
        assert mlp.check_xor_answer(p, a) == (True, "correct"), ctx


def test_seed001_p9c_xor():
    """Seed 001 P9c: values from {-1, 0, 1}, f(z) = 1 iff z > 0. The seed's network
    W11 = [1, -1], b11 = 0; W12 = [-1, 1], b12 = 0; W21 = [1, 1], b21 = 0 is correct."""
    params = {"target": "xor", "values": [-1, 0, 1], "step_at_zero": 0}
    seed_net = {"W_hidden": [[1, -1], [-1, 1]], "b_hidden": [0, 0], "w_out": [1, 1], "b_out": 0}
    assert mlp.check_xor_answer(params, seed_net) == (True, "correct")
    a = _pinned("xor_threshold_network", params)
    assert mlp.check_xor_answer(params, a) == (True, "correct")
    assert a["target_table"] == [0, 1, 1, 0]


# ============================================================== bce_loss
def _bce_oracle(p: dict) -> tuple[float, list[float]]:
    q = _t(p["y_hat"]).clone().requires_grad_(True)
    loss = F.binary_cross_entropy(q, _t(p["y"]), reduction=p.get("reduction", "mean"))
    (g,) = torch.autograd.grad(loss, q)
    return float(loss.detach()), g.tolist()


def test_bce_loss_matches_torch():
    for ctx, p, a in _draws("bce_loss"):
        loss, grad = _bce_oracle(p)
        _close(a["loss"], loss, "loss", ctx)
        _close(a["grad"], grad, "grad", ctx)
        terms = F.binary_cross_entropy(_t(p["y_hat"]), _t(p["y"]), reduction="none")
        _close(a["terms"], terms, "terms", ctx)


def test_seed001_p4a_bce_formula():
    """Seed 001 P4a: L = -(1/N) sum (y log y_hat + (1 - y) log(1 - y_hat)); natural log.
    y = (1, 0), y_hat = (0.8, 0.1): (-ln 0.8 - ln 0.9) / 2; the sum form is N times the mean."""
    p = {"y": [1, 0], "y_hat": [0.8, 0.1]}
    a = _pinned("bce_loss", {**p, "reduction": "mean"})
    assert a["loss"] == pytest.approx((-math.log(0.8) - math.log(0.9)) / 2, abs=1e-12)
    s = _pinned("bce_loss", {**p, "reduction": "sum"})
    assert s["loss"] == pytest.approx(2 * a["loss"], abs=1e-12)


def test_seed004_p5b_bce_sum():
    """Seed 004 P5b: predictions [[0, 0.5], [0.5, 0]] against y = [[0, 1], [1, 0]], natural log,
    summed over the pixels. The two y = 0 pixels predicted 0 contribute -ln(1 - 0) = 0, the two
    y = 1 pixels -ln 0.5 each: L = 2 ln 2 = 1.386. The seed's worked solution ends with
    "= -(1 log 0.5 + 1 log 0.5) = -2 log 2", a sign error: -(2 log 0.5) = +2 log 2 (a BCE is never
    negative). Its written formula also carries a 1/n although the question asks for the sum."""
    p = {"y": [0, 1, 1, 0], "y_hat": [0, 0.5, 0.5, 0], "reduction": "sum"}
    a = _pinned("bce_loss", p)
    assert a["loss"] == pytest.approx(2 * math.log(2), abs=1e-12)
    assert a["loss"] > 0
    # torch clamps log at -100, which does not matter here: 0 * log(0) terms vanish
    assert a["loss"] == pytest.approx(float(F.binary_cross_entropy(_t(p["y_hat"]), _t(p["y"]), reduction="sum")))


# ============================================================== pinned-parameter validation
def _param_error(tid: str, params: dict) -> ParamError:
    with pytest.raises(ParamError) as exc:
        solve_one(tid, 0, params)
    return exc.value


def test_mlp_forward_rejects_w_without_bias_column():
    e = _param_error("mlp_forward", {"x": [1, 2], "W": [[1, 2], [3, 4]], "v": [0, 1, 1]})
    assert e.param == "W"
    assert str(e) == ("template 'mlp_forward', parameter 'W': expected 3 columns (bias column 0 plus one per "
                      "entry of x), got 2")


def test_mlp_forward_rejects_v_without_bias():
    e = _param_error("mlp_forward", {"x": [1, 2], "W": [[0, 1, 2], [0, 3, 4]], "v": [1, 1]})
    assert str(e) == ("template 'mlp_forward', parameter 'v': expected 3 entries (bias entry 0 plus one per "
                      "hidden unit), got 2")


def test_dropout_rejects_non_binary_mask():
    bad = {**SEED002_Q8, "masks_b": [[0, 1], [0, 2, 1], [1, 1]]}
    e = _param_error("dropout_forward", bad)
    assert e.param == "masks_b[1]"
    assert str(e) == ("template 'dropout_forward', parameter 'masks_b[1]': expected 3 entries, each 0 or 1, "
                      "got [0, 2, 1]")


def test_dropout_rejects_p_out_of_range():
    e = _param_error("dropout_forward", {**SEED002_Q8, "p": 1})
    assert str(e) == "template 'dropout_forward', parameter 'p': expected a drop probability 0 < p < 1, got 1"


def test_backprop_rejects_b1_length():
    p = {"x": [2, 4], "y": 2.5, "W1": [[1, -1], [0, 1]], "b1": [0], "w2": [1, 0.5], "b2": 0, "lr": 0.1}
    e = _param_error("mlp_backprop_step", p)
    assert str(e) == ("template 'mlp_backprop_step', parameter 'b1': expected 2 entries (one per hidden unit = "
                      "rows of W1), got 1")


def test_xor_rejects_duplicate_values():
    e = _param_error("xor_threshold_network", {"target": "xor", "values": [1, 1, 0], "step_at_zero": 0})
    assert str(e) == ("template 'xor_threshold_network', parameter 'values': expected 2 to 7 distinct integers, "
                      "got [1, 1, 0]")


def test_xor_rejects_unknown_target():
    e = _param_error("xor_threshold_network", {"target": "nand", "values": [-1, 0, 1], "step_at_zero": 0})
    assert e.param == "target"
    assert "nand" in str(e)


def test_bce_rejects_infinite_loss():
    e = _param_error("bce_loss", {"y": [1, 0], "y_hat": [0, 0.5], "reduction": "sum"})
    assert str(e) == ("template 'bce_loss', parameter 'y_hat': prediction 0 for label 1 (entry 1) gives an "
                      "infinite loss")


def test_bce_rejects_length_mismatch():
    e = _param_error("bce_loss", {"y": [1, 0, 1], "y_hat": [0.5, 0.5], "reduction": "mean"})
    assert str(e) == "template 'bce_loss', parameter 'y_hat': expected 3 predictions (one per label), got 2"


def test_softmax_rejects_single_entry():
    e = _param_error("softmax", {"x": [3]})
    assert str(e) == "template 'softmax', parameter 'x': expected 2 to 8 entries, got 1"
