"""The checklist of tum-layout.md, item by item, on built PDFs of both shipped
endterms in English and of the WS20/21 endterm in German (2 variants each):
pdfinfo, pdftotext (-raw, -bbox), pdftoppm renders and zbarimg."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import Built, BuiltVariant, blue_pixels, grey_pages, pages_text, pdfinfo, pdftotext
from test_e2e_build import margin_labels, squash

from examgen import ROOT
from examgen.pipeline import build_exam

TEXTS = {
    "en": {
        "sticker": "Place student sticker here", "note": "Note:", "note_a": "During the attendance check",
        "exam": "Exam:", "date": "Date:", "examiner": "Examiner:", "time": "Time:",
        "left": "Left room from", "early": "Early submission at", "page": "Page", "problem": "Problem",
        "credits": r"credits?", "decimal": r"\.", "legend": "How to Check a Box Using Pen and Paper:",
        "additional": "Additional space for solutions", "watermark": "SampleSolution",
        "consists": r"This exam consists of (\d+) pages with a total of (\d+) problems",
        "total": r"total amount of achievable credits in this exam is (\d+(?:\.5)?) credits",
    },
    "de": {
        "sticker": "Hier Etikett aufkleben", "note": "Hinweise zur Personalisierung:",
        "note_a": "Ihre Prüfung wird bei der Anwesenheitskontrolle",
        "exam": "Prüfung:", "date": "Datum:", "examiner": "Prüfer:", "time": "Uhrzeit:",
        "left": "Hörsaal verlassen von", "early": "Vorzeitige Abgabe um", "page": "Seite", "problem": "Aufgabe",
        "credits": r"Punkte?", "decimal": ",", "legend": "So kreuzen Sie ein Kästchen an:",
        "additional": "Zusätzlicher Platz für Lösungen", "watermark": "Lösungsvorschlag",
        "consists": r"Diese Prüfung umfasst (\d+) Seiten mit insgesamt (\d+) Aufgaben",
        "total": r"Die Gesamtpunktzahl in dieser Prüfung beträgt (\d+(?:\.5)?) Punkte",
    },
}
CASES = ["in2346-endterm", "in2346-2019", "in2346-endterm-de"]


@pytest.fixture(scope="session")
def german(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("german")
    spec = folder / "in2346-endterm-de.yaml"
    text = (ROOT / "exams" / "in2346-endterm.yaml").read_text()
    assert "  language: en" in text
    spec.write_text(text.replace("  language: en", "  language: de"))
    build_exam(spec, None, 2, folder / "out")
    return Built(spec, folder / "out")


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest, built: dict[str, Built], german: Built) -> tuple[Built, dict[str, str]]:
    exam = german if request.param.endswith("-de") else built[request.param]
    return exam, TEXTS["de" if request.param.endswith("-de") else "en"]


def heading_re(t: dict[str, str]) -> re.Pattern[str]:
    return re.compile(rf"^{t['problem']} (\d+) (.+?) \((\d+(?:{t['decimal']}5)?) {t['credits']}\)$", re.M)


def versions(v: BuiltVariant) -> list[tuple[str, Path, list[str]]]:
    return [("student", v.dir / "student.pdf", v.student_pages), ("solution", v.dir / "solution.pdf", v.solution_pages)]


def test_01_a4_and_multiple_of_4(case) -> None:
    exam, _ = case
    for v in exam.variants:
        for _, pdf, _ in versions(v):
            info = pdfinfo(pdf)
            assert info["Page size"].startswith("595.276 x 841.89")
            assert int(info["Pages"]) % 4 == 0


def test_02_to_04_and_07_cover_texts(case) -> None:
    exam, t = case
    course = re.search(r"course: (.+)", exam.spec.read_text()).group(1).strip()
    for v in exam.variants:
        for version, _, pages in versions(v):
            p1 = pages[0]
            for key in ("sticker", "note", "note_a", "exam", "date", "examiner", "time", "left", "early"):
                assert t[key] in p1, (version, key)
            assert course in p1
            token, other = ("Eexam", "Esolution") if version == "student" else ("Esolution", "Eexam")
            assert token in p1 and other not in "".join(pages)  # 3


def test_05_grading_table_and_06_computed_numbers_and_09_headings(case) -> None:
    exam, t = case
    for v in exam.variants:
        for _, pdf, pages in versions(v):
            headings = heading_re(t).findall("\n".join(pages))
            k = len(headings)
            assert [int(h[0]) for h in headings] == list(range(1, k + 1))  # 9
            assert [h[1] for h in headings] == [q["title"] for q in v.answers["questions"]]
            raw = pdftotext(pdf, "-raw", "-f", "1", "-l", "1")
            # 5: one column per problem (the endterm's 17 in two rows: P 1-9, P 10-17), and no more
            assert [int(n) for n in re.findall(r"\bP (\d+)\b", raw)] == list(range(1, k + 1)), raw
            assert re.search(r"^I$", pages[0], re.M) and re.search(r"^II$", pages[0], re.M)
            cover = " ".join(pages[0].split())
            n, problems = map(int, re.search(t["consists"], cover).groups())  # 6
            assert n == int(pdfinfo(pdf)["Pages"]) == len(pages) and problems == k
            total = float(re.search(t["total"], cover).group(1))
            assert total == sum(float(h[2].replace(",", ".")) for h in headings) == v.answers["credits"]


def test_08_footer_on_every_page(case) -> None:
    exam, t = case
    for v in exam.variants:
        for _, _, pages in versions(v):
            for i, page in enumerate(pages, start=1):
                assert f"– {t['page']} {i} / {len(pages)} –" in page


def _problem_pages(pages: list[str], t: dict[str, str]) -> dict[int, list[int]]:
    """Problem number -> the pages (1-based) it covers, up to the next heading."""
    starts = [(int(m.group(1)), i) for i, p in enumerate(pages, start=1) for m in heading_re(t).finditer(p)]
    add = next(i for i, p in enumerate(pages, start=1) if t["additional"] in p)
    out = {}
    for j, (k, first) in enumerate(starts):
        last = starts[j + 1][1] - 1 if j + 1 < len(starts) else add - 1
        out[k] = list(range(first, max(first, last) + 1))
    return out


def test_10_score_labels_outer_margin_and_11_mc_has_legend_and_no_boxes(case) -> None:
    exam, t = case
    for v in exam.variants:
        for _, pdf, pages in versions(v):
            labels = margin_labels(pdf)
            expected = sorted(k for q in v.answers["questions"] if q["type"] != "mc"
                              for p in q["parts"] for k in range(int(p["credits"]) + 1))
            assert sorted(int(w) for page in labels for w, _ in page) == expected  # 10
            for q in v.answers["questions"]:
                if q["type"] != "mc":
                    assert sum(p["credits"] for p in q["parts"]) == q["credits"]
            spans = _problem_pages(pages, t)
            for k, q in enumerate(v.answers["questions"], start=1):
                if q["type"] == "mc":  # 11
                    assert t["legend"] in pages[spans[k][0] - 1]
                    assert all(labels[p - 1] == [] for p in spans[k]), (k, spans[k])


def test_page_breaks_never_split_a_subproblem_from_its_score_box(case) -> None:
    """Every box's '0' label sits on the same page as, and level with, a subproblem label 'x)'."""
    exam, _ = case
    for v in exam.variants:
        pdf = v.dir / "student.pdf"
        html = pdftotext(pdf, "-bbox")
        labels = margin_labels(pdf)
        for n, page in enumerate(re.findall(r"<page .*?</page>", html, re.S), start=1):
            subs = [float(y) for y in re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">'
                                                 r"[a-z]\)</word>", page)]
            for w, y in labels[n - 1]:
                if w == "0":
                    assert any(abs(y - s) < 12 for s in subs), (v.dir.name, n, y, subs)


