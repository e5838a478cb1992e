"""Batch annotation of datasets: HF ``datasets`` (``annotate_dataset``), Parquet and CSV inputs,
Parquet output through ``defnlp annotate``."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import defnlp
from defnlp.cli import main
from defnlp.cli.annotate import output_format_for
from defnlp.errors import InputError
from defnlp.io.inputs import iter_inputs, iter_parquet_records
from defnlp.io.outputs import parquet_schema

TEXTS = [
    "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.",
    "Nexter delivered 12 Caesar guns to Ukraine in 2023.",
    "Le ministre des Armées a visité Brest avec la DGA.",
    "The Minister of Defence visited Toulon with Thales.",
]


def local_annotations(nlp, texts: list[str]) -> list[dict]:
    """The reference: the pipeline's own output on the same texts."""
    return [
        {"entities": [e.to_dict() for e in d.entities], "relations": [r.to_dict() for r in d.relations], "lang": d.lang}
        for d in nlp.pipe(texts)
    ]


class CountingPipeline:
    """Wraps a pipeline and counts the documents it is asked to annotate (not the errors passed through)."""

    def __init__(self, nlp) -> None:
        self.nlp = nlp
        self.docs = 0

    def pipe(self, items, errors="raise"):
        for item in items:
            self.docs += isinstance(item, defnlp.Doc)
            yield from self.nlp.pipe([item], errors=errors)


# ---- annotate_dataset ------------------------------------------------------------------------------
def test_annotate_dataset_adds_columns_equal_to_the_pipeline(tiny_nlp) -> None:
    ds = datasets.Dataset.from_dict({"id": ["a", "b", "c", "d"], "text": TEXTS, "year": [2024, 2023, 2022, 2021]})
    out = defnlp.annotate_dataset(ds, nlp=tiny_nlp, batch_size=3)
    assert isinstance(out, datasets.Dataset)
    assert out.column_names == ["id", "text", "year", "entities", "relations", "sentences", "lang", "error"]
    assert out["year"] == [2024, 2023, 2022, 2021]
    assert out["sentences"] == [[sent.to_dict() for sent in d.sentences] for d in tiny_nlp.pipe(TEXTS)]  # like the CLI
    assert all(out["sentences"]) and out.features["sentences"] == defnlp.datasets.annotation_features()["sentences"]
    expected = local_annotations(tiny_nlp, TEXTS)
    assert [{"entities": r["entities"], "relations": r["relations"], "lang": r["lang"]} for r in out] == expected
    assert out["error"] == [None] * 4
    assert sum(len(r["entities"]) for r in out) > 0
    for row in out:
        for e in row["entities"]:
            assert row["text"][e["start"] : e["end"]] == e["text"]
    assert out.features["entities"] == defnlp.datasets.annotation_features()["entities"]


def test_bad_rows_get_an_error_and_never_stop_the_others(tiny_nlp) -> None:
    ds = datasets.Dataset.from_dict({"id": ["ok1", "null", "blank", "ok2"], "text": [TEXTS[0], None, "   ", TEXTS[1]]})
    out = defnlp.annotate_dataset(ds, nlp=tiny_nlp, batch_size=2)
    assert len(out) == 4 and out["id"] == ["ok1", "null", "blank", "ok2"]
    errors = out["error"]
    assert errors[0] is None and errors[3] is None
    assert errors[1]["type"] == "RecordFormatError" and "row 1 (id null)" in errors[1]["message"] and errors[1]["hint"]
    assert errors[2]["type"] == "EmptyInputError" and "row 2" in errors[2]["message"]
    assert out[1]["entities"] == [] and out[2]["relations"] == []
    assert [out[0]["entities"], out[3]["entities"]] == [r["entities"] for r in local_annotations(tiny_nlp, [TEXTS[0], TEXTS[1]])]


def assert_arrow_writable(columns: dict) -> None:
    """The annotation columns are valid UTF-8 and fit their features: Arrow (and JSON) can hold them."""
    import json as json_module

    datasets.Dataset.from_dict(columns, features=defnlp.datasets.annotation_features())
    json_module.dumps(columns, ensure_ascii=False, allow_nan=False).encode("utf-8")


