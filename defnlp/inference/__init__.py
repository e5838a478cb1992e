"""Batched inference: the shared encoder pass under NER, relations and alignment.

See :mod:`defnlp.inference.engine` for the data flow and :mod:`defnlp.inference.runtime` for
device / precision settings, :mod:`defnlp.inference.int8` for int8 on CPU.
"""

from .batching import pack_batches
from .engine import DocEncoding, Engine, TokenHead
from .runtime import PRECISIONS, Runtime

__all__ = ["Engine", "DocEncoding", "TokenHead", "Runtime", "PRECISIONS", "pack_batches"]
