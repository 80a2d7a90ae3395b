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

LaTeX becomes HTML with MathJax (htmltext.latex_to_html); what is graded by itself and what
by a tutor is writers/graded.py, shared with the QTI writer."""

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
from .graded import (
    asked_note,
    cells,
    credits_note,
    hand_answers,
    hand_keys,
    hand_points,
    key_phrase,
    key_text,
    mc_options,
    points_text,
)
from .htmltext import latex_to_html

MC_TYPES = ("multichoiceset", "multichoice")

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


def _part_html(texts: QuestionTexts, part: Part) -> str:
    body = latex_to_html(texts.statements[part.name])
    lead = f"<b>{part.name})</b> "
    return (body.replace("<p>", "<p>" + lead, 1) if body.startswith("<p>") else f"<p>{lead}</p>{body}") \
        + f"<p><i>{credits_note(part.credits)}</i></p>"


def _intro_html(texts: QuestionTexts) -> str:
    return latex_to_html(texts.intro) if texts.intro is not None else ""


def _rubric_html(q: SolvedQuestion, parts: set[str]) -> str:
    items = "".join(f"<li><b>{r['part']})</b> {points_text(r['points'])}: {latex_to_html(r['text'], inline=True)}</li>"
                    for r in q.rubric if r["part"] in parts)
    return f"<ul>{items}</ul>"


def _field(weight: int, a: GradedAnswer, x: Any) -> str:
    if a.kind == "choice":
        alts = [f"={_cloze_text(x)}"] + [_cloze_text(c) for c in a.choices if c != x]
        return f"{{{weight}:MULTICHOICE:{'~'.join(alts)}}}"
    return f"{{{weight}:NUMERICAL:={key_text(x)}:{key_text(a.tolerance)}}}"


def _cloze_text(x: Any) -> str:
    """A choice's text inside a cloze field: the characters the field syntax uses escaped."""
    return html.escape(str(x), quote=False).replace("\\", "\\\\").replace("}", "\\}").replace("#", "\\#") \
        .replace("~", "\\~")


def _cloze(quiz: ET.Element, v: Variant, k: int, q: SolvedQuestion, texts: QuestionTexts) -> None:
    """The part of problem k of variant v that Moodle grades: the statement, and after each
    part a table of its inputs, weighted in the ratio of their points."""
    inputs = cells(q)
    f = weight_factor([c.points for c in inputs])
    out = [_intro_html(texts)]
    for p in q.parts:
        out.append(_part_html(texts, p))
        rows = [f"<tr><td>{latex_to_html(c.answer.label, inline=True)}{html.escape(c.suffix)}{asked_note(c.answer)}"
                f"</td><td>{_field(round(f * c.points), c.answer, c.value)}</td></tr>"
                for c in inputs if c.part.name == p.name]
        if rows:
            out.append('<table border="1" style="border-collapse:collapse">' + "".join(rows) + "</table>")
    total = sum(round(f * c.points) for c in inputs)
    c = _question(quiz, "cloze", f"{v.code} P{k} {q.template.id}", "".join(out), total)
    _text(c, "generalfeedback", _rubric_html(q, {p.name for p in q.parts}), "html")


def _written(quiz: ET.Element, v: Variant, k: int, q: SolvedQuestion, texts: QuestionTexts) -> None:
    """The part of problem k of variant v that a tutor grades: an essay question."""
    hand = [p for p in q.parts if hand_answers(p) is not None]
    text = _intro_html(texts) + "".join(_part_html(texts, p) for p in hand)
    if any(p.answers for p in hand):
        text += "<p>Answer here the parts that ask for an explanation, an expression or a construction.</p>"
    e = _question(quiz, "essay", f"{v.code} P{k} {q.template.id} (written)", text, sum(hand_points(p) for p in hand))
    ET.SubElement(e, "responseformat").text = "editor"
    ET.SubElement(e, "responserequired").text = "1"
    ET.SubElement(e, "responsefieldlines").text = "15"
    ET.SubElement(e, "attachments").text = "0"
    keys = "".join(
        f"<li><b>{p.name})</b> {latex_to_html(a.label, inline=True)}: "
        f"{key_phrase(a, value, lambda x: f'<code>{html.escape(str(x))}</code>')} ({points_text(a.points)})</li>"
        for p, a, value in hand_keys(q))
    solutions = "".join(f"<p><b>{p.name})</b></p>{latex_to_html(texts.solutions[p.name])}" for p in hand)
    _text(e, "graderinfo", (f"<ul>{keys}</ul>" if keys else "") + solutions
          + _rubric_html(q, {p.name for p in hand}), "html")
    _text(e, "responsetemplate", "", "html")


def split(q: SolvedQuestion) -> tuple[bool, bool]:
    """Whether a template question has a part Moodle grades (cloze) and one a tutor grades (essay)."""
    return bool(cells(q)), any(hand_answers(p) is not None for p in q.parts)


def _mc_question(quiz: ET.Element, name: str, d: DrawnMcItem, credits: float, mc_type: str) -> None:
    qtype = "multichoice" if mc_type == "multichoice" else "multichoiceset"
    m = _question(quiz, qtype, name, latex_to_html(d.item.stem), credits)
    ET.SubElement(m, "shuffleanswers").text = "0"
    ET.SubElement(m, "answernumbering").text = "123"
    if qtype == "multichoice":
        ET.SubElement(m, "single").text = "false"
    options = mc_options(d)
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
        rendered = {v.code: questions.texts(t, solutions=split(t)[1]) for v, t in templates}  # once per question
        for side, suffix, write in ((0, "", _cloze), (1, " (written)", _written)):  # the cloze part, then the essay
            these = [(v, t) for v, t in templates if split(t)[side]]
            if these:
                _category(quiz, root, title + suffix)
                for v, t in these:
                    write(quiz, v, k, t, rendered[v.code])
    ET.indent(quiz, space=" ")
    # ElementTree writes control characters as they are, which no XML parser reads: drop what
    # XML 1.0 forbids (the spec's loader refuses them already; this is the second line of defence)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{MOODLE_MARK}\n'
            + _NOT_XML.sub("", ET.tostring(quiz, encoding="unicode")) + "\n")


# the characters XML 1.0 does not allow anywhere (not even escaped)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(exam: Exam, mc_type: str = "multichoiceset") -> bytes:
    return quiz_xml(exam, mc_type).encode("utf-8")
