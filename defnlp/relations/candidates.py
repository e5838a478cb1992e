"""Which entity pairs the relation head looks at, and how each pair is described.

Candidates are ordered pairs ``(i, j)`` of entities in the same sentence or in neighbouring
sentences (``max_sentence_distance``), whose labels some relation of the scheme allows in
that direction; an entity is paired with at most :data:`MAX_PARTNERS` entities after it, so
the number of pairs grows linearly with the document. Each entity is mapped to the sub-word
tokens it covers; each pair gets the tokens between the two mentions (its local context) and
a distance bucket.

>>> bucket(0), bucket(5), bucket(200)
(0, 4, 9)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..doc import Doc
from ..scheme import LabelScheme

__all__ = ["Candidate", "entity_token_ranges", "candidate_pairs", "iter_candidate_pairs", "candidate_rows", "bucket", "N_BUCKETS", "MAX_PARTNERS"]

_BUCKET_EDGES = (1, 2, 3, 4, 8, 16, 32, 64, 128)
N_BUCKETS = len(_BUCKET_EDGES) + 1


def bucket(distance: int) -> int:
    """Log-scale bucket of a token distance."""
    return bisect_right(_BUCKET_EDGES, distance)


@dataclass(frozen=True)
class Candidate:
    head: int
    tail: int
    context: tuple[int, int]  # token range strictly between the mentions (may be empty)
    distance_bucket: int
    sentence_distance: int


def entity_token_ranges(doc: Doc, token_spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token range ``[t0, t1)`` covering each entity (at least one token when possible)."""
    ends = [b for _, b in token_spans]
    starts = [a for a, _ in token_spans]
    out = []
    for e in doc.entities:
        t0 = bisect_right(ends, e.start)  # first token ending after the entity start
        t1 = bisect_left(starts, e.end)  # first token starting at/after the entity end
        if t1 <= t0:
            t0 = min(t0, max(0, len(token_spans) - 1))
            t1 = t0 + 1
        out.append((t0, min(t1, len(token_spans))))
    return out


def _sentence_of(doc: Doc) -> list[int]:
    starts = [s.start for s in doc.sentences]
    return [max(0, bisect_right(starts, e.start) - 1) for e in doc.entities]


#: an entity is paired with at most this many entities that follow it (in text order): pairs
#: stay linear in the number of entities even in a "sentence" of thousands of mentions (a list
#: or a table with no punctuation); a real sentence and its neighbour hold far fewer
MAX_PARTNERS = 64


def candidate_rows(
    doc: Doc,
    ranges: Sequence[tuple[int, int]],
    scheme: LabelScheme | None,
    relation_labels: Sequence[str],
    max_sentence_distance: int = 1,
    max_partners: int = MAX_PARTNERS,
) -> Iterator[tuple[int, int, int, int, int, int]]:
    """The ordered candidate pairs of ``doc``, lazily, as rows ``(head, tail, context_start,
    context_end, distance_bucket, sentence_distance)``, in text order of their first mention;
    the two directions of one pair of entities come one after the other.

    At most ``max_partners`` following entities are looked at per entity:
    ``O(n_entities × max_partners)`` time, whatever the document's length.

    >>> d = Doc("Ana met Bob.")
    >>> _ = d.add_entity(0, 3, "PER"), d.add_entity(8, 11, "PER")
    >>> list(candidate_rows(d, [(0, 1), (2, 3)], None, ["MEETS"]))
    [(0, 1, 1, 2, 1, 0), (1, 0, 1, 2, 1, 0)]
    """
    sentence = _sentence_of(doc) if doc.sentences else [0] * len(doc.entities)
    allowed_cache: dict[tuple[str, str], bool] = {}

    def allowed(a: str, b: str) -> bool:
        if scheme is None:
            return True
        key = (a, b)
        if key not in allowed_cache:
            allowed_cache[key] = any(
                r in scheme.relations and scheme.allows(r, a, b) for r in relation_labels
            )
        return allowed_cache[key]

    ents = doc.entities
    order = sorted(range(len(ents)), key=lambda k: (ents[k].start, ents[k].end))
    n = len(order)
    for x, i in enumerate(order):
        for y in range(x + 1, min(n, x + 1 + max_partners)):
            j = order[y]
            sd = sentence[j] - sentence[i]
            if sd > max_sentence_distance:
                break
            ei, ej = ents[i], ents[j]
            if ei.start < ej.end and ej.start < ei.end:
                continue  # overlapping mentions
            (a0, a1), (b0, b1) = ranges[i], ranges[j]
            c0, c1 = (a1, b0) if a1 <= b0 else (b1, a0) if b1 <= a0 else (a1, a1)
            dist = bucket(max(0, c1 - c0))
            sd = abs(sd)
            if allowed(ei.label, ej.label):
                yield (i, j, c0, c1, dist, sd)
            if allowed(ej.label, ei.label):
                yield (j, i, c0, c1, dist, sd)


def iter_candidate_pairs(
    doc: Doc,
    ranges: Sequence[tuple[int, int]],
    scheme: LabelScheme | None,
    relation_labels: Sequence[str],
    max_sentence_distance: int = 1,
    max_partners: int = MAX_PARTNERS,
) -> Iterator[Candidate]:
    """:func:`candidate_rows` as :class:`Candidate` objects."""
    for h, t, c0, c1, dist, sd in candidate_rows(doc, ranges, scheme, relation_labels, max_sentence_distance, max_partners):
        yield Candidate(h, t, (c0, c1), dist, sd)


def candidate_pairs(
    doc: Doc,
    ranges: Sequence[tuple[int, int]],
    scheme: LabelScheme | None,
    relation_labels: Sequence[str],
    max_sentence_distance: int = 1,
    max_pairs: int = 20000,
    max_partners: int = MAX_PARTNERS,
) -> list[Candidate]:
    """All ordered candidate pairs of ``doc`` (see the module docstring), at most ``max_pairs``
    (the first ones in text order; both directions of a pair are kept together).

    For training batches; inference scores every pair of a document in chunks
    (:func:`defnlp.relations.model.predict_relations`).
    """
    out: list[Candidate] = []
    for c in iter_candidate_pairs(doc, ranges, scheme, relation_labels, max_sentence_distance, max_partners):
        if len(out) >= max_pairs and {c.head, c.tail} != {out[-1].head, out[-1].tail}:
            break
        out.append(c)
    return out
