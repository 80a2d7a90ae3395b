"""JSON schemas of the YAML files, and one helper that turns every schema
violation of a file into 'file:line:col: key path: problem' lines."""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import values
from .texfmt import untypesettable
from .yamlfile import LoadedYaml, format_keypath

if TYPE_CHECKING:
    import jsonschema

    from .compiler.cache import Cache

_num = {"type": "number"}
_str = {"type": "string"}

RUBRIC = {
    "type": "object",
    "required": ["points", "text"],
    "additionalProperties": False,
    "properties": {"points": {"type": "number", "exclusiveMinimum": 0}, "text": _str},
}

ANSWER_KINDS = ("number", "vector", "matrix", "choice", "expression", "text", "checker")

ANSWER = {
    "type": "object",
    "required": ["label", "kind", "points"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "label": _str,
        "kind": {"enum": list(ANSWER_KINDS)},
        "round": {"type": "integer", "minimum": 0, "maximum": 8},
        "tolerance": {"type": "number", "exclusiveMinimum": 0},
        "points": {"type": "number", "exclusiveMinimum": 0},
        "choices": {"type": "array", "minItems": 2, "items": {"type": ["string", "integer", "boolean"]}},
        "accepts": _str,
    },
}

PART = {
    "type": "object",
    "required": ["name", "credits", "rubric"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]$"},
        "credits": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
        "answer_height": {"type": "number", "minimum": 5, "maximum": 230},
        "grid": {"type": "boolean"},
        "rubric": {"type": "array", "minItems": 1, "items": RUBRIC},
        "answers": {"type": "array", "minItems": 1, "items": ANSWER},
    },
}

PARAM = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["int", "number", "bool", "choice", "vector", "int_vector", "matrix", "list", "any"]},
        "doc": _str,
        "default": {},
        "sample": {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": ["const", "int", "choice", "bool", "decimal", "int_vector", "int_matrix"]}},
        },
    },
}

#: a topic tag: what a template asks (`asks:`), what an MC item is about (`tags:`)
TAG = {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"}
#: an entry of `conflicts_with:`: a template id, an MC item id or a tag
CONFLICT = TAG  # ids and tags are spelt alike
#: what a template needs of a student's tools: none (by hand), tables (the statement prints
#: the elementary-function values it needs; examgen.handcalc), required (a calculator)
CALCULATOR_NEEDS = ("none", "tables", "required")
DEGENERATE = {  # one degeneracy predicate (examgen.variety)
    "type": "object",
    "required": ["name", "check"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "check": _str,
        "limit": {"type": "number", "minimum": 0, "maximum": 0.02},
    },
}

VARIANTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "min_distinct": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "space": {"type": "integer", "minimum": 1},
        "why": _str,
    },
}

QUESTION = {
    "type": "object",
    "required": ["id", "title", "topic", "calculator", "parts"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "title": _str,
        "topic": _str,
        "calculator": {"enum": list(CALCULATOR_NEEDS)},
        "source": _str,
        "kind": {"enum": ["numeric", "free-text"]},
        "solver": _str,
        "sampler": _str,
        "checker": _str,
        "constraints": {"type": "array", "items": _str},
        "nice": {"type": "array", "items": _str},
        "asks": {"type": "array", "items": TAG},
        "conflicts_with": {"type": "array", "items": CONFLICT},
        "degenerate": {"type": "array", "items": DEGENERATE},
        "variants": VARIANTS,
        "canonical": _str,
        "params": {"type": "object", "additionalProperties": PARAM},
        "parts": {"type": "array", "minItems": 1, "items": PART},
    },
}

MC_OPTION = {
    "type": "object",
    "required": ["text", "correct", "why"],
    "additionalProperties": False,
    "properties": {"text": _str, "correct": {"type": "boolean"}, "why": _str},
}

MC_FILE = {
    "type": "object",
    "required": ["topic", "items"],
    "additionalProperties": False,
    "properties": {
        "topic": _str,
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "stem", "options"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "source": _str,
                    "stem": _str,
                    "note": _str,
                    "tags": {"type": "array", "items": TAG},
                    "conflicts_with": {"type": "array", "items": CONFLICT},
                    "options": {"type": "array", "minItems": 4, "items": MC_OPTION},
                },
            },
        },
    },
}

