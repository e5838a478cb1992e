"""NER decoding: the engine's per-token tag log-probs → entities with exact character offsets.

The text's *units* (words grouped by the sub-word token that heads them,
:func:`defnlp.ner.tagging.make_units`) are built from the token character spans; each unit
takes the log-probs of its head token, the constrained Viterbi (:meth:`TagSet.viterbi`) picks
one IOB2 tag per unit, and each entity spans from the start of its first word to the end of
its last word (:meth:`TagSet.spans`), scored by the mean probability of its tags.

Names (:data:`defnlp.text.FUNCTION_WORDS`): an entity never ends on a lowercase function word
(``de``, ``of``, ``d'``); the Viterbi either carries it on to the next word (``Quartier Nord de``
| ``Bruxelles`` → one entity) or leaves the word outside (``Parquet de`` → ``Parquet``),
whichever the tag scores prefer (:func:`no_end_units`).

Punctuation (:func:`trim_punctuation`): the tokenizer glues some punctuation to the word piece
beside it (``(37``, ``%)``, ``1994.``, ``2016,``), so a unit can hold a character that no entity
takes; an entity's span drops an opening bracket or quote whose closer it does not hold, a
closing one whose opener it does not hold, a trailing ``,`` ``;`` ``:``, and a trailing period
unless it ends an abbreviation (``Gen.``, ``Ltd.``, ``U.S.``, an initial).

Layout (:mod:`defnlp.layout`): a word hyphenated across a line break, which the engine gave
the encoder joined (the model view), is one unit; and the first unit of each layout block
may not continue an entity (no ``I-`` tag there), so no entity crosses a blank line or runs
from one block (a heading, a contact line, an address line) into the next. The constraint
is part of the Viterbi, not a cut afterwards: the decoded sequence is the best one among
those that respect it.

>>> import numpy as np
>>> tags = TagSet(["LOC"])                                    # O, B-LOC, I-LOC
>>> text = "Visite à Brest."
>>> spans = [(0, 6), (7, 8), (9, 14), (14, 15)]               # token character spans
>>> log_probs = np.log([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05]])
>>> decode_entities(tags, text, spans, log_probs)
[Entity(start=9, end=14, label='LOC', text='Brest', score=0.7)]
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

import numpy as np

from ..doc import Entity
from ..layout import blocks, hyphen_joins
from ..tags import TagSet
from ..text import APOSTROPHES, ELIDED_WORDS, FUNCTION_WORDS, OPENERS, is_abbreviation
from .tagging import Unit, make_units

__all__ = ["decode_entities", "block_starts", "no_end_units", "trim_punctuation"]

#: brackets and quotes an entity may hold only in pairs (the straight and curly apostrophes are
#: not among them: inside a word they mark an elision or a transliteration)
BRACKET_PAIRS: dict[str, str] = {"(": ")", "[": "]", "{": "}", "«": "»", "“": "”", '"': '"'}
_CLOSING = {close: open_ for open_, close in BRACKET_PAIRS.items()}
#: separators that never end an entity
_SEPARATORS = ",;:"


def decode_entities(tagset: TagSet, text: str, token_spans: Sequence[tuple[int, int]],
                    token_log_probs: np.ndarray, joins: Sequence[tuple[int, int]] | None = None) -> list[Entity]:
    """Entities of ``text`` from per-token tag log-probs ``(n_tokens, len(tagset))``.

    ``token_spans`` are the tokens' character spans without surrounding whitespace, as the
    engine returns them (:attr:`defnlp.inference.DocEncoding.token_spans`); row ``i`` of
    ``token_log_probs`` belongs to token ``i``. ``joins``: the ranges the model view removed
    from ``text`` — the engine's :attr:`DocEncoding.joins <defnlp.inference.DocEncoding.joins>`,
    so that they are found once per document; ``None`` finds them here
    (:func:`defnlp.layout.hyphen_joins`). See the module docstring for an example.
    """
    units = make_units(text, token_spans, joins=hyphen_joins(text) if joins is None else joins)
    if not units:
        return []
    log_probs = token_log_probs[np.asarray([u.token for u in units])]
    tag_ids = tagset.viterbi(log_probs, starts=block_starts(units, blocks(text)), no_end=no_end_units(text, units))
    entities = []
    for start, end, label, score in tagset.spans(units, tag_ids, np.exp(log_probs)):
        start, end = trim_punctuation(text, start, end)
        if start < end:
            entities.append(Entity(start, end, label, text[start:end], score))
    return entities


def trim_punctuation(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without the punctuation at its edges that no entity takes.

    Dropped, until none is left: an opening bracket or quote (:data:`BRACKET_PAIRS`) at the
    start whose closer the span does not hold, or a pair that wraps the whole span; a closing one
    at the end whose opener it does not hold; a trailing ``,`` ``;`` ``:``; a trailing period
    after a word that is not an abbreviation (:func:`defnlp.text.is_abbreviation`); and the
    whitespace these leave. Of the 86,600 gold entities of the project's data, layout dev set,
    re3d, WiNER-fr, WikiGold and CoNLL-2003, three change, each an error of its gold (a trailing
    comma, period or space).

    >>> t = "Airbus (37,5 %), en 1994. Le Gen. Smith (HMS Dragon (D35))"
    >>> [t[a:b] for a, b in [trim_punctuation(t, 7, 15), trim_punctuation(t, 20, 25),
    ...                      trim_punctuation(t, 29, 33), trim_punctuation(t, 40, 58)]]
    ['37,5 %', '1994', 'Gen.', 'HMS Dragon (D35)']
    """
    while start < end:
        first, last = text[start], text[end - 1]
        if first.isspace():
            start += 1
        elif last.isspace():
            end -= 1
        elif first in BRACKET_PAIRS and end - start > 1 and last == BRACKET_PAIRS[first] \
                and _wraps(text, start, end):
            start, end = start + 1, end - 1
        elif first in BRACKET_PAIRS and BRACKET_PAIRS[first] not in text[start + 1:end]:
            start += 1
        elif last in _CLOSING and last != '"' and _CLOSING[last] not in text[start:end - 1]:
            end -= 1
        elif last in _SEPARATORS:
            end -= 1
        elif last == "." and not is_abbreviation(_word_before(text, start, end - 1)):
            end -= 1
        else:
            break
    return start, end


