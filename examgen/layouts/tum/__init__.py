"""The TUM layout: cover (with the sticker box), problem headings, score boxes,
answer areas, MC boxes and the additional space, assembled with pylatex on
examgen's own class examgentum.cls beside this file. One source renders both
versions: the student version simply receives no solution text."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from ...resources import package_file
from ...texfmt import Latex, credits, escape
from .. import SOLUTION, Layout, Reserve
from . import drawings

if TYPE_CHECKING:  # (imported where used: the CLI's early path reads this module's preamble)
    from ...model import ExamInfo, SolvedMc, SolvedQuestion, Variant

CLASS_FILE = package_file(__name__, "examgentum.cls")
FONTS_FILE = package_file(__name__, "examgenfonts.sty")  # the typography, loaded by the class (and the grading report)


def _amount(x: float, unit: str, language: str) -> str:
    """'1 credit', '7.5 credits', '0.5 points', '1 Punkt' ..."""
    words = {"credit": ("Punkt", "Punkte"), "point": ("Punkt", "Punkte")}[unit] if language == "de" \
        else (unit, unit + "s")
    number = credits(x).replace(".", ",") if language == "de" else credits(x)  # German: 5,5 Punkte
    return f"{number} {words[0] if x == 1 else words[1]}"


_PICTURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)


# what makes a picture depend on the font: text (nodes and what makes them), font-relative units;
# any pgf command but the basic layer's paths, points and line settings (a regression sketch's points,
# model, clip and bounding box are drawn with these: fewer TeX instructions than TikZ's \fill ... circle,
# \draw, \clip and \useasboundingbox, the same PDF)
_FONTED = re.compile(r"\b(?:nodes?|label|pin|pic|matrix|child|text)\b|\\f@|baselineskip|\d\s*e[mx]\b"
                     r"|\\pgf(?!(?:path(?:moveto|lineto|circle|ellipse|rectanglecorners)|usepath|q?point(?:xy)?"
                     r"|set(?:linewidth|strokecolor))\{|pathclose\b)"
                     r"|\\(?:line|text|column|paper)width|\\hsize")  # (and the line width: keyed by it too)


def _once(picture: re.Match[str]) -> str:
    """A TikZ picture as \\egpicture{key}{picture}: typeset once per font, line width and colour,
    then copied (examgentum.cls); one without text, font-relative units or widths as
    \\egdrawing{key}{picture}, once per colour wherever it stands (at each size a solution tries), or,
    of pgf's basic-layer paths with the bounding box first, as \\egliteral (drawings.literal).
    Not one that reads examgen's own macros (\\egfill, ...: a value that differs between variants
    under the same source), marks page positions or nests pictures."""
    text = picture.group(0)
    if "\\eg" in text or "remember picture" in text or "overlay" in text or text.count("{tikzpicture}") != 2:
        return text
    key = hashlib.sha256(text.encode()).hexdigest()[:20]
    if _FONTED.search(text):
        return f"\\egpicture{{{key}}}{{{text}}}"
    # a drawing of pgf basic-layer paths with its bounding box first: the PDF operators pgf writes for
    # it, computed by examgen, placed where pgf places them (drawings.py: a twentieth of pgf's TeX time)
    compiled = drawings.literal(text)
    return compiled if compiled is not None else f"\\egdrawing{{{key}}}{{{text}}}"


def pictures_once(latex: str) -> str:
    """Every TikZ picture of a question's text wrapped in \\egpicture (see _once)."""
    return _PICTURE.sub(_once, latex) if "tikzpicture" in latex else latex


def render_question_body(q: SolvedQuestion, version: str, language: str = "en") -> list[str]:
    """The intro and one \\egsubproblem per part; the solution text (and its
    grading notes) only in the solution version."""
    from ...questions import texts  # here: importing the layout (for its preamble, before the bank) stays cheap

    rendered = texts(q, solutions=version == SOLUTION)
    out = []
    if rendered.intro is not None:
        out.append(pictures_once(rendered.intro) + "\n\\par\\smallskip\n")
    for part in q.parts:
        text = pictures_once(rendered.statements[part.name])
        solution = ""
        if version == SOLUTION:
            body = pictures_once(rendered.solutions[part.name])
            notes = "".join(
                f"\\egrubricitem{{{_amount(r['points'], 'point', language)}}}{{{r['text']}}}"
                for r in q.rubric if r["part"] == part.name
            )
            solution = f"{body}\\eggradingnotes{{{notes}}}"
        half_points = int(round(2 * part.credits))
        out.append(
            f"\\egsubproblem{{{part.name}}}{{{half_points}}}{{{part.answer_height_mm:g}mm}}"
            f"{{{1 if part.grid else 0}}}{{{text}}}{{{solution}}}\n"
        )
    return out


