"""Recurrent networks (seeds 004 P6, 001 P10b): h_t = ReLU(u h_{t-1} + w x_t), y_T = v h_T."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError
from ..values import is_matrix, is_number, is_vector
from . import elementary


def check_rnn_relu_scalar(p: dict[str, Any]) -> None:
    if p.get("relu_grad_at_zero", 0) not in (0, 1):
        raise ParamError("relu_grad_at_zero", f"expected 0 or 1, got {p['relu_grad_at_zero']!r}")
    if not isinstance(p["x"], list) or not 1 <= len(p["x"]) <= 6:
        raise ParamError("x", f"expected a sequence of 1 to 6 numbers, got {p['x']!r}")


def rnn_relu_scalar(p: dict[str, Any]) -> dict[str, Any]:
    u, w, v, h = float(p["u"]), float(p["w"]), float(p.get("v", 1)), float(p["h0"])
    g0 = float(p.get("relu_grad_at_zero", 0))
    dh_du = dh_dw = dh_dx1 = 0.0
    hs, zs, grads = [], [], []
    for t, xt in enumerate(float(x) for x in p["x"]):
        z = u * h + w * xt
        d = 1.0 if z > 0 else (g0 if z == 0 else 0.0)
        dh_du = d * (h + u * dh_du)
        dh_dw = d * (xt + u * dh_dw)
        dh_dx1 = d * w if t == 0 else d * u * dh_dx1
        h = max(z, 0.0)
        hs.append(h)
        zs.append(z)
        grads.append(d)
    return {
        "z": zs, "h": hs, "relu_grad": grads, "y_T": v * hs[-1],
        "dh_du": dh_du, "dh_dw": dh_dw, "dh_dx1": dh_dx1, "dy_du": v * dh_du,
    }


def hidden_alive(p: dict[str, Any]) -> bool:
    """h_T > 0 and no pre-activation is exactly 0 (gradients are not all zero, no ReLU'(0) ambiguity)"""
    a = rnn_relu_scalar(p)
    return a["h"][-1] > 0 and all(z != 0 for z in a["z"]) and a["dh_du"] != 0


def gradient_reaches_x1(p: dict[str, Any]) -> bool:
    """dh_T/dx_1 is not 0 (the ReLU is active at every step, so x_1 still matters at T)"""
    return rnn_relu_scalar(p)["dh_dx1"] != 0


def x1_gradient_zero(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: dh_T/dx_1 = 0 (a dead step cuts the gradient: part b's answer is 0)"""
    return a["dh_dx1"] == 0


def output_weight_one(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: v = 1, so dy/du equals dh/du and part c repeats part b"""
    return float(p.get("v", 1)) == 1


def hand_sized(p: dict[str, Any]) -> bool:
    """every hidden state and gradient stays within 60 in magnitude"""
    a = rnn_relu_scalar(p)
    return bool(np.all(np.abs(a["h"]) <= 60) and abs(a["dh_du"]) <= 60 and abs(a["dh_dw"]) <= 60)


# ====================================================================== shared helpers
def _sigmoid(z: float) -> float:
    return float(elementary.sigmoid(z))


def _pos_int(p: dict[str, Any], name: str, high: int = 100_000) -> int:
    v = p.get(name)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= high:
        raise ParamError(name, f"expected an integer from 1 to {high}, got {v!r}")
    return v


def _vector(p: dict[str, Any], name: str, n: int | None, what: str = "") -> np.ndarray:
    v: Any = p.get(name)
    if not is_vector(v):
        raise ParamError(name, f"expected a non-empty list of numbers{what}, got {v!r}")
    if n is not None and len(v) != n:
        raise ParamError(name, f"expected {n} entries{what}, got {len(v)}")
    return np.asarray(v, dtype=float)


def _matrix(p: dict[str, Any], name: str, shape: tuple[int | None, int | None], what: str = "") -> np.ndarray:
    m = p.get(name)
    if not is_matrix(m):
        raise ParamError(name, f"expected a matrix (list of equally long rows of numbers){what}, got {m!r}")
    a = np.asarray(m, dtype=float)
    rows, cols = shape
    if (rows is not None and a.shape[0] != rows) or (cols is not None and a.shape[1] != cols):
        want = f"{rows if rows is not None else 'any'} x {cols if cols is not None else 'any'}"
        raise ParamError(name, f"expected shape {want}{what}, got {a.shape[0]} x {a.shape[1]}")
    return a


def _dec(rng: np.random.Generator, low: float, high: float, step: float = 0.1, nonzero: bool = False) -> float:
    """A 'nice' decimal low, low + step, ..., high (optionally never 0)."""
    n = int(round((high - low) / step))
    while True:
        v = round(low + step * int(rng.integers(0, n + 1)), 10)
        if not (nonzero and v == 0):
            return v + 0.0  # no -0.0


# ====================================================================== rnn_param_count (seed 004 P6a)
GATES = {"rnn": ("h",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def check_rnn_param_count(p: dict[str, Any]) -> None:
    _pos_int(p, "input_dim")
    _pos_int(p, "hidden_dim")
    if p.get("cell") not in GATES:
        raise ParamError("cell", f"expected one of rnn, lstm, gru, got {p.get('cell')!r}")
    if not isinstance(p.get("bias"), bool):
        raise ParamError("bias", f"expected true or false, got {p.get('bias')!r}")


def rnn_param_count(p: dict[str, Any]) -> dict[str, Any]:
    """PyTorch's counting (torch.nn.RNN/GRU/LSTM, one layer): weight_ih (G*H x I),
    weight_hh (G*H x H) and, with bias, BOTH bias_ih and bias_hh (G*H each)."""
    i, h, g = int(p["input_dim"]), int(p["hidden_dim"]), len(GATES[p["cell"]])
    nb = 2 * h if p["bias"] else 0  # b_ih and b_hh of one gate
    gate_ih, gate_hh = h * i, h * h
    per_gate = gate_ih + gate_hh + nb
    weight_ih, weight_hh, biases = g * gate_ih, g * gate_hh, g * nb
    return {
        "gates": g, "gate_weight_ih": gate_ih, "gate_weight_hh": gate_hh, "gate_biases": nb, "per_gate": per_gate,
        "weight_ih": weight_ih, "weight_hh": weight_hh, "biases": biases, "total": weight_ih + weight_hh + biases,
    }


# ====================================================================== rnn_sequence_forward (seed 002 Q15)


def check_rnn_sequence_forward(p: dict[str, Any]) -> None:
    u = _matrix(p, "U", (None, None), " (hidden x input)")
    h, i = u.shape
    _matrix(p, "W", (h, h), f" (hidden x hidden, hidden = {h} from U)")
    _vector(p, "b", h, f" (hidden = {h} from U)")
    _vector(p, "V", h, f" (one output weight per hidden unit, hidden = {h} from U)")
    if not is_number(p.get("c")):
        raise ParamError("c", f"expected a number, got {p.get('c')!r}")
    _vector(p, "h0", h, f" (hidden = {h} from U)")
    x = _matrix(p, "X", (None, i), f" (T x input, input = {i} from U)")
    if x.shape[0] > 8:
        raise ParamError("X", f"expected at most 8 time steps (rows), got {x.shape[0]}")


def rnn_sequence_forward(p: dict[str, Any]) -> dict[str, Any]:
    """a_t = U x_t + W h_{t-1} + b, h_t = ReLU(a_t), s_t = V h_t + c, o_t = sigmoid(s_t)."""
    U, W = np.asarray(p["U"], dtype=float), np.asarray(p["W"], dtype=float)
    b, V = np.asarray(p["b"], dtype=float), np.asarray(p["V"], dtype=float)
    c = float(p["c"])
    h = np.asarray(p["h0"], dtype=float)
    ux, wh, pre, hs, ss, os_ = [], [], [], [], [], []
    for x in np.asarray(p["X"], dtype=float):
        ux.append(U @ x)
        wh.append(W @ h)
        a = ux[-1] + wh[-1] + b
        h = np.maximum(a, 0.0)
        s = float(V @ h + c)
        pre.append(a)
        hs.append(h)
        ss.append(s)
        os_.append(_sigmoid(s))
    return {"Ux": ux, "Wh": wh, "a": pre, "h": hs, "s": ss, "o": os_, "T": len(hs),
            "sigma_args": elementary.table_args(ss, 4)}


def sample_rnn_sequence_forward(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Small integers everywhere (H = 2 hidden units, 2 or 3 inputs, 3 steps) so that a_t, h_t and
    s_t are integers; only o_t = sigmoid(s_t) needs a calculator (asked rounded to 3 decimals).
    Dimensions follow the pinned parameters when there are any."""
    def dims() -> tuple[int, int, int]:
        h = i = t = None
        for k in ("U", "W"):
            if k in pinned:
                h = len(pinned[k])
        for k in ("b", "V", "h0"):
            if k in pinned:
                h = len(pinned[k])
        if "U" in pinned:
            i = len(pinned["U"][0])
        if "X" in pinned:
            t, i = len(pinned["X"]), len(pinned["X"][0])
        return (h or 2, i or int(rng.choice([2, 2, 3])), t or 3)

    h, i, t = dims()
    zero_h0 = rng.random() < 0.5
    return {
        "U": rng.integers(-2, 3, size=(h, i)).tolist(),
        "W": rng.integers(-1, 2, size=(h, h)).tolist(),
        "b": rng.integers(-1, 2, size=h).tolist(),
        "V": rng.choice([-2, -1, 1, 2], size=h).tolist(),
        "c": int(rng.integers(-2, 3)),
        "h0": [0] * h if zero_h0 else rng.integers(0, 3, size=h).tolist(),
        "X": _no_zero_column(rng, t, i),
    }


def _no_zero_column(rng: np.random.Generator, t: int, i: int) -> list[list[int]]:
    """A T x input sequence of small integers in which every input is non-zero at some step."""
    while True:
        x = rng.integers(-1, 3, size=(t, i))
        if np.all(np.any(x != 0, axis=0)):
            return x.tolist()


def hidden_never_dead(p: dict[str, Any]) -> bool:
    """every h_t has a positive unit, every unit is positive at some step, and some pre-activation
    is negative (the ReLU matters)"""
    a = rnn_sequence_forward(p)
    return (all(float(np.max(h)) > 0 for h in a["h"]) and any(float(np.min(x)) < 0 for x in a["a"])
            and not unit_always_dead(p, a))


def unit_always_dead(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: a hidden unit is 0 at every step (it never reaches the output)"""
    return bool(np.any(np.all(np.asarray(a["h"], dtype=float) == 0, axis=0)))


def input_column_zero(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: an input is 0 at every step (its column of U is never used)"""
    return bool(np.any(np.all(np.asarray(p["X"], dtype=float) == 0, axis=0)))


def sequence_hand_sized(p: dict[str, Any]) -> bool:
    """|h_t| <= 12 and -4 <= V h_t + c <= 4 at every step, and not all o_t are equal"""
    a = rnn_sequence_forward(p)
    return (all(float(np.max(np.abs(h))) <= 12 for h in a["h"]) and all(abs(s) <= 4 for s in a["s"])
            and len(set(a["s"])) > 1)


# ====================================================================== lstm_scalar_forward (seed 002 Q17)
LSTM_GATES = ("i", "f", "g", "o")  # PyTorch's order
LSTM_CELLS = ("pytorch", "textbook")  # torch.nn.LSTM, or seed 002 Q17's (sigmoid cell input, h = ReLU(c) o)
LSTM_WEIGHTS = tuple(f"{k}_{g}" for g in LSTM_GATES for k in ("w", "u", "b"))


def check_lstm_scalar_forward(p: dict[str, Any]) -> None:
    x = p.get("x")
    if not isinstance(x, list) or not 2 <= len(x) <= 6 or not all(is_number(v) for v in x):
        raise ParamError("x", f"expected a sequence of 2 to 6 numbers, got {x!r}")
    for name in ("h0", "c0", *LSTM_WEIGHTS):
        if not is_number(p.get(name)):
            raise ParamError(name, f"expected a number, got {p.get(name)!r}")
    if p.get("cell", "pytorch") not in LSTM_CELLS:
        raise ParamError("cell", f"expected one of {', '.join(LSTM_CELLS)}, got {p.get('cell')!r}")



def lstm_scalar_forward(p: dict[str, Any]) -> dict[str, Any]:
    """One input and one hidden unit (one bias per gate); i, f, o = sigmoid(w x_t + u h_{t-1} + b),
    c_t = f c_{t-1} + i g. cell 'pytorch' (torch.nn.LSTM): g = tanh(...), h_t = o tanh(c_t);
    cell 'textbook' (seed 002 Q17, Goodfellow's cell input with a ReLU): g = sigmoid(...),
    h_t = ReLU(c_t) o (the key 'tanh_c' then holds ReLU(c_t))."""
    textbook = p.get("cell", "pytorch") == "textbook"
    h, c = float(p["h0"]), float(p["c0"])
    out: dict[str, list[float]] = {k: [] for k in ("z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "c", "tanh_c", "h")}
    for x in (float(v) for v in p["x"]):
        z = {g: float(p[f"w_{g}"]) * x + float(p[f"u_{g}"]) * h + float(p[f"b_{g}"]) for g in LSTM_GATES}
        gi, gf, go = _sigmoid(z["i"]), _sigmoid(z["f"]), _sigmoid(z["o"])
        gg = _sigmoid(z["g"]) if textbook else float(elementary.tanh(z["g"]))
        c = gf * c + gi * gg
        tanh_c = max(c, 0.0) if textbook else float(elementary.tanh(c))
        h = go * tanh_c
        for g in LSTM_GATES:
            out[f"z_{g}"].append(z[g])
        for k, v in (("i", gi), ("f", gf), ("g", gg), ("o", go), ("c", c), ("tanh_c", tanh_c), ("h", h)):
            out[k].append(v)
    first = {f"{k}_1": out[k][0] for k in ("i", "f", "g", "o", "c", "h")}  # part a) asks step 1
    later = min(3, len(out["h"]))  # part c) asks whether h at this step equals h_1 (the seed's t = 3)
    gates = out["z_i"] + out["z_f"] + out["z_o"]
    return {**out, **first, "c_rest": out["c"][1:], "h_rest": out["h"][1:], "later": later,
            "same_output": "yes" if round(out["h"][later - 1], 3) == round(out["h"][0], 3) else "no",
            "sigma_args": gates + (out["z_g"] if textbook else []),  # the tables the statement prints
            "tanh_args": [] if textbook else out["z_g"] + out["c"]}


def sample_lstm_scalar_forward(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Weights, biases and inputs with one decimal in [-1, 1] (as the seed's 0.3, -0.3, 0.1, ...),
    3 time steps with x_3 = x_1 (as the seed), h0 = c0 = 0 half of the time."""
    zero = rng.random() < 0.5
    x = [_dec(rng, -1, 1, nonzero=True) for _ in range(2)]
    p: dict[str, Any] = {
        "x": [*x, x[0]],  # x_3 = x_1, as in the seed: part c) asks whether h_3 = h_1
        "h0": 0 if zero else _dec(rng, -0.5, 0.5),
        "c0": 0 if zero else _dec(rng, -1, 1),
    }
    for name in LSTM_WEIGHTS:
        p[name] = _dec(rng, -1, 1, nonzero=not name.startswith("b"))
    return p


def lstm_not_degenerate(p: dict[str, Any]) -> bool:
    """every |h_t| >= 0.05 and every |c_t| >= 0.1 (no answer is about 0), gates not saturated (|z| <= 3)"""
    a = lstm_scalar_forward(p)
    return (all(abs(v) >= 0.05 for v in a["h"]) and all(abs(v) >= 0.1 for v in a["c"])
            and all(abs(z) <= 3 for g in LSTM_GATES for z in a[f"z_{g}"]))


# ====================================================================== rnn_gradient_stability (seed 001 P10a)
UNIMODULAR = ([[1, 1], [0, 1]], [[1, 0], [1, 1]], [[2, 1], [1, 1]], [[1, 2], [1, 1]], [[1, -1], [1, 0]],
              [[1, 1], [1, 2]], [[1, -1], [0, 1]], [[2, 1], [3, 2]])


def check_rnn_gradient_stability(p: dict[str, Any]) -> None:
    w = _matrix(p, "W", (None, None))
    if w.shape[0] != w.shape[1] or w.shape[0] > 4:
        raise ParamError("W", f"expected a square matrix of size 1 to 4, got {w.shape[0]} x {w.shape[1]}")


def _is_triangular(w: np.ndarray) -> bool:
    return bool(np.allclose(np.tril(w, -1), 0) or np.allclose(np.triu(w, 1), 0))


def rnn_gradient_stability(p: dict[str, Any]) -> dict[str, Any]:
    """Linear RNN h_t = W h_{t-1} + U x_t: dh_t/dh_{t-k} = W^k, so gradients scale like rho(W)^k.
    regime: 'vanish' (rho < 1), 'neither' (rho = 1), 'explode' (rho > 1). Eigenvalues as [re, im]
    pairs, by decreasing |lambda|."""
    w = np.asarray(p["W"], dtype=float)
    ev = np.linalg.eigvals(w)
    ev = np.round(ev.real, 10) + 1j * np.round(ev.imag, 10)  # 2x2 / triangular cases are exact up to fp noise
    order = sorted(range(len(ev)), key=lambda k: (-abs(ev[k]), -ev[k].real, -ev[k].imag))
    ev = ev[order]
    rho = round(float(np.max(np.abs(ev))), 10)
    regime = "neither" if abs(rho - 1) < 1e-9 else ("explode" if rho > 1 else "vanish")
    return {
        "trace": float(np.trace(w)), "det": round(float(np.linalg.det(w)), 10),
        "triangular": int(_is_triangular(w)), "jacobian_2": w @ w,
        "eigenvalues": [[float(z.real) + 0.0, float(z.imag) + 0.0] for z in ev], "eig_abs": np.round(np.abs(ev), 10),
        "complex": int(bool(np.any(ev.imag != 0))), "rho": rho, "regime": regime,
    }


def check_eigenvalues_answer(params: dict[str, Any], proposed: Any) -> tuple[bool, str]:
    """Grade proposed eigenvalues of W: one entry per eigenvalue (a number, or [re, im] for a
    complex one), in any order, each equal to an eigenvalue up to 1e-6 (the exact values are
    short decimals), with multiplicity. Returns (ok, reason)."""
    want = [complex(re, im) for re, im in rnn_gradient_stability(params)["eigenvalues"]]
    entries = proposed if isinstance(proposed, (list, tuple)) else [proposed]
    got = []
    for v in entries:
        pair = list(v) if isinstance(v, (list, tuple)) else [v, 0]
        if len(pair) != 2 or not all(is_number(x) for x in pair):
            return False, f"expected a number or [re, im] per eigenvalue, got {v!r}"
        got.append(complex(float(pair[0]), float(pair[1])))
    if len(got) != len(want):
        return False, f"expected {len(want)} eigenvalues, got {len(got)}"
    for z in want:
        match = next((g for g in got if abs(g - z) <= 1e-6), None)
        if match is None:
            shown = f"{z.real:g}" if z.imag == 0 else f"{z.real:g} {'+' if z.imag > 0 else '-'} {abs(z.imag):g}i"
            return False, f"{shown} is an eigenvalue of W but missing from the answer"
        got.remove(match)
    return True, "correct"


def sample_rnn_gradient_stability(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """W with eigenvalues a student finds by hand. The regime is drawn first (vanishing or
    exploding, half each; rho = 1, the borderline, only when pinned), then the eigenvalues, then
    one of three forms (triangular 3/6, off-diagonal entries -3..3; similar 2/6; rotation 1/6): triangular
    (eigenvalues on the diagonal), P diag(l1, l2) P^-1 with an integer unimodular P (half-integer
    eigenvalues, so half-integer entries and a characteristic polynomial with a square
    discriminant), or a scaled rotation [[a, -b], [b, a]] (eigenvalues a +- bi with
    |lambda| = sqrt(a^2 + b^2) from a 3-4-5 triple)."""
    regime = rng.choice(["vanishing", "exploding"])  # rho = 1 ('neither') is borderline: pinned only
    small: tuple[float, ...] = (-0.75, -0.5, -0.25, 0.25, 0.5, 0.75)
    large: tuple[float, ...] = (-3.0, -2.0, -1.5, -1.25, 1.25, 1.5, 2.0, 3.0)
    form = rng.choice(["triangular", "triangular", "triangular", "similar", "similar", "rotation"])
    n = int(rng.choice([2, 3])) if form == "triangular" else 2
    if form == "similar":  # halves only: W = P diag P^-1 then has half-integer entries
        small, large = (-0.5, 0.0, 0.5), (-3.0, -2.0, -1.5, 1.5, 2.0, 3.0)
    if regime == "vanishing":
        lam = rng.choice(small, size=n, replace=False)
    else:
        top = rng.choice(large) if regime == "exploding" else rng.choice([-1.0, 1.0])
        pool = [v for v in (small + large if regime == "exploding" else small) if v != top]
        lam = np.array([top, *rng.choice(pool, size=n - 1, replace=False)])
        rng.shuffle(lam)
    if form == "triangular":
        w = np.diag(lam)
        for r in range(n):
            for col in range(r + 1, n):
                w[r, col] = int(rng.integers(-3, 4))
        if rng.random() < 0.5:
            w = w.T
    elif form == "similar":
        pm = np.array(UNIMODULAR[int(rng.integers(len(UNIMODULAR)))], dtype=float)
        if rng.random() < 0.5:
            pm = pm[::-1]
        w = pm @ np.diag(lam) @ np.linalg.inv(pm)
    else:
        rho = float({"vanishing": rng.choice([0.25, 0.5, 0.75]), "neither": 1.0,
                     "exploding": rng.choice([1.25, 1.5, 2.0, 2.5])}[regime])
        a, b = [(0.6, 0.8), (0.8, 0.6), (0.0, 1.0)][int(rng.integers(3))]
        a, b = rho * a * rng.choice([-1, 1]), rho * b * rng.choice([-1, 1])
        w = np.array([[a, -b], [b, a]])
    return {"W": [[round(float(v), 4) + 0.0 for v in row] for row in w]}


def rho_one(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: rho(W) = 1, the borderline case between vanishing and exploding"""
    return a["regime"] == "neither"


def matrix_hand_sized(p: dict[str, Any]) -> bool:
    """entries of W have at most two decimals and lie in [-5, 5], W^2 within [-20, 20], W is not diagonal"""
    w = np.asarray(p["W"], dtype=float)
    quarter = bool(np.allclose(w * 100, np.round(w * 100), rtol=0, atol=1e-9))
    return (quarter and float(np.max(np.abs(w))) <= 5 and float(np.max(np.abs(w @ w))) <= 20
            and bool(np.any(w - np.diag(np.diag(w)) != 0)))


# ====================================================================== lstm_gate_roles (seed 001 P10c; 004 P6e)
ROLES = ("forget", "update", "output", "candidate")  # codes 1, 2, 3, 4


def check_lstm_gate_roles(p: dict[str, Any]) -> None:
    order = p.get("order")
    ok = (isinstance(order, list) and all(isinstance(r, str) for r in order)
          and sorted(order) in (sorted(ROLES[:3]), sorted(ROLES)))
    if not ok:
        raise ParamError("order", "expected the roles forget, update, output (and optionally candidate), each once, "
                         f"in the order of g_1, g_2, ...; got {order!r}")
    if not isinstance(p.get("swap_terms"), bool):
        raise ParamError("swap_terms", f"expected true or false, got {p.get('swap_terms')!r}")


def lstm_gate_roles(p: dict[str, Any]) -> dict[str, Any]:
    """1-based index k of the gate g_k that plays each role (0: candidate not among the g_k)."""
    order = list(p["order"])
    idx = {r: (order.index(r) + 1 if r in order else 0) for r in ROLES}
    return {"forget": idx["forget"], "update": idx["update"], "output": idx["output"],
            "candidate": idx["candidate"]}


def sample_lstm_gate_roles(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """A random order of the three gates; half of the time the tanh candidate is one of the g_k too."""
    roles = list(ROLES if rng.random() < 0.5 else ROLES[:3])
    rng.shuffle(roles)
    return {"order": roles, "swap_terms": bool(rng.random() < 0.5)}


# ====================================================================== gru_scalar_forward (issue 15)
GRU_GATES = ("r", "z", "n")  # PyTorch's order in weight_ih / weight_hh
GRU_WEIGHTS = tuple(f"{k}_{g}" for g in GRU_GATES for k in ("w", "u", "b"))


def check_gru_scalar_forward(p: dict[str, Any]) -> None:
    x = p.get("x")
    if not isinstance(x, list) or not 2 <= len(x) <= 6 or not all(is_number(v) for v in x):
        raise ParamError("x", f"expected a sequence of 2 to 6 numbers, got {x!r}")
    for name in ("h0", *GRU_WEIGHTS, "bh_n"):
        if not is_number(p.get(name)):
            raise ParamError(name, f"expected a number, got {p.get(name)!r}")


def gru_scalar_forward(p: dict[str, Any]) -> dict[str, Any]:
    """torch.nn.GRU with one input and one hidden unit: r = sigma(w_r x + u_r h + b_r),
    z = sigma(w_z x + u_z h + b_z), n = tanh(w_n x + b_n + r (u_n h + bh_n)),
    h_t = (1 - z) n + z h_{t-1}. b_r and b_z are PyTorch's two biases of the gate added up
    (b_ih + b_hh); the candidate's hidden-side bias bh_n stays inside the product with r."""
    h = float(p["h0"])
    out: dict[str, list[float]] = {k: [] for k in ("a_r", "a_z", "hn", "a_n", "r", "z", "n", "h")}
    for x in (float(v) for v in p["x"]):
        a_r = float(p["w_r"]) * x + float(p["u_r"]) * h + float(p["b_r"])
        a_z = float(p["w_z"]) * x + float(p["u_z"]) * h + float(p["b_z"])
        r, z = _sigmoid(a_r), _sigmoid(a_z)
        hn = float(p["u_n"]) * h + float(p["bh_n"])  # the hidden side of the candidate, before r scales it
        a_n = float(p["w_n"]) * x + float(p["b_n"]) + r * hn
        n = float(elementary.tanh(a_n))
        h = (1.0 - z) * n + z * h
        for k, v in (("a_r", a_r), ("a_z", a_z), ("hn", hn), ("a_n", a_n), ("r", r), ("z", z), ("n", n), ("h", h)):
            out[k].append(v)
    first = {f"{k}_1": out[k][0] for k in ("r", "z", "n", "h")}  # part a) asks step 1
    rest = {f"{k}_rest": out[k][1:] for k in ("r", "z", "n", "h")}  # part b) the later steps
    return {**out, **first, **rest, "copy_gate": "z",  # part c): z_t = 1 gives h_t = h_{t-1}
            "sigma_args": out["a_r"] + out["a_z"], "tanh_args": out["a_n"]}


def sample_gru_scalar_forward(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Weights, biases and inputs with one decimal in [-1, 1] (as lstm_scalar_forward), 3 time
    steps, h0 = 0 half of the time; input weights never 0 (the input must matter)."""
    p: dict[str, Any] = {
        "x": [_dec(rng, -1, 1, nonzero=True) for _ in range(3)],
        "h0": 0 if rng.random() < 0.5 else _dec(rng, -0.5, 0.5, nonzero=True),
        "bh_n": _dec(rng, -1, 1, nonzero=True),
    }
    for name in GRU_WEIGHTS:
        p[name] = _dec(rng, -1, 1, nonzero=not name.startswith("b"))
    return p


def gru_not_degenerate(p: dict[str, Any]) -> bool:
    """every |h_t| >= 0.05, h_t moves by at least 0.02 each step, 0.1 <= z_t <= 0.9 (neither
    copy nor overwrite) and every pre-activation within [-3, 3]"""
    a = gru_scalar_forward(p)
    hs = [float(p["h0"])] + a["h"]
    return (all(abs(v) >= 0.05 for v in a["h"]) and all(abs(b - c) >= 0.02 for b, c in zip(hs, hs[1:]))
            and all(0.1 <= v <= 0.9 for v in a["z"])
            and all(abs(v) <= 3 for k in ("a_r", "a_z", "a_n") for v in a[k]))


def gru_state_repeats(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: some h_t equals h_{t-1} to 3 decimals (the step changes nothing visible)"""
    hs = [float(p["h0"])] + list(a["h"])
    return any(round(b, 3) == round(c, 3) for b, c in zip(hs, hs[1:]))
