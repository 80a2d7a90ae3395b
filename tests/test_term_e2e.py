"""The term end to end (issue 17): build the pinned quiz with 6 numbered booklets -> seat them in a
small room -> fill every booklet from a designed ground truth (crosses, cancelled and re-crossed
boxes, score crosses; two parts left without a cross, a faint stroke in an empty box) and scan it
(tests/scansim.py) -> examgen scan -> import a TUMonline class list and map the booklets -> correct
in headless Chromium (enter the parts the score crosses left unset, override one part, resolve every
flagged cell from the ground truth) -> one re-grading operation -> examgen grade -> report.pdf with its
item analysis -> exam review PDFs.

Every expected total and grade is computed here from the ground truth, each variant's answers.json
(correct boxes, credits, pool ids) and the points typed into the browser: never by examgen's grading
code. Grades follow the README's default scale (4.0 from 50 % of the variant's credits, 1.0 from
95 %, 5 %-steps; a boundary in points rounded up to the next half credit)."""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import scansim
from browser import enter_points, serving, shots_dir, wait_text, wait_url
from conftest import error_lines, pages_text, pdfinfo
from selenium.webdriver.common.by import By
from test_records import TUMONLINE, tum_row
from test_review import points

from examgen.cli import main
from examgen.scan.layout import load_layouts

pytestmark = pytest.mark.pdf

DPI = 200
# booklet -> (how many MC items, in label order, are crossed right; the score crosses' share of each part's
# credits); booklet b has variant E000((b-1) mod 2 + 1)
DESIGN = {1: (3, 1.0), 2: (2, 0.5), 3: (1, 1.0), 4: (3, 0.0), 5: (0, 0.5), 6: (3, 1.0)}
UNSET = {(4, "P2c"), (6, "P2b")}  # no cross in the score grid: the tutor types the points
FAINT = (3, "P1a")  # a faint pencil stroke across its empty boxes (near the mark threshold: flagged)
SECOND = (5, "P2b")  # a 2nd correction's cross replaces the 1st
STUDENTS = {1: "03700003", 2: "03700006", 3: "03700001", 4: "03700005", 5: "03700002", 6: "03700004"}
ABSENT = "03700007"
BONUS = "03700006"
CANCEL = "P1c@E0001"  # the pool item E0001 prints as P1c leaves the exam (wherever it was printed)
SCALE = ("1.0", "1.3", "1.7", "2.0", "2.3", "2.7", "3.0", "3.3", "3.7", "4.0")
PERCENT = (95, 90, 85, 80, 75, 70, 65, 60, 55, 50)
ROOMS = "reach: 1\nrooms:\n  - name: HS 1\n    seats: |\n      SSS\n      SSS\n"


def answers(build: Path, variant: str) -> dict:
    return json.loads((build / variant / "answers.json").read_text())


def mc_items(record: dict) -> dict[str, dict]:
    """column (P1a) -> the MC item of answers.json."""
    return {f"P{q['problem']}{it['label']}": it for q in record["questions"] if q["type"] == "mc" for it in q["items"]}


def parts(record: dict) -> dict[str, dict]:
    """column (P2a) -> the part of answers.json."""
    return {f"P{q['problem']}{p['name']}": p for q in record["questions"] if q["type"] != "mc" for p in q["parts"]}


