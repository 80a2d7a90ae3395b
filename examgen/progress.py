"""Progress and the closing summary of the long commands (build, check, grade, export).

On a terminal, stderr shows a click progress bar with counts and an ETA. Without
one (CI logs, pipes), stderr gets plain lines instead, one per 10 % of the work
(none before the first step is done, so an early error stays the only line), e.g.

    examgen: Compiling 4 PDFs: 2/4 (50 %), 3.1 s elapsed, about 3.1 s left

Every such command ends with one summary line on stdout (see `summary`)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click


class _LogLines:
    """Plain progress lines: whenever another tenth of the work is done."""

    def __init__(self, label: str, total: int, stream: TextIO):
        self.label, self.total, self.stream = label, max(1, total), stream
        self.done = 0
        self.tenths = 0
        self.start = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        tenths = self.done * 10 // self.total
        if tenths <= self.tenths:
            return
        self.tenths = tenths
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        tail = f", about {left:.1f} s left" if self.done < self.total else ""
        print(f"examgen: {self.label}: {self.done}/{self.total} ({100 * self.done // self.total} %), "
              f"{elapsed:.1f} s elapsed{tail}", file=self.stream, flush=True)


@contextmanager
def progress(label: str, total: int, stream: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """A thread-safe `update(n)` callback: a progress bar on a terminal, log lines otherwise."""
    stream = stream or sys.stderr
    lock = threading.Lock()
    if stream.isatty():
        with click.progressbar(length=total, label=label, file=stream, show_pos=True, show_eta=True) as bar:
            def update(n: int = 1) -> None:
                with lock:
                    bar.update(n)

            yield update
    else:
        lines = _LogLines(label, total, stream)

        def update_lines(n: int = 1) -> None:
            with lock:
                lines.update(n)

        yield update_lines


class Stopwatch:
    """Elapsed wall time since creation, for the summary line."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start


def summary(command: str, files: int | None, seconds: float, where: object = None, extra: str = "") -> str:
    """The last line of a long command, e.g.
    'build: 13 files written to output/quiz in 4.2 s; compile cache: 2 hits, 0 misses'."""
    to = f" to {where}" if where is not None else ""
    done = "done" if files is None else f"{files} file{'' if files == 1 else 's'} written{to}"
    return f"{command}: {done} in {seconds:.1f} s" + (f"; {extra}" if extra else "")


def cache_note(hits: int, misses: int) -> str:
    return f"compile cache: {hits} hit{'' if hits == 1 else 's'}, {misses} miss{'' if misses == 1 else 'es'}"
