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
only when called). :func:`set_spacy_annotations` writes a Doc's annotations onto a spaCy Doc in
place (``doc.ents``, ``doc.spans["defnlp"]``, ``Doc._.defnlp_relations``, ``Span._.defnlp_score``);
the spaCy component (:mod:`defnlp.spacy_component`, ``nlp.add_pipe("defnlp")``) and
:func:`to_spacy_doc` both use it.

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
from ..errors import ConfigError, InputError, MissingDependencyError, RecordFormatError
from ..text import trim_span
from ..words import split_tokens_at, word_spans
from .conll import flatten_entities

__all__ = ["doc_to_spacy_dict", "doc_from_spacy_dict", "to_spacy_doc", "from_spacy_doc", "set_spacy_annotations",
           "register_extensions", "ALIGNMENT_MODES"]

log = logging.getLogger(__name__)

_EXTRA_KEY = "defnlp"
#: ``char_span`` modes for entities whose boundaries fall inside a spaCy token
ALIGNMENT_MODES = ("expand", "contract", "strict")
#: ``Doc._.defnlp_relations`` and ``Span._.defnlp_score`` (:func:`register_extensions`)
RELATIONS_EXTENSION = "defnlp_relations"
SCORE_EXTENSION = "defnlp_score"


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
        raise MissingDependencyError("spacy", feature, extra="spacy") from err
    return spacy


def to_spacy_doc(doc: Doc, nlp_or_vocab: Any) -> Any:
    """A ``spacy.tokens.Doc`` with the Doc's entities (and relations, scores: :func:`set_spacy_annotations`).

    With a pipeline (``spacy.blank("fr")``, ``spacy.load(...)``) the text is tokenized by its
    tokenizer and entities are mapped with ``char_span(..., alignment_mode="expand")`` (an
    entity boundary inside a spaCy token takes the whole token). With a ``Vocab``, the tokens
    are defnlp's (see the module docstring), which align with every entity. Sentences are set
    from the Doc's when the spaCy Doc has none.
    """
    spacy = _import_spacy("to_spacy_doc (defnlp Doc -> spaCy Doc)")
    from spacy.tokens import Doc as SpacyDoc

    if hasattr(nlp_or_vocab, "make_doc"):
        sdoc = nlp_or_vocab.make_doc(doc.text)
    elif isinstance(nlp_or_vocab, spacy.vocab.Vocab):
        tokens, spaces = _with_whitespace_tokens(doc.text, _aligned_word_spans(doc))
        sdoc = SpacyDoc(nlp_or_vocab, words=[doc.text[a:b] for a, b in tokens], spaces=spaces)
    else:
        raise TypeError(f"to_spacy_doc needs a spaCy Language or Vocab, got {type(nlp_or_vocab).__name__}")
    set_spacy_annotations(sdoc, doc)
    if doc.sentences and not sdoc.has_annotation("SENT_START"):
        starts = {s.start for s in doc.sentences}
        for tok in sdoc:
            tok.is_sent_start = tok.idx in starts or tok.i == 0
    return sdoc


