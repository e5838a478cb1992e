"""spaCy-style dicts and spaCy ``Doc`` objects <-> :class:`~defnlp.doc.Doc`.

The dict form is the one of spaCy's ``Doc.to_json()`` (also accepted by ``displacy.render(...,
manual=True)`` and by ``spacy.tokens.Doc(vocab).from_json(...)``)::

    {"text": ..., "ents": [{"start", "end", "label"}], "sents": [{"start", "end"}],
     "tokens": [{"id", "start", "end"}], "_": {"defnlp": {...}}}

spaCy entities may not overlap, so ``ents`` holds the entities left by
:func:`~defnlp.io.conll.flatten_entities` (longest first); the complete Doc (every entity
with its score, relations, id, lang, meta) rides along under ``"_"`` → ``"defnlp"`` so that
:func:`doc_from_spacy_dict` gives the same Doc back. Dicts from elsewhere (no ``defnlp`` block)
are read from ``ents``/``sents``/``tokens``; their tokens go to ``meta["tokens"]``.

Tokens are the Doc's own (``meta["tokens"]``) or the words of :func:`~defnlp.words.word_spans`,
split further at entity boundaries so that every entity lines up with tokens, plus the
whitespace tokens spaCy makes for runs of spaces and newlines.

:func:`to_spacy_doc` and :func:`from_spacy_doc` need the optional package ``spacy`` (imported
only when called).

>>> doc = Doc("Le ministre des Armées visite Brest.", id="n1", lang="fr")
>>> _ = doc.add_entity(30, 35, "LOC", score=0.98)
>>> d = doc_to_spacy_dict(doc)
>>> d["ents"], [d["text"][t["start"]:t["end"]] for t in d["tokens"]][-2:]
([{'start': 30, 'end': 35, 'label': 'LOC'}], ['Brest', '.'])
>>> doc_from_spacy_dict(d) == doc
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..doc import Doc, Entity, Sentence
from ..errors import MissingDependencyError, RecordFormatError
from ..text import trim_span
from ..words import split_tokens_at, word_spans
from .conll import flatten_entities

__all__ = ["doc_to_spacy_dict", "doc_from_spacy_dict", "to_spacy_doc", "from_spacy_doc"]

log = logging.getLogger(__name__)

_EXTRA_KEY = "defnlp"


def _aligned_word_spans(doc: Doc) -> list[tuple[int, int]]:
    """Non-space token spans, split at every entity boundary that falls inside a token."""
    base = doc.meta.get("tokens")
    spans = [(int(a), int(b)) for a, b in base] if base else word_spans(doc.text)
    return split_tokens_at(doc.text, spans, [x for e in doc.entities for x in (e.start, e.end)])


def _with_whitespace_tokens(text: str, words: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[bool]]:
    """All spaCy tokens (words and whitespace runs) with their trailing-space flags.

    Same rule as ``spacy.util.get_words_and_spaces``: one space after a word is its trailing
    space; any other whitespace becomes a token of its own.
    """
    tokens: list[tuple[int, int]] = []
    spaces: list[bool] = []
    pos = 0
    for a, b in words:
        if a > pos:
            tokens.append((pos, a))
            spaces.append(False)
        tokens.append((a, b))
        spaces.append(False)
        pos = b
        if pos < len(text) and text[pos] == " ":
            spaces[-1] = True
            pos += 1
    if pos < len(text):
        tokens.append((pos, len(text)))
        spaces.append(False)
    return tokens, spaces


def doc_to_spacy_dict(doc: Doc) -> dict[str, Any]:
    """The spaCy ``Doc.to_json()`` form of a Doc (see the module docstring)."""
    words = _aligned_word_spans(doc)
    tokens, _ = _with_whitespace_tokens(doc.text, words)
    flat = flatten_entities(doc)
    out: dict[str, Any] = {
        "text": doc.text,
        "ents": [{"start": a, "end": b, "label": e.label} for e in sorted(flat.entities, key=lambda e: e.start) for a, b in [trim_span(doc.text, e.start, e.end)] if a < b],
        "tokens": [{"id": i, "start": a, "end": b} for i, (a, b) in enumerate(tokens)],
    }
    if doc.sentences:
        out["sents"] = [{"start": s.start, "end": s.end} for s in doc.sentences]
    full = doc.to_dict()
    extra = {k: full[k] for k in ("id", "lang", "entities", "relations")}
    if doc.meta:
        extra["meta"] = doc.meta
    out[_EXTRA_KEY] = extra
    return out


def doc_from_spacy_dict(data: Mapping[str, Any], lang: str | None = None, doc_id: str | None = None) -> Doc:
    """A Doc from a spaCy-style dict (``Doc.to_json()``, displaCy manual format, or ours).

    >>> doc_from_spacy_dict({"text": "Paris", "ents": [{"start": 0, "end": 5, "label": "GPE"}]}).entities
    [Entity(start=0, end=5, label='GPE', text='Paris', score=None)]
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
        raise RecordFormatError("a spaCy-style dict needs a 'text' string", 'expected {"text": ..., "ents": [{"start", "end", "label"}]}')
    extra = data.get(_EXTRA_KEY)
    if isinstance(extra, Mapping):
        record = {
            "text": data["text"],
            "id": extra.get("id") if doc_id is None else doc_id,
            "lang": extra.get("lang") if lang is None else lang,
            "entities": extra.get("entities") or [],
            "relations": extra.get("relations") or [],
            "sentences": data.get("sents") or [],
            "meta": extra.get("meta") or {},
        }
        return Doc.from_dict(record)
    text = data["text"]
    doc = Doc(text, id=doc_id if doc_id is not None else data.get("title"), lang=lang)
    try:
        for ent in data.get("ents") or []:
            doc.add_entity(int(ent["start"]), int(ent["end"]), str(ent["label"]))
        doc.sentences = [Sentence(int(s["start"]), int(s["end"])) for s in data.get("sents") or []]
        tokens = [[int(t["start"]), int(t["end"])] for t in data.get("tokens") or [] if text[int(t["start"]) : int(t["end"])].strip()]
    except (KeyError, TypeError, ValueError) as err:
        raise RecordFormatError(f"malformed spaCy-style dict: {err!r}", 'ents look like {"start": 0, "end": 5, "label": "LOC"}') from err
    if tokens:
        doc.meta["tokens"] = tokens
    return doc.validate()