TEMPLATE_PROBLEM = {
    "type": "object",
    "required": ["template"],
    "additionalProperties": False,
    "properties": {
        "template": _str,
        "params": {"type": "object"},
        "title": _str,
        "credits": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
    },
}

SPEC = {
    "type": "object",
    "required": ["exam", "problems"],
    "additionalProperties": False,
    "properties": {
        "layout": _str,  # a folder of examgen/layouts/ (checked in spec.py, which names the valid ones)
        "exam": {
            "type": "object",
            "required": ["course", "code", "name", "date", "time", "examiner"],
            "additionalProperties": False,
            "properties": {
                "course": _str, "code": _str, "name": _str, "date": _str, "time": _str,
                "examiner": _str, "resources": _str, "calculator": {"type": "boolean"},
                "registration_grid": {"type": "boolean"},
                "instructions": {"type": "array", "items": _str},
                "institution": {"type": "array", "items": _str, "maxItems": 3},
                "logo": {"type": ["string", "null"]},
                "language": {"enum": ["en", "de"]},
                "seed": {"type": "integer", "minimum": 0},
            },
        },
        "grading": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pass_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "top_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "thresholds": {"type": "array", "minItems": 10, "maxItems": 10,
                               "items": {"type": "number", "minimum": 0, "maximum": 100}},
            },
        },
        "problems": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    TEMPLATE_PROBLEM,
                    {
                        "type": "object",
                        "required": ["mc"],
                        "additionalProperties": False,
                        "properties": {
                            "mc": {
                                "type": "object",
                                "required": ["count"],
                                "additionalProperties": False,
                                "properties": {
                                    "count": {"type": "integer", "minimum": 1, "maximum": 30},
                                    "title": _str,
                                    "topics": {"type": "array", "items": _str},
                                    "items": {"type": "array", "items": _str},
                                    "options": {"type": "integer", "minimum": 2, "maximum": 6},
                                },
                            }
                        },
                    },
                    {
                        "type": "object",
                        "required": ["choose"],
                        "additionalProperties": False,
                        "properties": {
                            "choose": {
                                "type": "object",
                                "required": ["k", "from"],
                                "additionalProperties": False,
                                "properties": {
                                    "k": {"type": "integer", "minimum": 1},
                                    "from": {"type": "array", "minItems": 1,
                                             "items": {"oneOf": [_str, TEMPLATE_PROBLEM]}},
                                },
                            }
                        },
                    },
                ]
            },
        },
    },
}


def _is_integer(checker: Any, x: Any) -> bool:
    """A YAML integer only: not 2.0 (JSON Schema's own 'integer' takes it), not true."""
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(checker: Any, x: Any) -> bool:
    """A finite number: not .nan or .inf, not true."""
    return values.is_number(x)


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The validator class: the YAML files' types (integers are written as integers, numbers are
    finite). jsonschema is imported here, when a document is first checked, not with this module:
    its import (0.13 s) was on a build's path to its first variant while TeX waited for it, and a
    build whose spec and bank were found valid before checks nothing (schema_errors)."""
    import jsonschema

    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
            {"integer": _is_integer, "number": _is_number}))


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf errors pick the branch that matches the problem's own kind."""
    if error.validator == "oneOf" and error.context and isinstance(error.instance, dict):
        keys = set(error.instance)
        for sub in error.context:
            req = set(sub.schema.get("required", [])) if isinstance(sub.schema, dict) else set()
            if req and req <= keys:
                return _best(sub)
        return min(error.context, key=lambda e: len(list(e.relative_path)) * -1)
    return error


