"""`examgen correct BUILD`: the correction room, a local web app over BUILD-grading/grading.sqlite.

Tutors open their link (`--add-tutor NAME` prints it; the token is stored as a hash only),
then grade by subproblem across all booklets: the crop of the answer region beside the
variant's numbers, key and rubric; type points, Enter saves and opens the next booklet. Every
save is an override that `examgen grade` uses, with a `changes` row; a save against a stale
version is refused with who set what. Pages are rendered on the server (Flask + Jinja2);
every POST needs a tutor's session and a CSRF token (Flask-WTF's CSRFProtect)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..grading import BuildKey, Cell, load_build
from .data import CellState, Invalid, Stale, Store, booklet_name
from .show import number, readable, rows

__all__ = ["create_app", "Store"]
REVIEW_PAGE = 25  # flagged cells shown at once in the review queue


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
        if g.tutor is not None and not g.store.tutor_exists(g.tutor):
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
        return redirect(url_for("index"))

    @app.get("/")
    def index() -> str:
        store: Store = g.store
        return render_template("index.html", rows=counts(store, parts), graded=store.graded_per_tutor(),
                               flagged=len(store.flagged()),
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
                    store.save(booklet, column, value, int(request.form.get("version", "0") or 0), g.tutor,
                               "points")
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

    @app.get("/crop/<int:crop>.png")
    def crop(crop: int) -> Response:
        png = g.store.answer_crop(crop)
        if png is None:
            abort(404)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/box/<int:measurement>.png")
    def box(measurement: int) -> Response:
        png = g.store.box_crop(measurement)
        if png is None:
            abort(404)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/review")
    def review() -> str:
        store: Store = g.store
        flagged = [s for s in store.flagged() if s.variant in key.variants]
        items = [(s, key.variants[s.variant].cells.get(s.column), store.box_crops(s.booklet, s.column))
                 for s in flagged[:REVIEW_PAGE]]  # a page at a time: each set cell leaves the queue
        return render_template("review.html", items=items, name=booklet_name, total=len(flagged))

    @app.post("/review/<int:booklet>/<column>")
    def resolve(booklet: int, column: str) -> Any:
        store: Store = g.store
        state = store.cell(booklet, column)
        if state is None:
            abort(404)
        cell = cell_of(state.variant, column)
        raw = ";".join(request.form.getlist("box")) if cell.kind == "mc" else request.form.get("points", "")
        try:
            value = store.parse(cell, raw)
            store.save(booklet, column, value, int(request.form.get("version", "0") or 0), g.tutor, "review")
            flash(f"Set {column} of {booklet_name(booklet)} to {value or '(none)'}.")
        except (Invalid, Stale) as exc:
            flash(f"{column} of {booklet_name(booklet)}: {exc}", "error")
        return redirect(url_for("review"))

    @app.get("/consensus")
    def consensus() -> str:
        return render_template("consensus.html", items=g.store.consensus_queue(), name=booklet_name)

    @app.post("/consensus/<int:booklet>/<column>")
    def settle(booklet: int, column: str) -> Any:
        store: Store = g.store
        state = store.cell(booklet, column)
        if state is None:
            abort(404)
        try:
            value = store.parse(cell_of(state.variant, column), request.form.get("points", ""))
            store.save(booklet, column, value, int(request.form.get("version", "0") or 0), g.tutor, "consensus")
            flash(f"Consensus: {column} of {booklet_name(booklet)} = {value}.")
        except (Invalid, Stale) as exc:
            flash(f"{column} of {booklet_name(booklet)}: {exc}", "error")
        return redirect(url_for("consensus"))

    @app.post("/settings/second")
    def second() -> Any:
        chosen = sorted({p.strip() for p in request.form.get("problems", "").replace(" ", ",").split(",")
                         if p.strip()})
        known = {f"P{k}" for v in key.variants.values() for k in v.problems}
        bad = [p for p in chosen if p not in known]
        if bad:
            flash(f"No problem {', '.join(bad)} in this exam (problems: {', '.join(sorted(known))}).", "error")
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
