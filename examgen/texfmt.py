"""LaTeX formatting of numbers, vectors, matrices and text.

`Latex` marks a string as already LaTeX; everything else that enters a
document goes through `to_tex`, which escapes text (pylatex's escape_latex)
and formats numbers and arrays with one fixed set of rules."""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from typing import Any


class Latex(str):
    """A string that is already LaTeX and must not be escaped again."""


_LIGATURE = re.compile(r"(?<=[`'<>,!?])(?=[`'<>,])")


def escape(text: Any, multiline: bool = False) -> Latex:
    """Escape plain text so that it prints literally (R&D 100% _#$ ... ); font ligatures
    ('' `` << >> ,, !` ?`) are broken with {} so that they print as typed. A newline
    (a YAML `|` block) is a line break where the field has room for several lines
    (`multiline`) and a space elsewhere; leading and trailing newlines are dropped."""
    if type(text) is str:  # (the same words in every variant: MC stems and options, titles, labels)
        return _escaped(text, multiline)
    return _escape(text, multiline)


def _escape(text: Any, multiline: bool) -> Latex:
    # (imported where used, as numpy below: pylatex's import is not on the CLI's early path)
    from pylatex.utils import escape_latex

    lines = str(text).strip("\n").split("\n")
    return Latex(("\\newline " if multiline else " ").join(_LIGATURE.sub("{}", escape_latex(line)) for line in lines))


_escaped = lru_cache(maxsize=8192)(_escape)


# What pdflatex typesets with examgentum.cls (T1 fontenc, utf8 inputenc, textcomp, helvet):
# every code point of these ranges was typeset alone in the class without an error or a
# missing glyph (U+0020..U+FB06 scanned, pdflatex of TeX Live 2022). Printable ASCII, Latin-1,
# most of Latin Extended-A (German, Polish, Czech, French, Nordic ...), some Latin
# Extended-B/Additional, typographic punctuation, the euro sign; not Greek, Cyrillic,
# Hebrew, Arabic, CJK or emoji.
TYPESETTABLE: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E), (0x00A0, 0x0125), (0x0128, 0x0137), (0x0139, 0x013E), (0x0141, 0x0148),
    (0x014A, 0x0165), (0x0168, 0x017E), (0x0192, 0x0192), (0x01C4, 0x01D4), (0x01E2, 0x01E3),
    (0x01E6, 0x01EB), (0x01F0, 0x01F0), (0x01F4, 0x01F5), (0x0218, 0x021B), (0x0232, 0x0233),
    (0x0237, 0x0237), (0x02C6, 0x02C7), (0x02D8, 0x02D9), (0x02DB, 0x02DD), (0x1E02, 0x1E03),
    (0x1E0D, 0x1E0D), (0x1E1E, 0x1E21), (0x1E25, 0x1E25), (0x1E30, 0x1E31), (0x1E37, 0x1E37),
    (0x1E43, 0x1E43), (0x1E45, 0x1E45), (0x1E47, 0x1E47), (0x1E5B, 0x1E5B), (0x1E63, 0x1E63),
    (0x1E6D, 0x1E6D), (0x1E8E, 0x1E91), (0x1E9E, 0x1E9E), (0x1EF2, 0x1EF3), (0x2010, 0x2016),
    (0x2018, 0x201A), (0x201C, 0x201E), (0x2020, 0x2022), (0x2026, 0x2026), (0x2030, 0x2031),
    (0x2039, 0x203B), (0x203D, 0x203D), (0x2044, 0x2044), (0x204E, 0x204E), (0x2052, 0x2052),
    (0x20A1, 0x20A1), (0x20A4, 0x20A4), (0x20A6, 0x20A6), (0x20A9, 0x20A9), (0x20AB, 0x20AC),
    (0x20B1, 0x20B1), (0x2103, 0x2103), (0x2116, 0x2117), (0x211E, 0x211E), (0x2120, 0x2120),
    (0x2122, 0x2122), (0x2126, 0x2127), (0x212E, 0x212E), (0x2190, 0x2193), (0x2329, 0x232A),
    (0x25E6, 0x25E6), (0x25EF, 0x25EF), (0xFB00, 0xFB06),
)


_REFUSED_CATEGORIES = ("Cc", "Cs", "Co", "Cn", "Cf")  # control, surrogate, private, unassigned, format
# every character `untypesettable` lets pass, as one regular expression: a text of them is
# accepted at once (the bank's MC pools alone hold 40,000 strings, checked at every load)
_ACCEPTED = re.compile("[\n\t" + "".join(
    re.escape(chr(c)) for lo, hi in TYPESETTABLE for c in range(lo, hi + 1)
    if unicodedata.category(chr(c)) not in _REFUSED_CATEGORIES) + "]*")


def untypesettable(text: str) -> str | None:
    """Why `text` cannot be typeset by pdflatex (its first offending character), or None.
    Newline and tab are allowed (a line break or space); other control characters,
    invisible format characters (zero-width, bidi controls, soft hyphen) and everything
    outside TYPESETTABLE are not."""
    if _ACCEPTED.fullmatch(text):
        return None
    return next((why for why in map(refusal, text) if why), None)


def refusal(ch: str) -> str | None:
    """Why the one character `ch` cannot be typeset by pdflatex, or None (see untypesettable)."""
    c = ord(ch)
    if ch in "\n\t":
        return None
    name = unicodedata.name(ch, "")
    if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
        return f"control character U+{c:04X}{f' ({name})' if name else ''} is not allowed; remove it"
    if unicodedata.category(ch) == "Cf":
        return f"invisible format character U+{c:04X} ({name}) is not allowed; remove it"
    if not any(lo <= c <= hi for lo, hi in TYPESETTABLE):
        return f"character U+{c:04X} ({ch}) cannot be typeset by pdflatex; remove it"
    return None


