"""Command line: argument parsing and printing only. An ExamgenError becomes
one line per problem on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__, interrupts
from .errors import ExamgenError, SpecError
from .progress import Stopwatch, cache_note, progress, summary

if TYPE_CHECKING:
    from .compiler import Compiler
    from .model import ExamSpec

bank_option = click.option("--bank", "banks", multiple=True, type=click.Path(path_type=Path),
                           help="An extra template folder (repeatable), added to the shipped question_bank/.")


def _params_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from .yamlfile import load_yaml

    doc = load_yaml(path, SpecError)
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise SpecError(f"{path}:1:1: a params file is a mapping 'name: value', found {type(doc.data).__name__}")
    return doc.data


def _compiler(use_cache: bool = True, jobs: int | None = None) -> Compiler:
    """The command's compiler: the user's cache unless use_cache is False, `jobs` pdflatex at
    once, and the TeX program and timeout main() was given (click's context object)."""
    from .compiler import Compiler

    tex = click.get_current_context().find_root().obj or {}
    return Compiler.default(use_cache, jobs, **tex)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="examgen")
def cli() -> None:
    """examgen: deep-learning exam variants, solution sheets and answer keys in the TUM layout."""


@cli.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--variants", "-n", default=1, show_default=True, type=click.IntRange(1, 9999))
@click.option("--seed", "-s", type=click.IntRange(0), default=None,
              help="Exam seed (default: the spec's exam.seed, else 0).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("output"), show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Parallel pdflatex processes (default: all cores).")
@click.option("--keep-tex", is_flag=True, help="Keep each variant's standalone student.tex and solution.tex.")
@click.option("--no-cache", is_flag=True, help="Compile everything (the cache is $EXAMGEN_CACHE or ~/.cache/examgen).")
@click.option("--booklets", type=click.IntRange(1, 99999), default=None,
              help="Numbered booklets in print/, over the variants in turn (default: one per variant).")
@bank_option
def build(spec: Path, variants: int, seed: int | None, out: Path, jobs: int | None, keep_tex: bool, no_cache: bool,
          booklets: int | None, banks: tuple[Path, ...]) -> None:
    """Build student PDF, solution PDF and answer key of every variant into OUT."""
    try:
        _build(spec, variants, seed, out, jobs, keep_tex, no_cache, booklets, banks)
    except KeyboardInterrupt:  # (and SIGTERM's Terminated)
        # Interrupted, the build has removed what it made when this reaches here (its folders and threads
        # are closed: `with` blocks), and it ends at once too (run). Ended as Python ends, an interrupt that
        # came while Python imported the bank's modules (numpy, jinja2) sometimes made it end killed by
        # SIGINT instead of with 130 (CPython's own exit for a KeyboardInterrupt it saw unhandled: 3 of 82
        # interrupts at the format build, after the message and the clean-up).
        global _EXIT_AT_ONCE
        _EXIT_AT_ONCE = True
        raise


def _build(spec: Path, variants: int, seed: int | None, out: Path, jobs: int | None, keep_tex: bool,
           no_cache: bool, booklets: int | None, banks: tuple[Path, ...]) -> None:
    from .uptodate import Inputs

    clock = Stopwatch()
    inputs = Inputs.of(banks, seed, variants, keep_tex, booklets)  # before the bank is loaded: what this build reads
    done = inputs.up_to_date(out, spec) if inputs is not None and not no_cache else None
    if done is not None:  # checked before numpy, jinja2 and the bank are imported
        click.echo(f"build: {out} is up to date ({done} variant{'' if done == 1 else 's'}, unchanged inputs) "
                   f"in {clock.seconds:.1f} s")
        return
    with ExitStack() as early, _compiler(not no_cache, jobs) as compiler:  # (the compiler ends first)
        _early_format(compiler, spec, early)  # TeX first: the format builds while Python imports and loads the bank
        from .bank import load_bank
        from .cachedir import record_seed, seed_used_by_other_exam, state_dir
        from .pipeline import build_exam, exam_seed_of
        from .spec import load_spec

        bank = load_bank(banks, inputs.tree if inputs is not None else None)  # (kept in the cache by its files)
        loaded = load_spec(spec, bank)  # read once, validated before any output
        exam_seed, exam, seeds = exam_seed_of(loaded, seed), _exam_identity(loaded, spec), state_dir()
        other = seed_used_by_other_exam(seeds, exam_seed, exam)
        if other:  # a copied spec for the retake repeats the first exam's numbers
            click.echo(f"examgen: warning: seed {exam_seed} was used to build another exam, {other.get('course')} "
                       f"{other.get('name')} ({other.get('date')}, {other.get('spec')}): this build repeats its "
                       "questions and numbers; give this exam its own exam.seed in the spec (or --seed)", err=True)
        with progress(f"Compiling {2 * variants} PDFs", 2 * variants) as update:
            files = build_exam(loaded, seed, variants, out, banks, compiler, update, keep_tex, inputs, bank, booklets)
    record_seed(seeds, exam_seed, exam)
    stats = compiler.stats
    click.echo(summary("build", len(files), clock.seconds, out, cache_note(stats.hits, stats.misses)))
    global _EXIT_AT_ONCE
    _EXIT_AT_ONCE = True


