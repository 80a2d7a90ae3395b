"""examgen export moodle: categories, names and every MC key against answers.json of a
build with the same seed; determinism; the LaTeX -> HTML conversion (exact strings).
How Moodle grades the numeric fields: tests/test_moodle_grading.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.cli import main
from examgen.writers.graded import NONE_OPTION, key_text
from examgen.writers.htmltext import latex_to_html
from examgen.writers.moodle import category_name, weight_factor


def export(spec: Path, out: Path, *args: str) -> ET.Element:
    assert main(["export", "moodle", str(spec), "--variants", "2", "--out", str(out), *args]) == 0
    return ET.parse(out).getroot()


def test_categories_names_and_mc_keys_against_answers_json(quiz_build: Path, tmp_path: Path) -> None:
    """Same spec and seed as the build (quiz_build: the quiz with pinned MC items, 2 variants, the spec's seed)."""
    root = export(quiz_build.parent / "quiz.yaml", tmp_path / "quiz.xml")
    keys = {d.name: json.loads((d / "answers.json").read_text()) for d in sorted(quiz_build.glob("E*"))}
    cats = [q.findtext("category/text") for q in root if q.get("type") == "category"]
    # one subcategory per MC pool item; the choose: problem's titles joined with ' / ', escaped as '//'
    mc_ids = sorted({it["id"] for k in keys.values() for it in k["questions"][0]["items"]})
    # the template problem: its cloze questions, then its parts graded by hand as essays
    assert cats == [f"$course$/IN2346 Quiz 1/P1 Multiple Choice/{i}" for i in mc_ids] + [
        "$course$/IN2346 Quiz 1/P2 Recurrent Neural Networks // Batch Normalization",
        "$course$/IN2346 Quiz 1/P2 Recurrent Neural Networks // Batch Normalization (written)"]
    checked = 0
    for q in root:
        if q.get("type") != "multichoiceset":
            continue
        code, pos, item_id = q.findtext("name/text").split()
        item = keys[code]["questions"][0]["items"][ord(pos[2]) - ord("a")]
        assert item["id"] == item_id
        fractions = [a.get("fraction") for a in q.findall("answer")]
        assert [i + 1 for i, f in enumerate(fractions[:-1]) if f == "100"] == item["correct_boxes"]
        assert (fractions[-1] == "100") == (not item["correct_boxes"])
        assert q.findall("answer")[-1].findtext("text") == NONE_OPTION
        checked += 1
    assert checked == 6  # 3 pinned items x 2 variants, each drawing distinct
    names = [q.findtext("name/text") for q in root if q.get("type") == "cloze"]
    assert names == ["E0001 P2 rnn_relu_scalar", "E0002 P2 batchnorm_forward"]


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
    # what texfmt.escape makes of a spec's literal { } ~ \ ^ prints as typed (they were dropped or shown as \^)
    (r"set \{a, b\} x\textasciitilde{}y C:\textbackslash{}tmp 2\^{}10",
     "<p>set {a, b} x~y C:\\tmp 2^10</p>"),
    # a column spec with braces inside is not text
    (r"\begin{tabular}{|l|p{0.17\linewidth}|} a & b \\ \end{tabular}",
     '<table border="1" style="border-collapse:collapse"><tr><td>a</td><td>b</td></tr></table>'),
    # a TikZ drawing has no HTML form: a note instead of its code as text
    ("see \\begin{tikzpicture}[x=1cm] \\draw[->] (0,0) -- (1,0); \\end{tikzpicture} here",
     "<p>see <i>[figure: see the printed exam]</i> here</p>"),
])
def test_latex_to_html(tex: str, html: str) -> None:
    assert latex_to_html(tex) == html


def test_field_numbers_weights_and_category_names() -> None:
    assert [key_text(x) for x in (3.0, -12.0, 0.1065, 1 / 3, 1e-05)] == ["3", "-12", "0.1065", "0.3333333333333333",
                                                                        "1e-05"]
    assert weight_factor([1.0, 2.0]) == 1 and weight_factor([0.5, 1.5]) == 2 and weight_factor([0.375, 1]) == 8
    assert category_name("P2 RNNs / BN") == "P2 RNNs // BN"


def test_endterm_core_multichoice_fractions_essays_and_tables(tmp_path: Path) -> None:
    """--mc-type multichoice (core Moodle): every MC question is multi-answer, its right options
    share +100 and every wrong one is -100; each distinct drawing of an item is one question
    (counted from the solved variants, not from the writer); the essays' grader information
    says '1 point', never '1 points'; a tabular becomes an HTML table, not LaTeX."""
    import re

    from examgen.bank import load_bank
    from examgen.model import SolvedMc
    from examgen.pipeline import solve_exam
    from examgen.spec import load_spec

    spec = ROOT / "exams" / "in2346-endterm.yaml"
    root = export(spec, tmp_path / "end.xml", "--mc-type", "multichoice", "--seed", "11")
    bank = load_bank()
    exam = solve_exam(load_spec(spec, bank), bank, 11, 2)
    drawings = {(d.item.id, tuple((o.text, o.correct) for o in d.options))
                for v in exam.variants for q in v.questions if isinstance(q, SolvedMc) for d in q.items}
    types = [q.get("type") for q in root]
    assert types.count("multichoice") == len(drawings) and "multichoiceset" not in types
    for q in root.iter("question"):
        if q.get("type") == "multichoice":
            assert q.findtext("single") == "false"
            fr = [float(a.get("fraction")) for a in q.findall("answer")]
            assert abs(sum(f for f in fr if f > 0) - 100) < 1e-3 and all(f == -100 for f in fr if f <= 0)
        if q.get("type") == "essay":
            info = q.findtext("graderinfo/text")
            assert re.search(r"<li><b>[a-z]\)</b> \d+(\.\d+)? points?: ", info), info
            assert not re.search(r"\b1 points\b", info)
        if q.get("type") == "cloze" and "cnn_shapes" in q.findtext("name/text"):
            assert "<table" in q.findtext("questiontext/text") and "\\begin{tabular}" not in q.findtext(
                "questiontext/text")
    assert types.count("essay") >= 10 and types.count("cloze") >= 2
