"""Independent oracles for the convolution templates (conv_param_count, pool_coverage,
conv2d_apply, conv_forward_backward, conv1x1_pool_bce).

Expected values come from torch (nn.Conv2d parameter counts, F.conv2d, F.max_pool2d,
F.avg_pool2d, autograd, torch.optim.SGD) or from the seed exams' worked solutions
(/work/shared/seeds/); examgen's own formulas are never called. Draws go through the
templates' own samplers: solve_question(BANK.templates[id], derive_seed(seed, n, id)).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.questions import solve_question
from examgen.sampling import derive_seed

BANK = load_bank()
DRAWS = range(1, 201)
ATOL = 1e-9


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


torch.set_num_threads(1)  # tiny tensors; several test runs share two cores


def _close(actual, expected, what: str) -> None:
    a, e = _t(actual), _t(expected)
    assert a.shape == e.shape and bool(torch.all((a - e).abs() <= ATOL)), f"{what}: {a.tolist()} != {e.tolist()}"


def _draws(tid: str):
    t = BANK.templates[tid]
    for n in DRAWS:
        yield n, solve_question(t, derive_seed(7, n, tid))


def _pinned(tid: str, params: dict):
    return solve_question(BANK.templates[tid], derive_seed(0, 1, tid), params)


def _decimals_ok(x, digits: int = 2) -> bool:
    v = _t(x) * 10**digits
    return bool(torch.all((v - v.round()).abs() < 1e-6))


# ============================================================== conv_param_count
def _torch_counts(c_in, c_out, kernel, bias):
    layer = nn.Conv2d(c_in, c_out, tuple(kernel) if isinstance(kernel, list) else kernel, bias=bias)
    weights = layer.weight.numel()
    biases = layer.bias.numel() if layer.bias is not None else 0
    return weights, biases


def test_conv_param_count_matches_torch():
    for n, q in _draws("conv_param_count"):
        p, a = q.params, q.answers
        w, b = _torch_counts(p["c_in"], p["c_out"], p["kernel"], p["bias"])
        assert (a["weights"], a["biases"], a["total"]) == (w, b, w + b), (n, p)


def test_conv_param_count_seed_000_1_2():
    """Seed 000 1.2: nn.Conv2d(3, 20, 5) has 3*20*5*5 = 1500 weights (the marked option). The
    question asks for weights; with PyTorch's default bias the layer has 20 more parameters."""
    a = _pinned("conv_param_count", {"c_in": 3, "c_out": 20, "kernel": 5, "bias": True}).answers
    assert (a["weights"], a["biases"], a["total"]) == (1500, 20, 1520)


def test_conv_param_count_seed_001_p7c():
    """Seed 001 P7c: 11x11 conv, 3 -> 96 channels, with bias: (11*11*3 + 1) * 96 = 34944."""
    a = _pinned("conv_param_count", {"c_in": 3, "c_out": 96, "kernel": 11, "bias": True}).answers
    assert a["total"] == 34944 and a["weights"] == 34848 and a["biases"] == 96


def test_conv_param_count_rectangular_kernel():
    a = _pinned("conv_param_count", {"c_in": 4, "c_out": 8, "kernel": [1, 3], "bias": False}).answers
    assert (a["weights"], a["biases"], a["total"]) == (96, 0, 96)


@pytest.mark.parametrize("bad, param", [
    ({"kernel": 0}, "kernel"), ({"kernel": [3]}, "kernel"), ({"c_in": -1}, "c_in"), ({"bias": 1}, "bias"),
])
def test_conv_param_count_rejects(bad, param):
    params = {"c_in": 3, "c_out": 20, "kernel": 5, "bias": True, **bad}
    with pytest.raises(ParamError) as exc:
        _pinned("conv_param_count", params)
    assert exc.value.param == param and f"parameter '{param}'" in str(exc.value)


