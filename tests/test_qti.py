"""examgen export qti: the IMS QTI 2.1 package.

No package installable here ships the official XSD (imsqti_v2p1.xsd): none on PyPI that we
found (citolab-qti-convert, qti-package-maker and pyslet were downloaded and hold no .xsd;
rqti, which ships it, is an R package on CRAN) and none in Debian. So this is NOT schema
validation. `structure()` below checks, from the QTI 2.1 and IMS CP 1.1 specifications:
the namespaces; the manifest's resources (types, every href and file in the zip, every
zip entry listed, dependencies resolve); the test (one selection of one variant section,
every item reference resolves to an item of that identifier); per item the required
attributes, identifiers as NCNames, the order of the item's children, every
responseDeclaration used by exactly one interaction and every interaction declared, every
variable in responseProcessing declared, SCORE and MAXSCORE floats; the XHTML of the
itemBody (only elements and attributes QTI 2.1 has, no block inside a <p>, a table's rows
in a <tbody>, inline interactions inside a paragraph, block interactions directly in the
body or a div); and that the points the responseProcessing can give plus the hand-graded
points add up to MAXSCORE = the problem's credits. It does not check every content model
of the XSD, datatypes beyond NCName and float, or how an LMS renders the package.

`score()` re-implements the QTI response processing rules examgen uses (responseCondition,
setOutcomeValue, sum, match, equal with toleranceMode absolute/exact) from the
specification, independent of qti.py, and plays a candidate: the exact values rounded as
the statement asks (read from the rendered statement, as tests/test_moodle_grading.py
does) get full points, an entry three units of the last asked decimal off loses its points."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from test_moodle_grading import expected_fields, student

from examgen import ROOT, values
from examgen.bank import load_bank
from examgen.cli import main
from examgen.model import GradedAnswer, SolvedQuestion
from examgen.pipeline import solve_exam
from examgen.spec import load_spec
from examgen.writers import qti

Q = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
HEAD = (ROOT / "exams" / "quiz.yaml").read_text().split("problems:")[0] + "problems:\n"

# ---------------------------------------------------------------- what QTI 2.1 allows (from the spec)
ITEM_ORDER = ["responseDeclaration", "outcomeDeclaration", "templateDeclaration", "templateProcessing",
              "stylesheet", "itemBody", "responseProcessing", "modalFeedback"]
BLOCK = {"p", "div", "table", "ul", "ol", "rubricBlock", "extendedTextInteraction", "choiceInteraction"}
INLINE_INTERACTIONS = {"textEntryInteraction", "inlineChoiceInteraction"}
BLOCK_INTERACTIONS = {"extendedTextInteraction", "choiceInteraction"}
# the XHTML subset QTI 2.1 defines that examgen may write, and their attributes (class, id, ...: bodyElement)
XHTML = {"p", "div", "span", "b", "i", "code", "br", "ul", "ol", "li", "table", "tbody", "tr", "td", "rubricBlock",
         "prompt", "simpleChoice", "inlineChoice"}
ATTRS = {"class", "id", "label"}
INTERACTION_ATTRS = {"responseIdentifier", "expectedLength", "expectedLines", "format", "shuffle", "maxChoices",
                     "class"}


def export(spec: Path, out: Path, *args: str) -> dict[str, bytes]:
    assert main(["export", "qti", str(spec), *args, "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        return {n: z.read(n) for n in z.namelist()}


def solved(spec: Path, n: int, seed: int | None = None):
    bank = load_bank()
    return solve_exam(load_spec(spec, bank), bank, seed, n)


# ---------------------------------------------------------------- the structural check


def local(el: ET.Element) -> str:
    assert el.tag.startswith(Q), f"{el.tag} is not in the QTI 2.1 namespace"
    return el.tag[len(Q):]


def check_body(el: ET.Element, parent: str) -> None:
    """The itemBody's XHTML and interactions, recursively."""
    for c in el:
        name = local(c)
        if name in INLINE_INTERACTIONS:
            assert parent in ("p", "span", "td", "li"), f"{name} inside {parent}"
            assert set(c.attrib) <= INTERACTION_ATTRS, c.attrib
            continue
        if name in BLOCK_INTERACTIONS:
            assert parent in ("itemBody", "div"), f"{name} inside {parent}"
            assert set(c.attrib) <= INTERACTION_ATTRS, c.attrib
            for sub in c:
                assert local(sub) in ("prompt", "simpleChoice"), local(sub)
                check_body(sub, local(sub))
            continue
        assert name in XHTML, f"{name} is no QTI 2.1 body element"
        if name == "rubricBlock":
            assert c.attrib == {"view": "scorer"}
        elif name not in ("simpleChoice", "inlineChoice"):
            assert set(c.attrib) <= ATTRS, f"{name} has {c.attrib} (QTI 2.1 has no style or border)"
        if parent == "p":
            assert name not in BLOCK, f"a {name} inside a paragraph"
        if name == "table":
            assert [local(x) for x in c] == ["tbody"], "a table's rows belong in a tbody"
        check_body(c, name)


