"""The Compiler: LaTeX -> PDF, fast and safe, for one command.

- **Batches.** Many variants of one version go into one document (the class
  starts each with \\egbeginvariant and logs where it starts and how many pages
  it has); one pdflatex process typesets the batch and qpdf splits it into one
  PDF per variant (batching.py, qpdf.py).
- **Lanes.** Typeset with its scan codes, the opening (up to 24 variants) is two lanes,
  each one document of both versions (batching.Pair: each variant's student pages, then
  its solution's), side by side: against a student and a solution run per batch, a run's
  format, cover, figures and fonts once instead of twice, and the solutions take the
  statements their student versions typeset (typeset_pair). A lane that fails goes apart:
  each version a batch of its own, its failures named as without lanes.
- **A precompiled preamble.** The preamble (the class and its packages) is
  dumped once into a format with mylatexformat and reused; it is cached on disk
  keyed by the class, the preamble and the TeX installation.
- **One pass.** Page totals ("Page n / N", "N pages" on the cover) are typeset in the
  pass that counts them: the class prints each as a PDF object written once the
  variant's last page is out, as wide as the digits of a guess (the total remembered
  from the last build of the exam, else _first_guess from the layout's lower bound);
  the scan codes are defined for that many pages. The log tells whether every variant
  fits its guess (_fits), else the batch gets a second pass with its totals. The
  solution paginates identically by construction and is checked.
- **Cache.** A batch whose source, format and scan codes are unchanged is not
  compiled again: its per-variant PDFs (and the batch PDF, which the print files are
  joined from) come from the verified cache (cache.py).
- **TeX first.** A build may start its format before Python loads the bank
  (start_format: it depends on the layout and language only). The first pair's TeX
  runs start as soon as the format is there (with a cached format, before its variants
  are drawn) and typeset each variant as it comes (Opening, streamed into a FIFO:
  TexRunner.stream); the cache is looked up once its source is complete.
- **Processes.** A Compiler owns its TeX processes (tex.py): cancel() stops
  them all; a timeout ends the build.
- **Failures.** When a batch fails, its variants are compiled alone to name the
  one that broke it; its .tex and .log ride along in the error for the
  diagnostics folder.
"""

from __future__ import annotations

import gzip
import itertools
import json
import operator
import os
import shutil
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from .. import cachedir
from ..errors import ExamgenError, LatexError, LayoutError
from ..layouts import SOLUTION, STUDENT, VERSIONS, Region, regions
from . import qpdf
from .batching import END, VARIANT_LINE, Batch, Built, Opening, Pair, Piece, pair_label
from .cache import Cache, CacheStats, key, tex_identity
from .tex import PDFLATEX, TIMEOUT, Standby, TexRunner, TexTimeout, excerpt

T = TypeVar("T")
Item = TypeVar("Item")
Regions = dict[str, tuple[Region, ...]]  # variant code -> its answer regions
Versions = dict[str, dict[str, Built]]  # version -> {variant code: Built} (a Pair's)
REGIONS = "regions.json"  # in a PDF cache entry: {variant code: [[a Region's fields in REGION_FIELDS order], ...]}
BATCH = "batch.pdf"  # in a PDF cache entry: the batch's PDF (the print files are joined from it)
REGION_FIELDS = tuple(f.name for f in fields(Region))
_ROW = operator.attrgetter(*REGION_FIELDS)  # a Region's fields as a row of regions.json
TOTAL = "total.json"  # in a totals cache entry: the usual page total of a compile_exam's documents
MARKS = "qr.tex"  # in a marks cache entry: the scan codes' definitions of a batch (Batch.marks)


class Cached(Exception):
    """A streamed batch's first variant is that of a batch in the cache: the run is given up (the
    whole batch is likely there; Compiler.typeset looks it up once it is complete)."""


class Abandoned(Exception):
    """A streamed batch will not be complete: the drawing of its variants failed (the build ends)."""


class Feed(Generic[Item]):
    """A streamed batch's variants as they are drawn (Opening): put by the thread that draws them,
    read by the thread whose TeX run they are written into (Compiler.typeset_streamed)."""

    def __init__(self, shell: Batch, codes: tuple[str, ...], pages_at_least: int = 1):
        self.shell, self.codes = shell, codes  # the document without variants; the codes it will hold
        self.pages_at_least = pages_at_least  # its variants' Piece.pages_at_least
        self._got: list[Item] = []
        self._complete: bool | None = None  # None: more may come; True: all came; False: given up
        self._cond = threading.Condition()
        # set once its TeX run holds a TeX slot and reads its source (or it will not: it failed, it was
        # given up, it goes the usual way): the next batches' runs wait for it (_Stream.run)
        self.started = threading.Event()

    @property
    def label(self) -> str:
        """The batch in messages, as Batch.label names it once complete."""
        first, last = self.codes[0], self.codes[-1]
        return f"variant {first} ({self.shell.version})" if len(self.codes) == 1 else \
            f"variants {first}-{last} ({self.shell.version})"

    def put(self, piece: Item) -> None:
        with self._cond:
            self._got.append(piece)
            self._cond.notify_all()

    def close(self, complete: bool) -> None:
        """No more variants: all came (`complete`), or the drawing failed."""
        with self._cond:
            self._complete = complete
            self._cond.notify_all()

    def __iter__(self) -> Iterator[Item]:
        """The variants as they come; Abandoned if the drawing failed."""
        i = 0
        while True:
            with self._cond:
                while i >= len(self._got) and self._complete is None:
                    self._cond.wait()
                if i < len(self._got):
                    piece = self._got[i]
                elif self._complete:
                    return
                else:
                    raise Abandoned()
            yield piece
            i += 1

    def _all(self, codes: Callable[[Item], str]) -> tuple[Item, ...]:
        """Every variant, once all came (Abandoned if the drawing failed), checked against the codes."""
        with self._cond:
            self._cond.wait_for(lambda: self._complete is not None)
            if not self._complete:
                raise Abandoned()
            got = tuple(self._got)
        if tuple(map(codes, got)) != self.codes:
            raise ExamgenError(f"{self.label}: the variants came as {', '.join(map(codes, got))} "
                               "(a bug in examgen; please report it)")
        return got

    def batch(self: Feed[Piece]) -> Batch:
        """The whole batch, once every variant came (Abandoned if the drawing failed)."""
        return self.shell.only(self._all(operator.attrgetter("code")))


class LaneFeed(Feed[tuple[Piece, Piece]]):
    """A lane's variants in both versions as they are drawn (Opening.lanes): its Pair's TeX run reads them
    (Compiler.typeset_pair_streamed)."""

    def __init__(self, student: Batch, solution: Batch, codes: tuple[str, ...], pages_at_least: int = 1):
        super().__init__(student, codes, pages_at_least)
        self.solution = solution

    @property
    def label(self) -> str:
        return pair_label(self.codes)

    def pair(self) -> Pair:
        """The whole lane, once every variant came (Abandoned if the drawing failed)."""
        got = self._all(lambda item: item[0].code)
        return Pair(self.shell.only(tuple(s for s, _ in got)), self.solution.only(tuple(t for _, t in got)))


class Mispaginated(Exception):
    """A final pass run with guessed page totals found totals that do not fit them (`pages`, _fits)."""

    def __init__(self, pages: dict[str, int]):
        super().__init__("page totals guessed wrong")
        self.pages = pages


