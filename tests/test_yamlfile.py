"""yamlfile.load_yaml reads what PyYAML's safe loader reads (the oracle), value for value and type
for type, while remembering where each value stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from examgen.errors import SpecError
from examgen.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted([*ROOT.glob("question_bank/**/*.yaml"), *ROOT.glob("exams/*.yaml")])


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(k, k2) and same(a[k], b[k2]) for k, k2 in zip(a, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)


def test_every_shipped_yaml_file_reads_as_pyyaml_reads_it() -> None:
    assert len(SHIPPED) > 50
    for path in SHIPPED:
        assert same(load_yaml(path, SpecError).data, yaml.safe_load(path.read_text(encoding="utf-8"))), path


DOC = """\
ints: [0, -7, 0x1F, 0o17, 1_000]
floats: [1.5, -0.0, 1e-3, .inf, -.Inf, .nan]
bools: [true, false, yes, no, on, off]
nulls: [null, ~, ]
dates: [2026-12-02, 2026-12-02 10:15:00, 2026-12-02T10:15:00Z]
strings: ['1', "two\\n", plain text, 'é ü €', "\\u00e9"]
block: |
  line one
  line two
folded: >
  folded
  text
anchored: &a {k: 1, l: [x, y]}
again: *a
scalar: &s 42
scalar_again: *s
3: int key
1.5: float key
null: null key
true: bool key
2026-01-01: date key
nested: {a: [{b: [1, {c: d}]}]}
"""


def test_a_document_of_every_scalar_kind_reads_as_pyyaml_reads_it(tmp_path: Path) -> None:
    f = tmp_path / "doc.yaml"
    f.write_text(DOC, encoding="utf-8")
    doc = load_yaml(f, SpecError)
    assert same(doc.data, yaml.safe_load(DOC))
    assert doc.where(("again",)) == f"{f}:14:1"
    assert doc.where(("nested", "a", 0, "b", 1)) == f"{f}:22:22"


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"dup.yaml:4:3: duplicate key 'c' \(first at line 3\); keep one of them"):
        load_yaml(f, SpecError)


@pytest.mark.parametrize(("text", "where", "what"), [
    ("a: 1\nb:\n  {c: d}: 2\n", "3:3", "a mapping"),
    ("a:\n  - x\n  - [1, 2]: 3\n", "3:5", "a list"),
    ("? [k]\n: v\n", "1:3", "a list"),
])
def test_a_mapping_or_list_as_a_key_is_one_line_naming_its_place(tmp_path: Path, text: str, where: str,
                                                                 what: str) -> None:
    """YAML allows a mapping or a list as a key (a misplaced ':' makes one: `{c: d}: 2`); a key must be
    text or a number: one line naming the file, line and column, not Python's 'unhashable type'."""
    f = tmp_path / "key.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as got:
        load_yaml(f, SpecError)
    assert str(got.value) == (f"{f}:{where}: a key must be a plain value (text or a number), not {what}; "
                              "check the colons and braces on this line")
