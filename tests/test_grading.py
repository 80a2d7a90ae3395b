"""examgen grade: exact scores of a synthetic responses CSV against a real quiz build
(2 variants, built once), every bad row in one error, nothing written on error,
grade boundaries and the template sheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.bank import load_bank
from examgen.cli import main
from examgen.errors import GradingError, SpecError
from examgen.grading import grade_build, load_build, read_responses, score, template_csv
from examgen.model import GradingScale, linear_thresholds
from examgen.spec import load_spec

QUIZ = ROOT / "exams" / "quiz.yaml"


def keys(build: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / "answers.json").read_text()) for d in sorted(build.glob("E*"))}


def right_row(reg: str, answers: dict, wrong_box_in: str | None = None, points: str = "max") -> dict[str, str]:
    """A row with every MC item right (except one box flipped in item `wrong_box_in`)
    and the given points on every part ('max' = full credits)."""
    row = {"registration": reg, "variant": answers["variant"]}
    for q in answers["questions"]:
        k = q["problem"]
        if q["type"] == "mc":
            for it in q["items"]:
                boxes = set(it["correct_boxes"])
                if f"P{k}{it['label']}" == wrong_box_in:
                    boxes ^= {1}
                row[f"P{k}{it['label']}"] = ";".join(map(str, sorted(boxes)))
        else:
            for p in q["parts"]:
                row[f"P{k}{p['name']}"] = f"{p['credits']:g}" if points == "max" else points
    return row


def wrong_row(reg: str, answers: dict) -> dict[str, str]:
    """Every MC item wrong (the complement of the key), 0 points everywhere."""
    row = right_row(reg, answers, points="0")
    for q in answers["questions"]:
        if q["type"] == "mc":
            for it in q["items"]:
                wrong = set(range(1, len(it["options"]) + 1)) - set(it["correct_boxes"])
                row[f"P{q['problem']}{it['label']}"] = ";".join(map(str, sorted(wrong)))
    return row


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header, delimiter=delimiter, lineterminator="\n", restval="")
        w.writeheader()
        w.writerows(rows)
    return path


def header_of(build: Path) -> list[str]:
    return next(csv.reader(template_csv(load_build(build)).splitlines()))


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_build_columns_match_the_printed_labels(quiz_build: Path) -> None:
    assert header_of(quiz_build) == ["registration", "variant", "P1a", "P1b", "P1c", "P2a", "P2b", "P2c"]
    sheet = template_csv(load_build(quiz_build)).splitlines()
    assert sheet[1:] == [",E0001,,,,,,", ",E0002,,,,,,"]


def test_exact_scores(quiz_build: Path, tmp_path: Path) -> None:
    k = keys(quiz_build)
    e1, e2 = k["E0001"], k["E0002"]
    # the quiz with seed 7: E0001 = 3 MC items (keys 3 | 1 | 1;3) + rnn_relu_scalar (a 2, b 3, c 1);
    # E0002 = 3 MC items (keys empty | 2;3 | 1;2;4) + batchnorm_forward (a 1, b 3.5, c 1.5); 12 credits each
    assert [it["correct_boxes"] for it in e1["questions"][0]["items"]] == [[3], [1], [1, 3]]
    assert [it["correct_boxes"] for it in e2["questions"][0]["items"]] == [[], [2, 3], [1, 2, 4]]
    rows = [
        right_row("001", e1),                                   # all right: 12
        wrong_row("002", e1),                                   # all wrong: 0
        right_row("003", e1, wrong_box_in="P1b", points="1"),   # one box wrong: 2 + 2 + 3 x 1 = 7
        {"registration": "004", "variant": "E0001"},            # empty: 0
        {"registration": "005", "variant": "E0002"},            # empty, but P1a's key is empty: 2
        right_row("006", e2, points="0.5") | {"P2b": "3,5"},    # 6 + 0.5 + 3.5 + 0.5 = 10.5
        wrong_row("007", e2) | {"P1c": "4;2;1"},                # order of boxes is irrelevant: 2
    ]
    csv_path = write_csv(tmp_path / "responses.csv", header_of(quiz_build), rows)
    out = tmp_path / "graded"
    files = grade_build(quiz_build, csv_path, out)
    assert [f.name for f in files] == ["results.csv", "statistics.csv", "report.pdf"]
    res = {r["registration"]: r for r in read(out / "results.csv")}
    assert {reg: (r["P1"], r["P2"], r["total"], r["grade"]) for reg, r in res.items()} == {
        "001": ("6", "6", "12", "1.0"),
        "002": ("0", "0", "0", "5.0"),
        "003": ("4", "3", "7", "3.7"),     # 7/12 = 58.3 %; 3.3 needs 60 % = 7.2 -> 7.5, 3.7 needs 6.6 -> 7
        "004": ("0", "0", "0", "5.0"),
        "005": ("2", "0", "2", "5.0"),
        "006": ("6", "4.5", "10.5", "1.7"),  # 87.5 %: 1.7 needs 85 % = 10.2 -> 10.5
        "007": ("2", "0", "2", "5.0"),
    }
    assert res["003"]["percent"] == "58.3333" and res["003"]["credits"] == "12"
    stats = {(r["scope"], r["key"], r["id"]): r for r in read(out / "statistics.csv")}
    total = stats[("all", "total", "")]
    assert (total["n"], total["mean"], total["full_marks_share"]) == ("7", "4.7857", "0.1429")  # 33.5 / 7
    p1b = stats[("E0001", "P1b", "xor_with_step_units")]
    assert (p1b["kind"], p1b["n"], p1b["mean"], p1b["full_marks_share"]) == ("mc-item", "4", "0.5", "0.25")
    assert stats[("E0002", "P2b", "batchnorm_forward")]["mean"] == "1.1667"  # (3.5 + 0 + 0) / 3
    assert stats[("all", "P2", "rnn_relu_scalar")]["mean"] == "2.25"  # (6 + 0 + 3 + 0) / 4
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_report_pdf_text(quiz_build: Path, tmp_path: Path) -> None:
    k = keys(quiz_build)
    csv_path = write_csv(tmp_path / "r.csv", header_of(quiz_build), [right_row("1", k["E0001"])])
    grade_build(quiz_build, csv_path, tmp_path / "g")
    import subprocess

    text = subprocess.run(["pdftotext", str(tmp_path / "g" / "report.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert "Grading report: IN2346 Quiz 1" in text and "Grade distribution" in text and "rnn_relu_scalar" in text


def test_semicolon_separated_sheet(quiz_build: Path, tmp_path: Path) -> None:
    k = keys(quiz_build)
    csv_path = write_csv(tmp_path / "r.csv", header_of(quiz_build), [right_row("1", k["E0002"])], delimiter=";")
    key = load_build(quiz_build)
    (result,) = score(key, read_responses(csv_path, key), GradingScale())
    assert result.total == 12 and result.grade == 1.0


def test_bad_rows_all_listed_nothing_written(quiz_build: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    k = keys(quiz_build)
    rows = [
        right_row("1", k["E0001"]),                              # line 2: fine
        right_row("2", k["E0009"] if "E0009" in k else k["E0001"]) | {"variant": "E0009"},  # line 3
        right_row("3", k["E0001"]) | {"P2b": "3.5"},             # line 4: over the maximum 3
        right_row("4", k["E0001"]) | {"P1a": "1;x", "P1b": "5"},  # line 5: malformed, no box 5
        right_row("5", k["E0002"]) | {"P2a": "0.3", "P1c": "2;2"},  # line 6: not a half, box twice
        right_row("1", k["E0002"]),                              # line 7: registration twice
    ]
    csv_path = write_csv(tmp_path / "r.csv", header_of(quiz_build), rows)
    out = tmp_path / "graded"
    with pytest.raises(GradingError) as exc:
        grade_build(quiz_build, csv_path, out)
    assert str(exc.value).splitlines() == [
        f"{csv_path}:3: unknown variant 'E0009'; the build has E0001..E0002",
        f"{csv_path}:4: column 'P2b': 3.5 points exceed the maximum 3 of part b); fix the cell",
        f"{csv_path}:5: column 'P1a': '1;x' is not a list of boxes 1-4 separated by ';' (e.g. 1;3; empty for "
        "none); fix the cell",
        f"{csv_path}:5: column 'P1b': '5' is not a list of boxes 1-4 separated by ';' (e.g. 1;3; empty for "
        "none); fix the cell",
        f"{csv_path}:6: column 'P1c': '2;2' names a box twice; fix the cell",
        f"{csv_path}:6: column 'P2a': 0.3 points: not a multiple of 0.5; fix the cell",
        f"{csv_path}:7: column 'registration': 1 is also on line 2; keep one of the two rows",
        f"{csv_path}: 7 problem(s); nothing was written",
    ]
    assert not out.exists()
    # the CLI: one line per problem, exit code 2, no traceback, nothing written
    assert main(["grade", str(quiz_build), "--responses", str(csv_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 8
    assert all(line.startswith("examgen: error: ") for line in err.strip().splitlines())
    assert not out.exists()


def test_existing_output_untouched_on_error(quiz_build: Path, tmp_path: Path) -> None:
    out = tmp_path / "graded"
    out.mkdir()
    (out / "results.csv").write_text("old\n")
    (out / "manifest.json").write_text('{"examgen": "0.1.0", "kind": "grading", "files": {"results.csv": ""}}')
    csv_path = write_csv(tmp_path / "r.csv", header_of(quiz_build), [{"registration": "1", "variant": "X"}])
    with pytest.raises(GradingError):
        grade_build(quiz_build, csv_path, out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "results.csv"]
    assert (out / "results.csv").read_text() == "old\n"


def test_bad_header_and_multiline_rows(quiz_build: Path, tmp_path: Path) -> None:
    header = [h for h in header_of(quiz_build) if h != "P2c"] + ["P3a", "P1x"]
    csv_path = write_csv(tmp_path / "r.csv", header, [{"registration": "1", "variant": "E0001"}])
    with pytest.raises(GradingError) as exc:
        read_responses(csv_path, load_build(quiz_build))
    lines = str(exc.value).splitlines()
    assert f"{csv_path}:1: unknown column 'P3a'; did you mean 'P2a'?" in lines
    assert any(line.startswith(f"{csv_path}:1: unknown column 'P1x'") for line in lines)
    assert f"{csv_path}:1: missing column(s) P2c" in lines
    # a quoted cell spanning two lines: the next row's number is still its first physical line
    text = ",".join(header_of(quiz_build)) + '\n1,E0001,"1\n",,,,,\n2,E0003,,,,,,\n'
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(GradingError) as exc:
        read_responses(tmp_path / "m.csv", load_build(quiz_build))
    assert str(exc.value).splitlines()[0] == f"{tmp_path / 'm.csv'}:4: unknown variant 'E0003'; the build has " \
                                             "E0001..E0002"


def test_template_then_grade_via_cli(quiz_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "sheet.csv"
    assert main(["grade", str(quiz_build), "--template", str(sheet)]) == 0
    rows = read(sheet)
    assert [r["variant"] for r in rows] == ["E0001", "E0002"]
    rows[0]["registration"], rows[1]["registration"] = "a", "b"
    write_csv(sheet, header_of(quiz_build), rows)
    out = tmp_path / "g"
    assert main(["grade", str(quiz_build), "-r", str(sheet), "-o", str(out), "--spec", str(QUIZ)]) == 0
    assert "2 students, mean total 1.00, passed 0 (0.0 %)" in capsys.readouterr().out
    assert main(["grade", str(quiz_build)]) == 2  # neither --responses nor --template


def test_default_scale() -> None:
    s = GradingScale()
    assert s.thresholds == (95, 90, 85, 80, 75, 70, 65, 60, 55, 50)
    assert s.boundaries(39) == [(1.0, 37.5), (1.3, 35.5), (1.7, 33.5), (2.0, 31.5), (2.3, 29.5), (2.7, 27.5),
                                (3.0, 25.5), (3.3, 23.5), (3.7, 21.5), (4.0, 19.5)]
    assert [s.grade(p, 40) for p in (40, 38, 37.5, 36, 20, 19.5)] == [1.0, 1.0, 1.3, 1.3, 4.0, 5.0]
    assert s.boundaries(12)[-1] == (4.0, 6.0) and s.grade(5.5, 12) == 5.0
    assert linear_thresholds(40, 85) == (85, 80, 75, 70, 65, 60, 55, 50, 45, 40)


def spec_with(tmp_path: Path, grading: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(QUIZ.read_text() + grading)
    return p


def test_spec_grading_key(tmp_path: Path) -> None:
    bank = load_bank()
    assert load_spec(QUIZ, bank).grading == GradingScale()
    spec = load_spec(spec_with(tmp_path, "grading: {pass_percent: 40, top_percent: 85}\n"), bank)
    assert spec.grading.thresholds[0] == 85 and spec.grading.thresholds[-1] == 40
    spec = load_spec(spec_with(tmp_path, "grading:\n  thresholds: [90, 85, 80, 75, 70, 65, 60, 55, 50, 45]\n"), bank)
    assert spec.grading.grade(45, 100) == 4.0 and spec.grading.grade(44.5, 100) == 5.0
    with pytest.raises(SpecError, match=r"grading.thresholds: the minimum percentages .* must strictly decrease"):
        load_spec(spec_with(tmp_path, "grading:\n  thresholds: [90, 85, 80, 75, 70, 65, 60, 55, 50, 50]\n"), bank)
    with pytest.raises(SpecError, match=r"pass_percent \(60\) must be below top_percent \(50\)"):
        load_spec(spec_with(tmp_path, "grading: {pass_percent: 60, top_percent: 50}\n"), bank)
    with pytest.raises(SpecError, match="grading.pass: unknown key 'pass'; valid keys: pass_percent, thresholds"):
        load_spec(spec_with(tmp_path, "grading: {pass: 60}\n"), bank)