def _early_format(compiler: Compiler, spec: Path, stack: ExitStack) -> None:
    """Start the format of the spec's preamble (it depends on the layout and the language alone:
    Layout.preamble), read from those two keys of the spec file without validating it: load_spec
    validates it next, and a guess that turns out wrong only costs a format made for nothing
    (the build makes the one it needs). Only a regular file is read ahead (a pipe reads once).
    It is made in a work folder of its own (targets.work_folder: a killed build's is removed by
    the next), which `stack` removes; if there is none, the build makes its format as before."""
    from .layouts import DEFAULT, get
    from .targets import work_folder
    from .yamlfile import load_yaml  # (as load_spec reads it: a YAML alias bomb is refused, not expanded)

    if not spec.is_file():
        return
    try:
        data = load_yaml(spec, SpecError).data
        layout = get(data.get("layout", DEFAULT))
        language = data["exam"].get("language", "en")
    except (AttributeError, KeyError, TypeError, ExamgenError):  # (load_spec reports what is wrong)
        return
    if not isinstance(language, str):
        return
    try:
        folder = stack.enter_context(work_folder())
    except ExamgenError:  # (a TMPDIR the build reports itself)
        return
    # (the name under which build_exam has the compiler remember the spec's page total)
    compiler.start_format(layout.preamble(language), layout.classes, folder, remember=str(spec.resolve()))


def _exam_identity(loaded: ExamSpec, spec: Path) -> dict[str, str]:
    """What tells one exam from another in the record of exam seeds (cachedir.record_seed)."""
    return {"course": loaded.info.course, "name": loaded.info.name, "date": loaded.info.date,
            "spec": str(spec.resolve())}


