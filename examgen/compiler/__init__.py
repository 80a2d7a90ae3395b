"""LaTeX -> PDF: the Compiler (core.py) and what it works on.

    batching.py  batches of variants, their fixed composition, the class file
    tex.py       running TeX in process groups, timeouts, cancellation
    cache.py     the verified compile cache and its statistics
    qpdf.py      splitting batch PDFs and concatenating PDFs
"""

from .batching import Batch, Built, Opening, Pair, Piece, batches, drawing_order, lanes
from .core import Compiler
from .qpdf import concatenate
from .tex import BuildCancelled

__all__ = ["Batch", "BuildCancelled", "Built", "Compiler", "Opening", "Pair", "Piece", "batches", "concatenate",
           "drawing_order", "lanes"]
