"""Independent oracles for the symbolic (sympy) calculus templates:
rbf_gradient, rnn_tanh_gradient, computational_graph_gradients, softplus_gradient,
relu_decision_regions.

Every gradient in an answer key is checked against PyTorch autograd AND against
central finite differences (float64) over 200 draws of the template's own
sampler; the sympy expression strings (keys ending in `_expr`) are evaluated
here with a fresh parse and compared with the same oracle. The seeds' worked
solutions (000 T2-T4, 003 P2, P4) are regression cases; where a seed's text is
wrong, the docstring says why and the correct value is asserted."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from sympy.parsing.sympy_parser import parse_expr

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.questions import solve_question
from examgen.rendering import compile_blocks, render_block
from examgen.sampling import derive_seed
from examgen.texfmt import sym

BANK = load_bank()
DRAWS = 200
TOL = 1e-9
FD_STEP = 1e-6
FD_TOL = 1e-6


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def draws(tid: str):
    t = BANK.templates[tid]
    for n in range(1, DRAWS + 1):
        q = solve_question(t, derive_seed(2026, n, tid))
        yield n, q.params, q.answers


def solve(tid: str, pinned: dict):
    return solve_question(BANK.templates[tid], derive_seed(1, 1, tid), pinned).answers


def central(f, x: float) -> float:
    return (f(x + FD_STEP) - f(x - FD_STEP)) / (2 * FD_STEP)


@cache
def _compiled(s: str, names: tuple[str, ...]):
    """A solver's expression string, parsed afresh and compiled to a numpy function of `names`."""
    return sp.lambdify([sp.Symbol(n) for n in names], parse_expr(s), modules="numpy")


def expr_value(s: str, values: dict[str, float]) -> float:
    names = tuple(sorted(values))
    return float(_compiled(s, names)(*(values[n] for n in names)))


# ============================================================== the sym filter (golden strings)
def test_sym_filter_golden() -> None:
    assert sym("exp(x)/(exp(x) + 1)") == r"\frac{e^{x}}{e^{x} + 1}"
    assert sym("1/(1 + exp(-x))") == r"\frac{1}{1 + e^{- x}}"
    assert sym("2*(1 - h_2**2)*(h_2 - t)*(x_1*(1 - h_1**2) + x_2)") == (
        r"2 \left(1 - h_{2}^{2}\right) \left(h_{2} - t\right) \left(x_{1} \left(1 - h_{1}^{2}\right) + x_{2}\right)")
    assert sym("-2*w_2*x*(-w_2*Max(0, w_1*x) + y)*Heaviside(w_1*x)") == (
        r"- 2 w_{2} x \left(- w_{2} \max\left(0, w_{1} x\right) + y\right) \theta\left(w_{1} x\right)")
    assert sym("-3*exp(-Abs(x_1 - 1))*sign(x_1 - 1)") == (
        r"- 3 e^{- \left|{x_{1} - 1}\right|} \operatorname{sign}{\left(x_{1} - 1 \right)}")
    assert sym("x_1 - 2*x_2") == r"x_{1} - 2 x_{2}" and sym("0") == "0" and sym("-x") == "- x"
    with pytest.raises(TypeError):
        sym(3)  # type: ignore[arg-type]


def test_sym_filter_is_registered() -> None:
    t = compile_blocks("<% block a %>$<< e|sym >>$<% endblock %>", "t")
    assert render_block(t, "a", {"e": "log(exp(x) + 1)"}, "t") == r"$\log{\left(e^{x} + 1 \right)}$"


# ============================================================== rbf_gradient
def _rbf_torch(x, c, w):
    x = _t(x).clone().requires_grad_(True)
    c, w = _t(c), _t(w)
    a = torch.exp(-(x[:, None] - c).abs().sum(dim=0))
    y = (w * a).sum()
    (g,) = torch.autograd.grad(y, x)
    return y.item(), a.detach(), g


