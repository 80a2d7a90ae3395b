"""What a PDF prints, read from the file itself (for the typography tests): its fonts as
`pdffonts` lists them, and the size of every piece of text as it lands on the page.

`text_sizes(pdf)` runs each page's content streams (and the forms they draw) through a
small PDF content interpreter: the text matrix (Tm, Td), the font size (Tf) and the
current transformation (cm, q/Q, a form's /Matrix) give every shown string's printed
size, the length of the text space's vertical unit on the page, in TeX points (1/72.27 in;
LaTeX's "7 pt"). So text scaled down by \\resizebox is seen at the size it is printed.
The PDF is read with `qpdf --json` (decoded streams), nothing else."""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BP_TO_PT = 72.27 / 72  # a PDF unit (big point) in TeX points
MM_PER_BP = 25.4 / 72


@dataclass(frozen=True)
class Font:
    name: str
    type: str
    embedded: bool
    unicode: bool


def fonts(pdf: Path) -> list[Font]:
    """Every font of the PDF as `pdffonts` lists it (name, type, emb, uni)."""
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    head, rule = lines[0], lines[1]
    # columns by the dashes of the rule line: name, type, encoding, emb, sub, uni, object ID
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    assert [head[a:b].strip() for a, b in spans][:6] == ["name", "type", "encoding", "emb", "sub", "uni"], head
    result = []
    for line in lines[2:]:
        cell = [line[a:b + 1].strip() for a, b in spans]
        result.append(Font(cell[0], cell[1], cell[3] == "yes", cell[5] == "yes"))
    return result


@dataclass(frozen=True)
class Shown:
    """One string shown on a page: page (from 1), the font's /BaseFont, its printed size
    (TeX pt) and where it starts (its origin, mm from the page's top-left corner)."""

    page: int
    font: str
    size: float
    x_mm: float = 0.0
    y_mm: float = 0.0


_TOKEN = re.compile(rb"""(?P<ws>[\s\x00]+)|(?P<comment>%[^\r\n]*)|(?P<lit>\()|(?P<hex><(?!<)[^>]*>)
  |(?P<dict><<|>>)|(?P<arr>[\[\]])|(?P<name>/[^\s\x00/\[\]()<>{}%]*)
  |(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))|(?P<op>[^\s\x00/\[\]()<>{}%]+)""", re.X)


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    """The literal string starting after '(' at i: its raw bytes and the index after ')'."""
    depth, out = 1, bytearray()
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash: keep the escape as is (only the length matters here)
            out += data[i:i + 2]
            i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(c)
        i += 1
    raise ValueError("unterminated string in a content stream")


def _tokens(data: bytes):
    """The operands and operators of a content stream: numbers as float, names as str
    ("/F1"), strings as bytes, arrays as lists, dictionaries skipped (as None),
    operators as ("op", name)."""
    stack: list[list[Any]] = [[]]
    i = 0
    while i < len(data):
        m = _TOKEN.match(data, i)
        if m is None:
            raise ValueError(f"cannot read the content stream at byte {i}")
        i = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind == "lit":
            s, i = _literal(data, i)
            stack[-1].append(s)
        elif kind == "hex":
            stack[-1].append(m.group().strip(b"<>"))
        elif kind == "arr" and m.group() == b"[":
            stack.append([])
        elif kind == "arr":
            inner = stack.pop()
            stack[-1].append(inner)
        elif kind == "dict" and m.group() == b"<<":
            stack.append([])
        elif kind == "dict":
            stack.pop()
            stack[-1].append(None)
        elif kind == "name":
            stack[-1].append(m.group().decode("latin-1"))
        elif kind == "num":
            stack[-1].append(float(m.group()))
        elif m.group() == b"BI":  # an inline image: skip to its EI
            end = data.find(b"EI", data.find(b"ID", i))
            i = end + 2
            stack[-1].clear()
        elif len(stack) == 1:
            yield stack[0], m.group().decode("latin-1")
            stack[0] = []
        else:
            stack[-1].append(m.group().decode("latin-1"))  # true/false/null inside an array


Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF's row-vector convention: [x y 1] m n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


