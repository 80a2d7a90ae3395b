"""A scan simulator: fill booklets of a built exam from a ground truth, print them at
150/200/300 dpi and distort them like an office scanner. Seeded and deterministic.

    truth = random_truth(layouts, booklets, rng)          # what each student/corrector marked
    pages = simulate(build, layouts, truth, dpi, rng)     # [(image, (variant, booklet, page))]
    write_scans(pages, folder, rng)                        # shuffled PDFs / JPEGs / PNGs

A page is rasterised from the build's print file (booklets stamped with their codes) with
pdftoppm; the layouts are the build's layout.json (examgen.scan.layout.load_layouts)."""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from examgen.scan.layout import Layout

STATES = ("empty", "crossed", "filled", "refilled")  # refilled: filled, then a cross in its recheck square


@dataclass
class Booklet:
    number: int
    variant: str
    boxes: dict[tuple[str, int], str]  # (column, box) -> state
    scores: dict[tuple[str, int], float | None]  # (column, corrector) -> crossed value (None: no cross)
    # what the student crosses in the cover's registration grid (a cover with one): a digit per column,
    # '?' a column left without a cross (unclear), '*' a column with two crosses (boxes 0 and 9)
    registration: str = ""

    def expected(self, columns: dict[str, str]) -> dict[str, str]:
        """The responses.csv cells: MC columns '1;3', part columns the last corrector's points."""
        out: dict[str, str] = {}
        for col, kind in columns.items():
            if kind == "mc":
                ticked = sorted(b for (c, b), s in self.boxes.items() if c == col and s in ("crossed", "refilled"))
                out[col] = ";".join(map(str, ticked))
            else:
                v2, v1 = self.scores.get((col, 2)), self.scores.get((col, 1))
                v = v2 if v2 is not None else v1
                out[col] = "" if v is None else (str(int(v)) if v == int(v) else str(v))
        return out


def columns_of(layouts: dict[str, Layout]) -> dict[str, str]:
    cols: dict[str, str] = {}
    for lay in layouts.values():
        for p in lay.pages.values():
            for b in p.boxes:
                if b.kind != "registration":  # the cover's grid: no responses column
                    cols[b.column] = "mc" if b.kind in ("mc", "recheck") else "part"
    return cols


def random_truth(layouts: dict[str, Layout], booklets: int, rng: np.random.Generator) -> list[Booklet]:
    out = []
    codes = sorted(layouts)
    for b in range(1, booklets + 1):
        code = codes[(b - 1) % len(codes)]
        boxes: dict[tuple[str, int], str] = {}
        values: dict[str, list[float]] = {}
        for p in layouts[code].pages.values():
            for box in p.boxes:
                if box.kind == "mc":
                    boxes[(box.column, int(box.number))] = str(rng.choice(STATES, p=[0.5, 0.32, 0.09, 0.09]))
                elif box.kind == "score" and box.corrector == 1:
                    values.setdefault(box.column, []).append(box.number)
        scores: dict[tuple[str, int], float | None] = {}
        for col, vals in values.items():
            scores[(col, 1)] = float(rng.choice(vals))
            scores[(col, 2)] = float(rng.choice(vals)) if rng.random() < 0.15 else None
        out.append(Booklet(b, code, boxes, scores, registration_of(b)))
    return out


def registration_of(booklet: int) -> str:
    """The registration number the student of a booklet crosses (from the number alone: no draw
    from the generator, so the other fields of a truth stay as they were before the grid)."""
    return f"{3700000 + 1013 * booklet:08d}"


def _reg_crossed(registration: str, digit: int, value: int) -> bool:
    """Does the student cross box `value` of the grid's column `digit` (1..8)?"""
    c = registration[digit - 1] if len(registration) >= digit else "?"
    return value in (0, 9) if c == "*" else c == str(value)


# ------------------------------------------------------------------ drawing
class Pen:
    """Draws in mm on a page image at dpi (anti-aliased, sub-pixel)."""

    def __init__(self, img: np.ndarray, dpi: int):
        self.img, self.s = img, dpi / 25.4

    def _p(self, x: float, y: float) -> tuple[int, int]:
        return int(round(x * self.s * 16)), int(round(y * self.s * 16))

    def line(self, a: tuple[float, float], b: tuple[float, float], width: float, ink: int) -> None:
        cv2.line(self.img, self._p(*a), self._p(*b), ink, max(1, int(round(width * self.s))), cv2.LINE_AA, 4)

    def rect(self, x: float, y: float, w: float, h: float, width: float, ink: int = 0) -> None:
        for a, b in (((x, y), (x + w, y)), ((x + w, y), (x + w, y + h)), ((x + w, y + h), (x, y + h)),
                     ((x, y + h), (x, y))):
            self.line(a, b, width, ink)

    def disc(self, x: float, y: float, d: float) -> None:
        cx, cy = self._p(x, y)
        cv2.circle(self.img, (cx, cy), int(round(d / 2 * self.s * 16)), 0, -1, cv2.LINE_AA, 4)

    def fill(self, x: float, y: float, w: float, h: float, ink: int) -> None:
        pts = np.array([self._p(x, y), self._p(x + w, y), self._p(x + w, y + h), self._p(x, y + h)], np.int32)
        cv2.fillPoly(self.img, [pts], ink, cv2.LINE_AA, 4)


def _cross(pen: Pen, rect: tuple[float, float, float, float], rng: np.random.Generator, ink: int) -> None:
    x, y, w, h = rect
    width = rng.uniform(0.3, 0.7)
    past = rng.uniform(0.3, 1.2) if rng.random() < 0.25 else 0.0
    j = lambda: rng.uniform(-0.35, 0.35)  # noqa: E731
    pen.line((x + 0.4 + j() - past, y + 0.4 + j() - past), (x + w - 0.4 + j() + past, y + h - 0.4 + j() + past),
             width, ink)
    pen.line((x + w - 0.4 + j(), y + 0.4 + j()), (x + 0.4 + j(), y + h - 0.4 + j()), width, ink)


def _filled(pen: Pen, rect: tuple[float, float, float, float], rng: np.random.Generator, ink: int) -> None:
    x, y, w, h = rect
    pen.fill(x + 0.2, y + 0.2, w - 0.4, h - 0.4, ink)
    for _ in range(int(rng.integers(0, 3))):  # a few paper specks a quick scribble leaves
        cx, cy = x + rng.uniform(0.8, w - 0.8), y + rng.uniform(0.8, h - 0.8)
        pen.fill(cx, cy, 0.25, 0.25, 255)


def _printed_at(build: Path, layouts: dict[str, Layout], booklet: int) -> tuple[Path, int]:
    """The print file holding a booklet (all-students.pdf, or all-students-B101-B200.pdf of a
    large print run) and the booklet's first page in it; booklet b has variant (b-1) mod V + 1."""
    codes = sorted(layouts)
    for pdf in sorted((build / "print").glob("all-students*.pdf")):
        m = re.search(r"-B(\d+)-B(\d+)$", pdf.stem)
        lo, hi = (int(m[1]), int(m[2])) if m else (1, 10 ** 9)
        if lo <= booklet <= hi:
            return pdf, 1 + sum(max(layouts[codes[(b - 1) % len(codes)]].pages) for b in range(lo, booklet))
    raise FileNotFoundError(f"{build}/print: no print file with booklet {booklet}")


def _pdf_pages(pdf: Path, first: int, dpi: int, count: int) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", str(first), "-l", str(first + count - 1), str(pdf),
                        f"{tmp}/p"], check=True)
        files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]