def test_rbf_gradient_matches_autograd_and_fd() -> None:
    for n, p, a in draws("rbf_gradient"):
        ctx = f"draw {n}: {p}"
        y, act, g = _rbf_torch(p["x"], p["c"], p["w"])
        assert np.allclose(a["a"], act.numpy(), atol=TOL), ctx
        assert np.allclose(a["grad"], g.numpy(), atol=TOL), ctx
        x0 = np.asarray(p["x"], dtype=float)
        for i in range(len(x0)):
            def f(v: float, i: int = i, x0: np.ndarray = x0, p: dict = p) -> float:
                xx = x0.copy()
                xx[i] = v
                return _rbf_torch(xx, p["c"], p["w"])[0]
            assert a["grad"][i] == pytest.approx(central(f, x0[i]), abs=FD_TOL), ctx
            point = {f"x_{k + 1}": float(x0[k]) for k in range(len(x0))}
            assert expr_value(a["dy_dx_expr"][i], point) == pytest.approx(g[i].item(), abs=TOL), ctx
        assert a["grad_norm1"] == pytest.approx(g.abs().sum().item(), abs=TOL), ctx
        assert a["bound"] == len(p["x"]) * sum(abs(v) for v in p["w"])
        assert a["grad_norm1"] <= a["bound"] + TOL
        assert all(abs(v) >= 0.01 for v in a["grad"]) and all(v <= 4 for v in a["s"])


def test_rbf_seed_000_t3_formula() -> None:
    """Seed 000 T3 a): dy/dx_i = -sum_j w_j a_j sign(x_i - c_ij) (correct; asserted on a pinned network).
    Seed 000 T3 b): the worked proof writes w_ij and drops a_j and the sign in its second line
    (sum_i |sum_j w_ij a_j|), and ends with d ||W||; the correct chain is
    sum_i |sum_j w_j a_j sign(.)| <= sum_i sum_j |w_j| a_j <= d ||w||_1 (a_j <= 1), asserted here."""
    p = {"x": [1, -1], "c": [[0, 2], [1, -2]], "w": [2, -3]}
    a = solve("rbf_gradient", p)
    s = [1 + 2, 1 + 1]
    act = [math.exp(-v) for v in s]
    seed = [-sum(p["w"][j] * act[j] * np.sign(p["x"][i] - p["c"][i][j]) for j in range(2)) for i in range(2)]
    assert a["s"] == s and a["grad"] == pytest.approx(seed, abs=TOL)
    assert a["grad"] == pytest.approx([-0.505579986445566, 0.505579986445566], abs=1e-12)
    assert a["bound"] == 2 * 5 and a["grad_norm1"] <= sum(abs(w) * v for w, v in zip(p["w"], act)) * 2 + TOL


# ============================================================== rnn_tanh_gradient
def _rnn_torch(x1, x2, W, h0, t):
    Wt = _t(W).clone().requires_grad_(True)
    h1 = torch.tanh(x1 * Wt + h0)
    h2 = torch.tanh(x2 * Wt + h1)
    E = (h2 - t) ** 2
    (g,) = torch.autograd.grad(E, Wt, retain_graph=True)
    (dh1,) = torch.autograd.grad(h1, Wt, retain_graph=True)
    (dh2,) = torch.autograd.grad(h2, Wt)
    return h1.item(), h2.item(), E.item(), g.item(), dh1.item(), dh2.item()


def test_rnn_tanh_gradient_matches_autograd_and_fd() -> None:
    for n, p, a in draws("rnn_tanh_gradient"):
        ctx = f"draw {n}: {p}"
        x1, x2, W, h0, t = (float(p[k]) for k in ("x1", "x2", "W", "h0", "t"))
        h1, h2, E, g, dh1, dh2 = _rnn_torch(x1, x2, W, h0, t)
        for key, exp in (("h1", h1), ("h2", h2), ("dE_dW", g), ("dz2_dW", x2 + dh1), ("dE_dy", 2 * (h2 - t))):
            assert a[key] == pytest.approx(exp, abs=TOL), (ctx, key)
        fd = central(lambda v, q=(x1, x2, h0, t): _rnn_torch(q[0], q[1], v, q[2], q[3])[2], W)
        assert a["dE_dW"] == pytest.approx(fd, abs=FD_TOL), ctx
        short = expr_value(a["dE_dW_expr"], {"h_1": h1, "h_2": h2, "x_1": x1, "x_2": x2, "t": t})
        assert short == pytest.approx(g, abs=TOL), ctx
        assert abs(a["dE_dW"]) >= 0.05 and abs(h2 - t) >= 0.1


