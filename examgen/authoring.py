"""`examgen new`: a working template skeleton for an instructor's own bank.

It writes DIR/<topic>/<id>/ with question.yaml, statement.tex.j2,
solution.tex.j2, solver.py (solver, checker, constraint) and test_<id>.py,
all at once or not at all, and such that `examgen check` and `examgen preview`
accept it unchanged: the author edits a question that already works."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from . import BANK_DIR, schema
from .errors import ExamgenError

KINDS = ("numeric", "free-text")
ID_PATTERN = schema.QUESTION["properties"]["id"]["pattern"]  # type: ignore[index]


# ------------------------------------------------------------------ numeric: a neuron's weighted sum
_NUMERIC_YAML = r"""# A question template of examgen (README: "Write your own question").
# Try it: examgen preview __ID__ --bank __BANK__ --out preview.pdf [--solution]
# Test it: examgen check --bank __BANK__ -t __ID__
id: __ID__                        # must equal the folder name
title: Neuron Output              # the problem's heading in the exam
topic: __TOPIC__
calculator: none                  # none (by hand) | tables (statement prints the values it needs) | required
source: "examgen new skeleton"    # where the question comes from (a past exam, a lecture, ...)
kind: numeric                     # the answers are numbers computed by the solver
solver: solver.solve              # solver.py beside this file: parameters in, answers out
checker: solver.check_params      # raises ParamError for parameters it cannot solve (e.g. pinned ones)
nice: [solver.not_orthogonal]   # niceness: draws are rejected until each is true (pins need not meet them;
                                # validity checks that pins must meet too go in constraints: [...])
params:                           # sampled in this order; an exam spec can pin any of them by name
  x: {type: int_vector, doc: "the input", sample: {kind: int_vector, length: 3, low: -3, high: 3}}
  w: {type: int_vector, doc: "the weights", sample: {kind: int_vector, length: 3, low: -3, high: 3, exclude: [0]}}
  b: {type: int, doc: "the bias", sample: {kind: int, low: -5, high: 5}}
parts:                            # one per subproblem a), b), ...: credits (halves), answer box, rubric
  - name: a
    credits: 2
    answer_height: 35             # mm of answer space in the student version
    answers:                      # what the statement asks: the solver's key, exact (no round:) or
                                  # rounded as the statement says (round: 3), points adding up to the credits
      - {name: dot, label: "$w^\\top x$", kind: number, points: 2}
    rubric:                       # the points add up to the credits; texts are jinja2 like the .tex.j2
      - {points: 1, text: "Products $x_i w_i$ correct: $<< products|seq >>$"}
      - {points: 1, text: "Sum correct: $w^\\top x = << dot >>$"}
  - name: b
    credits: 1
    answer_height: 25
    answers:
      - {name: y, label: "$y$", kind: number, points: 1}
    rubric:
      - {points: 1, text: "$y = \\max(0, << dot >> + << b|paren >>) = << y >>$ (follow-up error from a) allowed)"}
"""

_NUMERIC_STATEMENT = r"""<# The student version. << name >> prints a parameter or answer; filters: num(digits), paren,
   vec, mat, seq. One block per part (plus the optional intro). #>
<% block intro %>
A single neuron with weights $w = << w|vec >>^\top$ and bias $b = << b >>$ receives the input
$x = << x|vec >>^\top$.
<% endblock %>
<% block a %>Compute the weighted sum $w^\top x$.<% endblock %>
<% block b %>The neuron applies a ReLU, $y = \max(0, w^\top x + b)$. What is its output $y$?<% endblock %>
"""

_NUMERIC_SOLUTION = r"""<# The solution version: printed in blue in the answer box of each part. #>
<% block a %>
\[ w^\top x = <% for xi, wi in zip(x, w) %>
<< xi|paren >> \cdot << wi|paren >><% if not loop.last %> + <% endif %>
<% endfor %>
 = << dot >> \]
