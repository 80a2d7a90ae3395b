"""Losses of the modern course and the seed questions on regularized backprop (issue 15):
label smoothing, cross-entropy from logits (log-sum-exp, softmax - one-hot, BCE with logits),
backprop with an L1 penalty (seed 002 Q6b), an XOR training step with L2 (seed 002 Q9) and the
classification output layer FC + softmax + cross-entropy (seed 001 P7a).

Conventions: natural logarithm; class indices start at 0 (PyTorch's `target`); ReLU'(0) = 0 and
sign(0) = 0 (PyTorch's relu and abs); a penalty never covers biases. Every elementary function
comes from examgen.solvers.elementary (the statements print its tables)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError
from ..values import is_matrix, is_number, is_vector
from . import elementary
from .mlp import _decimals_ok, _relu

Params = dict[str, Any]


# ------------------------------------------------------------------ helpers
def _check_logits(p: Params, name: str = "logits", low: int = 2, high: int = 6) -> None:
    z = p[name]
    if not is_vector(z) or not low <= len(z) <= high:
        raise ParamError(name, f"expected {low} to {high} numbers, got {z!r}")
    t = p["target"]
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < len(z):
        raise ParamError("target", f"expected a class index 0 to {len(z) - 1} (classes are numbered from 0), got {t!r}")


def _tenths(rng: np.random.Generator, n: int, low: int, high: int) -> list[float | int]:
    """n different numbers with one decimal in [low/10, high/10] (integers printed without a point)."""
    ts = rng.choice(np.arange(low, high + 1), size=n, replace=False)
    return [int(t) // 10 if t % 10 == 0 else round(int(t) / 10, 1) for t in ts]


def _onehot(k: int, t: int) -> np.ndarray:
    e = np.zeros(k)
    e[t] = 1.0
    return e


def _shift_canonical(z: Any, t: int) -> tuple[float, list[float]]:
    """Logits up to a common shift and a permutation: the target's shifted logit and the others sorted."""
    a = np.asarray(z, dtype=float) - float(np.max(z))
    return round(float(a[t]), 9), sorted(round(float(v), 9) for i, v in enumerate(a) if i != t)


# ================================================================== label_smoothing_ce (issue 15)
#: eps per number of classes whose eps/K has at most 3 decimals
SMOOTHING = {3: (0.15, 0.3), 4: (0.1, 0.2, 0.4), 5: (0.1, 0.2, 0.25)}


def check_label_smoothing_ce(p: Params) -> None:
    _check_logits(p, low=2, high=8)
    if max(abs(float(v)) for v in p["logits"]) > 50:
        raise ParamError("logits", "entries must be at most 50 in magnitude (the statement prints e^z)")
    eps = p["eps"]
    if not is_number(eps) or not 0 <= float(eps) < 1:
        raise ParamError("eps", f"expected a smoothing 0 <= eps < 1, got {eps!r}")


def label_smoothing_ce(p: Params) -> Params:
    """q = (1 - eps) onehot(t) + eps/K; L = -sum_i q_i log p_i with log p = z - ln sum_j e^{z_j}."""
    z = np.asarray(p["logits"], dtype=float)
    k, t, eps = len(z), int(p["target"]), float(p["eps"])
    q = (1.0 - eps) * _onehot(k, t) + eps / k
    e = elementary.exp(z)
    s = float(e.sum())
    lse = float(elementary.log(s))
    log_p = z - lse
    return {"num_classes": k, "q": q, "q_other": eps / k, "q_target": 1.0 - eps + eps / k,
            "exp": e, "exp_sum": s, "lse": lse, "log_p": log_p,
            "loss": float(-(q * log_p).sum()), "loss_plain": lse - float(z[t])}


