"""What the compiler typesets: batches of variants of one version, pairs (both
versions of a lane's variants in one document), and the fixed composition of both
(it depends only on the variant count, so the bytes never depend on the number of
cores or the cache)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from ..layouts import SOLUTION, STUDENT, VERSIONS, Region

BATCH_SIZE = 12  # variants per pdflatex run; fixed so that bytes never depend on the machine
#: The class's log protocol: one line per variant with its first page, page count and version.
VARIANT_LINE = re.compile(r"EXAMGEN-VARIANT: (\S+) (\d+) (\d+) (student|solution)")
END = "\\end{document}\n"  # a batch's source ends so


class Marks(Protocol):
    """The scan codes a batch typesets with its pages (examgen.qrcodes.Typeset)."""

    @property
    def key(self) -> str:
        """What the text depends on besides the variants and their pages (part of its cache key)."""
        ...

    def __call__(self, variants: list[tuple[str, int]]) -> str:
        """The <jobname>-qr.tex the class reads, for these (variant code, pages) pairs. A code depends
        on its variant and page only: after a call for more pages, one for fewer encodes nothing again."""
        ...


@dataclass(frozen=True)
class Piece:
    """One variant's part of a batch document: everything after \\egbeginvariant."""

    code: str
    label: str  # names it in errors, e.g. 'variant E0003'
    body: str
    pages_at_least: int = 1  # what the layout knows of its page count before TeX (Layout.pages_at_least)


@dataclass(frozen=True)
class Batch:
    version: str  # student | solution
    preamble: str  # everything up to and including \begin{document}
    pieces: tuple[Piece, ...]
    files: tuple[Path, ...] = ()  # extra files (a logo) the document reads
    classes: tuple[Path, ...] = ()  # the layout's class files the preamble loads (layouts.Layout.classes)
    marks: Marks | None = None  # the scan codes typeset with the pages; None: none, stamped afterwards if at all

    @property
    def reads_regions(self) -> bool:
        """Whether the compiler reads the boxes the class logs (layouts.regions: 6,000 lines a batch of
        10 endterms, 50 ms of Python): the student version's make layout.json, and codes stamped on
        afterwards need their places; a solution typeset with its codes has nothing that reads them
        (its Built.regions are empty)."""
        return self.version == STUDENT or self.marks is None

    def source(self, pages: dict[str, int] | None = None) -> str:
        return self.head() + "".join(self.text(p, pages) for p in self.pieces) + END

    def head(self) -> str:
        """The source up to the first variant (a streamed run writes it first, Opening); a document whose
        boxes nobody reads has the class log none (\\egunreadboxes: the same pages)."""
        # after \\begin{document}: the format skips the preamble (both versions share it, and the format)
        unread = "" if self.reads_regions else "\\egunreadboxes%\n"
        return self.preamble + f"\\egversion{{{self.version}}}%\n" + unread

    @staticmethod
    def text(p: Piece, pages: dict[str, int] | None = None) -> str:
        """One variant's part of the source (with its page total, or the guess of it, from `pages`, else 0)."""
        return f"% examgen: variant {p.code}\n\\egbeginvariant{{{p.code}}}{{{(pages or {}).get(p.code, 0)}}}\n{p.body}"

    def only(self, pieces: tuple[Piece, ...]) -> Batch:
        """The same document with only these variants."""
        return replace(self, pieces=pieces)

    def standalone(self, piece: Piece, pages: int) -> str:
        """One variant alone, compilable with plain pdflatex (for --keep-tex)."""
        return self.only((piece,)).source({piece.code: pages})

    @property
    def label(self) -> str:
        """The batch in messages: 'variant E0001 (student)' or 'variants E0001-E0012 (solution)'."""
        if len(self.pieces) == 1:
            return f"{self.pieces[0].label} ({self.version})"
        return f"variants {self.pieces[0].code}-{self.pieces[-1].code} ({self.version})"


