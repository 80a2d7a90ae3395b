"""Convolutional network shapes, parameter counts and receptive fields
(seeds 001 P7, 003 P3, 004 P4). Output size: floor((n + 2p - f) / s) + 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import values
from ..errors import ParamError
from . import elementary

LAYER_KEYS = {
    "conv": {"type", "filters", "kernel", "stride", "padding", "dilation"},
    "maxpool": {"type", "kernel", "stride", "padding"},
    "avgpool": {"type", "kernel", "stride", "padding"},
    "relu": {"type"},
    "batchnorm": {"type"},
}


def _pos_int(x: Any) -> bool:
    """A positive integer written as one (3, not 3.0: parameters are printed as given)."""
    return values.is_int(x) and x > 0


def check_cnn_shapes(p: dict[str, Any]) -> None:
    inp = p["input"]
    if not (isinstance(inp, list) and len(inp) == 3 and all(_pos_int(v) for v in inp)):
        raise ParamError("input", f"expected [H, W, C] of positive integers, got {inp!r}")
    if not isinstance(p["layers"], list) or not p["layers"]:
        raise ParamError("layers", "expected a non-empty list of layers")
    h, w = inp[0], inp[1]
    for i, layer in enumerate(p["layers"]):
        where = f"layers[{i}]"
        if not isinstance(layer, dict) or layer.get("type") not in LAYER_KEYS:
            raise ParamError(where, f"expected a mapping with type one of {', '.join(LAYER_KEYS)}, got {layer!r}")
        keys = LAYER_KEYS[layer["type"]]
        required = keys - {"padding", "stride", "dilation"}
        missing, extra = required - set(layer), set(layer) - keys
        if missing or extra:
            raise ParamError(where, f"{layer['type']} layer needs keys {sorted(required)} (optional: stride default 1, "
                             f"padding default 0{', dilation default 1' if 'dilation' in keys else ''}); "
                             f"missing {sorted(missing)}, unknown {sorted(extra)}")
        if layer["type"] in ("conv", "maxpool", "avgpool"):
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            if not (_pos_int(f) and _pos_int(s) and isinstance(pad, int) and pad >= 0):
                raise ParamError(where, "kernel and stride must be positive integers, padding an integer >= 0")
            if layer["type"] != "conv" and pad > f // 2:
                raise ParamError(where, f"pooling padding {pad} exceeds half the kernel {f}")
            if layer["type"] == "conv" and not _pos_int(layer["filters"]):
                raise ParamError(where, "filters must be a positive integer")
            if not _pos_int(layer.get("dilation", 1)):
                raise ParamError(where, f"dilation must be a positive integer (1: no gaps), got {layer['dilation']!r}")
            fe = _effective_kernel(layer)
            nh, nw = (h + 2 * pad - fe) // s + 1, (w + 2 * pad - fe) // s + 1
            if nh < 1 or nw < 1:  # name the input the layer gets (not the negative side it would give)
                span = f" with dilation {layer['dilation']} (spanning {fe} pixels)" if fe != f else ""
                raise ParamError(where, f"the kernel {f}{span} does not fit the {h}x{w} input left at this layer"
                                 f"{f' padded by {pad}' if pad else ''}")
            h, w = nh, nw
    if not any(isinstance(x, dict) and x.get("type") == "conv" for x in p["layers"]):
        raise ParamError("layers", "needs at least one conv layer (part b asks for the parameters of each)")
    nc = p.get("num_classes")
    if nc is not None and not _pos_int(nc):
        raise ParamError("num_classes", f"expected a positive integer, got {nc!r}")


def _effective_kernel(layer: dict[str, Any]) -> int:
    """The side a (dilated) kernel spans: d(f - 1) + 1 (a conv's optional `dilation`, default 1)."""
    return int(layer.get("dilation", 1)) * (layer["kernel"] - 1) + 1


def cnn_shapes(p: dict[str, Any]) -> dict[str, Any]:
    """Shapes, parameters and receptive fields layer by layer. A conv's optional `dilation` d
    (pinned only: draws never dilate, so every seed keeps its network) spans d(f - 1) + 1
    pixels; the answers then also hold `dilations` and `effective_kernels` (absent otherwise,
    so undilated keys stay as they were)."""
    h, w, c = p["input"]
    shapes, params, conv_params, rf_list = [], [], [], []
    rf, jump = 1, 1
    floored = False  # some output side is not an exact division: the floor is needed (as PyTorch takes it)
    for layer in p["layers"]:
        kind = layer["type"]
        n_params = 0
        if kind in ("conv", "maxpool", "avgpool"):
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            fe = _effective_kernel(layer)
            floored = floored or bool((h + 2 * pad - fe) % s or (w + 2 * pad - fe) % s)
            h, w = (h + 2 * pad - fe) // s + 1, (w + 2 * pad - fe) // s + 1
            rf += (fe - 1) * jump
            jump *= s
            if kind == "conv":
                n_params = (f * f * c + 1) * layer["filters"]
                c = layer["filters"]
                conv_params.append(n_params)
        elif kind == "batchnorm":
            n_params = 2 * c
        shapes.append([h, w, c])
        params.append(n_params)
        rf_list.append(rf)
    out: dict[str, Any] = {
        "shapes": shapes, "output_shape": [h, w, c], "layer_params": params, "conv_params": conv_params,
        "receptive_field": rf_list, "floored": floored,
    }
    if any(layer.get("dilation", 1) != 1 for layer in p["layers"]):
        out["dilations"] = [layer.get("dilation", 1) if layer["type"] == "conv" else None for layer in p["layers"]]
        out["effective_kernels"] = [_effective_kernel(x) if "kernel" in x else None for x in p["layers"]]
    nc = p.get("num_classes")
    if nc:
        out["fc_classifier_params"] = h * w * c * nc + nc
        out["gap_classifier_params"] = c * nc + nc
    return out


def sample_cnn_shapes(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """An input image and 4-6 layers: conv (3/5/7, stride 1-2, 'same' or no
    padding), pooling (2/2 or 3/2), ReLU and batchnorm."""
    size = int(rng.choice([28, 32, 64, 96, 128]))
    inp = pinned.get("input") or [size, size, int(rng.choice([1, 3]))]
    layers = pinned.get("layers")
    if layers is None:
        layers = []
        n_blocks = int(rng.integers(2, 4))
        for b in range(n_blocks):
            f = int(rng.choice([3, 5, 7] if b == 0 else [3, 5]))
            s = int(rng.choice([1, 1, 2]))
            pad = int(rng.choice([0, (f - 1) // 2]))
            layers.append({"type": "conv", "filters": int(rng.choice([8, 16, 32, 64])), "kernel": f,
                           "stride": s, "padding": pad})
            extra = rng.choice(["relu", "batchnorm", "none"])
            if extra != "none":
                layers.append({"type": str(extra)})
            if rng.random() < 0.7:
                k = int(rng.choice([2, 3]))
                layers.append({"type": str(rng.choice(["maxpool", "avgpool"])), "kernel": k, "stride": 2,
                               "padding": 0 if k == 2 else 1})
    nc = pinned.get("num_classes", int(rng.choice([10, 20, 100])))
    return {"input": inp, "layers": layers, "num_classes": nc}


def exact_division(p: dict[str, Any]) -> bool:
    """every conv/pool output size divides exactly (no floor needed by hand)"""
    h = p["input"][0]
    for layer in p["layers"]:
        if layer["type"] in ("conv", "maxpool", "avgpool"):
            f, s, pad = _effective_kernel(layer), layer.get("stride", 1), layer.get("padding", 0)
            if (h + 2 * pad - f) % s:
                return False
            h = (h + 2 * pad - f) // s + 1
    return h >= 2


# ====================================================================== shared helpers
def _matrix(x: Any) -> np.ndarray | None:
    """A non-empty rectangular matrix of finite numbers as a float array, else None."""
    return np.asarray(x, dtype=float) if values.is_matrix(x) else None


def _xcorr(x: np.ndarray, k: np.ndarray, stride: int = 1) -> np.ndarray:
    """Valid cross-correlation of an (already padded) matrix, as torch.nn.functional.conv2d."""
    windows = np.lib.stride_tricks.sliding_window_view(x, k.shape)[::stride, ::stride]
    return np.einsum("ijab,ab->ij", windows, k)


def _maxpool(x: np.ndarray, size: int, pad: int = 0) -> tuple[np.ndarray, list[list[tuple[int, int]]], int]:
    """Max pooling (kernel = stride = size) after ZERO padding. Returns the pooled matrix, the
    argmax of each window in the coordinates of the unpadded input ((-1, -1) style coordinates
    for padding), and the number of windows whose maximum is tied. A tie goes to the first
    maximum in row-major window order, as PyTorch's max_pool2d does."""
    xp = np.pad(x, pad)
    oh, ow = (xp.shape[0] - size) // size + 1, (xp.shape[1] - size) // size + 1
    out = np.zeros((oh, ow))
    arg: list[list[tuple[int, int]]] = []
    ties = 0
    for i in range(oh):
        row = []
        for j in range(ow):
            win = xp[i * size:(i + 1) * size, j * size:(j + 1) * size]
            m = float(win.max())
            a, b = np.argwhere(win == m)[0]  # row-major: the first maximum
            ties += int(np.sum(win == m) > 1)
            out[i, j] = m
            row.append((int(i * size + a - pad), int(j * size + b - pad)))
        arg.append(row)
    return out, arg, ties


# ====================================================================== conv_param_count
def _kernel_hw(k: Any) -> tuple[int, int]:
    if isinstance(k, list):
        return int(k[0]), int(k[1])
    return int(k), int(k)


def check_conv_param_count(p: dict[str, Any]) -> None:
    for name in ("c_in", "c_out"):
        if not _pos_int(p[name]):
            raise ParamError(name, f"expected a positive integer, got {p[name]!r}")
    k = p["kernel"]
    if not (_pos_int(k) or (isinstance(k, list) and len(k) == 2 and all(_pos_int(v) for v in k))):
        raise ParamError("kernel", f"expected a positive integer or [kh, kw] of positive integers, got {k!r}")
    if not isinstance(p["bias"], bool):
        raise ParamError("bias", f"expected true or false, got {p['bias']!r}")


def conv_param_count(p: dict[str, Any]) -> dict[str, Any]:
    kh, kw = _kernel_hw(p["kernel"])
    weights = p["c_in"] * p["c_out"] * kh * kw
    biases = p["c_out"] if p["bias"] else 0
    return {"kh": kh, "kw": kw, "weights": weights, "biases": biases, "total": weights + biases}


# ====================================================================== pool_coverage
def check_pool_coverage(p: dict[str, Any]) -> None:
    for name in ("size", "kernel", "stride"):
        if not _pos_int(p[name]):
            raise ParamError(name, f"expected a positive integer, got {p[name]!r}")
    if p["kernel"] > p["size"]:
        raise ParamError("kernel", f"the kernel {p['kernel']} is larger than the input side {p['size']}")


def pool_coverage(p: dict[str, Any]) -> dict[str, Any]:
    """Counts covered pixels exactly: a pixel is used iff its row and its column are
    both covered by some window position (the windows form a grid)."""
    n, f, s = p["size"], p["kernel"], p["stride"]
    out = (n - f) // s + 1
    covered_1d = np.zeros(n, dtype=bool)
    for i in range(out):
        covered_1d[i * s:i * s + f] = True
    covered = np.outer(covered_1d, covered_1d)
    n_cov = int(covered_1d.sum())
    unused = n * n - int(covered.sum())
    return {"out_side": out, "covered_side": n_cov, "unused_pixels": unused,
            "unused_fraction": unused / (n * n), "unused_percent": 100 * unused / (n * n),
            "last_window_end": (out - 1) * s + f}


# (stride, kernel) with kernel < stride and (kernel / stride)^2 a clean fraction (at most 4 decimals)
CLEAN_POOLS = [(s, f) for s in range(2, 11) for f in range(1, s) if (f * f * 10000) % (s * s) == 0]


def sample_pool_coverage(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """stride 2-10, kernel < stride (so windows do not overlap) with a clean (kernel / stride)^2,
    a side that is a multiple of the stride plus sometimes a short unused tail; the fraction is
    kept clean by a constraint."""
    s, f = CLEAN_POOLS[int(rng.integers(len(CLEAN_POOLS)))]
    s = int(pinned.get("stride", s))
    f = int(pinned.get("kernel", f if f <= s else 1))
    n = int(rng.integers(8, 65)) * s + int(rng.choice([0, 0, 0, s // 2]))
    return {"size": int(pinned.get("size", n)), "kernel": f, "stride": s}


def clean_fraction(p: dict[str, Any]) -> bool:
    """the unused fraction is a clean number (a percentage with at most two decimals, not 0)"""
    frac = pool_coverage(p)["unused_fraction"]
    return 0 < frac < 1 and abs(frac * 1e4 - round(frac * 1e4)) < 1e-6 and p["size"] <= 256


# ====================================================================== conv2d_apply
def check_conv2d_apply(p: dict[str, Any]) -> None:
    x, k = _matrix(p["input"]), _matrix(p["kernel"])
    if x is None:
        raise ParamError("input", f"expected a rectangular matrix of numbers, got {p['input']!r}")
    if k is None:
        raise ParamError("kernel", f"expected a rectangular matrix of numbers, got {p['kernel']!r}")
    s, pad = p["stride"], p["padding"]
    if not _pos_int(s):
        raise ParamError("stride", f"expected a positive integer, got {s!r}")
    if pad == "same":
        if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ParamError("padding", f"'same' needs a kernel of odd sides, got {k.shape[0]}x{k.shape[1]}")
        if s != 1:
            raise ParamError("padding", f"'same' needs stride 1, got stride {s}")
    elif not (isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0):
        raise ParamError("padding", f"expected 'same' or an integer >= 0, got {pad!r}")
    ph, pw = _c2_pad(p, k)
    if x.shape[0] + 2 * ph < k.shape[0] or x.shape[1] + 2 * pw < k.shape[1]:
        raise ParamError("kernel", f"the {k.shape[0]}x{k.shape[1]} kernel does not fit the padded input")
    pool = p.get("pool")
    if pool is not None:
        if not _pos_int(pool):
            raise ParamError("pool", f"expected a positive integer (max-pool size) or null, got {pool!r}")
        oh, ow = (x.shape[0] + 2 * ph - k.shape[0]) // s + 1, (x.shape[1] + 2 * pw - k.shape[1]) // s + 1
        if pool > oh or pool > ow:
            raise ParamError("pool", f"pool size {pool} is larger than the {oh}x{ow} convolution output")


def _c2_pad(p: dict[str, Any], k: np.ndarray) -> tuple[int, int]:
    if p["padding"] == "same":
        return (k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2
    return int(p["padding"]), int(p["padding"])


def conv2d_apply(p: dict[str, Any]) -> dict[str, Any]:
    x, k = np.asarray(p["input"], dtype=float), np.asarray(p["kernel"], dtype=float)
    ph, pw = _c2_pad(p, k)
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    out = _xcorr(xp, k, int(p["stride"]))
    # part c: max pooling of the output, or its ReLU when the template has no pooling
    c_output = _maxpool(out, int(p["pool"]))[0] if p.get("pool") is not None else np.maximum(out, 0)
    return {"pad_h": ph, "pad_w": pw, "padded": xp, "out_shape": list(out.shape), "output": out, "c_output": c_output}


def _c2_configs() -> list[tuple[int, int, int, int, Any, int]]:
    """(H, W, kh, kw, padding, stride) whose output is 2x2 .. 4x4 with even sides (for pool 2)
    and whose stride divides exactly."""
    out = []
    for kh, kw in ((2, 2), (3, 3)):
        pads: list[int | str] = [0, 1] if kh == 2 else [0, 1, "same"]
        for pad in pads:
            for s in (1, 2):
                if pad == "same" and s != 1:
                    continue
                pp = (kh - 1) // 2 if isinstance(pad, str) else pad
                for h in range(3, 7):
                    for w in range(3, 7):
                        if (h + 2 * pp - kh) % s or (w + 2 * pp - kw) % s:
                            continue
                        oh, ow = (h + 2 * pp - kh) // s + 1, (w + 2 * pp - kw) // s + 1
                        if oh in (2, 4) and ow in (2, 4) and oh * ow * kh * kw <= 100:
                            out.append((h, w, kh, kw, pad, s))
    return out


C2_CONFIGS = _c2_configs()
#: the seed's 'same' padding (002 Q12): a 3x3 kernel on a 3x3, 3x4 or 4x3 matrix, stride 1
C2_SAME = [(3, 3, 3, 3, "same", 1), (3, 4, 3, 3, "same", 1), (4, 3, 3, 3, "same", 1)]


def sample_conv2d_apply(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """A small integer input and kernel. A quarter of the draws use the seed's 'same' padding and
    then the ReLU (odd output sides); the others a padding/stride whose output has even sides <= 4
    and at most 100 multiplications, then 2x2 max pooling, or (a third of them) the ReLU."""
    same = rng.random() < 0.25
    configs = C2_SAME if same else C2_CONFIGS
    h, w, kh, kw, pad, s = configs[int(rng.integers(len(configs)))]
    relu = same or rng.random() < 1 / 3
    x = rng.integers(-3, 6, size=(h, w)).tolist()
    k = rng.choice(np.array([-2, -1, -1, 0, 0, 1, 1, 2]), size=(kh, kw)).tolist()
    p = {"input": x, "kernel": k, "padding": pad, "stride": s, "pool": None if relu else 2}
    if "input" in pinned or "kernel" in pinned:  # the instructor's matrices: fit the rest to them
        p.update({key: pinned[key] for key in ("input", "kernel") if key in pinned})
        km = _matrix(p["kernel"])
        odd = km is not None and km.shape[0] % 2 == 1 and km.shape[1] % 2 == 1
        p["padding"] = pinned.get("padding", "same" if odd else 0)
        p["stride"] = pinned.get("stride", 1)
        p["pool"] = None
        try:
            check_conv2d_apply(p)
        except ParamError:
            return p  # the checker names the bad pinned value
        if min(conv2d_apply(p)["out_shape"]) >= 2:
            p["pool"] = 2
    return p


def c2_not_degenerate(p: dict[str, Any]) -> bool:
    """the kernel has at least two non-zero entries and the output is not constant"""
    k = np.asarray(p["kernel"], dtype=float)
    out = conv2d_apply(p)["output"]
    return bool(np.count_nonzero(k) >= 2 and np.ptp(out) > 0)


# ====================================================================== conv_forward_backward
LOGITS = (-2, -1, 1, 2)  # z2 + theta of sampled variants: P(y=1) is never 0.5, the class is clear


def _sigmoid(z: float) -> float:
    return float(elementary.sigmoid(z))


def _kernel_list(x: Any) -> list[np.ndarray] | None:
    if not isinstance(x, list) or not x:
        return None
    mats = [_matrix(m) for m in x]
    if any(m is None for m in mats) or len({m.shape for m in mats if m is not None}) != 1:
        return None
    return [m for m in mats if m is not None]


def check_conv_forward_backward(p: dict[str, Any]) -> None:
    v = _matrix(p["V"])
    if v is None:
        raise ParamError("V", f"expected a rectangular matrix of numbers, got {p['V']!r}")
    k1 = _kernel_list(p["K1"])
    if k1 is None:
        raise ParamError("K1", "expected a non-empty list of equally shaped matrices (one kernel per channel)")
    if k1[0].shape[0] > v.shape[0] or k1[0].shape[1] > v.shape[1]:
        raise ParamError("K1", f"the {k1[0].shape[0]}x{k1[0].shape[1]} kernels do not fit the "
                               f"{v.shape[0]}x{v.shape[1]} input")
    k2 = _kernel_list(p["K2"])
    h1 = (v.shape[0] - k1[0].shape[0] + 1, v.shape[1] - k1[0].shape[1] + 1)
    if k2 is None or len(k2) != len(k1) or k2[0].shape != h1:
        raise ParamError("K2", f"expected {len(k1)} matrices (one per channel of layer 1) of shape "
                               f"{h1[0]}x{h1[1]}, so that the second convolution gives one value")
    if not values.is_number(p["theta"]):
        raise ParamError("theta", f"expected a number, got {p['theta']!r}")
    if p["y"] not in (0, 1) or isinstance(p["y"], bool):
        raise ParamError("y", f"expected the label 0 or 1, got {p['y']!r}")


def conv_forward_backward(p: dict[str, Any]) -> dict[str, Any]:
    """V -> conv K1 (one kernel per output channel) -> ReLU -> conv K2 (one kernel per input
    channel, one output channel, output 1x1) -> ReLU -> P(y=1) = sigmoid(a2 + theta);
    logistic loss L = -[y log P + (1 - y) log(1 - P)]; ReLU'(0) = 0."""
    v = np.asarray(p["V"], dtype=float)
    k1 = [np.asarray(k, dtype=float) for k in p["K1"]]
    k2 = [np.asarray(k, dtype=float) for k in p["K2"]]
    theta, y = float(p["theta"]), int(p["y"])
    z1 = [_xcorr(v, k) for k in k1]
    a1 = [np.maximum(z, 0) for z in z1]
    z2 = float(sum(np.sum(a * k) for a, k in zip(a1, k2)))
    a2 = max(z2, 0.0)
    logit = a2 + theta
    prob = _sigmoid(logit)
    loss = -float(elementary.log(prob if y == 1 else 1 - prob))
    # the tables the statement prints: sigma around the logit, ln at the 4-decimal P and 1 - P read from it
    sigma_args = elementary.table_args([logit], 2)
    p_printed = round(float(elementary.value("sigmoid", logit)), 4)
    d_logit = prob - y
    d_z2 = d_logit * (1.0 if z2 > 0 else 0.0)
    dk2 = [d_z2 * a for a in a1]
    d_a1 = [d_z2 * k for k in k2]
    d_z1 = [d * (z > 0) for d, z in zip(d_a1, z1)]
    dk1 = [_xcorr(v, d) for d in d_z1]
    # coefficients c with gradient = (P - y) * c (exact integers for integer parameters)
    relu2 = 1.0 if z2 > 0 else 0.0
    c_k2 = [relu2 * float(a[0, 0]) for a in a1]
    c_k1 = [relu2 * float(_xcorr(v, k * (z > 0))[0, 0]) for k, z in zip(k2, z1)]
    return {
        "Z1": z1, "A1": a1, "z2": z2, "a2": a2, "logit": logit, "prob": prob, "pred_class": int(prob > 0.5),
        "loss": loss, "dtheta": d_logit, "sigma_args": sigma_args, "ln_args": [p_printed, round(1 - p_printed, 4)],
        "dK2_tl": [float(g[0, 0]) for g in dk2], "dK1_tl": [float(g[0, 0]) for g in dk1],
        "c_K2": c_k2, "c_K1": c_k1,
        "mask1": [(z > 0).astype(int) for z in z1],
    }


def sample_conv_forward_backward(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """The seed's shapes (3x3 input, two 2x2 kernels, two 2x2 kernels to one value): integer
    entries, then theta chosen so that a2 + theta is one of -2, -1, 1, 2."""
    for _ in range(500):
        v = rng.integers(0, 10, size=(3, 3))
        k1 = rng.integers(-3, 4, size=(2, 2, 2))
        k2 = rng.integers(-4, 5, size=(2, 2, 2))
        p = {"V": v.tolist(), "K1": k1.tolist(), "K2": k2.tolist(), "theta": 0, "y": int(rng.integers(0, 2))}
        if any(k in pinned for k in ("V", "K1", "K2")):
            p.update({k: pinned[k] for k in ("V", "K1", "K2", "y") if k in pinned})
            try:
                check_conv_forward_backward(p)
            except ParamError:
                return p  # pinned values are invalid: let the checker report them
        else:  # quick screen of the draw before the full solve
            z1 = np.einsum("ijab,cab->cij", np.lib.stride_tricks.sliding_window_view(v, (2, 2)), k1)
            z2 = float(np.sum(np.maximum(z1, 0) * k2))
            if not (0 < z2 <= 28 and np.all(z1 != 0) and np.all((z1 > 0).any(axis=(1, 2)))
                    and np.all((z1 < 0).any(axis=(1, 2)))):
                continue
        if 0 < conv_forward_backward(p)["a2"] <= 28 and fb_alive(p):  # keeps |theta| <= 30
            break
    a2 = conv_forward_backward(p)["a2"]
    p["theta"] = pinned.get("theta", int(rng.choice(LOGITS) - a2))
    return p


def fb_alive(p: dict[str, Any]) -> bool:
    """the gradients flow: z2 > 0, no pre-activation is exactly 0, every layer-1 channel has
    a positive and a dead entry, and none of the four asked top-left gradients of K1 and K2 is 0"""
    a = conv_forward_backward(p)
    z1 = np.asarray(a["Z1"])
    return bool(a["z2"] > 0 and np.all(z1 != 0) and all(np.any(z > 0) and np.any(z < 0) for z in z1)
                and not fb_kernel_gradient_zero(p, a))


def fb_kernel_gradient_zero(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: one of the four asked kernel gradients (top-left of K1 and K2 per channel) is 0"""
    return any(g == 0 for g in (*a["dK1_tl"], *a["dK2_tl"]))


def fb_clear_class(p: dict[str, Any]) -> bool:
    """P(y=1) is not 0.5 (the predicted class is clear) and |theta| <= 30"""
    a = conv_forward_backward(p)
    return a["logit"] != 0 and abs(p["theta"]) <= 30


# ====================================================================== conv1x1_pool_bce
P_POS = (0.2, 0.4, 0.5)  # predictions for target 1: -1/p in {-5, -2.5, -2}
P_NEG = (0.5, 0.6, 0.8)  # predictions for target 0: 1/(1-p) in {2, 2.5, 5}


def _tensor3(x: Any) -> np.ndarray | None:
    mats = _kernel_list(x)
    return None if mats is None else np.stack(mats)


def check_conv1x1_pool_bce(p: dict[str, Any]) -> None:
    x = _tensor3(p["x"])
    if x is None:
        raise ParamError("x", "expected a list of equally shaped matrices (C x H x W, one matrix per channel)")
    w = p["w"]
    if not (isinstance(w, list) and len(w) == x.shape[0]):
        raise ParamError("w", f"expected {x.shape[0]} weights (one per channel of x), got {w!r}")
    pool, pad = p["pool"], p["pool_padding"]
    if not _pos_int(pool):
        raise ParamError("pool", f"expected a positive integer, got {pool!r}")
    if not (isinstance(pad, int) and not isinstance(pad, bool) and 0 <= pad <= pool // 2):
        raise ParamError("pool_padding", f"expected an integer in 0..{pool // 2} (at most half the pool size), "
                                         f"got {pad!r}")
    if min(x.shape[1], x.shape[2]) + 2 * pad < pool:
        raise ParamError("pool", f"pool size {pool} is larger than the padded {x.shape[1]}x{x.shape[2]} map")
    if not (values.is_number(p["lr"]) and p["lr"] > 0):
        raise ParamError("lr", f"expected a positive number, got {p['lr']!r}")
    z = np.tensordot(np.asarray(w, dtype=float), x, axes=1)
    pooled, _, _ = _maxpool(z, pool, pad)
    y = _matrix(p["y"])
    if y is None or y.shape != pooled.shape or not np.all((y == 0) | (y == 1)):
        raise ParamError("y", f"expected a {pooled.shape[0]}x{pooled.shape[1]} matrix of 0/1 targets (the shape of "
                              f"the pooled output), got {p['y']!r}")
    if np.any((pooled < 0) | (pooled > 1)):
        raise ParamError("x", f"the pooled outputs {pooled.tolist()} must lie in [0, 1] to be used as "
                              "probabilities in the binary cross-entropy")
    if np.any((pooled == 0) & (y == 1)) or np.any((pooled == 1) & (y == 0)):
        raise ParamError("x", f"a pooled output of {pooled.tolist()} is 0 with target 1 or 1 with target 0, "
                              "so the loss needs log(0)")


def conv1x1_pool_bce(p: dict[str, Any]) -> dict[str, Any]:
    """1x1 convolution (one filter, weight w_c per channel, no bias) -> max pooling (kernel =
    stride = pool, zero padding) -> predictions; BCE summed over output pixels (natural log);
    one gradient-descent step on w. Ties in a pooling window go to the first maximum in
    row-major order (padding included), as PyTorch's max_pool2d on a zero-padded map."""
    x = np.asarray(p["x"], dtype=float)
    w = np.asarray(p["w"], dtype=float)
    y = np.asarray(p["y"], dtype=float)
    pad = int(p["pool_padding"])
    z = np.tensordot(w, x, axes=1)
    pred, arg, ties = _maxpool(z, int(p["pool"]), pad)
    # each pixel's term: -log of the probability given to its target (0 * log 0 counts as 0)
    q = np.where(y == 1, pred, 1 - pred)
    terms = -elementary.log(q)
    dpred = np.where(y == 1, -1 / np.where(y == 1, pred, 1), 1 / np.where(y == 0, 1 - pred, 1))
    grad = np.zeros_like(w)
    from_input = np.zeros(pred.shape, dtype=int)
    for i, row in enumerate(arg):
        for j, (a, b) in enumerate(row):
            if 0 <= a < x.shape[1] and 0 <= b < x.shape[2]:
                grad += dpred[i, j] * x[:, a, b]
                from_input[i, j] = 1
    w_new = w - float(p["lr"]) * grad
    return {"z": z, "pred": pred, "argmax": [[[a, b] for a, b in row] for row in arg], "from_input": from_input,
            "pool_ties": ties, "q_flat": q.reshape(-1), "loss": float(terms.sum()),
            "dpred": dpred, "grad": grad, "w_new": w_new}


def sample_conv1x1_pool_bce(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Built backwards: targets, then predictions with clean 1/p or 1/(1-p), then for each
    pooling window a winning position; the other entries of z are smaller multiples of 0.1;
    x is drawn in halves except one channel with weight +-1, solved so that w . x = z.
    A third of the draws pool with the seed's zero padding 1 (pool 2, a 2x2, 2x4 or 4x2 map):
    there a window of target 0 may have prediction 0, its maximum a padded zero, tied (the tie rule)."""
    if any(k in pinned for k in ("x", "w", "y")):
        # the instructor gives the numbers: nothing to construct
        return {"x": pinned.get("x"), "w": pinned.get("w"), "y": pinned.get("y"), "pool": pinned.get("pool", 2),
                "pool_padding": pinned.get("pool_padding", 0), "lr": pinned.get("lr", 1)}
    c = int(rng.choice([2, 3]))
    pool = int(pinned.get("pool", 2))
    padded = pool == 2 and pinned.get("pool_padding", int(rng.random() < 1 / 3)) == 1
    if padded:
        h, wd = [(2, 2), (2, 4), (4, 2)][int(rng.integers(3))]
    else:
        h, wd = [(pool, 2 * pool), (2 * pool, pool), (2 * pool, 2 * pool)][int(rng.integers(3))]
    while True:
        w = rng.choice(np.array([-1, 1, 1, 2]), size=c)
        if np.any(np.abs(w) == 1):
            break
    solve_c = int(rng.choice(np.flatnonzero(np.abs(w) == 1)))
    y, z = _bce_padded_map(rng, h, wd) if padded else _bce_map(rng, pool, h, wd)
    for _ in range(100):
        x = rng.integers(-4, 5, size=(c, h, wd)) / 2
        rest = np.tensordot(np.delete(w, solve_c), np.delete(x, solve_c, axis=0), axes=1)
        x[solve_c] = np.round((z - rest) / w[solve_c], 10)
        if np.all(np.abs(x[solve_c]) <= 2.5):
            break
    return {"x": x.tolist(), "w": w.astype(int).tolist(), "y": y.astype(int).tolist(), "pool": pool,
            "pool_padding": int(padded), "lr": pinned.get("lr", float(rng.choice([1, 1, 0.2])))}


def _bce_pred(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    return np.where(y == 1, rng.choice(np.array(P_POS), size=y.shape), rng.choice(np.array(P_NEG), size=y.shape))


def _bce_map(rng: np.random.Generator, pool: int, h: int, wd: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets and a map z whose pool x pool windows (no padding) have one strict maximum each."""
    oh, ow = h // pool, wd // pool
    y = rng.integers(0, 2, size=(oh, ow))
    pred = _bce_pred(rng, y)
    z = np.zeros((h, wd))
    for i in range(oh):
        for j in range(ow):
            top = int(round(pred[i, j] * 10))
            win = rng.integers(-10, top, size=(pool, pool)) / 10  # strictly below the maximum
            a, b = int(rng.integers(pool)), int(rng.integers(pool))
            win[a, b] = pred[i, j]
            z[i * pool:(i + 1) * pool, j * pool:(j + 1) * pool] = win
    return y, z


def _bce_padded_map(rng: np.random.Generator, h: int, wd: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets and a map z for 2x2 pooling with zero padding 1 (seed 004 P5): every window holds
    padded zeros, so its maximum is at least 0; a window of target 0 has prediction 0 (all its
    pixels <= 0, the maximum a padded zero, tied with the other padded zeros and maybe a zero
    pixel after it) half the time, else one pixel wins as in _bce_map."""
    oh, ow = h // 2 + 1, wd // 2 + 1
    y = rng.integers(0, 2, size=(oh, ow))
    pred = np.where((y == 0) & (rng.random(size=(oh, ow)) < 0.5), 0.0, _bce_pred(rng, y))
    z = np.zeros((h, wd))
    for i in range(oh):
        for j in range(ow):
            rows = [r for r in (2 * i - 1, 2 * i) if 0 <= r < h]
            cols = [c for c in (2 * j - 1, 2 * j) if 0 <= c < wd]
            top = int(round(pred[i, j] * 10))
            for r in rows:
                for c in cols:
                    # below the maximum; with prediction 0 a pixel may be 0 too, tied with the padded
                    # zeros, unless it is the window's first entry (then the first maximum is a pixel)
                    first = (r, c) == (2 * i - 1, 2 * j - 1)
                    z[r, c] = rng.integers(-10, top + (top == 0 and not first)) / 10
            if top:
                z[rng.choice(rows), rng.choice(cols)] = pred[i, j]
    return y, z


def bce_hand_sized(p: dict[str, Any]) -> bool:
    """x has at most one decimal and |x| <= 2.5, no tie in a window without padding (with padding,
    the statement gives the tie rule), and the gradient is not zero (the update changes w)"""
    x = np.asarray(p["x"], dtype=float)
    a = conv1x1_pool_bce(p)
    return bool(np.all(np.abs(x * 10 - np.round(x * 10)) < 1e-9) and np.all(np.abs(x) <= 2.5)
                and (a["pool_ties"] == 0 or p["pool_padding"] > 0) and np.any(np.asarray(a["grad"]) != 0))


# ====================================================================== transposed_conv_shapes (issue 15)
def _check_input_shape(p: dict[str, Any]) -> list[int]:
    """The parameter `input`: [H, W, C] of positive integers."""
    inp = p["input"]
    if not (isinstance(inp, list) and len(inp) == 3 and all(_pos_int(v) for v in inp)):
        raise ParamError("input", f"expected [H, W, C] of positive integers, got {inp!r}")
    return inp



#: H_out = floor((n + 2p - f) / s) + 1 (conv);  (n - 1) s - 2p + f + output_padding (convtranspose)
TCONV_KEYS = {"type", "filters", "kernel", "stride", "padding", "output_padding"}


def _tconv_side(layer: dict[str, Any], n: int) -> int:
    f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
    if layer["type"] == "conv":
        return (n + 2 * pad - f) // s + 1
    return (n - 1) * s - 2 * pad + f + layer.get("output_padding", 0)


def check_transposed_conv_shapes(p: dict[str, Any]) -> None:
    inp = _check_input_shape(p)
    if not isinstance(p["layers"], list) or not p["layers"]:
        raise ParamError("layers", "expected a non-empty list of layers")
    h, w = inp[0], inp[1]
    for i, layer in enumerate(p["layers"]):
        where = f"layers[{i}]"
        if not isinstance(layer, dict) or layer.get("type") not in ("conv", "convtranspose"):
            raise ParamError(where, f"expected a mapping with type conv or convtranspose, got {layer!r}")
        missing, extra = {"filters", "kernel"} - set(layer), set(layer) - TCONV_KEYS
        if missing or extra:
            raise ParamError(where, f"a {layer['type']} layer needs keys filters and kernel (optional: stride "
                             "default 1, padding default 0, output_padding default 0); missing "
                             f"{sorted(missing)}, unknown {sorted(extra)}")
        f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
        op = layer.get("output_padding", 0)
        if not (_pos_int(f) and _pos_int(s) and _pos_int(layer["filters"])):
            raise ParamError(where, "filters, kernel and stride must be positive integers")
        if not (values.is_int(pad) and pad >= 0 and values.is_int(op) and op >= 0):
            raise ParamError(where, "padding and output_padding must be integers >= 0")
        if layer["type"] == "conv" and op:
            raise ParamError(where, "output_padding belongs to a convtranspose layer; a conv layer has none")
        if op >= s:
            raise ParamError(where, f"output_padding {op} must be smaller than the stride {s} (as in PyTorch)")
        h, w = _tconv_side(layer, h), _tconv_side(layer, w)
        if h < 1 or w < 1:
            raise ParamError(where, f"the layer leaves no output ({h}x{w}): the kernel does not fit or the "
                             "padding is too large")


def transposed_conv_shapes(p: dict[str, Any]) -> dict[str, Any]:
    """Output shape [H, W, C] and learnable parameters (every layer with a bias) after each layer
    of an encoder (conv) and decoder (convtranspose): both have f*f*C_in*C_out weights and
    C_out biases."""
    h, w, c = p["input"]
    shapes, params, floored = [], [], False
    for layer in p["layers"]:
        f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
        if layer["type"] == "conv":
            floored = floored or bool((h + 2 * pad - f) % s or (w + 2 * pad - f) % s)
        h, w = _tconv_side(layer, h), _tconv_side(layer, w)
        params.append((f * f * c + 1) * layer["filters"])
        c = layer["filters"]
        shapes.append([h, w, c])
    return {"shapes": shapes, "layer_params": params, "total_params": sum(params), "floored": floored,
            "restores_input": [h, w, c] == list(p["input"])}


def sample_transposed_conv_shapes(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """An autoencoder: 2-3 conv layers (kernel 3-5, stride 2 mostly, sometimes 1) down to a code,
    then the mirrored convtranspose layers back up, with the output_padding that restores every
    side (so an encoder layer that floors needs output_padding 1 in its mirror)."""
    size = int(rng.choice([16, 20, 28, 32, 48, 64]))
    inp = pinned.get("input") or [size, size, int(rng.choice([1, 3]))]
    layers = pinned.get("layers")
    if layers is None:
        enc, sides, chans = [], [inp[0]], [inp[2]]
        for i in range(int(rng.integers(2, 4))):
            f = int(rng.choice([3, 4, 5]))
            s = int(rng.choice([2, 2, 2, 1])) if i else 2
            pad = int(rng.choice([0, 1, (f - 1) // 2]))
            filt = int(rng.choice([8, 16, 32])) * 2 ** i
            enc.append({"type": "conv", "filters": filt, "kernel": f, "stride": s, "padding": pad})
            sides.append(_tconv_side(enc[-1], sides[-1]))
            chans.append(filt)
        layers = list(enc)
        for i in reversed(range(len(enc))):
            e = enc[i]
            back = (sides[i + 1] - 1) * e["stride"] - 2 * e["padding"] + e["kernel"]
            layers.append({"type": "convtranspose", "filters": chans[i], "kernel": e["kernel"], "stride": e["stride"],
                           "padding": e["padding"], "output_padding": sides[i] - back})
    return {"input": inp, "layers": layers}


def tconv_restores(p: dict[str, Any]) -> bool:
    """the decoder gives back the input's shape (output_padding in 0..stride-1), the code is at
    least 2x2 and every layer has at most 10^5 parameters (hand-sized products)"""
    a = transposed_conv_shapes(p)
    return a["restores_input"] and min(s[0] for s in a["shapes"]) >= 2 and max(a["layer_params"]) <= 100_000


# ====================================================================== residual_block_shapes (issue 15)
def check_residual_block_shapes(p: dict[str, Any]) -> None:
    _check_input_shape(p)
    if p["block"] not in ("basic", "bottleneck"):
        raise ParamError("block", f"expected basic or bottleneck, got {p['block']!r}")
    if not _pos_int(p["out_channels"]):
        raise ParamError("out_channels", f"expected a positive integer, got {p['out_channels']!r}")
    if p["block"] == "bottleneck" and not _pos_int(p.get("width")):
        raise ParamError("width", "a bottleneck block needs its inner width (a positive integer), "
                         f"got {p.get('width')!r}")
    if p["stride"] not in (1, 2) or not values.is_int(p["stride"]):
        raise ParamError("stride", f"expected 1 or 2, got {p['stride']!r}")


def _conv_bn(c_in: int, c_out: int, f: int) -> int:
    """parameters of a bias-free f x f conv and its batch norm (gamma and beta per channel)"""
    return f * f * c_in * c_out + 2 * c_out


def residual_block_shapes(p: dict[str, Any]) -> dict[str, Any]:
    """A ResNet block as torchvision builds it: bias-free convolutions each followed by batch
    norm; the stride sits on the first 3x3 conv (basic) or on the 3x3 conv (bottleneck, v1.5).
    The shortcut is a 1x1 conv with the block's stride + batch norm when the stride is not 1 or
    the channels change, else the identity. 3x3 convs pad 1, 1x1 convs pad 0."""
    h, w, c = p["input"]
    s, c_out = p["stride"], p["out_channels"]
    h2, w2 = (h - 1) // s + 1, (w - 1) // s + 1  # 3x3/pad 1 and 1x1/pad 0 with stride s alike
    if p["block"] == "basic":
        convs = [(3, c, c_out, s), (3, c_out, c_out, 1)]
    else:
        m = p["width"]
        convs = [(1, c, m, 1), (3, m, m, s), (1, m, c_out, 1)]
    shapes, main = [], []
    hh, ww = h, w
    for f, ci, co, st in convs:
        hh, ww = (hh - 1) // st + 1, (ww - 1) // st + 1
        shapes.append([hh, ww, co])
        main.append(_conv_bn(ci, co, f))
    projection = s != 1 or c != c_out
    shortcut = _conv_bn(c, c_out, 1) if projection else 0
    return {"shapes": shapes, "output_shape": [h2, w2, c_out], "conv_params": main,
            "main_params": sum(main), "projection": "yes" if projection else "no", "shortcut_params": shortcut,
            "block_params": sum(main) + shortcut}


def sample_residual_block_shapes(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """A stage of a ResNet: basic (channels 16-256) or bottleneck (width 16-128, out = 4 width);
    a third of the draws each keep shape and channels (identity shortcut), downsample (stride 2,
    channels doubled) or widen (stride 1, more channels)."""
    block = pinned.get("block", str(rng.choice(["basic", "bottleneck"])))
    side = int(rng.choice([8, 14, 16, 28, 32, 56]))
    how = rng.choice(["identity", "down", "widen"])
    if block == "basic":
        c_out = int(rng.choice([16, 32, 64, 128, 256]))
        c_in = c_out if how == "identity" else c_out // 2
        width = None
    else:
        width = int(rng.choice([16, 32, 64, 128]))
        c_out = 4 * width
        c_in = {"identity": c_out, "down": c_out // 2, "widen": width}[str(how)]
    p = {"input": [side, side, c_in], "block": block, "out_channels": c_out, "stride": 2 if how == "down" else 1}
    if width is not None:
        p["width"] = width
    return p


# ====================================================================== conv_macs (issue 15)
def check_conv_macs(p: dict[str, Any]) -> None:
    _check_input_shape(p)
    for name in ("c_out", "kernel", "fc_in", "fc_out", "T", "d"):
        if not _pos_int(p[name]):
            raise ParamError(name, f"expected a positive integer, got {p[name]!r}")
    if p["kernel"] % 2 == 0:
        raise ParamError("kernel", f"'same' padding needs an odd kernel, got {p['kernel']}")


def conv_macs(p: dict[str, Any]) -> dict[str, Any]:
    """Multiply-adds (one multiplication and one addition each; FLOPs = 2 MACs) of a k x k conv
    with 'same' padding and stride 1 (H x W x C_in -> H x W x C_out; bias adds not counted),
    its depthwise-separable version (depthwise k x k per channel, then 1x1 pointwise), a
    fully-connected layer (fc_in -> fc_out) and one attention head (QK^T and AV: T^2 d each)."""
    h, w, c = p["input"]
    k, co = p["kernel"], p["c_out"]
    standard = h * w * co * k * k * c
    depthwise = h * w * c * k * k
    pointwise = h * w * c * co
    separable = depthwise + pointwise
    qk = p["T"] * p["T"] * p["d"]
    return {"standard": standard, "depthwise": depthwise, "pointwise": pointwise, "separable": separable,
            "ratio": standard / separable, "fc": p["fc_in"] * p["fc_out"], "qk": qk, "av": qk,
            "attention": 2 * qk, "per_pixel_standard": k * k * c * co, "per_pixel_separable": c * (k * k + co)}


def sample_conv_macs(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Small feature maps (4-16: products a student multiplies out by hand), channels 8-128,
    kernel 3 or 5; an FC layer; T 8-64 tokens of head size 8-64."""
    side = int(rng.choice([4, 7, 8, 14, 16]))
    return {"input": [side, side, int(rng.choice([8, 16, 32, 64]))], "c_out": int(rng.choice([16, 32, 64, 128])),
            "kernel": int(rng.choice([3, 3, 5])), "fc_in": int(rng.choice([128, 256, 512, 784, 1024])),
            "fc_out": int(rng.choice([10, 64, 100, 128, 256])), "T": int(rng.choice([8, 16, 32, 50, 64])),
            "d": int(rng.choice([8, 16, 32, 64]))}


# ====================================================================== filter_design (seed 004 P5f)
def _binary_matrix(x: Any) -> np.ndarray | None:
    m = _matrix(x)
    return m if m is not None and np.all((m == 0) | (m == 1)) else None


def check_filter_design(p: dict[str, Any]) -> None:
    pat, img = _binary_matrix(p["pattern"]), _binary_matrix(p["image"])
    if pat is None or pat.shape != (3, 3) or pat.min() == pat.max():
        raise ParamError("pattern", "expected a 3x3 matrix of pixel values 0 (black) and 1 (white), both present, "
                         f"got {p['pattern']!r}")
    if img is None or img.shape != (5, 5):
        raise ParamError("image", f"expected a 5x5 matrix of pixel values 0 (black) and 1 (white), got {p['image']!r}")
    hits = _pattern_hits(pat, img)
    if len(hits) != 1:
        raise ParamError("image", f"the pattern must appear in exactly one 3x3 window of the image, it appears in "
                         f"{len(hits)}")


def _pattern_hits(pat: np.ndarray, img: np.ndarray) -> list[tuple[int, int]]:
    windows = np.lib.stride_tricks.sliding_window_view(img, (3, 3))
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(np.all(windows == pat, axis=(2, 3))))]


def filter_design(p: dict[str, Any]) -> dict[str, Any]:
    """The reference detector: +1 where the pattern is white, -1 where it is black. Its response
    sum K * window is largest exactly on the pattern (every white pixel adds, no black pixel
    subtracts); so is that of any filter with the same signs and no zero (check_filter)."""
    pat = np.asarray(p["pattern"], dtype=float)
    img = np.asarray(p["image"], dtype=float)
    k = 2 * pat - 1
    resp = _xcorr(img, k)
    (i, j), = _pattern_hits(pat, img)
    return {"filter": k, "peak": [i + 1, j + 1], "peak_value": float(resp[i, j]),
            "n_white": int(pat.sum()), "filter_and_response": np.vstack([k, resp]),
            "black_cells": [[int(a) + 1, int(b) + 1] for a, b in zip(*np.nonzero(pat == 0))]}


def _filter_fault(pattern: Any, k: np.ndarray) -> str | None:
    """Why a 3x3 filter does not respond most strongly to exactly the pattern (None: it does).
    The response to a window x in [0, 1]^9 is sum K x; it is largest, and only there, on the
    pattern iff K > 0 on its white pixels and K < 0 on its black ones."""
    pat = np.asarray(pattern, dtype=float)
    if k.shape != (3, 3):
        return f"expected a 3x3 filter, got shape {k.shape[0]}x{k.shape[1] if k.ndim > 1 else 1}"
    wrong = np.argwhere(((pat == 1) & (k <= 0)) | ((pat == 0) & (k >= 0)))
    if len(wrong):
        a, b = wrong[0]
        return (f"entry ({a + 1}, {b + 1}) is {k[a, b]:g}: a white pixel needs a positive weight, a black one a "
                "negative weight, else another window responds at least as strongly")
    return None


def check_filter(params: dict[str, Any], proposed: Any) -> tuple[bool, str]:
    """Grade part a: any 3x3 filter whose response is uniquely largest on the pattern."""
    k = _matrix(proposed)
    if k is None:
        return False, "expected a 3x3 matrix of numbers"
    fault = _filter_fault(params["pattern"], k)
    return (False, fault) if fault else (True, "correct")


def check_filter_response(params: dict[str, Any], proposed: Any) -> tuple[bool, str]:
    """Grade part b: the student's filter (rows 1-3, as in part a) and its response map on the
    image (the rows below): the map must be that filter's valid cross-correlation with the
    image. A filter that part a refused still earns this part with its own right map (a
    follow-up error counts once, as the rubric says)."""
    m = _matrix(proposed)
    img = np.asarray(params["image"], dtype=float)
    if m is None or m.shape != (6, 3):
        return False, "expected the 3x3 filter stacked on the 3x3 response map (6 rows of 3)"
    k, resp = m[:3], m[3:]
    want = _xcorr(img, k)
    if want.shape != resp.shape or not np.allclose(want, resp, atol=1e-9):
        return False, f"the response of this filter is {want.tolist()}, not {resp.tolist()}"
    return True, "correct"


#: patterns a 3x3 detector is asked for (0 black, 1 white): crosses, lines, corners, a T, a dot, a ring
FILTER_PATTERNS = [
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]], [[1, 0, 1], [0, 0, 0], [1, 0, 1]], [[1, 0, 1], [1, 0, 1], [1, 0, 1]],
    [[1, 1, 1], [0, 0, 0], [1, 1, 1]], [[0, 1, 1], [1, 0, 1], [1, 1, 0]], [[1, 1, 0], [1, 0, 1], [0, 1, 1]],
    [[0, 1, 1], [0, 1, 1], [0, 0, 0]], [[0, 0, 0], [1, 0, 1], [1, 0, 1]], [[1, 1, 1], [1, 0, 1], [1, 1, 1]],
    [[0, 0, 0], [0, 1, 0], [0, 0, 0]], [[1, 1, 0], [1, 1, 0], [0, 0, 0]], [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
]


def sample_filter_design(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """A pattern of FILTER_PATTERNS and a 5x5 binary image with the pattern in one window (drawn
    again until no other window shows it)."""
    pat = np.asarray(pinned.get("pattern") or FILTER_PATTERNS[int(rng.integers(len(FILTER_PATTERNS)))])
    if "image" in pinned or _binary_matrix(pat.tolist()) is None or pat.shape != (3, 3):
        return {"pattern": pat.tolist(), "image": pinned.get("image", [[0] * 5] * 5)}  # the checker judges
    for _ in range(200):
        img = (rng.random((5, 5)) < 0.5).astype(int)
        i, j = int(rng.integers(3)), int(rng.integers(3))
        img[i:i + 3, j:j + 3] = pat
        if len(_pattern_hits(pat, img)) == 1:
            break
    return {"pattern": pat.tolist(), "image": img.tolist()}
