"""Independent oracles for the issue-15 recurrent and optimization templates: gru_scalar_forward,
lr_schedule, grad_clipping and adamw_vs_adam_l2.

Expected values come from torch (nn.GRU / nn.GRUCell with their weights set,
torch.optim.lr_scheduler stepping a real optimizer, torch.nn.utils.clip_grad_norm_ /
clip_grad_value_, torch.optim.AdamW and torch.optim.Adam(weight_decay=)) or from numbers worked by
hand in the docstrings; examgen's own formulas are never called. Draws go through the templates'
own samplers: solve_question(template, derive_seed(2026, n, id)). No seed exam has numbers for
these topics (seed 002 Q16 asks GRUs and clipping in words), so the pinned cases are hand-worked.
"""

from __future__ import annotations

import math

import pytest
import torch
from oracle import (
    DRAWS,
    float64,  # noqa: F401  (float64: autouse fixture)
)
from oracle import close as _close
from oracle import draws as _draws
from oracle import pinned as _pinned
from oracle import t as _t
from torch import nn

from examgen.bank import load_bank
from examgen.errors import ParamError

BANK = load_bank()


# ====================================================================== gru_scalar_forward
GRU_ORDER = ("r", "z", "n")  # PyTorch's order of the rows of weight_ih / weight_hh / the biases


def _gru_oracle(p: dict) -> dict:
    """nn.GRU(1, 1) with the template's weights: weight_ih = (w_r, w_z, w_n), weight_hh = (u_r, u_z, u_n),
    bias_ih = (b_r, b_z, b_n), bias_hh = (0, 0, bh_n): PyTorch adds b_hr, b_hz to the gates (so b_r, b_z
    are the sums) but keeps b_hn inside r * (W_hn h + b_hn). The gates come from nn.GRUCell's own
    weights with torch's functions; the states from nn.GRU and nn.GRUCell, checked against each other."""
    gru, cell = nn.GRU(1, 1), nn.GRUCell(1, 1)
    with torch.no_grad():
        for m, suffix in ((gru, "_l0"), (cell, "")):
            getattr(m, "weight_ih" + suffix).copy_(_t([[p[f"w_{g}"]] for g in GRU_ORDER]))
            getattr(m, "weight_hh" + suffix).copy_(_t([[p[f"u_{g}"]] for g in GRU_ORDER]))
            getattr(m, "bias_ih" + suffix).copy_(_t([p[f"b_{g}"] for g in GRU_ORDER]))
            getattr(m, "bias_hh" + suffix).copy_(_t([0.0, 0.0, p["bh_n"]]))
        seq, h_last = gru(_t(p["x"]).reshape(-1, 1, 1), _t([[[p["h0"]]]]))
        h = _t([[p["h0"]]])
        out: dict[str, list] = {k: [] for k in ("r", "z", "n", "h")}
        for x in p["x"]:
            gi = cell.weight_ih @ _t([x]) + cell.bias_ih
            gh = cell.weight_hh @ h[0] + cell.bias_hh
            r, z = torch.sigmoid(gi[0] + gh[0]), torch.sigmoid(gi[1] + gh[1])
            out["r"].append(r)
            out["z"].append(z)
            out["n"].append(torch.tanh(gi[2] + r * gh[2]))
            h = cell(_t([[x]]), h)
            out["h"].append(h[0, 0])
    _close(seq.reshape(-1), torch.stack(out["h"]), "nn.GRU vs nn.GRUCell h")
    _close(h_last.reshape(()), out["h"][-1], "nn.GRU h_T")
    # h = (1 - z) n + z h_prev, read back from torch's own r, z, n and h
    prev = torch.stack([_t(p["h0"]), *out["h"][:-1]])
    _close(torch.stack(out["h"]), (1 - torch.stack(out["z"])) * torch.stack(out["n"]) + torch.stack(out["z"]) * prev,
           "torch's h from its gates")
    return {k: torch.stack(v) for k, v in out.items()}


def test_gru_scalar_forward_matches_torch():
    for n, q in _draws("gru_scalar_forward"):
        exp = _gru_oracle(q.params)
        ctx = f"draw {n}, params {q.params}"
        for k, v in exp.items():
            _close(q.answers[k], v, k, ctx)
            _close(q.answers[f"{k}_1"], v[0], f"{k}_1", ctx)
            _close(q.answers[f"{k}_rest"], v[1:], f"{k}_rest", ctx)
        assert q.answers["copy_gate"] == "z"