def simulate(build: Path, layouts: dict[str, Layout], truth: list[Booklet], dpi: int, rng: np.random.Generator,
             ) -> list[tuple[np.ndarray, tuple[str, int, int]]]:
    """Every page of every booklet, filled and printed at dpi (not yet distorted)."""
    out = []
    for bk in truth:
        lay = layouts[bk.variant]
        printed = _pdf_pages(*_printed_at(build, layouts, bk.number), dpi, max(lay.pages))
        for n, page in sorted(lay.pages.items()):
            img = printed[n - 1]
            pen = Pen(img, dpi)
            ink = int(rng.integers(0, 70))  # one pen per booklet page
            for b in page.boxes:
                if b.kind == "mc":
                    state = bk.boxes[(b.column, int(b.number))]
                    if state == "crossed":
                        _cross(pen, b.rect, rng, ink)
                    elif state in ("filled", "refilled"):
                        _filled(pen, b.rect, rng, ink)
                elif b.kind == "recheck" and bk.boxes[(b.column, int(b.number))] == "refilled":
                    _cross(pen, b.rect, rng, ink)
                elif b.kind == "score" and bk.scores.get((b.column, b.corrector)) == b.number:
                    _cross(pen, b.rect, rng, int(rng.integers(0, 90)))
                elif b.kind == "registration" and _reg_crossed(bk.registration, b.corrector, int(b.number)):
                    _cross(pen, b.rect, rng, ink)
            out.append((img, (bk.variant, bk.number, n)))
    return out


def blank_qr(img: np.ndarray, qr: tuple[float, float, float, float], dpi: int) -> None:
    """Paint a printed page's QR code over with paper (before the scanner distorts it): unreadable."""
    x, y, w, h = qr
    s = dpi / 25.4
    img[int((y - 1) * s):int((y + h + 1) * s), int((x - 1) * s):int((x + w + 1) * s)] = 255


def distort(img: np.ndarray, dpi: int, rng: np.random.Generator, upside_down: bool) -> np.ndarray:
    """Rotation ±3°, shift ±4 mm, scale 0.97-1.03, blur, noise; captured as an A4 scan."""
    s = dpi / 25.4
    h, w = img.shape
    angle = rng.uniform(-3, 3) + (180 if upside_down else 0)
    scale = rng.uniform(0.97, 1.03)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += rng.uniform(-4, 4, 2) * s
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=int(rng.integers(200, 256)))
    sigma = rng.uniform(0.03, 0.12) * s  # blur up to 0.12 mm
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    noise = rng.normal(0, rng.uniform(2, 10), out.shape)
    lo, hi = rng.uniform(0, 40), rng.uniform(215, 255)  # toner and paper
    return np.clip(lo + out.astype(np.float64) * (hi - lo) / 255 + noise, 0, 255).astype(np.uint8)


def scan_pages(pages: list[tuple[np.ndarray, tuple[str, int, int]]], dpi: int, rng: np.random.Generator,
               upside_down: float = 0.1) -> list[tuple[np.ndarray, tuple[str, int, int]]]:
    """Distorted and shuffled."""
    out = [(distort(img, dpi, rng, rng.random() < upside_down), who) for img, who in pages]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def jpeg(img: np.ndarray, quality: int = 60) -> bytes:
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def write_scans(pages: list[tuple[np.ndarray, tuple[str, int, int]]], folder: Path, dpi: int, per_file: int = 8,
                as_pdf: bool = True) -> list[Path]:
    """JPEG q60 pages, several per PDF (img2pdf-like via Pillow) or one JPEG each."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if not as_pdf:
        for i, (img, _) in enumerate(pages):
            f = folder / f"scan{i:04d}.jpg"
            f.write_bytes(jpeg(img))
            files.append(f)
        return files
    for k in range(0, len(pages), per_file):
        f = folder / f"scan{k // per_file:03d}.pdf"
        f.write_bytes(jpeg_pdf([img for img, _ in pages[k:k + per_file]], dpi))
        files.append(f)
    return files


def jpeg_pdf(images: list[np.ndarray], dpi: int, quality: int = 60) -> bytes:
    """A PDF of JPEG pages, as a scanner writes it (one DCT image per page)."""
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for img in images:
        h, w = img.shape
        data = jpeg(img, quality)
        n = len(objs)
        pw, ph = w * 72 / dpi, h * 72 / dpi
        objs.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, len(data))
                    + data + b"\nendstream")
        content = b"q %.3f 0 0 %.3f 0 0 cm /Im0 Do Q" % (pw, ph)
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Resources << /XObject << /Im0 %d 0 R "
                    b">> >> /Contents %d 0 R >>" % (pw, ph, n + 1, n + 2))
        kids.append(b"%d 0 R" % (n + 3))
    objs[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def rotation_deg(h: list[list[float]]) -> float:
    return math.degrees(math.atan2(h[1][0], h[0][0]))
