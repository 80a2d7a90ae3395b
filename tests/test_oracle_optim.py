"""Independent oracles for the optimization templates (examgen/solvers/optim.py):
sgd_linear_regression, optimizer_trace, init_variance, weight_decay_update.

Expected values come from torch (torch.optim optimizers stepping a real parameter,
autograd on the (regularized) loss, torch.nn.init with a seeded generator) or from
the seed exams (/work/shared/seeds/); examgen's own formulas are never called.
Draws go through the templates' own samplers (solve_question with derive_seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from oracle import ATOL, float64  # noqa: F401  (float64: autouse fixture)
from oracle import close as _close
from oracle import t as _t

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.pipeline import solve_one
from examgen.questions import solve_question
from examgen.sampling import derive_seed

BANK = load_bank()
DRAWS = range(1, 201)


def _draw(tid: str, n: int):
    return solve_question(BANK.templates[tid], derive_seed(2026, n, tid))


def _at_epoch_ends(a: dict, p: dict):
    """w after the last update of every epoch (the solver gives w after every update)."""
    n = len(p["X"])
    return torch.as_tensor(np.asarray(a["w_steps"])[n - 1::n], dtype=torch.float64)


def _decimals_ok(values, k: int = 2) -> bool:
    a = _t(values).flatten() * 10**k
    return bool(torch.all((a - a.round()).abs() < 1e-6))


# ============================================================== torch.optim trace
def _torch_optimizer(name: str, w: torch.Tensor, p: dict) -> torch.optim.Optimizer:
    lr = float(p["lr"])
    beta = p.get("beta", 0.9)
    if name == "sgd":
        return torch.optim.SGD([w], lr=lr)
    if name == "momentum":
        return torch.optim.SGD([w], lr=lr, momentum=beta)  # dampening 0, no nesterov: v = beta v + g
    if name == "adagrad":
        return torch.optim.Adagrad([w], lr=lr, eps=p.get("eps", 1e-10))
    if name == "rmsprop":  # torch's own default alpha is 0.99; the catalogue's beta defaults to 0.9
        return torch.optim.RMSprop([w], lr=lr, alpha=beta, eps=p.get("eps", 1e-8))
    if name == "adam":
        return torch.optim.Adam([w], lr=lr, betas=(p.get("beta1", 0.9), p.get("beta2", 0.999)),
                                eps=p.get("eps", 1e-8))
    raise AssertionError(name)


def _torch_state(name: str, opt: torch.optim.Optimizer, w: torch.Tensor, p: dict) -> dict:
    st = opt.state[w]
    if name == "momentum":
        return {"state_v": st["momentum_buffer"].clone()}
    if name == "adagrad":
        return {"state_G": st["sum"].clone()}
    if name == "rmsprop":
        return {"state_E": st["square_avg"].clone()}
    if name == "adam":
        t = float(st["step"])
        return {"state_m_hat": st["exp_avg"] / (1 - p.get("beta1", 0.9) ** t),
                "state_v_hat": st["exp_avg_sq"] / (1 - p.get("beta2", 0.999) ** t)}
    return {}


def _torch_trace(name: str, X, y, w0, p: dict, epochs: int) -> dict:
    """Per-sample updates in row order on (y_i - w.x_i)^2 with a real torch.optim optimizer."""
    X, y = _t(X), _t(y)
    w = _t(w0).clone().requires_grad_(True)
    opt = _torch_optimizer(name, w, p)

    def total() -> float:
        with torch.no_grad():
            return float(((y - X @ w) ** 2).sum())

    out: dict = {"loss_initial": total(), "step_residuals": [], "w_steps": [], "w_epochs": [], "loss_epochs": []}
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            opt.zero_grad()
            r = yi - xi @ w
            loss = r**2
            loss.backward()
            out["step_residuals"].append(float(r.detach()))
            opt.step()
            out["w_steps"].append(w.detach().clone())
            for k, v in _torch_state(name, opt, w, p).items():
                out.setdefault(k, []).append(v)
        out["w_epochs"].append(w.detach().clone())
        out["loss_epochs"].append(total())
    return out


# ============================================================== sgd_linear_regression
@pytest.mark.parametrize("n", DRAWS)
def test_sgd_linear_regression_matches_torch(n):
    q = _draw("sgd_linear_regression", n)
    p, a = q.params, q.answers
    ctx = f"sgd_linear_regression draw {n}, params {p}"
    exp = _torch_trace("sgd", p["X"], p["y"], p["theta"], p, p.get("epochs", 1))
    _close(a["thetas"], torch.stack(exp["w_steps"]), "thetas", ctx)
    _close(a["step_residuals"], exp["step_residuals"], "step_residuals", ctx)
    _close(a["loss_before"], exp["loss_initial"], "loss_before", ctx)
    _close(a["loss_after"], exp["loss_epochs"][-1], "loss_after", ctx)
    _close(a["loss_improvement"], exp["loss_initial"] - exp["loss_epochs"][-1], "loss_improvement", ctx)
    # the sampler's promise: hand-computable (<= 2 decimals everywhere) and the loss goes down
    for key in ("thetas", "step_residuals", "residuals_before", "residuals_after", "loss_before", "loss_after"):
        assert _decimals_ok(a[key]), f"{ctx}: {key} = {a[key]} has more than two decimals"
    assert a["loss_after"] < a["loss_before"], ctx
    assert all(r != 0 for r in a["step_residuals"]), f"{ctx}: an update with zero gradient"


# ============================================================== optimizer_trace
STATE = {"sgd": (), "momentum": ("state_v",), "adagrad": ("state_G",), "rmsprop": ("state_E",),
         "adam": ("state_m_hat", "state_v_hat")}


@pytest.mark.parametrize("n", DRAWS)
def test_optimizer_trace_matches_torch_optim(n):
    q = _draw("optimizer_trace", n)
    p, a = q.params, q.answers
    name = p["optimizer"]
    ctx = f"optimizer_trace draw {n}, params {p}"
    exp = _torch_trace(name, p["X"], p["y"], p["w"], p, p.get("epochs", 1))
    _close(a["w_steps"], torch.stack(exp["w_steps"]), "w after every update", ctx)
    _close(_at_epoch_ends(a, p), torch.stack(exp["w_epochs"]), "w after every epoch", ctx)
    _close(a["loss_epochs"], exp["loss_epochs"], "total loss after every epoch", ctx)
    _close(a["loss_initial"], exp["loss_initial"], "initial loss", ctx)
    _close(a["step_residuals"], exp["step_residuals"], "residuals", ctx)
    for key in STATE[name]:
        _close(a[key], torch.stack(exp[key]), key, ctx)
    assert a["loss_epochs"][-1] < a["loss_initial"], ctx
    if name in ("sgd", "momentum"):  # hand-computable draws
        for key in ("w_steps", "step_residuals", "loss_epochs", "loss_initial", *STATE[name]):
            assert _decimals_ok(a[key]), f"{ctx}: {key} = {a[key]} has more than two decimals"
    else:  # rounding instructions, small traces
        assert len(a["w_steps"]) <= 4, ctx


def test_optimizer_trace_draws_cover_every_optimizer():
    seen = {_draw("optimizer_trace", n).params["optimizer"] for n in range(1, 61)}
    assert seen == {"sgd", "momentum", "adagrad", "rmsprop", "adam"}


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam", "adagrad"])
def test_optimizer_trace_pinned_hyperparameters_match_torch(name):
    """Non-default hyperparameters reach the solver (and the defaults apply to the instructor's data)."""
    p = {"optimizer": name, "X": [[1, 2, -1], [1, 0, 3], [1, -1, 1]], "y": [3, -2, 4], "w": [0.5, -1, 2],
         "lr": 0.05, "epochs": 3}
    extra = {"momentum": {"beta": 0.7}, "rmsprop": {"beta": 0.8, "eps": 1e-6},
             "adam": {"beta1": 0.8, "beta2": 0.99, "eps": 1e-4}, "adagrad": {"eps": 1e-3}}[name]
    for hp in ({}, extra):
        _, q = solve_one("optimizer_trace", 1, {**p, **hp})
        exp = _torch_trace(name, p["X"], p["y"], p["w"], {**p, **hp}, 3)
        _close(_at_epoch_ends(q.answers, p), torch.stack(exp["w_epochs"]), f"w_epochs {hp}", name)
        _close(q.answers["loss_epochs"], exp["loss_epochs"], f"loss_epochs {hp}", name)


# ============================================================== init_variance
def _torch_init(p: dict) -> dict:
    """torch.nn.init.kaiming_* with mode='fan_in' on a (fan_out, fan_in) weight: the seeds' Xavier
    (Var = 1/fan_in) is nonlinearity='linear' (gain 1), He is 'relu' (gain sqrt 2). The std/bound torch
    uses is recovered exactly by replaying its generator: kaiming_normal_ is normal_(0, std) and
    kaiming_uniform_ is uniform_(-bound, bound) with the same random stream."""
    fan_in, fan_out = int(p["fan_in"]), int(p.get("fan_out") or 8)
    nl = "linear" if p["activation"] == "tanh" else "relu"
    gain = torch.nn.init.calculate_gain(nl)
    w = torch.empty(min(fan_out, 4), fan_in)
    assert torch.nn.init._calculate_correct_fan(w, "fan_in") == fan_in
    std = gain / math.sqrt(fan_in)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    torch.nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity=nl, generator=g1)
    ref = torch.empty_like(w).normal_(0, std, generator=g2)
    torch.testing.assert_close(w, ref, rtol=1e-12, atol=0)
    bound = math.sqrt(3.0) * std
    g1, g2 = torch.Generator().manual_seed(8), torch.Generator().manual_seed(8)
    torch.nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity=nl, generator=g1)
    ref = torch.empty_like(w).uniform_(-bound, bound, generator=g2)
    torch.testing.assert_close(w, ref, rtol=1e-12, atol=0)
    assert float(w.abs().max()) <= bound
    return {"variance": std**2, "std": std, "bound": bound}


