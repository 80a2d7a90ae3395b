"""The jinja2 environment for question templates: sandboxed, undefined
variables are errors, LaTeX-friendly delimiters, and every value passes
through texfmt.to_tex (escaped unless it is already LaTeX)."""

from __future__ import annotations

import contextvars
import hashlib
import math
import operator
import os
import resource
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from . import cachedir, tables, texfmt
from .errors import TemplateError
from .resources import SHIPPED_BANK
from .sandbox import env_limit, lower_address_space

_SOURCES: dict[str, str] = {}  # template name -> source, for the loader (names carry the source's hash)
# the one name the loader serves: the file compile_blocks is parsing; an <% include %>,
# <% import %> or <% extends %> asks for another name, at render time, and is refused
_COMPILING: contextvars.ContextVar[str | None] = contextvars.ContextVar("compiling", default=None)
# bounds on what a template's text may compute (an instructor's --bank template is untrusted)
MAX_RANGE = 10_000  # items of one range()
MAX_LOOP = 100_000  # items of all range() calls of one render
MAX_PRODUCT = 100_000  # items of a string or list made by '*'
MAX_POWER_BITS = 4096  # size of an integer made by '**'
MAX_OUTPUT = 1_000_000  # characters of one rendered block
_BUDGET: contextvars.ContextVar[list[int]] = contextvars.ContextVar("budget")
POLICY = "sandbox-1"  # part of every template's name: bytecode compiled under another policy is not reused


def _load(name: str) -> tuple[str, str, Callable[[], bool]]:
    if name != _COMPILING.get() or name not in _SOURCES:
        raise SecurityError(f"<% include %>, <% import %> and <% extends %> are not allowed (it asked for "
                            f"'{name.split('#')[0]}'); write the text into this file")
    return _SOURCES[name], name.split("#")[0], lambda: True


def bounded_range(*args: int) -> range:
    r = range(*args)
    budget = _BUDGET.get(None)
    if len(r) > MAX_RANGE or (budget is not None and budget[0] + len(r) > MAX_LOOP):
        raise SecurityError(f"range() of {len(r)} numbers is too long; a template may loop over at most "
                            f"{MAX_RANGE} numbers at once and {MAX_LOOP} in all")
    if budget is not None:
        budget[0] += len(r)
    return r


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with '*' and '**' bounded: 'x' * 10**10 or 10**10**10 would take all
    memory or time before the render could be stopped."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_PRODUCT:
                    raise SecurityError(f"'*' would make a {type(seq).__name__} of {len(seq) * n} items; "
                                        f"at most {MAX_PRODUCT}")
            return operator.mul(left, right)
        if (isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
                and right * math.log2(abs(left)) > MAX_POWER_BITS):
            raise SecurityError(f"'**' would make an integer of about {int(right * math.log2(abs(left)))} bits; "
                                f"at most {MAX_POWER_BITS}")
        return operator.pow(left, right)


class _CheckedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """jinja2's file cache (keyed by the source's checksum) with every file headed by the
    sha256 of its bytecode: a damaged file is removed and the template compiled anew (a
    miss), never run; a failing write warns once (cachedir.unusable) and is skipped."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root / "jinja2"))
        self.root = root

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        name = self._get_cache_filename(bucket)
        try:
            data = Path(name).read_bytes()
        except OSError:
            return
        digest, body = data[:32], data[32:]
        if hashlib.sha256(body).digest() == digest:
            try:
                bucket.bytecode_from_string(body)
            except Exception:  # noqa: BLE001 - a malformed record is a miss, whatever pickle raises
                bucket.reset()
            if bucket.code is not None:
                return
        bucket.reset()  # damaged, or compiled from another source: made anew and written again
        try:
            os.remove(name)
        except OSError:
            pass

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        name = self._get_cache_filename(bucket)
        body = bucket.bytecode_to_string()
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(body).digest() + body)
            os.replace(tmp, name)
        except OSError as exc:
            cachedir.unusable(self.root, exc)
            if tmp is not None:
                try:
                    os.remove(tmp)
                except OSError:
                    pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept on disk: parsing and compiling every template again
    costs half a second a run."""
    root = cachedir.usable_cache(cachedir.cache_dir())
    if root is None:
        return None
    try:
        (root / "jinja2").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        cachedir.unusable(root, exc)
        return None
    return _CheckedBytecodeCache(root)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = Sandbox(
        loader=jinja2.FunctionLoader(_load),
        cache_size=0,  # compile_blocks caches; jinja2's own cache would serve an include its template
        bytecode_cache=_bytecode_cache(),
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<<",
        variable_end_string=">>",
        comment_start_string="<#",
        comment_end_string="#>",
        undefined=jinja2.StrictUndefined,
        finalize=texfmt.to_tex,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=texfmt.num, paren=texfmt.paren, vec=texfmt.vec, mat=texfmt.mat, seq=texfmt.seq,
        esc=texfmt.escape, credits=texfmt.credits, sym=texfmt.sym, table=tables.table,
    )
    env.globals.update(range=bounded_range, len=len, abs=abs, min=min, max=max, round=round, zip=zip,
                       enumerate=enumerate)
    return env