def _first_guess(bound: int) -> int:
    """The page total a first pass guesses when no build of the exam has told it: one and a half
    times the layout's lower bound (Piece.pages_at_least: the cover and a page per problem), padded
    to a multiple of four as the class pads a variant (A3 booklets). The shipped exams' totals are
    1.1-1.7 times the bound (endterm 24 for 18, 2019 20 for 12, quiz 4 for 3): a guess above the
    total costs scan codes encoded for pages that do not come (0.5 ms each), one below it a second
    pass (_fits). `bound`: the variants' Piece.pages_at_least."""
    return 4 * -(-(3 * bound + 2) // 8)


def _fits(batch: Batch, guessed: dict[str, int], actual: dict[str, int]) -> bool:
    """Whether a pass with `guessed` totals typeset the `actual` ones (examgentum.cls, \\eg@total):
    the variants of one guess came out with one total (they show one set of objects), with as many
    digits as the guess (the width it left), and, with scan codes typeset, with no more pages than
    the guess (the codes are defined for that many)."""
    totals: dict[int, int] = {}
    for p in batch.pieces:
        g, n = guessed[p.code], actual[p.code]
        if totals.setdefault(g, n) != n or len(str(n)) != len(str(g)) or (batch.marks is not None and n > g):
            return False
    return True


def _ranges(log: str, batch: Batch) -> dict[str, tuple[int, int]]:
    found = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in VARIANT_LINE.finditer(log)}
    missing = [p.code for p in batch.pieces if p.code not in found]
    if missing:
        raise LatexError(f"{batch.label}: the class did not report the pages of {', '.join(missing)} "
                         "(EXAMGEN-VARIANT)")
    return found


def _prepare(workdir: Path, batch: Batch, fmt: Path | None, marks: str = "") -> None:
    """The format and the files the document reads (a logo; the scan codes `marks` of a final
    pass, as final-qr.tex). The class is not among them: it is in the format, and the format
    skips the preamble. Without a format (`fmt` None) TeX reads the preamble: the class files instead."""
    workdir.mkdir(parents=True, exist_ok=True)
    for f in (*batch.files, *(batch.classes if fmt is None else ())):
        shutil.copyfile(f, workdir / f.name)
    if fmt is not None:
        _link_format(workdir, fmt)
    if marks:
        (workdir / "final-qr.tex").write_text(marks, encoding="utf-8")


# what the formats are (part of their cache key): made uncompressed once dumped (_inflate_format)
FORMAT_KIND = "uncompressed"


def _inflate_format(fmt: Path) -> bytes:
    """A format just dumped by pdfTeX as pdfTeX reads it fastest: inflated in place (a run that has it open or
    linked keeps the compressed file: the same format); its inflated bytes.
    pdfTeX dumps it gzip-compressed (7 MB, 19 MB inflated) and reads it through zlib's gzread, which reads a file
    that is not compressed as it is. Inflating it took two thirds of the instructions of loading it, in every TeX
    run of a build (callgrind: 0.72 -> 0.23 G instructions for an empty document, 0.11 -> 0.05 s); here it is
    inflated once, when it is made. The same PDFs."""
    data = fmt.read_bytes()
    try:
        plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (EOFError, zlib.error):
        plain = data
    if plain is not data:
        tmp = fmt.with_name(fmt.name + ".plain")
        try:
            tmp.write_bytes(plain)
            tmp.replace(fmt)
        except OSError:  # (the folder is gone, or full: the compressed format served)
            tmp.unlink(missing_ok=True)
    return plain


def _link_format(workdir: Path, fmt: Path) -> None:
    """The format beside a document (a hard link if possible: 19 MB)."""
    target = workdir / fmt.name
    if not target.exists():
        try:
            os.link(fmt, target)
        except OSError:
            shutil.copyfile(fmt, target)


def _stored_format(cache: Cache, digest: str, name: str) -> Path:
    """Where the cache keeps the format of this key (not verified)."""
    return cache.entry("formats", digest) / f"{name}.fmt"


def _cached_format(cache: Cache | None, digest: str, name: str) -> Path | None:
    """The format of this key from the cache, verified, or None."""
    if cache is None:
        return None
    stored = _stored_format(cache, digest, name)
    return stored if cache.verified(stored.parent, [stored.name]) is not None else None


def _read_per_variant(path: Path, batch: Batch) -> dict[str, Any] | None:
    """A cache file's {variant code: value} for exactly the batch's variants, or None if it is not that."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and sorted(data) == sorted(p.code for p in batch.pieces) else None


def _read_counts(path: Path, batch: Batch) -> dict[str, int] | None:
    """{variant code: pages} for exactly the batch's variants, or None if the file is not that."""
    counts = _read_per_variant(path, batch)
    return counts if counts is not None and all(type(n) is int and n > 0 for n in counts.values()) else None


def _read_regions(path: Path, batch: Batch) -> Regions | None:
    """The regions of exactly the batch's variants from a cache entry, or None if the file is not that."""
    data = _read_per_variant(path, batch)
    try:
        return None if data is None else {code: tuple(_region(r) for r in rs) for code, rs in data.items()}
    except (TypeError, AttributeError):
        return None


def _stored(cache: Cache | None, digest: str, pdfs: list[str], batch: Batch) -> tuple[Path, Regions] | None:
    """A PDF cache entry (verified) holding exactly these variant PDFs, the regions of the batch's variants and
    the whole PDF: its folder and regions; None on a miss (a well-hashed record of the wrong shape is removed)."""
    if cache is None:
        return None
    entry = cache.verified(cache.entry("pdf", digest), [*pdfs, REGIONS, BATCH], codes=[p.code for p in batch.pieces])
    found = _read_regions(entry / REGIONS, batch) if entry is not None else None
    if entry is not None and found is None:
        cache.discard(entry)
    return (entry, found) if entry is not None and found is not None else None


def _region(row: Any) -> Region:
    """A Region from its row in regions.json (anything else, e.g. an older entry's dict: TypeError)."""
    if type(row) is not list or len(row) != len(REGION_FIELDS):
        raise TypeError(f"not a region: {row!r}")
    return Region(*row)


def _pdf_key(batch: Batch, tex: str, codes: list[tuple[str, int]], fmt: Path, marks: str) -> str:
    """A final pass's PDF cache key: its source, its variants' totals, the format, the scan codes, the
    regions' fields and the files it reads (fmt.name carries the hash of the class, the preamble and
    the TeX installation; the version, in the source, and the scan codes decide whether the regions
    are read: Batch.reads_regions)."""
    return key(tex, repr(codes), fmt.name, marks, " ".join(REGION_FIELDS), *(f.read_bytes() for f in batch.files))


def _head_key(head: str, first: str, fmt: Path) -> str:
    """Where the cache notes which PDF entry a batch with this head and first variant went to."""
    return key(head, first, fmt.name)


def _seen(cache: Cache, head: str) -> bool:
    """Whether a batch with this _head_key is in the cache (a hint: its other variants may differ)."""
    entry = cache.verified(cache.entry("heads", head), ["pdf"])
    try:
        return entry is not None and cache.entry("pdf", (entry / "pdf").read_text()).is_dir()
    except (OSError, ValueError):
        return False


def _total_entry(cache: Cache, remember: str) -> Path:
    """Where the usual page total of the documents named `remember` is kept (compile_exam)."""
    return cache.entry("totals", key(remember))


def _remembered(cache: Cache, entry: Path) -> int | None:
    """The page total kept in `entry`, if any (a record of the wrong shape is discarded)."""
    found = cache.verified(entry, [TOTAL])
    try:
        n = json.loads((found / TOTAL).read_text()) if found is not None else None
    except (OSError, ValueError):
        n = None
    if found is not None and not (type(n) is int and n > 0):  # a well-hashed record of the wrong shape
        cache.discard(found)
        return None
    return n


def _crashed(label: str, exc: Exception) -> ExamgenError:
    """A worker's unexpected exception (a bug) as the one error line that names its batch."""
    return ExamgenError(f"{label}: compiling crashed: {type(exc).__name__}: {exc} (a bug in examgen; "
                        "please report it)")


# the threads qpdf's cuttings and the cache's stores run in beside a batch's own, made once for the
# process (a SIGTERM or SIGINT is handled in the main thread whatever these do: examgen.interrupts)
_BESIDE: list[ThreadPoolExecutor] = []
_BESIDE_LOCK = threading.Lock()


def _beside(fn: Callable[..., None], *args: Any) -> Future[None]:
    """fn(*args) run at once in a thread of that pool; its outcome."""
    with _BESIDE_LOCK:
        if not _BESIDE:
            _BESIDE.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="examgen-beside"))
    return _BESIDE[0].submit(fn, *args)


def _length(batch: Batch) -> int:
    """A batch's source length without assembling it: its TeX run's cost (TexRunner.planned)."""
    return len(batch.preamble) + sum(len(p.body) for p in batch.pieces)


