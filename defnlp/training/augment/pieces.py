"""The text as pieces cut at every span boundary (:class:`_Pieces`), which every transform edits
so that entity offsets are rebuilt exactly: :func:`_pieces_of`, :func:`_rebuild`, the hidden spans
(``meta["ignore_spans"]``) and a document's language (:func:`_doc_lang`). All private."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...doc import Doc, Entity, Relation, Sentence
from ...errors import RecordFormatError
from ...text import detect_language, split_sentences

__all__: list[str] = []


class _Pieces:
    """A text as pieces cut at every span boundary; each piece knows the spans that cover it.

    Editing inside a piece keeps its spans; inserting at a boundary gives a new piece that
    belongs to the spans covering both sides. Span offsets are rebuilt from the pieces.
    """

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        cuts = sorted({0, len(text), *(s for s, _ in spans), *(e for _, e in spans)})
        self.texts: list[str] = []
        self.covers: list[frozenset[int]] = []
        for a, b in zip(cuts, cuts[1:]):
            if a < b:
                self.texts.append(text[a:b])
                self.covers.append(frozenset(i for i, (s, e) in enumerate(spans) if s <= a and b <= e))
        self.n_spans = len(spans)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def _starts(self) -> list[int]:
        out = [0]
        for t in self.texts:
            out.append(out[-1] + len(t))
        return out

    def _find(self, pos: int) -> tuple[int, int, list[int]]:
        """(piece index, offset in it, starts) for character offset ``pos`` (piece count at the end)."""
        starts = self._starts()
        for k in range(len(self.texts)):
            if starts[k] <= pos < starts[k + 1]:
                return k, pos - starts[k], starts
        return len(self.texts), 0, starts

    def covering(self, pos: int) -> frozenset[int]:
        """The spans with ``start < pos < end`` (an insertion at ``pos`` would fall inside them)."""
        k, off, _ = self._find(pos)
        if off > 0:
            return self.covers[k]
        left = self.covers[k - 1] if k > 0 else frozenset()
        right = self.covers[k] if k < len(self.texts) else frozenset()
        return left & right

    def inside(self, pos: int) -> bool:
        return bool(self.covering(pos))

    def covered(self, a: int, b: int) -> bool:
        """Whether any character of ``[a, b)`` belongs to a span."""
        starts = self._starts()
        return any(self.covers[k] and starts[k] < b and a < starts[k + 1] for k in range(len(self.texts)))

    def replace(self, a: int, b: int, new: str) -> None:
        """Replace ``text[a:b]``, which must lie within one piece (``a == b``: insert at ``a``)."""
        k, off, starts = self._find(a)
        if a == b:
            if off > 0:
                self.texts[k] = self.texts[k][:off] + new + self.texts[k][off:]
            elif new:
                cover = self.covering(a) if 0 < a < starts[-1] else frozenset()
                self.texts.insert(k, new)
                self.covers.insert(k, cover)
            return
        if k == len(self.texts):
            raise ValueError(f"edit ({a}, {b}) is beyond the text")
        m = k
        while b > starts[m + 1] and m + 1 < len(self.texts) and self.covers[m + 1] == self.covers[k]:
            m += 1  # neighbouring pieces of the same spans (e.g. two outside pieces): merge them
        if b > starts[m + 1]:
            raise ValueError(f"edit ({a}, {b}) crosses a span boundary")
        if m > k:
            self.texts[k : m + 1] = ["".join(self.texts[k : m + 1])]
            del self.covers[k + 1 : m + 1]
        t = self.texts[k]
        self.texts[k] = t[:off] + new + t[off + b - a :]
        if not self.texts[k]:
            if self.covers[k]:
                raise ValueError(f"edit ({a}, {b}) would empty a span")
            del self.texts[k], self.covers[k]

    def map_range(self, a: int, b: int, fn: Callable[[str], str]) -> None:
        """Apply ``fn`` to ``text[a:b]`` piece by piece (spans keep their pieces)."""
        starts = self._starts()
        for k in range(len(self.texts)):
            x, y = max(a, starts[k]), min(b, starts[k + 1])
            if x < y:
                t = self.texts[k]
                self.texts[k] = t[: x - starts[k]] + fn(t[x - starts[k] : y - starts[k]]) + t[y - starts[k] :]

    def insert_parts(self, pos: int, parts: Sequence[tuple[str, int | None]]) -> None:
        """Insert ``(text, span)`` parts at ``pos`` (outside every span); ``span`` marks a new span's text."""
        if self.inside(pos):
            raise ValueError(f"insertion at {pos} falls inside a span")
        k, off, _ = self._find(pos)
        if off > 0:  # split the outside piece
            t = self.texts[k]
            self.texts[k : k + 1] = [t[:off], t[off:]]
            self.covers[k : k + 1] = [self.covers[k], self.covers[k]]
            k += 1
        for text, span in parts:
            if text:
                self.texts.insert(k, text)
                self.covers.insert(k, frozenset() if span is None else frozenset([span]))
                k += 1

    def new_span(self) -> int:
        self.n_spans += 1
        return self.n_spans - 1

    def set_span_text(self, span: int, new: str) -> None:
        """Replace the whole text of ``span``, which must be one piece covered by it alone."""
        ks = [k for k, c in enumerate(self.covers) if span in c]
        if len(ks) != 1 or self.covers[ks[0]] != frozenset([span]) or not new:
            raise ValueError(f"span {span} is not a simple span")
        self.texts[ks[0]] = new

    def simple(self, span: int) -> bool:
        ks = [k for k, c in enumerate(self.covers) if span in c]
        return len(ks) == 1 and self.covers[ks[0]] == frozenset([span])

    def spans(self) -> dict[int, tuple[int, int]]:
        out: dict[int, tuple[int, int]] = {}
        starts = self._starts()
        for k, cover in enumerate(self.covers):
            for i in cover:
                s, e = out.get(i, (starts[k], starts[k + 1]))
                out[i] = (min(s, starts[k]), max(e, starts[k + 1]))
        return out


