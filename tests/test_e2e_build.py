"""End to end: the shipped specs built into PDFs and read back."""

from __future__ import annotations

import csv
import json
import re

import pytest
import yaml
from conftest import SPECS, Built, blue_pixels, pdfinfo, pdftotext

from examgen.texfmt import num

pytestmark = pytest.mark.pdf
# the English specs: these tests read the English fixed texts (the German ones are checked by
# test_layout_checklist.py on the endterm in German, exams/modern-dl-de.yaml by test_modern_exam.py)
ENGLISH = [s for s in SPECS if (yaml.safe_load(s.read_text())["exam"].get("language") or "en") == "en"]
SPEC_IDS = [s.stem for s in ENGLISH]
PROBLEM = re.compile(r"^Problem (\d+) (.+?) \((\d+(?:\.5)?) credits?\)$", re.M)


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(params=SPEC_IDS)
def exam(request: pytest.FixtureRequest, built: dict[str, Built]) -> Built:
    return built[request.param]


def test_outputs_exist_and_manifest_lists_them(exam: Built) -> None:
    codes = [v.dir.name for v in exam.variants]
    assert codes == ["E0001", "E0002"]
    manifest = json.loads((exam.out / "manifest.json").read_text())
    assert manifest["variants"] == 2 and manifest["booklets"] == 2 and manifest["examgen"] == "0.1.0"
    expected = {f"{c}/{f}" for c in codes for f in ("student.pdf", "solution.pdf", "answers.json", "layout.json")} | {
        "answer_key.csv", "print/all-students.pdf", "print/all-solutions.pdf"}
    assert set(manifest["files"]) == expected
    import hashlib
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((exam.out / rel).read_bytes()).hexdigest() == digest


def test_cover_page_texts(exam: Built) -> None:
    spec = exam.spec.read_text()
    course = re.search(r"course: (.+)", spec).group(1).strip()
    for v in exam.variants:
        for version, pages in (("student", v.student_pages), ("solution", v.solution_pages)):
            p1 = pages[0]
            for text in ("Place student sticker here", "Note:", "During the attendance check", course,
                         "Exam: IN2346 /", "Date:", "Examiner:", "Time:", "Working instructions",
                         "Left room from", "Early submission at", "Detaching pages from the exam is prohibited."):
                assert text in p1, (version, text)
            token, other = ("Eexam", "Esolution") if version == "student" else ("Esolution", "Eexam")
            assert token in p1 and other not in "".join(pages)
            k = len(v.answers["questions"])
            raw = pdftotext(v.dir / f"{version}.pdf", "-raw", "-f", "1", "-l", "1")
            # grading table, one column each (17 problems of the endterm: in two rows, P 1-9 and P 10-17)
            assert [int(n) for n in re.findall(r"\bP (\d+)\b", raw)] == list(range(1, k + 1)), raw
            assert re.search(r"^I$", p1, re.M) and re.search(r"^II$", p1, re.M)


def test_computed_numbers_match_the_document(exam: Built) -> None:
    for v in exam.variants:
        for pdf, pages in ((v.dir / "student.pdf", v.student_pages), (v.dir / "solution.pdf", v.solution_pages)):
            info = pdfinfo(pdf)
            n = int(info["Pages"])
            assert len(pages) == n
            assert info["Page size"].startswith("595.276 x 841.89")
            assert n % 4 == 0
            cover = " ".join(pages[0].split())
            m = re.search(r"This exam consists of (\d+) pages with a total of (\d+) problems", cover)
            assert m, cover
            headings = PROBLEM.findall("\n".join(pages))
            assert int(m.group(1)) == n
            assert int(m.group(2)) == len(headings) == len(v.answers["questions"])
            assert [int(h[0]) for h in headings] == list(range(1, len(headings) + 1))
            total = sum(float(h[2]) for h in headings)
            t = re.search(r"total amount of achievable credits in this exam is (\d+(?:\.5)?) credits", cover)
            assert float(t.group(1)) == total == v.answers["credits"]
            assert [float(h[2]) for h in headings] == [q["credits"] for q in v.answers["questions"]]
            for i, page in enumerate(pages, start=1):
                assert f"– Page {i} / {n} –" in page, (pdf, i)
                assert v.dir.name in page, (pdf, i)
            assert "Additional space for solutions" in pages[-1]


def test_student_and_solution_paginate_identically(exam: Built) -> None:
    for v in exam.variants:
        def starts(pages: list[str]) -> dict[str, int]:
            return {m.group(1): i for i, p in enumerate(pages) for m in PROBLEM.finditer(p)}
        assert len(v.student_pages) == len(v.solution_pages)
        assert starts(v.student_pages) == starts(v.solution_pages)


