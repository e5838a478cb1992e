"""Loaders of the public corpora in the data directory (see docs/corpora.md).

Every loader takes ``data_dir`` (default: :func:`defnlp.config.data_dir`, i.e. ``--data-dir``
> ``DEFNLP_DATA_DIR`` > ``../shared/data``), raises :class:`~defnlp.errors.DataNotFoundError`
naming the missing path, and returns project types: :class:`~defnlp.doc.Doc` for NER/RE
corpora (labels mapped to the ``defence-v1`` scheme unless ``map_labels=False``),
:class:`WordAlignmentExample`, :class:`SentenceAlignmentBook`, :class:`ParallelSegment` and
plain tuples/dicts for the alignment and terminology resources.

=================== ======================================= ==========================
corpus              loader                                  returns
=================== ======================================= ==========================
re3d                :func:`load_re3d`                       Docs (entities, relations)
WiNER-fr            :func:`load_winer_fr`                   Docs (entities)
CoNLL-2003 (EN)     :func:`load_conll2003`                  Docs (one per sentence)
WikiGold (EN)       :func:`load_wikigold`                   Docs (one per sentence)
Hansards EN-FR WA   :func:`load_hansards`                   WordAlignmentExample
TransRead           :func:`load_transread`                  SentenceAlignmentBook
Tatoeba fra-eng     :func:`load_tatoeba`                    (fr, en) pairs
WMT14 newstest      :func:`load_wmt14`, ``_segments``       (fr, en) / ParallelSegment
FR defence terms    :func:`load_defence_terms`, ``_acronyms`` dicts
=================== ======================================= ==========================

Training code keeps BBC Online (CC BY-NC 3.0) out with ``exclude_bbc=True`` or ``meta["bbc"]``:

>>> train = load_re3d("train", exclude_bbc=True)  # doctest: +SKIP
>>> commercial_ok = [d for d in load_re3d() if not d.meta["bbc"]]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import config
from ..doc import Doc
from ..errors import ConfigError, DataNotFoundError, RecordFormatError
from ..scheme import load_scheme
from ..text import decode_bytes, trim_span
from .brat import read_brat
from .conll import flatten_entities, read_conll

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
    "WordAlignmentExample",
    "load_hansards",
    "SentenceAlignmentBook",
    "load_transread",
    "detokenize",
    "load_tatoeba",
    "ParallelSegment",
    "load_wmt14",
    "load_wmt14_segments",
    "load_defence_terms",
    "load_defence_acronyms",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


# ------------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------------
def _corpus(name: str, data_dir: str | os.PathLike | None) -> Path:
    return config.corpus_dir(name, data_dir)


def _file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataNotFoundError(f"missing corpus file: {path}")
    return path


def _read(path: Path, bom: bool = False) -> str:
    text = decode_bytes(path.read_bytes(), source=str(path))
    return text.lstrip("\ufeff") if bom else text


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}", "use 'train', 'dev', 'test' or None (all documents)")


def _progress(items: list, desc: str) -> Iterable:
    return tqdm(items, desc=desc, unit="doc", leave=False, disable=not config.is_interactive() or len(items) < 200)


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
    """
    path = _file(_corpus("wikigold_en", data_dir), "wikigold.test.conllu")
    docs = read_conll(path, token_col=1, tag_col=2, group_sentences=group_documents,
                      label_map=_conll_label_map(keep_misc), lang="en", name="wikigold")
    for d in docs:
        d.meta["corpus"] = "wikigold"
    return docs


# ------------------------------------------------------------------------------------------------
# Hansards word alignment
# ------------------------------------------------------------------------------------------------
@dataclass
class WordAlignmentExample:
    """A sentence pair with gold word links ``(en_index, fr_index)``, 0-based.

    ``sure`` ⊆ ``possible`` (AER convention: every sure link is also possible).

    >>> ex = WordAlignmentExample("1", ["the", "house"], ["la", "chambre"], {(0, 0), (1, 1)}, {(0, 0), (1, 1)})
    >>> ex.en_tokens[1], ex.fr_tokens[1]
    ('house', 'chambre')
    """

    id: str
    en_tokens: list[str]
    fr_tokens: list[str]
    sure: set[tuple[int, int]] = field(default_factory=set)
    possible: set[tuple[int, int]] = field(default_factory=set)