@cli.command()
@click.argument("template_id")
@click.option("--params", "params_file", type=click.Path(path_type=Path), default=None,
              help="YAML file pinning parameters by name; the others are sampled.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@bank_option
def solve(template_id: str, params_file: Path | None, seed: int, banks: tuple[Path, ...]) -> None:
    """Print one question as JSON: its graded answers per part (as answers.json has them),
    everything the solver returned ("answers": graded and display values) and the rubric."""
    from .pipeline import solve_one
    from .writers.answers import question_record

    _, q = solve_one(template_id, seed, _params_file(params_file), banks)
    rec = question_record(1, q, {})
    click.echo(json.dumps({"id": template_id, "seed": rec["seed"], "params": rec["params"],
                           "parts": rec["parts"], "answers": q.answers, "rubric": list(q.rubric)}, indent=2))


@cli.command()
@click.argument("template_id")
@click.option("--params", "params_file", type=click.Path(path_type=Path), default=None)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--solution", is_flag=True, help="Typeset the solution version.")
@click.option("--out", "-o", type=click.Path(), required=True,
              help="The PDF file (replaced only if examgen wrote it).")
@bank_option
def preview(template_id: str, params_file: Path | None, seed: int, solution: bool, out: str,
            banks: tuple[Path, ...]) -> None:
    """One question as a PDF, for template authors."""
    from .pipeline import preview as run_preview

    with _compiler() as compiler:
        written = run_preview(template_id, seed, _params_file(params_file), solution, out, banks, compiler)
    click.echo(f"wrote {written}")


@cli.command()
@click.argument("template_id")
@click.option("--topic", "-t", required=True, help="The topic folder (e.g. mlp); also the template's topic.")
@click.option("--bank", "bank", type=click.Path(path_type=Path), default=Path("my_bank"), show_default=True,
              help="The bank folder to write into (the shipped question_bank/ only when named here).")
@click.option("--kind", type=click.Choice(["numeric", "free-text"]), default="numeric", show_default=True)
def new(template_id: str, topic: str, bank: Path, kind: str) -> None:
    """Write a working template skeleton into BANK/TOPIC/TEMPLATE_ID, ready to edit."""
    from .authoring import new_template

    target = new_template(template_id, topic, bank, kind)
    files = sorted(f.name for f in target.iterdir())
    click.echo(f"wrote {target}/: {', '.join(files)}")
    click.echo(f"next: examgen preview {template_id} --bank {bank} --out {template_id}.pdf [--solution]; "
               f"examgen check --bank {bank} -t {template_id}; python -m pytest {target / f'test_{template_id}.py'}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@bank_option
def list_(as_json: bool, banks: tuple[Path, ...]) -> None:
    """The templates with topic, credits and parameters."""
    from .bank import load_bank

    bank = load_bank(banks)
    templates = sorted(bank.templates.values(), key=lambda t: (t.topic, t.id))
    rows = [{"id": t.id, "topic": t.topic, "title": t.title, "kind": t.kind, "credits": t.credits,
             "source": t.source, "params": [d.name for d in t.params]} for t in templates]
    if as_json:
        click.echo(json.dumps({"templates": rows, "mc_items": len(bank.mc),
                               "mc_topics": sorted({i.topic for i in bank.mc.values()})}, indent=2))
        return
    for t in templates:
        click.echo(f"{t.id:<28} {t.topic:<15} {t.credits:>5g} cr  {', '.join(d.name for d in t.params)}")
    click.echo(f"{len(templates)} templates; {len(bank.mc)} multiple-choice items")


@cli.command()
@click.option("--draws", "-d", default=200, show_default=True, type=click.IntRange(1),
              help="Seeded draws per template: sampled, solved and rendered.")
@click.option("--compile", "compile_draws", default=2, show_default=True, type=click.IntRange(0),
              help="How many of the draws are typeset with pdflatex (all templates in one document per draw).")
@click.option("--template", "-t", "only", multiple=True, help="Check only this template (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Processes checking templates, and pdflatex runs, at once (default: one per core).")
@click.option("--table", is_flag=True, help="Print only the Markdown table of degenerate shares and distinct "
              "variants per template (README.md holds it); typesets nothing.")
@bank_option
def check(draws: int, compile_draws: int, only: tuple[str, ...], jobs: int | None, table: bool,
          banks: tuple[Path, ...]) -> None:
    """Stress-test the question bank: every template over many draws; exit 1 on any failure."""
    from . import variety
    from .bank import load_bank
    from .checking import check_bank

    clock = Stopwatch()
    bank = load_bank(banks)
    ids = [bank.template(t).id for t in only] or None
    n = len(ids) if ids is not None else len(bank.templates)
    compile_draws = 0 if table else compile_draws
    with _compiler(True, jobs) as compiler, progress(f"Checking {n} templates x {draws} draws, typesetting "
                                                      f"{compile_draws}", n + compile_draws) as update:
        report = check_bank(bank, draws, compile_draws, compiler, ids, progress=update)
    for line in report.failures:
        click.echo(f"FAIL {line}", err=True)
    rows = [(bank.templates[tid], m) for tid, m in report.measures.items()]
    if table:
        click.echo(variety.table(rows))
        raise SystemExit(1 if report.failures else 0)
    for t, m in rows:
        click.echo(variety.summary(t, m))
    verdict = f"{len(report.failures)} failures" if report.failures else "all passed"
    click.echo(f"checked {report.templates} templates x {report.draws} draws and {len(bank.mc)} multiple-choice "
               f"items; {report.compiled} questions typeset; {verdict}")
    click.echo(summary("check", None, clock.seconds, extra=cache_note(compiler.stats.hits, compiler.stats.misses)))
    if report.failures:
        raise SystemExit(1)


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--responses", "-r", type=click.Path(path_type=Path), default=None,
              help="The filled responses CSV (one row per student).")
@click.option("--template", "template_out", type=click.Path(), default=None,
              help="Write the empty responses CSV (all columns, one row per variant) here instead of grading "
              "(an existing file only if it is such an empty sheet).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Folder for results.csv, statistics.csv, report.pdf (default: BUILD_DIR-grading).")
@click.option("--spec", type=click.Path(path_type=Path), default=None,
              help="The exam spec, for its grading: boundaries (default: 50 % to pass, linear steps).")
@bank_option
def grade(build_dir: Path, responses: Path | None, template_out: str | None, out: Path | None, spec: Path | None,
          banks: tuple[Path, ...]) -> None:
    """Score a responses CSV against the build's keys: results, statistics and a report."""
    from . import grading
    from .regrade import scanned_booklets

    target = grading.grading_dir(build_dir, out)
    # a database with booklets (examgen scan's); regrade and grade also keep one beside a CSV's grades
    scanned = responses is None and template_out is None and scanned_booklets(target) > 0
    if (responses is None) == (template_out is None) and not scanned:
        raise click.UsageError("give either --responses FILE.csv (grade) or --template FILE.csv (empty sheet), "
                               "or run examgen scan first")
    if template_out is not None:
        click.echo(f"wrote {grading.write_template(build_dir, template_out)}")
        return
    clock = Stopwatch()
    scale = None
    if spec is not None:
        from .bank import load_bank
        from .spec import load_spec

        scale = load_spec(spec, load_bank(banks)).grading
    notes: list[str] = []  # second correction not settled; the class list's (absent students, unmapped booklets)
    with ExitStack() as stack:
        if responses is None:  # examgen scan's database (its overrides applied)
            from .correct.data import unsettled_notes
            from .scan import responses_from
            from .targets import work_folder

            work = stack.enter_context(work_folder("examgen-grade-"))
            key = grading.load_build(build_dir)
            responses = responses_from(target / "grading.sqlite", key, work / "responses.csv")
            notes += unsettled_notes(target / "grading.sqlite", key)  # graded without their second correction
            source = "grading.sqlite"
        else:
            source = str(responses.resolve())
        from .records import hook

        records = hook(target, notes) if target.is_dir() else None
        with _compiler(False) as compiler, progress("Grading", grading.GRADE_STEPS) as update:
            files = grading.grade_build(build_dir, responses, target, scale, update, compiler, source, records)
    for note in notes:
        click.echo(f"examgen: note: {note}", err=True)
    click.echo(f"{grading.summary(target)}; wrote {', '.join(f.name for f in files)} to {target}")
    click.echo(summary("grade", len(files), clock.seconds, target))


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--cancel", "cancel", metavar="P1c", default=None,
              help="Take an MC item (or a part) out of the exam: nobody scores it, its credits leave the maximum.")