def item_points(item: ET.Element) -> float:
    """What the responseProcessing can add to SCORE at most."""
    rp = item.find(f"{Q}responseProcessing")
    return sum(float(b.text) for b in rp.iter(f"{Q}baseValue")) if rp is not None else 0.0


def check_item(xml: bytes, identifier: str) -> ET.Element:
    item = ET.fromstring(xml)
    assert local(item) == "assessmentItem"
    assert item.get("identifier") == identifier and NCNAME.match(identifier)
    for attr in ("title", "adaptive", "timeDependent"):
        assert item.get(attr), f"{identifier}: {attr} missing"
    order = [ITEM_ORDER.index(local(c)) for c in item]
    assert order == sorted(order), f"{identifier}: children out of the schema's order"
    declared = {d.get("identifier"): d for d in item.findall(f"{Q}responseDeclaration")}
    outcomes = {d.get("identifier"): d for d in item.findall(f"{Q}outcomeDeclaration")}
    assert all(NCNAME.match(i) for i in [*declared, *outcomes])
    for name in ("SCORE", "MAXSCORE"):
        assert outcomes[name].get("baseType") == "float" and outcomes[name].get("cardinality") == "single"
    body = item.find(f"{Q}itemBody")
    check_body(body, "itemBody")
    used = [el.get("responseIdentifier") for el in body.iter() if el.get("responseIdentifier")]
    assert sorted(used) == sorted(declared), f"{identifier}: interactions {used} vs declarations {list(declared)}"
    rp = item.find(f"{Q}responseProcessing")
    for el in (rp.iter() if rp is not None else ()):
        if local(el) in ("variable", "correct"):
            assert el.get("identifier") in {**declared, **outcomes}, el.get("identifier")
    for d in declared.values():
        for v in d.iter(f"{Q}value"):
            if d.get("baseType") == "float":
                float(v.text)
            else:
                assert d.get("baseType") == "identifier" and NCNAME.match(v.text)
    return item


def structure(files: dict[str, bytes]) -> dict[str, ET.Element]:
    """Check the package; return its items by identifier."""
    names = list(files)
    assert names[0] == "imsmanifest.xml"
    assert files["imsmanifest.xml"].startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- examgen ')
    manifest = ET.fromstring(files["imsmanifest.xml"])
    assert manifest.tag == f"{CP}manifest"
    assert manifest.findtext(f"{CP}metadata/{CP}schema") == "QTIv2.1 Package"
    resources = {r.get("identifier"): r for r in manifest.iter(f"{CP}resource")}
    listed = set()
    for r in resources.values():
        assert r.get("type") in ("imsqti_item_xmlv2p1", "imsqti_test_xmlv2p1", "webcontent")
        hrefs = [f.get("href") for f in r.findall(f"{CP}file")]
        assert r.get("href") in hrefs and all(h in files for h in hrefs), r.get("identifier")
        listed.update(hrefs)
        for d in r.findall(f"{CP}dependency"):
            assert d.get("identifierref") in resources
    assert listed == set(names) - {"imsmanifest.xml"}, "a zip entry no resource lists"
    (test_res,) = [r for r in resources.values() if r.get("type") == "imsqti_test_xmlv2p1"]
    test = ET.fromstring(files[test_res.get("href")])
    assert local(test) == "assessmentTest" and NCNAME.match(test.get("identifier"))
    (outer,) = test.findall(f"{Q}testPart/{Q}assessmentSection")
    assert local(outer[0]) == "selection" and outer[0].get("select") == "1"
    items = {}
    for section in outer.findall(f"{Q}assessmentSection"):
        assert re.fullmatch(r"E\d{4}", section.get("identifier"))
        for ref in section.findall(f"{Q}assessmentItemRef"):
            ident = ref.get("identifier")
            assert ident not in items and ident.startswith(section.get("identifier") + "_")
            res = [r for r in resources.values() if r.get("href") == ref.get("href")]
            assert len(res) == 1 and res[0].get("type") == "imsqti_item_xmlv2p1"
            items[ident] = check_item(files[ref.get("href")], ident)
    assert len(items) == sum(1 for r in resources.values() if r.get("type") == "imsqti_item_xmlv2p1")
    return items