def sample_label_smoothing_ce(rng: np.random.Generator, pinned: Params) -> Params:
    """3 to 5 classes, different logits with one decimal in [-2, 2], eps with a short eps/K."""
    z = pinned.get("logits") or _tenths(rng, int(rng.integers(3, 6)), -20, 20)
    k = len(z)
    eps = pinned.get("eps", float(rng.choice(SMOOTHING.get(k, (0.1, 0.2)))))
    return {"logits": z, "target": pinned.get("target", int(rng.integers(0, k))), "eps": eps}


def logits_all_equal(p: Params, a: Params) -> bool:
    """degenerate: every logit is the same (a uniform softmax)"""
    return len(set(float(v) for v in p["logits"])) == 1


def no_smoothing(p: Params, a: Params) -> bool:
    """degenerate: eps = 0, the smoothed target is the one-hot target"""
    return float(p["eps"]) == 0


def label_smoothing_canonical(p: Params, a: Params) -> list[Any]:
    """the same problem up to a shift of the logits and a permutation of the classes"""
    return [float(p["eps"]), *_shift_canonical(p["logits"], int(p["target"]))]


# ================================================================== ce_from_logits (issue 15)


def check_ce_from_logits(p: Params) -> None:
    _check_logits(p)
    z = np.asarray(p["logits"], dtype=float)
    if float(np.max(z) - np.min(z)) > 20:
        raise ParamError("logits", "the logits must lie within 20 of each other (the statement prints e^(z - max))")
    if not is_number(p["z"]) or abs(float(p["z"])) > 20:
        raise ParamError("z", f"expected a logit of at most 20 in magnitude, got {p['z']!r}")
    if p["y"] not in (0, 1) or isinstance(p["y"], bool):
        raise ParamError("y", f"expected a label 0 or 1, got {p['y']!r}")


def ce_from_logits(p: Params) -> Params:
    """LSE(z) = m + ln sum_j e^{z_j - m} with m = max z; L = LSE - z_t; dL/dz = softmax(z) - onehot(t);
    binary: l = softplus(z) - y z (= -[y ln sigma(z) + (1 - y) ln(1 - sigma(z))]), dl/dz = sigma(z) - y."""
    z = np.asarray(p["logits"], dtype=float)
    t = int(p["target"])
    m = float(z.max())
    shifted = z - m
    e = elementary.exp(shifted)
    s = float(e.sum())
    lse = m + float(elementary.log(s))
    prob = e / s
    zb, y = float(p["z"]), int(p["y"])
    sig = float(elementary.sigmoid(zb))
    return {"max_logit": m, "shifted": shifted, "exp_shifted": e, "exp_sum": s, "log_sum": lse - m, "lse": lse,
            "loss": lse - float(z[t]), "prob": prob, "grad": prob - _onehot(len(z), t),
            "softplus_z": float(elementary.softplus(zb)), "sigma_z": sig,
            "loss_bce": float(elementary.softplus(zb)) - y * zb, "grad_bce": sig - y}


def sample_ce_from_logits(rng: np.random.Generator, pinned: Params) -> Params:
    """3 or 4 logits near a large base (90 to 200: e^z overflows float32, whose largest value is
    about e^88.7), the largest a whole number, the others up to 3 below it (one decimal);
    a binary logit with one decimal in [-3, 3], never 0."""
    if "logits" in pinned:
        z = pinned["logits"]
    else:
        base = int(rng.integers(90, 201))
        k = int(rng.integers(3, 5))
        offs = [0] + _tenths(rng, k - 1, -30, -1)
        rng.shuffle(offs)
        z = [int(base + o) if float(o).is_integer() else round(base + o, 1) for o in offs]
    zb = pinned.get("z", _tenths(rng, 1, 1, 30)[0] * int(rng.choice([-1, 1])))  # never 0
    return {"logits": z, "target": pinned.get("target", int(rng.integers(0, len(z)))), "z": zb,
            "y": pinned.get("y", int(rng.integers(0, 2)))}


def binary_logit_zero(p: Params, a: Params) -> bool:
    """degenerate: the binary logit is 0 (sigma = 1/2, the loss is ln 2 whatever the label)"""
    return float(p["z"]) == 0