@dataclass(frozen=True)
class Pair:
    """Both versions of the same variants in one document, one TeX run (a lane of the opening,
    Opening.lanes): each variant's student pages, then its solution's, the class switched between
    them (\\egversion). Against one run per version it loads the format, typesets the cover and the
    figures, and embeds the fonts once instead of twice (0.06-0.08 s of TeX time a run), and one
    qpdf run cuts it. Only where the solution's boxes are not read (typeset with its scan codes,
    Batch.reads_regions): the boxes the class logs are then the student version's alone."""

    student: Batch
    solution: Batch

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.student.pieces)

    def source(self, pages: dict[str, int] | None = None) -> str:
        return self.head() + "".join(self.text(s, t, pages) for s, t in zip(self.student.pieces,
                                                                             self.solution.pieces)) + END

    def head(self) -> str:
        """The source up to the first variant: the preamble (each variant sets the version), and the class
        told that each variant's solution follows its student version (\\egbothversions: the solution takes
        the statements the student version typeset)."""
        return self.head_of(self.student.preamble)

    @staticmethod
    def head_of(preamble: str) -> str:
        """head() of a pair with this preamble (a lane's, before its variants are drawn)."""
        return preamble + "\\egbothversions%\n"

    @staticmethod
    def text(student: Piece, solution: Piece, pages: dict[str, int] | None = None) -> str:
        """One variant in both versions (the solution's boxes unread: the same pages, see Pair)."""
        return (f"\\egversion{{{STUDENT}}}%\n{Batch.text(student, pages)}"
                f"\\egversion{{{SOLUTION}}}%\n\\egunreadboxes%\n{Batch.text(solution, pages)}")

    def firsts(self, pages: dict[str, int]) -> dict[tuple[str, str], int]:
        """Each (variant, version)'s first page in the document."""
        firsts, n = {}, 1
        for code in self.codes:
            for version in VERSIONS:
                firsts[(code, version)], n = n, n + pages[code]
        return firsts

    @property
    def label(self) -> str:
        return pair_label(self.codes)


def pair_label(codes: tuple[str, ...]) -> str:
    """A Pair of these variants in messages: 'variants E0001-E0010 (student and solution)'."""
    which = f"variant {codes[0]}" if len(codes) == 1 else f"variants {codes[0]}-{codes[-1]}"
    return f"{which} (student and solution)"


@dataclass(frozen=True)
class Built:
    pdf: Path
    pages: int
    regions: tuple[Region, ...] = ()  # the answer regions the class logged (layouts.regions)
    # the batch PDF the variant was cut from and its first page there: print files are joined from
    # these (one copy of the batch's fonts instead of one per variant: a third of the bytes and of qpdf's work)
    batch: Path | None = None
    first: int = 1

    @property
    def source(self) -> Path | tuple[Path, int, int]:
        """Its pages as qpdf.concatenate takes them: the batch PDF's page range, else its own PDF."""
        return (self.batch, self.first, self.first + self.pages - 1) if self.batch is not None else self.pdf


def batches(n: int, size: int = BATCH_SIZE) -> list[range]:
    """Split variants 0..n-1 into balanced batches of at most `size`; depends only on n."""
    k = max(1, -(-n // size))
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(k) if bounds[i] < bounds[i + 1]]


def lanes(n: int, size: int = BATCH_SIZE) -> list[range]:
    """The opening's lanes (each a Pair: both versions in one TeX run; the two run side by side): the first
    two `batches` (the batches after them are a student and a solution run each), or the one batch halved.
    One variant has none (its two versions run side by side as two batches). Depends only on n."""
    found = batches(n, size)
    if n < 2:
        return []
    if len(found) == 1:
        half = (n + 1) // 2
        return [range(0, half), range(half, n)]
    return found[:2]


def drawing_order(lanes: list[range]) -> list[int]:
    """The order the opening's variants are drawn in: the lanes' variants in turn (first of each, second
    of each, ...), so that both lanes' TeX runs have work from the first variants on."""
    longest = max((len(r) for r in lanes), default=0)
    return [r[i] for i in range(longest) for r in lanes if i < len(r)]


@dataclass(frozen=True)
class Opening:
    """An exam's first pair of batches, variant by variant (compile_exam's `opening`): both versions'
    documents without variants (`student`, `solution`), the codes of the variants they will hold, in
    order, and an iterator of the (student, solution) pieces, each pair as its variant is drawn. The
    compiler starts both TeX runs as soon as the format is there and writes each variant into them as it
    comes (TexRunner.stream): the drawing of the first batch, otherwise all Python before any typesetting,
    then overlaps TeX. Without FIFOs it takes the whole pair (`pair`)."""

    student: Batch
    solution: Batch
    codes: tuple[str, ...]
    pieces: Iterator[tuple[Piece, Piece]]
    pages_at_least: int = 1  # its variants' Piece.pages_at_least, known before they are drawn
    # the codes of each lane (lanes()): each a Pair typeset as its variants come, the pieces drawn in turn
    # (drawing_order); none: the opening is one student and one solution batch of `codes`
    lanes: tuple[tuple[str, ...], ...] = ()

    def pair(self) -> tuple[Batch, Batch]:
        """The whole pair, once every variant is drawn."""
        got = list(self.pieces)
        return self.student.only(tuple(s for s, _ in got)), self.solution.only(tuple(t for _, t in got))

    def pairs(self) -> list[Pair]:
        """Its lanes, once every variant is drawn (without FIFOs: typeset whole, the same documents)."""
        got = {s.code: (s, t) for s, t in self.pieces}
        return [Pair(self.student.only(tuple(got[c][0] for c in lane)),
                     self.solution.only(tuple(got[c][1] for c in lane))) for lane in self.lanes]