def test_rnn_tanh_seed_000_t4() -> None:
    """Seed 000 T4 d): the seed's LAST line 2(y - t) tanh'(x2 W + h1) (x2 + tanh'(x1 W + h0) x1) is correct
    and asserted. Its first two lines are wrong: they write dh1/dW + dh2/dh1 dh1/dW (the direct term
    must be the partial of h2, with x2, not dh1/dW) and lose the factor tanh'(z2) of the first term;
    that expression differs from autograd (asserted below)."""
    p = {"x1": 1, "x2": -1, "W": 0.5, "h0": 0, "t": 1}
    a = solve("rnn_tanh_gradient", p)
    z1 = 0.5
    h1 = math.tanh(z1)
    z2 = -0.5 + h1
    h2 = math.tanh(z2)
    d1, d2 = 1 - h1 ** 2, 1 - h2 ** 2
    seed_final = 2 * (h2 - 1) * d2 * (-1 + d1 * 1)
    seed_line2 = 2 * (h2 - 1) * 1 * (d1 * 1 + d2 * d1 * 1)
    assert a["dE_dW"] == pytest.approx(seed_final, abs=TOL)
    assert a["dE_dW"] == pytest.approx(_rnn_torch(1, -1, 0.5, 0, 1)[3], abs=TOL)
    assert abs(seed_line2 - a["dE_dW"]) > 0.1
    assert a["dE_dy"] == pytest.approx(2 * (h2 - 1), abs=TOL)  # seed b): dE/dy = 2(y - t)
    assert a["dE_dW"] == pytest.approx(0.44264118977744926, abs=1e-12)


# ============================================================== computational_graph_gradients
def _cg_torch(x, y, w1, w2):
    w1t, w2t = _t(w1).clone().requires_grad_(True), _t(w2).clone().requires_grad_(True)
    L = (y - w2t * F.relu(w1t * x)) ** 2
    g1, g2 = torch.autograd.grad(L, (w1t, w2t))
    return L.item(), g1.item(), g2.item()


def test_computational_graph_matches_autograd_and_fd() -> None:
    for n, p, a in draws("computational_graph_gradients"):
        ctx = f"draw {n}: {p}"
        x, y, w1, w2 = (float(p[k]) for k in ("x", "y", "w1", "w2"))
        L, g1, g2 = _cg_torch(x, y, w1, w2)
        assert (a["L"], a["dL_dw1"], a["dL_dw2"]) == pytest.approx((L, g1, g2), abs=TOL), ctx
        fd1 = central(lambda v, q=(x, y, w2): _cg_torch(q[0], q[1], v, q[2])[0], w1)
        assert a["dL_dw1"] == pytest.approx(fd1, abs=FD_TOL), ctx
        assert a["dL_dw2"] == pytest.approx(central(lambda v, q=(x, y, w1): _cg_torch(*q, v)[0], w2), abs=FD_TOL), ctx
        vals = {"x": x, "y": y, "w_1": w1, "w_2": w2}
        assert expr_value(a["dL_dw1_expr"], vals) == pytest.approx(g1, abs=TOL), ctx
        assert expr_value(a["dL_dw2_expr"], vals) == pytest.approx(g2, abs=TOL), ctx
        assert w1 * x > 0 and y != a["y_hat"] and all(float(v).is_integer() for v in (L, g1, g2))


def test_computational_graph_seed_003_p2() -> None:
    """Seed 003 P2.1 has no worked solution (the extraction lost the formulas); the derivation
    dL/dw2 = -2(y - y_hat) h, dL/dw1 = -2(y - y_hat) w2 ReLU'(w1 x) x is checked on hand-computed
    numbers: x = 3, y = -4, w1 = 2, w2 = -1 -> h = 6, y_hat = -6, L = 4, dL/dw2 = -24, dL/dw1 = 12."""
    a = solve("computational_graph_gradients", {"x": 3, "y": -4, "w1": 2, "w2": -1})
    assert (a["h"], a["y_hat"], a["L"], a["dL_dyhat"], a["dL_dw2"], a["dL_dw1"]) == (6, -6, 4, -4, -24, 12)
    dead = solve("computational_graph_gradients", {"x": 3, "y": -4, "w1": -2, "w2": -1})  # pinned: dead ReLU
    assert (dead["h"], dead["L"], dead["dL_dw1"], dead["dL_dw2"]) == (0, 16, 0, 0)


