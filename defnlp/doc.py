"""``Doc``: the one data object of defnlp.

A :class:`Doc` holds a text and what was found in it: entities (character spans with a label
and a score), relations between entities (indices into ``entities``), and sentences
(character spans). Offsets are Python string indices into ``doc.text`` (code points, end
exclusive), so ``doc.text[e.start:e.end] == e.text`` always holds.

>>> doc = Doc("Sébastien Lecornu a visité Brest.", id="d1", lang="fr")
>>> i = doc.add_entity(0, 17, "PER")
>>> j = doc.add_entity(27, 32, "LOC")
>>> _ = doc.add_relation(i, j, "LOCATED_IN", score=0.9)
>>> Doc.from_json(doc.to_json()) == doc
True

The JSON form is the stable output contract of ``defnlp annotate``::

    {"id": ..., "lang": ..., "text": ...,
     "entities": [{"start", "end", "label", "text", "score"}],
     "relations": [{"head", "tail", "label", "score"}],
     "sentences": [{"start", "end"}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import DefnlpError, RecordFormatError
from .text import detect_language, split_sentences

__all__ = ["Entity", "Relation", "Sentence", "Doc", "DocResult", "prepare_doc"]


@dataclass
class Entity:
    """A labelled character span. ``score`` is ``None`` for gold annotations."""

    start: int
    end: int
    label: str
    text: str = ""
    score: float | None = None

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "text": self.text,
            "score": None if self.score is None else round(float(self.score), 4),
        }


@dataclass
class Relation:
    """A directed relation ``entities[head] -label-> entities[tail]``."""

    head: int
    tail: int
    label: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "tail": self.tail,
            "label": self.label,
            "score": None if self.score is None else round(float(self.score), 4),
        }


@dataclass
class Sentence:
    """A sentence as a character span of the document."""

    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


@dataclass
class Doc:
    """A document with its annotations. See the module docstring for an example."""

    text: str
    id: str | None = None
    lang: str | None = None
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- building ---------------------------------------------------------------------------
    def add_entity(self, start: int, end: int, label: str, score: float | None = None) -> int:
        """Add an entity over ``text[start:end]`` and return its index."""
        if not (0 <= start < end <= len(self.text)):
            raise RecordFormatError(
                f"entity span ({start}, {end}) is outside the text (length {len(self.text)})",
                "entity offsets are character indices with 0 <= start < end <= len(text)",
            )
        self.entities.append(Entity(start, end, label, self.text[start:end], score))
        return len(self.entities) - 1

    def add_relation(self, head: int, tail: int, label: str, score: float | None = None) -> int:
        """Add a relation between two entity indices and return its index."""
        for idx in (head, tail):
            if not (0 <= idx < len(self.entities)):
                raise RecordFormatError(
                    f"relation refers to entity {idx}, but the document has {len(self.entities)} entities",
                    "relation head/tail are indices into the document's entity list",
                )
        self.relations.append(Relation(head, tail, label, score))
        return len(self.relations) - 1

    # ---- views ---------------------------------------------------------------------------------
    @property
    def ents(self) -> tuple[Entity, ...]:
        """The entities as a read-only tuple, like spaCy's ``doc.ents`` (edit ``entities`` to change them).

        >>> doc = Doc("Brest et Toulon", entities=[Entity(0, 5, "LOC", "Brest"), Entity(9, 15, "LOC", "Toulon")])
        >>> [(e.text, e.label) for e in doc.ents]
        [('Brest', 'LOC'), ('Toulon', 'LOC')]
        >>> doc.ents = ()
        Traceback (most recent call last):
        ...
        AttributeError: property 'ents' of 'Doc' object has no setter
        """
        return tuple(self.entities)

    def sentence_index(self, offset: int) -> int | None:
        """Index of the sentence that contains character ``offset`` (``None`` if none)."""
        for i, s in enumerate(self.sentences):
            if s.start <= offset < s.end:
                return i
        return None

    def copy(self, annotations: bool = True) -> "Doc":
        """A copy of the document; ``annotations=False`` keeps only id, lang, text, sentences."""
        return Doc(
            text=self.text,
            id=self.id,
            lang=self.lang,
            entities=[Entity(**vars(e)) for e in self.entities] if annotations else [],
            relations=[Relation(**vars(r)) for r in self.relations] if annotations else [],
            sentences=[Sentence(s.start, s.end) for s in self.sentences],
            meta=dict(self.meta),
        )

    def sort_entities(self) -> None:
        """Sort entities by (start, end), remapping relation indices."""
        order = sorted(range(len(self.entities)), key=lambda i: (self.entities[i].start, self.entities[i].end, self.entities[i].label))
        new_index = {old: new for new, old in enumerate(order)}
        self.entities = [self.entities[i] for i in order]
        for r in self.relations:
            r.head, r.tail = new_index[r.head], new_index[r.tail]

    # ---- validation -----------------------------------------------------------------------------
    def validate(self) -> "Doc":
        """Check offsets, entity texts and relation indices; raise ``RecordFormatError`` if broken."""
        n = len(self.text)
        for i, e in enumerate(self.entities):
            if not (isinstance(e.start, int) and isinstance(e.end, int) and 0 <= e.start < e.end <= n):
                raise RecordFormatError(f"entity {i} has invalid offsets ({e.start}, {e.end}) for a text of length {n}")
            if e.text != self.text[e.start : e.end]:
                raise RecordFormatError(
                    f"entity {i} text {e.text!r} differs from text[{e.start}:{e.end}] = {self.text[e.start:e.end]!r}"
                )
        for i, r in enumerate(self.relations):
            if not (0 <= r.head < len(self.entities) and 0 <= r.tail < len(self.entities)):
                raise RecordFormatError(f"relation {i} refers to a missing entity ({r.head} -> {r.tail})")
        for i, s in enumerate(self.sentences):
            if not (0 <= s.start <= s.end <= n):
                raise RecordFormatError(f"sentence {i} has invalid offsets ({s.start}, {s.end})")
        return self

    # ---- serialisation ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "lang": self.lang,
            "text": self.text,
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
            "sentences": [s.to_dict() for s in self.sentences],
        }
        if self.meta:
            out["meta"] = self.meta
        return out

    def to_json(self, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Doc":
        """Build a Doc from its JSON form; entity ``text`` is filled in when missing."""
        if not isinstance(data, dict):
            raise RecordFormatError(f"a document must be a JSON object, got {type(data).__name__}")
        text = data.get("text")
        if not isinstance(text, str):
            raise RecordFormatError('the record has no "text" string')
        try:
            entities = [
                Entity(
                    int(e["start"]),
                    int(e["end"]),
                    str(e["label"]),
                    e.get("text") if e.get("text") is not None else text[int(e["start"]) : int(e["end"])],
                    None if e.get("score") is None else float(e["score"]),
                )
                for e in data.get("entities") or []
            ]
            relations = [
                Relation(int(r["head"]), int(r["tail"]), str(r["label"]), None if r.get("score") is None else float(r["score"]))
                for r in data.get("relations") or []
            ]
            sentences = [Sentence(int(s["start"]), int(s["end"])) for s in data.get("sentences") or []]
        except (KeyError, TypeError, ValueError) as err:
            raise RecordFormatError(f"malformed annotation in record: {err!r}") from err
        doc_id = data.get("id")
        return cls(
            text=text,
            id=None if doc_id is None else str(doc_id),
            lang=data.get("lang"),
            entities=entities,
            relations=relations,
            sentences=sentences,
            meta=dict(data.get("meta") or {}),
        ).validate()

    @classmethod
    def from_json(cls, line: str) -> "Doc":
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise RecordFormatError(f"not valid JSON: {err.msg} at column {err.colno}") from err
        return cls.from_dict(data)

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        preview = self.text[:40] + ("…" if len(self.text) > 40 else "")
        return f"Doc(id={self.id!r}, lang={self.lang!r}, text={preview!r}, entities={len(self.entities)}, relations={len(self.relations)})"


#: What annotating one input gives, in input order: its document, or the error that stopped it
#: (``Pipeline.pipe(..., errors="return")``, the batch jobs).
DocResult = Doc | DefnlpError


def prepare_doc(doc: Doc, *, detect_lang: bool = True) -> Doc:
    """Give ``doc``, in place, what annotation needs before the encoder; return it.

    Sentences (:func:`~defnlp.text.split_sentences`) when it has none — the engine's windows end
    at them and relation candidates are drawn per sentence — and, with ``detect_lang``, its
    language (:func:`~defnlp.text.detect_language`) when ``lang`` is ``None``. A document whose
    text is not a string is left as it is (the engine reports it).

    >>> doc = prepare_doc(Doc("Le ministre a signé. Il est parti."))
    >>> [doc.text[s.start : s.end] for s in doc.sentences], doc.lang
    (['Le ministre a signé.', 'Il est parti.'], 'fr')
    """
    if not isinstance(doc.text, str):
        return doc
    if not doc.sentences:
        doc.sentences = [Sentence(a, b) for a, b in split_sentences(doc.text)]
    if detect_lang and doc.lang is None:
        doc.lang = detect_language(doc.text)
    return doc
