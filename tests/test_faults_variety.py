"""Fault rows of the variety declarations in question.yaml (issue 14, never degenerate):
`degenerate:`, `variants:` and `canonical:` are checked at load, one line naming file:line:col."""

from __future__ import annotations

import pytest
from faults import BANK, Row, bank_template, problems, run_row

Q = "{tmp}/bank/data/q1/question.yaml"
SPEC = problems("  - template: q1\n")


def declare(text: str):
    """The shipped class_imbalance as q1, with `text` after its constraints line (and its own
    declared space removed, so that a row's variants: is the only one)."""
    return bank_template("q1", question=lambda s: "\n".join(
        line for line in s.replace("constraints: [data.majority_larger]",
                                   f"constraints: [data.majority_larger]\n{text}").splitlines()
        if not line.startswith("variants: {space: 100")) + "\n")


ROWS = [
    Row("degenerate-limit-above-2-percent", f"{Q}:8:54: degenerate[0].limit: found 0.5, expected a number at most 0.02",
        2, spec=SPEC, args=BANK, setup=declare("degenerate: [{name: a, check: data.ratio_is_integer, limit: 0.5}]")),
    Row("degenerate-unknown-function",
        f"{Q}:8:24: degenerate[0].check: 'examgen.solvers.data' has no function 'nope' (in 'data.nope')",
        2, spec=SPEC, args=BANK, setup=declare("degenerate: [{name: a, check: data.nope}]")),
    Row("degenerate-without-check", f"{Q}:8:14: degenerate[0]: missing key 'check'",
        2, spec=SPEC, args=BANK, setup=declare("degenerate: [{name: a, limit: 0}]")),
    Row("degenerate-name-twice",
        f"{Q}:8:56: degenerate[1].name: predicate 'a' is declared twice; give each predicate its own name",
        2, spec=SPEC, args=BANK,
        setup=declare("degenerate: [{name: a, check: data.ratio_is_integer}, "
                      "{name: a, check: data.ratio_is_integer}]")),
    Row("variants-space-without-why",
        f"{Q}:8:12: variants.space: a declared space needs both 'space: N' (how many different problems there are) "
        "and 'why: ...' (why not more)", 2, spec=SPEC, args=BANK, setup=declare("variants: {space: 10}")),
    Row("variants-min-distinct-above-1",
        f"{Q}:8:12: variants.min_distinct: found 1.5, expected a number at most 1", 2,
        spec=SPEC, args=BANK, setup=declare("variants: {min_distinct: 1.5}")),
    Row("canonical-unknown-function",
        f"{Q}:8:1: canonical: 'examgen.solvers.data' has no function 'nope' (in 'data.nope')",
        2, spec=SPEC, args=BANK, setup=declare("canonical: data.nope")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
