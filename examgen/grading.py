"""Grade a printed exam from its build folder and a responses CSV.

The responses CSV (`examgen grade BUILD --template responses.csv` writes an empty one)
has one row per student and these columns:

  registration   the student's registration number (kept as text: leading zeros stay)
  variant        the variant code printed on the cover (E0001, ...)
  P<k><x>        one column per multiple-choice item and per subproblem, named as printed
                 in the PDF: problem k, item or part x. P1c is item c) of problem 1.
                 * an MC item holds the boxes the student crossed, as printed (1 = first
                   box), separated by ';' (or spaces): `1;3`; empty = nothing crossed.
                 * a subproblem holds the points the tutor gave: a multiple of 0.5 between 0
                   and the part's credits (`1.5` or `1,5`); empty = 0.
                 A column can exist for one variant and not another (a `choose:` block):
                 it must be empty for variants that have no such item or part.

The separator is ',' unless the header line has ';' and no ',' (a German spreadsheet).
MC items are scored by the variant's own key (answers.json) with the TUM rule: the
item's credits (2) when the crossed boxes are exactly the correct ones, else 0.
Grades come from the spec's `grading:` key (model.GradingScale; default 50 % to pass,
1.0 from 95 %, linear 5 %-steps), relative to the credits of the student's variant.

Every bad row is reported at once ('responses.csv:7: ...'); nothing is written then.
Output (atomically, like a build): results.csv, statistics.csv and report.pdf."""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
import shutil
import statistics as stats
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layouts
from .compiler import Compiler
from .errors import GradingError
from .model import FAIL_GRADE, GERMAN_GRADES, GradingScale
from .outputs import MANIFEST, csv_text
from .targets import carry_over, ensure_file_replaceable, ensure_replaceable, staging, work_folder, write_file
from .texfmt import escape

if TYPE_CHECKING:
    from .analysis import Analysis
    from .regrade import Operation

FIXED_COLUMNS = ("registration", "variant")
_COLUMN = re.compile(r"^P(\d+)([a-z])$")


@dataclass(frozen=True)
class Cell:
    """One gradable column of one variant: an MC item or a subproblem."""

    column: str  # "P1c"
    problem: int
    label: str
    kind: str  # "mc" | "part"
    credits: float
    ref: str  # the MC item's id or the template's id
    correct: frozenset[int] = frozenset()
    n_options: int = 0
    options: tuple[str, ...] = ()  # the MC options' texts, box 1 first
    accepted: frozenset[frozenset[int]] = frozenset()  # re-grading: other box sets that score too
    given: bool = False  # re-grading: everyone gets the credits


@dataclass(frozen=True)
class VariantKey:
    code: str
    credits: float
    problems: dict[int, tuple[str, float, str]]  # k -> (title, credits, "mc" or template id)
    cells: dict[str, Cell]


@dataclass(frozen=True)
class BuildKey:
    """The answer keys of a build folder (every E????/answers.json)."""

    dir: Path
    exam: dict[str, Any]
    variants: dict[str, VariantKey]

    @property
    def columns(self) -> list[str]:
        cells = {c.column: (c.problem, c.label) for v in self.variants.values() for c in v.cells.values()}
        return sorted(cells, key=lambda col: cells[col])

    @property
    def n_problems(self) -> int:
        return max(k for v in self.variants.values() for k in v.problems)


@dataclass(frozen=True)
class Response:
    line: int
    registration: str
    variant: str
    values: dict[str, Any]  # column -> points (float) or crossed boxes (frozenset)


@dataclass(frozen=True)
class Result:
    registration: str
    variant: str
    cells: dict[str, float]  # column -> points scored
    problems: dict[int, float]
    total: float
    credits: float
    grade: float


@dataclass
class _Group:
    """Observations of one statistics row."""

    scope: str
    key: str
    ref: str
    kind: str
    credits: float
    values: list[float] = field(default_factory=list)


