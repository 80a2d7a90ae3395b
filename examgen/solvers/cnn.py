"""Convolutional network shapes, parameter counts and receptive fields
(seeds 001 P7, 003 P3, 004 P4). Output size: floor((n + 2p - f) / s) + 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError

T = "cnn_shapes"
LAYER_KEYS = {
    "conv": {"type", "filters", "kernel", "stride", "padding"},
    "maxpool": {"type", "kernel", "stride", "padding"},
    "avgpool": {"type", "kernel", "stride", "padding"},
    "relu": {"type"},
    "batchnorm": {"type"},
}


def _pos_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def check_cnn_shapes(p: dict[str, Any]) -> None:
    inp = p["input"]
    if not (isinstance(inp, list) and len(inp) == 3 and all(_pos_int(v) for v in inp)):
        raise ParamError("input", f"expected [H, W, C] of positive integers, got {inp!r}", T)
    if not isinstance(p["layers"], list) or not p["layers"]:
        raise ParamError("layers", "expected a non-empty list of layers", T)
    h, w = inp[0], inp[1]
    for i, layer in enumerate(p["layers"]):
        where = f"layers[{i}]"
        if not isinstance(layer, dict) or layer.get("type") not in LAYER_KEYS:
            raise ParamError(where, f"expected a mapping with type one of {', '.join(LAYER_KEYS)}, got {layer!r}", T)
        keys = LAYER_KEYS[layer["type"]]
        required = keys - {"padding", "stride"}
        missing, extra = required - set(layer), set(layer) - keys
        if missing or extra:
            raise ParamError(where, f"{layer['type']} layer needs keys {sorted(keys)} (stride default 1, padding "
                             f"default 0); missing {sorted(missing)}, unknown {sorted(extra)}", T)
        if layer["type"] in ("conv", "maxpool", "avgpool"):
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            if not (_pos_int(f) and _pos_int(s) and isinstance(pad, int) and pad >= 0):
                raise ParamError(where, "kernel and stride must be positive integers, padding an integer >= 0", T)
            if layer["type"] != "conv" and pad > f // 2:
                raise ParamError(where, f"pooling padding {pad} exceeds half the kernel {f}", T)
            if layer["type"] == "conv" and not _pos_int(layer["filters"]):
                raise ParamError(where, "filters must be a positive integer", T)
            h, w = (h + 2 * pad - f) // s + 1, (w + 2 * pad - f) // s + 1
            if h < 1 or w < 1:
                raise ParamError(where, f"the kernel {f} does not fit the {h}x{w} input left at this layer", T)
    nc = p.get("num_classes")
    if nc is not None and not _pos_int(nc):
        raise ParamError("num_classes", f"expected a positive integer, got {nc!r}", T)


def cnn_shapes(p: dict[str, Any]) -> dict[str, Any]:
    h, w, c = p["input"]
    shapes, params, conv_params, rf_list = [], [], [], []
    rf, jump = 1, 1
    for layer in p["layers"]:
        kind = layer["type"]
        n_params = 0
        if kind in ("conv", "maxpool", "avgpool"):
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            h, w = (h + 2 * pad - f) // s + 1, (w + 2 * pad - f) // s + 1
            rf += (f - 1) * jump
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
        "total_params": int(np.sum(params)), "receptive_field": rf_list,
    }
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
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            if (h + 2 * pad - f) % s:
                return False
            h = (h + 2 * pad - f) // s + 1
    return h >= 2