def _wraps(text: str, start: int, end: int) -> bool:
    """Whether the bracket at ``start`` is closed by the one at ``end - 1`` (nesting counted)."""
    open_, close = text[start], text[end - 1]
    if open_ == close:  # straight quotes: the span's only two
        return text.count(open_, start, end) == 2
    depth = 0
    for i in range(start, end):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i == end - 1
    return False


def _word_before(text: str, start: int, end: int) -> str:
    """The last word of ``text[start:end]``; in pre-tokenised text the period stands apart from
    it (``William L .``)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    k = end
    while k > start and not text[k - 1].isspace():
        k -= 1
    return text[k:end]


def block_starts(units: Sequence[Unit], block_spans: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the first unit of each block after the first (units and blocks sorted).

    >>> block_starts([Unit(0, 4, 0), Unit(5, 9, 1), Unit(11, 15, 2)], [(0, 9), (11, 15)])
    [2]
    """
    unit_starts = [u.start for u in units]
    out = []
    for start, _ in block_spans[1:]:
        i = bisect_left(unit_starts, start)
        if i < len(units) and (not out or out[-1] != i):
            out.append(i)
    return out


def no_end_units(text: str, units: Sequence[Unit]) -> list[int]:
    """Indices of the units an entity may not end on: a lowercase function word written as a word
    of its own (:data:`defnlp.text.FUNCTION_WORDS`: whitespace, an opening bracket or the start
    of the text before it, whitespace or the end after it), and a French elided word with its
    apostrophe (``d'``, ``l'``).

    >>> t = "le Parquet de Paris et l'hôtel d'Ansar, She'an"
    >>> units = [Unit(a, b, i) for i, (a, b) in enumerate(
    ...     [(0, 2), (3, 10), (11, 13), (14, 19), (20, 22), (23, 24), (24, 25), (25, 30), (31, 32), (32, 33),
    ...      (33, 38), (38, 39), (40, 43), (43, 44), (44, 46)])]
    >>> [t[units[i].start:units[i].end] for i in no_end_units(t, units)]
    ['le', 'de', 'et', 'l', "'", 'd', "'"]
    """
    out: list[int] = []
    n = len(text)
    for i, u in enumerate(units):
        word = text[u.start:u.end]
        before = text[u.start - 1] if u.start > 0 else " "
        after = text[u.end] if u.end < n else " "
        if not (before.isspace() or before in OPENERS):
            if word in APOSTROPHES and out and out[-1] == i - 1 and units[i - 1].end == u.start:
                out.append(i)  # the apostrophe of d', l'
            continue
        if word in FUNCTION_WORDS and after.isspace():
            out.append(i)
        elif word.rstrip(APOSTROPHES) in ELIDED_WORDS and (word[-1] in APOSTROPHES or after in APOSTROPHES):
            out.append(i)
    return out
