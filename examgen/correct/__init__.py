"""`examgen correct BUILD`: the correction room, a local web app over BUILD-grading/grading.sqlite.

Tutors open their link (`--add-tutor NAME` prints it; the token is stored as a hash only),
then grade by subproblem across all booklets: the crop of the answer region beside the
variant's numbers, key and rubric; type points, Enter saves and opens the next booklet. Every
save is an override that `examgen grade` uses, with a `changes` row; a save against a stale
version is refused with who set what. Pages are rendered on the server (Flask + Jinja2);
every POST needs a tutor's session and a CSRF token (Flask-WTF's CSRFProtect)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ..grading import BuildKey, Cell, load_build
from .data import CellState, Invalid, Stale, Store, booklet_name, hand_graded
from .show import number, readable, rows

__all__ = ["create_app", "Store"]
REVIEW_PAGE = 25  # flagged cells shown at once in the review queue
LARGEST = 2**63 - 1  # SQLite's largest integer: a booklet, crop or version number beyond it is no number of ours
TOKEN_IN_PATH = re.compile(r"/login/[^\s/?#'\"\]]+")


class Number(IntegerConverter):
    """The app's <int:...> in an address: a number beyond SQLite's integers is a bad request (400)
    with what is wrong, not an overflow deep in the database driver (500)."""

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > LARGEST:
            raise BadRequest(f"{value[:30]}{'...' if len(value) > 30 else ''} in the address is too large for a "
                             "booklet, crop or box number; open the page from the app's links")
        return number


def form_number(field: str, default: str = "") -> int:
    """A whole number the app's own forms send (a hidden version, a booklet): anything else is a
    crafted or mangled request, refused with 400 and what is wrong."""
    raw = request.form.get(field, default).strip()
    if not re.fullmatch(r"\d{1,18}", raw):
        abort(400, description=f"{field} {raw[:30]!r} is not a {field} number of this app; reload the page and "
                               "enter it again")
    return int(raw)


class NoTokens(logging.Filter):
    """Keeps tutors' tokens out of every log line: a /login/<token> path in a message or in the
    traceback of an exception (Flask logs 'Exception on <path>') is written as /login/..."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_IN_PATH.search(message):
            record.msg, record.args = TOKEN_IN_PATH.sub("/login/...", message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = TOKEN_IN_PATH.sub("/login/...", record.exc_text)
        return True


def hide_tokens(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if not any(isinstance(f, NoTokens) for f in logger.filters):
            logger.addFilter(NoTokens())


def second_refusal(key: BuildKey, chosen: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(problems the exam lacks, problems without hand-graded parts, the problems with them) of a
    choice of problems for second correction."""
    known = {f"P{k}" for v in key.variants.values() for k in v.problems}
    graded = hand_graded(key)
    return ([p for p in chosen if p not in known], [p for p in chosen if p in known and p not in graded], graded)


def _answers(build: Path) -> dict[str, dict[str, Any]]:
    """Every variant's answers.json (for the numbers, key and rubric beside a crop)."""
    return {f.parent.name: json.loads(f.read_text(encoding="utf-8"))
            for f in sorted(build.glob("E[0-9][0-9][0-9][0-9]/answers.json"))}


def _part(record: dict[str, Any], column: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The question and the part (None for an MC item) a column names, in one variant's record."""
    for q in record["questions"]:
        if q["type"] == "mc":
            if any(f"P{q['problem']}{it['label']}" == column for it in q["items"]):
                return q, None
        for p in q.get("parts", []):
            if f"P{q['problem']}{p['name']}" == column:
                return q, p
    raise KeyError(column)


def create_app(build_dir: Path, db_path: Path) -> Flask:
    """The app over a build's answer keys and its grading database."""
    key: BuildKey = load_build(build_dir)
    records = _answers(Path(build_dir))
    setup = Store(db_path)
    try:
        secret = setup.secret_key()
    finally:
        setup.close()
    app = Flask(__name__)
    app.url_map.converters["int"] = Number
    hide_tokens(app.logger, logging.getLogger("werkzeug"))
    app.config.update(SECRET_KEY=secret, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      WTF_CSRF_TIME_LIMIT=None, TEMPLATES_AUTO_RELOAD=False)
    parts = [c for c in key.columns if any(c in v.cells and v.cells[c].kind == "part" for v in key.variants.values())]

    def cell_of(variant: str, column: str) -> Cell:
        v = key.variants.get(variant)
        if v is None or column not in v.cells:
            abort(404)
        return v.cells[column]

    def having(column: str) -> set[str]:
        return {code for code, v in key.variants.items() if column in v.cells}

    def counts(store: Store, columns: list[str]) -> list[tuple[str, int, int]]:
        """(column, cells set by hand, booklets that have it) per column."""
        done, booklets = store.set_per_column(), store.per_variant()
        return [(col, done.get(col, 0), sum(booklets.get(v, 0) for v in having(col))) for col in columns]

    @app.before_request
    def _open() -> Response | None:
        g.store = Store(db_path)
        g.tutor = session.get("tutor")
        if g.tutor is not None:  # a renewed token or a removed tutor ends the sessions opened with the old one
            now = g.store.token_generation(g.tutor)
            if now is None or not secrets.compare_digest(now, str(session.get("generation", ""))):
                session.clear()
                g.tutor = None
        if request.endpoint in ("login", "static") or g.tutor is not None:
            return None
        return Response(render_template("message.html", title="Open your tutor link",
                                        message="This page needs a tutor's link: ask for one "
                                                "(examgen correct BUILD --add-tutor NAME prints it)."), 403)

    CSRFProtect(app)  # after the tutor check: an anonymous POST is refused for want of a tutor first

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def _no_referrer(response: Response) -> Response:
        response.headers["Referrer-Policy"] = "no-referrer"  # a page opened from a tutor link names no link
        return response

    @app.errorhandler(BadRequest)
    def _bad(e: BadRequest) -> tuple[str, int]:
        return render_template("message.html", title="Bad request", message=f"Bad request: {e.description}"), 400

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> tuple[str, int]:
        return render_template("message.html", title="Not saved",
                               message=f"Not saved: the form's security token is missing or old ({e.description}); "
                                       "reload the page and enter it again."), 400

    @app.get("/login/<token>")
    def login(token: str) -> Any:
        name = g.store.tutor_of(token)
        if name is None:
            return render_template("message.html", title="Unknown link",
                                   message="This tutor link is not (or no longer) valid; ask for a new one."), 403
        session.clear()
        session["tutor"] = name
        session["generation"] = g.store.token_generation(name)
        return redirect(url_for("index"))  # the address bar (and history) without the token

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        g.tutor = None
        return render_template("message.html", title="Logged out",
                               message="You are logged out; your tutor link logs you in again.")

    @app.get("/")
    def index() -> str:
        store: Store = g.store
        return render_template("index.html", rows=counts(store, parts), graded=store.graded_per_tutor(),
                               flagged=len(reviewable(store)),
                               consensus=len(store.consensus_queue()), second=store.second_problems())

    @app.get("/progress")
    def progress() -> str:
        store: Store = g.store
        return render_template("progress.html", rows=counts(store, key.columns), tutors=store.saves_per_tutor(),
                               graded=(graded := store.graded_per_tutor()), graders=sorted({t for t, _ in graded}),
                               parts=set(parts))

    def ungraded(column: str, cells: list[CellState]) -> list[int]:
        """The booklets still to grade in this part: no points set yet (under second correction:
        none yet from this tutor either)."""
        problem = next(v.cells[column].problem for v in key.variants.values() if column in v.cells)
        mine = g.store.marked_by(column, g.tutor) if f"P{problem}" in g.store.second_problems() else set()
        return [c.booklet for c in cells if c.value is None and c.booklet not in mine]

    @app.get("/part/<column>")
    def part(column: str) -> str:
        if column not in parts:
            abort(404)
        cells = g.store.cells_of(column, having(column))
        todo = ungraded(column, cells)
        graded = g.store.graded_per_tutor().get((g.tutor, column), 0)
        return render_template("part.html", column=column, cells=cells, name=booklet_name, todo=todo, graded=graded)

    def _next(column: str, booklet: int) -> Any:
        """Enter after a save: the next booklet without points in this part, wrapping around;
        the part's list when every booklet is graded."""
        cells = g.store.cells_of(column, having(column))
        todo = [b for b in ungraded(column, cells) if b != booklet]
        if todo:
            return redirect(url_for("booklet", column=column, booklet=next((b for b in todo if b > booklet), todo[0])))
        flash(f"{column}: all {len(cells)} booklets graded.")
        return redirect(url_for("part", column=column))

    @app.route("/part/<column>/<int:booklet>", methods=["GET", "POST"])
    def booklet(column: str, booklet: int) -> Any:
        store: Store = g.store
        state = store.cell(booklet, column)
        if column not in parts or state is None:
            abort(404)
        cell = cell_of(state.variant, column)
        second = f"P{cell.problem}" in store.second_problems()
        error = ""
        if request.method == "POST":
            try:
                value = store.parse(cell, request.form.get("points", ""))
                if second:
                    outcome = store.mark_second(booklet, column, value, g.tutor)
                    flash(f"{column} of {booklet_name(booklet)}: your {value} is saved "
                          f"({'both agree' if outcome == 'agreed' else outcome}).")
                else:
                    store.save(booklet, column, value, form_number("version", "0"), g.tutor, "points")
                    flash(f"Saved: {column} of {booklet_name(booklet)} = {value}.")
                return _next(column, booklet)
            except (Invalid, Stale) as exc:
                error = str(exc)
                state = store.cell(booklet, column) or state
            except sqlite3.Error as exc:  # rolled back (Store._atomic): nothing of it is in the database
                error = f"the database refused the write ({exc}); yours was not saved, enter it again"
        question, p = _part(records[state.variant], column)
        return render_template(
            "booklet.html", state=state, cell=cell, question=question, part=p, fmt=number, tex=readable, rows=rows,
            error=error,
            crops=store.answer_crops(booklet, column), boxes=store.box_crops(booklet, column), name=booklet_name,
            second=second, mine=store.second_marks(booklet, column).get(g.tutor, "") if second else "",
            entered=request.form.get("points", "") if error else ""), (409 if error.endswith("not saved") else
                                                                      503 if error.endswith("enter it again") else
                                                                      400 if error else 200)

    def png(data: bytes | None) -> Response:
        """A stored crop (404 when there is none), cached by the tutor's browser only."""
        if data is None:
            abort(404)
        return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/crop/<int:crop>.png")
    def crop(crop: int) -> Response:
        return png(g.store.answer_crop(crop))

    @app.get("/box/<int:measurement>.png")
    def box(measurement: int) -> Response:
        return png(g.store.box_crop(measurement))

    def under_second(cell: Cell, store: Store) -> bool:
        return cell.kind == "part" and f"P{cell.problem}" in store.second_problems()

    def reviewable(store: Store) -> list[CellState]:
        """The review queue: the flagged cells no one has set, but not those under second correction
        (graded twice on their part's page, never set here by one tutor)."""
        second = set(store.second_problems())
        return [s for s in store.flagged() if s.variant in key.variants and not (
            (cell := key.variants[s.variant].cells.get(s.column)) and cell.kind == "part"
            and f"P{cell.problem}" in second)]

    @app.get("/review")
    def review() -> str:
        store: Store = g.store
        flagged = reviewable(store)
        items = [(s, key.variants[s.variant].cells.get(s.column), store.box_crops(s.booklet, s.column))
                 for s in flagged[:REVIEW_PAGE]]  # a page at a time: each set cell leaves the queue
        return render_template("review.html", items=items, name=booklet_name, total=len(flagged))

    def posted(booklet: int, column: str) -> tuple[Store, CellState, Cell, int]:
        """The cell a review or consensus form posts to (404 when unknown) and the version it saw."""
        store: Store = g.store
        state = store.cell(booklet, column)
        if state is None:
            abort(404)
        return store, state, cell_of(state.variant, column), form_number("version", "0")

    def set_posted(store: Store, booklet: int, column: str, cell: Cell, raw: str, version: int, why: str,
                   done: str, page: str) -> Any:
        """Parse and save a posted value (audited as `why`); `done` flashed with {value}; back to `page`."""
        try:
            value = store.parse(cell, raw)
            store.save(booklet, column, value, version, g.tutor, why)
            flash(done.format(value=value or "(none)"))
        except (Invalid, Stale) as exc:
            flash(f"{column} of {booklet_name(booklet)}: {exc}", "error")
        return redirect(url_for(page))

    @app.post("/review/<int:booklet>/<column>")
    def resolve(booklet: int, column: str) -> Any:
        store, state, cell, version = posted(booklet, column)
        where = f"{column} of {booklet_name(booklet)}"
        if not state.flags:
            flash(f"{where}: not in the review queue (the scan did not flag it); nothing set", "error")
            return review(), 409
        if under_second(cell, store):
            flash(f"{where}: P{cell.problem} is under second correction: two tutors grade it on the page of "
                  f"{column}; nothing set", "error")
            return review(), 409
        raw = ";".join(request.form.getlist("box")) if cell.kind == "mc" else request.form.get("points", "")
        return set_posted(store, booklet, column, cell, raw, version, "review", f"Set {where} to {{value}}.", "review")

    @app.get("/consensus")
    def consensus() -> str:
        return render_template("consensus.html", items=g.store.consensus_items(), name=booklet_name)

    @app.post("/consensus/<int:booklet>/<column>")
    def settle(booklet: int, column: str) -> Any:
        store, _, cell, version = posted(booklet, column)
        if not store.in_consensus(booklet, column):
            flash(f"{column} of {booklet_name(booklet)}: not in the consensus queue (it has no two differing "
                  "corrections waiting for a consensus); nothing set", "error")
            return consensus(), 409
        return set_posted(store, booklet, column, cell, request.form.get("points", ""), version, "consensus",
                          f"Consensus: {column} of {booklet_name(booklet)} = {{value}}.", "consensus")

    @app.post("/settings/second")
    def second() -> Any:
        chosen = sorted({p.strip() for p in request.form.get("problems", "").replace(" ", ",").split(",")
                         if p.strip()})
        bad, mc_only, graded = second_refusal(key, chosen)
        if bad:
            known = {f"P{k}" for v in key.variants.values() for k in v.problems}
            flash(f"No problem {', '.join(bad)} in this exam (problems: {', '.join(sorted(known))}).", "error")
        elif mc_only:
            flash(f"{', '.join(mc_only)}: multiple choice only, nothing to grade twice by hand; second correction "
                  f"is for the problems with hand-graded parts: {', '.join(graded) or 'none in this exam'}.",
                  "error")
        else:
            g.store.set_setting("second", ",".join(chosen), g.tutor)
            flash(f"Second correction: {', '.join(chosen) or 'none'}.")
        return redirect(url_for("index"))

    @app.route("/mapping", methods=["GET", "POST"])
    def mapping() -> Any:
        store: Store = g.store
        if request.method == "POST":
            try:
                b = int(request.form.get("booklet", ""))
                if b > LARGEST:
                    raise Invalid(f"no booklet {b} in the database")
                store.map_booklet(b, request.form.get("registration", "").strip(), g.tutor)
                flash(f"{booklet_name(b)} -> {request.form.get('registration') or '(none)'}.")
            except ValueError:
                flash("No booklet given.", "error")
            except Invalid as exc:
                flash(str(exc), "error")
            return redirect(url_for("mapping"))
        students = store.students()
        return render_template("mapping.html", booklets=store.booklets(), students=students, name=booklet_name,
                               names={r: f"{last}, {first}" for r, last, first in students})

    @app.context_processor
    def _common() -> dict[str, Any]:
        return {"tutor": g.get("tutor"), "exam": key.exam}

    return app


def server(app: Flask, host: str, port: int) -> Any:
    """A threaded WSGI server for the app on host:port (port 0: a free one; .port says which);
    serve_forever() runs it, shutdown() stops it. The socket is bound here, so that a port in
    use is an OSError to report (werkzeug's own bind prints and exits)."""
    import socket

    from werkzeug.serving import make_server

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family, backlog=128) as sock:
        return make_server(host, sock.getsockname()[1], app, threaded=True, fd=sock.fileno())  # it keeps a dup
