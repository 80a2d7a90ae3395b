"""The scan codes as drawn (examgen.qrcodes.operators, issue 18): an inline image mask of one bit per
module. Rendered by poppler at 300 and 600 dpi (a printer's raster), every module's centre is dark
exactly where segno's matrix (the oracle: the QR standard's symbol for that text and mask) has a dark
module; zxing-cpp decodes the text at those and at 150 dpi (the scans). (At 150 dpi, 2.8 pixels a
module, poppler places a mask's module edges to the pixel, not antialiased: about 12 of the 441 module
centres then fall on a neighbour's pixel; the rectangles the mask replaced, antialiased, had none.
zxing reads both.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import segno
import zxingcpp

from examgen import qrcodes
from examgen.errors import ExamgenError

TEXTS = ["IN2346-E0001-B001-01", "EXAM-E0042-B017-24", "ABC123-E9999-B999-99", "Q-E0001-B1000-07"]


def rendered(tmp_path: Path, text: str, dpi: int, x_mm: float, y_mm: float) -> tuple[np.ndarray, float, float]:
    """A4 page with the code's bottom-left corner at (x_mm, y_mm) from the page's bottom-left, rendered
    grey: (the image, the code's left edge and top edge in pixels)."""
    pdf = tmp_path / f"{dpi}.pdf"
    bp = qrcodes.MM_TO_BP
    qrcodes.stamp_pdf([(x_mm * bp, y_mm * bp, text)], pdf, (210 * bp, 297 * bp))
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), str(pdf), str(tmp_path / f"p{dpi}")], check=True)
    data = (tmp_path / f"p{dpi}-1.pgm").read_bytes()
    header = data.split(b"\n", 3)  # P5, width height, maxval, pixels
    w, h = map(int, header[1].split())
    img = np.frombuffer(header[3], np.uint8).reshape(h, w)
    px = dpi / 25.4
    return img, x_mm * px, (297 - y_mm - qrcodes.SIDE_BP / bp) * px


@pytest.mark.parametrize("dpi", [300, 600])
@pytest.mark.parametrize("text", TEXTS)
def test_the_drawn_symbol_is_segnos_module_for_module(tmp_path: Path, text: str, dpi: int) -> None:
    img, left, top = rendered(tmp_path, text, dpi, x_mm=12.3, y_mm=12.0)
    matrix = np.array([list(row) for row in segno.make_qr(text, version=1, error="L", boost_error=True,
                                                          mask=qrcodes.MASK).matrix], dtype=bool)
    n = len(matrix)
    assert n == 21
    module = qrcodes.SIDE_BP / qrcodes.MM_TO_BP * dpi / 25.4 / n  # pixels a module
    centres = np.array([[img[int(top + (r + .5) * module), int(left + (c + .5) * module)] for c in range(n)]
                        for r in range(n)])
    assert np.array_equal(centres < 128, matrix)
    # nothing is painted outside the square (the quiet zone is the page's white)
    outside = img.copy()
    outside[int(top) - 1:int(top + n * module) + 2, int(left) - 1:int(left + n * module) + 2] = 255
    assert (outside < 250).sum() == 0
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [text]


@pytest.mark.parametrize("text", TEXTS)
def test_the_drawn_symbol_decodes_at_scan_resolution(tmp_path: Path, text: str) -> None:
    img, _, _ = rendered(tmp_path, text, 150, x_mm=187.7, y_mm=12.0)
    assert [r.text for r in zxingcpp.read_barcodes(img)] == [text]


def test_a_symbol_costs_a_quarter_kilobyte_of_operators() -> None:
    """(What a TeX run reads, writes and compresses per page: the rectangles it replaced took 1.5 kB.)"""
    ops = [qrcodes.operators(t) for t in TEXTS]
    assert all(len(o) < 250 for o in ops), [len(o) for o in ops]
    assert all(o.startswith("q 0 g ") and o.endswith(" EI Q") and " BI /IM true /W 21 /H 21 " in o for o in ops)


def _bits(ops: str) -> np.ndarray:
    """The modules an `operators` mask paints (21 x 21, dark True), read back from its hex data."""
    data = bytes.fromhex(ops[ops.index(" ID ") + 4:ops.index("> EI")])
    rows = np.unpackbits(np.frombuffer(data, np.uint8)).reshape(21, -1)
    return rows[:, :21].astype(bool)


def test_every_code_is_segnos_symbol_for_its_text_level_and_mask() -> None:
    """zxing-cpp encodes the codes (0.03 ms a code; segno took 0.44 ms): for 600 texts of every length
    the layout makes (ids of 1 to 6 characters, 3 to 5 booklet digits: levels Q, M and L), the symbol is
    segno's, module for module, at the level segno's boost_error chooses for version 1."""
    rng = np.random.default_rng(18)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    texts = []
    for _ in range(600):
        exam = "".join(rng.choice(list(alnum), int(rng.integers(1, 7))))
        booklets = int(rng.choice([9, 999, 1000, 99999]))
        texts.append(qrcodes.text(exam, f"E{int(rng.integers(1, 10000)):04d}", int(rng.integers(1, booklets + 1)),
                                  int(rng.integers(1, 100)), booklets))
    levels = set()
    for text in texts:
        qr = segno.make_qr(text, version=1, error="L", boost_error=True, mask=qrcodes.MASK)
        assert qrcodes.level(text) == qr.error, text
        levels.add(qr.error)
        assert np.array_equal(_bits(qrcodes.operators(text)), np.array([list(r) for r in qr.matrix], dtype=bool)), text
    assert levels == {"Q", "M", "L"}
    assert qrcodes.level("A" * 10) == "H"
    with pytest.raises(ExamgenError, match="longer than a version 1 QR code holds"):
        qrcodes.level("A" * 26)
