"""Batch normalization (seed 001 P5): population standard deviation, eps = 0
unless the template sets it."""

from __future__ import annotations

from functools import cache
from itertools import product
from typing import Any

import numpy as np

from ..errors import ParamError, SolverError
from . import elementary

SIGMAS = (1, 2, 4, 5)  # z_norm = d / sigma then has at most two decimals


def check_batchnorm(p: dict[str, Any]) -> None:
    z = np.asarray(p["z"], dtype=float)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ParamError("z", f"expected a b x n matrix with b >= 2 rows, got shape {list(z.shape)}")
    n = z.shape[1]
    for name in ("gamma", "beta"):
        if len(p[name]) != n:
            raise ParamError(name, f"expected {n} entries (one per column of z), got {len(p[name])}")
    if float(p.get("eps", 0)) < 0:
        raise ParamError("eps", f"expected eps >= 0, got {p['eps']}")


def batchnorm_forward(p: dict[str, Any]) -> dict[str, Any]:
    z = np.asarray(p["z"], dtype=float)
    gamma = np.asarray(p["gamma"], dtype=float)
    beta = np.asarray(p["beta"], dtype=float)
    eps = float(p.get("eps", 0.0))
    mu = z.mean(axis=0)
    var = ((z - mu) ** 2).mean(axis=0)
    sigma = elementary.sqrt(var + eps)
    if np.any(sigma == 0):
        col = int(np.argmin(sigma))
        raise SolverError(f"batchnorm_forward: column {col + 1} of z is constant, so sigma = 0 and z_norm is undefined")
    z_norm = (z - mu) / sigma
    y = gamma * z_norm + beta
    return {"mu": mu, "sigma": sigma, "z_norm": z_norm, "y": y}


@cache
def _deviations(b: int, sigma: int) -> tuple[tuple[int, ...], ...]:
    """Integer vectors d (length b, entries within +-2 sigma) with sum 0 and population std sigma,
    in lexicographic order (the draw indexes into it). The last entry is the one that makes the sum
    0, so only the first b - 1 are enumerated: 21^3 candidates instead of 21^4 for sigma = 5 (the
    full search cost 65 ms of the first variant's draw, before its TeX run could start)."""
    rng = range(-2 * sigma, 2 * sigma + 1)
    target = b * sigma * sigma
    out = []
    for head in product(rng, repeat=b - 1):
        last = -sum(head)
        if -2 * sigma <= last <= 2 * sigma and sum(x * x for x in head) + last * last == target:
            out.append((*head, last))
    return tuple(out)


