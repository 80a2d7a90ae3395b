"""LaTeX -> PDF, fast and safe.

- **Batches.** Many variants of one version go into one document (the class
  starts each with \\egbeginvariant and logs where it starts and how many pages
  it has); one pdflatex process typesets the batch and qpdf splits it into one
  PDF per variant. Batches have a fixed composition (it depends only on the
  variant count), so the bytes never depend on the number of cores or the cache.
- **A precompiled preamble.** The preamble (the class and its packages) is
  dumped once into a format with mylatexformat and reused; it is cached on disk
  keyed by the class, the preamble and the TeX installation.
- **One full pass.** Page totals ("Page n / N", "N pages" on the cover) come
  from a -draftmode pass over the student batches (no PDF written, scan codes
  left out); the solution paginates identically by construction and is checked.
- **Cache.** A batch whose source, format and scan codes are unchanged is not
  compiled again: its per-variant PDFs come from the cache. Every entry records
  the sha256 of each of its files (entry.json, written last) and is verified on
  read: a damaged entry is removed and built anew, never shipped. A cache folder
  that cannot be used gives one warning and the build goes on without it.
- **Safety.** -no-shell-escape, openin_any/openout_any=p (paranoid: no file
  outside the build folder can be read or written), TEXINPUTS limited to the
  build folder and the TeX tree; reproducible bytes (SOURCE_DATE_EPOCH).
- **Failures.** When a batch fails, its variants are compiled alone to name the
  one that broke it; its .tex and .log are kept in a diagnostics folder.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from . import __version__, cachedir, qrcodes
from .errors import ExamgenError, LatexError, LayoutError
from .layouts import Region, regions
from .outputs import sha256

T = TypeVar("T")
BATCH_SIZE = 12  # variants per pdflatex run; fixed so that bytes never depend on the machine
_VARIANT = re.compile(r"EXAMGEN-VARIANT: (\S+) (\d+) (\d+)")


class CacheStats:
    """Final-pass batches taken from the PDF cache (hits) or typeset (misses) since reset():
    the CLI's summary line reads them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def reset(self) -> None:
        with self._lock:
            self.hits = self.misses = 0


CACHE_STATS = CacheStats()


@dataclass(frozen=True)
class Piece:
    """One variant's part of a batch document: everything after \\egbeginvariant."""

    code: str
    label: str  # names it in errors, e.g. 'variant E0003'
    body: str


@dataclass(frozen=True)
class Batch:
    version: str  # student | solution
    language: str
    preamble: str  # everything up to and including \begin{document}
    pieces: tuple[Piece, ...]
    files: tuple[Path, ...] = ()  # extra files (a logo) the document reads
    classes: tuple[Path, ...] = ()  # the layout's class files the preamble loads (layouts.Layout.classes)

    def source(self, pages: dict[str, int] | None = None, draft: bool = False) -> str:
        head = "\\def\\egdraftpass{}%\n" if draft else ""  # after \\begin{document}: the format skips the preamble
        return self.preamble + head + "".join(
            f"% examgen: variant {p.code}\n\\egbeginvariant{{{p.code}}}{{{(pages or {}).get(p.code, 0)}}}\n{p.body}"
            for p in self.pieces) + "\\end{document}\n"

    def standalone(self, piece: Piece, pages: int) -> str:
        """One variant alone, compilable with plain pdflatex (for --keep-tex)."""
        return replace(self, pieces=(piece,)).source({piece.code: pages})


@dataclass(frozen=True)
class Built:
    pdf: Path
    pages: int
    regions: tuple[Region, ...] = ()  # the answer regions the class logged (layouts.regions)


def batches(n: int, size: int = BATCH_SIZE) -> list[range]:
    """Split variants 0..n-1 into balanced batches of at most `size`; depends only on n."""
    k = max(1, -(-n // size))
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(k) if bounds[i] < bounds[i + 1]]


# ------------------------------------------------------------------ running TeX
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1",
        openin_any="p", openout_any="p", shell_escape="f",
        TEXINPUTS=".:", max_print_line="200", error_line="200", half_error_line="150",
    )
    return env


