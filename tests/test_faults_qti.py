"""examgen export qti: the faults. A zip examgen did not write (a user's zip, another
tool's QTI package, any other file) is refused at --out with one line, before any variant
is drawn; a statement that cannot become XHTML names its question; an examgen zip is
replaced by the next export."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from faults import GOOD, Row, bank_template, inject, problems, run_row

from examgen import ROOT
from examgen.cli import main
from examgen.targets import QTI_OWNED

EXPORT = ("export", "qti", "{spec}", "-o")
FOREIGN_FILE = "exists and was not written by examgen; remove it or choose another --out"


def zip_file(rel: str, entries: dict[str, str]):
    """A setup writing a zip at tmp/rel, and a check that it is byte for byte still there."""
    digest: dict[str, str] = {}

    def setup(tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(tmp / rel, "w") as z:
            for name, text in entries.items():
                z.writestr(name, text)
        digest["sha"] = hashlib.sha256((tmp / rel).read_bytes()).hexdigest()

    def check(tmp: Path) -> None:
        assert hashlib.sha256((tmp / rel).read_bytes()).hexdigest() == digest["sha"], f"{rel} was touched"
        assert sorted(p.name for p in (tmp / rel).parent.iterdir()) == [Path(rel).name], "leftovers"

    return setup, check


USER_ZIP = zip_file("z/exam.zip", {"photos/a.txt": "holiday\n"})
OTHER_QTI = zip_file("o/exam.zip", {"imsmanifest.xml": '<?xml version="1.0" encoding="UTF-8"?>\n<manifest/>\n'})
EXAMGEN_LOOKALIKE = zip_file("l/exam.zip", {"readme.txt": "<!-- examgen 0.1.0 QTI 2.1 export -->\n"})

ROWS = [
    Row("qti-out-user-zip", "{tmp}/z/exam.zip: " + FOREIGN_FILE, 2, spec=GOOD, args=(*EXPORT, "{tmp}/z/exam.zip"),
        setup=USER_ZIP[0], check=USER_ZIP[1]),
    Row("qti-out-other-tools-package", "{tmp}/o/exam.zip: " + FOREIGN_FILE, 2, spec=GOOD,
        args=(*EXPORT, "{tmp}/o/exam.zip"), setup=OTHER_QTI[0], check=OTHER_QTI[1]),
    Row("qti-out-mark-outside-the-manifest", "{tmp}/l/exam.zip: " + FOREIGN_FILE, 2, spec=GOOD,
        args=(*EXPORT, "{tmp}/l/exam.zip"), setup=EXAMGEN_LOOKALIKE[0], check=EXAMGEN_LOOKALIKE[1]),
    Row("qti-out-not-a-zip", "{user}/notes.txt: " + FOREIGN_FILE, 2, spec=GOOD, args=(*EXPORT, "{user}/notes.txt")),
    Row("qti-out-dot", "{user}: names a folder; --out takes a file name (e.g. {user}/exam.zip)", 2, spec=GOOD,
        args=(*EXPORT, "."), cwd="{user}"),
    Row("qti-unknown-template", "unknown template 'nope'", 2, spec=problems("  - template: nope\n"),
        args=(*EXPORT, "{tmp}/x.zip"),
        check=lambda tmp: None if not (tmp / "x.zip").exists() else pytest.fail("x.zip written")),
    Row("qti-statement-not-xhtml", "{tmp}/bank/data/bad_center/statement.tex.j2: bad_center (E0001 P1) part a: its "
        "text does not become well-formed XHTML for QTI (", 2, spec=problems("  - template: bad_center\n"),
        args=(*EXPORT, "{tmp}/x.zip", "--bank", "{tmp}/bank"),
        setup=bank_template("bad_center", inject(r"\begin{center}")),
        check=lambda tmp: None if not (tmp / "x.zip").exists() else pytest.fail("x.zip written")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row, tmp_path, capsys, monkeypatch):
    run_row(row, tmp_path, capsys, monkeypatch)


def test_an_examgen_package_is_replaced_and_a_broken_one_is_not(tmp_path: Path) -> None:
    out = tmp_path / "exam.zip"
    quiz = str(ROOT / "exams" / "quiz.yaml")
    assert main(["export", "qti", quiz, "-o", str(out), "--seed", "1"]) == 0
    first = out.read_bytes()
    assert QTI_OWNED(out)
    assert main(["export", "qti", quiz, "-o", str(out), "--seed", "2"]) == 0
    assert out.read_bytes() != first and QTI_OWNED(out)
    out.write_bytes(first[: len(first) // 2])  # truncated: no central directory, not provably examgen's
    assert not QTI_OWNED(out)
    assert main(["export", "qti", quiz, "-o", str(out)]) == 2
    assert out.read_bytes() == first[: len(first) // 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exam.zip"]