def grading_dir(build_dir: Path, out: Path | None = None) -> Path:
    """Where `grade` and `scan` of a build write (they share it): --out, else BUILD-grading beside it."""
    return out if out is not None else build_dir.resolve().with_name(build_dir.resolve().name + "-grading")


def load_build(build_dir: Path) -> BuildKey:
    """Read the answer keys of a build folder written by `examgen build`."""
    build_dir = Path(build_dir)
    files = sorted(build_dir.glob("E[0-9][0-9][0-9][0-9]/answers.json"))
    if not build_dir.is_dir():
        raise GradingError(f"{build_dir}: no such build folder")
    if not files:
        missing = "E0001/answers.json" if (build_dir / MANIFEST).is_file() else f"{MANIFEST} and E0001/answers.json"
        raise GradingError(f"{build_dir.resolve()}: not an examgen build folder ({missing} missing); give the --out "
                           "folder of examgen build")
    variants: dict[str, VariantKey] = {}
    exam: dict[str, Any] = {}
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            exam = data["exam"]
            problems: dict[int, tuple[str, float, str]] = {}
            cells: dict[str, Cell] = {}
            for q in data["questions"]:
                k = int(q["problem"])
                problems[k] = (q["title"], float(q["credits"]), "mc" if q["type"] == "mc" else q["id"])
                if q["type"] == "mc":
                    for it in q["items"]:
                        col = f"P{k}{it['label']}"
                        cells[col] = Cell(col, k, it["label"], "mc", float(it["credits"]), it["id"],
                                          frozenset(it["correct_boxes"]), len(it["options"]),
                                          tuple(str(o["text"]) for o in it["options"]))
                else:
                    for p in q["parts"]:
                        col = f"P{k}{p['name']}"
                        cells[col] = Cell(col, k, p["name"], "part", float(p["credits"]), q["id"])
            variants[data["variant"]] = VariantKey(data["variant"], float(data["credits"]), problems, cells)
        except (KeyError, TypeError, ValueError) as exc:
            raise GradingError(f"{f}: not an answers.json of examgen build ({type(exc).__name__}: {exc})") from None
    return BuildKey(build_dir, exam, variants)


def template_csv(key: BuildKey) -> str:
    """The empty responses sheet: every column, one row per variant code to copy and fill."""
    cols = key.columns
    return csv_text([[*FIXED_COLUMNS, *cols], *(["", code, *[""] * len(cols)] for code in key.variants)])


def template_owned(path: Path) -> bool:
    """An empty responses sheet as write_template writes it: examgen's header and no
    filled cell but the variant code. A sheet with marks in it is the user's work."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return bool(rows) and tuple(rows[0][:2]) == FIXED_COLUMNS and all(_COLUMN.match(c) for c in rows[0][2:]) \
        and all(len(r) == len(rows[0]) and not r[0] and not any(r[2:]) for r in rows[1:])


def write_template(build_dir: Path, target: Path | str) -> Path:
    ensure_file_replaceable(target, template_owned, "--template", "responses.csv")  # before reading the build
    key = load_build(build_dir)
    return write_file(target, template_csv(key).encode("utf-8"), template_owned, "--template")


def _fmt(x: float) -> str:
    """0.5-steps and means: 2, 1.5, 0.3333 (never 2.0)."""
    r = round(float(x), 4)
    return str(int(r)) if r == int(r) else f"{r:.4f}".rstrip("0")


# ASCII digits only: int() and float() also take '²', '٣' and '0_5'
_BOX = re.compile(r"[0-9]+")
_POINTS = re.compile(r"[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+")


def _parse_boxes(raw: str, cell: Cell) -> frozenset[int] | str:
    """Crossed boxes, or what is wrong with the cell."""
    tokens = [t for t in re.split(r"[;\s]+", raw) if t]
    bad = [t for t in tokens if not _BOX.fullmatch(t) or not 1 <= int(t) <= cell.n_options]
    if bad:
        return f"{raw!r} is not a list of boxes 1-{cell.n_options} separated by ';' (e.g. 1;3; empty for none)"
    if len(set(tokens)) != len(tokens):
        return f"{raw!r} names a box twice"
    return frozenset(int(t) for t in tokens)


def _parse_points(raw: str, cell: Cell) -> float | str:
    """Points, or what is wrong with the cell."""
    if not raw:
        return 0.0
    if not _POINTS.fullmatch(raw):
        return f"{raw!r} is not a number of points (digits 0-9, one '.' or ',' for halves: 1.5)"
    x = float(raw.replace(",", "."))
    if abs(2 * x - round(2 * x)) > 1e-9:
        return f"{raw} points: not a multiple of 0.5"
    if x > cell.credits + 1e-9:
        return f"{raw} points exceed the maximum {_fmt(cell.credits)} of part {cell.label})"
    return x


def _control(text: str) -> str:
    """What control character text holds ('' if none): a NUL byte, a line break, ..."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            names = {"\0": "a NUL byte", "\n": "a line break", "\r": "a line break (CR)", "\t": "a TAB"}
            return names.get(ch, f"the control character U+{ord(ch):04X}")
    return ""