# hand-worked: x = (1, -1), h0 = 0.5; r = sigma(0.5 + 0.5*0.5 + 0) = sigma(0.75), z = sigma(0) = 0.5 at t = 1
GRU_HAND = {"x": [1, -1], "h0": 0.5, "w_r": 0.5, "u_r": 0.5, "b_r": 0, "w_z": 1, "u_z": -2, "b_z": 0,
            "w_n": 1, "u_n": 2, "b_n": -1, "bh_n": -1}


def test_gru_scalar_forward_hand_worked():
    """t = 1: r_1 = sigma(0.75) = 0.679179, z_1 = sigma(1 - 1) = 0.5, the candidate's hidden side
    u_n h_0 + bh_n = 2 * 0.5 - 1 = 0, so n_1 = tanh(1 - 1 + r_1 * 0) = 0 whatever r_1 is, and
    h_1 = 0.5 * 0 + 0.5 * 0.5 = 0.25. A solver that put bh_n outside the product with r
    (n = tanh(w_n x + b_n + bh_n + r u_n h)) gets n_1 = tanh(-1 + 0.679179) = -0.3103 instead."""
    q = _pinned("gru_scalar_forward", GRU_HAND)
    a = q.answers
    assert a["r_1"] == pytest.approx(1 / (1 + math.exp(-0.75)), abs=1e-12)
    assert a["z_1"] == 0.5
    assert a["n_1"] == 0.0
    assert a["h_1"] == 0.25
    exp = _gru_oracle(GRU_HAND)
    _close(a["h"], exp["h"], "h")


BAD = [
    ("gru_scalar_forward", {**GRU_HAND, "x": [0.5]},
     "template 'gru_scalar_forward', parameter 'x': expected a sequence of 2 to 6 numbers, got [0.5]"),
    ("gru_scalar_forward", {**GRU_HAND, "bh_n": "one"},
     "template 'gru_scalar_forward', parameter 'bh_n': expected a number, got 'one'"),
]


# ====================================================================== lr_schedule
def _torch_lrs(p: dict, epochs: int) -> list[float]:
    """The lr a real SGD optimizer uses in epochs 0 .. epochs-1, its scheduler stepped after each epoch."""
    w = nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=p["lr"])
    sched = {
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=p["step_size"], gamma=p["gamma"]),
        "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=p["gamma"]),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p["t_max"]),
    }[p["schedule"]]()
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        w.grad = torch.ones(2)
        opt.step()
        sched.step()
    return out


def test_lr_schedule_matches_torch():
    seen = set()
    for n, q in _draws("lr_schedule"):
        p, a = q.params, q.answers
        seen.add(p["schedule"])
        ctx = f"draw {n}, params {p}"
        assert len(a["lrs"]) == p["epochs"], ctx
        lrs = _torch_lrs(p, max(p["epochs"], a["later"] + 1))
        _close(a["lrs"], lrs[: p["epochs"]], "lrs", ctx)
        _close(a["lr_later"], lrs[a["later"]], f"lr of epoch {a['later']}", ctx)
    assert seen == {"step", "exponential", "cosine"}


@pytest.mark.parametrize(("params", "lrs", "later", "lr_later"), [
    # StepLR(step_size=2, gamma=0.1) from 1: 1, 1, 0.1, 0.1, 0.01; epoch 5 + 2 = 7: floor(7/2) = 3 decays
    ({"schedule": "step", "lr": 1, "epochs": 5, "step_size": 2, "gamma": 0.1}, [1, 1, 0.1, 0.1, 0.01], 7, 0.001),
    # ExponentialLR(0.5) from 0.8: 0.8, 0.4, 0.2, 0.1; epoch 2 * 4 = 8: 0.8 / 256
    ({"schedule": "exponential", "lr": 0.8, "epochs": 4, "gamma": 0.5}, [0.8, 0.4, 0.2, 0.1], 8, 0.003125),
    # CosineAnnealingLR(T_max=4) from 0.4: 0.2 (1 + cos(pi t / 4)) = 0.4, 0.2 + 0.1 sqrt 2, 0.2, 0.2 - 0.1 sqrt 2, 0;
    # epoch 2 * 4 - 1 = 7: cos(7 pi / 4) = cos(pi / 4), the rate is back at epoch 1's
    ({"schedule": "cosine", "lr": 0.4, "epochs": 5, "t_max": 4},
     [0.4, 0.2 + 0.1 * math.sqrt(2), 0.2, 0.2 - 0.1 * math.sqrt(2), 0.0], 7, 0.2 + 0.1 * math.sqrt(2)),
])
def test_lr_schedule_hand_worked(params, lrs, later, lr_later):
    a = _pinned("lr_schedule", params).answers
    _close(a["lrs"], lrs, "lrs", str(params))
    assert a["later"] == later
    _close(a["lr_later"], lr_later, "lr_later", str(params))
    _close(a["lrs"], _torch_lrs(params, params["epochs"]), "lrs (torch)", str(params))


