"""Issue 14 (helper pinnable): faults of the give-away declarations (conflicts_with:,
asks:, tags:) and of the validity/niceness split (constraints:, nice:), and pinned
values that break a validity constraint. Each row: one stderr line, exit code, folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from faults import BANK, Row, bank_template, problems, run_row

ITEM = """topic: extra
items:
  - id: extra_item
    source: "a test"
    {extra}
    stem: "Which statements hold?"
    options:
      - {{text: "One.", correct: true, why: "Yes."}}
      - {{text: "Two.", correct: false, why: "No."}}
      - {{text: "Three.", correct: false, why: "No."}}
      - {{text: "Four.", correct: true, why: "Yes."}}
"""


def mc_file(extra: str) -> Callable[[Path], None]:
    """A setup: tmp/bank/mc/extra.yaml with one item carrying `extra` (a key line)."""

    def setup(tmp: Path) -> None:
        (tmp / "bank" / "mc").mkdir(parents=True, exist_ok=True)
        (tmp / "bank" / "mc" / "extra.yaml").write_text(ITEM.format(extra=extra))

    return setup


def with_line(line: str) -> Callable[[str], str]:
    """A question.yaml edit: one more top-level line before params:."""
    return lambda s: s.replace("\nparams:", f"\n{line}\nparams:", 1)


Q1 = "{tmp}/bank/data/q1/question.yaml"

ROWS = [
    # ---------------------------------------------------------------- conflicts_with: names something known
    Row("conflict-unknown-in-template", Q1 + ":10:18: conflicts_with: 'init_variancee' is no template id, "
        "multiple-choice item id or tag (asks:/tags:) of the bank; did you mean 'init_variance'?", 2,
        spec=problems("  - template: q1\n"), args=BANK,
        setup=bank_template("q1", question=with_line("conflicts_with: [init_variancee]"))),
    Row("conflict-unknown-in-item", "{tmp}/bank/mc/extra.yaml:5:22: conflicts_with: 'xavier_init' is no template "
        "id, multiple-choice item id or tag (asks:/tags:) of the bank; did you mean 'xavier-init'?", 2,
        spec=problems("  - mc: {count: 3}\n"), args=BANK, setup=mc_file("conflicts_with: [xavier_init]")),
    Row("conflict-with-itself", "{tmp}/bank/mc/extra.yaml:5:22: conflicts_with: 'extra_item' is this "
        "multiple-choice item itself; name another question", 2,
        spec=problems("  - mc: {count: 3}\n"), args=BANK, setup=mc_file("conflicts_with: [extra_item]")),
    Row("conflict-not-a-list", "{tmp}/bank/mc/extra.yaml:5:5: items[0].conflicts_with: found 'init_variance', "
        "expected array", 2,
        spec=problems("  - mc: {count: 3}\n"), args=BANK, setup=mc_file("conflicts_with: init_variance")),
    Row("tag-not-a-tag", "{tmp}/bank/mc/extra.yaml:5:12: items[0].tags[0]: found 'Init Variance', expected a name "
        "matching ^[a-z][a-z0-9_-]*$", 2,
        spec=problems("  - mc: {count: 3}\n"), args=BANK, setup=mc_file("tags: [Init Variance]")),
    Row("asks-not-a-tag", Q1 + ":10:8: asks[0]: found 'Ratio!', expected a name matching ^[a-z][a-z0-9_-]*$", 2,
        spec=problems("  - template: q1\n"), args=BANK,
        setup=bank_template("q1", question=with_line("asks: [Ratio!]"))),
    # ---------------------------------------------------------------- validity vs niceness declarations
    Row("nice-and-validity-at-once", Q1 + ":8:1: nice: 'data.majority_larger' is also listed in constraints:; a "
        "constraint is either validity (constraints:, pins must meet it) or niceness (nice:, draws only)", 2,
        spec=problems("  - template: q1\n"), args=BANK,
        setup=bank_template("q1", question=lambda s: s.replace("nice: [data.ratio_is_integer]",
                                                               "nice: [data.majority_larger]"))),
    Row("nice-unknown-function", Q1 + ":8:8: nice[0]: 'examgen.solvers.data' has no function 'ratio_is_integr'", 2,
        spec=problems("  - template: q1\n"), args=BANK,
        setup=bank_template("q1", question=lambda s: s.replace("nice: [data.ratio_is_integer]",
                                                               "nice: [data.ratio_is_integr]"))),
    # ---------------------------------------------------------------- assembly: give-aways that cannot be avoided
    Row("fixed-problems-give-each-other-away", "{spec}: variant E0001: two problems give each other away in every "
        "draw ({spec}:15:5: problems[0] and {spec}:16:5: problems[1]: template 'q1' declares conflicts_with: "
        "init_variance (template 'init_variance')); remove one, or offer them in one choose: block", 2,
        spec=problems("  - template: q1\n  - template: init_variance\n"), args=BANK,
        setup=bank_template("q1", question=with_line("conflicts_with: [init_variance]"))),
    Row("mc-pool-all-give-aways", "{spec}: variant E0001: mc: multiple-choice item 'init_symmetry_and_uniform_scale' "
        "is tagged 'init-variance', which template 'init_variance' asks; the pool has no other item to draw instead "
        "(2 items for count 2); widen the topics or lower the count", 2,
        spec=problems("  - mc: {count: 2, items: [xavier_init_variance, init_symmetry_and_uniform_scale]}\n"
                      "  - template: init_variance\n")),
    # ---------------------------------------------------------------- pinned values: validity only
    Row("unsatisfiable-xor", "template 'xor_threshold_network', parameter 'step_at_zero, target, values': the pinned "
        "values break the validity constraint 'mlp.xor_realizable' (some 2-2-1 step network with weights and biases "
        "from the value set realizes the target); pin values that meet it", 2,
        spec=problems("  - template: xor_threshold_network\n    params: {target: xor, values: [0, 1], "
                      "step_at_zero: 0}\n")),
    Row("pinned-breaks-validity", "{spec}:15:5: problems[0]: variant E0001: template 'class_imbalance', parameter "
        "'n_major, n_minor': the pinned values break the validity constraint 'data.majority_larger' (the majority "
        "class has more images than the minority class)", 2,
        spec=problems("  - template: class_imbalance\n    params: {n_major: 100, n_minor: 300}\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)
