"""Fault rows of `examgen students` and `examgen review` (issue 17, the term's records): a class
list that cannot be read or lacks its columns, a bad status, a mapping of a booklet never
scanned, an --out examgen did not write, a review without a grading database. Nothing is
written in any of them: a first import that fails leaves no grading folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from faults import Row, run_row
from test_faults_scanread import build

CLASS_LIST = "Matrikelnummer;Nachname;Vorname\n03700001;Müller;Jürgen\n"


def with_files(**files: bytes):
    def setup(tmp: Path) -> None:
        build(tmp)
        for name, data in files.items():
            (tmp / name.replace("_", ".")).write_bytes(data)
    return setup


STUDENTS = ("students", "{tmp}/build", "-o", "{out}")
ROWS = [
    Row("classlist-missing", "{tmp}/cl.csv: file not found", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv"), setup=with_files()),
    Row("classlist-empty", "{tmp}/cl.csv: empty file; export the exam's registrations from TUMonline as CSV", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv"), setup=with_files(cl_csv=b"")),
    Row("classlist-not-text", "{tmp}/cl.csv: neither UTF-8 nor Windows-1252 text (byte 19); save it as CSV UTF-8",
        2, args=(*STUDENTS, "--import", "{tmp}/cl.csv"),
        setup=with_files(cl_csv=b"Matrikelnummer;Name\x81;Vorname\n")),
    Row("classlist-no-registration", "{tmp}/cl.csv:1: missing column(s) (registration: one of REGISTRATION_NUMBER, "
        "Matrikelnummer, Registration number); the header has Nachname, Vorname", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv"), setup=with_files(cl_csv=b"Nachname;Vorname\nA;B\n")),
    Row("classlist-broken-quote", "{tmp}/cl.csv:2: ", 2, args=(*STUDENTS, "--import", "{tmp}/cl.csv"),
        setup=with_files(cl_csv=b'Matrikelnummer,Nachname,Vorname\n03700001,"M\xc3\xbcller,J\n')),
    Row("bad-status", "--status 03700001=ill: not REGISTRATION=STATUS with STATUS one of registered, absent, "
        "withdrawn, cheating; e.g. --status 03700001=absent", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv", "--status", "03700001=ill"),
        setup=with_files(cl_csv=CLASS_LIST.encode())),
    Row("map-unscanned-booklet", "{tmp}/map.csv:2: booklet B017 is not in the grading database (not scanned); "
        "scan it first (examgen scan)", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv", "--map", "{tmp}/map.csv"),
        setup=with_files(cl_csv=CLASS_LIST.encode(), map_csv=b"booklet,registration\nB017,03700001\n")),
    Row("map-no-booklet-column", "{tmp}/map.csv:1: missing column 'booklet'", 2,
        args=(*STUDENTS, "--import", "{tmp}/cl.csv", "--map", "{tmp}/map.csv"),
        setup=with_files(cl_csv=CLASS_LIST.encode(), map_csv=b"Heftnummer,registration\n17,03700001\n")),
    Row("students-nothing-yet", "{out}: no class list yet; import TUMonline's registration export", 2,
        args=STUDENTS, setup=with_files()),
    Row("students-foreign-out", "{out}: an examgen build folder, not a grading folder", 2, out="untouched",
        args=(*STUDENTS, "--import", "{tmp}/cl.csv"), setup=with_files(cl_csv=CLASS_LIST.encode())),
    Row("students-user-out", "{user}: not an examgen grading folder", 2,
        args=("students", "{tmp}/build", "-o", "{user}", "--import", "{tmp}/cl.csv"),
        setup=with_files(cl_csv=CLASS_LIST.encode())),
    Row("review-no-database", "{tmp}/grading: no grading database (grading.sqlite); run examgen scan first", 2,
        args=("review", "{tmp}/build", "--grading", "{tmp}/grading", "-o", "{out}"), setup=with_files()),
    Row("review-foreign-out", "{out}: an examgen build folder, not a review folder", 2, out="untouched",
        args=("review", "{tmp}/build", "--grading", "{tmp}/grading", "-o", "{out}"),
        setup=lambda tmp: (with_files(cl_csv=CLASS_LIST.encode())(tmp),
                           run_students(tmp))),
]


def run_students(tmp: Path) -> None:
    from examgen.cli import main

    assert main(["students", str(tmp / "build"), "-o", str(tmp / "grading"), "--import", str(tmp / "cl.csv")]) == 0


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)
