"""Free-text templates (seed 001 P2, P3, P4b-f, P8a-d, P9b/d, P10d, P11; seed 004 P2, P3, P4d-f):
the numbers their rubrics and sample solutions show, against independent computations
(fractions, big integers, numpy.polyfit, scipy-free convolution), over 200 draws of each
template's own sampler; the seeds' stories as regression cases; rendering shows the
variant's numbers; pinned parameters are validated.

Seed 004 has no grading notes (a student copy): its rubrics are written from the standard
answers, and its student answers are not used as regression values."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from conftest import question_source

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.layouts import SOLUTION, STUDENT
from examgen.layouts.tum import render_question_body
from examgen.questions import solve_question
from examgen.sampling import derive_seed

BANK = load_bank()
DRAWS = 200
IDS = ["road_signs_case_study", "data_mismatch_case_study", "optimization_concepts", "training_fundamentals",
       "regression_sketch_and_kernel", "lstm_gradient_flow", "q_learning_and_graphs", "training_short_questions",
       "optimizer_short_questions", "cnn_design_segmentation"]


def draws(tid: str, n: int = DRAWS):
    t = BANK.templates[tid]
    return [solve_question(t, derive_seed(11, i, tid)) for i in range(1, n + 1)]


def pinned(tid: str, params: dict):
    return solve_question(BANK.templates[tid], derive_seed(1, 1, tid), params)


def body(q, version=SOLUTION) -> str:
    return "".join(render_question_body(q, version)) + " ".join(r["text"] for r in q.rubric)


# ------------------------------------------------------------------ independent oracles
def split_oracle(total: int, split: list[int]) -> list[int]:
    sizes = [Fraction(total) * Fraction(s, 100) for s in split]
    assert all(s.denominator == 1 for s in sizes), (total, split)
    return [int(s) for s in sizes]


def test_road_signs_over_draws():
    for q in draws("road_signs_case_study"):
        p, a = q.params, q.answers
        sizes = split_oracle(p["n_images"], p["split"])
        assert [a["n_train"], a["n_val"], a["n_test"]] == sizes
        assert sum(sizes) == p["n_images"]
        assert p["n_small"] < sizes[0]
        assert a["images_per_class"] == pytest.approx(p["n_images"] / p["n_classes"])
        text = body(q)
        for v in (p["n_images"], p["n_classes"], p["n_small"], *sizes):
            assert str(v) in text, (v, p)
        assert str(p["n_small"]) in body(q, STUDENT)


def test_road_signs_seed_001_p2():
    """Seed 001 P2: about 5,000 images, 20 classes, 200 samples; the notes accept 60/20/20 or 80/10/10."""
    for split, sizes in (([60, 20, 20], [3000, 1000, 1000]), ([80, 10, 10], [4000, 500, 500])):
        q = pinned("road_signs_case_study", {"n_images": 5000, "n_classes": 20, "n_small": 200, "split": split,
                                             "conditions": ["in daylight", "at night"]})
        assert [q.answers["n_train"], q.answers["n_val"], q.answers["n_test"]] == sizes
        assert q.answers["images_per_class"] == 250
        assert "in daylight" in body(q) and "at night" in body(q)
    assert [r["points"] for r in q.rubric] == [0.5, 0.5, 1, 1, 0.5, 0.5, 1, 1, 1]


def mismatch_oracle(p: dict) -> dict:
    total = p["n_target"] + p["n_web"]
    frac = Fraction(p["n_target"], total)
    mixed = split_oracle(total, p["split"])
    remaining = p["n_target"] - 2 * p["n_eval"]
    return {"total": total, "frac": frac, "mixed": mixed, "target_in_val": frac * mixed[1],
            "train_b": p["n_web"] + remaining, "train_c": p["n_web"] + remaining - p["n_eval"],
            "remaining": remaining}


def test_data_mismatch_over_draws():
    for q in draws("data_mismatch_case_study"):
        p, a = q.params, q.answers
        o = mismatch_oracle(p)
        assert a["mixed_val"] == o["mixed"][1]
        assert Fraction(a["target_fraction_num"], a["target_fraction_den"]) == o["frac"]
        assert math.gcd(a["target_fraction_num"], a["target_fraction_den"]) == 1
        assert o["target_in_val"].denominator == 1 and a["target_in_val"] == o["target_in_val"]
        assert a["train_b"] == o["train_b"] and a["train_c"] == o["train_c"]
        # the four sets of part c use every image exactly once
        assert a["train_c"] + a["bridge_c"] + 2 * p["n_eval"] == o["total"]
        assert a["remaining_target"] == o["remaining"] >= p["n_eval"]
        text = body(q)
        for v in (p["n_target"], p["n_web"], p["n_eval"], o["train_c"], o["remaining"]):
            assert str(v) in text


def test_data_mismatch_seed_001_p3():
    """Seed 001 P3: 20,000 phone + 80,000 web images, 90/5/5; only 1/5 of val/test from the target;
    part c table 85K | 5K | 5K | 5K."""
    q = pinned("data_mismatch_case_study", {"n_target": 20000, "n_web": 80000, "split": [90, 5, 5],
                                            "n_eval": 5000, "obj": "dog"})
    a = q.answers
    assert (a["target_fraction_num"], a["target_fraction_den"]) == (1, 5)
    assert a["mixed_val"] == 5000
    assert a["remaining_target"] == 10000
    assert (a["train_c"], a["bridge_c"]) == (85000, 5000)
    assert "$1/5$" in body(q) and "85000" in body(q)


def test_optimization_concepts_over_draws():
    for q in draws("optimization_concepts"):
        p, a = q.params, q.answers
        n = p["n_mantissa"] * 10 ** p["n_exponent"]
        assert n * n == a["hessian_mantissa"] * 10 ** a["hessian_exponent"]
        assert Fraction(4 * n * n, 10**9) == Fraction(a["memory_mantissa"]) * Fraction(10) ** a["memory_gb_exponent"]
        assert a["inverse_mantissa"] * 10 ** a["inverse_exponent"] == n**3
        assert f"10^{{{a['hessian_exponent']}}}" in body(q)


def test_training_fundamentals_over_draws_and_seed():
    for q in draws("training_fundamentals"):
        p, a = q.params, q.answers
        k, n = p["k_folds"], p["n_samples"]
        folds = np.array_split(np.arange(n), k)
        assert all(len(f) == a["fold_size"] for f in folds)
        assert a["fold_train_size"] == n - len(folds[0]) and a["n_trainings"] == k
        text = body(q)
        assert all(str(v) in text for v in (k, n, a["fold_size"], a["fold_train_size"], p["n_layers"]))
    q = pinned("training_fundamentals", {"n_layers": 15, "activation": "tanh"})  # seed 001 P8c
    assert "15 fully-connected layers using a tanh" in body(q, STUDENT)


def regression_oracle(x0, x1):
    x = np.array(x0 + x1, dtype=float)
    y = np.array([0] * len(x0) + [1] * len(x1), dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return slope, intercept


def conv_oracle(kernel, image):
    k = np.asarray(kernel, dtype=float)
    h, w = image.shape
    out = np.zeros((h - 2, w - 2))
    for i in range(h - 2):
        for j in range(w - 2):
            out[i, j] = (image[i:i + 3, j:j + 3] * k).sum()
    return out


@pytest.mark.parametrize("tid", ["regression_sketch_and_kernel", "training_short_questions"])
def test_regression_points_over_draws(tid):
    rng = np.random.default_rng(0)
    for q in draws(tid):
        p, a = q.params, q.answers
        assert max(p["x0"]) < min(p["x1"]) and len(p["x0"]) >= 3 and len(p["x1"]) >= 3
        assert all(0 <= x <= 10 for x in p["x0"] + p["x1"])
        slope, intercept = regression_oracle(p["x0"], p["x1"])
        assert a["ls_slope"] == pytest.approx(slope, abs=1e-12)
        assert a["ls_intercept"] == pytest.approx(intercept, abs=1e-12)
        assert max(p["x0"]) < a["logistic_center"] < min(p["x1"])
        if tid == "regression_sketch_and_kernel":
            k = np.asarray(a["kernel"])
            assert (k <= 0).all() and k[1, 1] == p["kernel_center"] and a["kernel_sum"] == k.sum()
            img = rng.integers(0, 256, size=(6, 6)).astype(float)
            assert (conv_oracle(k, img) <= 0).all()  # non-negative image -> completely black
            signed = rng.uniform(-1, 1, size=(6, 6))
            const = np.full((5, 5), 0.5)  # a constant signed image is inverted and scaled by |sum|
            assert np.allclose(conv_oracle(k, const), -a["kernel_gain"] * 0.5)
            assert np.isfinite(conv_oracle(k, signed)).all()
        else:
            assert a["decay_factor"] == pytest.approx(1 - p["lr"] * p["weight_decay"], abs=1e-12)
            assert f"{a['decay_factor']:.8f}".rstrip("0").rstrip(".") in body(q)
        text = body(q)
        assert f"x = {max(p['x0'])}" in text and f"x = {min(p['x1'])}" in text


def test_kernel_seed_001_p9d():
    """Seed 001 P9d: the kernel [[0,-1,0],[-1,-4,-1],[0,-1,0]]; non-negative images become black."""
    q = pinned("regression_sketch_and_kernel", {"kernel_center": -4, "kernel_neighbor": -1, "kernel_shape": "cross"})
    assert q.answers["kernel"] == [[0, -1, 0], [-1, -4, -1], [0, -1, 0]]
    assert q.answers["kernel_sum"] == -8
    assert "completely black" in body(q)


def test_lstm_and_q_learning_over_draws():
    for q in draws("lstm_gradient_flow"):
        assert q.answers["n_jacobians"] == q.params["seq_len"] - 1
        assert str(q.params["seq_len"]) in body(q, STUDENT) and q.params["cell"] in body(q)
    for q in draws("q_learning_and_graphs"):
        p, a = q.params, q.answers
        states = p["gray_levels"] ** (p["frame_side"] ** 2 * p["n_frames"])  # big integer
        assert states == 2 ** a["state_bits"]
        low = 10 ** a["states_log10"]
        assert low <= states < 10 * low  # states has states_log10 + 1 decimal digits
        assert f"2^{{{a['state_bits']}}}" in body(q)


def test_optimizer_short_over_draws():
    for q in draws("optimizer_short_questions"):
        p, a = q.params, q.answers
        batches = range(0, p["n_samples"], p["batch_size"])
        assert a["iterations_per_epoch"] == len(batches) and p["n_samples"] % p["batch_size"] == 0
        assert a["total_iterations"] == len(batches) * p["epochs"]
        assert f"= {a['total_iterations']}" in body(q)


def test_cnn_design_over_draws_and_seed():
    for q in draws("cnn_design_segmentation"):
        p, a = q.params, q.answers
        h, c, k, f, r = p["feat_side"], p["feat_channels"], p["next_kernel"], p["next_filters"], p["reduce_to"]
        # count multiply-accumulates by output element: outputs x inputs per output
        direct = (h * h * f) * (k * k * c)
        bottleneck = (h * h * r) * c + (h * h * f) * (k * k * r)
        assert a["mults_direct"] == direct and a["mults_bottleneck"] == bottleneck < direct
        assert (h + 2 * a["same_padding"] - k) + 1 == h
        assert str(direct) in body(q) and str(bottleneck) in body(q)
    q = pinned("cnn_design_segmentation", {"feat_side": 100, "feat_channels": 224, "input_side": 224,
                                           "num_classes": 1000, "n_conv": 20, "n_fc": 2})  # seed 004 P4
    assert "100 \\times 100 \\times 224" in body(q, STUDENT)


def test_training_short_seed_004_p2():
    q = pinned("training_short_questions", {"n_layers": 15, "activation": "tanh", "classes": ["car", "person"],
                                            "mlp_layers": 3})
    s = body(q, STUDENT)
    assert "15 fully-connected layers and a tanh" in s and "car vs.\\ person" in s and "3-layer perceptron" in s


@pytest.mark.parametrize("tid", IDS)
def test_variety(tid):
    import json
    assert len({json.dumps(q.params, sort_keys=True) for q in draws(tid, 60)}) >= 10


@pytest.mark.parametrize("tid, params, message", [
    ("road_signs_case_study", {"split": [60, 30, 20]}, "parameter 'split': percentages must sum to 100, got 110"),
    ("road_signs_case_study", {"n_images": 5000, "n_small": 4000, "split": [60, 20, 20]},
     "parameter 'n_small': the small training subset must be smaller than the training split, got 4000"),
    ("data_mismatch_case_study", {"n_target": 9000, "n_eval": 5000},
     "parameter 'n_eval': validation, test and bridge set (5000 each) need at most n_target / 3 = 3000 images"),
    ("training_fundamentals", {"n_samples": 1000, "k_folds": 3},
     "parameter 'n_samples': 1000 samples do not split into 3 equal folds"),
    ("regression_sketch_and_kernel", {"x0": [1, 5], "x1": [4, 8]},
     "parameter 'x1': every class-1 point must lie right of every class-0 point (max x0 = 5)"),
    ("regression_sketch_and_kernel", {"kernel_center": 4},
     "parameter 'kernel_center': expected an integer in [-9, -1], got 4"),
    ("q_learning_and_graphs", {"gray_levels": 100}, "parameter 'gray_levels': expected a power of two, got 100"),
    ("optimizer_short_questions", {"n_samples": 1000, "batch_size": 64},
     "parameter 'batch_size': 1000 samples do not split into minibatches of 64"),
    ("cnn_design_segmentation", {"feat_channels": 32, "reduce_to": 64},
     "parameter 'reduce_to': the 1x1 bottleneck must have fewer channels than 32, got 64"),
    ("training_short_questions", {"lr": 2}, "parameter 'lr': expected a number in (0, 1), got 2"),
])
def test_pinned_params_validated(tid, params, message):
    with pytest.raises(ParamError) as exc:
        pinned(tid, params)
    assert str(exc.value) == f"template '{tid}', {message}"


# a blue model: TikZ's \draw[thick,blue] (a ReLU), or the sketches' pgf path of the same line width and colour
_BLUE = re.compile(r"\\draw\[thick,blue\] ((?:\([^)]*\)(?: -- )?)+);"
                   r"|\\pgfsetlinewidth\{0\.8pt\}\\pgfsetstrokecolor\{blue\}\n((?:\\pgfpath(?:moveto|lineto)"
                   r"\{\\pgfq?pointxy\{[^}]*\}\{[^}]*\}\})+)\n\\pgfusepath\{stroke\}")
_PGF_POINT = re.compile(r"\\pgfpath(moveto|lineto)\{\\pgfq?pointxy\{([^}]*)\}\{([^}]*)\}\}")


def blue_paths(text: str) -> list[list[tuple[float, float]]]:
    """Each blue model's points, in order (a pgf path: one moveto, then linetos)."""
    paths = []
    for m in _BLUE.finditer(text):
        if m.group(1) is not None:
            paths.append([tuple(map(float, pt.split(","))) for pt in re.findall(r"\(([^)]*)\)", m.group(1))])
        else:
            ops = _PGF_POINT.findall(m.group(2))
            assert [op for op, _, _ in ops] == ["moveto"] + ["lineto"] * (len(ops) - 1)
            paths.append([(float(x), float(y)) for _, x, y in ops])
    return paths


