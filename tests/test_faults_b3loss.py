"""Issue 15 (helper b3loss): pinned parameters the loss templates cannot solve, through
`examgen solve --params` and a spec. Each row: one stderr line, exit code 2, folders untouched."""

from __future__ import annotations

import pytest
from faults import Row, problems, run_row, solved

ROWS = [
    Row("label-smoothing-target-out-of-range", "template 'label_smoothing_ce', parameter 'target': expected a class "
        "index 0 to 2 (classes are numbered from 0), got 3", 2,
        **solved("label_smoothing_ce", "logits: [1, 2, 3]\ntarget: 3\neps: 0.1\n")),
    Row("label-smoothing-eps-one", "template 'label_smoothing_ce', parameter 'eps': expected a smoothing "
        "0 <= eps < 1, got 1", 2, **solved("label_smoothing_ce", "logits: [1, 2, 3]\ntarget: 0\neps: 1\n")),
    Row("ce-from-logits-spread", "template 'ce_from_logits', parameter 'logits': the logits must lie within 20 of "
        "each other", 2, **solved("ce_from_logits", "logits: [100, 50, 60]\ntarget: 0\nz: 1\ny: 1\n")),
    Row("ce-from-logits-label-two", "template 'ce_from_logits', parameter 'y': expected a label 0 or 1, got 2", 2,
        **solved("ce_from_logits", "y: 2\n")),
    Row("l1-backprop-v-length", "template 'l1_backprop', parameter 'v': expected 3 entries (bias first, then one "
        "per hidden unit)", 2, **solved("l1_backprop", "W: [[1, 2, 1], [1, 1, 2]]\nv: [1, 2]\n")),
    Row("l1-backprop-negative-lambda", "template 'l1_backprop', parameter 'lam': expected a positive penalty "
        "strength, got -0.1", 2, **solved("l1_backprop", "lam: -0.1\n")),
    Row("xor-l2-labels-in-spec", "template 'xor_l2_step', parameter 'y': expected 4 labels 0 or 1 (one per row of "
        "X), got [1, 0, 0]", 2, spec=problems("  - template: xor_l2_step\n    params: {y: [1, 0, 0]}\n")),
    Row("output-layer-bias-count", "template 'output_layer_ce', parameter 'b': expected 3 biases (one per row of "
        "W)", 2, **solved("output_layer_ce", "W: [[1, 0], [0, 1], [1, 1]]\nb: [0, 0]\nh: [1, 2]\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
