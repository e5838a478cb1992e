"""Label Studio JSON export <-> :class:`~defnlp.doc.Doc`: the correction loop's annotation tool.

A Label Studio export (``Export → JSON``) is a JSON list of tasks::

    [{"id": 7, "data": {"text": "...", "id": "doc-1"},
      "annotations": [{"id": 3, "was_cancelled": false, "result": [
          {"id": "e1", "type": "labels", "from_name": "label", "to_name": "text",
           "value": {"start": 0, "end": 5, "text": "Brest", "labels": ["LOC"]}},
          {"type": "relation", "from_id": "e1", "to_id": "e2", "direction": "right", "labels": ["LOCATED_IN"]}]}],
      "predictions": [{"model_version": "...", "score": 0.9, "result": [...]}]}]

Reading (:func:`read_labelstudio`, the ``labelstudio`` corpus reader), per task:

* the text is ``data[text_key]`` (``text`` by default), the document id ``data.id`` (else the
  task's ``id``), the language ``data.lang`` when present;
* of its ``annotations``, the **last one not cancelled** (``was_cancelled``) is read; a task
  whose annotations are all cancelled (the annotator skipped it) is left out;
* ``predictions`` (the last one) are read only when the task has no annotation at all; the
  Doc then says so: ``meta["labelstudio"]["from"] == "predictions"`` (else ``"annotation"``),
  and entities keep the prediction's scores. A task with neither is left out (it was never
  annotated: training on it would teach that it mentions nothing);
* ``labels`` results become entities (one per label), ``relation`` results relations
  (``direction: "left"`` reverses them, ``"bi"`` reads as ``"right"``; one per label; a relation
  without a label is left out); other result types (choices, textarea, ...) are skipped, with
  one logged count.

Offsets are checked: inside the text, and ``value.text`` equal to the text at them. Label
Studio counted offsets in UTF-16 code units before 1.4 (an emoji counts 2): such spans are
recognised and converted. Any other mismatch raises
:class:`~defnlp.errors.RecordFormatError` naming the task and the result id.

Writing (:func:`doc_to_task`, :func:`write_labelstudio`, ``defnlp annotate --format
labelstudio``) gives tasks Label Studio imports: entities as ``labels`` results, relations as
``relation`` results, the document id in ``data.id`` (and ``data.lang``), as ``annotations``
(gold) or as ``predictions`` with their scores (pre-annotations to correct). The labelling
configuration the results refer to (``from_name="label"``, ``to_name="text"``) is
:func:`labeling_config`.

>>> doc = Doc("Florence Parly visite Brest.", id="ex", lang="fr")
>>> _ = doc.add_entity(0, 14, "PER"); _ = doc.add_entity(22, 27, "LOC")
>>> _ = doc.add_relation(0, 1, "LOCATED_IN")
>>> task = doc_to_task(doc)
>>> [r["type"] for r in task["annotations"][0]["result"]]
['labels', 'labels', 'relation']
>>> back = task_to_doc(task)
>>> (back.id, back.text, back.entities, back.relations) == (doc.id, doc.text, doc.entities, doc.relations)
True
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from ..doc import Doc, Entity, Relation
from ..errors import DataNotFoundError, RecordFormatError
from ..text import decode_bytes

__all__ = [
    "read_labelstudio",
    "parse_labelstudio",
    "task_to_doc",
    "doc_to_task",
    "docs_to_labelstudio",
    "write_labelstudio",
    "labeling_config",
]

log = logging.getLogger(__name__)

_HINT_TEXT = (
    "each result's value.text must be the task text at [start:end]: re-export the project from Label Studio "
    "without editing the task texts, or fix the offsets of that result"
)


def _where(task: dict[str, Any], index: int) -> str:
    tid = task.get("id") if isinstance(task, dict) else None
    return f"task {tid}" if tid is not None else f"task #{index + 1}"


def _utf16_to_index(text: str, unit: int) -> int | None:
    """The code point index of UTF-16 offset ``unit`` in ``text`` (``None`` inside a surrogate pair)."""
    count = 0
    for i, ch in enumerate(text):
        if count == unit:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
        if count > unit:
            return None
    return len(text) if count == unit else None


def _span(text: str, value: dict[str, Any], where: str, rid: Any, stats: Counter) -> tuple[int, int]:
    start, end = value.get("start"), value.get("end")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        raise RecordFormatError(f"{where}, result {rid!r}: value.start/value.end must be integers, got {start!r}, {end!r}",
                                "a labels result is {'value': {'start': int, 'end': int, 'text': str, 'labels': [str]}}")
    surface = value.get("text")
    if 0 <= start < end <= len(text) and (surface is None or text[start:end] == surface):
        return start, end
    a, b = _utf16_to_index(text, start), _utf16_to_index(text, end)  # Label Studio < 1.4 counted UTF-16 units
    if a is not None and b is not None and a < b and surface is not None and text[a:b] == surface:
        stats["utf16"] += 1
        return a, b
    if not (0 <= start < end <= len(text)):
        raise RecordFormatError(f"{where}, result {rid!r}: span ({start}, {end}) is outside the text (length {len(text)})",
                                _HINT_TEXT)
    raise RecordFormatError(
        f"{where}, result {rid!r}: value.text {surface!r} differs from the task text at [{start}:{end}] = {text[start:end]!r}",
        _HINT_TEXT,
    )


def _pick(task: dict[str, Any], where: str) -> tuple[str, dict[str, Any]] | None:
    """The annotation to read: ``("annotation", last not cancelled)``, else ``("predictions", last)``."""
    annotations = task.get("annotations") or task.get("completions") or []  # "completions": Label Studio < 1.0
    predictions = task.get("predictions") or []
    if not isinstance(annotations, list) or not isinstance(predictions, list):
        raise RecordFormatError(f"{where}: 'annotations' and 'predictions' must be lists")
    if annotations:
        kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
        return ("annotation", kept[-1]) if kept else None
    if predictions:
        last = predictions[-1]
        return ("predictions", last) if isinstance(last, dict) else None
    return None


def task_to_doc(
    task: dict[str, Any],
    text_key: str = "text",
    index: int = 0,
    stats: Counter | None = None,
) -> Doc | None:
    """The Doc of one Label Studio task (see the module docstring); ``None`` for a task left out.

    ``index`` (the task's position) names tasks without an id in errors; ``stats`` counts what
    was left out or converted (skipped result types, cancelled tasks...).

    >>> task = {"id": 1, "data": {"text": "Thales à Brest"}, "annotations": [
    ...     {"was_cancelled": False, "result": [{"id": "a", "type": "labels", "value": {"start": 9, "end": 14, "text": "Brest", "labels": ["LOC"]}}]},
    ...     {"was_cancelled": True, "result": []}]}
    >>> doc = task_to_doc(task)
    >>> doc.id, [(e.text, e.label) for e in doc.entities], doc.meta["labelstudio"]["from"]
    ('1', [('Brest', 'LOC')], 'annotation')
    """
    stats = stats if stats is not None else Counter()
    where = _where(task, index)
    if not isinstance(task, dict):
        raise RecordFormatError(f"{where}: a task must be a JSON object, got {type(task).__name__}",
                                "give a Label Studio JSON export (Export → JSON): a list of tasks")
    data = task.get("data")
    if not isinstance(data, dict):
        raise RecordFormatError(f"{where}: no 'data' object", "a Label Studio task is {'data': {'text': ...}, 'annotations': [...]}")
    text = data.get(text_key)
    if not isinstance(text, str):
        keys = ", ".join(map(repr, data)) or "none"
        raise RecordFormatError(f"{where}: data has no text string under {text_key!r} (its keys: {keys})",
                                "pass text_key= the name of the text field of the labelling configuration ($text)")
    picked = _pick(task, where)
    if picked is None:
        stats["cancelled" if task.get("annotations") or task.get("completions") else "unannotated"] += 1
        return None
    origin, annotation = picked
    result = annotation.get("result") or []
    if not isinstance(result, list):
        raise RecordFormatError(f"{where}: the {origin} 'result' must be a list")
    doc_id = data.get("id", task.get("id"))
    doc = Doc(text, id=None if doc_id is None else str(doc_id), lang=data.get("lang") if isinstance(data.get("lang"), str) else None)
    by_id: dict[str, int] = {}
    relations: list[dict[str, Any]] = []
    for item in result:
        if not isinstance(item, dict):
            raise RecordFormatError(f"{where}: a result must be a JSON object, got {type(item).__name__}")
        kind, rid = item.get("type"), item.get("id")
        if kind == "relation":
            relations.append(item)
            continue
        if kind != "labels":
            stats[f"type {kind}"] += 1
            continue
        value = item.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("labels"), list):
            raise RecordFormatError(f"{where}, result {rid!r}: a labels result needs value.labels (a list)")
        start, end = _span(text, value, where, rid, stats)
        score = item.get("score")
        score = float(score) if origin == "predictions" and isinstance(score, (int, float)) and not isinstance(score, bool) else None
        for label in value["labels"]:
            if rid is not None and str(rid) not in by_id:
                by_id[str(rid)] = len(doc.entities)
            doc.entities.append(Entity(start, end, str(label), text[start:end], score))
        if not value["labels"]:
            stats["span without label"] += 1
    for item in relations:
        labels = item.get("labels") or []
        head, tail = by_id.get(str(item.get("from_id"))), by_id.get(str(item.get("to_id")))
        if head is None or tail is None:
            raise RecordFormatError(
                f"{where}: relation {item.get('from_id')!r} → {item.get('to_id')!r} refers to a result that is not a labelled span",
                "from_id and to_id must be the ids of labels results of the same annotation",
            )
        if item.get("direction") == "left":
            head, tail = tail, head
        if not labels:
            stats["relation without label"] += 1
        score = item.get("score")
        score = float(score) if origin == "predictions" and isinstance(score, (int, float)) and not isinstance(score, bool) else None
        for label in labels:
            doc.relations.append(Relation(head, tail, str(label), score))
    doc.meta["labelstudio"] = {"task": task.get("id"), "from": origin, "annotation": annotation.get("id")}
    if origin == "predictions":
        stats["from predictions"] += 1
    return doc.validate()


def parse_labelstudio(tasks: Any, text_key: str = "text", source: str = "") -> list[Doc]:
    """The Docs of a list of Label Studio tasks (a parsed export), in order; logs what was left out.

    >>> parse_labelstudio([{"id": 1, "data": {"text": "Brest"}, "predictions": [{"result": []}]}])[0].meta["labelstudio"]["from"]
    'predictions'
    """
    if isinstance(tasks, dict) and "data" in tasks:  # one task
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise RecordFormatError(f"{source or 'the export'} is not a list of tasks (a JSON {type(tasks).__name__})",
                                "export the project from Label Studio as JSON (Export → JSON), not JSON-MIN or CSV")
    stats: Counter = Counter()
    docs = [d for i, t in enumerate(tasks) if (d := task_to_doc(t, text_key, i, stats)) is not None]
    name = source or "Label Studio tasks"
    if stats["cancelled"] or stats["unannotated"]:
        log.warning("%s: left out %d task(s) whose annotations are all cancelled and %d with no annotation nor prediction",
                    name, stats["cancelled"], stats["unannotated"])
    if stats["from predictions"]:
        log.info("%s: %d task(s) have no annotation: read from their predictions (meta['labelstudio']['from'])",
                 name, stats["from predictions"])
    skipped = {k[5:]: v for k, v in stats.items() if k.startswith("type ")}
    if skipped:
        log.warning("%s: skipped %d result(s) that are neither labels nor relations (%s)", name, sum(skipped.values()),
                    ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items(), key=str)))
    for key in ("span without label", "relation without label"):
        if stats[key]:
            log.warning("%s: left out %d %s(s)", name, stats[key], key)
    if stats["utf16"]:
        log.info("%s: %d span(s) counted in UTF-16 code units (Label Studio < 1.4), converted", name, stats["utf16"])
    return docs


def read_labelstudio(path: str | os.PathLike, text_key: str = "text", encoding: str | None = None) -> list[Doc]:
    """The Docs of a Label Studio JSON export file (the ``labelstudio`` corpus reader).

    ``text_key``: the data field holding the text (``$text`` in the labelling configuration).
    A JSON Lines file of tasks (what ``defnlp annotate`` writes while it runs) is read too.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "export.json"
    >>> _ = f.write_text('[{"id": 1, "data": {"text": "Thales"}, "annotations": [{"result": []}]}]')
    >>> [(d.id, d.text) for d in read_labelstudio(f)]
    [('1', 'Thales')]
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Label Studio export not found: {path}", "give the JSON file exported from Label Studio")
    raw = decode_bytes(path.read_bytes(), encoding)
    try:
        tasks = json.loads(raw)
    except json.JSONDecodeError as err:
        try:  # JSON Lines of tasks
            tasks = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise RecordFormatError(f"{path} is not JSON: {err.msg} at line {err.lineno}, column {err.colno}",
                                    "give the file of Export → JSON in Label Studio") from err
    return parse_labelstudio(tasks, text_key=text_key, source=str(path))


def _results(doc: Doc, predictions: bool, from_name: str, to_name: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for i, e in enumerate(doc.entities):
        item: dict[str, Any] = {
            "id": f"e{i + 1}", "from_name": from_name, "to_name": to_name, "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": doc.text[e.start : e.end], "labels": [e.label]},
        }
        if predictions and e.score is not None:
            item["score"] = round(float(e.score), 4)
        results.append(item)
    for r in doc.relations:
        item = {"from_id": f"e{r.head + 1}", "to_id": f"e{r.tail + 1}", "type": "relation", "direction": "right",
                "labels": [r.label]}
        if predictions and r.score is not None:
            item["score"] = round(float(r.score), 4)
        results.append(item)
    return results


def doc_to_task(
    doc: Doc,
    predictions: bool = False,
    model_version: str | None = None,
    from_name: str = "label",
    to_name: str = "text",
    text_key: str = "text",
) -> dict[str, Any]:
    """One Label Studio task for ``doc``: its annotations, or (``predictions=True``) pre-annotations.

    Predictions carry the entity and relation scores, ``model_version`` and an overall score
    (the mean entity score). ``from_name``/``to_name`` name the ``<Labels>`` and ``<Text>``
    tags of the labelling configuration (:func:`labeling_config`).

    >>> d = Doc("Brest", id="b"); _ = d.add_entity(0, 5, "LOC", score=0.9)
    >>> t = doc_to_task(d, predictions=True, model_version="tiny")
    >>> t["data"], t["predictions"][0]["score"], t["predictions"][0]["result"][0]["score"]
    ({'text': 'Brest', 'id': 'b'}, 0.9, 0.9)
    """
    data: dict[str, Any] = {text_key: doc.text}
    if doc.id is not None:
        data["id"] = doc.id
    if doc.lang is not None:
        data["lang"] = doc.lang
    result = _results(doc, predictions, from_name, to_name)
    if not predictions:
        return {"data": data, "annotations": [{"result": result, "was_cancelled": False}]}
    scores = [float(e.score) for e in doc.entities if e.score is not None]
    prediction: dict[str, Any] = {"result": result}
    if model_version:
        prediction["model_version"] = model_version
    if scores:
        prediction["score"] = round(sum(scores) / len(scores), 4)
    return {"data": data, "predictions": [prediction]}


def docs_to_labelstudio(docs: Iterable[Doc], predictions: bool = False, **options: Any) -> list[dict[str, Any]]:
    """The tasks of ``docs`` (:func:`doc_to_task` with ``options``)."""
    return [doc_to_task(d, predictions=predictions, **options) for d in docs]


def write_labelstudio(docs: Iterable[Doc], path: str | os.PathLike, predictions: bool = False, **options: Any) -> Path:
    """Write ``docs`` as a Label Studio JSON import file (a list of tasks) at ``path``, atomically.

    >>> import tempfile, pathlib
    >>> f = write_labelstudio([Doc("Brest", id="b")], pathlib.Path(tempfile.mkdtemp()) / "tasks.json")
    >>> [d.id for d in read_labelstudio(f)]
    ['b']
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(docs_to_labelstudio(docs, predictions=predictions, **options), ensure_ascii=False, indent=1),
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def labeling_config(entity_labels: Sequence[str], relation_labels: Sequence[str] = (), from_name: str = "label",
                    to_name: str = "text", text_key: str = "text") -> str:
    """The Label Studio labelling configuration (XML) for these labels, matching :func:`doc_to_task`.

    Paste it in the project's Settings → Labeling Interface → Code before importing the tasks.

    >>> print(labeling_config(["LOC", "PER"], ["LOCATED_IN"]))
    <View>
      <Relations>
        <Relation value="LOCATED_IN"/>
      </Relations>
      <Labels name="label" toName="text">
        <Label value="LOC"/>
        <Label value="PER"/>
      </Labels>
      <Text name="text" value="$text"/>
    </View>
    """
    lines = ["<View>"]
    if relation_labels:
        lines += ["  <Relations>", *[f"    <Relation value={quoteattr(r)}/>" for r in sorted(set(relation_labels))], "  </Relations>"]
    lines.append(f"  <Labels name={quoteattr(from_name)} toName={quoteattr(to_name)}>")
    lines += [f"    <Label value={quoteattr(label)}/>" for label in sorted(set(entity_labels))]
    lines += ["  </Labels>", f"  <Text name={quoteattr(to_name)} value={quoteattr('$' + text_key)}/>", "</View>"]
    return "\n".join(lines)
