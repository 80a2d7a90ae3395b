"""--keep-tex: the kept student.tex holds no key (no correct box, no MC reason: the reasons
say why an option is right), yet it compiles alone to the very pages of student.pdf (the
reasons are replaced by spaces of their measured size, so pagination is unchanged)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from examgen import ROOT
from examgen.bank import load_bank
from examgen.cli import main

pytestmark = pytest.mark.pdf


def pngs(pdf: Path, folder: Path, prefix: str) -> list[bytes]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / prefix)], check=True)
    return [p.read_bytes() for p in sorted(folder.glob(f"{prefix}-*.png"))]


def test_kept_student_tex_has_no_key_and_paginates_like_the_pdf(tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed")
    out = tmp_path / "out"
    assert main(["build", str(ROOT / "exams" / "in2346-endterm.yaml"), "-n", "1", "--keep-tex", "--out", str(out)]) == 0
    kept = out / "E0001"
    student, solution = (kept / "student.tex").read_text(), (kept / "solution.tex").read_text()
    record = json.loads((kept / "answers.json").read_text())
    mc = [q for q in record["questions"] if q["type"] == "mc"][0]
    bank = load_bank()
    reasons = [o.why for it in mc["items"] for o in bank.mc[it["id"]].options if o.why]
    options = [o["text"] for it in mc["items"] for o in it["options"]]
    assert reasons and options
    assert "\\egmcoption{1}" not in student and "\\egmcoption{1}" in solution  # the key stays in the solution
    assert not [r for r in reasons if r in student]  # no reason in the student source ...
    assert [r for r in reasons if r in solution]  # ... while the solution has them
    assert all(o in student for o in options)  # the options themselves are there
    # compiled alone (in a copy of the folder), it gives the pages of student.pdf, pixel for pixel
    alone = tmp_path / "alone"
    shutil.copytree(kept, alone)
    (alone / "student.pdf").unlink()
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "student.tex"], cwd=alone,
                   check=True, capture_output=True)
    shots = tmp_path / "shots"
    shots.mkdir()
    a, b = pngs(alone / "student.pdf", shots, "alone"), pngs(kept / "student.pdf", shots, "built")
    assert len(a) == len(b) == int(record["pages"])
    assert a == b
