"""Scan codes: every page carries a QR code "<variant>-<page>" in its outer
bottom corner, so scanned pages can be matched to their variant and page.

segno computes the symbols here; the class draws them as PDF path operators
(one filled rectangle per run of dark modules) given as
\\egqr{<variant>-<page>}{<operators>} lines in <jobname>-qr.tex. Computing a
code in TeX macros (the LaTeX `qrcode` package) takes about 60 ms and drawing
it module by module another 5 ms, more than typesetting the page itself."""

from __future__ import annotations

import re
from functools import lru_cache

import segno

VERSION = f"segno {segno.__version__}"
SIDE_BP = 31.18  # 11 mm
MASK = 0
_DARK = re.compile(rb"[\x01-\xff]+")  # a run of dark modules in a row of segno's matrix


def text(code: str, page: int) -> str:
    """What the code on page `page` of variant `code` encodes."""
    return f"{code}-{page}"


@lru_cache(maxsize=1024)  # a batch's codes (student and solution share them); memory stays flat
def operators(content: str) -> str:
    """PDF operators drawing the symbol, 11 mm wide, from the current point upwards.
    The mask is fixed (any of the eight is a valid symbol): letting segno score all
    eight costs 1 ms a code, five times the rest; every page's code is decoded
    (zbarimg) in the tests."""
    qr = segno.make_qr(content, error="L", boost_error=True, mask=MASK)
    rows = [bytes(row) for row in qr.matrix]
    n = len(rows)
    runs = [f"{m.start()} {n - 1 - r} {m.end() - m.start()} 1 re"
            for r, row in enumerate(rows) for m in _DARK.finditer(row)]
    scale = f"{SIDE_BP / n:.4f}"
    return f"q 0 g {scale} 0 0 {scale} 0 0 cm {' '.join(runs)} f Q"


def definitions(variants: list[tuple[str, int]]) -> str:
    """The <jobname>-qr.tex text for these (variant code, page count) pairs."""
    return "".join(f"\\egqr{{{text(code, p)}}}{{{operators(text(code, p))}}}%\n"
                   for code, pages in variants for p in range(1, pages + 1))
