"""NER training (defnlp.training.ner): full fine-tuning shipped as layer deltas, training precision.

Everything runs on the tiny random encoder (2 layers, 32 wide), so each run takes a second or two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

import defnlp
from defnlp.encoders.adapters import LoraSettings, layer_parameters
from defnlp.errors import ConfigError, IncompatibleEncoderError, IntegrityError, ModelError
from defnlp.inference import runtime
from defnlp.integrity import write_manifest
from defnlp.io.corpora import DataSource
from defnlp.ner.model import load_ner
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.loop import run_training
from defnlp.training.ner import NerTask

TEXTS = [
    "Le ministre des Armées, Claire Dumont, a visité Brest avec la DGA.",
    "Nexter delivered 12 Caesar guns to Ukraine in 2023.",
]


def config(tmp_path: Path, tiny_markup_file: Path, name: str, **kw: Any) -> NerTrainingConfig:
    base: dict[str, Any] = dict(name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=1, lr=1e-2,
                                head_lr=1e-2, batch_tokens=128, max_batch=2, precision="fp32", adapter="full",
                                lora=LoraSettings(r=4, alpha=8), train=[DataSource(format="markup", path=str(tiny_markup_file))])
    base.update(kw)
    return NerTrainingConfig(**base)


def train_keeping_task(cfg: NerTrainingConfig) -> tuple[Path, NerTask]:
    """Train through the real loop and also return the in-memory task (one epoch: the saved model is the last one)."""
    tasks: list[NerTask] = []

    def make() -> NerTask:
        tasks.append(NerTask(cfg))
        return tasks[-1]

    return run_training(make, cfg.loop_settings()), tasks[0]


def logits_of(encoder, head, tokenizer) -> torch.Tensor:
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return head(encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state)


def card(path: Path) -> dict[str, Any]:
    return json.loads((path / "defnlp.json").read_text())


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, tiny_markup_file):
    """A full fine-tuning run of layer 1 of the tiny encoder (layer 0 frozen and cached)."""
    tmp = tmp_path_factory.mktemp("full")
    return train_keeping_task(config(tmp, tiny_markup_file, "full-ner", frozen_layers=1))


def test_full_fine_tuning_trains_saves_and_reloads_to_the_in_memory_model(full_run):
    out, task = full_run
    from defnlp.encoders import load_encoder

    base = load_encoder("tiny-random-e5").model
    trained = layer_parameters(task.model.encoder, [1])
    assert any(not torch.equal(p, layer_parameters(base, [1])[n]) for n, p in trained.items())  # layer 1 moved
    assert all(torch.equal(p, layer_parameters(base, [0])[n]) for n, p in layer_parameters(task.model.encoder, [0]).items())
    assert torch.equal(task.model.encoder.embeddings.word_embeddings.weight, base.embeddings.word_embeddings.weight)

    task.model.eval()
    expected = logits_of(task.model.encoder, task.model.head, task.tokenizer)
    ner = load_ner(str(out))
    got = logits_of(ner.encoder.model, ner.head, ner.encoder.tokenizer)
    assert torch.allclose(got, expected, atol=1e-3), (got - expected).abs().max()  # float16 deltas

    from defnlp.training.dev_scoring import predict_docs
    from defnlp.doc import Doc

    in_memory = predict_docs(task.model, task.tokenizer, task.tagset, [Doc(text=t) for t in TEXTS], 254, 32)
    reloaded = defnlp.load(out, device="cpu").pipe(TEXTS)
    assert any(d.entities for d in in_memory)  # the comparison below is not vacuous
    assert [[(e.start, e.end, e.label) for e in d.entities] for d in in_memory] == \
           [[(e.start, e.end, e.label) for e in d.entities] for d in reloaded]
    # int8 quantises the merged encoder like any other
    for d in defnlp.load(out, device="cpu", precision="int8").pipe(TEXTS):
        assert all(d.text[e.start : e.end] == e.text for e in d.entities)


def test_the_delta_holds_only_the_trained_layers_and_the_head(full_run):
    out, task = full_run
    tensors = load_file(str(out / "weights.safetensors"))
    expected = {f"delta.{n}" for n in layer_parameters(task.model.encoder, [1])} | {"ner.proj.weight", "ner.proj.bias"}
    assert set(tensors) == expected
    assert not any("embeddings" in k or ".layer.0." in k for k in tensors)
    assert all(v.dtype == (torch.float16 if v.dim() >= 2 else torch.float32) for k, v in tensors.items() if k.startswith("delta."))
    spec = card(out)
    assert spec["adapter"] == {"type": "full", "layers": [1], "matrix_dtype": "float16", "vector_dtype": "float32"}
    assert spec["training"]["precision"] == "fp32" and spec["training"]["config"]["adapter"] == "full"


def _copy(out: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(out, dst)
    return dst


def _reseal(model: Path) -> None:
    """Rewrite the manifest after a test changed a file: only the content checks can refuse the model."""
    write_manifest(model, ["weights.safetensors", "defnlp.json", "README.md"] if (model / "README.md").is_file()
                   else ["weights.safetensors", "defnlp.json"])


def _rewrite(model: Path, change) -> None:
    tensors = load_file(str(model / "weights.safetensors"))
    change(tensors)
    save_file(tensors, str(model / "weights.safetensors"))
    _reseal(model)


def test_a_tampered_delta_is_refused(full_run, tmp_path):
    out, _ = full_run
    model = _copy(out, tmp_path)
    data = bytearray((model / "weights.safetensors").read_bytes())
    data[-3] ^= 0x55
    (model / "weights.safetensors").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        load_ner(str(model))


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update({"delta.embeddings.word_embeddings.weight": torch.zeros(4, 4, dtype=torch.float16)}), "outside encoder layers"),
    (lambda t: t.pop("delta.encoder.layer.1.output.dense.weight"), "incomplete"),
    (lambda t: t.update({"delta.encoder.layer.1.output.dense.bias": torch.full((32,), float("nan"))}), "non-finite"),
    (lambda t: t.update({"delta.encoder.layer.1.output.dense.bias": torch.zeros(31)}), "shape"),
    (lambda t: t.update({"extra.code": torch.zeros(1)}), "unexpected tensors"),
])
def test_a_resealed_but_wrong_delta_is_refused(full_run, tmp_path, change, message):
    """Even with a valid manifest, deltas outside the declared layers, incomplete or non-finite ones fail closed."""
    out, _ = full_run
    model = _copy(out, tmp_path)
    _rewrite(model, change)
    with pytest.raises(ModelError, match=message):
        load_ner(str(model))


def test_a_delta_is_refused_on_another_base_encoder(full_run, tmp_path):
    out, _ = full_run
    model = _copy(out, tmp_path)
    spec = card(model)
    spec["encoder"]["sha256"] = "0" * 64
    (model / "defnlp.json").write_text(json.dumps(spec))
    _rewrite(model, lambda t: None)
    with pytest.raises(IncompatibleEncoderError):
        load_ner(str(model))


def test_full_run_resumes_bit_identically(tmp_path, tiny_markup_file, monkeypatch):
    class Interrupted(Exception):
        pass

    kw = dict(epochs=2, patience=5, dev=[DataSource(format="markup", path=str(tiny_markup_file))])
    full = train_ner(config(tmp_path, tiny_markup_file, "a", **kw))
    loss, calls = NerTask.loss, []

    def dying_loss(self, batch):
        calls.append(1)
        if len(calls) == self.steps_per_epoch() + 1:
            raise Interrupted
        return loss(self, batch)

    monkeypatch.setattr(NerTask, "loss", dying_loss)
    with pytest.raises(Interrupted):
        train_ner(config(tmp_path, tiny_markup_file, "b", **kw))
    monkeypatch.setattr(NerTask, "loss", loss)
    resumed = train_ner(config(tmp_path, tiny_markup_file, "b", resume=True, **kw))
    a, b = load_file(str(full / "weights.safetensors")), load_file(str(resumed / "weights.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ckpt = load_file(str(tmp_path / "b.checkpoint" / "weights.safetensors"))
    assert any(k.startswith("full.encoder.layer.") for k in ckpt) and ckpt["full.encoder.layer.0.output.dense.weight"].dtype == torch.float32


def test_init_from_keeps_deltas_relative_to_the_base(tmp_path, tiny_markup_file, tiny_ner_dir):
    """A full run from a LoRA model (adapters on both layers) with layer 0 frozen ships layer 0's merged
    update too; with a ~0 learning rate it reproduces the LoRA model; a LoRA run cannot start from a full model."""
    out, task = train_keeping_task(config(tmp_path, tiny_markup_file, "from-lora", frozen_layers=1, lr=1e-12, head_lr=1e-12,
                                          init_from=str(tiny_ner_dir)))
    assert card(out)["adapter"]["layers"] == [0, 1]
    lora, full = load_ner(str(tiny_ner_dir)), load_ner(str(out))
    a = logits_of(lora.encoder.model, lora.head, lora.encoder.tokenizer)
    b = logits_of(full.encoder.model, full.head, full.encoder.tokenizer)
    assert torch.allclose(a, b, atol=1e-3), (a - b).abs().max()
    with pytest.raises(ConfigError, match="LoRA adapters cannot hold"):
        train_ner(config(tmp_path, tiny_markup_file, "lora-from-full", adapter="lora", init_from=str(out)))


# ------------------------------------------------------------------------------------------------
# a shorter encoder (encoder_layers)
# ------------------------------------------------------------------------------------------------
def test_a_model_on_the_first_layers_of_the_encoder_trains_saves_and_reloads(tmp_path, tiny_markup_file):
    out, task = train_keeping_task(config(tmp_path, tiny_markup_file, "short", encoder_layers=1))
    assert len(task.model.encoder.encoder.layer) == 1 and card(out)["encoder"]["layers"] == 1
    assert card(out)["adapter"]["layers"] == [0]  # only the layer it runs is trained and shipped
    task.model.eval()
    expected = logits_of(task.model.encoder, task.model.head, task.tokenizer)
    ner = load_ner(str(out))
    assert len(ner.encoder.model.encoder.layer) == 1 and ner.encoder.info.num_layers == 1
    got = logits_of(ner.encoder.model, ner.head, ner.encoder.tokenizer)
    assert torch.allclose(got, expected, atol=1e-3), (got - expected).abs().max()
    for precision in ("fp32", "int8"):
        assert len(list(defnlp.load(out, device="cpu", precision=precision).pipe(TEXTS))) == 2
    from transformers import AutoModelForTokenClassification

    from defnlp.ner.export import export_hf

    hf = AutoModelForTokenClassification.from_pretrained(str(export_hf(out, tmp_path / "hf")), use_safetensors=True)
    assert hf.config.num_hidden_layers == 1
    batch = ner.encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        exported = hf.eval()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(exported, got, atol=1e-4)

    # a run from it keeps its depth; another depth is refused, as is more layers than the encoder has
    tuned, tuned_task = train_keeping_task(config(tmp_path, tiny_markup_file, "short-tuned", init_from=str(out)))
    assert len(tuned_task.model.encoder.encoder.layer) == 1 and card(tuned)["encoder"]["layers"] == 1
    with pytest.raises(ConfigError, match="keeps its depth"):
        NerTask(config(tmp_path, tiny_markup_file, "deeper", init_from=str(out), encoder_layers=2))
    with pytest.raises(ConfigError, match="cannot keep 3"):
        NerTask(config(tmp_path, tiny_markup_file, "too-deep", encoder_layers=3))
    with pytest.raises(ConfigError, match="encoder_layers must be"):
        config(tmp_path, tiny_markup_file, "bad", encoder_layers=-1).validate()

    # a card that runs more layers than its encoder has, or that is not an integer, does not load
    bad = _copy(out, tmp_path)
    _recard(bad, lambda c: c["encoder"].update(layers=3))
    with pytest.raises(ModelError, match="runs 3 encoder layers"):
        load_ner(str(bad))
    _recard(bad, lambda c: c["encoder"].update(layers="1"))
    with pytest.raises(ModelError, match="encoder.layers"):
        load_ner(str(bad))


def _recard(model: Path, change) -> None:
    data = card(model)
    change(data)
    (model / "defnlp.json").write_text(json.dumps(data))
    _reseal(model)


# ------------------------------------------------------------------------------------------------
# precision
# ------------------------------------------------------------------------------------------------
def test_bf16_without_bf16_units_is_refused(tmp_path, tiny_markup_file, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_bf16_units", lambda: None)
    cfg = config(tmp_path, tiny_markup_file, "no-bf16", precision="bf16")
    with pytest.raises(ConfigError, match="no bf16 units") as err:
        train_ner(cfg)
    assert "auto" in err.value.hint
    assert not (tmp_path / "no-bf16").exists()
    assert config(tmp_path, tiny_markup_file, "x", precision="auto").training_precision() == "fp32"


@pytest.mark.parametrize("units, expected", [(None, "fp32"), ("avx512_bf16", "bf16"), ("amx", "bf16")])
def test_auto_precision_follows_the_cpu(tmp_path, tiny_markup_file, monkeypatch, units, expected):
    monkeypatch.setattr(runtime, "cpu_bf16_units", lambda: units)
    cfg = config(tmp_path, tiny_markup_file, "auto", precision="auto")
    assert cfg.training_precision() == expected
    assert cfg.loop_settings().precision == expected
    assert config(tmp_path, tiny_markup_file, "f", precision="fp32").training_precision() == "fp32"


def test_unknown_precision_or_adapter_is_a_config_error(tmp_path, tiny_markup_file):
    with pytest.raises(ConfigError, match="precision"):
        config(tmp_path, tiny_markup_file, "x", precision="fp16").validate()
    with pytest.raises(ConfigError, match="adapter"):
        config(tmp_path, tiny_markup_file, "x", adapter="prefix").validate()


@pytest.mark.skipif(runtime.cpu_bf16_units() is None, reason="this CPU has no bf16 units (AMX or AVX512-BF16)")
@pytest.mark.parametrize("adapter", ["lora", "full"])
def test_a_bf16_run_completes_and_is_recorded(tmp_path, tiny_markup_file, adapter):
    out = train_ner(config(tmp_path, tiny_markup_file, f"bf16-{adapter}", precision="bf16", adapter=adapter, epochs=2,
                           frozen_layers=1))
    spec = card(out)
    assert spec["training"]["precision"] == "bf16" and spec["training"]["cpu_bf16_units"] == runtime.cpu_bf16_units()
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in spec["training"]["history"])
    weights = load_file(str(out / "weights.safetensors"))
    assert all(v.dtype in (torch.float16, torch.float32) for v in weights.values())  # master weights stayed fp32
    assert defnlp.load(out, device="cpu")(TEXTS[0]).text == TEXTS[0]


def test_same_config_and_seed_give_bit_identical_weights(tmp_path, tiny_markup_file):
    """Reproducibility on CPU: two runs of one config (dropout, shuffling, init) write the same bytes."""
    import hashlib

    def weights(name: str, **kw: Any) -> str:
        out = train_ner(config(tmp_path, tiny_markup_file, name, epochs=2, precision="fp32", **kw))
        return hashlib.sha256((out / "weights.safetensors").read_bytes()).hexdigest()

    assert weights("a") == weights("b")
    assert weights("c", seed=14) != weights("a2")


# ------------------------------------------------------------------------------------------------
# attention dropout
# ------------------------------------------------------------------------------------------------
def test_attention_dropout_is_set_on_the_attention_probabilities_only(tmp_path, tiny_markup_file):
    task = NerTask(config(tmp_path, tiny_markup_file, "attn", attention_dropout=0.0, dropout=0.2, frozen_layers=1))
    encoder = task.model.encoder
    layers = encoder.encoder.layer
    assert [layer.attention.self.dropout.p for layer in layers] == [0.0, 0.0]
    assert [layer.output.dropout.p for layer in layers] == [0.2, 0.2]  # hidden states keep `dropout`
    assert task.model.head.dropout.p == 0.2
    unset = NerTask(config(tmp_path, tiny_markup_file, "attn-unset", dropout=0.2, frozen_layers=1))
    assert [layer.attention.self.dropout.p for layer in unset.model.encoder.encoder.layer] == [0.2, 0.2]


def test_a_run_without_attention_dropout_trains_and_records_it(tmp_path, tiny_markup_file):
    out = train_ner(config(tmp_path, tiny_markup_file, "attn0", attention_dropout=0.0, epochs=2))
    assert card(out)["training"]["config"]["attention_dropout"] == 0.0
    assert defnlp.load(out, device="cpu")(TEXTS[1]).text == TEXTS[1]


@pytest.mark.parametrize("value", [1.0, -0.1, True, "0.1"])
def test_a_bad_attention_dropout_is_a_config_error(tmp_path, tiny_markup_file, value):
    with pytest.raises(ConfigError, match="attention_dropout"):
        config(tmp_path, tiny_markup_file, "x", attention_dropout=value).validate()
