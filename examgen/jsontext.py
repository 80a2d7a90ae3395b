"""JSON text with indentation, the same characters as `json.dumps(obj, indent=...)`, faster.

The standard library encodes indented JSON in pure Python (its C encoder serves only
`indent=None`), through one generator per nesting level: every token of a variant's
layout.json (about 5,000 values) passes up through four or five of them. A build of 20
endterm variants spent 0.5 s of its Python time there, 0.2 s of it after the last TeX
run (the last batch's records). `dumps` builds each container's text with one `join`
instead, and leaves every value's own text to the standard library's functions (strings:
`json.encoder.encode_basestring(_ascii)`, the C functions json itself calls; numbers:
`int.__repr__`, `float.__repr__`), so the output is json's to the byte; anything it does
not handle alike (a key that is not a string, a value json cannot encode, a cycle) is
handed to `json.dumps` itself, which gives the result or the error json gives. A container
that holds only strings, numbers, booleans and None (exactly those types: 609 of a layout.json's
634 objects, its boxes) is written by json's C encoder, made once per nesting level, with the
level's newline and indentation as its item separator; only its brackets are placed here. A
list of such dicts (a page's boxes) is one call of that encoder, with the separators between its
dicts indented afterwards (a third less time for a layout.json).
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

_INF = float("inf")
_SCALAR = frozenset({str, int, float, bool, type(None)})  # what the C encoder writes as json's Python encoder does
_STR = frozenset({str})


def _refuse(o: Any) -> Any:  # (never called: only containers of _SCALAR values reach the C encoder)
    raise _Json


class _Json(Exception):
    """Something json.dumps should decide (its result or its error)."""


def _float(o: float) -> str:
    """A float as json writes it (allow_nan, its default: NaN and Infinity as JavaScript spells them)."""
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


def dumps(obj: Any, indent: int, ensure_ascii: bool = True) -> str:
    """json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii), the same text."""
    string = encode_basestring_ascii if ensure_ascii else encode_basestring
    pads: list[str] = []
    flat: list[Any] = []  # per nesting level: json's C encoder of a container of scalars at that level

    def pad(level: int) -> str:
        while len(pads) <= level:
            pads.append("\n" + " " * (indent * len(pads)))
        return pads[level]

    def encoded(o: list[Any] | tuple[Any, ...] | dict[Any, Any], level: int) -> str:
        """The C encoder's text of a container of _SCALAR values (or of such dicts) whose items are at
        `level` + 1: each item separator is followed by that level's newline and indentation."""
        while len(flat) <= level:
            flat.append(c_make_encoder(None, _refuse, string, None, ": ", "," + pad(len(flat) + 1), False, False,
                                       True))
        return "".join(flat[level](o, 0))

    def scalars(o: list[Any] | tuple[Any, ...] | dict[Any, Any], level: int) -> str:
        """A non-empty container of _SCALAR values (a dict's keys str), as json.dumps(indent=) writes it."""
        text = encoded(o, level)
        return text[0] + pad(level + 1) + text[1:-1] + pad(level) + text[-1]

    def value(o: Any, level: int) -> str:
        t = type(o)  # the common types first, exactly; subclasses as json tests them, in its order
        if t is str:
            return string(o)
        if t is float:
            return _float(o)
        if t is int:
            return int.__repr__(o)
        if t is dict:
            return mapping(o, level)
        if t is list or t is tuple:
            return sequence(o, level)
        if isinstance(o, str):
            return string(o)
        if o is None:
            return "null"
        if o is True:
            return "true"
        if o is False:
            return "false"
        if isinstance(o, int):
            return int.__repr__(o)
        if isinstance(o, float):
            return _float(o)
        if isinstance(o, (list, tuple)):
            return sequence(o, level)
        if isinstance(o, dict):
            return mapping(o, level)
        raise _Json  # json calls default(): TypeError, "Object of type ... is not JSON serializable"

    def records(o: list[Any] | tuple[Any, ...], level: int) -> str:
        """A list of non-empty dicts of _SCALAR values with str keys (layout.json's boxes): one call of the
        C encoder at the dicts' level, whose separators between the dicts (`},` a newline `{`: a newline
        is never inside an encoded string) are then indented as the list's."""
        inner, outer = pad(level + 1), pad(level + 2)
        body = encoded(o, level + 1)[2:-2]  # [{"a": 1,<outer>"b": 2},<outer>{...}] without [{ and }]
        body = body.replace("}," + outer + "{", inner + "}," + inner + "{" + outer)
        return "[" + inner + "{" + outer + body + inner + "}" + pad(level) + "]"

    def sequence(o: list[Any] | tuple[Any, ...], level: int) -> str:
        if not o:
            return "[]"
        if _SCALAR.issuperset(map(type, o)):
            return scalars(o, level)
        if all(type(d) is dict and d and _SCALAR.issuperset(map(type, d.values())) and _STR.issuperset(map(type, d))
               for d in o):
            return records(o, level)
        inner = pad(level + 1)
        return "[" + inner + ("," + inner).join([value(v, level + 1) for v in o]) + pad(level) + "]"

    def mapping(o: dict[Any, Any], level: int) -> str:
        if not o:
            return "{}"
        if _SCALAR.issuperset(map(type, o.values())) and _STR.issuperset(map(type, o)):
            return scalars(o, level)
        inner = pad(level + 1)
        items = []
        for k, v in o.items():
            if not isinstance(k, str):  # json turns numbers, booleans and None into key strings: its rules
                raise _Json
            items.append(string(k) + ": " + value(v, level + 1))
        return "{" + inner + ("," + inner).join(items) + pad(level) + "}"

    try:
        return value(obj, 0)
    except (_Json, RecursionError):  # (a cycle: json reports "Circular reference detected")
        return json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii)
