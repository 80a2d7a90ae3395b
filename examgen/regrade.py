"""Re-grading: audited operations on a build's key that `examgen grade` replays on every run,
and the history of grading runs.

`examgen regrade BUILD --cancel P1c --why "..."` (or --accept P1c=1;3, --full-marks P4b,
--undo 3) appends one row to the `regrade` table of BUILD-grading/grading.sqlite (id, at,
who, op, target, argument, why) and one to the term's `changes` table; rows are never
updated or deleted (an undo is an operation of its own). The database is created (with the
grading folder, atomically) when it is not there yet: grading from a responses CSV keeps its
operations there too. A target is a column as printed (P1c), or P1c@E0002 to read it in one
variant; an MC item is one pool item wherever it was printed:
  cancel      the item (or part) leaves the exam: nobody scores it, and its credits leave the
              variant's maximum (grades relative to the smaller total)
  full-marks  everyone gets the item's (or part's) credits; the maximum stays
  accept      (MC) the boxes given as they are printed in the target's variant also score; in
              another variant the same options (by their text) do, whatever their boxes
  undo        the operation #ID no longer applies

Every grading run is kept: BUILD-grading/runs/NNN-YYYYMMDDTHHMMSS/ holds its results.csv,
statistics.csv, report.pdf, the responses it graded and operations.json (the operations it
replayed), and the table `grading_runs` of grading.sqlite has one row per run (written with
it, atomically); results.csv, statistics.csv and report.pdf at the top are the latest run's."""

from __future__ import annotations

import dataclasses
import getpass
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import GradingError
from .grading import BuildKey, Cell, VariantKey, _parse_boxes, load_build
from .scan import DB, live_db, log_change, open_db, transaction
from .targets import ensure_replaceable

RUNS = "runs"
OPS = ("cancel", "accept", "full-marks", "undo")
_TARGET = re.compile(r"^(P\d+[a-z])(?:@(E\d{4}))?$")


