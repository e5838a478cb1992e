"""French-English alignment: sentences, words, entities, and annotation projection.

>>> from defnlp.align import SentenceAligner, WordAligner, align_entities, project_entities  # doctest: +SKIP
>>> pairs = SentenceAligner().align_texts(fr_text, en_text).pairs(min_score=0.5)          # doctest: +SKIP
>>> wa = WordAligner().align("Le ministre a signé.", "The minister signed.")                # doctest: +SKIP
>>> links = align_entities(fr_doc, en_doc)                                                  # doctest: +SKIP
>>> fr_doc = project_entities(en_doc, fr_text, tgt_lang="fr")                               # doctest: +SKIP

See ``docs/alignment.md``.
"""

from __future__ import annotations

from .embeddings import E5Embedder, SentenceEmbedder, USEEmbedder, load_sentence_embedder
from .entities import EntityAligner, EntityLink, align_entities
from .lexicon import BilingualLexicon, load_lexicon, string_similarity
from .metrics import aer, alignment_prf, retrieval_p_at_1, sentence_alignment_f1
from .projection import Projector, project_entities
from .segments import ParallelSegment, align_segment_words, parallel_segments
from .sentences import SentenceAligner, SentenceAlignment, SentenceLink, align_sentences
from ..words import Word, split_words, words_from_tokens
from .words import WordAligner, WordAlignment, WordLink, extract_links

__all__ = [
    "BilingualLexicon",
    "E5Embedder",
    "EntityAligner",
    "EntityLink",
    "ParallelSegment",
    "Projector",
    "SentenceAligner",
    "SentenceAlignment",
    "SentenceEmbedder",
    "SentenceLink",
    "USEEmbedder",
    "Word",
    "WordAligner",
    "WordAlignment",
    "WordLink",
    "aer",
    "align_entities",
    "align_segment_words",
    "align_sentences",
    "alignment_prf",
    "extract_links",
    "load_lexicon",
    "load_sentence_embedder",
    "parallel_segments",
    "project_entities",
    "retrieval_p_at_1",
    "sentence_alignment_f1",
    "split_words",
    "string_similarity",
    "words_from_tokens",
]
