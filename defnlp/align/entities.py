"""Entity alignment: link the mentions of the same entity in a French and an English ``Doc``.

Every pair of mentions whose labels may name the same entity (:data:`COMPATIBLE_LABELS`; other
pairs are never linked) gets a vector of evidence features (:data:`FEATURES`):

* **words** — where both mentions lie in sentences that translate each other (sentence
  alignment score ≥ ``parallel_score``), the Dice share of their words that the word aligner
  links to each other, whether that vote is the best of both mentions, and whether they lie in
  the same parallel segment;
* **lexicon** — the official FR→EN defence terminology and acronyms and defnlp's gazetteer
  (OTAN↔NATO, Corse↔Corsica, lettre d'intention↔Letter of Intent…);
* **strings** — equal after :func:`~defnlp.align.lexicon.fold`, acronym of one another,
  alias (one name's words inside the other's: *Tessitore* / *Marco Tessitore*), character
  ratio, and for numbers, dates and amounts whether their digits agree or clash;
* **embedding** — cosine of the multilingual embeddings of the two mention strings (kept
  apart for places, people and nationalities, where any two cities are close);
* **competition** — whether either mention has an exact or lexicon match elsewhere.

A logistic regression fitted on the train pairs of the project's bilingual examples
(:func:`fit_link_calibration`; coefficients in ``defnlp/resources/align/entity_links.json``)
turns the features into the **probability that the two mentions name the same entity**. Four
variants are stored: with/without word evidence (a candidate uses the word variant when both
mentions lie in parallel segments) × with/without embeddings.

Links are chosen one-to-one, best first, at or above ``threshold``; then a mention left over
may join a counterpart that is already linked (many-to-one: *Direction générale de
l'armement* and *DGA* both to *DGA*) when it is an alias of the mention already linked there
or its own probability is at least ``extra_threshold``.

>>> from defnlp import Doc
>>> fr = Doc("L'OTAN et la Corse.", lang="fr"); _ = fr.add_entity(2, 6, "ORG"); _ = fr.add_entity(13, 18, "LOC")
>>> en = Doc("NATO and Corsica.", lang="en"); _ = en.add_entity(0, 4, "ORG"); _ = en.add_entity(9, 16, "LOC")
>>> links = align_entities(fr, en, use_words=False, use_embeddings=False)
>>> sorted((l.fr, l.en) for l in links), all(0.5 <= l.score < 1 for l in links)
([(0, 0), (1, 1)], True)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..doc import Doc, Entity
from ..errors import ConfigError
from .aligners import LazyAligners
from .lexicon import BilingualLexicon, fold, is_acronym_of, load_lexicon, string_similarity
from .segments import DEFAULT_PARALLEL_SCORE, ParallelSegment, align_segment_words, parallel_segments, words_in_span

log = logging.getLogger(__name__)

__all__ = [
    "COMPATIBLE_LABELS",
    "FEATURES",
    "EntityAligner",
    "EntityLink",
    "LinkCalibration",
    "align_entities",
    "fit_link_calibration",
    "gold_links",
    "link_features",
    "load_link_calibration",
]

#: label pairs that may name the same entity in the two languages (equal labels always may);
#: the value is kept for compatibility (pre-0.x score factor), the calibrated model sees
#: ``same_label`` instead
COMPATIBLE_LABELS: dict[frozenset[str], float] = {
    frozenset({"LOC", "ORG"}): 0.8,  # "la France a signé" / "France signed": place or actor
    frozenset({"LOC", "NAT"}): 0.7,  # "les forces françaises" / "French forces"
    frozenset({"WEAPON", "PLATFORM"}): 0.8,
    frozenset({"PROGRAMME", "PLATFORM"}): 0.8,
    frozenset({"PROGRAMME", "DOCUMENT"}): 0.7,
    frozenset({"ORG", "PROGRAMME"}): 0.7,
}

#: the evidence features of a candidate link, in the order of the stored coefficients
FEATURES: tuple[str, ...] = (
    "bias",
    "words",  # Dice share of word links between the two mentions (parallel segments only)
    "words_mutual_best",  # the word vote is the best of both mentions' rows/columns
    "same_segment",  # both mentions in the same parallel segment
    "lexicon",  # gazetteer / terminology pair
    "exact",  # equal after fold()
    "acronym",  # one is the acronym of the other
    "alias",  # one name's words inside the other's (not equal)
    "char_ratio",  # character-sequence ratio of the folded forms
    "embedding",  # cosine of the mention embeddings (ORG, PROGRAMME, DOCUMENT, ROLE...)
    "embedding_names",  # the same cosine for LOC, PER, NAT, where any two names are close
    "digits_match",  # both carry digits and they agree
    "digits_clash",  # both carry digits and they differ
    "same_label",  # equal labels (else a compatible pair)
    "rel_position",  # |relative position of the FR mention - of the EN mention|
    "match_elsewhere",  # either mention has an exact/lexicon/acronym match with another mention
    "lexicon_clash",  # the lexicon knows one of the forms but does not pair them
)
_WORD_FEATURES = ("words", "words_mutual_best", "same_segment")
_EMBEDDING_FEATURES = ("embedding", "embedding_names")
_ORDER_FEATURES = ("rel_position",)  # comparable texts tell their story in another order
_NAME_LABELS = frozenset({"LOC", "PER", "NAT"})
_PLACE_LABELS = frozenset({"LOC", "NAT"})
_EVIDENCE_GROUPS = {  # which feature group an EntityLink's ``evidence`` names
    "words": ("words", "words_mutual_best", "same_segment"),
    "lexicon": ("lexicon",),
    "string": ("exact", "acronym", "alias", "char_ratio", "digits_match"),
    "embedding": ("embedding", "embedding_names"),
}
_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")


def variant_features(words: bool, embeddings: bool, order: bool | None = None) -> tuple[str, ...]:
    """The features a variant of the model uses (``order`` defaults to ``words``).

    >>> variant_features(False, False)[:4]
    ('bias', 'lexicon', 'exact', 'acronym')
    """
    order = words if order is None else order
    return tuple(
        f for f in FEATURES
        if (words or f not in _WORD_FEATURES) and (embeddings or f not in _EMBEDDING_FEATURES)
        and (order or f not in _ORDER_FEATURES)
    )


def variant_name(words: bool, embeddings: bool) -> str:
    """``"words+embeddings"``, ``"words"``, ``"embeddings"`` or ``"strings"``."""
    parts = [p for p, on in (("words", words), ("embeddings", embeddings)) if on]
    return "+".join(parts) or "strings"


@dataclass(frozen=True)
class EntityLink:
    """``fr_doc.entities[fr]`` and ``en_doc.entities[en]`` name the same entity.

    ``score``: calibrated probability that they do. ``evidence``: the feature group that
    raised the score most (``words``, ``lexicon``, ``string``, ``embedding``).
    ``many_to_one``: an extra link to a mention already linked one-to-one.
    """

    fr: int
    en: int
    score: float
    evidence: str
    many_to_one: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {"fr": self.fr, "en": self.en, "score": round(float(self.score), 4), "evidence": self.evidence}
        if self.many_to_one:
            out["many_to_one"] = True
        return out


# ------------------------------------------------------------------------------------------------
# calibration: stored logistic-regression coefficients
# ------------------------------------------------------------------------------------------------
_RESOURCE = "align/entity_links.json"


@dataclass(frozen=True)
class LinkCalibration:
    """Logistic-regression coefficients per model variant (see :func:`variant_name`).

    >>> cal = load_link_calibration()
    >>> sorted(cal.variants)
    ['embeddings', 'strings', 'words', 'words+embeddings']
    >>> 0.0 < float(cal.probability(np.zeros((1, len(FEATURES))), "strings")[0]) < 0.5
    True
    """

    variants: dict[str, dict[str, float]]
    meta: dict[str, Any] = field(default_factory=dict)

    def probability(self, x: np.ndarray, variant: str) -> np.ndarray:
        """P(same entity) for rows of ``x`` (columns in :data:`FEATURES` order; bias column ignored)."""
        coef = self.variants[variant]
        w = np.array([0.0] + [coef.get(f, 0.0) for f in FEATURES[1:]])
        z = x @ w + coef.get("bias", 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_dict(self) -> dict[str, Any]:
        return {**self.meta, "features": list(FEATURES), "variants": self.variants}


def load_link_calibration(path: str | Path | None = None) -> LinkCalibration:
    """The coefficients shipped in ``defnlp/resources/align/entity_links.json`` (or ``path``)."""
    if path is None:
        return _shipped_calibration()
    return _calibration_from(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _shipped_calibration() -> LinkCalibration:
    with resources.files("defnlp.resources").joinpath(_RESOURCE).open("r", encoding="utf-8") as fh:
        return _calibration_from(json.load(fh))


def _calibration_from(data: dict[str, Any]) -> LinkCalibration:
    unknown = {f for v in data["variants"].values() for f in v} - set(FEATURES)
    if unknown:
        raise ConfigError(f"entity link calibration names unknown features {sorted(unknown)}",
                          "regenerate it with: python benchmarks/alignment.py --only entities --refit")
    meta = {k: v for k, v in data.items() if k not in ("variants", "features")}
    return LinkCalibration({k: dict(v) for k, v in data["variants"].items()}, meta)


def calibration_path() -> Path:
    """Where the shipped coefficients live in a source checkout (for :func:`fit_link_calibration` output)."""
    return Path(__file__).resolve().parents[1] / "resources" / _RESOURCE


# ------------------------------------------------------------------------------------------------
# features
# ------------------------------------------------------------------------------------------------
def _digits(text: str) -> tuple[str, ...]:
    return tuple(d.replace(",", ".") for d in _DIGITS.findall(text.replace("\u202f", "").replace("\xa0", "").replace(" ", "")))


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[^\W_]+", fold(text).replace("'", " ")) if len(t) > 1}


def _alias(a: str, b: str) -> bool:
    """One name's content words are all inside the other's (and they are not equal)."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb or ta == tb:
        return False
    return ta <= tb or tb <= ta


