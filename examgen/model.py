"""Frozen values passed from one pipeline stage to the next."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RubricItem:
    """One gradable step of a part: points and a jinja2 LaTeX text."""

    points: float
    text: str


#: answer kinds whose value is a number, a list of numbers or a matrix of numbers
NUMERIC_KINDS = ("number", "vector", "matrix")


@dataclass(frozen=True)
class GradedAnswer:
    """One graded answer of a part, declared in question.yaml (`parts[i].answers`).

    `name` is the solver's key holding the exact value (None only for kind `text`: an
    explanation graded by hand against the solution sheet; for kind `checker`, one accepted
    answer, and `accepts` names the function that decides whether another one is right). `round` is the number of
    decimals the statement asks for (None: the exact value is asked, e.g. an integer).
    `tolerance` is the absolute error accepted per number: what a student who follows
    the statement gets (their rounding, and values carried from printed tables); by
    default one unit of the last asked decimal, 0 for an exact answer."""

    name: str | None
    label: str
    kind: str
    points: float
    round: int | None = None
    tolerance: float = 0.0
    choices: tuple[Any, ...] = ()
    accepts: str | None = None  # kind checker: 'module.function(params, proposed) -> (ok, why)'

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def scaled(self, f: float) -> GradedAnswer:
        return GradedAnswer(self.name, self.label, self.kind, self.points * f, self.round, self.tolerance,
                            self.choices, self.accepts)


def default_tolerance(decimals: int | None) -> float:
    """One unit of the last asked decimal (half for the student's rounding, half for what
    values carried from printed tables may add); 0 when the exact value is asked."""
    return 0.0 if decimals is None else 10.0 ** -decimals


@dataclass(frozen=True)
class Part:
    """A subproblem: label, credits, answer area, rubric and its graded answers
    (empty: a free-text part, graded by hand from the rubric)."""

    name: str
    credits: float
    answer_height_mm: float
    grid: bool
    rubric: tuple[RubricItem, ...]
    answers: tuple[GradedAnswer, ...] = ()


@dataclass(frozen=True)
class ParamDecl:
    """A declared parameter: its public name, type and (optional) sampler spec."""

    name: str
    type: str
    sample: dict[str, Any] | None
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Degeneracy:
    """A declared degeneracy predicate (question.yaml `degenerate:`): `check` names a
    function (params, answers) -> bool, True when a solved draw is degenerate; `limit` is
    the share of draws `examgen check` allows (0 for the cases the audit lists, at most 0.02)."""

    name: str
    check: str
    limit: float = 0.0


@dataclass(frozen=True)
class Variety:
    """How many different problems a template must give (question.yaml `variants:`):
    `min_distinct` of the draws `examgen check` measures must differ (up to `canonical`);
    `space` (with `why`) declares a genuinely smaller space of N problems."""

    min_distinct: float = 0.9
    space: int | None = None
    why: str = ""


@dataclass(frozen=True)
class Template:
    """A question template loaded from question_bank/<topic>/<id>/."""

    id: str
    title: str
    topic: str
    source: str
    directory: Path
    params: tuple[ParamDecl, ...]
    parts: tuple[Part, ...]
    solver: str | None
    sampler: str | None
    checker: str | None
    constraints: tuple[str, ...]
    kind: str  # "numeric" | "free-text"
    statement: str  # jinja2 source of statement.tex.j2
    solution: str  # jinja2 source of solution.tex.j2
    calculator: str = "none"  # none | tables | required (question.yaml's `calculator:`)
    # `constraints:` are validity (the problem is well-defined: they hold for pinned values too);
    # `nice:` are niceness (hand-friendly numbers: they hold for draws, never for the instructor's pins)
    nice: tuple[str, ...] = ()
    # give-aways: the quantities the template asks (topic tags), and the template ids, MC item ids
    # or tags of questions that must never share a variant with it (see examgen/conflicts.py)
    asks: tuple[str, ...] = ()
    conflicts_with: tuple[str, ...] = ()
    conflicts_at: tuple[str, ...] = field(default=(), compare=False, repr=False)  # file:line of each entry

    degenerate: tuple[Degeneracy, ...] = ()
    variants: Variety = Variety()
    canonical: str | None = None  # 'module.function' (params, answers) -> the same value for the same problem

    @property
    def draw_constraints(self) -> tuple[str, ...]:
        """Every constraint a random draw meets: validity and niceness."""
        return self.constraints + self.nice

    @property
    def credits(self) -> float:
        return sum(p.credits for p in self.parts)


@dataclass(frozen=True)
class McOption:
    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class McItem:
    """A multiple-choice item of the pool (question_bank/mc/<topic>.yaml)."""

    id: str
    topic: str
    source: str
    stem: str
    options: tuple[McOption, ...]
    note: str = ""
    tags: tuple[str, ...] = ()  # what the item is about: a template asking one of them is given away
    conflicts_with: tuple[str, ...] = ()
    conflicts_at: tuple[str, ...] = field(default=(), compare=False, repr=False)  # file:line of each entry


@dataclass(frozen=True)
class ExamInfo:
    """The cover data of an exam spec."""

    course: str
    code: str
    name: str
    date: str
    time: str
    examiner: str
    resources: str
    instructions: tuple[str, ...]
    institution: tuple[str, ...]
    language: str
    calculator: bool = False  # exam.calculator: may students use one? (False: `required` templates are refused)
    registration_grid: bool = False  # exam.registration_grid: a registration-number grid on the cover (scan reads it)
    logo_type: str = ""  # png | jpg | pdf, decided by the content (none: "")
    logo_data: bytes = field(default=b"", repr=False)  # read once, at load

    @property
    def logo_file(self) -> str | None:
        """The fixed name the logo has beside the document: no user's file name reaches LaTeX."""
        return f"logo.{self.logo_type}" if self.logo_type else None


