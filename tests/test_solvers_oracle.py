"""Independent oracles for the numeric solvers (batch norm, CNN shapes, ReLU-RNN).

Every expected value is computed here with torch (forward passes and
autograd) or taken from the worked solutions of the seed exams
(/work/shared/seeds/); examgen's own formulas are never called or copied.
Draws go through the real sampling path, ``examgen.pipeline.solve_one``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from oracle import ATOL, float64  # noqa: F401  (float64: autouse fixture)
from oracle import close as _close
from oracle import t as _t
from torch import nn

from examgen.errors import ParamError
from examgen.pipeline import solve_one

SEEDS = range(200)


def _draw(template_id: str, seed: int):
    """One unpinned draw through the real sampling path; a ParamError here is a sampler bug
    (nothing was pinned, so no parameter of the user can be wrong)."""
    try:
        return solve_one(template_id, seed, {})[1]
    except ParamError as exc:
        error = str(exc)
    pytest.fail(f"{template_id}, seed {seed}: an UNPINNED draw raised ParamError: {error}. The sampler "
                f"produced invalid parameters and sample_params() did not reject and redraw them, so an exam "
                f"with this seed cannot be built.", pytrace=False)


# ============================================================== batch normalization
def _bn_oracle(z, gamma, beta, eps):
    """torch >= 2.13 rejects eps <= 0 in training-mode batch_norm; the seed uses
    eps = 0, so a denormal-free tiny eps stands in for 0: var + 1e-300 == var
    exactly in float64 for any var > 1e-284 (and columns are never constant)."""
    z, gamma, beta = _t(z), _t(gamma), _t(beta)
    eps_t = eps if eps > 0 else 1e-300
    mu = z.mean(dim=0)
    var = z.var(dim=0, unbiased=False)
    return {
        "mu": mu,
        "var": var,
        "sigma": torch.sqrt(var + eps),
        "z_norm": F.batch_norm(z, None, None, training=True, eps=eps_t),
        "y": F.batch_norm(z, None, None, weight=gamma, bias=beta, training=True, eps=eps_t),
    }


def _two_decimals(x: float) -> bool:
    return abs(x * 100 - round(x * 100)) < 1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_forward_matches_torch(seed):
    q = _draw("batchnorm_forward", seed)
    p, a = q.params, q.answers
    ctx = f"batchnorm_forward seed {seed}, params {p}"
    exp = _bn_oracle(p["z"], p["gamma"], p["beta"], float(p.get("eps", 0)))
    for key in ("mu", "sigma", "z_norm", "y"):
        _close(a[key], exp[key], key, ctx)
    # hand-computability: the sampler promises integer sigma and at most two decimals
    assert all(abs(s - round(s)) < 1e-9 for s in a["sigma"]), f"{ctx}: sigma {a['sigma']} not integer"
    for key in ("z_norm", "y"):
        bad = [x for row in a[key] for x in row if not _two_decimals(x)]
        assert not bad, f"{ctx}: {key} entries {bad} have more than two decimals"


def test_batchnorm_deviations_are_the_full_search():
    """The sampler's columns (mu + d): every integer d within +-2 sigma with sum 0 and population
    std sigma, in the order of the full search over all b entries (the draw indexes into it, so the
    order is part of every seed's numbers)."""
    from itertools import product

    import numpy as np

    from examgen.solvers.normalization import SIGMAS, _deviations

    for b in (2, 3, 4):
        for sigma in SIGMAS:
            full = tuple(d for d in product(range(-2 * sigma, 2 * sigma + 1), repeat=b)
                         if sum(d) == 0 and sum(x * x for x in d) == b * sigma * sigma)
            assert _deviations(b, sigma) == full, (b, sigma)
            assert all(abs(np.std(d) - sigma) < 1e-12 for d in full)
    assert [len(_deviations(4, s)) for s in SIGMAS] == [6, 6, 6, 30]


# ============================================================== CNN shapes
def _layer_params_answer(a: dict) -> list:
    """Per-layer parameter counts. The answer key was renamed from 'params' to
    'layer_params' (a bare 'params' clashes with the template context's
    'params' dict); accept either name."""
    return a["layer_params"] if "layer_params" in a else a["params"]


def _torch_layer(layer: dict, c_in: int, device: str = "meta") -> tuple[nn.Module, int]:
    kind = layer["type"]
    k, s, pad = layer.get("kernel"), layer.get("stride", 1), layer.get("padding", 0)
    if kind == "conv":
        return nn.Conv2d(c_in, layer["filters"], k, stride=s, padding=pad, bias=True, device=device), layer["filters"]
    if kind == "maxpool":
        return nn.MaxPool2d(k, stride=s, padding=pad), c_in
    if kind == "avgpool":
        return nn.AvgPool2d(k, stride=s, padding=pad), c_in
    if kind == "relu":
        return nn.ReLU(), c_in
    if kind == "batchnorm":
        return nn.BatchNorm2d(c_in, device=device).eval(), c_in
    raise AssertionError(f"unexpected layer type {kind!r}")


def _torch_cnn(inp: list, layers: list[dict], num_classes: int | None) -> dict:
    """Shapes ([H, W, C]), parameter counts and classifier sizes from torch modules.
    The meta device gives real shapes and parameter tensors without the arithmetic."""
    h, w, c = inp
    x = torch.zeros(1, c, h, w, device="meta")
    shapes, params, conv_params, divisible = [], [], [], []
    for layer in layers:
        if layer["type"] in ("conv", "maxpool", "avgpool"):
            f, s, pad = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)
            divisible += [(n + 2 * pad - f) % s == 0 for n in x.shape[-2:]]
        m, c = _torch_layer(layer, x.shape[1])
        x = m(x)
        n = sum(prm.numel() for prm in m.parameters())
        shapes.append([x.shape[2], x.shape[3], x.shape[1]])
        params.append(n)
        if isinstance(m, nn.Conv2d):
            conv_params.append(n)
    out = {"shapes": shapes, "params": params, "conv_params": conv_params, "divisible": divisible}
    if num_classes:
        fc = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), num_classes, device="meta"))
        gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(x.shape[1], num_classes, device="meta"))
        assert fc(x).shape == gap(x).shape == (1, num_classes)
        out["fc_classifier_params"] = sum(prm.numel() for prm in fc.parameters())
        out["gap_classifier_params"] = sum(prm.numel() for prm in gap.parameters())
    return out


