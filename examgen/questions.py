"""Pick the questions of a variant, sample their parameters and solve them
(answer key and rubric). No LaTeX document here: only values."""

from __future__ import annotations

import math
from typing import Any

from . import conflicts, rendering, solvers, tables, values
from .bank import Bank
from .errors import ParamError, SamplingError, SpecError, TemplateError
from .model import (
    ChooseProblem,
    DrawnMcItem,
    ExamSpec,
    GradedAnswer,
    McItem,
    McProblem,
    Part,
    RubricItem,
    SeedInfo,
    SolvedMc,
    SolvedQuestion,
    Template,
    TemplateProblem,
    Variant,
)
from .sampling import derive_seed, rng_for, sample_params, solve, stable_id


def variant_code(number: int) -> str:
    return f"E{number:04d}"


MAX_REDRAWS = 100  # draws of a variant's choose: blocks until no two picked templates conflict


def pick(spec: ExamSpec, exam_seed: int, variant: int, bank: Bank | None = None) -> list[TemplateProblem | McProblem]:
    """Resolve `choose:` blocks: k templates per variant, in the order listed. With the bank,
    no two picked templates conflict (conflicts_with:): the blocks are drawn again, from
    seeds of their own, until none does (a variant without a conflict keeps its first draw)."""
    last = ""
    for attempt in range(MAX_REDRAWS):
        out = _pick_once(spec, exam_seed, variant, attempt)
        if bank is None:
            return out
        picked = [(p, bank.template(p.template)) for p in out if isinstance(p, TemplateProblem)]
        clash = next(((a, b, r) for i, (a, ta) in enumerate(picked) for b, tb in picked[i + 1:]
                      if (r := conflicts.why(ta, tb))), None)
        if clash is None:
            return out
        a, b, reason = clash
        last = f"{a.where or a.template} and {b.where or b.template}: {reason}"
        if not any(isinstance(p, ChooseProblem) for p in spec.problems):
            break  # nothing to draw again
    raise SpecError(f"{spec.path}: variant {variant_code(variant)}: two problems give each other away in every "
                    f"draw ({last}); remove one, or offer them in one choose: block")


def _pick_once(spec: ExamSpec, exam_seed: int, variant: int, attempt: int) -> list[TemplateProblem | McProblem]:
    out: list[TemplateProblem | McProblem] = []
    seen: dict[str, int] = {}
    for p in spec.problems:
        if isinstance(p, ChooseProblem):
            # keyed by the block's content, not its position: adding a problem changes no choice
            key = "choose:" + "|".join(o.template for o in p.options) + f":{p.k}"
            seen[key] = seen.get(key, -1) + 1
            rng = rng_for(derive_seed(exam_seed, variant, key + (f":redraw{attempt}" if attempt else ""), seen[key]))
            idx = sorted(rng.choice(len(p.options), size=p.k, replace=False).tolist())
            out.extend(p.options[j] for j in idx)
        else:
            out.append(p)
    return out


def in_halves(points: list[float], total: float) -> list[float]:
    """`points` rounded to multiples of 0.5 that add up to `total` (a multiple of 0.5):
    largest remainder, ties to the earlier item. The score boxes and `grade` take halves only."""
    units = [p * 2 for p in points]
    out = [math.floor(u + 1e-9) for u in units]
    left = round(total * 2) - sum(out)
    for i in sorted(range(len(units)), key=lambda i: (out[i] - units[i], i))[:max(left, 0)]:
        out[i] += 1
    return [u / 2 for u in out]


def _scaled_part(p: Part, c: float, f: float) -> tuple[Part, str | None]:
    """Part p scaled by f to c credits (a multiple of 0.5), its rubric items rounded to halves
    (graded answers' points are weights within the part and scale exactly); what goes wrong
    (a rubric item left with 0 points), else None."""
    rubric = in_halves([r.points * f for r in p.rubric], c)
    lost = next((i for i, (r, n) in enumerate(zip(p.rubric, rubric)) if r.points > 0 and n == 0), None)
    if lost is not None:
        return p, (f"rubric item {lost + 1} of part {p.name}) 0 points ({p.rubric[lost].points * f:g} rounded "
                   "to halves, as the score boxes and grade count)")
    return Part(p.name, c, p.answer_height_mm, p.grid,
                tuple(RubricItem(pts, r.text) for pts, r in zip(rubric, p.rubric)),
                tuple(a.scaled(f) for a in p.answers)), None


