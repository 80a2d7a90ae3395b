"""Moodle XML of the exam record: the same variants as `examgen build` with the same
seed (the pipeline solves them; nothing is sampled or rendered again here).

Checked against Moodle's importer (question/format/xml/format.php and
qtype_multianswer_extract_question, whose regexes tests/moodle_cloze.php runs in PHP):

* categories: one per problem (`$course$/<code> <name>/P<k> <title>`; a `choose:`
  problem lists its titles), one question per variant; an MC problem: one subcategory per
  pool item (`.../P<k> <title>/<item id>`), holding each distinct drawing of that item
  once. A `/` in a name is doubled, Moodle's escape (it would open a subcategory);
* a template question -> a `cloze` question holding only its graded answers that Moodle
  can grade (numbers, vectors and matrices entry by entry; choices as a drop-down):
  `{W:NUMERICAL:=exact:tolerance}` with the exact key (shortest repr of the float) and the
  declared tolerance, so a student who rounds as the statement asks is right. Moodle
  ignores <defaultgrade> for cloze and weights each field by its W: W is the field's
  points (the answer's points shared by its entries) times the smallest factor making
  every W of the question an integer, so the fields' shares are the rubric's; the
  question's mark is `factor x credits` (written in <defaultgrade> as Moodle computes it;
  set the quiz slot's maximum mark to the credits when the factor is not 1);
* what Moodle cannot grade (free-text parts, explanations, expressions, answers a checker
  decides such as "any XOR network that works") -> an `essay` question per variant, in
  the sibling category `P<k> <title> (written)`, with the statements of those parts, their
  credits as <defaultgrade>, and the rubric and keys as grader information; a free-text
  template is only that essay;
* an MC item -> `multichoiceset` (the "All-or-Nothing Multiple Choice" plugin: full marks
  only when exactly the correct options are ticked, the TUM rule) or, with
  mc_type="multichoice", core `multichoice` with single=false, +100/n per correct option
  and -100 per wrong one. Every item gets a last option "None of the statements above is
  true.", correct exactly when no statement is (Moodle cannot mark an empty answer right).

LaTeX becomes HTML with MathJax delimiters \\( \\) and \\[ \\] (latex_to_html): maths
stays LaTeX, text markup becomes HTML, escaped characters print as themselves."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import Any

from .. import questions
from ..errors import ExamgenError
from ..model import DrawnMcItem, Exam, GradedAnswer, Part, SolvedMc, SolvedQuestion, Variant, item_label
from ..rendering import QuestionTexts
from ..targets import MOODLE_MARK

NONE_OPTION = "None of the statements above is true."
MC_TYPES = ("multichoiceset", "multichoice")

# ---------------------------------------------------------------- LaTeX -> HTML

_MATH = re.compile(r"\\\[(.*?)\\\]|\$\$(.*?)\$\$|\\\((.*?)\\\)|(?<!\\)\$(.*?)(?<!\\)\$"
                   r"|\\begin\{(equation\*?|align\*?)\}(.*?)\\end\{\5\}", re.S)
# a tabular's column spec may hold one level of braces: {|l|p{0.17\linewidth}|}
_ENV = re.compile(r"\\begin\{(tabular|itemize|enumerate)\}(\{(?:[^{}]|\{[^{}]*\})*\})?(.*?)\\end\{\1\}", re.S)
_STYLE = {"textbf": "b", "emph": "i", "textit": "i", "texttt": "code", "underline": "u", "textsc": "span"}
_DROP = ("small", "footnotesize", "scriptsize", "large", "Large", "normalsize", "noindent", "centering",
         "smallskip", "medskip", "bigskip", "hline", "toprule", "midrule", "bottomrule", "clearpage", "newpage",
         "relax", "hfill", "vfill")
# escaped characters (texfmt.escape, pylatex's escape_latex) print as themselves; braces and
# backslashes first become placeholders, so that dropping TeX's grouping braces keeps them
_LITERAL = [(r"\textbackslash{}", "\x01"), (r"\textbackslash", "\x01"), (r"\{", "\x02"), (r"\}", "\x03"),
            (r"\textasciitilde{}", "\x04"), (r"\textasciitilde", "\x04"), (r"\~{}", "\x04"), (r"\^{}", "^"),
            (r"\textasciicircum{}", "^"), (r"\textasciicircum", "^")]
_RESTORE = [("\x01", "\\"), ("\x02", "{"), ("\x03", "}"), ("\x04", "~")]
_CHARS = [(r"\%", "%"), (r"\&amp;", "&amp;"), (r"\_", "_"), (r"\#", "#"), (r"\$", "$"),
          ("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"),
          (r"\,", "\u2009"), (r"\ldots", "\u2026"), (r"\dots", "\u2026"), (r"\ ", " "), ("~", "\u00a0")]


def _math_html(tex: str, display: bool) -> str:
    tex = _squeeze(tex)
    return (r"\[" if display else r"\(") + html.escape(tex, quote=False) + (r"\]" if display else r"\)")


def _text_html(tex: str) -> str:
    s = html.escape(tex, quote=False)
    for old, new in _LITERAL:
        s = s.replace(old, new)
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
    for old, new in _RESTORE:
        s = s.replace(old, new)
    return s


# a TikZ drawing has no HTML form here: a note says where it is
_FIGURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
FIGURE_NOTE = "<i>[figure: see the printed exam]</i>"


def _hole(html_text: str, holes: list[str]) -> str:
    holes.append(html_text)
    return f"\x00{len(holes) - 1}\x00"


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
    return _hole(out, holes)


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
    tex = _FIGURE.sub(lambda m: _hole(FIGURE_NOTE, holes), tex)
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


# ---------------------------------------------------------------- graded fields


def key_text(x: float) -> str:
    """The exact key as Moodle's NUMBER_REGEX reads it: the shortest text that is this float."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def tolerance_text(t: float) -> str:
    return key_text(t) if t else "0"


