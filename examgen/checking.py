"""`examgen check`: stress-test a question bank before an exam is built from it
(R/exams' stresstest_exercise, PrairieLearn's 'test every question').

Every template is sampled, solved and rendered over many seeded draws; a few
draws of every template are typeset for real. All templates of one draw go into
one document per version (two pdflatex runs, not two per template); only when
that fails is every question compiled alone, to name the one that broke it."""

from __future__ import annotations

import multiprocessing
import re
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import conflicts, handcalc, layouts, rendering, solvers, tables, values, variety
from .bank import Bank
from .compiler import Compiler
from .errors import ExamgenError
from .model import ExamInfo, McProblem, SolvedMc, SolvedQuestion, Template, Variant
from .pipeline import document
from .questions import draw_mc, solve_question, texts
from .rendering import QuestionTexts
from .sampling import derive_seed
from .targets import work_folder
from .texfmt import untypesettable

CHECK_SEED = 20260
LAYOUT = layouts.get(layouts.DEFAULT)  # templates are checked in the default layout


@dataclass
class Report:
    templates: int = 0
    draws: int = 0
    compiled: int = 0
    failures: list[str] = field(default_factory=list)
    measures: dict[str, variety.Measure] = field(default_factory=dict)  # per template: degenerate shares, distinct


def _finite(x: Any) -> bool:
    """No NaN or infinity anywhere in an answer (strings, bools and None are not numbers)."""
    if isinstance(x, (list, tuple)):
        return all(_finite(v) for v in x)
    if isinstance(x, (bool, str)) or x is None:
        return True
    return values.is_number(x)