def _torch_receptive_fields(layers: list[dict]) -> list[int]:
    """Receptive field after every layer, measured with autograd: one channel,
    conv weights 1 / bias 0, every pool an AvgPool2d with the same geometry,
    ReLU/BatchNorm -> Identity; gradient of the central output w.r.t. the input,
    width of its non-zero region along the central row. The input grows until
    the region touches no border (so it is never clipped by padding)."""
    side = 256
    while side <= 8192:
        mods = []
        for layer in layers:
            kind = layer["type"]
            k, s, pad = layer.get("kernel"), layer.get("stride", 1), layer.get("padding", 0)
            if kind == "conv":
                m = nn.Conv2d(1, 1, k, stride=s, padding=pad, bias=True)
                with torch.no_grad():
                    m.weight.fill_(1.0)
                    m.bias.zero_()
            elif kind in ("maxpool", "avgpool"):
                m = nn.AvgPool2d(k, stride=s, padding=pad)
            else:
                m = nn.Identity()
            mods.append(m)
        x = torch.zeros(1, 1, side, side, requires_grad=True)
        outs, hcur = [], x
        for m in mods:
            hcur = m(hcur)
            outs.append(hcur)
        widths = []
        for o in outs:
            ci, cj = o.shape[2] // 2, o.shape[3] // 2
            (g,) = torch.autograd.grad(o[0, 0, ci, cj], x, retain_graph=True)
            g = g[0, 0].abs()
            rows = torch.nonzero(g.sum(dim=1)).flatten()
            row = g[int(rows[len(rows) // 2])]
            cols = torch.nonzero(row).flatten()
            lo, hi = int(cols.min()), int(cols.max())
            if lo == 0 or hi == side - 1 or int(rows.min()) == 0 or int(rows.max()) == side - 1:
                break
            widths.append(hi - lo + 1)
        else:
            return widths
        side *= 2
    raise AssertionError("receptive field oracle: region still touches the border at side 8192")


def _check_cnn_against_torch(p: dict, a: dict, ctx: str) -> dict:
    exp = _torch_cnn(p["input"], p["layers"], p.get("num_classes"))
    assert a["shapes"] == exp["shapes"], f"{ctx}: shapes [H, W, C]"
    assert a["output_shape"] == exp["shapes"][-1], f"{ctx}: output_shape"
    assert _layer_params_answer(a) == exp["params"], f"{ctx}: parameters per layer"
    assert a["conv_params"] == exp["conv_params"], f"{ctx}: conv parameters"
    if p.get("num_classes"):
        assert a["fc_classifier_params"] == exp["fc_classifier_params"], f"{ctx}: flatten + linear classifier"
        assert a["gap_classifier_params"] == exp["gap_classifier_params"], f"{ctx}: GAP + linear classifier"
    assert a["receptive_field"] == _torch_receptive_fields(p["layers"]), f"{ctx}: receptive fields"
    return exp


@pytest.mark.parametrize("seed", SEEDS)
def test_cnn_shapes_match_torch(seed):
    q = _draw("cnn_shapes", seed)
    p, a = q.params, q.answers
    ctx = f"cnn_shapes seed {seed}, params {p}"
    exp = _check_cnn_against_torch(p, a, ctx)
    # constraint exact_division: every conv/pool output size divides without a floor
    assert all(exp["divisible"]), f"{ctx}: some (n + 2p - f) % s != 0"


# ============================================================== ReLU RNN
def _relu_grad1(z: torch.Tensor) -> torch.Tensor:
    """ReLU with ReLU'(0) = 1."""
    return torch.where(z >= 0, z, 0 * z)


def _rnn_oracle(p: dict) -> dict:
    leaf = lambda v: torch.tensor(float(v), requires_grad=True)  # noqa: E731
    u, w, v = leaf(p["u"]), leaf(p["w"]), leaf(p.get("v", 1))
    xs = [leaf(x) for x in p["x"]]
    relu = _relu_grad1 if p.get("relu_grad_at_zero", 0) == 1 else torch.relu
    h = _t(float(p["h0"]))
    hs = []
    for x in xs:
        h = relu(u * h + w * x)
        hs.append(h)
    y = v * h
    grads = torch.autograd.grad(h, [u, w, xs[0]], retain_graph=True, allow_unused=True)
    dh_du, dh_dw, dh_dx1 = (0.0 if g is None else float(g) for g in grads)
    (dy_du,) = torch.autograd.grad(y, [u], allow_unused=True)
    return {"h": [float(t.detach()) for t in hs], "y_T": float(y.detach()),
            "dh_du": dh_du, "dh_dw": dh_dw, "dh_dx1": dh_dx1, "dy_du": 0.0 if dy_du is None else float(dy_du)}


RNN_KEYS = ("h", "y_T", "dh_du", "dh_dw", "dh_dx1", "dy_du")


def _check_rnn(p: dict, a: dict, ctx: str) -> dict:
    exp = _rnn_oracle(p)
    for key in RNN_KEYS:
        _close(a[key], exp[key], key, ctx)
    return exp


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_relu_scalar_matches_torch(seed):
    q = _draw("rnn_relu_scalar", seed)
    _check_rnn(q.params, q.answers, f"rnn_relu_scalar seed {seed}, params {q.params}")


ZERO_PREACT = {"u": 1, "w": 2, "v": 1, "h0": -2, "x": [1, 2, 0]}  # z_1 = 1*(-2) + 2*1 = 0


@pytest.mark.parametrize("g0", [0, 1])
def test_rnn_zero_preactivation_follows_relu_grad_at_zero(g0):
    """z_1 = 0 exactly: ReLU'(0) decides whether gradient flows through step 1."""
    p = {**ZERO_PREACT, "relu_grad_at_zero": g0}
    _, q = solve_one("rnn_relu_scalar", 0, p)
    exp = _check_rnn(q.params, q.answers, f"rnn pinned {p}")
    other = _rnn_oracle({**ZERO_PREACT, "relu_grad_at_zero": 1 - g0})
    # the convention visibly matters for these parameters
    assert (exp["dh_du"], exp["dh_dw"], exp["dh_dx1"]) != (other["dh_du"], other["dh_dw"], other["dh_dx1"])


# ============================================================== seed regressions
def test_seed001_p5_batchnorm():
    """Seed 001 P5 b-c: mu, sigma (population std), z_norm and y as in the worked solution."""
    z = [[12, 0, -5], [14, 10, 5], [14, 10, 5], [12, 0, -5]]
    _, q = solve_one("batchnorm_forward", 1, {"z": z, "gamma": [1, 1, 1], "beta": [0, -10, 10], "eps": 0})
    a = q.answers
    assert a["mu"] == pytest.approx([13, 5, 0])
    assert a["sigma"] == pytest.approx([1, 5, 5])
    zn = [[-1, -1, -1], [1, 1, 1], [1, 1, 1], [-1, -1, -1]]
    assert [r == pytest.approx(e) for r, e in zip(a["z_norm"], zn)] == [True] * 4
    y = [[-1, -11, 9], [1, -9, 11], [1, -9, 11], [-1, -11, 9]]
    assert [r == pytest.approx(e) for r, e in zip(a["y"], y)] == [True] * 4


SEED001_P7 = {
    "input": [256, 256, 3],
    "layers": [
        {"type": "conv", "filters": 96, "kernel": 11, "stride": 4, "padding": 5},
        {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
        {"type": "conv", "filters": 256, "kernel": 5, "stride": 1, "padding": 2},
    ],
    "num_classes": 1000,
}


def test_seed001_p7_cnn():
    """Seed 001 P7 b-d: all layers use padding p = (f - 1)/2.

    b) first conv output 64 x 64 x 96. The seed's worked line prints
       "(256 - 11)/4 + 1 = 64", which omits the padding (that expression is
       62.25); 64 is right only with padding 5: (256 + 2*5 - 11)/4 + 1 = 64.
    c) (11*11*3 + 1) * 96 = 34944 parameters in the first conv.
    d) receptive fields 11, 19, 51 after layers 1, 2, 3.
    Also cross-checked against the torch oracle."""
    _, q = solve_one("cnn_shapes", 1, SEED001_P7)
    a = q.answers
    assert a["shapes"][0] == [64, 64, 96]
    assert _layer_params_answer(a)[0] == 34944
    assert a["conv_params"][0] == 34944
    assert a["receptive_field"] == [11, 19, 51]
    _check_cnn_against_torch(q.params, a, "seed 001 P7")


def test_seed001_p10b_rnn_equation_reading():
    """Seed 001 P10b, "solution based on the equation" h_t = ReLU(u h_{t-1} + w x_t):
    h0=3, w=2, v=-1, u=3, x=(1, 2) -> h1=11, h2=37, y2=-37, dy2/du = v (h1 + u h0) = -20."""
    _, q = solve_one("rnn_relu_scalar", 1, {"u": 3, "w": 2, "v": -1, "h0": 3, "x": [1, 2], "relu_grad_at_zero": 0})
    a = q.answers
    assert a["h"] == pytest.approx([11, 37])
    assert a["y_T"] == pytest.approx(-37)
    assert a["dy_du"] == pytest.approx(-20)


def test_seed001_p10b_rnn_graph_reading():
    """Seed 001 P10b also accepts the "graph" reading, where the figure swaps the
    roles: h_t = ReLU(u x_t + w h_{t-1}) with u=3, w=2. In examgen's convention
    (u recurrent, w input) that is u=2, w=3: h1=9, h2=24, y2=-24 and the derivative
    w.r.t. the INPUT weight is v (x2 + u_rec x1) = -1 (2 + 2*1) = -4 (the seed's
    "v*w*x1 + v*x2")."""
    _, q = solve_one("rnn_relu_scalar", 1, {"u": 2, "w": 3, "v": -1, "h0": 3, "x": [1, 2], "relu_grad_at_zero": 0})
    a = q.answers
    assert a["h"] == pytest.approx([9, 24])
    assert a["y_T"] == pytest.approx(-24)
    assert q.params["v"] * a["dh_dw"] == pytest.approx(-4)


def test_seed004_p6cd_rnn():
    """Seed 004 P6 c-d: V=1 (recurrent u), W=2 (input w), h0=-3, x=(1, 2, 0),
    ReLU'(0)=1 -> h=(0, 4, 4), dh3/dV=4, dh3/dW=2, dh3/dx1=0.

    Only the final values of the seed are right: its underbraces mark
    ReLU'(z2) = 0 although z2 = 4 (so ReLU'(z2) = 1), and the next line then
    uses 1 anyway ("1*h2 + 1*h1 + 0*h0"). No pre-activation is 0 here
    (z = -1, 4, 4), so ReLU'(0) = 1 does not change the result."""
    _, q = solve_one("rnn_relu_scalar", 4, {"u": 1, "w": 2, "v": 1, "h0": -3, "x": [1, 2, 0], "relu_grad_at_zero": 1})
    a = q.answers
    assert a["h"] == pytest.approx([0, 4, 4])
    assert a["dh_du"] == pytest.approx(4)
    assert a["dh_dw"] == pytest.approx(2)
    assert a["dh_dx1"] == pytest.approx(0)


# ============================================================== pinned-parameter validation
def test_batchnorm_gamma_wrong_length():
    z = [[12, 0, -5], [14, 10, 5], [14, 10, 5], [12, 0, -5]]
    with pytest.raises(ParamError) as exc:
        solve_one("batchnorm_forward", 0, {"z": z, "gamma": [1, 1], "beta": [0, -10, 10]})
    assert exc.value.param == "gamma"
    assert "'gamma'" in str(exc.value)


def test_cnn_unknown_layer_type():
    layers = [{"type": "conv", "filters": 8, "kernel": 3, "stride": 1, "padding": 1}, {"type": "dropout"}]
    with pytest.raises(ParamError) as exc:
        solve_one("cnn_shapes", 0, {"input": [32, 32, 3], "layers": layers, "num_classes": 10})
    assert "layers[1]" in str(exc.value)
    assert "dropout" in str(exc.value)


def test_rnn_relu_grad_at_zero_out_of_range():
    p = {"u": 1, "w": 2, "v": 1, "h0": 0, "x": [1, 2], "relu_grad_at_zero": 2}
    with pytest.raises(ParamError) as exc:
        solve_one("rnn_relu_scalar", 0, p)
    assert exc.value.param == "relu_grad_at_zero"
    assert "relu_grad_at_zero" in str(exc.value)
