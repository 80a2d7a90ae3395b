"""jsontext.dumps writes what json.dumps(indent=...) writes, character for character (the
standard library is the oracle: the records' bytes must not change with the faster writer)."""

from __future__ import annotations

import enum
import json
import random
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

from examgen import jsontext

SCALARS: list[Any] = [
    0, -1, 7, 2**70, -(2**64), 0.0, -0.0, 0.1, 1.5, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.123,
    float("nan"), float("inf"), float("-inf"), True, False, None, "", "a", "Grüße", "naïve ü", "tab\there",
    'quote " and \\ backslash', "line\nbreak", "\x00\x1f\x7f", "€ 𝔼[x] ∑", "\ud800 lone surrogate", "日本語",
]


class Color(enum.IntEnum):
    RED = 3


class Label(str):
    pass


def draw(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON document of the shapes examgen's records have, and some they do not."""
    roll = rng.random()
    if depth >= 5 or roll < 0.45:
        return rng.choice(SCALARS) if rng.random() < 0.5 else rng.choice(
            [rng.randint(-10**6, 10**6), rng.uniform(-1e3, 1e3), round(rng.uniform(0, 300), 2),
             "".join(rng.choice("abcxyzÄé€\"\\\n/") for _ in range(rng.randint(0, 8)))])
    n = rng.choice([0, 1, 2, 3, 5, 8])
    if roll < 0.7:
        items = [draw(rng, depth + 1) for _ in range(n)]
        return tuple(items) if rng.random() < 0.2 else items
    return {("k" + "".join(rng.choice("ab_éZ9\"") for _ in range(rng.randint(0, 4))) + str(i)): draw(rng, depth + 1)
            for i in range(n)}


@pytest.mark.parametrize("indent", [0, 1, 2, 4])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_random_documents_are_written_as_json_writes_them(indent: int, ensure_ascii: bool) -> None:
    rng = random.Random(1000 * indent + ensure_ascii)
    for _ in range(600):
        doc = draw(rng)
        assert jsontext.dumps(doc, indent, ensure_ascii) == json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("doc", [
    [], {}, [[]], [{}], {"a": []}, {"a": {}}, [[[[1]]]], {"x": [1, [2, {"y": [None, True, False]}]]},
    ["é", {"ü": "€"}], (1, (2, 3)),
    # subclasses, as json tests them (isinstance, in its order): a str subclass, an IntEnum, a bool inside a list,
    # an OrderedDict, numpy's float64 (a float subclass)
    [Label("sub"), Color.RED, True], OrderedDict(b=1, a=[2.5]), {"v": np.float64(0.1), "w": [np.float64(2.0)]},
    # keys json turns into strings by its own rules
    {1: "int key"}, {2.5: "float key"}, {True: "t", None: "n"}, {"s": {3: [4]}},
    # lists of dicts of scalars (layout.json's boxes: one C encoder call per list), one with a string that
    # looks like the separator between two dicts, and lists that are not all such dicts
    [{"a": 1}], [{"a": 1, "b": "x},\n {"}, {"c": None, "d": [1][0]}, {"e": 2.5}], {"k": [{"a": 1}, {"b": [2]}]},
    [{"a": 1}, {}], [{"a": 1}, [1]], [{"a": 1}, {1: 2}], [{"a": {"b": 1}}], (OrderedDict(a=1), {"b": 2}),
])
def test_edge_cases_are_written_as_json_writes_them(doc: Any) -> None:
    for indent in (1, 2):
        for ensure_ascii in (True, False):
            assert jsontext.dumps(doc, indent, ensure_ascii) == json.dumps(doc, indent=indent,
                                                                           ensure_ascii=ensure_ascii)


def test_what_json_refuses_is_refused_with_its_error() -> None:
    with pytest.raises(TypeError, match="Object of type ndarray is not JSON serializable"):
        jsontext.dumps({"a": [1, np.zeros(2)]}, 2)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        jsontext.dumps([{1, 2}], 1)
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        jsontext.dumps({(1, 2): 3}, 1)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        jsontext.dumps({"a": loop}, 2)


def test_the_built_records_are_json_s_own_text(built) -> None:
    """Every answers.json, layout.json and manifest.json of the shipped exams' builds: the text
    json.dumps gives for what it reads back (the writers' indents and ensure_ascii)."""
    seen = 0
    for b in built.values():
        manifests = [b.out / "manifest.json"]
        for v in b.variants:
            for name, indent, ascii_only in (("answers.json", 2, False), ("layout.json", 1, True)):
                text = (v.dir / name).read_text(encoding="utf-8")
                assert text == json.dumps(json.loads(text), indent=indent, ensure_ascii=ascii_only) + "\n", v.dir
                seen += 1
        for m in manifests:
            text = m.read_text(encoding="utf-8")
            assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", m
    assert seen >= 4 * len(built)
