"""The correction loop: every annotation-tool format round-trips into training.

For each format a user corrects in (JSONL, brat, Label Studio, doccano, a Hugging Face dataset),
the tiny markup corpus is written in that format, trained on for one epoch on the tiny random
encoder, and the documents training loaded must be the original ones (text, entities,
relations); the trained model's card records the source. Then ``defnlp annotate --format
labelstudio`` output, read back by the ``labelstudio`` reader, equals the JSONL annotation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import defnlp.io.corpora as corpora
from defnlp.cli import main
from defnlp.doc import Doc
from defnlp.encoders.adapters import LoraSettings
from defnlp.io.brat import write_brat
from defnlp.io.corpora import DataSource
from defnlp.io.doccano import write_doccano
from defnlp.io.hf import docs_to_dataset
from defnlp.io.labelstudio import read_labelstudio, write_labelstudio
from defnlp.io.markup import read_markup_files
from defnlp.training import NerTrainingConfig, train_ner


def canonical(doc: Doc) -> tuple:
    """What training learns from a document: its text, its entities and its relations (by span)."""
    span = [(e.start, e.end, e.label) for e in doc.entities]
    return (doc.id, doc.text, sorted(span), sorted((span[r.head], r.label, span[r.tail]) for r in doc.relations))


def write_jsonl(docs: list[Doc], path: Path) -> Path:
    path.write_text("".join(d.to_json() + "\n" for d in docs), encoding="utf-8")
    return path


def write_brat_dir(docs: list[Doc], path: Path) -> Path:
    write_brat(docs, path)
    return path


def write_hf(docs: list[Doc], path: Path) -> Path:
    docs_to_dataset(docs).save_to_disk(path)
    return path


WRITERS = {
    "jsonl": (write_jsonl, "corpus.jsonl"),
    "brat": (write_brat_dir, "brat"),
    "labelstudio": (write_labelstudio, "export.json"),
    "doccano": (write_doccano, "export.jsonl"),
    "hf_dataset": (write_hf, "dataset"),
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_each_format_round_trips_into_training(fmt, tmp_path, tiny_markup_file, monkeypatch):
    original = read_markup_files([tiny_markup_file])
    assert sum(len(d.relations) for d in original) > 0
    write, name = WRITERS[fmt]
    path = write([d.copy() for d in original], tmp_path / name)
    assert corpora.get_reader(fmt).kind == "docs"

    loaded: list[Doc] = []
    real_load_source = corpora.load_source

    def spy(source: DataSource, *args: Any, **kwargs: Any) -> list[Doc]:
        docs = real_load_source(source, *args, **kwargs)
        loaded.extend(docs)
        return docs

    monkeypatch.setattr(corpora, "load_source", spy)  # what the training loop calls, by module attribute
    source = DataSource(format=fmt, path=str(path))
    cfg = NerTrainingConfig(
        name=f"import-{fmt}", output=str(tmp_path / "model"), encoder="tiny-random-e5", epochs=1, lr=1e-2, head_lr=1e-2,
        batch_tokens=128, max_batch=2, precision="fp32", adapter="full", lora=LoraSettings(r=4, alpha=8), train=[source],
    )
    out = Path(train_ner(cfg))

    assert sorted(map(canonical, loaded)) == sorted(map(canonical, original))
    assert all(d.meta["source"] == source.describe() for d in loaded)
    card = json.loads((out / "defnlp.json").read_text(encoding="utf-8"))
    recorded = card["training"]["config"]["train"]
    assert [(s["format"], s["path"]) for s in recorded] == [(fmt, str(path))]


def test_annotate_labelstudio_output_reads_back_as_the_jsonl_annotation(tmp_path, tiny_ner_dir):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        '{"id": "a", "text": "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024."}\n'
        '{"id": "b", "text": "Nexter delivered 12 Caesar guns to Ukraine in 2023."}\n'
        '{"id": "empty", "text": ""}\n',
        encoding="utf-8",
    )
    jsonl, tasks = tmp_path / "out.jsonl", tmp_path / "tasks.json"
    assert main(["-q", "annotate", str(inputs), "-o", str(jsonl), "-m", str(tiny_ner_dir)]) == 0
    assert main(["-q", "annotate", str(inputs), "-o", str(tasks), "-m", str(tiny_ner_dir), "--format", "labelstudio"]) == 0

    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    annotated = [Doc.from_dict(r) for r in records if "error" not in r]
    assert len(annotated) == 2 and any(d.entities for d in annotated)  # the tiny model finds something
    json.loads(tasks.read_text(encoding="utf-8"))  # one JSON document, as Label Studio imports it
    back = read_labelstudio(tasks)
    assert [canonical(d) for d in back] == [canonical(d) for d in annotated]
    assert [[e.score for e in d.entities] for d in back] == [[e.score for e in d.entities] for d in annotated]
    assert all(d.meta["labelstudio"]["from"] == "predictions" for d in back)