# rows a stream can carry that Arrow tables cannot (lone surrogates, mixed types), each with the
# error type its row gets (None: annotated)
STREAM_ROWS = [
    ({"id": "ok", "text": TEXTS[0]}, None),
    ({"id": "no-text", "body": "La DGA."}, "RecordFormatError"),
    ({"id": "int", "text": 915}, "RecordFormatError"),
    ({"id": "list", "text": ["La DGA"]}, "RecordFormatError"),
    ({"id": "dict", "text": {"fr": "La DGA"}}, "RecordFormatError"),
    ({"id": "surrogate", "text": "Brest \ud800 et la DGA"}, "UnpairedSurrogateError"),
    ({"id": "c\udc80", "text": ""}, "EmptyInputError"),
    ({"id": {"nested": 915}, "text": 3}, "RecordFormatError"),
    ({"id": "lang", "text": TEXTS[1], "lang": "en\ud800"}, "RecordFormatError"),
    ({"id": "int-lang", "text": TEXTS[1], "lang": 3}, None),
    ({"id": "bad-upstream", "text": None, "error": {"type": 3, "message": "x"}}, "RecordFormatError"),
    ({"id": "upstream", "text": None, "error": {"type": "BinaryInputError", "message": ["x"], "hint": "\udc80"}},
     "BinaryInputError"),
    ({"id": "str-upstream", "text": None, "error": "boom"}, "RecordFormatError"),
    ({"id": "ok2", "text": TEXTS[2]}, None),
]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_every_row_of_a_stream_gives_one_row_annotated_or_with_its_error(tiny_nlp, batch_size) -> None:
    """The input contract of defnlp annotate for datasets (issue 16): one output row per input row,
    in order; a bad row gets a clear error (never an exception from the tokenizer or Arrow, never a
    Python repr of its id), whatever the batch it falls in (with batch_size=1 the row without a
    text field is a batch without the text column)."""
    rows = [row for row, _ in STREAM_ROWS]
    ds = datasets.IterableDataset.from_generator(lambda: iter(rows))
    out = list(defnlp.annotate_dataset(ds, nlp=tiny_nlp, batch_size=batch_size))
    assert len(out) == len(rows)
    types = [row["error"] and row["error"]["type"] for row in out]
    assert types == [t for _, t in STREAM_ROWS]
    annotation = {name: [row[name] for row in out] for name in defnlp.datasets.ANNOTATION_COLUMNS}
    assert_arrow_writable(annotation)
    messages = {row["id"] if isinstance(row["id"], str) else "dict": row["error"]["message"] for row in out if row["error"]}
    assert "{'nested'" not in messages["dict"] and "row 7" in messages["dict"]
    assert "c\\udc80" in messages["c\udc80"]  # the id, written with its escape
    assert "'lang'" in messages["lang"] and "lone surrogate" in messages["lang"]
    # alone in its batch the row has no text column, else datasets fills it with null
    assert messages["no-text"].endswith("no 'text' field" if batch_size == 1 else "'text' value is null, not a string")
    assert [out[0]["entities"], out[-1]["entities"]] == [r["entities"] for r in local_annotations(tiny_nlp, [TEXTS[0], TEXTS[2]])]
    assert out[-3]["error"] == {"type": "BinaryInputError", "message": '["x"]', "hint": "\\udc80"}  # kept, as text
    assert out[9]["entities"] == local_annotations(tiny_nlp, [TEXTS[1]])[0]["entities"]  # a non-string lang is ignored


def test_a_pipeline_that_loses_a_result_is_a_clear_error(tiny_nlp) -> None:
    from defnlp.datasets import ColumnAnnotator
    from defnlp.errors import DefnlpError

    class Lossy:
        def pipe(self, items, errors="raise"):
            yield from list(tiny_nlp.pipe(items, errors=errors))[1:]

    with pytest.raises(DefnlpError, match="1 result.* for 2 rows"):
        ColumnAnnotator(nlp=Lossy())({"text": TEXTS[:2]})


def test_an_error_recorded_upstream_is_kept_as_it_was_and_errors_only_load_no_pipeline(tiny_nlp) -> None:
    from defnlp.datasets import ColumnAnnotator

    recorded = {"type": "BinaryInputError", "message": "b.txt looks like a binary file, not text", "hint": None}
    counting = CountingPipeline(tiny_nlp)
    cols = ColumnAnnotator(nlp=counting)({"text": [None, TEXTS[0], None], "error": [recorded, None, None]})
    assert cols["error"][0] == recorded and cols["error"][1] is None
    assert cols["error"][2]["type"] == "RecordFormatError" and counting.docs == 1
    assert cols["entities"][1] == local_annotations(tiny_nlp, TEXTS[:1])[0]["entities"]
    never_loaded = ColumnAnnotator(model="no-such-model")  # loading it would raise ModelNotFoundError
    assert never_loaded({"text": ["", None]})["error"][0]["type"] == "EmptyInputError"


def test_lang_column_is_used_and_prefix_keeps_gold_columns(tiny_nlp) -> None:
    gold = [[{"start": 0, "end": 2, "label": "ORG", "text": "La", "score": None}]] + [[]] * 3
    ds = datasets.Dataset.from_dict({"text": TEXTS, "lang": ["en", None, None, None], "entities": gold})
    out = defnlp.annotate_dataset(ds, nlp=tiny_nlp, prefix="pred_")
    assert out["entities"] == ds["entities"]  # gold untouched
    assert out["pred_lang"][0] == "en"  # the given language, not the detected one
    assert out["pred_lang"][1:] == [d["lang"] for d in local_annotations(tiny_nlp, TEXTS[1:])]
    assert {"pred_entities", "pred_relations", "pred_error"} <= set(out.column_names)


