"""Knowledge distillation in NER training (defnlp.training.distillation): a student on the first
layer of the tiny random encoder learns from the tiny 2-layer model of the test fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import defnlp
from defnlp.config import config_from_dict
from defnlp.encoders.adapters import LoraSettings
from defnlp.errors import ConfigError
from defnlp.io.corpora import DataSource
from defnlp.ner.model import NerModel, load_ner
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.data import collate
from defnlp.training.distillation import DistillSettings, kl_to_teacher
from defnlp.training.ner import NerTask


def student(tmp_path: Path, tiny_markup_file: Path, teacher: Path | str, name: str = "student", **kw: Any) -> NerTrainingConfig:
    base: dict[str, Any] = dict(name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=2, lr=1e-2,
                                head_lr=1e-2, batch_tokens=256, max_batch=4, precision="fp32", adapter="full",
                                encoder_layers=1, lora=LoraSettings(r=4, alpha=8),
                                train=[DataSource(format="markup", path=str(tiny_markup_file))],
                                distill=DistillSettings(model=str(teacher), weight=1.0, temperature=2.0))
    base.update(kw)
    return NerTrainingConfig(**base)


def test_the_teachers_logits_are_its_own_on_every_training_window(tmp_path, tiny_markup_file, tiny_ner_dir):
    task = NerTask(student(tmp_path, tiny_markup_file, tiny_ner_dir))
    assert task.teacher is not None and len(task.teacher) == len(task.lengths)
    assert [t.shape[0] for t in task.teacher] == task.lengths
    assert len(task.teacher_tags) == len(task.tagset.tags)  # the same labels: every tag is shared
    assert (task.distill_weight, task.distill_temperature) == (1.0, 2.0)
    teacher = load_ner(str(tiny_ner_dir))
    order = [teacher.tagset.index[task.tagset.tags[i]] for i in task.teacher_tags]
    batch = [0, 1]
    ids, mask, _ = collate([task.train_ds[i] for i in batch], task.tagset, task.tokenizer.pad_token_id)
    with torch.no_grad():
        direct = NerModel(teacher.encoder.model, teacher.head).eval()(ids, mask)[..., order]
    for r, i in enumerate(batch):
        torch.testing.assert_close(task.teacher[i], direct[r, : task.lengths[i]], rtol=1e-4, atol=1e-5)
    assert task.distill_record["teacher"] == "tiny-ner" and task.distill_record["teacher_layers"] == 2


def test_the_term_is_zero_on_the_teachers_own_logits_and_grows_with_the_gap():
    teacher = [torch.randn(5, 3)]
    labelled = torch.ones(1, 5, dtype=torch.bool)
    tags = torch.tensor([0, 1, 2])
    for temperature in (1.0, 2.0):
        assert kl_to_teacher(teacher[0][None], teacher, [0], tags, labelled, temperature).item() < 1e-6
        other = teacher[0][None] + torch.tensor([3.0, 0.0, 0.0])
        assert kl_to_teacher(other, teacher, [0], tags, labelled, temperature).item() > 1e-2
    assert kl_to_teacher(other, teacher, [0], tags, torch.zeros(1, 5, dtype=torch.bool)).item() == 0.0


def test_a_distilled_student_trains_loads_and_records_its_teacher(tmp_path, tiny_markup_file, tiny_ner_dir):
    out = train_ner(student(tmp_path, tiny_markup_file, tiny_ner_dir))
    card = json.loads((out / "defnlp.json").read_text())
    record = card["training"]["distill"]
    assert record["teacher"] == "tiny-ner" and len(record["teacher_weights_sha256"]) == 64
    assert record["temperature"] == 2.0 and record["shared_tags"] == len(card["head"]["tags"])
    assert card["encoder"]["layers"] == 1
    doc = defnlp.load(out, device="cpu")("Nexter delivered 12 Caesar guns to Ukraine in 2023.")
    assert doc.text.startswith("Nexter")


def test_a_distill_table_is_validated_on_load(tmp_path):
    data = {"name": "s", "output": str(tmp_path / "s"), "train": [{"format": "re3d", "split": "train"}],
            "distill": {"model": "defence-v2-ner", "weight": 0.5}}
    assert config_from_dict(NerTrainingConfig, data).distill.weight == 0.5
    for bad in ({"weight": 0}, {"temperature": -1.0}, {"weight": True}, {"nope": 1}):
        with pytest.raises(ConfigError, match="distill"):
            config_from_dict(NerTrainingConfig, {**data, "distill": {"model": "x", **bad}})


def test_one_teacher_at_a_time(tmp_path, tiny_markup_file, tiny_ner_dir):
    with pytest.raises(ConfigError, match="one teacher at a time") as err:
        student(tmp_path, tiny_markup_file, tiny_ner_dir, init_from=str(tiny_ner_dir)).validate()
    assert "rehearsal.distill = 0" in err.value.hint
    from defnlp.training.rehearsal import RehearsalSettings

    student(tmp_path, tiny_markup_file, tiny_ner_dir, init_from=str(tiny_ner_dir),
            rehearsal=RehearsalSettings(distill=0.0)).validate()


def test_a_teacher_without_shared_labels_or_missing_is_a_config_error(tmp_path, tiny_markup_file, tiny_ner_dir):
    with pytest.raises(ConfigError, match="shares no label"):
        NerTask(student(tmp_path, tiny_markup_file, tiny_ner_dir, labels=["UNIT"]))
    with pytest.raises(ConfigError, match="distill.model"):
        NerTask(student(tmp_path, tiny_markup_file, tmp_path / "no-such-model"))


def test_a_teacher_reading_other_token_ids_is_refused(tmp_path, tiny_markup_file, tiny_ner_dir, monkeypatch):
    import defnlp.ner.model as ner_model

    real = ner_model.load_ner

    def other_tokenizer(path: str):
        loaded = real(path)
        loaded.encoder.info = type(loaded.encoder.info)(**{**loaded.encoder.info.__dict__, "sha256": "0" * 64})
        loaded.encoder.tokenizer = lambda text: {"input_ids": [0, 1, 2]}
        return loaded

    monkeypatch.setattr(ner_model, "load_ner", other_tokenizer)
    with pytest.raises(ConfigError, match="other token ids"):
        NerTask(student(tmp_path, tiny_markup_file, tiny_ner_dir))
