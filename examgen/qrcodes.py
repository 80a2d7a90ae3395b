"""Scan codes: every page carries a QR code "<variant>-<page>" (examgentum.cls
draws it with the LaTeX `qrcode` package). Computing a code in TeX macros takes
about 60 ms, more than typesetting a whole page, so the matrices are computed
here with segno and handed to the package in the form of its own .aux cache
(\\qr@savematrix{text}{version}{level}{bits}); the package then only draws.
segno picks the same symbol version and error level as the package (byte mode,
level L raised "at no cost"); a text it would encode differently is simply
computed by the package itself, so a mismatch costs time, never a wrong code."""

from __future__ import annotations

from functools import lru_cache

import segno

VERSION = f"segno {segno.__version__}"

# the package's numbering of error-correction levels (the QR format bits)
_LEVEL = {"L": 1, "M": 0, "Q": 3, "H": 2}
_HEADER = (
    "\\relax \n"
    "\\ifx\\qr@savematrix\\@undefined\\def\\qr@savematrix{\\begingroup\\let\\do\\@makeother\\dospecials"
    "\\catcode`\\{=1\\catcode`\\}=2\\relax \\qr@savematrix@int}\\def\\qr@savematrix@int#1#2#3#4{\\endgroup}\\fi\n"
)


def text(code: str, page: int) -> str:
    """What the code on page `page` of variant `code` encodes."""
    return f"{code}-{page}"


@lru_cache(maxsize=65536)
def savematrix(content: str) -> str:
    qr = segno.make_qr(content, mode="byte", error="L", boost_error=True)
    bits = "".join("1" if v else "0" for row in qr.matrix for v in row)
    return f"\\qr@savematrix{{{content}}}{{{qr.version}}}{{{_LEVEL[qr.error or 'L']}}}{{{bits}}}\n"


def aux_lines(variants: list[tuple[str, int]]) -> str:
    """The .aux text that hands the package every code of these (code, pages) variants."""
    return _HEADER + "".join(savematrix(text(code, p)) for code, pages in variants for p in range(1, pages + 1))