def _scaling_fault(template: Template, credits: float) -> tuple[tuple[Part, ...], str | None]:
    """The template's parts scaled to `credits`, or what makes that total impossible."""
    f = credits / template.credits
    scaled = []
    for p in template.parts:
        c = p.credits * f
        if abs(c * 2 - round(c * 2)) > 1e-9:
            return (), f"part {p.name}) {c:g} credits, not a multiple of 0.5"
        part, fault = _scaled_part(p, round(c * 2) / 2, f)
        if fault:
            return (), fault
        scaled.append(part)
    return tuple(scaled), None


def scaled_parts(template: Template, credits: float | None) -> tuple[Part, ...]:
    """Parts with credits scaled to a spec's override: part credits, rubric points and graded
    answers' points in halves (the score boxes and `grade` take nothing finer)."""
    if credits is None or abs(credits - template.credits) < 1e-9:
        parts: tuple[Part, ...] = template.parts
    else:
        parts, fault = _scaling_fault(template, credits)
        if fault:
            raise SpecError(f"credits {credits:g} for template '{template.id}' would give {fault}; "
                            f"totals that scale evenly: {', '.join(f'{t:g}' for t in _even_totals(template))}")
    for p in parts:
        if p.credits > max_part_credits(p.answer_height_mm):
            fits = [t for t in _even_totals(template, 10**6)
                    if all(p.credits * t / template.credits <= max_part_credits(p.answer_height_mm)
                           for p in template.parts)]
            raise SpecError(f"{'' if credits is None else f'credits {credits:g} give '}template '{template.id}' "
                            f"part {p.name}) {p.credits:g} credits: its score box ({2 * p.credits + 1:g} rows of "
                            f"3.5 mm) would be taller than its {p.answer_height_mm:g} mm answer area (at most "
                            f"{max_part_credits(p.answer_height_mm):g} credits fit); "
                            + (f"give at most {fits[-1]:g} credits" if fits else "raise the part's answer_height"))
    return parts


def max_part_credits(answer_height_mm: float) -> float:
    """The most credits a part's score box holds: the box (one 3.5 mm row per half credit,
    plus the 0 row) in the margin must not be taller than the part's answer area and the
    6 mm below it that the page break keeps free; so it never reaches the next part's box
    or the page's foot (the scan code). 15 mm -> 2.5 credits, 230 mm -> 33."""
    return math.floor((answer_height_mm + 6) / 3.5 - 1) / 2


def _even_totals(template: Template, n: int = 6) -> list[float]:
    """The first n credit totals (up to 20 times the template's own) to which every part scales in halves."""
    out: list[float] = []
    t = 0.5
    while len(out) < n and t <= 20 * template.credits:
        if abs(t - template.credits) < 1e-9 or _scaling_fault(template, t)[1] is None:
            out.append(t)
        t += 0.5
    return out


