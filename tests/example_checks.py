"""Checks shared by the tests of the bilingual example folders (``data/examples/*``).

Each folder holds FR/EN pairs in the inline markup: ids ``PREFIX-NNN-fr|en``, both sides of a pair
sharing their refs, labels and relations, every entity with a ref. The folder's own test file
keeps what is particular to it (sizes, layout features, target relations, README counts).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from defnlp.scheme import load_scheme


def relation_set(doc: Any) -> set[tuple[str, str, str]]:
    """The document's relations as (head ref, label, tail ref); symmetric labels in ref order."""
    scheme = load_scheme()
    refs = {idx: ref for ref, idx in doc.meta["refs"].items()}
    out = set()
    for r in doc.relations:
        h, t = refs[r.head], refs[r.tail]
        if scheme.is_symmetric(r.label):
            h, t = sorted((h, t))
        out.add((h, r.label, t))
    return out


def check_pairs(docs: Sequence[Any], prefix: str) -> dict[str, dict[str, Any]]:
    """Ids ``PREFIX-NNN-fr|en`` matching their language and pair, all ``split: train``, each
    pair with both sides; returns ``{pair: {lang: doc}}``."""
    pairs: dict[str, dict[str, Any]] = {}
    for d in docs:
        m = re.fullmatch(rf"({re.escape(prefix)}-\d{{3}})-(fr|en)", d.id)
        assert m, d.id
        assert d.lang == m.group(2) and d.meta["pair"] == m.group(1) and d.meta["split"] == "train", d.id
        pairs.setdefault(m.group(1), {})[d.lang] = d
    assert all(set(sides) == {"fr", "en"} for sides in pairs.values())
    return pairs


def check_sides_agree(docs: Sequence[Any]) -> None:
    """Both sides of every pair have the same refs with the same labels, and the same relations."""
    by_pair: dict[str, dict[str, Any]] = {}
    for d in docs:
        by_pair.setdefault(d.meta["pair"], {})[d.lang] = d
    for pair, sides in by_pair.items():
        fr, en = sides["fr"], sides["en"]
        fr_labels = {ref: fr.entities[i].label for ref, i in fr.meta["refs"].items()}
        en_labels = {ref: en.entities[i].label for ref, i in en.meta["refs"].items()}
        assert fr_labels == en_labels, pair
        assert relation_set(fr) == relation_set(en), pair


def check_refs_and_relations(doc: Any, max_relations: int) -> None:
    """Every entity has a ref, no relation twice, 1 to ``max_relations`` relations, a valid Doc."""
    assert len(doc.meta["refs"]) == len(doc.entities), doc.id
    assert len(relation_set(doc)) == len(doc.relations), f"{doc.id}: duplicate relation"
    assert 1 <= len(doc.relations) <= max_relations, doc.id
    doc.validate()


def check_span_edges(doc: Any, articles: re.Pattern[str]) -> None:
    """No span starts with a leading article (``articles``), ends with punctuation or spans a blank line."""
    for e in doc.entities:
        assert not articles.match(e.text), (doc.id, e.text)
        assert e.text[-1] not in ".,;:!?»\"", (doc.id, e.text)
        assert "\n\n" not in e.text, (doc.id, e.text)
