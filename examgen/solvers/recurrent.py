"""Recurrent networks (seeds 004 P6, 001 P10b): h_t = ReLU(u h_{t-1} + w x_t), y_T = v h_T."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError

T = "rnn_relu_scalar"


def check_rnn_relu_scalar(p: dict[str, Any]) -> None:
    if p.get("relu_grad_at_zero", 0) not in (0, 1):
        raise ParamError("relu_grad_at_zero", f"expected 0 or 1, got {p['relu_grad_at_zero']!r}", T)
    if not isinstance(p["x"], list) or not 1 <= len(p["x"]) <= 6:
        raise ParamError("x", f"expected a sequence of 1 to 6 numbers, got {p['x']!r}", T)


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
        "z": zs, "h": hs, "relu_grad": grads, "h_T": hs[-1], "y_T": v * hs[-1],
        "dh_du": dh_du, "dh_dw": dh_dw, "dh_dx1": dh_dx1, "dy_du": v * dh_du,
    }


def hidden_alive(p: dict[str, Any]) -> bool:
    """h_T > 0 and no pre-activation is exactly 0 (gradients are not all zero, no ReLU'(0) ambiguity)"""
    a = rnn_relu_scalar(p)
    return a["h_T"] > 0 and all(z != 0 for z in a["z"]) and a["dh_du"] != 0


def hand_sized(p: dict[str, Any]) -> bool:
    """every hidden state and gradient stays within 60 in magnitude"""
    a = rnn_relu_scalar(p)
    return bool(np.all(np.abs(a["h"]) <= 60) and abs(a["dh_du"]) <= 60 and abs(a["dh_dw"]) <= 60)