def ce_from_logits_canonical(p: Params, a: Params) -> list[Any]:
    """the same problem up to a shift of the logits and a permutation of the classes"""
    return [*_shift_canonical(p["logits"], int(p["target"])), float(p["z"]), int(p["y"])]


# ================================================================== l1_backprop (seed 002 Q6b)


def _check_two_layer(p: Params) -> tuple[int, int]:
    """x (d), W (h x (d+1), column 0 the biases), v (h+1, entry 0 the bias): mlp_forward's layout."""
    if not is_vector(p["x"]) or not 1 <= len(p["x"]) <= 4:
        raise ParamError("x", f"expected 1 to 4 inputs, got {p['x']!r}")
    d = len(p["x"])
    if not is_matrix(p["W"]) or not 1 <= len(p["W"]) <= 4 or len(p["W"][0]) != d + 1:
        raise ParamError("W", f"expected 1 to 4 rows (hidden units) of {d + 1} entries "
                         "(bias first, then one per input)")
    h = len(p["W"])
    if not is_vector(p["v"]) or len(p["v"]) != h + 1:
        raise ParamError("v", f"expected {h + 1} entries (bias first, then one per hidden unit)")
    return d, h


def check_l1_backprop(p: Params) -> None:
    _check_two_layer(p)
    if not is_number(p["y"]):
        raise ParamError("y", f"expected a number, got {p['y']!r}")
    if not is_number(p["lam"]) or not float(p["lam"]) > 0:
        raise ParamError("lam", f"expected a positive penalty strength, got {p['lam']!r}")


def l1_backprop(p: Params) -> Params:
    """h = ReLU(W [1; x]), y_hat = v . [1; h], L = (y_hat - y)^2 + lam (sum |W[:, 1:]| + sum |v[1:]|)."""
    x = np.concatenate([[1.0], np.asarray(p["x"], dtype=float)])
    W = np.asarray(p["W"], dtype=float)
    v = np.asarray(p["v"], dtype=float)
    y, lam = float(p["y"]), float(p["lam"])
    z = W @ x
    h = np.concatenate([[1.0], _relu(z)])
    y_hat = float(v @ h)
    data_loss = (y_hat - y) ** 2
    penalty = lam * float(np.abs(W[:, 1:]).sum() + np.abs(v[1:]).sum())
    d_yhat = 2 * (y_hat - y)
    grad_v = d_yhat * h
    d_z = d_yhat * v[1:] * (z > 0)
    grad_W = np.outer(d_z, x)
    sign_W = np.sign(W)
    sign_W[:, 0] = 0.0
    sign_v = np.sign(v)
    sign_v[0] = 0.0
    return {"z": z, "h": h[1:], "y_hat": y_hat, "data_loss": data_loss, "penalty": penalty,
            "loss": data_loss + penalty, "d_yhat": d_yhat, "d_z": d_z, "grad_W": grad_W, "grad_v": grad_v,
            "l1_W": lam * sign_W, "l1_v": lam * sign_v,
            "grad_W_l1": grad_W + lam * sign_W, "grad_v_l1": grad_v + lam * sign_v,
            "dead": [int(i + 1) for i in np.flatnonzero(z <= 0)]}


def sample_l1_backprop(rng: np.random.Generator, pinned: Params) -> Params:
    """2 inputs (no zero), 2 or 3 hidden units, non-zero integer weights in [-2, 2], integer
    biases and target, lam in {0.1, 0.2, 0.5, 1}."""
    nz = [-2, -1, 1, 2]
    d = len(pinned["W"][0]) - 1 if "W" in pinned else 2
    x = pinned.get("x") or rng.choice(nz, size=d).tolist()
    h = len(pinned["W"]) if "W" in pinned else (len(pinned["v"]) - 1 if "v" in pinned else int(rng.integers(2, 4)))
    if "W" in pinned:
        W = pinned["W"]
    else:
        W = np.column_stack([rng.integers(-2, 3, size=h), rng.choice(nz, size=(h, len(x)))]).tolist()
    v = pinned.get("v") or [int(rng.integers(-1, 2))] + rng.choice(nz, size=h).tolist()
    return {"x": x, "y": pinned.get("y", int(rng.integers(-3, 6))), "W": W, "v": v,
            "lam": pinned.get("lam", float(rng.choice([0.1, 0.2, 0.5, 1.0])))}


