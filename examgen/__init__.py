"""examgen: parameterized deep-learning exams in the TUM layout."""

__version__ = "0.1.0"

from pathlib import Path

from .resources import BANK_DIR

#: The source checkout (exams/, tests/): only the tests and the benchmarks use it. The
#: package itself finds its data through resources.py, wherever it is installed.
ROOT = Path(__file__).resolve().parent.parent

__all__ = ["BANK_DIR", "ROOT", "__version__"]
