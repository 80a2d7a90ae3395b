"""Re-grading: operations stored by `examgen regrade` (regrade table + the term's changes), replayed by
every `examgen grade` with exact totals on a hand-made responses set against the quiz build, undone by an
operation of their own; every grading run kept in runs/ and grading_runs, old runs never touched."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import error_lines
from test_analysis import COLS, ROWS
from test_grading import header_of, keys, read, write_csv

from examgen.cli import main
from examgen.errors import GradingError
from examgen.grading import load_build
from examgen.regrade import Operation, apply


def responses(build: Path, tmp: Path) -> Path:
    return write_csv(tmp / "responses.csv", header_of(build),
                     [dict(zip(["registration", "variant", *COLS], r)) for r in ROWS])


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_operations_replayed_undone_and_runs_kept(quiz_build: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    k = keys(quiz_build)
    e1, e2 = (k[c]["questions"][0]["items"] for c in ("E0001", "E0002"))
    assert [it["id"] for it in e1] == [it["id"] for it in e2]  # the same pool items in both variants
    out, csv_path = tmp_path / "g", responses(quiz_build, tmp_path)
    regrade = ["regrade", quiz_build, "-o", out, "--who", "lead"]
    assert run([*regrade, "--cancel", "P1b", "--why", "two answers are right"], capsys)[0] == 0
    assert run([*regrade, "--full-marks", "P2c", "--why", "c) was not solvable"], capsys)[0] == 0
    code, said, _ = run([*regrade, "--accept", "P1a@E0001=1", "--why", "box 1 is right too"], capsys)
    assert code == 0 and said.startswith("stored #3 accept P1a@E0001=1 (lead, ")

    assert run(["grade", quiz_build, "-r", csv_path, "-o", out], capsys)[0] == 0
    # P1b (xor_with_step_units) cancelled in both variants: 10 credits; P2c full marks (1 | 1.5);
    # E0001's box 1 of P1a accepted, in E0002 where the same option text is printed
    same = [i for i, o in enumerate(e2[0]["options"], 1) if o["text"] == e1[0]["options"][0]["text"]]
    s7_p1a = 2 if same == [1] else 0
    expected = {"s1": (10, "1.0"), "s2": (2 + 0 + 1 + 0 + 1, None), "s3": (2 + 2 + 2 + 1 + 1, None),
                "s4": (1, "5.0"), "s5": (2 + 2 + 1 + 3.5 + 1.5, "1.0"), "s6": (2 + 1.5, None),
                "s7": (s7_p1a + 2 + 0.5 + 0.5 + 1.5, None)}
    got = {r["registration"]: r for r in read(out / "results.csv")}
    assert {s: float(r["total"]) for s, r in got.items()} == {s: float(t) for s, (t, _) in expected.items()}
    assert {r["credits"] for r in got.values()} == {"10"}
    assert got["s3"]["grade"] == "2.0"  # 8 of 10 = 80 %
    assert (got["s1"]["grade"], got["s4"]["grade"], got["s5"]["grade"]) == ("1.0", "5.0", "1.0")
    stats = read(out / "statistics.csv")
    assert not [r for r in stats if r["id"] == e1[1]["id"]]  # a cancelled item is out of the statistics

    db = sqlite3.connect(out / "grading.sqlite")
    assert db.execute("SELECT id, who, op, target, argument, why FROM regrade ORDER BY id").fetchall() == [
        (1, "lead", "cancel", "P1b", None, "two answers are right"),
        (2, "lead", "full-marks", "P2c", None, "c) was not solvable"),
        (3, "lead", "accept", "P1a@E0001", "1", "box 1 is right too")]
    assert db.execute("SELECT who, what, column_name, new, why FROM changes ORDER BY id").fetchall() == [
        ("lead", "regrade cancel", "P1b", None, "#1: two answers are right"),
        ("lead", "regrade full-marks", "P2c", None, "#2: c) was not solvable"),
        ("lead", "regrade accept", "P1a@E0001", "1", "#3: box 1 is right too")]
    db.close()
    text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Re-grading replayed" in text and "#1 cancel P1b (lead," in text

    # undo the cancel: the next run scores P1b again (12 credits); the first run stays as it was
    first = sorted((out / "runs").iterdir())
    assert [p.name[:4] for p in first] == ["001-"]
    kept = {p.name: p.read_bytes() for p in first[0].iterdir()}
    assert run([*regrade, "--undo", "1", "--why", "the key was right after all"], capsys)[0] == 0
    assert run(["grade", quiz_build, "-r", csv_path, "-o", out], capsys)[0] == 0
    assert {r["credits"] for r in read(out / "results.csv")} == {"12"}
    assert float({r["registration"]: r for r in read(out / "results.csv")}["s1"]["total"]) == 12
    runs = sorted((out / "runs").iterdir())
    assert [p.name[:4] for p in runs] == ["001-", "002-"]
    assert {p.name: p.read_bytes() for p in runs[0].iterdir()} == kept
    assert sorted(kept) == ["operations.json", "report.pdf", "responses.csv", "results.csv", "statistics.csv"]
    assert [o["id"] for o in json.loads((runs[1] / "operations.json").read_text())] == [1, 2, 3, 4]
    assert (runs[1] / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    db = sqlite3.connect(out / "grading.sqlite")
    rows = db.execute("SELECT id, folder, source, students, operations FROM grading_runs ORDER BY id").fetchall()
    db.close()
    assert rows == [(1, f"runs/{runs[0].name}", str(csv_path.resolve()), 7, "[1, 2, 3]"),
                    (2, f"runs/{runs[1].name}", str(csv_path.resolve()), 7, "[1, 2, 3, 4]")]
    code, said, _ = run(["regrade", quiz_build, "-o", out, "--list"], capsys)
    assert code == 0 and said.splitlines()[3].startswith("#4 undo #1 (")

    # a CSV's grading folder has a database now, but no scanned booklet: grade still asks for --responses
    code, _, err = run(["grade", quiz_build, "-o", out], capsys)
    assert code == 2 and "give either --responses FILE.csv" in err


def op(n: int, kind: str, target: str, argument: str | None = None) -> Operation:
    return Operation(n, "2026-01-01T00:00:00", "t", kind, target, argument, "why")


def test_apply_on_the_key(quiz_build: Path) -> None:
    key = load_build(quiz_build)
    e1 = key.variants["E0001"]
    new = apply(key, [op(1, "cancel", "P2a@E0001"), op(2, "full-marks", "P1c"), op(3, "accept", "P1b@E0002", "1")])
    assert "P2a" not in new.variants["E0001"].cells and "P2a" in new.variants["E0002"].cells
    assert new.variants["E0001"].credits == e1.credits - e1.cells["P2a"].credits
    assert new.variants["E0001"].problems[2][1] == e1.problems[2][1] - e1.cells["P2a"].credits
    assert all(v.cells["P1c"].given for v in new.variants.values())
    assert key.variants["E0001"].cells["P1c"].given is False  # the build's key is left alone
    assert new.variants["E0002"].cells["P1b"].accepted == {frozenset({1})}
    # an undone operation is skipped
    assert "P2a" in apply(key, [op(1, "cancel", "P2a@E0001"), op(2, "undo", "1")]).variants["E0001"].cells
    with pytest.raises(GradingError, match=r"^#1 cancel P7a: the build has no column P7a; the build has P1a, "):
        apply(key, [op(1, "cancel", "P7a")])


def test_regrade_refusals_leave_nothing(quiz_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g"
    base = ["regrade", quiz_build, "-o", out]
    cases = [
        ([*base, "--cancel", "P1b"], "--cancel P1b: give the reason with --why \"...\""),
        ([*base, "--accept", "P2a=1", "--why", "x"], "--accept P2a: a part is graded by hand"),
        ([*base, "--accept", "P1a=1", "--why", "x"],
         "--accept P1a: P1a's options differ between variants (order or text); name the variant whose boxes you "
         "mean: P1a@E0001=1"),
        ([*base, "--accept", "P1c@E0001=9", "--why", "x"], "--accept P1c@E0001=9: '9' is not a list of boxes 1-"),
        ([*base, "--full-marks", "P1c@E0009", "--why", "x"],
         "--full-marks P1c@E0009: the build has no variant E0009; it has E0001, E0002"),
        ([*base, "--undo", "1", "--why", "x"], "--undo 1: no such re-grading operation; the stored ones are none"),
    ]
    for args, fragment in cases:
        code, _, err = run(args, capsys)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and fragment in lines[0], (args, err)
        assert not out.exists()
    code, _, err = run([*base, "--cancel", "P1a", "--full-marks", "P1b", "--why", "x"], capsys)
    assert code == 2 and "give exactly one of --cancel P1c" in err and not out.exists()
