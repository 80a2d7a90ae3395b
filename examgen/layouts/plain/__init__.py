"""The plain layout, for a course outside TUM: examgenplain.cls beside this file loads
the TUM class and replaces its cover (no sticker box, no TUM personalisation notes: course,
exam, date, name and registration lines, grading table, instructions). The problems, score
boxes, answer areas, MC boxes, scan codes and keys are the TUM layout's, so the LaTeX of a
variant is the TUM layout's too."""

from __future__ import annotations

from ...resources import package_file
from .. import Layout
from ..tum import CLASS_FILE as TUM_CLASS
from ..tum import measure_body, render_mc_body, render_question_body, reserved, variant_body

CLASS_FILE = package_file(__name__, "examgenplain.cls")

LAYOUT = Layout("plain", (CLASS_FILE, TUM_CLASS), variant_body, render_question_body, render_mc_body, reserved,
                measure_body)
