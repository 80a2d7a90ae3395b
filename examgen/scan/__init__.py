"""`examgen scan BUILD SCAN...`: scanned booklets -> a grading database.

Data flow, per page: load (pages.load) -> identify (QR) -> register (discs + QR, homography)
-> measure (every box of the page, raw numbers) -> store (grading.sqlite) ; then, over the
whole database: classify (classify.py, thresholds from the database) -> write (responses.csv,
review/). The database accumulates: a scan file already in it (same sha256) adds nothing,
manual overrides and a roster's registrations are kept, and every run re-classifies every
stored measurement with the current thresholds (`--set NAME=VALUE` changes one), so a
threshold change never needs a rescan.

The output folder (default BUILD-grading/) is examgen's "grading" folder, written atomically;
`examgen grade BUILD` writes its results beside these files and keeps them."""

from __future__ import annotations

import html
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradingError
from ..grading import FIXED_COLUMNS, BuildKey, load_build
from ..outputs import MANIFEST, csv_text, folder_manifest, sha256
from ..targets import carry_over, ensure_replaceable, is_mount, locked, staging, work_folder
from .classify import (
    DEFAULTS,
    Reading,
    assign_booklets,
    box_state,
    cell_crossed,
    mc_value,
    registration_value,
    score_value,
)
from .layout import load_layouts
from .pages import PageRead, Reference, load, read_page

DB = "grading.sqlite"
BUSY_SECONDS = 30  # how long a writer waits for another's transaction (a scan holds one for its whole run)
LIVE = (DB,)  # updated in place under the folder's lock, never copied (targets.staging)
RESPONSES = "responses.csv"
REVIEW = "review"
MAX_LINES = 20  # problem lines printed; the rest are counted

SCHEMA = """
CREATE TABLE IF NOT EXISTS scan_files(id INTEGER PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE,
    pages INTEGER NOT NULL, added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages(id INTEGER PRIMARY KEY, file INTEGER NOT NULL REFERENCES scan_files(id),
    idx INTEGER NOT NULL, qr TEXT, variant TEXT, booklet INTEGER, page INTEGER, transform TEXT,
    residual REAL, discs INTEGER, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS booklets(booklet INTEGER PRIMARY KEY, variant TEXT NOT NULL, registration TEXT);
CREATE TABLE IF NOT EXISTS measurements(id INTEGER PRIMARY KEY, page INTEGER NOT NULL REFERENCES pages(id),
    kind TEXT NOT NULL, column_name TEXT NOT NULL, number REAL NOT NULL, corrector INTEGER NOT NULL,
    x REAL, y REAL, w REAL, h REAL, dark REAL NOT NULL, paper REAL NOT NULL, paper_share REAL NOT NULL,
    crop BLOB);
CREATE TABLE IF NOT EXISTS automatic(booklet INTEGER NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL,
    flags TEXT NOT NULL, PRIMARY KEY(booklet, column_name));
CREATE TABLE IF NOT EXISTS overrides(booklet INTEGER NOT NULL, column_name TEXT NOT NULL, value TEXT NOT NULL,
    note TEXT, at TEXT, PRIMARY KEY(booklet, column_name));
CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS thresholds(name TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS students(registration TEXT PRIMARY KEY, last_name TEXT NOT NULL, first_name TEXT NOT NULL,
    programme TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'registered', bonus INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS answer_crops(id INTEGER PRIMARY KEY, page INTEGER NOT NULL REFERENCES pages(id),
    column_name TEXT NOT NULL, crop BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS changes(id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, what TEXT NOT NULL,
    booklet INTEGER, column_name TEXT, old TEXT, new TEXT, why TEXT);
CREATE TABLE IF NOT EXISTS student_rows(registration TEXT PRIMARY KEY, header TEXT NOT NULL, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS regrade(id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, op TEXT NOT NULL,
    target TEXT NOT NULL, argument TEXT, why TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grading_runs(id INTEGER PRIMARY KEY, at TEXT NOT NULL, folder TEXT NOT NULL,
    source TEXT NOT NULL, students INTEGER NOT NULL, operations TEXT NOT NULL, mean REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tutors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
    added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cell_versions(booklet INTEGER NOT NULL, column_name TEXT NOT NULL, version INTEGER NOT NULL,
    tutor TEXT NOT NULL, value TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(booklet, column_name));
CREATE TABLE IF NOT EXISTS second_marks(booklet INTEGER NOT NULL, column_name TEXT NOT NULL, tutor TEXT NOT NULL,
    value TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(booklet, column_name, tutor));
CREATE TABLE IF NOT EXISTS app_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registration_reads(booklet INTEGER PRIMARY KEY, value TEXT NOT NULL, flags TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pages_booklet ON pages(booklet, page);
CREATE INDEX IF NOT EXISTS measurements_page ON measurements(page, column_name);
CREATE INDEX IF NOT EXISTS answer_crops_page ON answer_crops(page);
CREATE INDEX IF NOT EXISTS changes_who ON changes(who);
"""
# students: the class list (registration as TUMonline writes it, status registered | absent | withdrawn |
# cheating, bonus 0/1); booklets.registration maps a scanned booklet to one of them.
# answer_crops: each read page's answer regions (grey PNG, ~100 dpi) for the tutors of `examgen correct`.
# changes: the term's audit trail (who, when, what, old -> new, why) of every manual change after the
# scan: corrections, overrides, mappings, statuses, re-grading operations. Rows are only ever added.
# student_rows: each student's row as TUMonline exported it (records.py hands it back with the grade).
# regrade: the re-grading operations `examgen grade` replays; grading_runs: one row per kept run (regrade.py).
# tutors, cell_versions, second_marks, app_settings: the correction app's (examgen/correct/data.py).
# registration_reads: each booklet's cover registration grid as the last scan read it ('0370?001', '?' an
# unclear column) and its flags; map_registrations turns clean reads into booklets.registration.
# columns added since the first version: (table, column, declaration); _open adds them to an older database
ADDED = [("pages", "how", "TEXT"),  # 'qr' | 'content': which page it is, from its QR code or from its print
         ("pages", "candidates", "TEXT"),  # identified by its print: JSON [[variant, page], ...], best first
         ("measurements", "candidate", "INTEGER NOT NULL DEFAULT 0"),  # ... measured as that candidate
         ("second_marks", "version", "INTEGER NOT NULL DEFAULT 0")]  # the cell's version the mark was given at


