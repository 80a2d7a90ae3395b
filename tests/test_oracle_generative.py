"""Independent oracles for the issue-15 templates layernorm_forward (normalization), gan_losses,
vae_kl and gan_update_step (generative).

Expected values come from torch (F.layer_norm, F.binary_cross_entropy, autograd through
torch.sigmoid, torch.distributions.kl_divergence, nn.Linear modules stepped by torch.optim.SGD)
or from hand-worked numbers with math; examgen's own formulas are never called. Draws go
through the templates' own samplers: solve_question(template, derive_seed(2026, n, id)).
Seed 002 Q21 (GAN back-propagation) prints no numbers (its two networks were a figure that the
seed text lost), so its pinned case is worked by hand here instead of taken from the seed.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from oracle import close as _close
from oracle import draws as _draws
from oracle import float64  # noqa: F401  (float64: autouse fixture)
from oracle import pinned as _pinned
from oracle import t as _t
from torch import nn
from torch.distributions import Normal, kl_divergence

from examgen.bank import load_bank
from examgen.errors import ParamError

BANK = load_bank()


def _sig(a: float) -> float:
    return 1 / (1 + math.exp(-a))


# ====================================================================== layernorm_forward
def _torch_layernorm(p: dict) -> dict:
    z = _t(p["z"])
    n = z.shape[1]
    return {"mu": z.mean(dim=1), "sigma": z.var(dim=1, unbiased=False).sqrt(),
            "z_norm": F.layer_norm(z, (n,), eps=0.0),
            "y": F.layer_norm(z, (n,), weight=_t(p["gamma"]), bias=_t(p["beta"]), eps=0.0)}


def test_layernorm_matches_torch():
    for n, q in _draws("layernorm_forward"):
        exp = _torch_layernorm(q.params)
        for k, v in exp.items():
            _close(q.answers[k], v, k, f"draw {n} {q.params}")


def test_layernorm_draws_are_hand_friendly():
    """Every draw's std is an integer and z_norm, y have at most two decimals (calculator: none)."""
    for n, q in _draws("layernorm_forward"):
        exp = _torch_layernorm(q.params)
        assert torch.allclose(exp["sigma"], exp["sigma"].round(), atol=1e-9), (n, q.params)
        for k in ("z_norm", "y"):
            assert torch.allclose(exp[k] * 100, (exp[k] * 100).round(), atol=1e-9), (n, k, q.params)
        assert q.answers["sqrt_args"] == [], (n, q.params)


def test_layernorm_pinned_rows_normalize_per_sample_not_per_feature():
    """Pinned by hand: rows (1, 2, 3, 4) and (2, 2, 2, 6). Row 1: mu 2.5, var 1.25 (no perfect
    square: the statement then prints sqrt 1.25); row 2: mu 3, var 3. Batch norm would normalize
    the columns instead."""
    p = {"z": [[1, 2, 3, 4], [2, 2, 2, 6]], "gamma": [1, 2, 1, 1], "beta": [0, 0, 1, -1]}
    q = _pinned("layernorm_forward", p)
    _close(q.answers["mu"], [2.5, 3.0], "mu")
    _close(q.answers["sigma"], [math.sqrt(1.25), math.sqrt(3)], "sigma")
    s = math.sqrt(1.25)
    _close(q.answers["y"][0], [-1.5 / s, 2 * -0.5 / s, 0.5 / s + 1, 1.5 / s - 1], "y row 1")
    for k, v in _torch_layernorm(p).items():
        _close(q.answers[k], v, k, "pinned")
    assert sorted(q.answers["sqrt_args"]) == [1.25, 3.0]


def test_layernorm_constant_row_is_refused_when_pinned():
    with pytest.raises(ParamError, match="parameter 'z': row 1 is constant, so its sigma is 0"):
        _pinned("layernorm_forward", {"z": [[1, 1, 1, 1], [1, 2, 3, 4]], "gamma": [1] * 4, "beta": [0] * 4})


# ====================================================================== gan_losses
def _torch_gan_losses(p: dict) -> dict:
    dr, df = _t(p["d_real"]), _t(p["d_fake"])
    loss_d = F.binary_cross_entropy(torch.stack([dr, df]), _t([1.0, 0.0]), reduction="sum")
    out = {"loss_d": loss_d}
    for name, loss in (("minimax", lambda s: torch.log(1 - s)), ("ns", lambda s: -torch.log(s))):
        a = torch.logit(df).detach().requires_grad_(True)
        value = loss(torch.sigmoid(a))
        value.backward()
        out[f"loss_g_{name}"] = value.detach()
        out[f"grad_{name}"] = a.grad
    return out


def test_gan_losses_match_autograd():
    for n, q in _draws("gan_losses"):
        exp = _torch_gan_losses(q.params)
        for k, v in exp.items():
            _close(q.answers[k], v, k, f"draw {n} {q.params}", atol=1e-9)
        bigger = "non-saturating" if abs(exp["grad_ns"]) > abs(exp["grad_minimax"]) else "minimax"
        assert q.answers["larger"] == bigger, (n, q.params)


def test_gan_losses_minimax_gradient_saturates():
    """D(G(z)) = 0.02 (a discriminator that rejects the fake): the minimax gradient is -0.02, the
    non-saturating one -0.98; at D(G(z)) = 0.9 the minimax one is the larger."""
    q = _pinned("gan_losses", {"d_real": 0.9, "d_fake": 0.02})
    _close(q.answers["grad_minimax"], -0.02, "grad_minimax")
    _close(q.answers["grad_ns"], -0.98, "grad_ns")
    _close(q.answers["loss_d"], -math.log(0.9) - math.log(0.98), "loss_d")
    assert q.answers["larger"] == "non-saturating"
    assert _pinned("gan_losses", {"d_real": 0.6, "d_fake": 0.9}).answers["larger"] == "minimax"


