"""Checks shared by the tests of the bilingual example folders (``data/examples/*``).

Each folder holds FR/EN pairs in the inline markup: ids ``PREFIX-NNN-fr|en``, both sides of a pair
sharing their refs. ``tests/test_examples.py`` runs the generic checks below on every folder with
the folder's parameters; the folder's own test file keeps what is particular to it (layout
features, target relations, its own span rules) and reads the documents with :func:`load_examples`.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from defnlp.io.markup import read_markup_files
from defnlp.layout import blocks
from defnlp.scheme import load_scheme
from defnlp.text import TITLE_ABBREVIATIONS

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@functools.lru_cache(maxsize=None)
def load_examples(folder: str) -> tuple[Any, ...]:
    """The documents of ``data/examples/<folder>``, parsed against the default scheme (so every
    label and every relation's head/tail labels are allowed); read once per test session."""
    return tuple(read_markup_files([EXAMPLES / folder], load_scheme()))


def relation_set(doc: Any, among: set[str] | None = None) -> set[tuple[str, str, str]]:
    """The document's relations as (head ref, label, tail ref); symmetric labels in ref order.
    With ``among``, only the relations whose two ends carry a ref in ``among``."""
    scheme = load_scheme()
    refs = {idx: ref for ref, idx in doc.meta["refs"].items()}
    out = set()
    for r in doc.relations:
        if among is not None and not (refs.get(r.head) in among and refs.get(r.tail) in among):
            continue
        h, t = refs[r.head], refs[r.tail]
        if scheme.is_symmetric(r.label):
            h, t = sorted((h, t))
        out.add((h, r.label, t))
    return out


def check_pairs(docs: Sequence[Any], prefix: str, splits: Sequence[str] = ("train",)) -> dict[str, dict[str, Any]]:
    """Ids ``PREFIX-NNN-fr|en`` matching their language and pair, a ``split`` in ``splits``, each
    pair with one FR and one EN side in the same split; returns ``{pair: {lang: doc}}``."""
    pairs: dict[str, dict[str, Any]] = {}
    for d in docs:
        m = re.fullmatch(rf"({re.escape(prefix)}-\d{{3}})-(fr|en)", d.id)
        assert m, d.id
        assert d.lang == m.group(2) and d.meta["pair"] == m.group(1) and d.meta["split"] in splits, d.id
        assert d.lang not in pairs.setdefault(m.group(1), {}), f"{d.id}: second {d.lang} side"
        pairs[m.group(1)][d.lang] = d
    assert all(set(sides) == {"fr", "en"} for sides in pairs.values())
    assert all(sides["fr"].meta["split"] == sides["en"].meta["split"] for sides in pairs.values())
    return pairs


def check_files_and_pairs(folder: Path, docs: Sequence[Any], prefix: str, *, files: Sequence[str] | None = None,
                          n_pairs: int | None = None, min_pairs: int | None = None, pairs_per_file: int | None = None,
                          dev_share: tuple[float, float] | None = None) -> dict[str, dict[str, Any]]:
    """The pairs of :func:`check_pairs`, all ``train`` or, with ``dev_share``, ``train`` and ``dev``
    with a dev share of pairs within its bounds; with ``files``, the folder holds exactly these
    (besides its README); with ``n_pairs``, exactly the pairs ``PREFIX-001`` ... ``PREFIX-<n_pairs>``;
    with ``min_pairs``, at least that many; with ``pairs_per_file``, that many consecutive pairs per
    file in the order of ``files``. Returns ``{pair: {lang: doc}}``."""
    if files is not None:
        assert sorted(p.name for p in folder.glob("*.md") if not p.name.startswith("README")) == sorted(files)
    pairs = check_pairs(docs, prefix, ("train", "dev") if dev_share else ("train",))
    if n_pairs is not None:
        assert len(docs) == 2 * n_pairs
        assert sorted(pairs) == [f"{prefix}-{i:03d}" for i in range(1, n_pairs + 1)]
    if min_pairs is not None:
        assert len(pairs) >= min_pairs, len(pairs)
    if dev_share:
        dev = sum(sides["fr"].meta["split"] == "dev" for sides in pairs.values())
        assert dev_share[0] <= dev / len(pairs) <= dev_share[1], f"{dev} dev pairs of {len(pairs)}"
    if pairs_per_file:
        assert files is not None
        for i, name in enumerate(files):
            ids = {d.meta["pair"] for d in read_markup_files([folder / name])}
            assert ids == {f"{prefix}-{pairs_per_file * i + k:03d}" for k in range(1, pairs_per_file + 1)}, name
    return pairs


def check_sides_agree(docs: Sequence[Any], *, same_refs: bool = True, same_relations: bool = True,
                      min_aligned_entities: float | None = None, min_shared_refs: float | None = None) -> None:
    """Both sides of every pair have the same refs with the same labels, and the same relations.

    With ``same_refs=False`` only a ref used on both sides must name the same label on both (and,
    with ``same_relations``, the relations among such refs must be the same). ``min_aligned_entities``:
    the refs used on both sides number at least that share of each document's entities;
    ``min_shared_refs``: at least that share of a pair's refs (FR and EN together) are on both sides.
    """
    by_pair: dict[str, dict[str, Any]] = {}
    for d in docs:
        by_pair.setdefault(d.meta["pair"], {})[d.lang] = d
    for pair, sides in by_pair.items():
        fr, en = sides["fr"], sides["en"]
        fr_labels = {ref: fr.entities[i].label for ref, i in fr.meta["refs"].items()}
        en_labels = {ref: en.entities[i].label for ref, i in en.meta["refs"].items()}
        shared = fr_labels.keys() & en_labels.keys()
        if same_refs:
            assert fr_labels == en_labels, pair
        assert all(fr_labels[ref] == en_labels[ref] for ref in shared), pair
        if same_relations:
            among = None if same_refs else shared
            assert relation_set(fr, among) == relation_set(en, among), pair
        if min_aligned_entities is not None:
            for d in (fr, en):
                assert len(shared) >= min_aligned_entities * len(d.entities), f"{d.id}: few aligned entities"
        if min_shared_refs is not None and fr_labels.keys() | en_labels.keys():
            share = len(shared) / len(fr_labels.keys() | en_labels.keys())
            assert share >= min_shared_refs, f"{pair}: only {share:.0%} of refs shared"


def check_refs_and_relations(doc: Any, max_relations: int, self_relations: bool = True) -> None:
    """Every entity has a ref, no relation twice (nor, without ``self_relations``, from an entity to
    itself), 1 to ``max_relations`` relations, a valid Doc."""
    assert len(doc.meta["refs"]) == len(doc.entities), doc.id
    assert len(relation_set(doc)) == len(doc.relations), f"{doc.id}: duplicate relation"
    assert 1 <= len(doc.relations) <= max_relations, doc.id
    assert self_relations or all(r.head != r.tail for r in doc.relations), doc.id
    doc.validate()


def is_generic_class(entity: Any) -> bool:
    """A generic equipment class marked by use, not a name (``[drones]``, ``[sous-marins]``,
    ``[munitions téléopérées]``): WEAPON or PLATFORM starting with a lower-case letter (docs/labels.md)."""
    return entity.label in ("WEAPON", "PLATFORM") and entity.text[:1].islower()


def check_sizes(doc: Any, entities: tuple[int, int] | None = None, words: tuple[int, int] | None = None,
                max_line_width: int | None = None) -> None:
    """The number of entities and of words within their (inclusive) bounds, no line wider than
    ``max_line_width``; ``None`` leaves a size unchecked. Generic classes (:func:`is_generic_class`)
    do not count against the upper bound: the bounds were set per folder before they were marked."""
    if entities is not None:
        named = sum(not is_generic_class(e) for e in doc.entities)
        assert entities[0] <= len(doc.entities) and named <= entities[1], f"{doc.id}: {len(doc.entities)} entities"
    if words is not None:
        assert words[0] <= len(doc.text.split()) <= words[1], f"{doc.id}: {len(doc.text.split())} words"
    if max_line_width is not None:
        assert max(len(line) for line in doc.text.split("\n")) <= max_line_width, doc.id


#: a dotted abbreviation keeps its final dot (``U.S.``, ``U.K.``): one word for :mod:`defnlp.words`
#: (or a rank/title abbreviation: "[Brig. Gen.]", "[Staff Sgt.]" as the layout dev set writes them)
_SPAN_ABBREVIATIONS = sorted(TITLE_ABBREVIATIONS | {"co", "inc", "corp", "ltd"}, key=len, reverse=True)
DOTTED_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:(?:[A-Za-z]\.){2,}|(?:" + "|".join(a.capitalize() for a in _SPAN_ABBREVIATIONS) + r")\.)$")
#: what a span may not end with (but see ``DOTTED_ABBREVIATION``)
TRAILING_PUNCTUATION = ".,;:!?»\""