@dataclass
class Report:
    files_added: int = 0
    files_known: int = 0
    pages_read: int = 0
    booklets: int = 0
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        shown = self.problems[:MAX_LINES]
        more = len(self.problems) - len(shown)
        tail = f" ({more} more in review/review.html)" if more else ""
        return [*shown, f"{len(self.problems)} problem(s) to review{tail}"] if self.problems else []


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def log_change(db: sqlite3.Connection, who: str, what: str, *, booklet: int | None = None, column: str | None = None,
               old: str | None = None, new: str | None = None, why: str | None = None) -> None:
    """Append one row to the audit trail (`changes`); the caller commits with the change itself."""
    db.execute("INSERT INTO changes(at, who, what, booklet, column_name, old, new, why) VALUES (?,?,?,?,?,?,?,?)",
               (_now(), who, what, booklet, column, old, new, why))


def open_db(path: Path) -> sqlite3.Connection:
    """The grading database at path, created or brought up to the current schema."""
    return _open(path)


def live_db(folder: Path, stage: Path) -> Path:
    """The grading database to write inside a staging of folder (targets.staging, under the folder's
    lock): the live one in place when folder has one (the correction app may have it open, so it is
    never copied), else a new one in the staging folder. staging(..., live=LIVE) moves it at the swap."""
    return folder / DB if (folder / DB).is_file() else stage / DB


def manifest_text(stage: Path, folder: Path, **fields: object) -> str:
    """The grading folder's manifest.json, written into the staging folder: the database listed as live."""
    has_db = (stage / DB).is_file() or (folder / DB).is_file()
    return folder_manifest(stage, "grading", LIVE if has_db else (), **fields)


@contextmanager
def transaction(folder: Path, **fields: object) -> Iterator[sqlite3.Connection]:
    """One write transaction on folder's grading database: in place, under the folder's lock (so that
    scan, grade, regrade, the class list and the correction app never write at once and no write is
    lost); committed when the block ends, rolled back on an error. Without a database, a new one is
    created with the folder, staged: a failure leaves no folder behind (`fields`: its manifest's)."""
    folder = ensure_replaceable(Path(folder), "grading")
    if (folder / DB).is_file():
        with locked(folder, is_mount(folder)):
            if (folder / DB).is_file():
                db = open_db(folder / DB)
                try:
                    yield db
                    db.commit()
                finally:
                    db.close()  # without the commit: rolled back
                return
    with staging(folder, "grading", live=LIVE) as stage:
        carry_over(folder, stage, {MANIFEST, *LIVE})
        db = open_db(live_db(folder, stage))
        try:
            yield db
            db.commit()
        finally:
            db.close()
        (stage / MANIFEST).write_text(manifest_text(stage, folder, **fields), encoding="utf-8")