def render_mc_body(q: SolvedMc, version: str = SOLUTION, reserve: Reserve | None = None) -> list[str]:
    """The MC rules and items. The student version reserves each reason's space (same
    pagination), so its source holds the reasons, unless `reserve` gives each reason's
    measured size: then it holds neither a reason nor which box is correct (a kept .tex)."""
    from ...model import item_label

    out = ["\\egmcrules\n"]
    for i, drawn in enumerate(q.items):
        if reserve is not None and version != SOLUTION:
            opts = "".join(f"\\egmcoption{{0}}{{{o.text}}}{{\\egwhyspace{{{ht}}}{{{dp}}}}}"
                           for o in drawn.options for ht, dp in [reserve[o.why]])
        else:
            opts = "".join(f"\\egmcoption{{{1 if o.correct else 0}}}{{{o.text}}}{{{o.why}}}" for o in drawn.options)
        out.append(f"\\egmcitem{{{item_label(i)}}}{{{drawn.item.stem}}}{{{opts}}}\n")
    return out


#: The most problems in one row of the cover's grading table: a column keeps 8 mm, room for "P 60"
GRADING_COLUMNS = 12


def grading_table(k: int) -> str:
    """The cover's grading table, K columns fitting the 165 mm text width: the
    row-label column takes about 12 mm, and every cell adds 2 x \\tabcolsep
    (2 x 6 pt = 4.2 mm) and a rule to its width. More than GRADING_COLUMNS problems
    wrap into several tables of equal width, one below the other; from three tables
    on, rows I and II are 5 mm instead of 8 mm high, so that 60 problems fit the cover."""
    rows = max(1, -(-k // GRADING_COLUMNS))
    per_row = -(-k // rows) if k else 1
    width_mm = min(20.0, (165.0 - 14.0) / max(per_row, 1) - 4.6)
    height = "8mm" if rows <= 2 else "5mm"  # lower rows when there are many tables
    tables = [f"\\eggradingtable{{{first}}}{{{min(per_row, k - first + 1)}}}{{{width_mm:.1f}mm}}{{{height}}}"
              for first in range(1, k + 1, per_row)]
    return "\\par\\vspace{2mm}\n".join(tables)


def variant_body(info: ExamInfo, variant: Variant, version: str, reserve: Reserve | None = None) -> str:
    """One variant, from its settings to the last additional-space page; it
    follows \\egbeginvariant{code}{pages} (the compiler adds that line). With `reserve`
    (the student version of a kept .tex), the MC reasons are only spaces of their size."""
    # (imported here: the CLI's early path reads this module's preamble; pylatex's import takes 16 ms)
    from pylatex import Command, NoEscape

    from ...model import SolvedMc

    inst = list(info.institution) + [""] * (3 - len(info.institution))
    values = {
        "course": escape(info.course), "examcode": escape(info.code), "examname": escape(info.name),
        "date": escape(info.date), "time": escape(info.time), "examiner": escape(info.examiner),
        "resources": escape(info.resources, multiline=True),
        "problems": str(len(variant.questions)), "credits": credits(variant.credits),
        "inst1": escape(inst[0]), "inst2": escape(inst[1]), "inst3": escape(inst[2]),
        "logo": Latex(f"\\includegraphics[width=18mm,height=10mm,keepaspectratio]{{{info.logo_file}}}")
        if info.logo_file else "",
    }
    body = [Command("egset", arguments=[key, NoEscape(value)]).dumps() + "%\n" for key, value in values.items()]
    items = "".join(f"\\item {escape(x, multiline=True)}" for x in info.instructions)
    body.append(f"\\renewcommand{{\\egextrainstructions}}{{{items}}}%\n")
    if info.registration_grid:  # (only then: a spec without the key typesets as before)
        body.append("\\egset{reggrid}{1}%\n")
    # the cover's key: what it shows (the lines above set it; its grading tables): the class typesets one
    # cover per key, page total and version, and copies it into the document's other variants
    cover = grading_table(len(variant.questions))
    key = hashlib.sha256("".join([*body, cover]).encode("utf-8")).hexdigest()[:16]
    body += ["\\pagestyle{examgen}\n", f"\\egcover[{key}]{{{cover}}}\n"]
    for k, q in enumerate(variant.questions, start=1):
        origin = "multiple choice" if isinstance(q, SolvedMc) else f"template {q.template.id}"
        body.append(f"% examgen: problem {k} ({origin})\n")
        body.append(f"\\egproblem{{{k}}}{{{escape(q.title)}}}{{{_amount(q.credits, 'credit', info.language)}}}\n")
        body.extend(render_mc_body(q, version, reserve) if isinstance(q, SolvedMc)
                    else render_question_body(q, version, info.language))
    body.append("\\egadditionalspace\n")
    return "".join(body)


def reserved(variant: Variant) -> list[str]:
    """The texts the student version reserves space for without printing: the MC reasons."""
    from ...model import SolvedMc

    return [o.why for q in variant.questions if isinstance(q, SolvedMc) for d in q.items for o in d.options]


def measure_body(texts: list[str]) -> str:
    """A document body logging `EXAMGEN-WHY: <i> <height> <depth>` for each text, set as a reason."""
    return "".join(f"\\egmeasurewhy{{{i}}}{{{t}}}\n" for i, t in enumerate(texts))


LAYOUT = Layout("tum", (CLASS_FILE, FONTS_FILE), variant_body, render_question_body, render_mc_body, reserved,
                measure_body)
