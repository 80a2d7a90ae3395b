"""answers.json version 2: every build's records validate against the JSON Schema shipped
in the package; graded answers carry exact values, tolerances and points that match the
declarations; the schema refuses what it should (it is not a schema that accepts anything)."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from examgen.writers.answers import SCHEMA


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_ships_inside_the_package() -> None:
    assert SCHEMA.parent.name == "schemas" and SCHEMA.parent.parent.name == "examgen" and SCHEMA.is_file()


def test_every_shipped_build_validates(built, validator) -> None:
    seen = 0
    for b in built.values():
        for v in b.variants:
            rec = v.answers
            validator.validate(rec)
            assert rec["version"] == 2 and rec["variant"] == v.dir.name
            for q in rec["questions"]:
                if q["type"] == "mc":
                    continue
                assert sum(p["credits"] for p in q["parts"]) == pytest.approx(q["credits"])
                for p in q["parts"]:
                    if p["answers"]:  # a part's graded answers share exactly its credits
                        assert sum(a["points"] for a in p["answers"]) == pytest.approx(p["credits"])
                    assert sum(r["points"] for r in p["rubric"]) == pytest.approx(p["credits"])
                    for a in p["answers"]:
                        if a["kind"] in ("number", "vector", "matrix") and a["round"] is not None:
                            # the tolerance accepts the asked rounding and is below two units of it
                            assert 0.5 * 10 ** -a["round"] < a["tolerance"] <= 2 * 10 ** -a["round"]
                    seen += len(p["answers"])
    assert seen > 10


@pytest.mark.parametrize("breakage", [
    lambda r: r.update(version=1),
    lambda r: r["questions"][0].update(type="essay"),
    lambda r: r["questions"][0]["parts"][0]["answers"][0].update(value=[1.0, 2.0]),  # a number that is a list
    lambda r: r["questions"][0]["parts"][0]["answers"][0].pop("tolerance"),
    lambda r: r["questions"][0]["parts"][0].update(region={"page": 0, "x": 1, "y": 1, "width": 1, "height": 1}),
    lambda r: r["questions"][0].update(answers={"leaked": 1}),  # version 1's display values are gone
])
def test_schema_refuses_broken_records(validator, breakage) -> None:
    good = {
        "version": 2, "variant": "E0001", "exam": {"code": "X", "name": "Y"}, "exam_seed": 1, "credits": 1,
        "questions": [{
            "problem": 1, "type": "numeric", "id": "t", "title": "T", "credits": 1,
            "seed": {"entropy": 1, "spawn_key": [1]}, "params": {},
            "parts": [{"name": "a", "credits": 1, "rubric": [{"points": 1, "text": "r"}],
                       "answers": [{"name": "y", "label": "$y$", "kind": "number", "points": 1, "value": 0.25,
                                    "shape": [], "round": 2, "tolerance": 0.01}]}],
        }],
    }
    validator.validate(good)
    bad = copy.deepcopy(good)
    breakage(bad)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)
