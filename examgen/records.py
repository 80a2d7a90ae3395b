"""The term's records: the class list (TUMonline's registration export) in grading.sqlite,
the students' statuses and grade bonus, the booklet -> student mapping, and what `examgen
grade` makes of them (no grade row for absent/withdrawn students, 5.0 for cheating, the
bonus one grade step, and the grade export in TUMonline's import format, tumonline.csv).

Data flow: CSV file -> parse (every bad row collected, nothing imported then) -> merge into
the `students` table in one transaction, each change one `changes` row (scan.log_change);
grading: results -> apply(class list) -> results + tumonline.csv."""

from __future__ import annotations

import csv
import getpass
import io
import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from .errors import GradingError
from .grading import Result, _refuse
from .model import FAIL_GRADE, GERMAN_GRADES
from .outputs import csv_text
from .scan import DB, log_change, transaction

T = TypeVar("T")
STATUSES = ("registered", "absent", "withdrawn", "cheating")
NO_GRADE_ROW = ("absent", "withdrawn")  # listed in tumonline.csv, not in results.csv
EXPORT = "tumonline.csv"

# The export's codes (README "Class list and TUMonline"): a grade as "1,3" (a decimal comma, as
# TUMonline shows German grades); absent "X" (TUMonline's "X Nicht erschienen"); cheating "U"
# (Unterschleif); withdrawn: no grade (a withdrawal is booked by the examination office).
CODES = {"absent": "X", "cheating": "U", "withdrawn": ""}

# header aliases, compared without case, spaces, '_', '-', '.' (see _norm); the first match wins
ALIASES: dict[str, tuple[str, ...]] = {
    "registration": ("registrationnumber", "registration", "matrikelnummer", "matrikelnr", "matrnr",
                     "matriculationnumber", "studentid", "matrikel"),
    "last_name": ("familynameofstudent", "nachname", "familienname", "lastname", "familyname", "surname", "name"),
    "first_name": ("firstnameofstudent", "vorname", "firstname", "givenname"),
    "programme": ("studyprogramme", "studium", "degreeprogramme", "degreeprogram", "studyprogram", "studiengang",
                  "studienkennzahl", "codeofstudyprogramme"),
}
REQUIRED = ("registration", "last_name", "first_name")
_DIGITS = re.compile(r"[0-9]{1,8}")
REGISTRATION_DIGITS = 8  # TUM's registration numbers: 8 digits, leading zeros kept (03700001)



@dataclass(frozen=True)
class Student:
    registration: str
    last_name: str
    first_name: str
    programme: str
    status: str = "registered"
    bonus: int = 0
    header: tuple[str, ...] = ()  # the raw TUMonline row it came from (empty: not from such a file)
    row: tuple[str, ...] = ()


def _norm(name: str) -> str:
    return re.sub(r"[\s_.\-]+", "", name.strip().casefold())


def _who(who: str | None) -> str:
    if who:
        return who
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "examgen"


