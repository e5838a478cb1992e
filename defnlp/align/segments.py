"""Parallel segments of two documents, and their word alignments with document offsets.

Entity alignment and annotation projection both need the same thing: which stretches of the
two texts translate each other (sentence alignment), and, inside them, which words translate
which (word alignment) — with character offsets into the *original* documents.

>>> seg = ParallelSegment(0, 10, 0, 9, 0.9)
>>> seg.src_span, seg.tgt_span
((0, 10), (0, 9))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..text import split_sentences
from .sentences import SentenceAligner
from ..words import Word
from .words import WordAligner, WordAlignment, WordLink

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_PARALLEL_SCORE", "ParallelSegment", "align_segment_words", "parallel_segments", "words_in_span"]

#: USE cosine above which a sentence link is taken as a translation (translations ≈ 0.8-0.9,
#: unrelated sentences ≈ 0.1-0.2)
DEFAULT_PARALLEL_SCORE = 0.5


@dataclass(frozen=True)
class ParallelSegment:
    """``src_text[src_start:src_end]`` translates ``tgt_text[tgt_start:tgt_end]`` (``score``: link cosine)."""

    src_start: int
    src_end: int
    tgt_start: int
    tgt_end: int
    score: float

    @property
    def src_span(self) -> tuple[int, int]:
        return (self.src_start, self.src_end)

    @property
    def tgt_span(self) -> tuple[int, int]:
        return (self.tgt_start, self.tgt_end)


def parallel_segments(
    src_text: str,
    tgt_text: str,
    sentence_aligner: SentenceAligner | None = None,
    min_score: float = DEFAULT_PARALLEL_SCORE,
    whole: bool | None = None,
) -> list[ParallelSegment]:
    """Stretches of ``src_text`` and ``tgt_text`` that translate each other.

    ``whole=True`` takes both texts as one segment (already aligned sentence pairs);
    ``None`` (default) does so when both texts are a single sentence, and otherwise aligns
    the sentences and keeps links with a score of at least ``min_score``.

    >>> parallel_segments("Bonjour.", "Hello.")
    [ParallelSegment(src_start=0, src_end=8, tgt_start=0, tgt_end=6, score=1.0)]
    """
    src_spans = split_sentences(src_text)
    tgt_spans = split_sentences(tgt_text)
    if not src_spans or not tgt_spans:
        return []
    if whole or (whole is None and len(src_spans) == 1 and len(tgt_spans) == 1):
        return [ParallelSegment(src_spans[0][0], src_spans[-1][1], tgt_spans[0][0], tgt_spans[-1][1], 1.0)]
    aligner = sentence_aligner or SentenceAligner()
    result = aligner.align([src_text[a:b] for a, b in src_spans], [tgt_text[a:b] for a, b in tgt_spans])
    segments = []
    for link in result.parallel(min_score):
        segments.append(ParallelSegment(
            src_spans[link.src[0]][0], src_spans[link.src[-1]][1],
            tgt_spans[link.tgt[0]][0], tgt_spans[link.tgt[-1]][1],
            float(link.score),
        ))
    log.debug("%d of %d sentence links kept as parallel segments", len(segments), len(result.links))
    return segments


def _shift(words: list[Word], offset: int) -> list[Word]:
    return [Word(w.text, w.start + offset, w.end + offset) for w in words]


def align_segment_words(
    src_text: str,
    tgt_text: str,
    segments: list[ParallelSegment],
    word_aligner: WordAligner,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> list[WordAlignment]:
    """Word-align each segment (one batch); word offsets are into the full ``src_text``/``tgt_text``."""
    pairs = [(src_text[s.src_start : s.src_end], tgt_text[s.tgt_start : s.tgt_end]) for s in segments]
    aligned = word_aligner.align_batch(pairs, src_lang=src_lang, tgt_lang=tgt_lang)
    out = []
    for seg, wa in zip(segments, aligned):
        out.append(WordAlignment(
            src_text, tgt_text, _shift(wa.src_words, seg.src_start), _shift(wa.tgt_words, seg.tgt_start),
            [WordLink(link.src, link.tgt, link.score) for link in wa.links],
        ))
    return out


def words_in_span(words: list[Word], start: int, end: int) -> list[int]:
    """Indices of the words that overlap ``[start, end)``."""
    return [i for i, w in enumerate(words) if w.start < end and w.end > start]


