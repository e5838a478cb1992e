"""Checks shared by the tests of the bilingual example folders (``data/examples/*``).

Each folder holds FR/EN pairs in the inline markup: ids ``PREFIX-NNN-fr|en``, both sides of a pair
sharing their refs, labels and relations, every entity with a ref. The folder's own test file
keeps what is particular to it (sizes, layout features, target relations).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from defnlp.io.markup import read_markup_files
from defnlp.layout import blocks
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


#: a dotted abbreviation keeps its final dot (``U.S.``, ``U.K.``): one word for :mod:`defnlp.words`
DOTTED_ABBREVIATION = re.compile(r"(?:^|\W)(?:[A-Za-z]\.){2,}$")


def check_span_edges(doc: Any, articles: re.Pattern[str]) -> None:
    """No span starts with a leading article (``articles``), ends with punctuation (a dotted
    abbreviation keeps its dot) or spans a blank line."""
    for e in doc.entities:
        assert not articles.match(e.text), (doc.id, e.text)
        assert e.text[-1] not in ".,;:!?»\"" or DOTTED_ABBREVIATION.search(e.text), (doc.id, e.text)
        assert "\n\n" not in e.text, (doc.id, e.text)


def check_files_and_pairs(folder: Path, files: Sequence[str], docs: Sequence[Any], prefix: str,
                          n_pairs: int = 20, pairs_per_file: int | None = 5) -> dict[str, dict[str, Any]]:
    """The folder holds exactly ``files`` (besides its README), ``n_pairs`` pairs ``PREFIX-001`` ...
    (see :func:`check_pairs`) and, with ``pairs_per_file``, that many consecutive pairs per file in
    the order of ``files``; returns ``{pair: {lang: doc}}``."""
    assert sorted(p.name for p in folder.glob("*.md") if not p.name.startswith("README")) == sorted(files)
    assert len(docs) == 2 * n_pairs
    pairs = check_pairs(docs, prefix)
    assert sorted(pairs) == [f"{prefix}-{i:03d}" for i in range(1, n_pairs + 1)]
    if pairs_per_file:
        for i, name in enumerate(files):
            ids = {d.meta["pair"] for d in read_markup_files([folder / name])}
            assert ids == {f"{prefix}-{pairs_per_file * i + k:03d}" for k in range(1, pairs_per_file + 1)}, name
    return pairs


def check_in_one_block(doc: Any) -> None:
    """No entity crosses the boundary of a layout block (:func:`defnlp.layout.blocks`)."""
    bounds = blocks(doc.text)
    for e in doc.entities:
        assert any(a <= e.start and e.end <= b for a, b in bounds), (doc.id, e.text)


def check_no_unmarked_repeats(doc: Any, skip: Sequence[str] = ("ROLE", "DATE", "QUANTITY")) -> None:
    """Every whole-word occurrence of a marked name (labels outside ``skip``) lies inside an entity."""
    spans = [(e.start, e.end) for e in doc.entities]
    for e in doc.entities:
        if e.label in skip:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(e.text)}(?!\w)", doc.text):
            assert any(a <= m.start() and m.end() <= b for a, b in spans), (doc.id, e.text, m.start())


def check_readme_counts(docs: Sequence[Any], readme: Path, entities: bool = True) -> None:
    """The README's per-label rows ``| LABEL | fr | en | total |`` (relations and, with ``entities``,
    entity labels) and its totals are the documents' counts."""
    text = readme.read_text(encoding="utf-8")
    rels = Counter((d.lang, r.label) for d in docs for r in d.relations)
    ents = Counter((d.lang, e.label) for d in docs for e in d.entities)
    for kind, counts in (("relation", rels), ("entity", ents))[: 2 if entities else 1]:
        for label in {label for _, label in counts}:
            row = re.search(rf"^\| {label} \| (\d+) \| (\d+) \| (\d+) \|$", text, re.MULTILINE)
            assert row, f"README has no {kind} row for {label}"
            fr, en = counts["fr", label], counts["en", label]
            assert [int(x) for x in row.groups()] == [fr, en, fr + en], label
    assert f"{len(docs)} documents" in text
    if entities:
        assert f"{sum(ents.values()):,} entities" in text and f"{sum(rels.values())} relations" in text