# ---------------------------------------------------------------- QTI response processing, from the spec


def _value(el: ET.Element, item: ET.Element, vars_: dict) -> object:
    name = local(el)
    if name == "baseValue":
        return float(el.text) if el.get("baseType") == "float" else el.text
    if name == "variable":
        return vars_.get(el.get("identifier"))
    if name == "correct":
        d = item.find(f"{Q}responseDeclaration[@identifier='{el.get('identifier')}']")
        values = [v.text for v in d.iter(f"{Q}value")]
        if d.get("cardinality") == "multiple":
            return frozenset(values)
        return float(values[0]) if d.get("baseType") == "float" else values[0]
    a, b = (_value(c, item, vars_) for c in el)
    if name == "sum":
        return None if a is None or b is None else a + b
    if a is None or b is None:  # a NULL operand makes match and equal NULL: the condition is false
        return None
    if name == "match":
        return a == b
    if name == "equal":
        if el.get("toleranceMode", "exact") == "exact":
            return a == b
        t0, t1 = (float(t) for t in (el.get("tolerance").split() * 2)[:2])
        return b - t0 <= a <= b + t1  # includeLowerBound and includeUpperBound default true
    raise AssertionError(f"{name} is not an operator examgen's items use")


def score(item: ET.Element, responses: dict[str, object]) -> float:
    """SCORE after the item's responseProcessing, for these responses (floats for float
    responses, sets of choice identifiers, None when not answered)."""
    vars_: dict = {d.get("identifier"): float(d.findtext(f"{Q}defaultValue/{Q}value") or 0)
                   for d in item.findall(f"{Q}outcomeDeclaration")}
    vars_.update({k: (frozenset(v) if isinstance(v, (set, list, tuple)) else v) for k, v in responses.items()})
    rp = item.find(f"{Q}responseProcessing")
    for cond in (rp if rp is not None else ()):
        assert local(cond) == "responseCondition"
        for branch in cond:
            test, *actions = list(branch) if local(branch) != "responseElse" else [None, *branch]
            if test is None or _value(test, item, vars_):
                for act in actions:
                    assert local(act) == "setOutcomeValue"
                    vars_[act.get("identifier")] = _value(act[0], item, vars_)
                break
    return vars_["SCORE"]


def float_responses(item: ET.Element) -> list[str]:
    """The float responses in the order the candidate sees them."""
    return [el.get("responseIdentifier") for el in item.iter(f"{Q}textEntryInteraction")]


def hand_points(q: SolvedQuestion) -> float:
    """Points graded by hand, from the declarations: whole parts without graded answers,
    and text, expression and checker answers (QTI scores numbers and choices itself)."""
    return sum(p.credits if not p.answers else
               sum(a.points for a in p.answers if a.kind not in ("number", "vector", "matrix", "choice"))
               for p in q.parts)


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("spec, n", [("quiz", 3), ("in2346-endterm", 2)])
def test_shipped_specs_export_a_structurally_valid_package(spec: str, n: int, tmp_path: Path) -> None:
    path = ROOT / "exams" / f"{spec}.yaml"
    items = structure(export(path, tmp_path / "exam.zip", "-n", str(n)))
    exam = solved(path, n)
    expected = []
    for v in exam.variants:
        for k, q in enumerate(v.questions, start=1):
            if isinstance(q, SolvedQuestion):
                expected.append(f"{v.code}_P{k}")
                item = items[f"{v.code}_P{k}"]
                maxscore = float(item.find(f"{Q}outcomeDeclaration[@identifier='MAXSCORE']").findtext(f".//{Q}value"))
                assert maxscore == pytest.approx(q.credits)
                assert item_points(item) + hand_points(q) == pytest.approx(q.credits), f"{v.code} P{k}"
                hand = [p for p in q.parts if not p.answers]
                assert len(list(item.iter(f"{Q}extendedTextInteraction"))) >= len(hand)
            else:
                expected += [f"{v.code}_P{k}{chr(ord('a') + i)}" for i in range(len(q.items))]
    assert list(items) == expected


