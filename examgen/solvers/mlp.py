"""Fully connected networks: forward passes, softmax, skip connections, dropout,
one backprop/SGD step, threshold networks for Boolean functions and binary
cross-entropy (seeds 001 P4a, P6, P9c; 002 Q1c, Q3, Q5, Q8; 004 P5b).

Conventions: ReLU(z) = max(z, 0) with ReLU'(0) = 0 (PyTorch); natural logarithm;
squared loss (y_hat - y)^2 without a 1/2 (as in the catalogue's optimizer templates)."""

from __future__ import annotations

from functools import cache
from itertools import product
from typing import Any

import numpy as np

from ..errors import ParamError, SolverError
from ..values import is_matrix, is_number, is_vector
from . import elementary

Params = dict[str, Any]


# ------------------------------------------------------------------ helpers
def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _sigmoid(z: float) -> float:
    return float(elementary.sigmoid(z))


def _decimals_ok(x: Any, places: int = 2) -> bool:
    """Every number in x has at most `places` decimals (hand-computable)."""
    a = np.asarray(x, dtype=float).reshape(-1)
    s = a * 10**places
    return bool(np.all(np.abs(s - np.round(s)) < 1e-6))


# ================================================================== mlp_forward (002 Q3)


def check_mlp_forward(p: Params) -> None:
    d, h = len(p["x"]), len(p["W"])
    if not 1 <= d <= 6:
        raise ParamError("x", f"expected 1 to 6 inputs, got {d}")
    if not 1 <= h <= 6:
        raise ParamError("W", f"expected 1 to 6 rows (hidden units), got {h}")
    if len(p["W"][0]) != d + 1:
        raise ParamError("W", f"expected {d + 1} columns (bias column 0 plus one per entry of x), "
                         f"got {len(p['W'][0])}")
    if len(p["v"]) != h + 1:
        raise ParamError("v", f"expected {h + 1} entries (bias entry 0 plus one per hidden unit), "
                         f"got {len(p['v'])}")


def mlp_forward(p: Params) -> Params:
    x = np.asarray(p["x"], dtype=float)
    W = np.asarray(p["W"], dtype=float)
    v = np.asarray(p["v"], dtype=float)
    z = W[:, 0] + W[:, 1:] @ x
    h = _relu(z)
    y_reg = float(v[0] + v[1:] @ h)
    return {"z": z, "h": h, "y_reg": y_reg, "y_cls": _sigmoid(y_reg), "sigma_args": elementary.table_args([y_reg], 4)}


def sample_mlp_forward(rng: np.random.Generator, pinned: Params) -> Params:
    """x, W, v with small integers (x without a zero entry: x = 0 leaves only the biases);
    d and h in {2, 3} unless fixed by a pinned parameter."""
    d = len(pinned["x"]) if "x" in pinned else (len(pinned["W"][0]) - 1 if "W" in pinned else int(rng.integers(2, 4)))
    h = len(pinned["W"]) if "W" in pinned else (len(pinned["v"]) - 1 if "v" in pinned else int(rng.integers(2, 4)))
    x = pinned.get("x") or rng.choice([-2, -1, 1, 2], size=d).tolist()
    W = pinned.get("W") or rng.integers(-2, 3, size=(h, d + 1)).tolist()
    v = pinned.get("v") or rng.integers(-2, 3, size=h + 1).tolist()
    return {"x": x, "W": W, "v": v}


def mlp_forward_relevant(p: Params) -> bool:
    """some hidden unit is active (h > 0) and has a non-zero output weight, and another one is clipped or differs"""
    a = mlp_forward(p)
    v = np.asarray(p["v"], dtype=float)[1:]
    return bool(np.any((a["h"] > 0) & (v != 0))) and len(set(a["h"].tolist())) > 1


def mlp_forward_moderate(p: Params) -> bool:
    """the regression output is non-zero and at most 4 in magnitude (the sigmoid is not saturated)"""
    y = mlp_forward(p)["y_reg"]
    return 0 < abs(y) <= 4


def mlp_forward_x_zero(p: Params, a: Params) -> bool:
    """degenerate: x = 0, the hidden layer sees only its biases"""
    return not any(p["x"])


# ================================================================== skip_connection_gradient (001 P6)


