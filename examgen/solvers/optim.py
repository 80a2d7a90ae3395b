"""Optimization (seeds 002 Q2, Q10; 001 P9a; 004 2d, 2f, 2i; 003 P1).

Conventions (catalogue): per-sample updates in row order, loss (y - w.x)^2 per
sample without a 1/2, so the gradient of one sample is -2 (y - w.x) x; the
optimizers follow torch.optim exactly (SGD, SGD(momentum=beta) without
dampening, Adagrad(eps, no lr decay), RMSprop(alpha=beta, eps), Adam(betas, eps)
with bias correction and eps added after sqrt(v_hat)). Initialization follows
the seeds' lecture convention: Var = 1/fan_in for tanh (Xavier), 2/fan_in for
ReLU (He/Kaiming). Weight decay: L2 penalty (lam/2)||w||^2 ("half", seed 004,
torch's weight_decay=lam) or lam ||w||^2 ("full", seed 003); L1 penalty
lam ||w||_1 with the subgradient sign(0) = 0 (torch's abs/sign)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ParamError
from ..values import is_number
from . import elementary

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
MAX_UPDATES = 60  # epochs * samples: an exam trace, not a training run


# ------------------------------------------------------------------ shared helpers
def _num(p: dict[str, Any], name: str) -> float:
    v: Any = p.get(name)
    if not is_number(v):
        raise ParamError(name, f"expected a number, got {v!r}")
    return float(v)


def _matrix(p: dict[str, Any], name: str) -> np.ndarray:
    v = p.get(name)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ParamError(name, f"expected a matrix (list of equally long rows of numbers), got {v!r}") from None
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1 or not np.all(np.isfinite(a)):
        raise ParamError(name, f"expected a matrix (list of equally long rows of numbers), got {v!r}")
    return a


def _vector(p: dict[str, Any], name: str, length: int | None = None, what: str = "") -> np.ndarray:
    v = p.get(name)
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ParamError(name, f"expected a list of numbers, got {v!r}") from None
    if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)):
        raise ParamError(name, f"expected a list of numbers, got {v!r}")
    if length is not None and a.size != length:
        raise ParamError(name, f"expected {length} entries ({what}), got {a.size}")
    return a


def _check_regression_data(p: dict[str, Any], wname: str) -> None:
    """X (bias column of ones first), y (one per row), initial weights (one per column)."""
    X = _matrix(p, "X")
    if X.shape[1] < 2:
        raise ParamError("X", f"expected at least 2 columns (bias 1 and a feature), got {X.shape[1]}")
    if not np.all(X[:, 0] == 1):
        raise ParamError("X", f"column 0 is the bias and must be 1 in every row, got {X[:, 0].tolist()}")
    _vector(p, "y", X.shape[0], "one target per row of X")
    _vector(p, wname, X.shape[1], "one weight per column of X")
    if _num(p, "lr") <= 0:
        raise ParamError("lr", f"expected a learning rate > 0, got {p['lr']!r}")
    epochs = p.get("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ParamError("epochs", f"expected an integer >= 1, got {epochs!r}")
    if epochs * X.shape[0] > MAX_UPDATES:
        raise ParamError("epochs", f"epochs x samples = {epochs * X.shape[0]} updates; at most {MAX_UPDATES} "
                         "fit an exam")


def decimals_needed(values: Any, limit: int = 6) -> int:
    """The fewest decimals (0..limit) that write every value exactly; limit + 1 if none does."""
    a = np.asarray(values, dtype=float).ravel()
    for k in range(limit + 1):
        s = a * 10**k
        if np.all(np.abs(s - np.round(s)) < 1e-6):
            return k
    return limit + 1


def _clean(out: dict[str, Any]) -> dict[str, Any]:
    """Round away float noise (2.8000000000000007 -> 2.8): 12 decimals, far below any rounding asked."""
    return {k: np.round(np.asarray(v, dtype=float), 12) for k, v in out.items()}


def _losses(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    r = y - X @ w
    return r, float(np.sum(r**2))


# ------------------------------------------------------------------ sgd_linear_regression


def check_sgd_linear_regression(p: dict[str, Any]) -> None:
    _check_regression_data(p, "theta")


def sgd_linear_regression(p: dict[str, Any]) -> dict[str, Any]:
    """Per-sample SGD in row order on (y - theta.x)^2, `epochs` passes."""
    X = np.asarray(p["X"], dtype=float)
    y = np.asarray(p["y"], dtype=float)
    theta = np.asarray(p["theta"], dtype=float)
    lr, epochs = float(p["lr"]), int(p.get("epochs", 1))
    residuals_before, loss_before = _losses(X, y, theta)
    preds, residuals, grads, thetas = [], [], [], []
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            pred = float(xi @ theta)
            r = yi - pred
            g = -2.0 * r * xi
            theta = theta - lr * g
            preds.append(pred)
            residuals.append(r)
            grads.append(g)
            thetas.append(theta)
    residuals_after, loss_after = _losses(X, y, theta)
    out: dict[str, Any] = {
        "residuals_before": residuals_before, "loss_before": loss_before,
        "step_predictions": preds, "step_residuals": residuals, "step_gradients": grads, "thetas": thetas,
        "residuals_after": residuals_after, "loss_after": loss_after,
        "loss_improvement": loss_before - loss_after,
    }
    out["decimals"] = decimals_needed(np.concatenate([np.ravel(v) for v in out.values()]))
    return _clean(out)


def _sample_rows(rng: np.random.Generator, n: int, d: int, low: int, high: int, max_sq: int) -> list[list[int]]:
    """n rows [1, x_1, ..., x_{d-1}] with integer features, squared norm <= max_sq, pairwise distinct."""
    rows: list[list[int]] = []
    tries = 0
    while len(rows) < n:
        feats = [int(v) for v in rng.integers(low, high + 1, size=d - 1)]
        row = [1, *feats]
        tries += 1
        if tries % 200 == 0:
            max_sq += 1  # too few rows fit: allow larger ones rather than loop forever
        if any(feats) and sum(v * v for v in row) <= max_sq and row not in rows:
            rows.append(row)
    return rows


def _targets_for_errors(X: list[list[int]], w0: np.ndarray, lr: float, errors: list[int],
                        step: Any) -> list[float]:
    """Targets y_i = prediction at sample i + the chosen error e_i, so that every residual during
    the first epoch is the small integer e_i (the sampler's way to keep a trace hand-computable).
    `step(w, g, state)` applies one optimizer update and returns (w, state)."""
    w, state, ys = w0.copy(), None, []
    for xi, e in zip(X, errors):
        x = np.asarray(xi, dtype=float)
        pred = float(x @ w)
        ys.append(round(pred + e, 6))
        w, state = step(w, -2.0 * e * x, state)
    return [int(v) if float(v).is_integer() else v for v in ys]


def _until(good: Any, draw: Any, tries: int = 300) -> dict[str, Any]:
    """Redraw until `good(params)`; after `tries` the last draw (a pinned part may make it impossible;
    the statement then asks for rounded results). Inside the sampler, not as constraints: the
    instructor's own numbers (the seed's lr = 0.001) need not be hand-computable or converge."""
    for _ in range(tries):
        p = draw()
        if good(p):
            return p
    return p


def sample_sgd_linear_regression(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Redraw _draw_sgd until the loss decreases and the key is hand-computable (sgd_nice)."""
    return _until(lambda p: "y" in pinned or sgd_nice(p), lambda: _draw_sgd(rng, pinned))