def _open(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, timeout=BUSY_SECONDS)
        db.executescript(SCHEMA)
        for table, column, decl in ADDED:
            if column not in [row[1] for row in db.execute(f"PRAGMA table_info({table})")]:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise GradingError(f"{path}: busy for {BUSY_SECONDS} s (another examgen, e.g. a scan, is writing it); "
                               "try again when it has finished") from None
        raise GradingError(f"{path}: not a grading database of examgen scan ({exc}); move it away") from None
    except sqlite3.DatabaseError as exc:
        raise GradingError(f"{path}: not a grading database of examgen scan ({exc}); move it away") from None
    return db


def _thresholds(db: sqlite3.Connection, changes: dict[str, float]) -> dict[str, float]:
    for name, value in DEFAULTS.items():
        db.execute("INSERT OR IGNORE INTO thresholds VALUES (?, ?)", (name, value))
    for name, value in changes.items():
        old = db.execute("SELECT value FROM thresholds WHERE name = ?", (name,)).fetchone()[0]
        if old != value:
            db.execute("UPDATE thresholds SET value = ? WHERE name = ?", (value, name))
            db.execute("INSERT INTO audit(at, action, detail) VALUES (?, 'threshold', ?)",
                       (_now(), f"{name}: {old:g} -> {value:g}"))
    return dict(db.execute("SELECT name, value FROM thresholds").fetchall())


def _store(db: sqlite3.Connection, file_id: int, read: PageRead) -> None:
    ident = read.identity
    status = "read" if not read.problem and ident else "content" if read.candidates \
        else "unidentified" if ident is None else "unknown page"
    candidates = json.dumps([[v, p] for v, p, _ in read.candidates]) if read.candidates else None
    cur = db.execute("INSERT INTO pages(file, idx, qr, variant, booklet, page, transform, residual, discs, status, "
                     "how, candidates) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (file_id, read.file_index, ident.text if ident else None, ident.variant if ident else None,
                      ident.booklet if ident else None, ident.page if ident else None,
                      json.dumps(read.transform) if read.transform else None, read.residual, read.discs, status,
                      read.how, candidates))
    if ident is not None and not read.problem:
        db.execute("INSERT OR IGNORE INTO booklets(booklet, variant) VALUES (?, ?)", (ident.booklet, ident.variant))
    measured = [(0, read.boxes)] if not read.candidates else [(k, c[2]) for k, c in enumerate(read.candidates)]
    db.executemany("INSERT INTO measurements(page, kind, column_name, number, corrector, x, y, w, h, dark, paper, "
                   "paper_share, crop, candidate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [(cur.lastrowid, m.box.kind, m.box.column, m.box.number, m.box.corrector, *m.box.rect, m.dark,
                     m.paper, m.share, m.crop, k) for k, boxes in measured for m in boxes])
    db.executemany("INSERT INTO answer_crops(page, column_name, crop) VALUES (?,?,?)",
                   [(cur.lastrowid, column, png) for column, png in read.answers])


def _candidates_text(candidates: list[tuple[str, int]]) -> str:
    return " or ".join(f"{v} page {p}" for v, p in candidates)


def resolve_content(db: sqlite3.Connection) -> None:
    """Pages identified by their print (no readable QR code) -> their booklet page, where
    exactly one booklet can be missing it (classify.assign_booklets); the decision goes into
    pages and audit, the other candidates' measurements are dropped."""
    pending = db.execute("SELECT p.id, p.candidates, f.path, p.idx FROM pages p JOIN scan_files f ON f.id = p.file "
                         "WHERE p.status = 'content' ORDER BY p.id").fetchall()
    if not pending:
        return
    booklets = dict(db.execute("SELECT booklet, variant FROM booklets").fetchall())
    have = set(db.execute("SELECT booklet, page FROM pages WHERE status = 'read'").fetchall())
    cands = [[(str(v), int(p)) for v, p in json.loads(c)] for _, c, _, _ in pending]
    for (pid, _, path, idx), mine, (slot, _) in zip(pending, cands, assign_booklets(booklets, have, cands)):
        if slot is None:
            continue
        booklet, variant, page = slot
        k = mine.index((variant, page))
        db.execute("DELETE FROM measurements WHERE page = ? AND candidate != ?", (pid, k))
        db.execute("UPDATE measurements SET candidate = 0 WHERE page = ?", (pid,))
        db.execute("UPDATE pages SET variant = ?, booklet = ?, page = ?, status = 'read' WHERE id = ?",
                   (variant, booklet, page, pid))
        db.execute("INSERT INTO audit(at, action, detail) VALUES (?, 'identified', ?)",
                   (_now(), f"{path}: page {idx + 1}: no readable QR code; by its print {_candidates_text(mine)}: "
                            f"booklet B{booklet:03d} page {page} ({variant}), the only booklet without that page"))


