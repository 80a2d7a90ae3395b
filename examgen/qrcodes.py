"""Scan codes: every page carries a QR code in its outer bottom corner, 10 mm, version 1
with boosted error correction, encoding the exam id, variant, booklet and page:
`IN2346-E0001-B017-07`, so that a scanned page names its booklet and page whatever the
order of the stack (many students share a variant).

- The exam id is the spec's `exam.code`, upper-cased, with every character but A-Z and 0-9
  dropped, at most 6 characters ("EXAM" when nothing is left), so that the text stays in
  QR's alphanumeric mode and fits version 1 (at most 25 characters at level L; 20 at M
  for a 6-character id, up to 999 booklets and 99 pages).
- Booklet numbers have at least 3 digits (as many as the last booklet needs), pages 2.

zxing-cpp computes the symbols (the version, error correction level and mask given, the QR
standard fixes the symbol: the tests compare it with segno's, module for module); they are drawn
as PDF operators (an inline image mask, one bit per module: `operators`). The class only reserves
the code's square and logs where it is; `stamp` draws each booklet's codes onto its variant's
compiled pages (qpdf --overlay with a stamp PDF written here), so that numbered booklets need no
typesetting. A kept .tex draws its codes itself: \\egqr{<variant>-<page>}{<operators>} lines in <jobname>-qr.tex."""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from .compiler.qpdf import concatenate, equal_runs, qpdf, split_pages
from .errors import ExamgenError

SIDE_BP = 28.3465  # 10 mm
MASK = 0
ID_LENGTH = 6
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
MM_TO_BP = 72 / 25.4


def exam_id(code: str) -> str:
    """The exam id in the codes: the spec's exam code sanitized (see the module's docstring)."""
    return _NOT_ALNUM.sub("", code.upper())[:ID_LENGTH] or "EXAM"


def pattern(exam: str, code: str, booklets: int) -> str:
    """The codes' content as a format string of `booklet` and `page` (layout.json's qr_format)."""
    return f"{exam}-{code}-B{{booklet:0{max(3, len(str(booklets)))}d}}-{{page:02d}}"


def text(exam: str, code: str, booklet: int, page: int, booklets: int) -> str:
    """What the code on page `page` of booklet `booklet` (of `booklets`; variant `code`) encodes."""
    return pattern(exam, code, booklets).format(booklet=booklet, page=page)


# the alphanumeric characters a version 1 symbol holds at each error correction level (ISO/IEC 18004,
# table 7), the most robust level first
_CAPACITY = (("H", 10), ("Q", 16), ("M", 20), ("L", 25))


def level(content: str) -> str:
    """The highest error correction level at which `content` (QR's alphanumeric characters) fits a
    version 1 symbol: as segno's boost_error chooses it (20 characters, IN2346-E0001-B001-07: M)."""
    for name, capacity in _CAPACITY:
        if len(content) <= capacity:
            return name
    raise ExamgenError(f"scan code {content!r} is longer than a version 1 QR code holds (25 characters)")


@lru_cache(maxsize=1024)  # a batch's codes (student and solution share them); memory stays flat
def operators(content: str) -> str:
    """PDF operators drawing the symbol, 10 mm wide, from the current point upwards: an inline
    image mask of one bit per module (1 = dark, painted in black through /D [1 0]; rows from the
    top, each padded to whole bytes, in hex), scaled to the square. Printers and viewers paint a
    mask's bits as sharp squares; the light modules stay unpainted. It replaced one filled
    rectangle per run of dark modules: 1.5 kB of operators a page, which cost 7% of a batch's
    TeX instructions to read, write and compress (180 bytes now).
    The mask is fixed (any of the eight is a valid symbol): scoring all eight costs 1 ms a code.
    zxing-cpp encodes a code in 0.03 ms; segno, which did before (the same symbols), took 0.44 ms,
    and 0.1 s of a cold build's Python before its first TeX run could start."""
    import numpy as np
    import zxingcpp  # (here, not at import: the CLI imports this module before it starts TeX)

    ec = level(content)
    symbol = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode,
                                     options=f"ecLevel={ec},version=1,dataMask={MASK}")
    dark = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False)) < 128
    n = dark.shape[0]
    if dark.shape != (21, 21) or symbol.ec_level != ec:
        raise ExamgenError(f"zxing-cpp encoded scan code {content!r} as a {dark.shape} symbol at level "
                           f"{symbol.ec_level}, not version 1 at level {ec}: install zxing-cpp>=3.1")
    bits = np.packbits(dark, axis=1).tobytes()  # (each row padded with light modules to whole bytes)
    return (f"q 0 g {SIDE_BP} 0 0 {SIDE_BP} 0 0 cm BI /IM true /W {n} /H {n} /BPC 1 /D [1 0] /F /AHx "
            f"ID {bits.hex()}> EI Q")


def first_booklet(code: str) -> int:
    """The booklet whose codes a variant's own PDFs carry: the variant's number (E0003 -> 3)."""
    return int(code[1:])


@dataclass(frozen=True)
class Typeset:
    """The codes of the variants' first booklets (of `booklets`), typeset with their pages
    (compiler.Batch.marks): one booklet per variant, so the variants' PDFs are the booklets."""

    exam: str  # the exam id (exam_id)
    booklets: int

    @property
    def key(self) -> str:
        """The cache key part: the exam id, the booklet count and this module's code (which
        draws the symbols; zxing-cpp encodes them as the QR standard fixes them for a given mask)."""
        return f"qr {self.exam} {self.booklets} {_source_digest()}"

    def __call__(self, variants: list[tuple[str, int]]) -> str:
        return definitions(variants, self.exam, self.booklets)


