"""Moodle XML export of an exam spec: the same variants as `examgen build` with the
same seed (questions.build_variant draws them; nothing is sampled here).

* one category per problem (`$course$/<code> <name>/P<k> <title>`), one question per
  variant (an MC problem: one question per item and variant);
* a numeric template -> a `cloze` question: the statement, then one NUMERICAL field per
  number of the answer key, named by the solver's answer name (`mu[2]`, 1-based), with
  the value as printed (texfmt.num, at most 4 decimals) and the tolerance of that
  precision: 0 for integers, else half a unit of the last printed decimal. The rubric is
  the general feedback;
* a free-text template -> an `essay` question with the rubric as grader information;
* an MC item -> `multichoiceset` (the "All-or-Nothing Multiple Choice" plugin
  qtype_multichoiceset: full marks only when exactly the correct options are ticked,
  the TUM rule) or, with mc_type="multichoice", core `multichoice` with single=false,
  +100/n per correct option and -100 per wrong one (any wrong tick gives 0, but a subset
  of the correct options gets partial credit: core Moodle has no all-or-nothing).
  Every item gets a last option "None of the statements above is true.", correct
  exactly when no statement is (Moodle cannot mark an empty answer as right).

LaTeX becomes HTML with MathJax delimiters \\( \\) and \\[ \\] (latex_to_html): maths
stays LaTeX (bmatrix is a MathJax matrix), text markup becomes HTML."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import rendering
from .bank import load_bank
from .errors import ExamgenError
from .model import SolvedMc, SolvedQuestion, Variant, item_label
from .questions import build_variant, context
from .spec import load_spec
from .targets import MOODLE_MARK, MOODLE_OWNED, ensure_file_replaceable, write_file
from .texfmt import num

NONE_OPTION = "None of the statements above is true."
MC_TYPES = ("multichoiceset", "multichoice")

# ---------------------------------------------------------------- LaTeX -> HTML

_MATH = re.compile(r"\\\[(.*?)\\\]|\$\$(.*?)\$\$|\\\((.*?)\\\)|(?<!\\)\$(.*?)(?<!\\)\$"
                   r"|\\begin\{(equation\*?|align\*?)\}(.*?)\\end\{\5\}", re.S)
_ENV = re.compile(r"\\begin\{(tabular|itemize|enumerate)\}(\{[^{}]*\})?(.*?)\\end\{\1\}", re.S)
_STYLE = {"textbf": "b", "emph": "i", "textit": "i", "texttt": "code", "underline": "u", "textsc": "span"}
_DROP = ("small", "footnotesize", "scriptsize", "large", "Large", "normalsize", "noindent", "centering",
         "smallskip", "medskip", "bigskip", "hline", "toprule", "midrule", "bottomrule", "clearpage", "newpage",
         "relax", "hfill", "vfill")
_CHARS = [(r"\%", "%"), (r"\&amp;", "&amp;"), (r"\_", "_"), (r"\#", "#"), (r"\$", "$"), (r"\{", "{"),
          (r"\}", "}"), ("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"),
          (r"\,", "\u2009"), (r"\ldots", "\u2026"), (r"\dots", "\u2026"), (r"\ ", " "), ("~", "\u00a0")]


def _math_html(tex: str, display: bool) -> str:
    tex = _squeeze(tex)
    return (r"\[" if display else r"\(") + html.escape(tex, quote=False) + (r"\]" if display else r"\)")


def _text_html(tex: str) -> str:
    s = html.escape(tex, quote=False)
    s = re.sub(r"\\\\(\[[^\]]*\])?", "<br>", s)
    s = re.sub(r"\\(vspace|hspace)\*?\{[^{}]*\}", "", s)
    s = re.sub(r"\\begin\{center\}", '<div style="text-align:center">', s)
    s = re.sub(r"\\end\{center\}", "</div>", s)
    s = re.sub(r"\\(begin|end)\{[^{}]*\}", "", s)
    for old, new in _CHARS:
        s = s.replace(old, new)
    s = re.sub(r"\\par\b\s*", "\n\n", s)
    s = re.sub(r"\\(" + "|".join(_DROP) + r")\b\s*", "", s)
    while True:  # innermost first, so nesting works
        t = re.sub(r"\\(" + "|".join(_STYLE) + r")\{([^{}]*)\}",
                   lambda m: f"<{_STYLE[m.group(1)]}>{m.group(2)}</{_STYLE[m.group(1)]}>", s)
        # an unknown command: keep its argument
        t = re.sub(r"\\(?!(?:" + "|".join(_STYLE) + r")\{)[a-zA-Z]+\*?\{([^{}]*)\}", r"\1", t)
        if t == s:
            break
        s = t
    s = re.sub(r"\\[a-zA-Z]+\*?", "", s)  # unknown commands without argument
    s = s.replace("{", "").replace("}", "")
    return s


def _environment(m: re.Match[str], holes: list[str]) -> str:
    kind, body = m.group(1), m.group(3)
    if kind == "tabular":
        rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.replace(r"\hline", "").strip()]
        cells = ["<tr>" + "".join(f"<td>{latex_to_html(c, inline=True)}</td>" for c in re.split(r"(?<!\\)&", r))
                 + "</tr>" for r in rows]
        out = '<table border="1" style="border-collapse:collapse">' + "".join(cells) + "</table>"
    else:
        items = re.split(r"\\item\b", body)[1:]
        tag = "ul" if kind == "itemize" else "ol"
        out = f"<{tag}>" + "".join(f"<li>{latex_to_html(i, inline=True)}</li>" for i in items) + f"</{tag}>"
    holes.append(out)
    return f"\x00{len(holes) - 1}\x00"


def _squeeze(s: str) -> str:
    """Runs of ASCII white space -> one space (a no-break space from ~ stays)."""
    return re.sub(r"[ \t\r\n]+", " ", s).strip()


def latex_to_html(tex: str, inline: bool = False) -> str:
    """LaTeX (a rendered statement, stem or option) as HTML for Moodle with MathJax:
    $..$ and \\(..\\) -> \\( \\); \\[..\\], $$..$$, equation/align -> \\[ \\]; tabular ->
    <table>; itemize/enumerate -> lists; \\textbf, \\emph, \\texttt -> <b>, <i>, <code>;
    escaped characters, quotes and dashes -> Unicode; other commands drop out (a
    command's argument stays). Paragraphs (blank lines, \\par) -> <p> unless inline."""
    holes: list[str] = []
    tex = _ENV.sub(lambda m: _environment(m, holes), tex)
    parts: list[str] = []
    pos = 0
    for m in _MATH.finditer(tex):
        parts.append(_text_html(tex[pos:m.start()]))
        if m.group(5):
            body = m.group(6)
            parts.append(_math_html(r"\begin{aligned}" + body + r"\end{aligned}"
                                    if m.group(5).startswith("align") else body, True))
        else:
            display = m.group(1) is not None or m.group(2) is not None
            parts.append(_math_html(next(g for g in m.groups()[:4] if g is not None), display))
        pos = m.end()
    parts.append(_text_html(tex[pos:]))
    s = "".join(parts)
    s = re.sub(r"\x00(\d+)\x00", lambda m: holes[int(m.group(1))], s)
    if inline:
        return _squeeze(s)
    paras = [_squeeze(p) for p in re.split(r"\n[ \t\r]*\n", s)]
    return "".join(p if re.match(r"<(div|table|ul|ol)\b", p) else f"<p>{p}</p>" for p in paras if p)


# ---------------------------------------------------------------- numbers


def tolerance(printed: str) -> float:
    """Half a unit of the last printed decimal; 0 for an integer."""
    if "." not in printed:
        return 0.0
    return 0.5 * 10.0 ** -len(printed.split(".")[1])


def numeric_leaves(value: Any, name: str) -> Iterator[tuple[str, float]]:
    """(name[i][j] 1-based, number) for every number in an answer (bools as 0/1);
    strings and other values are skipped."""
    if isinstance(value, bool):
        yield name, float(value)
    elif isinstance(value, (int, float)):
        yield name, float(value)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value, start=1):
            yield from numeric_leaves(v, f"{name}[{i}]")
    elif hasattr(value, "tolist"):
        yield from numeric_leaves(value.tolist(), name)


