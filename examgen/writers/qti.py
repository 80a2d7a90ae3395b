"""IMS QTI 2.1 content package (zip) of the exam record: the same variants as `examgen
build` with the same seed (the pipeline solves them; nothing is sampled or rendered again).

The package (IMS Content Packaging 1.1, `imsmanifest.xml` at the root):

* `test.xml` -- ONE assessmentTest: one testPart, one section "variants" with
  `<selection select="1"/>` holding one sub-section per variant (identifier E0001, ...).
  Each candidate is given one variant, as each student gets one printed exam, and the
  results name the variant. One test, not one per variant, because an LMS imports a
  package as one test (OpenOLAT takes the package's assessmentTest as the test resource;
  a package of 30 tests would be 30 imports);
* `items/E0001_P2.xml` -- one assessmentItem per variant and template problem; an MC
  problem is one item per MC item (`E0001_P1a`, ...), as the PDF crosses and scores each
  item on its own and importers (ILIAS, Canvas) map one choice item to one question;
* `examgen.css` -- table borders and centring (QTI's XHTML has no `style` attribute).

A template item holds, part by part, the statement (LaTeX -> HTML with MathJax
delimiters as the Moodle export does, then made QTI XHTML) and:

* numeric graded answers: one `textEntryInteraction` per entry (a vector or matrix
  entry by entry), a float responseDeclaration with the exact value as correctResponse,
  and responseProcessing that adds the entry's points (the answer's points shared by its
  entries) to SCORE when `<equal toleranceMode="absolute" tolerance="t t">` holds with the
  declared tolerance t;
* choice answers: `inlineChoiceInteraction`, the answer's points when the key is chosen;
* everything graded by hand (parts without graded answers, text, expression and checker
  answers): one `extendedTextInteraction` per part, no automatic score. The key, the
  part's solution and the rubric are in a `rubricBlock view="scorer"`: shown to whoever
  scores, never to the candidate (a modalFeedback is shown to the candidate after
  submission, which would hand the key to the next one).

MAXSCORE is the problem's credits; SCORE starts at 0. An MC item is a `choiceInteraction`
with maxChoices=0 (any number of boxes), cardinality multiple, scored by the TUM rule:
the item's credits only when exactly the correct set is chosen; the last choice "None of
the statements above is true." is the correct set when no statement is.

The zip is deterministic: fixed entry order, timestamps and permissions; the same spec
and seed give the same bytes. The manifest begins with examgen's comment (targets.QTI_MARK):
examgen replaces only a zip whose manifest carries it."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import Any

from .. import questions
from ..errors import TemplateError
from ..model import DrawnMcItem, Exam, GradedAnswer, Part, SolvedMc, SolvedQuestion, Variant, item_label
from ..rendering import QuestionTexts
from ..targets import QTI_MARK
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

NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_TYPE = "imsqti_item_xmlv2p1"
TEST_TYPE = "imsqti_test_xmlv2p1"
TEST_FILE = "test.xml"
CSS_FILE = "examgen.css"
CSS = """table.examgen { border-collapse: collapse; }
table.examgen td { border: 1px solid #888; padding: 0.2em 0.5em; }
.center { text-align: center; }
.underline { text-decoration: underline; }
"""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip epoch: no clock in the bytes

# ---------------------------------------------------------------- HTML -> QTI XHTML

#: the XHTML elements latex_to_html writes that QTI 2.1 has, and where they may stand
_BLOCK = {"p", "div", "table", "ul", "ol"}
_KEEP = _BLOCK | {"tbody", "tr", "td", "li", "b", "i", "code", "span", "br"}


def _clean(el: ET.Element) -> None:
    """latex_to_html's HTML as QTI 2.1 XHTML, in place: no `style`/`border` (classes from
    examgen.css instead), <u> as a span, a table's rows in a <tbody>, a <p> holding a
    block (a table in a paragraph) as a <div>."""
    for child in list(el):
        _clean(child)
    style = el.attrib.get("style", "")
    el.attrib.clear()
    if el.tag == "u":
        el.tag, el.attrib["class"] = "span", "underline"
    elif el.tag == "table":
        el.attrib["class"] = "examgen"
        rows = [c for c in el if c.tag == "tr"]
        if rows:
            body = ET.Element("tbody")
            for r in rows:
                el.remove(r)
                body.append(r)
            el.append(body)
    elif el.tag == "div" and "center" in style:
        el.attrib["class"] = "center"
    elif el.tag not in _KEEP:
        el.tag = "span"
    if el.tag == "p" and any(c.tag in _BLOCK for c in el):
        el.tag = "div"


def xhtml(html: str, where: str, tag: str = "div") -> ET.Element:
    """An HTML fragment of latex_to_html as one QTI XHTML element `tag` holding it. It
    must be well-formed XML (after <br> -> <br/>): a statement whose LaTeX environments
    do not nest is refused, naming `where`."""
    try:
        el = ET.fromstring(f"<{tag}>{html.replace('<br>', '<br/>')}</{tag}>")
    except ET.ParseError as exc:
        raise TemplateError(f"{where}: its text does not become well-formed XHTML for QTI ({exc}); check that its "
                            "LaTeX environments and braces are balanced") from None
    _clean(el)
    return el


def _contents(parent: ET.Element, el: ET.Element) -> None:
    """Append el's text and children (not el itself) to parent."""
    if el.text:
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + el.text
        else:
            parent.text = (parent.text or "") + el.text
    parent.extend(list(el))


