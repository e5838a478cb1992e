"""Tag schemes: IOB1 / IOB2 / BIOES tags <-> entity spans, the tag layout, and overlaps.

The one place that knows how entities become per-unit tags and back. A *unit* is anything
with a character span — a word, a group of words sharing a sub-word token, a CoNLL token —
given as sorted, non-overlapping ``(start, end)`` pairs.

* Layout: :func:`bio_tags` (``O``, then ``B-X``, ``I-X`` per label) and :class:`TagSet` (tag ids,
  the IOB2 transition constraints and the constrained Viterbi used to decode a model's output).
* Reading tags: :func:`parse_tag`, :func:`check_transition` and :func:`check_end` validate IOB1,
  IOB2 and BIOES (BILOU's ``L``/``U`` are read as ``E``/``S``); :func:`tags_to_spans` decodes any
  of them leniently into ``(first, last + 1, label)`` unit spans.
* Writing tags: :func:`spans_to_tags` is the one encoder from character spans to IOB2 or BIOES
  tags. **Rule**: spans are taken in order of start; a unit belongs to a span it overlaps by at
  least one character; a unit already taken stays with the span that took it, and a span gets
  the first contiguous run of the free units it overlaps (none: it is left out).
* Overlaps: :func:`resolve_overlaps` / :func:`flatten_spans` keep a non-overlapping subset
  (ranked greedy: longest, shortest or first listed; ties go to the leftmost span, then to the
  one listed first).

>>> units = [(0, 4), (5, 11), (12, 18), (19, 24), (24, 25)]   # "Jean Dupont visite Brest."
>>> spans_to_tags(units, [(0, 11, "PER"), (19, 24, "LOC")])
['B-PER', 'I-PER', 'O', 'B-LOC', 'O']
>>> spans_to_tags(units, [(0, 11, "PER"), (19, 24, "LOC")], scheme="bioes")
['B-PER', 'E-PER', 'O', 'S-LOC', 'O']
>>> tags_to_spans(["I-PER", "I-PER", "O", "B-LOC", "O"])   # IOB1 reads too
[(0, 2, 'PER'), (3, 4, 'LOC')]
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np

from .errors import ConfigError, LabelError, RecordFormatError

__all__ = [
    "TAG_SCHEMES",
    "WRITE_SCHEMES",
    "OVERLAP_RULES",
    "bio_tags",
    "check_scheme",
    "parse_tag",
    "check_transition",
    "check_end",
    "tags_to_spans",
    "spans_to_tags",
    "resolve_overlaps",
    "flatten_spans",
    "TagSet",
]

#: tagging schemes that can be read (``auto`` accepts any of them, leniently)
TAG_SCHEMES = ("auto", "iob1", "iob2", "bioes")
#: tagging schemes that can be written
WRITE_SCHEMES = ("iob2", "bioes")

Parsed = tuple[str | None, str | None]  # (prefix B/I/E/S, label), (None, None) for O


# ------------------------------------------------------------------------------------------------
# the tag layout
# ------------------------------------------------------------------------------------------------
def bio_tags(labels: Iterable[str]) -> list[str]:
    """IOB2 tags for entity labels: ``O`` first, then ``B-X``, ``I-X`` for each label.

    >>> bio_tags(["PER", "LOC"])
    ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
    """
    tags = ["O"]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def check_scheme(scheme: str, write: bool = False) -> str:
    """``scheme`` if it can be read (or, with ``write``, written); else :class:`ConfigError`.

    >>> check_scheme("iob1"), check_scheme("bioes", write=True)
    ('iob1', 'bioes')
    """
    if write and scheme not in WRITE_SCHEMES:
        raise ConfigError(f"cannot write tagging scheme {scheme!r}", "use 'iob2' or 'bioes'")
    if scheme not in TAG_SCHEMES:
        raise ConfigError(f"unknown tagging scheme {scheme!r}", f"use one of: {', '.join(TAG_SCHEMES)}")
    return scheme


# ------------------------------------------------------------------------------------------------
# reading tags
# ------------------------------------------------------------------------------------------------
_TAG_RE = re.compile(r"^(?:(?P<o>O)|(?P<prefix>[BIESLU])-(?P<label>\S+))$")
_PREFIX_ALIASES = {"L": "E", "U": "S"}


@lru_cache(maxsize=1024)
def _split_tag(tag: str) -> Parsed | None:
    m = _TAG_RE.match(tag)
    if m is None:
        return None
    if m.group("o"):
        return None, None
    prefix = m.group("prefix")
    return _PREFIX_ALIASES.get(prefix, prefix), m.group("label")


def parse_tag(tag: str, where: str = "tag") -> Parsed:
    """``'B-LOC'`` -> ``('B', 'LOC')``; ``'O'`` -> ``(None, None)``; ``L``/``U`` read as ``E``/``S``.

    A malformed tag raises :class:`RecordFormatError` naming ``where``.

    >>> parse_tag("B-LOC"), parse_tag("O"), parse_tag("U-PER")
    (('B', 'LOC'), (None, None), ('S', 'PER'))
    """
    parsed = _split_tag(tag)
    if parsed is None:
        raise RecordFormatError(
            f"{where}: invalid tag {tag!r}",
            "tags look like O, B-LABEL, I-LABEL (IOB1/IOB2) or also E-LABEL, S-LABEL (BIOES)",
        )
    return parsed


def check_transition(scheme: str, prev: Parsed, cur: Parsed, where: str = "tag", tag: str = "") -> None:
    """Strict check of the step ``prev`` -> ``cur`` (parsed tags) for a named scheme.

    ``auto`` checks nothing; ``iob1``, ``iob2`` and ``bioes`` raise :class:`RecordFormatError`
    (naming ``where`` and ``tag``) on a step their scheme does not allow.

    >>> check_transition("iob1", (None, None), ("I", "LOC"), "line 2", "I-LOC")   # fine in IOB1
    >>> check_transition("iob2", (None, None), ("I", "LOC"), "line 2", "I-LOC")
    Traceback (most recent call last):
    ...
    defnlp.errors.RecordFormatError: line 2: in IOB2, 'I-LOC' must follow B-LOC or I-LOC (hint: read the file with scheme='iob1' or 'auto')
    """
    (pp, pl), (cp, cl) = prev, cur
    if scheme == "auto" or (cp is None and scheme != "bioes"):
        return
    if scheme in ("iob1", "iob2") and cp in ("E", "S"):
        raise RecordFormatError(f"{where}: tag {tag!r} is not {scheme.upper()}", "read the file with scheme='bioes' or 'auto'")
    if scheme == "iob1" and cp == "B" and not (pp in ("B", "I") and pl == cl):
        raise RecordFormatError(f"{where}: in IOB1, {tag!r} may only follow a {cl} entity", "read the file with scheme='iob2' or 'auto'")
    if scheme == "iob2" and cp == "I" and not (pp in ("B", "I") and pl == cl):
        raise RecordFormatError(f"{where}: in IOB2, {tag!r} must follow B-{cl} or I-{cl}", "read the file with scheme='iob1' or 'auto'")
    if scheme == "bioes":
        inside = pp in ("B", "I")
        if cp in ("I", "E") and not (inside and pl == cl):
            raise RecordFormatError(f"{where}: in BIOES, {tag!r} must follow B-{cl} or I-{cl}", "read the file with scheme='auto'")
        if cp not in ("I", "E") and inside:
            raise RecordFormatError(f"{where}: in BIOES, the entity opened before {tag!r} is not closed by E-{pl}", "read the file with scheme='auto'")


def check_end(scheme: str, last: Parsed, where: str = "end") -> None:
    """Strict check that a sequence may end after the parsed tag ``last`` (BIOES only).

    >>> check_end("bioes", ("E", "LOC")); check_end("iob2", ("B", "LOC"))
    >>> check_end("bioes", ("B", "LOC"))
    Traceback (most recent call last):
    ...
    defnlp.errors.RecordFormatError: end: in BIOES, the sentence ends inside a LOC entity (no E- tag) (hint: read the file with scheme='auto')
    """
    if scheme == "bioes" and last[0] in ("B", "I"):
        raise RecordFormatError(f"{where}: in BIOES, the sentence ends inside a {last[1]} entity (no E- tag)", "read the file with scheme='auto'")


def _decode(parsed: Iterable[Parsed]) -> list[tuple[int, int, str]]:
    """Unit spans of parsed tags: see :func:`tags_to_spans`."""
    spans: list[tuple[int, int, str]] = []
    start, label = -1, None  # the open entity, if label is not None
    i = -1
    for i, (prefix, lab) in enumerate(parsed):
        if prefix in ("I", "E") and label is not None and lab == label:
            if prefix == "E":
                spans.append((start, i + 1, label))
                label = None
            continue
        if label is not None:
            spans.append((start, i, label))
            label = None
        if prefix is None:
            continue
        if prefix == "S" or prefix == "E":
            spans.append((i, i + 1, lab))  # type: ignore[arg-type]
        else:  # B, or an I that opens an entity (IOB1)
            start, label = i, lab
    if label is not None:
        spans.append((start, i + 1, label))
    return spans


def tags_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Unit spans ``(first, last + 1, label)`` encoded by IOB1/IOB2/BIOES tags (lenient).

    An ``I-X`` that does not continue an ``X`` entity opens a new one (IOB1), ``B-X`` always
    opens one, ``E-X`` closes one, ``S-X`` is a one-unit entity. Malformed tags raise
    :class:`RecordFormatError`.

    >>> tags_to_spans(["I-PER", "I-PER", "B-PER", "O", "S-LOC", "B-ORG", "E-ORG"])
    [(0, 2, 'PER'), (2, 3, 'PER'), (4, 5, 'LOC'), (5, 7, 'ORG')]
    """
    return _decode(parse_tag(tag, f"tag {i}") for i, tag in enumerate(tags))