@lru_cache(maxsize=256)
def compile_blocks(source: str, origin: str) -> jinja2.Template:
    """Parse a template file's source once (cached: every draw and variant reuses it);
    a syntax error names the file and line."""
    name = f"{origin}#{hashlib.sha256((POLICY + source).encode()).hexdigest()[:16]}"
    _SOURCES[name] = source
    token = _COMPILING.set(name)
    try:
        with _limits(origin):  # jinja2 evaluates constant expressions while compiling
            return environment().get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{origin}:{exc.lineno}: jinja2 syntax error: {exc.message}") from None
    finally:
        _COMPILING.reset(token)


RENDER_TIMEOUT = 10.0  # seconds one block of an instructor's template may take to render (EXAMGEN_RENDER_TIMEOUT)
RENDER_MEMORY_MB = 2048  # address space such a render may add (EXAMGEN_RENDER_MEMORY_MB)


class _RenderTimeout(BaseException):
    """Raised by the alarm into a render that takes too long (a BaseException: no
    `except Exception` of jinja2 or of a template's filter may swallow it)."""


@contextmanager
def _limits(where: str) -> Iterator[None]:
    """Time and memory limits for compiling and rendering an instructor's template in the
    main thread: SIGALRM interrupts the Python loops a template runs (`<% for a in xs %>
    <% for b in xs %>` over long lists), and a lowered RLIMIT_AS turns a string or list
    that would take gigabytes (`|join`, `|replace`, `|center`, `'%999999999d' % x`; jinja2
    evaluates constant ones while compiling) into a MemoryError. The shipped bank is
    examgen's own text (`examgen check` renders it 100,000 times), and the renders that
    `examgen check` repeats in threads were already done, limited, here."""
    if where.startswith(SHIPPED_BANK) or threading.current_thread() is not threading.main_thread():
        yield
        return
    seconds = env_limit("EXAMGEN_RENDER_TIMEOUT", RENDER_TIMEOUT)
    extra = int(env_limit("EXAMGEN_RENDER_MEMORY_MB", RENDER_MEMORY_MB) * 2**20)
    armed = [True]

    def expire(signum: int, frame: object) -> None:
        if armed[0]:
            raise _RenderTimeout()

    saved = lower_address_space(extra)
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _RenderTimeout:
        raise TemplateError(f"{where}: rendering took longer than {seconds:g} s (a loop that is too long?); "
                            "simplify the template, or allow more time with EXAMGEN_RENDER_TIMEOUT=SECONDS") \
            from None
    except MemoryError:
        raise TemplateError(f"{where}: rendering needed more than {extra // 2**20} MiB of memory (a huge string "
                            "or list?); make it smaller, or allow more with EXAMGEN_RENDER_MEMORY_MB=MIB") from None
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if saved is not None:
            resource.setrlimit(resource.RLIMIT_AS, saved)


def _render(render: Callable[[], str], where: str) -> texfmt.Latex:
    """Run a jinja2 render; its errors become one TemplateError naming `where`."""
    token = _BUDGET.set([0])
    try:
        with _limits(where):
            return texfmt.Latex(render().strip())
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None
    except MemoryError:
        raise TemplateError(f"{where}: the text needs more memory than there is; make it smaller") from None
    finally:
        _BUDGET.reset(token)


def _joiner(origin: str) -> Callable[[Iterator[str]], str]:
    """What joins a render's pieces: _bounded for an instructor's template, str.join for the shipped
    bank's (examgen's own text, as _limits; a tenth of a question's rendering time)."""
    return "".join if origin.startswith(SHIPPED_BANK) else _bounded