# ============================================================== pool_coverage
def _unused_by_autograd(size, kernel, stride):
    """Pixels whose gradient through avg_pool2d is zero are in no window."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = F.avg_pool2d(x, kernel, stride=stride)
    out.sum().backward()
    return out.shape[-1], int((x.grad == 0).sum())


def test_pool_coverage_matches_torch():
    for n, q in _draws("pool_coverage"):
        p, a = q.params, q.answers
        side, unused = _unused_by_autograd(p["size"], p["kernel"], p["stride"])
        assert a["out_side"] == side, (n, p)
        assert a["unused_pixels"] == unused, (n, p)
        _close(a["unused_fraction"], unused / p["size"] ** 2, f"draw {n} {p}")
        assert _decimals_ok(a["unused_percent"], 2) and 0 < a["unused_fraction"] < 1, (n, p)


def test_pool_coverage_seed_000_1_3():
    """Seed 000 1.3: AvgPool2d(2, stride=4) on 200x200 leaves 75 % of the inputs unused (the marked
    option). The seed's note writes (200 - 2)/4 + 1 = 50.5: the output side is floor(198/4) + 1 = 50."""
    a = _pinned("pool_coverage", {"size": 200, "kernel": 2, "stride": 4}).answers
    assert a["out_side"] == 50 and a["unused_fraction"] == 0.75 and a["unused_percent"] == 75


def test_pool_coverage_tail_counted_exactly():
    """The last window need not reach the border: 7x7, kernel 2, stride 2 leaves row/column 7."""
    a = _pinned("pool_coverage", {"size": 7, "kernel": 2, "stride": 2}).answers
    assert a["out_side"] == 3 and a["unused_pixels"] == 49 - 36


@pytest.mark.parametrize("bad, param", [({"kernel": 300}, "kernel"), ({"stride": 0}, "stride")])
def test_pool_coverage_rejects(bad, param):
    with pytest.raises(ParamError) as exc:
        _pinned("pool_coverage", {"size": 200, "kernel": 2, "stride": 4, **bad})
    assert exc.value.param == param


# ============================================================== conv2d_apply
def _conv_oracle(p):
    x, k = _t(p["input"])[None, None], _t(p["kernel"])[None, None]
    out = F.conv2d(x, k, padding=p["padding"], stride=p["stride"])
    pooled = F.max_pool2d(out, p["pool"]) if p.get("pool") else None
    return out[0, 0], (pooled[0, 0] if pooled is not None else None)


def test_conv2d_apply_matches_torch():
    for n, q in _draws("conv2d_apply"):
        p, a = q.params, q.answers
        out, pooled = _conv_oracle(p)
        _close(a["output"], out, f"draw {n} {p}: output")
        assert a["out_shape"] == list(out.shape)
        if p["pool"] is None:  # the ReLU branch (and every 'same' draw, issue 14)
            _close(a["c_output"], F.relu(out), f"draw {n} {p}: relu")
        else:
            assert p["pool"] == 2 and p["padding"] != "same"
            _close(a["c_output"], pooled, f"draw {n} {p}: pooled")
            assert all(s % 2 == 0 for s in out.shape)  # pooling exact
        assert out.numel() <= 16  # hand-sized


SEED_002_Q12 = [  # (M, K, expected output (torch, checked by hand), pooled or None)
    ([[1, 2, 3, 4, -4, -2, -1, 0]], [[-1, 1, -1]], [[-1, -2, -3, 5, -6, 3, 1, 1]], None),
    ([[1, -10, 10], [5, 1, -5], [1, -10, 0]], [[1, 1, 1]] * 3,
     [[-3, 2, -4], [-12, -7, -14], [-3, -8, -14]], [[2]]),
    ([[-1, 1, -1]] * 4, [[0, 1, 0], [1, 0, 1], [0, 1, 0]],
     [[0, -1, 0], [-1, 0, -1], [-1, 0, -1], [0, -1, 0]], [[0], [0]]),
    ([[5, 5, -10], [-5, 1, -1], [5, -1, -10]], [[-1, 0, 0], [0, 0, 0], [0, 0, 1]],
     [[1, -1, 0], [-1, -15, -5], [0, 5, -1]], [[1]]),
]


@pytest.mark.parametrize("m, k, out, pooled", SEED_002_Q12)
def test_conv2d_apply_seed_002_q12(m, k, out, pooled):
    """Seed 002 Q12 a-e ('same' padding, then 2x2 max pooling of results b-d without padding; the
    3x3 results pool to 1x1 and the 4x3 one to 2x1 because incomplete windows are dropped). The seed
    has no worked solution; the values are torch's and were checked by hand (e.g. a) position 4:
    -3 + 4 + 4 = 5; d) centre: -1*5 + 1*(-10) = -15)."""
    params = {"input": m, "kernel": k, "padding": "same", "stride": 1, "pool": 2 if pooled else None}
    a = _pinned("conv2d_apply", params).answers
    assert a["output"] == out
    exp_out, exp_pooled = _conv_oracle(params)
    _close(a["output"], exp_out, "seed 002 Q12")
    if pooled:
        assert a["c_output"] == pooled
        _close(a["c_output"], exp_pooled, "seed 002 Q12 pooling")
    else:  # no pooling: part c is the ReLU of the output
        assert a["c_output"] == [[max(v, 0) for v in row] for row in out]


def test_conv2d_apply_pins_pool_automatically_when_it_fits():
    """Pinning only the matrices: 'same' padding for odd kernels, and pooling only when the output
    has room for a 2x2 window (seed a) is 1x8, so it gets no pooling, as in the seed)."""
    q = _pinned("conv2d_apply", {"input": SEED_002_Q12[0][0], "kernel": SEED_002_Q12[0][1]})
    assert q.params["padding"] == "same" and q.params["pool"] is None
    assert q.answers["output"] == SEED_002_Q12[0][2]


@pytest.mark.parametrize("bad, param, text", [
    ({"padding": "valid"}, "padding", "expected 'same' or an integer >= 0"),
    ({"kernel": [[1, 1], [1, 1]]}, "padding", "'same' needs a kernel of odd sides"),
    ({"stride": 2}, "padding", "'same' needs stride 1"),
    ({"pool": 5}, "pool", "larger than the 3x3 convolution output"),
    ({"input": [[1, 2], [3]]}, "input", "rows have different lengths"),
])
def test_conv2d_apply_rejects(bad, param, text):
    params = {"input": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "kernel": [[1, 0, 1]] * 3, "padding": "same",
              "stride": 1, "pool": 2, **bad}
    with pytest.raises(ParamError) as exc:
        _pinned("conv2d_apply", params)
    assert exc.value.param == param and text in str(exc.value)


# ============================================================== conv_forward_backward
def _fb_oracle(p):
    v = _t(p["V"])[None, None]
    k1 = _t(p["K1"])[:, None].requires_grad_(True)  # (C, 1, kh, kw)
    k2 = _t(p["K2"])[None].requires_grad_(True)  # (1, C, h, w)
    theta = _t(p["theta"]).requires_grad_(True)
    z1 = F.conv2d(v, k1)
    a1 = F.relu(z1)
    z2 = F.conv2d(a1, k2)
    a2 = F.relu(z2)
    logit = a2.reshape(()) + theta
    prob = torch.sigmoid(logit)
    loss = F.binary_cross_entropy_with_logits(logit, _t(p["y"]))
    loss.backward()
    return {"Z1": z1[0], "A1": a1[0], "z2": z2.reshape(()), "a2": a2.reshape(()), "prob": prob, "loss": loss,
            "dtheta": theta.grad,
            "dK1_tl": k1.grad[:, 0, 0, 0], "dK2_tl": k2.grad[0, :, 0, 0]}


