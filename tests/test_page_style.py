"""Issue 18, "the last factor of two": every page's foot ("-- Page n / N --" centred, the variant's
code at the outer edge) is set by the class's own page style `examgen`, not by fancyhdr (six
\\parbox per page, even with an empty head: 6% of a student sheet's TeX time), and the class does
not keep LaTeX's marks (expl3 structures updated at every page, as much work as the rest of the
output routine; no exam page reads a mark). Checked against the class as it was (fancyhdr's
`fancy` style with the same foot, LaTeX's mark updates restored): the same PDF bytes, odd and even
pages, the cover, student and solution, in both layouts' classes; and the foot's text is on the
pages (pdftotext). The solution's watermark is typeset once and copied to every page (it was
typeset on each): the same bytes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from examgen.layouts.plain import CLASS_FILE as PLAIN_CLASS
from examgen.layouts.tum import CLASS_FILE, FONTS_FILE

# before \documentclass: keep LaTeX's mark update, which the class switches off
KEEP_MARKS = "\\makeatletter\\let\\egkeptmarks\\@expl@@@mark@update@singlecol@structures@@\\makeatother\n"
# after it: the old page style (fancyhdr) and LaTeX's mark update again
OLD = """\\makeatletter\\let\\@expl@@@mark@update@singlecol@structures@@\\egkeptmarks
\\usepackage{fancyhdr}\\pagestyle{fancy}\\fancyhf{}\\renewcommand{\\headrulewidth}{0pt}
\\fancyfoot[C]{\\small -- \\eg@t@page\\ \\thepage\\ / \\egget{pages} --}
\\fancyfoot[RO,LE]{\\footnotesize\\egget{variant}}\\fancypagestyle{plain}{}\\fancypagestyle{examgen}{}
\\ClearShipoutPictureBG\\AddToShipoutPictureBG{\\ifeg@solution
  \\AtPageCenter{\\makebox(0,0){\\rotatebox{55}{\\color{egwatermark}\\fontsize{70}{70}\\selectfont\\bfseries
  \\eg@t@sample}}}\\fi}
\\makeatother
"""
# the watermark's text, logged each time it is typeset
COUNT = "\\makeatletter\\let\\egsample\\eg@t@sample\\def\\eg@t@sample{\\typeout{EG-WATERMARK}\\egsample}\\makeatother\n"
DOC = """%(keep)s\\documentclass[%(version)s,en]{%(cls)s}
%(old)s%(count)s\\begin{document}
\\egversion{%(version)s}
\\egbeginvariant{E0007}{8}
\\pagestyle{examgen}
\\egset{problems}{2}\\egset{credits}{8}
\\egcover{\\eggradingtable{1}{2}{20mm}{8mm}}
\\egproblem{1}{First}{4 credits}
\\egsubproblem{a}{4}{150mm}{1}{A part with a tall answer area.}{A solution.}
\\egsubproblem{b}{4}{150mm}{0}{Another one, on the next page.}{Another solution.}
\\egproblem{2}{Second}{4 credits}
\\egsubproblem{a}{8}{40mm}{0}{The last part.}{The last solution.}
\\egadditionalspace
\\end{document}
"""


def compile_doc(folder: Path, cls: Path, version: str, old: bool) -> Path:
    folder.mkdir()
    for f in (CLASS_FILE, FONTS_FILE, PLAIN_CLASS):
        shutil.copyfile(f, folder / f.name)
    (folder / "doc.tex").write_text(DOC % {"keep": KEEP_MARKS if old else "", "old": OLD if old else "",
                                           "version": version, "cls": cls.stem, "count": COUNT})
    subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error", "doc.tex"], cwd=folder,
                   check=True, capture_output=True, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "0"})
    return folder / "doc.pdf"


@pytest.mark.pdf
@pytest.mark.parametrize("cls", [CLASS_FILE, PLAIN_CLASS], ids=["tum", "plain"])
@pytest.mark.parametrize("version", ["student", "solution"])
def test_the_foot_is_where_fancyhdr_set_it(tmp_path: Path, cls: Path, version: str) -> None:
    new = compile_doc(tmp_path / "new", cls, version, old=False)
    old = compile_doc(tmp_path / "old", cls, version, old=True)
    pages = subprocess.run(["pdftotext", "-layout", str(new), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")[:-1]
    assert len(pages) == 8
    for n, page in enumerate(pages, start=1):
        assert f"– Page {n} / 8 –" in page and "E0007" in page, page
    assert new.read_bytes() == old.read_bytes()
    typeset = [(f.parent / "doc.log").read_text(errors="replace").count("EG-WATERMARK") for f in (new, old)]
    assert typeset == ([1, 8] if version == "solution" else [0, 0])
