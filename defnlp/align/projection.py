"""Annotation projection: carry entity spans from an annotated text onto its translation.

The source document's entities are mapped through word alignment (inside the sentence pairs
that the sentence aligner finds parallel) onto the target text: a source mention becomes the
contiguous target span that covers the target words aligned to its words, repaired so that it
looks like a mention:

* aligned target words are grouped into runs, allowing gaps of ``max_gap`` unaligned words
  (default 1: "ministre [des] Armées"); the run with the most links wins, so a stray link to a
  distant word does not stretch the span over half the sentence;
* articles, determiners, prepositions and punctuation are trimmed from the edges
  ("la Corse" → "Corse", "the Letter of Intent" → "Letter of Intent") unless the source
  mention itself starts with one;
* overlapping projections keep the better-scored one.

Works in both directions (EN→FR and FR→EN), on document pairs or single sentence pairs, to
build training data in the other language. Each projected entity's ``score`` is the mean
cosine of the links used times the share of the source mention's words that were aligned.

>>> from defnlp import Doc
>>> from defnlp.align.words import WordAligner
>>> src = Doc("Brest", lang="fr"); _ = src.add_entity(0, 5, "LOC")
>>> doc = project_entities(src, "Brest", word_aligner=WordAligner("tiny-random-e5", layer=1))
>>> [(e.text, e.label) for e in doc.entities]
[('Brest', 'LOC')]
"""

from __future__ import annotations

import logging
from typing import Any

from ..doc import Doc
from ..text import detect_language
from .aligners import LazyAligners
from .segments import DEFAULT_PARALLEL_SCORE, parallel_segments, words_in_span
from ..words import Word
from .words import WordAlignment

log = logging.getLogger(__name__)

__all__ = ["EDGE_WORDS", "Projector", "project_entities"]

#: words trimmed from the edges of a projected span (folded to lower case)
EDGE_WORDS = frozenset(
    ["le", "la", "les", "l'", "l’", "un", "une", "des", "du", "de", "d'", "d’", "au", "aux", "à", "ce", "cet", "cette", "ces", "son", "sa", "ses", "leur", "leurs", "the", "a", "an", "of", "to", "in", "on", "at", "for", "by", "with", "its", "their", "his", "her", "this", "that", "these", "those", ",", ".", ";", ":", "!", "?", '"', "«", "»", "(", ")", "[", "]", "'", "’", "“", "”", "-", "–", "—"]
)


