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