def test_mc_key_equals_answers_json_of_the_build(quiz_build: Path, tmp_path: Path) -> None:
    """Same spec and seed as the build (quiz_build: the quiz with pinned MC items, 2 variants)."""
    items = structure(export(quiz_build.parent / "quiz.yaml", tmp_path / "quiz.zip", "-n", "2"))
    checked = 0
    for d in sorted(quiz_build.glob("E*")):
        mc = json.loads((d / "answers.json").read_text())["questions"][0]
        for it in mc["items"]:
            item = items[f"{d.name}_P1{it['label']}"]
            choices = [c.get("identifier") for c in item.iter(f"{Q}simpleChoice")]
            texts = [c.text for c in item.iter(f"{Q}simpleChoice")]
            assert texts[-1] == "None of the statements above is true."
            key = {choices[b - 1] for b in it["correct_boxes"]} or {choices[-1]}
            inter = item.find(f".//{Q}choiceInteraction")
            assert inter.get("maxChoices") == "0"
            assert item.find(f"{Q}responseDeclaration").get("cardinality") == "multiple"
            # the TUM rule: all or nothing
            assert score(item, {"RESPONSE": key}) == it["credits"] == 2
            wrong = next(c for c in choices if c not in key)
            assert score(item, {"RESPONSE": key | {wrong}}) == 0
            assert score(item, {"RESPONSE": set()}) == 0
            assert score(item, {"RESPONSE": None}) == 0
            if len(key) > 1:
                assert score(item, {"RESPONSE": set(list(key)[1:])}) == 0
            checked += 1
    assert checked == 6


def _numeric_check(items: dict[str, ET.Element], exam) -> int:
    """Full points for what the statement asks; an entry three units off loses its points."""
    entries = 0
    for v in exam.variants:
        for k, q in enumerate(v.questions, start=1):
            if not isinstance(q, SolvedQuestion):
                continue
            item = items[f"{v.code}_P{k}"]
            fields = expected_fields(q)  # from the declarations and the statement, not from qti.py
            ids = float_responses(item)
            assert len(ids) == len(fields), f"{v.code} P{k}"
            right = {rid: float(student(x, d)) for rid, (_, x, d, _) in zip(ids, fields)}
            choices = {d.get("identifier"): d.findtext(f".//{Q}value") for d in item.findall(f"{Q}responseDeclaration")
                       if d.get("baseType") == "identifier"}
            auto = sum(f[3] for f in fields) + sum(a.points for p in q.parts for a in p.answers if a.kind == "choice")
            assert score(item, {**right, **choices}) == pytest.approx(auto)
            assert score(item, {}) == 0
            for rid, (part, x, d, pts) in zip(ids, fields):
                unit = Decimal(1).scaleb(-d)
                for off in (3 * unit, -3 * unit):
                    wrong = {**right, rid: float(student(x, d) + off)}
                    assert score(item, {**wrong, **choices}) == pytest.approx(auto - pts), \
                        f"{v.code} P{k} {part}) {rid}: {wrong[rid]} against {x!r}"
                entries += 1
    return entries


def test_numeric_entries_scored_as_the_statement_asks(tmp_path: Path) -> None:
    """softmax declares its graded vector (3 decimals): through the command line."""
    spec = tmp_path / "softmax.yaml"
    spec.write_text(HEAD + "  - template: softmax\n  - template: softmax\n    credits: 8\n")
    items = structure(export(spec, tmp_path / "s.zip", "-n", "3", "--seed", "5"))
    assert _numeric_check(items, solved(spec, 3, 5)) >= 18


