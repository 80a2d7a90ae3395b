"""What an online export grades by itself and what a tutor grades, from the declared
graded answers: the same split, weights and phrases for every export (Moodle, QTI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model import DrawnMcItem, GradedAnswer, Part, SolvedQuestion
from .htmltext import latex_to_html

NONE_OPTION = "None of the statements above is true."


def key_text(x: float) -> str:
    """An exact number as an export writes it: the shortest text that is this float
    ("3", "-12", "0.1065", "1e-05"; Moodle's NUMBER_REGEX and QTI's float read it back)."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def auto_graded(a: GradedAnswer) -> bool:
    """What an export grades by itself: numbers (entry by entry) and choices."""
    return a.numeric or a.kind == "choice"


def entries(a: GradedAnswer, value: Any) -> list[tuple[str, float]]:
    """(suffix, number) for every entry of a numeric answer: '' for a number, '[i]' for a
    vector, '[i,j]' for a matrix (1-based, as a student reads the statement)."""
    if a.kind == "number":
        return [("", float(value))]
    if a.kind == "vector":
        return [(f"[{i}]", float(x)) for i, x in enumerate(value, start=1)]
    return [(f"[{i},{j}]", float(x)) for i, row in enumerate(value, start=1) for j, x in enumerate(row, start=1)]


@dataclass(frozen=True)
class Cell:
    """One input an export grades by itself: an entry of a numeric answer (its share of the
    answer's points) or a choice (all of its points)."""

    part: Part
    answer: GradedAnswer
    suffix: str  # '', '[2]', '[1,3]'
    value: Any  # the exact number, or the chosen value
    points: float


def cells(q: SolvedQuestion) -> list[Cell]:
    """Every input graded by itself, in the order of the parts, their declarations and the entries."""
    out = []
    for part, a, value in q.graded():
        if a.kind == "choice":
            out.append(Cell(part, a, "", value, a.points))
        elif a.numeric:
            found = entries(a, value)
            out.extend(Cell(part, a, suffix, x, a.points / len(found)) for suffix, x in found)
    return out


def hand_answers(part: Part) -> list[GradedAnswer] | None:
    """A part's answers a tutor grades: [] when the part declares none (the whole part is
    graded by hand), None when an export grades all of it."""
    if not part.answers:
        return []
    return [a for a in part.answers if not auto_graded(a)] or None


def hand_keys(q: SolvedQuestion) -> list[tuple[Part, GradedAnswer, Any]]:
    """(part, answer, key) of every declared answer a tutor grades, in order."""
    return [(p, a, value) for p, a, value in q.graded() if a in (hand_answers(p) or ())]


def mc_options(d: DrawnMcItem) -> list[tuple[str, bool, str]]:
    """(text as HTML, correct, why) of a drawn MC item's options, then "none of the above",
    correct exactly when no printed option is."""
    return [(latex_to_html(o.text, inline=True), o.correct, o.why) for o in d.options] + \
        [(NONE_OPTION, not d.correct_boxes, "")]


def hand_points(part: Part) -> float:
    """The credits of a part a tutor grades (the whole part when it declares no answer)."""
    hand = hand_answers(part)
    return 0.0 if hand is None else part.credits if not hand else sum(a.points for a in hand)


def asked_note(a: GradedAnswer) -> str:
    """' (to 3 decimals)' beside an input whose answer the statement asks rounded."""
    return f" (to {a.round} decimals)" if a.round is not None else ""


def key_phrase(a: GradedAnswer, value: Any, show: Callable[[Any], str] = str) -> str:
    """The key of a hand-graded answer for the tutor (`show` writes the value)."""
    if a.kind == "checker":
        return f"any answer that {a.accepts} accepts, e.g. {show(value)}"
    return show(value) if value is not None else "see the solution"


def points_text(points: float) -> str:
    """'1 point', '2.5 points'."""
    return f"{points:g} point{'' if points == 1 else 's'}"


def credits_note(c: float) -> str:
    """'(1 credit)', '(2.5 credits)': after each part's statement in an export."""
    return f"({c:g} credit{'' if c == 1 else 's'})"
