"""Symbolic gradients (seeds 000 T2-T4, 003 P2, P4), derived with sympy.

Each solver builds the model as a sympy expression, differentiates it, and
returns (a) the numbers at the sampled point and (b) the derived expressions
as sympy strings (`str(expr)`: keys ending in `_expr`, and relu_decision_regions'
y on each piece) that the templates typeset with the `sym` filter. No LaTeX here."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import sympy as sp
else:
    class _Sympy:
        """sympy, imported on first use: loading the bank (which resolves every
        solver) must not pay a quarter of a second for it."""

        def __getattr__(self, name: str) -> Any:
            import sympy

            return getattr(sympy, name)

    sp = _Sympy()

from ..errors import ParamError
from ..values import is_number
from . import elementary


def _q(v: Any) -> sp.Rational:
    """A parameter (int or short decimal) as an exact sympy rational."""
    return sp.Rational(str(float(v))) if not float(v).is_integer() else sp.Integer(int(float(v)))


def _scalar(p: dict[str, Any], name: str) -> float:
    v = p[name]
    if not is_number(v):
        raise ParamError(name, f"expected a number, got {v!r}")
    return float(v)


# ============================================================== rbf_gradient (seed 000 T3)


def check_rbf_gradient(p: dict[str, Any]) -> None:
    for name in ("x", "w"):
        if not isinstance(p[name], list) or not p[name]:
            raise ParamError(name, f"expected a non-empty list of numbers, got {p[name]!r}")
    x, c, w = p["x"], p["c"], p["w"]
    d = len(x)
    if not 1 <= d <= 3:
        raise ParamError("x", f"expected 1 to 3 inputs, got {d}")
    if not 1 <= len(w) <= 4:
        raise ParamError("w", f"expected 1 to 4 output weights, got {len(w)}")
    if len(c) != d or any(len(row) != len(w) for row in c):
        raise ParamError("c", f"expected a d x h = {d} x {len(w)} matrix (c[i][j]: input i, unit j), "
                              f"got {len(c)} x {len(c[0]) if c else 0}")
    for i in range(d):
        for j in range(len(w)):
            if float(x[i]) == float(c[i][j]):
                raise ParamError("c", f"c[{i}][{j}] = x[{i}] = {x[i]}: |x_i - c_ij| has no derivative there")


def rbf_gradient(p: dict[str, Any]) -> dict[str, Any]:
    """z_ij = |x_i - c_ij|, a_j = exp(-sum_i z_ij), y = sum_j w_j a_j."""
    d, h = len(p["x"]), len(p["w"])
    xs = sp.symbols(f"x_1:{d + 1}", real=True)
    c = [[_q(v) for v in row] for row in p["c"]]
    w = [_q(v) for v in p["w"]]
    y = sum((w[j] * sp.exp(-sum((sp.Abs(xs[i] - c[i][j]) for i in range(d)), sp.Integer(0)))
             for j in range(h)), sp.Integer(0))
    grads = [sp.diff(y, xs[i]) for i in range(d)]
    s = [sum(abs(float(p["x"][i]) - float(p["c"][i][j])) for i in range(d)) for j in range(h)]
    sign = [[float(np.sign(float(p["x"][i]) - float(p["c"][i][j]))) for j in range(h)] for i in range(d)]
    a = [float(elementary.exp(-v)) for v in s]  # the key from the derivative's value: sum_j -w_j a_j sign_ij
    grad = [-sum(float(p["w"][j]) * a[j] * sign[i][j] for j in range(h)) + 0.0 for i in range(d)]
    w_norm1 = float(sum(abs(float(v)) for v in p["w"]))
    return {
        "dy_dx_expr": [str(g) for g in grads],
        "s": s,
        "a": a,
        "exp_args": sorted({-1.0, -2.0, -3.0, -4.0} | {-v for v in s}),  # the table of e^z the statement prints
        "sign": sign,
        "grad": grad,
        "grad_norm1": float(sum(abs(g) for g in grad)),
        "w_norm1": w_norm1,
        "bound": d * w_norm1,
    }


def _rbf_numeric(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(s_j, dy/dx) with numpy: the constraints' fast path (the key itself comes from sympy)."""
    x, c, w = (np.asarray(p[k], dtype=float) for k in ("x", "c", "w"))
    s = np.abs(x[:, None] - c).sum(axis=0)
    return s, -(w * np.exp(-s) * np.sign(x[:, None] - c)).sum(axis=1)


