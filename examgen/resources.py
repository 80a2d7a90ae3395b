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
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_EXTRACTED = ExitStack()  # only a zipped install extracts anything; removed at exit
atexit.register(_EXTRACTED.close)


def real(resource: Traversable | Path) -> Path:
    """A real path for a packaged file or folder. pdflatex, the bank loader and the solver
    imports need real files, so a package that is not a plain folder is extracted once
    (as_file) and kept until the process exits; a file of a plain folder is its own."""
    if isinstance(resource, Path):
        return resource.resolve()
    from importlib.resources import as_file

    return _EXTRACTED.enter_context(as_file(resource)).resolve()


def _folder(package: str) -> Path | None:
    """The folder of an imported package if it is a plain folder (every install but a zipped
    one): its files are then its folder's, as importlib.resources would give them, without
    importing importlib.resources (20 ms, on the CLI's path to its first TeX run)."""
    init = getattr(sys.modules.get(package), "__file__", None)
    folder = Path(init).parent if init else None
    return folder if folder is not None and folder.is_dir() else None


def _files(package: str) -> Traversable:
    from importlib.resources import files

    return files(package)


def shipped(name: str) -> Path:
    """The real folder of the shipped data folder `name` ("question_bank")."""
    package = __package__ or "examgen"
    folder = _folder(package)
    inside = folder / name if folder is not None else _files(package) / name
    if inside.is_dir():  # a wheel install
        return real(inside)
    return Path(__file__).resolve().parent.parent / name  # the repository: editable or PYTHONPATH


def package_file(package: str, name: str) -> Path:
    """The real path of file `name` inside `package` (e.g. a layout's class file)."""
    folder = _folder(package)
    return real(folder / name if folder is not None else _files(package) / name)


BANK_DIR = shipped("question_bank")
#: what every path in the shipped bank starts with (its files are examgen's own: rendering skips the
#: limits an instructor's template gets, solvers resolves their references once)
SHIPPED_BANK = str(BANK_DIR) + os.sep
