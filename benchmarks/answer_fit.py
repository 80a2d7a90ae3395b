"""Which solutions fit their answer areas (issues 14 and 18): the survey to run when a
template's solution or answer_height changes.

    python benchmarks/answer_fit.py [--draws K] [--first N] [--seed S] [--template ID ...] [--all]

The class (examgentum.cls, \\eganswerarea) sets a solution at the normal size; one that
does not fit is set again in \\small, then in \\footnotesize, then scaled down, but not
below 7 pt (to 70/76 of its \\footnotesize height), else it stops the build with
"solution of part X) shrinks below 7 pt". This script typesets the SOLUTION version of
every template of the bank (the default layout) for draws N+1..N+K, as `examgen check`
draws them (same seeds), all templates of all draws in ONE draft-mode pdflatex pass:
each draw is one variant of the document. A hook after \\begin{document} logs, per answer
area, the solution's height at the three sizes and switches the class error off, so that
every part is measured whatever the others do.

Reported per part that needs more than the normal size in some draw: the answer_height
(mm) it has, in how many draws it needed \\small, \\footnotesize, scaling or failed, and the
answer_height each size needs at the worst draw (the area must exceed the solution by 3 mm).
"foot" is the class's own suggestion in its error message; `suggest` is that rounded up
to the 5 mm grid, shown where the worst draw is scaled or fails. Exit status 1 when some
part fails (shrinks below 7 pt)."""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examgen import layouts  # noqa: E402
from examgen.bank import load_bank  # noqa: E402
from examgen.checking import CHECK_SEED, _info, check_draw  # noqa: E402
from examgen.compiler import Compiler  # noqa: E402
from examgen.model import SolvedQuestion, Variant  # noqa: E402
from examgen.pipeline import document  # noqa: E402

SP_PER_MM = 186467.98
#: After \begin{document}: each answer area with a solution logs
#: EXAMGEN-FIT: <draw> <problem> <part> <area sp> <normal sp> <small sp> <footnotesize sp>
#: and the class's "shrinks below 7 pt" error is off (its scaling still happens).
HOOK = r"""\makeatletter
\let\eg@answertoosmall\relax
\let\eg@fitoriginal\eganswerarea
\renewcommand{\eganswerarea}[3]{%
  \if\relax\detokenize{#3}\relax\else
    \setlength{\eg@answerh}{#1}%
    \eg@setanswer{}{#3}\edef\eg@fitA{\number\dimexpr\ht\eg@answer+\dp\eg@answer\relax}%
    \eg@setanswer{\small}{#3}\edef\eg@fitB{\number\dimexpr\ht\eg@answer+\dp\eg@answer\relax}%
    \eg@setanswer{\footnotesize}{#3}\edef\eg@fitC{\number\dimexpr\ht\eg@answer+\dp\eg@answer\relax}%
    \typeout{EXAMGEN-FIT: \egget{variant} \eg@problemno\space \eg@part\space \number\eg@answerh\space
      \eg@fitA\space \eg@fitB\space \eg@fitC}%
  \fi
  \eg@fitoriginal{#1}{#2}{#3}}
\makeatother
"""
FIT = re.compile(r"^EXAMGEN-FIT: D(\d+) (\d+) (\S+) (\d+) (\d+) (\d+) (\d+)$", re.MULTILINE)
SIZES = ("normal", "small", "footnotesize", "scaled", "FAILS")
MARGIN_SP = 3 * SP_PER_MM  # the class: a solution fits if it is 3 mm lower than its area


@dataclass
class PartFit:
    template: str
    part: str
    area_mm: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    worst: tuple[int, int, int] = (0, 0, 0)  # the largest heights (sp) at normal, small, footnotesize
    worst_draw: int = 0  # the draw with the tallest footnotesize solution

    def need_mm(self, i: int) -> int:
        """The answer_height (whole mm) that fits the worst draw at size i, as the class's error
        message computes it (\\numexpr rounds its division: sp / 186467, rounded, + 1)."""
        return int((self.worst[i] + MARGIN_SP) / 186467 + 0.5) + 1

    @property
    def scaled_limit_mm(self) -> float:
        """The smallest area in which the worst draw is still set at 7 pt or more."""
        return (self.worst[2] * 70 / 76 + MARGIN_SP) / SP_PER_MM

    @property
    def suggest(self) -> int:
        """The class's suggestion (the footnotesize height), rounded up to the 5 mm grid."""
        return 5 * math.ceil(self.need_mm(2) / 5)


