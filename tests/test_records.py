"""The class list (examgen students): TUMonline's registration export in its German and English
headers, ';' or ',', UTF-8 with or without BOM or Windows-1252; bad rows all listed and nothing
imported; a re-import merges; statuses, bonus and booklet mappings audited in `changes`; and
examgen grade applying them (exact grades) with the TUMonline export beside results.csv."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest
from conftest import error_lines
from test_grading import header_of, keys, right_row, write_csv, wrong_row

from examgen.cli import main
from examgen.records import better, parse_class_list

# TUMonline's exam registration export (CAMPUSonline's columns, as RWTHonline and TUM tools read them)
TUMONLINE = ("STUDY_PROGRAMME;CODE_OF_STUDY_PROGRAMME;Studienplan_Version;SPO_KONTEXT;REGISTRATION_NUMBER;"
             "FAMILY_NAME_OF_STUDENT;FIRST_NAME_OF_STUDENT;GESCHLECHT;DATE_OF_ASSESSMENT;"
             "GUEL_U_AKTUELLE_ANTRITTE_SPO;GRADE;REMARK;Number_Of_The_Course;SEMESTER_OF_The_COURSE;COURSE_TITLE;"
             "Examiner;Start_Time;TERMIN_ORT;DB_Primary_Key_Of_Exam;DB_Primary_Key_Of_Candidate;COURSE_GROUP_NAME;"
             "FILE_REMARK;EMAIL_ADDRESS;ECTS_GRADE\n")


def tum_row(reg: str, last: str, first: str, key: str) -> str:
    return (f"Informatik;1630 17 030;20231;[20231] Informatik;{reg};{last};{first};W;26.02.2027;1;;;IN2346;26W;"
            f"Introduction to Deep Learning;Prof. X;08:00;MW 2001;4711;{key};;;{last.lower()}@tum.de;\n")


def sheet(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp / name
    path.write_bytes(text.encode(encoding))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def table(db_path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("text, encoding", [
    ("Matrikelnummer;Nachname;Vorname;Studium\n03700001;Müller;Jürgen;Informatik\n3700002;Öz;Ayşe;Mathematik\n",
     "utf-8-sig"),
    ("Registration number,Last name,First name,Degree programme\n03700001,Müller,Jürgen,Informatik\n"
     "03700002,Öz,Ayşe,Mathematik\n", "utf-8"),
    ("Matrikelnummer;Familienname;Vorname;Studienkennzahl\n03700001;Müller;Jürgen;Informatik\n"
     "03700002;Öz;Ayşe;Mathematik\n", "utf-8"),
])
def test_headers_separators_encodings(tmp_path, text, encoding):
    path = sheet(tmp_path, "classlist.csv", text.replace("Ayşe", "Ayse") if encoding == "cp1252" else text,
                 encoding)
    got = [(s.registration, s.last_name, s.first_name, s.programme) for s in parse_class_list(path)]
    assert got == [("03700001", "Müller", "Jürgen", "Informatik"), ("03700002", "Öz", "Ayşe", "Mathematik")]


def test_windows_1252_and_tumonline_export(tmp_path):
    path = sheet(tmp_path, "cl.csv", "Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n", "cp1252")
    assert [(s.last_name, s.first_name) for s in parse_class_list(path)] == [("Müller", "Jürgen")]
    path = sheet(tmp_path, "tum.csv", TUMONLINE + tum_row("03700001", "Müller", "Jürgen", "901"), "utf-8-sig")
    (s,) = parse_class_list(path)
    assert (s.registration, s.last_name, s.first_name, s.programme) == ("03700001", "Müller", "Jürgen", "Informatik")
    assert s.header[4] == "REGISTRATION_NUMBER" and s.row[19] == "901"


def test_bad_rows_all_listed_nothing_imported(quiz_build, tmp_path, capsys):
    out = tmp_path / "grading"
    good = sheet(tmp_path, "good.csv", "Matrikelnummer;Nachname;Vorname\n03700009;Alt;Anna\n")
    assert run(["students", str(quiz_build), "--import", str(good), "-o", str(out)], capsys)[0] == 0
    before = (out / "grading.sqlite").read_bytes()
    bad = sheet(tmp_path, "classlist.csv", "Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n"
                "037-0002;Öz;Ayşe\n03700001;Meier;Max\n03700004;;\n03700005;Kurz\n")
    code, _, err = run(["students", str(quiz_build), "--import", str(bad), "-o", str(out)], capsys)
    assert code == 2
    assert error_lines(err) == [
        f"examgen: error: {bad}:3: registration '037-0002' is not a registration number (up to 8 digits 0-9); "
        "fix the cell",
        f"examgen: error: {bad}:4: registration 03700001 is also on line 2; keep one of the two rows",
        f"examgen: error: {bad}:5: registration 03700004: no name; fill in the last name",
        f"examgen: error: {bad}:6: 2 fields, the header has 3",
        f"examgen: error: {bad}: 4 problem(s); nothing was written",
    ]
    assert (out / "grading.sqlite").read_bytes() == before  # nothing imported
    code, _, err = run(["students", str(quiz_build), "--import",
                        str(sheet(tmp_path, "x.csv", "Name;Vorname\nA;B\n")), "-o", str(tmp_path / "new")], capsys)
    assert code == 2 and not (tmp_path / "new").exists()  # a first import that fails leaves no folder
    assert "x.csv:1: missing column(s) (registration: one of REGISTRATION_NUMBER, Matrikelnummer, " \
           "Registration number); the header has Name, Vorname" in err


def test_reimport_merges_statuses_bonus_audited(quiz_build, tmp_path, capsys):
    out = tmp_path / "grading"
    db = out / "grading.sqlite"
    first = sheet(tmp_path, "cl.csv", "Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n03700002;Öz;Ayşe\n")
    code, stdout, _ = run(["students", str(quiz_build), "--import", str(first), "-o", str(out), "--who", "lead"],
                          capsys)
    assert code == 0 and "2 students added, 0 changed, 0 unchanged" in stdout
    bonus = sheet(tmp_path, "bonus.csv", "Matrikelnummer\n03700002\n")
    code, stdout, err = run(["students", str(quiz_build), "-o", str(out), "--status", "03700001=cheating",
                             "--bonus", str(bonus), "--who", "lead", "--why", "seen copying"], capsys)
    assert code == 0, err
    assert "1 status(es) changed; 1 bonus change(s); 2 in the class list (1 registered, 0 absent, 0 withdrawn, " \
           "1 cheating; 1 with bonus)" in stdout
    second = sheet(tmp_path, "cl2.csv", "Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n"
                   "03700002;Öz-Yılmaz;Ayşe\n03700003;Neu;Nina\n")
    code, stdout, _ = run(["students", str(quiz_build), "--import", str(second), "-o", str(out), "--who", "lead"],
                          capsys)
    assert "1 students added, 1 changed, 1 unchanged" in stdout
    assert table(db, "SELECT registration, last_name, status, bonus FROM students ORDER BY 1") == [
        ("03700001", "Müller", "cheating", 0), ("03700002", "Öz-Yılmaz", "registered", 1),
        ("03700003", "Neu", "registered", 0)]
    assert table(db, "SELECT who, what, column_name, old, new, why FROM changes ORDER BY id") == [
        ("lead", "student added", "registration", None, "03700001", "class list cl.csv: Müller, Jürgen"),
        ("lead", "student added", "registration", None, "03700002", "class list cl.csv: Öz, Ayşe"),
        ("lead", "student 03700001", "status", "registered", "cheating", "seen copying"),
        ("lead", "student 03700002", "bonus", "0", "1", "seen copying"),
        ("lead", "student 03700002", "last_name", "Öz", "Öz-Yılmaz", "class list cl2.csv"),
        ("lead", "student added", "registration", None, "03700003", "class list cl2.csv: Neu, Nina"),
    ]
    code, _, err = run(["students", str(quiz_build), "-o", str(out), "--status", "03799999=absent"], capsys)
    assert code == 2 and error_lines(err) == [
        "examgen: error: --status 03799999=absent: registration 03799999 is not in the class list; import it first "
        "(--import classlist.csv)"]
    code, _, err = run(["students", str(quiz_build), "-o", str(out), "--status", "03700001=sick"], capsys)
    assert code == 2 and "STATUS one of registered, absent, withdrawn, cheating" in err


def test_bonus_step():
    assert [better(g) for g in (1.0, 1.3, 1.7, 3.7, 4.0, 5.0)] == [1.0, 1.0, 1.3, 3.3, 3.7, 5.0]


def test_grade_applies_class_list_and_writes_tumonline(quiz_build, tmp_path, capsys):
    """absent: no grade row, X; withdrawn: no row, empty grade; cheating: 5.0, U; bonus one step
    (7 of 12 = 3.7 -> 3.3; 6 of 12 = 4.0 -> 3.7; 12 = 1.0 stays; 0 = 5.0 stays)."""
    k = keys(quiz_build)
    e1 = k["E0001"]
    out = tmp_path / "grading"
    regs = {"03700001": "A", "03700002": "B", "03700003": "C", "03700004": "D", "03700005": "E",
            "03700006": "F", "03700007": "G", "03700008": "H"}
    cl = sheet(tmp_path, "cl.csv", TUMONLINE + "".join(tum_row(r, n, "X", f"90{i}")
                                                      for i, (r, n) in enumerate(regs.items())), "utf-8-sig")
    bonus = sheet(tmp_path, "bonus.csv", "Registration number\n03700002\n03700003\n03700004\n03700005\n")
    assert run(["students", str(quiz_build), "--import", str(cl), "--bonus", str(bonus), "-o", str(out),
                "--status", "03700006=cheating", "--status", "03700007=absent", "--status", "03700008=withdrawn"],
               capsys)[0] == 0
    rows = [right_row("03700001", e1),                                  # 12: 1.0, no bonus
            right_row("3700002", e1, wrong_box_in="P1b", points="1"),   # 7: 3.7, bonus 3.3 (zeros lost)
            right_row("03700003", e1, points="0"),                      # 6: 4.0, bonus 3.7
            right_row("03700004", e1),                                  # 12: 1.0, bonus stays 1.0
            wrong_row("03700005", e1),                                  # 0: 5.0, bonus stays 5.0
            right_row("03700006", e1),                                  # 12 but cheating: 5.0
            right_row("03700007", e1),                                  # absent (a stray row): no grade row
            right_row("B017", e1, points="0")]                          # a booklet not mapped: graded, listed
    responses = write_csv(tmp_path / "responses.csv", header_of(quiz_build), rows)
    code, stdout, err = run(["grade", str(quiz_build), "--responses", str(responses), "-o", str(out)], capsys)
    assert code == 0, err
    with open(out / "results.csv", encoding="utf-8", newline="") as f:
        grades = {r["registration"]: (r["total"], r["grade"]) for r in csv.DictReader(f)}
    assert grades == {"03700001": ("12", "1.0"), "03700002": ("7", "3.3"), "03700003": ("6", "3.7"),
                      "03700004": ("12", "1.0"), "03700005": ("0", "5.0"), "03700006": ("12", "5.0"),
                      "B017": ("6", "4.0")}
    text = (out / "tumonline.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == TUMONLINE.strip()
    export = {r["REGISTRATION_NUMBER"]: r for r in csv.DictReader(lines, delimiter=";")}
    assert {r: e["GRADE"] for r, e in export.items()} == {
        "03700001": "1,0", "03700002": "3,3", "03700003": "3,7", "03700004": "1,0", "03700005": "5,0",
        "03700006": "U", "03700007": "X", "03700008": ""}
    assert export["03700003"]["DB_Primary_Key_Of_Candidate"] == "902"  # every other cell handed back as exported
    assert lines[3] == tum_row("03700003", "C", "X", "902").strip().replace(";;;IN2346", ";3,7;;IN2346")
    assert error_lines(err) == [
        "examgen: note: booklet(s) of 03700007 not graded: absent or withdrawn in the class list",
        "examgen: note: 1 graded booklet(s) not mapped to a student of the class list (B017): not in tumonline.csv; "
        "map them (examgen students BUILD --map FILE, or the correction app)"]
    assert "wrote results.csv, statistics.csv, report.pdf, tumonline.csv" in stdout


def test_booklet_mapping_audited(quiz_build, tmp_path, capsys):
    out = tmp_path / "grading"
    db = out / "grading.sqlite"
    cl = sheet(tmp_path, "cl.csv", "Matrikelnummer;Nachname;Vorname\n03700001;A;A\n03700002;B;B\n03700003;C;C\n")
    assert run(["students", str(quiz_build), "--import", str(cl), "-o", str(out)], capsys)[0] == 0
    con = sqlite3.connect(db)  # booklets as examgen scan stores them
    con.executemany("INSERT INTO booklets(booklet, variant) VALUES (?, ?)", [(1, "E0001"), (2, "E0002"), (17, "E0001")])
    con.commit()
    con.close()
    first = sheet(tmp_path, "map.csv", "booklet,registration\nB001,03700001\n2,03700002\n")
    code, stdout, _ = run(["students", str(quiz_build), "--map", str(first), "-o", str(out), "--who", "tutor"], capsys)
    assert code == 0 and "2 booklet(s) mapped" in stdout and "2 of 3 scanned booklets mapped" in stdout
    # a typo fixed: B002 was 03700003's, B017 is 03700002's (one file swaps them)
    fix = sheet(tmp_path, "fix.csv", "Heft;Matrikelnummer\n2;03700003\nB017;03700002\n")
    code, stdout, err = run(["students", str(quiz_build), "--map", str(fix), "-o", str(out), "--who", "tutor",
                             "--why", "sticker misread"], capsys)
    assert code == 0, err
    assert table(db, "SELECT booklet, registration FROM booklets ORDER BY 1") == [
        (1, "03700001"), (2, "03700003"), (17, "03700002")]
    assert table(db, "SELECT who, what, booklet, old, new, why FROM changes WHERE what = 'booklet mapped' "
                     "ORDER BY id") == [
        ("tutor", "booklet mapped", 1, None, "03700001", "mapping map.csv"),
        ("tutor", "booklet mapped", 2, None, "03700002", "mapping map.csv"),
        ("tutor", "booklet mapped", 2, "03700002", "03700003", "sticker misread"),
        ("tutor", "booklet mapped", 17, None, "03700002", "sticker misread")]
    bad = sheet(tmp_path, "bad.csv", "booklet,registration\n1,03799999\nB01x,03700001\n17,03700001\n")
    code, _, err = run(["students", str(quiz_build), "--map", str(bad), "-o", str(out)], capsys)
    assert code == 2 and error_lines(err) == [  # the file's own faults first
        f"examgen: error: {bad}:3: booklet 'B01x' is not a booklet number (B017 or 17); fix the cell"]
    twice = sheet(tmp_path, "twice.csv", "booklet,registration\n2,03799999\n17,03700001\n")
    code, _, err = run(["students", str(quiz_build), "--map", str(twice), "-o", str(out)], capsys)
    assert code == 2 and error_lines(err) == [
        f"examgen: error: {twice}:2: registration 03799999 is not in the class list; import it first "
        "(--import classlist.csv)",
        f"examgen: error: {twice}:3: registration 03700001 is already mapped to booklet B001; map that booklet to "
        "its student in the same file",
        f"examgen: error: {twice}: 2 problem(s); nothing was written"]
    assert table(db, "SELECT booklet, registration FROM booklets ORDER BY 1") == [
        (1, "03700001"), (2, "03700003"), (17, "03700002")]