def entries(a: GradedAnswer, value: Any) -> list[tuple[str, float]]:
    """(suffix, number) for every entry of a numeric answer: '' for a number, '[i]' for a
    vector, '[i,j]' for a matrix (1-based, as a student reads the statement)."""
    if a.kind == "number":
        return [("", float(value))]
    if a.kind == "vector":
        return [(f"[{i}]", float(x)) for i, x in enumerate(value, start=1)]
    return [(f"[{i},{j}]", float(x)) for i, row in enumerate(value, start=1) for j, x in enumerate(row, start=1)]


def auto_graded(a: GradedAnswer) -> bool:
    """What a Moodle cloze field grades by itself: numbers (entry by entry) and choices."""
    return a.numeric or a.kind == "choice"


def weight_factor(shares: list[float]) -> int:
    """The smallest integer f with every f x share an integer (cloze weights are integers)."""
    for f in range(1, 10_001):
        if all(abs(f * s - round(f * s)) < 1e-9 for s in shares):
            return f
    raise ExamgenError(f"points {shares} need a factor above 10000 to become integer Moodle weights")


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


def category_name(name: str) -> str:
    """A name as one category level: Moodle splits paths at '/' and reads '//' as a '/'."""
    return name.replace("/", "//")


def _category(quiz: ET.Element, *levels: str) -> None:
    q = ET.SubElement(quiz, "question", {"type": "category"})
    _text(q, "category", "$course$/" + "/".join(category_name(x) for x in levels))


def credits_note(c: float) -> str:
    """'(1 credit)', '(2.5 credits)': after each part's statement in an export."""
    return f"({c:g} credit{'' if c == 1 else 's'})"


def _part_html(q: SolvedQuestion, texts: QuestionTexts, part: Part) -> str:
    body = latex_to_html(texts.statements[part.name])
    lead = f"<b>{part.name})</b> "
    return (body.replace("<p>", "<p>" + lead, 1) if body.startswith("<p>") else f"<p>{lead}</p>{body}") \
        + f"<p><i>{credits_note(part.credits)}</i></p>"


def _intro_html(texts: QuestionTexts) -> str:
    return latex_to_html(texts.intro) if texts.intro is not None else ""


def _rubric_html(q: SolvedQuestion, parts: set[str]) -> str:
    items = "".join(f"<li><b>{r['part']})</b> {r['points']:g} point{'' if r['points'] == 1 else 's'}: "
                    f"{latex_to_html(r['text'], inline=True)}</li>"
                    for r in q.rubric if r["part"] in parts)
    return f"<ul>{items}</ul>"


def _field(weight: int, a: GradedAnswer, x: Any) -> str:
    if a.kind == "choice":
        alts = [f"={_cloze_text(x)}"] + [_cloze_text(c) for c in a.choices if c != x]
        return f"{{{weight}:MULTICHOICE:{'~'.join(alts)}}}"
    return f"{{{weight}:NUMERICAL:={key_text(x)}:{tolerance_text(a.tolerance)}}}"


def _cloze_text(x: Any) -> str:
    """A choice's text inside a cloze field: the characters the field syntax uses escaped."""
    return html.escape(str(x), quote=False).replace("\\", "\\\\").replace("}", "\\}").replace("#", "\\#") \
        .replace("~", "\\~")


