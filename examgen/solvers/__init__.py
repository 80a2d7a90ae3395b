"""numpy/sympy deep-learning maths, one module per topic. Pure functions:
parameters in, answers out; no LaTeX here.

A question.yaml names its functions as 'module.function' (e.g.
'normalization.batchnorm_forward'), resolved in this package."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import TemplateError


def resolve(dotted: str) -> Callable[..., Any]:
    module, _, func = dotted.rpartition(".")
    if not module or not func:
        raise TemplateError(f"solver reference '{dotted}' must look like 'module.function'")
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError:
        raise TemplateError(f"solver module 'examgen.solvers.{module}' does not exist (in '{dotted}')") from None
    fn = getattr(mod, func, None)
    if not callable(fn):
        raise TemplateError(f"'examgen.solvers.{module}' has no function '{func}' (in '{dotted}')")
    return fn