def check_span_edges(doc: Any, articles: re.Pattern[str], trailing: str = TRAILING_PUNCTUATION,
                     abbreviation_dot: bool = True, stripped: bool = False) -> None:
    """No span starts with a leading article (``articles``), ends with a character of ``trailing``
    (with ``abbreviation_dot``, a dotted abbreviation keeps its dot) or spans a blank line; with
    ``stripped``, no span starts or ends with white space."""
    for e in doc.entities:
        assert not articles.match(e.text), (doc.id, e.text)
        assert e.text[-1] not in trailing or (abbreviation_dot and DOTTED_ABBREVIATION.search(e.text)), (doc.id, e.text)
        assert "\n\n" not in e.text, (doc.id, e.text)
        assert not stripped or e.text == e.text.strip(), (doc.id, e.text)


def check_in_one_block(doc: Any) -> None:
    """No entity crosses the boundary of a layout block (:func:`defnlp.layout.blocks`)."""
    bounds = blocks(doc.text)
    for e in doc.entities:
        assert any(a <= e.start and e.end <= b for a, b in bounds), (doc.id, e.text)


def check_no_unmarked_repeats(doc: Any, skip: Sequence[str] = ("ROLE", "DATE", "QUANTITY")) -> None:
    """Every whole-word occurrence of a marked name (labels outside ``skip``) lies inside an entity.
    A generic class (:func:`is_generic_class`) is marked by its use, not its string: the same noun
    stays outside next to a named model (``[Type 26] frigates``) or as a modifier (``missile defence``)."""
    spans = [(e.start, e.end) for e in doc.entities]
    for e in doc.entities:
        if e.label in skip or is_generic_class(e):
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(e.text)}(?!\w)", doc.text):
            assert any(a <= m.start() and m.end() <= b for a, b in spans), (doc.id, e.text, m.start())