def excerpt(log: str, tex: str, label: str) -> str:
    """The error of a pdflatex log in one line: message, TeX's context, the
    problem and template (from the source's markers) and the source line."""
    lines = log.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("!")), None)
    if first is None:
        return f"{label}: pdflatex failed: " + " | ".join(lines[-5:])
    msg = lines[first].lstrip("! ").strip()
    # TeX's context line: the text read so far, ending with the token that failed
    ctx = lines[first + 1].strip() if first + 1 < len(lines) else ""
    if ctx and not ctx.startswith("l."):
        msg += f" (at {ctx[-60:]!r})"
    m = next((re.match(r"l\.(\d+) (.*)", line) for line in lines[first:first + 30] if re.match(r"l\.\d+ ", line)), None)
    where = ""
    if m:
        n = int(m.group(1))
        src = tex.splitlines()
        if 0 < n <= len(src):
            where = f" at line {n} of the generated source"
            marker = next((line for line in reversed(src[:n]) if line.startswith("% examgen: problem ")), None)
            if marker:
                where = f" in {marker[len('% examgen: '):]}" + where
    return f"{label}: LaTeX error: {msg}{where}"


PDFLATEX = "pdflatex"
TIMEOUT = 600  # seconds per pdflatex run

REAP = 10  # seconds to wait for a killed TeX process group to go away

_procs: set[subprocess.Popen] = set()  # the running TeX processes, killed when a build is interrupted
_procs_lock = threading.Lock()
_cancelled = threading.Event()


class TexTimeout(LatexError):
    """A TeX run took longer than TIMEOUT and was killed (with everything it started).
    It ends the build: compiling the batch's variants one by one would cost TIMEOUT each."""


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group of a TeX run (pdflatex and whatever it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: process_group=0 in _spawn
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    """Collect a killed process within REAP seconds; a grandchild that escaped the group
    and holds the pipes open is not waited for."""
    try:
        return proc.communicate(timeout=REAP)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        try:
            proc.wait(timeout=REAP)
        except subprocess.TimeoutExpired:
            pass
        return b"", b""


LOOP_HINT = "look for an endless loop in the LaTeX of these variants' templates"


def _spawn(cmd: list[str], cwd: Path, label: str, hint: str = LOOP_HINT) -> subprocess.CompletedProcess:
    """Run a TeX process in its own process group, registered so that stop_all() can kill
    it; no new process starts once a build is being cancelled. The group stays in
    examgen's session (an interrupted examgen can still be seen with its TeX runs)."""
    with _procs_lock:
        if _cancelled.is_set():
            raise BuildCancelled(f"{label}: build cancelled")
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, process_group=0)
        except FileNotFoundError:
            raise ExamgenError(f"{cmd[0]} not found: install TeX Live (see README: 'make exam')") from None
        _procs.add(proc)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _reap(proc)
        raise TexTimeout(f"{label}: pdflatex did not finish within {TIMEOUT} s (killed); build stopped; {hint}") \
            from None
    finally:
        with _procs_lock:
            _procs.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_all() -> None:
    """Cancel a build: start no new TeX process and kill the running ones, each with
    its process group (and wait for them, bounded)."""
    _cancelled.set()
    with _procs_lock:
        running = list(_procs)
    for proc in running:
        _kill_group(proc)
    for proc in running:
        try:
            proc.wait(timeout=REAP)
        except subprocess.TimeoutExpired:
            pass


