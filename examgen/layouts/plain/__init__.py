"""The plain layout, for a course outside TUM: examgenplain.cls beside this file loads
the TUM class and replaces its cover (no sticker box, no TUM personalisation notes: course,
exam, date, name and registration lines, grading table, instructions). The problems, score
boxes, answer areas, MC boxes, scan codes and keys are the TUM layout's, so the LaTeX of a
variant is the TUM layout's too."""

from __future__ import annotations

from dataclasses import replace

from ...resources import package_file
from .. import tum

CLASS_FILE = package_file(__name__, "examgenplain.cls")

# TUM's Python side, its own cover (and the TUM class with its typography)
LAYOUT = replace(tum.LAYOUT, name="plain", classes=(CLASS_FILE, *tum.LAYOUT.classes))
