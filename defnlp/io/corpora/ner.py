"""The NER (and relation) corpora: re3d, WiNER-fr, CoNLL-2003 and WikiGold, read into Docs.

Labels are mapped to the ``defence-v1`` scheme unless ``map_labels=False``; see
docs/corpora.md for the decisions each loader makes and the figures it gives.

>>> docs = load_re3d("train", exclude_bbc=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...doc import Doc
from ...errors import ConfigError, DataNotFoundError, RecordFormatError
from ...scheme import load_scheme
from ...text import trim_span
from ..brat import read_brat
from ..conll import flatten_entities, read_conll
from ._common import _check_split, _corpus, _file, _progress, _read

__all__ = [
    "load_re3d",
    "re3d_licence",
    "re3d_link_report",
    "RE3D_LICENCES",
    "RE3D_NON_COMMERCIAL",
    "flatten_entities",
    "load_winer_fr",
    "WINER_EXTRA_LABELS",
    "load_conll2003",
    "load_wikigold",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# re3d
# ------------------------------------------------------------------------------------------------
#: licence of each re3d sub-corpus (from its LICENSE file)
RE3D_LICENCES: dict[str, str] = {
    "Australian Department of Foreign Affairs": "CC BY 3.0 AU",
    "BBC Online": "CC BY-NC 3.0",
    "CENTCOM": "US public domain",
    "Delegation of the European Union to Syria": "EC reuse notice (reuse with acknowledgement)",
    "UK Government": "OGL v3.0",
    "US State Department": "US public domain",
    "Wikipedia": "CC BY-SA 3.0",
}
#: sub-corpora that must not be used to train a shipped model (non-commercial licence)
RE3D_NON_COMMERCIAL = frozenset({"BBC Online"})


def re3d_licence(source: str) -> str:
    """The licence of an re3d sub-corpus (``doc.meta["source"]``).

    >>> re3d_licence("BBC Online")
    'CC BY-NC 3.0'
    """
    try:
        return RE3D_LICENCES[source]
    except KeyError:
        raise ConfigError(f"unknown re3d source {source!r}", f"known sources: {', '.join(RE3D_LICENCES)}") from None


def _ndjson(path: Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, line in enumerate(_read(path, bom=True).splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise RecordFormatError(f"{path}:{lineno}: not valid JSON ({err.msg})") from err
    return rows


@dataclass
class _Re3dRaw:
    source: str
    document: dict[str, Any]
    entities: list[dict[str, Any]]
    relations: list[dict[str, Any]]


def _read_re3d_raw(root: Path) -> list[_Re3dRaw]:
    raws = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        documents = _ndjson(_file(folder, "documents.json"))
        entities, relations = defaultdict(list), defaultdict(list)
        for row in _ndjson(_file(folder, "entities.json")):
            entities[row["documentId"]].append(row)
        for row in _ndjson(_file(folder, "relations.json")):
            relations[row["documentId"]].append(row)
        for document in documents:
            raws.append(_Re3dRaw(folder.name, document, entities[document["_id"]], relations[document["_id"]]))
    if not raws:
        raise DataNotFoundError(f"no re3d sub-corpora under {root}")
    return raws


def _re3d_splits(root: Path) -> dict[str, str]:
    data = json.loads(_read(_file(root, "SPLITS.json")))
    return {item["documentId"]: split for split, items in data["splits"].items() for item in items}


def _build_re3d_doc(
    raw: _Re3dRaw,
    min_confidence: float,
    map_labels: bool,
    restore_relation_entities: bool,
    strict_relations: bool,
    counts: Counter,
) -> Doc:
    """One re3d document as a Doc; ``counts`` accumulates what happened to the rows."""
    scheme = load_scheme()
    ent_map = scheme.mapping("re3d", "entities") if map_labels else None
    rel_map = scheme.mapping("re3d", "relations") if map_labels else None
    text = raw.document["text"]
    doc_id = raw.document["_id"]

    def label_of(row: dict[str, Any]) -> str | None:
        return ent_map.get(row["type"]) if ent_map is not None else row["type"]

    # every row by span, best confidence first: used both to keep entities and to restore them
    by_span: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in raw.entities:
        if text[row["begin"] : row["end"]] != row["value"]:
            counts["entity_value_mismatch"] += 1
        by_span[(row["begin"], row["end"])].append(row)
    for rows in by_span.values():
        rows.sort(key=lambda r: -r["confidence"])

    doc = Doc(text, id=doc_id, lang="en")
    span_index: dict[tuple[int, int], int] = {}  # re3d span (begin, end) -> entity index
    trimmed_index: dict[tuple[int, int], int] = {}  # entity span, whitespace trimmed -> entity index

    def add(span: tuple[int, int], label: str) -> int | None:
        """Add the entity at ``span`` trimmed of whitespace (None if blank); merge same spans."""
        trimmed = trim_span(text, *span)
        if trimmed[0] >= trimmed[1]:
            counts["entity_blank_dropped"] += 1
            return None
        if trimmed != span:
            counts["entity_trimmed"] += 1
        if trimmed in trimmed_index:
            counts["entity_duplicates_removed"] += 1
        else:
            trimmed_index[trimmed] = doc.add_entity(trimmed[0], trimmed[1], label)
        span_index[span] = trimmed_index[trimmed]
        return span_index[span]

    for span, rows in sorted(by_span.items()):
        kept = [r for r in rows if r["confidence"] >= min_confidence and label_of(r) is not None]
        counts["entity_rows_kept_types"] += len(kept)
        if kept:
            counts["entity_duplicates_removed"] += len(kept) - 1
            add(span, label_of(kept[0]))

    restored: list[int] = []  # indices of entities brought back for a relation
    seen_relations: dict[tuple[int, int, str], float] = {}
    for row in raw.relations:
        if row["confidence"] < min_confidence:
            continue
        counts["relation_rows"] += 1
        label = rel_map.get(row["type"]) if rel_map is not None else row["type"]
        if label is None:
            counts["relation_dropped_type"] += 1
            continue
        ends = []
        for side in ("source", "target"):
            span = (row[f"{side}Begin"], row[f"{side}End"])
            if span in span_index:
                ends.append((span, doc.entities[span_index[span]].label, False))
                continue
            candidates = [r for r in by_span.get(span, []) if label_of(r) is not None and text[span[0] : span[1]].strip()]
            ends.append((span, label_of(candidates[0]) if candidates else None, True))
        if any(lab is None for _, lab, _ in ends) or (any(missing for *_, missing in ends) and not restore_relation_entities):
            counts["relation_dropped_unlinked"] += 1
            continue
        if map_labels and row["type"] == "HasAttrOf" and ends[1][1] != "QUANTITY":
            counts["relation_dropped_type"] += 1  # HasAttrOf is HAS_QUANTITY only towards a Quantity
            continue
        idx = []
        for span, lab, missing in ends:
            if missing and span not in span_index:
                before = len(doc.entities)
                add(span, lab)
                if len(doc.entities) > before:
                    restored.append(span_index[span])
                    counts["entities_restored"] += 1
            idx.append(span_index[span])
        if map_labels and not scheme.allows(label, ends[0][1], ends[1][1]):
            counts["relations_outside_scheme"] += 1
            if strict_relations:
                continue
        counts["relation_restored" if any(m for *_, m in ends) else "relation_linked"] += 1
        key = (idx[0], idx[1], label)
        if key in seen_relations:
            counts["relation_duplicates_removed"] += 1
            continue
        seen_relations[key] = row["confidence"]
        doc.add_relation(idx[0], idx[1], label)
    if restored:
        restored_spans = {doc.entities[i].span for i in restored}
        doc.sort_entities()  # restored entities were appended: put them back in text order
        doc.meta["restored_entities"] = [i for i, e in enumerate(doc.entities) if e.span in restored_spans]
    counts["entities"] += len(doc.entities)
    counts["relations"] += len(doc.relations)
    return doc


def _iter_re3d(
    split: str | None,
    min_confidence: float,
    map_labels: bool,
    restore_relation_entities: bool,
    strict_relations: bool,
    data_dir: str | os.PathLike | None,
    counts: Counter,
) -> list[Doc]:
    _check_split(split)
    root = _corpus("re3d", data_dir)
    splits = _re3d_splits(root)
    docs = []
    for raw in _read_re3d_raw(root):
        doc_split = splits.get(raw.document["_id"])
        if doc_split is None:
            raise RecordFormatError(f"re3d document {raw.document['_id']} ({raw.source}) is not in SPLITS.json")
        if split is not None and doc_split != split:
            continue
        doc = _build_re3d_doc(raw, min_confidence, map_labels, restore_relation_entities, strict_relations, counts)
        doc.meta.update(
            {
                "corpus": "re3d",
                "source": raw.source,
                "document_id": raw.document["_id"],
                "title": raw.document.get("title"),
                "url": raw.document.get("sourceUrl"),
                "split": doc_split,
                "bbc": raw.source == "BBC Online",
                "licence": re3d_licence(raw.source),
            }
        )
        docs.append(doc)
    return docs


def load_re3d(
    split: str | None = None,
    min_confidence: float = 0.5,
    map_labels: bool = True,
    exclude_bbc: bool = False,
    restore_relation_entities: bool = True,
    strict_relations: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> list[Doc]:
    """The re3d documents (English defence/intelligence NER + relations), 98 in all.

    * ``split``: ``"train"``/``"dev"``/``"test"`` from ``re3d/SPLITS.json``, ``None`` = all.
      BBC Online (CC BY-NC 3.0) is only in ``test``; ``exclude_bbc=True`` also leaves it out
      of any selection, and every Doc has ``meta["bbc"]`` and ``meta["licence"]``.
    * Entities: rows with ``confidence >= min_confidence``, mapped to defence-v1
      (CommsIdentifier, Frequency, Coordinate, Url dropped); rows with the same span are
      merged (the most confident row gives the label); spans are trimmed of leading and
      trailing whitespace, and a whitespace-only row is dropped. Entities may overlap: use
      :func:`flatten_entities` before BIO training. The text at the offsets is the
      reference (5 rows have a normalised ``value``: quotes, newlines).
    * Relations: rows with ``confidence >= min_confidence``, mapped (``HasAttrOf`` becomes
      ``HAS_QUANTITY`` only when its tail is a ``QUANTITY``; Likes/Dislikes/Apart dropped),
      linked to entities by exact ``(begin, end)`` of their source and target spans.
      When an end matches no kept entity but re3d has an entity row at that exact span
      whose confidence is below the threshold, that entity is restored (its most confident
      row's label) and its index listed in ``meta["restored_entities"]``
      (``restore_relation_entities=False`` drops such relations instead). Relations whose
      ends have no entity row at all are dropped; duplicates are merged. re3d's relation
      types are broader than defence-v1's (e.g. InChargeOf between an ORG and a LOC):
      such relations are kept unless ``strict_relations=True``, which drops every relation
      that :meth:`~defnlp.scheme.LabelScheme.allows` rejects for its entity labels.
    * ``map_labels=False`` keeps re3d's own entity and relation types.
    * ``meta``: corpus, source (sub-corpus), document_id, title, url, split, bbc, licence.

    >>> docs = load_re3d("test")  # doctest: +SKIP
    >>> len(docs), sum(d.meta["bbc"] for d in docs)  # doctest: +SKIP
    (18, 8)
    """
    counts: Counter = Counter()
    docs = _iter_re3d(split, min_confidence, map_labels, restore_relation_entities, strict_relations, data_dir, counts)
    if exclude_bbc:
        docs = [d for d in docs if not d.meta["bbc"]]
    if counts["entity_value_mismatch"]:
        log.info("re3d: %d entity rows have a value that differs from the text at their offsets; the text was kept", counts["entity_value_mismatch"])
    log.info(
        "re3d (%s): %d docs, %d entities, %d relations (%d relation rows: %d linked, %d with a restored entity, %d dropped by type, %d unlinked)",
        split or "all", len(docs), counts["entities"], counts["relations"], counts["relation_rows"], counts["relation_linked"],
        counts["relation_restored"], counts["relation_dropped_type"], counts["relation_dropped_unlinked"],
    )
    return docs


def re3d_link_report(
    min_confidence: float = 0.5, map_labels: bool = True, data_dir: str | os.PathLike | None = None
) -> dict[str, int]:
    """What :func:`load_re3d` did with re3d's rows (all documents), as counts.

    Keys: ``relation_rows`` (rows at or above the threshold), ``relation_linked`` (both ends
    matched kept entities), ``relation_restored`` (an end matched a below-threshold entity,
    restored), ``relation_dropped_type``, ``relation_dropped_unlinked``,
    ``relation_duplicates_removed``, ``entities_restored``, ``entity_value_mismatch``,
    ``entity_duplicates_removed``, ``entities``, ``relations``.

    >>> re3d_link_report()["relation_rows"]  # doctest: +SKIP
    1327
    """
    counts: Counter = Counter({key: 0 for key in _RE3D_COUNT_KEYS})
    _iter_re3d(None, min_confidence, map_labels, True, False, data_dir, counts)
    return dict(counts)


_RE3D_COUNT_KEYS = (
    "relation_rows", "relation_linked", "relation_restored", "relation_dropped_type", "relation_dropped_unlinked",
    "relation_duplicates_removed", "entities_restored", "entity_value_mismatch", "entity_duplicates_removed",
    "entity_trimmed", "entity_blank_dropped", "entity_rows_kept_types", "entities", "relations", "relations_outside_scheme",
)


# ------------------------------------------------------------------------------------------------
# WiNER-fr
# ------------------------------------------------------------------------------------------------
#: WiNER labels that defence-v1 does not have; kept (under these names) only with keep_extra=True
WINER_EXTRA_LABELS = {"Hour": "HOUR", "Event": "EVENT", "Product": "PRODUCT"}


def load_winer_fr(
    split: str | None = None,
    defence_only: bool = False,
    map_labels: bool = True,
    keep_extra: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> list[Doc]:
    """WiNER-fr: 1,191 French Wikinews articles with gold entities (brat standoff).

    * ``split`` from ``winer_fr/SPLITS.json`` (``None`` = all); ``defence_only=True`` keeps
      the 209 documents of ``defence_keyword_docs.txt``.
    * Labels: Person→PER, Location→LOC, Organization→ORG, Date→DATE; Hour, Event and
      Product are dropped, or kept as HOUR/EVENT/PRODUCT with ``keep_extra=True``
      (``map_labels=False`` keeps WiNER's names).
    * Nested entities: after dropping labels, only the outermost entity is kept
      (:func:`flatten_entities` with ``prefer="longest"``; same-span pairs keep the one listed
      first in the ``.ann``; the one crossing pair keeps the longer entity).
    * The one span that includes a trailing U+200F is shrunk to its surface text.
    * ``meta``: corpus, path, split, url, defence (bool), licence, ignore_spans (the spans of
      the dropped types, which training leaves unsupervised).

    >>> docs = load_winer_fr("test", defence_only=True)  # doctest: +SKIP
    >>> len(docs), docs[0].id  # doctest: +SKIP
    (37, '2016/01/2016_01_10-001')
    """
    _check_split(split)
    root = _corpus("winer_fr", data_dir)
    splits_data = json.loads(_read(_file(root, "SPLITS.json")))
    split_of = {path: name for name, paths in splits_data["splits"].items() for path in paths}
    defence = {line.strip() for line in _read(_file(root, "defence_keyword_docs.txt")).splitlines() if line.strip()}
    urls: dict[str, str] = {}
    for url_file in sorted(root.glob("20*/20*-urls.txt")):
        for line in _read(url_file).splitlines():
            if "\t" in line:
                key, url = line.split("\t", 1)
                urls[key.strip()] = url.strip()

    label_map: dict[str, str | None] = dict(load_scheme().mapping("winer_fr", "entities")) if map_labels else {}
    extra_names = set()
    for raw, extra in WINER_EXTRA_LABELS.items():
        label_map[raw] = extra if map_labels else raw  # read them, drop them below unless keep_extra
        extra_names.add(label_map[raw])

    selected = sorted(p for p, s in split_of.items() if (split is None or s == split) and (not defence_only or p in defence))
    docs = []
    nested_removed = 0
    for rel in _progress(selected, "WiNER-fr"):
        txt = root / f"{rel}.txt"
        if not txt.is_file():
            raise DataNotFoundError(f"missing WiNER-fr document: {txt}")
        doc = read_brat(txt, label_map=label_map, doc_id=rel, lang="fr")
        # spans of the dropped types: training gives their tokens no supervision (they may be
        # weapons or platforms that WiNER files under Product)
        ignore = [[e.start, e.end] for e in doc.entities if e.label in extra_names]
        if not keep_extra:
            doc.entities = [e for e in doc.entities if e.label not in extra_names]
        flat = flatten_entities(doc, prefer="longest")
        nested_removed += len(doc.entities) - len(flat.entities)
        flat.meta.update(
            {
                "corpus": "winer_fr",
                "path": rel,
                "split": split_of[rel],
                "url": urls.get(Path(rel).name),
                "defence": rel in defence,
                "licence": "annotations CC BY 4.0; text CC BY 2.5 (Wikinews)",
                "ignore_spans": [] if keep_extra else ignore,
            }
        )
        docs.append(flat)
    log.info("WiNER-fr (%s%s): %d docs, %d entities (%d nested entities removed)",
             split or "all", ", defence" if defence_only else "", len(docs), sum(len(d.entities) for d in docs), nested_removed)
    return docs


# ------------------------------------------------------------------------------------------------
# CoNLL-2003 and WikiGold (English NER test sets)
# ------------------------------------------------------------------------------------------------
def _conll_label_map(keep_misc: bool) -> dict[str, str | None]:
    mapping = dict(load_scheme().mapping("conll2003", "entities"))
    if keep_misc:
        mapping["MISC"] = "MISC"
    return mapping


def load_conll2003(
    part: str = "testb",
    keep_misc: bool = False,
    group_documents: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> list[Doc]:
    """CoNLL-2003 English (Reuters; research/evaluation use only), one Doc per sentence.

    ``part``: ``"testb"`` (official test, 3,453 sentences) or ``"testa"`` (dev). PER/ORG/LOC
    are kept and MISC dropped (``keep_misc=True`` keeps it). Each Doc has ``meta["tokens"]``.
    ``group_documents=True`` (testb only) gives one Doc per news article instead, from the
    copy of testb that kept its 231 ``-DOCSTART-`` lines (same tokens and tags).

    >>> docs = load_conll2003()  # doctest: +SKIP
    >>> len(docs), docs[0].id  # doctest: +SKIP
    (3453, 'conll2003-testb:0')
    """
    if part not in ("testa", "testb"):
        raise ConfigError(f"unknown CoNLL-2003 part {part!r}", "use 'testb' (test) or 'testa' (dev)")
    root = _corpus("conll2003_en", data_dir)
    label_map = _conll_label_map(keep_misc)
    if group_documents:
        if part != "testb":
            raise ConfigError("group_documents is only available for testb", "document boundaries are only kept in the testb copy")
        path = _file(root, "test.wikineural-repo.conllu")
        docs = read_conll(path, token_col=1, tag_col=2, group_sentences=True, label_map=label_map, lang="en", name="conll2003-testb")
    else:
        path = _file(root, f"eng.{part}")
        docs = read_conll(path, token_col=0, tag_col=-1, label_map=label_map, lang="en", name=f"conll2003-{part}")
    for d in docs:
        d.meta["corpus"] = "conll2003"
    return docs


def load_wikigold(
    keep_misc: bool = False,
    group_documents: bool = False,
    data_dir: str | os.PathLike | None = None,
) -> list[Doc]:
    """WikiGold (manually annotated English Wikipedia, CC BY 3.0), one Doc per sentence
    (or per article with ``group_documents=True``); MISC dropped unless ``keep_misc``.

    >>> len(load_wikigold()), len(load_wikigold(group_documents=True))  # doctest: +SKIP
    (1696, 145)
    """
    path = _file(_corpus("wikigold_en", data_dir), "wikigold.test.conllu")
    docs = read_conll(path, token_col=1, tag_col=2, group_sentences=group_documents,
                      label_map=_conll_label_map(keep_misc), lang="en", name="wikigold")
    for d in docs:
        d.meta["corpus"] = "wikigold"
    return docs
