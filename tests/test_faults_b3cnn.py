"""Issue 15 (helper b3cnn): pinned parameters of the new convolution templates (and of
cnn_shapes' dilation) that make no valid problem. Each row: one stderr line naming the spec's
line, the template and the parameter; exit code 2; no output folder."""

from __future__ import annotations

import pytest
from faults import Row, problems, run_row

ROWS = [
    Row("cnn-shapes-dilation-zero", "{spec}:15:5: problems[0]: variant E0001: template 'cnn_shapes', parameter "
        "'layers[0]': dilation must be a positive integer (1: no gaps), got 0", 2,
        spec=problems("  - template: cnn_shapes\n    params: {input: [32, 32, 3], layers: [{type: conv, filters: 8, "
                      "kernel: 3, dilation: 0}]}\n")),
    Row("cnn-shapes-dilated-kernel-too-large", "{spec}:15:5: problems[0]: variant E0001: template 'cnn_shapes', "
        "parameter 'layers[0]': the kernel 3 with dilation 8 (spanning 17 pixels) does not fit the 8x8 input left at "
        "this layer", 2,
        spec=problems("  - template: cnn_shapes\n    params: {input: [8, 8, 3], layers: [{type: conv, filters: 8, "
                      "kernel: 3, dilation: 8}]}\n")),
    Row("tconv-output-padding-too-large", "{spec}:15:5: problems[0]: variant E0001: template 'transposed_conv_shapes', "
        "parameter 'layers[1]': output_padding 2 must be smaller than the stride 2 (as in PyTorch)", 2,
        spec=problems("  - template: transposed_conv_shapes\n    params: {input: [16, 16, 1], layers: [{type: conv, "
                      "filters: 4, kernel: 3, stride: 2, padding: 1}, {type: convtranspose, filters: 1, kernel: 3, "
                      "stride: 2, padding: 1, output_padding: 2}]}\n")),
    Row("residual-stride-three", "{spec}:15:5: problems[0]: variant E0001: template 'residual_block_shapes', "
        "parameter 'stride': expected 1 or 2, got 3", 2,
        spec=problems("  - template: residual_block_shapes\n    params: {input: [56, 56, 64], block: bottleneck, "
                      "width: 64, out_channels: 256, stride: 3}\n")),
    Row("filter-design-pattern-twice", "{spec}:15:5: problems[0]: variant E0001: template 'filter_design', parameter "
        "'image': the pattern must appear in exactly one 3x3 window of the image, it appears in 6", 2,
        spec=problems("  - template: filter_design\n    params: {pattern: [[1, 1, 1], [0, 0, 0], [1, 1, 1]], image: "
                      "[[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]}\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