def test_gan_losses_refuses_a_probability_outside_0_1():
    with pytest.raises(ParamError, match="parameter 'd_fake': expected a probability strictly between 0 and 1"):
        _pinned("gan_losses", {"d_real": 0.5, "d_fake": 1.0})


# ====================================================================== vae_kl
def _torch_vae(p: dict) -> dict:
    mu, logvar, eps = _t(p["mu"]), _t(p["logvar"]), _t(p["eps"])
    std = torch.exp(0.5 * logvar)
    q = Normal(mu, std)
    return {"kl": kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(),
            "kl_dims": kl_divergence(q, Normal(0.0, 1.0)), "sigma": q.stddev,
            "z": mu + std * eps}


def test_vae_kl_matches_torch_distributions():
    for n, q in _draws("vae_kl"):
        for k, v in _torch_vae(q.params).items():
            _close(q.answers[k], v, k, f"draw {n} {q.params}")


def test_vae_kl_pinned_by_hand():
    """mu = (1, 0), logvar = (0, ln 4): KL = 1/2 (1 + 1 - 1 - 0) + 1/2 (4 + 0 - 1 - ln 4) = 0.5 + 1.5 - ln 2;
    z = (1 + 1 * 0.5, 0 + 2 * (-1)) = (1.5, -2)."""
    q = _pinned("vae_kl", {"mu": [1, 0], "logvar": [0, math.log(4)], "eps": [0.5, -1]})
    _close(q.answers["kl"], 2 - math.log(2), "kl")
    _close(q.answers["z"], [1.5, -2.0], "z")


# ====================================================================== gan_update_step
def _torch_gan_step(p: dict) -> dict:
    """One step of Goodfellow et al.'s algorithm 1 with torch modules and torch.optim.SGD:
    D ascends (maximize=True), then G descends through the updated D."""
    G, D = nn.Linear(1, 1), nn.Linear(1, 1)
    with torch.no_grad():
        D.weight.fill_(p["w_d"]), D.bias.fill_(p["b_d"]), G.weight.fill_(p["w_g"]), G.bias.fill_(p["b_g"])
    x, z = _t([[p["x"]]]), _t([[p["z"]]])
    opt_d = torch.optim.SGD(D.parameters(), lr=p["lr"], maximize=True)
    opt_g = torch.optim.SGD(G.parameters(), lr=p["lr"])
    fake = G(z).detach()
    d_real, d_fake = torch.sigmoid(D(x)), torch.sigmoid(D(fake))
    v = torch.log(d_real) + torch.log(1 - d_fake)
    opt_d.zero_grad()
    v.sum().backward()
    out = {"g": fake, "d_real": d_real.detach(), "d_fake": d_fake.detach(),
           "grad_w_d": D.weight.grad.clone(), "grad_b_d": D.bias.grad.clone()}
    opt_d.step()
    out |= {"w_d_new": D.weight.detach().clone(), "b_d_new": D.bias.detach().clone()}
    d_new = torch.sigmoid(D(G(z)))
    loss_g = torch.log(1 - d_new) if p["generator_loss"] == "minimax" else -torch.log(d_new)
    opt_g.zero_grad()
    loss_g.sum().backward()
    out |= {"d_fake_new": d_new.detach(), "grad_w_g": G.weight.grad.clone(), "grad_b_g": G.bias.grad.clone()}
    opt_g.step()
    return out | {"w_g_new": G.weight.detach(), "b_g_new": G.bias.detach()}


def test_gan_update_step_matches_torch_sgd():
    seen = set()
    for n, q in _draws("gan_update_step"):
        seen.add(q.params["generator_loss"])
        for k, v in _torch_gan_step(q.params).items():
            _close(q.answers[k], v.reshape(()), k, f"draw {n} {q.params}")
    assert seen == {"minimax", "non-saturating"}


@pytest.mark.parametrize("loss", ["minimax", "non-saturating"])
def test_gan_update_step_pinned_by_hand(loss):
    """x = 1, z = 1, theta = (0, 0), beta = (0.5, 0), lambda = 1. D(x) = D(G(z)) = 1/2, G(z) = 0.5;
    dV/dtheta_1 = 1/2 * 1 - 1/2 * 0.5 = 0.25, dV/dtheta_0 = 1/2 - 1/2 = 0; ascent: theta = (0.25, 0).
    The generator then sees D(G(z)) = sigma(0.125); minimax dL/dG = -sigma(0.125) * 0.25,
    non-saturating -(1 - sigma(0.125)) * 0.25; z = 1, so both beta move by the same amount."""
    p = {"x": 1, "z": 1, "w_d": 0, "b_d": 0, "w_g": 0.5, "b_g": 0, "lr": 1, "generator_loss": loss}
    a = _pinned("gan_update_step", p).answers
    s = _sig(0.125)
    grad = -(s if loss == "minimax" else 1 - s) * 0.25
    for k, v in {"d_real": 0.5, "g": 0.5, "d_fake": 0.5, "grad_w_d": 0.25, "grad_b_d": 0.0, "w_d_new": 0.25,
                 "b_d_new": 0.0, "d_fake_new": s, "grad_w_g": grad, "grad_b_g": grad,
                 "w_g_new": 0.5 - grad, "b_g_new": -grad}.items():
        _close(a[k], v, k, loss)


def test_gan_update_step_refuses_a_bad_learning_rate():
    p = {"x": 1, "z": 1, "w_d": 0, "b_d": 0, "w_g": 0.5, "b_g": 0, "lr": -0.1}
    with pytest.raises(ParamError, match="parameter 'lr': expected a positive learning rate"):
        _pinned("gan_update_step", p)