@pytest.mark.parametrize("n", DRAWS)
def test_init_variance_matches_torch_init(n):
    q = _draw("init_variance", n)
    p, a = q.params, q.answers
    ctx = f"init_variance draw {n}, params {p}"
    exp = _torch_init(p)
    other = _torch_init({**p, "activation": "relu" if p["activation"] == "tanh" else "tanh"})
    spread = "std" if p["distribution"] == "normal" else "bound"  # sigma of N(0, sigma^2), a of U(-a, a)
    for key, want in (("variance", "variance"), ("spread", spread)):
        _close(a[key], exp[want], key, ctx, atol=1e-15)
        _close(a[f"other_{key}"], other[want], f"other_{key}", ctx, atol=1e-15)
    assert p["fan_out"] != p["fan_in"], ctx
    if p["image"]:
        assert a["image_side"] ** 2 == p["fan_in"], ctx


def test_torch_xavier_differs_from_the_seed_convention():
    """Documented difference: torch.nn.init.xavier_normal_ uses Var = gain^2 * 2 / (fan_in + fan_out) with
    gain(tanh) = 5/3; the seeds (001 P9a, 004 2i) and the template use Var = 1/fan_in (the statement says so)."""
    fan_in, fan_out = 2500, 1024
    w = torch.empty(fan_out, fan_in)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.nn.init.xavier_normal_(w, gain=torch.nn.init.calculate_gain("tanh"), generator=g1)
    torch_std = 5 / 3 * math.sqrt(2 / (fan_in + fan_out))
    torch.testing.assert_close(w, torch.empty_like(w).normal_(0, torch_std, generator=g2), rtol=1e-12, atol=0)
    _, q = solve_one("init_variance", 1, {"fan_in": fan_in, "activation": "tanh", "distribution": "normal",
                                          "fan_out": fan_out})
    assert q.answers["variance"] == pytest.approx(1 / 2500)
    assert abs(torch_std**2 - q.answers["variance"]) > 1e-4  # 0.001576 vs 0.0004: not the same convention