def test_every_answer_kind(tmp_path: Path) -> None:
    """batchnorm_forward with declarations of every kind added (as the other templates will
    have them): exact vectors and matrices, a choice, a checker and a text answer."""
    spec = tmp_path / "bn.yaml"
    spec.write_text(HEAD + "  - template: batchnorm_forward\n")
    exam = solved(spec, 2)
    variants = []
    for v in exam.variants:
        q = v.questions[0]
        a, b, c = q.parts
        parts = (
            dataclasses.replace(a, answers=(GradedAnswer(None, "why", "text", 1.0),)),
            dataclasses.replace(b, answers=(GradedAnswer("mu", r"$\mu$", "vector", 0.5),
                                            GradedAnswer("sigma", r"$\sigma$", "vector", 1.0),
                                            GradedAnswer("z_norm", r"$z_{\text{norm}}$", "matrix", 1.0),
                                            GradedAnswer("rule", "any network", "checker", 1.0,
                                                         accepts="normalization.accepts"))),
            dataclasses.replace(c, answers=(GradedAnswer("y", "$y$", "matrix", 1.0),
                                            GradedAnswer("side", "which side", "choice", 0.5,
                                                         choices=("left", "right", "both")))),
        )
        answers = {**q.answers, "side": "right", "rule": "w = (1, 1)"}
        q2 = dataclasses.replace(q, parts=parts, answers=answers)
        variants.append(dataclasses.replace(v, questions=(q2,)))
    exam = dataclasses.replace(exam, variants=tuple(variants))
    with zipfile.ZipFile(io.BytesIO(qti.render(exam))) as z:
        items = structure({n: z.read(n) for n in z.namelist()})
    sizes = [len(values.leaves(v.questions[0].answers[n])) for v in exam.variants
             for n in ("mu", "sigma", "z_norm", "y")]
    assert _numeric_check(items, exam) == sum(sizes) >= 20
    for v in exam.variants:
        q = v.questions[0]
        item = items[f"{v.code}_P1"]
        assert item_points(item) + hand_points(q) == pytest.approx(q.credits) == 6
        (inline,) = item.iter(f"{Q}inlineChoiceInteraction")
        ids = {c.text: c.get("identifier") for c in inline}
        assert sorted(ids) == ["both", "left", "right"]
        assert item.find(f"{Q}responseDeclaration[@identifier='{inline.get('responseIdentifier')}']") \
            .findtext(f".//{Q}value") == ids["right"]
        # parts a (text) and b (checker) have a hand-graded text box; c is graded by QTI alone
        assert [e.get("responseIdentifier") for e in item.iter(f"{Q}extendedTextInteraction")] == ["TEXT_a", "TEXT_b"]
        scorer = ET.tostring(item.find(f".//{Q}rubricBlock[@view='scorer']"), encoding="unicode")
        assert "any answer that normalization.accepts accepts, e.g. w = (1, 1)" in scorer
        assert "Solution a)" in scorer and "Solution b)" in scorer and "Solution c)" not in scorer


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    quiz = ROOT / "exams" / "quiz.yaml"
    a = (tmp_path / "a.zip", export(quiz, tmp_path / "a.zip", "-n", "2", "--seed", "3"))[0].read_bytes()
    b = (tmp_path / "b.zip", export(quiz, tmp_path / "b.zip", "-n", "2", "--seed", "3"))[0].read_bytes()
    c = (tmp_path / "c.zip", export(quiz, tmp_path / "c.zip", "-n", "2", "--seed", "4"))[0].read_bytes()
    assert a == b != c


def test_statement_html_is_qti_xhtml() -> None:
    """latex_to_html's HTML made QTI XHTML (exact strings): <br/>, no style or border, a
    table's rows in a tbody, <u> as a span, a paragraph holding a table as a div."""
    from examgen.writers.htmltext import latex_to_html

    def out(tex: str) -> str:
        return ET.tostring(qti.xhtml(latex_to_html(tex), "here"), encoding="unicode")

    assert out(r"a\\ b \underline{u}") == '<div><p>a<br /> b <span class="underline">u</span></p></div>'
    assert out("\\begin{center}x\\end{center}") == '<div><div class="center">x</div></div>'
    assert out(r"see \begin{tabular}{|l|l|} 1 & 2 \\ \end{tabular}") == \
        '<div><div>see <table class="examgen"><tbody><tr><td>1</td><td>2</td></tr></tbody></table></div></div>'