def test_12_additional_space_pages_with_grid(case) -> None:
    exam, t = case
    v = exam.variants[0]
    for _, pdf, pages in versions(v):
        assert t["additional"] in pages[-1]
        first_add = next(i for i, p in enumerate(pages, start=1) if t["additional"] in p)
        assert all(t["additional"] in p for p in pages[first_add - 1:])
        (img,) = grey_pages(pdf, 50, len(pages))
        body = img[int(0.15 * img.shape[0]):int(0.85 * img.shape[0]), int(0.1 * img.shape[1]):int(0.8 * img.shape[1])]
        grey_rows = np.mean((body > 120) & (body < 230), axis=1) > 0.5  # grid lines run the whole width
        assert grey_rows.sum() >= 20, "no 5 mm grid on the additional-space page"


def test_13_watermark_and_14_blue_only_in_solution(case) -> None:
    exam, t = case
    for v in exam.variants:
        raw_s = pdftotext(v.dir / "solution.pdf", "-raw").split("\f")[:-1]
        assert all(t["watermark"] in squash(p) for p in raw_s)
        raw_t = pdftotext(v.dir / "student.pdf", "-raw")
        assert t["watermark"] not in squash(raw_t)
        assert blue_pixels(v.dir / "solution.pdf") > 20 and blue_pixels(v.dir / "student.pdf") == 0


