"""Acronym and alias linking: ``DGA`` ↔ ``Direction générale de l'armement`` as ``SAME_AS``.

Two deterministic signals, used beside the learned relation head:

* **letters**: an acronym's letters are the initials of the other mention's content words, in
  order (stop words such as *de, la, l', of, the* may be skipped; a word may give several
  letters: ``DGA`` ← *Direction Générale de l'Armement*, ``OTAN`` ← *Organisation du Traité de
  l'Atlantique Nord*);
* **apposition**: ``long name (ACRONYM)`` or ``ACRONYM (long name)``.

>>> acronym_matches("DGA", "Direction générale de l'armement")
True
>>> acronym_matches("NATO", "North Atlantic Treaty Organization")
True
>>> acronym_matches("DGA", "Délégation aux affaires stratégiques")
False
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import Any, Callable, Iterable, Sequence

from ..doc import Doc, Entity, Relation

__all__ = ["is_acronym", "acronym_matches", "link_aliases"]

_STOP = {
    "de", "du", "des", "la", "le", "les", "l", "d", "et", "à", "a", "au", "aux", "en", "pour", "sur", "par",
    "of", "the", "and", "for", "on", "in", "to", "at", "by", "&",
}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def is_acronym(text: str) -> bool:
    """2–10 characters, at least two capitals, no lowercase run longer than the capitals."""
    t = text.replace(".", "").replace("-", "").replace(" ", "")
    if not (2 <= len(t) <= 10) or not t.isalnum():
        return False
    upper = sum(c.isupper() for c in t)
    return upper >= 2 and upper >= sum(c.islower() for c in t)


@lru_cache(maxsize=4096)
def acronym_matches(acronym: str, phrase: str) -> bool:
    """Whether ``acronym``'s letters are initials (or word prefixes) of ``phrase``'s words."""
    letters = _letters(acronym)
    words = [w.lower() for w in _WORD.findall(_fold(phrase))]
    if len(words) < 2 or not letters or len(letters) > 2 * len(words) + 2:
        return False

    # depth-first match: each word either is skipped (stop words only) or gives 1..n letters
    def match(li: int, wi: int) -> bool:
        if li == len(letters):
            return all(w in _STOP for w in words[wi:])
        if wi == len(words):
            return False
        w = words[wi]
        if w in _STOP and match(li, wi + 1):
            return True
        k = 0
        while k < len(w) and li + k < len(letters) and w[k] == letters[li + k]:
            k += 1
            if match(li + k, wi + 1):
                return True
        return False

    return match(0, 0)


def link_aliases(doc: Doc, score: float = 0.95) -> list[Relation]:
    """SAME_AS relations between acronym mentions and the full names they abbreviate.

    Each acronym mention is linked to the nearest mention (before it, else after it) that it
    abbreviates (:func:`acronym_matches`) or stands in apposition to (``name (ACRONYM)``,
    ``ACRONYM (name)``, with compatible labels). Mentions that are acronyms themselves, that
    overlap the acronym or that have its text (case aside) are never linked to it.

    Linear in the document (with a log factor): each distinct name is walked once through a trie
    of the document's acronyms (:class:`_LetterTrie`), and each acronym mention finds its nearest
    name by binary search, instead of comparing every acronym with every mention.

    >>> text = "La Direction générale de l'armement (DGA) a signé. La DGA commande."
    >>> doc = Doc(text)
    >>> _ = doc.add_entity(3, 35, "ORG"), doc.add_entity(37, 40, "ORG"), doc.add_entity(54, 57, "ORG")
    >>> [(r.head, r.tail, r.label) for r in link_aliases(doc)]
    [(0, 1, 'SAME_AS'), (0, 2, 'SAME_AS')]
    """
    ents = doc.entities
    acronyms = [i for i, e in enumerate(ents) if is_acronym(e.text)]
    if not acronyms:
        return []
    acronym_set = set(acronyms)
    names = [j for j in range(len(ents)) if j not in acronym_set]  # the mentions an acronym may stand for
    lowered = {j: ents[j].text.lower() for j in names}
    by_end = _Sorted(names, lambda j: ents[j].end, lowered, before=True)
    by_start = _Sorted(names, lambda j: ents[j].start, lowered, before=False)

    # acronyms grouped by their letters (acronym_matches depends on nothing else)
    groups: dict[str, list[int]] = {}
    for i in acronyms:
        groups.setdefault(_letters(ents[i].text), []).append(i)
    texts: dict[str, list[int]] = {}
    for j in names:
        texts.setdefault(ents[j].text, []).append(j)
    trie = _LetterTrie(groups)
    abbreviated: dict[str, list[int]] = {}  # letters -> the mentions an acronym with them abbreviates
    for text, js in texts.items():
        for letters in trie.candidates(text):
            if acronym_matches(ents[groups[letters][0]].text, text):
                abbreviated.setdefault(letters, []).extend(js)

    best: dict[int, tuple[int, int]] = {}  # acronym mention -> (distance, name mention)
    for letters, members in groups.items():
        matching = abbreviated.get(letters, [])
        if matching:
            ends = _Sorted(matching, lambda j: ents[j].end, lowered, before=True)
            starts = _Sorted(matching, lambda j: ents[j].start, lowered, before=False)
        for i in members:
            e = ents[i]
            low = e.text.lower()
            found: list[tuple[int, int]] = []
            if matching:
                j = ends.last_at_or_below(e.start, low)
                if j is not None:
                    found.append((e.start - ents[j].end, j))
                j = starts.first_at_or_above(e.end, low)
                if j is not None:
                    found.append((10**6 + ents[j].start - e.end, j))
            found.extend(_appositions(doc, e, low, by_end, by_start))
            if found:
                best[i] = min(found)
    out: list[Relation] = []
    seen: set[tuple[int, int]] = set()
    for i in acronyms:
        if i in best:
            j = best[i][1]
            key = (min(i, j), max(i, j))
            if key not in seen:
                seen.add(key)
                out.append(Relation(key[0], key[1], "SAME_AS", score))
    return out


_APPOSITION_MARKS = frozenset("(,–-—")


def _letters(acronym: str) -> str:
    """The letters and digits an acronym spells, folded and lower-cased: ``"D.G.A."`` -> ``"dga"``."""
    return "".join(c for c in _fold(acronym).lower() if c.isalnum())


class _LetterTrie:
    """The acronyms of a document (their :func:`_letters`) in a trie, to find the ones a phrase
    may abbreviate by walking the phrase's words once (the search :func:`acronym_matches` does
    for one acronym, done for all of them at the same time).

    >>> sorted(_LetterTrie(["dga", "otan", "dg"]).candidates("Direction générale de l'armement"))
    ['dga']
    """

    def __init__(self, letter_strings: Iterable[str]) -> None:
        self.root: dict[str, Any] = {}
        for letters in letter_strings:
            if letters:
                node = self.root
                for c in letters:
                    node = node.setdefault(c, {})
                node[""] = letters  # the end of an acronym (letters are never empty strings)

    def candidates(self, phrase: str) -> set[str]:
        """The letter strings whose letters are prefixes of the phrase's words in order, each
        word giving at least one letter unless it is a stop word, stop words only after the last."""
        words = [w.lower() for w in _WORD.findall(_fold(phrase))]
        if len(words) < 2:
            return set()
        only_stop_after = [True] * (len(words) + 1)
        for k in range(len(words) - 1, -1, -1):
            only_stop_after[k] = only_stop_after[k + 1] and words[k] in _STOP
        found: set[str] = set()
        frontier = {id(self.root): self.root}  # trie nodes reached before word k
        for k, word in enumerate(words):
            reached: dict[int, dict[str, Any]] = {}
            for node in frontier.values():
                if "" in node and only_stop_after[k]:
                    found.add(node[""])
                if word in _STOP:
                    reached[id(node)] = node
                for c in word:
                    node = node.get(c)
                    if node is None:
                        break
                    reached[id(node)] = node
            frontier = reached
            if not frontier:
                return found
        found.update(node[""] for node in frontier.values() if "" in node)
        return found


class _Sorted:
    """Mentions sorted by one offset, for "the nearest one before / after ``x`` whose text is
    not ``low``" in ``O(log n)``.

    ``before=True``: the greatest offset first found, among equal offsets the lowest mention
    index; ``before=False``: the smallest offset, then the lowest index.
    """

    def __init__(self, mentions: Sequence[int], offset: Callable[[int], int], lowered: dict[int, str], before: bool) -> None:
        order = sorted(mentions, key=(lambda j: (offset(j), -j)) if before else (lambda j: (offset(j), j)))
        self.mentions = order
        self.offsets = [offset(j) for j in order]
        texts = [lowered[j] for j in order]
        self.texts = texts
        n = len(order)
        # the nearest entry before / after each one with another text: one jump skips a run of equal texts
        self.prev_other = [-1] * n
        for k in range(1, n):
            self.prev_other[k] = k - 1 if texts[k - 1] != texts[k] else self.prev_other[k - 1]
        self.next_other = [n] * n
        for k in range(n - 2, -1, -1):
            self.next_other[k] = k + 1 if texts[k + 1] != texts[k] else self.next_other[k + 1]

    def last_at_or_below(self, x: int, low: str) -> int | None:
        k = bisect_right(self.offsets, x) - 1
        if k >= 0 and self.texts[k] == low:
            k = self.prev_other[k]
        return self.mentions[k] if k >= 0 else None

    def first_at_or_above(self, x: int, low: str) -> int | None:
        k = bisect_left(self.offsets, x)
        if k < len(self.mentions) and self.texts[k] == low:
            k = self.next_other[k]
        return self.mentions[k] if k < len(self.mentions) else None

    def within(self, lo: int, hi: int) -> list[int]:
        """Mentions whose offset is in ``[lo, hi]``."""
        return self.mentions[bisect_left(self.offsets, lo) : bisect_right(self.offsets, hi)]


def _appositions(doc: Doc, e: Entity, low: str, by_end: _Sorted, by_start: _Sorted) -> list[tuple[int, int]]:
    """``(distance, mention)`` of the mentions in apposition to acronym ``e`` with a compatible
    label: only whitespace and one of ``( , – - —`` between them."""
    text, ents, out = doc.text, doc.entities, []
    k = e.start
    while k > 0 and text[k - 1].isspace():
        k -= 1
    if k > 0 and text[k - 1] in _APPOSITION_MARKS:  # name ( ACRONYM
        lo = k - 1
        while lo > 0 and text[lo - 1].isspace():
            lo -= 1
        out += [(e.start - ents[j].end, j) for j in by_end.within(lo, k - 1)
                if ents[j].text.lower() != low and _compatible(e.label, ents[j].label)]
    k = e.end
    while k < len(text) and text[k].isspace():
        k += 1
    if k < len(text) and text[k] in _APPOSITION_MARKS:  # ACRONYM ( name
        hi = k + 1
        while hi < len(text) and text[hi].isspace():
            hi += 1
        out += [(10**6 + ents[j].start - e.end, j) for j in by_start.within(k + 1, hi)
                if ents[j].text.lower() != low and _compatible(e.label, ents[j].label)]
    return out


def _compatible(a: str, b: str) -> bool:
    groups = [{"ORG"}, {"PROGRAMME", "PLATFORM", "WEAPON"}, {"LOC"}, {"DOCUMENT"}, {"PER"}]
    return a == b or any(a in g and b in g for g in groups)