def _explain(error: jsonschema.ValidationError) -> str:
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        key = extra[0] if extra else "?"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
        return f"unknown key '{key}'; {hint}"
    if v == "required":
        return f"missing key {error.message.split(' is a required')[0]}"
    if v == "type":
        want = error.validator_value
        if want == "integer" and isinstance(error.instance, float) and error.instance.is_integer():
            return f"found {error.instance!r}, expected integer (write {int(error.instance)}, without a decimal point)"
        if want == "number" and isinstance(error.instance, float):
            return f"found {error.instance!r}, expected a finite number"
        return f"found {error.instance!r}, expected {want}"
    if v == "enum":
        return f"found {error.instance!r}, expected one of {', '.join(map(repr, error.validator_value))}"
    if v == "oneOf":
        return ("a problem needs exactly one of 'template:', 'mc:' or 'choose:'"
                if isinstance(error.instance, dict) else f"found {error.instance!r}, which fits no allowed form")
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                "exclusiveMaximum": "less than"}[v]
        return f"found {error.instance!r}, expected a number {word} {error.validator_value}"
    if v in ("minItems", "maxItems"):
        word = "at least" if v == "minItems" else "at most"
        return f"found {len(error.instance)} entries, expected {word} {error.validator_value}"
    if v == "pattern":
        return f"found {error.instance!r}, expected a name matching {error.validator_value}"
    if v == "multipleOf":
        return f"found {error.instance!r}, expected a multiple of {error.validator_value}"
    return error.message


@lru_cache(maxsize=1)
def _checking_code() -> str:
    """What decides a check besides the document and the schema: this module, values.py and the
    installed jsonschema (its dist-info folder names its version; importlib.metadata would cost
    30 ms). Read once per process."""
    import importlib.util

    from .compiler.cache import key

    spec = importlib.util.find_spec("jsonschema")
    site = Path(spec.origin).parent.parent if spec is not None and spec.origin else None
    dists = sorted(p.name for p in site.glob("jsonschema-*.dist-info")) if site is not None else []
    return key(Path(__file__).read_bytes(), Path(values.__file__).read_bytes(), *dists)


@lru_cache(maxsize=8)
def _cache(root: Path | None) -> Cache | None:
    """The cache folder as the compiler uses it (Cache.usable), probed once per folder and process
    (a probe file per document would cost more than the check it saves); an unusable folder gives
    the cache's one warning."""
    from .compiler.cache import Cache

    return Cache.usable(root)


def schema_errors(doc: LoadedYaml, schema: dict[str, Any]) -> list[str]:
    """All violations of a document, each 'file:line:col: key.path: problem'. A document found
    valid before is not checked again: the cache holds an (empty) entry "valid/<key>" per document
    that passed, keyed by the parsed data (repr tells 1, 1.0 and true apart), the schema and
    _checking_code(); errors are never stored."""
    from .cachedir import cache_dir
    from .compiler.cache import key

    cache = _cache(cache_dir())
    if cache is None:
        return _schema_errors(doc, schema)
    entry = cache.entry("valid", key(_checking_code(), repr(schema), repr(doc.data)))
    if cache.verified(entry, []) is not None:
        return []
    out = _schema_errors(doc, schema)
    if not out:
        cache.store(entry, {})
    return out


def _schema_errors(doc: LoadedYaml, schema: dict[str, Any]) -> list[str]:
    validator = _validator()(schema)
    out = []
    for err in sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]):
        err = _best(err)
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            extra = [k for k in err.instance if k not in allowed]
            if extra:
                path = path + (extra[0],)
        out.append(f"{doc.where(path)}: {format_keypath(path)}: {_explain(err)}")
    return out


def text_errors(doc: LoadedYaml, value: Any, path: tuple = (), typeset: Any = None) -> list[str]:
    """Every string of a YAML file that pdflatex cannot typeset (control, invisible or
    non-Latin characters), one line each, with its place and field. `typeset` limits the
    check to the strings that reach a PDF: a predicate on the key path (None: all of them)."""
    if isinstance(value, str):
        why = untypesettable(value) if typeset is None or typeset(path) else None
        return [f"{doc.where(path)}: {format_keypath(path)}: {why}"] if why else []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in text_errors(doc, v, path + (str(k),), typeset)]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in text_errors(doc, v, path + (i,), typeset)]
    return []