class BuildCancelled(ExamgenError):
    """A TeX run was refused because the build is being cancelled (never shown: the cause is)."""


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _run(workdir: Path, name: str, fmt: str | None, draft: bool, label: str, tex: str) -> str:
    cmd = [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"-jobname={name}"]
    if fmt:
        cmd.append(f"-fmt={fmt}")
    if draft:
        cmd.append("-draftmode")
    cmd.append(f"{name}.tex")
    proc = _spawn(cmd, workdir, label)
    logfile = workdir / f"{name}.log"
    log = logfile.read_text(encoding="latin-1") if logfile.exists() else proc.stdout.decode("latin-1")
    if proc.returncode < 0 and _cancelled.is_set():  # killed by our own stop_all: cancellation, not LaTeX
        raise BuildCancelled(f"{label}: build cancelled")
    if proc.returncode < 0:
        err = LatexError(f"{label}: pdflatex was killed by {_signal_name(proc.returncode)} (out of memory, or "
                         "stopped from outside); run the build again")
        err.log = log
        raise err
    if proc.returncode != 0:
        err = LatexError(excerpt(log, tex, label))
        err.log = log
        raise err
    return log


# ------------------------------------------------------------------ the cache
def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def tex_identity() -> str:
    """The TeX installation, for cache keys: pdfTeX's version and the format it loads."""
    try:
        version = subprocess.run(["pdftex", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        fmt = subprocess.run(["kpsewhich", "-engine=pdftex", "pdflatex.fmt"], capture_output=True,
                             text=True).stdout.strip()
        stamp = f"{fmt}:{os.stat(fmt).st_mtime_ns}" if fmt else ""
    except (FileNotFoundError, IndexError, OSError):
        raise ExamgenError("pdflatex not found: install TeX Live (see README: 'make exam')") from None
    return f"{version}|{stamp}|examgen {__version__}"


ENTRY = "entry.json"  # in every cache entry, written last: {"files": {name: sha256}, ...what it is for}


def _store(cache: Path, final: Path, files: dict[str, Path | bytes], **meta: object) -> None:
    """Create a cache entry atomically: the files copied into a temporary folder beside
    it, their sha256 recorded in entry.json (written last), then renamed. A cache that
    fails (read-only, full) gives one warning (cachedir.unusable); the build goes on."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    except OSError as exc:
        cachedir.unusable(cache, exc)
        return
    try:
        digests = {}
        for name, src in files.items():
            if isinstance(src, bytes):
                (tmp / name).write_bytes(src)
            else:
                shutil.copyfile(src, tmp / name)
            digests[name] = sha256(tmp / name)
        (tmp / ENTRY).write_text(json.dumps({"files": digests, **meta}, sort_keys=True))
        try:
            tmp.rename(final)
        except OSError:
            if not final.exists():
                raise
            # another build stored it first (its entry is verified when read)
    except OSError as exc:
        cachedir.unusable(cache, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _verified(entry: Path, names: list[str], **meta: object) -> Path | None:
    """A cache entry that holds exactly these files, each with the sha256 its entry.json
    records, and records `meta` (what it is for); None on a miss. A damaged entry (a
    changed, missing or extra file, an unreadable or malformed record) is removed: a miss."""
    if not entry.exists():
        return None
    try:
        record = json.loads((entry / ENTRY).read_text())
        files = record["files"]
        good = (isinstance(files, dict) and sorted(files) == sorted(names)
                and sorted(os.listdir(entry)) == sorted([*names, ENTRY])
                and all(record.get(k) == v for k, v in meta.items())
                and all(sha256(entry / name) == files[name] for name in names))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        good = False
    if good:
        return entry
    _discard(entry)
    return None


def _discard(entry: Path) -> None:
    """Remove a damaged entry; another build may be removing it at the same time."""
    doomed = entry.with_name(f".bad-{entry.name}-{os.getpid()}-{threading.get_ident()}")
    try:
        entry.rename(doomed)
    except OSError:  # gone already, or the cache is read-only: the next store reports that
        return
    shutil.rmtree(doomed, ignore_errors=True)


# ------------------------------------------------------------------ formats
def format_file(preamble: str, classes: tuple[Path, ...], workroot: Path, cache: Path | None) -> Path:
    """The preamble (with the class files it loads) dumped into a pdfTeX format
    (mylatexformat), from the cache if possible."""
    key = _sha(*(f.read_bytes() for f in classes), preamble, tex_identity())
    name = f"eg-{key[:16]}"
    entry = _verified(cache / "formats" / key, [f"{name}.fmt"]) if cache else None
    if entry is not None:
        return entry / f"{name}.fmt"
    folder = workroot / "formats" / key  # made in the build's own folder, then stored in the cache
    folder.mkdir(parents=True, exist_ok=True)
    for f in classes:
        shutil.copyfile(f, folder / f.name)
    (folder / "preamble.tex").write_text(preamble + "\\end{document}\n", encoding="utf-8")
    cmd = ["pdftex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={name}",
           "&pdflatex", "mylatexformat.ltx", "preamble.tex"]
    proc = _spawn(cmd, folder, "the document preamble (format)",
                  "look for an endless loop in the spec's exam: texts, or check the TeX installation")
    fmt = folder / f"{name}.fmt"
    if proc.returncode != 0 or not fmt.exists():
        log = (folder / f"{name}.log").read_text(encoding="latin-1") if (folder / f"{name}.log").exists() else ""
        raise LatexError(excerpt(log, preamble, "the document preamble (format)"))
    if cache is not None:
        _store(cache, cache / "formats" / key, {fmt.name: fmt})
    return fmt


# ------------------------------------------------------------------ one batch
def _prepare(workdir: Path, batch: Batch, fmt: Path) -> None:
    """The format and the files the document reads (a logo). The class is not among
    them: it is in the format, and the format skips the preamble."""
    workdir.mkdir(parents=True, exist_ok=True)
    for f in batch.files:
        shutil.copyfile(f, workdir / f.name)
    target = workdir / fmt.name
    if not target.exists():
        try:
            os.link(fmt, target)
        except OSError:
            shutil.copyfile(fmt, target)


def _ranges(log: str, batch: Batch, label: str) -> dict[str, tuple[int, int]]:
    found = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in _VARIANT.finditer(log)}
    missing = [p.code for p in batch.pieces if p.code not in found]
    if missing:
        raise LatexError(f"{label}: the class did not report the pages of {', '.join(missing)} (EXAMGEN-VARIANT)")
    return found


def count_pages(batch: Batch, workdir: Path, fmt: Path) -> dict[str, int]:
    """The draft pass: page count of every variant of the batch."""
    _prepare(workdir, batch, fmt)
    tex = batch.source(draft=True)
    (workdir / "draft.tex").write_text(tex, encoding="utf-8")
    label = _label(batch)
    log = _run(workdir, "draft", fmt.stem, True, label, tex)
    return {code: n for code, (_, n) in _ranges(log, batch, label).items()}


def _label(batch: Batch) -> str:
    if len(batch.pieces) == 1:
        return f"{batch.pieces[0].label} ({batch.version})"
    return f"variants {batch.pieces[0].code}-{batch.pieces[-1].code} ({batch.version})"


class Mispaginated(Exception):
    """A final pass run with guessed page totals found other totals (`pages`)."""

    def __init__(self, pages: dict[str, int]):
        super().__init__("page totals guessed wrong")
        self.pages = pages


Regions = dict[str, tuple[Region, ...]]  # variant code -> its answer regions


def typeset(batch: Batch, pages: dict[str, int], workdir: Path, fmt: Path, cache: Path | None,
            guessed: bool = False) -> tuple[dict[str, Path], Regions]:
    """The final pass, then one PDF per variant (split with qpdf) and the answer regions
    from the log; cached by source (the regions as regions.json in the entry).
    With `guessed` totals, a variant that comes out with another page count raises
    Mispaginated with the real counts (the caller runs the pass again with them);
    otherwise that is a LayoutError (student and solution must paginate alike)."""
    tex = batch.source(pages)
    codes = [(p.code, pages[p.code]) for p in batch.pieces]
    # the scan codes are a function of (code, pages) and segno's version: keyed by those, computed on a miss only
    # fmt.name carries the hash of the class, the preamble and the TeX installation
    key = _sha(tex, repr(codes), qrcodes.VERSION, fmt.name,
               *(f.read_bytes() for f in batch.files))
    names = [f"{p.code}.pdf" for p in batch.pieces] + [REGIONS]
    entry = _verified(cache / "pdf" / key, names, codes=[p.code for p in batch.pieces]) if cache else None
    found = _read_regions(entry / REGIONS, batch) if entry is not None else None
    if entry is not None and found is None:  # a well-hashed record of the wrong shape
        _discard(entry)
    CACHE_STATS.count(found is not None)
    if entry is not None and found is not None:
        return {p.code: entry / f"{p.code}.pdf" for p in batch.pieces}, found
    _prepare(workdir, batch, fmt)
    (workdir / "final.tex").write_text(tex, encoding="utf-8")
    (workdir / "final-qr.tex").write_text(qrcodes.definitions(codes), encoding="utf-8")  # the scan codes
    label = _label(batch)
    log = _run(workdir, "final", fmt.stem, False, label, tex)
    ranges = _ranges(log, batch, label)
    actual = {code: n for code, (_, n) in ranges.items()}
    if guessed and any(actual[p.code] != pages[p.code] for p in batch.pieces):
        raise Mispaginated(actual)
    for p in batch.pieces:
        if ranges[p.code][1] != pages[p.code]:
            raise LayoutError(f"{p.label}: the {batch.version} has {ranges[p.code][1]} pages, "
                              f"the student version {pages[p.code]}; both must paginate identically")
    split = workdir / "split"
    split.mkdir(exist_ok=True)
    _split(workdir / "final.pdf", [(p.code, *ranges[p.code]) for p in batch.pieces], split)
    logged = regions(log)
    found = {p.code: tuple(logged.get(p.code, ())) for p in batch.pieces}
    if cache is not None:
        files: dict[str, Path | bytes] = {f"{p.code}.pdf": split / f"{p.code}.pdf" for p in batch.pieces}
        files[REGIONS] = json.dumps({c: [asdict(r) for r in rs] for c, rs in found.items()}, sort_keys=True).encode()
        _store(cache, cache / "pdf" / key, files, codes=[p.code for p in batch.pieces])
    return {p.code: split / f"{p.code}.pdf" for p in batch.pieces}, found  # the build's own copies


REGIONS = "regions.json"  # in a PDF cache entry: {variant code: [Region as a dict, ...]}


def _read_regions(path: Path, batch: Batch) -> Regions | None:
    """The regions of exactly the batch's variants from a cache entry, or None if the file is not that."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or sorted(data) != sorted(p.code for p in batch.pieces):
            return None
        return {code: tuple(Region(**r) for r in rs) for code, rs in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _split(pdf: Path, parts: list[tuple[str, int, int]], folder: Path) -> None:
    """Cut a batch PDF into folder/<code>.pdf; parts are (code, first page, pages) in order.
    Variants with the same page count in a row (usually all of them) are cut by
    one qpdf run (--split-pages) instead of reading the whole batch once per variant."""
    runs: list[list[tuple[str, int, int]]] = []
    for part in parts:
        if runs and runs[-1][-1][2] == part[2]:
            runs[-1].append(part)
        else:
            runs.append([part])
    for k, run in enumerate(runs):
        first, size = run[0][1], run[0][2]
        if len(run) == 1:
            _qpdf(["--empty", "--pages", str(pdf), f"{first}-{first + size - 1}", "--",
                   str(folder / f"{run[0][0]}.pdf")])
            continue
        tmp = folder / f"run{k}"
        tmp.mkdir()
        source = pdf
        if len(run) != len(parts):  # this run only
            source = tmp / "run.pdf"
            _qpdf(["--empty", "--pages", str(pdf), f"{first}-{first + size * len(run) - 1}", "--", str(source)])
        _qpdf([str(source), f"--split-pages={size}", str(tmp / "part.pdf")])
        pieces = sorted(f for f in tmp.iterdir() if f.name.startswith("part"))  # zero-padded: sorted = in order
        if len(pieces) != len(run):
            raise ExamgenError(f"qpdf split {pdf.name} into {len(pieces)} files, expected {len(run)}")
        for (code, _, _), f in zip(run, pieces):
            f.replace(folder / f"{code}.pdf")
        shutil.rmtree(tmp)


def concatenate(pdfs: list[Path], out: Path) -> None:
    """One PDF of all pages of `pdfs`, in order (qpdf). qpdf holds every object of its
    output (about 1.4 MB per endterm variant): callers keep the list short (PRINT_PART)."""
    _qpdf(["--empty", "--pages", *map(str, pdfs), "--", str(out)])


def _qpdf(args: list[str]) -> None:
    try:
        proc = subprocess.run(["qpdf", "--deterministic-id", *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise ExamgenError("qpdf not found: install it (Debian package 'qpdf'; see README: 'make exam')") from None
    if proc.returncode not in (0, 3):  # 3 = warnings only
        raise ExamgenError(f"qpdf failed: {proc.stderr.strip()}")


# ------------------------------------------------------------------ many batches
def _isolate(batch: Batch, exc: LatexError, run: Callable[[Batch], object]) -> LatexError:
    """A batch failed: compile its variants alone and report the ones that fail. Their
    .tex, .log, the class and the batch's files ride along in the error (`files`);
    the pipeline writes them to the diagnostics folder only once the build has failed
    for good, never when it was cancelled."""
    if exc.failures or _cancelled.is_set():  # already isolated by an inner stage, or the build is being stopped
        return exc
    if len(batch.pieces) == 1:
        culprits = [(batch.pieces[0], exc)]
    else:
        culprits = []
        for p in batch.pieces:
            single = replace(batch, pieces=(p,))
            try:
                run(single)
            except LatexError as e:
                culprits.append((p, e))
        if not culprits:
            return exc
    files: list[tuple[str, bytes]] = []
    for p, failed in culprits:
        single = replace(batch, pieces=(p,))
        files.append((f"{p.code}/{batch.version}.tex", single.standalone(p, 0).encode("utf-8")))
        if failed.log:
            files.append((f"{p.code}/{batch.version}.log", failed.log.encode("latin-1", "replace")))
        files += [(f"{p.code}/{f.name}", f.read_bytes()) for f in (*batch.classes, *batch.files)]
    err = LatexError("\n".join(str(e) for _, e in culprits))
    err.failures = tuple((p.code, batch.version, str(e)) for p, e in culprits)
    err.files = tuple(files)
    return err


def compile_exam(pairs: Iterable[tuple[Batch, Batch]], workroot: Path, workers: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 use_cache: bool = True) -> dict[tuple[str, str], Built]:
    """(student batch, solution batch) pairs -> {(variant code, version): Built}.

    The pairs may be produced lazily: rendering the next pair (Python) overlaps
    compiling the previous ones (pdflatex), and no more than two pairs per worker
    are held in memory. Per pair: pass 1 (-draftmode, student) counts the pages;
    pass 2 typesets both versions with the totals and splits them. A failing
    batch is isolated to its variants; the other batches still finish."""
    workers = max(1, workers or os.cpu_count() or 1)
    cache = cachedir.usable_cache() if use_cache else None
    _cancelled.clear()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            return _compile_stream(pool, workers, pairs, workroot, progress, cache)
        except BaseException:  # Ctrl-C, SIGTERM, a failed or crashed worker: stop the others at once
            pool.shutdown(wait=False, cancel_futures=True)
            stop_all()
            raise


def _compile_stream(pool: ThreadPoolExecutor, workers: int, pairs: Iterable[tuple[Batch, Batch]], workroot: Path,
                    progress: Callable[[int], None] | None, cache: Path | None) -> dict[tuple[str, str], Built]:
    fmts: dict[str, Path] = {}
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()
    counter = itertools.count()

    def fmt_for(batch: Batch) -> Path:
        with guard:
            lock = locks.setdefault(batch.preamble, threading.Lock())
        with lock:  # one thread builds a format, the others wait for it
            if batch.preamble not in fmts:
                fmts[batch.preamble] = format_file(batch.preamble, batch.classes, workroot, cache)
            return fmts[batch.preamble]

    def wd() -> Path:
        return workroot / f"b{next(counter):05d}"

    fatal: list[TexTimeout] = []  # the first timeout: it ends the build at once

    def stage(batch: Batch, fn: Callable[[Batch], T]) -> T:
        try:
            return fn(batch)
        except TexTimeout:  # not isolated: each variant alone would cost TIMEOUT again
            raise
        except LatexError as exc:
            raise _isolate(batch, exc, fn) from None
        except ExamgenError:
            raise
        except Exception as exc:  # a bug in a worker: name the batch, stop the build (compile_exam cancels)
            raise ExamgenError(f"{_label(batch)}: compiling crashed: {type(exc).__name__}: {exc} (a bug in examgen; "
                               "please report it)") from exc

    typical: dict[int, int] = {}  # page count -> how many variants had it: the guess for the next batches
    sampling = threading.Lock()

    def guess_for(batch: Batch, fmt: Path) -> int:
        with sampling:  # the first batch ever: a -draftmode pass over its first variant only
            if not typical:
                one = replace(batch, pieces=batch.pieces[:1])
                (n,) = stage(one, lambda b: count_pages(b, wd(), fmt)).values()
                typical[n] = 0
            return max(typical, key=lambda k: typical[k])

    def run_batch(batch: Batch) -> tuple[Batch, dict[str, Built]]:
        try:
            return typeset_batch(batch)
        except TexTimeout as exc:  # the first timeout ends the build
            with guard:
                fatal.append(exc)
            stop_all()  # the other TeX runs, and no new one starts
            raise

    def typeset_batch(batch: Batch) -> tuple[Batch, dict[str, Built]]:
        """One final pass, with the page totals from the cache, else with the usual total
        (verified against the log; a variant that differs gets a second pass)."""
        fmt = fmt_for(batch)
        known = _cached_counts(batch, fmt, cache, None)

        def final(b: Batch) -> tuple[dict[str, Path], Regions]:
            nonlocal known
            if known is not None and all(p.code in known for p in b.pieces):
                return typeset(b, known, wd(), fmt, cache)
            usual = {p.code: guess_for(b, fmt) for p in b.pieces}
            try:
                out = typeset(b, usual, wd(), fmt, cache, guessed=True)
                known = usual
                return out
            except Mispaginated as exc:
                known = exc.pages
                return typeset(b, known, wd(), fmt, cache)

        pdfs, found = stage(batch, final)
        assert known is not None
        pages: dict[str, int] = known
        _remember_counts(batch, fmt, cache, pages)
        with guard:
            for n in pages.values():
                typical[n] = typical.get(n, 0) + 1
        if progress:
            progress(len(batch.pieces))
        return batch, {code: Built(pdf, pages[code], found[code]) for code, pdf in pdfs.items()}

    built: dict[tuple[str, str], Built] = {}
    errors: list[LatexError] = []
    running: deque[Future[tuple[Batch, dict[str, Built]]]] = deque()

    def collect(f: Future[tuple[Batch, dict[str, Built]]]) -> None:
        try:
            batch, res = f.result()
            built.update({(code, batch.version): b for code, b in res.items()})
        except ExamgenError as exc:
            if fatal:  # a timeout stopped the build; what the other batches met since is its consequence
                raise fatal[0] from None
            if not isinstance(exc, LatexError):
                raise
            errors.append(exc)  # the other batches still finish; all failures are reported together

    # student and solution batches are independent jobs (both paginate alike; checked below)
    for student, solution in pairs:
        for batch in (solution, student):  # the longer job first (solutions carry figures and more text)
            running.append(pool.submit(run_batch, batch))
        while len(running) >= 2 * workers or (running and fatal):
            collect(running.popleft())
    while running:
        collect(running.popleft())
    if fatal:
        raise fatal[0]
    if errors:
        raise _first_failures(errors)
    for (code, version), b in built.items():
        twin = built.get((code, "student"))
        if version == "solution" and twin is not None and twin.pages != b.pages:
            raise LayoutError(f"variant {code}: the solution has {b.pages} pages, the student version "
                              f"{twin.pages}; both must paginate identically")
    return built


def _first_failures(errors: list[LatexError]) -> LatexError:
    """All failures in one error, without a variant's solution failure when its student
    version failed too (the same template text breaks both: one line is enough)."""
    student = {code for e in errors for code, version, _ in e.failures if version == "student"}
    lines = [line for e in errors for code, version, line in e.failures
             if version == "student" or code not in student]
    lines += [str(e) for e in errors if not e.failures]
    err = LatexError("\n".join(lines))
    err.files = tuple(f for e in errors for f in e.files)
    return err


def _counts_entry(batch: Batch, fmt: Path, cache: Path) -> Path:
    return cache / "pages" / _sha(batch.source(draft=True), fmt.name, *(f.read_bytes() for f in batch.files))


def _cached_counts(batch: Batch, fmt: Path, cache: Path | None,
                   compute: Callable[[], dict[str, int]] | None) -> dict[str, int] | None:
    """The page counts of a batch's variants: from the cache, else computed (and
    remembered); None when not cached and there is nothing to compute them with."""
    if cache is not None:
        entry = _verified(_counts_entry(batch, fmt, cache), ["pages.json"])
        counts = _read_counts(entry / "pages.json", batch) if entry is not None else None
        if counts is not None:
            return counts
        if entry is not None:  # a well-hashed record of the wrong shape
            _discard(entry)
    if compute is None:
        return None
    counts = compute()
    _remember_counts(batch, fmt, cache, counts)
    return counts


def _read_counts(path: Path, batch: Batch) -> dict[str, int] | None:
    """{variant code: pages} for exactly the batch's variants, or None if the file is not that."""
    try:
        counts = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(counts, dict) or sorted(counts) != sorted(p.code for p in batch.pieces)
            or not all(type(n) is int and n > 0 for n in counts.values())):
        return None
    return counts


def _remember_counts(batch: Batch, fmt: Path, cache: Path | None, counts: dict[str, int]) -> None:
    if cache is None:
        return
    entry = _counts_entry(batch, fmt, cache)
    if not (entry / ENTRY).exists():
        _store(cache, entry, {"pages.json": json.dumps(counts, sort_keys=True).encode()})


def compile_one(batch: Batch, workroot: Path, use_cache: bool = True) -> Built:
    """A one-variant document (preview, check): its own draft pass, then the final one."""
    (code,) = [p.code for p in batch.pieces]
    cache = cachedir.usable_cache() if use_cache else None
    _cancelled.clear()
    fmt = format_file(batch.preamble, batch.classes, workroot, cache)
    pages = count_pages(batch, workroot / "draft", fmt)
    pdfs, found = typeset(batch, pages, workroot / "final", fmt, cache)
    return Built(pdfs[code], pages[code], found[code])


def compile_once(workdir: Path, name: str, tex: str, label: str) -> Path:
    """One pdflatex pass with the same hardening (no shell escape, paranoid file
    access, reproducible bytes) for a document that needs no page total, e.g.
    the grading report."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{name}.tex").write_text(tex, encoding="utf-8")
    _cancelled.clear()
    _run(workdir, name, None, False, label, tex)
    return workdir / f"{name}.pdf"
