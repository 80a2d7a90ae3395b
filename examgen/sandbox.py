"""An instructor's own Python (a solver.py beside a template of a --bank folder) runs
in a forked worker process, one per call: its stdout and stderr go nowhere (`examgen
solve` prints JSON on stdout), its address space is capped (RLIMIT_AS), it gets a time
limit, and its death (sys.exit, os._exit, a signal) is a named error instead of
examgen's. The shipped solvers (examgen.solvers) run in-process: they are examgen's
code, and `examgen check --draws 500` calls them tens of thousands of times.

Limits: EXAMGEN_SOLVER_TIMEOUT (seconds per call, default 10) and
EXAMGEN_SOLVER_MEMORY_MB (address space a call may add, default 2048)."""

from __future__ import annotations

import faulthandler
import functools
import os
import pickle
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExamgenError, SpecError, TemplateError

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 2048
# what the caller (sampling.py) reports itself, with the parameters: an instructor's bug
PASS_THROUGH = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError)


def env_limit(name: str, default: float) -> float:
    """A positive limit from the environment variable `name`, else `default`; a bad value is one line."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise SpecError(f"environment variable {name}={raw!r}: not a positive number; "
                        f"unset it (default {default:g}) or give e.g. {name}={default:g}")
    return value


def timeout() -> float:
    return env_limit("EXAMGEN_SOLVER_TIMEOUT", DEFAULT_TIMEOUT)


def memory_mb() -> float:
    return env_limit("EXAMGEN_SOLVER_MEMORY_MB", DEFAULT_MEMORY_MB)


def isolated(fn: Callable[..., Any], path: Path, template_id: str) -> Callable[..., Any]:
    """fn (a function of the instructor's file `path`) run in a worker process per call."""
    name = getattr(fn, "__name__", "?")
    where = f"{path}: function '{name}' of template '{template_id}'"

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        return run(fn, args, where)

    return call


def vm_bytes() -> int:
    """This process's address space (VmSize), the base of a memory limit."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def lower_address_space(extra: int) -> tuple[int, int] | None:
    """Lower this process's address-space limit (RLIMIT_AS) to its present size plus `extra`
    bytes (never above the hard limit): a bigger allocation is then a MemoryError. Returns
    the limits to restore, or None when the present limit is lower already."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_bytes() + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and cap >= soft:
        return None
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return soft, hard


def _child(fn: Callable[..., Any], args: tuple[Any, ...], wfd: int, mem_bytes: int) -> None:
    """The worker: never returns (os._exit), whatever the function does."""
    try:
        os.setpgid(0, 0)  # its own process group: a timeout kills whatever it started too
        faulthandler.disable()  # a crash is reported by the parent, not dumped on the parent's stderr
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")
        if mem_bytes:
            lower_address_space(mem_bytes)
        result: tuple[Any, ...]
        try:
            value = fn(*args)
            states = [a.bit_generator.state if isinstance(a, np.random.Generator) else None for a in args]
            result = ("ok", value, states)
        except SystemExit as exc:
            result = ("exit", repr(exc.code))
        except MemoryError:
            result = ("memory",)
        except ExamgenError as exc:  # ParamError from a checker, SolverError: rebuilt in the caller
            result = ("examgen", type(exc), exc.args, dict(vars(exc)))
        except BaseException as exc:
            result = ("raise", exc)
        try:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory",))
        except Exception as exc:
            kind = "returned" if result[0] == "ok" else "raised"
            what = type(result[1]).__name__ if len(result) > 1 else "value"
            data = pickle.dumps(("unpicklable", kind, what, f"{type(exc).__name__}: {exc}"))
        with os.fdopen(wfd, "wb") as f:
            f.write(data)
    finally:
        os._exit(0)


def run(fn: Callable[..., Any], args: tuple[Any, ...], where: str,
        on_exit: str = "return the answers or raise an exception instead") -> Any:
    limit, mem = timeout(), memory_mb()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the worker; its coverage is the tests' results)
        os.close(rfd)
        _child(fn, args, wfd, int(mem * 2**20))
    os.close(wfd)
    chunks: list[bytes] = []
    done = False
    try:
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([rfd], [], [], left)[0]:
                break
            chunk = os.read(rfd, 1 << 20)
            if not chunk:
                done = True
                break
            chunks.append(chunk)
    finally:
        os.close(rfd)
        if not done:
            _kill(pid)
        _, status = os.waitpid(pid, 0)
    if not done:
        raise TemplateError(f"{where} did not return within {limit:g} s; make it faster, or allow more time "
                            "with EXAMGEN_SOLVER_TIMEOUT=SECONDS")
    if not chunks:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            raise TemplateError(f"{where} was killed by signal {signal.Signals(sig).name} before it returned "
                                "(a crash in native code, or it killed itself); fix the function")
        raise TemplateError(f"{where} ended its process (exit code {os.WEXITSTATUS(status)}, os._exit?) before "
                            f"it returned; {on_exit}")
    try:
        result = pickle.loads(b"".join(chunks))
    except Exception as exc:
        raise TemplateError(f"{where}: its result cannot be passed back ({type(exc).__name__}: {exc}); "
                            "return plain numbers, lists, strings and dicts") from None
    kind = result[0]
    if kind == "ok":
        for a, state in zip(args, result[2]):
            if state is not None:
                a.bit_generator.state = state  # a sampler's draws advance the caller's generator
        return result[1]
    if kind == "exit":
        raise TemplateError(f"{where} called sys.exit({result[1]}); {on_exit}")
    if kind == "memory":
        raise TemplateError(f"{where} needed more than {mem:g} MiB of memory; make it smaller, or allow more with "
                            "EXAMGEN_SOLVER_MEMORY_MB=MIB")
    if kind == "unpicklable":
        raise TemplateError(f"{where} {result[1]} a {result[2]} that cannot be passed back ({result[3]}); "
                            "return plain numbers, lists, strings and dicts")
    if kind == "examgen":
        error = result[1].__new__(result[1])
        error.args = result[2]
        vars(error).update(result[3])
        raise error
    raised = result[1]
    if isinstance(raised, PASS_THROUGH):
        raise raised.with_traceback(None)
    raise TemplateError(f"{where} raised {type(raised).__name__}: {raised}; fix the function") from None


def _kill(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass
