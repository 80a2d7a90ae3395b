"""Never degenerate (issue 14): a template declares when a draw is degenerate
(`degenerate:` predicates over the solved draw), how many different problems it
must give (`variants:`) and when two draws are the same problem (`canonical:`);
`examgen check` measures both on its solved draws and fails above the limits, and
the README's table is built from the same measures.

    degenerate: [{name: skip_not_larger, check: mlp.skip_not_larger, limit: 0}]
    variants: {min_distinct: 0.9}          # or {space: 12, why: "..."}: a genuinely smaller space
    canonical: mlp.softmax_canonical       # (params, answers) -> equal values for the same problem
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import solvers
from .errors import TemplateError
from .model import Degeneracy, SolvedQuestion, Template, Variety
from .yamlfile import LoadedYaml, format_keypath

#: distinct variants are counted over the first DISTINCT_DRAWS draws (or all, when fewer)
DISTINCT_DRAWS = 200


def declared(doc: LoadedYaml) -> tuple[tuple[Degeneracy, ...], Variety, str | None]:
    """question.yaml's `degenerate:`, `variants:` and `canonical:` (the schema has checked
    their types); what the schema cannot say is one line naming file:line."""
    d = doc.data
    preds: list[Degeneracy] = []
    for i, p in enumerate(d.get("degenerate") or ()):
        if any(q.name == p["name"] for q in preds):
            raise TemplateError(f"{doc.where(('degenerate', i, 'name'))}: {format_keypath(('degenerate', i, 'name'))}: "
                                f"predicate "
                                f"'{p['name']}' is declared twice; give each predicate its own name")
        preds.append(Degeneracy(p["name"], p["check"], float(p.get("limit", 0.0))))
    v = d.get("variants") or {}
    if ("space" in v) != ("why" in v):
        key = "space" if "space" in v else "why"
        raise TemplateError(f"{doc.where(('variants', key))}: variants.{key}: a declared space needs both "
                            "'space: N' (how many different problems there are) and 'why: ...' (why not more)")
    variety = Variety(float(v.get("min_distinct", Variety.min_distinct)), v.get("space"), v.get("why", ""))
    return tuple(preds), variety, d.get("canonical")


def references(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The functions these declarations name, by key path (the loader resolves them)."""
    refs: list[tuple[tuple[str | int, ...], str]] = [(("degenerate", i, "check"), p["check"])
                                                     for i, p in enumerate(data.get("degenerate") or ())]
    return refs + ([(("canonical",), data["canonical"])] if data.get("canonical") else [])


def expected_distinct(space: int | None, draws: int) -> tuple[float, float]:
    """The mean and standard deviation of the number of distinct problems among `draws`
    uniform draws from a space of `space` (no space: every draw differs)."""
    if space is None:
        return float(draws), 0.0
    n = space
    a, b = (1.0 - 1.0 / n) ** draws, (1.0 - 2.0 / n) ** draws
    var = n * a + n * (n - 1) * b - n * n * a * a  # of the number of problems never drawn
    return n * (1.0 - a), math.sqrt(max(var, 0.0))


def required_distinct(v: Variety, draws: int) -> int:
    """The fewest distinct variants `draws` draws must give: min_distinct of the mean a uniform
    sampler gives, less two of its standard deviations (few draws of a small space collide by chance)."""
    mean, sd = expected_distinct(v.space, draws)
    return max(1, math.floor(v.min_distinct * mean - 2 * sd + 1e-9))


@dataclass
class Measure:
    """A template's variety over its solved draws."""

    draws: int  # solved draws the predicates ran on
    degenerate: dict[str, int]  # predicate name -> degenerate draws
    distinct: int  # distinct problems among the first `distinct_draws`
    distinct_draws: int
    required: int
    failures: list[str] = field(default_factory=list)

    def share(self, name: str) -> float:
        return self.degenerate[name] / self.draws if self.draws else 0.0


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def measure(t: Template, solved: Sequence[SolvedQuestion]) -> Measure:
    """Evaluate every declared predicate on every solved draw and count distinct problems
    (up to `canonical`) among the first DISTINCT_DRAWS; `failures` says what exceeds a limit."""
    fails: list[str] = []
    counts = {p.name: 0 for p in t.degenerate}
    for p in t.degenerate:
        fn = solvers.resolve(p.check, t.directory)
        for q in solved:
            try:
                counts[p.name] += bool(fn(q.params, q.answers))
            except Exception as exc:  # a predicate's bug: one line naming it, not a traceback
                fails.append(f"degenerate '{p.name}' ({p.check}) failed on parameters {q.params}: "
                             f"{type(exc).__name__}: {exc}; fix the predicate")
                break
    first = solved[:DISTINCT_DRAWS]
    canon: Callable[[Any, Any], Any] = (solvers.resolve(t.canonical, t.directory) if t.canonical
                                        else (lambda params, answers: params))
    try:
        distinct = len({_key(canon(q.params, q.answers)) for q in first})
    except Exception as exc:
        fails.append(f"canonical '{t.canonical}' failed: {type(exc).__name__}: {exc}; fix the function")
        distinct = 0
    m = Measure(len(solved), counts, distinct, len(first), required_distinct(t.variants, len(first)), fails)
    for p in t.degenerate:
        if m.share(p.name) > p.limit + 1e-12:
            fails.append(f"degenerate '{p.name}' in {counts[p.name]} of {m.draws} draws ({m.share(p.name):.1%}), "
                         f"above its limit {p.limit:.0%}; change the sampler (or a constraint) so that "
                         f"{p.check} holds for none")
    if first and distinct < m.required:  # no solved draw: the draws' own failures say why
        space = f"a space of {t.variants.space}" if t.variants.space else "no declared space"
        fails.append(f"{distinct} distinct variants in {m.distinct_draws} draws, fewer than the {m.required} "
                     f"required (min_distinct {t.variants.min_distinct:g}, {space}); widen the sampled values "
                     "or declare variants: {space: N, why: ...}")
    return m


def summary(t: Template, m: Measure) -> str:
    """One line per template for `examgen check`."""
    preds = "; ".join(f"{p.name} {m.share(p.name):.1%} (limit {p.limit:.0%})" for p in t.degenerate)
    return (f"variety {t.id}: {m.distinct} distinct in {m.distinct_draws} draws (at least {m.required})"
            + (f"; {preds}" if preds else ""))


# ------------------------------------------------------------------ the README table
def _worst(t: Template, m: Measure) -> str:
    if not t.degenerate:
        return "none declared"
    worst = max(t.degenerate, key=lambda p: (m.share(p.name), p.name))
    names = worst.name if m.share(worst.name) else ", ".join(p.name for p in t.degenerate)
    return f"{m.share(worst.name):.1%} ({names})"


def _distinct(t: Template, m: Measure) -> str:
    space = f"; space {t.variants.space}" if t.variants.space else ""
    return f"{m.distinct} / {m.distinct_draws}{space}"


Column = tuple[str, Callable[[Template, Measure], str]]

#: the table's columns, left to right: a header and a function of the template and its measure
COLUMNS: list[Column] = [
    ("template", lambda t, m: f"`{t.id}`"),
    ("calculator", lambda t, m: t.calculator),  # none | tables (printed in the statement) | required
    ("degenerate share", _worst),
    ("distinct variants", _distinct),
]


def table(rows: Sequence[tuple[Template, Measure]]) -> str:
    """A Markdown table, one row per template (in the order given), a column per COLUMNS entry."""
    lines = ["| " + " | ".join(h for h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fn(t, m).replace("|", "\\|") for _, fn in COLUMNS) + " |" for t, m in rows]
    return "\n".join(lines)