# ============================================================== softplus_gradient
def test_softplus_matches_autograd_and_fd() -> None:
    for n, p, a in draws("softplus_gradient"):
        xs = _t(p["x"]).clone().requires_grad_(True)
        f = F.softplus(xs)
        (g,) = torch.autograd.grad(f.sum(), xs)
        assert np.allclose(a["grad"], g.numpy(), atol=TOL), n
        for v, gv in zip(p["x"], a["grad"]):
            assert gv == pytest.approx(central(lambda u: math.log1p(math.exp(u)), float(v)), abs=FD_TOL)
            assert expr_value(a["grad_expr"], {"x": float(v)}) == pytest.approx(gv, abs=TOL)
        assert len(set(p["x"])) == len(p["x"]) == 3 and min(p["x"]) < 0 < max(p["x"])


def test_softplus_seed_003_p4() -> None:
    """Seed 003 P4.2: d/dx log(1 + exp(x)) = exp(x) / (1 + exp(x)) = sigmoid(x) (the seed gives no
    worked answer; the identity is asserted symbolically and at sigma(0) = 1/2, sigma(ln 3) = 3/4)."""
    a = solve("softplus_gradient", {"x": [0, math.log(3), -2]})
    x = sp.Symbol("x", real=True)
    assert sp.simplify(parse_expr(a["grad_expr"]).subs(sp.Symbol("x"), x) - 1 / (1 + sp.exp(-x))) == 0
    assert a["grad"] == pytest.approx([0.5, 0.75, 1 / (1 + math.e ** 2)], abs=1e-12)


# ============================================================== relu_decision_regions
def _relu_net(a, b, x: torch.Tensor) -> torch.Tensor:
    return F.relu(x @ _t(a)) + F.relu(x @ _t(b))


PIECES = ("y_both_on", "y_a3_on", "y_a4_on", "y_both_off")  # signs of (a.x, b.x): ++, +-, -+, --


def _expr_grad(e: str) -> list[float]:
    """The gradient of a linear expression in x_1, x_2, differentiated here by sympy."""
    return [float(sp.diff(parse_expr(e), sp.Symbol(f"x_{i}"))) for i in (1, 2)]


def test_relu_regions_match_autograd_and_fd() -> None:
    for n, p, a in draws("relu_decision_regions"):
        ctx = f"draw {n}: {p}"
        av, bv, c = np.asarray(p["a"], float), np.asarray(p["b"], float), float(p["c"])
        for (sa, sb), pt, e in zip(((1, 1), (1, -1), (-1, 1), (-1, -1)), a["label_points"],
                                   [a[k] for k in PIECES]):
            pt, grad = np.asarray(pt), _expr_grad(e)
            assert np.sign(av @ pt) == sa and np.sign(bv @ pt) == sb, ctx  # label inside its piece
            xt = _t(pt).clone().requires_grad_(True)
            (g,) = torch.autograd.grad(_relu_net(p["a"], p["b"], xt), xt)
            assert np.allclose(grad, g.numpy(), atol=TOL), ctx
            for i in range(2):
                step = np.eye(2)[i] * FD_STEP
                fd = (_relu_net(p["a"], p["b"], _t(pt + step)) - _relu_net(p["a"], p["b"], _t(pt - step))).item()
                assert grad[i] == pytest.approx(fd / (2 * FD_STEP), abs=FD_TOL), ctx
            val = expr_value(e, {"x_1": pt[0], "x_2": pt[1]})
            assert val == pytest.approx(_relu_net(p["a"], p["b"], _t(pt)).item(), abs=TOL), ctx
        P, Q = np.asarray(a["P"]), np.asarray(a["Q"])
        assert av @ P == pytest.approx(0, abs=TOL) and bv @ P == pytest.approx(c, abs=TOL), ctx
        assert bv @ Q == pytest.approx(0, abs=TOL) and av @ Q == pytest.approx(c, abs=TOL), ctx
        # the whole drawn level set has y = c: segment P-Q and both rays
        for s in np.linspace(0, 1, 7):
            for pt in (P + s * (Q - P), P + 3 * s * np.asarray(a["dir_P"]), Q + 3 * s * np.asarray(a["dir_Q"])):
                assert _relu_net(p["a"], p["b"], _t(pt)).item() == pytest.approx(c, abs=1e-9), ctx
        # the shaded piece is the dead one: y = 0 between the two zero rays
        inside = np.asarray(a["zero_line_a"]) + np.asarray(a["zero_line_b"])
        assert _relu_net(p["a"], p["b"], _t(inside)).item() == 0 and av @ inside < 0 and bv @ inside < 0, ctx
        assert all(abs(v * 100 - round(v * 100)) < 1e-9 and abs(v) <= 2.5 for v in a["P"] + a["Q"]), ctx