<% endblock %>
<% block b %>
\[ y = \max(0, << dot >> + << b|paren >>) = << y >> \]
<% endblock %>
"""

_NUMERIC_SOLVER = '''"""Solver of the template '__ID__'. question.yaml names these functions as
'solver.<function>'. Pure functions: parameters in, answers out; no LaTeX here.
Import from examgen absolutely (from examgen.errors import ParamError)."""

from __future__ import annotations

from typing import Any

from examgen.errors import ParamError

T = "__ID__"


def solve(p: dict[str, Any]) -> dict[str, Any]:
    """The answer key: every name returned here can be used in statement, solution and rubric
    (<< dot >>). Names must differ from the parameters' names. Numbers, lists and numpy arrays
    are fine."""
    products = [xi * wi for xi, wi in zip(p["x"], p["w"])]
    dot = sum(products)
    return {"products": products, "dot": dot, "y": max(0, dot + p["b"])}


def check_params(p: dict[str, Any]) -> None:
    """The checker: raise ParamError(name, why, T) for parameters the solver cannot handle.
    Runs on every draw (a failing draw is drawn again) and on values an exam spec pins
    (then the error is shown to the instructor)."""
    if len(p["x"]) != len(p["w"]):
        raise ParamError("w", f"expected {len(p['x'])} entries (one per entry of x), got {len(p['w'])}", T)


def not_orthogonal(p: dict[str, Any]) -> bool:
    """w and x are not orthogonal (otherwise the weighted sum is a trivial 0)"""
    # A constraint: True keeps the draw, False draws again (up to 1000 times). The first line
    # of the docstring is shown when a constraint can never be met.
    return sum(xi * wi for xi, wi in zip(p["x"], p["w"])) != 0
'''

# the head of both kinds' test stub: imports, the template's bank and a fixture (__IMPORTS__: numpy or not)
_TEST_HEAD = '''"""Tests of the template '__ID__': its solver against an independent computation over
many seeded draws, and its checker. Run: python -m pytest __TESTPATH__"""

from __future__ import annotations

from pathlib import Path

__IMPORTS__import pytest

from examgen.bank import load_bank
from examgen.errors import ParamError
from examgen.questions import solve_question
from examgen.sampling import derive_seed

TEMPLATE_ID = "__ID__"
BANK = Path(__file__).resolve().parents[2]  # <bank>/<topic>/<id>/test_<id>.py
DRAWS = 300


@pytest.fixture(scope="module")
def template():
    return load_bank([BANK]).template(TEMPLATE_ID)
'''

_NUMERIC_TEST = _TEST_HEAD.replace("__IMPORTS__", "import numpy as np\n") + '''

def test_solver_matches_numpy(template):
    for n in range(DRAWS):
        q = solve_question(template, derive_seed(2024, n, TEMPLATE_ID))  # sampled as in an exam
        x, w, b = np.array(q.params["x"]), np.array(q.params["w"]), q.params["b"]
        expected = int(np.dot(w, x))  # independent of solver.py
        assert expected != 0, "the constraint not_orthogonal should have rejected this draw"
        assert q.answers["dot"] == expected
        assert q.answers["products"] == (x * w).tolist()
        assert q.answers["y"] == max(0, expected + b)


def test_checker_rejects_mismatched_lengths(template):
    with pytest.raises(ParamError, match="'w'"):
        solve_question(template, derive_seed(0, 1, TEMPLATE_ID), {"x": [1, 2, 3], "w": [1, 2]})
'''


# ------------------------------------------------------------------ free text: over- or underfitting
_FREE_YAML = r"""# A question template of examgen (README: "Write your own question").
# Try it: examgen preview __ID__ --bank __BANK__ --out preview.pdf [--solution]
# Test it: examgen check --bank __BANK__ -t __ID__
id: __ID__                        # must equal the folder name
title: Diagnosing a Training Run  # the problem's heading in the exam
topic: __TOPIC__
calculator: none                  # none (by hand) | tables (statement prints the values it needs) | required
source: "examgen new skeleton"    # where the question comes from (a past exam, a lecture, ...)
kind: free-text                   # graded by hand with the rubric; the numbers come from the solver
solver: solver.solve              # solver.py beside this file: the numbers the rubric quotes
checker: solver.check_params      # raises ParamError for parameters it cannot handle (e.g. pinned ones)
nice: [solver.clear_gap]   # niceness: draws are rejected until each is true (pins need not meet them;
                           # validity checks that pins must meet too go in constraints: [...])
params:                           # sampled in this order; an exam spec can pin any of them by name
  train_acc: {type: number, doc: "training accuracy in %", sample: {kind: decimal, low: 90, high: 99.5, step: 0.5}}
  val_acc: {type: number, doc: "validation accuracy in %", sample: {kind: decimal, low: 60, high: 88, step: 0.5}}
  epochs: {type: int, doc: "epochs trained", sample: {kind: choice, options: [50, 100, 200]}}
parts:                            # one per subproblem a), b), ...: credits (halves), answer box, rubric
  - name: a
    credits: 1
    answer_height: 30             # mm of answer space in the student version
    rubric:                       # the points add up to the credits; texts are jinja2 like the .tex.j2
      - {points: 0.5, text: "Overfitting (the network memorizes the training set)."}
      - points: 0.5
        text: >-
          Reason: the gap of << gap|num(1) >> percentage points between training and validation
          accuracy.
  - name: b
    credits: 1
    answer_height: 35
    rubric:
      - points: 1
        text: >-
          0.5 per remedy: more data / data augmentation / weight decay / dropout / early stopping
          (e.g. before epoch << epochs >>) / a smaller network.
"""

_FREE_STATEMENT = r"""<# The student version. << name >> prints a parameter or answer; filters: num(digits), paren,
   vec, mat, seq. One block per part (plus the optional intro). #>