def _firsts(batch: Batch, pages: dict[str, int]) -> dict[str, int]:
    """Each variant's first page in the batch PDF: the variants follow each other, from page 1."""
    firsts, n = {}, 1
    for p in batch.pieces:
        firsts[p.code], n = n, n + pages[p.code]
    return firsts


def _built(batch: Batch, pdfs: dict[str, Path], pages: dict[str, int], found: Regions, whole: Path) -> dict[str, Built]:
    """The batch's variants: their PDFs, page counts, regions and pages in the batch PDF `whole`."""
    firsts = _firsts(batch, pages)
    return {p.code: Built(pdfs[p.code], pages[p.code], found[p.code], whole, firsts[p.code]) for p in batch.pieces}


def _first_failures(errors: list[LatexError]) -> LatexError:
    """All failures in one error, without a variant's solution failure when its student
    version failed too (the same template text breaks both: one line is enough), and each
    variant's version once."""
    student = {code for e in errors for code, version, _ in e.failures if version == "student"}
    first: dict[tuple[str, str], str] = {}
    for e in errors:
        for code, version, line in e.failures:
            if version == "student" or code not in student:
                first.setdefault((code, version), line)
    lines = [*first.values(), *(str(e) for e in errors if not e.failures)]
    err = LatexError("\n".join(lines))
    err.files = tuple(dict.fromkeys(f for e in errors for f in e.files))
    return err


