"""numpy/sympy deep-learning maths, one module per topic. Pure functions:
parameters in, answers out; no LaTeX here.

A question.yaml names its functions as 'module.function' (e.g.
'normalization.batchnorm_forward'), resolved in this package, or, for an
instructor's own bank, in a file 'module.py' beside the question.yaml (e.g.
'solver.dot_product' -> solver.py in the template's folder), which wins. An
instructor's function runs in a worker process (examgen.sandbox): time and memory
limits, a clean stdout, its crash named."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import sys
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import TemplateError
from ..resources import SHIPPED_BANK
from ..sandbox import isolated, run


def _exec_module(path: Path) -> str | None:
    """Import the file once in a throw-away worker (sandbox.run): an import that hangs, ends
    the process or eats all memory is named there, before examgen imports it itself.
    Returns what the import raised ('ModuleNotFoundError: ...'), or None."""
    spec = importlib.util.spec_from_file_location(f"examgen_probe_{path.stem}", path)
    if spec is None or spec.loader is None:
        return "cannot be imported as a Python module"
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except MemoryError:
        raise  # the worker names its memory limit
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@lru_cache(maxsize=64)
def _load_local(path: Path, stamp: tuple[int, int]) -> ModuleType:
    """Import a template's own solver file (reloaded when its size or mtime changes)."""
    name = f"examgen_bank_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TemplateError(f"{path}: cannot be imported as a Python module")
    failed = run(_exec_module, (path,), f"{path}: importing it", on_exit="remove that call")
    if failed:
        raise TemplateError(f"{path}: importing it failed: {failed}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # stdout is examgen's (JSON of `examgen solve`)
            spec.loader.exec_module(mod)
    except SystemExit as exc:
        sys.modules.pop(name, None)
        raise TemplateError(f"{path}: importing it called sys.exit({exc.code!r}); remove that call") from None
    except Exception as exc:  # the instructor's code: one line naming the file, not a traceback
        sys.modules.pop(name, None)
        raise TemplateError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from None
    return mod


def resolve(dotted: str, directory: Path | None = None) -> Callable[..., Any]:
    """The function named 'module.function': from `directory`/module.py if that file
    exists (a template's own solver), else from examgen.solvers.module."""
    if directory is not None and str(directory).startswith(SHIPPED_BANK):
        return _resolve_shipped(dotted, directory)
    return _resolve(dotted, directory)


@lru_cache(maxsize=1024)
def _resolve_shipped(dotted: str, directory: Path) -> Callable[..., Any]:
    """resolve() in the shipped bank, whose files are examgen's own and do not change while it runs:
    once per template and function (a 20-variant endterm resolves 1,000 references, each a stat())."""
    return _resolve(dotted, directory)


def _resolve(dotted: str, directory: Path | None) -> Callable[..., Any]:
    module, _, func = dotted.rpartition(".")
    if not module or not func:
        raise TemplateError(f"solver reference '{dotted}' must look like 'module.function'")
    local = directory / f"{module}.py" if directory is not None and "." not in module else None
    if local is not None and local.is_file():
        st = local.stat()
        mod = _load_local(local.resolve(), (st.st_mtime_ns, st.st_size))
        where = str(local)
    else:
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError:
            beside = f" and there is no {module}.py beside the template" if directory is not None else ""
            raise TemplateError(f"solver module 'examgen.solvers.{module}' does not exist{beside} "
                                f"(in '{dotted}')") from None
        where = f"examgen.solvers.{module}"
    fn = getattr(mod, func, None)
    if not callable(fn):
        raise TemplateError(f"'{where}' has no function '{func}' (in '{dotted}')")
    if local is not None and directory is not None and where == str(local):
        return isolated(fn, local, directory.name)  # the instructor's code: in a worker process
    return fn


def resolver(directory: Path | None) -> Callable[[str], Callable[..., Any]]:
    """resolve() for one template's folder (where its own solver.py may live)."""
    return partial(resolve, directory=directory)
