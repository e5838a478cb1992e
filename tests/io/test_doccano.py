"""doccano JSONL export <-> Doc (defnlp.io.doccano) and the ``doccano`` output writer."""

from __future__ import annotations

import json
import logging

import pytest

from defnlp.doc import Doc
from defnlp.errors import RecordFormatError
from defnlp.io.corpora import read_corpus
from defnlp.io.doccano import doc_to_doccano, read_doccano, write_doccano
from defnlp.io.outputs import DoccanoWriter, open_writer


def sample_docs() -> list[Doc]:
    a = Doc("Florence Parly visite Brest 🚢 avec la DGA.", id="fr/1", lang="fr")
    a.add_entity(0, 14, "PER")
    a.add_entity(22, 27, "LOC")
    a.add_entity(38, 41, "ORG")
    a.add_relation(0, 1, "LOCATED_IN")
    a.add_relation(0, 2, "MEMBER_OF")
    return [a, Doc("Nothing to see here.", id="en-2", lang="en")]


def annotations(doc: Doc) -> tuple:
    return (doc.id, doc.lang, doc.text, [(e.start, e.end, e.label, e.text) for e in doc.entities],
            [(r.head, r.tail, r.label) for r in doc.relations])


def write_lines(path, *records) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records),
                    encoding="utf-8")


def test_relation_form_round_trip(tmp_path):
    docs = sample_docs()
    path = write_doccano(docs, tmp_path / "export.jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"id", "text", "lang", "entities", "relations"}
    assert first["relations"][0] == {"id": 1, "from_id": 1, "to_id": 2, "type": "LOCATED_IN"}
    assert [annotations(d) for d in read_doccano(path)] == [annotations(d) for d in docs]
    assert [annotations(d) for d in read_corpus("doccano", path=path)] == [annotations(d) for d in docs]


def test_relation_form_as_doccano_exports_it(tmp_path):
    """doccano's own ids (not 1..n, in any order) and extra keys (Comments, metadata)."""
    path = tmp_path / "export.jsonl"
    write_lines(path, {"id": 42, "text": "Nexter livre Caesar.", "Comments": [], "source": "x",
                       "entities": [{"id": 907, "label": "WEAPON", "start_offset": 13, "end_offset": 19},
                                    {"id": 12, "label": "ORG", "start_offset": 0, "end_offset": 6}],
                       "relations": [{"id": 3, "from_id": 12, "to_id": 907, "type": "PRODUCES"}]})
    (doc,) = read_doccano(path)
    assert doc.id == "42" and [e.text for e in doc.entities] == ["Caesar", "Nexter"]
    assert [(doc.entities[r.head].text, r.label, doc.entities[r.tail].text) for r in doc.relations] == [("Nexter", "PRODUCES", "Caesar")]


def test_sequence_labelling_form_both_keys(tmp_path):
    path = tmp_path / "seq.jsonl"
    write_lines(path, {"id": 1, "text": "Thales à Brest", "label": [[9, 14, "LOC"], [0, 6, "ORG"]]},
                {"id": 2, "text": "Brest", "labels": [[0, 5, "LOC"]]}, "", {"id": 3, "text": "Rien.", "label": []})
    docs = read_doccano(path)
    assert [(d.id, [(e.text, e.label) for e in d.entities]) for d in docs] == [
        ("1", [("Brest", "LOC"), ("Thales", "ORG")]), ("2", [("Brest", "LOC")]), ("3", [])]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"text": "Brest", "label": [[0, 9, "LOC"]]}, r"line 1, label 0: span \(0, 9\) is outside the text"),
        ({"text": "Brest", "label": [[0, 5]]}, r"label 0 is \[0, 5\], not \[start, end, label\]"),
        ({"text": "Brest", "label": ["positive"]}, "text classification export"),
        ({"text": "Brest", "label": [[0, 5, ""]]}, "has no label string"),
        ({"label": [[0, 5, "LOC"]]}, "no text string"),
        ({"text": "Brest", "entities": [{"id": 1, "label": "LOC", "start_offset": 0, "end_offset": 5}],
          "relations": [{"id": 7, "from_id": 1, "to_id": 2, "type": "X"}]}, "relation 7 refers to entity 1 → 2"),
        ({"text": "Brest", "entities": [{"id": 1, "label": "LOC", "start_offset": -1, "end_offset": 5}]}, "entity 1"),
        ({"text": "Brest", "entities": {"id": 1}}, "must be lists"),
        ('{"text": "Brest", ', "line 1: not valid JSON"),
        ('[{"text": "Brest"}]', "a doccano line must be a JSON object"),
    ],
)
def test_malformed_lines_raise_record_format_errors(tmp_path, record, message):
    path = tmp_path / "bad.jsonl"
    write_lines(path, record)
    with pytest.raises(RecordFormatError, match=message) as err:
        read_doccano(path)
    assert str(path) in err.value.message and err.value.hint


def test_a_json_array_file_is_named_as_such(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n{"text": "Brest"}\n]\n', encoding="utf-8")
    with pytest.raises(RecordFormatError, match="a JSON array, not JSON Lines"):
        read_doccano(path)


def test_writer_leaves_error_records_out_and_resumes(tmp_path, caplog):
    out = tmp_path / "out.jsonl"
    docs = sample_docs()
    job = {"inputs": ["x"], "model": "tiny", "format": "doccano"}
    writer = open_writer(out, "doccano", job=job)
    assert isinstance(writer, DoccanoWriter)
    writer.write({"id": "bad", "error": {"type": "EmptyInputError", "message": "empty", "hint": ""}})
    writer.write(docs[0])
    writer.close(complete=False)
    with open_writer(out, "doccano", job=job) as writer:
        assert writer.written_ids == ["bad", "fr/1"]
        writer.write(docs[1])
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["fr/1", "en-2"]
    assert [annotations(d) for d in read_doccano(out)] == [annotations(d) for d in docs]


def test_error_lines_of_a_jsonl_output_are_left_out_with_a_count(tmp_path, caplog):
    path = tmp_path / "mixed.jsonl"
    write_lines(path, doc_to_doccano(sample_docs()[1]), {"id": "x", "error": {"type": "EmptyInputError"}})
    with caplog.at_level(logging.WARNING, logger="defnlp.io.doccano"):
        assert [d.id for d in read_doccano(path)] == ["en-2"]
    assert "left out 1 error record(s)" in caplog.text
