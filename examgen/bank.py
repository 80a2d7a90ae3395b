"""Discover and validate the question bank: question_bank/<topic>/<id>/
(question.yaml, statement.tex.j2, solution.tex.j2) and the multiple-choice
pool question_bank/mc/*.yaml, plus any --bank folders of an instructor's own."""

from __future__ import annotations

import difflib
import pickle
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from . import BANK_DIR, __version__, cachedir, conflicts, rendering, schema, solvers, variety
from .compiler.cache import Cache, key
from .errors import ExamgenError, TemplateError
from .model import (
    NUMERIC_KINDS,
    GradedAnswer,
    McItem,
    McOption,
    ParamDecl,
    Part,
    RubricItem,
    Template,
    default_tolerance,
)
from .texfmt import untypesettable_at
from .yamlfile import LoadedYaml, format_keypath, load_yaml

DEFAULT_ANSWER_MM = 40.0


class Templates(Mapping[str, Template]):
    """The bank's templates by id, each read, validated and compiled when first used, so
    that a build loads only the templates its spec names. The ids are the folder names
    (a template's id must equal its folder's name: checked when it is loaded)."""

    def __init__(self, files: dict[str, Path], mc: dict[str, McItem], stored: _Stored | None = None):
        self._files = files  # id -> question.yaml
        self._mc = mc
        self._stored = stored  # where loaded templates are kept between runs (None: nowhere)
        self._loaded: dict[str, Template] = {}
        self._validated = False  # conflicts.validate ran over the whole bank
        self._lock = threading.RLock()

    def __getitem__(self, template_id: str) -> Template:
        qfile = self._files[template_id]  # KeyError: not a template of the bank
        with self._lock:
            if template_id not in self._loaded:
                t = self._load(template_id, qfile)
                self.check_conflicts([t])
                self._loaded[template_id] = t
            return self._loaded[template_id]

    def check_conflicts(self, questions: list[Template] | list[McItem]) -> None:
        """conflicts.validate for these questions: an entry of conflicts_with: that names a
        template or MC item id or an MC tag needs no other template loaded; only another
        entry (a template's asks: tag, or a mistake) loads them all (kept) and checks the
        whole bank, once."""
        if self._validated:
            return
        cheap = set(self._files) | set(self._mc) | {t for it in self._mc.values() for t in it.tags}
        if any(e == q.id or e not in cheap for q in questions for e in q.conflicts_with):
            with self._lock:
                for q in questions:
                    if isinstance(q, Template):
                        self._loaded.setdefault(q.id, q)
                every = {tid: self._loaded[tid] if tid in self._loaded else self._load(tid, f)
                         for tid, f in self._files.items()}
                conflicts.validate(every, self._mc)
                self._loaded.update(every)
                self._validated = True

    def _load(self, template_id: str, qfile: Path) -> Template:
        """A template as _load_template reads it, from the stored bank if it holds it (then kept there)."""
        t = self._stored.get(f"template-{template_id}") if self._stored is not None else None
        if not isinstance(t, Template):
            t = _load_template(qfile)
            if self._stored is not None:
                self._stored.put(f"template-{template_id}", t)
        return t

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


