"""From characters to sub-word tokens to tags and back: the exact-offset core of NER.

The text is cut into *words* (:func:`defnlp.text.word_spans`); each word is represented by
the first sub-word token that covers it (its *head token*). Consecutive words that share a
head token form one *unit* (e.g. ``GA)`` when the tokenizer merges letters and a bracket).
Gold entities become one IOB2 tag per unit; predictions are decoded per unit with a
constrained Viterbi (no ``I-X`` after ``O`` or ``B-Y``), and each predicted entity spans from
the start of its first word to the end of its last word — always exact offsets into the
original text, whatever the sub-word segmentation.

>>> tags = TagSet(["PER", "LOC"])
>>> tags.tags
['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
>>> text = "Jean Dupont visite Brest."
>>> units = make_units(text, [(0, 4), (4, 11), (11, 18), (18, 24), (24, 25)])
>>> tags.encode(units, [(0, 11, "PER"), (19, 24, "LOC")])
[1, 2, 0, 3, 0]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..errors import LabelError
from ..text import trim_span, word_spans

__all__ = ["TagSet", "Unit", "make_units", "trimmed_token_spans"]


@dataclass(frozen=True)
class Unit:
    """Consecutive words sharing one head token: characters ``[start, end)``, token ``token``."""

    start: int
    end: int
    token: int


def trimmed_token_spans(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token character spans without the surrounding whitespace (``▁`` tokens include it)."""
    return [trim_span(text, a, b) if b > a else (a, a) for a, b in offsets]


def make_units(text: str, token_spans: Sequence[tuple[int, int]], start: int = 0, end: int | None = None) -> list[Unit]:
    """Units of ``text[start:end]`` given the (trimmed) character spans of its tokens.

    Words covered by no token (characters the tokenizer's normaliser deleted, e.g. control
    characters) are skipped: they can never be part of an entity.
    """
    starts = [a for a, _ in token_spans]
    ends = [b for _, b in token_spans]
    units: list[Unit] = []
    n_tok = len(token_spans)
    for ws, we in word_spans(text, start, end):
        # first token whose span overlaps [ws, we): tokens are sorted by start
        i = bisect_right(starts, ws) - 1
        if i < 0 or ends[i] <= ws:
            i += 1
        while i < n_tok and (ends[i] <= ws or token_spans[i][0] == token_spans[i][1]):
            i += 1
        if i >= n_tok or starts[i] >= we:
            continue  # no token covers this word
        if units and units[-1].token == i:
            units[-1] = Unit(units[-1].start, we, i)
        else:
            units.append(Unit(ws, we, i))
    return units


