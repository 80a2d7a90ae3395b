"""examgen: parameterized deep-learning exams in the TUM layout."""

__version__ = "0.1.0"

from pathlib import Path

#: The repository root holding templates/, question_bank/ and exams/.
ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
BANK_DIR = ROOT / "question_bank"