class Compiler:
    """Compiles documents for one command: owns its TeX processes (`cancel()` stops them
    all), its cache folder (`cache_dir`; None: no cache) and the cache statistics (`stats`).

    `workers` pdflatex processes run at once (default: all cores); `pdflatex` is the
    program run for documents and `timeout` the seconds one run may take. Used as a
    context manager, it cancels what still runs when the block is left by an exception
    (Ctrl-C, SIGTERM, a failure)."""

    def __init__(self, cache_dir: Path | None = None, workers: int | None = None, pdflatex: str = PDFLATEX,
                 timeout: float = TIMEOUT):
        self.cache_dir = cache_dir
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.tex = TexRunner(pdflatex, timeout, self.workers)
        self.stats = CacheStats()
        self._started: dict[str, Future[Path]] = {}  # preamble -> its format, started ahead (start_format)
        self._starting: ThreadPoolExecutor | None = None
        self._standby: dict[str, list[Standby]] = {}  # format name -> TeX runs started on it ahead (start_format)
        self._standby_lock = threading.Lock()
        self._storing: list[Future[None]] = []  # cache entries being stored (_store_later)
        self._storing_lock = threading.Lock()

    @classmethod
    def default(cls, use_cache: bool = True, workers: int | None = None, pdflatex: str = PDFLATEX,
                timeout: float = TIMEOUT) -> Compiler:
        """A compiler with the user's cache folder ($EXAMGEN_CACHE, ...) unless use_cache is False."""
        return cls(cachedir.cache_dir() if use_cache else None, workers, pdflatex, timeout)

    def __enter__(self) -> Compiler:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            self.cancel()
        self.settle()
        if self._starting is not None:  # (before the caller removes the folder a format is started in)
            self._starting.shutdown(wait=True, cancel_futures=True)
        self.dismiss_standby()

    def cancel(self) -> None:
        """Stop: kill the running TeX processes (with their process groups) and start no new one."""
        self.tex.cancel()

    def _store_later(self, store: Callable[[], None]) -> None:
        """Store a cache entry in a thread (Cache.store: atomic; a cache that fails warns): settle() waits."""
        with self._storing_lock:
            self._storing.append(_beside(store))

    def settle(self) -> None:
        """Wait until the cache entries of what was compiled are stored: before a compile reads the
        cache (_cache), when the compiler's block ends, and at the end of a build."""
        while True:
            with self._storing_lock:
                if not self._storing:
                    return
                pending, self._storing = self._storing, []
            for future in pending:
                future.result()

    def _cache(self) -> Cache | None:
        """The cache folder if it can be used (probed per document or exam; warned about once)."""
        self.settle()
        return Cache.usable(self.cache_dir)

    # -------------------------------------------------------------- formats
    @staticmethod
    def _format_key(preamble: str, classes: tuple[Path, ...]) -> tuple[str, str]:
        """The format's cache key (the class files, the preamble, the TeX installation) and its name."""
        digest = key(*(f.read_bytes() for f in classes), preamble, tex_identity(), FORMAT_KIND)
        return digest, f"eg-{digest[:16]}"

    @classmethod
    def cached_format(cls, preamble: str, classes: tuple[Path, ...], cache: Cache | None) -> Path | None:
        """The format of this preamble from the cache (verified), or None."""
        return _cached_format(cache, *cls._format_key(preamble, classes))

    def start_format(self, preamble: str, classes: tuple[Path, ...], folder: Path, remember: str | None = None) -> None:
        """Make the format of this preamble now, in a thread of its own (built in `folder`, or found
        in the cache and verified): a build starts it before it imports and loads the bank (0.3 s),
        since the format is a cold build's longest TeX step and needs nothing but the preamble.
        format_file takes it from there (or, if it failed, makes it again and reports the error).
        `remember`: compile_exam's name of the documents to come (their first pair will be streamed,
        Opening); if the format is in the cache, its two TeX runs start now on the format
        (TexRunner.standby) and load it while Python loads the bank and draws.
        `folder` must outlive the compiler's `with` block, which ends the thread and the runs not taken
        (an exception cancels them with every other run)."""
        if preamble in self._started:
            return
        if self._starting is None:
            self._starting = ThreadPoolExecutor(max_workers=1)
        self._started[preamble] = self._starting.submit(self._early_format, preamble, classes, folder, self._cache(),
                                                        remember)

    def _early_format(self, preamble: str, classes: tuple[Path, ...], folder: Path, cache: Cache | None,
                      remember: str | None) -> Path:
        digest, name = self._format_key(preamble, classes)
        runs: list[Standby] = []
        if cache is not None and remember is not None and (stored := _stored_format(cache, digest, name)).exists():
            # the opening's runs load the format while it is verified (the sha256 of its 19 MB: 35 ms
            # before the first TeX process otherwise); one that fails the check ends them unused
            for k in range(min(2, self.workers)):  # (an opening: a student and a solution batch)
                (folder / f"standby-{k}").mkdir(parents=True, exist_ok=True)
                _link_format(folder / f"standby-{k}", stored)
                try:
                    runs.append(self.tex.standby(folder / f"standby-{k}", "final", stored.stem))
                except ExamgenError:  # (cancelled, or no pdflatex: the build reports it)
                    break
        fmt = _cached_format(cache, digest, name)
        if fmt is None:
            for run in runs:
                self.tex.dismiss(run.proc)
            return self._made_format(preamble, classes, folder, cache)
        with self._standby_lock:
            self._standby.setdefault(fmt.stem, []).extend(runs)
        return fmt

    def _take_standby(self, fmt: Path) -> Standby | None:
        """A TeX run started ahead on this format (start_format), if one is left."""
        with self._standby_lock:
            runs = self._standby.get(fmt.stem)
            return runs.pop(0) if runs else None

    def dismiss_standby(self) -> None:
        """End the TeX runs started ahead that were not taken."""
        with self._standby_lock:
            runs = [r for rs in self._standby.values() for r in rs]
            self._standby.clear()
        for run in runs:
            self.tex.dismiss(run.proc)

    def format_file(self, preamble: str, classes: tuple[Path, ...], workroot: Path, cache: Cache | None) -> Path:
        """The preamble (with the class files it loads) dumped into a pdfTeX format
        (mylatexformat), from the cache if possible (or as start_format made it)."""
        started = self._started.get(preamble)
        if started is not None:
            try:
                return started.result()
            except ExamgenError:
                pass  # made again below, where its failure is reported
        return self._made_format(preamble, classes, workroot, cache)

    def _made_format(self, preamble: str, classes: tuple[Path, ...], workroot: Path, cache: Cache | None) -> Path:
        digest, name = self._format_key(preamble, classes)
        found = _cached_format(cache, digest, name)
        if found is not None:
            return found
        folder = workroot / "formats" / digest  # made in the build's own folder, then stored in the cache
        folder.mkdir(parents=True, exist_ok=True)
        for f in classes:
            shutil.copyfile(f, folder / f.name)
        (folder / "preamble.tex").write_text(preamble + "\\end{document}\n", encoding="utf-8")
        cmd = ["pdftex", "-ini", "-interaction=batchmode", "-halt-on-error", f"-jobname={name}",
               "&pdflatex", "mylatexformat.ltx", "preamble.tex"]
        proc = self.tex.spawn(cmd, folder, "the document preamble (format)",
                              "look for an endless loop in the spec's exam: texts, or check the TeX installation")
        fmt = folder / f"{name}.fmt"
        if proc.returncode != 0 or not fmt.exists():
            log = (folder / f"{name}.log").read_text(encoding="latin-1") if (folder / f"{name}.log").exists() else ""
            raise LatexError(excerpt(log, preamble, "the document preamble (format)"))
        # inflated now (70 ms, zlib without the GIL: the runs that wait for it would each inflate it, 60 ms more
        # than reading it inflated), stored in the cache in a thread (settle() waits for it): copying and hashing
        # 19 MB took the batches of a cold build 0.5-0.9 s beside the drawing (traced)
        plain = _inflate_format(fmt)
        if cache is not None:
            self._store_later(partial(cache.store, cache.entry("formats", digest), {fmt.name: plain}))
        return fmt

    # -------------------------------------------------------------- one batch
    def typeset(self, batch: Batch, pages: dict[str, int], workdir: Path, fmt: Path, cache: Cache | None,
                guessed: bool = False, paged: Callable[[dict[str, Built]], None] | None = None) -> dict[str, Built]:
        """The final pass, then one PDF per variant (split with qpdf), the answer regions from
        the log and the variants' pages in the batch PDF; cached by source (the regions as
        regions.json in the entry, the batch PDF as batch.pdf). `paged` gets the variants as soon
        as their pages and regions are known, before they are cut (Built.source is there already:
        a print file joined from the batch PDF need not wait for the cutting).
        With `guessed` totals, variants whose totals do not fit them (_fits) raise Mispaginated with
        the real counts (the caller runs the pass again with them); the Built pages are the real ones.
        Without, a variant with another page count is a LayoutError (student and solution must
        paginate alike)."""
        tex = batch.source(pages)
        codes = [(p.code, pages[p.code]) for p in batch.pieces]
        marks = self._marks(batch, codes, cache)  # the scan codes, typeset (final-qr.tex)
        digest = _pdf_key(batch, tex, codes, fmt, marks)
        stored = _stored(cache, digest, [f"{p.code}.pdf" for p in batch.pieces], batch)
        self.stats.count(stored is not None)
        if stored is not None:
            entry, found = stored
            built = _built(batch, {p.code: entry / f"{p.code}.pdf" for p in batch.pieces}, pages, found, entry / BATCH)
            if paged is not None:
                paged(built)
            return built
        _prepare(workdir, batch, fmt, marks)
        (workdir / "final.tex").write_text(tex, encoding="utf-8")
        log = self.tex.run(workdir, "final", fmt.stem, False, batch.label, tex, cost=len(tex))  # longest first
        return self._typeset_from(batch, pages, workdir, log, cache, fmt, digest, guessed, paged)

    def typeset_guessed(self, batch: Batch, guess: int, wd: Callable[[], Path], fmt: Path, cache: Cache | None,
                        paged: Callable[[dict[str, Built]], None] | None = None) -> dict[str, Built]:
        """typeset with every variant's total guessed as `guess`, in a new folder `wd()`; if the totals do
        not fit it (_fits), again with the real ones."""
        try:
            return self.typeset(batch, dict.fromkeys((p.code for p in batch.pieces), guess), wd(), fmt, cache,
                                guessed=True, paged=paged)
        except Mispaginated as exc:
            return self.typeset(batch, exc.pages, wd(), fmt, cache, paged=paged)

    def typeset_streamed(self, feed: Feed, pages: dict[str, int], workdir: Path, fmt: Path, cache: Cache | None,
                         paged: Callable[[dict[str, Built]], None] | None = None) -> tuple[Batch, dict[str, Built]]:
        """typeset with guessed totals (`pages`: each code of the feed), its TeX run started at once and
        the variants written into it as the feed gets them (TexRunner.stream): the same source, the same
        PDF. Its cache entry can only be looked up once the source is complete; the run is given up
        (Cached) as soon as its first variant is that of a batch in the cache (`_seen`). The whole batch
        and its variants; Mispaginated, LatexError and LayoutError as typeset raises them."""
        workdir, log, digest = self._streamed(feed, feed.shell.head(), lambda piece: Batch.text(piece, pages), pages,
                                              workdir, fmt, cache)
        batch = feed.batch()
        return batch, self._typeset_from(batch, pages, workdir, log, cache, fmt, digest, True, paged)

    def _streamed(self, feed: Feed[Item], head: str, text: Callable[[Item], str], pages: dict[str, int],
                  workdir: Path, fmt: Path, cache: Cache | None) -> tuple[Path, str, str]:
        """The TeX run of a streamed document: `head`, then each of the feed's variants (`text`) as it comes;
        given up (Cached) as soon as its first variant is that of a document in the cache (`_seen`). The folder
        it ran in (a run started ahead has its own), its log and its PDF cache key."""
        codes = [(c, pages[c]) for c in feed.codes]
        marks = self._marks(feed.shell, codes, cache)  # (a batch's codes depend on its variants' codes and pages)
        standby = self._take_standby(fmt)  # (started ahead in a folder of its own)
        workdir = standby.workdir if standby is not None else workdir
        _prepare(workdir, feed.shell, fmt, marks)

        def chunks() -> Iterator[str]:
            feed.started.set()  # (its TeX run has its slot: it asks for its source)
            yield head
            for i, item in enumerate(feed):
                chunk = text(item)
                if i == 0 and cache is not None and _seen(cache, _head_key(head, chunk, fmt)):
                    raise Cached()
                yield chunk
            yield END

        log, tex = self.tex.stream(workdir, "final", fmt.stem, feed.label, chunks(), standby=standby)
        self.stats.count(False)
        return workdir, log, _pdf_key(feed.shell, tex, codes, fmt, marks)

    def _typeset_from(self, batch: Batch, pages: dict[str, int], workdir: Path, log: str, cache: Cache | None,
                      fmt: Path, digest: str, guessed: bool,
                      paged: Callable[[dict[str, Built]], None] | None) -> dict[str, Built]:
        """The rest of typeset once the final pass ran in workdir (`log`): checked, cut and stored as `digest`
        (with guessed totals that fit, as the pass with the actual ones: the same PDFs)."""
        ranges = _ranges(log, batch)
        actual = {p.code: ranges[p.code][1] for p in batch.pieces}
        if guessed and any(actual[code] != pages[code] for code in actual):
            if not _fits(batch, pages, actual):
                raise Mispaginated(actual)
            # the guess set only the totals' widths and how many scan codes were defined: the PDFs are
            # those of a pass with the actual totals, and are stored as those (the next build asks so,
            # and finds their codes in the cache: encoded for the guess already, they cost no encoding)
            pages = actual
            totals = [(p.code, pages[p.code]) for p in batch.pieces]
            digest = _pdf_key(batch, batch.source(pages), totals, fmt, self._marks(batch, totals, cache))
        for p in batch.pieces:
            if ranges[p.code][1] != pages[p.code]:
                raise LayoutError(f"{p.label}: the {batch.version} has {ranges[p.code][1]} pages, "
                                  f"the student version {pages[p.code]}; both must paginate identically")
        if [ranges[p.code][0] for p in batch.pieces] != list(_firsts(batch, pages).values()):
            raise LayoutError(f"{batch.label}: the class logged the variants' pages out of order (EXAMGEN-VARIANT)")
        split = workdir / "split"  # the build's own copies
        split.mkdir(exist_ok=True)
        # qpdf cuts the batch (a process of its own) while Python reads the regions from the log and
        # hands the variants on (`paged`): the last batch's cutting waited for that (30-70 ms)
        cutting = _beside(qpdf.split, workdir / "final.pdf", [(p.code, *ranges[p.code]) for p in batch.pieces],
                             split)
        try:
            logged = regions(log) if batch.reads_regions else {}
            found = {p.code: tuple(logged.get(p.code, ())) for p in batch.pieces}
            built = _built(batch, {p.code: split / f"{p.code}.pdf" for p in batch.pieces}, pages, found,
                           workdir / "final.pdf")
            if paged is not None:
                paged(built)
        finally:
            cutting.exception()  # (waits: no qpdf run outlives its batch's folder)
        cutting.result()
        if cache is not None:
            self._store_pdfs(cache, digest, [split / f"{p.code}.pdf" for p in batch.pieces], workdir / "final.pdf",
                             found, _head_key(batch.head(), Batch.text(batch.pieces[0], pages), fmt))
        return built

    def _store_pdfs(self, cache: Cache, digest: str, pdfs: list[Path], whole: Path, found: Regions, head: str) -> None:
        """A typeset document's PDF cache entry (its variants' PDFs, its regions per variant code, its whole PDF),
        and its `head` entry (where a streamed run of the same document finds, from its first variant, that it is
        likely stored). Stored in a thread (settle() waits for it), off the build's tail: the last batch's store
        (copying and hashing its PDFs, 0.1 s) overlapped nothing but the writers waiting for it. Its files are
        read now: the work folder may be gone by then."""
        files: dict[str, Path | bytes] = {pdf.name: pdf.read_bytes() for pdf in pdfs}
        files[BATCH] = whole.read_bytes()

        def store() -> None:
            # rows of the fields (a dict per region, its keys sorted: 0.1 s of Python per batch of 10)
            files[REGIONS] = json.dumps({c: [_ROW(r) for r in rs] for c, rs in found.items()}, sort_keys=True).encode()
            cache.store(cache.entry("pdf", digest), files, codes=list(found))  # (in the document's order)
            cache.store(cache.entry("heads", head), {"pdf": digest.encode()})

        self._store_later(store)

    # -------------------------------------------------------------- one pair (both versions, one run)
    def typeset_pair(self, pair: Pair, pages: dict[str, int], workdir: Path, fmt: Path, cache: Cache | None,
                     guessed: bool = False, paged: Callable[[str, dict[str, Built]], None] | None = None) -> Versions:
        """Both versions of the pair's variants in one final pass, then one PDF per variant and version (one
        qpdf run), as typeset does for a batch: cached by source (the PDFs as <code>-<version>.pdf, the
        student version's regions, the pair's PDF), `paged(version, built)` as soon as the pages are known,
        Mispaginated with `guessed` totals that do not fit, a LayoutError when the versions paginate apart."""
        tex = pair.source(pages)
        codes = [(code, pages[code]) for code in pair.codes]
        marks = self._marks(pair.student, codes, cache)  # (both versions show the same codes)
        digest = _pdf_key(pair.student, tex, codes, fmt, marks)
        found = self._cached_pair(pair, pages, cache, digest)
        self.stats.count(found is not None)
        if found is not None:
            for version, built in found.items():
                if paged is not None:
                    paged(version, built)
            return found
        _prepare(workdir, pair.student, fmt, marks)
        (workdir / "final.tex").write_text(tex, encoding="utf-8")
        log = self.tex.run(workdir, "final", fmt.stem, False, pair.label, tex, cost=len(tex))
        return self._pair_from(pair, pages, workdir, log, cache, fmt, digest, guessed, paged)

    def typeset_pair_streamed(self, feed: LaneFeed, pages: dict[str, int], workdir: Path, fmt: Path,
                              cache: Cache | None, paged: Callable[[str, dict[str, Built]], None] | None = None
                              ) -> tuple[Pair, Versions]:
        """typeset_pair with guessed totals, its TeX run started at once and fed each variant as it is drawn
        (as typeset_streamed feeds a batch): the same source, the same PDFs. Given up (Cached) as soon as its
        first variant is that of a pair in the cache."""
        workdir, log, digest = self._streamed(feed, Pair.head_of(feed.shell.preamble),
                                              lambda item: Pair.text(*item, pages), pages, workdir, fmt, cache)
        pair = feed.pair()
        return pair, self._pair_from(pair, pages, workdir, log, cache, fmt, digest, True, paged)

    def _cached_pair(self, pair: Pair, pages: dict[str, int], cache: Cache | None, digest: str) -> Versions | None:
        """A pair's variants from the cache entry `digest` (verified), or None."""
        stored = _stored(cache, digest, [f"{code}-{version}.pdf" for code in pair.codes for version in VERSIONS],
                         pair.student)
        if stored is None:
            return None
        entry, found = stored
        firsts = pair.firsts(pages)
        return {version: {code: Built(entry / f"{code}-{version}.pdf", pages[code],
                                      found[code] if version == STUDENT else (), entry / BATCH, firsts[(code, version)])
                          for code in pair.codes} for version in VERSIONS}

    def _pair_from(self, pair: Pair, pages: dict[str, int], workdir: Path, log: str, cache: Cache | None, fmt: Path,
                   digest: str, guessed: bool, paged: Callable[[str, dict[str, Built]], None] | None) -> Versions:
        """The rest of typeset_pair once its pass ran in workdir (`log`), as _typeset_from for a batch."""
        logged = [((m.group(1), m.group(4)), int(m.group(2)), int(m.group(3))) for m in VARIANT_LINE.finditer(log)]
        order = [(code, version) for code in pair.codes for version in VERSIONS]
        if [key for key, _, _ in logged] != order:
            raise LatexError(f"{pair.label}: the class did not report each variant's pages in both versions, in "
                             "order (EXAMGEN-VARIANT)")
        counts = {key: n for key, _, n in logged}
        for code in pair.codes:
            if counts[(code, SOLUTION)] != counts[(code, STUDENT)]:
                raise LayoutError(f"variant {code}: the solution has {counts[(code, SOLUTION)]} pages, the student "
                                  f"version {counts[(code, STUDENT)]}; both must paginate identically")
        actual = {code: counts[(code, STUDENT)] for code in pair.codes}
        if guessed and actual != {code: pages[code] for code in pair.codes}:
            if not _fits(pair.student, pages, actual):
                raise Mispaginated(actual)
            pages = actual  # (as _typeset_from: the PDFs of a pass with the actual totals, stored as those)
            totals = [(code, pages[code]) for code in pair.codes]
            digest = _pdf_key(pair.student, pair.source(pages), totals, fmt, self._marks(pair.student, totals, cache))
        if actual != {code: pages[code] for code in pair.codes}:
            raise LayoutError(f"{pair.label}: the pages came out as {actual}, typeset for {pages}")
        firsts = pair.firsts(pages)
        if [first for _, first, _ in logged] != [firsts[key] for key in order]:
            raise LayoutError(f"{pair.label}: the class logged the variants' pages out of order (EXAMGEN-VARIANT)")
        split = workdir / "split"
        split.mkdir(exist_ok=True)
        names = {key: f"{key[0]}-{key[1]}" for key in order}
        parts = [(names[key], firsts[key], pages[key[0]]) for key in order]
        cutting = _beside(qpdf.split, workdir / "final.pdf", parts, split)
        try:
            found = regions(log)  # (the student version's: the solution's boxes are not logged, Pair)
            built = {version: {code: Built(split / f"{names[(code, version)]}.pdf", pages[code],
                                           tuple(found.get(code, ())) if version == STUDENT else (),
                                           workdir / "final.pdf", firsts[(code, version)])
                               for code in pair.codes} for version in VERSIONS}
            if paged is not None:
                for version in VERSIONS:
                    paged(version, built[version])
        finally:
            cutting.exception()  # (waits: no qpdf run outlives its pair's folder)
        cutting.result()
        if cache is not None:
            self._store_pdfs(cache, digest, [split / f"{names[key]}.pdf" for key in order], workdir / "final.pdf",
                             {code: b.regions for code, b in built[STUDENT].items()},
                             _head_key(pair.head(), Pair.text(pair.student.pieces[0], pair.solution.pieces[0], pages),
                                       fmt))
        return built

    @staticmethod
    def _marks(batch: Batch, codes: list[tuple[str, int]], cache: Cache | None) -> str:
        """The scan codes' definitions of a batch (Batch.marks), from the cache if possible:
        encoding a batch's 240 codes costs about 0.1 s of Python (more beside other threads),
        all of it before its TeX run can start."""
        if batch.marks is None:
            return ""
        entry = cache.entry("marks", key(batch.marks.key, repr(codes))) if cache is not None else None
        found = cache.verified(entry, [MARKS]) if cache is not None and entry is not None else None
        if found is not None:
            return (found / MARKS).read_text(encoding="utf-8")
        text = batch.marks(codes)
        if cache is not None and entry is not None:
            cache.store(entry, {MARKS: text.encode("utf-8")})
        return text

    def _isolate(self, batch: Batch, exc: LatexError, run: Callable[[Batch], object]) -> LatexError:
        """A batch failed: compile its variants alone and report the ones that fail. Their
        .tex, .log, the class and the batch's files ride along in the error (`files`);
        the pipeline writes them to the diagnostics folder only once the build has failed
        for good, never when it was cancelled."""
        if exc.failures or self.tex.cancelled:  # already isolated by an inner stage, or the build is being stopped
            return exc
        if len(batch.pieces) == 1:
            culprits = [(batch.pieces[0], exc)]
        else:
            culprits = []
            for p in batch.pieces:
                try:
                    run(batch.only((p,)))
                except LatexError as e:
                    culprits.append((p, e))
            if not culprits:
                return exc
        files: list[tuple[str, bytes]] = []
        for p, failed in culprits:
            files.append((f"{p.code}/{batch.version}.tex", batch.standalone(p, 0).encode("utf-8")))
            if failed.log:
                files.append((f"{p.code}/{batch.version}.log", failed.log.encode("latin-1", "replace")))
            files += [(f"{p.code}/{f.name}", f.read_bytes()) for f in (*batch.classes, *batch.files)]
        err = LatexError("\n".join(str(e) for _, e in culprits))
        err.failures = tuple((p.code, batch.version, str(e)) for p, e in culprits)
        err.files = tuple(files)
        return err

    # -------------------------------------------------------------- page counts
    def _counts_entry(self, batch: Batch | Pair, fmt: Path, cache: Cache) -> Path:
        """Where the page counts of a batch (or pair) are cached: keyed by its source without totals, the
        format and its files."""
        files = batch.files if isinstance(batch, Batch) else batch.student.files
        return cache.entry("pages", key(batch.source(), fmt.name, *(f.read_bytes() for f in files)))

    @staticmethod
    def _store_counts(cache: Cache, entry: Path, built: dict[str, Built]) -> None:
        """Remember the page counts a batch was typeset with (its variants' Built.pages) in `entry`."""
        cache.store(entry, {"pages.json": json.dumps({c: b.pages for c, b in built.items()}, sort_keys=True).encode()})

    @staticmethod
    def _cached_counts(entry: Path | None, batch: Batch, cache: Cache | None) -> dict[str, int] | None:
        """The page counts of a batch's variants from its cache entry; None when not cached."""
        if cache is None or entry is None:
            return None
        found = cache.verified(entry, ["pages.json"])
        counts = _read_counts(found / "pages.json", batch) if found is not None else None
        if counts is None and found is not None:  # a well-hashed record of the wrong shape
            cache.discard(found)
        return counts

    # -------------------------------------------------------------- many batches
    def compile_exam(self, pairs: Iterable[tuple[Batch, Batch]], workroot: Path,
                     progress: Callable[[int], None] | None = None,
                     formats: Iterable[Batch] = (), remember: str | None = None,
                     finish: Callable[[str, dict[str, Built]], None] | None = None,
                     paged: Callable[[str, dict[str, Built]], None] | None = None,
                     opening: Opening | None = None, stored: bool = True) -> dict[tuple[str, str], Built]:
        """(student batch, solution batch) pairs -> {(variant code, version): Built}.

        The pairs may be produced lazily: rendering the next pair (Python) overlaps
        compiling the previous ones (pdflatex), and no more than two pairs per worker
        are held in memory. Per pair: one pass typesets both versions on a guessed page
        total (the usual one so far) and splits them. A failing batch is isolated to its variants;
        the other batches still finish. The formats of `formats` (batches of the
        same preambles, e.g. without variants) start building at once, before the
        first pair is rendered. `remember` names the documents (e.g. the spec's path)
        whose usual page total the cache keeps: the next compile_exam of that name
        guesses it (a batch whose totals do not fit the guess gets a second pass). `finish(version, built)`
        runs on each batch's variants as soon as they are built (typeset or from the cache),
        in the compiler's pool, so that work on them (e.g. stamping) overlaps the next TeX runs;
        its failure ends the build like a worker's; `paged(version, built)` earlier, as soon as their
        pages and regions are known, before the batch PDF is cut (Compiler.typeset). `opening` is the
        first pair variant by variant (before `pairs`): both its TeX runs start as soon as the format is
        there and typeset each variant as it comes (Compiler.typeset_streamed); without FIFOs it is the
        first pair, drawn whole. An opening in lanes (Opening.lanes) has each lane's variants in both
        versions typeset by one run (Pair: typeset_pair), the lanes side by side.
        `stored`: the cache entries of the batches are stored when it returns; False: they may still be
        being stored in a thread (the caller's work overlaps them: a build's writers), settle() waits."""
        cache = self._cache()
        # twice the TeX slots: a batch's split and cache store overlap the next batch's TeX run
        with ThreadPoolExecutor(max_workers=2 * self.workers) as pool:
            try:
                return _Stream(self, pool, workroot, progress, cache, remember, finish, paged).run(pairs, formats,
                                                                                                   opening)
            except LatexError:  # the batches' failures, collected once all had run (a timeout cancelled already):
                pool.shutdown(wait=False, cancel_futures=True)  # the compiler itself stays usable
                raise
            except BaseException:  # Ctrl-C, SIGTERM, a crashed worker: stop the others at once
                pool.shutdown(wait=False, cancel_futures=True)
                self.cancel()
                raise
            finally:
                if stored:
                    self.settle()

    def compile_one(self, batch: Batch, workroot: Path) -> Built:
        """A one-variant document (preview, check): one pass on a guessed total (_first_guess), a second
        one if its total did not fit it."""
        (code,) = [p.code for p in batch.pieces]
        cache = self._cache()
        fmt = self.format_file(batch.preamble, batch.classes, workroot, cache)
        entry = self._counts_entry(batch, fmt, cache) if cache is not None else None
        known = self._cached_counts(entry, batch, cache)  # (typeset before: its PDF is in the cache under them)
        try:
            if known is not None:
                return self.typeset(batch, known, workroot / "final", fmt, cache)[code]
            folders = iter([workroot / "guess", workroot / "final"]).__next__  # (a second pass: its own folder)
            built = self.typeset_guessed(batch, _first_guess(batch.pieces[0].pages_at_least), folders, fmt, cache)
            if cache is not None and entry is not None:
                self._store_counts(cache, entry, built)
            return built[code]
        finally:
            self.settle()  # (its cache entry stored when it returns)

    def log_of(self, workdir: Path, name: str, tex: str, label: str, classes: tuple[Path, ...] = ()) -> str:
        """One draft-mode pdflatex pass (no PDF) of a document with these class files
        beside it, for what its log reports (e.g. measured sizes); the log."""
        return self._once(workdir, name, tex, label, classes, draft=True)

    def compile_once(self, workdir: Path, name: str, tex: str, label: str, classes: tuple[Path, ...] = ()) -> Path:
        """One pdflatex pass with the same hardening (no shell escape, paranoid file
        access, reproducible bytes) for a document that needs no page total, e.g.
        the grading report; `classes` (class and package files it loads) are copied beside it."""
        self._once(workdir, name, tex, label, classes, draft=False)
        return workdir / f"{name}.pdf"

    def _once(self, workdir: Path, name: str, tex: str, label: str, classes: tuple[Path, ...], draft: bool) -> str:
        """name.tex written into workdir beside copies of `classes`, run once; the log."""
        workdir.mkdir(parents=True, exist_ok=True)
        for f in classes:
            shutil.copyfile(f, workdir / f.name)
        (workdir / f"{name}.tex").write_text(tex, encoding="utf-8")
        return self.tex.run(workdir, name, None, draft, label, tex)


