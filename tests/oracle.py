"""What the oracle tests share: PyTorch in float64 for every test of a module that
imports `float64` (an autouse fixture), tensors of answers, and one assertion."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

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
