"""`examgen check`'s proof that a template needs no calculator unless it says so
(question.yaml `calculator: none | tables | required`).

For one solved draw, the statement is rendered and the values its `table` filter printed are
collected (examgen.tables). The solver then runs again "by hand": every elementary call
(examgen.solvers.elementary) is answered with the printed value, as a student reads it off
the table. An argument counts as printed when it is within ARG_SLACK of a printed one (the
student rounds it to two decimals, or an argument above 1 to three significant digits, to find
it; whether the value read there is good enough decides the tolerance); a call whose result is exact needs no table
(sigma(0), e^0, ln 1, tanh 0, the square root of a perfect square such as sqrt(2.25)).
Any other call is a failure ("sigma(2.5) is used but not printed"). Each declared numeric
answer of the by-hand run, rounded as the statement asks, must then lie within its declared
tolerance of the exact key. A `required` template is not checked: it is refused by exams
without a calculator instead (spec.py)."""

from __future__ import annotations

import math
from typing import Any

from . import solvers, values
from .errors import ExamgenError
from .model import SolvedQuestion
from .questions import texts
from .sampling import solve
from .solvers import elementary
from .tables import HEADS, Printed, recording
from .texfmt import num

ARG_SLACK = 0.005  # a student rounds an argument to two decimals to look it up
EXACT_AT = {"sigmoid": {0.0: 0.5}, "exp": {0.0: 1.0}, "log": {1.0: 0.0}, "tanh": {0.0: 0.0},
            "cos": {0.0: 1.0}}


def _shown(function: str, x: float) -> str:
    return "$" + HEADS[function].replace("@", num(x, 6)) + "$"


def _exact(function: str, x: float) -> float | None:
    """The value of a call a student knows without a table (None: they need one)."""
    if x in EXACT_AT.get(function, {}):
        return EXACT_AT[function][x]
    if function == "sqrt" and x >= 0:
        r = round(math.sqrt(x), 4)  # a root with at most 4 decimals, squared back exactly
        if abs(r * r - x) < 1e-12:
            return r
    return None


def by_hand(q: SolvedQuestion, printed: Printed | None = None) -> tuple[dict[str, Any], list[str]]:
    """The solver's answers of this draw with every elementary value taken from the printed
    tables (`printed`: what rendering its statement recorded, when the caller has it), and
    the calls that no table (nor exactness) answered."""
    if q.template.calculator != "tables":
        printed = {}  # a template declared `none` may use no table, printed or not
    elif printed is None:
        with recording() as printed:
            texts(q)
    missing: list[str] = []

    def lookup(function: str, x: float) -> float:
        exact = _exact(function, x)
        if exact is not None:
            return exact
        near = [(abs(a - x), v) for a, v in printed.get(function, {}).items()
                if abs(a - x) <= ARG_SLACK * max(1.0, abs(a)) + 1e-9]
        if near:
            return min(near)[1]
        shown = _shown(function, x)
        if shown not in missing:
            missing.append(shown)
        return float(elementary.value(function, x))

    with elementary.by_hand(lookup):
        answers = solve(q.template, q.params, solvers.resolver(q.template.directory))
    return answers, missing


def failures(q: SolvedQuestion, printed: Printed | None = None) -> list[str]:
    """What a student without a calculator cannot reach in this draw (empty: all of it)."""
    t = q.template
    if t.calculator == "required" or not t.solver:
        return []
    try:
        hand, missing = by_hand(q, printed)
    except ExamgenError:
        return []  # a statement that does not render or a solver that fails is reported elsewhere
    if missing:
        what = "the statement prints no table of them" if t.calculator == "none" else "the statement does not print it"
        return [f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} used but not printed "
                f"(calculator: {t.calculator}; {what}); print it with the table filter or make the draws "
                "hand-friendly"]
    fails = []
    for p in q.parts:
        for a in p.answers:
            if not a.numeric or a.name not in hand:
                continue
            exact = list(values.leaves(q.answers[a.name]))
            mine = list(values.leaves(hand[a.name]))
            got = [round(float(v), a.round) if a.round is not None else float(v) for v in mine]
            worst = max(range(len(exact)), key=lambda i: abs(got[i] - float(exact[i])), default=None)
            if worst is not None and abs(got[worst] - float(exact[worst])) > a.tolerance + 1e-9:
                rounded = f" (rounded to {a.round} decimals)" if a.round is not None else ""
                fails.append(f"part {p.name}) answer '{a.name}': by hand from the printed tables it is "
                             f"{got[worst]:g}{rounded}, the key {float(exact[worst]):.6g}: off by more than the "
                             f"tolerance {a.tolerance:g}; print more decimals, ask fewer or make the draws "
                             "hand-friendly")
    return fails