def graded(q: dict) -> dict:
    """The graded answers of a question record (answers.json v2) by name."""
    return {a["name"]: a["value"] for p in q["parts"] for a in p["answers"] if "value" in a}


def answer_strings(q: dict) -> list[str]:
    """Strings (whitespace removed) that only a worked solution of q contains."""
    a = graded(q)
    if q["id"] == "batchnorm_forward":
        return [("µ=" + "".join(num(x) for x in a["mu"])).replace("-", "−"),
                ("σ=" + "".join(num(x) for x in a["sigma"])).replace("-", "−")]
    if q["id"] == "rnn_relu_scalar":
        T = len(q["params"]["x"])
        return [f"y{T}=v·h{T}={num(a['y_T'])}".replace("-", "−"), f"∂h{T}/∂u={num(a['dh_du'])}".replace("-", "−"),
                f"∂h{T}/∂x1={num(a['dh_dx1'])}".replace("-", "−")]
    if q["id"] == "cnn_shapes":
        return [f"r{i + 1}={r}" for i, r in enumerate(a["receptive_field"])] + [
            f"={a['fc_classifier_params']}", f"={a['gap_classifier_params']}"]
    if q["id"] == "class_imbalance":
        return [f"={num(a['majority_accuracy_percent'], 2)}%"]
    return []  # other templates: the blue-pixel and grading-notes checks below still cover them


def test_student_version_has_no_answers(exam: Built) -> None:
    for v in exam.variants:
        text = "\n".join(v.student_pages)
        assert "SampleSolution" not in squash(text)
        assert "Grading notes" not in text
        if any(q["type"] == "mc" for q in v.answers["questions"]):
            assert "How to Check a Box Using Pen and Paper:" in text
        known = [q for q in v.answers["questions"] if q["type"] != "mc" and answer_strings(q)]
        assert known, "no question with known answer strings in this exam"
        for q in known:
            for e in answer_strings(q):
                assert e not in squash(text), (q["id"], e)
        assert blue_pixels(v.dir / "student.pdf") == 0  # no blue answer and no blue cross


def test_solution_version_has_watermark_answers_and_notes(exam: Built) -> None:
    for v in exam.variants:
        raw = pdftotext(v.dir / "solution.pdf", "-raw").split("\f")[:-1]
        assert len(raw) == len(v.solution_pages)
        assert all("SampleSolution" in squash(p) for p in raw), "watermark missing on a page"
        text = squash("\n".join(v.solution_pages))
        assert blue_pixels(v.dir / "solution.pdf") > 20
        for q in v.answers["questions"]:
            if q["type"] == "mc":
                continue
            assert "Gradingnotes" in text
            for e in answer_strings(q):
                assert e in text, (q["id"], e)


def test_answer_key_csv_rows(exam: Built) -> None:
    """One row per MC item and per graded answer (a part graded by hand: one 'text' row),
    with the exact value, rounding, tolerance and points of answers.json."""
    rows = list(csv.DictReader((exam.out / "answer_key.csv").open()))
    for v in exam.variants:
        mine = [r for r in rows if r["variant"] == v.dir.name]
        expected = sum(len(q["items"]) if q["type"] == "mc" else sum(max(1, len(p["answers"])) for p in q["parts"])
                       for q in v.answers["questions"])
        assert len(mine) == expected
        for q in v.answers["questions"]:
            k = str(q["problem"])
            if q["type"] == "mc":
                for item in q["items"]:
                    row = next(r for r in mine if r["template"] == f"mc:{item['id']}")
                    assert row["value"] == ";".join(map(str, item["correct_boxes"]))
                    assert item["correct_boxes"] == [o["box"] for o in item["options"] if o["correct"]]
                continue
            for p in q["parts"]:
                here = [r for r in mine if r["problem"] == k and r["part"] == p["name"]]
                if not p["answers"]:
                    assert [(r["kind"], float(r["points"])) for r in here] == [("text", p["credits"])]
                for a in p["answers"]:
                    row = next(r for r in here if r["answer"] == (a["name"] or ""))
                    assert row["kind"] == a["kind"] and float(row["points"]) == a["points"]
                    if a["kind"] in ("number", "vector", "matrix"):
                        assert json.loads(row["value"]) == a["value"]  # exact: JSON floats round-trip
                        assert float(row["tolerance"]) == a["tolerance"]