@dataclass(frozen=True)
class TemplateProblem:
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    credits: float | None = None
    where: str = ""  # 'spec.yaml:line:col: problems[i]', prefixed to errors met while sampling it


@dataclass(frozen=True)
class McProblem:
    count: int
    title: str = "Multiple Choice"
    topics: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    options: int = 4


@dataclass(frozen=True)
class ChooseProblem:
    k: int
    options: tuple[TemplateProblem, ...]


ProblemSpec = TemplateProblem | McProblem | ChooseProblem


#: The German grades from best to worst passing; below the last threshold the grade is 5.0.
GERMAN_GRADES = (1.0, 1.3, 1.7, 2.0, 2.3, 2.7, 3.0, 3.3, 3.7, 4.0)
FAIL_GRADE = 5.0


def linear_thresholds(pass_percent: float = 50.0, top_percent: float = 95.0) -> tuple[float, ...]:
    """Minimum percentages of GERMAN_GRADES in equal steps: 4.0 at pass_percent, 1.0 at
    top_percent (defaults: 95, 90, 85, ..., 55, 50)."""
    n = len(GERMAN_GRADES) - 1
    return tuple(round(pass_percent + (top_percent - pass_percent) * (n - i) / n, 6) for i in range(n + 1))


@dataclass(frozen=True)
class GradingScale:
    """Grade boundaries of an exam (the spec's optional `grading:` key).

    `thresholds[i]` is the minimum share (in percent) of the variant's total credits
    for GERMAN_GRADES[i]; below the last one the grade is 5.0. A boundary in points is
    rounded *up* to the next half credit (points are given in halves), so a grade is
    never reached with less than its percentage. Default: 50 % to pass (4.0), 95 % for
    1.0, linear 5 %-steps between (4.0 50, 3.7 55, 3.3 60, ..., 1.3 90, 1.0 95)."""

    thresholds: tuple[float, ...] = linear_thresholds()

    def boundaries(self, total: float) -> list[tuple[float, float]]:
        """(grade, minimum points) for a variant with `total` credits, best grade first."""
        return [(g, math.ceil(round(total * t / 100 * 2, 9)) / 2) for g, t in zip(GERMAN_GRADES, self.thresholds)]

    def grade(self, points: float, total: float) -> float:
        for g, minimum in self.boundaries(total):
            if points >= minimum - 1e-9:
                return g
        return FAIL_GRADE


@dataclass(frozen=True)
class ExamSpec:
    path: Path
    sha256: str
    info: ExamInfo
    problems: tuple[ProblemSpec, ...]
    seed: int | None
    grading: GradingScale = GradingScale()
    layout: str = "tum"  # a layout's name: examgen/layouts/<layout>/
    logo: str = ""  # exam.logo as the spec names it (the build's manifest records it among the inputs)


@dataclass(frozen=True)
class SeedInfo:
    """Where a question's random numbers come from: SeedSequence(entropy, spawn_key)."""

    entropy: int
    spawn_key: tuple[int, ...]


@dataclass(frozen=True)
class SolvedQuestion:
    """A template question with its sampled parameters, answers and rubric."""

    template: Template
    title: str
    seed: SeedInfo
    params: dict[str, Any]
    answers: dict[str, Any]
    parts: tuple[Part, ...]  # credits possibly scaled by a spec override
    rubric: tuple[dict[str, Any], ...]  # rendered: {part, points, text}

    @property
    def credits(self) -> float:
        return sum(p.credits for p in self.parts)

    def graded(self) -> list[tuple[Part, GradedAnswer, Any]]:
        """Every graded answer with its exact value (None for a text answer without a key)."""
        return [(p, a, self.answers.get(a.name) if a.name else None) for p in self.parts for a in p.answers]


@dataclass(frozen=True)
class DrawnMcItem:
    item: McItem
    options: tuple[McOption, ...]  # drawn and shuffled

    @property
    def correct_boxes(self) -> tuple[int, ...]:
        """1-based positions of the options that must be crossed."""
        return tuple(i + 1 for i, o in enumerate(self.options) if o.correct)


@dataclass(frozen=True)
class SolvedMc:
    title: str
    seed: SeedInfo
    items: tuple[DrawnMcItem, ...]
    credits_per_item: float = 2.0

    @property
    def credits(self) -> float:
        return self.credits_per_item * len(self.items)


Question = SolvedQuestion | SolvedMc


@dataclass(frozen=True)
class Variant:
    number: int
    code: str
    questions: tuple[Question, ...]

    @property
    def credits(self) -> float:
        return sum(q.credits for q in self.questions)


def item_label(i: int) -> str:
    """a, b, ..., z, aa, ab, ... (bijective base 26): the label of the i-th item (from 0)."""
    label = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        label = chr(ord("a") + r) + label
    return label


@dataclass(frozen=True)
class Exam:
    """The exam record every writer reads: the spec, the exam seed and every variant's
    solved questions; after compiling, each variant's page count, the compiled PDFs the pdf
    writer copies, and everything its student PDF logged (layouts.Region: answer areas, MC
    boxes, scan marks, score cells; answers.json and layout.json each take their share)."""

    spec: ExamSpec
    seed: int
    variants: tuple[Variant, ...]
    pages: dict[str, int] = field(default_factory=dict)
    pdfs: dict[tuple[str, str], Path] = field(default_factory=dict)  # (code, version) -> the compiled PDF
    boxes: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # code -> all layouts.Region its student PDF logged