def _template_questions(quiz: ET.Element, v: Variant, k: int, q: SolvedQuestion, auto: bool) -> None:
    """The cloze part (auto=True) or the written part (auto=False) of problem k of variant v."""
    texts = questions.texts(q, solutions=not auto)
    graded = q.graded()
    if auto:
        fields = [(p, a, value) for p, a, value in graded if auto_graded(a)]
        shares = [a.points / len(entries(a, value)) if a.numeric else a.points for _, a, value in fields
                  for _ in (entries(a, value) if a.numeric else [None])]
        f = weight_factor(shares)
        out = [_intro_html(texts)]
        total = 0
        for p in q.parts:
            out.append(_part_html(q, texts, p))
            rows = []
            for part, a, value in fields:
                if part.name != p.name:
                    continue
                label = latex_to_html(a.label, inline=True)
                asked = f" (to {a.round} decimals)" if a.round is not None else ""
                for suffix, x in (entries(a, value) if a.numeric else [("", value)]):
                    w = round(f * (a.points / len(entries(a, value)) if a.numeric else a.points))
                    total += w
                    rows.append(f"<tr><td>{label}{html.escape(suffix)}{asked}</td><td>{_field(w, a, x)}</td></tr>")
            if rows:
                out.append('<table border="1" style="border-collapse:collapse">' + "".join(rows) + "</table>")
        c = _question(quiz, "cloze", f"{v.code} P{k} {q.template.id}", "".join(out), total)
        _text(c, "generalfeedback", _rubric_html(q, {p.name for p in q.parts}), "html")
        return
    hand = [p for p in q.parts if not p.answers or any(not auto_graded(a) for a in p.answers)]
    points = sum(p.credits if not p.answers else sum(a.points for a in p.answers if not auto_graded(a))
                 for p in hand)
    text = _intro_html(texts) + "".join(_part_html(q, texts, p) for p in hand)
    if any(p.answers for p in hand):
        text += "<p>Answer here the parts that ask for an explanation, an expression or a construction.</p>"
    e = _question(quiz, "essay", f"{v.code} P{k} {q.template.id} (written)", text, points)
    ET.SubElement(e, "responseformat").text = "editor"
    ET.SubElement(e, "responserequired").text = "1"
    ET.SubElement(e, "responsefieldlines").text = "15"
    ET.SubElement(e, "attachments").text = "0"
    keys = "".join(
        f"<li><b>{p.name})</b> {latex_to_html(a.label, inline=True)}: "
        + (f"any answer that {a.accepts} accepts, e.g. <code>{html.escape(str(value))}</code>" if a.kind == "checker"
           else f"<code>{html.escape(str(value))}</code>" if value is not None else "see the solution")
        + f" ({a.points:g} points)</li>"
        for p, a, value in graded if p in hand and not auto_graded(a))
    solutions = "".join(f"<p><b>{p.name})</b></p>{latex_to_html(texts.solutions[p.name])}" for p in hand)
    _text(e, "graderinfo", (f"<ul>{keys}</ul>" if keys else "") + solutions
          + _rubric_html(q, {p.name for p in hand}), "html")
    _text(e, "responsetemplate", "", "html")


def split(q: SolvedQuestion) -> tuple[bool, bool]:
    """Whether a template question has a cloze part and a written (essay) part."""
    auto = any(auto_graded(a) for p in q.parts for a in p.answers)
    hand = any(not p.answers or any(not auto_graded(a) for a in p.answers) for p in q.parts)
    return auto, hand


def _mc_question(quiz: ET.Element, name: str, d: DrawnMcItem, credits: float, mc_type: str) -> None:
    qtype = "multichoice" if mc_type == "multichoice" else "multichoiceset"
    m = _question(quiz, qtype, name, latex_to_html(d.item.stem), credits)
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


def quiz_xml(exam: Exam, mc_type: str = "multichoiceset") -> str:
    """The Moodle XML text: per problem a category, then that problem of every variant."""
    if mc_type not in MC_TYPES:
        raise ExamgenError(f"unknown MC question type '{mc_type}'; valid: {', '.join(MC_TYPES)}")
    root = f"{exam.spec.info.code} {exam.spec.info.name}"
    quiz = ET.Element("quiz")
    n_problems = max(len(v.questions) for v in exam.variants)
    for k in range(1, n_problems + 1):
        qs = [(v, v.questions[k - 1]) for v in exam.variants if len(v.questions) >= k]
        title = f"P{k} {' / '.join(dict.fromkeys(q.title for _, q in qs))}"
        mcs = [(v, m) for v, m in qs if isinstance(m, SolvedMc)]
        if mcs:
            drawn: dict[str, dict[tuple, tuple[str, DrawnMcItem, float]]] = {}
            for v, m in mcs:
                for i, d in enumerate(m.items):
                    version = tuple((o.text, o.correct) for o in d.options)
                    drawn.setdefault(d.item.id, {}).setdefault(
                        version, (f"{v.code} P{k}{item_label(i)} {d.item.id}", d, m.credits_per_item))
            for item_id in sorted(drawn):
                _category(quiz, root, title, item_id)
                for name, d, c in drawn[item_id].values():
                    _mc_question(quiz, name, d, c, mc_type)
        templates = [(v, t) for v, t in qs if isinstance(t, SolvedQuestion)]
        for side, suffix in ((0, ""), (1, " (written)")):  # the cloze part, then the essay part
            these = [(v, t) for v, t in templates if split(t)[side]]
            if these:
                _category(quiz, root, title + suffix)
                for v, t in these:
                    _template_questions(quiz, v, k, t, auto=side == 0)
    ET.indent(quiz, space=" ")
    # ElementTree writes control characters as they are, which no XML parser reads: drop what
    # XML 1.0 forbids (the spec's loader refuses them already; this is the second line of defence)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{MOODLE_MARK}\n'
            + _NOT_XML.sub("", ET.tostring(quiz, encoding="unicode")) + "\n")


# the characters XML 1.0 does not allow anywhere (not even escaped)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(exam: Exam, mc_type: str = "multichoiceset") -> bytes:
    return quiz_xml(exam, mc_type).encode("utf-8")