def l1_no_kink(p: Params) -> bool:
    """no hidden pre-activation is exactly 0 (ReLU'(0) does not matter) and no weight is 0 (sign(0) does not)"""
    W = np.asarray(p["W"], dtype=float)
    return bool(np.all(l1_backprop(p)["z"] != 0) and np.all(W[:, 1:] != 0) and np.all(np.asarray(p["v"])[1:] != 0))


def l1_one_dead_one_alive(p: Params) -> bool:
    """some hidden unit is active and some is dead (its weights get the penalty's gradient alone)"""
    z = l1_backprop(p)["z"]
    return bool(np.any(z > 0) and np.any(z < 0))


def l1_hand_sized(p: Params) -> bool:
    """the prediction misses the target by 1 to 6 (the gradients stay below 100 and are not 0)"""
    a = l1_backprop(p)
    return 1 <= abs(a["y_hat"] - float(p["y"])) <= 6 and _decimals_ok(a["grad_W_l1"]) and _decimals_ok(a["grad_v_l1"])


def l1_zero_data_gradient(p: Params, a: Params) -> bool:
    """degenerate: y_hat = y, the data gradient is 0 and only the penalty remains"""
    return bool(a["d_yhat"] == 0)


def l1_all_dead(p: Params, a: Params) -> bool:
    """degenerate: every hidden unit is dead, no gradient reaches W through the data loss"""
    return bool(np.all(np.asarray(a["z"]) <= 0))


# ================================================================== xor_l2_step (seed 002 Q9)
XOR_X = [[1, 1], [-1, 1], [1, -1], [-1, -1]]  # seed 002 Q9's inputs, in its order
XOR_Y = [1, 0, 0, 1]  # and its labels (1 when x_1 = x_2)


def check_xor_l2_step(p: Params) -> None:
    X = p["X"]
    if not is_matrix(X) or len(X[0]) != 2 or not 1 <= len(X) <= 8:
        raise ParamError("X", f"expected 1 to 8 rows of 2 inputs, got {X!r}")
    y = p["y"]
    if not isinstance(y, list) or len(y) != len(X) or any(v not in (0, 1) or isinstance(v, bool) for v in y):
        raise ParamError("y", f"expected {len(X)} labels 0 or 1 (one per row of X), got {y!r}")
    if not is_matrix(p["W"]) or np.shape(p["W"]) != (2, 2):
        raise ParamError("W", f"expected a 2 x 2 matrix (row j: weights of hidden unit j), got {p['W']!r}")
    for name in ("b", "v"):
        if not is_vector(p[name]) or len(p[name]) != 2:
            raise ParamError(name, f"expected 2 numbers (one per hidden unit), got {p[name]!r}")
    if not is_number(p["c"]):
        raise ParamError("c", f"expected a number, got {p['c']!r}")
    if not is_number(p["lr"]) or not float(p["lr"]) > 0:
        raise ParamError("lr", f"expected a positive learning rate, got {p['lr']!r}")
    if not is_number(p["lam"]) or not float(p["lam"]) >= 0:
        raise ParamError("lam", f"expected a penalty strength >= 0, got {p['lam']!r}")