def test_conv_forward_backward_matches_autograd():
    for n, q in _draws("conv_forward_backward"):
        p, a = q.params, q.answers
        exp = _fb_oracle(p)
        for key, val in exp.items():
            _close(a[key], val, f"draw {n} {p}: {key}")
        assert a["pred_class"] == int(exp["prob"].item() > 0.5)
        # the coefficients shown in the solution: gradient = c * (P - y), c an integer
        _close(_t(a["c_K1"]) * exp["dtheta"], exp["dK1_tl"], f"draw {n}: c_K1")
        _close(_t(a["c_K2"]) * exp["dtheta"], exp["dK2_tl"], f"draw {n}: c_K2")
        assert abs(a["logit"]) in (1, 2) and exp["z2"] > 0
        assert any(g != 0 for g in a["dK1_tl"]) and any(g != 0 for g in a["dK2_tl"])


SEED_002_Q13 = {"V": [[2, 3, 1], [4, 6, 9], [4, 7, 1]], "K1": [[[2, -3], [-3, 2]], [[1, -1], [-1, 1]]],
                "K2": [[[1, -2], [-4, 3]], [[2, 1], [1, 2]]], "theta": -2, "y": 0}


def test_conv_forward_backward_seed_002_q13_q14():
    """Seed 002 Q13-14 (no worked solution in the seed; values by hand and by autograd):
    Z1_1 = [[-5, 3], [-8, -34]], Z1_2 = [[1, 5], [1, -9]], Z2 = -6 + 8 = 2, P = sigmoid(2 - 2) = 0.5.
    With y = 0: dL/dtheta = 0.5, dL/dK2_1[1,1] = 0.5 * 0 = 0, dL/dK2_2[1,1] = 0.5 * 1 = 0.5,
    dL/dK1_1[1,1] = 0.5 * (-2) * V[1,2] = -3, dL/dK1_2[1,1] = 0.5 * (2*2 + 1*3 + 1*4) = 5.5.
    The seed asks to 'predict the output class' although P(y=1) = 0.5 exactly, a tie; the template
    states its rule (class 1 only if P > 0.5), giving 0, and its sampler never draws P = 0.5."""
    a = _pinned("conv_forward_backward", SEED_002_Q13).answers
    assert a["Z1"] == [[[-5, 3], [-8, -34]], [[1, 5], [1, -9]]]
    assert a["A1"] == [[[0, 3], [0, 0]], [[1, 5], [1, 0]]]
    assert a["z2"] == 2 and a["prob"] == 0.5 and a["pred_class"] == 0
    assert a["dtheta"] == 0.5 and a["dK2_tl"] == [0, 0.5] and a["dK1_tl"] == [-3, 5.5]
    assert math.isclose(a["loss"], math.log(2))
    exp = _fb_oracle(SEED_002_Q13)
    for key in ("dK1_tl", "dK2_tl", "loss"):
        _close(a[key], exp[key], f"seed 002 Q14 {key}")


@pytest.mark.parametrize("bad, param", [
    ({"K2": [[[1, 2], [3, 4]]]}, "K2"), ({"y": 2}, "y"), ({"K1": [[[1, 2, 3, 4]] * 4]}, "K1"),
    ({"V": [[1], [2, 3]]}, "V"),
])
def test_conv_forward_backward_rejects(bad, param):
    with pytest.raises(ParamError) as exc:
        _pinned("conv_forward_backward", {**SEED_002_Q13, **bad})
    assert exc.value.param == param


# ============================================================== conv1x1_pool_bce
def _bce_oracle(p):
    x = _t(p["x"])[None]  # (1, C, H, W)
    w = _t(p["w"]).reshape(1, -1, 1, 1).clone().requires_grad_(True)
    z = F.conv2d(x, w)
    pad = p["pool_padding"]
    zp = F.pad(z, (pad, pad, pad, pad), value=0.0)  # ZERO padding, as the question states
    pred = F.max_pool2d(zp, p["pool"], stride=p["pool"])
    loss = F.binary_cross_entropy(pred[0, 0], _t(p["y"]), reduction="sum")
    opt = torch.optim.SGD([w], lr=p["lr"])
    opt.zero_grad()
    loss.backward()
    grad = w.grad.reshape(-1).clone()
    opt.step()
    return {"z": z[0, 0], "pred": pred[0, 0], "loss": loss, "grad": grad, "w_new": w.detach().reshape(-1)}