def test_relu_regions_seed_000_t2() -> None:
    """Seed 000 T2: a3 = max(x1 + x2), a4 = max(x1 - x2) -- the seed drops the ', 0' of the ReLU.
    Four pieces: y = 2 x1 (both on), x1 + x2, x1 - x2, 0; y = 1 is x1 = 1/2 between (0.5, -0.5) and
    (0.5, 0.5), plus the rays x1 - x2 = 1 (from P, to the lower left) and x1 + x2 = 1 (from Q, upper left)."""
    a = solve("relu_decision_regions", {"a": [1, 1], "b": [1, -1], "c": 1})
    assert [a[k] for k in PIECES] == ["2*x_1", "x_1 + x_2", "x_1 - x_2", "0"]
    assert [_expr_grad(a[k]) for k in PIECES] == [[2, 0], [1, 1], [1, -1], [0, 0]]
    assert a["P"] == [0.5, -0.5] and a["Q"] == [0.5, 0.5]
    assert a["dir_P"] == [-1, -1] and a["dir_Q"] == [-1, 1]


# ============================================================== pinned-parameter validation
@pytest.mark.parametrize("tid, pinned, message", [
    ("relu_decision_regions", {"a": [1, 2], "b": [2, 4], "c": 1},
     "template 'relu_decision_regions', parameter 'b': a = [1, 2] and b = [2, 4] are parallel: the plane does "
     "not split into four pieces"),
    ("relu_decision_regions", {"a": [1, 0], "b": [0, 1], "c": -1},
     "template 'relu_decision_regions', parameter 'c': expected c > 0 (y >= 0 everywhere, so y = c needs c > 0), "
     "got -1"),
    ("relu_decision_regions", {"a": [1, 0, 2], "b": [0, 1], "c": 1},
     "template 'relu_decision_regions', parameter 'a': expected a vector in R^2 (2 numbers), got [1, 0, 2]"),
    ("computational_graph_gradients", {"x": 0, "y": 1, "w1": 2, "w2": 1},
     "template 'computational_graph_gradients', parameter 'w1': w1 * x = 0 is the kink of the ReLU (w1 = 2, "
     "x = 0); the gradient there is a convention, choose w1 * x != 0"),
    ("rbf_gradient", {"x": [1, 2], "c": [[1, 0], [0, 0]], "w": [1, 1]},
     "template 'rbf_gradient', parameter 'c': c[0][0] = x[0] = 1: |x_i - c_ij| has no derivative there"),
    ("rbf_gradient", {"x": [1, 2], "c": [[0, 0, 0]], "w": [1, 1]},
     "template 'rbf_gradient', parameter 'c': expected a d x h = 2 x 2 matrix (c[i][j]: input i, unit j), "
     "got 1 x 3"),
    ("softplus_gradient", {"x": [1, 50]},
     "template 'softplus_gradient', parameter 'x': expected points in [-20, 20], got [1, 50]"),
    ("rnn_tanh_gradient", {"x1": 1, "x2": 1, "W": "a", "h0": 0, "t": 1},
     "template 'rnn_tanh_gradient', parameter 'W': expected a number, got 'a'"),
])
def test_pinned_parameters_are_validated(tid: str, pinned: dict, message: str) -> None:
    with pytest.raises(ParamError) as info:
        solve(tid, pinned)
    assert str(info.value) == message
