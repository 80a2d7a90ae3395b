"""One scanned page from pixels to numbers: load -> identify (QR) -> register (discs and QR
corners, a homography layout-mm -> pixels) -> measure (every box of that page).

Nothing here decides anything: the measurements (mean darkness, paper radius) are stored
and classify.py turns them into values with thresholds that can change without rescanning."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from ..errors import GradingError
from .layout import Box, Layout, PageLayout

PX_PER_MM = 8.0  # the canonical page every box is measured on (203 dpi)
MARGIN_MM = {"mc": 0.5, "recheck": 0.5, "score": 0.6, "registration": 0.5}  # skip the frame (and registration error)
CONTEXT_MM = 1.5  # around a box in its review crop
ANSWER_PX_PER_MM = 4.0  # an answer region's crop for the correction app (grey PNG, 102 dpi)
REACH_MM = 20.0  # how far from its place on the page a corner disc is searched when the QR code is unreadable
QUIET_MM = 4.0  # white margin around the QR code when it is read again from its expected place
QR_SHIFT_MM = 0.7  # how far from where the discs put it a cut QR code's module grid is searched
REF_PX_PER_MM = 4.0  # a page identified by its print is compared at 102 dpi
REF_BLUR_MM = 0.5  # ... blurred by this (the registration by three discs is good to a few tenths of a mm)
CONTENT_MIN = 0.5  # correlation below which a page is not a page of the build
CONTENT_MARGIN = 0.05  # candidates within this of the best correlation stay candidates
DIFF_SHIFT_PX = 3  # where alike candidates differ, each is compared at its best shift up to this
DIFF_MARGIN = 0.1  # ... and stays a candidate within this of the best (measured: the right one leads by >= 0.2)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pgm", ".pnm", ".bmp")
# EXAM-E0001-B017-07: exam id, variant, booklet, page
QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
CODE = re.compile(r"^(?P<exam>[A-Z0-9 $%*+./:-]*?)-?(?P<variant>E\d{4})-B(?P<booklet>\d+)-(?P<page>\d+)$")


@dataclass(frozen=True)
class Identity:
    exam: str
    variant: str
    booklet: int
    page: int
    text: str


@dataclass
class Measured:
    """One box's numbers: mean darkness (0 paper .. 1 ink) and the radius in mm of the largest
    paper disc left inside (a cross leaves paper between its strokes, a filled box none)."""

    box: Box
    dark: float
    paper: float
    share: float = 0.0  # the share of the box's inside that is paper
    crop: bytes = b""


@dataclass
class PageRead:
    file_index: int  # the page's index in its file (from 0)
    identity: Identity | None = None
    how: str = "qr"  # "qr" | "content": the QR code said which page it is, or the page's print did
    # identified by content: the (variant, page) it may be, best first, each with its boxes measured
    candidates: list[tuple[str, int, list[Measured]]] = field(default_factory=list)
    transform: list[list[float]] = field(default_factory=list)  # 3x3 homography, layout mm -> pixels
    residual: float = 0.0  # mm, RMS of the fitted marks
    discs: int = 0  # corner discs found
    problem: str = ""  # why the page could not be read ('' = read)
    boxes: list[Measured] = field(default_factory=list)
    answers: list[tuple[str, bytes]] = field(default_factory=list)  # (part column, grey PNG of its answer region)


# ------------------------------------------------------------------ load
def _pdf_dpi(path: Path) -> int:
    """The resolution the scanner used (of the first page's image), to rasterise at; 300 when unknown."""
    try:
        out = subprocess.run(["pdfimages", "-list", "-f", "1", "-l", "1", str(path)], capture_output=True,
                             text=True, timeout=60).stdout.splitlines()[2:]
        return int(min(400, max(100, max(int(float(line.split()[12])) for line in out))))
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return 300


def load(path: Path, work: Path) -> Iterator[np.ndarray]:
    """The pages of a scan file as greyscale images (PDF: rasterised at the scan's resolution)."""
    path = Path(path)
    unreadable = f"{path}: cannot read it as a scan (a PDF or PNG/JPEG/TIFF image); check the file or leave it out"
    if not path.is_file():
        raise GradingError(f"{path}: no such scan file; give PDFs or images of the scanned pages")
    if path.suffix.lower() == ".pdf":
        if shutil.which("pdftoppm") is None:
            raise GradingError(f"{path}: reading PDF scans needs pdftoppm (poppler-utils); install it")
        folder = work / f"pdf{len(list(work.iterdir()))}"
        folder.mkdir()
        run = subprocess.run(["pdftoppm", "-r", str(_pdf_dpi(path)), "-gray", str(path), str(folder / "p")],
                             capture_output=True, text=True)
        files = sorted(folder.glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        if run.returncode != 0 or not files:
            raise GradingError(unreadable)
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            f.unlink()
            if img is None:
                raise GradingError(unreadable)
            yield img
        folder.rmdir()
        return
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise GradingError(f"{path}: not a PDF or image ({', '.join(IMAGE_SUFFIXES)}); convert it or leave it out")
    ok, images = cv2.imreadmulti(str(path), flags=cv2.IMREAD_GRAYSCALE)
    if not ok or not images:
        raise GradingError(unreadable)
    yield from images


# ------------------------------------------------------------------ identify
def _decode(img: np.ndarray, binarizer: zxingcpp.Binarizer) -> tuple[Identity, np.ndarray] | None:
    for found in zxingcpp.read_barcodes(img, formats=QR, binarizer=binarizer):
        m = CODE.match(found.text)
        if m:
            p = found.position
            corners = np.array([[c.x, c.y] for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)],
                               dtype=np.float64)
            return Identity(m["exam"], m["variant"], int(m["booklet"]), int(m["page"]), found.text), corners
    return None


def identify(img: np.ndarray) -> tuple[Identity | None, np.ndarray | None]:
    """The page's code and the QR symbol's corners in pixels (top-left, top-right, bottom-right,
    bottom-left of the symbol: the orientation comes with them). When the whole page does not
    give it, each corner quarter again, enlarged twice and with a global binarizer (a blurred or
    low-contrast 150 dpi scan)."""
    found = _decode(img, zxingcpp.Binarizer.LocalAverage)
    if found is not None:
        return found
    h, w = img.shape[:2]
    for y0 in (0, h // 2):
        for x0 in (0, w // 2):
            part = cv2.resize(img[y0:y0 + h // 2, x0:x0 + w // 2], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
                found = _decode(part, binarizer)
                if found is not None:
                    return found[0], found[1] / 2 + (x0, y0)
    return None, None


# ------------------------------------------------------------------ register
def _qr_corners_mm(page: PageLayout) -> np.ndarray:
    x, y, w, h = page.qr
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares affine map src -> dst as a 3x3 matrix."""
    a = np.hstack([src, np.ones((len(src), 1))])
    m = np.linalg.lstsq(a, dst, rcond=None)[0].T
    return np.vstack([m, [0, 0, 1]])


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares similarity (rotation, one scale, shift) src -> dst as a 3x3 matrix: what a
    scanner does to a page, without the shear and stretch that an affine fit reads into a few pixels'
    error in the QR code's corners (zxing's are off by up to a module)."""
    x, y = src[:, 0], src[:, 1]
    one, zero = np.ones(len(src)), np.zeros(len(src))
    a = np.vstack([np.column_stack([x, -y, one, zero]), np.column_stack([y, x, zero, one])])
    (c, s, tx, ty), *_ = np.linalg.lstsq(a, np.concatenate([dst[:, 0], dst[:, 1]]), rcond=None)
    return np.array([[c, -s, tx], [s, c, ty], [0, 0, 1.0]])


def _find_disc(img: np.ndarray, centre: np.ndarray, d_px: float, reach: float = 0.0) -> np.ndarray | None:
    """The centre of the filled disc of diameter d_px nearest to centre, searched within reach
    pixels (default 3.5 diameters, 12 mm: the QR-only estimate is off by up to 7.5 mm); None
    when no blob has a disc's shape."""
    r = int(reach or 3.5 * d_px)
    x0, y0 = int(centre[0]) - r, int(centre[1]) - r
    xa, ya = max(0, x0), max(0, y0)
    win = img[ya:max(ya, y0 + 2 * r), xa:max(xa, x0 + 2 * r)]
    if win.size == 0 or min(win.shape) < d_px:
        return None
    white = float(np.percentile(win, 90))
    black = float(win.min())
    if white - black < 40:
        return None
    mask = (win < (white + black) / 2).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area = np.pi * d_px * d_px / 4
    best, best_dist = None, np.inf
    for i in range(1, n):
        x, y, w, h, a = stats[i]
        if not (0.55 * area <= a <= 1.6 * area and 0.7 <= w / h <= 1.4 and a >= 0.6 * w * h
                and 0.75 * d_px <= max(w, h) <= 1.35 * d_px):
            continue
        if x == 0 or y == 0 or x + w >= win.shape[1] or y + h >= win.shape[0]:
            continue  # cut by the window or the scan's edge: not whole
        c = cents[i] + (xa, ya)
        dist = float(np.hypot(*(c - centre)))
        if dist < best_dist:
            best, best_dist = c, dist
    return best


def register(img: np.ndarray, page: PageLayout, qr_px: np.ndarray) -> tuple[np.ndarray, float, int]:
    """The homography layout mm -> pixels from the QR corners and the corner discs, the RMS
    residual of its points in mm, and how many discs were found."""
    qr_mm = _qr_corners_mm(page)
    # where the discs are looked for: a similarity fitted to the QR corners (a perspective or affine
    # fit to one small square extrapolates wildly: a corner off by 5 pixels put the disc 300 mm away
    # 100 pixels off, outside its search), then, nearest disc first, refitted to the corners and the
    # discs found so far (their long baselines fix the rotation and scale that the code's corners cannot)
    rough = _similarity(qr_mm, qr_px)
    centre = qr_mm.mean(axis=0)
    src, dst = [centre], [qr_px.mean(axis=0)]
    scale = float(np.linalg.norm(qr_px[1] - qr_px[0]) / page.qr[2])  # px per mm
    for x, y, d in sorted(page.marks, key=lambda m: float(np.hypot(m[0] - centre[0], m[1] - centre[1]))):
        guess = _apply(rough, np.array([[x, y]]))[0]
        found = _find_disc(img, guess, d * scale)
        if found is not None:
            src.append(np.array([x, y]))
            dst.append(found)
            rough = _similarity(np.vstack([qr_mm, src[1:]]), np.vstack([qr_px, dst[1:]]))
    discs = len(src) - 1
    if discs >= 3:
        s, t = np.array(src), np.array(dst)
        h, _ = cv2.findHomography(s, t, 0)
        if h is None:
            h = rough
        # the QR corners say where the code is, up to a module: a check of the fit, not part of it
        fitted = np.vstack([s, qr_mm])
        target = np.vstack([t, qr_px])
    elif discs >= 1:
        s, t = np.vstack([qr_mm, np.array(src[1:])]), np.vstack([qr_px, np.array(dst[1:])])
        h = _affine(s, t)
        fitted, target = s, t
    else:
        h, fitted, target = _affine(qr_mm, qr_px), qr_mm, qr_px
    err = np.linalg.norm(_apply(h, fitted) - target, axis=1) / scale
    return h, float(np.sqrt(np.mean(err ** 2))), discs


# ------------------------------------------------------------------ a page without a readable QR code
def _corner(x: float, y: float, size: tuple[float, float]) -> tuple[int, int]:
    """Which corner of the page a point is nearest: (0 left | 1 right, 0 top | 1 bottom)."""
    return int(x > size[0] / 2), int(y > size[1] / 2)


def _disc_frame(img: np.ndarray, layouts: dict[str, Layout]) -> tuple[np.ndarray, list[tuple[str, PageLayout]]] | None:
    """The affine map layout mm -> pixels from the three corner discs alone, and the (variant,
    page)s of `layouts` that fit it: the corner of the scan that holds no disc holds the QR code, which says
    the page's side (odd and even pages keep the code in different corners) and whether it is
    upside down (a turned page has its discs in the mirrored corners). None unless exactly
    three corners hold a disc."""
    h_px, w_px = img.shape[:2]
    size = next(iter(layouts.values())).size
    scale = (w_px / size[0] + h_px / size[1]) / 2  # px per mm: the scan holds the page
    marks = {_corner(x, y, size): (x, y, d) for lay in layouts.values() for p in lay.pages.values()
             for x, y, d in p.marks}
    found = {}
    for c, (x, y, d) in marks.items():
        disc = _find_disc(img, np.array([x, y]) * scale, d * scale, reach=REACH_MM * scale)
        if disc is not None:
            found[c] = disc
    if len(found) != 3:
        return None
    empty = next(c for c in ((0, 0), (1, 0), (0, 1), (1, 1)) if c not in found)
    for turned in (False, True):
        qr_corner = (1 - empty[0], 1 - empty[1]) if turned else empty
        pages = [(v, p) for v, lay in sorted(layouts.items()) for p in lay.pages.values()
                 if lay.size == size and _corner(p.qr[0] + p.qr[2] / 2, p.qr[1] + p.qr[3] / 2, size) == qr_corner]
        if not pages:
            continue
        src, dst = [], []
        for x, y, _ in pages[0][1].marks:
            c = _corner(x, y, size)
            seen = (1 - c[0], 1 - c[1]) if turned else c
            if seen not in found:
                break
            src.append((x, y))
            dst.append(found[seen])
        else:
            if len(src) == 3:
                return _affine(np.array(src, np.float64), np.array(dst, np.float64)), pages
    return None


def _qr_again(img: np.ndarray, h: np.ndarray, page: PageLayout) -> tuple[Identity, np.ndarray] | None:
    """The QR code read from its expected place, warped flat with a white quiet zone around it
    (a code cut off in its quiet zone only, or too skewed for the whole-page search); its
    corners in the scan's pixels."""
    px = 12.0  # per mm: about 6 pixels a module
    x, y, w, hh = page.qr
    q = QUIET_MM
    to_crop = np.array([[px, 0, -(x - q) * px], [0, px, -(y - q) * px], [0, 0, 1.0]])
    size = (int((w + 2 * q) * px), int((hh + 2 * q) * px))
    flat = cv2.warpPerspective(img, h @ np.linalg.inv(to_crop), size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    for binarizer in (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram):
        found = _decode(flat, binarizer)
        if found is not None:
            return found[0], _apply(h @ np.linalg.inv(to_crop), found[1])
    inside = cv2.warpPerspective(np.full(img.shape[:2], 255, np.uint8), h @ np.linalg.inv(to_crop), size,
                                 flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=0) > 0
    rebuilt = _qr_rebuilt(flat, inside, q * px, w * px)
    if rebuilt is None:
        return None
    return rebuilt[0], _apply(h @ np.linalg.inv(to_crop), rebuilt[1])


def _function_modules(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A version-1 symbol's fixed modules (finder patterns and their separators, timing
    patterns, the dark module): which they are and which of them are dark."""
    fixed, dark = np.zeros((n, n), bool), np.zeros((n, n), bool)
    ring = np.ones((7, 7), bool)
    ring[1:6, 1:6] = False
    ring[2:5, 2:5] = True
    for r, c in ((0, 0), (0, n - 7), (n - 7, 0)):
        fixed[max(0, r - 1):r + 8, max(0, c - 1):c + 8] = True  # with the separator
        dark[r:r + 7, c:c + 7] = ring
    fixed[6, 8:n - 8] = fixed[8:n - 8, 6] = True
    dark[6, 8:n - 8:2] = dark[8:n - 8:2, 6] = True
    fixed[n - 8, 8] = dark[n - 8, 8] = True
    return fixed, dark


def _qr_rebuilt(flat: np.ndarray, inside: np.ndarray, at: float, side: float) -> tuple[Identity, np.ndarray] | None:
    """A code cut off at the paper's edge by a module or two: its module grid fitted to the
    fixed patterns left on the scan (within QR_SHIFT_MM of where the discs put it), the
    modules read, the fixed ones and those off the scan redrawn (as known, or light: the
    error correction restores a few), and the clean symbol decoded. `flat`: the code's
    surroundings, `at` pixels from the crop's corner, `side` pixels wide; `inside`: where
    `flat` shows the scan. Returns the identity and the symbol's corners in `flat`."""
    n = 21  # version 1 (qrcodes.py)
    fixed, dark = _function_modules(n)
    module = side / n
    box = flat[int(at):int(at + side), int(at):int(at + side)]
    seen = inside[int(at):int(at + side), int(at):int(at + side)]
    if not seen.any():
        return None
    threshold, _ = cv2.threshold(box[seen].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    smooth = cv2.blur(flat, (3, 3))  # a module's centre: the mean of its middle pixels

    sign = np.where(dark, 1.0, -1.0)

    def grid(dx: float, dy: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
        centres = (np.arange(n) + 0.5) * module * scale
        ys = np.clip(np.round(at + dy + centres).astype(int), 0, flat.shape[0] - 1)
        xs = np.clip(np.round(at + dx + centres).astype(int), 0, flat.shape[1] - 1)
        return threshold - smooth[np.ix_(ys, xs)].astype(np.float64), inside[np.ix_(ys, xs)]

    # the grid where the fixed modules stand out most (dark ones darkest, light ones lightest):
    # module centres, not just somewhere inside the modules
    best = (-np.inf, 0.0, 0.0, 1.0)
    reach = QR_SHIFT_MM * side / 10.0  # the symbol is 10 mm wide
    for scale in (0.98, 0.99, 1.0, 1.01, 1.02):
        for dy in np.arange(-reach, reach + 1e-9, module / 6):
            for dx in np.arange(-reach, reach + 1e-9, module / 6):
                ink, seen_here = grid(dx, dy, scale)
                ok = seen_here & fixed
                if ok.sum() > 40:
                    contrast = float((ink * sign)[ok].mean())
                    if contrast > best[0]:
                        best = (contrast, dx, dy, scale)
    _, dx, dy, scale = best
    ink, seen_here = grid(dx, dy, scale)
    ok = seen_here & fixed
    if not ok.any() or float(((ink > 0) == dark)[ok].mean()) < 0.9:
        return None
    modules = (ink > 0) & seen_here
    modules[fixed] = dark[fixed]
    clean = np.pad(np.where(modules, 0, 255).astype(np.uint8), 4, constant_values=255)
    found = _decode(cv2.resize(clean, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST),
                    zxingcpp.Binarizer.GlobalHistogram)
    if found is None:
        return None
    x0, y0, w = at + dx, at + dy, side * scale
    corners = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + w], [x0, y0 + w]], np.float64)
    return found[0], corners


class Reference:
    """The build's student pages as printed (each variant's student.pdf, rendered once, when a
    page first needs it, at REF_PX_PER_MM), to identify a page by its print when its QR code is
    unreadable. Compared: the page's darkness, blurred, outside everything a student or a
    corrector writes in (MC boxes, recheck squares, score grids, answer regions) and the QR code."""

    def __init__(self, build_dir: Path, layouts: dict[str, Layout]):
        self.build_dir, self.layouts = Path(build_dir), layouts
        self._pages: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._rendered: set[str] = set()

    def page(self, variant: str, number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The (darkness, mask, darkness blurred) of a variant's page (blurred once, not per page
        compared); None when its student.pdf cannot be rendered."""
        if variant not in self._rendered:
            self._rendered.add(variant)
            self._render(variant)
        return self._pages.get((variant, number))

    def _render(self, variant: str) -> None:
        pdf = self.build_dir / variant / "student.pdf"
        layout = self.layouts[variant]
        if not pdf.is_file() or shutil.which("pdftoppm") is None:
            return
        with tempfile.TemporaryDirectory(prefix="examgen-scan-ref-") as tmp:
            run = subprocess.run(["pdftoppm", "-r", f"{REF_PX_PER_MM * 25.4:g}", "-gray", str(pdf), f"{tmp}/p"],
                                 capture_output=True)
            if run.returncode != 0:
                return
            files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
            for n, f in enumerate(files, 1):
                page = layout.pages.get(n)
                img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
                if page is None or img is None:
                    continue
                size = (int(round(layout.size[0] * REF_PX_PER_MM)), int(round(layout.size[1] * REF_PX_PER_MM)))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                dark = _darkness(img.astype(np.float32))
                self._pages[(variant, n)] = (dark, _mask(page, size), _blurred(dark))


def _darkness(page: np.ndarray) -> np.ndarray:
    """Grey levels as darkness (0 paper .. 1 ink), normalised per page: the median is paper,
    the 1st percentile ink."""
    sample = page[::4, ::4]
    white = float(np.median(sample))
    black = float(np.percentile(sample, 1))
    if white - black < 30:
        black = white - 30
    return np.clip((white - page.astype(np.float32)) / (white - black), 0, 1)


def _blurred(dark: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(dark, (0, 0), REF_BLUR_MM * REF_PX_PER_MM)


def _mask(page: PageLayout, size: tuple[int, int]) -> np.ndarray:
    """True where the print alone is on the page: not in a box, answer region or the QR code."""
    mask = np.ones((size[1], size[0]), bool)
    m = 1.5  # mm around each: pen strokes past a box
    for x, y, w, h in [b.rect for b in page.boxes] + list(page.regions) + [page.qr]:
        x0, y0 = max(0, int((x - m) * REF_PX_PER_MM)), max(0, int((y - m) * REF_PX_PER_MM))
        mask[y0:int((y + h + m) * REF_PX_PER_MM) + 1, x0:int((x + w + m) * REF_PX_PER_MM) + 1] = False
    return mask


def _ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    x, y = a[mask].astype(np.float64), b[mask].astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else 0.0


def by_content(img: np.ndarray, h: np.ndarray, pages: list[tuple[str, PageLayout]], size: tuple[float, float],
               reference: Reference) -> list[tuple[str, int]]:
    """The (variant, page)s a registered page may be, best first: every candidate whose print
    correlates with the page within CONTENT_MARGIN of the best one; [] when even the best is
    below CONTENT_MIN (not a page of this build)."""
    sharp = canonical(img, h, size, REF_PX_PER_MM)
    seen = _blurred(sharp)
    scores = []
    for variant, page in pages:
        ref = reference.page(variant, page.page)
        if ref is not None:
            scores.append((_ncc(seen, ref[2], ref[1]), variant, page.page))
    scores.sort(key=lambda t: -t[0])
    if not scores or scores[0][0] < CONTENT_MIN:
        return []
    found = [(v, p) for score, v, p in scores if score >= scores[0][0] - CONTENT_MARGIN]
    return _where_they_differ(sharp, found, reference) if len(found) > 1 else found


def _where_they_differ(sharp: np.ndarray, found: list[tuple[str, int]], reference: Reference) -> list[tuple[str, int]]:
    """The candidates that print alike (a cover page that differs in the variant code in its
    footer) compared again, unblurred, only where their prints differ, each at its best shift
    within DIFF_SHIFT_PX (the registration by three discs is good to a few tenths of a mm);
    the candidates within DIFF_MARGIN of the best there."""
    refs = [reference.page(v, p) for v, p in found]
    darks = [r[0] for r in refs if r is not None]
    if len(darks) != len(found):
        return found
    mask = np.logical_and.reduce([r[1] for r in refs if r is not None])
    differ = ((np.max(darks, axis=0) - np.min(darks, axis=0)) > 0.3) & mask
    if not differ.any():
        return found
    near = cv2.dilate(differ.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    near[:DIFF_SHIFT_PX], near[-DIFF_SHIFT_PX:], near[:, :DIFF_SHIFT_PX], near[:, -DIFF_SHIFT_PX:] = (False,) * 4
    ys, xs = np.nonzero(near)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    shifts = range(-DIFF_SHIFT_PX, DIFF_SHIFT_PX + 1)
    scores = [(max(_ncc(sharp[y0 + dy:y1 + dy, x0 + dx:x1 + dx], dark[y0:y1, x0:x1], near[y0:y1, x0:x1])
                   for dy in shifts for dx in shifts), v, p) for (v, p), dark in zip(found, darks)]
    top = max(score for score, _, _ in scores)
    return [(v, p) for score, v, p in sorted(scores, key=lambda t: -t[0]) if score >= top - DIFF_MARGIN]


# ------------------------------------------------------------------ measure
def canonical(img: np.ndarray, h: np.ndarray, size: tuple[float, float], px: float = PX_PER_MM) -> np.ndarray:
    """The page resampled into layout space at px per mm, as darkness (0 paper .. 1 ink)."""
    s = np.diag([px, px, 1.0])
    w, hh = int(round(size[0] * px)), int(round(size[1] * px))
    page = cv2.warpPerspective(img, h @ np.linalg.inv(s), (w, hh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
    return _darkness(page)


def _crop_png(dark: np.ndarray, rect: tuple[float, float, float, float]) -> bytes:
    x, y, w, h = rect
    c = CONTEXT_MM
    x0, y0 = max(0, int((x - c) * PX_PER_MM)), max(0, int((y - c) * PX_PER_MM))
    x1, y1 = int((x + w + c) * PX_PER_MM), int((y + h + c) * PX_PER_MM)
    ok, buf = cv2.imencode(".png", (255 - 255 * dark[y0:y1, x0:x1]).astype(np.uint8))
    return buf.tobytes() if ok else b""


def answer_crops(dark: np.ndarray, page: PageLayout) -> list[tuple[str, bytes]]:
    """Each answer region of a registered page as a grey PNG at ANSWER_PX_PER_MM, for the
    tutors of `examgen correct` (kept small: a region of a few cm^2 is a few kB)."""
    crops = []
    f = ANSWER_PX_PER_MM / PX_PER_MM
    for column, (x, y, w, h) in zip(page.region_columns, page.regions):
        x0, y0 = max(0, int(x * PX_PER_MM)), max(0, int(y * PX_PER_MM))
        part = dark[y0:int((y + h) * PX_PER_MM), x0:int((x + w) * PX_PER_MM)]
        if part.size == 0:
            continue
        small = cv2.resize(part, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        small = np.where(small < 0.15, 0, np.round(small * 15) / 15)  # paper white, 16 greys: a few kB, not 60
        ok, buf = cv2.imencode(".png", (255 - 255 * small).astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if ok:
            crops.append((column, buf.tobytes()))
    return crops


def measure(dark: np.ndarray, box: Box) -> Measured:
    x, y, w, h = box.rect
    m = MARGIN_MM[box.kind]
    x0, y0 = int(round((x + m) * PX_PER_MM)), int(round((y + m) * PX_PER_MM))
    x1, y1 = int(round((x + w - m) * PX_PER_MM)), int(round((y + h - m) * PX_PER_MM))
    inner = dark[y0:y1, x0:x1]
    if inner.size == 0:
        return Measured(box, 0.0, 0.0, 0.0, _crop_png(dark, box.rect))
    paper = (inner < 0.4).astype(np.uint8)
    share = float(paper.mean())
    framed = cv2.copyMakeBorder(paper, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)  # the frame is ink
    radius = float(cv2.distanceTransform(framed, cv2.DIST_L2, 3).max()) / PX_PER_MM
    return Measured(box, float(inner.mean()), radius, share, _crop_png(dark, box.rect))


def read_page(img: np.ndarray, index: int, layouts: dict[str, Layout], reference: Reference | None = None) \
        -> PageRead:
    """identify -> register -> measure one page image. A page whose QR code cannot be read is
    registered by its three corner discs, its code read again from where it must be, and else
    (with a `reference`) identified by its print: its candidates, each with its boxes measured
    (the booklet is decided over all pages: classify.assign_booklets)."""
    read = PageRead(index)
    ident, qr_px = identify(img)
    if ident is None or qr_px is None:
        frame = _disc_frame(img, layouts)
        if frame is None:
            read.problem = "no readable QR code, and not three corner discs"
            return read
        h, pages = frame
        again = _qr_again(img, h, pages[0][1])
        if again is not None and (again[0].variant, again[0].page) in [(v, p.page) for v, p in pages]:
            ident, qr_px = again  # (a code of another side or orientation than the discs say: not believed)
        elif reference is None:
            read.problem = "no readable QR code"
            return read
        else:
            size = next(iter(layouts.values())).size
            read.how, read.discs, read.transform = "content", 3, h.tolist()
            found = by_content(img, h, pages, size, reference)
            if not found:
                read.problem = "no readable QR code, and its print is no page of this build"
                return read
            dark = canonical(img, h, size)
            read.candidates = [(v, p, [measure(dark, b) for b in layouts[v].pages[p].boxes]) for v, p in found]
            return read  # no problem yet: classify.assign_booklets decides which booklet it is
    read.identity = ident
    layout = layouts.get(ident.variant)
    page = layout.pages.get(ident.page) if layout else None
    if layout is None or page is None:
        read.problem = f"QR {ident.text!r}: the build has no such variant/page"
        return read
    if layout.exam_id and ident.exam != layout.exam_id:  # another exam's (or an older build's) page
        read.problem = f"QR {ident.text!r}: a page of exam {ident.exam}, not of this build ({layout.exam_id})"
        return read
    h, read.residual, read.discs = register(img, page, qr_px)
    read.transform = h.tolist()
    dark = canonical(img, h, layout.size)
    read.boxes = [measure(dark, b) for b in page.boxes]
    read.answers = answer_crops(dark, page)
    return read