@dataclass(frozen=True)
class Operation:
    id: int
    at: str
    who: str
    op: str
    target: str
    argument: str | None
    why: str

    def describe(self) -> str:
        what = {"cancel": f"cancel {self.target}", "full-marks": f"full marks for {self.target}",
                "accept": f"accept {self.target}={self.argument}", "undo": f"undo #{self.target}"}[self.op]
        return f"#{self.id} {what} ({self.who}, {self.at}): {self.why}"

    def record(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def operations(folder: Path) -> list[Operation]:
    """The operations stored in folder/grading.sqlite (none without the database), oldest first."""
    path = Path(folder) / DB
    if not path.is_file():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'regrade'").fetchone():
            return []
        return [Operation(*row) for row in
                db.execute("SELECT id, at, who, op, target, argument, why FROM regrade ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        raise GradingError(f"{path}: not a grading database of examgen ({exc}); move it away") from None
    finally:
        db.close()


def scanned_booklets(folder: Path) -> int:
    """How many booklets examgen scan stored in folder/grading.sqlite (0 without one)."""
    path = Path(folder) / DB
    if not path.is_file():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        has = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'booklets'").fetchone()
        return int(db.execute("SELECT count(*) FROM booklets").fetchone()[0]) if has else 0
    except sqlite3.DatabaseError:
        return 0
    finally:
        db.close()


# ------------------------------------------------------------------ replaying operations on a key
def _cells(key: BuildKey, op: Operation) -> tuple[Cell, dict[str, str]]:
    """The cell the target names (in its variant, or the first that prints it) and where the
    operation applies: variant -> column (an MC item: every variant that printed that pool item)."""
    where = f"#{op.id} {op.op} {op.target}" if op.id else f"--{op.op} {op.target}"
    m = _TARGET.match(op.target)
    if not m:
        raise GradingError(f"{where}: not a column as printed (P1c, or P1c@E0002 for one variant's); "
                           f"the build has {', '.join(key.columns)}")
    col, code = m.groups()
    if code is not None and code not in key.variants:
        raise GradingError(f"{where}: the build has no variant {code}; it has {', '.join(key.variants)}")
    having = {c: v.cells[col] for c, v in key.variants.items() if col in v.cells and code in (None, c)}
    if not having:
        raise GradingError(f"{where}: {'variant ' + code if code else 'the build'} has no column {col}; "
                           f"the build has {', '.join(key.columns)}")
    first = next(iter(having.values()))
    if first.kind == "part":
        return first, {c: col for c in having}
    items = {c: cell.ref for c, cell in having.items()}
    if len(set(items.values())) > 1:
        raise GradingError(f"{where}: {col} prints different MC items across variants "
                           f"({', '.join(f'{c}: {i}' for c, i in items.items())}); name one: {col}@"
                           f"{next(iter(items))}")
    if op.op == "accept" and code is None and len({cell.options for cell in having.values()}) > 1:
        raise GradingError(f"{where}: {col}'s options differ between variants (order or text); name the "
                           f"variant whose boxes you mean: {col}@{next(iter(having))}={op.argument}")
    return first, {c: cc.column for c, v in key.variants.items() for cc in v.cells.values() if cc.ref == first.ref
                   and cc.kind == "mc"}


def _boxes(op: Operation, cell: Cell) -> frozenset[int]:
    """The accepted boxes, by the responses sheet's rule for crossed boxes (1;3; empty: nothing crossed)."""
    boxes = _parse_boxes(op.argument or "", cell)
    if isinstance(boxes, str):
        where = f"#{op.id} accept {op.target}" if op.id else f"--accept {op.target}"
        raise GradingError(f"{where}={op.argument}: {boxes}")
    return boxes


def apply(key: BuildKey, ops: list[Operation]) -> BuildKey:
    """The key with the operations replayed in order (undone ones skipped); each checked
    against this build (a rebuilt exam may have lost a column: one clear line)."""
    undone = {int(op.target) for op in ops if op.op == "undo"}
    variants = {c: (dict(v.cells), v.credits, dict(v.problems)) for c, v in key.variants.items()}
    for op in ops:
        if op.op == "undo" or op.id in undone:
            continue
        if op.op not in OPS:
            raise GradingError(f"#{op.id}: unknown re-grading operation {op.op!r}; examgen knows {', '.join(OPS)}")
        cell, where = _cells(key, op)
        if op.op == "accept":
            if cell.kind != "mc":
                raise GradingError(f"--accept {op.target}: a part is graded by hand (its points are given, not "
                                   f"its answer); correct its points, or give everyone its credits with "
                                   f"--full-marks {op.target.split('=')[0]}")
            texts = {cell.options[b - 1] if cell.options else str(b) for b in _boxes(op, cell)}
        for code, col in where.items():
            cells, credits, problems = variants[code]
            mine = cells.get(col)
            if mine is None:  # cancelled by an earlier operation
                continue
            if op.op == "cancel":
                del cells[col]
                title, pc, ref = problems[mine.problem]
                problems[mine.problem] = (title, pc - mine.credits, ref)
                credits -= mine.credits
                if credits <= 0:
                    raise GradingError(f"--cancel {op.target}: would leave variant {code} without credits; "
                                       "cancel fewer items")
            elif op.op == "full-marks":
                cells[col] = dataclasses.replace(mine, given=True)
            else:
                names = mine.options or tuple(str(b) for b in range(1, mine.n_options + 1))
                if texts <= set(names):
                    alt = frozenset(names.index(t) + 1 for t in texts)
                    cells[col] = dataclasses.replace(mine, accepted=mine.accepted | {alt})
            variants[code] = (cells, credits, problems)
    return BuildKey(key.dir, key.exam, {c: VariantKey(c, cr, pr, ce) for c, (ce, cr, pr) in variants.items()})


# ------------------------------------------------------------------ recording an operation
def record(build_dir: Path, folder: Path, op: str, target: str, argument: str | None, why: str,
           who: str | None = None) -> Operation:
    """Check the operation against the build and the stored ones, then store it (the database
    changed in one transaction under the folder's lock; created with the folder when missing)."""
    if not why.strip():
        raise GradingError(f"--{op} {target}: give the reason with --why \"...\" (it goes into the audit trail)")
    who = who or getpass.getuser()
    folder = ensure_replaceable(Path(folder), "grading")  # examgen's grading folder, or a new one
    key = load_build(build_dir)
    stored = operations(folder)
    new = Operation(0, _now(), who, op, target, argument, why.strip())
    if op == "undo":
        ids = {o.id: o for o in stored}
        undone = {int(o.target) for o in stored if o.op == "undo"}
        if not target.isdigit() or int(target) not in ids or ids[int(target)].op == "undo":
            raise GradingError(f"--undo {target}: no such re-grading operation; the stored ones are "
                               f"{', '.join(f'#{i}' for i, o in ids.items() if o.op != 'undo') or 'none'}")
        if int(target) in undone:
            raise GradingError(f"--undo {target}: operation #{target} is undone already")
    else:
        apply(key, [*stored, new])  # one clear line if it does not fit this build

    with transaction(folder, build=key.dir.name) as db:
        cur = db.execute("INSERT INTO regrade(at, who, op, target, argument, why) VALUES (?,?,?,?,?,?)",
                         (new.at, who, op, target, argument, new.why))
        done = dataclasses.replace(new, id=int(cur.lastrowid or 0))
        log_change(db, who, f"regrade {op}", column=target, new=argument, why=f"#{done.id}: {new.why}")
    return done


# ------------------------------------------------------------------ the history of grading runs
def keep_run(stage: Path, files: list[Path], responses: Path, ops: list[Operation], source: str, students: int,
             mean: float, folder: Path) -> Path:
    """Copy a run's files into stage/runs/NNN-<time>/ (NNN one more than the last kept run) and
    add its row to the grading database's grading_runs (scan.live_db: in place, under the lock
    grade's staging of `folder` holds); the row is committed just before the swap."""
    runs = stage / RUNS
    db = open_db(live_db(folder, stage))
    try:
        last = max([int(p.name.split("-")[0]) for p in runs.glob("[0-9][0-9][0-9]*-*")] if runs.is_dir() else [],
                   default=0)
        last = max(last, db.execute("SELECT coalesce(max(id), 0) FROM grading_runs").fetchone()[0])
        at = time.strftime("%Y%m%dT%H%M%S")
        run = runs / f"{last + 1:03d}-{at}"
        run.mkdir(parents=True)
        for f in files:
            (run / f.name).write_bytes(f.read_bytes())
        (run / "responses.csv").write_bytes(responses.read_bytes())
        (run / "operations.json").write_text(json.dumps([o.record() for o in ops], indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
        db.execute("INSERT INTO grading_runs(id, at, folder, source, students, operations, mean) "
                   "VALUES (?,?,?,?,?,?,?)", (last + 1, _now(), run.relative_to(stage).as_posix(), source, students,
                                              json.dumps([o.id for o in ops]), mean))
        db.commit()
    finally:
        db.close()
    return run