@click.option("--full-marks", "full_marks", metavar="P4b", default=None,
              help="Give everyone the credits of a part (or an MC item); the maximum stays.")
@click.option("--accept", "accept", metavar="P1c=1;3", default=None,
              help="Accept another set of boxes of an MC item (as printed; P1c@E0002=1;3 names the variant).")
@click.option("--undo", "undo", metavar="ID", default=None, help="Undo the re-grading operation #ID.")
@click.option("--why", default="", help="The reason (required; it goes into the audit trail).")
@click.option("--who", default=None, help="Who decided (default: the login name).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="The grading folder (default: BUILD_DIR-grading); its grading.sqlite keeps the operations.")
@click.option("--list", "list_", is_flag=True, help="List the stored operations.")
def regrade(build_dir: Path, cancel: str | None, full_marks: str | None, accept: str | None, undo: str | None,
            why: str, who: str | None, out: Path | None, list_: bool) -> None:
    """Store a re-grading operation that every later `examgen grade` replays (nothing is ever deleted)."""
    from . import regrade as ops
    from .grading import grading_dir

    target = grading_dir(build_dir, out)
    given = [(name, value) for name, value in (("cancel", cancel), ("full-marks", full_marks), ("accept", accept),
                                                ("undo", undo)) if value is not None]
    if list_ and not given:
        for op in ops.operations(target):
            click.echo(op.describe())
        return
    if len(given) != 1:
        raise click.UsageError("give exactly one of --cancel P1c, --full-marks P4b, --accept P1c=1;3, --undo ID "
                               "(with --why \"...\"), or --list")
    name, value = given[0]
    tgt, _, argument = value.partition("=") if name == "accept" else (value.lstrip("#"), "", "")
    if name == "accept" and "=" not in value:
        raise click.UsageError(f"--accept {value}: give the boxes too, e.g. --accept {value}=1;3")
    done = ops.record(build_dir, target, name, tgt.strip(), argument.strip() if name == "accept" else None, why, who)
    click.echo(f"stored {done.describe()} in {target / ops.DB}; run examgen grade to apply it")


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.argument("scans", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="The grading folder (default: BUILD_DIR-grading); its grading.sqlite accumulates the scans.")
@click.option("--set", "changes", multiple=True, metavar="NAME=VALUE",
              help="Change a threshold (repeatable) and re-classify every stored measurement: "
              "mark, mark_band, fill, fill_band, score, score_band, residual.")
def scan(build_dir: Path, scans: tuple[Path, ...], out: Path | None, changes: tuple[str, ...]) -> int:
    """Read scanned booklets (PDFs or images) into BUILD_DIR-grading: grading.sqlite, responses.csv
    and review/. Without SCANS: re-classify what is stored (after --set). Exit 1 lists what needs review."""
    from . import scan as scanning
    from .errors import GradingError
    from .grading import grading_dir
    from .scan.classify import DEFAULTS

    parsed: dict[str, float] = {}
    for c in changes:
        name, _, value = (part.strip() for part in c.partition("="))
        try:
            parsed[name] = float(value)
        except ValueError:
            name = ""
        if name not in DEFAULTS or not math.isfinite(parsed[name]):
            raise GradingError(f"--set {c}: not NAME=NUMBER with NAME one of {', '.join(DEFAULTS)}; "
                               "e.g. --set mark=0.25")
    clock = Stopwatch()
    target = grading_dir(build_dir, out)
    with progress(f"Reading {len(scans)} scan files", max(1, len(scans))) as update:
        report = scanning.scan(build_dir, list(scans), target, parsed, update)
    for line in report.lines():
        click.echo(f"examgen: review: {line}", err=True)
    extra = f"{report.files_added} new scan files ({report.files_known} already read), {report.pages_read} pages, " \
            f"{report.booklets} booklets"
    click.echo(summary("scan", 3, clock.seconds, target, extra))
    return 1 if report.problems else 0


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--rooms", "rooms_file", required=True, type=click.Path(path_type=Path),
              help="The room file (YAML): rooms, each a grid of seats (S seat, . free, | aisle); README: Seating.")
