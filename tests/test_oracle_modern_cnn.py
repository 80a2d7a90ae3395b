"""Independent oracles for issue 15's convolution templates: cnn_shapes with `dilation`,
transposed_conv_shapes, residual_block_shapes, conv_macs and filter_design (seed 004 P5f).

Expected values come from torch: nn.Conv2d(dilation=) / nn.ConvTranspose2d on real tensors,
parameter counts by numel(), the receptive field by autograd (the gradient of one output
pixel with respect to the input, its nonzero span), residual blocks built as modules and run,
multiply-adds from torch.utils.flop_counter.FlopCounterMode (FLOPs = 2 x MACs) and responses
from F.conv2d; or from the seed exams (/work/shared/seeds/). examgen's own formulas are never
called. Draws go through the templates' own samplers:
solve_question(BANK.templates[id], derive_seed(2026, n, id)).
"""

from __future__ import annotations

import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from oracle import draws as _draws
from oracle import float64  # noqa: F401  (float64: autouse fixture)
from oracle import pinned as _pinned
from oracle import t as _t
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.solvers import cnn

BANK = load_bank()

torch.set_num_threads(1)  # tiny tensors; several test runs share two cores


# ====================================================================== cnn_shapes + dilation
def _torch_cnn(inp: list, layers: list) -> tuple[list, list]:
    """Shapes [H, W, C] after every layer (a real tensor through nn modules) and the parameters
    of every conv layer (numel)."""
    x = torch.zeros(1, inp[2], inp[0], inp[1])
    shapes, conv_params = [], []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv":
            m = nn.Conv2d(x.shape[1], layer["filters"], layer["kernel"], stride=layer.get("stride", 1),
                          padding=layer.get("padding", 0), dilation=layer.get("dilation", 1))
            conv_params.append(sum(p.numel() for p in m.parameters()))
        elif kind == "maxpool":
            m = nn.MaxPool2d(layer["kernel"], layer.get("stride", 1), layer.get("padding", 0))
        elif kind == "avgpool":
            m = nn.AvgPool2d(layer["kernel"], layer.get("stride", 1), layer.get("padding", 0))
        elif kind == "batchnorm":
            m = nn.BatchNorm2d(x.shape[1])
        else:
            m = nn.ReLU()
        with torch.no_grad():
            x = m.eval()(x)
        shapes.append([x.shape[2], x.shape[3], x.shape[1]])
    return shapes, conv_params


def _receptive_field_autograd(layers: list) -> int:
    """Side of the receptive field of the centre output pixel after `layers`: one channel, all-one
    kernels, average pooling in place of max pooling (the same windows, every input counts),
    ReLU and batch norm left out (they act per pixel), and no padding (it moves windows, it
    does not widen them; without it no window reaches into zeros that would hide taps); the
    span of the input pixels with a nonzero gradient. The input grows until every layer fits
    and that span does not touch its border."""
    side = 32
    while True:
        x = torch.zeros(1, 1, side, side, requires_grad=True)
        y = x
        try:
            for layer in layers:
                k, s = layer.get("kernel"), layer.get("stride", 1)
                if layer["type"] == "conv":
                    y = F.conv2d(y, torch.ones(1, 1, k, k), stride=s, dilation=layer.get("dilation", 1))
                elif layer["type"] in ("maxpool", "avgpool"):
                    y = F.avg_pool2d(y, k, s)
        except RuntimeError:  # a kernel larger than what is left of this input: a larger one
            side *= 2
            continue
        oh, ow = y.shape[-2:]
        (g,) = torch.autograd.grad(y[0, 0, oh // 2, ow // 2], x)
        rows = torch.nonzero(g[0, 0].abs().sum(dim=1)).flatten()
        cols = torch.nonzero(g[0, 0].abs().sum(dim=0)).flatten()
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        if r0 > 0 and c0 > 0 and r1 < side - 1 and c1 < side - 1:
            assert r1 - r0 == c1 - c0
            return r1 - r0 + 1
        side *= 2


def _check_cnn(p: dict, a: dict, ctx: str) -> None:
    shapes, conv_params = _torch_cnn(p["input"], p["layers"])
    assert a["shapes"] == shapes, f"{ctx}: shapes"
    assert a["conv_params"] == conv_params, f"{ctx}: conv parameters"
    rf = [_receptive_field_autograd(p["layers"][:i + 1]) for i in range(len(p["layers"]))]
    assert a["receptive_field"] == rf, f"{ctx}: receptive fields"


def test_cnn_shapes_receptive_field_by_autograd():
    """200 draws of the sampler (which never dilates): shapes, parameters and the receptive
    field of every layer against torch, the receptive field by autograd."""
    for n, q in _draws("cnn_shapes"):
        assert not any("dilation" in layer for layer in q.params["layers"]), n
        assert "dilations" not in q.answers and "effective_kernels" not in q.answers, n
        _check_cnn(q.params, q.answers, f"draw {n}, {q.params}")


def _dilate(layers: list, rng: random.Random) -> list:
    return [dict(layer, dilation=rng.choice([1, 2, 2, 3, 4])) if layer["type"] == "conv" else layer
            for layer in layers]


def test_cnn_shapes_dilated_match_torch():
    """The sampler's 200 networks with a dilation 1-4 pinned on each conv (drawn here; a
    network the dilated kernels no longer fit is refused by the checker and skipped):
    nn.Conv2d(dilation=) on a real tensor, numel(), and the receptive field by autograd."""
    checked = dilated = 0
    for n, q in _draws("cnn_shapes"):
        rng = random.Random(n)
        pins = {"input": q.params["input"], "layers": _dilate(q.params["layers"], rng),
                "num_classes": q.params["num_classes"]}
        try:
            d = _pinned("cnn_shapes", pins)
        except ParamError as exc:
            assert "does not fit" in str(exc), exc
            continue
        checked += 1
        dilated += any(x.get("dilation", 1) > 1 for x in pins["layers"])
        _check_cnn(d.params, d.answers, f"draw {n} dilated, {pins['layers']}")
    assert checked >= 150 and dilated >= 120, (checked, dilated)


def test_cnn_shapes_dilation_one_is_the_default():
    """dilation: 1 pinned on every conv gives the undilated key (and adds no answers)."""
    for n, q in itertools.islice(_draws("cnn_shapes"), 30):
        layers = [dict(x, dilation=1) if x["type"] == "conv" else x for x in q.params["layers"]]
        d = _pinned("cnn_shapes", {"input": q.params["input"], "layers": layers,
                                   "num_classes": q.params["num_classes"]})
        assert d.answers == q.answers, n


def test_cnn_shapes_dilated_worked_example():
    """A 3x3 conv with dilation 2 spans 5 pixels; after a stride-2 pool a 3x3 conv with
    dilation 4 spans 9, each tap 2 input pixels apart: r = 1 + 4 = 5, 5 + 1 = 6, 6 + 8 * 2 = 22
    (worked by hand; torch agrees)."""
    pins = {"input": [32, 32, 3], "num_classes": 10, "layers": [
        {"type": "conv", "filters": 16, "kernel": 3, "stride": 1, "padding": 2, "dilation": 2},
        {"type": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
        {"type": "conv", "filters": 32, "kernel": 3, "padding": 0, "dilation": 4}]}
    a = _pinned("cnn_shapes", pins).answers
    assert a["shapes"] == [[32, 32, 16], [32, 32, 16], [16, 16, 16], [8, 8, 32]]
    assert a["receptive_field"] == [5, 5, 6, 22]
    assert a["conv_params"] == [448, 4640]  # dilation adds no weights
    _check_cnn(pins, a, "worked example")


@pytest.mark.parametrize("layer, fragment", [
    ({"type": "conv", "filters": 4, "kernel": 3, "dilation": 0}, "dilation must be a positive integer"),
    ({"type": "conv", "filters": 4, "kernel": 3, "dilation": 1.5}, "dilation must be a positive integer"),
    ({"type": "conv", "filters": 4, "kernel": 3, "dilation": 20}, "does not fit"),
    ({"type": "maxpool", "kernel": 2, "stride": 2, "dilation": 2}, "unknown ['dilation']"),
])
def test_cnn_shapes_bad_dilation_is_refused(layer, fragment):
    with pytest.raises(ParamError, match="layers\\[0\\]") as exc:
        _pinned("cnn_shapes", {"input": [16, 16, 3], "layers": [layer, {"type": "conv", "filters": 2, "kernel": 1}]})
    assert fragment in str(exc.value)


# ====================================================================== transposed_conv_shapes
def _torch_autoencoder(inp: list, layers: list) -> tuple[list, list]:
    x = torch.zeros(1, inp[2], inp[0], inp[1])
    shapes, params = [], []
    for layer in layers:
        kw = {"stride": layer.get("stride", 1), "padding": layer.get("padding", 0)}
        if layer["type"] == "conv":
            m: nn.Module = nn.Conv2d(x.shape[1], layer["filters"], layer["kernel"], **kw)
        else:
            m = nn.ConvTranspose2d(x.shape[1], layer["filters"], layer["kernel"],
                                   output_padding=layer.get("output_padding", 0), **kw)
        with torch.no_grad():
            x = m(x)
        shapes.append([x.shape[2], x.shape[3], x.shape[1]])
        params.append(sum(p.numel() for p in m.parameters()))
    return shapes, params


def test_transposed_conv_shapes_match_torch():
    restored = padded = 0
    for n, q in _draws("transposed_conv_shapes"):
        p, a = q.params, q.answers
        shapes, params = _torch_autoencoder(p["input"], p["layers"])
        ctx = f"draw {n}, {p}"
        assert a["shapes"] == shapes, ctx
        assert a["layer_params"] == params, ctx
        assert a["total_params"] == sum(params), ctx
        assert any(x["type"] == "convtranspose" for x in p["layers"]), ctx
        restored += shapes[-1] == p["input"]
        padded += any(x.get("output_padding", 0) for x in p["layers"])
    assert restored == 200  # the sampler's autoencoders give back their input's shape
    assert padded >= 40, padded  # and many need an output_padding for it


def test_transposed_conv_shapes_seed_001_p7e():
    """Seed 001 P7e mirrors the 256x256x3 network (conv 11/4/5 -> 64x64x96) with transposed
    convolutions back to the image size: (64 - 1) * 4 - 2 * 5 + 11 = 253, so the mirror needs
    output_padding 3 (< stride 4) to give 256 again."""
    pins = {"input": [256, 256, 3], "layers": [
        {"type": "conv", "filters": 96, "kernel": 11, "stride": 4, "padding": 5},
        {"type": "convtranspose", "filters": 3, "kernel": 11, "stride": 4, "padding": 5, "output_padding": 3}]}
    a = _pinned("transposed_conv_shapes", pins).answers
    assert a["shapes"] == [[64, 64, 96], [256, 256, 3]]
    assert a["layer_params"] == [34944, 34851]  # (11*11*3 + 1)*96 and 11*11*96*3 + 3
    assert (a["shapes"], a["layer_params"]) == _torch_autoencoder(pins["input"], pins["layers"])


def test_transposed_conv_shapes_pinned_floor_and_rectangle():
    pins = {"input": [15, 20, 1], "layers": [
        {"type": "conv", "filters": 4, "kernel": 4, "stride": 2, "padding": 1},
        {"type": "convtranspose", "filters": 2, "kernel": 3, "stride": 3},
        {"type": "convtranspose", "filters": 1, "kernel": 2, "stride": 2, "padding": 1, "output_padding": 1}]}
    a = _pinned("transposed_conv_shapes", pins).answers
    assert (a["shapes"], a["layer_params"]) == _torch_autoencoder(pins["input"], pins["layers"])


@pytest.mark.parametrize("layer, fragment", [
    ({"type": "convtranspose", "filters": 2, "kernel": 3, "stride": 2, "output_padding": 2}, "smaller than the stride"),
    ({"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "output_padding": 1}, "a conv layer has none"),
    ({"type": "deconv", "filters": 2, "kernel": 3}, "conv or convtranspose"),
    ({"type": "conv", "filters": 2, "kernel": 9}, "leaves no output"),
])
def test_transposed_conv_shapes_bad_layer_is_refused(layer, fragment):
    with pytest.raises(ParamError, match="layers\\[0\\]") as exc:
        _pinned("transposed_conv_shapes", {"input": [8, 8, 1], "layers": [layer]})
    assert fragment in str(exc.value)
    # torch agrees that these layers cannot be built or run
    if "smaller than the stride" in fragment:
        with pytest.raises(RuntimeError):
            nn.ConvTranspose2d(1, 2, 3, stride=2, output_padding=2)(torch.zeros(1, 1, 8, 8))


# ====================================================================== residual_block_shapes
def _conv_bn(c_in: int, c_out: int, k: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(c_out)]


class _Block(nn.Module):
    """A ResNet block built from the statement's description (torchvision's layout)."""

    def __init__(self, p: dict):
        super().__init__()
        c, s, co = p["input"][2], p["stride"], p["out_channels"]
        if p["block"] == "basic":
            spec = [(c, co, 3, s), (co, co, 3, 1)]
        else:
            m = p["width"]
            spec = [(c, m, 1, 1), (m, m, 3, s), (m, co, 1, 1)]
        self.pairs = nn.ModuleList(nn.Sequential(*_conv_bn(*x)) for x in spec)
        x = torch.zeros(1, c, p["input"][0], p["input"][1])
        self.needs_projection = self._main(x).shape != x.shape  # can x be added as it is?
        self.shortcut = nn.Sequential(*_conv_bn(c, co, 1, s)) if self.needs_projection else nn.Identity()

    def _main(self, x: torch.Tensor, shapes: list | None = None) -> torch.Tensor:
        for i, pair in enumerate(self.pairs):
            x = pair(x)
            if shapes is not None:
                shapes.append([x.shape[2], x.shape[3], x.shape[1]])
            x = torch.relu(x) if i < len(self.pairs) - 1 else x
        return x

    def forward(self, x: torch.Tensor, shapes: list | None = None) -> torch.Tensor:
        return torch.relu(self._main(x, shapes) + self.shortcut(x))


def test_residual_block_shapes_match_torch():
    kinds = set()
    for n, q in _draws("residual_block_shapes"):
        p, a = q.params, q.answers
        block = _Block(p).eval()
        shapes: list = []
        with torch.no_grad():
            y = block(torch.zeros(1, p["input"][2], p["input"][0], p["input"][1]), shapes)
        ctx = f"draw {n}, {p}"
        assert a["shapes"] == shapes, ctx
        assert a["output_shape"] == [y.shape[2], y.shape[3], y.shape[1]], ctx
        count = lambda m: sum(x.numel() for x in m.parameters())  # noqa: E731
        assert a["conv_params"] == [count(pair) for pair in block.pairs], ctx
        assert a["projection"] == ("yes" if block.needs_projection else "no"), ctx
        assert a["shortcut_params"] == count(block.shortcut), ctx
        assert a["block_params"] == count(block), ctx
        kinds.add((p["block"], a["projection"], p["stride"]))
    assert len(kinds) == 6, kinds  # basic and bottleneck, each identity, downsampling and widening


def test_residual_block_resnet50_first_bottleneck():
    """ResNet-50's first bottleneck (56x56x64 in, width 64, 256 out, stride 1): its main path
    has 4096 + 128 + 36864 + 128 + 16384 + 512 = 58112 parameters and the projection
    16384 + 512 = 16896 (torchvision: 75008 in layer1[0])."""
    a = _pinned("residual_block_shapes", {"input": [56, 56, 64], "block": "bottleneck", "width": 64,
                                          "out_channels": 256, "stride": 1}).answers
    assert (a["main_params"], a["shortcut_params"], a["block_params"]) == (58112, 16896, 75008)
    assert a["shapes"] == [[56, 56, 64], [56, 56, 64], [56, 56, 256]]


# ====================================================================== conv_macs
def _flops(fn, *args) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def _torch_macs(p: dict) -> dict:
    h, w, c = p["input"]
    k, co = p["kernel"], p["c_out"]
    x = torch.zeros(1, c, h, w)
    standard = _flops(F.conv2d, x, torch.zeros(co, c, k, k), None, 1, k // 2) // 2
    depthwise = _flops(F.conv2d, x, torch.zeros(c, 1, k, k), None, 1, k // 2, 1, c) // 2
    pointwise = _flops(F.conv2d, x, torch.zeros(co, c, 1, 1)) // 2
    fc = _flops(nn.Linear(p["fc_in"], p["fc_out"]), torch.zeros(1, p["fc_in"])) // 2
    q = torch.zeros(p["T"], p["d"])
    qk = _flops(torch.matmul, q, q.T) // 2
    av = _flops(torch.matmul, torch.zeros(p["T"], p["T"]), q) // 2
    return {"standard": standard, "depthwise": depthwise, "pointwise": pointwise, "fc": fc, "qk": qk, "av": av}


def test_conv_macs_match_flop_counter():
    for n, q in _draws("conv_macs"):
        p, a = q.params, q.answers
        exp = _torch_macs(p)
        ctx = f"draw {n}, {p}"
        for key, value in exp.items():
            assert a[key] == value, f"{ctx}: {key} {a[key]} != {value}"
        assert a["separable"] == exp["depthwise"] + exp["pointwise"], ctx
        assert a["attention"] == exp["qk"] + exp["av"], ctx
        assert abs(a["ratio"] - exp["standard"] / (exp["depthwise"] + exp["pointwise"])) < 1e-12, ctx


def test_conv_macs_seed_004_p4d():
    """Seed 004 P4d: a 100x100x224 map before a 'same' convolution that must keep its size;
    the worked answer replaces it by a depthwise-separable one (the 3x3 kernel and 224 output
    channels are this test's choice). torch counts 2 * 100*100*224*9*224 FLOPs for the standard
    one; the separable one is 8.65 times cheaper (2016/233)."""
    p = {"input": [100, 100, 224], "c_out": 224, "kernel": 3, "fc_in": 4096, "fc_out": 1000, "T": 196, "d": 64}
    a = _pinned("conv_macs", p).answers
    exp = _torch_macs(p)
    assert a["standard"] == exp["standard"] == 4_515_840_000
    assert (a["depthwise"], a["pointwise"]) == (exp["depthwise"], exp["pointwise"])
    assert round(a["ratio"], 2) == 8.65


# ====================================================================== filter_design (seed 004 P5f)
ALL_WINDOWS = torch.tensor(list(itertools.product([0.0, 1.0], repeat=9)), dtype=torch.float64).reshape(512, 1, 3, 3)


def _detects(pattern, k) -> bool:
    """The response of k (F.conv2d) on the pattern beats that on every other 0/1 window."""
    r = F.conv2d(ALL_WINDOWS, _t(k).reshape(1, 1, 3, 3)).flatten()
    is_pat = (ALL_WINDOWS.reshape(512, 9) == _t(pattern).reshape(1, 9)).all(dim=1)
    return bool(r[is_pat].min() > r[~is_pat].max())


def test_filter_design_matches_conv2d():
    """200 draws: the reference filter detects the pattern (against all 512 binary windows), its
    response map is F.conv2d's, the peak is where the pattern sits, and any other detector (random
    weights of the pattern's signs, drawn here) peaks there too and is accepted with its own map,
    a map of another filter is refused, and a zero weight or a flipped sign is refused in part a
    (but its own right map is accepted in part b)."""
    gen = torch.Generator().manual_seed(15)
    for n, q in _draws("filter_design"):
        p, a = q.params, q.answers
        ctx = f"draw {n}, {p}"
        img = _t(p["image"]).reshape(1, 1, 5, 5)
        k = _t(a["filter"])
        assert _detects(p["pattern"], k), ctx
        resp = F.conv2d(img, k.reshape(1, 1, 3, 3))[0, 0]
        assert _t(a["filter_and_response"]).tolist() == torch.cat([k, resp]).tolist(), ctx
        i, j = divmod(int(resp.argmax()), 3)
        assert int((resp == resp.max()).sum()) == 1 and a["peak"] == [i + 1, j + 1], ctx
        assert _t(p["image"])[i:i + 3, j:j + 3].tolist() == _t(p["pattern"]).tolist(), ctx
        # any detector of the family
        mag = torch.rand(3, 3, generator=gen) * 3 + 0.25
        other = torch.where(_t(p["pattern"]) == 1, mag, -mag)
        assert _detects(p["pattern"], other), ctx
        other_resp = F.conv2d(img, other.reshape(1, 1, 3, 3))[0, 0]
        assert divmod(int(other_resp.argmax()), 3) == (i, j), ctx
        assert cnn.check_filter(p, other.tolist())[0], ctx
        assert cnn.check_filter_response(p, torch.cat([other, other_resp]).tolist())[0], ctx
        assert not cnn.check_filter_response(p, torch.cat([other, resp]).tolist())[0], ctx
        for bad in (other.clone().index_put_((torch.tensor(0), torch.tensor(0)), torch.tensor(0.0)),
                    other * torch.where(torch.arange(9).reshape(3, 3) == 4, -1.0, 1.0)):
            assert not _detects(p["pattern"], bad), ctx
            assert not cnn.check_filter(p, bad.tolist())[0], ctx
            # part b grades the map of the student's own filter, right or wrong (a follow-up error counts once)
            bad_resp = F.conv2d(img, bad.reshape(1, 1, 3, 3))[0, 0]
            assert cnn.check_filter_response(p, torch.cat([bad, bad_resp]).tolist())[0], ctx


def test_filter_design_seed_004_p5f():
    """Seed 004 P5f: black 3x3 crosses (an X: black corners and centre) on a white background.
    The first worked answer [[2, 0, 2], [0, 1, 0], [2, 0, 2]] is refused: it weights the BLACK
    pixels positively and gives 0 to the white ones, so it responds most to a white X and an
    all-white window scores as high as... more than the pattern (torch: 9 vs 0). The second,
    [[-1, 1, -1], [1, -1, 1], [-1, 1, -1]], is the reference filter."""
    x_cross = [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    image = [[1, 1, 1, 1, 1], [1, 0, 1, 0, 1], [1, 1, 0, 1, 1], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]]
    q = _pinned("filter_design", {"pattern": x_cross, "image": image})
    seed_right, seed_wrong = [[-1, 1, -1], [1, -1, 1], [-1, 1, -1]], [[2, 0, 2], [0, 1, 0], [2, 0, 2]]
    assert q.answers["filter"] == seed_right and q.answers["peak"] == [2, 2]
    assert _detects(x_cross, seed_right) and not _detects(x_cross, seed_wrong)
    assert cnn.check_filter(q.params, seed_right) == (True, "correct")
    ok, why = cnn.check_filter(q.params, seed_wrong)
    assert not ok and "entry (1, 1) is 2" in why
    white = float(F.conv2d(torch.ones(1, 1, 3, 3), _t(seed_wrong).reshape(1, 1, 3, 3)))
    pattern = float(F.conv2d(_t(x_cross).reshape(1, 1, 3, 3), _t(seed_wrong).reshape(1, 1, 3, 3)))
    assert (white, pattern) == (9.0, 0.0)


@pytest.mark.parametrize("pins, fragment", [
    ({"image": [[1] * 5] * 5}, "exactly one 3x3 window of the image, it appears in 0"),
    ({"image": [[0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0]]},
     "it appears in 5"),
    ({"image": [[0, 1], [1, 0]]}, "expected a 5x5 matrix"),
    ({"pattern": [[1, 1, 1], [1, 1, 1], [1, 1, 1]]}, "both present"),
    ({"pattern": [[0, 0.5, 0], [1, 0, 1], [0, 1, 0]]}, "pixel values 0 (black) and 1 (white)"),
])
def test_filter_design_bad_pins_are_refused(pins, fragment):
    base = {"pattern": [[0, 1, 0], [1, 0, 1], [0, 1, 0]]}
    with pytest.raises(ParamError) as exc:
        _pinned("filter_design", {**base, **pins})
    assert fragment in str(exc.value)
