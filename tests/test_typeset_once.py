"""Issue 18, "the last factor of two": the class typesets a part's solution and each TikZ
picture once per font instead of once per measurement. A part's statement is set twice
(measured, then placed) and a solution up to four times (measured for its \\egsetfill, then
tried at 10, 9 and 8 pt until it fits its answer area); examgen wraps every TikZ picture of a
question in \\egpicture{key}{...}, which keeps the typeset picture per font and line width and
copies it. Checked here: which pictures are wrapped (and which must not be: one that reads
examgen's per-variant macros), how many TikZ pictures TeX really typesets (counted with a LaTeX
hook in the log), and that the PDF is byte for byte the one the old class typesets."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from examgen.layouts.tum import CLASS_FILE, FONTS_FILE, pictures_once

PIC = "\\begin{tikzpicture}\\draw (0,0) -- (1,1) node[right]{$x$};\\end{tikzpicture}"


def key(picture: str) -> str:
    return hashlib.sha256(picture.encode()).hexdigest()[:20]


def test_pictures_are_wrapped_with_the_hash_of_their_source() -> None:
    other = PIC.replace("(1,1)", "(2,1)")
    text = f"Look: {PIC} and {other}."
    wrapped = [f"\\egpicture{{{key(p)}}}{{{p}}}" for p in (PIC, other)]
    assert pictures_once(text) == f"Look: {wrapped[0]} and {wrapped[1]}."
    assert pictures_once("no figure $x^2$") == "no figure $x^2$"


@pytest.mark.parametrize("picture", [
    "\\begin{tikzpicture}\\node {\\egfill{z1}};\\end{tikzpicture}",  # differs per variant under one source
    "\\begin{tikzpicture}[remember picture]\\node (a) {};\\end{tikzpicture}",
    "\\begin{tikzpicture}[overlay]\\draw (0,0) -- (1,1);\\end{tikzpicture}",
    "\\begin{tikzpicture}\\node {\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}};\\end{tikzpicture}",
])
def test_pictures_that_must_be_set_each_time_are_left_alone(picture: str) -> None:
    assert "\\egpicture" not in pictures_once(f"a {picture} b")


# One part whose statement holds one picture and whose solution (one picture and text) does
# not fit its 30 mm answer area at 10 pt nor at 9 pt, so all three sizes are tried.
LONG = " ".join(["The solution goes on and on."] * 25)
DOC = """\\documentclass[solution,en]{examgentum}
\\makeatletter\\AddToHook{env/tikzpicture/begin}{\\typeout{EG-TIKZ \\f@size}}\\makeatother
%(old)s
\\begin{document}
\\egbeginvariant{E0001}{4}
\\egproblem{1}{Figures}{2 credits}
\\egsubproblem{a}{4}{30mm}{0}{Statement %(st)s}{Solution %(so)s %(long)s}
\\egadditionalspace
\\end{document}
"""
# the class as it was before: every picture typeset where it stands, the solution measured alone
OLD = """\\makeatletter\\renewcommand{\\egpicture}[2]{#2}
\\renewcommand{\\eg@firsttry}[1]{\\sbox{\\eg@measure}{\\parbox{\\linewidth}{#1}}}\\makeatother"""


def typeset(folder: Path, name: str, old: bool) -> tuple[bytes, list[str]]:
    folder.mkdir()
    for f in (CLASS_FILE, FONTS_FILE):
        shutil.copyfile(f, folder / f.name)
    sol = PIC.replace("(1,1)", "(3,1)")
    (folder / f"{name}.tex").write_text(DOC % {"old": OLD if old else "", "st": pictures_once(PIC),
                                               "so": pictures_once(sol), "long": LONG})
    subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error", f"{name}.tex"], cwd=folder,
                   check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "0"})
    log = (folder / f"{name}.log").read_text(errors="replace")
    return (folder / f"{name}.pdf").read_bytes(), [line.split()[1] for line in log.splitlines()
                                                   if line.startswith("EG-TIKZ ")]


@pytest.mark.pdf
def test_each_picture_is_typeset_once_per_font_and_the_pdf_is_unchanged(tmp_path: Path) -> None:
    new_pdf, new_runs = typeset(tmp_path / "new", "doc", old=False)
    old_pdf, old_runs = typeset(tmp_path / "old", "doc", old=True)
    # before: the statement's picture twice (measured, placed), the solution's four times
    # (measured, then at 10, 9 and 8 pt)
    assert sorted(old_runs) == ["10", "10", "10", "10", "8", "9"]
    # now: the statement's picture once, the solution's once per size tried
    assert sorted(new_runs) == ["10", "10", "8", "9"]
    assert new_pdf == old_pdf
