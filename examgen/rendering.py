"""The jinja2 environment for question templates: sandboxed, undefined
variables are errors, LaTeX-friendly delimiters, and every value passes
through texfmt.to_tex (escaped unless it is already LaTeX)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import texfmt
from .cachedir import cache_dir
from .errors import TemplateError

_SOURCES: dict[str, str] = {}  # template name -> source, for the loader (names carry the source's hash)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept on disk (jinja2's own cache, keyed by the source's
    checksum): parsing and compiling every template again costs half a second a run."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        (folder / "jinja2").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder / "jinja2"))


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FunctionLoader(lambda name: (_SOURCES[name], None, lambda: True)),
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
        esc=texfmt.escape, credits=texfmt.credits, sym=texfmt.sym,
    )
    env.globals.update(range=range, len=len, abs=abs, min=min, max=max, round=round, zip=zip, enumerate=enumerate)
    return env


@lru_cache(maxsize=256)
def compile_blocks(source: str, origin: str) -> jinja2.Template:
    """Parse a template file's source once (cached: every draw and variant reuses it);
    a syntax error names the file and line."""
    name = f"{origin}#{hashlib.sha256(source.encode()).hexdigest()[:16]}"
    _SOURCES[name] = source
    try:
        return environment().get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{origin}:{exc.lineno}: jinja2 syntax error: {exc.message}") from None


def _render(render: Callable[[], str], where: str) -> texfmt.Latex:
    """Run a jinja2 render; its errors become one TemplateError naming `where`."""
    try:
        return texfmt.Latex(render().strip())
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None


def render_block(template: jinja2.Template, block: str, context: dict[str, Any], origin: str) -> texfmt.Latex:
    """Render one `<% block NAME %>` of a template with the given context."""
    return block_renderer(template, context, origin)(block)


def block_renderer(template: jinja2.Template, context: dict[str, Any],
                   origin: str) -> Callable[[str], texfmt.Latex]:
    """Render blocks of one template with one context, made once (jinja2 copies the
    whole context for every render: half the rendering time when made per block)."""
    jctx = template.new_context(context)

    def render(block: str) -> texfmt.Latex:
        if block not in template.blocks:
            raise TemplateError(f"{origin}: no block '{block}' (define <% block {block} %> ... <% endblock %>)")
        return _render(lambda: "".join(template.blocks[block](jctx)), f"{origin}, block '{block}'")

    return render


def render_string(source: str, context: dict[str, Any], origin: str) -> texfmt.Latex:
    """Render a short jinja2 string (a rubric line) with the given context."""
    tmpl = compile_blocks(source, origin)
    return _render(lambda: tmpl.render(context), origin)
