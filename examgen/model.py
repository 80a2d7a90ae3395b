"""Frozen values passed from one pipeline stage to the next."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RubricItem:
    """One gradable step of a part: points and a jinja2 LaTeX text."""

    points: float
    text: str


@dataclass(frozen=True)
class Part:
    """A subproblem: label, credits, answer area and rubric."""

    name: str
    credits: float
    answer_height_mm: float
    grid: bool
    rubric: tuple[RubricItem, ...]


@dataclass(frozen=True)
class ParamDecl:
    """A declared parameter: its public name, type and (optional) sampler spec."""

    name: str
    type: str
    sample: dict[str, Any] | None
    default: Any = None
    doc: str = ""


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
    logo: Path | None
    language: str


@dataclass(frozen=True)
class TemplateProblem:
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    credits: float | None = None


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


@dataclass(frozen=True)
class ExamSpec:
    path: Path
    sha256: str
    info: ExamInfo
    problems: tuple[ProblemSpec, ...]
    seed: int | None


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
