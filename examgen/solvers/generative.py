"""Generative models (issue 15): GAN losses and their gradients, the VAE's KL term and
reparameterization, and one GAN update step (seed 002 Q21) for a scalar generator and a
logistic discriminator. Every sigma, e^x and ln comes from `elementary` (the printed tables)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParamError
from ..values import is_number, is_vector
from . import elementary
from .recurrent import _dec


def _probability(p: dict[str, Any], name: str) -> float:
    v: Any = p.get(name)
    if not is_number(v) or not 0 < float(v) < 1:
        raise ParamError(name, f"expected a probability strictly between 0 and 1, got {v!r}; "
                               "give D's output, e.g. 0.3")
    return float(v)


# ====================================================================== gan_losses
def check_gan_losses(p: dict[str, Any]) -> None:
    _probability(p, "d_real")
    _probability(p, "d_fake")


def gan_losses(p: dict[str, Any]) -> dict[str, Any]:
    """D(x) = d_real, D(G(z)) = d_fake = sigma(a) with a the discriminator's logit of the fake.
    Discriminator loss (BCE, minimized): -ln D(x) - ln(1 - D(G(z))). Generator losses
    (minimized): minimax ln(1 - D(G(z))), non-saturating -ln D(G(z)). Their gradients w.r.t. a:
    d/da ln(1 - sigma(a)) = -sigma(a) and d/da -ln sigma(a) = -(1 - sigma(a))."""
    dr, df = float(p["d_real"]), float(p["d_fake"])
    ln_real, ln_fake, ln_not_fake = elementary.log(dr), elementary.log(df), elementary.log(1 - df)
    grad_mm, grad_ns = -df, -(1 - df)
    return {
        "ln_real": ln_real, "ln_fake": ln_fake, "ln_not_fake": ln_not_fake,
        "loss_d": -ln_real - ln_not_fake, "loss_g_minimax": ln_not_fake, "loss_g_ns": -ln_fake,
        "grad_minimax": grad_mm, "grad_ns": grad_ns,
        "larger": "non-saturating" if abs(grad_ns) > abs(grad_mm) else "minimax",
        "log_args": [dr, df, 1 - df],  # the ln table the statement prints
    }


def sample_gan_losses(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Two decimals: D(x) in [0.55, 0.98]; D(G(z)) in [0.02, 0.75] but not 0.5, so that either
    generator gradient can be the larger one."""
    fake = int(rng.integers(2, 75))
    return {"d_real": round(int(rng.integers(55, 99)) / 100, 2), "d_fake": round((fake + (fake >= 50)) / 100, 2)}