@click.option("--count", type=click.IntRange(1), default=None,
              help="Seat booklets 1..COUNT only (default: every printed booklet).")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="The seating folder (default: BUILD_DIR-seating).")
def seat(build_dir: Path, rooms_file: Path, count: int | None, out: Path | None) -> None:
    """Seat the numbered booklets in rooms so that no neighbour (left, right, front, back) shares a
    variant: seating.csv and an attendance list per room (rooms/ROOM.pdf)."""
    from . import seating

    clock = Stopwatch()
    target = out or Path(str(Path(build_dir)).rstrip("/") + "-seating")
    rooms, reach = seating.read_rooms(rooms_file)
    with _compiler(False) as compiler, progress("Attendance lists", len(rooms)) as update:
        files = seating.seat(build_dir, rooms_file, rooms, reach, target, count, compiler, update)
    click.echo(summary("seat", len(files), clock.seconds, target))


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--import", "class_list", type=click.Path(path_type=Path), default=None,
              help="TUMonline's registration export (CSV); a re-import merges (statuses and mappings kept).")
@click.option("--status", "statuses", multiple=True, metavar="REG=STATUS",
              help="Set a student's status (repeatable): registered, absent, withdrawn, cheating.")
@click.option("--bonus", "bonus_file", type=click.Path(path_type=Path), default=None,
              help="A CSV whose registration column lists the students with the grade bonus.")