class _Objects:
    def __init__(self, pdf: Path):
        out = subprocess.run(["qpdf", "--json=2", "--json-stream-data=inline", "--decode-level=generalized",
                              str(pdf)], check=True, capture_output=True).stdout
        doc = json.loads(out)
        self.pages = doc["pages"]
        self.objects: dict[str, Any] = {}
        for k, v in doc["qpdf"][1].items():
            if k.startswith("obj:"):
                self.objects[k[4:]] = v

    def get(self, value: Any) -> Any:
        """A value with an indirect reference ("12 0 R") resolved (a stream: its dict and data)."""
        if isinstance(value, str) and re.fullmatch(r"\d+ \d+ R", value):
            obj = self.objects[value]
            return obj["stream"] if "stream" in obj else obj["value"]
        return value

    def data(self, ref: str) -> bytes:
        return base64.b64decode(self.objects[ref]["stream"]["data"])


def text_sizes(pdf: Path) -> list[Shown]:
    """Every string shown in the PDF with its printed size (see the module's docstring)."""
    objs = _Objects(pdf)
    shown: list[Shown] = []

    def resources_of(page_ref: str) -> dict:
        node = objs.get(page_ref)
        while node is not None:
            if "/Resources" in node:
                return objs.get(node["/Resources"])
            node = objs.get(node["/Parent"]) if "/Parent" in node else None
        return {}

    def run(page: int, height: float, data: bytes, resources: dict, ctm: Matrix, depth: int = 0) -> None:
        fonts = objs.get(resources.get("/Font", {})) or {}
        xobjects = objs.get(resources.get("/XObject", {})) or {}
        stack: list[tuple[Matrix, str, float]] = []
        font, size = "", 0.0
        tm = tlm = IDENTITY
        for args, op in _tokens(data):
            if op == "q":
                stack.append((ctm, font, size))
            elif op == "Q" and stack:
                ctm, font, size = stack.pop()
            elif op == "cm":
                ctm = _mul(tuple(args[-6:]), ctm)  # type: ignore[arg-type]
            elif op == "BT":
                tm = tlm = IDENTITY
            elif op == "Tf":
                ref = fonts.get(args[0])
                entry = objs.get(ref) if ref is not None else {}
                font = entry.get("/BaseFont", f"{entry.get('/Subtype', '?')} {args[0]}")  # a Type 3 font has none
                size = args[1]
            elif op == "Tm":
                tm = tlm = tuple(args[-6:])  # type: ignore[assignment]
            elif op in ("Td", "TD"):
                tm = tlm = _mul((1, 0, 0, 1, args[0], args[1]), tlm)
            elif op in ("Tj", "TJ", "'", '"'):
                strings = args[-1] if isinstance(args[-1], list) else [args[-1]]
                if any(isinstance(s, bytes) and s for s in strings):
                    a, b, c, d, e, f = _mul(tm, ctm)
                    scale = math.hypot(c, d)  # the printed length of the text space's vertical unit
                    shown.append(Shown(page, font.lstrip("/"), round(abs(size) * scale * BP_TO_PT, 3),
                                       round(e * MM_PER_BP, 2), round((height - f) * MM_PER_BP, 2)))
            elif op == "Do" and depth < 10:
                xobj = objs.get(xobjects.get(args[0]))
                if xobj is not None and xobj["dict"].get("/Subtype") == "/Form":
                    ref = xobjects[args[0]]
                    matrix = tuple(objs.get(xobj["dict"].get("/Matrix", list(IDENTITY))))
                    inner = objs.get(xobj["dict"].get("/Resources", {})) or resources
                    run(page, height, objs.data(ref), inner, _mul(matrix, ctm), depth + 1)  # type: ignore[arg-type]

    for number, page in enumerate(objs.pages, start=1):
        data = b"\n".join(objs.data(ref) for ref in page["contents"])
        box = objs.get(objs.get(page["object"]).get("/MediaBox", [0, 0, 595.276, 841.89]))
        run(number, float(box[3]), data, resources_of(page["object"]), IDENTITY)
    return shown