class Projector(LazyAligners):
    """Projects entities from source Docs onto target texts, reusing its aligners.

    ``word_aligner`` / ``sentence_aligner``: instances to reuse (defaults are built on first use).
    ``max_gap``: unaligned target words allowed inside a span. ``min_coverage``: share of the
    source mention's words that must be aligned. ``parallel_score``: sentence links below this
    cosine are not used. ``whole``: treat both texts as one segment (already aligned pairs).
    ``max_extension``: unaligned capitalised words a name's span may take in on each side.
    """

    def __init__(
        self,
        word_aligner: Any = None,
        sentence_aligner: Any = None,
        max_gap: int = 1,
        min_coverage: float = 0.3,
        parallel_score: float = DEFAULT_PARALLEL_SCORE,
        whole: bool | None = None,
        max_extension: int = 2,
    ) -> None:
        self._word_aligner = word_aligner
        self.max_extension = max(0, int(max_extension))
        self._sentence_aligner = sentence_aligner
        self.max_gap = max(0, int(max_gap))
        self.min_coverage = float(min_coverage)
        self.parallel_score = float(parallel_score)
        self.whole = whole

    def project(self, src_doc: Doc, tgt_text: str, tgt_lang: str | None = None, tgt_id: str | None = None) -> Doc:
        """A new Doc over ``tgt_text`` with the projected entities (relations are not projected)."""
        return self.project_many([(src_doc, tgt_text)], tgt_lang=tgt_lang, tgt_ids=[tgt_id])[0]

    def project_many(
        self,
        pairs: list[tuple[Doc, str]],
        tgt_lang: str | None = None,
        tgt_ids: list[str | None] | None = None,
    ) -> list[Doc]:
        """Project many (source Doc, target text) pairs, all in the same direction (the source language
        is the first Doc's ``lang``); all segments are word-aligned in one batch."""
        tgt_ids = tgt_ids or [None] * len(pairs)
        jobs = []  # (pair index, segment)
        for k, (src_doc, tgt_text) in enumerate(pairs):
            needs_sentences = self.whole is not True and src_doc.entities
            segments = parallel_segments(
                src_doc.text, tgt_text, self.sentence_aligner if needs_sentences and _multi_sentence(src_doc.text, tgt_text) else None,
                min_score=self.parallel_score, whole=self.whole,
            ) if src_doc.entities else []
            jobs += [(k, seg) for seg in segments]
        # word-align every segment of every pair in one batch
        src_lang = pairs[0][0].lang if pairs else None
        pieces = [(pairs[k][0].text[s.src_start : s.src_end], pairs[k][1][s.tgt_start : s.tgt_end]) for k, s in jobs]
        aligned = self.word_aligner.align_batch(pieces, src_lang=src_lang, tgt_lang=tgt_lang) if pieces else []
        per_pair: dict[int, list[WordAlignment]] = {}
        for (k, seg), wa in zip(jobs, aligned):
            shifted = WordAlignment(
                pairs[k][0].text, pairs[k][1],
                [Word(w.text, w.start + seg.src_start, w.end + seg.src_start) for w in wa.src_words],
                [Word(w.text, w.start + seg.tgt_start, w.end + seg.tgt_start) for w in wa.tgt_words],
                wa.links,
            )
            per_pair.setdefault(k, []).append(shifted)
        out = []
        for k, (src_doc, tgt_text) in enumerate(pairs):
            lang = tgt_lang or detect_language(tgt_text)
            out.append(self._project_doc(src_doc, tgt_text, per_pair.get(k, []), lang, tgt_ids[k]))
        return out

    def _project_doc(self, src_doc: Doc, tgt_text: str, alignments: list[WordAlignment], lang: str, tgt_id: str | None) -> Doc:
        target = Doc(tgt_text, id=tgt_id if tgt_id is not None else src_doc.id, lang=lang)
        candidates = []
        unprojected = 0
        for index, entity in enumerate(src_doc.entities):
            span = None
            for wa in alignments:
                if wa.src_words and wa.src_words[0].start <= entity.start and entity.end <= wa.src_words[-1].end:
                    span = self._project_span(entity.start, entity.end, src_doc.text, wa)
                    break
            if span is None:
                unprojected += 1
                continue
            start, end, score = span
            candidates.append((score, start, end, entity.label, index))
        # overlapping projections: the better score wins
        taken: list[tuple[int, int]] = []
        kept = []
        for score, start, end, label, index in sorted(candidates, key=lambda c: -c[0]):
            if any(start < b and a < end for a, b in taken):
                unprojected += 1
                continue
            taken.append((start, end))
            kept.append((start, end, label, score, index))
        for start, end, label, score, index in sorted(kept):
            target.add_entity(start, end, label, score=round(score, 4))
        target.meta["projection"] = {"source": src_doc.id, "projected": len(kept), "unprojected": unprojected}
        return target

    def _project_span(self, start: int, end: int, src_text: str, wa: WordAlignment) -> tuple[int, int, float] | None:
        src_idx = set(words_in_span(wa.src_words, start, end))
        if not src_idx:
            return None
        links = [l for l in wa.links if l.src in src_idx]
        if not links:
            return None
        coverage = len({l.src for l in links}) / len(src_idx)
        if coverage < self.min_coverage:
            return None
        tgt_counts: dict[int, int] = {}
        for l in links:
            tgt_counts[l.tgt] = tgt_counts.get(l.tgt, 0) + 1
        # runs of aligned target words with gaps of at most max_gap words; the best-supported run wins
        runs: list[list[int]] = []
        for t in sorted(tgt_counts):
            if runs and t - runs[-1][-1] - 1 <= self.max_gap:
                runs[-1].append(t)
            else:
                runs.append([t])
        run = max(runs, key=lambda r: (sum(tgt_counts[t] for t in r), -r[0]))
        first, last = run[0], run[-1]
        src_first = wa.src_words[min(src_idx)].text.casefold()
        src_last = wa.src_words[max(src_idx)].text.casefold()
        words = wa.tgt_words
        while first < last and words[first].text.casefold() in EDGE_WORDS and src_first not in EDGE_WORDS:
            first += 1
        while last > first and words[last].text.casefold() in EDGE_WORDS and src_last not in EDGE_WORDS:
            last -= 1
        if words[first].text.casefold() in EDGE_WORDS and first == last:
            return None  # only an article or a comma is left
        # names: take in unaligned capitalised neighbours ("Minister of the Armed [Forces]")
        aligned_anywhere = {l.tgt for l in wa.links}
        for _ in range(self.max_extension):
            nxt = last + 1
            if nxt < len(words) and nxt not in aligned_anywhere and words[nxt].text[:1].isupper() and words[last].text[:1].isupper():
                last = nxt
        for _ in range(self.max_extension):
            prev = first - 1
            if prev >= 0 and prev not in aligned_anywhere and words[prev].text[:1].isupper() and words[first].text[:1].isupper() and not _starts_sentence(words, prev):
                first = prev
        used = [l for l in links if first <= l.tgt <= last]
        if not used:
            return None
        score = sum(max(0.0, l.score) for l in used) / len(used) * coverage
        return words[first].start, words[last].end, score


def _starts_sentence(words: list[Word], index: int) -> bool:
    """Whether word ``index`` opens a sentence (capitalised for that reason alone)."""
    return index == 0 or words[index - 1].text in {".", "!", "?", "…", ":", "«", '"', "“"}


def _multi_sentence(src_text: str, tgt_text: str) -> bool:
    from ..text import split_sentences

    return len(split_sentences(src_text)) > 1 or len(split_sentences(tgt_text)) > 1


def project_entities(
    src_doc: Doc,
    tgt_text: str,
    tgt_lang: str | None = None,
    word_aligner: Any = None,
    sentence_aligner: Any = None,
    **options: Any,
) -> Doc:
    """Project ``src_doc``'s entities onto ``tgt_text``; ``options`` go to :class:`Projector`."""
    projector = Projector(word_aligner=word_aligner, sentence_aligner=sentence_aligner, **options)
    return projector.project(src_doc, tgt_text, tgt_lang=tgt_lang)
