"""What a value is: the one place that says whether something is a number, a vector or a
matrix of numbers (parameters, solver answers, graded answers and every writer ask here)."""

from __future__ import annotations

import math
from typing import Any


def is_number(x: Any) -> bool:
    """A finite real number: int or float (numpy scalars included), never a bool."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "__float__"):
        return False
    if isinstance(x, int):
        return True  # of any size: a too large pinned value is refused with its own message
    if hasattr(x, "dtype") and getattr(x.dtype, "kind", "") not in "iuf":
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return False


def is_integer(x: Any) -> bool:
    """A number with no fractional part (3 and 3.0, not 3.5)."""
    return is_number(x) and float(x).is_integer()


def is_int(x: Any) -> bool:
    """An integer written as one: 3, not 3.0 (a parameter is printed as it is given)."""
    return is_integer(x) and not isinstance(x, float) and not (hasattr(x, "dtype") and x.dtype.kind == "f")


def is_vector(x: Any) -> bool:
    """A non-empty list (or tuple) of numbers."""
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(is_number(v) for v in x)


def is_matrix(x: Any) -> bool:
    """A non-empty rectangular list of equally long vectors."""
    return (isinstance(x, (list, tuple)) and len(x) > 0 and all(is_vector(r) for r in x)
            and len({len(r) for r in x}) == 1)


def shape(x: Any) -> list[int]:
    """[] for a number, [n] for a vector, [m, n] for a matrix."""
    if is_matrix(x):
        return [len(x), len(x[0])]
    if is_vector(x):
        return [len(x)]
    return []


def leaves(x: Any) -> list[float]:
    """Every number of a number, vector or matrix, row by row."""
    if is_number(x):
        return [float(x)]
    return [float(v) for row in x for v in (row if isinstance(row, (list, tuple)) else [row])]


def is_short_decimal(x: float, places: int = 6) -> bool:
    """x is exactly a decimal of at most `places` places (up to float noise): what an exam
    may ask as an exact value. 0.375 and 12 are; 1/3 and 0.99997 rounded to 1 are not."""
    return abs(x - round(x, places)) <= 1e-9 * max(1.0, abs(x))
