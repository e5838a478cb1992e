"""The ``hf_dataset`` corpus reader (defnlp.io.hf.read_hf_dataset): save_to_disk folders, Parquet, JSONL."""

from __future__ import annotations

import json
import logging

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from defnlp.doc import Doc
from defnlp.errors import ConfigError, DataNotFoundError, RecordFormatError
from defnlp.io.corpora import DataSource, load_source, read_corpus
from defnlp.io.hf import docs_to_dataset, read_hf_dataset, row_to_doc
from defnlp.io.outputs import jsonl_to_parquet


def sample_docs() -> list[Doc]:
    a = Doc("La DGA a commandé 42 Griffon à KNDS.", id="d1", lang="fr", meta={"year": 2024})
    a.add_entity(3, 6, "ORG")
    a.add_entity(18, 20, "QUANTITY")
    a.add_entity(21, 28, "PLATFORM")
    a.add_relation(0, 2, "ACQUIRES")
    b = Doc("Nexter delivered guns.", id="d2", lang="en")
    b.add_entity(0, 6, "ORG", score=0.5)
    return [a, b]


def annotations(doc: Doc) -> tuple:
    return (doc.id, doc.text, [(e.start, e.end, e.label, e.text) for e in doc.entities],
            [(r.head, r.tail, r.label) for r in doc.relations])


SPAN_ROWS = [
    {"id": "s1", "text": "Thales à Brest", "spans": [{"start": 0, "end": 6, "label": "ORG"}, {"start": 9, "end": 14, "label": "LOC"}]},
    {"id": "s2", "text": "Rien.", "spans": []},
]


def test_save_to_disk_of_defnlp_docs_round_trips(tmp_path):
    docs = sample_docs()
    docs_to_dataset(docs).save_to_disk(tmp_path / "ds")
    back = read_hf_dataset(tmp_path / "ds")
    assert back == docs  # ids, langs, entities with scores, relations, meta
    assert [annotations(d) for d in read_corpus("hf_dataset", path=tmp_path / "ds")] == [annotations(d) for d in docs]


def test_dataset_dict_needs_a_split(tmp_path):
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list(SPAN_ROWS), "test": datasets.Dataset.from_list(SPAN_ROWS[:1])})
    dd.save_to_disk(tmp_path / "dd")
    assert [d.id for d in read_hf_dataset(tmp_path / "dd", split="test")] == ["s1"]
    docs = load_source(DataSource(format="hf_dataset", path=str(tmp_path / "dd"), split="train"))
    assert [d.id for d in docs] == ["s1", "s2"] and docs[0].meta["source"].startswith("hf_dataset:train:")
    with pytest.raises(ConfigError, match="DatasetDict"):
        read_hf_dataset(tmp_path / "dd")
    with pytest.raises(ConfigError, match="no split 'dev'"):
        read_hf_dataset(tmp_path / "dd", split="dev")


def test_text_and_spans_rows_from_parquet_and_jsonl(tmp_path):
    pq.write_table(pa.Table.from_pylist(SPAN_ROWS), tmp_path / "spans.parquet")
    (tmp_path / "ents.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], "text": r["text"], "entities": r["spans"]}) + "\n" for r in SPAN_ROWS), encoding="utf-8")
    for path in (tmp_path / "spans.parquet", tmp_path / "ents.jsonl"):
        docs = read_hf_dataset(path)
        assert [(d.id, [(e.text, e.label) for e in d.entities]) for d in docs] == [
            ("s1", [("Thales", "ORG"), ("Brest", "LOC")]), ("s2", [])], path


def test_other_column_names():
    row = {"uid": 7, "body": "Brest", "mentions": [{"start": 0, "end": 5, "label": "LOC"}]}
    doc = row_to_doc(row, text_column="body", spans_column="mentions", id_column="uid")
    assert (doc.id, doc.entities[0].text) == ("7", "Brest")


def test_defnlp_parquet_output_reads_back_without_its_error_rows(tmp_path, caplog):
    docs = sample_docs()
    lines = [d.to_json() for d in docs] + [json.dumps({"id": "bad", "error": {"type": "EmptyInputError", "message": "m", "hint": "h"}})]
    (tmp_path / "out.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    jsonl_to_parquet(tmp_path / "out.jsonl", tmp_path / "out.parquet")
    with caplog.at_level(logging.WARNING, logger="defnlp.io.hf"):
        back = read_hf_dataset(tmp_path / "out.parquet")
    assert [annotations(d) for d in back] == [annotations(d) for d in docs]
    assert "year" not in back[0].meta  # other columns are not read (a "tokens" column would mislead training)
    assert "left out 1 error row(s)" in caplog.text


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "Brest", "spans": [{"start": 0, "end": 9, "label": "LOC"}]}, "row 0: .*invalid offsets"),
        ({"text": "Brest", "spans": [{"start": 0, "end": 5, "label": "LOC", "text": "Brast"}]}, "row 0: .*differs from text"),
        ({"text": "Brest", "spans": [{"start": 0, "label": "LOC"}]}, "row 0: malformed annotation"),
        ({"body": "Brest"}, "row 0: no text string in column 'text'"),
    ],
)
def test_malformed_rows(tmp_path, row, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(RecordFormatError, match=message):
        read_hf_dataset(path)


def test_missing_and_unknown_paths(tmp_path):
    with pytest.raises(DataNotFoundError):
        read_hf_dataset(tmp_path / "nope")
    (tmp_path / "x.csv").write_text("text\nBrest\n", encoding="utf-8")
    with pytest.raises(RecordFormatError, match="unknown dataset file type .csv"):
        read_hf_dataset(tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="not a dataset saved with save_to_disk"):
        read_hf_dataset(tmp_path / "empty")
