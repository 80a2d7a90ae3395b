"""Issue 14, "No calculator unless the exam allows one" (helper handcalc): an exam without a
calculator refuses a template that needs one, naming the spec, the problem and the fix; a
question.yaml without its `calculator:` declaration, or with a misspelt one, is refused at load.
Every row leaves nothing behind (nothing is written)."""

from __future__ import annotations

import pytest
from faults import BANK, HEAD, Row, bank_template, problems, run_row

REQUIRED = bank_template("needs_calc", question=lambda s: s.replace("calculator: none", "calculator: required"))
MISSING = bank_template("no_calc_key", question=lambda s: s.replace("calculator: none", ""))
MISSPELT = bank_template("misspelt_calc", question=lambda s: s.replace("calculator: none", "calculator: tabels"))
ALLOWED = HEAD.replace("exam:\n", "exam:\n  calculator: true\n")

ROWS = [
    Row("calculator-required-refused",
        "{spec}:16:5: problem P2 (needs_calc) needs a calculator, which this exam does not allow; "
        "set calculator: true under exam: or choose another template",
        2, spec=problems("  - mc: {count: 3}\n  - template: needs_calc\n"), args=BANK, setup=REQUIRED),
    Row("calculator-required-in-choose-refused",
        "{spec}:15:5: problem P1 (needs_calc) needs a calculator, which this exam does not allow; "
        "set calculator: true under exam: or choose another template",
        2, spec=problems("  - choose: {k: 1, from: [batchnorm_forward, needs_calc]}\n"), args=BANK, setup=REQUIRED),
    Row("calculator-false-explicitly",
        "problem P1 (needs_calc) needs a calculator, which this exam does not allow",
        2, spec=problems("  - template: needs_calc\n").replace("exam:\n", "exam:\n  calculator: false\n"),
        args=BANK, setup=REQUIRED),
    Row("calculator-not-boolean",
        "exam.calculator: found 'yes please', expected boolean",
        2, spec=problems("  - template: batchnorm_forward\n").replace("exam:\n", "exam:\n  calculator: yes please\n")),
    Row("question-calculator-missing",
        "/bank/data/no_calc_key/question.yaml:1:1: (top level): missing key 'calculator'",
        2, spec=problems("  - template: no_calc_key\n"), args=BANK, setup=MISSING),
    Row("question-calculator-misspelt",
        "/bank/data/misspelt_calc/question.yaml:30:1: calculator: found 'tabels', expected one of 'none', "
        "'tables', 'required'",
        2, spec=problems("  - template: misspelt_calc\n"), args=BANK, setup=MISSPELT),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)


def test_calculator_true_admits_a_required_template(tmp_path):
    """The same spec with `calculator: true` under exam: loads (the refusal is the spec's, not the template's)."""
    from examgen.bank import load_bank
    from examgen.spec import load_spec

    REQUIRED(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(ALLOWED + "  - template: needs_calc\n")
    loaded = load_spec(spec, load_bank([tmp_path / "bank"]))
    assert loaded.info.calculator is True
