"""NER decoding: the engine's per-token tag log-probs → entities with exact character offsets.

The text's *units* (words grouped by the sub-word token that heads them,
:func:`defnlp.ner.tagging.make_units`) are built from the token character spans; each unit
takes the log-probs of its head token, the constrained Viterbi (:meth:`TagSet.viterbi`) picks
one IOB2 tag per unit, and each entity spans from the start of its first word to the end of
its last word (:meth:`TagSet.spans`), scored by the mean probability of its tags.

>>> import numpy as np
>>> tags = TagSet(["LOC"])                                    # O, B-LOC, I-LOC
>>> text = "Visite à Brest."
>>> spans = [(0, 6), (7, 8), (9, 14), (14, 15)]               # token character spans
>>> log_probs = np.log([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05]])
>>> decode_entities(tags, text, spans, log_probs)
[Entity(start=9, end=14, label='LOC', text='Brest', score=0.7)]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..doc import Entity
from ..tags import TagSet
from .tagging import make_units

__all__ = ["decode_entities"]


def decode_entities(tagset: TagSet, text: str, token_spans: Sequence[tuple[int, int]],
                    token_log_probs: np.ndarray) -> list[Entity]:
    """Entities of ``text`` from per-token tag log-probs ``(n_tokens, len(tagset))``.

    ``token_spans`` are the tokens' character spans without surrounding whitespace, as the
    engine returns them (:attr:`defnlp.inference.DocEncoding.token_spans`); row ``i`` of
    ``token_log_probs`` belongs to token ``i``. See the module docstring for an example.
    """
    units = make_units(text, token_spans)
    if not units:
        return []
    log_probs = token_log_probs[np.asarray([u.token for u in units])]
    tag_ids = tagset.viterbi(log_probs)
    return [Entity(start, end, label, text[start:end], score)
            for start, end, label, score in tagset.spans(units, tag_ids, np.exp(log_probs))]