def skip_connection_gradient(p: Params) -> Params:
    """y = max(w x, 0) and y = max(w x + x, 0); dy/dx with ReLU'(0) = 0."""
    w, x = float(p["w"]), float(p["x"])
    z_plain, z_skip = w * x, (w + 1) * x
    return {
        "z_plain": z_plain, "z_skip": z_skip,
        "dy_dx_plain": w if z_plain > 0 else 0.0,
        "dy_dx_skip": w + 1 if z_skip > 0 else 0.0,
    }


def skip_no_kink(p: Params) -> bool:
    """neither w x nor w x + x is exactly 0 (ReLU'(0) does not matter)"""
    a = skip_connection_gradient(p)
    return a["z_plain"] != 0 and a["z_skip"] != 0


def skip_branch_active(p: Params) -> bool:
    """the skip-connection output w x + x is positive (gradient flows through the skip path)"""
    return skip_connection_gradient(p)["z_skip"] > 0


def skip_not_larger(p: Params, a: Params) -> bool:
    """degenerate: the skip path does not enlarge the gradient (w = -1.5, x = -1: -1.5 -> -0.5),
    while the solution says skip connections solve vanishing gradients"""
    return abs(a["dy_dx_skip"]) <= abs(a["dy_dx_plain"])


# ================================================================== softmax (002 Q1c)


def check_softmax(p: Params) -> None:
    x = p["x"]
    if not 2 <= len(x) <= 8:
        raise ParamError("x", f"expected 2 to 8 entries, got {len(x)}")
    if max(abs(float(v)) for v in x) > 50:
        raise ParamError("x", "entries must be at most 50 in magnitude")


def softmax(p: Params) -> Params:
    x = np.asarray(p["x"], dtype=float)
    e = elementary.exp(x)
    s = float(e.sum())
    return {"exp": e, "exp_sum": s, "softmax": e / s}


def softmax_not_uniform(p: Params) -> bool:
    """not all entries of x are equal (softmax would be uniform)"""
    return len(set(p["x"])) > 1


