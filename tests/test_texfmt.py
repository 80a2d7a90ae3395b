"""Golden strings for the LaTeX formatters and the escaping filter."""

from __future__ import annotations

import numpy as np

from examgen.rendering import compile_blocks, render_block
from examgen.texfmt import Latex, escape, mat, num, paren, seq, to_tex, vec


def test_num() -> None:
    assert num(3) == "3" and num(3.0) == "3" and num(-0.0) == "0" and num(True) == "1"
    assert num(0.25) == "0.25" and num(-1.5) == "-1.5" and num(1 / 3) == "0.3333" and num(2 / 3, 2) == "0.67"
    assert num(np.float64(1e-12)) == "0" and num(123456) == "123456"


def test_paren_vec_mat_seq() -> None:
    assert paren(-2) == "(-2)" and paren(2) == "2"
    assert vec([1, -2.5]) == r"\begin{bmatrix} 1 & -2.5 \end{bmatrix}"
    assert vec([1, 2], column=True) == r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}"
    assert mat([[1, 0], [0.5, -1]]) == r"\begin{bmatrix} 1 & 0 \\ 0.5 & -1 \end{bmatrix}"
    assert seq([1, 2.0, -3]) == "1, 2, -3"


def test_escape_prints_literally() -> None:
    assert escape("R&D 100% _#${}~^\\") == r"R\&D 100\% \_\#\$\{\}\textasciitilde{}\^{}\textbackslash{}"
    assert escape(r"\input{/etc/passwd}") == r"\textbackslash{}input\{/etc/passwd\}"


def test_to_tex_dispatch() -> None:
    assert to_tex(Latex(r"\alpha")) == r"\alpha"
    assert to_tex("a_b") == r"a\_b"
    assert to_tex(2.50) == "2.5"
    assert to_tex([[1, 2], [3, 4]]) == r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"
    assert to_tex([1, 2]) == "1, 2"


def test_template_values_are_escaped_unless_latex() -> None:
    t = compile_blocks("<% block a %><< s >> / << m|mat >> / << x|paren >><% endblock %>", "t")
    assert render_block(t, "a", {"s": "50% & more", "m": [[1]], "x": -1}, "t") == (
        r"50\% \& more / \begin{bmatrix} 1 \end{bmatrix} / (-1)")


def _decimal_num(x: float | int, digits: int) -> str:
    """num's rule from Python's decimal module: the exact value rounded half-even to `digits` decimals
    (as round() rounds a float), trailing zeros and point stripped, -0 as 0."""
    from decimal import ROUND_HALF_EVEN, Decimal

    d = Decimal(float(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def test_num_is_the_decimal_rounding_of_every_kind_of_number_asked_twice() -> None:
    """num (with its fast path for ints and its memo of texts by value and digits) gives every number the
    decimal module's rounding, the second time as the first, for each number of digits."""
    rng = np.random.default_rng(18)
    values: list[float | int] = [0, -0.0, 1, -7, 2**52, -(2**52) + 1, 2**60 + 1, -(2**53) - 1, 0.5, 2.5, -2.5,
                                 0.30000000000000004, 1e-5, -4e-5, 12345.678949, 0.00005, 0.00015]
    values += [float(v) for v in rng.normal(0, 10, 2000)] + [float(v) for v in rng.uniform(-1, 1, 1000).round(5)]
    values += [int(v) for v in rng.integers(-10**6, 10**6, 500)] + [float(v) / 8 for v in rng.integers(-99, 99, 200)]
    for digits in (4, 2, 0):
        for v in values + values:
            assert num(v, digits) == _decimal_num(v, digits), (v, digits)
    assert [num(np.float64(2.25), 1), num(np.int64(-3)), num(np.float32(0.5))] == ["2.2", "-3", "0.5"]
    assert [num(True), num(np.bool_(True)), num(False)] == ["1", "1", "0"]


def test_num_with_a_float_precision_fails_the_same_way_after_the_integer_one() -> None:
    """num(x, 2) keeps its text; num(x, 2.0) still fails as Python's formatting fails for it, every time
    (the memo is keyed by integer digits only: a key (x, 2.0) equals (x, 2))."""
    import pytest

    assert num(0.123456, 2) == "0.12"
    for _ in range(2):
        with pytest.raises((TypeError, ValueError)):
            num(0.123456, 2.0)
