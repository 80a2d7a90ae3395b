"""One exception tree. Every error examgen raises on purpose is an ExamgenError;
the CLI prints its message as one line and exits non-zero."""

from __future__ import annotations


class ExamgenError(Exception):
    """Base of all errors meant for the user: the message is the whole story."""

    exit_code = 1


class SpecError(ExamgenError):
    """An exam spec (YAML) is malformed or refers to unknown things."""

    exit_code = 2


class TemplateError(ExamgenError):
    """A question template (question.yaml, .tex.j2 or MC pool file) is invalid,
    or its jinja2 text fails to render."""

    exit_code = 2


class ParamError(ExamgenError):
    """A pinned parameter has the wrong type, shape or range."""

    exit_code = 2

    def __init__(self, param: str, message: str, template: str | None = None):
        self.param = param
        self.template = template
        self.detail = message
        where = f"template '{template}', " if template else ""
        super().__init__(f"{where}parameter '{param}': {message}")

    def named(self, template: str) -> ParamError:
        """This error naming the template it was raised for (a solver need not know its id)."""
        return self if self.template else ParamError(self.param, self.detail, template)


class SamplingError(ExamgenError):
    """The sampling constraints of a template could not be met in the allowed tries."""


class SolverError(ExamgenError):
    """A solver met parameters it cannot solve (e.g. a division by zero)."""


class LatexError(ExamgenError):
    """pdflatex failed; the message carries the variant and the log excerpt
    (and `log` the whole log, for the diagnostics folder)."""

    log = ""
    # set once the failing variants are known: (variant code, version, one-line message) each,
    # and the files to keep in the diagnostics folder: (path relative to it, content) each
    failures: tuple[tuple[str, str, str], ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()


class OutputError(ExamgenError):
    """An output folder or file cannot be created or replaced: a read-only place, a file in
    the way, a full disk, or a target examgen did not write (examgen replaces only its own)."""

    exit_code = 2


class LayoutError(ExamgenError):
    """The built PDFs break a layout invariant (e.g. student and solution paginate differently)."""


class GradingError(ExamgenError):
    """A build folder cannot be graded (missing answers.json) or the responses CSV has
    bad rows; the message lists every problem as 'file:line: ...', one per line."""

    exit_code = 2
