"""examgen export moodle: the XML parses back, every numeric answer and every MC key
agrees with answers.json of a build with the same seed, and the LaTeX -> HTML
conversion (exact strings)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.cli import main
from examgen.moodle import NONE_OPTION, latex_to_html, numeric_leaves, tolerance

FIELD = re.compile(r"<code>([^<]+)</code></td><td>\{1:NUMERICAL:=([^:}]+):([^}]+)\}")


def export(spec: Path, out: Path, *args: str) -> ET.Element:
    assert main(["export", "moodle", str(spec), "--variants", "2", "--out", str(out), *args]) == 0
    return ET.parse(out).getroot()


def leaf(answers: dict, label: str) -> float:
    m = re.match(r"([^\[]+)((?:\[\d+\])*)$", label)
    assert m
    value = answers[m.group(1)]
    for i in re.findall(r"\[(\d+)\]", m.group(2)):
        value = value[int(i) - 1]
    return float(value)


def test_round_trip_against_answers_json(quiz_build: Path, tmp_path: Path) -> None:
    """Same spec and seed as the build (quiz_build: the quiz with pinned MC items, 2 variants, the spec's seed)."""
    root = export(quiz_build.parent / "quiz.yaml", tmp_path / "quiz.xml")
    keys = {d.name: json.loads((d / "answers.json").read_text()) for d in sorted(quiz_build.glob("E*"))}
    cats = [q.findtext("category/text") for q in root if q.get("type") == "category"]
    assert cats == ["$course$/IN2346 Quiz 1/P1 Multiple Choice",
                    "$course$/IN2346 Quiz 1/P2 Recurrent Neural Networks / Batch Normalization"]
    questions = [q for q in root if q.get("type") != "category"]
    assert [q.findtext("name/text") for q in questions] == [
        "E0001 P1a conv2d_weight_count", "E0001 P1b xor_with_step_units", "E0001 P1c underfitting_small_model",
        "E0002 P1a conv2d_weight_count", "E0002 P1b xor_with_step_units", "E0002 P1c underfitting_small_model",
        "E0001 P2 rnn_relu_scalar", "E0002 P2 batchnorm_forward"]
    checked = 0
    for q in questions:
        code, pos = q.findtext("name/text").split()[:2]
        key = keys[code]
        k = int(pos[1:2])
        rec = key["questions"][k - 1]
        assert float(q.findtext("defaultgrade")) == (2 if rec["type"] == "mc" else rec["credits"])
        if q.get("type") == "multichoiceset":
            item = rec["items"][ord(pos[2]) - ord("a")]
            fractions = [a.get("fraction") for a in q.findall("answer")]
            right = [i + 1 for i, f in enumerate(fractions[:-1]) if f == "100"]
            assert right == item["correct_boxes"]
            assert (fractions[-1] == "100") == (not item["correct_boxes"])
            assert q.findall("answer")[-1].findtext("text") == NONE_OPTION
            checked += len(fractions)
        else:
            assert q.get("type") == "cloze"
            text = q.findtext("questiontext/text")
            fields = FIELD.findall(text)
            expected = [lbl for name, v in rec["answers"].items() for lbl, _ in numeric_leaves(v, name)]
            assert [f[0] for f in fields] == expected  # every number of the key, in order
            for label, value, tol in fields:
                assert abs(float(value) - leaf(rec["answers"], label)) <= float(tol) + 1e-12
                checked += 1
            assert r"\begin{bmatrix}" in text or rec["id"] != "batchnorm_forward"
    assert checked > 40


def test_endterm_all_types_and_core_multichoice(tmp_path: Path) -> None:
    root = export(ROOT / "exams" / "in2346-endterm.yaml", tmp_path / "end.xml", "--mc-type", "multichoice",
                  "--seed", "11")
    types = [q.get("type") for q in root]
    # 11 problems; 8 MC items x 2 variants; 5 free-text and 5 numeric problems x 2 variants
    assert types.count("category") == 11 and types.count("multichoice") == 16 and types.count("essay") == 10
    assert types.count("cloze") == 10
    for q in root.iter("question"):
        if q.get("type") == "multichoice":
            assert q.findtext("single") == "false"
            fr = [float(a.get("fraction")) for a in q.findall("answer")]
            assert abs(sum(f for f in fr if f > 0) - 100) < 1e-3 and all(f == -100 for f in fr if f <= 0)
        if q.get("type") == "essay":
            info = q.findtext("graderinfo/text")
            assert re.match(r"<ul><li><b>a\)</b> \d+(\.\d+)? points?: ", info), info
            assert not re.search(r"\b1 points\b", info)
        if q.get("type") == "cloze" and "cnn_shapes" in q.findtext("name/text"):
            assert "<table" in q.findtext("questiontext/text") and "\\begin{tabular}" not in q.findtext(
                "questiontext/text")


def test_same_seed_same_xml(tmp_path: Path) -> None:
    a = export(ROOT / "exams" / "quiz.yaml", tmp_path / "a.xml", "--seed", "3")
    b = export(ROOT / "exams" / "quiz.yaml", tmp_path / "b.xml", "--seed", "3")
    c = export(ROOT / "exams" / "quiz.yaml", tmp_path / "c.xml", "--seed", "4")
    assert ET.tostring(a) == ET.tostring(b) != ET.tostring(c)


@pytest.mark.parametrize("tex, html", [
    (r"with $u = 2$ and \textbf{bold} 50\% R\&D", r"<p>with \(u = 2\) and <b>bold</b> 50% R&amp;D</p>"),
    (r"\[ z = \begin{bmatrix} 1 & -2 \\ 3 & 4 \end{bmatrix} \]",
     r"<p>\[z = \begin{bmatrix} 1 &amp; -2 \\ 3 &amp; 4 \end{bmatrix}\]</p>"),
    ("a\n\nb \\par c", "<p>a</p><p>b</p><p>c</p>"),
    (r"``quoted'' -- vs.\ x~y \emph{\texttt{code}}",
     "<p>\u201cquoted\u201d \u2013 vs. x\u00a0y <i><code>code</code></i></p>"),
    (r"\begin{itemize}\item one $a<b$ \item two\end{itemize}", r"<ul><li>one \(a&lt;b\)</li><li>two</li></ul>"),
    (r"\begin{tabular}{cc} $x$ & y \\ \hline 1 & 2 \\[1ex] \end{tabular}",
     '<table border="1" style="border-collapse:collapse"><tr><td>\\(x\\)</td><td>y</td></tr>'
     "<tr><td>1</td><td>2</td></tr></table>"),
    (r"\small\unknown{kept} \foo text", "<p>kept text</p>"),
    (r"\begin{align*} a &= b \\ c &= d \end{align*}",
     r"<p>\[\begin{aligned} a &amp;= b \\ c &amp;= d \end{aligned}\]</p>"),
])
def test_latex_to_html(tex: str, html: str) -> None:
    assert latex_to_html(tex) == html


def test_tolerance_from_printed_precision() -> None:
    assert [tolerance(s) for s in ("3", "-12", "0.5", "3.2258", "0.25")] == [0, 0, 0.05, 0.00005, 0.005]
    assert list(numeric_leaves({"a": [[1, 2]], "b": True}["a"], "a")) == [("a[1][1]", 1.0), ("a[1][2]", 2.0)]


@pytest.mark.parametrize("spec", sorted((ROOT / "exams").glob("*.yaml")), ids=lambda p: p.stem)
def test_five_variants_of_every_shipped_spec_round_trip(spec: Path, tmp_path: Path) -> None:
    """Every number and every MC key of 5 exported variants against the variants the
    PDF build draws (questions.build_variant with the spec's seed, as `examgen build`)."""
    from examgen.bank import load_bank
    from examgen.questions import build_variant
    from examgen.spec import load_spec

    bank = load_bank()
    loaded = load_spec(spec, bank)
    variants = {f"E{n:04d}": build_variant(loaded, bank, loaded.seed or 0, n) for n in range(1, 6)}
    root = export(spec, tmp_path / "q.xml", "--variants", "5")
    numbers = keys = 0
    for q in root.iter("question"):
        if q.get("type") == "category":
            continue
        code, pos = q.findtext("name/text").split()[:2]
        k = int(re.match(r"P(\d+)", pos).group(1))
        solved = variants[code].questions[k - 1]
        if q.get("type") == "multichoiceset":
            item = solved.items[ord(pos[len(f"P{k}"):]) - ord("a")]
            right = [i + 1 for i, a in enumerate(q.findall("answer")[:-1]) if a.get("fraction") == "100"]
            assert right == list(item.correct_boxes), (code, pos)
            keys += 1
        elif q.get("type") == "cloze":
            for label, value, tol in FIELD.findall(q.findtext("questiontext/text")):
                assert abs(float(value) - leaf(solved.answers, label)) <= float(tol) + 1e-12, (code, pos, label)
                numbers += 1
        else:
            assert q.get("type") == "essay" and q.findtext("graderinfo/text").startswith("<ul><li>")
    assert numbers >= 5 * 5  # at least five numbers per variant
    assert keys == 5 * sum(getattr(p, "count", 0) for p in loaded.problems)