class TagSet:
    """IOB2 tags over entity labels, with the transition constraints used for decoding."""

    def __init__(self, labels: Iterable[str]):
        self.labels = list(labels)
        if len(set(self.labels)) != len(self.labels):
            raise LabelError(f"duplicate entity labels in {self.labels}")
        self.tags = ["O"]
        for label in self.labels:
            self.tags += [f"B-{label}", f"I-{label}"]
        self.index = {t: i for i, t in enumerate(self.tags)}
        k = len(self.tags)
        allowed = np.ones((k, k), dtype=bool)  # allowed[prev, next]
        start_allowed = np.ones(k, dtype=bool)
        for j, tag in enumerate(self.tags):
            if tag.startswith("I-"):
                start_allowed[j] = False
                for i, prev in enumerate(self.tags):
                    allowed[i, j] = prev[2:] == tag[2:] and prev != "O"
        self.allowed = allowed
        self.start_allowed = start_allowed
        self._begin = np.array([self.index[f"B-{label}"] for label in self.labels], dtype=np.int64)
        self._inside = np.array([self.index[f"I-{label}"] for label in self.labels], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.tags)

    def label_of(self, tag_id: int) -> str | None:
        tag = self.tags[tag_id]
        return None if tag == "O" else tag[2:]

    # ---- gold -> tags -----------------------------------------------------------------------
    def encode(self, units: Sequence[Unit], entities: Iterable[tuple[int, int, str]], strict: bool = True) -> list[int]:
        """One tag id per unit for non-overlapping gold ``(start, end, label)`` spans.

        A unit belongs to an entity when it overlaps it. With ``strict``, unknown labels raise
        :class:`LabelError`; otherwise they are tagged ``O``.
        """
        tags = [0] * len(units)
        unit_starts = [u.start for u in units]
        for start, end, label in sorted(entities):
            if f"B-{label}" not in self.index:
                if strict:
                    raise LabelError(f"entity label {label!r} is not one of {self.labels}")
                continue
            i = max(0, bisect_left(unit_starts, start) - 1)
            first = True
            while i < len(units) and units[i].start < end:
                if units[i].end > start and tags[i] == 0:
                    tags[i] = self.index[("B-" if first else "I-") + label]
                    first = False
                i += 1
        return tags

    def allowed_mask(self, tag_ids: Sequence[int], annotated: Iterable[str] | None) -> np.ndarray:
        """Per unit, which tags are acceptable targets for partially annotated data.

        A corpus that annotates only ``annotated`` labels says nothing about the others: where it
        says ``O``, any tag of an unannotated label is acceptable too.
        """
        k = len(self.tags)
        mask = np.zeros((len(tag_ids), k), dtype=bool)
        mask[np.arange(len(tag_ids)), tag_ids] = True
        if annotated is not None:
            free = [j for j, t in enumerate(self.tags) if t != "O" and t[2:] not in set(annotated)]
            if free:
                o_rows = np.asarray(tag_ids) == 0
                mask[np.ix_(o_rows, free)] = True
        return mask

    # ---- decoding -----------------------------------------------------------------------------
    def viterbi(self, log_probs: np.ndarray) -> list[int]:
        """Best tag sequence under the IOB2 constraints for ``(n_units, n_tags)`` log-probs.

        Exact, and mostly without dynamic programming: the best tag of each unit taken alone is
        the optimum wherever it forms a valid sequence (its score bounds every other). Only the
        stretches around an invalid step (``I-X`` after ``O`` or ``B-Y``) are re-decoded, and a
        stretch ends at units where no ``I-X`` scores above its ``B-X``: a path never needs to
        enter those with an inside tag (``B-X`` is as good and allows the same next tags), so the
        sequence splits there into independent parts.
        """
        n = log_probs.shape[0]
        if n == 0:
            return []
        tags = log_probs.argmax(axis=1)
        invalid = np.flatnonzero(~self.allowed[tags[:-1], tags[1:]]) + 1
        if not self.start_allowed[tags[0]]:
            invalid = np.concatenate([[0], invalid])
        if invalid.size == 0:
            return tags.tolist()
        cuts = np.flatnonzero((log_probs[:, self._inside] <= log_probs[:, self._begin]).all(axis=1))
        done = 0
        for t in invalid:
            if t < done:
                continue
            i = int(np.searchsorted(cuts, t, side="right"))
            start = int(cuts[i - 1]) if i > 0 else 0
            end = int(cuts[i]) if i < len(cuts) else n
            tags[start:end] = self._viterbi_dp(log_probs[start:end])
            done = end
        return tags.tolist()

    def _viterbi_dp(self, log_probs: np.ndarray) -> list[int]:
        """Constrained Viterbi by dynamic programming over the whole ``(n, n_tags)`` array."""
        n, k = log_probs.shape
        neg = -1e9
        trans = np.where(self.allowed, 0.0, neg)
        score = log_probs[0] + np.where(self.start_allowed, 0.0, neg)
        back = np.zeros((n, k), dtype=np.int32)
        for t in range(1, n):
            cand = score[:, None] + trans  # (prev, next)
            back[t] = cand.argmax(axis=0)
            score = cand.max(axis=0) + log_probs[t]
        best = [int(score.argmax())]
        for t in range(n - 1, 0, -1):
            best.append(int(back[t, best[-1]]))
        return best[::-1]

    def spans(self, units: Sequence[Unit], tag_ids: Sequence[int], probs: np.ndarray | None = None) -> list[tuple[int, int, str, float]]:
        """Entity spans ``(start, end, label, score)`` from decoded unit tags.

        ``score`` is the mean probability of the chosen tags over the entity's units.
        """
        out = []
        cur: list[int] | None = None
        cur_label = None

        def close() -> None:
            if cur:
                score = float(np.mean([probs[i, tag_ids[i]] for i in cur])) if probs is not None else 1.0
                out.append((units[cur[0]].start, units[cur[-1]].end, cur_label, score))

        for i, tag_id in enumerate(tag_ids):
            tag = self.tags[tag_id]
            if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or tag[2:] != cur_label)):
                close()
                cur, cur_label = [i], tag[2:]
            elif tag.startswith("I-"):
                cur.append(i)  # type: ignore[union-attr]
            else:
                close()
                cur, cur_label = None, None
        close()
        return out