def classify_all(db: sqlite3.Connection, key: BuildKey, expected_pages: dict[str, int],
                 t: dict[str, float]) -> list[str]:
    """Every booklet's values from its latest reading of each page; the problems, one line each."""
    problems: list[str] = []
    booklets = dict(db.execute("SELECT booklet, variant FROM booklets").fetchall())
    done = set(db.execute("SELECT booklet, page FROM pages WHERE status = 'read'").fetchall())
    for path, idx, status, cand in db.execute("SELECT f.path, p.idx, p.status, p.candidates FROM pages p JOIN "
                                              "scan_files f ON f.id = p.file WHERE p.status != 'read' ORDER BY p.id"):
        what = "no readable QR code" if status == "unidentified" else status
        if status == "content":
            mine = [(str(v), int(p)) for v, p in json.loads(cand)]
            slots = assign_booklets(booklets, done, [mine])[0][1]
            where = ", ".join(f"B{b:03d} page {p}" for b, _, p in slots) or "no booklet read so far lacks it"
            what = (f"no readable QR code; by its print {_candidates_text(mine)}, but not one booklet for sure "
                    f"({where})")
        problems.append(f"{path}: page {idx + 1}: {what}; rescan it, or enter its boxes by hand (overrides table)")
    db.execute("DELETE FROM automatic")
    db.execute("DELETE FROM registration_reads")
    latest: dict[int, dict[int, tuple[int, float, int]]] = {}  # booklet -> page -> its latest reading
    for pid, booklet, page, residual, discs in db.execute(
            "SELECT id, booklet, page, residual, discs FROM pages WHERE status = 'read' ORDER BY id"):
        latest.setdefault(booklet, {})[page] = (pid, residual, discs)  # a rescan replaces the earlier reading
    overridden = set(db.execute("SELECT booklet, column_name FROM overrides"))
    for booklet, variant in db.execute("SELECT booklet, variant FROM booklets ORDER BY booklet").fetchall():
        name = f"booklet B{booklet:03d} ({variant})"
        have = latest.get(booklet, {})
        missing = [p for p in range(1, expected_pages.get(variant, 0) + 1) if p not in have]
        if missing:
            problems.append(f"{name}: page(s) {', '.join(map(str, missing))} not scanned; scan them")
        page_flags: list[str] = []
        boxes: dict[str, dict[int, list[Reading | None]]] = {}
        cells: dict[str, dict[int, list[tuple[float, bool, str]]]] = {}
        reg_grid: dict[int, dict[int, Reading]] = {}  # the cover's registration grid: digit column -> value -> box
        for p, (pid, residual, discs) in sorted(have.items()):
            if discs < 3:
                page_flags.append(f"page {p}: {discs} of 3 corner discs found")
            if residual > t["residual"]:
                page_flags.append(f"page {p}: registration residual {residual:.2f} mm")
            for kind, col, number, corrector, dark, share in db.execute(
                    "SELECT kind, column_name, number, corrector, dark, paper_share FROM measurements WHERE page = ? "
            "AND candidate = 0",
                    (pid,)):
                if kind == "registration":
                    reg_grid.setdefault(corrector, {})[int(number)] = box_state(dark, share, t)
                elif kind == "score":
                    crossed, flag = cell_crossed(dark, t)
                    cells.setdefault(col, {}).setdefault(corrector, []).append((number, crossed, flag))
                else:
                    slot = boxes.setdefault(col, {}).setdefault(int(number), [None, None])
                    slot[0 if kind == "mc" else 1] = box_state(dark, share, t)
        if reg_grid:
            reg, reg_flags = registration_value(reg_grid)
            db.execute("INSERT INTO registration_reads VALUES (?,?,?)", (booklet, reg, json.dumps(reg_flags)))
        values: dict[str, tuple[str, list[str]]] = {}
        for col, items in boxes.items():
            values[col] = mc_value({n: (r[0], r[1]) for n, r in items.items() if r[0] is not None})
        for col, grid in cells.items():
            values[col] = score_value(grid)
        for col, (value, flags) in sorted(values.items()):
            flags = page_flags + flags
            db.execute("INSERT INTO automatic VALUES (?,?,?,?)", (booklet, col, value, json.dumps(flags)))
            if flags and (booklet, col) not in overridden:
                problems.append(f"{name} {col}: {'; '.join(flags)}")
    return problems