def designed_truth(build: Path, layouts: dict) -> list[scansim.Booklet]:
    """The booklets as DESIGN says: right items cross exactly the correct boxes, wrong ones toggle box 1;
    some ticks are a filled box re-crossed in its recheck square, some unticked boxes filled (cancelled)."""
    codes = sorted(layouts)
    out = []
    for n, (right, share) in DESIGN.items():
        variant = codes[(n - 1) % len(codes)]
        record = answers(build, variant)
        items = mc_items(record)
        boxes: dict[tuple[str, int], str] = {}
        grid: dict[str, list[float]] = {}
        for page in layouts[variant].pages.values():
            for b in page.boxes:
                if b.kind == "mc":
                    col, box = b.column, int(b.number)
                    ok = set(items[col]["correct_boxes"])
                    ticked = ok if sorted(items).index(col) < right else ok ^ {1}
                    boxes[(col, box)] = (("refilled" if (n + box) % 4 == 0 else "crossed") if box in ticked
                                         else "filled" if (n + box) % 5 == 0 else "empty")
                elif b.kind == "score" and b.corrector == 1:
                    grid.setdefault(b.column, []).append(b.number)
        scores: dict[tuple[str, int], float | None] = {}
        for col, values in grid.items():
            scores[(col, 1)] = min(values, key=lambda v: abs(v - share * max(values)))
            scores[(col, 2)] = None
        if (n, "P2b") == SECOND:
            scores[("P2b", 2)] = max(grid["P2b"])
        for b, col in UNSET:
            if b == n:
                scores[(col, 1)] = None
        out.append(scansim.Booklet(n, variant, boxes, scores))
    return out


def boundary(credits: Fraction, percent: int) -> Fraction:
    """The points a grade needs: percent of the credits, rounded up to the next half credit."""
    return Fraction(math.ceil(credits * percent / 100 * 2), 2)


def expected_grade(total: Fraction, credits: Fraction, bonus: bool) -> str:
    for i, (grade, percent) in enumerate(zip(SCALE, PERCENT)):
        if total >= boundary(credits, percent):
            return SCALE[max(0, i - 1)] if bonus else grade
    return "5.0"


def expected_score(build: Path, variant: str, cells: dict[str, str], cancelled: set[str]) -> tuple[Fraction, Fraction]:
    """(total, credits) of one booklet (test_review.points: an MC item scores its credits when exactly its
    correct boxes are crossed, a part the points it got); a cancelled pool item scores nothing and leaves
    the maximum."""
    gone = {col for col, it in mc_items(answers(build, variant)).items() if it["id"] in cancelled}
    kept = [(pts, credits) for col, (_, pts, credits) in points(build, variant, cells).items() if col not in gone]
    return Fraction(sum(p for p, _ in kept)), Fraction(sum(c for _, c in kept))


def g(x: Fraction) -> str:
    return f"{float(x):g}"