def _unclosed_quote(text: str, first_line: int, delimiter: str) -> tuple[int, int] | None:
    """(line, field index) of the quote that opens a field of the record starting at
    first_line and is never closed, or None."""
    body = "\n".join(text.split("\n")[first_line - 1:])
    field, at_start, quoted, opened = 0, True, False, 0
    i = 0
    while i < len(body):
        ch = body[i]
        if quoted:
            if ch == '"' and body[i + 1:i + 2] == '"':
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"' and at_start:
            quoted, opened = True, i
        elif ch == delimiter:
            field, at_start = field + 1, True
            i += 1
            continue
        elif ch == "\n":
            return None
        at_start = False
        i += 1
    return (first_line + body.count("\n", 0, opened), field) if quoted else None


def _refuse(path: Path, errors: list[str]) -> GradingError:
    """One problem: its line. Several: each, then how many (nothing is written either way)."""
    if len(errors) == 1:
        return GradingError(errors[0])
    return GradingError("\n".join([*errors, f"{path}: {len(errors)} problem(s); nothing was written"]))


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if ";" in first and "," not in first else ","


def read_responses(path: Path, key: BuildKey) -> list[Response]:
    """Parse and check the responses CSV; every problem is collected, then raised at once."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GradingError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise GradingError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the sheet as "
                           "CSV UTF-8") from None
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    errors: list[str] = []
    header: list[str] = []

    def bad_quoting(exc: csv.Error, line: int) -> str:
        quote = _unclosed_quote(text, line, delimiter)
        if quote is None:
            return f"{path}:{line}: {exc}; fix the quoting of that line"
        col = f"column '{header[quote[1]]}'" if quote[1] < len(header) else f"field {quote[1] + 1}"
        return f"{path}:{quote[0]}: {col}: a quote (\") opens here and is never closed; close it or remove it"

    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise GradingError(f"{path}: empty file; 'examgen grade BUILD --template {path.name}' writes the header") \
            from None
    except csv.Error as exc:
        raise GradingError(bad_quoting(exc, 1)) from None
    known = key.columns
    for col in FIXED_COLUMNS:
        if col not in header:
            errors.append(f"{path}:1: missing column '{col}'")
    for col in sorted({c for c in header if header.count(c) > 1}):
        errors.append(f"{path}:1: column '{col}' appears twice")
    for col in header:
        if col not in known and col not in FIXED_COLUMNS:
            close = difflib.get_close_matches(col, [*FIXED_COLUMNS, *known], n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"the build has {', '.join(known)}"
            errors.append(f"{path}:1: unknown column '{col}'; {hint}")
    missing = [c for c in known if c not in header]
    if missing:
        errors.append(f"{path}:1: missing column(s) {', '.join(missing)}")
    if errors:
        raise _refuse(path, errors)

    responses: list[Response] = []
    seen: dict[str, int] = {}  # registration, compared as a person reads it (NFKC, any case) -> line
    last = reader.line_num
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # nothing after a broken quote can be read reliably
            errors.append(bad_quoting(exc, last + 1))
            break
        line, last = last + 1, reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            errors.append(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            continue
        rec = {h: c.strip() for h, c in zip(header, row)}
        reg, code = rec["registration"], rec["variant"]
        same = unicodedata.normalize("NFKC", reg).casefold()
        if not reg:
            errors.append(f"{path}:{line}: column 'registration': empty; fill in the student's registration")
        elif _control(reg):
            errors.append(f"{path}:{line}: column 'registration': contains {_control(reg)}; fix the cell")
        elif same in seen:
            errors.append(f"{path}:{line}: column 'registration': {reg} is also on line {seen[same]}; "
                          "keep one of the two rows")
        else:
            seen[same] = line
        variant = key.variants.get(code)
        if variant is None:
            codes = list(key.variants)
            errors.append(f"{path}:{line}: unknown variant '{code}'; the build has "
                          f"{codes[0] if len(codes) == 1 else codes[0] + '..' + codes[-1]}")
            continue
        values: dict[str, Any] = {}
        for col in known:
            raw = rec[col]
            cell = variant.cells.get(col)
            if cell is None:
                if raw:
                    errors.append(f"{path}:{line}: {col}: variant {code} has no such item or part; leave it empty")
                continue
            value = _parse_boxes(raw, cell) if cell.kind == "mc" else _parse_points(raw, cell)
            if isinstance(value, str):
                errors.append(f"{path}:{line}: column '{col}': {value}; fix the cell")
            else:
                values[col] = value
        responses.append(Response(line, reg, code, values))
    if errors:
        raise _refuse(path, errors)
    return responses


def score(key: BuildKey, responses: Iterable[Response], scale: GradingScale) -> list[Result]:
    """MC by the variant's key (all boxes right: the item's credits, else 0), points as given;
    a re-graded key (regrade.apply) may accept other box sets or give a cell's credits to everyone."""
    results = []
    for r in responses:
        v = key.variants[r.variant]
        cells: dict[str, float] = {}
        for col, cell in v.cells.items():
            value = r.values[col]
            if cell.given:
                cells[col] = cell.credits
            elif cell.kind == "mc":
                cells[col] = cell.credits if value == cell.correct or value in cell.accepted else 0.0
            else:
                cells[col] = float(value)
        problems = {k: sum(p for col, p in cells.items() if v.cells[col].problem == k) for k in v.problems}
        total = sum(problems.values())
        results.append(Result(r.registration, r.variant, cells, problems, total, v.credits,
                              scale.grade(total, v.credits)))
    return results


