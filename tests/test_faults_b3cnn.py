"""Issue 15 (helper b3cnn): pinned parameters of the new convolution templates (and of
cnn_shapes' dilation) that make no valid problem. Each row: one stderr line naming the spec's
line, the template and the parameter; exit code 2; no output folder."""

from __future__ import annotations

import pytest
from faults import pinned, run_row

ROWS = [
    pinned("cnn-shapes-dilation-zero", "cnn_shapes", "{input: [32, 32, 3], layers: [{type: conv, filters: 8, "
           "kernel: 3, dilation: 0}]}", "layers[0]", "dilation must be a positive integer (1: no gaps), got 0"),
    pinned("cnn-shapes-dilated-kernel-too-large", "cnn_shapes", "{input: [8, 8, 3], layers: [{type: conv, "
           "filters: 8, kernel: 3, dilation: 8}]}", "layers[0]", "the kernel 3 with dilation 8 (spanning 17 pixels) "
           "does not fit the 8x8 input left at this layer"),
    pinned("tconv-output-padding-too-large", "transposed_conv_shapes", "{input: [16, 16, 1], layers: [{type: conv, "
           "filters: 4, kernel: 3, stride: 2, padding: 1}, {type: convtranspose, filters: 1, kernel: 3, stride: 2, "
           "padding: 1, output_padding: 2}]}", "layers[1]",
           "output_padding 2 must be smaller than the stride 2 (as in PyTorch)"),
    pinned("residual-stride-three", "residual_block_shapes", "{input: [56, 56, 64], block: bottleneck, width: 64, "
           "out_channels: 256, stride: 3}", "stride", "expected 1 or 2, got 3"),
    pinned("filter-design-pattern-twice", "filter_design", "{pattern: [[1, 1, 1], [0, 0, 0], [1, 1, 1]], image: "
           "[[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]}", "image",
           "the pattern must appear in exactly one 3x3 window of the image, it appears in 6"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
