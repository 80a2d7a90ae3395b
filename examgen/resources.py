"""Where the shipped data is: the question bank (question_bank/) and the LaTeX class
(templates/). The only place that knows.

The repository keeps both folders at its top level. A wheel (`pip install .`) installs
them inside the package as examgen/question_bank and examgen/templates (pyproject's
package-dir), found through importlib.resources; an editable install (`pip install -e .`,
the Makefile) and a source checkout on PYTHONPATH import examgen/ from the repository,
where they sit beside the package folder."""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

_EXTRACTED = ExitStack()  # only a zipped install extracts anything; removed at exit
atexit.register(_EXTRACTED.close)


def shipped(name: str) -> Path:
    """The real folder of the shipped data folder `name` ("question_bank" or "templates").
    pdflatex, the bank loader and the solver imports need real files, so a package that is
    not a plain folder is extracted once (as_file) and kept until the process exits."""
    inside = files(__package__ or "examgen") / name
    if inside.is_dir():  # a wheel install
        return _EXTRACTED.enter_context(as_file(inside)).resolve()
    return Path(__file__).resolve().parent.parent / name  # the repository: editable or PYTHONPATH


BANK_DIR = shipped("question_bank")
TEMPLATES_DIR = shipped("templates")
