"""``new_label_bias``: a decision bias for the new labels, fitted on dev each epoch, carried by the saved head."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defnlp.encoders.adapters import LoraSettings
from defnlp.io.corpora import DataSource
from defnlp.ner.model import load_ner
from defnlp.tags import TagSet
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.label_bias import GRID, bias_columns, fit_label_bias, shift
from defnlp.training.dev_scoring import decode_docs, encode_docs
from defnlp.training.ner import NerTask
from defnlp.training.rehearsal import RehearsalSettings
from tests.training.units import UNITS_CORPUS


def _config(tmp_path: Path, base: Path, name: str, **kw: Any) -> NerTrainingConfig:
    corpus = tmp_path / "units.md"
    corpus.write_text(UNITS_CORPUS, encoding="utf-8")
    labels = json.loads((base / "defnlp.json").read_text())["labels"]
    source = DataSource(format="markup", path=str(corpus), annotated=["UNIT"])
    args: dict[str, Any] = dict(
        name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=1, lr=1e-2, head_lr=3e-2,
        batch_tokens=512, max_batch=2, labels=labels + ["UNIT"], precision="fp32", lora=LoraSettings(r=4, alpha=8),
        train=[source], dev=[source], init_from=str(base), rehearsal=RehearsalSettings(enabled=False), ema=0)
    args.update(kw)
    return NerTrainingConfig(**args)


def test_the_bias_only_moves_the_new_labels_columns():
    tags = TagSet(["ORG", "UNIT"])
    cols = bias_columns(tags, ["UNIT"])
    assert [tags.tags[i] for i in cols] == ["B-UNIT", "I-UNIT"]
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(len(tags)), size=6))
    for bias in GRID:
        out = shift(lp, cols, bias)
        assert np.allclose(np.exp(out).sum(axis=1), 1.0)  # still log-probabilities
        ratio = out - lp  # every old column moves by the same amount, the new ones by that plus the bias
        old = [i for i in range(len(tags)) if i not in cols]
        assert np.allclose(ratio[:, old], ratio[:, old[:1]]) and np.allclose(ratio[:, cols], ratio[:, old[:1]] + bias)
    assert shift(lp, cols, 0.0) is lp


def test_the_fit_takes_the_best_score_and_the_smallest_bias_on_ties():
    assert fit_label_bias(lambda b: 1.0, grid=(-1.0, 0.0, 2.0))[0] == 0.0
    assert fit_label_bias(lambda b: min(b, 1.0), grid=(0.0, 1.0, 2.0, 3.0))[0] == 1.0
    bias, record = fit_label_bias(lambda b: b, grid=(0.5, 1.5))
    assert bias == 1.5 and record == {"grid": [0.5, 1.5], "scores": [0.5, 1.5], "bias": 1.5}


def test_the_saved_head_decodes_as_the_fitted_bias(tmp_path, tiny_ner_dir, caplog):
    """The run scores each epoch with its best bias; the saved model, loaded again, gives the same entities."""
    cfg = _config(tmp_path, tiny_ner_dir, "biased", new_label_bias=True)
    with caplog.at_level(logging.INFO, logger="defnlp.training.ner"):
        out = train_ner(cfg)
    assert "new-label bias" in caplog.text
    spec = json.loads((out / "defnlp.json").read_text())
    record = spec["training"]["new_label_bias"]
    assert record["labels"] == ["UNIT"] and record["grid"] == list(GRID) and record["bias"] in GRID
    assert spec["training"]["history"][0]["new_label_bias"] == record["bias"]
    # the task's own decoding with the bias == the saved model's plain decoding
    task = NerTask(cfg)
    loaded = load_ner(str(out))
    task.model.head.load_state_dict(loaded.head.state_dict())  # the saved head, bias included
    cols = bias_columns(task.tagset, ["UNIT"])
    base_bias = task.model.head.proj.bias.detach().clone()
    base_bias[cols] -= record["bias"]
    enc_saved = encode_docs(task.model, task.tokenizer, task.dev_docs, 254, 32)
    task.model.head.proj.bias.data.copy_(base_bias)  # the head before the bias was added
    enc_raw = encode_docs(task.model, task.tokenizer, task.dev_docs, 254, 32)
    saved = [[(e.start, e.end, e.label) for e in d.entities] for d in decode_docs(task.tagset, enc_saved)]
    fitted = [[(e.start, e.end, e.label) for e in d.entities] for d in decode_docs(task.tagset, enc_raw, cols, record["bias"])]
    assert saved == fitted
    # whatever the grid picked on this toy run: the shipped head holds bias + the fitted value on the new rows only
    task.label_bias = 2.0
    shipped = task.model_tensors()["ner.proj.bias"] - task.model.head.proj.bias.detach()
    assert shipped[cols].tolist() == [2.0, 2.0] and not shipped[[i for i in range(len(task.tagset)) if i not in cols]].any()


def test_without_new_labels_it_warns_and_does_nothing(tmp_path, tiny_ner_dir, caplog):
    labels = json.loads((tiny_ner_dir / "defnlp.json").read_text())["labels"]
    with caplog.at_level(logging.WARNING, logger="defnlp.training.ner"):
        task = NerTask(_config(tmp_path, tiny_ner_dir, "same", labels=labels, new_label_bias=True,
                               train=[DataSource(format="markup", path=str(tmp_path / "units.md"))],
                               dev=[DataSource(format="markup", path=str(tmp_path / "units.md"))]))
    assert "new_label_bias has no effect" in caplog.text and task.bias_columns.size == 0


@pytest.mark.parametrize("value", [True, False])
def test_the_key_loads_through_set(tmp_path, value):
    from defnlp.config import load_config, parse_overrides

    path = tmp_path / "c.toml"
    path.write_text('name = "c"\noutput = "out"\n[[train]]\nformat = "markup"\npath = "units.md"\n', encoding="utf-8")
    assert load_config(NerTrainingConfig, path).new_label_bias is False
    assert load_config(NerTrainingConfig, path, parse_overrides([f"new_label_bias={json.dumps(value)}"])).new_label_bias is value
