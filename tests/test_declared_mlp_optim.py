"""Graded answers of mlp / optimization / training templates, checked against what the seed
exams (/work/shared/seeds/) ask: the expected declarations are read off the seed's question and
grading notes, not off question.yaml."""

from __future__ import annotations

from examgen import rendering
from examgen.bank import load_bank
from examgen.checking import asked_decimals, draw_failures, template_failures
from examgen.pipeline import solve_one
from examgen.questions import context

BANK = load_bank()


def _declared(tid: str) -> dict[str, list[tuple]]:
    """Per part: (name, kind, round, points) of every graded answer, and the part's credits."""
    t = BANK.templates[tid]
    return {p.name: [(a.name, a.kind, a.round, a.points) for a in p.answers] + [("credits", p.credits)]
            for p in t.parts}


def _statement(q, part: str) -> str:
    t = q.template
    origin = str(t.directory / "statement.tex.j2")
    st = rendering.compile_blocks(t.statement, origin)
    ctx = context(q.params, q.answers)
    return str(rendering.render_block(st, part, ctx, origin))


def test_seed001_p6c_skip_connection_derivatives_are_exact_with_the_seed_points():
    """Seed 001 P6c: 'Evaluate both derivatives at w = 0.001' -- grading notes: dy/dx = 0.001 (0.5 point),
    dy/dx = 1.001 (0.5 point), 'solved the vanishing gradient problem' (1 point). Both values are
    exact (no rounding asked), the explanation is graded by hand; parts a) and b) (draw the graph,
    write the derivative) have no automatically graded answer."""
    d = _declared("skip_connection_gradient")
    assert d["a"] == [("credits", 2.0)] and d["b"] == [("credits", 2.0)]
    assert d["c"] == [("dy_dx_plain", "number", None, 0.5), ("dy_dx_skip", "number", None, 0.5),
                      (None, "text", None, 1.0), ("credits", 2.0)]
    _, q = solve_one("skip_connection_gradient", 1, {"w": 0.001, "x": 1})
    assert (q.answers["dy_dx_plain"], q.answers["dy_dx_skip"]) == (0.001, 1.001)
    assert template_failures(q.template) + draw_failures(q) == []


def test_seed002_q10b_losses_after_every_epoch_rounded_as_asked():
    """Seed 002 Q10b: 'Do two epochs ... report the errors and total loss after each epoch' from
    beta = (1, 1, 1): the initial loss 7^2 + 5^2 + 6^2 = 110 and after epoch 1 the loss 3.742528
    (by hand, see test_oracle_optim) are the graded numbers of part b), which the statement asks
    rounded to 2 decimals (so 3.74); part a) grades w after every update. Issue 14: the square roots
    of adagrad/rmsprop/adam come from a printed table, so w is asked to 3 decimals and the loss after
    an epoch to 1 decimal (examgen.handcalc proves every draw within tolerance)."""
    d = _declared("optimizer_trace")
    assert d["b"] == [("loss_initial", "number", 2, 0.5), ("loss_epochs", "vector", 1, 1.5), ("credits", 2.0)]
    assert [a for a in d["a"] if a[0] == "w_steps"] == [("w_steps", "matrix", 3, 3.0)]
    seed = {"optimizer": "sgd", "X": [[1, 1, 2], [1, 1, 1], [1, 1, 2]], "y": [11, 8, 10], "w": [1, 1, 1],
            "lr": 0.1, "epochs": 2}
    _, q = solve_one("optimizer_trace", 10, seed)
    assert q.answers["loss_initial"] == 110
    assert round(q.answers["loss_epochs"][0], 2) == 3.74
    assert "rounded to 2 decimals" in _statement(q, "b")
    assert asked_decimals(_statement(q, "b")) == {1, 2} and asked_decimals(_statement(q, "a")) == {3}
    assert template_failures(q.template) + draw_failures(q) == []


def test_seed004_p3h_epoch_definition_and_update_count():
    """Seed 004 P3h: 'What is an epoch?' (graded by hand) -- the template adds how many weight
    updates n_samples / batch_size * epochs training performs: an exact integer, half the credit."""
    d = _declared("optimizer_short_questions")
    assert d["h"] == [(None, "text", None, 0.5), ("total_iterations", "number", None, 0.5), ("credits", 1.0)]
    assert all(d[p] == [("credits", d[p][-1][1])] for p in "abcdefgi")  # verbal parts: graded from the rubric
    _, q = solve_one("optimizer_short_questions", 1, {"n_samples": 6400, "batch_size": 64, "epochs": 10})
    assert q.answers["total_iterations"] == 1000