# ============================================================== weight_decay_update
def _torch_weight_decay(p: dict) -> dict:
    w0, x, y = _t(p["w"]), _t(p["x"]), float(p["y"])
    lr, lam = float(p["lr"]), float(p["lam"])
    half = p.get("l2_penalty", "half") == "half"

    def data_loss(w):
        return (y - w @ x) ** 2

    def grad(f):
        w = w0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(w), w)
        return g

    g_data = grad(data_loss)
    g_l2 = grad(lambda w: data_loss(w) + (lam / 2 if half else lam) * (w**2).sum())
    g_l1 = grad(lambda w: data_loss(w) + lam * w.abs().sum())  # d|w|/dw at 0 is 0 in torch
    # torch.optim.SGD's weight_decay adds wd * w to the gradient: wd = lam for lam/2 ||w||^2, 2 lam for lam ||w||^2
    w = w0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=lr, weight_decay=lam if half else 2 * lam)
    data_loss(w).backward()
    opt.step()
    return {"grad_data": g_data, "grad_l2": g_l2 - g_data, "w_l2": w0 - lr * g_l2, "w_l2_sgd": w.detach(),
            "grad_l1": g_l1 - g_data, "w_l1": w0 - lr * g_l1, "w_plain": w0 - lr * g_data}


@pytest.mark.parametrize("n", DRAWS)
def test_weight_decay_update_matches_autograd(n):
    q = _draw("weight_decay_update", n)
    p, a = q.params, q.answers
    ctx = f"weight_decay_update draw {n}, params {p}"
    exp = _torch_weight_decay(p)
    for key in ("grad_data", "grad_l2", "w_l2", "grad_l1", "w_l1"):
        _close(a[key], exp[key], key, ctx)
    _close(a["w_l2"], exp["w_l2_sgd"], "w_l2 vs torch.optim.SGD(weight_decay)", ctx)
    c = 1 if p["l2_penalty"] == "half" else 2
    # decay factor: w_l2 = factor * w - lr * grad_data
    _close(_t(a["decay_factor"]) * _t(p["w"]) - p["lr"] * exp["grad_data"], exp["w_l2"], "decay_factor", ctx)
    assert a["decay_factor"] == pytest.approx(1 - c * p["lr"] * p["lam"])
    for key in ("grad_data", "w_l2", "w_l1", "grad_l2", "grad_l1", "decay_factor"):
        assert _decimals_ok(a[key]), f"{ctx}: {key} = {a[key]} has more than two decimals"
    assert any(v != 0 for v in a["grad_data"]), ctx


