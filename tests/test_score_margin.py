"""Issue 18, "the last factor of two": a part's score box goes into the outer margin through
the class's \\eg@marginpar, which places it where LaTeX's \\marginpar[left]{right} did, to the
sp, without \\marginpar's two runs of the output routine and without typesetting the box twice
(once per margin). Checked here against LaTeX's own \\marginpar (the class with \\eg@marginpar
switched back to it): the same PDF bytes and the same logged boxes and regions, on odd and even
pages, at the top of a page, after a heading, after text, after a box deeper than \\maxdepth
(where the class leaves the placing to \\marginpar) and for two notes close enough to be pushed
apart; and \\marginpar's output routine (\\@addmarginpar) runs only where it should."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from examgen.layouts.tum import CLASS_FILE, FONTS_FILE

LATEX = "\\makeatletter\\let\\eg@marginpar\\eg@latexmarginpar\\makeatother"
COUNT = ("\\makeatletter\\let\\eg@add\\@addmarginpar"
         "\\def\\@addmarginpar{\\typeout{EG-ADDMARGINPAR}\\eg@add}\\makeatother")
TEXT = " ".join(["Some words of a statement that runs over a few lines."] * 6)
PARTS = "\n".join(f"\\egsubproblem{{{chr(97 + i)}}}{{{2 * (i % 4) + 2}}}{{{35 + 10 * (i % 3)}mm}}{{{i % 2}}}"
                  f"{{{TEXT if i % 2 else 'Short.'}}}{{The solution of part {chr(97 + i)}.}}" for i in range(9))
DOC = """\\documentclass[%(version)s,en]{examgentum}
%(setup)s
\\begin{document}
\\egbeginvariant{E0001}{9}
\\egproblem{1}{Many parts}{20 credits}
%(parts)s
\\egproblem{2}{After text}{4 credits}
A paragraph before the part: its last line is the last box on the page.
\\egsubproblem{a}{4}{30mm}{0}{After a paragraph.}{Solution.}
A paragraph ending in a deep box \\parbox[t]{4cm}{one\\\\two\\\\three\\\\four}
\\egsubproblem{b}{4}{30mm}{0}{After a box deeper than maxdepth.}{Solution.}
\\egsubproblem{c}{0}{20mm}{0}{No score box.}{Solution.}
\\makeatletter\\eg@marginpar{\\raisebox{-\\height}[0pt][0pt]{\\eg@scorebox{2}}}%%
\\eg@marginpar{\\raisebox{-\\height}[0pt][0pt]{\\eg@scorebox{3}}}\\makeatother
\\egsubproblem{d}{6}{30mm}{1}{Two notes close together above.}{Solution.}
\\egadditionalspace
\\end{document}
"""


def compile_doc(folder: Path, version: str, latex: bool) -> tuple[bytes, list[str], int]:
    """The document with the class (its \\eg@marginpar switched back to \\marginpar if `latex`):
    the PDF, the class's EXAMGEN lines of the log and how often \\@addmarginpar ran."""
    folder.mkdir()
    for f in (CLASS_FILE, FONTS_FILE):
        shutil.copyfile(f, folder / f.name)
    setup = COUNT + (LATEX if latex else "")
    (folder / "doc.tex").write_text(DOC % {"version": version, "setup": setup, "parts": PARTS})
    subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error", "doc.tex"], cwd=folder,
                   check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "0"})
    log = (folder / "doc.log").read_text(errors="replace").splitlines()
    return ((folder / "doc.pdf").read_bytes(), [line for line in log if line.startswith("EXAMGEN-")],
            sum(line == "EG-ADDMARGINPAR" for line in log))


@pytest.mark.pdf
@pytest.mark.parametrize("version", ["student", "solution"])
def test_score_boxes_sit_where_marginpar_put_them(tmp_path: Path, version: str) -> None:
    pdf, lines, added = compile_doc(tmp_path / "class", version, latex=False)
    latex_pdf, latex_lines, latex_added = compile_doc(tmp_path / "latex", version, latex=True)
    grids = [line.split() for line in lines if line.startswith("EXAMGEN-GRID:")]
    pages = {int(g[4]) for g in grids}
    assert len(grids) == 9 + 5 and {1, 2} <= {p % 2 + 1 for p in pages}  # odd and even pages
    assert latex_added == len(grids)  # LaTeX's \marginpar: the output routine for every box
    assert added == 1  # the class: only after the deep box (the page builder caps its depth)
    assert lines == latex_lines
    assert pdf == latex_pdf
    # both margins are used: the grids' x positions (sp) of odd and even pages differ
    assert len({(int(g[4]) % 2, g[5]) for g in grids}) == 2