def gan_fake_is_half(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: D(G(z)) = 0.5, both generator gradients have the same size"""
    return float(p["d_fake"]) == 0.5


# ====================================================================== vae_kl
def check_vae_kl(p: dict[str, Any]) -> None:
    for name in ("mu", "logvar", "eps"):
        v: Any = p.get(name)
        if not is_vector(v) or not 1 <= len(v) <= 6:
            raise ParamError(name, f"expected 1 to 6 numbers (one per latent dimension), got {v!r}")
        if max(abs(float(x)) for x in v) > 10:
            raise ParamError(name, "entries must be at most 10 in magnitude")
    for name in ("logvar", "eps"):
        if len(p[name]) != len(p["mu"]):
            raise ParamError(name, f"expected {len(p['mu'])} entries (one per entry of mu), got {len(p[name])}")


def vae_kl(p: dict[str, Any]) -> dict[str, Any]:
    """KL(N(mu, sigma^2) || N(0, 1)) = 1/2 sum(sigma^2 + mu^2 - 1 - ln sigma^2) with
    sigma^2 = e^logvar; reparameterized z = mu + sigma eps with sigma = e^(logvar / 2)."""
    mu = np.asarray(p["mu"], dtype=float)
    logvar = np.asarray(p["logvar"], dtype=float)
    eps = np.asarray(p["eps"], dtype=float)
    var = elementary.exp(logvar)
    sigma = elementary.exp(logvar / 2)
    kl_dims = 0.5 * (var + mu ** 2 - 1 - logvar)
    return {"var": var, "sigma": sigma, "kl_dims": kl_dims, "kl": float(kl_dims.sum()), "z": mu + sigma * eps,
            "exp_args": sorted({float(v) for v in np.concatenate([logvar, logvar / 2]) if v != 0})}


def sample_vae_kl(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """2 or 3 latent dimensions; mu and eps one decimal in [-1.5, 1.5] and [-2, 2] (eps not 0),
    logvar one even tenth in [-1.6, 1.6] (so logvar / 2 has one decimal too); mu is not 0 where
    logvar is."""
    sized = [pinned[k] for k in ("mu", "logvar", "eps") if k in pinned]
    n = len(sized[0]) if sized else int(rng.integers(2, 4))
    logvar = [_dec(rng, -1.6, 1.6, step=0.2) for _ in range(n)]
    return {"mu": [_dec(rng, -1.5, 1.5, nonzero=lv == 0) for lv in logvar],  # no dimension that is N(0, 1)
            "logvar": logvar, "eps": [_dec(rng, -2, 2, nonzero=True) for _ in range(n)]}


def vae_standard_dimension(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: a latent dimension with mu = 0 and logvar = 0 (its KL term is 0 by inspection)"""
    return any(float(m) == 0 and float(lv) == 0 for m, lv in zip(p["mu"], p["logvar"]))


# ====================================================================== gan_update_step (seed 002 Q21)
GAN_GENERATOR_LOSSES = ("minimax", "non-saturating")
GAN_STEP_NUMBERS = ("x", "z", "w_d", "b_d", "w_g", "b_g", "lr")


def check_gan_update_step(p: dict[str, Any]) -> None:
    for name in GAN_STEP_NUMBERS:
        v: Any = p.get(name)
        if not is_number(v) or abs(float(v)) > 10:
            raise ParamError(name, f"expected a number of magnitude at most 10, got {v!r}")
    if not float(p["lr"]) > 0:
        raise ParamError("lr", f"expected a positive learning rate, got {p['lr']!r}")
    if p.get("generator_loss", "minimax") not in GAN_GENERATOR_LOSSES:
        raise ParamError("generator_loss", f"expected one of {', '.join(GAN_GENERATOR_LOSSES)}, "
                                           f"got {p.get('generator_loss')!r}")


def gan_update_step(p: dict[str, Any]) -> dict[str, Any]:
    """Generator G(z) = w_g z + b_g, discriminator D(v) = sigma(w_d v + b_d). One step of
    Goodfellow et al.'s algorithm 1 with learning rate lr: the discriminator ascends
    V = ln D(x) + ln(1 - D(G(z))) (dV/da_real = 1 - D(x), dV/da_fake = -D(G(z))); then the
    generator, with the updated discriminator, descends ln(1 - D(G(z))) (minimax: dL/dG = -D w_d)
    or -ln D(G(z)) (non-saturating: dL/dG = -(1 - D) w_d)."""
    x, z, lr = float(p["x"]), float(p["z"]), float(p["lr"])
    w_d, b_d, w_g, b_g = (float(p[k]) for k in ("w_d", "b_d", "w_g", "b_g"))
    g = w_g * z + b_g
    a_real, a_fake = w_d * x + b_d, w_d * g + b_d
    d_real, d_fake = elementary.sigmoid(a_real), elementary.sigmoid(a_fake)
    grad_w_d = (1 - d_real) * x - d_fake * g
    grad_b_d = (1 - d_real) - d_fake
    w_d_new, b_d_new = w_d + lr * grad_w_d, b_d + lr * grad_b_d
    a_fake_new = w_d_new * g + b_d_new
    d_fake_new = elementary.sigmoid(a_fake_new)
    minimax = p.get("generator_loss", "minimax") == "minimax"
    grad_g = -d_fake_new * w_d_new if minimax else -(1 - d_fake_new) * w_d_new
    grad_w_g, grad_b_g = grad_g * z, grad_g
    return {
        "g": g, "a_real": a_real, "a_fake": a_fake, "d_real": d_real, "d_fake": d_fake,
        "grad_w_d": grad_w_d, "grad_b_d": grad_b_d, "w_d_new": w_d_new, "b_d_new": b_d_new,
        "a_fake_new": a_fake_new, "d_fake_new": d_fake_new, "grad_g": grad_g,
        "grad_w_g": grad_w_g, "grad_b_g": grad_b_g, "w_g_new": w_g - lr * grad_w_g, "b_g_new": b_g - lr * grad_b_g,
        "sigma_args": [a_real, a_fake, a_fake_new],  # the sigma table the statement prints
    }


def sample_gan_update_step(rng: np.random.Generator, pinned: dict[str, Any]) -> dict[str, Any]:
    """Scalars with one decimal: x in [0.5, 2] (a real sample), z in [-1, 1] without 0, the
    weights in [-1, 1] (w_d, w_g not 0), lr in {0.1, 0.5, 1}; draws use the minimax loss of
    the seed half of the time."""
    return {"x": _dec(rng, 0.5, 2), "z": _dec(rng, -1, 1, nonzero=True),
            "w_d": _dec(rng, -1, 1, nonzero=True), "b_d": _dec(rng, -1, 1),
            "w_g": _dec(rng, -1, 1, nonzero=True), "b_g": _dec(rng, -1, 1),
            "lr": float(rng.choice([0.1, 0.5, 1.0])),
            "generator_loss": GAN_GENERATOR_LOSSES[int(rng.integers(2))]}


def gan_step_not_degenerate(p: dict[str, Any]) -> bool:
    """the fake differs from the real sample and no gradient is about 0 (|.| >= 0.01)"""
    a = gan_update_step(p)
    return (abs(a["g"] - float(p["x"])) >= 0.1
            and all(abs(a[k]) >= 0.01 for k in ("grad_w_d", "grad_b_d", "grad_w_g", "grad_b_g")))


def gan_step_zero_gradient(p: dict[str, Any], a: dict[str, Any]) -> bool:
    """degenerate: a parameter does not move (a gradient below 0.005)"""
    return any(abs(a[k]) < 0.005 for k in ("grad_w_d", "grad_b_d", "grad_w_g", "grad_b_g"))