def _string_features(f: Entity, e: Entity, lexicon: BilingualLexicon) -> dict[str, float]:
    ff, fe = fold(f.text), fold(e.text)
    exact = float(bool(ff) and ff == fe)
    acronym = float(is_acronym_of(f.text.strip(), e.text) or is_acronym_of(e.text.strip(), f.text))
    df, de = _digits(f.text), _digits(e.text)
    return {
        "lexicon": float(lexicon.translates(f.text, e.text)),
        "lexicon_clash": float(not exact and not lexicon.translates(f.text, e.text)
                               and (lexicon.knows(fr=f.text) or lexicon.knows(en=e.text))
                               and not (lexicon.knows(fr=f.text) and fold(f.text) == fold(e.text))),
        "exact": exact,
        "acronym": acronym,
        "alias": float(not exact and _alias(f.text, e.text)),
        "char_ratio": string_similarity(f.text, e.text) if not exact else 1.0,
        "digits_match": float(bool(df) and bool(de) and set(df) == set(de)),
        "digits_clash": float(bool(df) and bool(de) and set(df) != set(de)),
    }


def _known_different(f: Entity, e: Entity, lexicon: BilingualLexicon) -> bool:
    """The lexicon knows both forms and does not pair them, and they are not one name."""
    ff, fe = fold(f.text), fold(e.text)
    if not ff or not fe or ff == fe or lexicon.translates(f.text, e.text) or _alias(f.text, e.text):
        return False
    return lexicon.knows(fr=f.text) and lexicon.knows(en=e.text)


