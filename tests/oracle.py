"""What the oracle tests share: PyTorch in float64 for every test of a module that
imports `float64` (an autouse fixture), tensors of answers, one assertion, and the draws of a
template's own sampler (`draws`) or a pinned variant (`pinned`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from examgen.bank import load_bank
from examgen.model import SolvedQuestion
from examgen.pipeline import solve_one
from examgen.questions import solve_question
from examgen.sampling import derive_seed

ATOL = 1e-9


@pytest.fixture(autouse=True)
def float64() -> Iterator[None]:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def close(actual, expected, what: str, ctx: str = "", atol: float = ATOL) -> None:
    """actual (the answer key) equals expected (the oracle) within atol."""
    torch.testing.assert_close(t(actual), t(expected), atol=atol, rtol=0,
                               msg=lambda m: f"{ctx}: {what} differs from the oracle\n{m}")


DRAWS = range(1, 201)  # the oracle tests' draws of each template's own sampler


def draws(tid: str) -> Iterator[tuple[int, SolvedQuestion]]:
    """(n, the solved question) of draws 1..200 of template tid (exam seed 2026)."""
    t = load_bank().templates[tid]
    for n in DRAWS:
        yield n, solve_question(t, derive_seed(2026, n, tid))


def pinned(tid: str, params: dict) -> SolvedQuestion:
    """Template tid with these parameters pinned (variant 0)."""
    return solve_one(tid, 0, params)[1]
