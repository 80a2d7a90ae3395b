"""Moodle grades an export the way the statement promises: run Moodle's own cloze parser
and tolerance rule (tests/moodle/cloze.php, in Debian's php-cli) over the export of every
shipped spec, and enter for every numeric field the value a student gets by following the
statement: the exact value (from the solver's declared graded answer) rounded to the
decimals the statement text asks for (read here from the rendered statement, not from the
declaration and not from the writer). It must be accepted; the same value three units of
the last asked decimal off must be rejected. Field weights must share the question's
points as the declarations do."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.bank import load_bank
from examgen.cli import main
from examgen.conflicts import why
from examgen.model import SolvedQuestion
from examgen.pipeline import solve_exam
from examgen.questions import texts
from examgen.spec import load_spec

PHP = shutil.which("php")
CLOZE = Path(__file__).parent / "moodle" / "cloze.php"
SPECS = sorted((ROOT / "exams").glob("*.yaml"))
VARIANTS = 4
pytestmark = pytest.mark.skipif(PHP is None, reason="php-cli is not installed (make test installs it)")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def php(mode: str, data: object, tmp: Path) -> list:
    f = tmp / f"{mode}.json"
    f.write_text(json.dumps(data))
    done = subprocess.run([PHP, str(CLOZE), mode, str(f)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def asked(statement: str) -> set[int]:
    """The decimals a statement asks for, read from its words."""
    return {int(m.group(1)) if m.group(1).isdigit() else WORDS[m.group(1).lower()]
            for m in re.finditer(r"\b(\d|one|two|three|four|five|six)\s+decimal", statement, re.I)}


def student(x: float, decimals: int) -> Decimal:
    """What a student writes: the value rounded half up to the asked decimals."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def places(x: float) -> int:
    """The decimals of an exact short decimal (0.375 -> 3, 12 -> 0)."""
    d = Decimal(repr(round(float(x), 6))).normalize()
    return max(0, -d.as_tuple().exponent)


def expected_fields(q: SolvedQuestion) -> list[tuple[str, float, int, float]]:
    """(part, exact value, decimals a student gives, points of the entry) for every
    numeric entry, in the order of the parts, their declarations and row-major entries."""
    t = texts(q)
    out = []
    for part in q.parts:
        statement = (t.intro or "") + t.statements[part.name]
        for a in part.answers:
            if a.kind not in ("number", "vector", "matrix"):
                continue
            value = q.answers[a.name]
            flat = [value] if a.kind == "number" else list(value) if a.kind == "vector" else \
                [x for row in value for x in row]
            found = asked(statement)
            for x in flat:
                if a.round is None:  # the exact value is asked: a student writes it as it is
                    d = places(x)
                else:
                    assert a.round in found, f"{q.template.id} {part.name}): declared {a.round}, statement asks {found}"
                    d = a.round
                out.append((part.name, float(x), d, a.points / len(flat)))
    return out



def _every_template() -> list[list[str]]:
    """Every template of the bank, in as few exams as the declared conflicts allow (a variant never
    holds two conflicting templates: issue 14's give-away rule)."""
    bank = load_bank()
    groups: list[list[str]] = []
    for tid in sorted(bank.templates):
        t = bank.templates[tid]
        home = next((g for g in groups if all(why(t, bank.templates[o]) is None for o in g)), None)
        if home is None:
            groups.append([tid])
        else:
            home.append(tid)
    return groups


EVERY = _every_template()

@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ET.Element, object]]:
    tmp = tmp_path_factory.mktemp("moodle")
    out = {}
    bank = load_bank()
    # besides the shipped specs, exams that hold every template (the shipped ones hold no choice answer)
    head = (ROOT / "exams" / "quiz.yaml").read_text().split("problems:")[0]
    every = []
    for k, group in enumerate(EVERY, start=1):
        every.append(tmp / f"every-template-{k}.yaml")
        every[-1].write_text(head + "problems:\n" + "".join(f"  - template: {t}\n" for t in group))
    for spec in [*SPECS, *every]:
        xml = tmp / f"{spec.stem}.xml"
        assert main(["export", "moodle", str(spec), "--variants", str(VARIANTS), "--out", str(xml)]) == 0
        out[spec.stem] = (ET.parse(xml).getroot(), solve_exam(load_spec(spec, bank), bank, None, VARIANTS))
    return out


