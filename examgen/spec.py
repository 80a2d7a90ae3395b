"""Load and validate an exam spec (exams/*.yaml) against the schema and the
bank, before anything is sampled. Every error names file:line:col and the key."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from . import layouts, schema
from .bank import Bank
from .errors import ExamgenError, SpecError
from .model import ChooseProblem, ExamInfo, ExamSpec, GradingScale, McProblem, TemplateProblem, linear_thresholds
from .questions import scaled_parts
from .sampling import validate_pinned
from .yamlfile import LoadedYaml, format_keypath, load_yaml, read_bytes

#: The logo formats pdflatex includes, recognised by their first bytes (never by the file name)
IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"%PDF-", "pdf"))
MAX_LOGO_BYTES = 20 * 2**20


def _template_problem(doc: LoadedYaml, raw: Any, path: tuple, bank: Bank, errors: list[str]) -> TemplateProblem | None:
    if isinstance(raw, str):
        raw = {"template": raw}
    tid = raw["template"]
    if tid not in bank.templates:
        close = difflib.get_close_matches(tid, list(bank.templates), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "'examgen list' shows the templates"
        tpath = path + ("template",) if (path + ("template",)) in doc.marks else path
        errors.append(f"{doc.where(tpath)}: {format_keypath(tpath)}: unknown template '{tid}'; {hint}")
        return None
    template = bank.templates[tid]  # loaded now (a broken template is its own error, naming its file)
    params = raw.get("params") or {}
    try:
        validate_pinned(template, params)
    except ExamgenError as exc:
        errors.append(f"{doc.where(path + ('params',))}: {format_keypath(path + ('params',))}: {exc}")
        return None
    credits = float(raw["credits"]) if "credits" in raw else None
    try:
        scaled_parts(template, credits)
    except ExamgenError as exc:
        errors.append(f"{doc.where(path + ('credits',))}: {format_keypath(path + ('credits',))}: {exc}")
        return None
    return TemplateProblem(template=tid, params=params, title=raw.get("title"), credits=credits,
                           where=f"{doc.where(path)}: {format_keypath(path)}")


def _grading(doc: LoadedYaml, errors: list[str]) -> GradingScale:
    """The optional `grading:` key: explicit `thresholds` (10 minimum percentages for
    1.0, 1.3, ..., 4.0, strictly decreasing) or `pass_percent`/`top_percent` for linear steps."""
    g = doc.data.get("grading") or {}
    if "thresholds" in g:
        t = tuple(float(x) for x in g["thresholds"])
        if extra := [k for k in ("pass_percent", "top_percent") if k in g]:
            errors.append(f"{doc.where(('grading',))}: grading: give either thresholds or {' and '.join(extra)}")
        if any(a <= b for a, b in zip(t, t[1:])):
            errors.append(f"{doc.where(('grading', 'thresholds'))}: grading.thresholds: the minimum percentages "
                          f"of 1.0, 1.3, ..., 4.0 must strictly decrease, found {list(g['thresholds'])}")
        return GradingScale(t)
    lo, hi = float(g.get("pass_percent", 50)), float(g.get("top_percent", 95))
    if lo >= hi:
        errors.append(f"{doc.where(('grading',))}: grading: pass_percent ({lo:g}) must be below top_percent ({hi:g})")
    return GradingScale(linear_thresholds(lo, hi))


def _logo(doc: LoadedYaml, given: str, errors: list[str]) -> tuple[str, bytes] | None:
    """exam.logo: a PNG, JPEG or PDF (by content) under the spec's folder, or an absolute
    path given on purpose; returns its type and its bytes."""
    where = f"{doc.where(('exam', 'logo'))}: exam.logo"
    folder = doc.path.parent
    logo = Path(given)
    if not logo.is_absolute():
        logo = Path(os.path.normpath(folder.resolve() / logo))
        if not logo.is_relative_to(folder.resolve()):
            errors.append(f"{where}: '{given}' lies outside the spec's folder {folder}; put the image beside the "
                          "spec or give its absolute path")
            return None
    if not logo.is_file():
        errors.append(f"{where}: file '{given}' not found (relative to {folder})")
        return None
    try:
        with logo.open("rb") as f:
            data = f.read(MAX_LOGO_BYTES + 1)
    except OSError as exc:
        errors.append(f"{where}: cannot read '{given}' ({exc.strerror or exc}); give a readable image")
        return None
    kind = next((k for magic, k in IMAGE_TYPES if data.startswith(magic)), None)
    if kind is None:
        errors.append(f"{where}: '{given}' is not a PNG, JPEG or PDF image (judged by its content); give an image file")
        return None
    if len(data) > MAX_LOGO_BYTES:
        errors.append(f"{where}: '{given}' is larger than {MAX_LOGO_BYTES // 2**20} MB; give a smaller image")
        return None
    return kind, data


def calculator_allowed(resources: str) -> bool:
    """exam.calculator's default: true when the allowed resources name a calculator
    ("Non-programmable calculator"), false otherwise ("None", "no calculator", "one A4 sheet")."""
    return bool(re.search(r"calculator", resources, re.I)) and not re.search(r"\b(no|not|without)\b", resources, re.I)


def load_spec(path: Path, bank: Bank) -> ExamSpec:
    """Load and validate a spec. The file is read once, so a pipe such as <(cat spec) works."""
    path = Path(path)
    source = read_bytes(path, SpecError)
    doc = load_yaml(path, SpecError, source)
    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else f"a {type(doc.data).__name__}"
        raise SpecError(f"{path}:1:1: an exam spec is a mapping with 'exam:' and 'problems:', found {found}")
    errors = schema.schema_errors(doc, schema.SPEC) or schema.text_errors(doc, doc.data)
    if errors:
        raise SpecError("\n".join(errors))
    e = doc.data["exam"]
    logo = _logo(doc, e["logo"], errors) if e.get("logo") else None
    info = ExamInfo(
        course=e["course"], code=e["code"], name=e["name"], date=e["date"], time=e["time"],
        examiner=e["examiner"], resources=e.get("resources", "None"),
        instructions=tuple(e.get("instructions", [])), institution=tuple(e.get("institution", [])),
        language=e.get("language", "en"), calculator=e.get("calculator", calculator_allowed(e.get("resources", ""))),
        registration_grid=e.get("registration_grid", False),
        logo_type=logo[0] if logo else "", logo_data=logo[1] if logo else b"",
    )
    problems: list[Any] = []
    for i, raw in enumerate(doc.data["problems"]):
        p = ("problems", i)
        if "template" in raw:
            tp = _template_problem(doc, raw, p, bank, errors)
            if tp:
                problems.append(tp)
        elif "mc" in raw:
            m = raw["mc"]
            pool = [it for it in bank.mc.values() if not m.get("topics") or it.topic in m["topics"]]
            topics = sorted({it.topic for it in bank.mc.values()})
            for t in m.get("topics", []):
                if t not in topics:
                    close = difflib.get_close_matches(t, topics, n=1)
                    errors.append(f"{doc.where(p + ('mc', 'topics'))}: unknown multiple-choice topic '{t}'; "
                                  + (f"did you mean '{close[0]}'?" if close else f"valid: {', '.join(topics)}"))
            for j, item in enumerate(m.get("items", [])):
                if item in m["items"][:j]:
                    first = m["items"].index(item)
                    errors.append(f"{doc.where(p + ('mc', 'items', j))}: {format_keypath(p + ('mc', 'items', j))}: "
                                  f"item '{item}' is listed twice (first as items[{first}]); list each item once")
                elif item not in bank.mc:
                    close = difflib.get_close_matches(item, list(bank.mc), n=1)
                    errors.append(f"{doc.where(p + ('mc', 'items', j))}: unknown multiple-choice item '{item}'"
                                  + (f"; did you mean '{close[0]}'?" if close else ""))
            n_avail = len(m["items"]) if m.get("items") else len(pool)
            unknown = any(t not in topics for t in m.get("topics", [])) or any(i not in bank.mc
                                                                               for i in m.get("items", []))
            if m["count"] > n_avail and not unknown:
                errors.append(f"{doc.where(p + ('mc', 'count'))}: mc.count is {m['count']} but only {n_avail} "
                              f"items are available; lower count or widen topics")
            problems.append(McProblem(count=m["count"], title=m.get("title", "Multiple Choice"),
                                      topics=tuple(m.get("topics", [])), items=tuple(m.get("items", [])),
                                      options=m.get("options", 4)))
        else:
            c = raw["choose"]
            opts = [_template_problem(doc, o, p + ("choose", "from", j), bank, errors) for j, o in enumerate(c["from"])]
            if c["k"] > len(c["from"]):
                errors.append(f"{doc.where(p + ('choose', 'k'))}: choose.k is {c['k']} but 'from' lists only "
                              f"{len(c['from'])} templates")
            problems.append(ChooseProblem(k=c["k"], options=tuple(o for o in opts if o)))
    for i, raw in enumerate(doc.data["problems"]):  # a template that needs a calculator, in an exam without one
        if info.calculator:
            break
        options = [raw] if "template" in raw else [o for o in (raw.get("choose") or {}).get("from", [])]
        for o in options:
            tid = o if isinstance(o, str) else o["template"]
            if tid in bank.templates and bank.templates[tid].calculator == "required":
                errors.append(f"{doc.where(('problems', i))}: problem P{i + 1} ({tid}) needs a calculator, which "
                              "this exam does not allow; set calculator: true under exam: or choose another template")
    grading = _grading(doc, errors)
    layout = doc.data.get("layout", layouts.DEFAULT)
    try:
        layouts.get(layout)
    except SpecError as exc:  # an unknown layout, named with the valid ones
        errors.append(f"{doc.where(('layout',))}: {exc}")
    if info.registration_grid and layout != "tum":  # only the TUM cover has room for the grid
        errors.append(f"{doc.where(('exam', 'registration_grid'))}: exam.registration_grid: the {layout} layout has no "
                      "registration grid (only layout: tum prints one); remove the key or use layout: tum")
    if errors:
        raise SpecError("\n".join(errors))
    return ExamSpec(path=path, sha256=hashlib.sha256(source).hexdigest(), info=info,
                    problems=tuple(problems), seed=e.get("seed"), grading=grading, layout=layout,
                    logo=e["logo"] if logo else "")
