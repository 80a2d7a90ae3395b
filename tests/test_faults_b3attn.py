"""Fault rows of the attention templates (issue 15): pinned values that make no problem are one
line naming the template and the parameter, exit 2, nothing written."""

from __future__ import annotations

import pytest
from faults import Row, run_row


def _solve(tid: str) -> tuple[str, ...]:
    return ("solve", tid, "--params", "{tmp}/p.yaml")


ROWS = [
    Row("attention_d_not_square",
        "template 'attention_scores', parameter 'Q': expected d = 1, 4, 9 or 16 columns (sqrt(d) exact), got 3", 2,
        args=_solve("attention_scores"),
        files={"p.yaml": "Q: [[1, 0, 0], [0, 1, 0]]\nK: [[1, 0, 0], [0, 1, 0]]\nV: [[1], [2]]\ncausal: true\n"}),
    Row("attention_k_shape",
        "template 'attention_scores', parameter 'K': expected the shape of Q (2 x 4), got 1 x 4", 2,
        args=_solve("attention_scores"), files={"p.yaml": "Q: [[1, 0, 0, 0], [0, 1, 0, 0]]\nK: [[1, 0, 0, 0]]\n"}),
    Row("transformer_heads_not_dividing",
        "template 'transformer_block_params', parameter 'n_heads': expected a divisor of d_model = 48, got 5", 2,
        args=_solve("transformer_block_params"), files={"p.yaml": "d_model: 48\nn_heads: 5\nd_ff: 96\n"}),
    Row("mha_heads_not_dividing",
        "template 'mha_shapes', parameter 'h': expected a divisor of d_model = 100, got 8", 2,
        args=_solve("mha_shapes"), files={"p.yaml": "B: 2\nT: 4\nd_model: 100\nh: 8\n"}),
    Row("pe_odd_dimension",
        "template 'positional_encoding', parameter 'd_model': expected an even number (sin/cos pairs), got 5", 2,
        args=_solve("positional_encoding"), files={"p.yaml": "d_model: 5\n"}),
    Row("word2vec_window_too_large",
        "template 'word2vec_skipgram', parameter 'window': expected an integer from 1 to 2, got 3", 2,
        args=_solve("word2vec_skipgram"), files={"p.yaml": "words: [a, b, c]\nwindow: 3\ncenter: 0\n"}),
    Row("word2vec_not_words",
        "template 'word2vec_skipgram', parameter 'words': expected a list of 2 to 12 words of letters a-z, got", 2,
        args=_solve("word2vec_skipgram"), files={"p.yaml": "words: [a, b_c]\n"}),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
