"""examgen correct: the data layer (versions, overrides grade reads, the audit trail, second
correction, mapping), tutor tokens and the refusal of anonymous and CSRF-less writes (Flask's
test client over a real scan of the pinned quiz: conftest.quiz_scanned)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import error_lines

from examgen.cli import main
from examgen.correct import Store, create_app
from examgen.correct.data import Invalid, Stale, token_hash
from examgen.grading import load_build
from examgen.scan import responses_text


@pytest.fixture
def room(quiz_scanned: dict, tmp_path: Path) -> dict:
    grading = tmp_path / "grading"
    shutil.copytree(quiz_scanned["grading"], grading)
    return {**quiz_scanned, "grading": grading, "db": grading / "grading.sqlite"}


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html
    return m[1]


def test_tokens_are_stored_as_hashes(room):
    store = Store(room["db"])
    try:
        token = store.add_tutor("Anna")
        assert store.tutor_of(token) == "Anna"
        assert store.tutor_of(token + "x") is None
        again = store.add_tutor("Anna")  # a renewed link: the old one stops working
        assert store.tutor_of(token) is None and store.tutor_of(again) == "Anna"
    finally:
        store.close()
    assert rows(room["db"], "SELECT name, token_hash FROM tutors") == [("Anna", token_hash(again))]
    dump = room["db"].read_bytes()
    assert again.encode() not in dump and token.encode() not in dump
    assert [r[0] for r in rows(room["db"], "SELECT what FROM changes ORDER BY id")] == \
        ["tutor added", "tutor token renewed"]


def test_save_versions_and_grade_reads_it(room):
    key = load_build(room["build"])
    store = Store(room["db"])
    try:
        first = store.cell(1, "P2a")
        assert first is not None and first.version == 0 and first.value is None
        auto = first.automatic
        saved = store.save(1, "P2a", "1.5", 0, "Anna", "points")
        assert (saved.value, saved.version, saved.tutor) == ("1.5", 1, "Anna")
        with pytest.raises(Stale) as stale:  # Ben still had version 0 on his screen
            store.save(1, "P2a", "2", 0, "Ben", "points")
        assert re.fullmatch(r"Anna set P2a of B001 to 1\.5 at \d\d:\d\d; yours was not saved", str(stale.value))
        assert store.cell(1, "P2a").value == "1.5"
        store.save(1, "P2a", "2", 1, "Ben", "points")  # with the version he was shown now
        text = responses_text(store.db, key)
    finally:
        store.close()
    assert "B001,E0001," in text and text.splitlines()[1].split(",")[2 + key.columns.index("P2a")] == "2"
    assert rows(room["db"], "SELECT booklet, column_name, value FROM overrides") == [(1, "P2a", "2")]
    assert rows(room["db"], "SELECT who, what, booklet, column_name, old, new FROM changes ORDER BY id") == \
        [("Anna", "points", 1, "P2a", auto, "1.5"), ("Ben", "points", 1, "P2a", "1.5", "2")]


def test_values_are_bounded_by_the_cell(room):
    key = load_build(room["build"])
    cell = key.variants["E0001"].cells["P2a"]  # 2 credits
    assert cell.credits == 2
    assert Store.parse(cell, "1,5") == "1.5" and Store.parse(cell, "2") == "2"
    with pytest.raises(Invalid, match=r"2\.5 points exceed the maximum 2 of part a\)"):
        Store.parse(cell, "2.5")
    with pytest.raises(Invalid, match=r"0\.3 points: not a multiple of 0\.5"):
        Store.parse(cell, "0.3")
    mc = key.variants["E0001"].cells["P1a"]
    assert Store.parse(mc, "3;1") == "1;3"
    with pytest.raises(Invalid, match="is not a list of boxes 1-"):
        Store.parse(mc, "9")


def test_second_correction_and_consensus(room):
    store = Store(room["db"])
    try:
        assert store.mark_second(3, "P2b", "1", "Anna") == "waiting"
        assert store.cell(3, "P2b").value is None  # one correction alone sets nothing
        assert store.mark_second(3, "P2b", "1.5", "Ben") == "differ"
        assert store.consensus_queue() == [(3, "P2b", {"Anna": "1", "Ben": "1.5"})]
        with pytest.raises(Invalid, match="has its two corrections already"):
            store.mark_second(3, "P2b", "1", "Cleo")
        store.save(3, "P2b", "1.5", 0, "Cleo", "consensus")
        assert store.consensus_queue() == []
        assert store.mark_second(4, "P2b", "0.5", "Anna") == "waiting"
        assert store.mark_second(4, "P2b", "0.5", "Ben") == "agreed"
        assert store.cell(4, "P2b").value == "0.5"
    finally:
        store.close()
    assert rows(room["db"], "SELECT booklet, value FROM overrides WHERE column_name = 'P2b' ORDER BY booklet") == \
        [(3, "1.5"), (4, "0.5")]


def test_mapping_booklets_to_students(room):
    con = sqlite3.connect(room["db"])
    con.execute("INSERT INTO students(registration, last_name, first_name) VALUES ('03712345', 'Muster', 'Eva')")
    con.commit()
    con.close()
    store = Store(room["db"])
    try:
        store.map_booklet(2, "03712345", "Anna")
        with pytest.raises(Invalid, match="no student with registration 0999 in the class list"):
            store.map_booklet(3, "0999", "Anna")
        with pytest.raises(Invalid, match="registration 03712345 is mapped to B002 already"):
            store.map_booklet(3, "03712345", "Anna")
    finally:
        store.close()
    assert rows(room["db"], "SELECT registration FROM booklets WHERE booklet = 2") == [("03712345",)]
    assert rows(room["db"], "SELECT who, what, booklet, column_name, old, new FROM changes "
                            "WHERE what = 'booklet mapped'") == \
        [("Anna", "booklet mapped", 2, "registration", None, "03712345")]


@pytest.fixture
def client(room):
    store = Store(room["db"])
    token = store.add_tutor("Anna")
    store.close()
    app = create_app(room["build"], room["db"])
    return app.test_client(), token, room


def test_no_anonymous_reads_or_writes(client):
    c, token, room = client
    assert c.get("/").status_code == 403
    assert "needs a tutor&#39;s link" in c.get("/part/P2a").get_data(as_text=True)
    r = c.post("/part/P2a/1", data={"points": "1", "version": "0"})
    assert r.status_code == 403
    assert c.get("/login/not-a-token").status_code == 403
    assert rows(room["db"], "SELECT * FROM overrides") == []


def test_posts_need_the_csrf_token(client):
    c, token, room = client
    assert c.get(f"/login/{token}").status_code == 302
    page = c.get("/part/P2a/1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Rubric" in html and "answer region of P2a" in html
    r = c.post("/part/P2a/1", data={"points": "1", "version": "0"})
    assert r.status_code == 400 and "security token is missing" in r.get_data(as_text=True)
    assert rows(room["db"], "SELECT * FROM overrides") == []
    r = c.post("/part/P2a/1", data={"points": "1", "version": "0", "csrf_token": csrf(html)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/part/P2a/2")  # Enter -> the next booklet
    assert rows(room["db"], "SELECT booklet, column_name, value FROM overrides") == [(1, "P2a", "1")]
    r = c.post("/part/P2a/1", data={"points": "5", "version": "1", "csrf_token": csrf(html)})
    assert r.status_code == 400 and "5 points exceed the maximum 2 of part a)" in r.get_data(as_text=True)


def test_cli_add_tutor_and_errors(room, tmp_path, capsys):
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--add-tutor", "Anna",
                 "--port", "9001"]) == 0
    link = capsys.readouterr().out.strip()
    m = re.fullmatch(r"Anna: http://127\.0\.0\.1:9001/login/([A-Za-z0-9_-]{32})", link)
    assert m
    store = Store(room["db"])
    assert store.tutor_of(m[1]) == "Anna"
    store.close()
    assert main(["correct", str(room["build"]), "-o", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert error_lines(err) == [f"examgen: error: {tmp_path / 'nothing' / 'grading.sqlite'}: no grading database; "
                                f"run examgen scan {room['build']} SCANS... first"]
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--second", "P9"]) == 2
    assert "--second P9: no such problem in this exam; give one of P2 (the problems with hand-graded parts)" in \
        capsys.readouterr().err
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--add-tutor", " "]) == 2
    assert "a tutor's name is 1-60 printable characters" in capsys.readouterr().err


def test_second_correction_in_the_app(client):
    c, token, room = client
    store = Store(room["db"])
    ben_token = store.add_tutor("Ben")
    store.close()
    c.get(f"/login/{token}")
    home = c.get("/").get_data(as_text=True)
    r = c.post("/settings/second", data={"problems": "P2", "csrf_token": csrf(home)}, follow_redirects=True)
    assert "Second correction: P2." in r.get_data(as_text=True)
    page = c.get("/part/P2b/3").get_data(as_text=True)
    assert "grade independently" in page
    r = c.post("/part/P2b/3", data={"points": "1", "version": "0", "csrf_token": csrf(page)}, follow_redirects=True)
    assert "P2b of B003: your 1 is saved (waiting)." in r.get_data(as_text=True)
    ben = c.application.test_client()
    ben.get(f"/login/{ben_token}")
    page = ben.get("/part/P2b/3").get_data(as_text=True)
    assert 'value=""' in page.split('id="points"')[1].split(">")[0]  # Ben does not see Anna's value
    r = ben.post("/part/P2b/3", data={"points": "1.5", "version": "0", "csrf_token": csrf(page)},
                 follow_redirects=True)
    assert "P2b of B003: your 1.5 is saved (differ)." in r.get_data(as_text=True)
    queue = c.get("/consensus").get_data(as_text=True)
    assert "Anna: <b>1</b> · Ben: <b>1.5</b>" in queue
    assert rows(room["db"], "SELECT * FROM overrides") == []  # nothing grade uses before the consensus
    r = c.post("/consensus/3/P2b", data={"points": "1.5", "csrf_token": csrf(queue)}, follow_redirects=True)
    assert "Consensus: P2b of B003 = 1.5." in r.get_data(as_text=True)
    assert "No differing corrections." in r.get_data(as_text=True)
    assert rows(room["db"], "SELECT booklet, column_name, value FROM overrides") == [(3, "P2b", "1.5")]
    r = c.post("/settings/second", data={"problems": "P7", "csrf_token": csrf(home)}, follow_redirects=True)
    assert "No problem P7 in this exam (problems: P1, P2)." in r.get_data(as_text=True)


def test_mapping_page(client):
    c, token, room = client
    con = sqlite3.connect(room["db"])
    con.execute("INSERT INTO students(registration, last_name, first_name) VALUES ('03712345', 'Muster', 'Eva')")
    con.commit()
    con.close()
    c.get(f"/login/{token}")
    page = c.get("/mapping").get_data(as_text=True)
    assert '<option value="03712345">Muster, Eva</option>' in page
    r = c.post("/mapping", data={"booklet": "4", "registration": "03712345", "csrf_token": csrf(page)},
               follow_redirects=True)
    assert "B004 -&gt; 03712345." in r.get_data(as_text=True) and "<td>Muster, Eva</td>" in r.get_data(as_text=True)
    r = c.post("/mapping", data={"booklet": "3", "registration": "0999", "csrf_token": csrf(page)},
               follow_redirects=True)
    assert "no student with registration 0999 in the class list" in r.get_data(as_text=True)
    assert rows(room["db"], "SELECT booklet, registration FROM booklets WHERE registration IS NOT NULL") == \
        [(4, "03712345")]


# ---------------------------------------------------------------- polish (issue 17: correctpolish)
def login(c, token: str) -> None:
    assert c.get(f"/login/{token}").status_code == 302


def test_key_and_rubric_read_as_text(client):
    """The pinned quiz's E0001 (B001): labels and rubric lines as Unicode text, the LaTeX in a
    title; a vector of the numbers and of the key as one aligned row of cells."""
    c, token, room = client
    login(c, token)
    b = c.get("/part/P2b/1").get_data(as_text=True)
    assert ('<td title="$\\partial h_T / \\partial u$ (last step $T$)">∂h_T / ∂u (last step T)</td>'
            '<td class="value">4</td><td class="pt">1 pt</td>') in b
    assert '<li><b>1</b> <span title="$\\partial h_3/\\partial u = 4$">∂h_3/∂u = 4</span></li>' in b
    assert ('<tr><td>x</td><td><table class="matrix"><tr><td>1</td><td>-1</td><td>3</td></tr></table></td></tr>'
            in b)
    assert "[1, -1, 3]" not in b
    cpage = c.get("/part/P2c/1").get_data(as_text=True)
    assert ('<span title="$\\partial y_3/\\partial u = v \\cdot \\partial h_3/\\partial u = 8$">'
            '∂y_3/∂u = v · ∂h_3/∂u = 8</span>') in cpage
    a = c.get("/part/P2a/1").get_data(as_text=True)
    assert ('<td title="$h_1, h_2, \\dots$">h_1, h_2, …</td><td class="value"><table class="matrix">'
            '<tr><td>2</td><td>1</td><td>4</td></tr></table></td>') in a


def test_matrices_and_inline_matrices(room, tmp_path):
    """A matrix of the numbers as aligned rows; LaTeX matrices, fractions, norms and grouped
    subscripts of a rubric line in one line of text (a copied build with edited numbers)."""
    build = tmp_path / "quiz"
    shutil.copytree(room["build"], build)
    record = build / "E0001" / "answers.json"
    data = json.loads(record.read_text(encoding="utf-8"))
    p2 = next(q for q in data["questions"] if q["problem"] == 2)
    p2["params"]["W"] = [[1, -2.5], [3.0, 4]]
    p2["parts"][1]["rubric"].append(
        {"points": 0.5, "text": "$W = \\begin{bmatrix} 1 & -2 \\\\ 3 & 4 \\end{bmatrix}$, "
                                "$\\frac{\\partial h_t}{\\partial h_{t-1}} \\le \\|w\\|_1$ and $\\lambda < 1$"})
    record.write_text(json.dumps(data), encoding="utf-8")
    store = Store(room["db"])
    token = store.add_tutor("Anna")
    store.close()
    c = create_app(build, room["db"]).test_client()
    login(c, token)
    page = c.get("/part/P2b/1").get_data(as_text=True)
    assert ('<tr><td>W</td><td><table class="matrix"><tr><td>1</td><td>-2.5</td></tr>'
            '<tr><td>3</td><td>4</td></tr></table></td></tr>') in page
    assert ">W = [1 -2; 3 4], ∂h_t/∂h_(t-1) ≤ ‖w‖_1 and λ &lt; 1</span></li>" in page


def test_enter_skips_graded_booklets_and_wraps(client):
    c, token, room = client
    store = Store(room["db"])
    store.add_tutor("Ben")
    store.save(2, "P2a", "1", 0, "Ben", "points")  # B002 is graded already
    store.close()
    login(c, token)
    part = c.get("/part/P2a").get_data(as_text=True)
    assert '<small id="count">Anna graded 0 · 3 of 4 left</small>' in part
    page = c.get("/part/P2a/3").get_data(as_text=True)
    r = c.post("/part/P2a/3", data={"points": "1", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/part/P2a/4")
    r = c.post("/part/P2a/4", data={"points": "0.5", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/part/P2a/1")  # wraps, B002 skipped
    r = c.post("/part/P2a/1", data={"points": "2", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/part/P2a")  # the part's list
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert '<p class="flash message">P2a: all 4 booklets graded.</p>' in html
    assert '<small id="count">Anna graded 3 · 0 of 4 left</small>' in html
    assert 'id="start"' not in html
    home = " ".join(c.get("/").get_data(as_text=True).split())
    assert '<th class="n">Left</th><th class="n">Anna graded</th>' in home
    assert ('<td class="n">4</td><td class="n">4</td><td class="n">0</td><td class="n">3</td> <td><progress max="4" '
            'value="4"></progress></td>') in home
    assert ('<td class="n">0</td><td class="n">4</td><td class="n">4</td><td class="n">0</td> <td><progress max="4" '
            'value="0"></progress></td>') in home
    progress = " ".join(c.get("/progress").get_data(as_text=True).split())
    assert ('<th class="n" title="booklets Anna graded">Anna</th><th class="n" title="booklets Ben graded">Ben</th>'
            in progress)
    assert ('<tr><td>P2a</td><td class="n">4</td><td class="n">4</td><td class="n">0</td> '
            '<td class="n">3</td><td class="n">1</td></tr>') in progress
    assert ('<tr><td>P2b</td><td class="n">0</td><td class="n">4</td><td class="n">4</td> '
            '<td class="n"></td><td class="n"></td></tr>') in progress


def test_enter_under_second_correction_skips_my_booklets(client):
    c, token, room = client
    store = Store(room["db"])
    store.set_setting("second", "P2", "Anna")
    store.mark_second(2, "P2c", "1", "Anna")  # Anna has given B002 her value; nothing is set yet
    store.close()
    login(c, token)
    page = c.get("/part/P2c/1").get_data(as_text=True)
    r = c.post("/part/P2c/1", data={"points": "1", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/part/P2c/3")
    assert '<small id="count">Anna graded 2 · 2 of 4 left</small>' in c.get("/part/P2c").get_data(as_text=True)


def snapshot_cells(db: Path) -> tuple:
    return (rows(db, "SELECT * FROM overrides ORDER BY booklet, column_name"),
            rows(db, "SELECT * FROM cell_versions ORDER BY booklet, column_name"),
            rows(db, "SELECT * FROM changes ORDER BY id"))


def test_a_failed_save_writes_nothing(room, monkeypatch):
    """An error after the version and the override are written (the changes row fails): none of
    the three tables keeps any of it, not even after a later save on the same connection commits."""
    import examgen.correct.data as data

    store = Store(room["db"])
    try:
        store.save(1, "P2a", "1", 0, "Anna", "points")
        before = snapshot_cells(room["db"])

        def broken(*args, **kw):
            raise RuntimeError("audit trail unavailable")

        monkeypatch.setattr(data, "log_change", broken)
        with pytest.raises(RuntimeError, match="audit trail unavailable"):
            store.save(1, "P2a", "2", 1, "Anna", "points")
        with pytest.raises(RuntimeError, match="audit trail unavailable"):
            store.save(2, "P2b", "1.5", 0, "Anna", "points")
        assert snapshot_cells(room["db"]) == before
        monkeypatch.undo()
        store.save(4, "P2c", "0.5", 0, "Ben", "points")  # a later commit on the same connection
        assert store.cell(1, "P2a").value == "1" and store.cell(2, "P2b").value is None
        monkeypatch.setattr(data, "log_change", broken)  # a second correction's mark and its changes row
        with pytest.raises(RuntimeError, match="audit trail unavailable"):
            store.mark_second(3, "P2c", "1", "Anna")
        monkeypatch.undo()
        store.set_setting("second", "P2", "Anna")
        assert store.second_marks(3, "P2c") == {}
    finally:
        store.close()
    overrides, versions, changes = snapshot_cells(room["db"])
    assert [r[:3] for r in overrides] == [(1, "P2a", "1"), (4, "P2c", "0.5")]
    assert [r[:4] for r in versions] == [(1, "P2a", 1, "Anna"), (4, "P2c", 1, "Ben")]
    assert [(r[2], r[3], r[4], r[5], r[7]) for r in changes] == [
        ("Anna", "points", 1, "P2a", "1"), ("Ben", "points", 4, "P2c", "0.5"),
        ("Anna", "setting second", None, None, "P2")]
    assert rows(room["db"], "SELECT * FROM second_marks") == []


def test_a_database_error_in_the_app_is_one_message(client, monkeypatch):
    import examgen.correct.data as data

    c, token, room = client
    login(c, token)
    before = snapshot_cells(room["db"])
    page = c.get("/part/P2a/1").get_data(as_text=True)

    def full(*args, **kw):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(data, "log_change", full)
    r = c.post("/part/P2a/1", data={"points": "1.5", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 503
    assert ('<p class="error" id="error">the database refused the write (database or disk is full); '
            'yours was not saved, enter it again</p>') in r.get_data(as_text=True)
    assert 'value="1.5"' in r.get_data(as_text=True)  # what the tutor typed stays in the field
    assert snapshot_cells(room["db"]) == before
