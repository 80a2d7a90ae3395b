"""Issue 12, "Bad input" (helper specin): every bad spec input answered in one clear
line naming the file:line:col and the field, or typeset as written.

Rows: characters pdflatex cannot typeset, control and invisible characters, numbers
that are not finite or integers that are floats, credits beyond the score box,
alias bombs, logos that are not images or lie outside the spec's folder, pinned
integers beyond 2^53, duplicate multiple-choice items. Ordinary tests below: a real
build of every accepted kind of character (and newlines), the grading table of
40 problems inside the margin, a spec read through a pipe, Moodle XML that parses."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from conftest import error_lines, pdftotext
from faults import GOOD, HEAD, Row, problems, run_row

from examgen import ROOT
from examgen.cli import main

COURSE = "  course: Introduction to Deep Learning\n"
EXAMINER = "  examiner: Prof. Dr. Example Examiner\n"


def exam_field(line: str, replacement: str) -> str:
    """GOOD with one line of its exam: block replaced."""
    assert line in GOOD
    return GOOD.replace(line, replacement)


def with_logo(name: str) -> str:
    return GOOD.replace("  language: en\n", f"  language: en\n  logo: {json.dumps(name)}\n")


BOMB = (GOOD + "x-bomb:\n"
        + "".join(f"  {a}: &{a} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
                  for p, a in zip([""] + list("abcdefgh"), "abcdefghi")))

ROWS = [
    # ---------------------------------------------------------------- characters pdflatex cannot typeset
    Row("course-emoji", "{spec}:4:3: exam.course: character U+1F600 (\U0001F600) cannot be typeset by pdflatex; "
        "remove it", 2, spec=exam_field(COURSE, "  course: Deep Learning \U0001F600\n")),
    Row("course-hebrew", "{spec}:4:3: exam.course: character U+05E9 (\u05e9) cannot be typeset by pdflatex", 2,
        spec=exam_field(COURSE, "  course: \u05e9\u05dc\u05d5\u05dd\n")),
    Row("name-arabic", "{spec}:6:3: exam.name: character U+0645 (\u0645) cannot be typeset by pdflatex", 2,
        spec=exam_field("  name: Quiz 1\n", "  name: \u0645\u0631\u062d\u0628\u0627\n")),
    Row("examiner-cjk", "{spec}:9:3: exam.examiner: character U+6559 (\u6559) cannot be typeset by pdflatex", 2,
        spec=exam_field(EXAMINER, "  examiner: \u6559\u6388\n")),
    Row("date-greek", "{spec}:7:3: exam.date: character U+03B1 (\u03b1) cannot be typeset by pdflatex", 2,
        spec=exam_field("  date: Tuesday 10th November, 2026\n", "  date: \u03b1-day\n")),
    Row("resources-emoji-in-block", "{spec}:10:3: exam.resources: character U+1F4DA (\U0001F4DA) cannot be typeset",
        2, spec=exam_field("  resources: One handwritten A4 sheet\n",
                           "  resources: |\n    One sheet\n    and books \U0001F4DA\n")),
    # ---------------------------------------------------------------- invisible and control characters
    Row("examiner-zero-width-space", "{spec}:9:3: exam.examiner: invisible format character U+200B (ZERO WIDTH "
        "SPACE) is not allowed; remove it", 2, spec=exam_field(EXAMINER, '  examiner: "Prof.\\u200bDr."\n')),
    Row("name-bidi-override", "{spec}:6:3: exam.name: invisible format character U+202E (RIGHT-TO-LEFT OVERRIDE) "
        "is not allowed", 2, spec=exam_field("  name: Quiz 1\n", '  name: "Quiz \\u202e1"\n')),
    Row("course-bell", "{spec}:4:3: exam.course: control character U+0007 is not allowed; remove it", 2,
        spec=exam_field(COURSE, '  course: "Deep\\aLearning"\n')),
    Row("course-nul", "{spec}:4:3: exam.course: control character U+0000 is not allowed", 2,
        spec=exam_field(COURSE, '  course: "Deep\\0Learning"\n')),
    Row("course-carriage-return", "exam.course: control character U+000D is not allowed", 2,
        spec=exam_field(COURSE, '  course: "Deep\\rLearning"\n')),
    Row("instruction-escape-char", "exam.instructions[1]: control character U+001B is not allowed", 2,
        spec=GOOD.replace("  language: en\n", '  language: en\n  instructions: [Pens only, "\\e[31mred"]\n')),
    Row("institution-c1-control", "exam.institution[0]: control character U+0085", 2,
        spec=GOOD.replace("[Chair of Example Studies,", '["Chair\\N", ')),
    Row("problem-title-control", "{spec}:16:5: problems[0].title: control character U+0008 is not allowed", 2,
        spec=problems('  - template: batchnorm_forward\n    title: "Batch\\bNorm"\n')),
    Row("mc-title-emoji", "problems[0].mc.title: character U+1F916 (\U0001F916) cannot be typeset", 2,
        spec=problems("  - mc: {count: 2, title: \"Robots \U0001F916\"}\n")),
    Row("export-moodle-control", "{spec}:4:3: exam.course: control character U+0001 is not allowed", 2,
        spec=exam_field(COURSE, '  course: "Deep\\x01Learning"\n'),
        args=("export", "moodle", "{spec}", "-o", "{out}/quiz.xml")),
    # ---------------------------------------------------------------- numbers: finite, integers are integers
    Row("credits-nan", "{spec}:16:5: problems[0].credits: found nan, expected a finite number", 2,
        spec=problems("  - template: batchnorm_forward\n    credits: .nan\n")),
    Row("credits-inf", "problems[0].credits: found inf, expected a finite number", 2,
        spec=problems("  - template: batchnorm_forward\n    credits: .inf\n")),
    Row("mc-count-float", "{spec}:15:10: problems[0].mc.count: found 2.0, expected integer (write 2, without a "
        "decimal point)", 2, spec=problems("  - mc: {count: 2.0}\n")),
    Row("mc-options-float", "problems[0].mc.options: found 3.0, expected integer (write 3, without a decimal point)",
        2, spec=problems("  - mc: {count: 2, options: 3.0}\n")),
    Row("choose-k-float", "{spec}:17:7: problems[1].choose.k: found 1.0, expected integer (write 1, without a decimal point)", 2,
        spec=GOOD.replace("k: 1", "k: 1.0")),
    Row("seed-float", "{spec}:13:3: exam.seed: found 7.0, expected integer (write 7, without a decimal point)", 2,
        spec=GOOD.replace("seed: 7", "seed: 7.0")),
    Row("seed-bool", "exam.seed: found True, expected integer", 2, spec=GOOD.replace("seed: 7", "seed: true")),
    Row("grading-threshold-nan", "grading.thresholds[9]: found nan, expected a finite number", 2,
        spec=GOOD + "grading: {thresholds: [95, 90, 85, 80, 75, 70, 65, 60, 55, .nan]}\n"),
    Row("grading-pass-inf", "grading.pass_percent: found -inf, expected a finite number", 2,
        spec=GOOD + "grading: {pass_percent: -.inf}\n"),
    # ---------------------------------------------------------------- credits beyond the score box
    Row("credits-beyond-score-box", "{spec}:16:5: problems[0].credits: credits 60 give template 'batchnorm_forward' "
        "part a) 10 credits: its score box (21 rows of 3.5 mm) would be taller than its 25 mm answer area (at most "
        "3.5 credits fit); give at most 12 credits", 2,
        spec=problems("  - template: batchnorm_forward\n    credits: 60\n")),
    Row("credits-1e300", "problems[0].credits: credits 1e+300 give template 'batchnorm_forward' part a)", 2,
        spec=problems("  - template: batchnorm_forward\n    credits: 1.0e+300\n")),
    # ---------------------------------------------------------------- YAML alias bomb
    Row("yaml-alias-bomb", "{spec}:25:10: the alias '*e' expands the document past 100000 values (a YAML alias "
        "bomb?); write the values out or use fewer aliases", 2, spec=BOMB),
    Row("yaml-alias-bomb-params-file", "{tmp}/p.yaml:6:8: the alias '*e' expands the document past 100000 values",
        2, args=("solve", "pool_coverage", "--params", "{tmp}/p.yaml"),
        files={"p.yaml": BOMB.split("x-bomb:\n")[1].replace("\n  ", "\n")[2:]}),
    # ---------------------------------------------------------------- exam.logo: an image, by content, in place
    Row("logo-escapes-spec-folder", "{spec}:13:3: exam.logo: '../../../etc/passwd' lies outside the spec's folder "
        "{tmp}; put the image beside the spec or give its absolute path", 2, spec=with_logo("../../../etc/passwd")),
    Row("logo-etc-passwd-absolute", "{spec}:13:3: exam.logo: '/etc/passwd' is not a PNG, JPEG or PDF image (judged "
        "by its content); give an image file", 2, spec=with_logo("/etc/passwd")),
    Row("logo-text-named-png", "exam.logo: 'logo.png' is not a PNG, JPEG or PDF image (judged by its content)", 2,
        spec=with_logo("logo.png"), files={"logo.png": "not an image\n"}),
    Row("logo-is-a-folder", "exam.logo: file 'pics' not found (relative to {tmp})", 2,
        spec=with_logo("pics"), files={"pics/a.txt": "x"}),
    # ---------------------------------------------------------------- pinned integers beyond 2^53
    Row("pinned-int-beyond-2-53", "{spec}:16:5: problems[0].params: template 'pool_coverage', parameter 'size': "
        "9007199254740993 is too large to compute and print exactly (integers up to 2^53 = 9007199254740992 in "
        "magnitude); pin a smaller value", 2,
        spec=problems("  - template: pool_coverage\n    params: {size: 9007199254740993}\n")),
    Row("pinned-int-beyond-2-53-in-vector", "parameter 'gamma': -36893488147419103232 is too large", 2,
        spec=problems("  - template: batchnorm_forward\n    params: {gamma: [1, -36893488147419103232, 1]}\n")),
    Row("pinned-int-beyond-2-53-solve", "template 'pool_coverage', parameter 'size': 9007199254740993 is too large",
        2, args=("solve", "pool_coverage", "--params", "{tmp}/p.yaml"), files={"p.yaml": "size: 9007199254740993\n"}),
    Row("pinned-int-vector-beyond-float", "template 'bce_loss', parameter 'y': 1" + "0" * 400 + " is too large", 2,
        spec=problems("  - template: bce_loss\n    params: {y: [1, 1" + "0" * 400 + "]}\n")),
    # ---------------------------------------------------------------- duplicate multiple-choice items
    Row("mc-items-duplicate", "{spec}:15:86: problems[0].mc.items[2]: item 'conv2d_weight_count' is listed twice "
        "(first as items[0]); list each item once", 2,
        spec=problems("  - mc: {count: 2, items: [conv2d_weight_count, layers_without_trainable_parameters, conv2d_weight_count]}\n")),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault(row: Row, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run_row(row, tmp_path, capsys, monkeypatch)

