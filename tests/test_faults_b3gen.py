"""Issue 15 (helper b3gen): pinned parameters of layernorm_forward, gan_losses, vae_kl and
gan_update_step that no solver can use are one line naming the template and the parameter
(exit 2), from `examgen solve --params` and from a spec."""

from __future__ import annotations

import pytest
from faults import Row, pinned, run_row, solved

ROWS = [
    Row("layernorm-constant-row", "examgen: error: template 'layernorm_forward', parameter 'z': row 1 is constant, "
        "so its sigma is 0 and z_norm is undefined; give every row two different values", 2,
        **solved("layernorm_forward", "z: [[1, 1, 1, 1], [1, 2, 3, 4]]\ngamma: [1, 1, 1, 1]\nbeta: [0, 0, 0, 0]\n")),
    Row("layernorm-gamma-length", "template 'layernorm_forward', parameter 'gamma': expected 4 entries (one per "
        "column of z), got 3", 2,
        **solved("layernorm_forward", "z: [[1, 2, 3, 4]]\ngamma: [1, 1, 1]\nbeta: [0, 0, 0, 0]\n")),
    Row("gan-losses-probability-above-1", "template 'gan_losses', parameter 'd_fake': expected a probability "
        "strictly between 0 and 1, got 1.5; give D's output, e.g. 0.3", 2,
        **solved("gan_losses", "d_real: 0.5\nd_fake: 1.5\n")),
    pinned("gan-losses-in-spec", "gan_losses", "{d_real: 0}", "d_real",
           "expected a probability strictly between 0 and 1, got 0"),
    Row("vae-kl-lengths-differ", "template 'vae_kl', parameter 'logvar': expected 2 entries (one per entry of mu), "
        "got 1", 2, **solved("vae_kl", "mu: [1, 2]\nlogvar: [0]\n")),
    Row("gan-step-unknown-loss", "template 'gan_update_step', parameter 'generator_loss': expected one of minimax, "
        "non-saturating, got 'wasserstein'", 2, **solved("gan_update_step", "generator_loss: wasserstein\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