def test_weight_decay_draws_have_no_zero_weight_and_both_conventions():
    """A zero weight makes its coordinate trivial (issue 14): sign(0) = 0 is for pinned weights only."""
    ps = [_draw("weight_decay_update", n).params for n in range(1, 101)]
    assert not any(0 in p["w"] for p in ps)
    assert {p["l2_penalty"] for p in ps} == {"half", "full"}


# ============================================================== seed regressions
SEED002_Q2 = {"X": [[1, 1, 2], [1, 2, 4], [1, 4, 8]], "y": [2, 4, 8], "theta": [0.5, 1.5, 0.5], "lr": 0.001}


def test_seed002_q2_sgd():
    """Seed 002 Q2 (no worked solution in the seed): per-sample SGD in table order, alpha = 0.001,
    loss (y - y_hat)^2. By hand: sample 1 y_hat = 3, residual -1, gradient 2 x_1 = (2, 2, 4),
    theta^(1) = (0.498, 1.498, 0.496); sample 2 y_hat = 5.478, theta^(2) = (0.495044, 1.492088, 0.484176);
    sample 3 y_hat = 10.336804, theta^(3) = (0.490370392, 1.473393568, 0.446787136).
    Total loss 1 + 2.25 + 6.25 = 9.5 before, 6.068664961261 after (improvement 3.431335038739)."""
    _, q = solve_one("sgd_linear_regression", 2, SEED002_Q2)
    a = q.answers
    assert a["thetas"][0] == pytest.approx([0.498, 1.498, 0.496], abs=1e-12)
    assert a["thetas"][1] == pytest.approx([0.495044, 1.492088, 0.484176], abs=1e-12)
    assert a["thetas"][-1] == pytest.approx([0.490370392, 1.473393568, 0.446787136], abs=1e-12)
    assert a["loss_before"] == pytest.approx(9.5)
    assert a["loss_after"] == pytest.approx(6.068664961261, abs=1e-9)
    assert a["loss_improvement"] == pytest.approx(3.431335038739, abs=1e-9)
    assert q.params["epochs"] == 1
    exp = _torch_trace("sgd", SEED002_Q2["X"], SEED002_Q2["y"], SEED002_Q2["theta"], SEED002_Q2, 1)
    _close(a["thetas"], torch.stack(exp["w_steps"]), "thetas", "seed 002 Q2")


