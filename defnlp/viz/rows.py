"""Which sentences of an aligned FR/EN pair sit side by side: the rows of the report's grid.

A report shows an aligned pair as a grid, one row per group of aligned sentences, so that a
sentence and its translation are read on the same line. The rows come from the record's own
links, whatever their level:

* each side is cut into **segments** that tile its text exactly (a segment runs from one
  sentence start to the next, so the whitespace between sentences stays in the page and the
  cells of a side, read in order, give back ``doc.text``); sentences are the document's
  ``sentences`` when it has them, else :func:`defnlp.text.split_sentences`;
* every link votes for the FR and EN segments it touches (a sentence link counts as ten
  entity or word links, and a sentence link with an empty side votes for a lone row);
* a monotone dynamic programme groups consecutive segments into rows (1–1, 1–0, 0–1, and
  up to n–m where the links need it) that keep as many votes inside rows as it can, paying
  for every row larger than 1–1. With no link at all, sentences are paired in order.

A link that crosses rows (a translation that moved a clause to another sentence) still
highlights both sides on hover; only the row grouping ignores it.

>>> from defnlp import Doc
>>> fr = Doc("Un. Deux. Trois.", lang="fr"); en = Doc("One. Two and three.", lang="en")
>>> links = [([(0, 3)], [(0, 4)]), ([(4, 9), (10, 16)], [(5, 19)])]
>>> [(r.fr, r.en) for r in align_rows(fr, en, links, sentence_level=True)]
[((0, 4), (0, 5)), ((4, 16), (5, 19))]
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ..doc import Doc
from ..text import split_sentences

__all__ = ["Row", "align_rows", "segments"]

#: votes of one link at sentence level (entity and word links vote 1)
SENTENCE_LINK_WEIGHT = 10.0
#: cost of each sentence a row holds beyond a 1–1 pair
EXTRA_SENTENCE_COST = 1.5
#: cost of a sentence alone in its row (1–0 or 0–1)
LONE_COST = 1.0
#: the largest row (sentences per side) considered when no link asks for more
DEFAULT_MAX_GROUP = 3
#: rows never group more sentences per side than this
MAX_GROUP = 8
#: above this many cells the programme is restricted to a band around the diagonal
FULL_DP_CELLS = 40_000
#: half-width of that band, in sentences
BAND = 40

Spans = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Row:
    """One row of the grid: a character range on each side (``(x, x)`` when the side is empty)."""

    fr: tuple[int, int]
    en: tuple[int, int]


def segments(doc: Doc) -> list[tuple[int, int]]:
    """Character ranges that tile ``doc.text``, one per sentence (leading text in the first).

    >>> segments(Doc("One. Two."))
    [(0, 5), (5, 9)]
    """
    text = doc.text
    if not text:
        return []
    spans = [(s.start, s.end) for s in doc.sentences] or split_sentences(text, doc.lang)
    starts = sorted({start for start, _ in spans})
    cuts = [start for start in starts[1:] if 0 < start < len(text)]  # the first segment starts at 0
    bounds = [0, *cuts, len(text)]
    return list(zip(bounds[:-1], bounds[1:]))


def _touched(segs: list[tuple[int, int]], starts: list[int], spans: Spans) -> set[int]:
    """Indices of the segments that the spans overlap."""
    out: set[int] = set()
    for start, end in spans:
        if end <= start:
            continue
        first = max(0, bisect.bisect_right(starts, start) - 1)
        last = max(0, bisect.bisect_left(starts, end) - 1)
        out.update(k for k in range(first, last + 1) if k < len(segs))
    return out


def _votes(
    fr_segs: list[tuple[int, int]],
    en_segs: list[tuple[int, int]],
    links: Sequence[tuple[Spans, Spans]],
    weight: float,
) -> tuple[dict[tuple[int, int], float], dict[int, float], dict[int, float], int]:
    fr_starts, en_starts = [a for a, _ in fr_segs], [a for a, _ in en_segs]
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    lone_fr: dict[int, float] = defaultdict(float)
    lone_en: dict[int, float] = defaultdict(float)
    group = DEFAULT_MAX_GROUP
    for fr_spans, en_spans in links:
        f = _touched(fr_segs, fr_starts, fr_spans)
        e = _touched(en_segs, en_starts, en_spans)
        if f and e:
            if weight > 1:  # a sentence link asks for a row that holds all its sentences
                group = max(group, len(f), len(e))
            share = weight / (len(f) * len(e)) * max(len(f), len(e))
            for i in f:
                for j in e:
                    pairs[(i, j)] += share
        elif f and len(f) == 1:
            lone_fr[next(iter(f))] += weight
        elif e and len(e) == 1:
            lone_en[next(iter(e))] += weight
    return pairs, lone_fr, lone_en, min(group, MAX_GROUP)


def _beads(group: int) -> list[tuple[int, int]]:
    beads = [(1, 1), (1, 0), (0, 1)]
    beads += [(a, b) for a in range(1, group + 1) for b in range(1, group + 1) if (a, b) != (1, 1)]
    return beads


def _programme(nf: int, ne: int, pairs, lone_fr, lone_en, group: int) -> list[tuple[int, int, int, int]]:
    """Best monotone grouping: a list of (fr_start, fr_end, en_start, en_end) in segment indices."""
    by_fr: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (i, j), w in pairs.items():
        by_fr[i].append((j, w))
    banded = nf * ne > FULL_DP_CELLS
    ratio = ne / nf if nf else 0.0

    def inside(i: int, j: int) -> bool:
        return not banded or abs(j - i * ratio) <= BAND + 1

    beads = _beads(group)
    best: dict[tuple[int, int], tuple[float, tuple[int, int] | None]] = {(0, 0): (0.0, None)}
    for i in range(nf + 1):
        for j in range(ne + 1):
            if (i, j) == (0, 0) or not inside(i, j):
                continue
            top: tuple[float, tuple[int, int] | None] | None = None
            for a, b in beads:
                p, q = i - a, j - b
                if p < 0 or q < 0 or (p, q) not in best:
                    continue
                if a and b:
                    score = -EXTRA_SENTENCE_COST * (a + b - 2)
                    for k in range(p, i):
                        score += sum(w for jj, w in by_fr.get(k, ()) if q <= jj < j)
                elif a:
                    score = lone_fr.get(p, 0.0) - LONE_COST
                else:
                    score = lone_en.get(q, 0.0) - LONE_COST
                total = best[(p, q)][0] + score
                if top is None or total > top[0] + 1e-9:
                    top = (total, (a, b))
            if top is not None:
                best[(i, j)] = top
    if (nf, ne) not in best:  # cannot happen with 1-0 and 0-1 beads, kept as a guard
        return [(0, nf, 0, ne)]
    path = []
    i, j = nf, ne
    while (i, j) != (0, 0):
        a, b = best[(i, j)][1]  # type: ignore[misc]
        path.append((i - a, i, j - b, j))
        i, j = i - a, j - b
    return path[::-1]


def align_rows(
    fr: Doc,
    en: Doc,
    links: Sequence[tuple[Spans, Spans]],
    sentence_level: bool = False,
) -> list[Row]:
    """The grid rows of an aligned pair, in reading order.

    ``links`` holds, per alignment link, its FR spans and its EN spans (entity links: the two
    mentions). The rows' FR ranges tile ``fr.text`` and their EN ranges tile ``en.text``.
    """
    fr_segs, en_segs = segments(fr), segments(en)
    weight = SENTENCE_LINK_WEIGHT if sentence_level else 1.0
    pairs, lone_fr, lone_en, group = _votes(fr_segs, en_segs, links, weight)
    plan = _programme(len(fr_segs), len(en_segs), pairs, lone_fr, lone_en, group)

    def span(segs: list[tuple[int, int]], a: int, b: int, text_length: int) -> tuple[int, int]:
        if a == b:
            at = segs[a][0] if a < len(segs) else text_length
            return (at, at)
        return (segs[a][0], segs[b - 1][1])

    return [Row(span(fr_segs, a, b, len(fr.text)), span(en_segs, c, d, len(en.text))) for a, b, c, d in plan]