def test_the_term(quiz_build, browsers, tmp_path, capsys):
    shots = shots_dir(tmp_path)
    spec = quiz_build.parent / "quiz.yaml"  # the pinned quiz (its variants come from the compile cache)
    build, grading = tmp_path / "quiz", tmp_path / "grading"
    assert main(["build", str(spec), "--variants", "2", "--booklets", str(len(DESIGN)), "--out", str(build)]) == 0

    # seat: 6 booklets of 2 variants in a 2 x 3 room; left/right and front/back neighbours differ
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    assert main(["seat", str(build), "--rooms", str(tmp_path / "rooms.yaml"), "-o", str(tmp_path / "seating")]) == 0
    with open(tmp_path / "seating" / "seating.csv", encoding="utf-8", newline="") as f:
        seats = {(int(r["row"]), int(r["seat"])): r for r in csv.DictReader(f)}
    assert sorted(r["booklet"] for r in seats.values()) == [f"B{n:03d}" for n in DESIGN]
    assert all(r["variant"] == f"E{(int(r['booklet'][1:]) - 1) % 2 + 1:04d}" for r in seats.values())
    for (row, seat), r in seats.items():
        for other in ((row, seat + 1), (row + 1, seat)):
            if other in seats:
                assert seats[other]["variant"] != r["variant"], (row, seat, other)
    attendance = pages_text(tmp_path / "seating" / "rooms" / "HS-1.pdf")
    assert "Attendance list" in attendance[0] and all(f"B{n:03d}" in attendance[0] for n in DESIGN)

    # simulated scans of every booklet
    layouts = load_layouts(build)
    columns = scansim.columns_of(layouts)
    truth = designed_truth(build, layouts)
    rng = np.random.default_rng(1717)
    pages = scansim.simulate(build, layouts, truth, DPI, rng)
    s = DPI / 25.4
    for img, (variant, booklet, n) in pages:
        for b in layouts[variant].pages[n].boxes:
            if (booklet, b.column) == FAINT and b.kind == "mc" and truth[booklet - 1].boxes[
                    (b.column, int(b.number))] == "empty":
                x, y, w, h = b.rect
                cv2.line(img, (int((x + 0.5) * s), int((y + 0.5) * s)), (int((x + w - 0.5) * s),
                         int((y + h - 0.5) * s)), 170, 4, cv2.LINE_AA)
    files = scansim.write_scans(scansim.scan_pages(pages, DPI, rng, 0.1), tmp_path / "scans", DPI, per_file=5)
    capsys.readouterr()
    assert main(["scan", str(build), *map(str, files), "-o", str(grading)]) == 1  # flagged cells to review
    err = capsys.readouterr().err
    for b, col in UNSET:
        assert f"review: booklet B{b:03d} (E{(b - 1) % 2 + 1:04d}) {col}: no cross in the score grid" in err, err
    assert f"review: booklet B{FAINT[0]:03d} (E0001) {FAINT[1]}: box" in err, err
    cells = {t.number: t.expected(columns) for t in truth}  # what the booklets hold (unset parts: '')

    # the class list (TUMonline's export), an absent student, a bonus, the booklets mapped
    regs = sorted([*STUDENTS.values(), ABSENT])
    rows = "".join(tum_row(r, f"Last{r[-1]}", f"First{r[-1]}", f"90{r[-1]}") for r in regs)
    (tmp_path / "classlist.csv").write_text(TUMONLINE + rows, encoding="utf-8-sig")
    (tmp_path / "bonus.csv").write_text(f"Registration number\n{BONUS}\n")
    (tmp_path / "map.csv").write_text("booklet,registration\n" + "".join(f"B{b:03d},{r}\n"
                                                                      for b, r in STUDENTS.items()))
    assert main(["students", str(build), "-o", str(grading), "--import", str(tmp_path / "classlist.csv"),
                 "--status", f"{ABSENT}=absent", "--bonus", str(tmp_path / "bonus.csv"),
                 "--map", str(tmp_path / "map.csv"), "--who", "lecturer"]) == 0, capsys.readouterr().err

    # the correction room in the browser: a tutor's link from examgen correct --add-tutor
    capsys.readouterr()
    assert main(["correct", str(build), "-o", str(grading), "--add-tutor", "Anna"]) == 0
    link = re.search(r"/login/\S+", capsys.readouterr().out)
    assert link, "no tutor link printed"
    entered: dict[tuple[int, str], str] = {}
    with serving(build, grading / "grading.sqlite") as base:
        anna = browsers()
        anna.get(base + link.group(0))
        wait_url(anna, r"/$")
        for b, col in sorted(UNSET):  # the parts without a score cross: type the points, Enter
            credits = Fraction(str(parts(answers(build, truth[b - 1].variant))[col]["credits"]))
            entered[(b, col)] = g(credits - Fraction(1, 2))
        override = (1, "P2a")  # B001's P2a was crossed at full credits; the tutor takes a point off
        entered[override] = g(Fraction(cells[1]["P2a"]) - 1)
        for (b, col), points in sorted(entered.items()):
            anna.get(f"{base}/part/{col}/{b}")
            wait_url(anna, rf"/part/{col}/{b}$")
            assert anna.find_elements(By.CSS_SELECTOR, ".scan img")  # the answer region's crop
            enter_points(anna, points)
            wait_text(anna, f"Saved: {col} of B{b:03d} = {points}.")
        anna.save_screenshot(str(shots / "term-1-saved.png"))
        # the review queue: every flagged cell set to what the booklet holds
        resolved = []
        anna.get(f"{base}/review")
        for _ in range(40):
            forms = anna.find_elements(By.CSS_SELECTOR, "form.review")
            if not forms:
                break
            form = forms[0]
            m = re.fullmatch(r"r-B(\d+)-(P\d+[a-z])", form.get_attribute("id"))
            b, col = int(m[1]), m[2]
            value = cells[b][col]
            if columns[col] == "mc":
                for box in form.find_elements(By.NAME, "box"):
                    if box.is_selected() != (box.get_attribute("value") in value.split(";")):
                        box.click()
            else:
                field = form.find_element(By.NAME, "points")
                field.clear()
                field.send_keys(value)
            anna.save_screenshot(str(shots / f"term-2-review-{len(resolved)}.png"))
            form.find_element(By.TAG_NAME, "button").click()
            wait_text(anna, f"Set {col} of B{b:03d} to {value or '(none)'}.")
            resolved.append((b, col))
        wait_text(anna, "Nothing to review.")
    assert FAINT in resolved and not UNSET & set(resolved)  # the typed parts left the queue
    for (b, col), points in entered.items():
        cells[b][col] = points

    # one re-grading operation, then grade
    cancelled = {mc_items(answers(build, "E0001"))["P1c"]["id"]}
    assert main(["regrade", str(build), "-o", str(grading), "--cancel", CANCEL, "--why", "two statements are true",
                 "--who", "lecturer"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["grade", str(build), "-o", str(grading)]) == 0, capsys.readouterr().err
    expected = {}
    for t in truth:
        total, credits = expected_score(build, t.variant, cells[t.number], cancelled)
        reg = STUDENTS[t.number]
        expected[reg] = (total, credits, expected_grade(total, credits, reg == BONUS))
    assert any(c < 12 for _, c, _ in expected.values())  # the cancelled item left a maximum
    with open(grading / "results.csv", encoding="utf-8", newline="") as f:
        results = {r["registration"]: (Fraction(r["total"]), Fraction(r["credits"]), r["grade"])
                   for r in csv.DictReader(f)}
    assert results == expected
    assert len({gr for _, _, gr in expected.values()}) >= 3  # the design spreads the grades
    with open(grading / "tumonline.csv", encoding="utf-8-sig", newline="") as f:
        export = {r["REGISTRATION_NUMBER"]: r["GRADE"] for r in csv.DictReader(f, delimiter=";")}
    assert export == {**{reg: gr.replace(".", ",") for reg, (_, _, gr) in expected.items()}, ABSENT: "X"}
    analysis = [page for page in pages_text(grading / "report.pdf") if "Item analysis" in page]
    assert len(analysis) == 1 and "Cronbach" in analysis[0]
    runs = sorted((grading / "runs").iterdir())
    assert len(runs) == 1 and [op["op"] for op in json.loads((runs[0] / "operations.json").read_text())] == ["cancel"]
    db = sqlite3.connect(grading / "grading.sqlite")
    try:
        assert sorted(db.execute("SELECT booklet, column_name, new FROM changes WHERE who = 'Anna' AND what = 'points'"
                                 ).fetchall()) == sorted((b, col, v) for (b, col), v in entered.items())
        assert db.execute("SELECT booklet, column_name FROM changes WHERE who = 'Anna' AND what = 'review' ORDER BY id"
                          ).fetchall() == resolved
    finally:
        db.close()

    # the exam review: one PDF per present student, stamped on every page, with the graded totals
    capsys.readouterr()
    assert main(["review", str(build), "--grading", str(grading), "-o", str(tmp_path / "review")]) == 0, \
        capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "review").glob("*.pdf")) == sorted(f"{r}.pdf" for r in STUDENTS.values())
    for t in truth:
        reg = STUDENTS[t.number]
        pdf = tmp_path / "review" / f"{reg}.pdf"
        solution = int(pdfinfo(build / t.variant / "solution.pdf")["Pages"])
        assert int(pdfinfo(pdf)["Pages"]) == 1 + len(layouts[t.variant].pages) + solution
        texts = pages_text(pdf)
        assert all(f"Einsicht {reg}" in text for text in texts), reg
        total, credits, grade = expected[reg]
        cover = " ".join(texts[0].split())
        assert f"Total {g(total)} of {g(credits)} points, grade {grade.replace('.', ',')}." in cover, (reg, cover)
    assert not error_lines(capsys.readouterr().err)