SCAN_WHO = "scan"  # the changes rows of the mappings the registration grid made
MAP_BY_HAND = "map it on the mapping page of examgen correct or with examgen students --map"


def map_registrations(db: sqlite3.Connection) -> list[str]:
    """booklets.registration from the cover grids read (registration_reads), one problem line
    per booklet left for a person. A booklet is mapped when its 8 digits read cleanly, no other
    booklet has (or reads) the same number, and the number is in the class list or there is no
    class list yet; each mapping it makes or takes back is a `changes` row of who='scan'. A
    booklet whose mapping a person made or changed (a changes row of another who) is never
    touched: the grid only maps what nobody mapped by hand."""
    students = {r for (r,) in db.execute("SELECT registration FROM students")}
    current: dict[int, str | None] = dict(db.execute("SELECT booklet, registration FROM booklets").fetchall())
    last_who = dict(db.execute("SELECT booklet, who FROM changes WHERE column_name = 'registration' AND booklet "
                               "IS NOT NULL ORDER BY id").fetchall())  # the last change of each booklet's mapping
    by_hand = {b for b in current if last_who.get(b, SCAN_WHO) != SCAN_WHO or (current[b] and b not in last_who)}
    reads = db.execute("SELECT booklet, value, flags FROM registration_reads WHERE booklet IN (SELECT booklet FROM "
                       "booklets) ORDER BY booklet").fetchall()
    taken = {current[b]: b for b in sorted(by_hand) if current[b]}
    clean: dict[str, list[int]] = {}
    for booklet, value, flags in reads:
        if booklet not in by_hand and not json.loads(flags):
            clean.setdefault(value, []).append(booklet)
    problems: list[str] = []
    for booklet, value, flags in reads:
        if booklet in by_hand:
            continue
        why = "; ".join(json.loads(flags))
        if not why and value in taken:
            why = f"mapped to B{taken[value]:03d} already"
        elif not why and len(clean[value]) > 1:
            why = "also read on " + ", ".join(f"B{b:03d}" for b in clean[value] if b != booklet)
        elif not why and students and value not in students:
            why = "not in the class list"
        want = None if why else value
        if why:
            problems.append(f"B{booklet:03d} registration read as {value}: {why}; {MAP_BY_HAND}")
        if current[booklet] != want:
            db.execute("UPDATE booklets SET registration = ? WHERE booklet = ?", (want, booklet))
            log_change(db, SCAN_WHO, "booklet mapped" if want else "booklet unmapped", booklet=booklet,
                       column="registration", old=current[booklet], new=want,
                       why=f"registration grid read as {value}" + (f" ({why})" if why else ""))
    return problems


def responses_text(db: sqlite3.Connection, key: BuildKey) -> str:
    """responses.csv as `examgen grade --responses` reads it: one row per booklet, overrides applied,
    the booklet id (B017) as registration until the booklets table maps it to a student."""
    cols = key.columns
    rows: list[list[object]] = [[*FIXED_COLUMNS, *cols]]
    auto = {(b, c): v for b, c, v in db.execute("SELECT booklet, column_name, value FROM automatic")}
    auto.update({(b, c): v for b, c, v in db.execute("SELECT booklet, column_name, value FROM overrides")})
    for booklet, variant, reg in db.execute("SELECT booklet, variant, registration FROM booklets ORDER BY booklet"):
        cells = key.variants[variant].cells if variant in key.variants else {}
        rows.append([reg or f"B{booklet:03d}", variant, *[auto.get((booklet, c), "") if c in cells else ""
                                                           for c in cols]])
    return csv_text(rows)