def set_spacy_annotations(sdoc: Any, doc: Doc, *, alignment_mode: str = "expand", overwrite_ents: bool = True) -> Any:
    """Write a Doc's annotations onto the spaCy Doc of the same text, in place (and return it).

    * each entity becomes ``sdoc.char_span(start, end, label, alignment_mode=alignment_mode)``:
      ``"expand"`` (the default) takes every token the entity touches, ``"contract"`` only the
      tokens inside it, ``"strict"`` maps only entities on token boundaries. An entity that
      cannot be mapped is never dropped silently: a warning gives the count, and the entity (with
      its relations) stays in ``sdoc.user_data["defnlp"]``, which :func:`from_spacy_doc` reads;
    * ``sdoc.spans["defnlp"]``: every mapped entity; ``sdoc.ents``: the non-overlapping ones
      (``spacy.util.filter_spans``: longest first). With ``overwrite_ents=False`` the entities
      already in ``sdoc.ents`` (a spaCy NER's) stay, and defnlp's are added where they do not
      overlap them;
    * ``Span._.defnlp_score`` is the entity's score, ``Doc._.defnlp_relations`` the relations
      between mapped entities: ``[{"head": Span, "tail": Span, "label": str, "score": float}]``
      (getters over ``user_data``, so they survive ``Doc.to_bytes`` and ``DocBin(store_user_data=True)``).
    """
    _import_spacy("set_spacy_annotations (defnlp Doc -> spaCy Doc)")
    from spacy.util import filter_spans

    if sdoc.text != doc.text:
        raise InputError("the spaCy Doc and the defnlp Doc have different texts",
                         "annotate the spaCy Doc's own text (sdoc.text)")
    if alignment_mode not in ALIGNMENT_MODES:
        raise ConfigError(f"alignment_mode must be one of {', '.join(ALIGNMENT_MODES)}, not {alignment_mode!r}")
    register_extensions()
    spans, token_spans = [], []
    for e in doc.entities:
        span = sdoc.char_span(e.start, e.end, label=e.label, alignment_mode=alignment_mode)
        if span is None or len(span) == 0:
            token_spans.append(None)
            continue
        spans.append(span)
        token_spans.append([span.start, span.end])
    unmapped = len(doc.entities) - len(spans)
    if unmapped:
        lost = sum(1 for r in doc.relations if token_spans[r.head] is None or token_spans[r.tail] is None)
        log.warning("doc %s: %d of %d entities do not map onto spaCy tokens (alignment_mode=%r) and %d relations "
                    "involve them: they are not in doc.ents, doc.spans or doc._.%s, only in doc.user_data[%r]",
                    doc.id, unmapped, len(doc.entities), alignment_mode, lost, RELATIONS_EXTENSION, _EXTRA_KEY)
    sdoc.spans[_EXTRA_KEY] = spans
    ents = filter_spans(spans)
    if not overwrite_ents:
        taken = {i for s in sdoc.ents for i in range(s.start, s.end)}
        ents = list(sdoc.ents) + [s for s in ents if taken.isdisjoint(range(s.start, s.end))]
    kept = {(s.start, s.end, s.label) for s in ents}
    left_out = sum(1 for s in spans if (s.start, s.end, s.label) not in kept)
    if left_out:
        log.debug("doc %s: %d entities overlap another entity: in doc.spans[%r], not in doc.ents", doc.id, left_out, _EXTRA_KEY)
    sdoc.ents = sorted(ents, key=lambda s: s.start)
    full = doc.to_dict()
    extra = {k: full[k] for k in ("id", "lang", "entities", "relations", "meta") if k in full}
    extra["spacy_tokens"] = token_spans  # each entity's [start, end) in spaCy tokens, or None
    sdoc.user_data[_EXTRA_KEY] = extra
    return sdoc


def register_extensions() -> None:
    """Register ``Doc._.defnlp_relations`` and ``Span._.defnlp_score`` (once; getters over ``user_data``)."""
    _import_spacy("the defnlp spaCy extensions")
    from spacy.tokens import Doc as SpacyDoc, Span

    if not SpacyDoc.has_extension(RELATIONS_EXTENSION):
        SpacyDoc.set_extension(RELATIONS_EXTENSION, getter=_relations)
    if not Span.has_extension(SCORE_EXTENSION):
        Span.set_extension(SCORE_EXTENSION, getter=_score)


def _mapped(sdoc: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """The entities of ``set_spacy_annotations`` and their token spans (both empty for another Doc)."""
    extra = sdoc.user_data.get(_EXTRA_KEY) if isinstance(sdoc.user_data, dict) else None
    if not isinstance(extra, Mapping) or not isinstance(extra.get("spacy_tokens"), (list, tuple)):
        return [], []  # (DocBin gives lists back as tuples)
    return list(extra.get("entities") or []), list(extra["spacy_tokens"])


def _relations(sdoc: Any) -> list[dict[str, Any]]:
    from spacy.tokens import Span

    entities, tokens = _mapped(sdoc)
    relations = (sdoc.user_data[_EXTRA_KEY].get("relations") or []) if entities else []
    out = []
    for r in relations:
        head, tail = tokens[r["head"]], tokens[r["tail"]]
        if head is None or tail is None:  # counted in set_spacy_annotations' warning
            continue
        out.append({"head": Span(sdoc, head[0], head[1], label=entities[r["head"]]["label"]),
                    "tail": Span(sdoc, tail[0], tail[1], label=entities[r["tail"]]["label"]),
                    "label": r["label"], "score": r.get("score")})
    return out


def _score(span: Any) -> float | None:
    entities, tokens = _mapped(span.doc)
    for entity, token_span in zip(entities, tokens):
        if token_span is not None and list(token_span) == [span.start, span.end] and entity["label"] == span.label_:
            return entity.get("score")
    return None


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