def test_custom_columns_and_fingerprint_without_hashing_the_model(tiny_nlp) -> None:
    ds = datasets.Dataset.from_dict({"ref": ["r1", "r2"], "body": TEXTS[:2]})
    out1 = defnlp.annotate_dataset(ds, nlp=tiny_nlp, text_column="body", id_column="ref")
    out2 = defnlp.annotate_dataset(ds, nlp=tiny_nlp, text_column="body", id_column="ref")
    out3 = defnlp.annotate_dataset(ds, nlp=tiny_nlp, text_column="body", id_column="ref", prefix="p_")
    assert out1._fingerprint == out2._fingerprint != out3._fingerprint
    assert out1["entities"] == [r["entities"] for r in local_annotations(tiny_nlp, TEXTS[:2])]


def test_iterable_dataset_is_annotated_lazily_in_bounded_batches(tiny_nlp) -> None:
    ds = datasets.Dataset.from_dict({"id": [f"d{i}" for i in range(12)], "text": TEXTS * 3}).to_iterable_dataset()
    counting = CountingPipeline(tiny_nlp)
    out = defnlp.annotate_dataset(ds, nlp=counting, batch_size=4)
    assert isinstance(out, datasets.IterableDataset)
    assert counting.docs == 0  # nothing runs before iteration
    first = next(iter(out))
    assert counting.docs == 4  # one batch, not the whole stream
    assert first["entities"] == local_annotations(tiny_nlp, TEXTS[:1])[0]["entities"]
    rows = list(out)
    assert [r["id"] for r in rows] == [f"d{i}" for i in range(12)]
    assert [r["entities"] for r in rows] == [r["entities"] for r in local_annotations(tiny_nlp, TEXTS * 3)]


def test_dataset_dict_is_annotated_split_by_split(tiny_nlp) -> None:
    dd = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict({"text": TEXTS[:2]}), "test": datasets.Dataset.from_dict({"text": TEXTS[2:]})}
    )
    out = defnlp.annotate_dataset(dd, nlp=tiny_nlp)
    assert set(out) == {"train", "test"}
    assert out["test"]["entities"] == [r["entities"] for r in local_annotations(tiny_nlp, TEXTS[2:])]


def test_several_processes_each_load_their_own_pipeline(tiny_nlp, tiny_ner_dir) -> None:
    ds = datasets.Dataset.from_dict({"text": TEXTS * 2})
    out = defnlp.annotate_dataset(ds, model=tiny_ner_dir, num_proc=2, batch_size=2, device="cpu", threads=1)
    assert out["entities"] == [r["entities"] for r in local_annotations(tiny_nlp, TEXTS * 2)]


def test_annotate_dataset_refuses_bad_arguments(tiny_nlp) -> None:
    ds = datasets.Dataset.from_dict({"body": TEXTS[:1]})
    with pytest.raises(InputError, match="no column 'text'") as err:
        defnlp.annotate_dataset(ds, nlp=tiny_nlp)
    assert "text_column" in err.value.hint
    with pytest.raises(InputError, match="num_proc"):
        defnlp.annotate_dataset(ds, nlp=tiny_nlp, text_column="body", num_proc=2)
    with pytest.raises(InputError, match="needs a datasets.Dataset"):
        defnlp.annotate_dataset([{"text": "x"}], nlp=tiny_nlp)


# ---- Parquet and CSV inputs ---------------------------------------------------------------------
def write_parquet(path: Path, rows: list[dict], row_group_size: int = 2) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def test_parquet_rows_become_records_with_ids_meta_and_errors(tmp_path) -> None:
    rows = [
        {"ref": "r1", "body": TEXTS[0], "lang": "fr", "when": datetime.date(2024, 3, 3)},
        {"ref": None, "body": TEXTS[1], "lang": None, "when": None},
        {"ref": "r3", "body": None, "lang": None, "when": None},
        {"ref": "r4", "body": "  ", "lang": None, "when": None},
        {"ref": "r5", "body": TEXTS[2], "lang": None, "when": None},
    ]
    path = write_parquet(tmp_path / "docs.parquet", rows)
    records = list(iter_parquet_records(path, text_column="body", id_column="ref", batch_rows=2))
    assert [r.id for r in records] == ["r1", "docs.parquet:2", "r3", "r4", "r5"]
    assert [r.ok for r in records] == [True, True, False, False, True]
    assert records[0].lang == "fr" and records[0].meta == {"when": "2024-03-03"}
    assert records[2].error.to_dict()["type"] == "RecordFormatError" and "--text-column" in records[2].error.hint
    assert records[3].error.to_dict()["type"] == "EmptyInputError"
    assert records[1].source.endswith("docs.parquet:2")