# ------------------------------------------------------------------------------------------------
# writing tags
# ------------------------------------------------------------------------------------------------
def spans_to_tags(
    units: Sequence[tuple[int, int]],
    spans: Iterable[tuple[int, int, str]],
    scheme: str = "iob2",
    on_missing: Callable[[tuple[int, int, str]], None] | None = None,
) -> list[str]:
    """IOB2 (default) or BIOES tags of ``units`` (sorted, disjoint character spans) for ``spans``.

    ``spans`` are character spans ``(start, end, label)``, best without overlaps (see
    :func:`flatten_spans`). A unit belongs to a span it overlaps by at least one character;
    spans are taken in order of start, a unit already taken stays with the first span, and a
    span gets the first contiguous run of the free units it overlaps. A span that gets no unit
    is left out, and passed to ``on_missing`` when given.

    >>> spans_to_tags([(0, 2), (3, 15)], [(6, 15, "NAT")])   # "Un franco-belge": inside a unit
    ['O', 'B-NAT']
    >>> spans_to_tags([(0, 9)], [(0, 2, "LOC"), (3, 9, "LOC")], on_missing=print)   # "UK-France"
    (3, 9, 'LOC')
    ['B-LOC']
    """
    check_scheme(scheme, write=True)
    bioes = scheme == "bioes"
    n = len(units)
    ends = [b for _, b in units]
    tags = ["O"] * n
    for span in sorted(spans):
        start, end, label = span
        i = bisect_right(ends, start)  # the first unit that ends after the span starts
        while i < n and units[i][0] < end and tags[i] != "O":
            i += 1
        j = i
        while j < n and units[j][0] < end and tags[j] == "O":
            j += 1
        if j == i:
            if on_missing is not None:
                on_missing(span)
            continue
        if bioes and j == i + 1:
            tags[i] = f"S-{label}"
            continue
        tags[i] = f"B-{label}"
        for k in range(i + 1, j):
            tags[k] = f"I-{label}"
        if bioes:
            tags[j - 1] = f"E-{label}"
    return tags