def xor_l2_step(p: Params) -> Params:
    """H = ReLU(X W^T + b), s = H v + c, y_hat = sigma(s); L = mean BCE + (lam/2)(||W||^2 + ||v||^2)
    (biases not penalized); one gradient-descent step on the whole batch (torch SGD, weight_decay=lam
    on W and v)."""
    X = np.asarray(p["X"], dtype=float)
    y = np.asarray(p["y"], dtype=float)
    W, b = np.asarray(p["W"], dtype=float), np.asarray(p["b"], dtype=float)
    v, c = np.asarray(p["v"], dtype=float), float(p["c"])
    lr, lam = float(p["lr"]), float(p["lam"])
    n = len(X)
    Z = X @ W.T + b
    H = _relu(Z)
    s = H @ v + c
    y_hat = elementary.sigmoid(s)
    delta = (y_hat - y) / n  # dL/ds per sample
    grad_v = H.T @ delta
    grad_c = float(delta.sum())
    dZ = np.outer(delta, v) * (Z > 0)
    grad_W = dZ.T @ X
    grad_b = dZ.sum(axis=0)
    W_new, v_new = W - lr * (grad_W + lam * W), v - lr * (grad_v + lam * v)
    return {"Z": Z, "H": H, "s": s, "y_hat": y_hat, "delta": delta,
            "grad_v": grad_v, "grad_c": grad_c, "grad_W": grad_W, "grad_b": grad_b,
            "l2_W": lam * W, "l2_v": lam * v, "W_new": W_new, "v_new": v_new,
            "b_new": b - lr * grad_b, "c_new": c - lr * grad_c, "decay": 1 - lr * lam}


def sample_xor_l2_step(rng: np.random.Generator, pinned: Params) -> Params:
    """the seed's XOR data (or its complement labels); small integer weights and biases;
    lr in {0.5, 1}, lam in {0.1, 0.2, 0.5}."""
    nz = [-2, -1, 1, 2]
    X = pinned.get("X") or [list(r) for r in XOR_X]
    if "y" in pinned:
        y = pinned["y"]
    elif X == XOR_X:
        y = list(XOR_Y) if rng.random() < 0.5 else [1 - t for t in XOR_Y]
    else:  # the instructor's own inputs: labels of both classes
        y = rng.permutation([i % 2 for i in range(len(X))]).tolist()
    return {"X": X, "y": y,
            "W": pinned.get("W") or rng.choice(nz, size=(2, 2)).tolist(),
            "b": pinned.get("b") or rng.integers(-1, 2, size=2).tolist(),
            "v": pinned.get("v") or rng.choice(nz, size=2).tolist(),
            "c": pinned.get("c", int(rng.integers(-1, 2))),
            "lr": pinned.get("lr", float(rng.choice([0.5, 1.0]))),
            "lam": pinned.get("lam", float(rng.choice([0.1, 0.2, 0.5])))}


def xor_no_kink(p: Params) -> bool:
    """no hidden pre-activation is exactly 0 (ReLU'(0) does not matter)"""
    return bool(np.all(xor_l2_step(p)["Z"] != 0))


def xor_units_used(p: Params) -> bool:
    """each hidden unit is active for some sample and dead for another, the two differ, and |s| <= 3"""
    a = xor_l2_step(p)
    H = a["H"]
    used = all(np.any(H[:, j] > 0) and np.any(H[:, j] == 0) for j in range(H.shape[1]))
    return bool(used and not np.array_equal(H[:, 0], H[:, 1]) and np.max(np.abs(a["s"])) <= 3)


def xor_zero_gradient(p: Params, a: Params) -> bool:
    """degenerate: the data gradient of W is 0 (only the decay moves W)"""
    return bool(np.all(np.asarray(a["grad_W"]) == 0))


# ================================================================== output_layer_ce (seed 001 P7a)


