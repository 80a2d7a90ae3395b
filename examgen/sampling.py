"""Seed derivation and parameter sampling.

One exam seed in; every question's generator is
SeedSequence(exam_seed, spawn_key=(variant, crc(template id), occurrence)),
so adding, removing or reordering problems never changes the numbers of the
others, and any question can be rebuilt from the seed recorded in its key."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import values
from .errors import ParamError, SamplingError, SolverError, TemplateError
from .model import ParamDecl, SeedInfo, Template

MAX_TRIES = 1000


def stable_id(name: str) -> int:
    """A platform-independent 32-bit number for a name (CRC-32 of its UTF-8)."""
    return zlib.crc32(name.encode("utf-8"))


def derive_seed(exam_seed: int, variant: int, key: str, occurrence: int = 0) -> SeedInfo:
    return SeedInfo(entropy=int(exam_seed), spawn_key=(int(variant), stable_id(key), int(occurrence)))


def rng_for(seed: SeedInfo) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key))


# ------------------------------------------------------------------ declarative samplers
MAX_SIZE = 1_000  # entries along one side of a sampled vector or matrix: an exam prints every one
MAX_CHOICES = 100_000  # integers one int_vector/int_matrix sample draws from (low..high)


def _size(spec: Any, rng: np.random.Generator, params: Mapping[str, Any]) -> int:
    if isinstance(spec, bool):
        raise TypeError("size must be an int, [low, high] or a parameter name")
    if isinstance(spec, int):
        n = spec
    elif isinstance(spec, list) and len(spec) == 2:
        n = int(rng.integers(spec[0], spec[1] + 1))
    elif isinstance(spec, str) and spec in params:
        n = int(params[spec])
    else:
        raise TypeError(f"size {spec!r} must be an int, [low, high] or an earlier parameter's name")
    if not 0 <= n <= MAX_SIZE:  # not a memory error of numpy's: one line naming the spec
        raise ValueError(f"size {n} is outside 0..{MAX_SIZE}")
    return n


def _ints(rng: np.random.Generator, shape: tuple[int, ...], s: Mapping[str, Any]) -> np.ndarray:
    if int(s["high"]) - int(s["low"]) >= MAX_CHOICES:
        raise ValueError(f"low..high spans more than {MAX_CHOICES} integers")
    allowed = [v for v in range(int(s["low"]), int(s["high"]) + 1) if v not in set(s.get("exclude", []))]
    if not allowed:
        raise TypeError(f"no integer in [{s['low']}, {s['high']}] outside exclude")
    return rng.choice(np.array(allowed), size=shape)


def sample_declared(decl: ParamDecl, rng: np.random.Generator, params: Mapping[str, Any]) -> Any:
    """Draw one parameter from its `sample:` spec in question.yaml."""
    s = decl.sample or {}
    kind = s.get("kind")
    if kind == "const":
        return s["value"]
    if kind == "int":
        return int(_ints(rng, (), s))
    if kind == "choice":
        opts = s["options"]
        return opts[int(rng.integers(len(opts)))]
    if kind == "bool":
        return bool(rng.random() < float(s.get("p", 0.5)))
    if kind == "decimal":
        step = float(s.get("step", 0.1))
        n = int(round((float(s["high"]) - float(s["low"])) / step))
        return round(float(s["low"]) + step * int(rng.integers(0, n + 1)), 10)
    if kind == "int_vector":
        return _ints(rng, (_size(s["length"], rng, params),), s).tolist()
    if kind == "int_matrix":
        rows, cols = _size(s["rows"], rng, params), _size(s["cols"], rng, params)
        return _ints(rng, (rows, cols), s).tolist()
    raise TypeError(f"unknown sample kind {kind!r}")


# ------------------------------------------------------------------ pinned parameters
def check_type(decl: ParamDecl, value: Any, template_id: str) -> Any:
    """Validate a pinned value against the declared type; return it normalized."""
    t = decl.type

    def fail(expected: str) -> ParamError:
        return ParamError(decl.name, f"expected {expected}, got {value!r}", template_id)

    if (big := _inexact_int(value)) is not None:
        raise ParamError(decl.name, f"{big} is too large to compute and print exactly (integers up to 2^53 = "
                         f"{2**53} in magnitude); pin a smaller value", template_id)
    if t == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail("an integer")
    elif t == "number":
        if not values.is_number(value):
            raise fail("a number")
    elif t == "bool":
        if not isinstance(value, bool):
            raise fail("true or false")
    elif t == "choice":
        opts = (decl.sample or {}).get("options", [])
        if value not in opts:
            raise ParamError(decl.name, f"expected one of {', '.join(map(str, opts))}, got {value!r}", template_id)
    elif t in ("vector", "int_vector"):
        if not isinstance(value, list) or not value or not all(values.is_number(x) for x in value):
            raise fail("a non-empty list of numbers")
        if t == "int_vector" and not all(float(x).is_integer() for x in value):
            raise fail("a list of integers")
    elif t == "matrix":
        if (not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in value)
                or not all(values.is_number(x) for r in value for x in r)):
            raise fail("a matrix (a non-empty list of non-empty lists of numbers)")
        if len({len(r) for r in value}) != 1:
            raise ParamError(decl.name, f"rows have different lengths {[len(r) for r in value]}", template_id)
    elif t == "list":
        if not isinstance(value, list):
            raise fail("a list")
    elif t != "any":
        raise TemplateError(f"template '{template_id}': parameter '{decl.name}' has unknown type '{t}'")
    return value


def _inexact_int(value: Any) -> int | None:
    """The first integer in a (nested) value that a float cannot hold exactly: the solvers
    compute in float64, so it would print rounded and disagree with the key."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return value
    if isinstance(value, (list, tuple)):
        return next((b for b in map(_inexact_int, value) if b is not None), None)
    if isinstance(value, dict):
        return _inexact_int(list(value.values()))
    return None


