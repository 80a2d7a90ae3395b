"""The elementary functions every solver uses (sigmoid, exp, log, tanh, sqrt, softplus, cos),
in one place, so that `examgen check` can re-run a solver "by hand" (examgen.handcalc).

Normally each function is the exact one (numpy, float64). Inside `by_hand(lookup)` every
call is answered by `lookup(name, x)` instead: the value a student reads off the table the
statement prints, or an error when the argument is not printed. Scalars give floats,
arrays (and lists) give arrays, element by element."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

#: name -> the exact function (numpy ufunc-like, element by element)
EXACT: dict[str, Callable[[Any], Any]] = {
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sqrt": np.sqrt,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "cos": np.cos,  # radians (lr_schedule's cosine annealing)
}

Lookup = Callable[[str, float], float]
_HAND: contextvars.ContextVar[Lookup | None] = contextvars.ContextVar("elementary_by_hand", default=None)


@contextmanager
def by_hand(lookup: Lookup) -> Iterator[None]:
    """Answer every elementary call of the solvers run inside with `lookup(name, x)`."""
    token = _HAND.set(lookup)
    try:
        yield
    finally:
        _HAND.reset(token)


def value(name: str, x: Any) -> Any:
    """The exact value of function `name` at x (what a printed table shows, before rounding).
    ln 0 is -inf without a RuntimeWarning: a sampler's throw-away candidate may reach it, and
    a key that does is refused as not finite."""
    with np.errstate(divide="ignore"):
        return _out(x, EXACT[name](np.asarray(x, dtype=float)))


def _call(name: str, x: Any) -> Any:
    lookup = _HAND.get()
    if lookup is None:
        return value(name, x)
    a = np.asarray(x, dtype=float)
    return _out(x, np.vectorize(lambda v: lookup(name, float(v)), otypes=[float])(a))


def _out(x: Any, y: Any) -> Any:
    return float(y) if np.ndim(x) == 0 else np.asarray(y, dtype=float)


def sigmoid(x: Any) -> Any:
    return _call("sigmoid", x)


def exp(x: Any) -> Any:
    return _call("exp", x)


def log(x: Any) -> Any:
    return _call("log", x)


def tanh(x: Any) -> Any:
    return _call("tanh", x)


def sqrt(x: Any) -> Any:
    return _call("sqrt", x)


def softplus(x: Any) -> Any:
    return _call("softplus", x)


def cos(x: Any) -> Any:
    return _call("cos", x)


def table_args(xs: Any, reach: int) -> list[float]:
    """The arguments of a printed table that covers xs without pointing at them: every integer
    from -m to m (m = `reach`, or more when some |x| is larger), and those x that are no integers."""
    flat = [float(v) for v in np.ravel(np.asarray(xs, dtype=float))]
    m = max([reach] + [int(np.ceil(abs(v))) for v in flat])
    return [float(k) for k in range(-m, m + 1)] + sorted({v for v in flat if not v.is_integer()})