_SNUM_RE = re.compile(r"^<s snum=(?P<id>\d+)>(?P<body>.*?)</s>\s*$")


def _hansards_sentences(path: Path) -> list[tuple[str, list[str]]]:
    out = []
    for lineno, line in enumerate(_read(path).splitlines(), start=1):
        m = _SNUM_RE.match(line.strip())
        if m is None:
            raise RecordFormatError(f"{path}:{lineno}: expected '<s snum=N> tokens </s>'")
        out.append((m.group("id"), m.group("body").split()))
    return out


def load_hansards(part: str = "test", data_dir: str | os.PathLike | None = None) -> list[WordAlignmentExample]:
    """The NAACL-2003 English-French Hansards word-alignment gold (``test``: 447 pairs,
    ``trial``: 37). Tokens are lowercased and tokenised as distributed; links come from
    ``<part>.align`` (``f-e`` pairs, ``-P`` = possible; no NULL links).
    """
    if part not in ("test", "trial"):
        raise ConfigError(f"unknown Hansards part {part!r}", "use 'test' (447 pairs) or 'trial' (37 pairs)")
    root = _corpus("hansards_enfr_wa", data_dir)
    en = _hansards_sentences(_file(root, f"{part}.e"))
    fr = _hansards_sentences(_file(root, f"{part}.f"))
    links = _read(_file(root, f"{part}.align")).splitlines()
    if not len(en) == len(fr) == len(links):
        raise RecordFormatError(f"Hansards {part}: {len(en)} English, {len(fr)} French and {len(links)} alignment lines")
    examples = []
    for lineno, ((en_id, en_toks), (fr_id, fr_toks), line) in enumerate(zip(en, fr, links), start=1):
        if en_id != fr_id:
            raise RecordFormatError(f"Hansards {part} line {lineno}: sentence ids differ ({en_id} / {fr_id})")
        ex = WordAlignmentExample(en_id, en_toks, fr_toks)
        for item in line.split():
            m = re.fullmatch(r"(\d+)-(\d+)(-P)?", item)
            if m is None:
                raise RecordFormatError(f"{part}.align:{lineno}: malformed link {item!r}", "links look like 'f-e' or 'f-e-P'")
            f_i, e_i = int(m.group(1)), int(m.group(2))
            if not (e_i < len(en_toks) and f_i < len(fr_toks)):
                raise RecordFormatError(f"{part}.align:{lineno}: link {item!r} is outside the sentences")
            ex.possible.add((e_i, f_i))
            if m.group(3) is None:
                ex.sure.add((e_i, f_i))
        examples.append(ex)
    return examples


# ------------------------------------------------------------------------------------------------
# TransRead sentence alignment
# ------------------------------------------------------------------------------------------------
@dataclass
class SentenceAlignmentBook:
    """One EN/FR novel with its gold n-m sentence links.

    ``links[k] = (en_indices, fr_indices)`` into ``en_sentences`` / ``fr_sentences``; either
    list may be empty (1-0 and 0-1 links). ``en_ids``/``fr_ids`` are the XML sentence ids.
    """

    name: str
    en_sentences: list[str]
    fr_sentences: list[str]
    links: list[tuple[list[int], list[int]]]
    en_ids: list[str] = field(default_factory=list)
    fr_ids: list[str] = field(default_factory=list)


_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "…", "...", "n't"}
_NO_SPACE_AFTER = {"(", "[", "{", "¿", "¡"}
_FRENCH_SPACED = {";", ":", "!", "?"}  # French typography keeps a space before these
_QUOTES = {'"', "'"}


def _attaches_to_previous(tok: str, lang: str) -> bool:
    """Closing punctuation (French keeps a space before ``; : ! ?``) and English clitics."""
    if tok in _NO_SPACE_BEFORE:
        return not (lang == "fr" and tok in _FRENCH_SPACED)
    return lang == "en" and re.fullmatch(r"['’][a-zA-Z]{1,2}|n['’]t", tok) is not None