@dataclass
class LinkFeatures:
    """Features of every FR×EN mention pair: ``x`` [n_fr, n_en, len(FEATURES)], ``compatible``
    (labels may name the same entity), ``parallel`` (both mentions lie in parallel segments)."""

    x: np.ndarray
    compatible: np.ndarray
    parallel: np.ndarray


def link_features(
    fr_doc: Doc,
    en_doc: Doc,
    lexicon: BilingualLexicon,
    compatible: dict[frozenset[str], float] = COMPATIBLE_LABELS,
    word_votes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    mention_similarity: np.ndarray | None = None,
) -> LinkFeatures:
    """The evidence features of every mention pair (see :data:`FEATURES`).

    ``word_votes``: (Dice votes, FR segment ids, EN segment ids; -1 outside parallel
    segments), as :meth:`EntityAligner.word_votes` gives; ``mention_similarity``: embedding
    cosines [n_fr, n_en]. Either may be omitted (its features stay 0).
    """
    fr_ents, en_ents = fr_doc.entities, en_doc.entities
    n_fr, n_en, k = len(fr_ents), len(en_ents), len(FEATURES)
    col = {f: c for c, f in enumerate(FEATURES)}
    x = np.zeros((n_fr, n_en, k))
    x[..., col["bias"]] = 1.0
    ok = np.array([[f.label == e.label or frozenset({f.label, e.label}) in compatible for e in en_ents] for f in fr_ents],
                  dtype=bool).reshape(n_fr, n_en)
    fr_len, en_len = max(len(fr_doc.text), 1), max(len(en_doc.text), 1)
    strings: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for i, f in enumerate(fr_ents):
        for j, e in enumerate(en_ents):
            if not ok[i, j]:
                continue
            key = (f.text, e.text, f.label, e.label)
            if key not in strings:
                strings[key] = _string_features(f, e, lexicon)
            for name, value in strings[key].items():
                x[i, j, col[name]] = value
            x[i, j, col["same_label"]] = float(f.label == e.label)
            x[i, j, col["rel_position"]] = abs(f.start / fr_len - e.start / en_len)
    # places and nationalities that the lexicon knows on both sides but does not pair are two
    # different places (Paris / Brussels): never candidates, whatever the word aligner says
    for i, f in enumerate(fr_ents):
        for j, e in enumerate(en_ents):
            if ok[i, j] and f.label in _PLACE_LABELS and e.label in _PLACE_LABELS and _known_different(f, e, lexicon):
                ok[i, j] = False
                x[i, j] = 0.0
    strong = (x[..., col["exact"]] + x[..., col["lexicon"]] + x[..., col["acronym"]]) > 0
    if n_fr and n_en:
        row_strong = strong.sum(1, keepdims=True) - strong
        col_strong = strong.sum(0, keepdims=True) - strong
        x[..., col["match_elsewhere"]] = ((row_strong + col_strong) > 0) & ok
    parallel = np.zeros((n_fr, n_en), dtype=bool)
    if word_votes is not None:
        votes, seg_fr, seg_en = word_votes
        votes = np.where(ok, votes, 0.0)
        x[..., col["words"]] = votes
        if n_fr and n_en:
            best = (votes > 0) & (votes >= votes.max(1, keepdims=True)) & (votes >= votes.max(0, keepdims=True))
            x[..., col["words_mutual_best"]] = best
        same = (seg_fr[:, None] >= 0) & (seg_fr[:, None] == seg_en[None, :])
        x[..., col["same_segment"]] = same & ok
        parallel = (seg_fr[:, None] >= 0) & (seg_en[None, :] >= 0)
    if mention_similarity is not None:
        names = np.array([[f.label in _NAME_LABELS and e.label in _NAME_LABELS for e in en_ents] for f in fr_ents],
                         dtype=bool).reshape(n_fr, n_en)
        sims = np.where(ok, mention_similarity, 0.0)
        x[..., col["embedding"]] = np.where(names, 0.0, sims)
        x[..., col["embedding_names"]] = np.where(names, sims, 0.0)
    x[~ok] = 0.0
    return LinkFeatures(x, ok, parallel)