def test_german_fixed_texts(tmp_path) -> None:
    from conftest import pages_text

    from examgen import ROOT
    from examgen.pipeline import build_exam

    spec = tmp_path / "quiz-de.yaml"
    spec.write_text((ROOT / "exams" / "quiz.yaml").read_text().replace("language: en", "language: de"))
    build_exam(spec, None, 1, tmp_path / "out")
    pages = pages_text(tmp_path / "out" / "E0001" / "student.pdf")
    text = "\n".join(pages)
    for s in ("Hinweise zur Personalisierung:", "Bearbeitungshinweise", "Hörsaal verlassen von",
              "Vorzeitige Abgabe um", "Aufgabe 1 Multiple Choice (6 Punkte)", "Zusätzlicher Platz für Lösungen"):
        assert s in text, s
    assert f"– Seite 1 / {len(pages)} –" in pages[0]
    assert "Working instructions" not in text and "Page 1" not in text
    m = re.search(r"Diese Prüfung umfasst (\d+) Seiten mit insgesamt (\d+) Aufgaben", " ".join(pages[0].split()))
    assert m and int(m.group(1)) == len(pages) and int(m.group(2)) == 2


def test_logo_from_the_spec_is_placed(tmp_path) -> None:
    """The logo slot takes an image path from the spec (none is shipped)."""
    import subprocess

    from conftest import png

    from examgen import ROOT
    from examgen.pipeline import build_exam

    (tmp_path / "mylogo.png").write_bytes(png(8, 4, (0x80, 0x20, 0x20)))
    spec = tmp_path / "quiz.yaml"
    quiz = (ROOT / "exams" / "quiz.yaml").read_text()
    spec.write_text(quiz.replace("  language: en", "  logo: mylogo.png\n  language: en"))
    build_exam(spec, None, 1, tmp_path / "out")
    listed = subprocess.run(["pdfimages", "-list", str(tmp_path / "out" / "E0001" / "student.pdf")],
                            capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    images = [x for x in listed if x.split()[2] != "stencil"]  # (each page's scan code is a 1-bit mask)
    assert len(images) == 1 and images[0].split()[0] == "1"  # one image, on the cover


def test_missing_logo_is_a_spec_error(tmp_path) -> None:
    from examgen import ROOT
    from examgen.bank import load_bank
    from examgen.errors import SpecError
    from examgen.spec import load_spec

    spec = tmp_path / "quiz.yaml"
    quiz = (ROOT / "exams" / "quiz.yaml").read_text()
    spec.write_text(quiz.replace("  language: en", "  logo: nope.png\n  language: en"))
    with pytest.raises(SpecError, match=r"quiz.yaml:\d+:\d+: exam.logo: file 'nope.png' not found"):
        load_spec(spec, load_bank())


def test_pagination_identical_over_more_seeds(tmp_path) -> None:
    """Student and solution start every problem on the same page, for more draws."""
    from conftest import pages_text

    from examgen.pipeline import build_exam

    for spec in ENGLISH:
        out = tmp_path / spec.stem
        build_exam(spec, 99, 4, out)
        for vdir in sorted(out.glob("E*")):
            s, t = pages_text(vdir / "student.pdf"), pages_text(vdir / "solution.pdf")
            assert len(s) == len(t) and len(s) % 4 == 0
            def starts(pages: list[str]) -> dict[str, int]:
                return {m.group(1): i for i, p in enumerate(pages) for m in PROBLEM.finditer(p)}
            assert starts(s) == starts(t) and len(starts(s)) >= 2, vdir


def margin_labels(pdf) -> list[list[tuple[str, float]]]:
    """Per page: the digit words in the outer margin (right on odd pages, left
    on even pages), above the footer, with their top y."""
    html = pdftotext(pdf, "-bbox")
    out = []
    for n, page in enumerate(re.findall(r"<page .*?</page>", html, re.S), start=1):
        words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(\d+)</word>', page)
        outer = [(w, float(y0)) for x0, y0, x1, w in words
                 if float(y0) < 780 and (float(x0) > 510 if n % 2 else float(x1) < 85)]
        out.append(outer)
    return out


def test_score_boxes_in_the_outer_margin(exam: Built) -> None:
    """Every non-MC subproblem has labels 0..max beside its box, in the outer margin;
    MC problems and the cover have none."""
    for v in exam.variants:
        for version in ("student", "solution"):
            pages = margin_labels(v.dir / f"{version}.pdf")
            found = sorted(int(w) for page in pages for w, _ in page)
            expected = sorted(k for q in v.answers["questions"] if q["type"] != "mc"
                              for p in q["parts"] for k in range(int(p["credits"]) + 1))
            assert found == expected, (v.dir.name, version)
            assert pages[0] == []  # cover
            for page in pages:  # top to bottom, each box's labels run 0, 1, ..., max
                labels = [int(w) for w, _ in sorted(page, key=lambda wy: wy[1])]
                assert all(b == 0 or b == a + 1 for a, b in zip(labels, labels[1:])), labels
