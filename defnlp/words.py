"""What a word is: the one word tokenizer, with exact character offsets, in two named modes.

Nothing here changes the text: every function returns offsets into the original string.

``mode="atom"`` — the units NER entities are built from
    Letter runs, numbers (``3,5`` ``1.000``), dotted acronyms in capitals (``U.S.``) and single
    punctuation marks. Hyphens and apostrophes are words of their own, so ``l’OTAN`` gives
    ``l`` ``’`` ``OTAN`` and ``NATO-led`` gives ``NATO`` ``-`` ``led``: entity boundaries always
    fall between atoms. Sub-word tokens are mapped onto these units
    (:func:`defnlp.ner.tagging.make_units`) and NER evaluation tags them, so this mode must never
    change: the engine calls it on every document.

``mode="word"`` — what a reader would click on (word alignment, CoNLL/spaCy export)
    * French elisions are separate words, with their apostrophe: ``l'OTAN`` -> ``l'`` +
      ``OTAN``, ``qu'il`` -> ``qu'`` + ``il`` (also ``jusqu'`` ``lorsqu'`` ``puisqu'``
      ``quoiqu'`` ``presqu'`` ``quelqu'``); lexicalised words stay whole (``aujourd'hui``,
      ``prud'homme``, ``presqu'île``, ``quelqu'un``, ``entr'ouvert``, ``o'clock``).
    * English clitics are separate words: ``NATO's`` -> ``NATO`` + ``'s``, ``don't`` -> ``do`` +
      ``n't`` (also ``'re 've 'll 'd 'm``).
    * Hyphenated compounds stay whole (``porte-avions``, ``F-35``, also with U+2010/U+2011
      hyphens), as do words with an inner apostrophe that is neither an elision nor a clitic
      (``Guivarc'h``, ``O'Neill``, ``Da’esh``), numbers, dates and times (``3.5``, ``1,000``,
      ``14/01/2025``, ``14:30``), dotted acronyms (``U.S.``, ``e.g.``), e-mail and web addresses
      (``https://…``, ``www.…``, ``a.b@c.fr``; a final ``.``/``,``/``)``… is left out).
    * Every other non-space character is a word of its own (punctuation, ``_``).

In both modes every non-whitespace character of the text belongs to exactly one word, and no
word contains whitespace.

The CoNLL and spaCy writers' fallback tokenizer (formerly ``defnlp.io.conll.tokenize_words``)
is ``mode="word"``; the old one differed on English negations (``don't``: one token before, now
``do`` ``n't``), URLs and e-mail addresses (split at every ``.``, ``/``, ``@`` before, one word
now), ``snake_case`` (one token before, split at ``_`` now), ``a‐b`` with U+2010/U+2011 hyphens
(split before, one word now), and ``presqu'il``, ``quelqu'autre`` (one token before, elision
split now).

:func:`split_tokens_at` cuts words further at given offsets (entity boundaries), and
:func:`words_from_tokens` gives offsets to pre-tokenised input.

>>> t = "L'OTAN et l'Europe, aujourd'hui."
>>> [w.text for w in split_words(t)]
["L'", 'OTAN', 'et', "l'", 'Europe', ',', "aujourd'hui", '.']
>>> [t[a:b] for a, b in word_spans(t, mode="atom")][:6]
['L', "'", 'OTAN', 'et', 'l', "'"]
>>> [w.text for w in split_words("NATO's 3.5 bn deal didn't pass.")]
['NATO', "'s", '3.5', 'bn', 'deal', 'did', "n't", 'pass', '.']
>>> split_words("Brest")[0]
Word(text='Brest', start=0, end=5)
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .text import trim_span

__all__ = ["Word", "WORD_MODES", "word_spans", "split_words", "split_tokens_at", "words_from_tokens"]

# --- mode "atom": the units of NER ----------------------------------------------------------------
_ATOM_RE = re.compile(r"(?:[A-Z]\.){2,}|\d+(?:[.,]\d+)*|[^\W\d_]+|\d+|[^\w\s]|_", re.UNICODE)

# --- mode "word": what a reader would click on ----------------------------------------------------
# French words that contain an apostrophe but are one word
_LEXICAL_APOSTROPHE = r"\bo['’]clock\b|(?:aujourd|prud|presqu(?=['’]île)|quelqu(?=['’]une?\b)|entr(?=['’](?:ouv|aper)))['’]\w+"
_ELISION = r"(?<![\w'’])(?:jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu|qu|[ldjmntsc])['’](?=\w)"
_EN_NEGATION_STEM = r"[^\W\d_]+(?=n['’]t\b)"
_EN_CLITIC = r"(?:n['’]t|['’](?:s|re|ve|ll|d|m))\b"
_URL = r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]»]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NUMBER = r"\d+(?:[.,:/]\d+)*"
_DOTTED_ACRONYM = r"(?:[^\W\d_]\.){2,}"
# an inner apostrophe joins (``Guivarc'h``, ``O'Neill``, ``Da’esh``) unless an English clitic follows
_WORD = r"[^\W_](?:[^\W_]|[-‐‑](?=[^\W_])|['’](?!(?:s|re|ve|ll|d|m|t)\b)(?=[^\W_]))*"
_WORD_RE = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (_URL, _LEXICAL_APOSTROPHE, _ELISION, _EN_NEGATION_STEM, _EN_CLITIC, _DOTTED_ACRONYM, _NUMBER, _WORD, r"\S")
    ),
    re.IGNORECASE | re.UNICODE,
)

_PATTERNS = {"atom": _ATOM_RE, "word": _WORD_RE}
#: the word modes (see the module docstring)
WORD_MODES = tuple(_PATTERNS)


@dataclass(frozen=True)
class Word:
    """A word and its character span ``text[start:end]`` in the string it was cut from."""

    text: str
    start: int
    end: int


def _pattern(mode: str) -> re.Pattern[str]:
    try:
        return _PATTERNS[mode]
    except KeyError:
        raise ConfigError(f"unknown word mode {mode!r}", f"use one of: {', '.join(WORD_MODES)}") from None


def word_spans(text: str, start: int = 0, end: int | None = None, *, mode: str = "word") -> list[tuple[int, int]]:
    """``(start, end)`` spans of the words of ``text[start:end]``; offsets are into ``text``.

    ``mode="word"`` (default): words as a reader sees them; ``mode="atom"``: the finer units of
    NER (see the module docstring).

    >>> t = "l’OTAN a 3,5 Md€"
    >>> [t[a:b] for a, b in word_spans(t)], [t[a:b] for a, b in word_spans(t, mode="atom")]
    (['l’', 'OTAN', 'a', '3,5', 'Md', '€'], ['l', '’', 'OTAN', 'a', '3,5', 'Md', '€'])
    """
    end = len(text) if end is None else end
    return [(m.start(), m.end()) for m in _pattern(mode).finditer(text, start, end)]


def split_words(text: str, start: int = 0, end: int | None = None, *, mode: str = "word") -> list[Word]:
    """The words of ``text[start:end]`` as :class:`Word` objects (see :func:`word_spans`).

    >>> [(w.text, w.start) for w in split_words("Il a dit : « non ».", 5)]
    [('dit', 5), (':', 9), ('«', 11), ('non', 13), ('»', 17), ('.', 18)]
    """
    return [Word(text[a:b], a, b) for a, b in word_spans(text, start, end, mode=mode)]


def split_tokens_at(text: str, spans: Sequence[tuple[int, int]], cuts: Iterable[int]) -> list[tuple[int, int]]:
    """Split token ``spans`` at the character offsets ``cuts`` that fall inside a token.

    Pieces are trimmed of whitespace and empty pieces dropped. Used to make tokens line up
    with entity boundaries.

    >>> t = "UK-France summit"
    >>> [t[a:b] for a, b in split_tokens_at(t, word_spans(t), [0, 2, 3, 9])]
    ['UK', '-', 'France', 'summit']
    """
    cut_list = sorted(set(cuts))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        inner = cut_list[bisect_right(cut_list, a) : bisect_left(cut_list, b)]
        for x, y in zip([a] + inner, inner + [b]):
            x, y = trim_span(text, x, y)
            if x < y:
                out.append((x, y))
    return out


def words_from_tokens(tokens: Sequence[str], separator: str = " ") -> tuple[str, list[Word]]:
    """Join pre-tokenised input into a text and the words' offsets in it.

    Pre-tokenised corpora (the Hansards alignment set, CoNLL files) give lists of tokens; joining
    them with single spaces gives a text whose offsets point at every token.

    >>> text, words = words_from_tokens(["de", "le", "OTAN"])
    >>> text, [w.start for w in words]
    ('de le OTAN', [0, 3, 6])
    """
    words: list[Word] = []
    pos = 0
    for token in tokens:
        token = str(token)
        words.append(Word(token, pos, pos + len(token)))
        pos += len(token) + len(separator)
    return separator.join(str(t) for t in tokens), words