def results_csv(key: BuildKey, results: list[Result]) -> str:
    ks = range(1, key.n_problems + 1)
    rows: list[list[object]] = [["registration", "variant", *[f"P{k}" for k in ks], "total", "credits", "percent",
                                 "grade"]]
    for r in results:
        rows.append([r.registration, r.variant, *[_fmt(r.problems[k]) if k in r.problems else "" for k in ks],
                     _fmt(r.total), _fmt(r.credits), _fmt(100 * r.total / r.credits), f"{r.grade:.1f}"])
    return csv_text(rows)


def _groups(key: BuildKey, results: list[Result]) -> list[_Group]:
    groups: dict[tuple[str, str, str, str], _Group] = {}

    def add(scope: str, k: str, ref: str, kind: str, credits: float, value: float) -> None:
        g = groups.setdefault((scope, k, ref, kind), _Group(scope, k, ref, kind, credits))
        g.values.append(value)

    order = {"all": 0, **{c: i + 1 for i, c in enumerate(key.variants)}}
    for r in results:
        v = key.variants[r.variant]
        for scope in ("all", r.variant):
            add(scope, "total", "", "total", v.credits, r.total)
            for k, (_, credits, ref) in v.problems.items():
                add(scope, f"P{k}", ref, "problem", credits, r.problems[k])
            for col, cell in v.cells.items():
                kind = "mc-item" if cell.kind == "mc" else "part"
                # across variants an MC item is the same pool item wherever it was printed
                name = f"P{cell.problem}" if scope == "all" and cell.kind == "mc" else col
                add(scope, name, cell.ref, kind, cell.credits, r.cells[col])

    def sort_key(g: _Group) -> tuple[Any, ...]:
        m = re.match(r"P(\d+)([a-z]?)", g.key)
        pos = (int(m.group(1)), g.key) if m else (0, "")
        return (order[g.scope], pos, ["total", "problem", "part", "mc-item"].index(g.kind), g.ref)

    return sorted(groups.values(), key=sort_key)


