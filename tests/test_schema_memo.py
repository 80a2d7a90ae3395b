"""A spec (or question file) found valid once is not checked against its schema again: the same
parsed document, schema and checking code. jsonschema is then not imported at all (its import was
on a build's path to its first variant). Anything else is checked, and errors are never remembered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from examgen import ROOT

PROBE = """
import sys
from pathlib import Path
from examgen.bank import load_bank
from examgen.spec import load_spec
from examgen.errors import SpecError
try:
    spec = load_spec(Path(sys.argv[1]), load_bank())
    print("loaded", len(spec.problems))
except SpecError as exc:
    print("error", exc)
print("jsonschema imported" if "jsonschema" in sys.modules else "jsonschema not imported")
"""


def probe(spec: Path, cache: Path) -> list[str]:
    env = dict(os.environ, EXAMGEN_CACHE=str(cache))
    out = subprocess.run([sys.executable, "-c", PROBE, str(spec)], capture_output=True, text=True, env=env,
                         check=True, cwd=ROOT).stdout
    return out.splitlines()


def test_a_valid_spec_is_checked_once_and_errors_are_checked_every_time(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    spec = tmp_path / "quiz.yaml"
    text = (ROOT / "exams" / "quiz.yaml").read_text()
    spec.write_text(text)
    first = probe(spec, cache)
    assert first[0].startswith("loaded ") and first[1] == "jsonschema imported"
    assert probe(spec, cache) == [first[0], "jsonschema not imported"]  # the same document: remembered
    # a formatting change only (a comment): the same parsed document
    spec.write_text("# edited\n" + text)
    assert probe(spec, cache) == [first[0], "jsonschema not imported"]
    # a wrong type: checked, reported with its place, and not remembered
    bad = text.replace("  language: en", "  language: en\n  calculator: 3", 1)
    assert bad != text
    spec.write_text(bad)
    for _ in range(2):
        out = probe(spec, cache)
        assert out[1] == "jsonschema imported"
        assert out[0].startswith("error ") and "exam.calculator: found 3, expected boolean" in out[0]
    # 7.0 where the integer 7 was valid is another document (repr tells them apart): checked, refused
    assert "  seed: 7\n" in text
    spec.write_text(text.replace("  seed: 7\n", "  seed: 7.0\n", 1))
    out = probe(spec, cache)
    assert out[1] == "jsonschema imported" and "exam.seed: found 7.0, expected integer" in out[0]
    spec.write_text(text)
    assert probe(spec, cache)[1] == "jsonschema not imported"
    assert len(list((cache / "valid").iterdir())) >= 2  # the spec's entry and the bank files'


def test_without_a_cache_every_document_is_checked(tmp_path: Path) -> None:
    spec = tmp_path / "quiz.yaml"
    spec.write_text((ROOT / "exams" / "quiz.yaml").read_text())
    env = dict(os.environ, EXAMGEN_CACHE="off")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", PROBE, str(spec)], capture_output=True, text=True, env=env,
                             check=True, cwd=ROOT).stdout.splitlines()
        assert out[1] == "jsonschema imported"
