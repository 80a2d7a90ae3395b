"""The jinja2 environment for question templates: sandboxed, undefined
variables are errors, LaTeX-friendly delimiters, and every value passes
through texfmt.to_tex (escaped unless it is already LaTeX)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import cachedir, texfmt
from .errors import TemplateError

_SOURCES: dict[str, str] = {}  # template name -> source, for the loader (names carry the source's hash)


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
    root = cachedir.usable_cache()
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
