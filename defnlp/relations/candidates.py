"""Which entity pairs the relation head looks at, and how each pair is described.

Candidates are ordered pairs ``(i, j)`` of entities in the same sentence or in neighbouring
sentences (``max_sentence_distance``), whose labels some relation of the scheme allows in
that direction. Each entity is mapped to the sub-word tokens it covers; each pair gets the
tokens between the two mentions (its local context) and a distance bucket.

>>> bucket(0), bucket(5), bucket(200)
(0, 4, 9)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

from ..doc import Doc
from ..scheme import LabelScheme

__all__ = ["Candidate", "entity_token_ranges", "candidate_pairs", "bucket", "N_BUCKETS"]

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


def candidate_pairs(
    doc: Doc,
    ranges: Sequence[tuple[int, int]],
    scheme: LabelScheme | None,
    relation_labels: Sequence[str],
    max_sentence_distance: int = 1,
    max_pairs: int = 20000,
) -> list[Candidate]:
    """All ordered candidate pairs of ``doc`` (see the module docstring)."""
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

    order = sorted(range(len(doc.entities)), key=lambda k: (doc.entities[k].start, doc.entities[k].end))
    out: list[Candidate] = []
    for x, i in enumerate(order):
        for j in order[x + 1 :]:
            sd = sentence[j] - sentence[i]
            if sd > max_sentence_distance:
                break
            ei, ej = doc.entities[i], doc.entities[j]
            if ei.start < ej.end and ej.start < ei.end:
                continue  # overlapping mentions
            (a0, a1), (b0, b1) = ranges[i], ranges[j]
            ctx = (a1, b0) if a1 <= b0 else (b1, a0) if b1 <= a0 else (a1, a1)
            dist = bucket(max(0, ctx[1] - ctx[0]))
            for h, t in ((i, j), (j, i)):
                if allowed(doc.entities[h].label, doc.entities[t].label):
                    out.append(Candidate(h, t, ctx, dist, abs(sd)))
            if len(out) >= max_pairs:
                return out
    return out