def test_seed002_q2_large_step_diverges():
    """Seed 002 Q2 asks what alpha = 0.1 would do: sample 1 already overshoots (2 alpha ||x_1||^2 = 1.2 > 1)
    and the total loss grows instead of shrinking."""
    _, q = solve_one("sgd_linear_regression", 2, {**SEED002_Q2, "lr": 0.1})
    assert q.answers["thetas"][0] == pytest.approx([0.3, 1.3, 0.1])
    assert q.answers["loss_after"] > 100 * q.answers["loss_before"]


SEED002_Q10 = {"X": [[1, 1, 2], [1, 1, 1], [1, 1, 2]], "y": [11, 8, 10], "w": [1, 1, 1], "lr": 0.1, "epochs": 2}


def test_seed002_q10b_sgd_two_epochs():
    """Seed 002 Q10b (no worked solution): SGD, step 0.1, two epochs, rows in order.
    By hand, epoch 1: residual 7 -> w = (2.4, 2.4, 3.8); residual -0.6 -> (2.28, 2.28, 3.68);
    residual -1.92 -> (1.896, 1.896, 2.912); total loss 1.384^2 + 1.296^2 + 0.384^2 = 3.742528.
    (The seed's "initial beta = (1, 1, 1)" is the initial w.)"""
    _, q = solve_one("optimizer_trace", 10, {**SEED002_Q10, "optimizer": "sgd"})
    a = q.answers
    assert a["w_steps"][0] == pytest.approx([2.4, 2.4, 3.8])
    assert a["w_steps"][2] == pytest.approx([1.896, 1.896, 2.912])
    assert a["loss_epochs"][0] == pytest.approx(3.742528)
    assert a["loss_initial"] == pytest.approx(49 + 25 + 36)
    exp = _torch_trace("sgd", SEED002_Q10["X"], SEED002_Q10["y"], SEED002_Q10["w"], SEED002_Q10, 2)
    _close(_at_epoch_ends(a, SEED002_Q10), torch.stack(exp["w_epochs"]), "w_epochs", "seed 002 Q10b")
    _close(a["loss_epochs"], exp["loss_epochs"], "loss_epochs", "seed 002 Q10b")


def test_seed002_q10c_adagrad():
    """Seed 002 Q10c: Adagrad with step 0.1 (torch defaults: eps 1e-10, G starts at 0). The first update
    moves every weight by lr * g / |g| = 0.1 (g = -14 (1, 1, 2)): w = (1.1, 1.1, 1.1); the rest via torch."""
    p = {**SEED002_Q10, "optimizer": "adagrad"}
    _, q = solve_one("optimizer_trace", 10, p)
    a = q.answers
    assert a["w_steps"][0] == pytest.approx([1.1, 1.1, 1.1], abs=1e-9)
    assert a["eps_used"] == 1e-10
    exp = _torch_trace("adagrad", p["X"], p["y"], p["w"], p, 2)
    _close(a["w_steps"], torch.stack(exp["w_steps"]), "w_steps", "seed 002 Q10c")
    _close(a["loss_epochs"], exp["loss_epochs"], "loss_epochs", "seed 002 Q10c")
    # "Does Adagrad help?": with the same step size it moves far less than SGD here
    _, sgd = solve_one("optimizer_trace", 10, {**SEED002_Q10, "optimizer": "sgd"})
    assert a["loss_epochs"][-1] > sgd.answers["loss_epochs"][-1]