@click.option("--no-bonus", "no_bonus", multiple=True, metavar="REG", help="Take the bonus back (repeatable).")
@click.option("--map", "mapping", type=click.Path(path_type=Path), default=None,
              help="A CSV booklet,registration (typed from the covers) mapping scanned booklets to students.")
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="The grading folder (default: BUILD_DIR-grading).")
@click.option("--who", default=None, help="Your name in the audit trail (default: your login).")
@click.option("--why", default=None, help="The reason, kept in the audit trail.")
def students(build_dir: Path, class_list: Path | None, statuses: tuple[str, ...], bonus_file: Path | None,
             no_bonus: tuple[str, ...], mapping: Path | None, out: Path | None, who: str | None,
             why: str | None) -> None:
    """The class list in BUILD_DIR-grading/grading.sqlite: import it, set statuses and the bonus,
    map booklets to students; every change audited. Without options: a summary."""
    import sqlite3

    from . import records
    from .errors import GradingError
    from .grading import grading_dir, load_build

    target = grading_dir(build_dir, out)
    load_build(build_dir)  # a build folder, as scan and grade need
    if not (class_list or statuses or bonus_file or no_bonus or mapping) and not (target / "grading.sqlite").is_file():
        raise GradingError(f"{target}: no class list yet; import TUMonline's registration export with "
                           f"examgen students {build_dir} --import classlist.csv")

    def work(db: sqlite3.Connection) -> tuple[list[str], dict[str, records.Student], int, int]:
        done = []
        if class_list is not None:
            done.append(records.import_class_list(db, class_list, who, why).summary())
        if statuses:
            done.append(f"{records.set_status(db, list(statuses), who, why)} status(es) changed")
        if bonus_file is not None or no_bonus:
            done.append(f"{records.set_bonus(db, bonus_file, no_bonus, who, why)} bonus change(s)")
        if mapping is not None:
            done.append(f"{records.map_booklets(db, mapping, who, why)} booklet(s) mapped")
        mapped = db.execute("SELECT count(*) FROM booklets WHERE registration IS NOT NULL").fetchone()[0]
        booklets = db.execute("SELECT count(*) FROM booklets").fetchone()[0]
        return done, records.students_of(db), mapped, booklets

    done, have, mapped, booklets = records.edit(target, work)  # all or nothing
    counts = ", ".join(f"{sum(s.status == st for s in have.values())} {st}" for st in records.STATUSES)
    click.echo(f"students: {'; '.join(done) + '; ' if done else ''}{len(have)} in the class list ({counts}; "
               f"{sum(s.bonus for s in have.values())} with bonus); {mapped} of {booklets} scanned booklets mapped; "
               f"{target / 'grading.sqlite'}")


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Folder for the review PDFs (default: BUILD_DIR-review).")
@click.option("--grading", "grading_folder", type=click.Path(path_type=Path), default=None,
              help="The grading folder (default: BUILD_DIR-grading).")
def review(build_dir: Path, out: Path | None, grading_folder: Path | None) -> None:
    """Exam review (Einsicht): per student one PDF of the scanned pages, a cover with the points per
    subproblem and the variant's solution, every page stamped with the registration number."""
    from . import review as reviewing
    from .grading import grading_dir
    from .targets import ensure_replaceable

    clock = Stopwatch()
    target = out if out is not None else build_dir.resolve().with_name(build_dir.resolve().name + "-review")
    source = grading_dir(build_dir, grading_folder)
    ensure_replaceable(target, "review")  # before any work: a folder examgen did not write is refused
    with _compiler(False) as compiler:
        plan = reviewing.plan(build_dir, source)
        with progress(f"Typesetting {len(plan.students)} review PDFs", max(1, len(plan.students))) as update:
            files = reviewing.write(plan, target, compiler, update)
    for note in plan.notes:
        click.echo(f"examgen: note: {note}", err=True)
    click.echo(summary("review", len(files), clock.seconds, target))


@cli.command()
@click.argument("build_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="The grading folder (default: BUILD_DIR-grading) whose grading.sqlite examgen scan wrote.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to serve on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--add-tutor", "add_tutor", default=None, metavar="NAME",
              help="Add a tutor (or renew their token: the old link and its sessions stop working), print their "
              "link and exit.")
@click.option("--remove-tutor", "remove_tutor", default=None, metavar="NAME",
              help="Take a tutor's link away (their open sessions end; what they set stays) and exit.")
@click.option("--second", "second", multiple=True, metavar="P3",
              help="Problems under second correction (repeatable): two tutors grade independently, differing "
              "values go to the consensus queue.")