@lru_cache(maxsize=1)
def _source_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def definitions(variants: list[tuple[str, int]], exam: str, booklets: int) -> str:
    """The <jobname>-qr.tex text for these (variant code, page count) pairs: the codes of
    the variant's first booklet of `booklets`. A batch's student and solution documents ask
    for the same text at the same moment, just before their TeX runs: the first computes it,
    the other waits for it (computing it twice at once took each three times as long); another
    batch's codes do not wait (a batch whose codes are ready does not wait for the next's)."""
    args = (tuple(variants), exam, booklets)
    with _DEFINING:
        lock = _LOCKS.setdefault(args, threading.Lock())
    with lock:
        text = _definitions(*args)
    with _DEFINING:  # (a later call finds the text in _definitions' cache)
        _LOCKS.pop(args, None)
    return text


_DEFINING = threading.Lock()
_LOCKS: dict[tuple[tuple[tuple[str, int], ...], str, int], threading.Lock] = {}  # one per batch's codes


@lru_cache(maxsize=8)
def _definitions(variants: tuple[tuple[str, int], ...], exam: str, booklets: int) -> str:
    return "".join(f"\\egqr{{{code}-{p}}}{{{operators(text(exam, code, first_booklet(code), p, booklets))}}}%\n"
                   for code, pages in variants for p in range(1, pages + 1))


def stamp_pdf(pages: list[tuple[float, float, str]], out: Path, size_bp: tuple[float, float]) -> None:
    """A PDF of len(pages) pages of size `size_bp`, page i holding only the QR code of
    pages[i] = (x, y of the code's bottom-left corner in bp from the page's bottom-left, content);
    an empty content: an empty page."""
    objects: list[bytes] = []
    kids = []
    for k, (x, y, content) in enumerate(pages):
        page_obj, stream_obj = 3 + 2 * k, 4 + 2 * k
        kids.append(f"{page_obj} 0 R")
        data = zlib.compress(f"q 1 0 0 1 {x:.3f} {y:.3f} cm {operators(content)} Q".encode() if content else b"", 9)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size_bp[0]:.4f} {size_bp[1]:.4f}] "
                       f"/Resources << >> /Contents {stream_obj} 0 R >>".encode())
        objects.append(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode(), *objects]
    body, offsets = bytearray(b"%PDF-1.5\n"), []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    out.write_bytes(bytes(body))


Codes = list[tuple[float, float, str]]  # per page: the code square's top-left corner (mm) and content


def stamp(pdfs: list[Path], codes: list[Codes], out: Path) -> None:
    """out = the pages of `pdfs` in order (A4), each with its QR code drawn on top:
    codes[i] lists, per page of pdfs[i], (x, y, content) with (x, y) the code square's
    top-left corner in mm from the page's top-left corner (as layout.json gives it). One qpdf run."""
    if not any(content for per in codes for _, _, content in per):  # nothing to stamp
        concatenate(pdfs, out)
        return
    with _sheet(codes, out) as sheet:
        _overlaid(["--empty", "--pages", *map(str, pdfs), "--", "--overlay", str(sheet), "--", str(out)], out)


def stamp_each(pdfs: list[Path], codes: list[Codes], outs: list[Path]) -> None:
    """outs[i] = stamp([pdfs[i]], [codes[i]], outs[i]), the same bytes, but one qpdf run per
    run of PDFs with equal page counts (overlaid together, then cut with --split-pages): a
    batch of variants costs one qpdf start and one reading of its fonts instead of one each."""
    for run in equal_runs(list(range(len(pdfs))), [len(per) for per in codes]):
        if len(run) == 1:
            stamp([pdfs[run[0]]], [codes[run[0]]], outs[run[0]])
            continue
        first, part, targets = outs[run[0]], [codes[i] for i in run], [outs[i] for i in run]
        tmp = first.with_name(first.name + ".split")
        tmp.mkdir()
        args = ["--empty", "--pages", *(str(pdfs[i]) for i in run), "--"]
        cut = partial(split_pages, size=len(part[0]), outs=targets, tmp=tmp, name=first.name)
        if not any(content for per in part for _, _, content in per):  # nothing to stamp
            cut(args)
            continue
        with _sheet(part, first) as sheet:
            _overlaid([*args, "--overlay", str(sheet), "--"], first, cut)


@contextmanager
def _sheet(codes: list[Codes], out: Path) -> Iterator[Path]:
    """The stamp PDF of these pages' codes beside `out`, removed afterwards."""
    side_mm = SIDE_BP / MM_TO_BP
    pages = [(x * MM_TO_BP, (297 - y - side_mm) * MM_TO_BP, content) for per in codes for x, y, content in per]
    sheet = out.with_name(out.name + ".stamp.pdf")
    stamp_pdf(pages, sheet, (210 * MM_TO_BP, 297 * MM_TO_BP))
    try:
        yield sheet
    finally:
        sheet.unlink(missing_ok=True)


def _overlaid(args: list[str], out: Path, run: Callable[[list[str]], object] = qpdf) -> None:
    """The qpdf run that overlays (the only ones of a build): a failure names what it was making."""
    try:
        run(args)
    except ExamgenError as exc:
        raise ExamgenError(f"{out.parent.name}/{out.name}: stamping the scan codes failed ({exc}); "
                           "check that qpdf works (qpdf --version)") from None