def _opt(x: float | None) -> str:
    return "" if x is None else _fmt(x)


def statistics_csv(key: BuildKey, results: list[Result], analysis: Analysis | None = None) -> str:
    """One row per (scope, key, id): scope 'all' or a variant code; key total, P<k> or
    P<k><x>; id the template or MC item id; mean points, the share of full marks, the standard
    deviation and the difficulty (mean / credits); with an analysis (analysis.py) the
    discrimination (corrected item-total r) and point-biserial of the 'all' rows of parts and MC
    items, then one 'option' row per MC option (n: how many crossed it; option: its text or
    '(none)' for nothing crossed; correct: 1/0), an 'alpha' row (statistic: Cronbach's alpha of
    n items) and an 'anova' row (the variants compared: statistic F, p, id 'F(df1,df2)')."""
    rows: list[list[object]] = [["scope", "key", "id", "kind", "credits", "n", "mean", "full_marks_share", "sd",
                                 "difficulty", "discrimination", "point_biserial", "option", "correct", "statistic",
                                 "p"]]
    items = {(s.key, s.ref, s.kind): s for s in analysis.items} if analysis else {}
    for g in _groups(key, results):
        full = sum(1 for x in g.values if x >= g.credits - 1e-9)
        mean = stats.fmean(g.values)
        item = items.get((g.key, g.ref, g.kind)) if g.scope == "all" else None
        rows.append([g.scope, g.key, g.ref, g.kind, _fmt(g.credits), len(g.values), _fmt(mean),
                     _fmt(full / len(g.values)), _opt(stats.stdev(g.values) if len(g.values) > 1 else None),
                     _opt(mean / g.credits if g.credits else None), _opt(item.discrimination if item else None),
                     _opt(item.point_biserial if item else None), "", "", "", ""])
    if analysis is not None:
        for s in analysis.items:
            for o in s.options:
                rows.append(["all", s.key, s.ref, "option", "", o.crossed, "", "", "", "", "", "", o.text,
                             int(o.correct), "", ""])
            if s.kind == "mc-item":
                rows.append(["all", s.key, s.ref, "option", "", s.none_crossed, "", "", "", "", "", "", "(none)",
                             "", "", ""])
        rows.append(["all", "alpha", "", "alpha", "", analysis.alpha_items, "", "", "", "", "", "", "", "",
                     _opt(analysis.alpha), ""])
        a = analysis.anova
        if a is not None:
            rows.append(["all", "variants", f"F({a.df_between},{a.df_within})", "anova", "", len(results), "", "",
                         "", "", "", "", "", "", _fmt(a.f), f"{a.p:.4g}"])
    return csv_text(rows)


def grade_counts(results: list[Result]) -> dict[float, int]:
    counts = {g: 0 for g in (*GERMAN_GRADES, FAIL_GRADE)}
    for r in results:
        counts[r.grade] += 1
    return counts


