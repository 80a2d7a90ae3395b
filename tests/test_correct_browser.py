"""examgen correct in a real browser: Debian's headless Chromium driven by Selenium (the
chromedriver of the chromium-driver package; selenium-manager never runs, nothing is
downloaded). A tutor grades a part for three booklets with the keyboard, resolves a flagged
cell, two tutors save the same cell (the second is refused by name), then examgen grade's
results.csv has the points. Screenshots of every page go to a temporary folder
(EXAMGEN_SHOTS=DIR keeps them there)."""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import enter_points, serving, shots_dir, wait, wait_text, wait_url
from selenium.webdriver.common.by import By

from examgen.cli import main
from examgen.correct import Store


@pytest.fixture
def room(quiz_scanned: dict, tmp_path: Path) -> Iterator[dict]:
    """The scanned quiz's grading folder (a copy), two tutors, and the app serving it on a free port."""
    grading = tmp_path / "grading"
    shutil.copytree(quiz_scanned["grading"], grading)
    store = Store(grading / "grading.sqlite")
    tokens = {name: store.add_tutor(name) for name in ("Anna", "Ben")}
    store.close()
    with serving(quiz_scanned["build"], grading / "grading.sqlite") as base:
        yield {**quiz_scanned, "grading": grading, "base": base, "tokens": tokens}


def test_tutors_grade_in_the_browser(room, browsers, tmp_path, capsys):
    shots = shots_dir(tmp_path)
    base = room["base"]
    anna = browsers()
    anna.get(f"{base}/part/P2b")
    assert "needs a tutor's link" in anna.find_element(By.TAG_NAME, "body").text  # no link, no page
    anna.get(f"{base}/login/{room['tokens']['Anna']}")
    wait_url(anna, r"/$")
    anna.save_screenshot(str(shots / "1-problems.png"))
    anna.find_element(By.LINK_TEXT, "P2b").click()
    wait_url(anna, r"/part/P2b$")
    anna.save_screenshot(str(shots / "2-part.png"))
    anna.find_element(By.ID, "start").click()
    wait_url(anna, r"/part/P2b/1$")
    assert "Rubric (3 credits)" in anna.find_element(By.TAG_NAME, "body").text
    assert "∂h_T / ∂u (last step T)" in anna.find_element(By.CSS_SELECTOR, ".answers").text  # not its LaTeX
    assert anna.find_elements(By.CSS_SELECTOR, ".scan img")  # the answer region's crop
    anna.save_screenshot(str(shots / "3-booklet.png"))
    for booklet, points in ((1, "1.5"), (2, "0.5"), (3, "1")):  # type, Enter: saved, the next booklet opens
        wait_url(anna, rf"/part/P2b/{booklet}$")
        enter_points(anna, points)
        wait_url(anna, rf"/part/P2b/{booklet + 1}$")
        wait_text(anna, f"Saved: P2b of B{booklet:03d} = {points}.")

    # the review queue: B002's P2a has no cross in its score grid
    anna.get(f"{base}/review")
    form = anna.find_element(By.ID, "r-B002-P2a")
    assert "no cross in the score grid" in form.text
    assert form.find_elements(By.TAG_NAME, "img")  # the crops of the grid's cells
    anna.save_screenshot(str(shots / "4-review.png"))
    form.find_element(By.NAME, "points").send_keys("1")
    form.find_element(By.TAG_NAME, "button").click()
    wait_text(anna, "Set P2a of B002 to 1.")
    assert not anna.find_elements(By.ID, "r-B002-P2a")
    # B003's P1a: a faint stroke in box 1, read as not crossed; its boxes come ticked as read: one click confirms
    form = anna.find_element(By.ID, "r-B003-P1a")
    assert "box 1: darkness" in form.text and "near the mark threshold" in form.text
    ticked = [b.get_attribute("value") for b in form.find_elements(By.NAME, "box") if b.is_selected()]
    assert ticked == ["2", "3", "4"]
    form.find_element(By.TAG_NAME, "button").click()
    wait_text(anna, "Set P1a of B003 to 2;3;4.")
    wait_text(anna, "Nothing to review.")
    anna.save_screenshot(str(shots / "4b-review-done.png"))

    # two tutors, one cell: Anna opens it, Ben saves it, Anna's save is refused by name
    anna.get(f"{base}/part/P2c/1")
    ben = browsers()
    ben.get(f"{base}/login/{room['tokens']['Ben']}")
    wait_url(ben, r"/$")
    ben.get(f"{base}/part/P2c/1")
    enter_points(ben, "1")
    wait_url(ben, r"/part/P2c/2$")
    enter_points(anna, "0.5")
    error = wait(anna).until(lambda d: d.find_element(By.ID, "error").text)
    assert re.fullmatch(r"Ben set P2c of B001 to 1 at \d\d:\d\d; yours was not saved", error), error
    anna.save_screenshot(str(shots / "5-conflict.png"))
    for page in ("progress", "consensus", "mapping"):
        anna.get(f"{base}/{page}")
        anna.save_screenshot(str(shots / f"6-{page}.png"))

    db = sqlite3.connect(room["grading"] / "grading.sqlite")
    assert db.execute("SELECT who, booklet, column_name, old, new FROM changes WHERE what = 'review' ORDER BY id"
                      ).fetchall() == [("Anna", 2, "P2a", "", "1"), ("Anna", 3, "P1a", "2;3;4", "2;3;4")]
    db.close()

    # examgen grade reads the database: P2 = P2a + P2b + P2c of each booklet
    capsys.readouterr()
    assert main(["grade", str(room["build"]), "-o", str(room["grading"])]) == 0, capsys.readouterr().err
    with open(room["grading"] / "results.csv", encoding="utf-8", newline="") as f:
        p2 = {r["registration"]: float(r["P2"]) for r in csv.DictReader(f)}
    exp = {b: {c: float(v or 0) for c, v in cols.items() if c.startswith("P2")} for b, cols in room["expected"].items()}
    assert p2 == {"B001": exp["B001"]["P2a"] + 1.5 + 1,  # P2b by Anna, P2c by Ben (Anna's 0.5 refused)
                  "B002": 1 + 0.5 + exp["B002"]["P2c"],  # P2a from the review queue
                  "B003": exp["B003"]["P2a"] + 1 + exp["B003"]["P2c"],
                  "B004": exp["B004"]["P2a"] + exp["B004"]["P2b"] + exp["B004"]["P2c"]}