def _doc_lang(doc: Doc) -> str:
    lang = (doc.lang or detect_language(doc.text) or "en").lower()
    return "fr" if lang.startswith("fr") else "en"


def _hidden_spans(doc: Doc) -> list[tuple[int, int]]:
    """``meta["ignore_spans"]`` (spans of unannotated labels): carried along like entities."""
    out = []
    for x in doc.meta.get("ignore_spans") or []:
        try:
            s, e = int(x[0]), int(x[1])
        except (TypeError, ValueError, IndexError):
            continue
        if 0 <= s < e <= len(doc.text):
            out.append((s, e))
    return out


def _pieces_of(doc: Doc) -> tuple[_Pieces, int]:
    n = len(doc.text)
    for i, e in enumerate(doc.entities):
        if not (isinstance(e.start, int) and isinstance(e.end, int) and 0 <= e.start < e.end <= n):
            raise RecordFormatError(
                f"document {doc.id!r}: entity {i} has invalid offsets ({e.start}, {e.end}) for a text of length {n}",
                "fix or drop the entity before augmentation (Doc.validate() finds them)",
            )
    for i, r in enumerate(doc.relations):
        if not (0 <= r.head < len(doc.entities) and 0 <= r.tail < len(doc.entities)):
            raise RecordFormatError(
                f"document {doc.id!r}: relation {i} refers to a missing entity ({r.head} -> {r.tail})"
            )
    hidden = _hidden_spans(doc)
    spans = [(e.start, e.end) for e in doc.entities] + hidden
    return _Pieces(doc.text, spans), len(hidden)


def _rebuild(
    doc: Doc,
    pieces: _Pieces,
    n_hidden: int,
    added: Sequence[tuple[int, str]] = (),
    added_relations: Sequence[tuple[int, int, str]] = (),
    names: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
) -> Doc:
    """The new Doc: original entities (same indices), then ``added`` ``(span, label)``."""
    text = pieces.text
    spans = pieces.spans()
    n = len(doc.entities)
    entities = []
    for i, e in enumerate(doc.entities):
        s, t = spans[i]
        entities.append(Entity(s, t, e.label, text[s:t], e.score))
    out_index: dict[int, int] = {}
    for span, label in added:
        s, t = spans[span]
        out_index[span] = len(entities)
        entities.append(Entity(s, t, label, text[s:t], None))
    relations = [Relation(r.head, r.tail, r.label, r.score) for r in doc.relations]
    relations += [Relation(out_index[h], out_index[t], label) for h, t, label in added_relations]
    new_meta = dict(doc.meta if meta is None else meta)
    if n_hidden:
        new_meta["ignore_spans"] = [list(spans[n + j]) for j in range(n_hidden)]
    new_meta["augmented"] = [*new_meta.get("augmented", []), *names]
    sentences = [Sentence(a, b) for a, b in split_sentences(text, doc.lang)] if doc.sentences else []
    return Doc(
        text=text, id=doc.id, lang=doc.lang, entities=entities, relations=relations, sentences=sentences, meta=new_meta
    )