def sample_softmax(rng: np.random.Generator, pinned: Params) -> Params:
    """3 or 4 different entries with one decimal in [-2, 2] (the statement prints e^x of each):
    integers alone give too few different problems up to shift and permutation."""
    if "x" in pinned:
        return {"x": pinned["x"]}
    n = int(rng.integers(3, 5))
    tenths = rng.choice(np.arange(-20, 21), size=n, replace=False)
    return {"x": [int(t) // 10 if t % 10 == 0 else round(int(t) / 10, 1) for t in tenths]}


def softmax_repeated(p: Params, a: Params) -> bool:
    """degenerate: two entries of x are equal (and so are their softmax values)"""
    return len(set(p["x"])) < len(p["x"])


def softmax_canonical(p: Params, a: Params) -> list[float]:
    """the same problem up to a shift of x (softmax is shift-invariant) and a permutation"""
    x = sorted(float(v) for v in p["x"])
    return [round(v - x[0], 9) for v in x]


# ================================================================== dropout_forward (002 Q8)


def check_dropout_forward(p: Params) -> None:
    x, Ws, bs = p["x"], p["weights"], p["biases"]
    if not is_vector(x):
        raise ParamError("x", "expected a non-empty list of numbers")
    if not isinstance(Ws, list) or not Ws or not all(is_matrix(W) for W in Ws):
        raise ParamError("weights", "expected a non-empty list of matrices (one per hidden layer)")
    if not isinstance(bs, list) or len(bs) != len(Ws) or not all(is_vector(b) for b in bs):
        raise ParamError("biases", f"expected {len(Ws)} bias vectors (one per hidden layer)")
    n = len(x)
    for i, (W, b) in enumerate(zip(Ws, bs)):
        if len(W[0]) != n:
            raise ParamError(f"weights[{i}]", f"expected {n} columns (size of the previous layer), got {len(W[0])}")
        if len(b) != len(W):
            raise ParamError(f"biases[{i}]", f"expected {len(W)} entries (rows of weights[{i}]), got {len(b)}")
        n = len(W)
    if not is_vector(p["v"]) or len(p["v"]) != n:
        raise ParamError("v", f"expected {n} output weights (size of the last hidden layer)")
    if not is_number(p["b_out"]):
        raise ParamError("b_out", f"expected a number, got {p['b_out']!r}")
    if not (is_number(p["p"]) and 0 < p["p"] < 1):
        raise ParamError("p", f"expected a drop probability 0 < p < 1, got {p['p']!r}")
    sizes = [len(x)] + [len(W) for W in Ws]
    for name in ("masks_a", "masks_b"):
        masks = p[name]
        if not isinstance(masks, list) or not 1 <= len(masks) <= len(sizes):
            raise ParamError(name, f"expected 1 to {len(sizes)} masks (input first, then hidden layers)")
        for j, m in enumerate(masks):
            if not isinstance(m, list) or len(m) != sizes[j] or any(v not in (0, 1) or isinstance(v, bool) for v in m):
                raise ParamError(f"{name}[{j}]", f"expected {sizes[j]} entries, each 0 or 1, got {m!r}")


def _dropout_pass(p: Params, masks: list[list[int]] | None, scale: float) -> tuple[list[list[float]], float]:
    """Activations [x~, h1~, ..., hL~] after masking (and scaling), and the output."""
    a = np.asarray(p["x"], dtype=float)
    masks = masks or []
    layers = []
    for i in range(len(p["weights"]) + 1):
        if i > 0:
            a = _relu(np.asarray(p["weights"][i - 1], dtype=float) @ a + np.asarray(p["biases"][i - 1], dtype=float))
        if i < len(masks):
            a = a * np.asarray(masks[i], dtype=float) * scale
        layers.append(a.tolist())
    y = float(np.asarray(p["v"], dtype=float) @ a + float(p["b_out"]))
    return layers, y


def dropout_forward(p: Params) -> Params:
    scale = 1.0 / (1.0 - float(p["p"]))
    out: Params = {"scale": scale}
    for tag in ("a", "b"):
        acts, y = _dropout_pass(p, p[f"masks_{tag}"], 1.0)
        acts_s, y_s = _dropout_pass(p, p[f"masks_{tag}"], scale)
        out[f"act_{tag}"] = acts
        out[f"y_{tag}"] = y
        out[f"act_{tag}_scaled"] = acts_s
        out[f"y_{tag}_scaled"] = y_s
    acts_f, y_f = _dropout_pass(p, None, 1.0)
    out["act_full"] = acts_f
    out["y_full"] = y_f
    return out


def sample_dropout_forward(rng: np.random.Generator, pinned: Params) -> Params:
    """2 inputs, two hidden ReLU layers of 2-3 units, integer weights in [-2, 2]; masks on the
    input and both hidden layers, p in {0.5, 0.75} (inverted scaling 2 or 4)."""
    x = pinned.get("x") or rng.choice([-1, 1, 2], size=2).tolist()  # no zero input: x = 0 drops nothing
    if "weights" in pinned:
        Ws = pinned["weights"]
    else:
        sizes = [len(x)] + [int(rng.integers(2, 4)) for _ in range(2)]
        Ws = [rng.integers(-2, 3, size=(sizes[i + 1], sizes[i])).tolist() for i in range(2)]
    bs = pinned.get("biases") or [rng.integers(-2, 3, size=len(W)).tolist() for W in Ws]
    v = pinned.get("v") or rng.choice([-2, -1, 1, 2], size=len(Ws[-1])).tolist()
    b_out = pinned.get("b_out", int(rng.integers(-2, 3)))
    p = pinned.get("p", float(rng.choice([0.5, 0.5, 0.75])))
    sizes = [len(x)] + [len(W) for W in Ws]

    def mask(n: int) -> list[int]:
        while True:  # keep at least one unit of every layer
            m = rng.integers(0, 2, size=n).tolist()
            if any(m):
                return m

    def masks() -> list[list[int]]:
        return [mask(n) for n in sizes]

    return {"x": x, "weights": Ws, "biases": bs, "v": v, "b_out": b_out, "p": p,
            "masks_a": pinned.get("masks_a") or masks(), "masks_b": pinned.get("masks_b") or masks()}


def dropout_masks_sensible(p: Params) -> bool:
    """each mask keeps at least one unit and drops at least one unit somewhere; the two mask sets differ"""
    for name in ("masks_a", "masks_b"):
        if any(sum(m) == 0 for m in p[name]) or all(all(m) for m in p[name]):
            return False
    return bool(p["masks_a"] != p["masks_b"])


def dropout_outputs_distinct(p: Params) -> bool:
    """the five predictions (two passes, their scaled versions, the full network) differ pairwise,
    and the last hidden layer is not entirely zero in either pass"""
    a = dropout_forward(p)
    if dropout_predictions_repeat(p, a):
        return False
    return all(any(v != 0 for v in a[f"act_{t}"][-1]) for t in ("a", "b"))


def dropout_predictions_repeat(p: Params, a: Params) -> bool:
    """degenerate: two of the five asked predictions coincide"""
    ys = [a[k] for k in ("y_a", "y_b", "y_a_scaled", "y_b_scaled", "y_full")]
    return len({round(y, 9) for y in ys}) < len(ys)


def dropout_x_zero(p: Params, a: Params) -> bool:
    """degenerate: the input is 0, the masks on it change nothing"""
    return not any(p["x"])


def dropout_hand_sized(p: Params) -> bool:
    """every activation and output is at most 150 in magnitude"""
    a = dropout_forward(p)
    vals = [v for k in ("act_a_scaled", "act_b_scaled", "act_full") for layer in a[k] for v in layer]
    vals += [a[k] for k in ("y_a", "y_b", "y_a_scaled", "y_b_scaled", "y_full")]
    return max(abs(v) for v in vals) <= 150


# ================================================================== mlp_backprop_step (002 Q5)


def check_mlp_backprop_step(p: Params) -> None:
    d = len(p["x"])
    W1 = p["W1"]
    if len(W1[0]) != d:
        raise ParamError("W1", f"expected {d} columns (one per entry of x), got {len(W1[0])}")
    h = len(W1)
    for name in ("b1", "w2"):
        if len(p[name]) != h:
            raise ParamError(name, f"expected {h} entries (one per hidden unit = rows of W1), got {len(p[name])}")
    if not float(p["lr"]) > 0:
        raise ParamError("lr", f"expected a positive learning rate, got {p['lr']!r}")


def _bp_forward(x: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float,
                out_relu: bool) -> tuple[np.ndarray, np.ndarray, float, float]:
    z1 = W1 @ x + b1
    h = _relu(z1)
    z2 = float(w2 @ h + b2)
    return z1, h, z2, (max(z2, 0.0) if out_relu else z2)


def mlp_backprop_step(p: Params) -> Params:
    """x -> h = ReLU(W1 x + b1) -> y_hat = [ReLU](w2 . h + b2), L = (y_hat - y)^2, one SGD step."""
    x = np.asarray(p["x"], dtype=float)
    W1 = np.asarray(p["W1"], dtype=float)
    b1 = np.asarray(p["b1"], dtype=float)
    w2 = np.asarray(p["w2"], dtype=float)
    b2, y, lr = float(p["b2"]), float(p["y"]), float(p["lr"])
    out_relu = bool(p.get("output_relu", True))
    z1, h, z2, y_hat = _bp_forward(x, W1, b1, w2, b2, out_relu)
    loss = (y_hat - y) ** 2
    dL_dyhat = 2 * (y_hat - y)
    dL_dz2 = dL_dyhat * (1.0 if (not out_relu or z2 > 0) else 0.0)
    grad_w2 = dL_dz2 * h
    grad_b2 = dL_dz2
    dL_dz1 = dL_dz2 * w2 * (z1 > 0)
    grad_W1 = np.outer(dL_dz1, x)
    grad_b1 = dL_dz1
    W1n, b1n, w2n, b2n = W1 - lr * grad_W1, b1 - lr * grad_b1, w2 - lr * grad_w2, b2 - lr * grad_b2
    z1n, hn, z2n, y_hat_n = _bp_forward(x, W1n, b1n, w2n, b2n, out_relu)
    loss_after = (y_hat_n - y) ** 2
    return {
        "z1": z1, "h": h, "z2": z2, "y_hat": y_hat, "loss": loss,
        "dL_dyhat": dL_dyhat, "dL_dz2": dL_dz2, "grad_w2": grad_w2, "grad_b2": grad_b2,
        "dL_dz1": dL_dz1, "grad_W1": grad_W1, "grad_b1": grad_b1,
        "W1_new": W1n, "b1_new": b1n, "w2_new": w2n, "b2_new": b2n,
        "z1_after": z1n, "h_after": hn, "y_hat_after": y_hat_n, "loss_after": loss_after,
        "loss_decrease": loss - loss_after,
    }


def sample_mlp_backprop_step(rng: np.random.Generator, pinned: Params) -> Params:
    """2 inputs, 2 hidden units, small integer weights, a target with at most one decimal,
    learning rate 0.1 or 0.05."""
    x = pinned.get("x") or rng.integers(-1, 4, size=2).tolist()
    h = len(pinned["W1"]) if "W1" in pinned else 2
    W1 = pinned.get("W1") or rng.integers(-1, 3, size=(h, len(x))).tolist()
    b1 = pinned.get("b1") or rng.integers(-1, 2, size=h).tolist()
    w2 = pinned.get("w2") or rng.choice([-1, 1, 2], size=h).tolist()
    b2 = pinned.get("b2", int(rng.integers(-1, 2)))
    y = pinned.get("y", round(float(rng.integers(-4, 21)) / 2, 1))
    lr = pinned.get("lr", float(rng.choice([0.1, 0.05, 0.01])))
    out_relu = pinned.get("output_relu", bool(rng.random() < 0.5))
    return {"x": x, "y": y, "W1": W1, "b1": b1, "w2": w2, "b2": b2, "lr": lr, "output_relu": out_relu}


def backprop_no_kink(p: Params) -> bool:
    """no pre-activation is exactly 0 (ReLU'(0) does not matter) and every hidden unit gets a gradient path"""
    a = mlp_backprop_step(p)
    if np.any(a["z1"] == 0) or a["z2"] == 0:
        return False
    if p.get("output_relu", True) and a["z2"] < 0:
        return False
    return bool(np.any(a["z1"] > 0))


def backprop_improves(p: Params) -> bool:
    """the loss is positive and decreases by the update"""
    a = mlp_backprop_step(p)
    return bool(a["loss"] > 0 and a["loss_after"] < a["loss"] and np.any(np.asarray(a["grad_W1"]) != 0))


def backprop_hand_computable(p: Params) -> bool:
    """all values, before and after the update, have at most two decimals (loss after: four) and stay below 100"""
    a = mlp_backprop_step(p)
    two = ("z1", "h", "y_hat", "loss", "grad_w2", "grad_b2", "grad_W1", "grad_b1",
           "W1_new", "b1_new", "w2_new", "b2_new", "z1_after", "y_hat_after")
    if not all(_decimals_ok(a[k]) for k in two) or not _decimals_ok(a["loss_after"], 4):
        return False
    return all(np.max(np.abs(np.asarray(a[k], dtype=float))) < 100 for k in two + ("loss_after",))


# ================================================================== xor_threshold_network (001 P9c)
T_XOR = "xor_threshold_network"
INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
TARGETS: dict[str, tuple[int, ...]] = {
    "xor": (0, 1, 1, 0),
    "xnor": (1, 0, 0, 1),
    "and_not": (0, 0, 1, 0),  # x1 AND NOT x2
}


def check_xor_threshold_network(p: Params) -> None:
    if p["target"] not in TARGETS:
        raise ParamError("target", f"expected one of {', '.join(TARGETS)}, got {p['target']!r}")
    vals = p["values"]
    if (not isinstance(vals, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
            or not 2 <= len(vals) <= 7 or len(set(vals)) != len(vals)):
        raise ParamError("values", f"expected 2 to 7 distinct integers, got {vals!r}")
    if p.get("step_at_zero", 0) not in (0, 1):
        raise ParamError("step_at_zero", f"expected 0 or 1, got {p['step_at_zero']!r}")


def _step(z: Any, at_zero: int) -> Any:
    z = np.asarray(z)
    return np.where(z > 0, 1, np.where(z == 0, at_zero, 0))


def _step1(z: float, at_zero: int) -> int:
    return 1 if z > 0 else (at_zero if z == 0 else 0)


@cache
def _unit_tables(values: tuple[int, ...], at_zero: int) -> dict[tuple[int, ...], tuple[int, int, int]]:
    """Truth table over INPUTS (as a tuple) -> the first (w1, w2, b) that realizes it (smallest |.|-sum)."""
    out: dict[tuple[int, ...], tuple[int, int, int]] = {}
    for w1, w2, b in sorted(product(values, repeat=3), key=lambda t: (sum(abs(v) for v in t), t)):
        table = tuple(_step1(w1 * a + w2 * c + b, at_zero) for a, c in INPUTS)
        out.setdefault(table, (w1, w2, b))
    return out


HIDDEN_PAIRS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _cost_order(t: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    return (sum(abs(v) for v in t), t)


@cache
def _output_functions(values: tuple[int, ...],
                      at_zero: int) -> tuple[tuple[tuple[int, ...], tuple[int, int, int]], ...]:
    """Every function {0,1}^2 -> {0,1} an output unit with weights in values computes,
    with the first (u1, u2, c) in the fixed order (smallest |.|-sum, then lexicographic)."""
    first: dict[tuple[int, ...], tuple[int, int, int]] = {}
    for u1, u2, c in sorted(product(values, repeat=3), key=_cost_order):
        first.setdefault(tuple(_step1(u1 * a + u2 * b + c, at_zero) for a, b in HIDDEN_PAIRS), (u1, u2, c))
    return tuple(first.items())


@cache
def _find_network(target: str, values: tuple[int, ...], at_zero: int) -> tuple[Any, ...] | None:
    """One 2-2-1 step network (W, b, u, c) realizing target with all weights/biases in values;
    among all, one whose hidden neurons are non-constant and distinct if possible, then the one with
    the smallest sum of |values| (ties: first in a fixed order)."""
    tables = _unit_tables(values, at_zero)
    outputs = _output_functions(values, at_zero)
    want = TARGETS[target]
    best = None
    hidden = sorted(tables.items(), key=lambda kv: (sum(abs(v) for v in kv[1]), kv[1]))
    for (t1, p1), (t2, p2) in product(hidden, repeat=2):
        # what the output unit must do on the hidden pairs this hidden layer produces
        need: dict[tuple[int, int], int] = {}
        if any(need.setdefault((a, b), w) != w for a, b, w in zip(t1, t2, want)):
            continue  # two inputs with the same hidden pair but different targets
        fits = [u for fn, u in outputs if all(fn[HIDDEN_PAIRS.index(h)] == w for h, w in need.items())]
        if not fits:
            continue
        u1, u2, c = min(fits, key=_cost_order)  # the first in the fixed order, as a plain search would find
        # prefer hidden neurons that do something (non-constant, distinct), then small values
        dull = sum(len(set(t)) == 1 for t in (t1, t2)) + (t1 == t2)
        cost = (dull, sum(abs(v) for v in p1 + p2 + (u1, u2, c)))
        if best is None or cost < best[0]:
            best = (cost, p1, p2, (u1, u2, c), t1, t2)
    if best is None:
        return None
    _, p1, p2, (u1, u2, c), t1, t2 = best
    return ([[p1[0], p1[1]], [p2[0], p2[1]]], [p1[2], p2[2]], [u1, u2], c, [list(t1), list(t2)])


def network_outputs(W: Any, b: Any, u: Any, c: Any, at_zero: int) -> list[int]:
    """Outputs of the 2-2-1 step network on INPUTS (0,0), (0,1), (1,0), (1,1)."""
    X = np.array(INPUTS)
    H = _step(X @ np.asarray(W).T + np.asarray(b), at_zero)
    return [int(v) for v in _step(H @ np.asarray(u) + c, at_zero)]


def xor_threshold_network(p: Params) -> Params:
    at_zero = int(p.get("step_at_zero", 0))
    found = _find_network(p["target"], tuple(sorted(p["values"])), at_zero)
    if found is None:
        raise SolverError(f"{T_XOR}: no 2-2-1 step network with weights and biases from {p['values']} "
                          f"realizes {p['target']} (step(0) = {at_zero})")
    W, b, u, c, hidden = found
    return {"W_hidden": W, "b_hidden": b, "w_out": u, "b_out": c, "hidden_tables": hidden,
            "target_table": list(TARGETS[p["target"]]),
            "network": [[*W[0], b[0]], [*W[1], b[1]], [*u, c]]}


def check_xor_answer(params: Params, proposed: Params) -> tuple[bool, str]:
    """Grade a proposed network {W_hidden: 2x2 (row j = weights of hidden unit j), b_hidden: 2,
    w_out: 2, b_out: number}: every value must come from params['values'] and the network must
    output the target's truth table. Any correct network is accepted. Returns (ok, reason)."""
    allowed = set(params["values"])
    try:
        W = [[proposed["W_hidden"][i][j] for j in range(2)] for i in range(2)]
        b = [proposed["b_hidden"][i] for i in range(2)]
        u = [proposed["w_out"][i] for i in range(2)]
        c = proposed["b_out"]
    except (KeyError, IndexError, TypeError):
        return False, "expected W_hidden (2x2), b_hidden (2), w_out (2) and b_out"
    flat = [v for row in W for v in row] + b + u + [c]
    if len(proposed["W_hidden"]) != 2 or any(len(r) != 2 for r in proposed["W_hidden"]):
        return False, "W_hidden must be 2x2"
    bad = [v for v in flat if not is_number(v) or v not in allowed]
    if bad:
        return False, f"values {bad} are not in the allowed set {sorted(allowed)}"
    got = network_outputs(W, b, u, c, int(params.get("step_at_zero", 0)))
    want = list(TARGETS[params["target"]])
    if got != want:
        return False, f"outputs {got} on (0,0), (0,1), (1,0), (1,1) differ from {params['target']} {want}"
    return True, "correct"


def check_xor_table(params: Params, proposed: Any) -> tuple[bool, str]:
    """Grade the statement's table as the student fills it in: rows h_1, h_2, output, each
    (w_1, w_2, b) (the solver's `network`); check_xor_answer decides. Returns (ok, reason)."""
    if not (isinstance(proposed, (list, tuple)) and len(proposed) == 3
            and all(isinstance(r, (list, tuple)) and len(r) == 3 for r in proposed)):
        return False, "expected 3 rows (h_1, h_2, output) of (w_1, w_2, b)"
    (w11, w12, b1), (w21, w22, b2), (u1, u2, c) = proposed
    return check_xor_answer(params, {"W_hidden": [[w11, w12], [w21, w22]], "b_hidden": [b1, b2],
                                     "w_out": [u1, u2], "b_out": c})


def xor_realizable(p: Params) -> bool:
    """some 2-2-1 step network with weights and biases from the value set realizes the target"""
    return _find_network(p["target"], tuple(sorted(p["values"])), int(p.get("step_at_zero", 0))) is not None


# ================================================================== bce_loss (001 P4a, 004 P5b)
PROBS = (0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9)


def check_bce_loss(p: Params) -> None:
    y, q = p["y"], p["y_hat"]
    if any(v not in (0, 1) or isinstance(v, bool) for v in y):
        raise ParamError("y", f"expected labels 0 or 1, got {y!r}")
    if len(q) != len(y):
        raise ParamError("y_hat", f"expected {len(y)} predictions (one per label), got {len(q)}")
    if any(not 0 <= float(v) <= 1 for v in q):
        raise ParamError("y_hat", f"predictions must lie in [0, 1], got {q!r}")
    for i, (t, v) in enumerate(zip(y, q)):
        if float(v) == 1 - t:
            raise ParamError("y_hat", f"prediction {v} for label {t} (entry {i + 1}) gives an infinite loss")
    if p.get("reduction", "mean") not in ("mean", "sum"):
        raise ParamError("reduction", f"expected mean or sum, got {p['reduction']!r}")


def bce_loss(p: Params) -> Params:
    """L_i = -(y_i ln q_i + (1 - y_i) ln(1 - q_i)); a term whose label factor is 0 is 0 (0 ln 0 = 0)."""
    y = [int(v) for v in p["y"]]
    q = [float(v) for v in p["y_hat"]]
    n = len(y)
    div = n if p.get("reduction", "mean") == "mean" else 1
    arg = [qi if t == 1 else 1 - qi for t, qi in zip(y, q)]  # the probability given to the true class
    terms = [-float(elementary.log(a)) for a in arg]
    grad = [(-1 / qi if t == 1 else 1 / (1 - qi)) / div for t, qi in zip(y, q)]
    return {"p_true": arg, "terms": terms, "loss": sum(terms) / div, "grad": grad}


def sample_bce_loss(rng: np.random.Generator, pinned: Params) -> Params:
    """3-4 samples, both classes, predictions from a set with easy reciprocals."""
    n = len(pinned["y"]) if "y" in pinned else (len(pinned["y_hat"]) if "y_hat" in pinned else int(rng.integers(3, 5)))
    y = pinned.get("y") or rng.integers(0, 2, size=n).tolist()
    q = pinned.get("y_hat") or [float(v) for v in rng.choice(PROBS, size=n)]
    red = pinned.get("reduction", str(rng.choice(["mean", "sum"])))
    return {"y": y, "y_hat": q, "reduction": red}


def bce_both_classes(p: Params) -> bool:
    """both labels 0 and 1 occur, and not every prediction is the same"""
    return len(set(p["y"])) == 2 and len(set(p["y_hat"])) > 1
