"""Rehearsal (defnlp/training/rehearsal.py): replayed base documents and pseudo-labels keep the old labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from defnlp.doc import Doc
from defnlp.encoders.adapters import LoraSettings
from defnlp.errors import ConfigError
from defnlp.io.corpora import DataSource
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.rehearsal import RehearsalSettings, base_sources, pseudo_label, replay_documents

UNITS = """
=== doc: u1 | lang: fr
Le [3e régiment d'infanterie de marine]{UNIT} a quitté Vannes avec la DGA.
=== doc: u2 | lang: en
The [173rd Airborne Brigade]{UNIT} trained with Thales near Vicenza.
"""


def test_settings_decide_when_and_how_much():
    assert RehearsalSettings().active("base") and not RehearsalSettings().active("")
    assert not RehearsalSettings(enabled=False).active("base") and not RehearsalSettings(enabled=True).active("")
    assert RehearsalSettings(share=0.5, min_documents=0).replay_count(30) == 30
    assert RehearsalSettings(share=0.25, min_documents=0).replay_count(30) == 10
    assert RehearsalSettings(share=0.5, max_documents=40).replay_count(1000) == 40
    assert RehearsalSettings(share=0.0).replay_count(30) == 0
    for bad in (RehearsalSettings(share=1.0), RehearsalSettings(share=-0.1), RehearsalSettings(min_documents=5, max_documents=2)):
        with pytest.raises(ConfigError):
            bad.validate()


def _doc(text: str, spans: list[tuple[int, int, str]], annotated: list[str] | None) -> Doc:
    doc = Doc(text, id=text[:8])
    for s, e, label in spans:
        doc.add_entity(s, e, label)
    doc.meta["annotated"] = annotated
    return doc


def test_pseudo_labels_fill_only_the_missing_labels_outside_gold_spans():
    text = "Le 3e régiment a quitté Vannes avec la DGA."
    doc = _doc(text, [(3, 14, "UNIT")], ["UNIT"])
    full = _doc(text, [(24, 30, "LOC")], None)  # annotates everything: left alone
    seen: list[str] = []

    def predict(docs: list[Doc]) -> list[Doc]:
        seen.extend(d.id for d in docs)
        out = []
        for d in docs:
            p = Doc(d.text)
            p.add_entity(3, 14, "ORG", score=0.9)    # overlaps the gold UNIT: dropped
            p.add_entity(24, 30, "LOC", score=0.8)   # kept
            p.add_entity(39, 42, "ORG", score=0.7)   # kept
            p.add_entity(39, 42, "UNIT", score=0.7)  # not a base label: dropped
            out.append(p)
        return out

    counts = pseudo_label([doc, doc, full], ["ORG", "LOC", "PER"], predict)
    assert seen == [doc.id]  # a repeated document is labelled once; a fully annotated one never
    assert counts == {"documents": 1, "entities": 2}
    assert [(e.text, e.label) for e in doc.entities] == [("3e régiment", "UNIT"), ("Vannes", "LOC"), ("DGA", "ORG")]
    assert doc.meta["annotated"] == ["UNIT", "ORG", "LOC", "PER"]
    assert [e.label for e in full.entities] == ["LOC"] and full.meta["annotated"] is None


def test_replay_keeps_the_base_labels_and_frees_the_new_ones(tiny_markup_file):
    source = DataSource(format="markup", path=str(tiny_markup_file))
    docs = replay_documents([source], ["ORG", "LOC"], count=3, seed=1)
    again = replay_documents([source], ["ORG", "LOC"], count=3, seed=1)
    assert [d.id for d in docs] == [d.id for d in again] and len(docs) == 3  # seeded
    for d in docs:
        assert d.meta["annotated"] == ["ORG", "LOC"] and d.meta["rehearsal"] == "replay"
        assert {e.label for e in d.entities} <= {"ORG", "LOC"} and not d.relations
    assert len(replay_documents([source], ["ORG"], count=50, seed=1)) == 4  # no more than the pool


def test_base_sources_resolve_relative_paths_and_skip_missing_data(tmp_path, caplog):
    (tmp_path / "configs").mkdir()
    (tmp_path / "data.md").write_text("=== doc: a\nLa [DGA]{ORG}.\n", encoding="utf-8")
    card = {"training": {"config": {"train": [
        {"format": "markup", "path": "../data.md", "sample": 2.0, "augment": True},
        {"format": "markup", "path": "../data.md", "sample": 0.2},
        {"format": "markup", "path": "../missing.md"},
    ]}}}
    sources = base_sources(card, tmp_path / "models" / "m", search=[tmp_path / "configs"])
    assert [Path(s.path) for s in sources] == [(tmp_path / "data.md").resolve()] * 2
    assert [s.sample for s in sources] == [1.0, 0.2] and not sources[0].augment
    assert "missing.md" in caplog.text


def _units_config(tmp_path: Path, base: Path, name: str, **kw) -> NerTrainingConfig:
    units = tmp_path / "units.md"
    units.write_text(UNITS, encoding="utf-8")
    base_labels = json.loads((base / "defnlp.json").read_text())["labels"]
    return NerTrainingConfig(
        name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=1, lr=1e-2, head_lr=1e-2,
        batch_tokens=512, init_from=str(base), labels=base_labels + ["UNIT"], precision="fp32",
        lora=LoraSettings(r=4, alpha=8), train=[DataSource(format="markup", path=str(units), annotated=["UNIT"])], **kw)


def test_fine_tuning_from_a_model_rehearses_by_default(tmp_path, tiny_ner_dir):
    out = train_ner(_units_config(tmp_path, tiny_ner_dir, "with"))
    training = json.loads((out / "defnlp.json").read_text())["training"]
    rehearsal = training["rehearsal"]
    assert rehearsal["replayed_documents"] == 4  # the tiny base was trained on 4 documents (min_documents is 50)
    assert rehearsal["pseudo_labels"]["documents"] == 2 and rehearsal["new_documents_repeated"] == 2
    sources = {r["source"]: r for r in training["data"]["train"]}
    assert any(s.startswith("rehearsal:markup") for s in sources) and sources[next(iter(sources))]["documents"] == 4
    assert training["ema"] == 0.99 and training["config"]["ema"] is None  # the weight average is on too

    off = train_ner(_units_config(tmp_path, tiny_ner_dir, "without", rehearsal=RehearsalSettings(enabled=False)))
    training = json.loads((off / "defnlp.json").read_text())["training"]
    assert "rehearsal" not in training and len(training["data"]["train"]) == 1


def test_the_weight_average_is_on_by_default_only_when_fine_tuning(tmp_path, tiny_ner_dir):
    from defnlp.training.ner import FINE_TUNING_EMA

    tuned = _units_config(tmp_path, tiny_ner_dir, "ema")
    assert tuned.weight_average() == FINE_TUNING_EMA == tuned.loop_settings().ema
    assert _units_config(tmp_path, tiny_ner_dir, "ema", ema=0.0).weight_average() == 0.0  # explicit off wins
    assert _units_config(tmp_path, tiny_ner_dir, "ema", ema=0.9).loop_settings().ema == 0.9
    scratch = NerTrainingConfig(name="s", output=str(tmp_path / "s"), train=tuned.train)
    scratch.validate()
    assert scratch.weight_average() == 0.0 and scratch.loop_settings().ema == 0.0
    with pytest.raises(ConfigError, match="ema must be"):
        _units_config(tmp_path, tiny_ner_dir, "ema", ema=1.5).validate()


def test_a_card_records_data_config_hash_versions_and_wall_time(tiny_ner_dir):
    training = json.loads((tiny_ner_dir / "defnlp.json").read_text())["training"]
    assert len(training["config_sha256"]) == 64 and training["wall_seconds"] > 0
    assert training["versions"]["torch"] and training["versions"]["transformers"] and training["versions"]["defnlp"]
    (train,) = training["data"]["train"]
    assert train["documents"] == 4 and train["entities"] == 18 and len(train["sha256"]) == 64


def test_distillation_is_zero_for_the_base_model_and_grows_as_the_model_drifts(tmp_path, tiny_ner_dir):
    import torch

    from defnlp.training.data import collate
    from defnlp.training.distillation import kl_to_teacher
    from defnlp.training.ner import NerTask

    task = NerTask(_units_config(tmp_path, tiny_ner_dir, "distil"))
    assert task.teacher is not None and len(task.teacher) == len(task.lengths)
    assert task.distill_weight == 1.0 and "B-UNIT" not in [task.tagset.tags[i] for i in task.teacher_tags]
    batch = list(range(len(task.lengths)))
    ids, mask, allowed = collate([task.train_ds[i] for i in batch], task.tagset, task.tokenizer.pad_token_id)
    task.model.eval()

    def term() -> float:
        return kl_to_teacher(task._logits(batch, ids, mask), task.teacher, batch, task.teacher_tags, allowed.any(-1)).item()

    with torch.no_grad():
        assert term() < 1e-6
        task.model.head.proj.bias[task.tagset.index["B-ORG"]] += 3.0  # the model drifts on an old tag
        assert term() > 1e-2
        task.model.head.proj.bias[task.tagset.index["B-ORG"]] -= 3.0
        task.model.head.proj.bias[task.tagset.index["B-UNIT"]] += 3.0  # mass on the new label is free
        assert term() < 1e-6


def test_new_tags_start_as_unlikely_as_the_least_likely_old_tag(tmp_path, tiny_ner_dir):
    from defnlp.training.ner import NerTask

    task = NerTask(_units_config(tmp_path, tiny_ner_dir, "rows", rehearsal=RehearsalSettings(enabled=False)))
    bias = task.model.head.proj.bias.detach()
    old = [i for t, i in task.tagset.index.items() if not t.endswith("UNIT") and t != "O"]
    for tag in ("B-UNIT", "I-UNIT"):
        assert bias[task.tagset.index[tag]] == bias[old].min()