def check_output_layer_ce(p: Params) -> None:
    for name in ("num_classes", "features"):
        v = p[name]
        if not isinstance(v, int) or isinstance(v, bool) or not 2 <= v <= 10**6:
            raise ParamError(name, f"expected a whole number 2 to 1000000, got {v!r}")
    if not is_vector(p["h"]) or not 1 <= len(p["h"]) <= 4:
        raise ParamError("h", f"expected 1 to 4 features, got {p['h']!r}")
    n = len(p["h"])
    if not is_matrix(p["W"]) or not 2 <= len(p["W"]) <= 5 or len(p["W"][0]) != n:
        raise ParamError("W", f"expected 2 to 5 rows (classes) of {n} weights (one per feature)")
    k = len(p["W"])
    if not is_vector(p["b"]) or len(p["b"]) != k:
        raise ParamError("b", f"expected {k} biases (one per row of W)")
    t = p["target"]
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < k:
        raise ParamError("target", f"expected a class index 0 to {k - 1} (classes are numbered from 0), got {t!r}")
    z = np.asarray(p["W"], dtype=float) @ np.asarray(p["h"], dtype=float) + np.asarray(p["b"], dtype=float)
    if float(np.max(np.abs(z))) > 50:
        raise ParamError("W", "the logits W h + b must be at most 50 in magnitude (the statement prints e^z)")


def output_layer_ce(p: Params) -> Params:
    """z = W h + b, p = softmax(z), L = ln sum_j e^{z_j} - z_t; dL/dz = p - onehot(t) = dL/db,
    dL/dW = (p - onehot) h^T. The classifier of the big network: num_classes (features + 1) parameters."""
    hv = np.asarray(p["h"], dtype=float)
    W, b = np.asarray(p["W"], dtype=float), np.asarray(p["b"], dtype=float)
    t = int(p["target"])
    z = W @ hv + b
    e = elementary.exp(z)
    s = float(e.sum())
    prob = e / s
    g = prob - _onehot(len(z), t)
    k, f = int(p["num_classes"]), int(p["features"])
    return {"output_units": k, "fc_weights": k * f, "fc_params": k * f + k,
            "logits": z, "exp": e, "exp_sum": s, "prob": prob,
            "loss": float(elementary.log(s)) - float(z[t]), "grad_b": g, "grad_W": np.outer(g, hv)}


def sample_output_layer_ce(rng: np.random.Generator, pinned: Params) -> Params:
    """the big network: 1000 classes on 4096 features (the seed's AlexNet-style net) or another
    common head; the toy head: 3 classes on 2 features, small integers, logits in [-2, 2]."""
    k, f = [(1000, 4096), (1000, 2048), (100, 512), (10, 512), (1000, 9216), (200, 1024)][int(rng.integers(0, 6))]
    n = len(pinned["h"]) if "h" in pinned else (len(pinned["W"][0]) if "W" in pinned else 2)
    kk = len(pinned["W"]) if "W" in pinned else (len(pinned["b"]) if "b" in pinned else 3)
    return {"num_classes": pinned.get("num_classes", k), "features": pinned.get("features", f),
            "h": pinned.get("h") or rng.choice([-2, -1, 1, 2], size=n).tolist(),
            "W": pinned.get("W") or rng.integers(-2, 3, size=(kk, n)).tolist(),
            "b": pinned.get("b") or rng.integers(-1, 2, size=kk).tolist(),
            "target": pinned.get("target", int(rng.integers(0, kk)))}


def output_logits_small(p: Params) -> bool:
    """the logits are different whole numbers in [-3, 3] (e^z from a short table)"""
    z = output_layer_ce(p)["logits"]
    return bool(len(set(z.tolist())) == len(z) and np.max(np.abs(z)) <= 3)


def output_uniform(p: Params, a: Params) -> bool:
    """degenerate: all logits are equal (softmax is uniform)"""
    return len(set(np.asarray(a["logits"]).tolist())) == 1


def output_layer_canonical(p: Params, a: Params) -> list[Any]:
    """the same toy problem: the logits up to a shift and a permutation, with h (the gradient of W), and the big head"""
    return [*_shift_canonical(a["logits"], int(p["target"])), np.asarray(p["h"], dtype=float).tolist(),
            int(p["num_classes"]), int(p["features"])]
