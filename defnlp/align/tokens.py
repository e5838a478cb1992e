"""Word tokenisation with character offsets, for word alignment.

Word aligners work on words, not on sub-word pieces: a word is what a reader would click on.
:func:`split_words` cuts raw French or English text into words and keeps, for every word, its
exact character span, so that alignments can be reported as offsets into the original text.

* French elisions are separate words, with their apostrophe: ``l'OTAN`` -> ``l'`` + ``OTAN``,
  ``qu'il`` -> ``qu'`` + ``il``; lexicalised words stay whole (``aujourd'hui``, ``prud'homme``).
* English clitics are separate words: ``NATO's`` -> ``NATO`` + ``'s``, ``don't`` -> ``do`` + ``n't``.
* Hyphenated compounds stay whole (``porte-avions``, ``franco-belge``, ``Thunder-ten-tronckh``),
  as do numbers (``3.5``, ``1,000``, ``155``), dotted acronyms (``U.S.``), e-mail and web addresses.
* Every other non-space character is a word of its own (punctuation).

Every non-whitespace character of the text belongs to exactly one word.

>>> [w.text for w in split_words("L'OTAN et l'Europe, aujourd'hui.")]
["L'", 'OTAN', 'et', "l'", 'Europe', ',', "aujourd'hui", '.']
>>> [w.text for w in split_words("NATO's 3.5 bn deal didn't pass.")]
['NATO', "'s", '3.5', 'bn', 'deal', 'did', "n't", 'pass', '.']
>>> split_words("Brest")[0]
Word(text='Brest', start=0, end=5)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Word", "split_words", "words_from_tokens"]

_APOS = "'’"
# French words that contain an apostrophe but are one word
_LEXICAL_APOSTROPHE = r"\bo['’]clock\b|(?:aujourd|prud|presqu(?=['’]île)|quelqu(?=['’]une?\b)|entr(?=['’](?:ouv|aper)))['’]\w+"
_ELISION = r"(?<![\w'’])(?:jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu|qu|[ldjmntsc])['’](?=\w)"
_EN_NEGATION_STEM = r"[^\W\d_]+(?=n['’]t\b)"
_EN_CLITIC = r"(?:n['’]t|['’](?:s|re|ve|ll|d|m))\b"
_URL = r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]»]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NUMBER = r"\d+(?:[.,]\d+)*"
_DOTTED_ACRONYM = r"(?:[^\W\d_]\.){2,}"
_WORD = r"[^\W_](?:[^\W_]|[-‐‑](?=[^\W_]))*"
_WORD_RE = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (_URL, _LEXICAL_APOSTROPHE, _ELISION, _EN_NEGATION_STEM, _EN_CLITIC, _DOTTED_ACRONYM, _NUMBER, _WORD, r"\S")
    ),
    re.IGNORECASE | re.UNICODE,
)


@dataclass(frozen=True)
class Word:
    """A word and its character span ``text[start:end]`` in the string it was cut from."""

    text: str
    start: int
    end: int


def split_words(text: str, start: int = 0, end: int | None = None) -> list[Word]:
    """Cut ``text[start:end]`` into words; offsets are into ``text`` itself.

    >>> [(w.text, w.start) for w in split_words("Il a dit : « non ».", 5)]
    [('dit', 5), (':', 9), ('«', 11), ('non', 13), ('»', 17), ('.', 18)]
    """
    end = len(text) if end is None else end
    return [Word(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]


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
