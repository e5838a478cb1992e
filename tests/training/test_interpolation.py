"""Weight interpolation towards the init_from model (defnlp/training/interpolation.py, WiSE-FT)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from defnlp.encoders.adapters import DELTA_PREFIX, LoraSettings
from defnlp.errors import ConfigError, ModelNotFoundError
from defnlp.io.corpora import DataSource
from defnlp.models import load_weights, read_model_dir
from defnlp.tags import TagSet
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.interpolation import interpolate_ner
from defnlp.training.rehearsal import RehearsalSettings

UNITS = """
=== doc: u1 | lang: fr
Le [3e régiment d'infanterie de marine]{UNIT} a quitté Vannes avec la DGA.
=== doc: u2 | lang: en
The [173rd Airborne Brigade]{UNIT} trained with Thales near Vicenza.
"""


def _config(tmp: Path, name: str, **kw: Any) -> NerTrainingConfig:
    base: dict[str, Any] = dict(name=name, output=str(tmp / name), encoder="tiny-random-e5", epochs=1, lr=1e-2,
                                head_lr=1e-2, batch_tokens=256, max_batch=4, precision="fp32", adapter="full",
                                lora=LoraSettings(r=4, alpha=8))
    base.update(kw)
    return NerTrainingConfig(**base)


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_markup_file) -> dict[str, Path]:
    """A tiny fully fine-tuned base (layer 1), a model tuned from it with a UNIT label (layers 0-1),
    and the same tuning run with interpolate = 0.5."""
    tmp = tmp_path_factory.mktemp("interp")
    base = train_ner(_config(tmp, "base", frozen_layers=1, train=[DataSource(format="markup", path=str(tiny_markup_file))]))
    units = tmp / "units.md"
    units.write_text(UNITS, encoding="utf-8")
    labels = json.loads((base / "defnlp.json").read_text())["labels"] + ["UNIT"]
    tuned_kw = dict(init_from=str(base), labels=labels, rehearsal=RehearsalSettings(enabled=False), ema=0.0,
                    train=[DataSource(format="markup", path=str(units), annotated=["UNIT"])])
    tuned = train_ner(_config(tmp, "tuned", **tuned_kw))
    half = train_ner(_config(tmp, "half", interpolate=0.5, **tuned_kw))
    # a model soup: a second run from the raw encoder, averaged with the base when it ends (no init_from)
    soup = train_ner(_config(tmp, "soup", frozen_layers=1, seed=7, interpolate=0.5, interpolate_with=str(base),
                             train=[DataSource(format="markup", path=str(tiny_markup_file))]))
    alone = train_ner(_config(tmp, "alone", frozen_layers=1, seed=7, train=[DataSource(format="markup", path=str(tiny_markup_file))]))
    return {"base": base, "tuned": tuned, "half": half, "soup": soup, "alone": alone, "tmp": tmp}


def _tensors(path: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    spec, weights = read_model_dir(path)
    return load_weights(weights), TagSet(spec.labels).tags


def test_alpha_one_is_the_tuned_model_and_alpha_zero_the_base_with_the_new_rows(models):
    tuned, tuned_tags = _tensors(models["tuned"])
    base, base_tags = _tensors(models["base"])
    one, _ = _tensors(interpolate_ner(models["base"], models["tuned"], 1.0, models["tmp"] / "one"))
    assert set(one) == set(tuned) and all(torch.equal(one[k], tuned[k]) for k in tuned)
    zero, _ = _tensors(interpolate_ner(models["base"], models["tuned"], 0.0, models["tmp"] / "zero"))
    for key in (k for k in tuned if k.startswith(DELTA_PREFIX)):
        expected = base[key] if key in base else torch.zeros_like(tuned[key])  # layer 0: the base did not train it
        assert torch.equal(zero[key], expected.to(tuned[key].dtype)), key
    for i, tag in enumerate(tuned_tags):
        if tag in base_tags:
            assert torch.allclose(zero["ner.proj.weight"][i], base["ner.proj.weight"][base_tags.index(tag)])
        else:  # B-UNIT, I-UNIT: the base model has no row to move towards
            assert torch.equal(zero["ner.proj.weight"][i], tuned["ner.proj.weight"][i])


def test_training_with_interpolate_saves_the_midpoint_and_records_it(models):
    half, _ = _tensors(models["half"])
    tuned, _ = _tensors(models["tuned"])
    base, _ = _tensors(models["base"])
    key = next(k for k in base if k.startswith(DELTA_PREFIX))
    midpoint = (base[key].float() + tuned[key].float()) / 2
    assert torch.allclose(half[key].float(), midpoint, atol=1e-3)  # the same seed trains the same weights
    card = json.loads((models["half"] / "defnlp.json").read_text())
    assert card["training"]["interpolation"]["alpha"] == 0.5 and card["training"]["interpolation"]["base"] == "base"
    assert card["training"]["best_epoch"] == 1 and card["training"]["wall_seconds"] > 0

    import defnlp

    doc = defnlp.load(models["half"], device="cpu", relations=False)("The 173rd Airborne Brigade left Vicenza.")
    assert doc.text.startswith("The 173rd")  # the interpolated directory loads (manifest, hashes) and runs


def test_interpolate_with_averages_a_run_with_another_model_trained_from_the_same_encoder(models):
    soup, _ = _tensors(models["soup"])
    alone, _ = _tensors(models["alone"])
    base, _ = _tensors(models["base"])
    assert set(soup) == set(alone)
    for key in soup:
        assert torch.allclose(soup[key].float(), (base[key].float() + alone[key].float()) / 2, atol=1e-3), key
    card = json.loads((models["soup"] / "defnlp.json").read_text())
    assert card["training"]["interpolation"]["alpha"] == 0.5 and card["training"]["interpolation"]["base"] == "base"
    assert card["training"]["config"]["interpolate_with"] == str(models["base"])


def test_what_cannot_be_interpolated_is_a_clear_error(models, tiny_ner_dir, tmp_path):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        interpolate_ner(models["base"], models["tuned"], 1.5, tmp_path / "x")
    with pytest.raises(ConfigError, match="lacks labels"):  # the other way round: the base has UNIT, the "tuned" not
        interpolate_ner(models["tuned"], models["base"], 0.5, tmp_path / "x")
    with pytest.raises(ConfigError, match="adapter type 'lora'"):  # a LoRA model has no layer deltas
        interpolate_ner(tiny_ner_dir, models["tuned"], 0.5, tmp_path / "x")
    with pytest.raises(ConfigError, match="needs init_from or interpolate_with"):
        _config(tmp_path, "x", interpolate=0.5, train=[DataSource(format="markup", path=str(models["tmp"] / "units.md"))]).validate()
    with pytest.raises(ConfigError, match="does nothing while interpolate is 1"):
        _config(tmp_path, "x", interpolate_with=str(models["base"]),
                train=[DataSource(format="markup", path=str(models["tmp"] / "units.md"))]).validate()
    with pytest.raises(ModelNotFoundError):  # found when the run starts, not after its last epoch
        train_ner(_config(tmp_path, "x", interpolate=0.5, interpolate_with=str(tmp_path / "missing"),
                          train=[DataSource(format="markup", path=str(models["tmp"] / "units.md"))]))
    assert not (tmp_path / "x").exists()