def read_text(path: Path) -> str:
    """A CSV as text: UTF-8 with or without BOM, else Windows-1252 (Excel's 'CSV' on a German Windows)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise GradingError(f"{path}: file not found") from None
    except OSError as exc:
        raise GradingError(f"{path}: cannot read it ({exc.strerror}); check the file") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = exc
    raise GradingError(f"{path}: neither UTF-8 nor Windows-1252 text (byte {error.start}); save it as CSV UTF-8")


def _rows(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line, fields) of every non-empty row; ';', ',' or TAB as the header shows."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first else "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] = []
    last = 0
    try:
        for row in reader:
            line, last = last + 1, reader.line_num
            if not header:
                header = [h.strip() for h in row]
            elif any(c.strip() for c in row):
                rows.append((line, row))
    except csv.Error as exc:
        raise GradingError(f"{path}:{last + 1}: {exc}; fix the quoting of that line") from None
    if not header or not any(header):
        raise GradingError(f"{path}: empty file; export the exam's registrations from TUMonline as CSV")
    return header, rows


def _columns(path: Path, header: list[str], wanted: Iterable[str]) -> dict[str, int]:
    """field -> column index, by the aliases; a missing required field is an error naming the choices."""
    normed = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for fieldname in wanted:
        for alias in ALIASES[fieldname]:
            if alias in normed:
                found[fieldname] = normed.index(alias)
                break
    missing = [f for f in wanted if f in REQUIRED and f not in found]
    if missing:
        need = "; ".join(f"{f.replace('_', ' ')}: one of {', '.join(_shown(f))}" for f in missing)
        raise GradingError(f"{path}:1: missing column(s) ({need}); the header has {', '.join(header)}")
    return found


def _shown(fieldname: str) -> list[str]:
    shown = {"registration": ["REGISTRATION_NUMBER", "Matrikelnummer", "Registration number"],
             "last_name": ["FAMILY_NAME_OF_STUDENT", "Nachname", "Familienname", "Last name"],
             "first_name": ["FIRST_NAME_OF_STUDENT", "Vorname", "First name"]}
    return shown[fieldname]


def registration_of(raw: str) -> str | None:
    """The registration as TUMonline writes it (8 digits), or None. A spreadsheet that dropped
    the leading zeros (3700001) gets them back."""
    raw = raw.strip()
    return raw.zfill(REGISTRATION_DIGITS) if _DIGITS.fullmatch(raw) else None


def _bad_registration(raw: str) -> str:
    return f"registration {raw!r} is not a registration number (up to {REGISTRATION_DIGITS} digits 0-9)"


def parse_class_list(path: Path) -> list[Student]:
    """The students of a registration CSV; every bad row is collected, then raised at once."""
    path = Path(path)
    header, rows = _rows(path, read_text(path))
    cols = _columns(path, header, ALIASES)
    errors: list[str] = []
    seen: dict[str, int] = {}
    students: list[Student] = []
    for line, row in rows:
        if len(row) != len(header):
            errors.append(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            continue
        cell = {f: row[i].strip() for f, i in cols.items()}
        reg = registration_of(cell["registration"])
        if reg is None:
            errors.append(f"{path}:{line}: {_bad_registration(cell['registration'])}; fix the cell")
            continue
        if reg in seen:
            errors.append(f"{path}:{line}: registration {reg} is also on line {seen[reg]}; keep one of the two rows")
            continue
        seen[reg] = line
        empty = [f.replace("_", " ") for f in ("last_name", "first_name") if not cell[f]]
        if empty and not (cell["last_name"] or cell["first_name"]):  # one name alone is fine (mononyms)
            errors.append(f"{path}:{line}: registration {reg}: no name; fill in the last name")
            continue
        tumonline = "GRADE" in header and "REGISTRATION_NUMBER" in header
        students.append(Student(reg, cell["last_name"], cell["first_name"], cell.get("programme", ""),
                                header=tuple(header) if tumonline else (),
                                row=tuple(c if i != header.index("REGISTRATION_NUMBER") else reg
                                          for i, c in enumerate(row)) if tumonline else ()))
    if errors:
        raise _refuse(path, errors)
    if not students:
        raise GradingError(f"{path}: no student rows; export the exam's registrations from TUMonline as CSV")
    return students


def parse_mapping(path: Path) -> list[tuple[int, str, int]]:
    """(booklet, registration, line) of a mapping CSV: columns booklet (B017 or 17) and registration."""
    path = Path(path)
    header, rows = _rows(path, read_text(path))
    normed = [_norm(h) for h in header]
    cols = _columns(path, header, ["registration"])
    if "booklet" not in normed and "heft" not in normed:
        raise GradingError(f"{path}:1: missing column 'booklet' (the booklet number printed on the cover, B017); "
                           f"the header has {', '.join(header)}")
    b = normed.index("booklet") if "booklet" in normed else normed.index("heft")
    errors: list[str] = []
    out: list[tuple[int, str, int]] = []
    for line, row in rows:
        if len(row) != len(header):
            errors.append(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            continue
        m = re.fullmatch(r"[Bb]?0*([0-9]{1,5})", row[b].strip())
        reg = registration_of(row[cols["registration"]])
        if not m:
            errors.append(f"{path}:{line}: booklet {row[b].strip()!r} is not a booklet number (B017 or 17); "
                          "fix the cell")
        elif reg is None:
            errors.append(f"{path}:{line}: {_bad_registration(row[cols['registration']])}; fix the cell")
        else:
            out.append((int(m.group(1)), reg, line))
    if errors:
        raise _refuse(path, errors)
    return out


# ------------------------------------------------------------------ the database
def _db_path(folder: Path) -> Path:
    return Path(folder) / DB


def edit(folder: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run work on the grading folder's database in one transaction (scan.transaction: in place
    under the folder's lock, or a new database staged with the folder). An error leaves the
    database and the folder as they were."""
    with transaction(Path(folder)) as db:
        return work(db)