def validate_pinned(template: Template, pinned: Mapping[str, Any]) -> dict[str, Any]:
    import difflib

    names = [d.name for d in template.params]
    out: dict[str, Any] = {}
    for key, value in pinned.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(names)}"
            raise ParamError(str(key), f"unknown parameter{hint}", template.id)
        decl = next(d for d in template.params if d.name == key)
        out[key] = check_type(decl, value, template.id)
    return out


# ------------------------------------------------------------------ sample + solve


def sample_params(
    template: Template,
    rng: np.random.Generator,
    pinned: Mapping[str, Any],
    resolve: Callable[[str], Callable[..., Any]],
) -> dict[str, Any]:
    """Draw parameters (pinned ones kept) until the checker and every constraint pass.

    Pinned values are the instructor's choice: the checker and the validity `constraints:`
    apply to them, the niceness ones (`nice:`) do not. A draw satisfies both; when some
    values are pinned and no draw satisfies every niceness constraint with them, the first
    valid draw that satisfies the most of them is taken (niceness is dropped, validity never)."""
    pinned = validate_pinned(template, pinned)
    free = [d for d in template.params if d.name not in pinned]
    checker = resolve(template.checker) if template.checker else None
    validity = [(name, resolve(name)) for name in template.constraints]
    nice = [(name, resolve(name)) for name in template.nice]
    sampler = resolve(template.sampler) if template.sampler else None
    last_failure = ""
    best: tuple[int, dict[str, Any]] | None = None  # (niceness constraints met, the draw): pinned draws only
    for _ in range(MAX_TRIES):
        if sampler is not None:
            try:
                params = dict(sampler(rng, dict(pinned)))
            except ParamError as exc:  # a sampler that checks the pinned values first
                raise exc.named(template.id) from None
            params.update(pinned)
        else:
            params = {}
            for d in template.params:
                if d.name in pinned:
                    params[d.name] = pinned[d.name]
                elif d.sample is not None:
                    try:
                        params[d.name] = check_type(d, sample_declared(d, rng, params), template.id)
                    except (KeyError, TypeError, ValueError) as exc:
                        raise TemplateError(f"template '{template.id}': parameter '{d.name}': "
                                            f"bad sample spec: {exc}") from None
                    except ParamError as exc:
                        raise TemplateError(f"template '{template.id}': parameter '{d.name}': its sample spec drew "
                                            f"a value of the wrong type ({exc})") from None
                elif d.default is not None:
                    params[d.name] = d.default
                else:
                    raise TemplateError(f"template '{template.id}': parameter '{d.name}' has neither "
                                        "sample nor default")
        for d in template.params:
            if d.name not in params and d.default is not None:
                params[d.name] = d.default
        if checker is not None:
            try:
                checker(params)  # raises ParamError naming the parameter
            except _BUG as exc:
                raise TemplateError(f"template '{template.id}': checker '{template.checker}' failed on parameters "
                                    f"{params}: {type(exc).__name__}: {exc}") from None
            except ParamError as exc:
                if not free or exc.param.split("[")[0] in pinned:
                    raise exc.named(template.id) from None  # the instructor's value is invalid: say so at once
                last_failure = f"valid parameters ({exc})"
                continue  # an invalid draw is rejected like a failed constraint
        invalid = [name for name, fn in validity if not _holds(template, name, fn, params)]
        if invalid and not free:  # the instructor's numbers make no well-defined problem: say so at once
            raise _pinned_invalid(template, pinned, invalid[0], resolve, "")
        if invalid:
            last_failure = invalid[0]
            continue
        if not free:
            return params  # everything pinned: the instructor's numbers, niceness is for draws
        held = [_holds(template, name, fn, params) for name, fn in nice]
        if all(held):
            return params
        if pinned and (best is None or sum(held) > best[0]):
            best = (sum(held), params)
        last_failure = next(name for (name, _), ok in zip(nice, held) if not ok)
    if best is not None:
        return best[1]  # no draw is nice with these pins: the pins win over niceness
    if pinned and last_failure in template.constraints:
        raise _pinned_invalid(template, pinned, last_failure, resolve, f" with any of {MAX_TRIES} draws of the others")
    known = last_failure in template.constraints or last_failure in template.nice
    msg = constraints_message(template, last_failure, resolve) if known else ""
    raise SamplingError(f"template '{template.id}': constraint '{last_failure}' not met in {MAX_TRIES} draws"
                        f"{msg}; pin fewer parameters or relax the pinned ones")