def label_counts(docs: Iterable[Any], kind: str = "relation") -> Counter[tuple[str, str]]:
    """``(lang, label) -> count`` of the documents' relations (``kind="relation"``) or entities."""
    return Counter((d.lang, x.label) for d in docs for x in (d.relations if kind == "relation" else d.entities))


def check_in_both_languages(docs: Iterable[Any], labels: Iterable[str], at_least: int = 1,
                            kind: str = "relation") -> None:
    """Every label of ``labels`` occurs at least ``at_least`` times on the FR side and on the EN side
    (as a relation, or with ``kind="entity"`` as an entity)."""
    counts = label_counts(docs, kind)
    for label in labels:
        assert counts["fr", label] >= at_least and counts["en", label] >= at_least, label


def check_readme_counts(docs: Sequence[Any], readme: Path, entities: bool = True) -> None:
    """The README's per-label rows ``| LABEL | fr | en | total |`` (relations and, with ``entities``,
    entity labels) and its totals are the documents' counts."""
    text = readme.read_text(encoding="utf-8")
    rels = label_counts(docs, "relation")
    ents = label_counts(docs, "entity")
    for kind, counts in (("relation", rels), ("entity", ents))[: 2 if entities else 1]:
        for label in {label for _, label in counts}:
            row = re.search(rf"^\| {label} \| (\d+) \| (\d+) \| (\d+) \|$", text, re.MULTILINE)
            assert row, f"README has no {kind} row for {label}"
            fr, en = counts["fr", label], counts["en", label]
            assert [int(x) for x in row.groups()] == [fr, en, fr + en], label
    assert f"{len(docs)} documents" in text
    if entities:
        assert f"{sum(ents.values()):,} entities" in text and f"{sum(rels.values())} relations" in text
