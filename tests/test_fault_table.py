"""Issue 12's bar: one table of at least 80 bad inputs and faults, over all fault files
(tests/test_bad_inputs.py and tests/test_faults_*.py), with distinct ids."""

from __future__ import annotations

import importlib
from pathlib import Path

from faults import Row

HERE = Path(__file__).parent


def all_rows() -> list[Row]:
    names = ["test_bad_inputs"] + sorted(p.stem for p in HERE.glob("test_faults_*.py"))
    rows: list[Row] = []
    for name in names:
        rows += importlib.import_module(name).ROWS
    return rows


def test_at_least_80_rows_with_distinct_ids() -> None:
    rows = all_rows()
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert len(rows) >= 80, len(rows)