def _pinned_invalid(template: Template, pinned: Mapping[str, Any], name: str,
                    resolve: Callable[[str], Callable[..., Any]], how: str) -> ParamError:
    """The pinned values break a validity constraint: one line naming them and the constraint."""
    return ParamError(", ".join(sorted(pinned)), f"the pinned values break the validity constraint '{name}'"
                      f"{constraints_message(template, name, resolve)}{how}; pin values that meet it", template.id)


_BUG = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError)


def _holds(template: Template, name: str, fn: Callable[..., Any], params: dict[str, Any]) -> bool:
    try:
        return bool(fn(params))
    except _BUG as exc:
        raise TemplateError(f"template '{template.id}': constraint '{name}' failed on parameters {params}: "
                            f"{type(exc).__name__}: {exc}") from None


def constraints_message(template: Template, name: str, resolve: Callable[[str], Callable[..., Any]]) -> str:
    doc = (resolve(name).__doc__ or "").strip().splitlines()
    return f" ({doc[0]})" if doc else ""


def solve(template: Template, params: dict[str, Any], resolve: Callable[[str], Callable[..., Any]]) -> dict[str, Any]:
    if not template.solver:
        return {}
    try:
        answers = resolve(template.solver)(params)
    except ParamError as exc:
        raise exc.named(template.id) from None
    except SolverError:
        raise
    except (ZeroDivisionError, FloatingPointError) as exc:
        raise SolverError(f"template '{template.id}': {exc} for parameters {params}") from None
    except _BUG as exc:  # parameters the solver was not written for (a template's own sample spec)
        raise SolverError(f"template '{template.id}': solver '{template.solver}' failed on parameters {params}: "
                          f"{type(exc).__name__}: {exc}") from None
    if not isinstance(answers, dict):
        raise TemplateError(f"template '{template.id}': solver '{template.solver}' returned "
                            f"{_kind(answers)}, not a dict of answers by name; return {{'name': value, ...}}")
    try:
        return jsonable(answers)
    except TypeError as exc:
        raise TemplateError(f"template '{template.id}': solver '{template.solver}' returned {exc}; answers are "
                            "numbers, strings, booleans and lists or dicts of them") from None


def _kind(x: Any) -> str:
    return "None" if x is None else f"a {type(x).__name__} {str(x)[:60]}"


_LEAVES = (str, int, float, bool, type(None), np.integer, np.floating, np.bool_)


def jsonable(x: Any, path: str = "") -> Any:
    """numpy values -> plain Python numbers and nested lists (JSON numbers). A value JSON
    cannot hold (a set, a complex number, an object) is a TypeError naming where it is."""
    if isinstance(x, dict):
        return {str(k): jsonable(v, f"{path}[{k!r}]" if path else f"answer '{k}'") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v, f"{path}[{i}]") for i, v in enumerate(x)]
    if not isinstance(x, (_LEAVES, np.ndarray)):
        raise TypeError(f"{_kind(x)} as {path or 'the value'}")
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), path)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if not np.isfinite(f):
            raise SolverError(f"non-finite answer {f}")
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    return x
