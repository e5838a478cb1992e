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
from functools import lru_cache

from ..doc import Doc, Relation

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
    letters = [c for c in _fold(acronym).lower() if c.isalnum()]
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
    abbreviates or stands in apposition to.
    """
    ents = doc.entities
    out: list[Relation] = []
    seen: set[tuple[int, int]] = set()
    for i, e in enumerate(ents):
        if not is_acronym(e.text):
            continue
        best: tuple[int, int] | None = None  # (distance, index)
        for j, f in enumerate(ents):
            if i == j or is_acronym(f.text) or f.text.lower() == e.text.lower():
                continue
            if (f.start < e.end and e.start < f.end):
                continue
            between = doc.text[min(e.end, f.end) : max(e.start, f.start)]
            apposition = between.strip() in ("(", ",", "–", "-", "—") or re.fullmatch(r"\s*\(\s*", between) is not None
            if not (acronym_matches(e.text, f.text) or (apposition and _compatible(e.label, f.label))):
                continue
            distance = e.start - f.end if f.end <= e.start else 10**6 + f.start - e.end
            if best is None or distance < best[0]:
                best = (distance, j)
        if best is not None:
            j = best[1]
            key = (min(i, j), max(i, j))
            if key not in seen:
                seen.add(key)
                out.append(Relation(key[0], key[1], "SAME_AS", score))
    return out


def _compatible(a: str, b: str) -> bool:
    groups = [{"ORG"}, {"PROGRAMME", "PLATFORM", "WEAPON"}, {"LOC"}, {"DOCUMENT"}, {"PER"}]
    return a == b or any(a in g and b in g for g in groups)