def rbf_gradient_not_small(p: dict[str, Any]) -> bool:
    """every component of dy/dx is at least 0.01 in magnitude (nothing cancels to 0)"""
    return bool(np.all(np.abs(_rbf_numeric(p)[1]) >= 0.01))


def rbf_distances_small(p: dict[str, Any]) -> bool:
    """every unit's distance sum_i |x_i - c_ij| is at most 4 (activations not tiny)"""
    return bool(np.all(_rbf_numeric(p)[0] <= 4))


# ============================================================== rnn_tanh_gradient (seed 000 T4)


@cache
def _rnn_symbolic() -> tuple[sp.Expr, Any]:
    W, x1, x2, h0, t, h1s, h2s = sp.symbols("W x_1 x_2 h_0 t h_1 h_2", real=True)
    h1 = sp.tanh(x1 * W + h0)
    h2 = sp.tanh(x2 * W + h1)
    E = (h2 - t) ** 2
    g = sp.diff(E, W)
    # back in the student's notation: h_2 for the outer tanh, then h_1 for the inner one
    short = g.subs(h2, h2s).subs(h1, h1s)
    return short, sp.lambdify((W, x1, x2, h0, t), g, modules="numpy")


def check_rnn_tanh_gradient(p: dict[str, Any]) -> None:
    for name in ("W", "x1", "x2", "h0", "t"):
        _scalar(p, name)


