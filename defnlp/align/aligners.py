"""The word and sentence aligners that entity alignment and projection work with, built on first use.

:class:`~defnlp.align.entities.EntityAligner` and :class:`~defnlp.align.projection.Projector`
take aligner instances to reuse, or build the defaults (:class:`~defnlp.align.words.WordAligner`,
:class:`~defnlp.align.sentences.SentenceAligner`) the first time they need one — loading an
encoder costs seconds, and a text pair that needs no sentence alignment never loads its model.

>>> class Uses(LazyAligners):
...     def __init__(self, word_aligner=None):
...         self._word_aligner = word_aligner
>>> Uses(word_aligner="mine").word_aligner
'mine'
"""

from __future__ import annotations

from typing import Any

__all__ = ["LazyAligners"]


class LazyAligners:
    """Mixin: ``word_aligner`` / ``sentence_aligner`` / ``embedder`` properties over the attributes
    ``_word_aligner`` / ``_sentence_aligner`` / ``_embedder`` (instances given at construction, or
    None: the default is built on first use and kept). The default sentence aligner uses
    ``_embedder`` when set; ``embedder`` is otherwise the sentence aligner's.
    """

    _word_aligner: Any = None
    _sentence_aligner: Any = None
    _embedder: Any = None

    @property
    def word_aligner(self) -> Any:
        if self._word_aligner is None:
            from .words import WordAligner

            self._word_aligner = WordAligner()
        return self._word_aligner

    @property
    def sentence_aligner(self) -> Any:
        if self._sentence_aligner is None:
            from .sentences import SentenceAligner

            self._sentence_aligner = SentenceAligner(embedder=self._embedder)
        return self._sentence_aligner

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = self.sentence_aligner.embedder
        return self._embedder