@dataclass(frozen=True)
class Bank:
    templates: Mapping[str, Template]
    mc: dict[str, McItem]

    def template(self, template_id: str) -> Template:
        if template_id in self.templates:
            return self.templates[template_id]
        close = difflib.get_close_matches(template_id, list(self.templates), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'examgen list' shows the templates"
        raise TemplateError(f"unknown template '{template_id}'{hint}")


def _typeset_question(path: tuple) -> bool:
    """The strings of a question.yaml that reach a PDF: the title, part names, rubric texts."""
    return path[:1] == ("title",) or (path[:1] == ("parts",) and path[-1] in ("name", "text", "label"))


def _typeset_mc(path: tuple) -> bool:
    """The strings of an MC pool that reach a PDF: stems, options, reasons, notes."""
    return path[:1] == ("items",) and path[-1] in ("stem", "text", "why", "note")


def _graded_answers(doc: LoadedYaml, i: int, p: dict) -> tuple[GradedAnswer, ...]:
    """A part's `answers:` declarations, checked against each other and the part's credits."""
    out = []
    for j, a in enumerate(p.get("answers") or ()):
        where = doc.where(("parts", i, "answers", j))
        kind = a["kind"]
        if kind != "text" and not a.get("name"):
            raise TemplateError(f"{where}: a graded answer of kind '{kind}' needs 'name:' (the solver's key "
                                "holding its exact value)")
        decimals = a.get("round")
        if decimals is not None and kind not in NUMERIC_KINDS:
            raise TemplateError(f"{where}: 'round' applies to numbers, vectors and matrices, not to kind '{kind}'")
        if "tolerance" in a and decimals is None:
            raise TemplateError(f"{where}: a tolerance needs 'round:' (the decimals the statement asks for); "
                                "an exact answer has none")
        if a.get("choices") and kind != "choice":
            raise TemplateError(f"{where}: 'choices' applies to kind 'choice' only")
        if kind == "choice" and not a.get("choices"):
            raise TemplateError(f"{where}: a graded answer of kind 'choice' needs 'choices: [...]' (what a student "
                                "picks from, e.g. in Moodle's drop-down)")
        if (kind == "checker") != bool(a.get("accepts")):
            raise TemplateError(f"{where}: " + ("a graded answer of kind 'checker' needs 'accepts: module.function' "
                                                "(params, proposed) -> (ok, why)" if kind == "checker" else
                                                f"'accepts' applies to kind 'checker' only, not '{kind}'"))
        tol = float(a.get("tolerance", default_tolerance(decimals)))
        if decimals is not None and not 0.5 * 10.0 ** -decimals < tol <= 2 * 10.0 ** -decimals:
            raise TemplateError(f"{where}: tolerance {tol:g} for an answer rounded to {decimals} decimals must "
                                f"be above {0.5 * 10.0 ** -decimals:g} (the rounding alone) and at most "
                                f"{2 * 10.0 ** -decimals:g} (two units of the last decimal)")
        out.append(GradedAnswer(a.get("name"), a["label"], kind, float(a["points"]), decimals, tol,
                                tuple(a.get("choices") or ()), a.get("accepts")))
    total = sum(a.points for a in out)
    if out and abs(total - p["credits"]) > 1e-9:
        raise TemplateError(f"{doc.where(('parts', i, 'answers'))}: part '{p['name']}': graded answers' points "
                            f"add up to {total:g} but the part has {p['credits']:g} credits; make them equal "
                            "(a share graded by hand is an answer of kind 'text')")
    return tuple(out)


def _load_template(qfile: Path) -> Template:
    doc = load_yaml(qfile, TemplateError)
    errors = schema.schema_errors(doc, schema.QUESTION) or schema.text_errors(doc, doc.data, typeset=_typeset_question)
    if errors:
        raise TemplateError("; ".join(errors))
    d = doc.data
    folder = qfile.parent
    if d["id"] != folder.name:
        raise TemplateError(f"{doc.where(('id',))}: id '{d['id']}' must equal the folder name '{folder.name}'")
    parts = []
    for i, p in enumerate(d["parts"]):
        rubric = tuple(RubricItem(float(r["points"]), r["text"]) for r in p["rubric"])
        total = sum(r.points for r in rubric)
        if abs(total - p["credits"]) > 1e-9:
            raise TemplateError(f"{doc.where(('parts', i, 'rubric'))}: part '{p['name']}': rubric points add up to "
                                f"{total:g} but the part has {p['credits']:g} credits; make them equal")
        answers = _graded_answers(doc, i, p)
        parts.append(Part(p["name"], float(p["credits"]), float(p.get("answer_height", DEFAULT_ANSWER_MM)),
                          bool(p.get("grid", False)), rubric, answers))
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise TemplateError(f"{doc.where(('parts',))}: part names repeat: {names}")
    declared = [a.name for p in parts for a in p.answers if a.name]
    twice = sorted({n for n in declared if declared.count(n) > 1})
    if twice:
        raise TemplateError(f"{doc.where(('parts',))}: graded answer '{twice[0]}' is declared twice; "
                            "declare each answer in one part")
    params = tuple(
        ParamDecl(name, spec["type"], spec.get("sample"), spec.get("default"), spec.get("doc", ""))
        for name, spec in (d.get("params") or {}).items()
    )
    texts = {}
    for kind in ("statement", "solution"):
        f = folder / f"{kind}.tex.j2"
        if not f.is_file():
            raise TemplateError(f"{folder}: missing {f.name}")
        texts[kind] = f.read_text(encoding="utf-8")
        bad = untypesettable_at(texts[kind])
        if bad:
            raise TemplateError(f"{f}:{bad[0]}:{bad[1]}: {bad[2]}")
        tmpl = rendering.compile_blocks(texts[kind], str(f))
        missing = [n for n in names if n not in tmpl.blocks]
        if missing:
            raise TemplateError(f"{f}: no block for part(s) {', '.join(missing)} "
                                f"(add <% block {missing[0]} %> ... <% endblock %>)")
    refs: list[tuple[tuple[str | int, ...], str]] = [((key,), d[key]) for key in ("solver", "sampler", "checker")
                                                     if d.get(key)]
    refs += [((key, i), c) for key in ("constraints", "nice") for i, c in enumerate(d.get(key, []))]
    both = sorted(set(d.get("constraints", [])) & set(d.get("nice", [])))
    if both:
        raise TemplateError(f"{doc.where(('nice',))}: nice: '{both[0]}' is also listed in constraints:; a constraint "
                            "is either validity (constraints:, pins must meet it) or niceness (nice:, draws only)")
    refs += [(("parts", i, "answers", j, "accepts"), a["accepts"]) for i, p in enumerate(d["parts"])
             for j, a in enumerate(p.get("answers") or ()) if a.get("accepts")]
    refs += variety.references(d)
    for keypath, ref in refs:
        try:
            solvers.resolve(ref, folder)
        except TemplateError as exc:
            raise TemplateError(f"{doc.where(keypath)}: {format_keypath(keypath)}: {exc}") from None
    degenerate, variants, canonical = variety.declared(doc)
    kind = d.get("kind", "numeric" if d.get("solver") else "free-text")
    if kind == "numeric" and not d.get("solver"):
        raise TemplateError(f"{doc.where(('kind',))}: a numeric template needs 'solver: module.function'")
    return Template(
        id=d["id"], title=d["title"], topic=d["topic"], source=d.get("source", ""), directory=folder,
        params=params, parts=tuple(parts), solver=d.get("solver"), sampler=d.get("sampler"),
        checker=d.get("checker"), constraints=tuple(d.get("constraints", [])), kind=kind,
        statement=texts["statement"], solution=texts["solution"], calculator=d["calculator"],
        nice=tuple(d.get("nice", [])),
        asks=tuple(d.get("asks", [])), conflicts_with=tuple(d.get("conflicts_with", [])),
        conflicts_at=tuple(doc.where(("conflicts_with", i)) for i in range(len(d.get("conflicts_with", [])))),
        degenerate=degenerate, variants=variants, canonical=canonical,
    )


def _load_mc(pfile: Path) -> list[McItem]:
    doc = load_yaml(pfile, TemplateError)
    errors = schema.schema_errors(doc, schema.MC_FILE) or schema.text_errors(doc, doc.data, typeset=_typeset_mc)
    if errors:
        raise TemplateError("; ".join(errors))
    if doc.data["topic"] != pfile.stem:
        raise TemplateError(f"{doc.where(('topic',))}: topic '{doc.data['topic']}' must equal the file name "
                            f"'{pfile.stem}'")
    items = []
    for i, it in enumerate(doc.data["items"]):
        texts = [o["text"] for o in it["options"]]
        if len(set(texts)) != len(texts):
            raise TemplateError(f"{doc.where(('items', i, 'options'))}: item '{it['id']}' has two equal options")
        items.append(McItem(
            id=it["id"], topic=doc.data["topic"], source=it.get("source", ""), stem=it["stem"],
            options=tuple(McOption(o["text"], o["correct"], o["why"]) for o in it["options"]),
            note=it.get("note", ""), tags=tuple(it.get("tags", [])),
            conflicts_with=tuple(it.get("conflicts_with", [])),
            conflicts_at=tuple(doc.where(("items", i, "conflicts_with", j))
                               for j in range(len(it.get("conflicts_with", [])))),
        ))
    return items


def _fingerprint(roots: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of every file: the cache key of a loaded bank."""
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns)
                 for r in roots if r.is_dir() for f in sorted(r.rglob("*")) if f.is_file())


class _Stored:
    """A loaded bank kept in the user's cache between runs: the template files and the multiple-choice
    pool as load_bank found them, and each template once it is loaded (pickled), each an entry of the
    verified compile cache (compiler.cache: its sha256 recorded, stored atomically, a damaged one
    discarded), kind "bank", keyed by `tree` (uptodate.tree_digest: the sha256 of every file of
    examgen and of the banks, by content), examgen's and Python's versions and the banks' places. A
    build whose files are all unchanged reads them there instead of parsing and validating the YAML
    again (a quarter of a second before its first TeX run); any changed file (a template, a pool,
    examgen itself) is another key, loaded and validated as usual. Only what loaded without error
    is kept; a record that cannot be read is a miss (loaded again, stored again). The cache holds
    what examgen wrote there (as the jinja2 bytecode beside it): only its owner can write it."""

    def __init__(self, cache: Cache, tree_key: str):
        self.cache, self.tree_key = cache, tree_key

    @classmethod
    def at(cls, tree: str | None, roots: tuple[Path, ...]) -> _Stored | None:
        cache = Cache.usable(cachedir.cache_dir()) if tree is not None else None
        if tree is None or cache is None:
            return None
        return cls(cache, key(tree, __version__, sys.version, *map(str, roots)))

    def _entry(self, name: str) -> Path:
        return self.cache.entry("bank", key(self.tree_key, name))

    def get(self, name: str) -> object:
        found = self.cache.verified(self._entry(name), [f"{name}.pickle"])
        if found is None:
            return None
        try:
            return pickle.loads((found / f"{name}.pickle").read_bytes())
        except Exception:  # noqa: BLE001 - well hashed but not what examgen pickled: a miss, whatever it raises
            self.cache.discard(found)
            return None

    def put(self, name: str, value: object) -> None:
        self.cache.store(self._entry(name), {f"{name}.pickle": pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)})


def load_bank(extra: Iterable[Path] = (), tree: str | None = None) -> Bank:
    """The shipped bank and the `extra` folders. `tree`, when the caller has it (the CLI takes it
    for its up-to-date check), is uptodate.tree_digest of examgen and these folders: the bank is
    then kept in the user's cache and read from there while no file changes (_Stored)."""
    # --bank question_bank names the shipped bank, which is always loaded: not twice
    roots = tuple(dict.fromkeys(r for r in (Path(p).resolve() for p in extra) if r != BANK_DIR))
    return _load_bank(roots, _fingerprint((BANK_DIR, *roots)), tree)


@lru_cache(maxsize=8)
def _load_bank(extra: tuple[Path, ...], fingerprint: tuple[tuple[str, int, int], ...],
               tree: str | None = None) -> Bank:
    stored = _Stored.at(tree, (BANK_DIR, *extra))
    found = stored.get("bank") if stored is not None else None
    fresh = not (isinstance(found, tuple) and len(found) == 2 and all(isinstance(x, dict) for x in found))
    files, mc = _discover(extra) if fresh else cast(tuple[dict[str, Path], dict[str, McItem]], found)
    templates = Templates(files, mc, stored)
    templates.check_conflicts(list(mc.values()))
    if fresh and stored is not None:
        stored.put("bank", (files, mc))
    return Bank(templates, mc)


def _discover(extra: tuple[Path, ...]) -> tuple[dict[str, Path], dict[str, McItem]]:
    """The banks' template files by id (each read when first used) and their multiple-choice pool, read."""
    files: dict[str, Path] = {}  # template id (its folder's name) -> question.yaml; loaded when used
    mc: dict[str, McItem] = {}
    for root in (BANK_DIR, *extra):
        if not root.is_dir():
            raise ExamgenError(f"{root}: bank folder not found")
        for qfile in sorted(root.rglob("question.yaml")):
            tid = qfile.parent.name
            if tid in files:
                raise TemplateError(f"{qfile}: template id '{tid}' is already defined in {files[tid]}")
            files[tid] = qfile
        mcdir = root / "mc"
        for pfile in sorted(mcdir.glob("*.yaml")) if mcdir.is_dir() else []:
            for item in _load_mc(pfile):
                if item.id in mc:
                    raise TemplateError(f"{pfile}: multiple-choice id '{item.id}' is defined twice")
                mc[item.id] = item
    return files, mc