def detokenize(tokens: list[str], lang: str = "en") -> str:
    """Join tokens into readable text (the rule used for TransRead sentences).

    No space before closing punctuation (``, . ; : ! ? ) ] %``; in French ``; : ! ?`` keep
    their space) nor before English clitics (``'s``, ``n't``, ``'ll``...); no space after
    opening brackets nor after French elisions (``l'``, ``qu'``); straight quotes alternate
    between opening (no space after) and closing (no space before).

    >>> detokenize(["He", "said", ",", '"', "I", "'m", "here", '"', "."])
    'He said, "I\\'m here".'
    >>> detokenize(["Il", "dit", ":", "c'", "est", "l'", "heure", "!"], lang="fr")
    "Il dit : c'est l'heure !"
    """
    out: list[str] = []
    glue_next = False
    open_quote = {q: False for q in _QUOTES}
    for tok in tokens:
        space = bool(out) and not glue_next
        glue_next = False
        if tok in _QUOTES:
            if open_quote[tok]:
                space = False  # closing quote
            else:
                glue_next = True  # opening quote
            open_quote[tok] = not open_quote[tok]
        elif _attaches_to_previous(tok, lang):
            space = False
        if tok in _NO_SPACE_AFTER or (lang == "fr" and re.fullmatch(r"[^\W\d_]{1,7}['’]", tok)):
            glue_next = True
        if space:
            out.append(" ")
        out.append(tok)
    return "".join(out)


def _cut_sentences(path: Path, lang: str) -> tuple[list[str], list[str]]:
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError as err:
        raise RecordFormatError(f"{path}: not valid XML ({err})") from err
    ids, sentences = [], []
    for s in root.iter("s"):
        ids.append(s.get("id"))
        sentences.append(detokenize([(w.text or "").strip() for w in s.iter("w") if (w.text or "").strip()], lang))
    return ids, sentences


def load_transread(novel: str | None = None, data_dir: str | os.PathLike | None = None) -> list[SentenceAlignmentBook]:
    """TransRead gold sentence alignments of 11 EN/FR novels (5,260 links, CC BY-SA 4.0).

    ``novel``: a book name such as ``"Candide"`` (``None`` = all, in name order). Sentences
    are the ``<s>`` of ``cut_<book>_{en,fr}.xml`` in document order, their ``<w>`` tokens
    joined with :func:`detokenize`.
    """
    root = _corpus("transread_enfr_sentalign", data_dir)
    books = sorted(p.name[: -len("_EN-FR")] for p in root.glob("*_EN-FR") if p.is_dir())
    if novel is not None:
        if novel not in books:
            raise DataNotFoundError(f"no TransRead novel {novel!r} under {root}", f"available: {', '.join(books)}")
        books = [novel]
    out = []
    for name in books:
        folder = root / f"{name}_EN-FR"
        en_ids, en = _cut_sentences(_file(folder, f"cut_{name}_en.xml"), "en")
        fr_ids, fr = _cut_sentences(_file(folder, f"cut_{name}_fr.xml"), "fr")
        en_pos = {sid: i for i, sid in enumerate(en_ids)}
        fr_pos = {sid: i for i, sid in enumerate(fr_ids)}
        align_path = _file(folder, f"{name}_sent_align_en-fr.xml")
        try:
            align = ET.fromstring(align_path.read_bytes())
        except ET.ParseError as err:
            raise RecordFormatError(f"{align_path}: not valid XML ({err})") from err
        links = []
        for link in align.iter("link"):
            targets = link.get("xtargets", "")
            if ";" not in targets:
                raise RecordFormatError(f"{align_path}: link {link.get('id')} has no 'en_ids;fr_ids' xtargets")
            en_part, fr_part = targets.split(";", 1)
            try:
                links.append(([en_pos[x] for x in en_part.split()], [fr_pos[x] for x in fr_part.split()]))
            except KeyError as err:
                raise RecordFormatError(f"{align_path}: link {link.get('id')} names unknown sentence {err.args[0]!r}") from None
        out.append(SentenceAlignmentBook(name, en, fr, links, en_ids, fr_ids))
    return out


