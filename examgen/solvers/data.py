"""Numbers in the free-text questions (seed 001 P2, P3, P4b-f, P8, P9b/d, P10d, P11;
seed 004 P2, P3, P4d-f): split sizes, fractions, counts the rubric shows.
Pure functions: parameters in, answers out; no LaTeX here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import values
from ..errors import ParamError


def class_imbalance(p: dict[str, Any]) -> dict[str, Any]:
    major, minor = int(p["n_major"]), int(p["n_minor"])
    total = major + minor
    return {
        "total": total,
        "ratio": major / minor,
        "majority_accuracy_percent": 100.0 * major / total,
    }


def majority_larger(p: dict[str, Any]) -> bool:
    """the majority class has more images than the minority class"""
    return int(p["n_major"]) > int(p["n_minor"])


def ratio_is_integer(p: dict[str, Any]) -> bool:
    """the majority count is a whole multiple of the minority count"""
    return int(p["n_major"]) % int(p["n_minor"]) == 0


# ====================================================================== shared helpers
def _need(ok: bool, param: str, message: str) -> None:
    """Raise the one-line ParamError of a pinned parameter that fails a check (the caller names the template)."""
    if not ok:
        raise ParamError(param, message)


def _percent_split(total: int, split: list[int]) -> list[int]:
    return [total * int(pct) // 100 for pct in split]


def _check_split(p: dict[str, Any], name: str, total_name: str) -> None:
    split = p[name]
    _need(isinstance(split, list) and len(split) == 3 and all(values.is_int(v) and v > 0 for v in split),
          name, f"expected three positive integer percentages [train, val, test], got {split!r}")
    _need(sum(split) == 100, name, f"percentages must sum to 100, got {sum(split)}")
    total = int(p[total_name])
    _need(all(total * int(v) % 100 == 0 for v in split), name,
          f"every split of {total} samples must be a whole number of samples, got {split!r}")


def _check_ints(p: dict[str, Any], **bounds: tuple[int, int]) -> None:
    for name, (low, high) in bounds.items():
        v = p[name]
        _need(values.is_int(v) and low <= v <= high, name, f"expected an integer in [{low}, {high}], got {v!r}")


# ====================================================================== seed 001 P2: road signs
def check_road_signs(p: dict[str, Any]) -> None:
    _check_ints(p, n_images=(100, 10**7), n_classes=(2, 1000), n_small=(1, 10**7))
    _check_split(p, "split", "n_images")
    _need(p["n_small"] < p["n_images"] * p["split"][0] // 100, "n_small",
          f"the small training subset must be smaller than the training split, got {p['n_small']}")
    c = p["conditions"]
    _need(isinstance(c, list) and len(c) == 2 and all(isinstance(s, str) and s for s in c), "conditions",
          f"expected two condition names [first, second], got {c!r}")


def road_signs_case_study(p: dict[str, Any]) -> dict[str, Any]:
    n = int(p["n_images"])
    n_train, n_val, n_test = _percent_split(n, p["split"])
    return {
        "n_train": n_train,
        "n_val": n_val,
        "n_test": n_test,
        "images_per_class": n / int(p["n_classes"]),
    }


# ====================================================================== seed 001 P3: data mismatch
def check_data_mismatch(p: dict[str, Any]) -> None:
    _check_ints(p, n_target=(100, 10**8), n_web=(100, 10**8), n_eval=(1, 10**8))
    p_total = {"total": int(p["n_target"]) + int(p["n_web"]), "split": p["split"]}
    _check_split(p_total, "split", "total")
    _need(int(p["n_target"]) * int(p["split"][1]) % 100 == 0 and int(p["n_target"]) * int(p["split"][2]) % 100 == 0,
          "split", "the expected number of target images in validation and test must be whole")
    _need(3 * int(p["n_eval"]) <= int(p["n_target"]), "n_eval",
          f"validation, test and bridge set ({p['n_eval']} each) need at most n_target / 3 = "
          f"{int(p['n_target']) // 3} images")


def data_mismatch_case_study(p: dict[str, Any]) -> dict[str, Any]:
    target, web, n_eval = int(p["n_target"]), int(p["n_web"]), int(p["n_eval"])
    total = target + web
    mixed = _percent_split(total, p["split"])
    g = math.gcd(target, total)
    remaining = target - 2 * n_eval
    train_b = web + remaining
    return {
        "total": total,
        "mixed_val": mixed[1],
        "target_fraction_num": target // g,
        "target_fraction_den": total // g,
        "target_in_val": mixed[1] * target // total,
        "remaining_target": remaining,
        "train_b": train_b,
        "train_c": train_b - n_eval,
        "bridge_c": n_eval,
    }


# ====================================================================== seed 001 P4b-f: optimization
def check_optimization_concepts(p: dict[str, Any]) -> None:
    _check_ints(p, n_mantissa=(1, 9), n_exponent=(2, 7))


def optimization_concepts(p: dict[str, Any]) -> dict[str, Any]:
    m, k = int(p["n_mantissa"]), int(p["n_exponent"])
    return {  # n = m 10^k parameters, written as mantissa and exponent: n^2 and n^3 do not fit a line
        "hessian_mantissa": m * m,
        "hessian_exponent": 2 * k,
        "memory_mantissa": 4 * m * m,
        "memory_gb_exponent": 2 * k - 9,
        "inverse_mantissa": m**3,
        "inverse_exponent": 3 * k,
    }


# ====================================================================== seed 001 P8a-d: training
def check_training_fundamentals(p: dict[str, Any]) -> None:
    _check_ints(p, n_layers=(2, 1000), k_folds=(2, 100), n_samples=(2, 10**8))
    _need(p["n_samples"] % p["k_folds"] == 0, "n_samples",
          f"{p['n_samples']} samples do not split into {p['k_folds']} equal folds")


def training_fundamentals(p: dict[str, Any]) -> dict[str, Any]:
    k, n = int(p["k_folds"]), int(p["n_samples"])
    return {"fold_size": n // k, "fold_train_size": (k - 1) * n // k, "n_trainings": k}


# ====================================================================== 1-D points for the regression sketch
def _sample_points(rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Class 0 left of a gap, class 1 right of it, integer x in [0, 10], 3-4 points each."""
    t = int(rng.integers(4, 7))
    x0 = sorted(rng.choice(np.arange(0, t), size=int(rng.integers(3, 5)), replace=False).tolist())
    x1 = sorted(rng.choice(np.arange(t + 1, 11), size=int(rng.integers(3, 5)), replace=False).tolist())
    return [int(v) for v in x0], [int(v) for v in x1]


