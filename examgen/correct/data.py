"""The correction app's data layer: every read and write of grading.sqlite the app does, in
plain SQL (DB-API, `?` parameters; no SQLite-only syntax beyond the connection itself, its
busy timeout and the schema script of examgen/scan), so that a later deployment can point it at
PostgreSQL by swapping the connection.

Tables of its own (beside the scan's): tutors (name, sha256 of the token; the token itself is
only printed once), cell_versions (the version of every cell a tutor has set: a save names the
version it saw, a stale one is refused), second_marks (the two independent values of a cell of
a problem under second correction), app_settings (the session key, the problems under second
correction); they are declared with the rest of the database in examgen/scan (one schema).
What `examgen grade` reads is the scan's `overrides` table: every save writes it
and one `changes` row (who, when, old -> new, why)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..grading import BuildKey, Cell, _parse_boxes, _parse_points
from ..scan import log_change, open_db

# the latest reading of each page of a booklet (a rescan replaces the earlier one)
LATEST_PAGES = "SELECT max(id) FROM pages WHERE booklet = ? AND status = 'read' GROUP BY page"


class Stale(Exception):
    """A save whose version is not the cell's current one: the message names who set what."""


class Invalid(Exception):
    """A value the cell cannot hold (points beyond the credits, not in halves, unknown boxes)."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def booklet_name(booklet: int) -> str:
    return f"B{booklet:03d}"


@dataclass(frozen=True)
class CellState:
    booklet: int
    variant: str
    column: str
    automatic: str  # what the scan read ('' = nothing)
    flags: list[str]
    value: str | None  # the override grade uses, None = the automatic value stands
    version: int  # 0 = no tutor has set it
    tutor: str
    at: str

    @property
    def current(self) -> str:
        return self.automatic if self.value is None else self.value


class Store:
    """One connection to a grading database (one per request in the app)."""

    def __init__(self, path: Path):
        self.db = open_db(Path(path))
        # a scan or grade writing the live database holds SQLite's lock for a moment: wait, not fail
        self.db.execute("PRAGMA busy_timeout = 30000")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back on any error in it (so
        that no later commit on this connection can write half of it)."""
        try:
            yield
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def _one(self, sql: str, *args: Any) -> Any:
        return self.db.execute(sql, args).fetchone()

    # ------------------------------------------------------------ settings, tutors
    def setting(self, name: str, default: str = "") -> str:
        row = self._one("SELECT value FROM app_settings WHERE name = ?", name)
        return str(row[0]) if row else default

    def set_setting(self, name: str, value: str, who: str) -> None:
        old = self.setting(name)
        if self._one("SELECT 1 FROM app_settings WHERE name = ?", name):
            self.db.execute("UPDATE app_settings SET value = ? WHERE name = ?", (value, name))
        else:
            self.db.execute("INSERT INTO app_settings(name, value) VALUES (?, ?)", (name, value))
        if name != "secret_key":
            log_change(self.db, who, f"setting {name}", old=old, new=value)
        self.db.commit()

    def secret_key(self) -> str:
        key = self.setting("secret_key")
        if not key:
            key = secrets.token_hex(32)
            self.set_setting("secret_key", key, "examgen correct")
        return key

    def add_tutor(self, name: str) -> str:
        """A new tutor's token (printed once; only its hash is stored). A tutor added again gets a
        new token and the old link stops working."""
        token = secrets.token_urlsafe(24)
        if self._one("SELECT 1 FROM tutors WHERE name = ?", name):
            self.db.execute("UPDATE tutors SET token_hash = ? WHERE name = ?", (token_hash(token), name))
            log_change(self.db, "examgen correct", "tutor token renewed", new=name)
        else:
            self.db.execute("INSERT INTO tutors(name, token_hash, added) VALUES (?, ?, ?)",
                            (name, token_hash(token), _now()))
            log_change(self.db, "examgen correct", "tutor added", new=name)
        self.db.commit()
        return token

    def tutor_of(self, token: str) -> str | None:
        row = self._one("SELECT name FROM tutors WHERE token_hash = ?", token_hash(token))
        return str(row[0]) if row else None

    def tutor_exists(self, name: str) -> bool:
        return self._one("SELECT 1 FROM tutors WHERE name = ?", name) is not None

    def token_generation(self, name: str) -> str | None:
        """What a session keeps of its tutor's token (a prefix of its hash): a renewed token or a
        removed tutor no longer matches, so their open sessions end. None: no such tutor."""
        row = self._one("SELECT token_hash FROM tutors WHERE name = ?", name)
        return str(row[0])[:16] if row else None

    def remove_tutor(self, name: str) -> None:
        """Take a tutor's link away (their sessions end with it); what they set stays theirs."""
        if self.db.execute("DELETE FROM tutors WHERE name = ?", (name,)).rowcount == 0:
            known = ", ".join(self.tutors())
            raise Invalid(f"no such tutor; the tutors are {known}" if known else "no such tutor; none has been added")
        log_change(self.db, "examgen correct", "tutor removed", old=name)
        self.db.commit()

    def tutors(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM tutors ORDER BY name")]

    # ------------------------------------------------------------ booklets and cells
    def booklets(self) -> list[tuple[int, str, str]]:
        """(booklet, variant, registration or '') of every scanned booklet."""
        return [(b, v, r or "") for b, v, r in
                self.db.execute("SELECT booklet, variant, registration FROM booklets ORDER BY booklet")]

    def per_variant(self) -> dict[str, int]:
        """How many booklets each variant has."""
        return dict(self.db.execute("SELECT variant, count(*) FROM booklets GROUP BY variant").fetchall())

    def cells_of(self, column: str, variants: set[str]) -> list[CellState]:
        """The column's cell of every booklet of these variants (the variants that have it)."""
        rows = self.db.execute(
            "SELECT b.booklet, b.variant, a.value, a.flags, o.value, c.version, c.tutor, c.at FROM booklets b "
            "LEFT JOIN automatic a ON a.booklet = b.booklet AND a.column_name = ? "
            "LEFT JOIN overrides o ON o.booklet = b.booklet AND o.column_name = ? "
            "LEFT JOIN cell_versions c ON c.booklet = b.booklet AND c.column_name = ? ORDER BY b.booklet",
            (column, column, column)).fetchall()
        return [CellState(b, v, column, a or "", json.loads(f) if f else [], o, ver or 0, t or "", at or "")
                for b, v, a, f, o, ver, t, at in rows if v in variants]

    def cell(self, booklet: int, column: str) -> CellState | None:
        row = self._one(
            "SELECT b.booklet, b.variant, a.value, a.flags, o.value, c.version, c.tutor, c.at FROM booklets b "
            "LEFT JOIN automatic a ON a.booklet = b.booklet AND a.column_name = ? "
            "LEFT JOIN overrides o ON o.booklet = b.booklet AND o.column_name = ? "
            "LEFT JOIN cell_versions c ON c.booklet = b.booklet AND c.column_name = ? WHERE b.booklet = ?",
            column, column, column, booklet)
        if row is None:
            return None
        b, v, a, f, o, ver, t, at = row
        return CellState(b, v, column, a or "", json.loads(f) if f else [], o, ver or 0, t or "", at or "")

    def answer_crops(self, booklet: int, column: str) -> list[int]:
        """Ids of the answer-region crops of a cell, from the latest reading of each page."""
        return [r[0] for r in self.db.execute(
            "SELECT c.id FROM answer_crops c WHERE c.column_name = ? AND c.page IN "
            f"({LATEST_PAGES}) ORDER BY c.page", (column, booklet))]

    def answer_crop(self, crop_id: int) -> bytes | None:
        row = self._one("SELECT crop FROM answer_crops WHERE id = ?", crop_id)
        return bytes(row[0]) if row else None

    def box_crops(self, booklet: int, column: str) -> list[tuple[int, str, float, int]]:
        """(measurement id, kind, number, corrector) of a cell's boxes, latest reading of each page."""
        return list(self.db.execute(
            "SELECT id, kind, number, corrector FROM measurements WHERE column_name = ? AND candidate = 0 AND page IN "
            f"({LATEST_PAGES}) ORDER BY id", (column, booklet)))

    def box_crop(self, measurement: int) -> bytes | None:
        row = self._one("SELECT crop FROM measurements WHERE id = ?", measurement)
        return bytes(row[0]) if row and row[0] else None

    def flagged(self) -> list[CellState]:
        """The review queue: cells the scan flagged that no one has set yet."""
        rows = self.db.execute(
            "SELECT a.booklet, b.variant, a.column_name, a.value, a.flags FROM automatic a "
            "JOIN booklets b ON b.booklet = a.booklet WHERE a.flags <> '[]' AND NOT EXISTS (SELECT 1 FROM overrides o "
            "WHERE o.booklet = a.booklet AND o.column_name = a.column_name) ORDER BY a.booklet, a.column_name")
        return [CellState(b, v, c, a, json.loads(f), None, 0, "", "") for b, v, c, a, f in rows]

    # ------------------------------------------------------------ writes
    @staticmethod
    def parse(cell: Cell, raw: str) -> str:
        """The value as grade reads it, or Invalid with what is wrong."""
        raw = raw.strip()
        if cell.kind == "mc":
            boxes = _parse_boxes(raw, cell)
            if isinstance(boxes, str):
                raise Invalid(boxes)
            return ";".join(map(str, sorted(boxes)))
        points = _parse_points(raw, cell)
        if isinstance(points, str):
            raise Invalid(points)
        return str(int(points)) if points == int(points) else str(points)

    def save(self, booklet: int, column: str, value: str, version: int, tutor: str, why: str) -> CellState:
        """Set a cell (the override grade uses) if `version` is still its version; else Stale,
        naming who set it to what and when. One `changes` row per save."""
        before = self.cell(booklet, column)
        if before is None:
            raise Invalid(f"no booklet {booklet_name(booklet)} in the database")
        with self._atomic():  # the version, the override and its changes row, or none of them
            self._write(before, value, version, tutor, why)
        after = self.cell(booklet, column)
        assert after is not None
        return after

    def _write(self, before: CellState, value: str, version: int, tutor: str, why: str) -> None:
        booklet, column, at = before.booklet, before.column, _now()
        cur = self.db.execute("UPDATE cell_versions SET version = version + 1, tutor = ?, value = ?, at = ? "
                              "WHERE booklet = ? AND column_name = ? AND version = ?",
                              (tutor, value, at, booklet, column, version))
        if cur.rowcount == 0:
            try:
                if version != 0:
                    raise sqlite3.IntegrityError("stale")
                self.db.execute("INSERT INTO cell_versions(booklet, column_name, version, tutor, value, at) "
                                "VALUES (?, ?, 1, ?, ?, ?)", (booklet, column, tutor, value, at))
            except sqlite3.IntegrityError:
                self.db.rollback()
                now = self.cell(booklet, column)
                assert now is not None
                raise Stale(f"{now.tutor} set {column} of {booklet_name(booklet)} to {now.value or '(empty)'} at "
                            f"{now.at[11:16]}; yours was not saved") from None
        if self.db.execute("UPDATE overrides SET value = ?, note = ?, at = ? WHERE booklet = ? AND column_name = ?",
                           (value, f"{why} by {tutor}", at, booklet, column)).rowcount == 0:
            self.db.execute("INSERT INTO overrides(booklet, column_name, value, note, at) VALUES (?, ?, ?, ?, ?)",
                            (booklet, column, value, f"{why} by {tutor}", at))
        log_change(self.db, tutor, why, booklet=booklet, column=column, old=before.current, new=value,
                   why=f"{why} in examgen correct")

    # ------------------------------------------------------------ second correction
    def second_problems(self) -> list[str]:
        return [p for p in self.setting("second").split(",") if p]

    def second_marks(self, booklet: int, column: str) -> dict[str, str]:
        return dict(self.db.execute("SELECT tutor, value FROM second_marks WHERE booklet = ? AND column_name = ?",
                                    (booklet, column)).fetchall())

    def mark_second(self, booklet: int, column: str, value: str, tutor: str) -> str:
        """One tutor's independent value of a cell under second correction: 'agreed' when the two
        values are equal (then the cell is set), 'waiting' for the other, 'differ' (consensus queue)."""
        marks = self.second_marks(booklet, column)
        if tutor not in marks and len(marks) >= 2:
            raise Invalid(f"{column} of {booklet_name(booklet)} has its two corrections already "
                          f"({', '.join(sorted(marks))}); settle it in the consensus queue")
        with self._atomic():  # the mark and its changes row
            seen = self.cell(booklet, column)  # the cell's version now: a later save settles this mark
            version = seen.version if seen else 0
            if tutor in marks:
                self.db.execute("UPDATE second_marks SET value = ?, at = ?, version = ? WHERE booklet = ? AND "
                                "column_name = ? AND tutor = ?", (value, _now(), version, booklet, column, tutor))
            else:
                self.db.execute("INSERT INTO second_marks(booklet, column_name, tutor, value, at, version) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (booklet, column, tutor, value, _now(), version))
            log_change(self.db, tutor, "second correction", booklet=booklet, column=column, old=marks.get(tutor),
                       new=value, why="independent correction in examgen correct")
        marks = self.second_marks(booklet, column)
        if len(marks) < 2:
            return "waiting"
        if len(set(marks.values())) > 1:
            return "differ"
        state = self.cell(booklet, column)
        assert state is not None
        if state.value != value:
            self.save(booklet, column, value, state.version, tutor, "both corrections agree")
        return "agreed"

    def open_marks(self) -> list[tuple[int, str, dict[str, str], int, bool]]:
        """(booklet, column, {tutor: value}, the cell's version, set by hand) of every cell with
        second-correction marks that nobody has set since the later of them: each mark keeps the
        cell's version it was given at, and a save (consensus, agreement) counts the version up."""
        rows = self.db.execute(
            "SELECT m.booklet, m.column_name, m.tutor, m.value, m.version, c.version, o.value FROM second_marks m "
            "LEFT JOIN cell_versions c ON c.booklet = m.booklet AND c.column_name = m.column_name "
            "LEFT JOIN overrides o ON o.booklet = m.booklet AND o.column_name = m.column_name "
            "ORDER BY m.booklet, m.column_name, m.tutor").fetchall()
        marks: dict[tuple[int, str], dict[str, str]] = {}
        seen: dict[tuple[int, str], int] = {}
        cell: dict[tuple[int, str], tuple[int, bool]] = {}
        for b, c, t, v, saw, version, value in rows:
            marks.setdefault((b, c), {})[t] = v
            seen[(b, c)] = max(seen.get((b, c), 0), saw)
            cell[(b, c)] = (version or 0, value is not None)
        return [(b, c, m, *cell[(b, c)]) for (b, c), m in marks.items() if cell[(b, c)][0] <= seen[(b, c)]]

    def consensus_items(self) -> list[tuple[int, str, dict[str, str], int]]:
        """(booklet, column, {tutor: value}, the cell's version) of the cells whose two corrections
        differ and no consensus has been set since."""
        return [(b, c, m, version) for b, c, m, version, _ in self.open_marks()
                if len(m) == 2 and len(set(m.values())) > 1]

    def consensus_queue(self) -> list[tuple[int, str, dict[str, str]]]:
        """(booklet, column, {tutor: value}) of the consensus queue (consensus_items)."""
        return [(b, c, m) for b, c, m, _ in self.consensus_items()]

    def in_consensus(self, booklet: int, column: str) -> bool:
        return any((b, c) == (booklet, column) for b, c, _ in self.consensus_queue())

    def unsettled(self, columns: set[str]) -> dict[str, list[tuple[int, str, bool]]]:
        """The cells of these columns (those under second correction) that grade would take from the
        score crosses or an earlier value: {'waiting': one mark so far, 'differing': in the consensus
        queue} -> [(booklet, column, set by hand before)]."""
        out: dict[str, list[tuple[int, str, bool]]] = {"differing": [], "waiting": []}
        for b, c, m, _, set_before in self.open_marks():
            if c in columns and (len(m) == 1 or len(set(m.values())) > 1):
                out["waiting" if len(m) == 1 else "differing"].append((b, c, set_before))
        return out

    # ------------------------------------------------------------ progress, mapping
    def marked_by(self, column: str, tutor: str) -> set[int]:
        """The booklets whose cell of this column the tutor has given a second-correction value."""
        return {r[0] for r in self.db.execute("SELECT booklet FROM second_marks WHERE column_name = ? AND tutor = ?",
                                              (column, tutor))}

    def graded_per_tutor(self) -> dict[tuple[str, str], int]:
        """{(tutor, column): booklets} the tutor graded: the cells they set last, and their values
        under second correction."""
        return {(t, c): n for t, c, n in self.db.execute(
            "SELECT tutor, column_name, count(*) FROM (SELECT tutor, column_name, booklet FROM cell_versions "
            "UNION SELECT tutor, column_name, booklet FROM second_marks) AS graded GROUP BY tutor, column_name")}

    def saves_per_tutor(self) -> list[tuple[str, int]]:
        return list(self.db.execute("SELECT tutor, count(*) FROM cell_versions GROUP BY tutor ORDER BY tutor"))

    def set_per_column(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT column_name, count(*) FROM overrides GROUP BY column_name").fetchall())

    def students(self) -> list[tuple[str, str, str]]:
        return list(self.db.execute("SELECT registration, last_name, first_name FROM students "
                                    "ORDER BY last_name, first_name"))

    def map_booklet(self, booklet: int, registration: str, tutor: str) -> None:
        row = self._one("SELECT registration FROM booklets WHERE booklet = ?", booklet)
        if row is None:
            raise Invalid(f"no booklet {booklet_name(booklet)} in the database")
        if registration and not self._one("SELECT 1 FROM students WHERE registration = ?", registration):
            raise Invalid(f"no student with registration {registration} in the class list")
        taken = self._one("SELECT booklet FROM booklets WHERE registration = ? AND booklet <> ?", registration,
                          booklet) if registration else None
        if taken:
            raise Invalid(f"registration {registration} is mapped to {booklet_name(taken[0])} already; "
                          "clear that one first")
        self.db.execute("UPDATE booklets SET registration = ? WHERE booklet = ?", (registration or None, booklet))
        log_change(self.db, tutor, "booklet mapped", booklet=booklet, column="registration", old=row[0],
                   new=registration or None, why="manual mapping in examgen correct")
        self.db.commit()


def hand_graded(key: BuildKey) -> list[str]:
    """The problems (P2, ...) that have parts graded by hand: the only ones second correction is for."""
    return sorted({f"P{c.problem}" for v in key.variants.values() for c in v.cells.values() if c.kind == "part"},
                  key=lambda p: int(p[1:]))


FEW = 4  # cells a note names before '...'


def unsettled_notes(db_path: Path, key: BuildKey) -> list[str]:
    """`examgen grade`'s notes on the cells under second correction that are not settled (one line
    per kind: waiting for the second mark, differing marks): grade takes them from the score
    crosses (or the value set before), as if nobody had corrected them twice."""
    store = Store(db_path)
    try:
        problems = set(store.second_problems())
        columns = {c for v in key.variants.values() for c, cell in v.cells.items()
                   if cell.kind == "part" and f"P{cell.problem}" in problems}
        found = store.unsettled(columns) if columns else {}
    finally:
        store.close()
    notes = []
    for kind, cells in found.items():
        if not cells:
            continue
        one = len(cells) == 1
        named = ", ".join(f"{booklet_name(b)} {c}" for b, c, _ in cells[:FEW]) + (", ..." if len(cells) > FEW else "")
        state = "has differing marks" if kind == "differing" and one else "have differing marks" \
            if kind == "differing" else "is waiting for its second mark" if one else "are waiting for their second mark"
        source = "the score crosses" + (" or the value set before" if any(s for _, _, s in cells) else "")
        it = "it" if one else "them"
        todo = f"settle {it} in examgen correct's consensus queue" if kind == "differing" \
            else f"give {it} the second mark in examgen correct"
        notes.append(f"{len(cells)} {'cell' if one else 'cells'} under second correction {state} ({named}): "
                     f"graded from {source}; {todo}")
    return notes