def _draw_sgd(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Three samples (bias + two integer features), integer/half initial theta, lr 0.05 or 0.1 and
    targets built so that every residual of the first epoch is a non-zero integer: theta stays at
    one decimal and the losses at two."""
    lr = pinned.get("lr", float(rng.choice([0.05, 0.1])))
    epochs = pinned.get("epochs", 1)
    max_sq = 9 if lr <= 0.05 else 4  # 2 lr ||x||^2 <= 0.9: no single update overshoots
    X = pinned.get("X") or _sample_rows(rng, 3, 3, -2, 3, max_sq)
    n, d = len(X), len(X[0]) if X and isinstance(X[0], list) else 0
    theta = pinned.get("theta") or [float(v) / 2 for v in rng.integers(-4, 5, size=d)]
    theta = [int(v) if float(v).is_integer() else v for v in theta]
    out = {"X": X, "theta": theta, "lr": lr, "epochs": epochs}
    if "y" in pinned:
        return out
    _check_regression_data({**out, "y": [0] * n}, "theta")  # the pinned values, before targets are built
    errors = [int(v) for v in rng.choice([-3, -2, -1, 1, 2, 3], size=n)]
    out["y"] = _targets_for_errors(X, np.asarray(theta, dtype=float), lr, errors,
                                   lambda w, g, s: (w - lr * g, s))
    return out


def sgd_nice(p: dict[str, Any]) -> bool:
    """the loss decreases, every value of the key has at most two decimals and |values| stay below 100"""
    a = sgd_linear_regression(p)
    if not a["loss_after"] < a["loss_before"]:
        return False
    vals = np.concatenate([np.ravel(v) for k, v in a.items() if k != "decimals"])
    return a["decimals"] <= 2 and bool(np.all(np.abs(vals) < 100)) and all(abs(v) < 20 for v in p["y"])


# ------------------------------------------------------------------ optimizer_trace
DEFAULTS = {"beta": 0.9, "beta1": 0.9, "beta2": 0.999}


def default_eps(optimizer: str) -> float:
    return 1e-10 if optimizer == "adagrad" else 1e-8


def check_optimizer_trace(p: dict[str, Any]) -> None:
    if p.get("optimizer") not in OPTIMIZERS:
        raise ParamError("optimizer", f"expected one of {', '.join(OPTIMIZERS)}, got {p.get('optimizer')!r}")
    _check_regression_data(p, "w")
    for name in ("beta", "beta1", "beta2"):
        if p.get(name) is not None and not 0 <= _num(p, name) < 1:
            raise ParamError(name, f"expected 0 <= {name} < 1, got {p[name]!r}")
    if p.get("eps") is not None and _num(p, "eps") < 0:
        raise ParamError("eps", f"expected eps >= 0, got {p['eps']!r}")
    if p["optimizer"] in ("adagrad", "rmsprop", "adam") and p.get("eps") == 0:
        raise ParamError("eps", f"{p['optimizer']} divides by a root of squared gradients + eps; eps = 0 divides "
                         "by zero when a gradient entry is 0, use eps > 0")


def _hyper(p: dict[str, Any]) -> dict[str, float]:
    opt = p["optimizer"]
    h = {k: float(p[k]) if p.get(k) is not None else v for k, v in DEFAULTS.items()}
    h["eps"] = float(p["eps"]) if p.get("eps") is not None else default_eps(opt)
    h["lr"] = float(p["lr"])
    return h


def make_step(optimizer: str, h: dict[str, float]) -> Any:
    """One torch.optim update: (w, g, state) -> (w, state); state None before the first step."""
    lr, eps = h["lr"], h["eps"]

    def sgd(w: np.ndarray, g: np.ndarray, s: Any) -> tuple[np.ndarray, Any]:
        return w - lr * g, {}

    def momentum(w: np.ndarray, g: np.ndarray, s: Any) -> tuple[np.ndarray, Any]:
        v = g.copy() if s is None else h["beta"] * s["v"] + g
        return w - lr * v, {"v": v}

    def adagrad(w: np.ndarray, g: np.ndarray, s: Any) -> tuple[np.ndarray, Any]:
        G = (np.zeros_like(g) if s is None else s["G"]) + g * g
        return w - lr * g / (elementary.sqrt(G) + eps), {"G": G}

    def rmsprop(w: np.ndarray, g: np.ndarray, s: Any) -> tuple[np.ndarray, Any]:
        b = h["beta"]
        E = b * (np.zeros_like(g) if s is None else s["E"]) + (1 - b) * g * g
        return w - lr * g / (elementary.sqrt(E) + eps), {"E": E}

    def adam(w: np.ndarray, g: np.ndarray, s: Any) -> tuple[np.ndarray, Any]:
        b1, b2 = h["beta1"], h["beta2"]
        t = 1 if s is None else s["t"] + 1
        m = b1 * (np.zeros_like(g) if s is None else s["m"]) + (1 - b1) * g
        v = b2 * (np.zeros_like(g) if s is None else s["v"]) + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        return w - lr * m_hat / (elementary.sqrt(v_hat) + eps), {"t": t, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}

    return {"sgd": sgd, "momentum": momentum, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}[optimizer]


STATE_KEYS = {"sgd": (), "momentum": ("v",), "adagrad": ("G",), "rmsprop": ("E",), "adam": ("m_hat", "v_hat")}


def optimizer_trace(p: dict[str, Any]) -> dict[str, Any]:
    X = np.asarray(p["X"], dtype=float)
    y = np.asarray(p["y"], dtype=float)
    w = np.asarray(p["w"], dtype=float)
    opt, epochs = p["optimizer"], int(p.get("epochs", 1))
    h = _hyper(p)
    step = make_step(opt, h)
    _, loss_initial = _losses(X, y, w)
    state = None
    out: dict[str, Any] = {"loss_initial": loss_initial, "step_residuals": [], "step_gradients": [],
                           "w_steps": [], "loss_epochs": [], "residuals_epochs": []}
    for k in STATE_KEYS[opt]:
        out[f"state_{k}"] = []
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            r = yi - float(xi @ w)
            g = -2.0 * r * xi
            w, state = step(w, g, state)
            out["step_residuals"].append(r)
            out["step_gradients"].append(g)
            out["w_steps"].append(w)
            for k in STATE_KEYS[opt]:
                out[f"state_{k}"].append(state[k])
        r_all, loss = _losses(X, y, w)
        out["loss_epochs"].append(loss)
        out["residuals_epochs"].append(r_all)
    out["decimals"] = decimals_needed(np.concatenate(
        [np.ravel(out[k]) for k in ("loss_initial", "step_residuals", "step_gradients", "w_steps", "loss_epochs")]
        + [np.ravel(out[f"state_{k}"]) for k in STATE_KEYS[opt]]))
    out["eps_used"] = h["eps"]
    rooted = {"adagrad": "G", "rmsprop": "E", "adam": "v_hat"}.get(opt)  # the roots the statement prints
    out["sqrt_args"] = np.ravel(out[f"state_{rooted}"]) if rooted else []
    return {k: v if k == "eps_used" else np.round(np.asarray(v, dtype=float), 12) for k, v in out.items()}


def sample_optimizer_trace(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Redraw _draw_optimizer_trace until optimizer_sensible."""
    return _until(lambda p: "y" in pinned or optimizer_sensible(p), lambda: _draw_optimizer_trace(rng, pinned))


def _draw_optimizer_trace(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """sgd / momentum: hand-computable (one epoch over three samples, targets built so that every residual
    of the epoch is a small integer; momentum with beta = 0.5 and an even first residual keeps w at one
    decimal). adagrad / rmsprop / adam: small traces (2-3 samples, 1-2 epochs, at most 4 updates) with integer
    data, answered with rounding instructions."""
    opt = pinned.get("optimizer") or str(rng.choice(OPTIMIZERS))
    out: dict[str, Any] = {"optimizer": opt}
    hand = opt in ("sgd", "momentum")
    own_data = "y" not in pinned  # the instructor's own data: unpinned hyperparameters take the defaults
    if opt == "momentum":
        out["beta"] = pinned.get("beta", 0.5 if own_data else DEFAULTS["beta"])
    elif opt == "rmsprop":
        out["beta"] = pinned.get("beta", float(rng.choice([0.9, 0.5])) if own_data else DEFAULTS["beta"])
    elif opt == "adam":
        out["beta1"] = pinned.get("beta1", DEFAULTS["beta1"])
        out["beta2"] = pinned.get("beta2", DEFAULTS["beta2"])
    out["eps"] = pinned.get("eps", default_eps(opt)) if opt in ("adagrad", "rmsprop", "adam") else None
    if out["eps"] is None:
        del out["eps"]
    if hand:
        lr = pinned.get("lr", 0.1 if opt == "momentum" else float(rng.choice([0.05, 0.1])))
        n, d = 3, int(rng.choice([2, 3]))
        epochs = pinned.get("epochs", 1)
        max_sq = 9 if lr <= 0.05 else 4
        w0 = pinned.get("w") or [int(v) for v in rng.integers(-2, 3, size=d)]
    else:
        lr = pinned.get("lr", float(rng.choice([0.1, 0.5])) if opt != "adam" else float(rng.choice([0.1, 0.2, 0.5])))
        n, d = int(rng.choice([2, 3])), 2
        epochs = pinned.get("epochs", 2 if n == 2 else 1)
        max_sq = 10
        w0 = pinned.get("w") or [int(v) for v in rng.integers(-2, 3, size=d)]
    X = pinned.get("X") or _sample_rows(rng, n, d, -2, 3, max_sq)
    out.update({"X": X, "w": w0, "lr": lr, "epochs": epochs})
    if "y" in pinned:
        return out
    n = len(X) if isinstance(X, list) else 0
    _check_regression_data({**out, "y": [0] * n}, "w")  # the pinned values, before targets are built
    if hand:
        errors = [int(v) for v in rng.choice([-3, -2, -1, 1, 2, 3], size=n)]
        if opt == "momentum":
            errors[0] = int(rng.choice([-2, 2]))  # even: 0.5 v stays an integer, w stays at one decimal
        step = make_step(opt, _hyper({**out, "optimizer": opt}))
        out["y"] = _targets_for_errors(X, np.asarray(w0, dtype=float), lr, errors, step)
    else:
        out["y"] = [int(v) for v in rng.integers(-6, 10, size=n)]
    return out


def optimizer_sensible(p: dict[str, Any]) -> bool:
    """the loss after the last epoch is below the initial loss, no residual of a step is 0, and the
    sgd/momentum traces stay at most two decimals (values below 100)"""
    a = optimizer_trace(p)
    if not a["loss_epochs"][-1] < a["loss_initial"] or any(abs(r) < 1e-9 for r in a["step_residuals"]):
        return False
    if p["optimizer"] in ("sgd", "momentum"):
        vals = np.concatenate([np.ravel(a[k]) for k in ("w_steps", "loss_epochs", "step_gradients")])
        return a["decimals"] <= 2 and bool(np.all(np.abs(vals) < 100)) and all(abs(v) < 20 for v in p["y"])
    return True


# ------------------------------------------------------------------ init_variance
GAIN2 = {"tanh": 1.0, "relu": 2.0}  # Var = GAIN2 / fan_in (the seeds' Xavier / He)


def check_init_variance(p: dict[str, Any]) -> None:
    n = p.get("fan_in")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParamError("fan_in", f"expected a positive integer, got {n!r}")
    if p.get("activation") not in GAIN2:
        raise ParamError("activation", f"expected tanh or relu, got {p.get('activation')!r}")
    if p.get("distribution") not in ("normal", "uniform"):
        raise ParamError("distribution", f"expected normal or uniform, got {p.get('distribution')!r}")
    fo = p.get("fan_out")
    if fo is not None and (isinstance(fo, bool) or not isinstance(fo, int) or fo < 1):
        raise ParamError("fan_out", f"expected a positive integer, got {fo!r}")
    if p.get("image") and math.isqrt(n) ** 2 != n:
        raise ParamError("image", f"image: true shows the input as a square image, but fan_in = {n} is not a "
                         "square; set image: false")


def init_variance(p: dict[str, Any]) -> dict[str, Any]:
    n, act = int(p["fan_in"]), p["activation"]
    other = "relu" if act == "tanh" else "tanh"
    var, other_var = GAIN2[act] / n, GAIN2[other] / n
    k = 3 if p["distribution"] == "uniform" else 1  # U(-a, a) has Var = a^2 / 3
    return {
        "variance": var, "spread": float(elementary.sqrt(k * var)),  # sigma of N(0, sigma^2) or a of U(-a, a)
        "other_variance": other_var, "other_spread": float(elementary.sqrt(k * other_var)),
        "sqrt_args": sorted({k * GAIN2[a] / n for a in GAIN2 for k in (1, 3)}),  # every root b) or c) may need
        "image_side": math.isqrt(n) if math.isqrt(n) ** 2 == n else 0,
    }


def sample_init_variance(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Either a flattened square image (side in 10..64) or a fan_in chosen so that the asked value
    (std for normal, bound for uniform) is 1/k: fan_in = c k^2 with c = Var * fan_in (* 3 for uniform)."""
    act = pinned.get("activation") or str(rng.choice(["tanh", "relu"]))
    dist = pinned.get("distribution") or str(rng.choice(["normal", "uniform"]))
    image = pinned.get("image", bool(rng.random() < 0.4) if "fan_in" not in pinned else False)
    if "fan_in" in pinned:
        n = pinned["fan_in"]
    elif image:
        n = int(rng.choice([10, 16, 20, 25, 28, 30, 32, 40, 50, 64])) ** 2
    else:
        c = int(GAIN2[act]) * (3 if dist == "uniform" else 1)
        n = c * int(rng.choice([4, 5, 8, 10, 12, 16, 20, 25, 40, 50])) ** 2
    fan_out = pinned.get("fan_out", int(rng.choice([64, 100, 128, 256, 500, 512, 1000, 1024])))
    return {"fan_in": n, "activation": act, "distribution": dist, "fan_out": fan_out, "image": image}


def fan_out_differs(p: dict[str, Any]) -> bool:
    """fan_out differs from fan_in (so using the wrong fan is visible)"""
    return p.get("fan_out") != p["fan_in"]


# ------------------------------------------------------------------ weight_decay_update


def check_weight_decay_update(p: dict[str, Any]) -> None:
    w = _vector(p, "w")
    _vector(p, "x", w.size, "one input per weight")
    _num(p, "y")
    if _num(p, "lr") <= 0:
        raise ParamError("lr", f"expected a learning rate > 0, got {p['lr']!r}")
    if _num(p, "lam") <= 0:
        raise ParamError("lam", f"expected a regularization strength > 0, got {p['lam']!r}")
    if p.get("l2_penalty", "half") not in ("half", "full"):
        raise ParamError("l2_penalty", f"expected half (lam/2 ||w||^2) or full (lam ||w||^2), "
                         f"got {p.get('l2_penalty')!r}")


def weight_decay_update(p: dict[str, Any]) -> dict[str, Any]:
    """One gradient step on L(w) = (y - w.x)^2 plus an L2 or an L1 penalty."""
    w = np.asarray(p["w"], dtype=float)
    x = np.asarray(p["x"], dtype=float)
    y, lr, lam = float(p["y"]), float(p["lr"]), float(p["lam"])
    c = 1.0 if p.get("l2_penalty", "half") == "half" else 2.0  # d/dw of the L2 penalty = c lam w
    r = y - float(w @ x)
    grad_data = -2.0 * r * x
    grad_l2 = c * lam * w
    grad_l1 = lam * np.sign(w)
    return _clean({
        "residual": r, "grad_data": grad_data,
        "grad_l2": grad_l2, "w_l2": w - lr * (grad_data + grad_l2), "decay_factor": 1.0 - c * lr * lam,
        "grad_l1": grad_l1, "w_l1": w - lr * (grad_data + grad_l1),
    })


def sample_weight_decay_update(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Non-zero integer w and x (a zero weight or input makes a coordinate trivial), integer y;
    lr in {0.1, 0.2} and lam in {0.1, 0.2, 0.5, 1}: every value has at most two decimals."""
    d = len(pinned["w"]) if isinstance(pinned.get("w"), list) else int(rng.choice([2, 3]))
    w = pinned.get("w") or [int(v) for v in rng.choice([-3, -2, -1, 1, 2, 3], size=d)]
    x = pinned.get("x") or [int(v) for v in rng.choice([-2, -1, 1, 2], size=d)]
    return {
        "w": w, "x": x, "y": pinned.get("y", int(rng.integers(-5, 6))),
        "lr": pinned.get("lr", float(rng.choice([0.1, 0.2]))),
        "lam": pinned.get("lam", float(rng.choice([0.1, 0.2, 0.5, 1.0]))),
        "l2_penalty": pinned.get("l2_penalty", str(rng.choice(["half", "full"]))),
    }


def weight_decay_nondegenerate(p: dict[str, Any]) -> bool:
    """the data gradient is not zero, w is not all zero, the L1 and L2 steps differ, and the residual
    stays small (|y - w.x| <= 6)"""
    a = weight_decay_update(p)
    return (0 < abs(a["residual"]) <= 6 and any(v != 0 for v in p["w"]) and any(v != 0 for v in a["grad_data"])
            and not l1_equals_l2(p, a)
            and decimals_needed(np.concatenate([np.ravel(v) for v in a.values()])) <= 2)


def l1_equals_l2(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: the L1 and the L2 step give the same weights (part c repeats part b)"""
    return bool(np.allclose(a["w_l1"], a["w_l2"], rtol=0, atol=1e-9))


def zero_weight_or_input(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: w or x has a zero entry (that coordinate's update is trivial)"""
    return 0 in [float(v) for v in p["w"]] or 0 in [float(v) for v in p["x"]]


# ------------------------------------------------------------------ lr_schedule (issue 15)
SCHEDULES = ("step", "exponential", "cosine")  # torch.optim.lr_scheduler StepLR, ExponentialLR, CosineAnnealingLR
MAX_EPOCHS = 12  # the epochs part a) lists


def _int(p: dict[str, Any], name: str, low: int, high: int) -> int:
    v = p.get(name)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise ParamError(name, f"expected an integer from {low} to {high}, got {v!r}")
    return v


def check_lr_schedule(p: dict[str, Any]) -> None:
    if p.get("schedule") not in SCHEDULES:
        raise ParamError("schedule", f"expected one of {', '.join(SCHEDULES)}, got {p.get('schedule')!r}")
    if _num(p, "lr") <= 0:
        raise ParamError("lr", f"expected a learning rate > 0, got {p['lr']!r}")
    _int(p, "epochs", 2, MAX_EPOCHS)
    if p["schedule"] == "step":
        _int(p, "step_size", 1, 1000)
    if p["schedule"] in ("step", "exponential") and _num(p, "gamma") <= 0:
        raise ParamError("gamma", f"expected a decay factor gamma > 0, got {p['gamma']!r}")
    if p["schedule"] == "cosine":
        _int(p, "t_max", 1, 1000)


def _cos_pi(k: int, t_max: int) -> tuple[float, float]:
    """cos(pi k / t_max) as a student finds it in a table of cos over [0, pi]: the angle reduced by
    cos's period 2 pi and its symmetry cos(2 pi - a) = cos(a). Returns (the reduced angle, the cosine)."""
    k = k % (2 * t_max)
    angle = math.pi * min(k, 2 * t_max - k) / t_max
    return angle, float(elementary.cos(angle))


def lr_at(p: dict[str, Any], epoch: int) -> tuple[float, float | None]:
    """The learning rate of epoch `epoch` (0-based) and, for cosine, the reduced angle it needs:
    step lr gamma^floor(e / step_size); exponential lr gamma^e; cosine (eta_min = 0, PyTorch's curve,
    which keeps following the cosine after t_max) lr (1 + cos(pi e / t_max)) / 2."""
    lr = float(p["lr"])
    if p["schedule"] == "step":
        return lr * float(p["gamma"]) ** (epoch // int(p["step_size"])), None
    if p["schedule"] == "exponential":
        return lr * float(p["gamma"]) ** epoch, None
    angle, c = _cos_pi(epoch, int(p["t_max"]))
    return lr * (1.0 + c) / 2.0, angle


def later_epoch(p: dict[str, Any]) -> int:
    """Part b)'s epoch beyond the listed ones: step epochs + step_size (one more decay),
    exponential 2 epochs, cosine 2 t_max - 1 (the curve has come back up to epoch 1's rate)."""
    e = int(p["epochs"])
    return {"step": e + int(p.get("step_size") or 1), "exponential": 2 * e,
            "cosine": 2 * int(p.get("t_max") or 1) - 1}[p["schedule"]]


def lr_schedule(p: dict[str, Any]) -> dict[str, Any]:
    pairs = [lr_at(p, e) for e in range(int(p["epochs"]))]
    later = later_epoch(p)
    lr_later, later_angle = lr_at(p, later)
    angles = [a for _, a in pairs if a] + ([later_angle] if later_angle else [])
    out: dict[str, Any] = {"lrs": [v for v, _ in pairs], "later": later, "lr_later": lr_later,
                           "cos_args": sorted(set(angles))}
    if p["schedule"] == "step":
        out["decays"] = [e // int(p["step_size"]) for e in range(int(p["epochs"]))]
        out["later_decays"] = later // int(p["step_size"])
    if p["schedule"] == "cosine":
        out["cos_values"] = [2.0 * v / float(p["lr"]) - 1.0 for v, _ in pairs]
        out["later_cos"] = 2.0 * lr_later / float(p["lr"]) - 1.0
    return out


def sample_lr_schedule(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Hand-friendly values: lr from 0.05 ... 1; step: gamma 0.1, 0.2 or 0.5 every 2-4 epochs, at least
    one decay listed; exponential: gamma 0.5 ... 0.9 over 4-5 epochs; cosine: t_max 4, 6, 8 or 10 (the
    statement prints cos(pi t / t_max)), epochs t_max/2 + 1 ... t_max + 1 (at most 9). The schedule is
    drawn step 1/2, exponential 1/5, cosine 3/10, about in proportion to the values each one has.
    Pinned step_size / t_max shape the drawn epochs."""
    schedule = pinned.get("schedule") or str(rng.choice(SCHEDULES, p=[0.5, 0.2, 0.3]))  # ~ their value spaces
    lrs = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    out: dict[str, Any] = {"schedule": schedule}
    if schedule == "step":
        s = pinned.get("step_size", int(rng.choice([2, 3, 4])))
        s = s if isinstance(s, int) and not isinstance(s, bool) and s >= 1 else 2  # a bad pin: the checker says so
        out.update(lr=float(rng.choice(lrs)), gamma=float(rng.choice([0.1, 0.2, 0.5])), step_size=s,
                   epochs=int(rng.integers(min(s + 1, MAX_EPOCHS), min(3 * s, MAX_EPOCHS) + 1)))
    elif schedule == "exponential":
        out.update(lr=float(rng.choice(lrs)), gamma=float(rng.choice([0.5, 0.6, 0.8, 0.9])),
                   epochs=int(rng.choice([4, 5])))
    else:
        t = pinned.get("t_max", int(rng.choice([4, 6, 8, 10])))
        t = t if isinstance(t, int) and not isinstance(t, bool) and t >= 1 else 4
        top = min(t + 1, 9)
        out.update(lr=float(rng.choice(lrs)), t_max=t,
                   epochs=int(rng.integers(min(top, t // 2 + 1), top + 1)))
    return out


def lr_schedule_nice(p: dict[str, Any]) -> bool:
    """every asked learning rate is at least 0.001 (rounded to 4 decimals it keeps a digit),
    step decays at least once within the listed epochs"""
    a = lr_schedule(p)
    return min(a["lrs"] + [a["lr_later"]]) >= 0.001 and not lr_constant(p, a)


def lr_constant(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: the learning rate never changes in the listed epochs (nothing is scheduled)"""
    return len({round(v, 12) for v in a["lrs"]}) == 1


# ------------------------------------------------------------------ grad_clipping (issue 15)
#: integer vectors whose norm is an integer (Pythagorean triples and quadruples): ||g|| by hand
PYTHAGOREAN = ((3, 4), (6, 8), (5, 12), (8, 15), (1, 2, 2), (2, 3, 6), (1, 4, 8), (4, 4, 7), (2, 6, 9),
               (6, 6, 7), (3, 4, 12), (2, 5, 14), (1, 1, 1, 1), (1, 2, 2, 4), (2, 4, 5, 6), (1, 1, 3, 5))


def check_grad_clipping(p: dict[str, Any]) -> None:
    g = _vector(p, "g")
    if g.size > 8:
        raise ParamError("g", f"expected at most 8 entries, got {g.size}")
    if not np.any(g != 0):
        raise ParamError("g", f"expected a gradient with a non-zero entry, got {p['g']!r}")
    if _num(p, "max_norm") <= 0:
        raise ParamError("max_norm", f"expected a threshold > 0, got {p['max_norm']!r}")


def grad_clipping(p: dict[str, Any]) -> dict[str, Any]:
    """Clip by the global L2 norm (torch.nn.utils.clip_grad_norm_ without its eps: the exact
    g * max_norm / ||g|| when ||g|| > max_norm, else g unchanged), and clip by value (each entry into
    [-max_norm, max_norm], clip_grad_value_) for the contrast: only the former keeps the direction."""
    g = np.asarray(p["g"], dtype=float)
    c = float(p["max_norm"])
    sq = float(g @ g)
    norm = float(elementary.sqrt(sq))
    coef = min(1.0, c / norm)
    by_norm = g * coef
    by_value = np.clip(g, -c, c)
    # the value-clipped vector is parallel to g when it is a positive multiple of it
    parallel = bool(np.allclose(by_value * norm, g * float(np.linalg.norm(by_value)), rtol=0, atol=1e-9))
    return {"squared_norm": sq, "norm": norm, "clipped": bool(norm > c), "clip_coef": coef, "g_clipped": by_norm,
            "clipped_norm": min(norm, c), "g_value_clipped": by_value,
            "value_keeps_direction": "yes" if parallel else "no"}


def sample_grad_clipping(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """g: a Pythagorean vector (integer norm), permuted, with random signs and scaled by 1, 0.5 or 2;
    max_norm a multiple of 0.5 below ||g|| (of the pinned g when g is pinned), so the norm is clipped."""
    base = np.array(PYTHAGOREAN[int(rng.integers(len(PYTHAGOREAN)))], dtype=float)
    scale = float(rng.choice([1.0, 1.0, 0.5, 2.0]))
    drawn = rng.permutation(base) * rng.choice([-1.0, 1.0], size=base.size) * scale
    g = pinned.get("g", [int(v) if float(v).is_integer() else float(v) for v in drawn])
    check_grad_clipping({"g": g, "max_norm": 1})  # a bad pinned g: the checker names it
    norm = float(np.linalg.norm(np.asarray(g, dtype=float)))
    c = float(rng.choice([k / 2 for k in range(1, max(2, int(np.ceil(2 * norm))))]))  # 0.5, 1, ... below ||g||
    return {"g": g, "max_norm": int(c) if c.is_integer() else c}


def clipping_nice(p: dict[str, Any]) -> bool:
    """||g|| > max_norm (the norm clip acts), some |g_i| > max_norm and some |g_i| < max_norm (the value
    clip acts and changes the direction), the clipped entries stay readable (|entries| >= 0.05)"""
    a = grad_clipping(p)
    g = np.abs(np.asarray(p["g"], dtype=float))
    c = float(p["max_norm"])
    return (a["clipped"] and bool(np.any(g > c)) and bool(np.any(g < c))
            and bool(np.all(np.abs(a["g_clipped"])[g > 0] >= 0.05)))


def nothing_clipped(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: ||g|| <= max_norm, clipping by norm leaves g unchanged"""
    return not a["clipped"]


# ------------------------------------------------------------------ adamw_vs_adam_l2 (issue 15)
ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def check_adamw_vs_adam_l2(p: dict[str, Any]) -> None:
    w = _vector(p, "w")
    if w.size > 6:
        raise ParamError("w", f"expected at most 6 weights, got {w.size}")
    _vector(p, "g", w.size, "one gradient entry per weight")
    if _num(p, "lr") <= 0:
        raise ParamError("lr", f"expected a learning rate > 0, got {p['lr']!r}")
    if _num(p, "weight_decay") <= 0:
        raise ParamError("weight_decay", f"expected a weight decay > 0, got {p['weight_decay']!r}")
    for name in ("beta1", "beta2"):
        if p.get(name) is not None and not 0 <= _num(p, name) < 1:
            raise ParamError(name, f"expected 0 <= {name} < 1, got {p[name]!r}")
    if p.get("eps") is not None and _num(p, "eps") <= 0:
        raise ParamError("eps", f"expected eps > 0 (Adam divides by sqrt(v_hat) + eps), got {p['eps']!r}")


def _adam_first_step(grad: np.ndarray, h: dict[str, float]) -> np.ndarray:
    """Adam's first step direction from m = v = 0: m_hat / (sqrt(v_hat) + eps)."""
    b1, b2 = h["beta1"], h["beta2"]
    m_hat = (1 - b1) * grad / (1 - b1)
    v_hat = (1 - b2) * grad * grad / (1 - b2)
    return np.asarray(m_hat / (elementary.sqrt(v_hat) + h["eps"]), dtype=float)


def adamw_vs_adam_l2(p: dict[str, Any]) -> dict[str, Any]:
    """The first step (t = 1, m = v = 0) of torch.optim.AdamW(weight_decay=lam): w <- (1 - lr lam) w
    - lr m_hat / (sqrt(v_hat) + eps) with the data gradient g; and of torch.optim.Adam(weight_decay=lam),
    which adds lam w to the gradient (L2): g' = g + lam w, w <- w - lr m_hat' / (sqrt(v_hat') + eps)."""
    w, g = np.asarray(p["w"], dtype=float), np.asarray(p["g"], dtype=float)
    lr, lam = float(p["lr"]), float(p["weight_decay"])
    h = {k: float(p[k]) if p.get(k) is not None else v for k, v in ADAM_DEFAULTS.items()}
    step = _adam_first_step(g, h)
    w_adamw = (1 - lr * lam) * w - lr * step
    g_l2 = g + lam * w
    step_l2 = _adam_first_step(g_l2, h)
    w_adam_l2 = w - lr * step_l2
    return {"decay_factor": 1 - lr * lam, "adam_step": step, "w_adamw": w_adamw,
            "g_l2": g_l2, "adam_step_l2": step_l2, "w_adam_l2": w_adam_l2, "difference": w_adamw - w_adam_l2,
            "sign_flips": int(np.sum(np.sign(g_l2) != np.sign(g)))}


def sample_adamw_vs_adam_l2(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """2 or 3 weights from +-{0.5, 1, 1.5, 2, 3}, gradients +-0.1 ... 0.9 (one decimal), lr 0.1, 0.05 or
    0.01, weight decay 0.1, 0.2 or 0.5: lam w is as large as g, so the L2 term matters at step 1."""
    sized = [pinned[k] for k in ("w", "g") if isinstance(pinned.get(k), list) and pinned[k]]
    d = len(sized[0]) if sized else int(rng.choice([2, 3]))  # the pinned vector's length
    w = [float(v) for v in rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], size=d) * rng.choice([-1.0, 1.0], size=d)]
    g = [round(float(v), 1) for v in rng.integers(1, 10, size=d) / 10 * rng.choice([-1.0, 1.0], size=d)]
    return {"w": [int(v) if v.is_integer() else v for v in w], "g": g,
            "lr": float(rng.choice([0.1, 0.05, 0.01])), "weight_decay": float(rng.choice([0.1, 0.2, 0.5]))}


def adamw_nice(p: dict[str, Any]) -> bool:
    """every |g_i + lam w_i| >= 0.05 (the L2 step is not 0/eps) and the L2 term flips the sign of at
    least one gradient entry (the contrast with AdamW is visible at step 1)"""
    a = adamw_vs_adam_l2(p)
    return bool(np.all(np.abs(a["g_l2"]) >= 0.05)) and a["sign_flips"] >= 1


def l2_gradient_zero(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: g_i + lam w_i = 0 for some weight (Adam's L2 step divides 0 by eps)"""
    return bool(np.any(np.abs(np.asarray(a["g_l2"], dtype=float)) < 1e-9))
