"""LaTeX formatting of numbers, vectors, matrices and text.

`Latex` marks a string as already LaTeX; everything else that enters a
document goes through `to_tex`, which escapes text (pylatex's escape_latex)
and formats numbers and arrays with one fixed set of rules."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from pylatex.utils import escape_latex


class Latex(str):
    """A string that is already LaTeX and must not be escaped again."""


_LIGATURE = re.compile(r"(?<=[`'<>,!?])(?=[`'<>,])")


def escape(text: Any) -> Latex:
    """Escape plain text so that it prints literally (R&D 100% _#$ ... ); font ligatures
    ('' `` << >> ,, !` ?`) are broken with {} so that they print as typed."""
    return Latex(_LIGATURE.sub("{}", escape_latex(str(text)).replace("\n", " ")))


def num(x: Any, digits: int = 4) -> Latex:
    """A number as LaTeX: integers without a point, others rounded to `digits`
    decimals with trailing zeros stripped; -0 prints as 0; bools as 0/1."""
    if isinstance(x, (bool, np.bool_)):
        return Latex(str(int(x)))
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"cannot typeset non-finite number {v}")
    r = round(v, digits)
    if abs(r - round(r)) < 10 ** (-digits - 2):
        i = int(round(r))
        return Latex(str(0 if i == 0 else i))
    s = f"{r:.{digits}f}".rstrip("0").rstrip(".")
    return Latex("0" if s in ("-0", "") else s)


def paren(x: Any, digits: int = 4) -> Latex:
    """A number for use inside a product: negative numbers in parentheses, (-2)."""
    s = num(x, digits)
    return Latex(f"({s})" if s.startswith("-") else s)


def vec(v: Any, digits: int = 4, column: bool = False) -> Latex:
    """A vector as a bmatrix row (or column)."""
    a = np.asarray(v, dtype=float).reshape(-1)
    sep = r" \\ " if column else " & "
    return Latex(r"\begin{bmatrix} " + sep.join(num(x, digits) for x in a) + r" \end{bmatrix}")


def mat(m: Any, digits: int = 4) -> Latex:
    """A matrix (nested list or 2-D array) as a bmatrix, rows separated by \\\\."""
    a = np.asarray(m, dtype=float)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(f"mat() needs a 2-D array, got shape {a.shape}")
    rows = [" & ".join(num(x, digits) for x in row) for row in a]
    return Latex(r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}")


def seq(v: Any, digits: int = 4) -> Latex:
    """A sequence as a comma-separated list: 1, -2, 0.5."""
    return Latex(", ".join(num(x, digits) for x in np.asarray(v, dtype=float).reshape(-1)))


def credits(x: float) -> Latex:
    """Credits as printed in headings: 6, 7.5 (never 6.0)."""
    return num(x, 2)


def to_tex(value: Any) -> Latex:
    """The one filter every template value passes through (jinja2 `finalize`)."""
    if isinstance(value, Latex):
        return value
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