def _uses(t: Template) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Names every text of a template reads, and per part what its solution block and rubric read."""
    return _uses_of(t.statement, t.solution, tuple((p.name, tuple(r.text for r in p.rubric)) for p in t.parts))


@lru_cache(maxsize=256)
def _uses_of(statement: str, solution: str, rubrics: tuple[tuple[str, tuple[str, ...]], ...],
             ) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    st, so = rendering.names_used(statement), rendering.names_used(solution)
    rubric = {name: frozenset().union(*(rendering.names_used(r)[None] for r in texts)) for name, texts in rubrics}
    everywhere = st[None] | so[None] | frozenset().union(*rubric.values())
    return everywhere, {name: so.get(name, frozenset()) | rubric[name] for name, _ in rubrics}


_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def asked_decimals(statement: str) -> set[int]:
    """The decimals a statement text asks for ('to 3 decimals', 'three decimal places')."""
    words = {v: k for k, v in _WORDS.items()}
    return {int(m.group(1)) if m.group(1).isdigit() else words[m.group(1).lower()]
            for m in re.finditer(r"\b(\d|one|two|three|four|five|six)\s+decimal", statement, re.I)}


def _rounding_failures(q: SolvedQuestion, rendered: QuestionTexts | None = None) -> list[str]:
    """A rounded graded answer's part (or the intro) must ask for exactly that rounding
    (`rendered`: the draw's student texts, when the caller has them)."""
    t = q.template
    if not any(a.round is not None for p in t.parts for a in p.answers):
        return []
    try:
        rendered = rendered or texts(q)
    except ExamgenError:
        return []  # a statement that does not render is reported by the rendering check
    fails = []
    for p in t.parts:
        asked = [a for a in p.answers if a.round is not None]
        if not asked:
            continue
        text = str(rendered.intro or "") + str(rendered.statements[p.name])
        found = asked_decimals(text)
        for a in asked:
            if a.round not in found:
                fails.append(f"graded answer '{a.name}' of part {p.name}) is declared rounded to {a.round} decimals "
                             f"but the statement of {p.name}) asks for "
                             + (f"{', '.join(map(str, sorted(found)))} decimals" if found else "no rounding")
                             + "; say the rounding in the statement")
    return fails


# amssymb's blackboard bold (msbm) has capital letters only: \mathbb{1} prints as "⊮"
_MATHBB = re.compile(r"\\mathbb\s*(?:\{\s*([^{}]*?)\s*\}|([^\s{\\]))")


def glyph_failures(text: str) -> list[str]:
    """LaTeX that compiles but prints the wrong glyph: \\mathbb of anything but a capital letter."""
    return [f"\\mathbb{{{arg}}} prints a wrong glyph (\\mathbb has capital letters only); "
            + ("write \\mathbf{1} for the indicator function" if arg == "1" else "use a capital letter or \\mathbf")
            for m in _MATHBB.finditer(text) for arg in [m.group(1) if m.group(1) is not None else m.group(2)]
            if not re.fullmatch(r"[A-Z]", arg)]


def template_failures(t: Template) -> list[str]:
    """What question.yaml's declarations get wrong whatever the draw: a numeric template
    declares at least one graded answer; every declared number is shown in its part's
    solution block or rubric (the solution sheet carries the key); no text prints a wrong glyph."""
    _, per_part = _uses(t)
    fails: list[str] = []
    for name, text in [("statement.tex.j2", t.statement), ("solution.tex.j2", t.solution)] + [
            (f"question.yaml rubric of part {p.name})", r.text) for p in t.parts for r in p.rubric]:
        fails.extend(f"{name}: {f}" for f in glyph_failures(text))
    if t.kind == "numeric" and not any(a.name for p in t.parts for a in p.answers):
        fails.append(f"template '{t.id}' declares no graded answer (parts[].answers in question.yaml)")
    for p in t.parts:
        for a in p.answers:
            if a.name and a.kind != "text" and a.name not in per_part[p.name]:
                fails.append(f"graded answer '{a.name}' of part {p.name}) is shown neither in the solution's "
                             f"block {p.name} nor in its rubric; show the key on the solution sheet")
    return fails


def draw_failures(q: SolvedQuestion, rendered: QuestionTexts | None = None) -> list[str]:
    """The solver's answers of one draw against the declarations: the statement asks the
    declared rounding, and everything the solver returns is graded or read by some text
    (display), else it is unused."""
    t = q.template
    everywhere, _ = _uses(t)
    graded = {a.name for p in t.parts for a in p.answers if a.name}
    fails = _rounding_failures(q, rendered)
    unused = sorted(set(q.answers) - graded - everywhere)
    if unused:
        fails.append(f"the solver {t.solver} returns {', '.join(repr(u) for u in unused)}, which no text reads "
                     "and question.yaml does not declare as graded; declare it under parts[].answers, show it, "
                     "or stop returning it")
    return fails


def check_draw(bank: Bank, template_id: str, n: int, seed: int = CHECK_SEED) -> tuple[SolvedQuestion | None, list[str]]:
    """Sample, solve and render draw n of one template; the failures found."""
    t = bank.templates[template_id]
    where = f"{template_id} draw {n}"
    try:
        q = solve_question(t, derive_seed(seed, n, template_id))
    except ExamgenError as exc:
        return None, [f"{where}: {exc}"]
    fails = []
    for c in t.draw_constraints:
        if not solvers.resolve(c, t.directory)(q.params):
            fails.append(f"{where}: constraint {c} does not hold for {q.params}")
    try:  # the student texts, rendered once for the rounding and the by-hand checks
        with tables.recording() as printed:
            rendered: QuestionTexts | None = texts(q)
    except ExamgenError:
        rendered, printed = None, None  # reported by the rendering check below
    fails.extend(f"{where}: {f}" for f in draw_failures(q, rendered) + handcalc.failures(q, printed))
    if not _finite(list(q.answers.values())):
        fails.append(f"{where}: an answer is not a finite number: {q.answers}")
    if abs(sum(r["points"] for r in q.rubric) - t.credits) > 1e-9:
        fails.append(f"{where}: rubric points do not add up to {t.credits:g} credits")
    for version in (layouts.STUDENT, layouts.SOLUTION):
        try:
            body = "".join(LAYOUT.render_question_body(q, version, "en"))
        except ExamgenError as exc:
            fails.append(f"{where}: rendering the {version} version: {exc}")
            continue
        # what a draw puts into the text (a sampled name, a value's words): pdflatex would stop on it in
        # the exams that draw it, and the few typeset draws below rarely do
        why = untypesettable(body)
        if why:
            fails.append(f"{where}: the {version} version: {why} (from the template's text or a sampled value)")
    return (q if not fails else None), fails


def _info() -> ExamInfo:
    return ExamInfo(course="examgen check", code="CHECK", name="bank check", date="", time="", examiner="",
                    resources="", instructions=(), institution=(), language="en")


def _compile(questions: list[SolvedQuestion | SolvedMc], n: int, workdir: Path, compiler: Compiler) -> list[str]:
    """Typeset draw n of the questions in one document per version; on failure name the culprits:
    the failing half of the questions typeset again, halved while it fails (one broken template among
    65 questions costs at most 15 documents a version, not 66), each culprit's error as it fails alone."""
    out: list[str] = []
    if _typesets(questions, n, workdir, compiler, f"draw {n}", out):
        return []
    if len(questions) == 1:
        return out
    return _halves(questions, n, workdir, compiler) or [f"draw {n}: the questions compile alone but not together"]


def _typesets(questions: list[SolvedQuestion | SolvedMc], n: int, workdir: Path, compiler: Compiler, label: str,
              out: list[str]) -> bool:
    """Whether draw n of the questions typesets in both versions (one document each); if not, its
    error is added to `out`."""
    variant = Variant(number=0, code="CHECK", questions=tuple(questions))
    folder = workdir / label.replace(" ", "-")

    def one(version: str) -> None:
        batch = document(LAYOUT, _info(), [variant], version, label=label)
        compiler.compile_one(batch, folder / version)

    try:
        with ThreadPoolExecutor(max_workers=min(2, compiler.workers)) as pool:
            list(pool.map(one, (layouts.STUDENT, layouts.SOLUTION)))
        return True
    except ExamgenError as exc:
        out.append(str(exc))
        return False


def _name(q: SolvedQuestion | SolvedMc) -> str:
    return q.template.id if isinstance(q, SolvedQuestion) else "multiple choice"


def _halves(questions: list[SolvedQuestion | SolvedMc], n: int, workdir: Path, compiler: Compiler) -> list[str]:
    """The failures of each half of the questions (which fail together), in order: a question alone
    is typeset alone (its error, labelled with its template); a half that typesets has none; one that
    fails is halved again, and if its halves both typeset, its questions only fail together."""
    fails: list[str] = []
    middle = len(questions) // 2
    for part in (questions[:middle], questions[middle:]):
        if len(part) == 1:
            _typesets(part, n, workdir, compiler, f"{_name(part[0])} draw {n}", fails)
        elif not _typesets(part, n, workdir, compiler, f"draw {n} {_name(part[0])} to {_name(part[-1])}", []):
            fails.extend(_halves(part, n, workdir, compiler) or [
                f"draw {n}: {', '.join(map(_name, part))} compile alone but not together"])
    return fails


# one template's failures, variety and kept draws (_template_report)
TemplateReport = tuple[list[str], variety.Measure, list[tuple[int, SolvedQuestion]]]


def _template_report(bank: Bank, tid: str, draws: int, keep: int = 0) -> TemplateReport:
    """One template over `draws` draws: its failures (in draw order), its variety, and its solved
    draws numbered up to `keep` (to be typeset)."""
    t = bank.templates[tid]
    failures = [f"{tid}: {f}" for f in template_failures(t)]  # once, not per draw
    solved: list[SolvedQuestion] = []
    kept: list[tuple[int, SolvedQuestion]] = []
    for n in range(1, draws + 1):
        q, fails = check_draw(bank, tid, n)
        failures.extend(fails)
        if q is not None:
            solved.append(q)
            if n <= keep:
                kept.append((n, q))
    measure = variety.measure(t, solved)
    failures.extend(f"{tid}: {f}" for f in measure.failures)
    return failures, measure, kept


_FORKED: list[Bank] = []  # the bank a forked worker checks (set before the pool forks)


def _worker_start() -> None:
    """A worker leaves Ctrl-C to examgen (which stops the workers) and dies of SIGTERM (sent to the
    process group): the CLI's handlers, inherited through fork, would turn both into exceptions inside a draw."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker_task(task: tuple[str, int, int]) -> tuple[str, TemplateReport]:
    tid, draws, keep = task
    return tid, _template_report(_FORKED[0], tid, draws, keep)


def _in_processes(bank: Bank, ids: list[str], draws: int, keep: int, jobs: int,
                  progress: Callable[[int], None] | None) -> dict[str, TemplateReport]:
    """_template_report of every template, a template a task, in `jobs` processes forked from this
    one (they have the bank as it is here; the kept draws come back pickled); `progress(1)` as each
    template ends. An interruption or a failure stops the workers at once; a worker that dies is one
    error, not a wait."""
    _FORKED[:] = [bank]
    found: dict[str, TemplateReport] = {}
    pool = ProcessPoolExecutor(min(jobs, len(ids)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_start)
    done = False
    try:
        for future in as_completed([pool.submit(_worker_task, (tid, draws, keep)) for tid in ids]):
            tid, result = future.result()
            found[tid] = result
            if progress:
                progress(1)
        done = True
    except BrokenProcessPool:
        raise ExamgenError("check: a worker process died (killed from outside, or out of memory); "
                           "run the check again, or with --jobs 1") from None
    finally:
        if not done:  # (the workers' processes: the executor would let each finish its template)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        _FORKED.clear()
    return found


def check_bank(bank: Bank, draws: int = 200, compile_draws: int = 2, compiler: Compiler | None = None,
               templates: Iterable[str] | None = None,
               progress: Callable[[int], None] | None = None, jobs: int | None = None) -> Report:
    """Every template over `draws` seeded draws; the first `compile_draws` draws typeset
    with `compiler` (default: the user's cache, all cores). The templates are checked in `jobs`
    processes at once (default: the compiler's workers, one per core), the report the same as in one.
    `progress(1)` is called per template, then per typeset draw (len(ids) + compile_draws calls)."""
    compiler = compiler or Compiler.default()
    ids = sorted(templates) if templates is not None else sorted(bank.templates)
    report = Report(templates=len(ids), draws=draws)
    to_compile: list[list[SolvedQuestion | SolvedMc]] = [[] for _ in range(compile_draws)]
    jobs = compiler.workers if jobs is None else jobs
    if jobs > 1 and len(ids) > 1:  # the templates are independent: checked in a process per core
        found = _in_processes(bank, ids, draws, compile_draws, jobs, progress)
    else:
        found = {}
        for tid in ids:
            found[tid] = _template_report(bank, tid, draws, compile_draws)
            if progress:
                progress(1)
    for tid in ids:  # (in template order, however the processes ended)
        fails, report.measures[tid], kept = found[tid]
        report.failures.extend(fails)
        for n, q in kept:
            to_compile[n - 1].append(q)
    for item_id, item in sorted(bank.mc.items()):
        for text in [item.stem, item.note] + [t for o in item.options for t in (o.text, o.why)]:
            report.failures.extend(f"multiple choice item '{item_id}': {f}" for f in glyph_failures(text))
    # give-aways: an item naming what a template asks, with no conflict declared
    report.failures.extend(conflicts.giveaways({t: bank.templates[t] for t in ids}, bank.mc))
    if bank.mc:
        for n in range(1, draws + 1):
            try:
                mc = draw_mc(McProblem(count=min(8, len(bank.mc))), bank, derive_seed(CHECK_SEED, n, "mc"))
                LAYOUT.render_mc_body(mc)
            except ExamgenError as exc:
                report.failures.append(f"multiple choice draw {n}: {exc}")
                continue
            if n <= compile_draws:
                to_compile[n - 1].append(mc)
        if compile_draws:  # every option of every item typeset once, whatever the draws picked
            widest = max(len(it.options) for it in bank.mc.values())
            every = McProblem(count=len(bank.mc), options=widest)
            to_compile[0].append(draw_mc(every, bank, derive_seed(CHECK_SEED, 0, "mc"), apart=False))
    with work_folder("examgen-check-") as tmp:
        for n, qs in enumerate(to_compile, start=1):
            if qs:
                report.failures.extend(_compile(qs, n, tmp, compiler))
                report.compiled += len(qs)
            if progress:
                progress(1)
    return report