def test_seed001_p9a_xavier_and_he():
    """Seed 001 P9a: 50x50 image into a 1024-neuron FC layer: Var = 1/2500 (tanh, Xavier) and
    1/1250 (ReLU). The note "tanh: 1/1024, relu: 2/1024" printed above the problem divides by the
    1024 neurons (fan_out), which is wrong; the grading notes' 1/2500 and 1/1250 are right."""
    p = {"fan_in": 2500, "activation": "tanh", "distribution": "normal", "fan_out": 1024, "image": True}
    _, q = solve_one("init_variance", 1, p)
    assert q.answers["variance"] == pytest.approx(1 / 2500)
    assert q.answers["other_variance"] == pytest.approx(1 / 1250)
    assert q.answers["variance"] != pytest.approx(1 / 1024)
    assert q.answers["image_side"] == 50
    _, q = solve_one("init_variance", 1, {**p, "activation": "relu"})
    assert q.answers["variance"] == pytest.approx(2 / 2500)


@pytest.mark.parametrize("fan_in", [3, 12, 300, 1000])
def test_seed004_2f_uniform_bound(fan_in):
    """Seed 004 2f: w ~ U(-a, a), Var(s) = Var(x) -> n a^2 / 3 = 1 -> a = sqrt(3/n). The seed's sum runs
    over j = 0..n (n + 1 terms) but the solution counts n inputs; the template counts n = fan_in inputs."""
    _, q = solve_one("init_variance", 4, {"fan_in": fan_in, "activation": "tanh", "distribution": "uniform",
                                          "fan_out": 7})
    assert q.answers["spread"] == pytest.approx(math.sqrt(3 / fan_in))
    assert q.answers["variance"] == pytest.approx(1 / fan_in)  # the seed's Var(w) = 1/n (it compared two solver values)


def test_seed004_2i_xavier_mean_std_and_kaiming():
    """Seed 004 2i: Xavier has mean 0 and Var = 1/N; with ReLU use Kaiming: Var = 2/N."""
    _, q = solve_one("init_variance", 4, {"fan_in": 400, "activation": "tanh", "distribution": "normal",
                                          "fan_out": 100})
    assert q.answers["variance"] == pytest.approx(1 / 400)
    assert q.answers["spread"] == pytest.approx(0.05)
    assert q.answers["other_variance"] == pytest.approx(2 / 400)


def test_seed004_2d_weight_decay():
    """Seed 004 2d: W <- W - eta grad(L + lam/2 ||w||^2) = (1 - eta lam) W - eta grad L. The seed's first
    line "W_{i+1} = (1 - lam) W_i - alpha grad L" drops eta from the decay factor (right only for
    eta = 1); the derivation below it is right, and so is the template: factor 1 - eta lam."""
    p = {"w": [2, -1, 0], "x": [1, 2, -1], "y": 3, "lr": 0.1, "lam": 0.5, "l2_penalty": "half"}
    _, q = solve_one("weight_decay_update", 4, p)
    a = q.answers
    assert a["decay_factor"] == pytest.approx(0.95)
    assert a["decay_factor"] != pytest.approx(1 - 0.5)
    # residual 3 - 0 = 3, grad L = -6 x = (-6, -12, 6); w_l2 = 0.95 w + 0.6 x
    assert a["grad_data"] == pytest.approx([-6, -12, 6])
    assert a["w_l2"] == pytest.approx([2.5, 0.25, -0.6])
    _close(a["w_l2"], _torch_weight_decay(p)["w_l2_sgd"], "w_l2", "seed 004 2d")


