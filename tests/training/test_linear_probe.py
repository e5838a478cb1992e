"""``linear_probe_epochs``: the new labels' head rows are fitted on frozen features before fine-tuning."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from defnlp.config import load_config, parse_overrides
from defnlp.encoders.adapters import LoraSettings
from defnlp.errors import ConfigError
from defnlp.io.corpora import DataSource
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.ner import NerTask
from defnlp.training.rehearsal import RehearsalSettings
from tests.training.units import UNITS_CORPUS


def _config(tmp_path: Path, base: Path | None, name: str, **kw: Any) -> NerTrainingConfig:
    corpus = tmp_path / "units.md"
    corpus.write_text(UNITS_CORPUS, encoding="utf-8")
    labels = json.loads((base / "defnlp.json").read_text())["labels"] if base else ["ORG", "LOC"]
    args: dict[str, Any] = dict(
        name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=1, lr=1e-2, head_lr=3e-2,
        batch_tokens=512, max_batch=2, labels=labels + ["UNIT"], precision="fp32", lora=LoraSettings(r=4, alpha=8),
        train=[DataSource(format="markup", path=str(corpus), annotated=None if base is None else ["UNIT"])],
        init_from=str(base) if base else "", rehearsal=RehearsalSettings(enabled=False))
    args.update(kw)
    return NerTrainingConfig(**args)


@pytest.mark.parametrize("bad", [-1, 1001, 2.5, True, "10"])
def test_bad_epoch_counts_are_config_errors(tmp_path, bad):
    with pytest.raises(ConfigError, match="linear_probe_epochs"):
        _config(tmp_path, None, "x", linear_probe_epochs=bad).validate()


def test_the_key_loads_through_set(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "c"\noutput = "out"\n[[train]]\nformat = "markup"\npath = "units.md"\n', encoding="utf-8")
    assert load_config(NerTrainingConfig, path).linear_probe_epochs == 0
    assert load_config(NerTrainingConfig, path, parse_overrides(["linear_probe_epochs=40"])).linear_probe_epochs == 40


def test_the_probe_fits_only_the_new_rows_and_lowers_the_loss(tmp_path, tiny_ner_dir, caplog):
    plain = NerTask(_config(tmp_path, tiny_ner_dir, "plain"))
    with caplog.at_level(logging.INFO, logger="defnlp.training.ner"):
        task = NerTask(_config(tmp_path, tiny_ner_dir, "probe", linear_probe_epochs=60))
    record = task.probe_record
    assert record["new_labels"] == ["UNIT"] and record["epochs"] == 60 and record["tokens"] > 20
    assert record["loss_after"] < record["loss_before"]
    assert "linear probe: head rows of UNIT fitted" in caplog.text
    new_rows = [task.tagset.begin_id("UNIT"), task.tagset.inside_id("UNIT")]
    old_rows = [i for i in range(len(task.tagset)) if i not in new_rows]
    w0, w1 = plain.model.head.proj.weight, task.model.head.proj.weight
    assert torch.equal(w0[old_rows], w1[old_rows]) and torch.equal(plain.model.head.proj.bias[old_rows],
                                                                    task.model.head.proj.bias[old_rows])
    assert not torch.equal(w0[new_rows], w1[new_rows])
    # the probe's head scores the new label's tokens higher than the untouched head does
    batch = list(range(len(task.lengths)))
    from defnlp.training.data import collate

    ids, mask, allowed = collate([task.train_ds[i] for i in batch], task.tagset, task.tokenizer.pad_token_id)
    unit = allowed[..., new_rows[0]] & (allowed.sum(-1) == 1)
    task.model.eval(), plain.model.eval()
    with torch.no_grad():
        p_probe = task.model(ids, mask).softmax(-1)[..., new_rows[0]][unit].mean()
        p_plain = plain.model(ids, mask).softmax(-1)[..., new_rows[0]][unit].mean()
    assert p_probe > p_plain


def test_no_effect_without_init_from(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="defnlp.training.ner"):
        task = NerTask(_config(tmp_path, None, "scratch", linear_probe_epochs=10))
    assert "linear_probe_epochs = 10 has no effect: the run has no init_from" in caplog.text
    assert task.probe_record == {}


def test_same_seed_gives_bit_identical_weights_and_the_card_records_the_probe(tmp_path, tiny_ner_dir):
    def weights(name: str) -> str:
        out = train_ner(_config(tmp_path, tiny_ner_dir, name, epochs=2, linear_probe_epochs=20))
        assert json.loads((out / "defnlp.json").read_text())["training"]["linear_probe"]["epochs"] == 20
        return hashlib.sha256((out / "weights.safetensors").read_bytes()).hexdigest()

    assert weights("a") == weights("b")
