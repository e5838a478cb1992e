"""Ray Data integration: the Ray path gives the same annotations as the local path.

One local Ray instance (2 CPUs, no dashboard) serves the module and is shut down at the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

import defnlp
from defnlp.errors import InputError

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from defnlp.cluster import AnnotatorActor, annotate_ray, read_documents, write_annotations

ROOT = Path(__file__).resolve().parents[1]

DOCS = [
    {"id": "fr-1", "text": "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024."},
    {"id": "en-1", "text": "Nexter delivered 12 Caesar guns to Ukraine in 2023."},
    {"id": "fr-2", "text": "Le ministre des Armées a visité Brest avec la DGA."},
    {"id": "empty", "text": ""},
    {"id": "en-2", "text": "The Minister of Defence visited Toulon with Thales."},
]


def local_rows(nlp, docs: list[dict]) -> dict[str, dict]:
    """The reference: ``annotate_dataset`` on the same records, by id."""
    import datasets

    out = defnlp.annotate_dataset(datasets.Dataset.from_list(docs), nlp=nlp)
    return {r["id"]: {k: r[k] for k in ("entities", "relations", "lang", "error")} for r in out}


def comparable(row: dict) -> dict:
    error = row["error"]
    if error is not None:  # the position in the message differs (row N vs a batch row); the type must agree
        error = error["type"]
    return {"entities": row["entities"], "relations": row["relations"], "lang": row["lang"], "error": error}


@pytest.fixture(scope="module")
def local_ray():
    # workers import defnlp from this checkout
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}},
    )
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()


def test_actor_on_a_pyarrow_batch_equals_the_local_path(tiny_ner_dir, tiny_nlp) -> None:
    actor = AnnotatorActor(model=str(tiny_ner_dir), device="cpu")
    table = actor(pa.Table.from_pylist(DOCS))
    assert table.column_names == ["id", "text", "entities", "relations", "sentences", "lang", "error"]
    expected = local_rows(tiny_nlp, DOCS)
    for row in table.to_pylist():
        assert comparable(row) == comparable(expected[row["id"]])


def test_ray_data_gives_the_same_annotations_as_the_local_path(local_ray, tmp_path, tiny_ner_dir, tiny_nlp) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8")
    ds = read_documents(src)
    out = annotate_ray(ds, model=tiny_ner_dir, concurrency=1, batch_size=2).materialize()  # run once, read twice
    rows = out.take_all()
    assert [r["id"] for r in rows] == [d["id"] for d in DOCS]  # preserve_order is set above
    expected = local_rows(tiny_nlp, DOCS)
    assert [comparable(r) for r in rows] == [comparable(expected[d["id"]]) for d in DOCS]
    assert rows[3]["error"]["type"] == "EmptyInputError"
    assert sum(len(r["entities"]) for r in rows) > 0

    target = write_annotations(out, tmp_path / "annotated")
    import pyarrow.parquet as pq

    written = pq.read_table(target).to_pylist()
    assert sorted(r["id"] for r in written) == sorted(d["id"] for d in DOCS)


def test_text_folders_are_read_with_their_read_errors_kept(local_ray, tmp_path, tiny_ner_dir, tiny_nlp) -> None:
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text(DOCS[0]["text"], encoding="utf-8")
    (folder / "b.txt").write_bytes(b"%PDF-1.7\n\x00\x01\x02binary\x00\x00")
    rows = sorted(read_documents(folder).take_all(), key=lambda r: r["id"])
    assert [(r["id"], r["text"]) for r in rows] == [("a.txt", DOCS[0]["text"]), ("b.txt", None)]
    assert rows[1]["error"]["type"] == "BinaryInputError" and rows[1]["source"].endswith("b.txt")
    # annotation keeps the read error of a row without text (same actor code as in the Ray pool)
    actor = AnnotatorActor(model=str(tiny_ner_dir), device="cpu")
    table = actor(pa.Table.from_pylist(rows))
    annotated = {r["id"]: r for r in table.to_pylist()}
    assert annotated["b.txt"]["error"]["type"] == "BinaryInputError"
    assert comparable(annotated["a.txt"]) == comparable(local_rows(tiny_nlp, [{"id": "a.txt", "text": DOCS[0]["text"]}])["a.txt"])


def test_read_documents_needs_one_known_format(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="one document format"):
        read_documents(tmp_path)
    with pytest.raises(InputError, match="cannot infer"):
        read_documents("s3://bucket/docs/")
    with pytest.raises(InputError, match="not found"):
        read_documents(tmp_path / "missing")
