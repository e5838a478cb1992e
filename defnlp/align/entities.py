"""Entity alignment: link the mentions of the same entity in a French and an English ``Doc``.

For every pair of mentions with compatible labels, evidence is gathered and combined into one
score in [0, 1]:

* **words** — where the two mentions lie in sentences that translate each other (sentence
  alignment score ≥ ``parallel_score``), the share of their words that the word aligner links
  to each other (a Dice vote over word links);
* **lexicon** — the official FR→EN defence terminology and acronyms, and defnlp's gazetteer
  (OTAN↔NATO, Corse↔Corsica, lettre d'intention↔Letter of Intent…): 1.0 on a match;
* **string** — accent/case-folded similarity, with acronym expansion (NATO ↔ North Atlantic
  Treaty Organization);
* **embedding** — cosine of the multilingual sentence embeddings of the two mention strings,
  averaged with the string similarity (for comparable texts, where no word alignment exists).

The score is the strongest piece of evidence, scaled down for compatible-but-different labels,
plus a small bonus when both mentions lie in the same parallel segment. Links are then chosen
one-to-one, best first, above ``threshold``.

>>> from defnlp import Doc
>>> fr = Doc("L'OTAN et la Corse.", lang="fr"); _ = fr.add_entity(2, 6, "ORG"); _ = fr.add_entity(13, 18, "LOC")
>>> en = Doc("NATO and Corsica.", lang="en"); _ = en.add_entity(0, 4, "ORG"); _ = en.add_entity(9, 16, "LOC")
>>> [(l.fr, l.en, l.evidence) for l in align_entities(fr, en, use_words=False, use_embeddings=False)]
[(0, 0, 'lexicon'), (1, 1, 'lexicon')]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..doc import Doc, Entity
from ..errors import ConfigError
from .aligners import LazyAligners
from .lexicon import BilingualLexicon, load_lexicon, string_similarity
from .segments import DEFAULT_PARALLEL_SCORE, ParallelSegment, align_segment_words, parallel_segments, words_in_span

log = logging.getLogger(__name__)

__all__ = ["COMPATIBLE_LABELS", "EntityAligner", "EntityLink", "align_entities"]

#: label pairs that may name the same entity in the two languages, with a score factor
COMPATIBLE_LABELS: dict[frozenset[str], float] = {
    frozenset({"LOC", "ORG"}): 0.8,  # "la France a signé" / "France signed": place or actor
    frozenset({"LOC", "NAT"}): 0.7,  # "les forces françaises" / "French forces"
    frozenset({"WEAPON", "PLATFORM"}): 0.8,
    frozenset({"PROGRAMME", "PLATFORM"}): 0.8,
    frozenset({"PROGRAMME", "DOCUMENT"}): 0.7,
    frozenset({"ORG", "PROGRAMME"}): 0.7,
}


@dataclass(frozen=True)
class EntityLink:
    """``fr_doc.entities[fr]`` and ``en_doc.entities[en]`` name the same entity.

    ``evidence``: what decided the score (``words``, ``lexicon``, ``string``, ``embedding``).
    """

    fr: int
    en: int
    score: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"fr": self.fr, "en": self.en, "score": round(float(self.score), 4), "evidence": self.evidence}


class EntityAligner(LazyAligners):
    """Align the entities of FR/EN document pairs. Models are loaded on first use and reused.

    ``mode``: ``"auto"`` (word evidence in the segments that the sentence aligner finds
    parallel), ``"parallel"`` (both documents are translations: every sentence link is used),
    ``"comparable"`` (no word alignment). ``word_aligner`` / ``sentence_aligner`` /
    ``embedder``: instances to reuse (defaults: :class:`~defnlp.align.words.WordAligner`,
    :class:`~defnlp.align.sentences.SentenceAligner`, its embedder).
    """

    def __init__(
        self,
        word_aligner: Any = None,
        sentence_aligner: Any = None,
        embedder: Any = None,
        lexicon: BilingualLexicon | None = None,
        threshold: float = 0.5,
        mode: str = "auto",
        parallel_score: float = DEFAULT_PARALLEL_SCORE,
        use_words: bool = True,
        use_embeddings: bool = True,
        compatible_labels: dict[frozenset[str], float] | None = None,
    ) -> None:
        if mode not in ("auto", "parallel", "comparable"):
            raise ConfigError(f"unknown entity alignment mode {mode!r}", "use 'auto', 'parallel' or 'comparable'")
        self._word_aligner = word_aligner
        self._sentence_aligner = sentence_aligner
        self._embedder = embedder
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.threshold = float(threshold)
        self.mode = mode
        self.parallel_score = float(parallel_score) if mode != "parallel" else -1.0
        self.use_words = use_words and mode != "comparable"
        self.use_embeddings = use_embeddings
        self.compatible = COMPATIBLE_LABELS if compatible_labels is None else compatible_labels

    # ---- alignment ---------------------------------------------------------------------------------
    def label_factor(self, fr_label: str, en_label: str) -> float:
        """1.0 for equal labels, the factor of :data:`COMPATIBLE_LABELS`, else 0."""
        if fr_label == en_label:
            return 1.0
        return self.compatible.get(frozenset({fr_label, en_label}), 0.0)

    def align(self, fr_doc: Doc, en_doc: Doc) -> list[EntityLink]:
        """One-to-one links between ``fr_doc.entities`` and ``en_doc.entities``, best first."""
        fr_ents, en_ents = fr_doc.entities, en_doc.entities
        if not fr_ents or not en_ents:
            return []
        factors = np.array([[self.label_factor(f.label, e.label) for e in en_ents] for f in fr_ents])
        if not factors.any():
            return []
        evidence: dict[str, np.ndarray] = {}
        segment_of_fr, segment_of_en = np.full(len(fr_ents), -1), np.full(len(en_ents), -1)
        if self.use_words:
            evidence["words"], segment_of_fr, segment_of_en = self._word_votes(fr_doc, en_doc)
        evidence["lexicon"] = np.array([[1.0 if self.lexicon.translates(f.text, e.text) else 0.0 for e in en_ents] for f in fr_ents])
        strings = np.array([[string_similarity(f.text, e.text) for e in en_ents] for f in fr_ents])
        evidence["string"] = np.where(strings >= 0.85, strings, 0.0)  # near-identical names only
        if self.use_embeddings:
            evidence["embedding"] = (self._mention_similarity(fr_ents, en_ents) + strings) / 2
        names = list(evidence)
        stacked = np.stack([evidence[k] for k in names])  # [kinds, n_fr, n_en]
        best_kind = stacked.argmax(0)
        score = stacked.max(0) * factors
        same_segment = (segment_of_fr[:, None] >= 0) & (segment_of_fr[:, None] == segment_of_en[None, :])
        score = np.where(same_segment & (score > 0), np.minimum(1.0, score + 0.1), score)
        # among repeated mentions, prefer those at similar relative positions in the documents
        rel_fr = np.array([f.start / max(len(fr_doc.text), 1) for f in fr_ents])
        rel_en = np.array([e.start / max(len(en_doc.text), 1) for e in en_ents])
        ranking = score - 0.05 * np.abs(rel_fr[:, None] - rel_en[None, :])
        links = []
        used_fr, used_en = set(), set()
        for flat in np.argsort(-ranking, axis=None, kind="stable"):
            i, j = divmod(int(flat), len(en_ents))
            if score[i, j] < self.threshold:
                break
            if i in used_fr or j in used_en:
                continue
            used_fr.add(i)
            used_en.add(j)
            links.append(EntityLink(i, j, round(float(score[i, j]), 4), names[int(best_kind[i, j])]))
        return links

    def _segments(self, fr_doc: Doc, en_doc: Doc) -> list[ParallelSegment]:
        return parallel_segments(
            fr_doc.text, en_doc.text, self.sentence_aligner if self._needs_sentence_alignment(fr_doc, en_doc) else None,
            min_score=self.parallel_score,
        )

    @staticmethod
    def _needs_sentence_alignment(fr_doc: Doc, en_doc: Doc) -> bool:
        from ..text import split_sentences

        return len(split_sentences(fr_doc.text)) > 1 or len(split_sentences(en_doc.text)) > 1

    def _word_votes(self, fr_doc: Doc, en_doc: Doc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dice vote of word links between each FR and EN mention, and each mention's segment."""
        fr_ents, en_ents = fr_doc.entities, en_doc.entities
        votes = np.zeros((len(fr_ents), len(en_ents)))
        seg_fr, seg_en = np.full(len(fr_ents), -1), np.full(len(en_ents), -1)
        segments = self._segments(fr_doc, en_doc)
        if not segments:
            return votes, seg_fr, seg_en
        alignments = align_segment_words(fr_doc.text, en_doc.text, segments, self.word_aligner, "fr", "en")
        for k, (seg, wa) in enumerate(zip(segments, alignments)):
            fr_in = [i for i, e in enumerate(fr_ents) if seg.src_start <= e.start and e.end <= seg.src_end]
            en_in = [j for j, e in enumerate(en_ents) if seg.tgt_start <= e.start and e.end <= seg.tgt_end]
            seg_fr[fr_in], seg_en[en_in] = k, k
            if not fr_in or not en_in:
                continue
            fr_words = {i: set(words_in_span(wa.src_words, fr_ents[i].start, fr_ents[i].end)) for i in fr_in}
            en_words = {j: set(words_in_span(wa.tgt_words, en_ents[j].start, en_ents[j].end)) for j in en_in}
            for i in fr_in:
                for j in en_in:
                    fw, ew = fr_words[i], en_words[j]
                    if not fw or not ew:
                        continue
                    linked_fr = {l.src for l in wa.links if l.src in fw and l.tgt in ew}
                    linked_en = {l.tgt for l in wa.links if l.src in fw and l.tgt in ew}
                    votes[i, j] = (len(linked_fr) + len(linked_en)) / (len(fw) + len(ew))
        return votes, seg_fr, seg_en

    def _mention_similarity(self, fr_ents: list[Entity], en_ents: list[Entity]) -> np.ndarray:
        fr_texts = sorted({e.text for e in fr_ents})
        en_texts = sorted({e.text for e in en_ents})
        vectors = self.embedder.encode(fr_texts + en_texts)
        fr_index = {t: k for k, t in enumerate(fr_texts)}
        en_index = {t: len(fr_texts) + k for k, t in enumerate(en_texts)}
        sims = vectors @ vectors.T
        out = np.array([[sims[fr_index[f.text], en_index[e.text]] for e in en_ents] for f in fr_ents])
        return np.clip(out, 0.0, 1.0)


def align_entities(fr_doc: Doc, en_doc: Doc, **options: Any) -> list[EntityLink]:
    """One-call entity alignment of two annotated Docs; ``options`` go to :class:`EntityAligner`."""
    return EntityAligner(**options).align(fr_doc, en_doc)