def _analysis_tex(analysis: Analysis, operations: Sequence[Operation]) -> str:
    """The report's second page: the re-grading replayed, Cronbach's alpha, the variants
    compared and one row per part and MC item (with the MC options' tallies)."""
    ops = "\n".join(f"\\item {escape(op.describe())}" for op in operations)
    replayed = f"\\subsection*{{Re-grading replayed}}\n\\begin{{itemize}}\n{ops}\n\\end{{itemize}}\n" \
        if operations else ""
    alpha = "--" if analysis.alpha is None else f"{analysis.alpha:.3f}"
    variants = "\n".join(f"{v.code} & {v.n} & {v.mean:.1f}\\,\\% & {_opt_tex(v.sd, '.1f')} \\\\"
                          for v in analysis.variants)
    a = analysis.anova
    test = "one-way ANOVA: too few students per variant" if a is None else \
        f"one-way ANOVA F({a.df_between}, {a.df_within}) = {a.f:.2f}, p = {a.p:.3g}"
    warning = f"\n\n\\textbf{{Warning: {escape(analysis.warning)}.}}" if analysis.warning else ""
    rows = []
    for it in analysis.items:
        rows.append(f"{escape(it.key)} & {escape(it.ref)} & {'MC' if it.kind == 'mc-item' else 'part'} & {it.n} & "
                    f"{_opt_tex(it.difficulty, '.2f')} & {_opt_tex(it.discrimination, '.2f')} & "
                    f"{_opt_tex(it.point_biserial, '.2f')} \\\\")
        if it.options:
            tally = "; ".join(f"{'*' if o.correct else ''}{j}: {o.crossed}" for j, o in enumerate(it.options, 1))
            rows.append(f"& \\multicolumn{{6}}{{l}}{{crossed (* correct) {tally}; "
                        f"none: {it.none_crossed}}} \\\\")
    return rf"""
\newpage
\setlength{{\parindent}}{{0pt}}
\section*{{Item analysis}}
{replayed}Cronbach's $\alpha$ = {alpha} over the {analysis.alpha_items} items every student had.

\begin{{tabular}}{{lrrr}}
\toprule
Variant & students & mean & sd \\
\midrule
{variants}
\bottomrule
\end{{tabular}}

\smallskip
{test}.{warning}

\subsection*{{Items}}
{{\footnotesize
\begin{{tabular}}{{lllrrrr}}
\toprule
 & id & kind & n & difficulty & discrimination & point-biserial \\
\midrule
{chr(10).join(rows)}
\bottomrule
\end{{tabular}}}}

\smallskip\footnotesize difficulty: mean points / credits; discrimination: corrected item--total correlation (the
item against the total without it); point-biserial: right/wrong against the total. MC options are numbered in the
order of the first variant that printed the item (options told apart by their text).
"""


def _opt_tex(x: float | None, spec: str) -> str:
    return "--" if x is None else format(x, spec)


