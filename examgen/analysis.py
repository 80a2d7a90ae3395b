"""Item analysis of a graded exam (the statistics of report.pdf and statistics.csv).

Per part (grouped by its column and template, over the variants that print it) and per MC
item (grouped by its pool id, wherever it was printed):
  difficulty      mean points / the item's credits (1 = everyone had it right)
  discrimination  corrected item-total correlation: Pearson's r of the item's points and
                  the student's total without that item
  point-biserial  (MC items) Pearson's r of right/wrong (0/1) and the student's total
                  (the classic uncorrected point-biserial; scipy.stats.pointbiserialr)
  options         (MC items) how many students crossed each option (options are told apart
                  by their text: a pool item's boxes can be in another order in another variant)
Cronbach's alpha over the printed columns every student has (k items, variances with n - 1):
  alpha = k / (k - 1) * (1 - sum(var(item)) / var(total)).
Variants: mean and standard deviation of the percentage of the variant's credits each, and a
one-way ANOVA over the variants (F = between mean square / within mean square, p from the F
distribution through the regularized incomplete beta function); a warning when p < 0.05.
A correlation whose item or total does not vary is undefined (None, printed as '')."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .grading import BuildKey, Response, Result

VARIANTS_ALPHA = 0.05  # significance level of the variant comparison


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    crossed: int


@dataclass(frozen=True)
class ItemStats:
    key: str  # the column (P2a) of a part; the problem (P1) of an MC item
    ref: str  # the template id of a part, the pool id of an MC item
    kind: str  # "part" | "mc-item"
    credits: float
    n: int
    mean: float
    sd: float | None
    discrimination: float | None
    point_biserial: float | None = None
    options: tuple[Option, ...] = ()
    none_crossed: int = 0

    @property
    def difficulty(self) -> float | None:
        return self.mean / self.credits if self.credits > 0 else None


@dataclass(frozen=True)
class VariantStats:
    code: str
    n: int
    mean: float  # percent of the variant's credits
    sd: float | None


@dataclass(frozen=True)
class Anova:
    f: float
    df_between: int
    df_within: int
    p: float


@dataclass(frozen=True)
class Analysis:
    items: list[ItemStats]
    alpha: float | None
    alpha_items: int
    variants: list[VariantStats]
    anova: Anova | None

    @property
    def warning(self) -> str | None:
        a = self.anova
        if a is None or a.p >= VARIANTS_ALPHA:
            return None
        return (f"the variants differ significantly (one-way ANOVA F({a.df_between}, {a.df_within}) = {a.f:.2f}, "
                f"p = {a.p:.3g} < {VARIANTS_ALPHA:g}); compare their means before fixing the grade boundaries")


# ------------------------------------------------------------------ statistics on numbers
def sd(x: np.ndarray) -> float | None:
    """Sample standard deviation (n - 1), None for fewer than two values."""
    return float(np.std(x, ddof=1)) if len(x) >= 2 else None


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, None when either side does not vary (or fewer than two pairs)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return float(dx @ dy) / math.sqrt(sxx * syy)


def cronbach_alpha(scores: np.ndarray) -> float | None:
    """Cronbach's alpha of a students x items matrix; None for fewer than 2 items or 2 students,
    or totals that do not vary."""
    scores = np.asarray(scores, float)
    n, k = scores.shape if scores.ndim == 2 else (0, 0)
    if n < 2 or k < 2:
        return None
    total_var = float(np.var(scores.sum(axis=1), ddof=1))
    if total_var <= 1e-12:
        return None
    return k / (k - 1) * (1 - float(np.var(scores, axis=0, ddof=1).sum()) / total_var)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
            last = d * c
        if abs(last - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def f_sf(f: float, d1: int, d2: int) -> float:
    """P(F > f) for the F distribution with (d1, d2) degrees of freedom."""
    if f <= 0:
        return 1.0
    return betainc(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))


def anova_oneway(groups: list[np.ndarray]) -> Anova | None:
    """One-way ANOVA; None unless there are two groups, more values than groups and some spread within."""
    groups = [np.asarray(g, float) for g in groups if len(g)]
    n = sum(len(g) for g in groups)
    k = len(groups)
    if k < 2 or n <= k:
        return None
    grand = np.concatenate(groups).mean()
    between = sum(len(g) * (g.mean() - grand) ** 2 for g in groups)
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    if within <= 1e-12:
        return None
    f = (between / (k - 1)) / (within / (n - k))
    return Anova(float(f), k - 1, n - k, f_sf(float(f), k - 1, n - k))


# ------------------------------------------------------------------ the exam's items
@dataclass
class _McTally:
    key: str
    credits: float
    pairs: list[tuple[float, float]] = field(default_factory=list)
    options: dict[str, list[int]] = field(default_factory=dict)  # text -> [crossed, correct]
    none: int = 0


def analyse(key: BuildKey, responses: list[Response], results: list[Result]) -> Analysis:
    """The item analysis of graded results (results[i] scores responses[i]; key is the key they
    were scored with, so a cancelled item is not in it)."""
    parts: dict[tuple[str, str], list[tuple[float, float]]] = {}
    mcs: dict[str, _McTally] = {}
    for resp, res in zip(responses, results):
        v = key.variants[res.variant]
        for col, cell in v.cells.items():
            pts = res.cells[col]
            if cell.kind == "part":
                parts.setdefault((col, cell.ref), []).append((pts, res.total))
                continue
            m = mcs.setdefault(cell.ref, _McTally(f"P{cell.problem}", cell.credits))
            m.pairs.append((pts, res.total))
            crossed = resp.values[col]
            for j, text in enumerate(cell.options or tuple(str(b) for b in range(1, cell.n_options + 1)), 1):
                slot = m.options.setdefault(text, [0, j in cell.correct])
                slot[0] += j in crossed
            m.none += not crossed
    items: list[ItemStats] = []
    for (col, ref), pairs in parts.items():
        x, t = np.array(pairs, float).T
        credits = next(c.credits for v in key.variants.values() for c in v.cells.values()
                       if c.column == col and c.ref == ref)
        items.append(ItemStats(col, ref, "part", credits, len(x), float(x.mean()), sd(x), pearson(x, t - x)))
    for ref, m in mcs.items():
        x, t = np.array(m.pairs, float).T
        right = (x >= m.credits - 1e-9).astype(float)
        opts = tuple(Option(text, bool(c), int(n)) for text, (n, c) in m.options.items())
        items.append(ItemStats(m.key, ref, "mc-item", m.credits, len(x), float(x.mean()), sd(x),
                               pearson(x, t - x), pearson(right, t), opts, m.none))
    items.sort(key=lambda s: (int(s.key[1:].rstrip("abcdefghijklmnopqrstuvwxyz")), s.key, s.kind, s.ref))

    common = [c for c in key.columns if all(c in key.variants[r.variant].cells for r in results)]
    matrix = np.array([[r.cells[c] for c in common] for r in results], float).reshape(len(results), len(common))
    by_variant: dict[str, list[float]] = {}
    for r in results:
        by_variant.setdefault(r.variant, []).append(100 * r.total / r.credits if r.credits else 0.0)
    variants = [VariantStats(code, len(by_variant[code]), float(np.mean(by_variant[code])),
                             sd(np.array(by_variant[code]))) for code in key.variants if code in by_variant]
    return Analysis(items, cronbach_alpha(matrix), len(common), variants,
                    anova_oneway([np.array(g) for g in by_variant.values()]))