def test_conv1x1_pool_bce_matches_autograd():
    for n, q in _draws("conv1x1_pool_bce"):
        p, a = q.params, q.answers
        exp = _bce_oracle(p)
        for key, val in exp.items():
            _close(a[key], val, f"draw {n} {p}: {key}")
        # hand-computable: x one decimal, gradient and new weights at most two decimals
        assert _decimals_ok(p["x"], 1) and _decimals_ok(a["grad"]) and _decimals_ok(a["w_new"]), (n, p)
        assert (a["pool_ties"] == 0 or p["pool_padding"] == 1) and any(g != 0 for g in a["grad"])


SEED_004_P5 = {"x": [[[1, -0.5], [2, -2]], [[-2, 1], [-1.5, 1]], [[1, 0], [0, 0]]], "w": [1, 1, 1],
               "y": [[0, 1], [1, 0]], "pool": 2, "pool_padding": 1, "lr": 1}


def test_conv1x1_pool_bce_seed_004_p5():
    """Seed 004 P5 a), b), d).
    a) matches the seed: z = [[0, 0.5], [0.5, -1]], zero-padded 2x2/2 max pooling [[0, 0.5], [0.5, 0]].
    b) the seed's result '-2 log 2' is WRONG in sign: L = -(log 1 + log 0.5 + log 0.5 + log 1)
       = -2 log 0.5 = 2 log 2 = 1.3863 (a cross-entropy is never negative; the seed writes
       -(log 0.5 + log 0.5) and then drops the minus sign of log 0.5).
    d) the seed's w = (4, 0, 1) is right under PyTorch's tie rule: the top-left window holds z = 0
       and three padded zeros; the first maximum in row-major order is a padded zero, so that
       pixel passes no gradient (had the gradient gone to z[0,0], w would be (3, 2, 0)). The
       question is ambiguous there; the template states the rule when a variant has a tie; its
       sampler draws ties only with the seed's zero padding (issue 14). The seed's intermediate lines mix up the pixels
       (log(w1*2 + w2*(-0.5))) but the numbers -3, 1, 0 are right."""
    q = _pinned("conv1x1_pool_bce", SEED_004_P5)
    a = q.answers
    assert a["z"] == [[0, 0.5], [0.5, -1]] and a["pred"] == [[0, 0.5], [0.5, 0]]
    assert math.isclose(a["loss"], 2 * math.log(2)) and a["loss"] > 0
    assert a["grad"] == [-3, 1, 0] and a["w_new"] == [4, 0, 1]
    assert a["pool_ties"] > 0
    exp = _bce_oracle(SEED_004_P5)
    for key, val in exp.items():
        _close(a[key], val, f"seed 004 P5 {key}")


@pytest.mark.parametrize("bad, param, text", [
    ({"w": [1, 1]}, "w", "expected 3 weights"),
    ({"y": [[0, 1]]}, "y", "2x2 matrix of 0/1 targets"),
    ({"y": [[0, 1], [1, 2]]}, "y", "0/1 targets"),
    ({"pool_padding": 2}, "pool_padding", "at most half the pool size"),
    ({"w": [3, 3, 3]}, "x", "must lie in [0, 1]"),
    ({"y": [[1, 1], [1, 0]]}, "x", "log(0)"),
    ({"lr": -1}, "lr", "positive number"),
])
def test_conv1x1_pool_bce_rejects(bad, param, text):
    with pytest.raises(ParamError) as exc:
        _pinned("conv1x1_pool_bce", {**SEED_004_P5, **bad})
    assert exc.value.param == param and text in str(exc.value)