# ------------------------------------------------------------------------------------------------
# parallel sentences: Tatoeba, WMT14
# ------------------------------------------------------------------------------------------------
def _parallel_lines(fr_path: Path, en_path: Path) -> list[tuple[str, str]]:
    fr = _read(fr_path).splitlines()
    en = _read(en_path).splitlines()
    if len(fr) != len(en):
        raise RecordFormatError(f"{fr_path.name} has {len(fr)} lines but {en_path.name} has {len(en)}")
    return list(zip(fr, en))


def load_tatoeba(data_dir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """The 1,000 Tatoeba French-English sentence pairs (LASER test set) as ``(fr, en)``."""
    root = _corpus("tatoeba_fra_eng", data_dir)
    return _parallel_lines(_file(root, "tatoeba.fra-eng.fra"), _file(root, "tatoeba.fra-eng.eng"))


@dataclass(frozen=True)
class ParallelSegment:
    """A WMT14 newstest segment pair: ``index`` is its 0-based line in the test set."""

    index: int
    fr: str
    en: str
    doc_id: str
    seg_id: int
    origlang: str
    defence: bool


def load_wmt14_segments(defence_only: bool = False, data_dir: str | os.PathLike | None = None) -> list[ParallelSegment]:
    """WMT14 newstest2014 fr-en (3,003 segments) with their article ids and original language;
    ``defence=True`` on the 123 segments listed in ``defence_keyword_segment_ids.txt``."""
    root = _corpus("wmt14_newstest2014_fren", data_dir)
    pairs = _parallel_lines(_file(root, "newstest2014.fr-en.fr"), _file(root, "newstest2014.fr-en.en"))
    sgm = _read(_file(root, "newstest2014-fren-src.fr.sgm"))
    seg_docs: list[tuple[str, str, int]] = []
    for doc in re.finditer(r'<doc docid="(?P<id>[^"]+)"[^>]*?origlang="(?P<lang>\w+)"[^>]*>(?P<body>.*?)</doc>', sgm, re.DOTALL):
        for seg in re.finditer(r'<seg id="(\d+)">', doc.group("body")):
            seg_docs.append((doc.group("id"), doc.group("lang"), int(seg.group(1))))
    if len(seg_docs) != len(pairs):
        raise RecordFormatError(f"WMT14: the .sgm has {len(seg_docs)} segments but the plain text has {len(pairs)} lines")
    defence = {int(x) for x in _read(_file(root, "defence_keyword_segment_ids.txt")).split()}
    segments = [
        ParallelSegment(i, fr, en, doc_id, seg_id, lang, i in defence)
        for i, ((fr, en), (doc_id, lang, seg_id)) in enumerate(zip(pairs, seg_docs))
    ]
    return [s for s in segments if s.defence] if defence_only else segments


def load_wmt14(defence_only: bool = False, data_dir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """WMT14 newstest2014 as ``(fr, en)`` pairs (3,003, or the 123 defence segments);
    :func:`load_wmt14_segments` gives the same pairs with their ids."""
    return [(s.fr, s.en) for s in load_wmt14_segments(defence_only, data_dir)]


# ------------------------------------------------------------------------------------------------
# French defence terminology
# ------------------------------------------------------------------------------------------------
def _tsv(path: Path) -> list[dict[str, str | None]]:
    rows = list(csv.DictReader(_read(path).splitlines(), delimiter="\t"))
    return [{k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items()} for row in rows]


def load_defence_terms(data_dir: str | os.PathLike | None = None) -> list[dict[str, str | None]]:
    """The 41 official FR→EN defence terms (Commission de terminologie de la défense).

    Keys: ``fr_term``, ``pos`` (e.g. ``n.f.``), ``domain`` (e.g. ``Défense / Armement``),
    ``en_term``, ``source`` (the official act).
    """
    return _tsv(_file(_corpus("fr_defence_terminology", data_dir), "fr_en_defence_terms.tsv"))


def load_defence_acronyms(data_dir: str | os.PathLike | None = None) -> list[dict[str, str | None]]:
    """The 150 French defence acronyms and programme names of the 2003-2008 LPM glossary.

    Keys: ``acronym_or_name`` (e.g. ``AASM``), ``fr_expansion``, ``en_expansion_if_given``
    (``None`` for all but 16).
    """
    return _tsv(_file(_corpus("fr_defence_terminology", data_dir), "fr_defence_acronyms_lpm2003.tsv"))
