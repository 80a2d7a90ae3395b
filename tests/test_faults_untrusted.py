"""Issue 12, untrusted input: an instructor's --bank template (its solver.py runs in a
worker process with time and memory limits; its jinja text is bounded) and a tutor's
responses CSV (ASCII numbers, quotes, control characters, duplicates, formula cells).
Every row: one stderr line naming the file and the function or column, exit code, no output."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from faults import BANK, Row, bank_template, inject, problems, run_row

from examgen.cli import main
from examgen.outputs import csv_text

SPEC = problems("  - template: q1\n")
SOLVE = ("solve", "q1", "--bank", "{tmp}/bank")
SOLVER = "{tmp}/bank/data/q1/solver.py: function 'solve' of template 'q1'"


def bank_solver(body: str, new_id: str = "q1", top: str = "") -> Callable[[Path], None]:
    """A setup: class_imbalance as new_id with its own solver.py whose solve() runs body
    (indented in the function; the shipped solver is `shipped`), after `top` at import."""
    copy = bank_template(new_id, question=lambda s: s.replace("solver: data.class_imbalance", "solver: solver.solve"))

    def setup(tmp: Path) -> None:
        copy(tmp)
        code = "\n".join("    " + line for line in body.splitlines())
        (tmp / "bank" / "data" / new_id / "solver.py").write_text(
            f"from examgen.solvers.data import class_imbalance as shipped\n{top}\n\n\ndef solve(params):\n{code}\n")

    return setup


SOLVER_ROWS = [
    Row("solver-raises", f"{SOLVER} raised RuntimeError: no idea; fix the function", 2, args=SOLVE,
        setup=bank_solver("raise RuntimeError('no idea')")),
    Row("solver-raises-valueerror", "template 'q1': solver 'solver.solve' failed on parameters {{'n_major': ", 1,
        args=SOLVE, setup=bank_solver("raise ValueError('not for these')")),
    Row("solver-returns-none", "template 'q1': solver 'solver.solve' returned None, not a dict of answers by name; "
        "return {{'name': value, ...}}", 2, args=SOLVE, setup=bank_solver("return None")),
    Row("solver-returns-set", "template 'q1': solver 'solver.solve' returned a set {{1, 2}} as answer 'x'; answers "
        "are numbers, strings, booleans and lists or dicts of them", 2, args=SOLVE,
        setup=bank_solver("return {'x': {1, 2}}")),
    Row("solver-returns-complex", "solver 'solver.solve' returned a complex (1+2j) as answer 'y'[1]", 2,
        args=SOLVE, setup=bank_solver("return {'y': [1, 1 + 2j]}")),
    Row("solver-returns-a-set-not-dict", "solver 'solver.solve' returned a set {{3}}, not a dict of answers", 2,
        args=SOLVE, setup=bank_solver("return {3}")),
    Row("solver-returns-unpicklable", f"{SOLVER} returned a generator that cannot be passed back", 2, args=SOLVE,
        setup=bank_solver("return (i for i in range(3))")),
    Row("solver-sys-exit", f"{SOLVER} called sys.exit(3); return the answers or raise an exception instead", 2,
        args=SOLVE, setup=bank_solver("import sys\nsys.exit(3)")),
    Row("solver-os-exit", f"{SOLVER} ended its process (exit code 0, os._exit?) before it returned", 2, args=SOLVE,
        setup=bank_solver("import os\nos._exit(0)")),
    Row("solver-segfault", f"{SOLVER} was killed by signal SIGSEGV before it returned", 2, args=SOLVE,
        setup=bank_solver("import ctypes\nctypes.string_at(0)")),
    Row("solver-sleeps-forever", f"{SOLVER} did not return within 1 s; make it faster, or allow more time with "
        "EXAMGEN_SOLVER_TIMEOUT=SECONDS", 2, args=SOLVE, env={"EXAMGEN_SOLVER_TIMEOUT": "1"},
        setup=bank_solver("import time\ntime.sleep(3600)")),
    Row("solver-huge-memory", f"{SOLVER} needed more than 256 MiB of memory; make it smaller, or allow more with "
        "EXAMGEN_SOLVER_MEMORY_MB=MIB", 2, args=SOLVE, env={"EXAMGEN_SOLVER_MEMORY_MB": "256"},
        setup=bank_solver("return {'s': 'x' * 10**10}")),
    Row("solver-timeout-env-bad", "environment variable EXAMGEN_SOLVER_TIMEOUT='soon': not a positive number", 2,
        args=SOLVE, env={"EXAMGEN_SOLVER_TIMEOUT": "soon"}, setup=bank_solver("return shipped(params)")),
    Row("solver-import-exits", "{tmp}/bank/data/q1/solver.py: importing it called sys.exit(1); remove that call",
        2, args=SOLVE, setup=bank_solver("return shipped(params)", top="import sys\nsys.exit(1)")),
    # importing the file runs the instructor's top-level code: the same limits, before examgen imports it
    Row("solver-import-hangs", "{tmp}/bank/data/q1/solver.py: importing it did not return within 1 s; make it "
        "faster, or allow more time with EXAMGEN_SOLVER_TIMEOUT=SECONDS", 2, args=SOLVE,
        env={"EXAMGEN_SOLVER_TIMEOUT": "1"}, setup=bank_solver("return shipped(params)",
                                                              top="import time\ntime.sleep(3600)")),
    Row("solver-import-os-exit", "{tmp}/bank/data/q1/solver.py: importing it ended its process (exit code 4, "
        "os._exit?) before it returned; remove that call", 2, args=SOLVE,
        setup=bank_solver("return shipped(params)", top="import os\nos._exit(4)")),
    Row("solver-import-huge-memory", "{tmp}/bank/data/q1/solver.py: importing it needed more than 256 MiB of "
        "memory", 2, args=SOLVE, env={"EXAMGEN_SOLVER_MEMORY_MB": "256"},
        setup=bank_solver("return shipped(params)", top="TABLE = 'x' * 10**10")),
    # in a build: the same line, and no output folder, no diagnostics
    Row("build-solver-sleeps", f"{SOLVER} did not return within 1 s", 2, spec=SPEC, args=BANK,
        env={"EXAMGEN_SOLVER_TIMEOUT": "1"}, setup=bank_solver("import time\ntime.sleep(3600)")),
    Row("build-solver-exits", f"{SOLVER} called sys.exit(None)", 2, spec=SPEC, args=BANK,
        setup=bank_solver("raise SystemExit")),
]

TEXT = "{tmp}/bank/data/q1/statement.tex.j2, block 'a': "
MEMORY = ("rendering needed more than 256 MiB of memory (a huge string or list?); make it smaller, or allow more "
          "with EXAMGEN_RENDER_MEMORY_MB=MIB")
JINJA_ROWS = [
    Row("jinja-range-huge", TEXT + "range() of 1000000000000 numbers is too long; a template may loop over at most "
        "10000 numbers at once and 100000 in all", 2, spec=SPEC, args=BANK,
        setup=bank_template("q1", inject("<% for i in range(10**12) %>x<% endfor %>"))),
    Row("jinja-nested-loops", TEXT + "range() of 9000 numbers is too long", 2, spec=SPEC, args=BANK,
        setup=bank_template("q1", inject("<% for i in range(9000) %><% for j in range(9000) %><% endfor %>"
                                         "<% endfor %>"))),
    Row("jinja-include", TEXT + "<% include %>, <% import %> and <% extends %> are not allowed (it asked for "
        "'/etc/passwd'); write the text into this file", 2, spec=SPEC, args=BANK,
        setup=bank_template("q1", inject("<% include '/etc/passwd' %>"))),
    Row("jinja-import", TEXT + "<% include %>, <% import %> and <% extends %> are not allowed (it asked for "
        "'macros.j2')", 2, spec=SPEC, args=BANK,
        setup=bank_template("q1", inject("<% import 'macros.j2' as m %>"))),
    Row("jinja-from-import", "are not allowed (it asked for 'statement.tex.j2')", 2, spec=SPEC, args=BANK,
        setup=bank_template("q1", inject("<% from 'statement.tex.j2' import x %>"))),
    Row("jinja-string-product", TEXT + "'*' would make a str of 10000000000 items; at most 100000", 2, spec=SPEC,
        args=BANK, setup=bank_template("q1", inject("<< 'x' * 10**10 >>"))),
    Row("jinja-list-product", TEXT + "'*' would make a list of 1000000000 items; at most 100000", 2, spec=SPEC,
        args=BANK, setup=bank_template("q1", inject("<< ([0] * 10**9)|length >>"))),
    Row("jinja-power", TEXT + "'**' would make an integer of about 100000 bits; at most 4096", 2, spec=SPEC,
        args=BANK, setup=bank_template("q1", inject("<< 2 ** 100000 >>"))),
    Row("jinja-slow-loops", TEXT + "rendering took longer than 1 s (a loop that is too long?); simplify the "
        "template, or allow more time with EXAMGEN_RENDER_TIMEOUT=SECONDS", 2, spec=SPEC, args=BANK,
        env={"EXAMGEN_RENDER_TIMEOUT": "1"},
        setup=bank_template("q1", inject("<% set xs = [0] * 100000 %><% for a in xs %><% for b in xs %>"
                                         "<% endfor %><% endfor %>"))),
    Row("jinja-replace-amplifies", TEXT + MEMORY, 2, spec=SPEC, args=BANK, env={"EXAMGEN_RENDER_MEMORY_MB": "256"},
        setup=bank_template("q1", inject("<< ('x' * 100000)|replace('x', 'y' * 100000)|length >>"))),
    Row("jinja-join-amplifies", TEXT + MEMORY, 2, spec=SPEC, args=BANK, env={"EXAMGEN_RENDER_MEMORY_MB": "256"},
        setup=bank_template("q1", inject("<< (['y' * 100000] * 100000)|join|length >>"))),
    Row("jinja-format-width", TEXT + MEMORY, 2, spec=SPEC, args=BANK, env={"EXAMGEN_RENDER_MEMORY_MB": "256"},
        setup=bank_template("q1", inject("<< ('%9000000000d' % 1)|length >>"))),
    Row("jinja-center-width", TEXT + MEMORY, 2, spec=SPEC, args=BANK, env={"EXAMGEN_RENDER_MEMORY_MB": "256"},
        setup=bank_template("q1", inject("<< ('x'|center(9000000000))|length >>"))),
    Row("jinja-huge-output", TEXT + "the rendered text is longer than 1000000 characters", 2, spec=SPEC,
        args=BANK, setup=bank_template("q1", inject("<% for i in range(5000) %><< 'y' * 1000 >><% endfor %>"))),
]

RESPONSES = ("grade", "{tmp}/build", "-r", "{tmp}/responses.csv", "-o", "{out}")
HEADER = "registration,variant,P1a,P1b,P1c,P2a,P2b,P2c\n"
CSV = "{tmp}/responses.csv"
_BUILD: list[Path] = []  # the shared quiz build (conftest's quiz_build), set by the test


def link_build(tmp: Path) -> None:
    (tmp / "build").symlink_to(_BUILD[0])


def responses(rows: str) -> dict[str, str]:
    return {"responses.csv": HEADER + rows}


def grade_row(id: str, fragment: str, rows: str) -> Row:
    return Row(id, fragment, 2, args=RESPONSES, setup=link_build, files=responses(rows))


CSV_ROWS = [
    grade_row("csv-superscript-points", CSV + ":2: column 'P2a': '²' is not a number of points (digits 0-9, one "
              "'.' or ',' for halves: 1.5); fix the cell", "1,E0001,,,,²,,\n"),
    grade_row("csv-superscript-box", CSV + ":2: column 'P1a': '²' is not a list of boxes 1-4 separated by ';' "
              "(e.g. 1;3; empty for none); fix the cell", "1,E0001,²,,,,,\n"),
    grade_row("csv-arabic-digit", CSV + ":2: column 'P2b': '٣' is not a number of points", "1,E0001,,,,,٣,\n"),
    grade_row("csv-underscore-points", CSV + ":3: column 'P2a': '0_5' is not a number of points",
              "1,E0001,,,,1,,\n2,E0001,,,,0_5,,\n"),
    grade_row("csv-underscore-box", CSV + ":2: column 'P1b': '0_1' is not a list of boxes", "1,E0001,,0_1,,,,\n"),
    grade_row("csv-unclosed-quote", CSV + ":3: column 'P2a': a quote (\") opens here and is never closed; close it "
              "or remove it", "1,E0001,,,,1,,\n2,E0001,,,,\"1,,\n3,E0001,,,,,,\n4,E0002,,,,,,\n"),
    grade_row("csv-unclosed-quote-registration", CSV + ":2: column 'registration': a quote (\") opens here",
              "\"7,E0001,,,,,,\n"),
    grade_row("csv-nul-in-registration", CSV + ":2: column 'registration': contains a NUL byte; fix the cell",
              "12\x0034,E0001,,,,,,\n"),
    grade_row("csv-newline-in-registration", CSV + ":3: column 'registration': contains a line break; fix the cell",
              "1,E0001,,,,,,\n\"12\n34\",E0002,,,,,,\n"),
    grade_row("csv-zero-width-registration", CSV + ":2: column 'registration': contains the control character "
              "U+200B; fix the cell", "12\u200b3,E0001,,,,,,\n"),
    grade_row("csv-same-registration", CSV + ":4: column 'registration': 0815 is also on line 2; keep one of the two "
              "rows", "0815,E0001,,,,1,,\n99,E0002,,,,,,\n0815,E0002,,,,,,\n"),
    grade_row("csv-same-registration-fullwidth", CSV + ":3: column 'registration': ＡＢ12 is also on line 2",
              "ab12,E0001,,,,,,\nＡＢ12,E0002,,,,,,\n"),
]

def _sampled(spec: str) -> Callable[[str], str]:
    """question.yaml with one more parameter, sampled by this spec."""
    return lambda q: q.replace("params:\n", f"params:\n  v: {{type: int_vector, sample: {spec}}}\n", 1)


# an instructor's sample spec that would make numpy allocate terabytes: one line naming the spec
SAMPLE_ROWS = [
    Row("sample-length-huge", "template 'q1': parameter 'v': bad sample spec: size ", 2, args=SOLVE,
        setup=bank_template("q1", question=_sampled("{kind: int_vector, length: [2, 1000000000000], low: 0, "
                                                    "high: 3}"))),
    Row("sample-range-huge", "template 'q1': parameter 'v': bad sample spec: low..high spans more than 100000 "
        "integers", 2, args=SOLVE,
        setup=bank_template("q1", question=_sampled("{kind: int_vector, length: 3, low: 0, high: 1000000000000}"))),
]

ROWS = SOLVER_ROWS + JINJA_ROWS + CSV_ROWS + SAMPLE_ROWS


@pytest.fixture
def shared_build(quiz_build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("test_faults_untrusted._BUILD", [quiz_build])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
               request: pytest.FixtureRequest) -> None:
    if row in CSV_ROWS:
        request.getfixturevalue("shared_build")
    run_row(row, tmp_path, capsys, monkeypatch)


def test_solver_output_never_reaches_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`examgen solve` prints JSON on stdout: what the instructor's solver prints goes nowhere."""
    bank_solver("print('DEBUG', params)\nimport os, sys\nos.write(1, b'raw fd 1\\n')\nos.write(2, b'raw fd 2\\n')\n"
                "print('to stderr', file=sys.stderr)\nreturn shipped(params)")(tmp_path)
    assert main(["solve", "q1", "--bank", str(tmp_path / "bank"), "--seed", "3"]) == 0
    captured = capsys.readouterr()
    answers = json.loads(captured.out)["answers"]  # nothing but the JSON
    assert answers["ratio"] > 0
    assert captured.err == ""