@pytest.mark.parametrize("spec", [s.stem for s in SPECS] + [f"every-template-{k}" for k in range(1, len(EVERY) + 1)])
def test_moodle_accepts_what_the_statement_asks_and_rejects_three_units_off(spec: str, exports, tmp_path: Path):
    root, exam = exports[spec]
    cloze = {q.findtext("name/text"): q for q in root if q.get("type") == "cloze"}
    essays = {q.findtext("name/text"): q for q in root if q.get("type") == "essay"}
    names, texts_, expected = [], [], []
    for v in exam.variants:
        for k, q in enumerate(v.questions, start=1):
            if not isinstance(q, SolvedQuestion):
                continue
            fields = expected_fields(q)
            choices = [a for p in q.parts for a in p.answers if a.kind == "choice"]
            name = f"{v.code} P{k} {q.template.id}"
            auto = sum(f[3] for f in fields) + sum(a.points for a in choices)
            if fields or choices:
                names.append(name)
                texts_.append(cloze[name].findtext("questiontext/text"))
                expected.append((fields, [(q.answers[a.name], a.points) for a in choices]))
            else:
                assert name not in cloze
            hand = q.credits - auto
            if hand > 1e-9:  # the rest is graded by hand in the written part
                assert float(essays[f"{name} (written)"].findtext("defaultgrade")) == pytest.approx(hand)
            else:
                assert f"{name} (written)" not in essays
    assert names, "no cloze question in the export"
    parsed = php("parse", texts_, tmp_path)
    cases, wrong = [], []
    for name, got, (fields, choices) in zip(names, parsed, expected, strict=True):
        numeric = [f for f in got["fields"] if f["type"] in ("NUMERICAL", "NM")]
        picks = [f for f in got["fields"] if f["type"] in ("MULTICHOICE", "MC")]
        assert len(numeric) == len(fields) and len(picks) == len(choices) == len(got["fields"]) - len(fields), name
        assert not re.search(r"\{[0-9]*:[A-Z_]+:", got["rest"]), f"{name}: a field Moodle does not read"
        total_w = sum(f["weight"] for f in got["fields"])
        total_p = sum(f[3] for f in fields) + sum(points for _, points in choices)
        for (key, points), f in zip(choices, picks, strict=True):  # a choice: its points, and the key is right
            assert f["weight"] / total_w == pytest.approx(points / total_p), name
            assert [a["answer"] for a in f["answers"] if a["fraction"] == 1] == [str(key)], name
        for (part, x, d, pts), f in zip(fields, numeric, strict=True):
            (alt,) = f["answers"]
            assert alt["fraction"] == 1
            assert float(alt["answer"]) == x, f"{name} {part}): key {alt['answer']} is not the exact value {x!r}"
            assert f["weight"] / total_w == pytest.approx(pts / total_p), name
            s = student(x, d)
            unit = Decimal(1).scaleb(-d)
            cases += [(alt["answer"], alt["tolerance"], str(s)), (alt["answer"], alt["tolerance"], str(s + 3 * unit)),
                      (alt["answer"], alt["tolerance"], str(s - 3 * unit))]
            wrong.append(f"{name} {part}) key {x!r}, student {s} (asked {d} decimals)")
    verdicts = php("grade", cases, tmp_path)
    for i, what in enumerate(wrong):
        ok, above, below = verdicts[3 * i: 3 * i + 3]
        assert ok, f"Moodle rejects the correctly rounded answer: {what}"
        assert not above and not below, f"Moodle accepts an answer three units off: {what}"
    assert len(wrong) >= 20