# ---------------------------------------------------------------- QTI building blocks


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def ncname(text: str) -> str:
    """A name as a valid, readable NCName fragment (letters, digits, _ . -)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _item_root(identifier: str, title: str) -> ET.Element:
    return ET.Element("assessmentItem", {
        "xmlns": NS, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{NS} {XSD}",
        "identifier": identifier, "title": title, "adaptive": "false", "timeDependent": "false",
        "toolName": "examgen", "toolVersion": QTI_MARK.split()[2]})


def _response(item: ET.Element, identifier: str, cardinality: str, base_type: str,
              correct: list[str] | None = None) -> None:
    decl = _sub(item, "responseDeclaration", identifier=identifier, cardinality=cardinality, baseType=base_type)
    if correct is not None:
        c = _sub(decl, "correctResponse")
        for value in correct:
            _sub(c, "value", value)


def _outcomes(item: ET.Element, credits: float) -> None:
    for name, default in (("SCORE", 0.0), ("MAXSCORE", credits)):
        decl = _sub(item, "outcomeDeclaration", identifier=name, cardinality="single", baseType="float")
        _sub(_sub(decl, "defaultValue"), "value", key_text(default))
    _sub(item, "stylesheet", href=f"../{CSS_FILE}", type="text/css")


def _add_to_score(parent: ET.Element, points: float) -> None:
    """<setOutcomeValue SCORE = SCORE + points>"""
    s = _sub(_sub(parent, "setOutcomeValue", identifier="SCORE"), "sum")
    _sub(s, "variable", identifier="SCORE")
    _sub(s, "baseValue", key_text(points), baseType="float")


def _if(processing: ET.Element, test: ET.Element, points: float) -> None:
    """responseCondition: if test, add points to SCORE."""
    branch = _sub(_sub(processing, "responseCondition"), "responseIf")
    branch.append(test)
    _add_to_score(branch, points)


def _compare(op: str, identifier: str, **attrib: str) -> ET.Element:
    el = ET.Element(op, attrib)
    _sub(el, "variable", identifier=identifier)
    _sub(el, "correct", identifier=identifier)
    return el


def _to_bytes(root: ET.Element, comment: str | None = None) -> bytes:
    """The XML text, indented outside the itemBody (its mixed content is kept as written)."""
    body = root.find("itemBody")
    at = list(root).index(body) if body is not None else -1
    if body is not None:
        root.remove(body)
    ET.indent(root, space=" ")
    if body is not None:
        body.tail = "\n " if at < len(root) else "\n"
        root[at - 1].tail = "\n "
        root.insert(at, body)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' + (f"{comment}\n" if comment else "")
    return (head + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


# ---------------------------------------------------------------- items


def _part_statement(body: ET.Element, texts: QuestionTexts, where: str, part: Part) -> None:
    block = xhtml(latex_to_html(texts.statements[part.name]), f"{where} part {part.name}")
    lead = ET.Element("b")
    lead.text = f"{part.name})"
    first = block[0] if len(block) and block[0].tag == "p" and not (block.text or "").strip() else None
    if first is not None:  # "b) <statement>" in its first paragraph
        lead.tail = " " + (first.text or "")
        first.text = None
        first.insert(0, lead)
    else:
        p = ET.Element("p")
        p.append(lead)
        block.insert(0, p)
    _sub(_sub(block, "p"), "i", credits_note(part.credits))
    body.append(block)


def _scorer_block(body: ET.Element, q: SolvedQuestion, texts: QuestionTexts, where: str,
                  keys: list[tuple[Part, GradedAnswer, Any]], hand: list[Part]) -> None:
    """The rubricBlock only a scorer sees: keys of the hand-graded answers, the solutions of
    the hand-graded parts, and the whole rubric."""
    block = _sub(body, "rubricBlock", view="scorer")
    if keys:
        ul = _sub(block, "ul")
        for p, a, value in keys:
            li = _sub(ul, "li")
            _sub(li, "b", f"{p.name})").tail = " "
            label = xhtml(latex_to_html(a.label, inline=True), f"{where} part {p.name}", "span")
            label.tail = f": {key_phrase(a, value)} ({points_text(a.points)})"
            li.insert(1, label)
    for p in hand:
        _sub(_sub(block, "p"), "b", f"Solution {p.name})")
        block.append(xhtml(latex_to_html(texts.solutions[p.name]), f"{where} part {p.name}"))
    ul = _sub(block, "ul")
    for r in q.rubric:
        li = _sub(ul, "li")
        _sub(li, "b", f"{r['part']})").tail = f" {points_text(r['points'])}: "
        text = latex_to_html(r["text"], inline=True)
        _contents(li, xhtml(text, f"{where}: the rubric of part {r['part']} in question.yaml", "span"))


def template_item(v: Variant, k: int, q: SolvedQuestion) -> tuple[str, bytes]:
    """(identifier, XML) of problem k of variant v, a template question."""
    identifier = f"{v.code}_P{k}"
    folder = q.template.directory
    where = f"{folder / 'statement.tex.j2'}: {q.template.id} ({v.code} P{k})"
    texts = questions.texts(q, solutions=True)
    item = _item_root(identifier, f"{v.code} P{k} {q.title}")
    body = ET.Element("itemBody")
    processing = ET.Element("responseProcessing")
    keys: list[tuple[Part, GradedAnswer, Any]] = []
    hand_parts: list[Part] = []
    if texts.intro is not None:
        body.append(xhtml(latex_to_html(texts.intro), f"{where} intro"))
    inputs, hand = cells(q), hand_keys(q)
    for part in q.parts:
        _part_statement(body, texts, where, part)
        keys += [(p, a, value) for p, a, value in hand if p.name == part.name]
        for c in inputs:
            if c.part.name != part.name:
                continue
            a = c.answer
            label = latex_to_html(a.label, inline=True)
            rid = f"R_{ncname(part.name)}_{ncname(str(a.name))}" + \
                "".join(f"_{n}" for n in re.findall(r"\d+", c.suffix))
            p = _sub(body, "p")
            p.append(xhtml(label, f"{where} part {part.name}", "span"))
            if a.kind == "choice":
                options = sorted([c.value] + [x for x in a.choices if x != c.value], key=str)
                ids = {str(x): f"C{i}" for i, x in enumerate(options, start=1)}
                _response(item, rid, "single", "identifier", [ids[str(c.value)]])
                p[-1].tail = ": "
                inter = _sub(p, "inlineChoiceInteraction", responseIdentifier=rid, shuffle="false")
                for x in options:
                    _sub(inter, "inlineChoice", str(x), identifier=ids[str(x)])
                _if(processing, _compare("match", rid), c.points)
                continue
            _response(item, rid, "single", "float", [key_text(c.value)])
            p[-1].tail = f"{c.suffix}{asked_note(a)}: "
            _sub(p, "textEntryInteraction", responseIdentifier=rid, expectedLength="12")
            t = key_text(a.tolerance)
            _if(processing, _compare("equal", rid, toleranceMode="absolute", tolerance=f"{t} {t}"), c.points)
        if hand_answers(part) is not None:
            hand_parts.append(part)
            rid = f"TEXT_{ncname(part.name)}"
            _response(item, rid, "single", "string")
            inter = _sub(body, "extendedTextInteraction", responseIdentifier=rid, expectedLines="8", format="plain")
            _sub(inter, "prompt", f"Your answer to part {part.name}) {credits_note(hand_points(part))}, graded by hand")
    _outcomes(item, q.credits)
    _scorer_block(body, q, texts, f"{folder / 'solution.tex.j2'}: {q.template.id} ({v.code} P{k})", keys, hand_parts)
    item.append(body)
    if len(processing):
        item.append(processing)
    return identifier, _to_bytes(item)


def mc_item(v: Variant, k: int, i: int, d: DrawnMcItem, credits: float) -> tuple[str, bytes]:
    """(identifier, XML) of MC item i of problem k of variant v: all or nothing."""
    label = item_label(i)
    identifier = f"{v.code}_P{k}{label}"
    where = f"MC item {d.item.id} of the '{d.item.topic}' pool ({v.code} P{k}{label})"
    item = _item_root(identifier, f"{v.code} P{k}{label} {d.item.id}")
    options = [(f"C{j}" if j <= len(d.options) else "NONE", text, ok, why)
               for j, (text, ok, why) in enumerate(mc_options(d), start=1)]
    _response(item, "RESPONSE", "multiple", "identifier", [c for c, _, ok, _ in options if ok])
    _outcomes(item, credits)
    body = _sub(item, "itemBody")
    body.append(xhtml(latex_to_html(d.item.stem), where))
    inter = _sub(body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle="false", maxChoices="0")
    _sub(inter, "prompt", f"Cross every true statement {credits_note(credits)}, all or nothing.")
    for c, text, _, _ in options:
        _contents(_sub(inter, "simpleChoice", identifier=c), xhtml(text, f"{where} option {c}", "span"))
    whys = [(j, ok, why) for j, (_, _, ok, why) in enumerate(options, start=1) if why]
    if whys:
        ul = _sub(_sub(body, "rubricBlock", view="scorer"), "ul")
        for j, ok, why in whys:
            li = _sub(ul, "li")
            _sub(li, "b", f"{j}: {'true' if ok else 'false'}").tail = " "
            _contents(li, xhtml(latex_to_html(why, inline=True), f"{where} option {j}", "span"))
    _if(_sub(item, "responseProcessing"), _compare("match", "RESPONSE"), credits)
    return identifier, _to_bytes(item)


def items(exam: Exam) -> Iterator[tuple[str, str, bytes]]:
    """(variant code, item identifier, XML) of every item, in exam order."""
    for v in exam.variants:
        for k, q in enumerate(v.questions, start=1):
            if isinstance(q, SolvedMc):
                for i, d in enumerate(q.items):
                    yield (v.code, *mc_item(v, k, i, d, q.credits_per_item))
            else:
                yield (v.code, *template_item(v, k, q))


# ---------------------------------------------------------------- test and manifest


def assessment_test(exam: Exam, by_variant: dict[str, list[str]]) -> bytes:
    info = exam.spec.info
    test = ET.Element("assessmentTest", {
        "xmlns": NS, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{NS} {XSD}",
        "identifier": "examgen_test", "title": f"{info.code} {info.name}",
        "toolName": "examgen", "toolVersion": QTI_MARK.split()[2]})
    for name in ("SCORE", "MAXSCORE"):
        _sub(test, "outcomeDeclaration", identifier=name, cardinality="single", baseType="float")
    part = _sub(test, "testPart", identifier="exam", navigationMode="nonlinear", submissionMode="simultaneous")
    _sub(part, "itemSessionControl", allowSkipping="true", validateResponses="false", showFeedback="false",
         showSolution="false")
    outer = _sub(part, "assessmentSection", identifier="variants", title=f"{info.code} {info.name}", visible="false")
    _sub(outer, "selection", select="1")  # one variant per candidate
    for code, refs in by_variant.items():
        section = _sub(outer, "assessmentSection", identifier=code, title=code, visible="true")
        for ref in refs:
            _sub(section, "assessmentItemRef", identifier=ref, href=f"items/{ref}.xml")
    rules = _sub(test, "outcomeProcessing")
    for name in ("SCORE", "MAXSCORE"):
        _sub(_sub(_sub(rules, "setOutcomeValue", identifier=name), "sum"), "testVariables", variableIdentifier=name)
    return _to_bytes(test)


def manifest_xml(by_variant: dict[str, list[str]]) -> bytes:
    root = ET.Element("manifest", {
        "xmlns": CP_NS, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{CP_NS} {CP_XSD} {NS} {XSD}",
        "identifier": "examgen_manifest"})
    meta = _sub(root, "metadata")
    _sub(meta, "schema", "QTIv2.1 Package")
    _sub(meta, "schemaversion", "1.0.0")
    _sub(root, "organizations")
    resources = _sub(root, "resources")
    refs = [r for rs in by_variant.values() for r in rs]
    test = _sub(resources, "resource", identifier="RES_test", type=TEST_TYPE, href=TEST_FILE)
    _sub(test, "file", href=TEST_FILE)
    for ref in refs:
        _sub(test, "dependency", identifierref=f"RES_{ref}")
    for ref in refs:
        res = _sub(resources, "resource", identifier=f"RES_{ref}", type=ITEM_TYPE, href=f"items/{ref}.xml")
        _sub(res, "file", href=f"items/{ref}.xml")
        _sub(res, "dependency", identifierref="RES_css")
    css = _sub(resources, "resource", identifier="RES_css", type="webcontent", href=CSS_FILE)
    _sub(css, "file", href=CSS_FILE)
    return _to_bytes(root, QTI_MARK)


def _zip_entry(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever builds it
    z.writestr(info, data)


def render(exam: Exam) -> bytes:
    """The QTI 2.1 package as zip bytes: imsmanifest.xml first, then the test, the items
    in exam order and the stylesheet."""
    by_variant: dict[str, list[str]] = {v.code: [] for v in exam.variants}
    files: list[tuple[str, bytes]] = []
    for code, identifier, xml in items(exam):
        by_variant[code].append(identifier)
        files.append((f"items/{identifier}.xml", xml))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        _zip_entry(z, "imsmanifest.xml", manifest_xml(by_variant))
        _zip_entry(z, TEST_FILE, assessment_test(exam, by_variant))
        for name, data in files:
            _zip_entry(z, name, data)
        _zip_entry(z, CSS_FILE, CSS.encode("utf-8"))
    return buf.getvalue()