def sample_batchnorm(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """z column by column as mu + d with integer mu, integer sigma and d / sigma
    at most two decimals, so mu, sigma, z_norm and y are hand-computable."""
    if "z" in pinned:
        z = pinned["z"]
        n = len(z[0])
    else:
        sized = [pinned[k] for k in ("gamma", "beta") if k in pinned]
        n = len(sized[0]) if sized else int(rng.integers(2, 4))
        b = 4
        cols = []
        for _ in range(n):
            sigma = int(rng.choice(SIGMAS))
            devs = _deviations(b, sigma)
            d = np.array(devs[int(rng.integers(len(devs)))])
            mu = int(rng.integers(-8, 9))
            cols.append(mu + d)
        z = np.stack(cols, axis=1).astype(int).tolist()
    gamma = pinned.get("gamma") or [int(g) for g in rng.choice([1, 2, 3, -1], size=n)]
    beta = pinned.get("beta") or [int(v) for v in rng.integers(-10, 11, size=n)]
    return {"z": z, "gamma": gamma, "beta": beta, "eps": pinned.get("eps", 0)}


def columns_not_constant(p: dict[str, Any]) -> bool:
    """every column of z varies (sigma > 0)"""
    return bool(np.all(np.asarray(p["z"], dtype=float).std(axis=0) > 0))


def columns_distinct(p: dict[str, Any]) -> bool:
    """no two columns of z are equal (each column needs its own computation)"""
    z = np.asarray(p["z"], dtype=float)
    return len({tuple(c) for c in z.T}) == z.shape[1]


# ====================================================================== layernorm_forward (issue 15)
LAYERNORM_FEATURES = 5  # draws: 5 features, so a row's deviations from its mean can have std 2 or 4
LAYERNORM_SIGMAS = {4: (5,), 5: (2, 4)}  # features -> stds whose rows are not all +-sigma


def check_layernorm(p: dict[str, Any]) -> None:
    z = np.asarray(p["z"], dtype=float)
    if z.ndim != 2 or not 1 <= z.shape[0] <= 6 or not 2 <= z.shape[1] <= 8:
        raise ParamError("z", f"expected a b x n matrix with 1 to 6 rows and 2 to 8 columns, got shape {list(z.shape)}")
    n = z.shape[1]
    for name in ("gamma", "beta"):
        if len(p[name]) != n:
            raise ParamError(name, f"expected {n} entries (one per column of z), got {len(p[name])}")
    constant = [i + 1 for i, row in enumerate(z) if np.all(row == row[0])]
    if constant:
        raise ParamError("z", f"row {constant[0]} is constant, so its sigma is 0 and z_norm is undefined; "
                              "give every row two different values")


def layernorm_forward(p: dict[str, Any]) -> dict[str, Any]:
    """Layer norm (torch.nn.functional.layer_norm over the last dimension, eps = 0): each row
    (one sample) is normalized over its n features with its own mean and population std;
    gamma and beta are per feature. 'sqrt_args': the variances that are no perfect squares
    (the statement prints their roots)."""
    z = np.asarray(p["z"], dtype=float)
    gamma = np.asarray(p["gamma"], dtype=float)
    beta = np.asarray(p["beta"], dtype=float)
    mu = z.mean(axis=1)
    var = ((z - mu[:, None]) ** 2).mean(axis=1)
    sigma = elementary.sqrt(var)
    if np.any(sigma == 0):
        row = int(np.argmin(sigma))
        raise SolverError(f"layernorm_forward: row {row + 1} of z is constant, so sigma = 0 and z_norm is undefined")
    z_norm = (z - mu[:, None]) / sigma[:, None]
    y = gamma * z_norm + beta
    roots = [float(v) for v in var if abs(round(float(np.sqrt(v)), 4) ** 2 - v) > 1e-12]
    return {"mu": mu, "var": var, "sigma": sigma, "z_norm": z_norm, "y": y, "sqrt_args": roots}


@cache
def _row_deviations(n: int, sigma: int) -> tuple[tuple[int, ...], ...]:
    """Integer vectors d (length n, entries in [-2 sigma, 2 sigma]) with sum 0 and population std
    sigma whose entries are not all of one magnitude (else z_norm is all +-1)."""
    out = []
    for head in product(range(-2 * sigma, 2 * sigma + 1), repeat=n - 1):
        d = (*head, -sum(head))
        if abs(d[-1]) <= 2 * sigma and sum(x * x for x in d) == n * sigma * sigma and len({abs(x) for x in d}) > 1:
            out.append(d)
    return tuple(out)


def sample_layernorm(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """2 or 3 rows of 5 features, each row mu + d with an integer mean mu, population std
    sigma 2 or 4 and so z_norm = d / sigma with at most two decimals (halves, quarters)."""
    if "z" in pinned:
        z = pinned["z"]
        n = len(z[0])
    else:
        sized = [pinned[k] for k in ("gamma", "beta") if k in pinned]
        n = len(sized[0]) if sized else LAYERNORM_FEATURES
        if n not in LAYERNORM_SIGMAS:
            raise ParamError("gamma" if "gamma" in pinned else "beta",
                             f"draws of z have 4 or 5 features (for a hand-friendly std), not {n}; pin z as well")
        rows = []
        for _ in range(int(rng.integers(2, 4))):
            devs = _row_deviations(n, int(rng.choice(LAYERNORM_SIGMAS[n])))
            rows.append(int(rng.integers(-8, 9)) + np.array(devs[int(rng.integers(len(devs)))]))
        z = np.stack(rows).astype(int).tolist()
    gamma = pinned.get("gamma") or [int(g) for g in rng.choice([1, 2, 3, -1, -2], size=n)]
    beta = pinned.get("beta") or [int(v) for v in rng.integers(-5, 6, size=n)]
    return {"z": z, "gamma": gamma, "beta": beta}


def rows_distinct(p: dict[str, Any]) -> bool:
    """no two rows of z are equal (each row needs its own computation)"""
    z = np.asarray(p["z"], dtype=float)
    return len({tuple(r) for r in z}) == z.shape[0]


def layernorm_identity_affine(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: gamma = 1 and beta = 0 everywhere, so y is z_norm again"""
    return all(float(g) == 1 for g in p["gamma"]) and all(float(b) == 0 for b in p["beta"])