def test_15_same_pages_and_same_start_page_per_problem(case) -> None:
    exam, t = case
    for v in exam.variants:
        assert len(v.student_pages) == len(v.solution_pages)
        assert _problem_pages(v.student_pages, t) == _problem_pages(v.solution_pages, t)


def _decode(pdf: Path, pages: list[int] | None = None, dpi: int = 150) -> list[str]:
    """The QR code of every page (or of the given pages), in order (zbarimg; 150 dpi, half a scanner's)."""
    with tempfile.TemporaryDirectory() as tmp:
        for n in pages or [0]:
            rng = ["-f", str(n), "-l", str(n)] if n else []
            subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), *rng, str(pdf), f"{tmp}/p{n:04d}"], check=True,
                           capture_output=True)
        out = []
        for f in sorted(Path(tmp).glob("p*.pgm")):
            res = subprocess.run(["zbarimg", "-q", "--raw", str(f)], capture_output=True, text=True)
            out.append(res.stdout.strip())
        return out


def test_16_every_page_has_variant_code_and_qr(case) -> None:
    exam, _ = case
    for v, version in ((exam.variants[0], "student"), (exam.variants[1], "solution")):
        pages = pages_text(v.dir / f"{version}.pdf")
        assert all(v.dir.name in p for p in pages)
        booklet = int(v.dir.name[1:])  # a variant's own PDFs carry its first booklet's codes (issue 16)
        assert _decode(v.dir / f"{version}.pdf") == [f"IN2346-{v.dir.name}-B{booklet:03d}-{i:02d}"
                                                     for i in range(1, len(pages) + 1)]


def test_print_files_hold_every_variant_in_order(built: dict[str, Built]) -> None:
    exam = built["in2346-endterm"]
    for version, name in (("student", "all-students.pdf"), ("solution", "all-solutions.pdf")):
        pdf = exam.out / "print" / name
        parts = [pages_text(v.dir / f"{version}.pdf") for v in exam.variants]
        assert pages_text(pdf) == [p for part in parts for p in part]
        assert all(len(p) % 4 == 0 for p in parts)  # each variant starts a new A3 booklet
    n1, n2 = (len(v.student_pages) for v in exam.variants)
    assert _decode(exam.out / "print" / "all-students.pdf", [1, n1, n1 + 1, n1 + n2]) == [
        "IN2346-E0001-B001-01", f"IN2346-E0001-B001-{n1:02d}", "IN2346-E0002-B002-01", f"IN2346-E0002-B002-{n2:02d}"]