def _bounded(chunks: Iterator[str]) -> str:
    """Join a render's pieces, stopping once the text is longer than MAX_OUTPUT."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the rendered text is longer than {MAX_OUTPUT} characters")
        out.append(chunk)
    return "".join(out)


def render_block(template: jinja2.Template, block: str, context: dict[str, Any], origin: str) -> texfmt.Latex:
    """Render one `<% block NAME %>` of a template with the given context."""
    return block_renderer(template, context, origin)(block)


def block_renderer(template: jinja2.Template, context: dict[str, Any],
                   origin: str) -> Callable[[str], texfmt.Latex]:
    """Render blocks of one template with one context, made once (jinja2 copies the
    whole context for every render: half the rendering time when made per block)."""
    jctx = template.new_context(context)
    join = _joiner(origin)

    def render(block: str) -> texfmt.Latex:
        if block not in template.blocks:
            raise TemplateError(f"{origin}: no block '{block}' (define <% block {block} %> ... <% endblock %>)")
        return _render(lambda: join(template.blocks[block](jctx)), f"{origin}, block '{block}'")

    return render


# what starts jinja2 syntax in examgen's templates (environment(): no line statements or comments)
_DELIMITERS = ("<%", "<<", "<#")


def render_string(source: str, context: dict[str, Any], origin: str) -> texfmt.Latex:
    """Render a short jinja2 string (a rubric line) with the given context. One without any
    jinja2 syntax (half of the endterm's rubric lines) renders as itself: jinja2 would
    give its text (then stripped), so it is not compiled (3 ms each in a build without
    the compiled templates cached) and not run (2,000 renders a 20-variant endterm)."""
    return string_renderer(context)(source, origin)


def string_renderer(context: dict[str, Any]) -> Callable[[str, str], texfmt.Latex]:
    """render_string(source, context, origin) for many strings of one context (a question's rubric
    lines): the context and jinja2's globals are merged once, not copied again for every line."""
    parent: dict[str, Any] | None = None

    def render(source: str, origin: str) -> texfmt.Latex:
        nonlocal parent
        if len(source) <= MAX_OUTPUT and not any(d in source for d in _DELIMITERS):
            return texfmt.Latex(source.strip())
        tmpl = compile_blocks(source, origin)
        if parent is None:
            parent = {**tmpl.globals, **context}  # what tmpl.new_context(context) would copy for each line
        # (shared: the template's `set`s write into the new context's own vars, never into parent)
        return _render(lambda: _joiner(origin)(tmpl.root_render_func(tmpl.new_context(parent, shared=True))), origin)

    return render


def names_used(source: str) -> dict[str | None, frozenset[str]]:
    """The context names a jinja2 source reads, per block (None: outside every block, and
    the names any block reads); `answers['x']` and `answers.x` count as reading x."""
    ast = environment().parse(source)

    def names(node: jinja2.nodes.Node) -> set[str]:
        out = {n.name for n in node.find_all(jinja2.nodes.Name) if n.ctx == "load"}
        for g in node.find_all(jinja2.nodes.Getitem):
            if isinstance(g.node, jinja2.nodes.Name) and g.node.name in ("answers", "params") \
                    and isinstance(g.arg, jinja2.nodes.Const):
                out.add(str(g.arg.value))
        for a in node.find_all(jinja2.nodes.Getattr):
            if isinstance(a.node, jinja2.nodes.Name) and a.node.name in ("answers", "params"):
                out.add(a.attr)
        return out

    used: dict[str | None, frozenset[str]] = {b.name: frozenset(names(b)) for b in ast.find_all(jinja2.nodes.Block)}
    used[None] = frozenset(names(ast))
    return used


@dataclass(frozen=True)
class QuestionTexts:
    """A solved template question rendered once: the intro, each part's statement and (if
    asked for) each part's solution, as LaTeX. The PDF layout and every writer (Moodle,
    QTI) read these; nothing else renders a question's jinja2 text."""

    intro: texfmt.Latex | None
    statements: dict[str, texfmt.Latex]
    solutions: dict[str, texfmt.Latex]


def question_texts(template: Any, ctx: dict[str, Any], parts: Iterable[str], solutions: bool,
                   statements: QuestionTexts | None = None) -> QuestionTexts:
    """Render `template`'s statement (and solution) blocks with the question's context; the intro and
    statements of `statements` (rendered before, with the same context) are taken, not rendered again."""
    if statements is None:
        st_origin = str(template.directory / "statement.tex.j2")
        st = compile_blocks(template.statement, st_origin)
        statement = block_renderer(st, ctx, st_origin)
    names = list(parts)
    sol: dict[str, texfmt.Latex] = {}
    if solutions:
        so_origin = str(template.directory / "solution.tex.j2")
        solution = block_renderer(compile_blocks(template.solution, so_origin), ctx, so_origin)
        sol = {n: solution(n) for n in names}
    if statements is not None:
        return QuestionTexts(statements.intro, statements.statements, sol)
    return QuestionTexts(statement("intro") if "intro" in st.blocks else None,
                         {n: statement(n) for n in names}, sol)