@pytest.mark.parametrize("tid", ["regression_sketch_and_kernel", "training_short_questions"])
def test_regression_sketches_lie_on_the_models(tid):
    """The solution's drawn models (issue 18: precomputed in the template, no pgfmath in TeX):
    the blue line runs on the least-squares line (numpy's polyfit), the blue polyline on
    1/(1+exp(-3(x-c))) with c midway between the classes, flat outside c +- 2.5, over x = -0.5..10.5."""
    for q in draws(tid, 40):
        p = q.params
        slope, intercept = regression_oracle(p["x0"], p["x1"])
        c = (max(p["x0"]) + min(p["x1"])) / 2
        paths = blue_paths(question_source(q, SOLUTION))  # (the templates' pgf source)
        line, curve = paths[-2:]  # (training_short_questions draws a ReLU before them)
        assert len(paths) == (2 if tid == "regression_sketch_and_kernel" else 3), paths
        assert [x for x, _ in line] == [-0.5, 10.5]
        assert all(y == pytest.approx(slope * x + intercept, abs=1e-6) for x, y in line)
        assert curve[0][0] == -0.5 and curve[-1][0] == 10.5 and len(curve) == 43
        xs = [x for x, _ in curve[1:-1]]
        assert xs[0] == pytest.approx(c - 2.5, abs=1e-3) and xs[-1] == pytest.approx(c + 2.5, abs=1e-3)
        assert all(b - a == pytest.approx(0.125, abs=2e-3) for a, b in zip(xs, xs[1:]))
        assert all(y == pytest.approx(1 / (1 + math.exp(-3 * (x - c))), abs=2e-4) for x, y in curve[1:-1])
        assert curve[0][1] < 1e-3 and curve[-1][1] > 1 - 1e-3