def test_parquet_without_the_text_column_gives_one_error_per_row(tmp_path) -> None:
    path = write_parquet(tmp_path / "docs.parquet", [{"body": t} for t in TEXTS])
    records = list(iter_inputs([path]))
    assert [r.id for r in records] == [f"docs.parquet:{i}" for i in range(1, 5)]
    assert all(not r.ok and "no column 'text'" in r.error.message for r in records)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    [broken] = list(iter_inputs([tmp_path / "broken.parquet"]))
    assert broken.id == "broken.parquet" and "cannot read as Parquet" in broken.error.message


def test_csv_and_tsv_rows_with_bad_encoding_and_long_fields(tmp_path) -> None:
    long_text = "La DGA commande des Griffon. " * 6000  # > 128 kB, the csv module's default field limit
    csv_path = tmp_path / "docs.csv"
    csv_path.write_bytes(
        b"id,text,lang\r\n"
        + f'c1,"{TEXTS[0]}",fr\r\n'.encode()
        + b"c2,Le minist\xe8re,fr\r\n"  # latin-1 in a UTF-8 file: this row only is an error
        + b'c3,"Deux lignes,\nune cellule",\r\n'
        + f"c4,{long_text},\r\n".encode()
        + b",,\r\n"
    )
    records = list(iter_inputs([csv_path]))
    assert [r.id for r in records] == ["c1", "c2", "c3", "c4", "docs.csv:5"]
    assert records[0].ok and records[0].lang == "fr"
    assert records[1].error.to_dict()["type"] == "InputEncodingError"
    assert records[2].text == "Deux lignes,\nune cellule" and records[2].lang is None
    assert records[3].text == long_text
    assert records[4].error.to_dict()["type"] == "EmptyInputError"
    tsv = tmp_path / "docs.tsv"
    tsv.write_text("ref\tbody\nt1\tThe Minister visited Toulon.\n", encoding="utf-8")
    [rec] = list(iter_inputs([tsv], text_column="body", id_column="ref"))
    assert (rec.id, rec.text) == ("t1", "The Minister visited Toulon.")


def test_folders_include_parquet_and_csv_files(tmp_path) -> None:
    write_parquet(tmp_path / "a.parquet", [{"id": "p1", "text": TEXTS[0]}])
    (tmp_path / "b.csv").write_text(f"id,text\nc1,{TEXTS[1]}\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text(TEXTS[2], encoding="utf-8")
    assert [r.id for r in iter_inputs([tmp_path])] == ["p1", "c1", "c.txt"]


def test_jsonl_text_and_id_columns(tmp_path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"ref": "x", "body": "Brest"}\n{"ref": "y", "text": "no body"}\n', encoding="utf-8")
    records = list(iter_inputs([path], text_column="body", id_column="ref"))
    assert [(r.id, r.ok) for r in records] == [("x", True), ("y", False)]
    assert '"body"' in records[1].error.message


# ---- defnlp annotate: Parquet in, Parquet out -------------------------------------------------------
def test_cli_parquet_in_parquet_out(tmp_path, tiny_ner_dir, tiny_nlp) -> None:
    rows = [{"ref": f"r{i}", "body": t, "source_site": "defense.gouv.fr"} for i, t in enumerate(TEXTS)]
    rows.insert(2, {"ref": "bad", "body": None, "source_site": None})
    src = write_parquet(tmp_path / "in.parquet", rows)
    out = tmp_path / "out.parquet"
    code = main(["-q", "annotate", str(src), "-o", str(out), "-m", str(tiny_ner_dir),
                 "--text-column", "body", "--id-column", "ref"])
    assert code == 0
    assert not (tmp_path / "out.parquet.partial").exists() and not (tmp_path / "out.parquet.partial.json").exists()
    table = pq.read_table(out)
    assert table.schema.names == parquet_schema().names + ["source_site"]  # the input's extra column, as a column
    got = table.to_pylist()
    assert [r["id"] for r in got] == ["r0", "r1", "bad", "r2", "r3"]
    assert got[2]["error"]["type"] == "RecordFormatError" and got[2]["entities"] is None
    good = [r for r in got if r["error"] is None]
    assert [r["entities"] for r in good] == [r["entities"] for r in local_annotations(tiny_nlp, TEXTS)]
    assert [r["source_site"] for r in got] == ["defense.gouv.fr"] * 2 + [None] + ["defense.gouv.fr"] * 2
    assert good[0]["meta"] is None


def test_output_format_follows_the_output_suffix() -> None:
    assert output_format_for("runs/out.parquet") == "parquet"
    assert output_format_for("runs.v2/out") == "jsonl"