def untypesettable_at(text: str) -> tuple[int, int, str] | None:
    """Where (line, column, both from 1) and why a template file's text cannot be typeset,
    or None; jinja2 comments (<# ... #>) are not typeset and not checked."""
    text = re.sub(r"<#.*?#>", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    for n, line in enumerate(text.split("\n"), start=1):
        for col, ch in enumerate(line, start=1):
            why = untypesettable(ch)
            if why:
                return n, col, why
    return None


def num(x: Any, digits: int = 4) -> Latex:
    """A number as LaTeX: integers without a point, others rounded to `digits`
    decimals with trailing zeros stripped; -0 prints as 0; bools as 0/1."""
    t = type(x)
    if t is int and -_EXACT < x < _EXACT:  # (what the float's rounding below gives it)
        return Latex(str(x))
    if t is not float:
        import numpy as np  # (where used: the CLI imports a layout, and this module, before it imports numpy)

        if isinstance(x, (bool, np.bool_)):
            return Latex(str(int(x)))
    v = float(x)
    memo = type(digits) is int  # (a template's num(2.0) gives Python's error for a float precision, every time)
    found = _NUMS.get((v, digits)) if memo else None  # (a matrix is typeset in its statement, solution and key)
    if found is not None:
        return found
    if not math.isfinite(v):
        raise ValueError(f"cannot typeset non-finite number {v}")
    r = round(v, digits)
    if abs(r - round(r)) < 10 ** (-digits - 2):
        i = int(round(r))
        out = Latex(str(0 if i == 0 else i))
    else:
        s = f"{r:.{digits}f}".rstrip("0").rstrip(".")
        out = Latex("0" if s in ("-0", "") else s)
    if memo:
        if len(_NUMS) > 100_000:
            _NUMS.clear()
        _NUMS[(v, digits)] = out
    return out


_EXACT = 2**53  # integers below it in size are floats exactly
_NUMS: dict[tuple[float, int], Latex] = {}  # num's texts by the float and its digits


def paren(x: Any, digits: int = 4) -> Latex:
    """A number for use inside a product: negative numbers in parentheses, (-2)."""
    s = num(x, digits)
    return Latex(f"({s})" if s.startswith("-") else s)


def vec(v: Any, digits: int = 4, column: bool = False) -> Latex:
    """A vector as a bmatrix row (or column)."""
    import numpy as np

    a = np.asarray(v, dtype=float).reshape(-1)
    sep = r" \\ " if column else " & "
    return Latex(r"\begin{bmatrix} " + sep.join(num(x, digits) for x in a) + r" \end{bmatrix}")


def mat(m: Any, digits: int = 4) -> Latex:
    """A matrix (nested list or 2-D array) as a bmatrix, rows separated by \\\\."""
    import numpy as np

    a = np.asarray(m, dtype=float)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(f"mat() needs a 2-D array, got shape {a.shape}")
    rows = [" & ".join(num(x, digits) for x in row) for row in a]
    return Latex(r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}")


def seq(v: Any, digits: int = 4) -> Latex:
    """A sequence as a comma-separated list: 1, -2, 0.5."""
    import numpy as np

    return Latex(", ".join(num(x, digits) for x in np.asarray(v, dtype=float).reshape(-1)))


def credits(x: float) -> Latex:
    """Credits as printed in headings: 6, 7.5 (never 6.0)."""
    return num(x, 2)


def to_tex(value: Any) -> Latex:
    """The one filter every template value passes through (jinja2 `finalize`)."""
    if isinstance(value, Latex):
        return value
    t = type(value)
    if t is int or t is float:  # (not a bool: numpy's check below)
        return num(value)
    import numpy as np

    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return num(value)
    if isinstance(value, (np.ndarray, list, tuple)) and len(value):
        try:
            a = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            a = None  # not numbers: escaped as text below
        if a is not None and a.ndim in (1, 2):
            return mat(a) if a.ndim == 2 else seq(a)
    return escape(value)


# One fixed set of sympy printer settings for every expression (sympy.printing's convention).
SYM_SETTINGS: dict[str, Any] = {"mul_symbol": None, "fold_short_frac": False, "ln_notation": False}


def _drop_unit_factors(e: Any) -> Any:
    """Unevaluated parsing keeps '1/(1 + e^-x)' as 1 * (1 + e^-x)^-1, printed '1 \\frac{1}{...}':
    drop such factors 1, and rebuild everything else unevaluated (the solver's form)."""
    import sympy

    if not e.args:
        return e
    args = [_drop_unit_factors(a) for a in e.args]
    if e.is_Mul:
        args = [a for a in args if a != 1] or [sympy.S.One]
        if len(args) == 1:
            return args[0]
    with sympy.evaluate(False):
        return e.func(*args)


def sym(expr: Any) -> Latex:
    """A sympy expression string produced by a solver (`str(expr)`) as LaTeX, in the
    solver's own form (parsed unevaluated: 2*(1 - h**2) stays 2 (1 - h^2)).

    Parsed with sympy's parse_expr, which evaluates Python: never pass user text,
    only solver output. Printed with the one fixed SYM_SETTINGS."""
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    if not isinstance(expr, str):
        raise TypeError(f"sym() needs a sympy expression string from a solver, got {type(expr).__name__}")
    return Latex(sympy.latex(_drop_unit_factors(parse_expr(expr, evaluate=False)), **SYM_SETTINGS))