# ------------------------------------------------------------------------------------------------
# spaCy objects (optional dependency)
# ------------------------------------------------------------------------------------------------
def _import_spacy(feature: str) -> Any:
    try:
        import spacy
    except ImportError as err:
        raise MissingDependencyError("spacy", feature, extra="baselines") from err
    return spacy


def to_spacy_doc(doc: Doc, nlp_or_vocab: Any) -> Any:
    """A ``spacy.tokens.Doc`` with the Doc's entities.

    With a pipeline (``spacy.blank("fr")``, ``spacy.load(...)``) the text is tokenized by its
    tokenizer and entities are mapped with ``char_span(..., alignment_mode="expand")`` (an
    entity boundary inside a spaCy token takes the whole token). With a ``Vocab``, the tokens
    are defnlp's (see the module docstring), which align with every entity. ``doc.ents`` holds
    the non-overlapping entities (``spacy.util.filter_spans``: longest first); every entity is
    also in the span group ``doc.spans["defnlp"]``; id, lang, scores and relations are kept in
    ``doc.user_data["defnlp"]`` for :func:`from_spacy_doc`.
    """
    spacy = _import_spacy("to_spacy_doc (defnlp Doc -> spaCy Doc)")
    from spacy.tokens import Doc as SpacyDoc
    from spacy.util import filter_spans

    if hasattr(nlp_or_vocab, "make_doc"):
        sdoc = nlp_or_vocab.make_doc(doc.text)
    elif isinstance(nlp_or_vocab, spacy.vocab.Vocab):
        tokens, spaces = _with_whitespace_tokens(doc.text, _aligned_word_spans(doc))
        sdoc = SpacyDoc(nlp_or_vocab, words=[doc.text[a:b] for a, b in tokens], spaces=spaces)
    else:
        raise TypeError(f"to_spacy_doc needs a spaCy Language or Vocab, got {type(nlp_or_vocab).__name__}")
    spans = []
    for e in doc.entities:
        span = sdoc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
        if span is None or len(span) == 0:
            log.debug("doc %s: entity %r could not be mapped onto spaCy tokens", doc.id, e.text)
            continue
        spans.append(span)
    sdoc.spans[_EXTRA_KEY] = spans
    sdoc.ents = filter_spans(spans)
    full = doc.to_dict()
    sdoc.user_data[_EXTRA_KEY] = {k: full[k] for k in ("id", "lang", "entities", "relations", "meta") if k in full}
    if doc.sentences and not sdoc.has_annotation("SENT_START"):
        starts = {s.start for s in doc.sentences}
        for tok in sdoc:
            tok.is_sent_start = tok.idx in starts or tok.i == 0
    return sdoc


def from_spacy_doc(spacy_doc: Any, lang: str | None = None, doc_id: str | None = None) -> Doc:
    """A Doc from a ``spacy.tokens.Doc``: entities from ``doc.ents``, sentences when set,
    non-space tokens in ``meta["tokens"]``. A spaCy Doc made by :func:`to_spacy_doc` gives the
    original entities (overlaps and scores included), relations, id and lang back.
    """
    _import_spacy("from_spacy_doc (spaCy Doc -> defnlp Doc)")
    text = spacy_doc.text
    extra = spacy_doc.user_data.get(_EXTRA_KEY) if isinstance(spacy_doc.user_data, dict) else None
    sentences = []
    if spacy_doc.has_annotation("SENT_START") or spacy_doc.has_annotation("DEP"):
        sentences = [Sentence(s.start_char, s.end_char) for s in spacy_doc.sents]
    tokens = [[t.idx, t.idx + len(t.text)] for t in spacy_doc if not t.is_space]
    if isinstance(extra, Mapping) and extra.get("entities") is not None:
        doc = Doc.from_dict(
            {
                "text": text,
                "id": extra.get("id") if doc_id is None else doc_id,
                "lang": extra.get("lang") if lang is None else lang,
                "entities": extra["entities"],
                "relations": extra.get("relations") or [],
                "meta": extra.get("meta") or {},
            }
        )
    else:
        doc = Doc(text, id=doc_id, lang=lang or spacy_doc.lang_ or None)
        doc.entities = [Entity(s.start_char, s.end_char, s.label_, s.text) for s in spacy_doc.ents]
        doc.relations = []
    doc.sentences = sentences
    doc.meta.setdefault("tokens", tokens)
    return doc.validate()