# ------------------------------------------------------------------------------------------------
# the aligner
# ------------------------------------------------------------------------------------------------
class EntityAligner(LazyAligners):
    """Align the entities of FR/EN document pairs. Models are loaded on first use and reused.

    ``mode``: ``"auto"`` (word evidence in the segments that the sentence aligner finds
    parallel), ``"parallel"`` (both documents are translations: every sentence link is used),
    ``"comparable"`` (no word alignment). ``word_aligner`` / ``sentence_aligner`` /
    ``embedder``: instances to reuse (defaults: :class:`~defnlp.align.words.WordAligner`,
    :class:`~defnlp.align.sentences.SentenceAligner`, its embedder). ``threshold``: the least
    probability of a link; ``extra_threshold``: the least probability of a many-to-one link that
    is not an alias of the mention already linked (``None``: no many-to-one links at all).
    ``calibration``: coefficients (default: the shipped ones).
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
        extra_threshold: float | None = 0.8,
        calibration: LinkCalibration | None = None,
    ) -> None:
        if mode not in ("auto", "parallel", "comparable"):
            raise ConfigError(f"unknown entity alignment mode {mode!r}", "use 'auto', 'parallel' or 'comparable'")
        self._word_aligner = word_aligner
        self._sentence_aligner = sentence_aligner
        self._embedder = embedder
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.threshold = float(threshold)
        self.extra_threshold = None if extra_threshold is None else float(extra_threshold)
        self.mode = mode
        self.parallel_score = float(parallel_score) if mode != "parallel" else -1.0
        self.use_words = use_words and mode != "comparable"
        self.use_embeddings = use_embeddings
        self.compatible = COMPATIBLE_LABELS if compatible_labels is None else compatible_labels
        self.calibration = calibration if calibration is not None else load_link_calibration()

    # ---- alignment ---------------------------------------------------------------------------------
    def label_factor(self, fr_label: str, en_label: str) -> float:
        """1.0 for equal labels, the factor of :data:`COMPATIBLE_LABELS`, else 0 (never linked)."""
        if fr_label == en_label:
            return 1.0
        return self.compatible.get(frozenset({fr_label, en_label}), 0.0)

    def features(self, fr_doc: Doc, en_doc: Doc) -> LinkFeatures:
        """The evidence features of every mention pair, with this aligner's models."""
        votes = self.word_votes(fr_doc, en_doc) if self.use_words and fr_doc.entities and en_doc.entities else None
        sims = (self._mention_similarity(fr_doc.entities, en_doc.entities)
                if self.use_embeddings and fr_doc.entities and en_doc.entities else None)
        return link_features(fr_doc, en_doc, self.lexicon, self.compatible, votes, sims)

    def probabilities(self, feats: LinkFeatures) -> tuple[np.ndarray, np.ndarray]:
        """P(same entity) [n_fr, n_en] (0 where labels are incompatible), and which variant scored each pair
        (True: the word variant)."""
        with_words = feats.parallel & self.use_words
        p_words = self.calibration.probability(feats.x, variant_name(True, self.use_embeddings))
        p_plain = self.calibration.probability(feats.x, variant_name(False, self.use_embeddings))
        p = np.where(with_words, p_words, p_plain)
        return np.where(feats.compatible, p, 0.0), with_words

    def align(self, fr_doc: Doc, en_doc: Doc) -> list[EntityLink]:
        """Links between ``fr_doc.entities`` and ``en_doc.entities``: one-to-one first, best first,
        then many-to-one links for the mentions left over."""
        if not fr_doc.entities or not en_doc.entities:
            return []
        return self.links_from(self.features(fr_doc, en_doc), fr_doc, en_doc)

    def links_from(self, feats: LinkFeatures, fr_doc: Doc, en_doc: Doc) -> list[EntityLink]:
        """The links that features ``feats`` give (see :meth:`align`)."""
        fr_ents, en_ents = fr_doc.entities, en_doc.entities
        p, with_words = self.probabilities(feats)
        if not feats.compatible.any():
            return []
        # among repeated mentions of equal probability, prefer similar relative positions
        ranking = p - 1e-3 * feats.x[..., FEATURES.index("rel_position")]
        links: list[EntityLink] = []
        fr_to: dict[int, int] = {}
        en_to: dict[int, int] = {}
        for flat in np.argsort(-ranking, axis=None, kind="stable"):
            i, j = divmod(int(flat), len(en_ents))
            if p[i, j] < self.threshold or not feats.compatible[i, j]:
                break
            if i in fr_to or j in en_to:
                continue
            fr_to[i], en_to[j] = j, i
            links.append(self._link(i, j, p, feats, with_words))
        if self.extra_threshold is not None:
            links += self._many_to_one(p, feats, with_words, fr_to, en_to, fr_ents, en_ents)
        return links

    def _many_to_one(self, p: np.ndarray, feats: LinkFeatures, with_words: np.ndarray, fr_to: dict[int, int],
                     en_to: dict[int, int], fr_ents: list[Entity], en_ents: list[Entity]) -> list[EntityLink]:
        """Extra links for leftover mentions: to an already-linked counterpart, when the leftover is an
        alias (same name, acronym, words inside) of the mention linked there, or scores ``extra_threshold``."""
        extra = []
        assert self.extra_threshold is not None
        # the French leftovers, then the English ones (scores transposed: rows are the leftover's side)
        for scores, own_to, other_to, ents, french in ((p, fr_to, en_to, fr_ents, True), (p.T, en_to, fr_to, en_ents, False)):
            for a in range(len(ents)):
                if a in own_to:
                    continue
                for b in np.argsort(-scores[a], kind="stable"):
                    b = int(b)
                    if scores[a, b] < self.threshold:
                        break
                    if b in other_to and (scores[a, b] >= self.extra_threshold or _same_side_alias(ents[a], ents[other_to[b]])):
                        i, j = (a, b) if french else (b, a)
                        extra.append(self._link(i, j, p, feats, with_words, many_to_one=True))
                        break
        return extra

    def _link(self, i: int, j: int, p: np.ndarray, feats: LinkFeatures, with_words: np.ndarray,
              many_to_one: bool = False) -> EntityLink:
        coef = self.calibration.variants[variant_name(bool(with_words[i, j]), self.use_embeddings)]
        x = feats.x[i, j]
        contribution = {
            group: sum(coef.get(f, 0.0) * x[FEATURES.index(f)] for f in names) for group, names in _EVIDENCE_GROUPS.items()
        }
        evidence = max(contribution, key=lambda g: contribution[g])
        return EntityLink(i, j, round(float(p[i, j]), 4), evidence, many_to_one)

    # ---- evidence from models ------------------------------------------------------------------------
    def _segments(self, fr_doc: Doc, en_doc: Doc) -> list[ParallelSegment]:
        return parallel_segments(
            fr_doc.text, en_doc.text, self.sentence_aligner if self._needs_sentence_alignment(fr_doc, en_doc) else None,
            min_score=self.parallel_score,
        )

    @staticmethod
    def _needs_sentence_alignment(fr_doc: Doc, en_doc: Doc) -> bool:
        from ..text import split_sentences

        return len(split_sentences(fr_doc.text)) > 1 or len(split_sentences(en_doc.text)) > 1

    def word_votes(self, fr_doc: Doc, en_doc: Doc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dice vote of word links between each FR and EN mention, and each mention's parallel segment (-1: none)."""
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

    _word_votes = word_votes  # the name before the calibrated model

    def _mention_similarity(self, fr_ents: list[Entity], en_ents: list[Entity]) -> np.ndarray:
        fr_texts = sorted({e.text for e in fr_ents})
        en_texts = sorted({e.text for e in en_ents})
        vectors = self.embedder.encode(fr_texts + en_texts)
        fr_index = {t: k for k, t in enumerate(fr_texts)}
        en_index = {t: len(fr_texts) + k for k, t in enumerate(en_texts)}
        sims = vectors @ vectors.T
        out = np.array([[sims[fr_index[f.text], en_index[e.text]] for e in en_ents] for f in fr_ents])
        return np.clip(out, 0.0, 1.0)


def _same_side_alias(a: Entity, b: Entity) -> bool:
    """``a`` and ``b`` (same document) are one name: equal, acronym and expansion, or words inside."""
    if a.label != b.label and frozenset({a.label, b.label}) not in COMPATIBLE_LABELS:
        return False
    return fold(a.text) == fold(b.text) or is_acronym_of(a.text.strip(), b.text) or is_acronym_of(b.text.strip(), a.text) \
        or _alias(a.text, b.text)


def align_entities(fr_doc: Doc, en_doc: Doc, **options: Any) -> list[EntityLink]:
    """One-call entity alignment of two annotated Docs; ``options`` go to :class:`EntityAligner`."""
    return EntityAligner(**options).align(fr_doc, en_doc)


# ------------------------------------------------------------------------------------------------
# gold links and fitting
# ------------------------------------------------------------------------------------------------
_REF = re.compile(r"^(?P<family>[A-Za-z]+\d+)[a-z]*$")


def entity_of(ref: str) -> str:
    """The entity a mention ref belongs to: the ref without its mention suffix (``o2c`` -> ``o2``).

    >>> entity_of("o2c"), entity_of("p10"), entity_of("dga")
    ('o2', 'p10', 'dga')
    """
    m = _REF.match(ref)
    return m.group("family") if m else ref


def gold_links(fr_doc: Doc, en_doc: Doc) -> tuple[set[tuple[int, int]], np.ndarray]:
    """Gold of an annotated pair (refs in ``doc.meta["refs"]``, as :mod:`defnlp.io.markup` reads them):
    mention links (FR and EN mention with the same ref) and the same-entity matrix [n_fr, n_en]
    (refs of one entity: ``o2``, ``o2b``, ``o2c``…, see :func:`entity_of`)."""
    fr_refs = {i: r for r, i in (fr_doc.meta.get("refs") or {}).items()}
    en_refs = {i: r for r, i in (en_doc.meta.get("refs") or {}).items()}
    by_ref = {r: j for j, r in en_refs.items()}
    mentions = {(i, by_ref[r]) for i, r in fr_refs.items() if r in by_ref}
    same = np.zeros((len(fr_doc.entities), len(en_doc.entities)), dtype=bool)
    for i, r in fr_refs.items():
        for j, s in en_refs.items():
            same[i, j] = entity_of(r) == entity_of(s)
    return mentions, same


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (the bias, column 0, is not penalised)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def fit_link_calibration(
    pairs: Iterable[tuple[Doc, Doc]],
    aligner: EntityAligner | None = None,
    variants: Sequence[tuple[bool, bool]] = ((True, True), (True, False), (False, True), (False, False)),
    l2: float = 1.0,
) -> LinkCalibration:
    """Fit the link model on gold-annotated FR/EN pairs (the train pairs of ``data/examples``).

    Target: the two mentions name the same entity (:func:`gold_links`). Each (words,
    embeddings) variant is fitted on the candidates it would score: the word variants on
    pairs of mentions that both lie in parallel segments, the others on every candidate
    (computed as if no word alignment were available). Deterministic (Newton's method).
    Regenerate the shipped file with ``python benchmarks/alignment.py --only entities --refit``.
    """
    aligner = aligner or EntityAligner()
    need_words = any(w for w, _ in variants)
    need_emb = any(e for _, e in variants)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # features, both mentions in parallel segments, target
    n_pairs = 0
    pair_ids: list[str] = []
    for fr_doc, en_doc in pairs:
        if not fr_doc.entities or not en_doc.entities:
            continue
        n_pairs += 1
        pair_ids.append(str(fr_doc.meta.get("pair") or fr_doc.id))
        votes = aligner.word_votes(fr_doc, en_doc) if need_words else None
        sims = aligner._mention_similarity(fr_doc.entities, en_doc.entities) if need_emb else None
        with_words = link_features(fr_doc, en_doc, aligner.lexicon, aligner.compatible, votes, sims)
        _, same = gold_links(fr_doc, en_doc)
        ok = with_words.compatible
        rows.append((with_words.x[ok], with_words.parallel[ok], same[ok].astype(float)))
    x_all = np.concatenate([r[0] for r in rows])
    parallel = np.concatenate([r[1] for r in rows])
    y = np.concatenate([r[2] for r in rows])
    out: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for words, embeddings in variants:
        names = variant_features(words, embeddings)
        cols = [FEATURES.index(f) for f in names]
        keep = parallel if words else np.ones(len(y), dtype=bool)
        x = x_all[keep][:, cols]
        w = _fit_logistic(x, y[keep], l2=l2)
        out[variant_name(words, embeddings)] = {f: round(float(v), 4) for f, v in zip(names, w)}
        counts[variant_name(words, embeddings)] = {"candidates": int(keep.sum()), "positives": int(y[keep].sum())}
    meta = {
        "about": "Logistic-regression coefficients of defnlp's FR-EN entity link probability (defnlp.align.entities). "
                 "Target: the two mentions name the same entity (same ref family in data/examples).",
        "fitted_on": f"{n_pairs} train pairs of data/examples",
        "l2": l2,
        "counts": counts,
        "regenerate": "python benchmarks/alignment.py --only entities --refit",
        "train_pairs": pair_ids,
    }
    return LinkCalibration(out, meta)