def _has(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None


def students_of(db: sqlite3.Connection) -> dict[str, Student]:
    """The class list of a grading database (empty for one older than the class list)."""
    if not _has(db, "students"):
        return {}
    raw = {r: (tuple(json.loads(h)), tuple(json.loads(w)))
           for r, h, w in (db.execute("SELECT * FROM student_rows") if _has(db, "student_rows") else [])}
    return {r: Student(r, last, first, prog, status, int(bonus), *raw.get(r, ((), ())))
            for r, last, first, prog, status, bonus in db.execute(
                "SELECT registration, last_name, first_name, programme, status, bonus FROM students "
                "ORDER BY registration")}


@dataclass
class Changes:
    added: int = 0
    changed: int = 0
    kept: int = 0
    lines: list[str] | None = None

    def summary(self) -> str:
        return f"{self.added} students added, {self.changed} changed, {self.kept} unchanged"


def import_class_list(db: sqlite3.Connection, path: Path, who: str | None = None, why: str | None = None) -> Changes:
    """Merge a registration CSV into `students`: new students added, names and programme updated,
    statuses, bonus and booklet mappings kept; each addition or change one `changes` row."""
    students = parse_class_list(path)
    have = students_of(db)
    who = _who(who)
    why = why or f"class list {Path(path).name}"
    out = Changes()
    for s in students:
        old = have.get(s.registration)
        if old is None:
            db.execute("INSERT INTO students(registration, last_name, first_name, programme) VALUES (?,?,?,?)",
                       (s.registration, s.last_name, s.first_name, s.programme))
            log_change(db, who, "student added", column="registration", new=s.registration,
                       why=f"{why}: {s.last_name}, {s.first_name}")
            out.added += 1
        else:
            diff = [(c, getattr(old, c), getattr(s, c)) for c in ("last_name", "first_name", "programme")
                    if getattr(old, c) != getattr(s, c)]
            for column, before, after in diff:
                db.execute(f"UPDATE students SET {column} = ? WHERE registration = ?", (after, s.registration))
                log_change(db, who, f"student {s.registration}", column=column, old=before, new=after, why=why)
            out.changed += bool(diff)
            out.kept += not diff
        if s.header:
            db.execute("INSERT OR REPLACE INTO student_rows VALUES (?,?,?)",
                       (s.registration, json.dumps(s.header), json.dumps(s.row)))
    return out


def set_status(db: sqlite3.Connection, changes: list[str], who: str | None = None, why: str | None = None) -> int:
    """REGISTRATION=STATUS each; all checked before any is written."""
    have = students_of(db)
    parsed: list[tuple[str, str]] = []
    for c in changes:
        raw, _, status = (p.strip() for p in c.partition("="))
        reg = registration_of(raw)
        if status not in STATUSES or reg is None:
            raise GradingError(f"--status {c}: not REGISTRATION=STATUS with STATUS one of {', '.join(STATUSES)}; "
                               "e.g. --status 03700001=absent")
        if reg not in have:
            raise GradingError(f"--status {c}: registration {reg} is not in the class list; import it first "
                               "(--import classlist.csv)")
        parsed.append((reg, status))
    n = 0
    for reg, status in parsed:
        before = have[reg].status
        if before != status:
            db.execute("UPDATE students SET status = ? WHERE registration = ?", (status, reg))
            log_change(db, _who(who), f"student {reg}", column="status", old=before, new=status, why=why)
            have[reg] = replace(have[reg], status=status)
            n += 1
    return n


def set_bonus(db: sqlite3.Connection, path: Path | None, revoke: Iterable[str], who: str | None = None,
              why: str | None = None) -> int:
    """The students a bonus file lists (a registration column) get the bonus; `revoke` loses it."""
    have = students_of(db)
    grant: list[tuple[str, int]] = []
    if path is not None:
        header, rows = _rows(Path(path), read_text(Path(path)))
        col = _columns(Path(path), header, ["registration"])["registration"]
        errors = []
        for line, row in rows:
            reg = registration_of(row[col]) if col < len(row) else None
            if reg is None:
                errors.append(f"{path}:{line}: {_bad_registration(row[col] if col < len(row) else '')}; fix the cell")
            elif reg not in have:
                errors.append(f"{path}:{line}: registration {reg} is not in the class list; import it first or "
                              "remove the row")
            else:
                grant.append((reg, 1))
        if errors:
            raise _refuse(Path(path), errors)
    for raw in revoke:
        reg = registration_of(raw)
        if reg is None or reg not in have:
            raise GradingError(f"--no-bonus {raw}: not a registration of the class list; give one of its "
                               "registration numbers")
        grant.append((reg, 0))
    n = 0
    for reg, bonus in grant:
        if have[reg].bonus != bonus:
            db.execute("UPDATE students SET bonus = ? WHERE registration = ?", (bonus, reg))
            log_change(db, _who(who), f"student {reg}", column="bonus", old=str(have[reg].bonus), new=str(bonus),
                       why=why or (f"bonus list {Path(path).name}" if bonus and path else None))
            have[reg] = replace(have[reg], bonus=bonus)
            n += 1
    return n


def map_booklets(db: sqlite3.Connection, path: Path, who: str | None = None, why: str | None = None) -> int:
    """A mapping CSV (booklet,registration) into booklets.registration; every row checked first."""
    rows = parse_mapping(path)
    have = students_of(db)
    booklets = dict(db.execute("SELECT booklet, registration FROM booklets").fetchall())
    taken = {reg: b for b, reg in booklets.items() if reg}
    errors: list[str] = []
    seen: dict[str, tuple[int, int]] = {}
    for booklet, reg, line in rows:
        if booklet not in booklets:
            errors.append(f"{path}:{line}: booklet B{booklet:03d} is not in the grading database (not scanned); "
                          "scan it first (examgen scan)")
        elif reg not in have:
            errors.append(f"{path}:{line}: registration {reg} is not in the class list; import it first "
                          "(--import classlist.csv)")
        elif reg in seen and seen[reg][0] != booklet:
            errors.append(f"{path}:{line}: registration {reg} is also given booklet B{seen[reg][0]:03d} on line "
                          f"{seen[reg][1]}; one booklet per student")
        else:
            seen[reg] = (booklet, line)
    targets = {b for b, _, _ in rows}
    for reg, (booklet, line) in seen.items():
        other = taken.get(reg)
        if other is not None and other != booklet and other not in targets:
            errors.append(f"{path}:{line}: registration {reg} is already mapped to booklet B{other:03d}; map that "
                          "booklet to its student in the same file")
    if errors:
        raise _refuse(Path(path), errors)
    n = 0
    for booklet, reg, _ in rows:
        if booklets[booklet] != reg:
            db.execute("UPDATE booklets SET registration = ? WHERE booklet = ?", (reg, booklet))
            log_change(db, _who(who), "booklet mapped", booklet=booklet, column="registration",
                       old=booklets[booklet], new=reg, why=why or f"mapping {Path(path).name}")
            n += 1
    return n


# ------------------------------------------------------------------ grading
def better(grade: float) -> float:
    """One grade step better for a passed grade (the bonus): 1.3 -> 1.0, 4.0 -> 3.7; 1.0 and 5.0 stay."""
    if grade not in GERMAN_GRADES:
        return grade
    return GERMAN_GRADES[max(0, GERMAN_GRADES.index(grade) - 1)]


def german(grade: float) -> str:
    return f"{grade:.1f}".replace(".", ",")


@dataclass(frozen=True)
class ClassList:
    """The class list as `examgen grade` applies it to the scored results."""

    students: dict[str, Student]

    def apply(self, results: list[Result]) -> tuple[list[Result], dict[str, str], list[str]]:
        """(results without absent/withdrawn students, cheating as 5.0, the bonus applied;
        {tumonline.csv: text}; note lines for the terminal)."""
        graded: dict[str, Result] = {}
        kept: list[Result] = []
        dropped: list[str] = []
        for r in results:
            # a responses sheet a spreadsheet stripped of its leading zeros (3700001) names the same student
            r = replace(r, registration=registration_of(r.registration) or r.registration)
            s = self.students.get(r.registration)
            if s is not None and s.status in NO_GRADE_ROW:
                dropped.append(r.registration)
                continue
            if s is not None and s.status == "cheating":
                r = replace(r, grade=FAIL_GRADE)
            elif s is not None and s.bonus:
                r = replace(r, grade=better(r.grade))
            kept.append(r)
            graded[r.registration] = r
        notes = []
        if dropped:
            notes.append(f"booklet(s) of {', '.join(dropped)} not graded: absent or withdrawn in the class list")
        unknown = [r.registration for r in kept if r.registration not in self.students]
        if unknown:
            notes.append(f"{len(unknown)} graded booklet(s) not mapped to a student of the class list "
                         f"({', '.join(unknown[:10])}{', ...' if len(unknown) > 10 else ''}): not in {EXPORT}; "
                         "map them (examgen students BUILD --map FILE, or the correction app)")
        missing = [s.registration for s in self.students.values() if s.status == "registered"
                   and s.registration not in graded]
        if missing:
            notes.append(f"{len(missing)} registered student(s) without a graded booklet "
                         f"({', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}): empty grade in "
                         f"{EXPORT}; map their booklet or set --status REG=absent")
        return kept, {EXPORT: self.export(graded)}, notes

    def export(self, graded: dict[str, Result]) -> str:
        """TUMonline's exam result import: its registration export handed back with GRADE filled
        (every other cell untouched), ';'-separated; students not from such a file get the four
        columns REGISTRATION_NUMBER, FAMILY_NAME_OF_STUDENT, FIRST_NAME_OF_STUDENT, GRADE."""
        headers = [s.header for s in self.students.values() if s.header]
        header = max(set(headers), key=headers.count) if headers else \
            ("REGISTRATION_NUMBER", "FAMILY_NAME_OF_STUDENT", "FIRST_NAME_OF_STUDENT", "GRADE")
        rows: list[list[object]] = [list(header)]
        for s in self.students.values():
            r = graded.get(s.registration)
            grade = CODES[s.status] if s.status in CODES else german(r.grade) if r is not None else ""
            if s.status == "cheating" and r is None:
                grade = CODES["cheating"]
            known = {"REGISTRATION_NUMBER": s.registration, "FAMILY_NAME_OF_STUDENT": s.last_name,
                     "FIRST_NAME_OF_STUDENT": s.first_name}
            row: list[object] = list(s.row) if s.header == header else [known.get(h, "") for h in header]
            row[header.index("GRADE")] = grade
            rows.append(row)
        return csv_text(rows, delimiter=";")  # ';' like TUMonline's own export


def load(folder: Path) -> ClassList | None:
    """The class list of a grading folder, or None (no database, or no students in it)."""
    path = _db_path(folder)
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            students = students_of(db)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise GradingError(f"{path}: not a grading database of examgen ({exc}); move it away") from None
    return ClassList(students) if students else None


def hook(folder: Path, notes: list[str]) -> Callable[[list[Result]], tuple[list[Result], dict[str, str]]] | None:
    """What `examgen grade` applies to its results (grading.grade_build's `records`) when the grading
    folder holds a class list; its notes for the terminal are appended to `notes`."""
    class_list = load(folder)
    if class_list is None:
        return None

    def apply(results: list[Result]) -> tuple[list[Result], dict[str, str]]:
        kept, files, lines = class_list.apply(results)
        notes.extend(lines)
        return kept, files
    return apply