def rnn_tanh_w_zero(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: W = 0, the inputs never enter and the variant collapses"""
    return float(p["W"]) == 0


def rnn_tanh_gradient(p: dict[str, Any]) -> dict[str, Any]:
    """h1 = tanh(x1 W + h0), h2 = tanh(x2 W + h1), y = h2, E = (y - t)^2; dE/dW."""
    short, _ = _rnn_symbolic()
    W, x1, x2, h0, t = (float(p[k]) for k in ("W", "x1", "x2", "h0", "t"))
    z1 = x1 * W + h0
    h1 = float(elementary.tanh(z1))
    z2 = x2 * W + h1
    h2 = float(elementary.tanh(z2))
    dE_dy = 2 * (h2 - t)
    dh1_dW = (1 - h1 ** 2) * x1
    dz2_dW = x2 + dh1_dW
    g_value = dE_dy * (1 - h2 ** 2) * dz2_dW  # the simplified derivative of c), at these numbers
    return {
        "dE_dW_expr": str(short),
        "z1": z1, "h1": h1, "z2": z2, "h2": h2, "tanh_args": [z1, z2],
        "dE_dy": dE_dy,
        "tanh_prime_1": 1 - h1 ** 2,
        "tanh_prime_2": 1 - h2 ** 2,
        "dz2_dW": dz2_dW,
        "dE_dW": float(g_value),
    }


def rnn_tanh_nondegenerate(p: dict[str, Any]) -> bool:
    """|y - t| >= 0.1, |dE/dW| >= 0.05 and no pre-activation beyond 2.5 (tanh not saturated)"""
    W, x1, x2, h0, t = (float(p[k]) for k in ("W", "x1", "x2", "h0", "t"))
    z1 = x1 * W + h0
    h1 = np.tanh(z1)
    z2 = x2 * W + h1
    h2 = np.tanh(z2)
    g = 2 * (h2 - t) * (1 - h2 ** 2) * (x2 + (1 - h1 ** 2) * x1)
    return bool(abs(h2 - t) >= 0.1 and abs(g) >= 0.05 and abs(z1) <= 2.5 and abs(z2) <= 2.5)


# ============================================================== computational_graph_gradients (seed 003 P2)


@cache
def _cg_symbolic() -> tuple[sp.Expr, sp.Expr, Any]:
    x, y, w1, w2 = sp.symbols("x y w_1 w_2", real=True)
    L = (y - w2 * sp.Max(0, w1 * x)) ** 2
    g1, g2 = sp.diff(L, w1), sp.diff(L, w2)
    return g1, g2, sp.lambdify((x, y, w1, w2), [L, g1, g2], modules="numpy")


def check_computational_graph_gradients(p: dict[str, Any]) -> None:
    for name in ("x", "y", "w1", "w2"):
        _scalar(p, name)
    if float(p["w1"]) * float(p["x"]) == 0:
        raise ParamError("w1", f"w1 * x = 0 is the kink of the ReLU (w1 = {p['w1']}, x = {p['x']}); "
                               "the gradient there is a convention, choose w1 * x != 0")


def computational_graph_gradients(p: dict[str, Any]) -> dict[str, Any]:
    """L = (y - w2 ReLU(w1 x))^2; ReLU'(z) = 1 for z > 0, 0 for z < 0 (z = 0 is rejected)."""
    g1, g2, numeric = _cg_symbolic()
    x, y, w1, w2 = (float(p[k]) for k in ("x", "y", "w1", "w2"))
    L_value, g1_value, g2_value = numeric(x, y, w1, w2)  # w1 x != 0: Heaviside's value at 0 never used
    z = w1 * x
    h = max(z, 0.0)
    y_hat = w2 * h
    dL_dyhat = -2 * (y - y_hat)
    relu_grad = 1.0 if z > 0 else 0.0
    return {
        "dL_dw1_expr": str(g1),
        "dL_dw2_expr": str(g2),
        "z": z, "h": h, "y_hat": y_hat,
        "L": float(L_value),
        "dL_dyhat": dL_dyhat,
        "relu_grad": relu_grad,
        "dL_dw1": float(g1_value),
        "dL_dw2": float(g2_value),
    }


def cg_relu_active(p: dict[str, Any]) -> bool:
    """the ReLU is active (w1 * x > 0): no dead unit, no kink"""
    return float(p["w1"]) * float(p["x"]) > 0


def cg_residual_nonzero(p: dict[str, Any]) -> bool:
    """the prediction misses the target (y != w2 ReLU(w1 x)), so the gradients are not zero"""
    a = computational_graph_gradients(p)
    return float(p["y"]) != a["y_hat"] and abs(a["dL_dw1"]) <= 200 and abs(a["dL_dw2"]) <= 200


# ============================================================== softplus_gradient (seed 003 P4)
SOFTPLUS_GRID = [k / 2 for k in range(-8, 9)]  # -4 .. 4 in steps of 0.5


@cache
def _softplus_symbolic() -> tuple[sp.Expr, sp.Symbol, Any]:
    x = sp.Symbol("x", real=True)
    g = sp.diff(sp.log(1 + sp.exp(x)), x)
    return g, x, sp.lambdify(x, g, modules="numpy")


def check_softplus_gradient(p: dict[str, Any]) -> None:
    xs = p["x"]
    if not isinstance(xs, list) or not 1 <= len(xs) <= 5:
        raise ParamError("x", f"expected a list of 1 to 5 points, got {xs!r}")
    if any(abs(float(v)) > 20 for v in xs):
        raise ParamError("x", f"expected points in [-20, 20], got {xs!r}")


def softplus_gradient(p: dict[str, Any]) -> dict[str, Any]:
    g, x, _ = _softplus_symbolic()
    sigmoid = 1 / (1 + sp.exp(-x))
    xs = [float(v) for v in p["x"]]
    return {
        "grad_expr": str(g),
        "sigmoid_expr": str(sigmoid),
        "grad": [float(elementary.sigmoid(v)) for v in xs],  # f' = sigma
        "sigma_args": sorted(set(SOFTPLUS_GRID) | set(xs)),  # the whole grid: the table gives no point away
    }


def sample_softplus_gradient(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Three distinct points from -4 .. 4 in steps of 0.5, sorted, one of them negative and one positive."""
    if "x" in pinned:
        return dict(pinned)
    while True:
        xs = sorted(float(v) for v in rng.choice(SOFTPLUS_GRID, size=3, replace=False))
        if xs[0] < 0 < xs[-1]:
            return {"x": [int(v) if v.is_integer() else v for v in xs]}


# ============================================================== relu_decision_regions (seed 000 T2)
PIECES = {"y_both_on": (1, 1), "y_a3_on": (1, -1), "y_a4_on": (-1, 1), "y_both_off": (-1, -1)}  # signs of (a.x, b.x)
VIEW = 3  # the figure shows [-VIEW, VIEW]^2


def check_relu_decision_regions(p: dict[str, Any]) -> None:
    for name in ("a", "b"):
        if len(p[name]) != 2:
            raise ParamError(name, f"expected a vector in R^2 (2 numbers), got {p[name]!r}")
    a, b = np.asarray(p["a"], dtype=float), np.asarray(p["b"], dtype=float)
    if a[0] * b[1] - a[1] * b[0] == 0:
        raise ParamError("b", f"a = {p['a']} and b = {p['b']} are parallel: the plane does not split into "
                              "four pieces")
    c = _scalar(p, "c")
    if c <= 0:
        raise ParamError("c", f"expected c > 0 (y >= 0 everywhere, so y = c needs c > 0), got {p['c']!r}")


def _perp_towards(v: np.ndarray, other: np.ndarray, sign: int) -> list[float]:
    """The direction along the line v.x = const on which other.x moves with `sign`."""
    d = np.array([-v[1], v[0]])
    return (d if sign * float(other @ d) > 0 else -d).tolist()


def _solve2(a: Any, b: Any, r: tuple[Any, Any]) -> tuple[Fraction, Fraction]:
    """The exact solution u of a.u = r[0], b.u = r[1] (a, b not parallel)."""
    (a1, a2), (b1, b2) = (tuple(Fraction(str(v)) for v in vec) for vec in (a, b))
    r0, r1 = Fraction(str(r[0])), Fraction(str(r[1]))
    det = a1 * b2 - a2 * b1
    return (b2 * r0 - a2 * r1) / det, (a1 * r1 - b1 * r0) / det


def relu_decision_regions(p: dict[str, Any]) -> dict[str, Any]:
    """y = max(a.x, 0) + max(b.x, 0): linear on the four sign pieces of (a.x, b.x);
    y = c is the segment P-Q on (a+b).x = c plus two rays (b.x = c from P, a.x = c from Q)."""
    x1, x2 = sp.symbols("x_1 x_2", real=True)
    ax = _q(p["a"][0]) * x1 + _q(p["a"][1]) * x2
    bx = _q(p["b"][0]) * x1 + _q(p["b"][1]) * x2
    pieces, labels = {}, []
    for name, (sa, sb) in PIECES.items():
        # on the piece each max is its active argument (a.x where a.x > 0) or 0
        pieces[name] = str(sp.expand((ax if sa > 0 else 0) + (bx if sb > 0 else 0)))
        u = np.array([float(v) for v in _solve2(p["a"], p["b"], (sa, sb))])  # strictly inside the piece
        labels.append((u / np.linalg.norm(u) * 2.2).round(2).tolist())
    P = _solve2(p["a"], p["b"], (0, p["c"]))
    Q = _solve2(p["a"], p["b"], (p["c"], 0))
    a, b = np.asarray(p["a"], dtype=float), np.asarray(p["b"], dtype=float)
    return {
        "ax_expr": str(ax),
        "bx_expr": str(bx),
        **pieces,
        "P": [float(v) for v in P],
        "Q": [float(v) for v in Q],
        "dir_P": _perp_towards(b, a, -1),  # along b.x = c into a.x < 0
        "dir_Q": _perp_towards(a, b, -1),  # along a.x = c into b.x < 0
        "zero_line_a": _perp_towards(a, b, -1),  # a.x = 0 bounding the dead piece (b.x < 0 side)
        "zero_line_b": _perp_towards(b, a, -1),  # b.x = 0 bounding the dead piece (a.x < 0 side)
        "label_points": labels,
    }


def rr_corners_nice(p: dict[str, Any]) -> bool:
    """the corners P and Q of the level set have at most two decimals and lie inside [-2.5, 2.5]^2"""
    a, b = p["a"], p["b"]
    if float(a[0]) * float(b[1]) - float(a[1]) * float(b[0]) == 0:
        return False
    P, Q = _solve2(a, b, (0, p["c"])), _solve2(a, b, (p["c"], 0))
    return all((v * 100).denominator == 1 and abs(v) <= Fraction(5, 2) for v in P + Q) and P != Q


def sample_rbf_gradient(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """d = 2 integer inputs, h = 2 or 3 units with integer centres in [-2, 2] and non-zero integer weights
    (shapes follow whatever is pinned); the checker rejects centres on a kink, the constraints tiny values."""
    d = len(pinned["x"]) if "x" in pinned else len(pinned["c"]) if "c" in pinned else 2
    h = len(pinned["w"]) if "w" in pinned else len(pinned["c"][0]) if "c" in pinned else int(rng.integers(2, 4))
    x = pinned.get("x") or [int(v) for v in rng.integers(-2, 3, size=d)]
    c = pinned.get("c") or rng.integers(-2, 3, size=(d, h)).tolist()
    w = pinned.get("w") or [int(v) for v in rng.choice([-3, -2, -1, 1, 2, 3], size=h)]
    return {"x": x, "c": c, "w": w}