<% block intro %>
After << epochs >> epochs your classifier reaches << train_acc|num(1) >>\,\% accuracy on the training set but only
<< val_acc|num(1) >>\,\% on the validation set.
<% endblock %>
<% block a %>What problem do you diagnose? Give a reason.<% endblock %>
<% block b %>Name two remedies.<% endblock %>
"""

_FREE_SOLUTION = r"""<# The solution version: printed in blue in the answer box of each part. #>
<% block a %>Overfitting: the validation accuracy is << gap|num(1) >> percentage points below the training
accuracy, so the network fits the training set but does not generalize.<% endblock %>
<% block b %>More (or augmented) training data; regularization (weight decay, dropout); early stopping
instead of training all << epochs >> epochs; a smaller network.<% endblock %>
"""

_FREE_SOLVER = '''"""Solver of the template '__ID__'. question.yaml names these functions as
'solver.<function>'. Pure functions: parameters in, answers out; no LaTeX here.
Import from examgen absolutely (from examgen.errors import ParamError)."""

from __future__ import annotations

from typing import Any

from examgen.errors import ParamError

T = "__ID__"


def solve(p: dict[str, Any]) -> dict[str, Any]:
    """The numbers the rubric and solution quote: every name returned here can be used in the
    templates (<< gap >>). Names must differ from the parameters' names."""
    return {"gap": round(p["train_acc"] - p["val_acc"], 6)}


def check_params(p: dict[str, Any]) -> None:
    """The checker: raise ParamError(name, why, T) for parameters the question cannot use.
    Runs on every draw (a failing draw is drawn again) and on values an exam spec pins
    (then the error is shown to the instructor)."""
    for name in ("train_acc", "val_acc"):
        if not 0 <= p[name] <= 100:
            raise ParamError(name, f"expected a percentage in [0, 100], got {p[name]}", T)


def clear_gap(p: dict[str, Any]) -> bool:
    """training accuracy at least 10 points above validation accuracy (clear overfitting)"""
    # A constraint: True keeps the draw, False draws again (up to 1000 times). The first line
    # of the docstring is shown when a constraint can never be met.
    return p["train_acc"] - p["val_acc"] >= 10
'''

_FREE_TEST = _TEST_HEAD.replace("__IMPORTS__", "") + '''

def test_gap_over_many_draws(template):
    for n in range(DRAWS):
        q = solve_question(template, derive_seed(2024, n, TEMPLATE_ID))  # sampled as in an exam
        expected = q.params["train_acc"] - q.params["val_acc"]  # independent of solver.py
        assert q.answers["gap"] == pytest.approx(expected)
        assert expected >= 10, "the constraint clear_gap should have rejected this draw"


def test_checker_rejects_bad_percentages(template):
    with pytest.raises(ParamError, match="'val_acc'"):
        solve_question(template, derive_seed(0, 1, TEMPLATE_ID), {"train_acc": 95, "val_acc": 120})
'''

_FILES = {
    "numeric": (_NUMERIC_YAML, _NUMERIC_STATEMENT, _NUMERIC_SOLUTION, _NUMERIC_SOLVER, _NUMERIC_TEST),
    "free-text": (_FREE_YAML, _FREE_STATEMENT, _FREE_SOLUTION, _FREE_SOLVER, _FREE_TEST),
}


def _existing_ids(bank: Path) -> set[str]:
    """Template ids of the shipped bank and of the target bank (loading it fully is not
    needed, and must not fail because of an unrelated broken template)."""
    ids: set[str] = set()
    for root in (BANK_DIR, bank):
        if root.is_dir():
            ids.update(q.parent.name for q in root.rglob("question.yaml"))
    return ids


def new_template(template_id: str, topic: str, bank: Path = Path("my_bank"), kind: str = "numeric") -> Path:
    """Write the skeleton folder bank/topic/template_id atomically; return it."""
    for what, value in (("template id", template_id), ("topic", topic)):
        if not re.fullmatch(ID_PATTERN, value):
            raise ExamgenError(f"invalid {what} '{value}': use lower-case letters, digits and '_', "
                               "starting with a letter (e.g. 'neuron_output')")
    if kind not in KINDS:
        raise ExamgenError(f"unknown kind '{kind}'; valid: {', '.join(KINDS)}")
    bank = Path(bank)
    target = bank / topic / template_id
    if target.exists():
        raise ExamgenError(f"{target} already exists; choose another id or remove it")
    if template_id in _existing_ids(bank.resolve()):
        raise ExamgenError(f"template id '{template_id}' is already used (shipped bank or {bank}); "
                           "ids are unique across all banks")
    shown_bank = str(bank)
    test_name = f"test_{template_id}.py"
    values = {"__ID__": template_id, "__TOPIC__": topic, "__BANK__": shown_bank,
              "__TESTPATH__": str(target / test_name)}
    names = ("question.yaml", "statement.tex.j2", "solution.tex.j2", "solver.py", test_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{template_id}.tmp-", dir=target.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 is for temporary folders, not a bank
        for name, text in zip(names, _FILES[kind]):
            for key, value in values.items():
                text = text.replace(key, value)
            (tmp / name).write_text(text, encoding="utf-8")
        tmp.rename(target)  # all files appear at once (fails if the target appeared meanwhile)
    except OSError as exc:
        raise ExamgenError(f"{target}: could not write the skeleton: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
