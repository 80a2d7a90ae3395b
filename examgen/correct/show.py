"""How the correction room shows a variant's record to a tutor: the LaTeX of key labels and
rubric lines as readable Unicode text (pylatexenc's LatexNodes2Text: `$\\partial h_T / \\partial u$`
-> `∂h_T / ∂u`; the page keeps the LaTeX in a title attribute), numbers without a float's `.0`,
and vectors and matrices as rows of cells (the page aligns them in a small table)."""

from __future__ import annotations

import json
import re
from typing import Any

from pylatexenc.latex2text import (
    EnvironmentTextSpec,
    LatexNodes2Text,
    MacroTextSpec,
    get_default_latex_context_db,
)
from pylatexenc.latexwalker import LatexMacroNode, LatexSpecialsNode

# binary operators and relations: spaced on both sides (LaTeX spaces them, and a control word
# eats the space after it, so `\cdot C` would otherwise print as `·C`)
_SPACED = {"cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "approx": "≈",
           "ne": "≠", "neq": "≠", "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←",
           "Rightarrow": "⇒", "in": "∈", "notin": "∉", "equiv": "≡", "propto": "∝", "sim": "∼",
           "mapsto": "↦", "ll": "≪", "gg": "≫", "subset": "⊂", "subseteq": "⊆", "odot": "⊙",
           "otimes": "⊗", "circ": "∘"}
_NORM = {"|": "‖", "Vert": "‖", "lVert": "‖", "rVert": "‖"}  # the default drops `\|` (a norm)
_MATRICES = ("bmatrix", "pmatrix", "matrix", "vmatrix", "smallmatrix")
# a sub- or superscript of more than a word (x_{t-1}, \sum_{t=1}) keeps its extent in parentheses
_SCRIPT = re.compile(r"([_^])\{([^{}]*[-+=,/][^{}]*)\}")
# a relation after a control word (`\lambda < 1`, `\mu = 2`): the word ate the space before it
_RELATION = re.compile(r"(?<=[^\s<>=+])([=<>+]) (?![<>=])")


def _grouped(text: str) -> str:
    """A fraction's numerator or denominator, in parentheses when it is more than one term."""
    depth = 0
    for ch in text:
        depth += (ch in "([{") - (ch in ")]}")
        if depth == 0 and (ch.isspace() or ch in "+-=,/·×"):
            return f"({text})"
    return text


def _frac(node: Any, l2tobj: LatexNodes2Text) -> str:
    num, den = (l2tobj.nodelist_to_text([a]).strip() for a in node.nodeargd.argnlist[-2:])
    return f"{_grouped(num)}/{_grouped(den)}"


def _matrix(node: Any, l2tobj: LatexNodes2Text) -> str:
    """`[1 -2; 3 4]`: cells by spaces, rows by semicolons."""
    rows: list[list[str]] = [[""]]
    for n in node.nodelist:
        if isinstance(n, LatexMacroNode) and n.macroname == "\\":
            rows.append([""])
        elif isinstance(n, LatexSpecialsNode) and n.specials_chars == "&":
            rows[-1].append("")
        else:
            rows[-1][-1] += l2tobj.nodelist_to_text([n])
    cells = [[" ".join(c.split()) for c in r] for r in rows]
    return "[" + "; ".join(" ".join(r) for r in cells if any(r)) + "]"


def _converter() -> LatexNodes2Text:
    db = get_default_latex_context_db()
    db.add_context_category(
        "examgen-correct", prepend=True,
        macros=[MacroTextSpec(k, simplify_repl=f" {v} ") for k, v in _SPACED.items()]
        + [MacroTextSpec(k, simplify_repl=v) for k, v in _NORM.items()]
        + [MacroTextSpec(k, simplify_repl=_frac) for k in ("frac", "dfrac", "tfrac")],
        environments=[EnvironmentTextSpec(e, simplify_repl=_matrix) for e in _MATRICES])
    return LatexNodes2Text(latex_context=db, math_mode="text", strict_latex_spaces=True)


_TEXT = _converter()


def readable(tex: str) -> str:
    """A key label or rubric line's LaTeX as one line of Unicode text."""
    try:
        text = _TEXT.latex_to_text(_SCRIPT.sub(r"\1(\2)", tex))
    except Exception:  # noqa: BLE001  a line pylatexenc cannot parse: the tutor still reads the LaTeX
        return tex
    return _RELATION.sub(r" \1 ", " ".join(text.split()))


def number(value: Any) -> str:
    """A number as a tutor reads it (2.0 -> 2); other values as JSON."""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _scalar(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def rows(value: Any) -> list[list[str]] | None:
    """A vector (one row) or a matrix (equal rows) as rows of formatted cells; None for
    anything else (a scalar, a string, a ragged or deeper list)."""
    if not isinstance(value, list) or not value:
        return None
    if all(_scalar(x) for x in value):
        return [[number(x) for x in value]]
    if all(isinstance(r, list) and r and all(_scalar(x) for x in r) for r in value) \
            and len({len(r) for r in value}) == 1:
        return [[number(x) for x in r] for r in value]
    return None