def _check_points(p: dict[str, Any]) -> None:
    for name in ("x0", "x1"):
        v = p[name]
        _need(isinstance(v, list) and len(v) >= 2 and len(set(v)) == len(v)
              and all(values.is_int(x) and 0 <= x <= 10 for x in v), name,
              f"expected at least two distinct integers in [0, 10], got {v!r}")
    _need(max(p["x0"]) < min(p["x1"]), "x1",
          f"every class-1 point must lie right of every class-0 point (max x0 = {max(p['x0'])})")


def _regression(x0: list[int], x1: list[int]) -> dict[str, Any]:
    x = np.array(x0 + x1, dtype=float)
    y = np.array([0.0] * len(x0) + [1.0] * len(x1))
    xm, ym = x.mean(), y.mean()
    slope = float(((x - xm) * (y - ym)).sum() / ((x - xm) ** 2).sum())
    return {
        "ls_slope": slope,
        "ls_intercept": float(ym - slope * xm),
        "logistic_center": (max(x0) + min(x1)) / 2,
    }


# ====================================================================== seed 001 P9b, d
def sample_regression_kernel(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    x0, x1 = _sample_points(rng)
    return {
        "x0": x0,
        "x1": x1,
        "kernel_center": int(rng.choice([-1, -2, -4, -8])),
        "kernel_neighbor": int(rng.choice([-1, -2])),
        "kernel_shape": str(rng.choice(["cross", "box"])),
    }


def check_regression_kernel(p: dict[str, Any]) -> None:
    _check_points(p)
    _check_ints(p, kernel_center=(-9, -1), kernel_neighbor=(-9, -1))
    _need(p["kernel_shape"] in ("cross", "box"), "kernel_shape",
          f"expected cross or box, got {p['kernel_shape']!r}")


def _kernel(center: int, neighbor: int, shape: str) -> list[list[int]]:
    corner = neighbor if shape == "box" else 0
    return [[corner, neighbor, corner], [neighbor, center, neighbor], [corner, neighbor, corner]]


def regression_sketch_and_kernel(p: dict[str, Any]) -> dict[str, Any]:
    k = _kernel(int(p["kernel_center"]), int(p["kernel_neighbor"]), str(p["kernel_shape"]))
    total = sum(sum(r) for r in k)
    return {**_regression(p["x0"], p["x1"]), "kernel": k, "kernel_sum": total, "kernel_gain": -total}


# ====================================================================== seed 001 P10d
def lstm_gradient_flow(p: dict[str, Any]) -> dict[str, Any]:
    return {"n_jacobians": int(p["seq_len"]) - 1}


def check_lstm_gradient_flow(p: dict[str, Any]) -> None:
    _check_ints(p, seq_len=(2, 10**6))


# ====================================================================== seed 001 P11
def check_q_learning(p: dict[str, Any]) -> None:
    _check_ints(p, frame_side=(2, 1024), n_frames=(1, 16), n_actions=(2, 1000), gray_levels=(2, 65536))
    g = int(p["gray_levels"])
    _need(g & (g - 1) == 0, "gray_levels", f"expected a power of two, got {g}")


def q_learning_and_graphs(p: dict[str, Any]) -> dict[str, Any]:
    pixels = int(p["frame_side"]) ** 2 * int(p["n_frames"])
    bits_per_pixel = int(p["gray_levels"]).bit_length() - 1
    state_bits = bits_per_pixel * pixels
    return {
        "pixels": pixels,
        "bits_per_pixel": bits_per_pixel,
        "state_bits": state_bits,
        "states_log10": math.floor(state_bits * math.log10(2)),
    }


# ====================================================================== seed 004 P2 (non-numeric parts)
def sample_training_short(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    x0, x1 = _sample_points(rng)
    classes = [["car", "person"], ["cat", "dog"], ["tumor", "healthy tissue"], ["pedestrian", "background"]]
    return {
        "n_layers": int(rng.choice([8, 10, 12, 15, 20, 30])),
        "activation": str(rng.choice(["tanh", "sigmoid"])),
        "lr": float(rng.choice([0.1, 0.05, 0.01, 0.2])),
        "weight_decay": float(rng.choice([0.1, 0.01, 0.5, 0.001])),
        "classes": classes[int(rng.integers(len(classes)))],
        "mlp_layers": int(rng.choice([2, 3, 4])),
        "x0": x0,
        "x1": x1,
    }


def check_training_short(p: dict[str, Any]) -> None:
    _check_points(p)
    _check_ints(p, n_layers=(2, 1000), mlp_layers=(2, 20))
    _need(p["activation"] in ("tanh", "sigmoid"), "activation",
          f"expected tanh or sigmoid, got {p['activation']!r}")
    for name in ("lr", "weight_decay"):
        v = p[name]
        _need(values.is_number(v) and 0 < v < 1, name, f"expected a number in (0, 1), got {v!r}")
    _need(isinstance(p["classes"], list) and len(p["classes"]) == 2, "classes",
          f"expected [positive class, negative class], got {p['classes']!r}")


def training_short_questions(p: dict[str, Any]) -> dict[str, Any]:
    lr, lam = float(p["lr"]), float(p["weight_decay"])
    return {**_regression(p["x0"], p["x1"]), "decay_factor": round(1 - lr * lam, 12)}


# ====================================================================== seed 004 P3
def check_optimizer_short(p: dict[str, Any]) -> None:
    _check_ints(p, n_samples=(1, 10**9), batch_size=(1, 10**6), epochs=(1, 10**4))
    _need(p["n_samples"] % p["batch_size"] == 0, "batch_size",
          f"{p['n_samples']} samples do not split into minibatches of {p['batch_size']}")


def optimizer_short_questions(p: dict[str, Any]) -> dict[str, Any]:
    per_epoch = int(p["n_samples"]) // int(p["batch_size"])
    return {"iterations_per_epoch": per_epoch, "total_iterations": per_epoch * int(p["epochs"])}


def batches_divide(p: dict[str, Any]) -> bool:
    """the training set splits into whole minibatches"""
    return int(p["n_samples"]) % int(p["batch_size"]) == 0


# ====================================================================== seed 004 P4 d-f
def check_cnn_design(p: dict[str, Any]) -> None:
    _check_ints(p, feat_side=(1, 4096), feat_channels=(2, 100000), next_kernel=(1, 15),
                next_filters=(1, 100000), reduce_to=(1, 100000), n_conv=(1, 1000), n_fc=(1, 10),
                num_classes=(2, 100000), input_side=(1, 10000))
    _need(p["reduce_to"] < p["feat_channels"], "reduce_to",
          f"the 1x1 bottleneck must have fewer channels than {p['feat_channels']}, got {p['reduce_to']}")
    _need(p["next_kernel"] % 2 == 1, "next_kernel", f"expected an odd kernel size, got {p['next_kernel']}")


def cnn_design_segmentation(p: dict[str, Any]) -> dict[str, Any]:
    hw = int(p["feat_side"]) ** 2
    c_in, k, c_out, c_red = int(p["feat_channels"]), int(p["next_kernel"]), int(p["next_filters"]), int(p["reduce_to"])
    direct = hw * k * k * c_in * c_out
    reduce = hw * c_in * c_red
    after = hw * k * k * c_red * c_out
    return {
        "mults_direct": direct,
        "mults_reduce": reduce,
        "mults_after": after,
        "mults_bottleneck": reduce + after,
        "speedup": direct / (reduce + after),
        "same_padding": (k - 1) // 2,
    }


def bottleneck_saves(p: dict[str, Any]) -> bool:
    """the 1x1 bottleneck needs fewer multiplications than the direct convolution"""
    r = cnn_design_segmentation(p)
    return bool(r["mults_bottleneck"] < r["mults_direct"])
