"""Graded-answer declarations of cnn/normalization templates against the seed exams they come
from (/work/shared/seeds/): what the seed's statement asks, with the rounding it asks for and the
points of its rubric. The expected declarations are read off the seeds by hand, not from the code."""

from __future__ import annotations

from examgen.bank import load_bank
from examgen.questions import solve_question
from examgen.sampling import derive_seed

BANK = load_bank()


def _declared(tid: str, part: str) -> list[tuple]:
    """(name, kind, round, points) of every graded answer of one part, and the part's credits."""
    p = next(p for p in BANK.templates[tid].parts if p.name == part)
    return [(a.name, a.kind, a.round, a.points) for a in p.answers] + [("credits", p.credits)]


def test_batchnorm_seed_001_p5():
    """Seed 001 P5 b) 'Calculate mu, sigma and z_norm' with no rounding (the worked solution's
    values are integers: mu = (13, 5, 0), sigma = (1, 5, 5)); rubric 'mu correct (0.5 points),
    sigma correct (1 points), z_norm correct (2 points)'. c) 'What is the final result y':
    '0.5 points for each correct column' of 3 columns. a) is an explanation: no graded value."""
    assert _declared("batchnorm_forward", "a") == [("credits", 1)]
    assert _declared("batchnorm_forward", "b") == [("mu", "vector", None, 0.5), ("sigma", "vector", None, 1),
                                                    ("z_norm", "matrix", None, 2), ("credits", 3.5)]
    assert _declared("batchnorm_forward", "c") == [("y", "matrix", None, 1.5), ("credits", 1.5)]
    # the seed's own numbers are exact values of their kinds (solve checks each declared value)
    q = solve_question(BANK.templates["batchnorm_forward"], derive_seed(0, 1, "batchnorm_forward"),
                       {"z": [[12, 0, -5], [14, 10, 5], [14, 10, 5], [12, 0, -5]], "gamma": [1, 1, 1],
                        "beta": [0, -10, 10], "eps": 0})
    assert q.answers["sigma"] == [1, 5, 5] and q.answers["y"][0] == [-1, -11, 9]


def test_conv1x1_pool_bce_seed_004_p5():
    """Seed 004 P5 a) 'Compute the forward pass ... write down your calculations': exact values
    (0.5 steps: z = [[0, 0.5], [0.5, -1]]), the convolution and the pooled map. b) 'Write down the
    equation and keep the logarithm': the equation is graded by hand; the template asks the value
    'rounded to 3 decimals' (issue 14: from the printed table of ln). c) 'Write down the name of a
    common layer': words only. d) 'Update the kernel weights ... (Write down your calculations!)':
    gradient and new weights, exact (the seed's are integers: w1 = 1 - 1 * (-3) = 4), and the calculation by hand."""
    tid = "conv1x1_pool_bce"
    assert _declared(tid, "a") == [("z", "matrix", None, 1.5), ("pred", "matrix", None, 1.5), ("credits", 3)]
    assert _declared(tid, "b") == [(None, "text", None, 1), ("loss", "number", 3, 1), ("credits", 2)]
    assert _declared(tid, "c") == [("credits", 1)]
    assert _declared(tid, "d") == [(None, "text", None, 1), ("grad", "vector", None, 1),
                                   ("w_new", "vector", None, 1), ("credits", 3)]
    loss = next(a for a in BANK.templates[tid].parts[1].answers if a.name == "loss")
    assert loss.tolerance == 0.001  # issue 14: 3 decimals, the logarithms read off a 4-decimal table


def test_conv_forward_backward_seed_002_q13_q14():
    """Seed 002 Q13 'compute the forward pass' (maps per channel, then Z2) and 'predict the class';
    Q14 'compute the gradient for theta and for the top left parameters on every K'. The template
    says 'Round sigma and logarithms to 4 decimals' (P, L and P - y to 4 decimals) and, since
    c (P - y) with a rounded P moves the 4th decimal, asks the kernel gradients to 2 decimals."""
    tid = "conv_forward_backward"
    assert _declared(tid, "b") == [("prob", "number", 4, 1), ("pred_class", "choice", None, 0.5),
                                   ("loss", "number", 4, 0.5), ("credits", 2)]
    assert _declared(tid, "c") == [("dtheta", "number", 4, 1), ("dK2_tl", "vector", 2, 1),
                                   ("dK1_tl", "vector", 2, 2), ("credits", 4)]
    statement = BANK.templates[tid].statement
    assert "Round $\\sigma$ and logarithms to 4 decimals" in statement
    assert "the kernel gradients rounded to 2 decimals" in statement
    # the seed's classes: 'class 1 if P(y=1) > 0.5', else 0
    assert BANK.templates[tid].parts[1].answers[1].choices == (0, 1)