def classify(area: int, heights: tuple[int, int, int]) -> str:
    """The size the class ends up setting a solution of these heights at, as \\eganswerarea decides."""
    room = area - MARGIN_SP
    for name, h in zip(SIZES, heights):
        if h <= room:
            return name
    return "scaled" if heights[2] * 70 / 76 <= room else "FAILS"


def survey(draws: range, seed: int, templates: list[str] | None) -> dict[tuple[str, str], PartFit]:
    bank = load_bank(())
    ids = templates or sorted(bank.templates)
    layout = layouts.get(layouts.DEFAULT)
    variants, order = [], {}
    for n in draws:
        qs: list[SolvedQuestion] = []
        for tid in ids:
            q, fails = check_draw(bank, tid, n, seed)
            if q is None:
                print(f"{tid} draw {n}: not measured: {fails[0]}", file=sys.stderr)
                continue
            qs.append(q)
        order[n] = [q.template.id for q in qs]
        variants.append(Variant(number=n, code=f"D{n}", questions=tuple(qs)))
    batch = document(layout, _info(), variants, layouts.SOLUTION, label="draw {code}")
    source = batch.source()
    head = source.index("\\begin{document}") + len("\\begin{document}\n")
    with tempfile.TemporaryDirectory(prefix="answer-fit-") as tmp:
        log = Compiler.default(use_cache=False).log_of(Path(tmp), "fit", source[:head] + HOOK + source[head:],
                                                       "the answer-fit survey", batch.classes)
    fits: dict[tuple[str, str], PartFit] = {}
    for m in FIT.finditer(log):
        draw, problem, part, area, *hs = m.groups()
        tid = order[int(draw)][int(problem) - 1]
        heights = (int(hs[0]), int(hs[1]), int(hs[2]))
        f = fits.setdefault((tid, part), PartFit(tid, part))
        f.area_mm = round(int(area) / SP_PER_MM, 2)
        f.counts[classify(int(area), heights)] += 1
        if heights[2] > f.worst[2]:
            f.worst_draw = int(draw)
        f.worst = (max(f.worst[0], heights[0]), max(f.worst[1], heights[1]), max(f.worst[2], heights[2]))
    return fits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=12, help="draws per template (default 12)")
    ap.add_argument("--first", type=int, default=0, help="start after this draw number (default 0: draws 1..K)")
    ap.add_argument("--seed", type=int, default=CHECK_SEED, help=f"the check seed (default {CHECK_SEED})")
    ap.add_argument("--template", action="append", help="only this template (repeatable)")
    ap.add_argument("--all", action="store_true", help="also list the parts that always fit at the normal size")
    args = ap.parse_args(argv)
    fits = survey(range(args.first + 1, args.first + args.draws + 1), args.seed, args.template)
    print(f"{'template':34} {'part':4} {'area':>5} " + " ".join(f"{s:>6}" for s in ("normal", "small", "foot",
                                                                                  "scaled", "FAILS"))
          + f" {'need:normal':>11} {'small':>5} {'foot':>4} {'7pt':>5} {'suggest':>7} worst")
    failing = 0
    for (tid, part), f in sorted(fits.items()):
        if not args.all and set(f.counts) == {"normal"}:
            continue
        failing += f.counts["FAILS"] > 0
        print(f"{tid:34} {part:4} {f.area_mm:5.0f} " + " ".join(f"{f.counts[s]:6d}" for s in SIZES)
              + f" {f.need_mm(0):11d} {f.need_mm(1):5d} {f.need_mm(2):4d} {f.scaled_limit_mm:5.1f}"
              + f" {f.suggest if f.need_mm(2) > f.area_mm else '':>7} draw {f.worst_draw}")
    print(f"{len(fits)} parts measured over draws {args.first + 1}..{args.first + args.draws}; "
          f"{failing} fail (shrink below 7 pt) in some draw")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
