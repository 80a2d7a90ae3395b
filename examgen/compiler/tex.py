"""Running TeX: each run in its own process group, bounded by a timeout, with
-no-shell-escape, paranoid file access (openin_any/openout_any=p), TEXINPUTS
limited to the build folder and the TeX tree, and reproducible bytes
(SOURCE_DATE_EPOCH). A TexRunner owns its running processes: cancel() kills
them all (with everything they started) and refuses new ones."""

from __future__ import annotations

import errno
import fcntl
import heapq
import itertools
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from ..errors import ExamgenError, LatexError

PDFLATEX = "pdflatex"
TIMEOUT = 600.0  # seconds per pdflatex run
REAP = 10  # seconds to wait for a killed TeX process group to go away
LOOP_HINT = "look for an endless loop in the LaTeX of these variants' templates"


class Standby(NamedTuple):
    """A TeX run started ahead (TexRunner.standby): its process, its folder and its command."""

    proc: subprocess.Popen
    workdir: Path
    cmd: list[str]


class TexTimeout(LatexError):
    """A TeX run took longer than the timeout and was killed (with everything it started).
    It ends the build: compiling the batch's variants one by one would cost the timeout each."""


class BuildCancelled(ExamgenError):
    """A TeX run was refused because the build is being cancelled (never shown: the cause is)."""


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


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group of a TeX run (pdflatex and whatever it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: process_group=0 in spawn
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> None:
    """Collect a killed process within REAP seconds; a grandchild that escaped the group
    and holds the pipes open is not waited for."""
    try:
        proc.communicate(timeout=REAP)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        try:
            proc.wait(timeout=REAP)
        except subprocess.TimeoutExpired:
            pass


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


class _Slots:
    """`n` slots; a waiting run with a larger `cost` gets the next free one first (runs without
    a cost before all, then in the order they came): the longest jobs first keeps every core
    busy to the end (a student batch costs about half its solution batch; taken in arrival
    order, the last solution batch ran alone). A run may take its place among the waiting ones
    before it is ready to start (reserve: while its source is still being assembled and hashed);
    a cheaper run then waits for it instead of taking the slot first."""

    def __init__(self, n: int):
        self.free = n
        self.waiting: list[tuple[int, int, int]] = []
        self.cond = threading.Condition()
        self.seq = itertools.count()

    def reserve(self, cost: int) -> tuple[int, int, int]:
        """A place among the waiting runs, for a run of this cost that starts later (taken(place=...));
        drop() it if that run never comes."""
        me = (1, -cost, next(self.seq))
        with self.cond:
            heapq.heappush(self.waiting, me)
        return me

    def drop(self, place: tuple[int, int, int]) -> None:
        """Give up a reserved place that was not taken (nothing if it was)."""
        with self.cond:
            if place in self.waiting:
                self.waiting.remove(place)
                heapq.heapify(self.waiting)
                self.cond.notify_all()

    @contextmanager
    def taken(self, cost: int | None, place: tuple[int, int, int] | None = None) -> Iterator[None]:
        with self.cond:
            if place is None:
                place = (0, 0, next(self.seq)) if cost is None else (1, -cost, next(self.seq))
                heapq.heappush(self.waiting, place)
            while not (self.free and self.waiting[0] == place):
                self.cond.wait()
            heapq.heappop(self.waiting)
            self.free -= 1
            self.cond.notify_all()  # the next waiter may take another free slot
        try:
            yield
        finally:
            with self.cond:
                self.free += 1
                self.cond.notify_all()


class TexRunner:
    """The TeX processes of one compiler: `pdflatex` is the program run for documents,
    `timeout` the seconds a run may take, `slots` how many run at once (None: no bound;
    a caller's threads beyond it wait, the costliest first, so that they can split and store
    earlier results while TeX keeps every core busy)."""

    def __init__(self, pdflatex: str = PDFLATEX, timeout: float = TIMEOUT, slots: int | None = None):
        self.pdflatex = pdflatex
        self.timeout = timeout
        self._slots = _Slots(slots) if slots else None
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._timed_out: str | None = None  # the timeout that cancelled the runner (its message), if one did
        self._planned = threading.local()  # a thread's reserved place for its next run with a cost (planned)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _refused(self, label: str) -> ExamgenError:
        """What a run that cancel() refused or killed raises: the timeout that cancelled the runner, if one
        did (whichever batch is reported first reports the timeout: a streamed batch killed beside it was
        once reported as "build cancelled"), else BuildCancelled."""
        if self._timed_out is not None:
            return TexTimeout(self._timed_out)
        return BuildCancelled(f"{label}: build cancelled")

    @property
    def running(self) -> int:
        """How many TeX processes are running now."""
        with self._lock:
            return len(self._procs)

    def spawn(self, cmd: list[str], cwd: Path, label: str, hint: str = LOOP_HINT,
              cost: int | None = None, feed: Callable[[subprocess.Popen], None] | None = None,
              output: Path | None = None, started: subprocess.Popen | None = None) -> subprocess.CompletedProcess:
        """Run a TeX process in its own process group, registered so that cancel() can kill
        it; no new process starts once cancelled. The group stays in examgen's session
        (an interrupted examgen can still be seen with its TeX runs). Waits for a free slot
        (`cost`: how long the run is expected to take, e.g. its source's length; None: it
        goes before the others, as a format that the others wait for).
        `feed(process)` runs once the process started, before it is waited for (stream: it writes
        the source); its stdout and stderr then go to the file `output` (a pipe nobody reads while
        the feed writes would stop TeX once full). Whatever `feed` raises kills the run.
        `started`: the process of this command, already running (a standby's), taken instead of a new one."""
        if self._slots is None:
            return self._spawn(cmd, cwd, label, hint, feed, output, started)
        place = None
        if cost is not None:  # the thread's reserved place (planned), once
            place, self._planned.place = getattr(self._planned, "place", None), None
        with self._slots.taken(cost, place):
            return self._spawn(cmd, cwd, label, hint, feed, output, started)

    def _start(self, cmd: list[str], cwd: Path, label: str, output: Path | None) -> subprocess.Popen:
        with self._lock:
            if self._cancelled.is_set():
                raise self._refused(label)
            sink = open(output, "wb") if output is not None else None  # noqa: SIM115 (closed below)
            try:
                proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                                        stdout=sink or subprocess.PIPE,
                                        stderr=subprocess.STDOUT if sink else subprocess.PIPE, process_group=0)
            except FileNotFoundError:
                raise ExamgenError(f"{cmd[0]} not found: install TeX Live (see README: 'make exam')") from None
            finally:
                if sink is not None:
                    sink.close()  # (the child has its own)
            self._procs.add(proc)
        return proc

    def _spawn(self, cmd: list[str], cwd: Path, label: str, hint: str,
               feed: Callable[[subprocess.Popen], None] | None = None, output: Path | None = None,
               started: subprocess.Popen | None = None) -> subprocess.CompletedProcess:
        if started is not None and self._cancelled.is_set():  # (cancel() killed it)
            self.dismiss(started)
            raise self._refused(label)
        proc = started or self._start(cmd, cwd, label, output)
        try:
            if feed is not None:
                feed(proc)
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            _reap(proc)
            with self._lock:
                self._procs.discard(proc)  # (collected: cancel() must not signal its pid again)
            # a timeout ends the build: the runner is cancelled here, while the run still holds its TeX
            # slot, so that no waiting run starts in between (one did, before its caller cancelled); the
            # runs it refuses or kills report this timeout (_refused)
            message = f"{label}: pdflatex did not finish within {self.timeout:g} s (killed); build stopped; {hint}"
            with self._lock:
                self._timed_out = self._timed_out or message
            self.cancel()
            raise TexTimeout(message) from None
        except BaseException:  # the feed failed or was given up: the run is of no use
            _kill_group(proc)
            _reap(proc)
            raise
        finally:
            with self._lock:
                self._procs.discard(proc)
        if output is not None:
            out, err = output.read_bytes(), b""
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    @contextmanager
    def planned(self, cost: int) -> Iterator[None]:
        """This thread's next run with a cost takes its place among the waiting runs now, with `cost`,
        although its source is still being made: a batch whose run would start a little later does not
        let a cheaper one take the free slot first (a student batch, assembled and hashed sooner, took it
        and left its solution batch to run alone at the end). The place is given up if no run comes."""
        if self._slots is None:
            yield
            return
        place = self._slots.reserve(cost)
        self._planned.place = place
        try:
            yield
        finally:
            self._planned.place = None
            self._slots.drop(place)

    def dismiss(self, proc: subprocess.Popen) -> None:
        """Kill a process of this runner that is of no use (a standby not taken) and collect it."""
        _kill_group(proc)
        _reap(proc)
        with self._lock:
            self._procs.discard(proc)

    def cancel(self) -> None:
        """Stop: start no new TeX process and kill the running ones, each with its
        process group (and wait for them, bounded)."""
        with self._lock:
            self._cancelled.set()
            running = list(self._procs)
        for proc in running:
            _kill_group(proc)
        for proc in running:
            try:
                proc.wait(timeout=REAP)
            except subprocess.TimeoutExpired:
                pass

    def run(self, workdir: Path, name: str, fmt: str | None, draft: bool, label: str, tex: str,
            cost: int | None = None) -> str:
        """pdflatex over workdir/name.tex (with a format, in draft mode; `cost`: see spawn); its log."""
        return self._log(self.spawn(self._command(name, fmt, draft), workdir, label, cost=cost),
                         workdir, name, label, tex)

    def standby(self, workdir: Path, name: str, fmt: str) -> Standby:
        """A TeX run of workdir/name.tex (a FIFO, made here; the folder exists) started now, before
        anything is known of its document but its format, which it loads meanwhile; `stream(..., standby=)`
        gives it its source (no slot is taken until then: loaded, it waits without using the processor).
        dismiss() what is not taken."""
        os.mkfifo(workdir / f"{name}.tex")
        cmd = self._command(name, fmt, streamed=True)
        return Standby(self._start(cmd, workdir, "a TeX run started ahead", workdir / f"{name}.out"), workdir, cmd)

    def _command(self, name: str, fmt: str | None, draft: bool = False, streamed: bool = False) -> list[str]:
        """pdflatex over name.tex (on a format, in draft mode; `streamed`: from a FIFO, see stream)."""
        return [self.pdflatex, "-interaction=batchmode", "-halt-on-error", "-no-shell-escape",
                *(["-no-parse-first-line"] if streamed else []), f"-jobname={name}",
                *([f"-fmt={fmt}"] if fmt else []), *(["-draftmode"] if draft else []), f"{name}.tex"]

    def stream(self, workdir: Path, name: str, fmt: str, label: str, chunks: Iterable[str],
               cost: int | None = None, standby: Standby | None = None) -> tuple[str, str]:
        """pdflatex over workdir/name.tex written while it runs: the run starts before its source is
        complete (it loads its format meanwhile, then typesets what has come while the rest is being
        made), reading it from a FIFO that `chunks` are written into as they come; its log and the whole
        source. The same TeX run on the same characters as `run` (the same bytes out); `-no-parse-first-line`
        keeps TeX from reading the first line ahead to look for a %& format line (a FIFO is read once).
        If TeX stops early (an error), the rest of `chunks` is still taken (the caller gets the whole source)
        and not written. The timeout bounds each write and the run after the last one: the time TeX spends
        waiting for its source is not its own. Whatever `chunks` raises ends the run (killed). `standby`:
        the run started ahead in workdir (TexRunner.standby of the same name and format)."""
        fifo = workdir / f"{name}.tex"
        if standby is None:
            os.mkfifo(fifo)
        cmd = self._command(name, fmt, streamed=True)
        written: list[str] = []

        def feed(proc: subprocess.Popen) -> None:
            fd = _writer(fifo, proc, self.timeout)
            try:
                for chunk in chunks:
                    written.append(chunk)
                    if fd is not None and not _write(fd, chunk.encode("utf-8"), self.timeout):
                        os.close(fd)  # TeX stopped reading (it failed): its log says why
                        fd = None
            finally:
                if fd is not None:
                    os.close(fd)  # end of file: TeX finishes (the source ends with \\end{document})

        proc = self.spawn(cmd, workdir, label, cost=cost, feed=feed, output=workdir / f"{name}.out",
                          started=standby.proc if standby is not None else None)
        tex = "".join(written)
        return self._log(proc, workdir, name, label, tex), tex

    def _log(self, proc: subprocess.CompletedProcess, workdir: Path, name: str, label: str, tex: str) -> str:
        """A finished run's log, or its failure as a LatexError (if cancel() killed it: _refused)."""
        logfile = workdir / f"{name}.log"
        log = logfile.read_text(encoding="latin-1") if logfile.exists() else proc.stdout.decode("latin-1")
        if proc.returncode < 0 and self.cancelled:  # killed by our own cancel(): cancellation, not LaTeX
            raise self._refused(label)
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


def _writer(fifo: Path, proc: subprocess.Popen, timeout: float) -> int | None:
    """The FIFO's writing end, opened once TeX opened it for reading (a non-blocking open fails until
    then: it is tried again every 2 ms); None if TeX ended first (its log tells why)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # (no reader yet)
                raise
        else:
            _widen(fd)
            return fd
        if proc.poll() is not None:
            return None
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.002)


def _widen(fd: int) -> None:
    """A FIFO that holds a whole variant (1 MiB, Linux's limit for a user; elsewhere, or past the user's
    quota, it keeps its 64 KiB): an endterm variant's student text (65 kB) is then written at once,
    instead of in parts, each after TeX read the one before and the writing thread got the GIL back."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (AttributeError, OSError):
        pass


def _write(fd: int, data: bytes, timeout: float) -> bool:
    """All of `data` into the FIFO (non-blocking: waits up to `timeout` s for TeX to read);
    False if TeX closed it (it stopped)."""
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        if not poll.poll(timeout * 1000):
            raise subprocess.TimeoutExpired("pdflatex", timeout)
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
        except BrokenPipeError:
            return False
    return True