def correct(build_dir: Path, out: Path | None, host: str, port: int, add_tutor: str | None,
            remove_tutor: str | None, second: tuple[str, ...]) -> None:
    """The correction room: a local web app where tutors grade the scans by subproblem beside each
    variant's key (the points go into grading.sqlite, which examgen grade reads)."""
    from .errors import GradingError
    from .grading import grading_dir, load_build

    db = grading_dir(build_dir, out) / "grading.sqlite"
    key = load_build(build_dir)
    if not db.is_file():
        raise GradingError(f"{db}: no grading database; run examgen scan {build_dir} SCANS... first")
    from .correct import Store, create_app, second_refusal, server
    from .correct.data import Invalid

    if add_tutor is not None and remove_tutor is not None:
        raise click.UsageError("give --add-tutor NAME or --remove-tutor NAME, not both")
    store = Store(db)
    try:
        if remove_tutor is not None:
            try:
                store.remove_tutor(remove_tutor.strip())
            except Invalid as exc:
                raise GradingError(f"--remove-tutor {remove_tutor}: {exc}") from None
            click.echo(f"{remove_tutor.strip()}: removed; their link and open sessions no longer work")
            return
        if add_tutor is not None:
            name = add_tutor.strip()
            if not name or len(name) > 60 or not name.isprintable():
                raise GradingError(f"--add-tutor {add_tutor!r}: a tutor's name is 1-60 printable characters; "
                                   "e.g. --add-tutor Anna")
            token = store.add_tutor(name)
            click.echo(f"{name}: http://{host}:{port}/login/{token}")
            return
        if second:
            bad, mc_only, graded = second_refusal(key, list(second))
            hint = f"give one of {', '.join(graded)} (the problems with hand-graded parts)" if graded else \
                "this exam has no hand-graded parts to correct twice"
            if bad:
                raise GradingError(f"--second {bad[0]}: no such problem in this exam; {hint}")
            if mc_only:
                raise GradingError(f"--second {mc_only[0]}: multiple choice only, nothing to grade twice by hand; "
                                   f"{hint}")
            store.set_setting("second", ",".join(sorted(set(second))), "examgen correct")
        tutors = store.tutors()
    finally:
        store.close()
    app = create_app(build_dir, db)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log: it would print the tutors' links
    if not _loopback(host):
        click.echo(f"examgen: warning: --host {host} is not a loopback address: tutor links, session cookies and "
                   "points travel over plain HTTP; serve it behind a TLS reverse proxy (e.g. nginx or Caddy with "
                   "https) or on 127.0.0.1", err=True)
    try:
        srv = server(app, host, port)
    except OSError as exc:
        raise GradingError(f"--host {host} --port {port}: cannot serve there "
                           f"({os.strerror(exc.errno) if exc.errno else exc}); "
                           "give another --port") from None
    click.echo(f"examgen correct: serving {db} on http://{host}:{srv.port}/ for "
               f"{len(tutors)} tutor(s); add one with --add-tutor NAME; Ctrl-C stops")
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


def _loopback(host: str) -> bool:
    """Whether serving on host stays on this machine (127.0.0.1, ::1, localhost)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@cli.group()
def export() -> None:
    """Export variants to other systems (Moodle XML, IMS QTI 2.1)."""


def export_options(out_help: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options every `export` command shares: the spec, the variants, the seed, --out, --bank."""
    def wrap(f: Callable[..., None]) -> Callable[..., None]:
        for option in reversed([
            click.argument("spec", type=click.Path(path_type=Path)),
            click.option("--variants", "-n", default=1, show_default=True, type=click.IntRange(1, 9999)),
            click.option("--seed", "-s", type=click.IntRange(0), default=None,
                         help="Exam seed (default: the spec's exam.seed, else 0); the same seed gives the PDFs' "
                              "variants."),
            click.option("--out", "-o", type=click.Path(), required=True, help=out_help),
            bank_option,
        ]):
            f = option(f)
        return f
    return wrap


def _export(spec: Path, variants: int, seed: int | None, out: str, banks: tuple[Path, ...],
            render: Callable[[Any], bytes], owned: Callable[[Path], bool], example: str) -> None:
    """A thin driver: pipeline.export with a writer's render(exam), progress and the summary line."""
    from .pipeline import export

    clock = Stopwatch()
    with progress(f"Exporting {variants} variants", variants) as update:
        written = export(spec, variants, seed, out, render, owned, example, banks, update)
    click.echo(summary("export", 1, clock.seconds, written))


@export.command()
@export_options("The XML file (replaced only if examgen wrote it).")
@click.option("--mc-type", type=click.Choice(["multichoiceset", "multichoice"]), default="multichoiceset",
              show_default=True, help="multichoiceset: all-or-nothing (plugin qtype_multichoiceset); "
              "multichoice: core Moodle, partial credit for a subset of the right options.")
def moodle(spec: Path, variants: int, seed: int | None, out: str, mc_type: str, banks: tuple[Path, ...]) -> None:
    """Moodle XML quiz: a category per problem, a question per variant."""
    from .targets import MOODLE_OWNED
    from .writers import moodle as writer

    _export(spec, variants, seed, out, banks, lambda exam: writer.render(exam, mc_type), MOODLE_OWNED, "quiz.xml")