# ---------------------------------------------------------------- XML


def _text(parent: ET.Element, tag: str, text: str, fmt: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(el, "text").text = text
    return el


def _question(quiz: ET.Element, qtype: str, name: str, text_html: str, grade: float) -> ET.Element:
    q = ET.SubElement(quiz, "question", {"type": qtype})
    _text(q, "name", name)
    _text(q, "questiontext", text_html, "html")
    ET.SubElement(q, "defaultgrade").text = f"{grade:g}"
    ET.SubElement(q, "penalty").text = "0"
    ET.SubElement(q, "hidden").text = "0"
    return q


def _category(quiz: ET.Element, path: str) -> None:
    q = ET.SubElement(quiz, "question", {"type": "category"})
    _text(q, "category", f"$course$/{path}")


def _statement(q: SolvedQuestion) -> str:
    """The statement as the PDF prints it: intro, then a), b), ... (HTML)."""
    t = q.template
    origin = str(t.directory / "statement.tex.j2")
    st = rendering.compile_blocks(t.statement, origin)
    ctx = context(q.params, q.answers)
    out = []
    if "intro" in st.blocks:
        out.append(latex_to_html(rendering.render_block(st, "intro", ctx, origin)))
    for part in q.parts:
        body = latex_to_html(rendering.render_block(st, part.name, ctx, origin))
        body = body.replace("<p>", f"<p><b>{part.name})</b> ", 1) if body.startswith("<p>") else \
            f"<p><b>{part.name})</b></p>{body}"
        out.append(body + f"<p><i>({part.credits:g} credit{'' if part.credits == 1 else 's'})</i></p>")
    return "".join(out)


def _rubric_html(q: SolvedQuestion) -> str:
    items = "".join(f"<li><b>{r['part']})</b> {r['points']:g} point{'' if r['points'] == 1 else 's'}: "
                    f"{latex_to_html(r['text'], inline=True)}</li>"
                    for r in q.rubric)
    return f"<ul>{items}</ul>"


def _template_question(quiz: ET.Element, v: Variant, k: int, q: SolvedQuestion) -> None:
    name = f"{v.code} P{k} {q.template.id}"
    if q.template.kind == "free-text":
        e = _question(quiz, "essay", name, _statement(q), q.credits)
        ET.SubElement(e, "responseformat").text = "editor"
        ET.SubElement(e, "responserequired").text = "1"
        ET.SubElement(e, "responsefieldlines").text = "15"
        ET.SubElement(e, "attachments").text = "0"
        _text(e, "graderinfo", _rubric_html(q), "html")
        _text(e, "responsetemplate", "", "html")
        return
    rows = []
    for key, value in q.answers.items():
        for label, x in numeric_leaves(value, key):
            printed = num(x)
            rows.append(f"<tr><td><code>{html.escape(label)}</code></td>"
                        f"<td>{{1:NUMERICAL:={printed}:{tolerance(printed):g}}}</td></tr>")
    table = ('<p>Enter your results (values to at most 4 decimals):</p><table border="1" '
             'style="border-collapse:collapse">' + "".join(rows) + "</table>")
    c = _question(quiz, "cloze", name, _statement(q) + table, q.credits)
    _text(c, "generalfeedback", _rubric_html(q), "html")


def _mc_questions(quiz: ET.Element, v: Variant, k: int, q: SolvedMc, mc_type: str) -> None:
    for i, d in enumerate(q.items):
        label = item_label(i)
        qtype = "multichoice" if mc_type == "multichoice" else "multichoiceset"
        m = _question(quiz, qtype, f"{v.code} P{k}{label} {d.item.id}", latex_to_html(d.item.stem),
                      q.credits_per_item)
        ET.SubElement(m, "shuffleanswers").text = "0"
        ET.SubElement(m, "answernumbering").text = "123"
        if qtype == "multichoice":
            ET.SubElement(m, "single").text = "false"
        options = [(latex_to_html(o.text, inline=True), o.correct, o.why) for o in d.options]
        options.append((NONE_OPTION, not d.correct_boxes, ""))
        n_right = sum(1 for _, ok, _ in options if ok)
        for text, ok, why in options:
            if qtype == "multichoice":
                fraction = f"{100 / n_right:.7g}" if ok else "-100"
            else:
                fraction = "100" if ok else "0"
            a = ET.SubElement(m, "answer", {"fraction": fraction, "format": "html"})
            ET.SubElement(a, "text").text = text
            _text(a, "feedback", latex_to_html(why, inline=True) if why else "", "html")


def quiz_xml(variants: Iterable[Variant], category_root: str, mc_type: str = "multichoiceset") -> str:
    """The Moodle XML text: per problem a category, then that problem of every variant."""
    if mc_type not in MC_TYPES:
        raise ExamgenError(f"unknown MC question type '{mc_type}'; valid: {', '.join(MC_TYPES)}")
    variants = list(variants)
    quiz = ET.Element("quiz")
    n_problems = max(len(v.questions) for v in variants)
    for k in range(1, n_problems + 1):
        qs = [(v, v.questions[k - 1]) for v in variants if len(v.questions) >= k]
        titles = list(dict.fromkeys(q.title for _, q in qs))
        _category(quiz, f"{category_root}/P{k} {' / '.join(titles)}".replace("//", "/"))
        for v, q in qs:
            if isinstance(q, SolvedMc):
                _mc_questions(quiz, v, k, q, mc_type)
            else:
                _template_question(quiz, v, k, q)
    ET.indent(quiz, space=" ")
    # ElementTree writes control characters as they are, which no XML parser reads: drop what
    # XML 1.0 forbids (the spec's loader refuses them already; this is the second line of defence)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{MOODLE_MARK}\n'
            + _NOT_XML.sub("", ET.tostring(quiz, encoding="unicode")) + "\n")


# the characters XML 1.0 does not allow anywhere (not even escaped)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def export_moodle(spec_path: Path, n_variants: int, seed: int | None, out: Path | str, bank_dirs: Iterable[Path] = (),
                  mc_type: str = "multichoiceset", progress: Callable[[int], None] | None = None) -> Path:
    """Write the Moodle XML of n_variants (same seed -> same variants as the PDFs);
    `progress(1)` after each variant is drawn and solved."""
    bank = load_bank(bank_dirs)
    spec = load_spec(Path(spec_path), bank)
    ensure_file_replaceable(out, MOODLE_OWNED, example="quiz.xml")  # refused before any variant is drawn
    exam_seed = seed if seed is not None else (spec.seed if spec.seed is not None else 0)
    variants = []
    for n in range(1, n_variants + 1):
        variants.append(build_variant(spec, bank, exam_seed, n))
        if progress:
            progress(1)
    root = f"{spec.info.code} {spec.info.name}".replace("/", "-")
    text = quiz_xml(variants, root, mc_type)
    return write_file(out, text.encode("utf-8"), MOODLE_OWNED)
