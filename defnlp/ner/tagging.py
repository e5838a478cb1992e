"""From characters to sub-word tokens and back: the exact-offset core of NER.

The text is cut into *words* (:func:`defnlp.words.word_spans` with ``mode="atom"``); each word
is represented by the first sub-word token that covers it (its *head token*). Consecutive words
that share a head token form one *unit* (e.g. ``GA)`` when the tokenizer merges letters and a
bracket). Gold entities become one IOB2 tag per unit and predictions are decoded per unit
(:class:`defnlp.tags.TagSet`); each predicted entity spans from the start of its first word to
the end of its last word — always exact offsets into the original text, whatever the sub-word
segmentation.

>>> text = "Jean Dupont visite Brest."
>>> [(u.start, u.end, u.token) for u in make_units(text, [(0, 4), (4, 11), (11, 18), (18, 24), (24, 25)])][:3]
[(0, 4, 0), (5, 11, 1), (12, 18, 2)]
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Sequence

from ..text import trim_span
from ..words import word_spans

__all__ = ["Unit", "make_units", "join_words", "trimmed_token_spans"]


@dataclass(frozen=True)
class Unit:
    """Consecutive words sharing one head token: characters ``[start, end)``, token ``token``."""

    start: int
    end: int
    token: int


def trimmed_token_spans(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token character spans without the surrounding whitespace (``▁`` tokens include it)."""
    return [trim_span(text, a, b) if b > a else (a, a) for a, b in offsets]


def make_units(text: str, token_spans: Sequence[tuple[int, int]], start: int = 0, end: int | None = None,
               joins: Sequence[tuple[int, int]] = ()) -> list[Unit]:
    """Units of ``text[start:end]`` given the (trimmed) character spans of its tokens.

    Words covered by no token (characters the tokenizer's normaliser deleted, e.g. control
    characters) are skipped: they can never be part of an entity. ``joins`` are the ranges the
    model view removed (:func:`defnlp.layout.hyphen_joins`): the words on either side of one,
    and its hyphen, are one word (``opéra-⏎tionnel``), as the tokenizer saw them.

    >>> t = "contrat opéra-\\ntionnel"
    >>> [t[u.start:u.end] for u in make_units(t, [(0, 7), (8, 11), (11, 17), (17, 22)], joins=[(13, 15)])]
    ['contrat', 'opéra-\\ntionnel']
    """
    starts = [a for a, _ in token_spans]
    ends = [b for _, b in token_spans]
    units: list[Unit] = []
    n_tok = len(token_spans)
    words = word_spans(text, start, end, mode="atom")
    if joins:
        words = join_words(words, joins)
    for ws, we in words:
        # first token whose span overlaps [ws, we): tokens are sorted by start
        i = bisect_right(starts, ws) - 1
        if i < 0 or ends[i] <= ws:
            i += 1
        while i < n_tok and (ends[i] <= ws or token_spans[i][0] == token_spans[i][1]):
            i += 1
        if i >= n_tok or starts[i] >= we:
            continue  # no token covers this word
        if units and units[-1].token == i:
            units[-1] = Unit(units[-1].start, we, i)
        else:
            units.append(Unit(ws, we, i))
    return units


def join_words(words: Sequence[tuple[int, int]], joins: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge the words that a removed range ``(start, end)`` of ``joins`` glues together.

    A word that starts inside a join or right at its end continues the word before it: the
    hyphen and the second part of a word hyphenated across a line break join the first part.
    Both lists are sorted; linear time.

    >>> join_words([(0, 5), (5, 6), (7, 14), (15, 18)], [(5, 7)])   # "opéra-⏎tionnel est"
    [(0, 14), (15, 18)]
    """
    out: list[tuple[int, int]] = []
    j, n_j = 0, len(joins)
    for ws, we in words:
        while j < n_j and joins[j][1] < ws:
            j += 1
        if out and j < n_j and joins[j][0] <= ws <= joins[j][1] and out[-1][1] >= joins[j][0]:
            out[-1] = (out[-1][0], we)
        else:
            out.append((ws, we))
    return out