def report_tex(key: BuildKey, results: list[Result], scale: GradingScale, analysis: Analysis | None = None,
               operations: Sequence[Operation] = ()) -> str:
    """A LaTeX report: summary, histogram of totals (pass line, mean and standard deviation),
    grade distribution, boundaries and per-problem means (pgfplots, no images); with an
    analysis a second page of item analysis."""
    n = len(results)
    totals = [r.total for r in results]
    top = max(v.credits for v in key.variants.values())
    width = max(0.5, math.ceil(top / 20 * 2) / 2)  # at most ~20 bins, in half credits
    nbins = int(math.floor(top / width)) + 1
    bins = [0] * nbins
    for t in totals:
        bins[min(int(math.floor(t / width + 1e-9)), nbins - 1)] += 1
    hist = " ".join(f"({_fmt(i * width)},{c})" for i, c in enumerate(bins)) + f" ({_fmt(nbins * width)},0)"
    counts = grade_counts(results)
    grades = [f"{g:.1f}" for g in counts]
    gdist = " ".join(f"({g},{c})" for g, c in zip(grades, counts.values()))
    passed = sum(1 for r in results if r.grade < FAIL_GRADE)
    title = escape(f"{key.exam.get('code', '')} {key.exam.get('name', '')}".strip())
    credit_totals = sorted({v.credits for v in key.variants.values()})
    bounds = "\n".join(
        f"{g:.1f} & " + " & ".join(_fmt(dict(scale.boundaries(c))[g]) for c in credit_totals)
        + f" & {_fmt(t)}\\,\\% \\\\" for g, t in zip(GERMAN_GRADES, scale.thresholds))
    problem_rows = []
    for g in _groups(key, results):
        if g.scope == "all" and g.kind in ("problem", "total"):
            full = 100 * sum(x >= g.credits - 1e-9 for x in g.values) / len(g.values)
            problem_rows.append(f"{escape(g.key)} & {escape(g.ref)} & {_fmt(g.credits)} & "
                                f"{_fmt(stats.fmean(g.values))} & {full:.1f}\\,\\% \\\\")
    median = stats.median(totals)
    mean = stats.fmean(totals)
    sdev = stats.stdev(totals) if n > 1 else 0.0
    marks = [rf"\draw[red, thick] (axis cs:{_fmt(dict(scale.boundaries(c))[4.0])},0) -- "
             rf"({{axis cs:{_fmt(dict(scale.boundaries(c))[4.0])},0}} |- {{rel axis cs:0,1}}) "
             rf"node[below left, font=\footnotesize] {{pass{'' if len(credit_totals) == 1 else f' of {_fmt(c)}'}}};"
             for c in credit_totals]
    marks.append(rf"\draw[black, thick] (axis cs:{_fmt(mean)},0) -- ({{axis cs:{_fmt(mean)},0}} |- "
                 rf"{{rel axis cs:0,1}}) node[below right, font=\footnotesize] {{mean}};")
    if sdev > 0:
        marks += [rf"\draw[black, dashed] (axis cs:{_fmt(x)},0) -- ({{axis cs:{_fmt(x)},0}} |- {{rel axis cs:0,0.85}})"
                  rf" node[above, font=\footnotesize] {{{label}}};"
                  for x, label in ((mean - sdev, r"$-1\,$sd"), (mean + sdev, r"$+1\,$sd")) if 0 <= x <= nbins * width]
    hist_marks = "\n".join(marks)
    page2 = _analysis_tex(analysis, operations) if analysis is not None else ""

    def ystep(most: int) -> int:  # whole students on the y axis, at most ~8 ticks
        return max(1, math.ceil(most / 8))

    return rf"""\documentclass[10pt,a4paper]{{article}}
\usepackage{{examgenfonts}}
\usepackage[margin=18mm]{{geometry}}
\usepackage{{booktabs}}
\usepackage{{pgfplots}}
\pgfplotsset{{compat=1.16}}
\pagestyle{{empty}}
\begin{{document}}
\section*{{Grading report: {title}}}
{n} students; mean total {_fmt(mean)}, sd {_fmt(sdev)}, median {_fmt(median)}, of {" / ".join(map(_fmt, credit_totals))}
credits; passed (4.0 or better): {passed} ({100 * passed / n:.1f}\,\%).

\begin{{tikzpicture}}
\begin{{axis}}[ybar interval, width=0.95\textwidth, height=5.5cm, xlabel={{Total credits}}, ylabel={{Students}},
  ymin=0, ytick distance={ystep(max(bins))}, xmin=0, xmax={_fmt(nbins * width)},
  x tick label as interval=false, xtick distance={_fmt(width * 2)},
  title={{Totals (bins of {_fmt(width)} credits)}}]
\addplot[fill=blue!40] coordinates {{{hist}}};
{hist_marks}
\end{{axis}}
\end{{tikzpicture}}

\begin{{tikzpicture}}
\begin{{axis}}[ybar, width=0.95\textwidth, height=5.5cm, symbolic x coords={{{",".join(grades)}}}, xtick=data,
  xlabel={{Grade}}, ylabel={{Students}}, ymin=0, ytick distance={ystep(max(counts.values()))},
  nodes near coords, bar width=14pt, enlarge x limits=0.06,
  title={{Grade distribution}}]
\addplot[fill=teal!50] coordinates {{{gdist}}};
\end{{axis}}
\end{{tikzpicture}}

\begin{{minipage}}[t]{{0.38\textwidth}}
\subsection*{{Grade boundaries}}
\begin{{tabular}}{{l{"r" * len(credit_totals)}r}}
\toprule
Grade & {" & ".join(f"of {_fmt(c)}" for c in credit_totals)} & share \\
\midrule
{bounds}
\bottomrule
\end{{tabular}}

\smallskip\footnotesize below the 4.0 boundary: 5.0
\end{{minipage}}\hfill
\begin{{minipage}}[t]{{0.58\textwidth}}
\subsection*{{Problems}}
\begin{{tabular}}{{llrrr}}
\toprule
 & & credits & mean & full marks \\
\midrule
{chr(10).join(problem_rows)}
\bottomrule
\end{{tabular}}
\end{{minipage}}
{page2}\end{{document}}
"""