def test_bank_sampler_draws_advance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sampler in the worker advances the caller's generator: rejected draws are not repeated forever."""
    setup = bank_template("q1", question=lambda s: s.replace("nice: [data.ratio_is_integer]",
                                                             "sampler: solver.sample\n"
                                                             "nice: [solver.even]"))
    setup(tmp_path)
    (tmp_path / "bank" / "data" / "q1" / "solver.py").write_text(
        "def sample(rng, pinned):\n"
        "    return {'n_major': int(rng.integers(1, 1000)) * 100, 'n_minor': 100, 'classes': ['a', 'b']}\n\n\n"
        "def even(params):\n    return params['n_major'] % 200 == 0\n")
    seen = set()
    for seed in range(4):
        assert main(["solve", "q1", "--bank", str(tmp_path / "bank"), "--seed", str(seed)]) == 0
        params = json.loads(capsys.readouterr().out)["params"]
        assert params["n_major"] % 200 == 0
        seen.add(params["n_major"])
    assert len(seen) > 1


def test_formula_cells_are_neutralised(quiz_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    regs = ["=HYPERLINK(\"http://evil\",\"x\")", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "0042"]
    sheet = tmp_path / "responses.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER.strip().split(","))
        w.writerows([reg, "E0001" if i % 2 == 0 else "E0002", "", "", "", "", "", ""] for i, reg in enumerate(regs))
    out = tmp_path / "graded"
    assert main(["grade", str(quiz_build), "-r", str(sheet), "-o", str(out)]) == 0
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        cells = [r["registration"] for r in csv.DictReader(f)]
    assert cells == ["'=HYPERLINK(\"http://evil\",\"x\")", "'=cmd|' /C calc'!A0", "'+1", "'-1", "'@SUM(1)", "0042"]
    # the one CSV writer: TAB and CR too; numbers stay numbers
    assert csv_text([["\tx", "\rx", "x=1", -1, 2.5]]) == "'\tx,'\rx,x=1,-1,2.5\n"
