"""A drawing (a picture of the pgf basic layer without text) as the PDF operators pgf would
write for it, computed here with TeX's own arithmetic, for the class to place as one literal.

A regression sketch draws each variant's points and model curve with pgf's basic layer
(\\pgfpathellipse, \\pgfpathlineto, ...). pgf builds every path as a token list that each
segment copies whole, and a TikZ picture sets up its front end before the first path: a
variant's drawing cost 4-6 ms of TeX time, a fifth of an endterm solution batch's sketch
problem. The numbers of pgf's PDF operators come only from TeX's integer arithmetic on the
picture's decimal constants (tex.web: a decimal times a dimension, units, \\the's printing)
and pgf's conversion to big points (0.99627 times, printed by TeX). `literal` repeats that
arithmetic, so its operators hold pgf's numbers to the digit; the class places them where
pgf's picture box would put them (\\egliteral: the same box and origin). Anything it does not
know (a command, an option, a number it does not read as TeX would) leaves the picture to
pgf: the result is either pgf's numbers or pgf itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITY = 65536  # sp in a point
_UNITS = {"pt": (1, 1), "cm": (7227, 254), "mm": (7227, 2540), "in": (7227, 100), "bp": (7227, 7200),
          "pc": (12, 1), "dd": (1238, 1157), "cc": (14856, 1157)}


def _round_decimals(digits: str) -> int:
    """TeX's round_decimals (tex.web §102): a decimal fraction's digits in 2^-16 units."""
    a = 0
    for d in reversed(digits[:17]):
        a = (a + int(d) * 2 * UNITY) // 10
    return (a + 1) // 2


def _xn_over_d(x: int, n: int, d: int) -> tuple[int, int]:
    """TeX's xn_over_d (§107): x * n / d truncated towards zero, and the remainder."""
    negative = x < 0
    x = -x if negative else x
    t = (x % 32768) * n
    u = (x // 32768) * n + t // 32768
    v = (u % d) * 32768 + t % 32768
    q, r = 32768 * (u // d) + v // d, v % d
    return (-q, -r) if negative else (q, r)


_DECIMAL = re.compile(r"(-?)(\d*)(?:\.(\d*))?")


@lru_cache(maxsize=4096)  # (a drawing's constants repeat: its grid of x values, a curve's table)
def _decimal(text: str) -> tuple[bool, int, int] | None:
    """A TeX decimal constant: (negative, integer part, fraction in 2^-16 units), or None if TeX
    would read it otherwise (an exponent, a second sign: left to pgf)."""
    m = _DECIMAL.fullmatch(text.strip())
    if m is None or not (m.group(2) or m.group(3)) or len(m.group(2)) > 5:
        return None
    return m.group(1) == "-", int(m.group(2) or "0"), _round_decimals(m.group(3) or "")


def times(factor: str, v: int) -> int | None:
    """`<factor>\\dimen` for a dimension of v sp, as TeX scans it (§455: nx_plus_y of xn_over_d)."""
    d = _decimal(factor)
    if d is None:
        return None
    negative, i, f = d
    r = i * v + _xn_over_d(v, f, UNITY)[0]
    return -r if negative else r


def dimen(text: str) -> int | None:
    """A dimension with a unit (0.5cm, 2.5pt; not true units, not em/ex) in sp, as TeX scans it (§458)."""
    text = text.strip()
    unit = _UNITS.get(text[-2:])
    d = _decimal(text[:-2]) if unit is not None else None
    if d is None or unit is None:
        return None
    negative, i, f = d
    num, den = unit
    if unit != (1, 1):
        i, rem = _xn_over_d(i, num, den)
        f = (num * f + UNITY * rem) // den
        i, f = i + f // UNITY, f % UNITY
    r = i * UNITY + f
    return -r if negative else r


def print_scaled(s: int) -> str:
    """\\the of a dimension without its "pt" (TeX's print_scaled, §103)."""
    sign = "-" if s < 0 else ""
    s = abs(s)
    out = [sign, str(s // UNITY), "."]
    s = 10 * (s % UNITY) + 5
    delta = 10
    while True:
        if delta > UNITY:
            s += 0x8000 - 50000  # round the last digit
        out.append(str(s // UNITY))
        s = 10 * (s % UNITY)
        delta *= 10
        if s <= delta:
            return "".join(out)


_BP = "0.99627"  # pgf's \pgf@sys@bp: points to big points
_BP_F = _round_decimals(_BP[2:])


MAX_DIMEN = 2 ** 30 - 1  # sp: TeX stops with "Dimension too large" (or an arithmetic overflow) beyond


class _TooLarge(Exception):
    """A number TeX could not hold: the picture is left to pgf (and TeX reports it as before)."""


@lru_cache(maxsize=8192)  # (a drawing's numbers repeat between variants)
def bp(s: int) -> str:
    """A dimension in sp as pgf writes it into the PDF (\\pgf@sys@bp: 0.99627 times, printed by TeX)."""
    if abs(s) > MAX_DIMEN:
        raise _TooLarge
    return print_scaled(_xn_over_d(s, _BP_F, UNITY)[0])


# the colours a drawing may stroke in, as xcolor gives them to pgf (\pgfsetstrokecolor)
_STROKE = {"black": "0 G", "blue": "0 0 1 RG", "red": "1 0 0 RG"}
_KAPPA = "0.55228475"  # pgf's Bézier quarter circle

_NUM = r"\s*-?[\d.]+\s*"
_DIM = r"\s*-?[\d.]+(?:pt|cm|mm|bp|in)\s*"
_POINT = rf"\\pgfqpointxy\{{({_NUM})\}}\{{({_NUM})\}}|\\pgfqpoint\{{({_DIM})\}}\{{({_DIM})\}}"
_P = rf"\{{(?:{_POINT})\}}"  # one point argument
_POINTS = re.compile(_POINT)
_HEAD = re.compile(rf"\\begin\{{tikzpicture\}}(?:\[x=({_DIM}),y=({_DIM})\])?")
_STEP = re.compile(
    rf"(?P<bbox>\\pgfpathrectanglecorners{_P}{_P}\\pgfusepath\{{use as bounding box\}})"
    rf"|(?P<ellipse>\\pgfpathellipse{_P}{_P}{_P})"
    rf"|\\pgfpath(?P<move>moveto|lineto){_P}"
    r"|(?P<close>\\pgfpathclose)(?![a-zA-Z@])"
    r"|\\pgfusepath\{(?P<use>fill|stroke|clip)\}"
    r"|\\(?P<scope>begin|end)\{pgfscope\}"
    rf"|\\pgfsetlinewidth\{{(?P<width>{_DIM})\}}"
    r"|\\pgfsetstrokecolor\{(?P<colour>[a-z]+)\}"
    r"|(?P<space>\s+)")
_TAIL = "\\end{tikzpicture}"


@lru_cache(maxsize=4096)  # (a sketch's dots: the same few centres and axes in every variant)
def _ellipse(c: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> tuple[str, ...]:
    """\\pgfpathellipse (pgfcorepathconstruct.code.tex): four quarter arcs, closed, then a move to
    the centre; the axes relative to the origin (the picture's transformation is the identity)."""
    (xc, yc), (xa, ya), (xb, yb) = c, a, b
    out = [f"{bp(xa + xc)} {bp(ya + yc)} m"]
    for _ in range(4):
        c1 = (_kappa(xb) + xa + xc, _kappa(yb) + ya + yc)
        c2 = (_kappa(xa) + xb + xc, _kappa(ya) + yb + yc)
        out.append(f"{bp(c1[0])} {bp(c1[1])} {bp(c2[0])} {bp(c2[1])} {bp(xb + xc)} {bp(yb + yc)} c")
        xa, ya, xb, yb = xb, yb, -xa, -ya  # the next quarter (pgf flips one axis per arc)
    return (*out, "h", f"{bp(xc)} {bp(yc)} m")


_KAPPA_F = _round_decimals(_KAPPA[2:])


def _kappa(v: int) -> int:
    """0.55228475 times v, as TeX multiplies."""
    return _xn_over_d(v, _KAPPA_F, UNITY)[0]


_OPENING = ("q", "0.3985 w")  # pgf's picture: a scope, its 0.4 pt line width


class _Drawing:
    """pgf's path construction for one picture, in sp (its x and y vectors: xx and yy)."""

    def __init__(self, xx: int, yy: int):
        self.xx, self.yy = xx, yy
        self.ops: list[str] = list(_OPENING)
        self.path: list[str] = []

    def points(self, text: str) -> list[tuple[int, int]] | None:
        """The points of a step's text (\\pgfqpointxy{a}{b} or \\pgfqpoint{c}{d}), in sp, as pgf computes
        them (\\pgfqpointxy: a times the x vector plus b times the y vector, whose other parts are 0)."""
        found = []
        for a, b, c, d in _POINTS.findall(text):
            x, y = (times(a, self.xx), times(b, self.yy)) if a else (dimen(c), dimen(d))
            if x is None or y is None:
                return None
            found.append((x, y))
        return found

    def at(self, x: int, y: int, op: str) -> None:
        self.path.append(f"{bp(x)} {bp(y)} {op}")

    def ellipse(self, c: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> None:
        self.path.extend(_ellipse(c, a, b))

    def use(self, how: str) -> None:
        self.ops.extend(self.path)
        self.ops.append({"fill": "f", "stroke": "S", "clip": "W n"}[how])
        self.path = []


@lru_cache(maxsize=256)  # (a statement's drawing: in the student and in the solution document)
def literal(picture: str) -> str | None:
    """The picture (a TikZ picture of pgf basic-layer paths with a bounding box first) as
    \\egliteral{width}{height}{origin x}{origin y}{PDF operators} (sp; the box and operators of
    pgf's picture, examgentum.cls), or None if it holds anything else (then pgf typesets it)."""
    try:
        return _literal(picture)
    except _TooLarge:
        return None


def _literal(picture: str) -> str | None:
    head = _HEAD.match(picture)
    if head is None or not picture.endswith(_TAIL):
        return None
    xx = dimen(head.group(1)) if head.group(1) else dimen("1cm")
    yy = dimen(head.group(2)) if head.group(2) else dimen("1cm")
    if xx is None or yy is None:
        return None
    d = _Drawing(xx, yy)
    box: tuple[int, int, int, int] | None = None
    depth = 0
    body, pos = picture[:-len(_TAIL)], head.end()
    while pos < len(body):
        m = _STEP.match(body, pos)
        if m is None:
            return None
        pos = m.end()
        step = m.group(0)
        if m.group("space") is not None:
            continue
        if m.group("bbox") is not None:
            corners = d.points(step)
            if corners is None or box is not None or d.path or tuple(d.ops) != _OPENING:
                return None  # (first, before anything is drawn: then pgf's box is exactly these corners)
            (x1, y1), (x2, y2) = corners
            box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            continue
        pts = d.points(step)
        if box is None or pts is None:
            return None
        if m.group("ellipse") is not None:
            d.ellipse(*pts)
        elif m.group("move") is not None:
            d.at(*pts[0], "m" if m.group("move") == "moveto" else "l")
        elif m.group("close") is not None:
            d.path.append("h")
        elif m.group("use") is not None:
            d.use(m.group("use"))
        elif m.group("scope") is not None:
            depth += 1 if m.group("scope") == "begin" else -1
            if d.path or depth < 0:
                return None
            d.ops.append("q" if m.group("scope") == "begin" else "Q")
        elif m.group("colour") is not None:
            if m.group("colour") not in _STROKE:
                return None
            d.ops.append(_STROKE[m.group("colour")])
        else:  # the line width
            w = dimen(m.group("width"))
            if w is None:
                return None
            d.ops.append(f"{bp(w)} w")
    if box is None or depth or d.path:  # (a path never used: pgf would discard it; not ours to guess)
        return None
    minx, miny, maxx, maxy = box
    if max(abs(v) for v in (minx, miny, maxx, maxy, maxx - minx, maxy - miny)) > MAX_DIMEN:
        raise _TooLarge
    return (f"\\egliteral{{{maxx - minx}}}{{{maxy - miny}}}{{{-minx}}}{{{-miny}}}"
            f"{{{' '.join([*d.ops, 'Q'])}}}")