def context(params: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """What a template's jinja2 text sees: parameters and answers by name, and both dicts."""
    clash = ({"params", "answers"} & (set(params) | set(answers))) | (set(params) & set(answers))
    if clash:
        raise TemplateError(f"name(s) {sorted(clash)} are used twice among parameters, answers and the "
                            "reserved 'params'/'answers'; rename the answer in the solver")
    return {**params, **answers, "params": params, "answers": answers}


def _kind_error(a: GradedAnswer, value: Any) -> str | None:
    """What is wrong with a graded answer's value for its declared kind (None: nothing)."""
    if a.kind == "number" and not values.is_number(value):
        return "is not a finite number"
    if a.kind == "vector" and not values.is_vector(value):
        return "is not a list of finite numbers"
    if a.kind == "matrix" and not values.is_matrix(value):
        return "is not a rectangular list of lists of finite numbers"
    if a.kind == "choice" and (not isinstance(value, (str, int, bool)) or a.choices and value not in a.choices):
        return f"is not one of the declared choices {list(a.choices)}" if a.choices else "is not a str, int or bool"
    if a.kind == "expression" and not isinstance(value, str):
        return "is not an expression string"
    return None


def check_graded(template: Template, parts: tuple[Part, ...], answers: dict[str, Any], params: dict[str, Any],
                 pinned: dict[str, Any] | None = None) -> None:
    """Every declared graded answer is returned by the solver, with a value of its kind; an
    exact one is a short decimal, and a checker's function accepts the solver's own answer.
    With pinned parameters, an exact answer that is no short decimal is the pinned values'
    doing (draws avoid them): that is said, naming the parameters."""
    for p in parts:
        for a in p.answers:
            if a.name is None or (a.kind == "text" and a.name not in answers):
                continue
            where = (f"{template.directory / 'question.yaml'}: part {p.name}) graded answer '{a.name}'")
            if a.name not in answers:
                raise TemplateError(f"{where}: the solver {template.solver} does not return it; return it or "
                                    "remove the declaration")
            value = answers[a.name]
            bad = _kind_error(a, value)
            if bad:
                raise TemplateError(f"{where} (kind {a.kind}): {value!r} {bad}")
            if a.numeric and a.round is None and not all(values.is_short_decimal(x) for x in values.leaves(value)):
                if pinned:
                    raise ParamError(", ".join(sorted(pinned)), f"these pinned values make part {p.name}) answer "
                                     f"'{a.name}' = {value!r}, which the statement asks exactly; pin values "
                                     "with a short exact result", template.id)
                raise TemplateError(f"{where} (kind {a.kind}): {value!r} is not a short exact decimal, but the "
                                    "answer is declared exact (no 'round:'); declare the decimals the statement "
                                    "asks for")
            if a.accepts:
                ok, why = solvers.resolve(a.accepts, template.directory)(params, value)
                if not ok:
                    raise TemplateError(f"{where}: {a.accepts} refuses the solver's own answer {value!r}: {why}")


def solve_question(template: Template, seed: SeedInfo, pinned: dict[str, Any] | None = None,
                   title: str | None = None, credits: float | None = None) -> SolvedQuestion:
    rng = rng_for(seed)
    resolve = solvers.resolver(template.directory)  # a template's own solver.py, else examgen.solvers
    params = sample_params(template, rng, pinned or {}, resolve)
    answers = solve(template, params, resolve)
    parts = scaled_parts(template, credits)
    check_graded(template, parts, answers, params, pinned)
    ctx = context(params, answers)
    origin = str(template.directory / "question.yaml")
    line = rendering.string_renderer(ctx)
    rubric = tuple(
        {"part": p.name, "points": r.points,
         "text": line(r.text, f"{origin} (rubric of {p.name})")}  # stays texfmt.Latex
        for p in parts for r in p.rubric
    )
    return SolvedQuestion(template=template, title=title or template.title, seed=seed, params=params,
                          answers=answers, parts=parts, rubric=rubric)


def draw_mc(problem: McProblem, bank: Bank, seed: SeedInfo, others: tuple[Template, ...] = (),
            apart: bool = True) -> SolvedMc:
    """Draw `count` items, `options` options each, everything shuffled; no item that gives
    away one of the variant's templates (`others`) or another drawn item (`apart=False`:
    every item may come, e.g. to typeset the whole pool)."""
    rng = rng_for(seed)
    if problem.items:
        pool = [bank.mc[i] for i in problem.items]
    else:
        pool = [it for _, it in sorted(bank.mc.items()) if not problem.topics or it.topic in problem.topics]
    chosen = rng.choice(len(pool), size=problem.count, replace=False).tolist()
    if apart:
        chosen = _without_giveaways(problem, pool, chosen, others, seed)
    items = []
    for j in chosen:
        item = pool[j]
        k = min(problem.options, len(item.options))
        idx = rng.choice(len(item.options), size=k, replace=False).tolist()
        items.append(DrawnMcItem(item, tuple(item.options[i] for i in idx)))
    return SolvedMc(title=problem.title, seed=seed, items=tuple(items))


def _without_giveaways(problem: McProblem, pool: list[McItem], chosen: list[int], others: tuple[Template, ...],
                       seed: SeedInfo) -> list[int]:
    """The drawn item positions, each one that conflicts with a template of the variant or an
    item kept before it replaced by a draw from the rest of the pool (from a seed of its own:
    a variant without a give-away keeps its items)."""
    def clashes(j: int, kept: list[int]) -> str | None:
        placed: list[Template | McItem] = [*others, *(pool[k] for k in kept)]
        return next((r for q in placed if (r := conflicts.why(pool[j], q))), None)

    kept: list[int] = []
    redraw = None
    for j in chosen:
        if clashes(j, kept) is None:
            kept.append(j)
            continue
        free = [k for k in range(len(pool)) if k not in chosen and k not in kept and clashes(k, kept) is None]
        if not free:
            raise SpecError(f"mc: {clashes(j, kept)}; the pool has no other item to draw instead ({len(pool)} "
                            f"items for count {problem.count}); widen the topics or lower the count")
        redraw = redraw or rng_for(SeedInfo(seed.entropy, (*seed.spawn_key, stable_id("giveaway"))))
        kept.append(free[int(redraw.integers(len(free)))])
    return kept


def build_variant(spec: ExamSpec, bank: Bank, exam_seed: int, number: int) -> Variant:
    questions: list[SolvedQuestion | SolvedMc] = []
    seen: dict[str, int] = {}
    picked = pick(spec, exam_seed, number, bank)
    templates = tuple(bank.template(p.template) for p in picked if isinstance(p, TemplateProblem))
    for p in picked:
        key = p.template if isinstance(p, TemplateProblem) else "mc"
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        seed = derive_seed(exam_seed, number, key, occurrence)
        if isinstance(p, McProblem):
            try:
                questions.append(draw_mc(p, bank, seed, templates))
            except SpecError as exc:  # no item left that gives nothing away: say which exam and variant
                raise SpecError(f"{spec.path}: variant {variant_code(number)}: {exc}") from None
        else:
            try:
                questions.append(solve_question(bank.template(p.template), seed, p.params, p.title, p.credits))
            except (ParamError, SamplingError) as exc:
                if p.where and p.params:  # the spec's pinned values are at fault: say where they are
                    exc.args = (f"{p.where}: variant {variant_code(number)}: {exc}",)
                raise
    return Variant(number=number, code=variant_code(number), questions=tuple(questions))


# the last questions' texts, by id: a build renders each question's student version, then its solution
# version, whose statements are the same text (the question is kept: its id is not reused meanwhile)
_TEXTS: dict[int, tuple[SolvedQuestion, rendering.QuestionTexts, bool]] = {}


def texts(q: SolvedQuestion, solutions: bool = False) -> rendering.QuestionTexts:
    """The render stage of one template question: intro, statements (and solutions). Rendered anew, and
    not kept, inside tables.recording() (which collects what the render prints: handcalc)."""
    if tables.is_recording():
        return rendering.question_texts(q.template, context(q.params, q.answers), [p.name for p in q.parts],
                                        solutions)
    found = _TEXTS.get(id(q))
    before = found[1] if found is not None and found[0] is q else None
    if before is not None and found is not None and (found[2] or not solutions):
        return before
    out = rendering.question_texts(q.template, context(q.params, q.answers), [p.name for p in q.parts], solutions,
                                   before)
    if len(_TEXTS) >= 256:
        _TEXTS.clear()
    _TEXTS[id(q)] = (q, out, solutions)
    return out