# ------------------------------------------------------------------------------------------------
# overlaps
# ------------------------------------------------------------------------------------------------
_RANKS: dict[str, Callable[[int, Sequence[int]], tuple[int, ...]]] = {
    "longest": lambda i, s: (s[0] - s[1], s[0], i),
    "shortest": lambda i, s: (s[1] - s[0], s[0], i),
    "first": lambda i, s: (i,),
}
#: rules of :func:`resolve_overlaps`
OVERLAP_RULES = tuple(_RANKS)


def resolve_overlaps(spans: Sequence[Sequence], prefer: str = "longest") -> list[int]:
    """Indices (ascending) of a non-overlapping subset of ``spans`` (``(start, end, ...)``).

    Spans are ranked, then kept greedily when they do not overlap a span already kept.
    ``prefer="longest"`` ranks by length (longest first), ``"shortest"`` by length (shortest
    first); ties go to the leftmost span, then to the one listed first. ``"first"`` keeps spans
    in the order they are listed.

    >>> spans = [(0, 25, "ORG"), (18, 25, "LOC"), (30, 35, "LOC")]
    >>> resolve_overlaps(spans), resolve_overlaps(spans, "shortest"), resolve_overlaps(spans, "first")
    ([0, 2], [1, 2], [0, 2])
    """
    rank = _RANKS.get(prefer)
    if rank is None:
        raise ConfigError(f"unknown overlap rule prefer={prefer!r}", f"use one of: {', '.join(OVERLAP_RULES)}")
    order = sorted(range(len(spans)), key=lambda i: rank(i, spans[i]))
    kept: list[int] = []
    for i in order:
        a, b = spans[i][0], spans[i][1]
        if all(b <= spans[k][0] or spans[k][1] <= a for k in kept):
            kept.append(i)
    return sorted(kept)


