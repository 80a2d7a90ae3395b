"""The one table of elementary-function values a statement prints (jinja2 filter `table`):
`<< s|table('sigmoid') >>` prints sigma(s) for every argument in s (deduplicated, sorted),
4 decimals, as a small array. What a render printed is recorded when asked
(`recording()`), so that `examgen check` (examgen.handcalc) can recompute each answer from
exactly the printed values."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .solvers import elementary
from .texfmt import Latex, num

VALUE_DECIMALS = 4  # the decimals of every printed value
PER_ROW = 9  # arguments per row of the array; longer tables wrap
#: how each function's row is headed, for an argument written @
HEADS = {
    "sigmoid": r"\sigma(@)", "exp": r"e^{@}", "log": r"\ln @", "tanh": r"\tanh @", "sqrt": r"\sqrt{@}",
    "softplus": r"\mathrm{softplus}(@)", "sin": r"\sin @", "cos": r"\cos @",
}

Printed = dict[str, dict[float, float]]  # function -> printed argument -> printed value
_RECORD: contextvars.ContextVar[Printed | None] = contextvars.ContextVar("printed_tables", default=None)


@contextmanager
def recording() -> Iterator[Printed]:
    """Collect every value the `table` filter prints inside (function -> argument -> value)."""
    printed: Printed = {}
    token = _RECORD.set(printed)
    try:
        yield printed
    finally:
        _RECORD.reset(token)


def is_recording() -> bool:
    """Whether a render now is inside recording() (it must run, not be taken from a memo: questions.texts)."""
    return _RECORD.get() is not None


def entries(args: Any, function: str, digits: int = 4) -> list[tuple[float, float]]:
    """(argument, value) as printed: arguments rounded to `digits` decimals, deduplicated and
    sorted; values of the function at the printed argument, rounded to VALUE_DECIMALS."""
    if function not in HEADS:
        raise ValueError(f"table(): unknown function '{function}'; use one of {', '.join(HEADS)}")
    xs = sorted({float(num(a, digits)) for a in np.asarray(args, dtype=float).reshape(-1)})
    return [(x, float(num(elementary.value(function, x), VALUE_DECIMALS))) for x in xs]


def table(args: Any, function: str, var: str = "z", digits: int = 4) -> Latex:
    """The jinja2 filter: a displayed array `var | args...` over `f(var) | values...`."""
    rows = entries(args, function, digits)
    printed = _RECORD.get()
    if printed is not None:
        printed.setdefault(function, {}).update(rows)
    head = HEADS[function].replace("@", var)
    blocks = []
    for i in range(0, len(rows), PER_ROW):
        chunk = rows[i:i + PER_ROW]
        blocks.append(rf"\begin{{array}}{{c|{'c' * len(chunk)}}} {var} & "
                      + " & ".join(num(a, digits) for a, _ in chunk) + r" \\ \hline "
                      + head + " & " + " & ".join(num(v, VALUE_DECIMALS) for _, v in chunk) + r" \end{array}")
    return Latex(r"\[ " + r" \quad ".join(blocks) + r" \]")