def test_seed003_p1_l1_gradient_and_update():
    """Seed 003 P1 (weight decay lam ||theta||^2, L1 lam |theta|): d(lam |theta|)/d theta = lam sign(theta),
    update theta <- theta - eta (dL/dtheta + lam sign(theta)). One scalar parameter; sign(0) = 0 stated."""
    p = {"w": [-2], "x": [1], "y": 1, "lr": 0.1, "lam": 0.5, "l2_penalty": "full"}
    _, q = solve_one("weight_decay_update", 3, p)
    a = q.answers
    assert a["grad_l1"] == pytest.approx([-0.5])
    assert a["grad_data"] == pytest.approx([-6])  # -2 (1 - (-2)) * 1
    assert a["w_l1"] == pytest.approx([-2 - 0.1 * (-6 - 0.5)])
    assert a["grad_l2"] == pytest.approx([2 * 0.5 * -2])  # full convention: 2 lam theta
    assert a["decay_factor"] == pytest.approx(1 - 2 * 0.1 * 0.5)
    _, q0 = solve_one("weight_decay_update", 3, {**p, "w": [0, 1], "x": [1, 1]})
    assert q0.answers["grad_l1"] == pytest.approx([0, 0.5])  # sign(0) = 0, as torch's abs gradient


# ============================================================== pinned-parameter validation
def _param_error(tid: str, params: dict) -> ParamError:
    with pytest.raises(ParamError) as exc:
        solve_one(tid, 0, params)
    return exc.value


def test_sgd_bias_column_must_be_one():
    e = _param_error("sgd_linear_regression", {**SEED002_Q2, "X": [[2, 1, 2], [1, 2, 4], [1, 4, 8]]})
    assert e.param == "X"
    assert str(e) == ("template 'sgd_linear_regression', parameter 'X': column 0 is the bias and must be 1 in "
                      "every row, got [2.0, 1.0, 1.0]")


def test_sgd_y_length():
    e = _param_error("sgd_linear_regression", {**SEED002_Q2, "y": [2, 4]})
    assert e.param == "y"
    assert str(e) == ("template 'sgd_linear_regression', parameter 'y': expected 3 entries (one target per row of X), "
                      "got 2")


def test_sgd_learning_rate_positive():
    e = _param_error("sgd_linear_regression", {**SEED002_Q2, "lr": 0})
    assert str(e) == "template 'sgd_linear_regression', parameter 'lr': expected a learning rate > 0, got 0"


def test_optimizer_unknown_name():
    e = _param_error("optimizer_trace", {**SEED002_Q10, "optimizer": "nesterov"})
    assert e.param == "optimizer"
    assert str(e) == ("template 'optimizer_trace', parameter 'optimizer': expected one of sgd, momentum, adagrad, "
                      "rmsprop, adam, got 'nesterov'")


def test_optimizer_beta_range_and_eps():
    e = _param_error("optimizer_trace", {**SEED002_Q10, "optimizer": "momentum", "beta": 1.2})
    assert str(e) == "template 'optimizer_trace', parameter 'beta': expected 0 <= beta < 1, got 1.2"
    e = _param_error("optimizer_trace", {**SEED002_Q10, "optimizer": "adagrad", "eps": 0})
    assert e.param == "eps"
    e = _param_error("optimizer_trace", {**SEED002_Q10, "optimizer": "sgd", "w": [1, 1]})
    assert str(e) == "template 'optimizer_trace', parameter 'w': expected 3 entries (one weight per column of X), got 2"


def test_init_variance_bad_params():
    base = {"fan_in": 2500, "activation": "tanh", "distribution": "normal", "fan_out": 1024}
    e = _param_error("init_variance", {**base, "fan_in": 0})
    assert str(e) == "template 'init_variance', parameter 'fan_in': expected a positive integer, got 0"
    e = _param_error("init_variance", {**base, "activation": "sigmoid"})
    assert e.param == "activation"
    e = _param_error("init_variance", {**base, "fan_in": 300, "image": True})
    assert e.param == "image"


def test_weight_decay_bad_params():
    base = {"w": [1, 2], "x": [1, 1], "y": 1, "lr": 0.1, "lam": 0.5}
    e = _param_error("weight_decay_update", {**base, "x": [1, 2, 3]})
    assert str(e) == "template 'weight_decay_update', parameter 'x': expected 2 entries (one input per weight), got 3"
    e = _param_error("weight_decay_update", {**base, "l2_penalty": "double"})
    assert e.param == "l2_penalty"
    e = _param_error("weight_decay_update", {**base, "lam": -1})
    assert str(e) == ("template 'weight_decay_update', parameter 'lam': expected a regularization strength > 0, "
                      "got -1")