GRADE_STEPS = 3  # progress calls of grade_build: input read and scored, report typeset, files written


def grade_build(build_dir: Path, responses_csv: Path, out: Path, scale: GradingScale | None = None,
                progress: Callable[[int], None] | None = None, compiler: Compiler | None = None,
                source: str | None = None,
                records: Callable[[list[Result]], tuple[list[Result], dict[str, str]]] | None = None) -> list[Path]:
    """Score every student and write results.csv, statistics.csv and report.pdf into out
    (atomically: any error leaves out untouched; the report typeset by `compiler`), with the
    re-grading operations of out/grading.sqlite replayed (regrade.py) and the run kept in
    out/runs/ (`source`: what was graded, for the grading_runs table; default the CSV's path).
    `records` (records.hook: the class list) adjusts the results and adds files (tumonline.csv).
    Returns the written files."""
    from . import regrade
    from .analysis import analyse
    from .scan import LIVE, manifest_text

    step = progress or (lambda n: None)
    scale = scale or GradingScale()
    ensure_replaceable(Path(out), "grading")  # a build or a user's folder as --out: refused before any work
    key = load_build(build_dir)
    responses = read_responses(responses_csv, key)  # bad input fails here, before any progress line
    if not responses:
        raise GradingError(f"{responses_csv}: no student rows; nothing was written")
    ops = regrade.operations(Path(out))
    key = regrade.apply(key, ops)
    results = score(key, responses, scale)
    analysis = analyse(key, responses, results)  # of every booklet written, before the class list's statuses
    results, extra = records(results) if records is not None else (results, {})
    if not results:
        raise GradingError(f"{responses_csv}: no student left to grade (the class list marks every one absent or "
                           "withdrawn); nothing was written")
    step(1)
    with work_folder("examgen-grade-") as tmp:
        tex = report_tex(key, results, scale, analysis, ops)
        pdf = (compiler or Compiler(None)).compile_once(tmp, "report", tex, "grading report",
                                                        (layouts.get(layouts.DEFAULT).fonts,))  # the exams' typography
        step(1)
        with staging(Path(out), "grading", live=LIVE) as stage:
            carry_over(Path(out), stage, {"results.csv", "statistics.csv", "report.pdf", MANIFEST, *extra, *LIVE})
            (stage / "results.csv").write_text(results_csv(key, results), encoding="utf-8")
            (stage / "statistics.csv").write_text(statistics_csv(key, results, analysis), encoding="utf-8")
            shutil.copyfile(pdf, stage / "report.pdf")
            for name, text in extra.items():
                (stage / name).write_text(text, encoding="utf-8")
            regrade.keep_run(stage, [stage / "results.csv", stage / "statistics.csv", stage / "report.pdf",
                                     *[stage / name for name in extra]],
                             Path(responses_csv), ops, source or str(Path(responses_csv).resolve()), len(results),
                             stats.fmean(r.total for r in results), Path(out))
            (stage / MANIFEST).write_text(manifest_text(stage, Path(out), build=key.dir.name), encoding="utf-8")
    step(1)
    out = Path(out).resolve()
    return [out / "results.csv", out / "statistics.csv", out / "report.pdf", *(out / name for name in extra)]


def summary(out: Path) -> str:
    """One line for the terminal from a written results.csv."""
    with open(Path(out) / "results.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    passed = sum(1 for r in rows if float(r["grade"]) < FAIL_GRADE)
    mean = stats.fmean(float(r["total"]) for r in rows)
    return f"{len(rows)} students, mean total {mean:.2f}, passed {passed} ({100 * passed / len(rows):.1f} %)"
