"""`python -m examgen` runs the command line (the same as the `examgen` script)."""

from examgen.cli import run

run()
