"""Label Studio JSON export <-> Doc (defnlp.io.labelstudio) and the ``labelstudio`` output writer."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from defnlp.doc import Doc
from defnlp.errors import RecordFormatError
from defnlp.io.corpora import read_corpus
from defnlp.io.labelstudio import (
    doc_to_task,
    labeling_config,
    parse_labelstudio,
    read_labelstudio,
    task_to_doc,
    write_labelstudio,
)
from defnlp.io.outputs import LabelStudioWriter, open_writer


def sample_docs() -> list[Doc]:
    a = Doc("Florence Parly visite Brest 🚢 avec la DGA.", id="fr/1", lang="fr")
    a.add_entity(0, 14, "PER", score=0.91)
    a.add_entity(22, 27, "LOC", score=0.8)
    a.add_entity(38, 41, "ORG", score=0.77)  # after an astral character (code points, not UTF-16)
    a.add_relation(0, 1, "LOCATED_IN", score=0.6)
    a.add_relation(0, 2, "MEMBER_OF", score=0.5)
    b = Doc("Nothing to see here.", id="en-2", lang="en")
    return [a, b]


def annotations(doc: Doc) -> tuple:
    return (doc.id, doc.lang, doc.text, [(e.start, e.end, e.label, e.text) for e in doc.entities],
            [(r.head, r.tail, r.label) for r in doc.relations])


def labels_result(rid: str, start: int, end: int, text: str, label: str) -> dict[str, Any]:
    return {"id": rid, "type": "labels", "from_name": "label", "to_name": "text",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def test_round_trip_as_annotations(tmp_path):
    docs = sample_docs()
    path = write_labelstudio(docs, tmp_path / "tasks.json")
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [t["data"]["id"] for t in tasks] == ["fr/1", "en-2"]
    assert "predictions" not in tasks[0]
    back = read_labelstudio(path)
    assert [annotations(d) for d in back] == [annotations(d) for d in docs]
    assert all(e.score is None for d in back for e in d.entities)  # gold
    assert back[0].meta["labelstudio"]["from"] == "annotation"
    assert [annotations(d) for d in read_corpus("labelstudio", path=path)] == [annotations(d) for d in docs]


def test_round_trip_as_predictions_keeps_the_scores(tmp_path):
    docs = sample_docs()
    path = write_labelstudio(docs, tmp_path / "pre.json", predictions=True, model_version="tiny")
    task = json.loads(path.read_text(encoding="utf-8"))[0]
    assert "annotations" not in task and task["predictions"][0]["model_version"] == "tiny"
    back = read_labelstudio(path)
    assert [annotations(d) for d in back] == [annotations(d) for d in docs]
    assert [e.score for e in back[0].entities] == [0.91, 0.8, 0.77]
    assert [r.score for r in back[0].relations] == [0.6, 0.5]
    assert back[0].meta["labelstudio"]["from"] == "predictions"


def test_last_non_cancelled_annotation_wins_and_predictions_only_without_annotation(caplog):
    text = "Thales à Brest"
    thales, brest = labels_result("t", 0, 6, "Thales", "ORG"), labels_result("b", 9, 14, "Brest", "LOC")
    tasks = [
        {"id": 1, "data": {"text": text}, "predictions": [{"result": [thales]}],
         "annotations": [{"id": 10, "result": [thales]}, {"id": 11, "result": [brest]},
                         {"id": 12, "was_cancelled": True, "result": [thales, brest]}]},
        {"id": 2, "data": {"text": text}, "annotations": [{"id": 20, "was_cancelled": True, "result": [brest]}],
         "predictions": [{"result": [brest]}]},
        {"id": 3, "data": {"text": text}, "annotations": [], "predictions": [{"result": [thales]}, {"result": [brest]}]},
        {"id": 4, "data": {"text": text}},
    ]
    with caplog.at_level(logging.INFO, logger="defnlp.io.labelstudio"):
        docs = parse_labelstudio(tasks)
    assert [d.id for d in docs] == ["1", "3"]  # 2: every annotation cancelled; 4: never annotated
    assert [(e.label, d.meta["labelstudio"]["annotation"]) for d in docs[:1] for e in d.entities] == [("LOC", 11)]
    assert docs[0].meta["labelstudio"]["from"] == "annotation"
    assert [e.label for e in docs[1].entities] == ["LOC"] and docs[1].meta["labelstudio"]["from"] == "predictions"
    assert "1 task(s) whose annotations are all cancelled and 1 with no annotation" in caplog.text
    assert "1 task(s) have no annotation: read from their predictions" in caplog.text


def test_relations_direction_labels_and_text_key():
    text = "Nexter livre Caesar."
    task = {"id": 5, "data": {"body": text, "lang": "fr"}, "annotations": [{"result": [
        labels_result("n", 0, 6, "Nexter", "ORG"), labels_result("c", 13, 19, "Caesar", "WEAPON"),
        {"type": "relation", "from_id": "c", "to_id": "n", "direction": "left", "labels": ["PRODUCES"]},
        {"type": "relation", "from_id": "n", "to_id": "c", "direction": "right", "labels": []},
    ]}]}
    doc = task_to_doc(task, text_key="body")
    assert doc.lang == "fr" and [(r.head, r.tail, r.label) for r in doc.relations] == [(0, 1, "PRODUCES")]
    with pytest.raises(RecordFormatError, match="task 5: data has no text string under 'text'.*'body'") as err:
        task_to_doc(task)
    assert "text_key" in err.value.hint


def test_unknown_result_types_are_skipped_with_a_count(caplog):
    task = {"id": 1, "data": {"text": "Brest"}, "annotations": [{"result": [
        labels_result("b", 0, 5, "Brest", "LOC"),
        {"id": "x", "type": "choices", "value": {"choices": ["ok"]}},
        {"id": "y", "type": "textarea", "value": {"text": ["note"]}},
        {"id": "z", "type": "choices", "value": {"choices": ["ok"]}},
    ]}]}
    with caplog.at_level(logging.WARNING, logger="defnlp.io.labelstudio"):
        docs = parse_labelstudio([task])
    assert [e.text for e in docs[0].entities] == ["Brest"]
    assert "skipped 3 result(s) that are neither labels nor relations (choices: 2, textarea: 1)" in caplog.text


def test_utf16_offsets_of_old_label_studio_are_converted():
    text = "🚢 Brest"
    task = {"id": 1, "data": {"text": text}, "annotations": [{"result": [labels_result("b", 3, 8, "Brest", "LOC")]}]}
    assert [(e.start, e.end, e.text) for e in task_to_doc(task).entities] == [(2, 7, "Brest")]


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (labels_result("r7", 9, 14, "Brast", "LOC"), r"task 3, result 'r7': value.text 'Brast' differs from the task text at \[9:14\] = 'Brest'"),
        (labels_result("r8", 9, 40, "Brest", "LOC"), r"task 3, result 'r8': span \(9, 40\) is outside the text"),
        (labels_result("r9", "9", 14, "Brest", "LOC"), r"task 3, result 'r9': value.start/value.end must be integers"),
        ({"id": "r1", "type": "labels", "value": {"start": 9, "end": 14, "text": "Brest"}}, "needs value.labels"),
        ({"type": "relation", "from_id": "a", "to_id": "b", "labels": ["X"]}, "refers to a result that is not a labelled span"),
    ],
)
def test_malformed_results_name_the_task_and_result(result, message):
    task = {"id": 3, "data": {"text": "Thales à Brest"}, "annotations": [{"result": [result]}]}
    with pytest.raises(RecordFormatError, match=message) as err:
        parse_labelstudio([task])
    assert err.value.hint


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RecordFormatError, match="is not JSON"):
        read_labelstudio(bad)
    bad.write_text('{"tasks": []}', encoding="utf-8")
    with pytest.raises(RecordFormatError, match="not a list of tasks"):
        read_labelstudio(bad)
    bad.write_text('[{"id": 1, "text": "flat"}]', encoding="utf-8")
    with pytest.raises(RecordFormatError, match="task 1: no 'data' object"):
        read_labelstudio(bad)


def test_labeling_config_is_xml_naming_every_label():
    root = ET.fromstring(labeling_config(["LOC", "PER", "A&B"], ["LOCATED_IN"]))
    assert [e.get("value") for e in root.iter("Label")] == ["A&B", "LOC", "PER"]
    assert [e.get("value") for e in root.iter("Relation")] == ["LOCATED_IN"]
    assert root.find("Text").get("value") == "$text"


def test_writer_publishes_valid_json_and_resumes(tmp_path):
    out = tmp_path / "tasks.json"
    docs = sample_docs()
    job = {"inputs": ["x"], "model": "tiny", "format": "labelstudio"}
    writer = open_writer(out, "labelstudio", job=job)
    assert isinstance(writer, LabelStudioWriter)
    writer.write(docs[0])
    writer.write({"id": "bad", "error": {"type": "EmptyInputError", "message": "empty", "hint": ""}})
    writer.close(complete=False)  # interrupted: no OUT yet, only the JSONL partial
    assert not out.exists()
    assert [json.loads(line)["data"]["id"] for line in Path(f"{out}.partial").read_text().splitlines()] == ["fr/1"]
    with open_writer(out, "labelstudio", job=job) as writer:
        assert writer.done == 2 and writer.written_ids == ["fr/1", "bad"]
        writer.write(docs[1])
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["id"] for t in tasks] == ["fr/1", "en-2"]  # the error record is left out
    assert tasks[0]["predictions"][0]["model_version"] == "tiny"
    assert not Path(f"{out}.partial").exists()
    assert [annotations(d) for d in read_labelstudio(out)] == [annotations(d) for d in docs]


def test_writer_without_records_publishes_an_empty_list(tmp_path):
    out = tmp_path / "none.json"
    with LabelStudioWriter(out, job={"model": "m"}):
        pass
    assert json.loads(out.read_text(encoding="utf-8")) == []


def test_doc_to_task_overall_score_is_the_mean_entity_score():
    task = doc_to_task(sample_docs()[0], predictions=True)
    assert task["predictions"][0]["score"] == round((0.91 + 0.8 + 0.77) / 3, 4)
