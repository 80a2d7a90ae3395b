"""examgen correct: the review findings of issue 17 (a read-only reviewer reproduced each on main):
queue checks of the review and consensus forms, the consensus form's version and the consensus
queue by versions, grade's notes on unsettled second correction, sessions of a renewed or
removed tutor, logout, crafted numbers, MC-only second correction, and tokens in log lines.
The pinned quiz scanned (conftest.quiz_scanned): P1 is multiple choice, P2 has parts a-c;
B002's P2a and B003's P1a are flagged."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest
import test_correct
from conftest import error_lines
from test_correct import csrf, login, rows

import examgen.correct as correct_app
import examgen.correct.data as data
from examgen.cli import main
from examgen.correct import Store
from examgen.grading import load_build

room, client = test_correct.room, test_correct.client  # the fixtures: a copy of the scanned quiz, Anna's client
FLASH_ERROR = re.compile(r'<p class="flash error">([^<]*)</p>')


def flashes(html: str) -> list[str]:
    return FLASH_ERROR.findall(html)


def second(db: Path, problems: str = "P2") -> None:
    store = Store(db)
    try:
        store.set_setting("second", problems, "Anna")
    finally:
        store.close()


def with_store(db: Path, work) -> object:
    store = Store(db)
    try:
        return work(store)
    finally:
        store.close()


# ---------------------------------------------------------------- 1. queues: no cell set alone
def test_settle_refuses_a_cell_outside_the_consensus_queue(client):
    c, token, room = client
    second(room["db"])
    with_store(room["db"], lambda s: s.add_tutor("Ben"))
    login(c, token)
    page = c.get("/").get_data(as_text=True)
    r = c.post("/consensus/3/P2b", data={"points": "2", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 409
    assert flashes(r.get_data(as_text=True)) == [
        "P2b of B003: not in the consensus queue (it has no two differing corrections waiting for a consensus); "
        "nothing set"]
    with_store(room["db"], lambda s: s.mark_second(3, "P2b", "1", "Anna"))  # one mark: waiting, no consensus
    r = c.post("/consensus/3/P2b", data={"points": "2", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 409 and "not in the consensus queue" in r.get_data(as_text=True)
    with_store(room["db"], lambda s: s.mark_second(4, "P2b", "1", "Anna") + s.mark_second(4, "P2b", "1", "Ben"))
    r = c.post("/consensus/4/P2b", data={"points": "0", "version": "1", "csrf_token": csrf(page)})  # agreed
    assert r.status_code == 409
    assert rows(room["db"], "SELECT booklet, column_name, value FROM overrides") == [(4, "P2b", "1")]
    assert rows(room["db"], "SELECT count(*) FROM changes WHERE what = 'consensus'") == [(0,)]


def test_review_refuses_unflagged_cells_and_second_correction(client):
    c, token, room = client
    flagged = with_store(room["db"], lambda s: [(x.booklet, x.column) for x in s.flagged()])
    assert (2, "P2a") in flagged and (1, "P2a") not in flagged  # the fixture's flagged cells
    login(c, token)
    page = c.get("/review").get_data(as_text=True)
    assert 'id="r-B002-P2a"' in page
    r = c.post("/review/1/P2a", data={"points": "2", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 409
    assert flashes(r.get_data(as_text=True)) == [
        "P2a of B001: not in the review queue (the scan did not flag it); nothing set"]
    second(room["db"])
    r = c.post("/review/2/P2a", data={"points": "2", "version": "0", "csrf_token": csrf(page)})
    assert r.status_code == 409
    assert flashes(r.get_data(as_text=True)) == [
        "P2a of B002: P2 is under second correction: two tutors grade it on the page of P2a; nothing set"]
    assert 'id="r-B002-P2a"' not in c.get("/review").get_data(as_text=True)  # graded twice, not here
    assert "Review queue</a>: 1 flagged box(es)" in c.get("/").get_data(as_text=True)  # B003's P1a
    assert 'id="r-B003-P1a"' in c.get("/review").get_data(as_text=True)  # MC items stay in the queue
    assert rows(room["db"], "SELECT * FROM overrides") == []


# ---------------------------------------------------------------- 2. the consensus form and queue
def test_consensus_on_a_cell_set_before(client, monkeypatch):
    """B003's P2b was graded (version 1) before P2 came under second correction: the consensus
    form sends version 1 and the consensus is saved (it was refused as stale, forever)."""
    c, token, room = client
    store = Store(room["db"])
    try:
        store.add_tutor("Ben")
        monkeypatch.setattr(data, "_now", lambda: "2026-02-20T09:00:00")
        store.save(3, "P2b", "2", 0, "Anna", "points")
        monkeypatch.setattr(data, "_now", lambda: "2026-02-20T10:00:00")  # the marks an hour later
        store.set_setting("second", "P2", "Anna")
        assert store.mark_second(3, "P2b", "1", "Anna") == "waiting"
        assert store.mark_second(3, "P2b", "1.5", "Ben") == "differ"
    finally:
        store.close()
    login(c, token)
    queue = c.get("/consensus").get_data(as_text=True)
    form = queue.split('action="/consensus/3/P2b"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    assert fields.get("version") == "1"
    r = c.post("/consensus/3/P2b", data={**fields, "points": "1.5"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "Consensus: P2b of B003 = 1.5." in html and "No differing corrections." in html
    assert rows(room["db"], "SELECT booklet, column_name, value FROM overrides") == [(3, "P2b", "1.5")]


def test_a_mark_changed_in_the_second_of_the_consensus_reenters_the_queue(room, monkeypatch):
    monkeypatch.setattr(data, "_now", lambda: "2026-02-20T10:00:00")  # every write in the same second
    store = Store(room["db"])
    try:
        store.mark_second(3, "P2b", "1", "Anna")
        store.mark_second(3, "P2b", "1.5", "Ben")
        assert store.consensus_queue() == [(3, "P2b", {"Anna": "1", "Ben": "1.5"})]
        store.save(3, "P2b", "1.5", 0, "Cleo", "consensus")
        assert store.consensus_queue() == []
        assert store.mark_second(3, "P2b", "0.5", "Anna") == "differ"  # Anna changes her mind afterwards
        assert store.consensus_queue() == [(3, "P2b", {"Anna": "0.5", "Ben": "1.5"})]
        store.save(3, "P2b", "1", 1, "Cleo", "consensus")
        assert store.consensus_queue() == []
    finally:
        store.close()


# ---------------------------------------------------------------- 3. grade notes unsettled second correction
def test_grade_notes_unsettled_second_correction(room, capsys):
    store = Store(room["db"])
    try:
        store.set_setting("second", "P2", "Anna")
        store.mark_second(3, "P2b", "1", "Anna")
        store.mark_second(3, "P2b", "1.5", "Ben")  # differing: in the consensus queue
        store.mark_second(4, "P2c", "0.5", "Anna")  # waiting for the second mark
        store.mark_second(1, "P2a", "1", "Anna")
        store.mark_second(1, "P2a", "1", "Ben")  # agreed: settled
    finally:
        store.close()
    assert main(["grade", str(room["build"]), "-o", str(room["grading"])]) == 0
    notes = [line for line in error_lines(capsys.readouterr().err) if line.startswith("examgen: note:")]
    assert notes == [
        "examgen: note: 1 cell under second correction has differing marks (B003 P2b): graded from the score "
        "crosses; settle it in examgen correct's consensus queue",
        "examgen: note: 1 cell under second correction is waiting for its second mark (B004 P2c): graded from the "
        "score crosses; give it the second mark in examgen correct"]


def test_unsettled_notes_name_the_first_cells(room):
    key = load_build(room["build"])
    store = Store(room["db"])
    try:
        store.save(2, "P2b", "2", 0, "Ben", "points")  # set by hand before second correction
        store.set_setting("second", "P2", "Anna")
        for booklet in (1, 2, 3, 4):
            for column in ("P2a", "P2b"):
                store.mark_second(booklet, column, "1", "Anna")
    finally:
        store.close()
    assert data.unsettled_notes(room["db"], key) == [
        "8 cells under second correction are waiting for their second mark (B001 P2a, B001 P2b, B002 P2a, "
        "B002 P2b, ...): graded from the score crosses or the value set before; give them the second mark in "
        "examgen correct"]
    second(room["db"], "")  # no problem under second correction: nothing to note
    assert data.unsettled_notes(room["db"], key) == []


# ---------------------------------------------------------------- 4. sessions, logout, --remove-tutor, --host
def test_a_renewed_token_ends_the_old_sessions(client):
    c, token, room = client
    login(c, token)
    assert c.get("/").status_code == 200
    again = with_store(room["db"], lambda s: s.add_tutor("Anna"))
    r = c.get("/")
    assert r.status_code == 403 and "needs a tutor&#39;s link" in r.get_data(as_text=True)
    assert c.get(f"/login/{token}").status_code == 403
    login(c, again)
    assert c.get("/").status_code == 200


def test_logout(client):
    c, token, room = client
    login(c, token)
    home = c.get("/").get_data(as_text=True)
    assert f'<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf_token" ' \
           f'value="{csrf(home)}"><button class="link">Log out</button></form>' in home
    assert c.post("/logout").status_code == 400  # no CSRF token: refused
    assert c.get("/").status_code == 200
    r = c.post("/logout", data={"csrf_token": csrf(home)})
    assert r.status_code == 200 and "You are logged out; your tutor link logs you in again." in r.get_data(as_text=True)
    assert c.get("/").status_code == 403
    login(c, token)
    assert c.get("/").status_code == 200


def test_remove_tutor(client, capsys):
    c, token, room = client
    login(c, token)
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--remove-tutor", "Anna"]) == 0
    assert capsys.readouterr().out == "Anna: removed; their link and open sessions no longer work\n"
    assert c.get("/").status_code == 403
    assert c.get(f"/login/{token}").status_code == 403
    assert rows(room["db"], "SELECT who, what, old FROM changes WHERE what = 'tutor removed'") == \
        [("examgen correct", "tutor removed", "Anna")]
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--remove-tutor", "Bob"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        "examgen: error: --remove-tutor Bob: no such tutor; none has been added"]
    with_store(room["db"], lambda s: s.add_tutor("Ben"))
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--remove-tutor", "Bob"]) == 2
    assert "--remove-tutor Bob: no such tutor; the tutors are Ben" in capsys.readouterr().err


class Served:
    port = 8765

    def serve_forever(self) -> None:
        pass

    def server_close(self) -> None:
        pass


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("192.168.1.5", True), ("exam.example.org", True),
                                          ("127.0.0.1", False), ("localhost", False), ("::1", False)])
def test_plain_http_warning_off_loopback(room, capsys, monkeypatch, host, warned):
    monkeypatch.setattr(correct_app, "server", lambda app, h, p: Served())  # nothing is bound or served
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--host", host]) == 0
    err = error_lines(capsys.readouterr().err)
    assert err == ([f"examgen: warning: --host {host} is not a loopback address: tutor links, session cookies and "
                    "points travel over plain HTTP; serve it behind a TLS reverse proxy (e.g. nginx or Caddy with "
                    "https) or on 127.0.0.1"] if warned else [])


# ---------------------------------------------------------------- 5. crafted numbers: 400, not 500
HUGE = "99999999999999999999999"


def test_crafted_numbers_are_bad_requests(client):
    c, token, room = client
    second(room["db"], "P2")
    store = Store(room["db"])
    store.add_tutor("Ben")
    store.mark_second(3, "P2b", "1", "Anna")
    store.mark_second(3, "P2b", "1.5", "Ben")
    store.close()
    second(room["db"], "")
    login(c, token)
    page = c.get("/part/P2a/1").get_data(as_text=True)
    token_field = csrf(page)
    for version in ("abc", HUGE, "-1", "1.5"):
        for url in ("/part/P2a/1", "/review/2/P2a", "/consensus/3/P2b"):
            r = c.post(url, data={"points": "1", "version": version, "csrf_token": token_field})
            assert r.status_code == 400, (url, version)
            assert (f"Bad request: version {version!r} is not a version number of this app; reload the page and "
                    "enter it again").replace("'", "&#39;") in r.get_data(as_text=True)
    for url in (f"/part/P2a/{HUGE}", f"/crop/{HUGE}.png", f"/box/{HUGE}.png"):
        r = c.get(url)
        assert r.status_code == 400, url
        assert (f"Bad request: {HUGE} in the address is too large for a booklet, crop or box number; open the page "
                "from the app&#39;s links") in r.get_data(as_text=True)
    for url in (f"/review/{HUGE}/P2a", f"/consensus/{HUGE}/P2b"):
        assert c.post(url, data={"points": "1", "version": "0", "csrf_token": token_field}).status_code == 400
    r = c.post("/mapping", data={"booklet": HUGE, "registration": "", "csrf_token": token_field},
               follow_redirects=True)
    assert r.status_code == 200 and flashes(r.get_data(as_text=True)) == [f"no booklet {HUGE} in the database"]
    assert rows(room["db"], "SELECT * FROM overrides") == []


# ---------------------------------------------------------------- 6. --second: problems with hand-graded parts
def test_second_refuses_multiple_choice_only_problems(client, capsys, monkeypatch):
    c, token, room = client
    monkeypatch.setattr(correct_app, "server", lambda app, h, p: Served())  # accepted by mistake: no real serving
    assert main(["correct", str(room["build"]), "-o", str(room["grading"]), "--second", "P1"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        "examgen: error: --second P1: multiple choice only, nothing to grade twice by hand; give one of P2 "
        "(the problems with hand-graded parts)"]
    login(c, token)
    home = c.get("/").get_data(as_text=True)
    r = c.post("/settings/second", data={"problems": "P1, P2", "csrf_token": csrf(home)}, follow_redirects=True)
    assert flashes(r.get_data(as_text=True)) == [
        "P1: multiple choice only, nothing to grade twice by hand; second correction is for the problems with "
        "hand-graded parts: P2."]
    assert rows(room["db"], "SELECT value FROM app_settings WHERE name = 'second'") == []


# ---------------------------------------------------------------- 7. no token in a log line
def test_no_token_in_a_log_line(client, caplog, capsys, monkeypatch):
    c, token, room = client

    def gone(self, token):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "tutor_of", gone)
    with caplog.at_level(logging.INFO):
        assert c.get(f"/login/{token}").status_code == 500
        logging.getLogger("werkzeug").error('"GET /login/%s HTTP/1.1" 400 -', token)  # werkzeug's own lines
    logged = caplog.text + capsys.readouterr().err
    assert "Exception on /login/... [GET]" in logged and '"GET /login/... HTTP/1.1" 400 -' in logged
    assert "disk I/O error" in logged  # the traceback is still there
    assert token not in logged
