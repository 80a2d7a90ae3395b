"""Where the shipped data is: the question bank (question_bank/) and the files inside
packages (a layout's LaTeX class). The only place that knows.

The repository keeps the bank at its top level. A wheel (`pip install .`) installs it
inside the package as examgen/question_bank (pyproject's package-dir), found through
importlib.resources; an editable install (`pip install -e .`, the Makefile) and a source
checkout on PYTHONPATH import examgen/ from the repository, where it sits beside the
package folder. A layout's class file sits in its own package folder
(examgen/layouts/<name>/) everywhere."""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path

_EXTRACTED = ExitStack()  # only a zipped install extracts anything; removed at exit
atexit.register(_EXTRACTED.close)


def real(resource: Traversable) -> Path:
    """A real path for a packaged file or folder. pdflatex, the bank loader and the solver
    imports need real files, so a package that is not a plain folder is extracted once
    (as_file) and kept until the process exits."""
    return _EXTRACTED.enter_context(as_file(resource)).resolve()


def shipped(name: str) -> Path:
    """The real folder of the shipped data folder `name` ("question_bank")."""
    inside = files(__package__ or "examgen") / name
    if inside.is_dir():  # a wheel install
        return real(inside)
    return Path(__file__).resolve().parent.parent / name  # the repository: editable or PYTHONPATH


def package_file(package: str, name: str) -> Path:
    """The real path of file `name` inside `package` (e.g. a layout's class file)."""
    return real(files(package) / name)


BANK_DIR = shipped("question_bank")