@export.command()
@export_options("The .zip package (replaced only if examgen wrote it).")
def qti(spec: Path, variants: int, seed: int | None, out: str, banks: tuple[Path, ...]) -> None:
    """IMS QTI 2.1 package: one test drawing one variant per candidate, an item per problem."""
    from .targets import QTI_OWNED
    from .writers import qti as writer

    _export(spec, variants, seed, out, banks, writer.render, QTI_OWNED, "exam.zip")


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same clean-up as Ctrl-C (staging folders removed, TeX processes killed)."""


# set by a command whose output is all closed and in place when it returns (build): the process then
# ends without Python's finalization of its modules (run)
_EXIT_AT_ONCE = False


def run() -> None:
    """The `examgen` script and `python -m examgen`: main(), then the process ends with its exit code.
    After a build, whose files are all written, closed and moved into place when main returns, it
    ends at once (os._exit, after flushing stdout and stderr) instead of finalizing every module
    Python imported (numpy, jinja2, sympy, ...: 0.17 s of a 6 s build on the 2-core machine, after
    its output was complete); other commands (a database, a server) end as Python ends. (click
    flushes each line it prints; the flush here is for anything else written to the streams.)"""
    # examgen's matrices are a few numbers: a BLAS thread pool is not needed (starting it is 15-20 ms
    # of numpy's import, before the first variant reaches TeX); a user's own setting is kept
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # a build's threads that write the drawn variants into TeX's FIFOs, read its logs and start qpdf
    # each wait for the GIL after every system call while the main thread draws: at Python's 5 ms
    # switch interval the first variant reached TeX 50 ms after it was drawn, with both cores idle
    sys.setswitchinterval(0.0005)
    code = main()
    if _EXIT_AT_ONCE:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: what could not be written is lost either way
                pass
        os._exit(code)
    sys.exit(code)


def _on_sigterm(signum: int, frame: object) -> None:
    interrupts.record(Terminated)  # (raised again by interrupts.check if C code swallows it)
    raise Terminated()


def _on_sigint(signum: int, frame: object) -> None:
    interrupts.record(KeyboardInterrupt)
    raise KeyboardInterrupt()


def main(argv: list[str] | None = None, *, pdflatex: str | None = None, tex_timeout: float | None = None) -> int:
    """Run examgen with these arguments; the exit code. `pdflatex` and `tex_timeout`
    (seconds per TeX run) replace the defaults of every command's compiler."""
    global _EXIT_AT_ONCE
    _EXIT_AT_ONCE = False  # (the command says so again if it may)
    tex: dict[str, Any] = {}
    if pdflatex is not None:
        tex["pdflatex"] = pdflatex
    if tex_timeout is not None:
        tex["timeout"] = tex_timeout
    interrupts.reset()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        previous_int = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        previous = previous_int = None
    try:
        return _main(argv, tex)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
        # a signal the command received ends with it: a process that goes on (the correction app, the
        # tests) must not find it raised again by the next build's interrupts.check()
        interrupts.reset()


def _interrupted(exc: BaseException | None) -> int:
    term = isinstance(exc, Terminated)
    written = getattr(exc, "written", None)  # the signal came while the finished output was being swapped in
    outcome = f"{written} was written completely before it stopped" if written else "nothing was written"
    click.echo(f"examgen: {'terminated (SIGTERM)' if term else 'interrupted'}; {outcome}", err=True)
    return 143 if term else 130


def _main(argv: list[str] | None, tex: dict[str, Any]) -> int:
    try:
        code = cli.main(args=argv, prog_name="examgen", standalone_mode=False, obj=tex)
    except ExamgenError as exc:
        for line in str(exc).splitlines() or ["error"]:
            click.echo(f"examgen: error: {line}", err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:  # click's wrapper of a KeyboardInterrupt
        return _interrupted(exc.__cause__)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # a bug in examgen, not bad input
        if os.environ.get("EXAMGEN_DEBUG"):
            raise
        click.echo(f"examgen: internal error: {type(exc).__name__}: {exc} (rerun with EXAMGEN_DEBUG=1 "
                   "for the traceback, and please report it)", err=True)
        return 70
    return code if isinstance(code, int) else 0  # a command's exit code (scan: 1 = pages to review)


if __name__ == "__main__":
    run()
