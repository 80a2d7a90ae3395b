"""Item analysis: the statistics on hand-worked numbers (Pearson's r, Cronbach's alpha, the F
test's p from closed forms), then statistics.csv and report.pdf of a small hand-made responses
set against the quiz build, every expected number computed here from the table below (numpy's
corrcoef, the textbook alpha formula), never by examgen.analysis."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_grading import header_of, keys, read, right_row, write_csv

from examgen.analysis import Analysis, Anova, analyse, anova_oneway, betainc, cronbach_alpha, f_sf, pearson
from examgen.grading import grade_build, load_build, read_responses, report_tex, score
from examgen.model import GradingScale


def test_pearson_hand_worked() -> None:
    # x = 1..4, y = 2 4 5 9: sxy = 11, sxx = 5, syy = 26
    assert pearson(np.array([1, 2, 3, 4]), np.array([2, 4, 5, 9])) == pytest.approx(11 / math.sqrt(130), abs=1e-12)
    assert pearson(np.array([1, 1, 1]), np.array([1, 2, 3])) is None  # an item nobody differs on


def test_cronbach_alpha_textbook_table() -> None:
    # 4 students x 3 items; totals 3 2 1 0 (variance 5/3), item variances 1/3, 1/4, 1/4:
    # alpha = 3/2 * (1 - (5/6) / (5/3)) = 0.75
    table = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]])
    assert cronbach_alpha(table) == pytest.approx(0.75, abs=1e-12)
    assert cronbach_alpha(table[:, :1]) is None


def test_f_distribution_closed_forms() -> None:
    # with 2 numerator degrees of freedom P(F > f) = (1 + 2f/d2)^(-d2/2); with (2, 2): 1 / (1 + f)
    for f, d2 in ((0.5, 3), (3.1, 7), (7.0, 6), (25.0, 40)):
        assert f_sf(f, 2, d2) == pytest.approx((1 + 2 * f / d2) ** (-d2 / 2), rel=1e-9)
    assert f_sf(4.0, 2, 2) == pytest.approx(1 / 5, rel=1e-9)
    # d1 = 1: F = t^2, and with 1 df the t distribution is Cauchy: P(|t| > s) = 1 - 2 atan(s) / pi
    assert f_sf(9.0, 1, 1) == pytest.approx(1 - 2 * math.atan(3) / math.pi, rel=1e-9)
    assert betainc(2, 3, 0.0) == 0.0 and betainc(2, 3, 1.0) == 1.0
    assert betainc(1, 1, 0.3) == pytest.approx(0.3, rel=1e-12)  # uniform


def test_anova_hand_worked() -> None:
    # means 2, 3, 5 (grand 10/3): between SS 14 (df 2), within SS 6 (df 6): F = 7, p = (10/3)^-3
    a = anova_oneway([np.array([1, 2, 3]), np.array([2, 3, 4]), np.array([4, 5, 6])])
    assert a is not None and (a.df_between, a.df_within) == (2, 6)
    assert a.f == pytest.approx(7.0) and a.p == pytest.approx(0.027, rel=1e-9)
    assert anova_oneway([np.array([1.0]), np.array([2.0])]) is None  # no spread to compare with


def test_against_scipy_when_installed() -> None:
    stats = pytest.importorskip("scipy.stats")  # a test-only oracle; examgen does not depend on scipy
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=30), rng.normal(size=30)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    groups = [rng.normal(m, 1, 9) for m in (0, 0.5, 1.2)]
    a = anova_oneway(groups)
    assert a is not None and (a.f, a.p) == pytest.approx(tuple(stats.f_oneway(*groups)), rel=1e-9)


# The responses: E0001 keys P1a 3 | P1b 1 | P1c 1;3 (+ rnn_relu_scalar a 2, b 3, c 1),
# E0002 keys P1a (empty) | P1b 2;3 | P1c 1;2;4 (+ batchnorm_forward a 1, b 3.5, c 1.5); MC 2 credits.
ROWS = [  # registration, variant, crossed boxes P1a P1b P1c, points P2a P2b P2c
    ("s1", "E0001", "3", "1", "1;3", "2", "3", "1"),     # MC 6 + 6 = 12
    ("s2", "E0001", "3", "2", "1", "1", "0", "0"),       # MC 2 + 1 = 3
    ("s3", "E0001", "1", "1", "1;3", "2", "1", "1"),     # MC 4 + 4 = 8
    ("s4", "E0001", "", "", "", "0", "0", "0"),          # 0
    ("s5", "E0002", "", "2;3", "1;2;4", "1", "3.5", "1.5"),  # 12
    ("s6", "E0002", "", "", "", "0", "0", "0"),          # MC 2 (P1a's key is empty) = 2
    ("s7", "E0002", "1", "2;3", "1;2;4", "0.5", "0.5", "0.5"),  # MC 4 + 1.5 = 5.5
]
# the points of each cell, by hand from the keys above
POINTS = {
    "s1": [2, 2, 2, 2, 3, 1], "s2": [2, 0, 0, 1, 0, 0], "s3": [0, 2, 2, 2, 1, 1], "s4": [0, 0, 0, 0, 0, 0],
    "s5": [2, 2, 2, 1, 3.5, 1.5], "s6": [2, 0, 0, 0, 0, 0], "s7": [0, 2, 2, 0.5, 0.5, 0.5],
}
COLS = ["P1a", "P1b", "P1c", "P2a", "P2b", "P2c"]


@pytest.fixture(scope="module")
def graded(quiz_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("analysis")
    rows = [dict(zip(["registration", "variant", *COLS], r)) for r in ROWS]
    grade_build(quiz_build, write_csv(tmp / "responses.csv", header_of(quiz_build), rows), tmp / "g")
    return tmp / "g"


def test_statistics_csv_item_analysis(quiz_build: Path, graded: Path) -> None:
    k = keys(quiz_build)
    assert [it["correct_boxes"] for it in k["E0001"]["questions"][0]["items"]] == [[3], [1], [1, 3]]
    assert [it["correct_boxes"] for it in k["E0002"]["questions"][0]["items"]] == [[], [2, 3], [1, 2, 4]]
    totals = {s: sum(p) for s, p in POINTS.items()}
    assert totals == {"s1": 12, "s2": 3, "s3": 8, "s4": 0, "s5": 12, "s6": 2, "s7": 5.5}
    res = {r["registration"]: float(r["total"]) for r in read(graded / "results.csv")}
    assert res == totals
    stats = {(r["scope"], r["key"], r["id"], r["kind"]): r for r in read(graded / "statistics.csv")}

    # a part: rnn_relu_scalar's b) (E0001 only): points 3 0 1 0 of 3
    b = np.array([3, 0, 1, 0.0])
    t = np.array([12, 3, 8, 0.0])
    row = stats[("all", "P2b", "rnn_relu_scalar", "part")]
    assert row["difficulty"] == "0.3333" and row["mean"] == "1"
    assert float(row["discrimination"]) == pytest.approx(np.corrcoef(b, t - b)[0, 1], abs=1e-4)
    assert row["point_biserial"] == ""
    assert float(row["sd"]) == pytest.approx(np.std(b, ddof=1), abs=1e-4)

    # an MC item pooled by its id over the variants that printed it
    rows = [dict(zip(["registration", "variant", *COLS], r)) for r in ROWS]
    for q_e1, label in zip(k["E0001"]["questions"][0]["items"], "abc"):
        item = q_e1["id"]
        x, tot, crossed = [], [], {}
        for r in rows:
            items = k[r["variant"]]["questions"][0]["items"]
            at = [i for i, it in enumerate(items) if it["id"] == item]
            if not at:
                continue
            it = items[at[0]]
            x.append(POINTS[r["registration"]][at[0]])
            tot.append(totals[r["registration"]])
            for box in filter(None, r[f"P1{'abc'[at[0]]}"].split(";")):
                text = it["options"][int(box) - 1]["text"]
                crossed[text] = crossed.get(text, 0) + 1
        xa, ta = np.array(x, float), np.array(tot, float)
        row = stats[("all", "P1", item, "mc-item")]
        assert row["n"] == str(len(x)), label
        assert float(row["difficulty"]) == pytest.approx(xa.mean() / 2, abs=1e-4)
        if np.std(xa) > 0:
            assert float(row["discrimination"]) == pytest.approx(np.corrcoef(xa, ta - xa)[0, 1], abs=1e-4)
            assert float(row["point_biserial"]) == pytest.approx(np.corrcoef(xa / 2, ta)[0, 1], abs=1e-4)
        tallies = {r["option"]: int(r["n"]) for r in read(graded / "statistics.csv")
                   if r["kind"] == "option" and r["id"] == item and r["option"] != "(none)"}
        assert {o: n for o, n in tallies.items() if n} == crossed, label

    # E0001's P1a (key 3): s1 and s2 crossed 3, s3 crossed 1, s4 nothing
    first = k["E0001"]["questions"][0]["items"][0]
    tallies = [r for r in read(graded / "statistics.csv") if r["kind"] == "option" and r["id"] == first["id"]]
    by_text = {r["option"]: r for r in tallies}
    assert by_text[first["options"][2]["text"]]["correct"] == "1"
    assert by_text[first["options"][0]["text"]]["correct"] == "0"

    # Cronbach's alpha over the 6 columns every student has, from the textbook formula
    m = np.array([POINTS[s] for s in ("s1", "s2", "s3", "s4", "s5", "s6", "s7")], float)
    alpha = 6 / 5 * (1 - m.var(axis=0, ddof=1).sum() / m.sum(axis=1).var(ddof=1))
    row = stats[("all", "alpha", "", "alpha")]
    assert row["n"] == "6" and float(row["statistic"]) == pytest.approx(alpha, abs=1e-4)

    # the variants compared on percent of 12: E0001 100 25 66.67 0, E0002 100 16.67 45.83
    g1, g2 = np.array([12, 3, 8, 0]) / 12 * 100, np.array([12, 2, 5.5]) / 12 * 100
    grand = np.concatenate([g1, g2]).mean()
    f = (len(g1) * (g1.mean() - grand) ** 2 + len(g2) * (g2.mean() - grand) ** 2) / (
        (((g1 - g1.mean()) ** 2).sum() + ((g2 - g2.mean()) ** 2).sum()) / 5)
    row = stats[("all", "variants", "F(1,5)", "anova")]
    assert float(row["statistic"]) == pytest.approx(f, abs=1e-4)
    assert float(row["p"]) > 0.05  # no warning
    e1 = stats[("E0001", "total", "", "total")]
    assert (e1["mean"], e1["sd"]) == ("5.75", f"{np.std([12, 3, 8, 0], ddof=1):.4f}".rstrip("0"))


def test_variant_warning() -> None:
    quiet = Analysis([], None, 0, [], Anova(2.0, 1, 10, 0.19))
    loud = Analysis([], None, 0, [], Anova(9.5, 1, 10, 0.0116))
    assert quiet.warning is None
    assert loud.warning == ("the variants differ significantly (one-way ANOVA F(1, 10) = 9.50, p = 0.0116 < 0.05); "
                            "compare their means before fixing the grade boundaries")


def test_report_has_item_analysis_and_histogram_marks(graded: Path) -> None:
    text = subprocess.run(["pdftotext", "-layout", str(graded / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Item analysis" in text and "Cronbach" in text and "rnn_relu_scalar" in text
    assert "pass" in text and "mean" in text and "+1 sd" in text and "point-biserial" in text
    assert "Warning" not in text


def test_report_warns_when_variants_differ(quiz_build: Path, tmp_path: Path) -> None:
    # E0001: 12 12 11.5 (every point but a half), E0002: 0 0.5 0 -> the ANOVA rejects equal means
    k = keys(quiz_build)
    rows = [right_row(s, k["E0001"]) for s in ("a", "b")] + [right_row("c", k["E0001"]) | {"P2c": "0.5"}]
    rows += [{"registration": s, "variant": "E0002", "P1a": "1"} for s in ("d", "f")]
    rows += [{"registration": "e", "variant": "E0002", "P1a": "1", "P2a": "0.5"}]
    key = load_build(quiz_build)
    responses = read_responses(write_csv(tmp_path / "r.csv", header_of(quiz_build), rows), key)
    results = score(key, responses, GradingScale())
    assert [r.total for r in results] == [12, 12, 11.5, 0, 0, 0.5]
    tex = report_tex(key, results, GradingScale(), analyse(key, responses, results))
    assert "Warning: the variants differ significantly (one{-}way ANOVA F(1, 4) = " in tex  # TeX source
    assert "compare their means before fixing the grade boundaries." in tex