class _Stream:
    """One compile_exam: batches submitted as they are rendered, formats built once,
    the usual page total learnt from the first batch, failures collected."""

    def __init__(self, compiler: Compiler, pool: ThreadPoolExecutor, workroot: Path,
                 progress: Callable[[int], None] | None, cache: Cache | None, remember: str | None = None,
                 finish: Callable[[str, dict[str, Built]], None] | None = None,
                 paged: Callable[[str, dict[str, Built]], None] | None = None):
        self.c, self.pool, self.workroot, self.progress, self.cache = compiler, pool, workroot, progress, cache
        self.finish, self.paged = finish, paged
        # where the usual page total of these documents is remembered (a guess, verified by every final pass)
        self.total_entry = _total_entry(cache, remember) if cache is not None and remember else None
        self.fmts: dict[str, Path] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()
        self.counter = itertools.count()
        self.fatal: list[TexTimeout] = []  # the first timeout: it ends the build at once
        self.typical: dict[int, int] = {}  # page count -> how many variants had it: the guess for the next batches
        self.first: int | None = None  # the guess before any batch is typeset (guess_for)

    def fmt_for(self, batch: Batch) -> Path:
        with self.guard:
            lock = self.locks.setdefault(batch.preamble, threading.Lock())
        with lock:  # one thread builds a format, the others wait for it
            if batch.preamble not in self.fmts:
                self.fmts[batch.preamble] = self.c.format_file(batch.preamble, batch.classes, self.workroot,
                                                               self.cache)
            return self.fmts[batch.preamble]

    def wd(self) -> Path:
        return self.workroot / f"b{next(self.counter):05d}"

    def stage(self, batch: Batch, fn: Callable[[Batch], T]) -> T:
        try:
            return fn(batch)
        except TexTimeout:  # not isolated: each variant alone would cost the timeout again
            raise
        except LatexError as exc:
            raise self.c._isolate(batch, exc, fn) from None
        except ExamgenError:
            raise
        except Exception as exc:  # a bug in a worker: name the batch, stop the build (compile_exam cancels)
            raise _crashed(batch.label, exc) from exc

    def remembered(self) -> int | None:
        """The page total remembered from an earlier compile of these documents, if any."""
        if self.cache is None or self.total_entry is None:
            return None
        return _remembered(self.cache, self.total_entry)

    def remember(self) -> None:
        """Keep the usual page total of this compile for the next one (if it changed)."""
        if self.cache is None or self.total_entry is None or not self.typical:
            return
        usual = self.usual()
        if self.remembered() != usual:
            self.cache.discard(self.total_entry)
            self.cache.store(self.total_entry, {TOTAL: json.dumps(usual).encode()})

    def usual(self) -> int:
        """The page count most variants have had so far (self.typical is not empty)."""
        return max(self.typical, key=lambda k: self.typical[k])

    def guess_for(self, bound: int) -> int:
        """The page total a pass guesses: the one most variants have had so far, else the one remembered
        from the last compile of these documents, else _first_guess of `bound` (the variants' lower bound,
        Piece.pages_at_least)."""
        with self.guard:
            if self.typical:
                return self.usual()
            if self.first is None:
                n = self.remembered()
                self.first = n if n is not None else _first_guess(bound)
            return self.first

    def run_batch(self, batch: Batch | Feed) -> tuple[Batch, dict[str, Built]]:
        try:
            if isinstance(batch, Feed):
                done = self.typeset_streamed(batch)
            else:  # its TeX run's place among the waiting ones from now (its source's length, as Compiler.typeset)
                with self.c.tex.planned(_length(batch)):
                    done = self.typeset_batch(batch)
            if self.finish is not None:
                finish = self.finish
                self.stage(done[0], lambda b: finish(b.version, done[1]))
            return done
        except TexTimeout as exc:  # the first timeout ends the build
            with self.guard:
                self.fatal.append(exc)
            self.c.cancel()  # the other TeX runs, and no new one starts
            raise

    def typeset_batch(self, batch: Batch, known: dict[str, int] | None = None) -> tuple[Batch, dict[str, Built]]:
        """One final pass, with the page totals `known`, else from the cache, else with a guessed total
        (guess_for; a batch whose totals do not fit it gets a second pass with them)."""
        c, cache = self.c, self.cache
        fmt = self.fmt_for(batch)
        counts_entry = c._counts_entry(batch, fmt, cache) if cache is not None else None  # hashed once per batch
        found = c._cached_counts(counts_entry, batch, cache) if known is None else None
        cached = found is not None
        known = known or found

        paged = partial(self.paged, batch.version) if self.paged is not None else None

        def final(b: Batch) -> dict[str, Built]:
            if known is not None and all(p.code in known for p in b.pieces):
                return c.typeset(b, known, self.wd(), fmt, cache, paged=paged)
            return c.typeset_guessed(b, self.guess_for(max(p.pages_at_least for p in b.pieces)), self.wd, fmt, cache,
                                     paged)

        built = self.stage(batch, final)
        self.typeset_done(batch, built, counts_entry if not cached else None)
        return batch, built

    def run_lane(self, lane: LaneFeed | Pair) -> list[tuple[Batch, dict[str, Built]]]:
        """A lane of the opening (Opening.lanes): both versions of its variants in one TeX run, streamed as
        they are drawn (or whole, without FIFOs); each version's batch and variants, finished as run_batch
        finishes a batch."""
        try:
            try:
                out = self.typeset_lane(lane)
            finally:
                if isinstance(lane, LaneFeed):
                    lane.started.set()  # (if its run did not get so far)
            if self.finish is not None:
                finish = self.finish
                for batch, built in out:
                    self.stage(batch, partial(lambda done, b: finish(b.version, done), built))
            return out
        except TexTimeout as exc:  # the first timeout ends the build
            with self.guard:
                self.fatal.append(exc)
            self.c.cancel()
            raise

    def typeset_lane(self, lane: LaneFeed | Pair) -> list[tuple[Batch, dict[str, Built]]]:
        """typeset_pair(_streamed) with the guessed total; a lane that is likely in the cache is looked up whole
        (with its totals from the cache), one whose totals do not fit the guess is typeset again with them; a
        failing one goes apart: each version as a batch of its own (typeset_batch), its failures isolated and
        named as a build without lanes names them."""
        c, cache = self.c, self.cache
        whole = lane.pair if isinstance(lane, LaneFeed) else lambda: lane
        shell = lane.shell if isinstance(lane, LaneFeed) else lane.student
        bound = lane.pages_at_least if isinstance(lane, LaneFeed) else \
            max(p.pages_at_least for p in lane.student.pieces)
        pages = dict.fromkeys(lane.codes, self.guess_for(bound))
        fmt = self.fmt_for(shell)
        known: dict[str, int] | None = None
        counts_entry: Path | None = None  # (where its page counts are cached: hashed once)
        try:
            try:
                if isinstance(lane, LaneFeed):
                    pair, built = c.typeset_pair_streamed(lane, pages, self.wd(), fmt, cache, self.paged)
                else:
                    pair = lane
                    with c.tex.planned(_length(pair.student) + _length(pair.solution)):
                        built = self._pair_whole(pair, pages, fmt, True)
            except Cached:
                pair = whole()
                if cache is not None:
                    counts_entry = c._counts_entry(pair, fmt, cache)
                    known = c._cached_counts(counts_entry, pair.student, cache)
                built = self._pair_whole(pair, known or pages, fmt, known is None)
            except Mispaginated as exc:
                pair = whole()
                built = self._pair_whole(pair, exc.pages, fmt, False)
        except TexTimeout:  # (it would cost the timeout again)
            raise
        except LatexError:
            pair = whole()
            out, failures = [], []
            for batch in (pair.student, pair.solution):
                try:
                    out.append(self.typeset_batch(batch))
                except LatexError as exc:
                    failures.append(exc)
            if failures:
                raise _first_failures(failures) from None
            return out
        except (ExamgenError, Abandoned):
            raise
        except Exception as exc:  # a bug: name the lane, stop the build (as stage does)
            raise _crashed(lane.label, exc) from exc
        if cache is not None and counts_entry is None:
            counts_entry = c._counts_entry(pair, fmt, cache)
        self.typeset_done(pair.student, built[STUDENT], counts_entry if known is None else None)
        self.typeset_done(pair.solution, built[SOLUTION], None)
        return [(pair.student, built[STUDENT]), (pair.solution, built[SOLUTION])]

    def _pair_whole(self, pair: Pair, pages: dict[str, int], fmt: Path, guessed: bool) -> Versions:
        """typeset_pair of a whole pair; again with its totals if guessed ones do not fit."""
        try:
            return self.c.typeset_pair(pair, pages, self.wd(), fmt, self.cache, guessed, self.paged)
        except Mispaginated as exc:
            return self.c.typeset_pair(pair, exc.pages, self.wd(), fmt, self.cache, False, self.paged)

    def typeset_done(self, batch: Batch, built: dict[str, Built], counts_entry: Path | None) -> None:
        """A batch typeset (its variants' Built.pages are their page counts): remembered (in `counts_entry`,
        if given), counted."""
        if self.cache is not None and counts_entry is not None:  # remember what this run found out
            self.c._store_counts(self.cache, counts_entry, built)
        with self.guard:
            for b in built.values():
                self.typical[b.pages] = self.typical.get(b.pages, 0) + 1
        if self.progress:
            self.progress(len(batch.pieces))

    def typeset_streamed(self, feed: Feed) -> tuple[Batch, dict[str, Built]]:
        """An opening batch typeset as its variants come (Compiler.typeset_streamed) with a guessed total;
        anything else (a failure, totals that do not fit it, a batch likely in the cache) goes the usual
        way (typeset_batch: its failure isolated, its totals known) once the batch is complete."""
        try:
            return self._typeset_streamed(feed)
        finally:
            feed.started.set()  # (if its run did not get so far)

    def _typeset_streamed(self, feed: Feed) -> tuple[Batch, dict[str, Built]]:
        c, cache = self.c, self.cache
        pages = dict.fromkeys(feed.codes, self.guess_for(feed.pages_at_least))
        fmt = self.fmt_for(feed.shell)  # (its scan codes are made meanwhile: stream)
        paged = partial(self.paged, feed.shell.version) if self.paged is not None else None
        try:
            batch, built = c.typeset_streamed(feed, pages, self.wd(), fmt, cache, paged)
        except TexTimeout:  # (it would cost the timeout again)
            raise
        except Mispaginated as exc:
            return self.typeset_batch(feed.batch(), exc.pages)
        except (Cached, LatexError):
            return self.typeset_batch(feed.batch())
        except (ExamgenError, Abandoned):
            raise
        except Exception as exc:  # a bug: name the batch, stop the build (as stage does)
            raise _crashed(feed.label, exc) from exc
        self.typeset_done(batch, built, c._counts_entry(batch, fmt, cache) if cache is not None else None)
        return batch, built

    @staticmethod
    def streams(opening: Opening) -> bool:
        """Whether the opening can be typeset as it comes at all: it has variants, the system has FIFOs."""
        return bool(opening.codes) and hasattr(os, "mkfifo")

    def stream(self, opening: Opening, running: deque[Future[Any]]) -> tuple[Feed[Any], ...]:
        """Start the opening's two runs (its lanes, each both versions of its variants; else a student and
        a solution batch), then hand them its variants as they are drawn (here, in the caller's thread); if
        the drawing fails, they are given up (Abandoned) and the failure goes on. Its feeds."""
        lanes: tuple[LaneFeed, ...] = ()
        batches: tuple[Feed[Piece], ...] = ()
        if opening.lanes:
            lanes = tuple(LaneFeed(opening.student, opening.solution, lane, opening.pages_at_least)
                          for lane in opening.lanes)
            for lane in lanes:
                running.append(self.pool.submit(self.run_lane, lane))
        else:
            batches = (Feed[Piece](opening.student, opening.codes, opening.pages_at_least),
                       Feed[Piece](opening.solution, opening.codes, opening.pages_at_least))
            for batch in reversed(batches):  # the longer job first (as run)
                running.append(self.pool.submit(self.run_batch, batch))
        # their scan codes (Compiler.typeset_streamed finds them made), here, while their runs wait for the
        # format and before any variant is drawn: encoded in those runs' threads beside the drawing they got
        # half the GIL, and a cold build's TeX runs waited 0.2 s for the codes after their format was built
        guess = self.guess_for(opening.pages_at_least)
        for codes in opening.lanes or (opening.codes,):
            self.c._marks(opening.student, [(code, guess) for code in codes], self.cache)
        lane_of = {code: lane for lane in lanes for code in lane.codes}
        feeds: tuple[Feed[Any], ...] = (*lanes, *batches)
        complete = False
        try:
            for student, solution in opening.pieces:
                if opening.lanes:
                    lane_of[student.code].put((student, solution))
                else:
                    batches[0].put(student)
                    batches[1].put(solution)
            complete = True
        finally:
            for feed in feeds:
                feed.close(complete)
        return feeds

    def early_format(self, batch: Batch) -> None:
        """Build a format ahead of the batches that need it; a failure is theirs to report
        (they build it again), except a timeout, which ends the build."""
        with self.ahead():
            self.fmt_for(batch)

    @contextmanager
    def ahead(self) -> Iterator[None]:
        """Work done ahead of the batches that need it: a failure is theirs to report (they do the
        work again), except a timeout, which ends the build."""
        try:
            yield
        except TexTimeout as exc:
            with self.guard:
                self.fatal.append(exc)
            self.c.cancel()
        except ExamgenError:
            pass

    def run(self, pairs: Iterable[tuple[Batch, Batch]], formats: Iterable[Batch] = (),
            opening: Opening | None = None) -> dict[tuple[str, str], Built]:
        for document in formats:  # TeX first: the formats build while Python renders the first pair
            self.pool.submit(self.early_format, document)
        built: dict[tuple[str, str], Built] = {}
        errors: list[LatexError] = []
        running: deque[Future[Any]] = deque()
        feeds: tuple[Feed[Any], ...] = ()
        if opening is not None and opening.lanes and opening.solution.reads_regions:
            raise ExamgenError("an opening in lanes whose solution's boxes are read (a bug in examgen; please "
                               "report it)")
        if opening is not None and self.streams(opening):
            feeds = self.stream(opening, running)
        elif opening is not None and opening.lanes:  # drawn whole: the same documents, typeset whole
            for lane in opening.pairs():
                running.append(self.pool.submit(self.run_lane, lane))
        elif opening is not None:  # the first pair, drawn whole when the loop below asks for it
            pairs = itertools.chain((opening.pair() for _ in (0,)), pairs)

        def collect(f: Future[Any]) -> None:
            try:
                got = f.result()  # (a batch and its variants; a lane's: both versions')
                for batch, res in got if isinstance(got, list) else [got]:
                    built.update({(code, batch.version): b for code, b in res.items()})
            except ExamgenError as exc:
                if self.fatal:  # a timeout stopped the build; what the other batches met since is its consequence
                    raise self.fatal[0] from None
                if not isinstance(exc, LatexError):
                    raise
                errors.append(exc)  # the other batches still finish; all failures are reported together

        # student and solution batches are independent jobs (both paginate alike; checked below)
        for k, (student, solution) in enumerate(pairs):
            for feed in feeds if k == 0 else ():
                # the opening's runs take their TeX slots first: in a cold build they and the next pair's
                # runs all wait for the format, and a streamed run that lost the race would wait a whole
                # batch with its source drawn
                feed.started.wait()
            for batch in (solution, student):  # the longer job first (solutions carry figures and more text)
                running.append(self.pool.submit(self.run_batch, batch))
            while len(running) >= 2 * self.c.workers or (running and self.fatal):
                collect(running.popleft())
        while running:
            collect(running.popleft())
        if self.fatal:
            raise self.fatal[0]
        if errors:
            raise _first_failures(errors)
        for (code, version), b in built.items():
            twin = built.get((code, "student"))
            if version == "solution" and twin is not None and twin.pages != b.pages:
                raise LayoutError(f"variant {code}: the solution has {b.pages} pages, the student version "
                                  f"{twin.pages}; both must paginate identically")
        self.remember()
        return built