# ====================================================================== grad_clipping
def _torch_clip(g: list, max_norm: float, how: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gradient split over two parameters (the norm is global), clipped by torch in place."""
    k = max(1, len(g) // 2)
    ps = [nn.Parameter(torch.zeros(k)), nn.Parameter(torch.zeros(len(g) - k))]
    ps[0].grad, ps[1].grad = _t(g[:k]).clone(), _t(g[k:]).clone()
    total = None
    if how == "norm":
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    else:
        torch.nn.utils.clip_grad_value_(ps, max_norm)
    return torch.cat([p.grad for p in ps]), total


def test_grad_clipping_matches_torch():
    """clip_grad_norm_ scales by max_norm / (total_norm + 1e-6): its result is smaller than the exact
    g * max_norm / ||g|| (the key, what the statement asks with 'ignore its tiny eps') by the relative
    factor 1e-6 / (||g|| + 1e-6) < 1e-6 (||g|| >= 1 in draws), so the norm clip is compared with
    rtol 1e-6; the global norm and the value clip are exact."""
    kept = 0
    for n, q in _draws("grad_clipping"):
        p, a = q.params, q.answers
        ctx = f"draw {n}, params {p}"
        clipped, total = _torch_clip(p["g"], p["max_norm"], "norm")
        _close(a["norm"], total, "global norm", ctx)
        torch.testing.assert_close(_t(a["g_clipped"]), clipped, rtol=1e-6, atol=0,
                                   msg=lambda m, ctx=ctx: f"{ctx}: clip by norm differs from torch\n{m}")
        assert a["norm"] >= 1 and a["clipped"] is True, ctx
        _close(a["clip_coef"], _t(p["max_norm"]) / torch.linalg.vector_norm(_t(p["g"])), "factor", ctx)
        # direction unchanged: cosine 1 with g, length max_norm
        g = _t(p["g"])
        _close(torch.nn.functional.cosine_similarity(clipped, g, dim=0), 1.0, "cosine", ctx, atol=1e-12)
        _close(torch.linalg.vector_norm(_t(a["g_clipped"])), p["max_norm"], "clipped norm", ctx)
        by_value, _ = _torch_clip(p["g"], p["max_norm"], "value")
        _close(a["g_value_clipped"], by_value, "value clip", ctx)
        same = bool(torch.nn.functional.cosine_similarity(by_value, g, dim=0) > 1 - 1e-12)
        assert a["value_keeps_direction"] == ("yes" if same else "no"), ctx
        kept += same
    assert kept == 0  # draws are chosen so that clipping by value visibly turns the gradient


def test_grad_clipping_hand_worked():
    """g = (3, -4, 0, 12): ||g|| = sqrt(9 + 16 + 144) = 13; max_norm 6.5 halves it to (1.5, -2, 0, 6);
    by value: (3, -4, 0, 6.5), not parallel to g. With max_norm 20 nothing is clipped (the degenerate case,
    only when pinned)."""
    a = _pinned("grad_clipping", {"g": [3, -4, 0, 12], "max_norm": 6.5}).answers
    assert a["norm"] == 13 and a["clip_coef"] == 0.5
    assert a["g_clipped"] == [1.5, -2, 0, 6]
    assert a["g_value_clipped"] == [3, -4, 0, 6.5] and a["value_keeps_direction"] == "no"
    b = _pinned("grad_clipping", {"g": [3, -4, 0, 12], "max_norm": 20}).answers
    assert b["clip_coef"] == 1 and b["g_clipped"] == [3, -4, 0, 12] and b["clipped"] is False
    clipped, _ = _torch_clip([3, -4, 0, 12], 20, "norm")
    _close(b["g_clipped"], clipped, "unclipped")


BAD += [
    ("grad_clipping", {"g": [0, 0], "max_norm": 1},
     "template 'grad_clipping', parameter 'g': expected a gradient with a non-zero entry, got [0, 0]"),
    ("grad_clipping", {"g": [3, 4], "max_norm": 0},
     "template 'grad_clipping', parameter 'max_norm': expected a threshold > 0, got 0"),
]


# ====================================================================== adamw_vs_adam_l2
def _torch_first_step(p: dict, opt_cls) -> torch.Tensor:
    """One step of a real torch optimizer (AdamW, or Adam whose weight_decay adds lam w to the gradient)."""
    w = nn.Parameter(_t(p["w"]).clone())
    opt = opt_cls([w], lr=p["lr"], betas=(p.get("beta1", 0.9), p.get("beta2", 0.999)), eps=p.get("eps", 1e-8),
                  weight_decay=p["weight_decay"])
    w.grad = _t(p["g"]).clone()
    opt.step()
    return w.detach()


def test_adamw_vs_adam_l2_matches_torch():
    flips = 0
    for n, q in _draws("adamw_vs_adam_l2"):
        p, a = q.params, q.answers
        ctx = f"draw {n}, params {p}"
        adamw = _torch_first_step(p, torch.optim.AdamW)
        adam_l2 = _torch_first_step(p, torch.optim.Adam)
        _close(a["w_adamw"], adamw, "AdamW", ctx)
        _close(a["w_adam_l2"], adam_l2, "Adam(weight_decay=)", ctx)
        _close(a["difference"], adamw - adam_l2, "difference", ctx)
        # the L2 gradient torch adds, read back: (w - w_new) / lr = m_hat / (sqrt(v_hat) + eps) of d = g + lam w
        d = _t(p["g"]) + p["weight_decay"] * _t(p["w"])
        _close(a["g_l2"], d, "g + lam w", ctx)
        _close(a["adam_step_l2"], (_t(p["w"]) - adam_l2) / p["lr"], "Adam's step direction", ctx)
        flips += int(torch.any(torch.sign(d) != torch.sign(_t(p["g"]))))
    assert flips == len(DRAWS)  # every draw shows the L2 term turning a step (the sampler's niceness)


def test_adamw_vs_adam_l2_hand_worked():
    """w = (2, -1), g = (0.1, 0.3), lr 0.1, lam 0.5. Step 1 of Adam moves each weight by lr sign(d) (up to eps).
    AdamW: 0.95 w - 0.1 (1, 1) = (1.8, -1.05). Adam + L2: d = (0.1 + 1, 0.3 - 0.5) = (1.1, -0.2),
    w - 0.1 (1, -1) = (1.9, -0.9). Difference (-0.1, -0.15): the L2 term flipped the second step."""
    params = {"w": [2, -1], "g": [0.1, 0.3], "lr": 0.1, "weight_decay": 0.5}
    a = _pinned("adamw_vs_adam_l2", params).answers
    _close(a["w_adamw"], [1.8, -1.05], "AdamW", atol=1e-7)
    _close(a["w_adam_l2"], [1.9, -0.9], "Adam + L2", atol=1e-7)
    _close(a["difference"], [-0.1, -0.15], "difference", atol=1e-7)
    _close(a["w_adamw"], _torch_first_step(params, torch.optim.AdamW), "AdamW (torch)")


BAD += [
    ("adamw_vs_adam_l2", {"w": [1, 2], "g": [0.1], "lr": 0.1, "weight_decay": 0.1},
     "template 'adamw_vs_adam_l2', parameter 'g': expected 2 entries (one gradient entry per weight), got 1"),
    ("adamw_vs_adam_l2", {"w": [1, 2], "g": [0.1, 0.2], "lr": 0.1, "weight_decay": 0.1, "eps": 0},
     "template 'adamw_vs_adam_l2', parameter 'eps': expected eps > 0 (Adam divides by sqrt(v_hat) + eps), got 0"),
    ("lr_schedule", {"schedule": "linear", "lr": 0.1, "epochs": 3},
     "template 'lr_schedule', parameter 'schedule': expected one of step, exponential, cosine, got 'linear'"),
    ("lr_schedule", {"schedule": "cosine", "lr": 0.1, "epochs": 3, "t_max": 0},
     "template 'lr_schedule', parameter 't_max': expected an integer from 1 to 1000, got 0"),
]

# ====================================================================== bad pinned parameters (every section's BAD)


@pytest.mark.parametrize(("tid", "params", "message"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_pinned_params_name_the_parameter(tid, params, message):
    with pytest.raises(ParamError) as exc:
        _pinned(tid, params)
    assert str(exc.value) == message