def flatten_spans(spans: Iterable[tuple[int, int, str]], prefer: str = "longest") -> list[tuple[int, int, str]]:
    """The spans :func:`resolve_overlaps` keeps, sorted.

    >>> flatten_spans([(18, 25, "LOC"), (0, 25, "ORG"), (30, 35, "LOC")])
    [(0, 25, 'ORG'), (30, 35, 'LOC')]
    """
    spans = [tuple(s) for s in spans]
    return sorted(spans[i] for i in resolve_overlaps(spans, prefer))  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
# tag ids for a model
# ------------------------------------------------------------------------------------------------
class TagSet:
    """IOB2 tag ids over entity labels (layout :func:`bio_tags`), with the transition constraints
    used for decoding.

    >>> ts = TagSet(["PER", "LOC"])
    >>> ts.tags, ts.begin_id("LOC"), ts.inside_id("LOC")
    (['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'], 3, 4)
    """

    def __init__(self, labels: Iterable[str]):
        self.labels = list(labels)
        if len(set(self.labels)) != len(self.labels):
            raise LabelError(f"duplicate entity labels in {self.labels}")
        self.tags = bio_tags(self.labels)
        self.index = {t: i for i, t in enumerate(self.tags)}
        self._parsed: list[Parsed] = [(None, None)] + [(p, label) for label in self.labels for p in ("B", "I")]
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
        # after a unit that may not end an entity: an entity tag there must go on with I- of its label
        self.continue_allowed = allowed & np.array(
            [[prev == "O" or nxt == f"I-{prev[2:]}" for nxt in self.tags] for prev in self.tags], dtype=bool)
        self._begin = np.array([self.index[f"B-{label}"] for label in self.labels], dtype=np.int64)
        self._inside = np.array([self.index[f"I-{label}"] for label in self.labels], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.tags)

    def label_of(self, tag_id: int) -> str | None:
        """The label of a tag id (``None`` for ``O``).

        >>> TagSet(["PER"]).label_of(2), TagSet(["PER"]).label_of(0)
        ('PER', None)
        """
        return self._parsed[tag_id][1]

    def _tag_id(self, prefix: str, label: str) -> int:
        try:
            return self.index[f"{prefix}-{label}"]
        except KeyError:
            raise LabelError(f"entity label {label!r} is not one of {self.labels}") from None

    def begin_id(self, label: str) -> int:
        """The id of ``B-label`` (:class:`LabelError` for an unknown label).

        >>> TagSet(["PER", "LOC"]).begin_id("PER")
        1
        """
        return self._tag_id("B", label)

    def inside_id(self, label: str) -> int:
        """The id of ``I-label`` (:class:`LabelError` for an unknown label).

        >>> TagSet(["PER", "LOC"]).inside_id("PER")
        2
        """
        return self._tag_id("I", label)

    # ---- gold -> tags -----------------------------------------------------------------------
    def encode(self, units: Sequence, entities: Iterable[tuple[int, int, str]], strict: bool = True) -> list[int]:
        """One tag id per unit (anything with ``start``/``end``) for gold ``(start, end, label)`` spans.

        The rule of :func:`spans_to_tags`. With ``strict``, unknown labels raise
        :class:`LabelError`; otherwise they are left out (their units stay ``O``).

        >>> from defnlp.ner.tagging import make_units
        >>> text = "Jean Dupont visite Brest."
        >>> units = make_units(text, [(0, 4), (4, 11), (11, 18), (18, 24), (24, 25)])
        >>> TagSet(["PER", "LOC"]).encode(units, [(0, 11, "PER"), (19, 24, "LOC")])
        [1, 2, 0, 3, 0]
        """
        spans = sorted(entities)
        known = [s for s in spans if f"B-{s[2]}" in self.index]
        if strict and len(known) < len(spans):
            label = next(s[2] for s in spans if f"B-{s[2]}" not in self.index)
            raise LabelError(f"entity label {label!r} is not one of {self.labels}")
        return [self.index[t] for t in spans_to_tags([(u.start, u.end) for u in units], known)]

    def allowed_mask(self, tag_ids: Sequence[int], annotated: Iterable[str] | None) -> np.ndarray:
        """Per unit, which tags are acceptable targets for partially annotated data.

        A corpus that annotates only ``annotated`` labels says nothing about the others: where it
        says ``O``, any tag of an unannotated label is acceptable too.

        >>> TagSet(["PER", "LOC"]).allowed_mask([0, 1], ["PER"]).astype(int).tolist()
        [[1, 0, 0, 1, 1], [0, 1, 0, 0, 0]]
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
    def viterbi(self, log_probs: np.ndarray, starts: Sequence[int] | None = None,
                no_end: Sequence[int] | None = None) -> list[int]:
        """Best tag sequence under the IOB2 constraints for ``(n_units, n_tags)`` log-probs.

        Exact, and mostly without dynamic programming: the best tag of each unit taken alone is
        the optimum wherever it forms a valid sequence (its score bounds every other). Only the
        stretches around an invalid step (``I-X`` after ``O`` or ``B-Y``) are re-decoded, and a
        stretch ends at units where no ``I-X`` scores above its ``B-X``: a path never needs to
        enter those with an inside tag (``B-X`` is as good and allows the same next tags), so the
        sequence splits there into independent parts.

        ``starts`` are units that may not continue an entity (no ``I-X`` there, as at the first
        unit): the first unit of each layout block (:func:`defnlp.layout.blocks`). The best
        sequence then is the best sequence of each part decoded on its own.

        ``no_end`` are units that may not end an entity (a function word such as ``de`` or
        ``of``, :func:`defnlp.ner.decoding.no_end_units`): an entity that reaches one goes on
        with the next unit (``I-X``), or the unit is ``O``; the last unit then is ``O``.

        >>> TagSet(["PER"]).viterbi(np.log(np.array([[0.2, 0.1, 0.7], [0.1, 0.1, 0.8]])))
        [1, 2]
        >>> lp = np.log(np.array([[0.2, 0.7, 0.1], [0.1, 0.3, 0.6]]))
        >>> TagSet(["PER"]).viterbi(lp), TagSet(["PER"]).viterbi(lp, starts=[1])   # a block starts at unit 1
        ([1, 2], [1, 1])
        >>> lp = np.log(np.array([[0.1, 0.8, 0.1], [0.2, 0.1, 0.7], [0.1, 0.6, 0.3]]))  # "Parquet de Paris"
        >>> TagSet(["ORG"]).viterbi(lp), TagSet(["ORG"]).viterbi(lp, no_end=[1])    # "de" may not end it
        ([1, 2, 1], [1, 2, 2])
        """
        n = log_probs.shape[0]
        if n == 0:
            return []
        if starts is not None and len(starts):
            rows = np.asarray(starts, dtype=np.int64)
            rows = rows[(rows > 0) & (rows < n)]
            if rows.size:
                log_probs = np.array(log_probs, dtype=np.float64)
                log_probs[np.ix_(rows, self._inside)] = -1e9  # as unlikely as a forbidden step
        hold = np.zeros(n, dtype=bool)  # hold[t]: unit t may not end an entity
        if no_end is not None and len(no_end):
            rows = np.asarray(no_end, dtype=np.int64)
            hold[rows[(rows >= 0) & (rows < n)]] = True
        holds = bool(hold.any())
        tags = log_probs.argmax(axis=1)
        ok = self.allowed[tags[:-1], tags[1:]]
        if holds:
            ok &= ~hold[:-1] | self.continue_allowed[tags[:-1], tags[1:]]
        invalid = np.flatnonzero(~ok) + 1
        if not self.start_allowed[tags[0]]:
            invalid = np.concatenate([[0], invalid])
        if hold[-1] and tags[-1] != 0:
            invalid = np.concatenate([invalid, [n - 1]])
        if invalid.size == 0:
            return tags.tolist()
        free = (log_probs[:, self._inside] <= log_probs[:, self._begin]).all(axis=1)
        if holds:
            free[1:] &= ~hold[:-1]  # after a unit that holds, the next one may have to continue
        cuts = np.flatnonzero(free)
        done = 0
        for t in invalid:
            if t < done:
                continue
            i = int(np.searchsorted(cuts, t, side="right"))
            start = int(cuts[i - 1]) if i > 0 else 0
            end = int(cuts[i]) if i < len(cuts) else n
            tags[start:end] = self._viterbi_dp(log_probs[start:end], hold[start:end], end_outside=end == n)
            done = end
        return tags.tolist()

    def _viterbi_dp(self, log_probs: np.ndarray, hold: np.ndarray | None = None, end_outside: bool = True) -> list[int]:
        """Constrained Viterbi by dynamic programming over the whole ``(n, n_tags)`` array
        (``hold``: units that may not end an entity; ``end_outside``: the array ends the text)."""
        n, k = log_probs.shape
        neg = -1e9
        trans = np.where(self.allowed, 0.0, neg)
        trans_hold = np.where(self.continue_allowed, 0.0, neg)
        score = log_probs[0] + np.where(self.start_allowed, 0.0, neg)
        back = np.zeros((n, k), dtype=np.int32)
        for t in range(1, n):
            cand = score[:, None] + (trans_hold if hold is not None and hold[t - 1] else trans)  # (prev, next)
            back[t] = cand.argmax(axis=0)
            score = cand.max(axis=0) + log_probs[t]
        if hold is not None and hold[n - 1] and end_outside:
            score = score + np.where(np.arange(k) == 0, 0.0, neg)
        best = [int(score.argmax())]
        for t in range(n - 1, 0, -1):
            best.append(int(back[t, best[-1]]))
        return best[::-1]

    def spans(self, units: Sequence, tag_ids: Sequence[int], probs: np.ndarray | None = None) -> list[tuple[int, int, str, float]]:
        """Entity spans ``(start, end, label, score)`` from decoded unit tags (:func:`tags_to_spans`).

        ``score`` is the mean probability of the chosen tags over the entity's units.

        >>> from defnlp.ner.tagging import Unit
        >>> TagSet(["PER"]).spans([Unit(0, 4, 0), Unit(5, 11, 1), Unit(12, 18, 2)], [1, 2, 0])
        [(0, 11, 'PER', 1.0)]
        """
        out = []
        for a, b, label in _decode(self._parsed[t] for t in tag_ids):
            score = float(np.mean([probs[i, tag_ids[i]] for i in range(a, b)])) if probs is not None else 1.0
            out.append((units[a].start, units[b - 1].end, label, score))
        return out
