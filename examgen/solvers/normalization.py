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
    """Integer vectors d (length b) with sum 0 and population std sigma, not all equal in magnitude."""
    rng = range(-2 * sigma, 2 * sigma + 1)
    target = b * sigma * sigma
    return tuple(d for d in product(rng, repeat=b) if sum(d) == 0 and sum(x * x for x in d) == target)


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
