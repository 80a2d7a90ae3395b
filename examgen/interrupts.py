"""Signals that stop a command even when the exception their handler raised is swallowed.

The CLI's SIGTERM and SIGINT handlers raise (Terminated, KeyboardInterrupt) in the main thread, at
whatever it runs then. C code that clears a pending exception loses it: numpy's
`Generator.choice` over a list of strings did so about once in three under a signal (a loop of it
under SIGALRM), and a build whose SIGTERM came while a variant was drawn ran to completion with exit
code 0. The handlers also record what they raised here; the build calls `check()` where it is safe to
stop (after each variant is drawn, before it writes), which raises it again if it was swallowed."""

from __future__ import annotations

import threading

_received: list[type[BaseException]] = []


def record(kind: type[BaseException]) -> None:
    """A signal handler is about to raise `kind`."""
    _received.append(kind)


def reset() -> None:
    """A command starts: no signal received yet."""
    _received.clear()


def check() -> None:
    """Raise again what a signal handler raised in the main thread since reset(), if anything (in the
    main thread only: a worker thread leaves it to the main thread)."""
    if _received and threading.current_thread() is threading.main_thread():
        raise _received[0]()
