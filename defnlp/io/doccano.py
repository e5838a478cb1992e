"""doccano JSONL export <-> :class:`~defnlp.doc.Doc`.

doccano exports one JSON object per line, in one of two forms:

* **sequence labelling**: ``{"id": 1, "text": "...", "label": [[start, end, "LOC"], ...]}``
  (``labels`` in doccano < 1.6);
* **relation extraction**: ``{"id": 1, "text": "...", "entities": [{"id": 3, "label": "LOC",
  "start_offset": 0, "end_offset": 5}], "relations": [{"id": 0, "from_id": 3, "to_id": 4,
  "type": "LOCATED_IN"}]}``.

:func:`read_doccano` (the ``doccano`` corpus reader) reads both, line by line; offsets are
code points (doccano's), checked against the text. The document id is ``id`` (doccano keeps the
``id`` of an imported line as metadata and exports it in place of its own), ``lang`` the
language when present. A line written as an error record by ``defnlp annotate``
(``{"id", "error"}``) is left out, and counted in the log. Anything else that does not fit
raises :class:`~defnlp.errors.RecordFormatError` naming the file and line.

:func:`doc_to_doccano` writes the relation form (doccano imports it in a "Sequence labeling"
project with relations enabled); scores are not kept, doccano has none.

>>> doc = Doc("Florence Parly visite Brest.", id="ex", lang="fr")
>>> _ = doc.add_entity(0, 14, "PER"); _ = doc.add_entity(22, 27, "LOC")
>>> _ = doc.add_relation(0, 1, "LOCATED_IN")
>>> line = doc_to_doccano(doc)
>>> line["entities"][1], line["relations"]
({'id': 2, 'label': 'LOC', 'start_offset': 22, 'end_offset': 27}, [{'id': 1, 'from_id': 1, 'to_id': 2, 'type': 'LOCATED_IN'}])
>>> doccano_to_doc(line) == doc
True
>>> doccano_to_doc({"text": "Brest", "label": [[0, 5, "LOC"]]}).entities[0].text
'Brest'
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..doc import Doc, Entity, Relation
from ..errors import DataNotFoundError, RecordFormatError
from ..text import decode_bytes

__all__ = ["read_doccano", "doccano_to_doc", "doc_to_doccano", "write_doccano"]

log = logging.getLogger(__name__)

_HINT = ('each line of a doccano export is {"text", "label": [[start, end, "LABEL"], ...]} (sequence labelling) or '
         '{"text", "entities": [{"id", "start_offset", "end_offset", "label"}], "relations": [{"from_id", "to_id", "type"}]}')


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entity(text: str, start: Any, end: Any, label: Any, where: str) -> Entity:
    if not (_int(start) and _int(end) and 0 <= start < end <= len(text)):
        raise RecordFormatError(f"{where}: span ({start!r}, {end!r}) is outside the text (length {len(text)})",
                                "doccano offsets are character indices with 0 <= start < end <= len(text); "
                                "was the text changed after annotation?")
    if not isinstance(label, str) or not label:
        raise RecordFormatError(f"{where}: span ({start}, {end}) has no label string (got {label!r})", _HINT)
    return Entity(start, end, label, text[start:end])


def doccano_to_doc(record: dict[str, Any], where: str = "record", text_key: str = "text") -> Doc:
    """The Doc of one doccano line (either form, see the module docstring)."""
    if not isinstance(record, dict):
        raise RecordFormatError(f"{where}: a doccano line must be a JSON object, got {type(record).__name__}", _HINT)
    text = record.get(text_key, record.get("data") if text_key == "text" else None)
    if not isinstance(text, str):
        raise RecordFormatError(f"{where}: no text string under {text_key!r}", "pass text_key= the field holding the text")
    doc_id = record.get("id")
    lang = record.get("lang")
    doc = Doc(text, id=None if doc_id is None else str(doc_id), lang=lang if isinstance(lang, str) else None)
    if "entities" in record or "relations" in record:
        entities, relations = record.get("entities") or [], record.get("relations") or []
        if not isinstance(entities, list) or not isinstance(relations, list):
            raise RecordFormatError(f"{where}: 'entities' and 'relations' must be lists", _HINT)
        index: dict[Any, int] = {}
        for k, e in enumerate(entities):
            if not isinstance(e, dict):
                raise RecordFormatError(f"{where}: entity {k} is not an object", _HINT)
            doc.entities.append(_entity(text, e.get("start_offset"), e.get("end_offset"), e.get("label"), f"{where}, entity {e.get('id', k)!r}"))
            if e.get("id") is not None:
                index[e["id"]] = len(doc.entities) - 1
        for k, r in enumerate(relations):
            if not isinstance(r, dict):
                raise RecordFormatError(f"{where}: relation {k} is not an object", _HINT)
            head, tail, label = index.get(r.get("from_id")), index.get(r.get("to_id")), r.get("type")
            if head is None or tail is None:
                raise RecordFormatError(f"{where}: relation {r.get('id', k)!r} refers to entity {r.get('from_id')!r} → "
                                        f"{r.get('to_id')!r}, not among the line's entity ids",
                                        "from_id and to_id are the ids of entities of the same line")
            if not isinstance(label, str) or not label:
                raise RecordFormatError(f"{where}: relation {r.get('id', k)!r} has no 'type' string", _HINT)
            doc.relations.append(Relation(head, tail, label))
        return doc.validate()
    spans = record.get("label", record.get("labels", []))
    if not isinstance(spans, list):
        raise RecordFormatError(f"{where}: 'label' must be a list of [start, end, label]", _HINT)
    for k, span in enumerate(spans):
        if isinstance(span, str):
            raise RecordFormatError(f"{where}: 'label' holds category names ({span!r}): a text classification export",
                                    "export a sequence labelling or relation extraction project")
        if not isinstance(span, (list, tuple)) or len(span) != 3:
            raise RecordFormatError(f"{where}: label {k} is {span!r}, not [start, end, label]", _HINT)
        doc.entities.append(_entity(text, *span, f"{where}, label {k}"))
    return doc.validate()


def read_doccano(path: str | os.PathLike, text_key: str = "text", encoding: str | None = None) -> list[Doc]:
    """The Docs of a doccano JSONL export (the ``doccano`` corpus reader), in line order.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "export.jsonl"
    >>> _ = f.write_text('{"id": 1, "text": "Thales", "label": [[0, 6, "ORG"]]}\\n', encoding="utf-8")
    >>> [(d.id, d.entities[0].label) for d in read_doccano(f)]
    [('1', 'ORG')]
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"doccano export not found: {path}", "give the .jsonl file exported from doccano")
    docs: list[Doc] = []
    errors = 0
    for n, line in enumerate(decode_bytes(path.read_bytes(), encoding, source=str(path)).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if n == 1 and line.lstrip().startswith("["):
                raise RecordFormatError(f"{path} is a JSON array, not JSON Lines", "export from doccano as JSONL") from err
            raise RecordFormatError(f"{where}: not valid JSON ({err.msg} at column {err.colno})", _HINT) from err
        if isinstance(record, dict) and "error" in record and "text" not in record:
            errors += 1
            continue
        docs.append(doccano_to_doc(record, where, text_key))
    if errors:
        log.warning("%s: left out %d error record(s) (documents defnlp could not annotate)", path, errors)
    return docs


def doc_to_doccano(doc: Doc) -> dict[str, Any]:
    """One doccano line (relation form) for ``doc``; entity ids count from 1."""
    out: dict[str, Any] = {}
    if doc.id is not None:
        out["id"] = doc.id
    out["text"] = doc.text
    if doc.lang is not None:
        out["lang"] = doc.lang
    out["entities"] = [{"id": i + 1, "label": e.label, "start_offset": e.start, "end_offset": e.end}
                       for i, e in enumerate(doc.entities)]
    out["relations"] = [{"id": k + 1, "from_id": r.head + 1, "to_id": r.tail + 1, "type": r.label}
                        for k, r in enumerate(doc.relations)]
    return out


def write_doccano(docs: Iterable[Doc], path: str | os.PathLike) -> Path:
    """Write ``docs`` as doccano JSONL (relation form) at ``path``, atomically.

    >>> import tempfile, pathlib
    >>> f = write_doccano([Doc("Brest", id="b")], pathlib.Path(tempfile.mkdtemp()) / "d.jsonl")
    >>> [d.id for d in read_doccano(f)]
    ['b']
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(doc_to_doccano(d), ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    os.replace(tmp, path)
    return path