def _review(db: sqlite3.Connection, folder: Path, problems: list[str]) -> None:
    """review/: a crop of every box of a flagged booklet column, and review.html listing them."""
    folder.mkdir()
    parts = ["<!doctype html><meta charset=utf-8><title>examgen scan review</title>",
             "<h1>To review</h1><ul>", *[f"<li>{html.escape(p)}</li>" for p in problems], "</ul>"]
    flagged = db.execute("SELECT booklet, column_name, value, flags FROM automatic WHERE flags != '[]' "
                         "ORDER BY booklet, column_name").fetchall()
    for booklet, col, value, flags in flagged:
        parts.append(f"<h2>B{booklet:03d} {html.escape(col)}: read as {html.escape(value or '(empty)')}</h2>")
        parts.append("<p>" + html.escape("; ".join(json.loads(flags))) + "</p><p>")
        for mid, kind, number, corrector, crop in db.execute(
                "SELECT m.id, m.kind, m.number, m.corrector, m.crop FROM measurements m JOIN pages p ON p.id = m.page "
                "WHERE p.booklet = ? AND m.column_name = ? AND p.status = 'read' AND p.id = (SELECT max(id) FROM "
                "pages q WHERE q.booklet = p.booklet AND q.page = p.page AND q.status = 'read') ORDER BY m.id",
                (booklet, col)):
            name = f"B{booklet:03d}-{col}-{mid}.png"
            (folder / name).write_bytes(crop or b"")
            label = f"box {number:g}" if kind == "mc" else f"recheck {number:g}" if kind == "recheck" \
                else f"{number:g} pts (c{corrector})"
            parts.append(f'<figure style="display:inline-block"><img src="{name}" height=64>'
                         f"<figcaption>{html.escape(label)}</figcaption></figure>")
        parts.append("</p>")
    (folder / "review.html").write_text("\n".join(parts) + "\n", encoding="utf-8")


def scan(build_dir: Path, files: list[Path], out: Path, changes: dict[str, float] | None = None,
         progress: Callable[[int], None] | None = None) -> Report:
    """Read the scan files into out/grading.sqlite and rewrite responses.csv and review/."""
    step = progress or (lambda n: None)
    ensure_replaceable(Path(out), "grading")
    key = load_build(build_dir)
    layouts = load_layouts(build_dir)
    expected = {code: max(lay.pages) for code, lay in layouts.items()}
    reference = Reference(build_dir, layouts)  # rendered only when a page's QR code is unreadable
    for f in files:
        if not Path(f).is_file():
            raise GradingError(f"{f}: no such scan file; give PDFs or images of the scanned pages")
    digests = [(Path(f), sha256(Path(f))) for f in files]
    report = Report()
    with work_folder("examgen-scan-") as work, staging(Path(out), "grading", live=LIVE) as stage:
        carry_over(Path(out), stage, skip={MANIFEST, RESPONSES, REVIEW, *LIVE})
        db = _open(live_db(Path(out), stage))
        try:
            t = _thresholds(db, changes or {})
            for path, digest in digests:
                if db.execute("SELECT 1 FROM scan_files WHERE sha256 = ?", (digest,)).fetchone():
                    report.files_known += 1
                    step(1)
                    continue
                cur = db.execute("INSERT INTO scan_files(path, sha256, pages, added) VALUES (?,?,0,?)",
                                 (str(path), digest, _now()))
                n = 0
                for n, img in enumerate(load(path, work), 1):
                    read = read_page(img, n - 1, layouts, reference)
                    _store(db, int(cur.lastrowid or 0), read)
                    report.pages_read += not read.problem
                db.execute("UPDATE scan_files SET pages = ? WHERE id = ?", (n, cur.lastrowid))
                db.execute("INSERT INTO audit(at, action, detail) VALUES (?, 'scan', ?)",
                           (_now(), f"{path}: {n} pages"))
                report.files_added += 1
                step(1)
            resolve_content(db)
            report.problems = classify_all(db, key, expected, t) + map_registrations(db)
            report.booklets = db.execute("SELECT count(*) FROM booklets").fetchone()[0]
            (stage / RESPONSES).write_text(responses_text(db, key), encoding="utf-8")
            _review(db, stage / REVIEW, report.problems)
            db.commit()
        finally:
            db.close()
        (stage / MANIFEST).write_text(manifest_text(stage, Path(out), build=key.dir.name), encoding="utf-8")
    return report


def responses_from(db_path: Path, key: BuildKey, target: Path) -> Path:
    """The responses CSV of a grading database (overrides applied), for `examgen grade`."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        target.write_text(responses_text(db, key), encoding="utf-8")
    except sqlite3.DatabaseError as exc:
        raise GradingError(f"{db_path}: not a grading database of examgen scan ({exc}); rerun examgen scan") \
            from None
    finally:
        db.close()
    return target

