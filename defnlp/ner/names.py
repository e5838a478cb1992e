"""Person names across a document: a surname repeated after the full name is the same person.

News and press releases name a person in full once (``Florence Parly``, ``General Thierry
Burkhard``) and by one word afterwards (``Parly``, ``Burkhard``). The tagger sees each mention
in its own window of context, so a later one-word mention is sometimes tagged ORG or LOC, or
missed, even though the document already said who it is. :func:`propagate_person_names` uses
what the document said, after decoding:

* a one-word entity with another label that repeats a word of a multi-word ``PER`` name found
  *earlier* in the text, with score ≥ ``min_score``, becomes ``PER`` (its score is kept);
* a later, untagged occurrence of the last word of such a name (capitalised, three characters
  or more, not inside or touching another entity, a whole word) becomes a ``PER`` entity with
  the score of the name it repeats.

Only confident full names count, and only for what follows them, so a wrong low-score ``PER``
(``Lille Neige``) does not relabel the city. Measured on the evaluation sets with
``defence-v2-ner`` (docs/experiments.md, "Person names across a document"): WikiGold articles
+1.0 F1, CoNLL-2003 articles +0.7, re3d +0.7, WiNER-fr defence +0.4; no set lower by more than
0.01.

>>> from defnlp.doc import Entity
>>> text = "Florence Parly visite Toulon. Parly annonce 3 frégates ; Parly repart."
>>> ents = [Entity(0, 14, "PER", "Florence Parly", 0.98), Entity(22, 28, "LOC", "Toulon", 0.99),
...         Entity(30, 35, "ORG", "Parly", 0.6)]
>>> [(e.text, e.label) for e in propagate_person_names(text, ents)]
[('Florence Parly', 'PER'), ('Toulon', 'LOC'), ('Parly', 'PER'), ('Parly', 'PER')]
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace
from typing import Sequence

from ..doc import Entity
from ..words import split_words

__all__ = ["propagate_person_names", "MIN_NAME_SCORE"]

#: the score a multi-word PER name needs before its words are used elsewhere in the document
MIN_NAME_SCORE = 0.8


def propagate_person_names(text: str, entities: Sequence[Entity], min_score: float = MIN_NAME_SCORE) -> list[Entity]:
    """``entities`` (sorted by start, as decoding gives them) with the document's person names
    carried to their one-word repetitions; see the module docstring. A new list: the input
    entities are not changed. Linear in the text's length plus the number of entities.
    """
    first_seen: dict[str, int] = {}   # a word of a confident multi-word PER name -> where the name starts
    surname_seen: dict[str, tuple[int, float]] = {}
    for ent in entities:
        if ent.label != "PER" or ent.score is None or ent.score < min_score:
            continue
        words = [w.text for w in split_words(ent.text) if w.text[0].isalpha()]  # the project's words, letters first
        if len(words) < 2:
            continue
        for word in words:
            if word[0].isupper():
                first_seen.setdefault(word, ent.start)
        last = words[-1]
        if last[0].isupper() and len(last) >= 3:
            surname_seen.setdefault(last, (ent.end, ent.score))
    if not first_seen:
        return list(entities)

    out: list[Entity] = []
    for ent in entities:
        if ent.label != "PER" and ent.text in first_seen and first_seen[ent.text] < ent.start:
            ent = replace(ent, label="PER")
        out.append(ent)
    added = _untagged_surnames(text, out, surname_seen)
    if not added:
        return out
    return sorted(out + added, key=lambda e: (e.start, e.end))


def _untagged_surnames(text: str, entities: Sequence[Entity], surnames: dict[str, tuple[int, float]]) -> list[Entity]:
    """Whole-word occurrences of ``surnames`` after their full name that no entity covers or
    touches (``entities`` sorted and not overlapping, as decoding gives them)."""
    if not surnames:
        return []
    starts = [e.start for e in entities]
    ends = [e.end for e in entities]
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(s) for s in sorted(surnames, key=len, reverse=True)) + r")(?![\w-])")
    added: list[Entity] = []
    for match in pattern.finditer(text):
        a, b = match.span()
        after, score = surnames[match.group()]
        if a < after:
            continue
        # entities do not overlap, so of those starting at or before b the last one ends last
        i = bisect_right(starts, b)
        if i > 0 and ends[i - 1] >= a:
            continue
        added.append(Entity(a, b, "PER", text[a:b], score))
    return added
