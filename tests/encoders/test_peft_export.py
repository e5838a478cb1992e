"""A trained model's LoRA adapters in PEFT's format (issue 18): ``PeftModel.from_pretrained`` on the
base encoder gives defnlp's hidden states and logits.

defnlp trains with peft's own LoRA modules and ships the same matrices under shorter names
(``lora.<module>.A|B``); ``defnlp export --format peft`` writes them back with
``PeftModel.save_pretrained``. At fp32 the only difference left is where the update is added:
defnlp merges ``W + (alpha/r) B A`` into the weights once, PEFT adds ``(alpha/r) x A^T B^T`` to
``x W^T`` at each call — a rounding difference of a few ulps (3e-7 measured on logits of
magnitude ~2), hence the 1e-5 tolerance; merged into the weights by PEFT, the two agree to 1e-6.
"""

from __future__ import annotations

import json

import pytest
import torch

from defnlp.cli import main
from defnlp.errors import ModelError

TEXTS = ["La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.", "The Minister of Defence visited Toulon with Thales."]


def test_peft_adapter_gives_defnlp_logits(tmp_path, tiny_ner_dir, capsys):
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForTokenClassification

    from defnlp.encoders import resolve_encoder
    from defnlp.ner.model import load_ner

    out = tmp_path / "peft"
    assert main(["export", str(tiny_ner_dir), str(out), "--format", "peft"]) == 0
    assert "PEFT format" in capsys.readouterr().out
    # PEFT's own files, safetensors only (no pickle anywhere in the folder)
    assert {"adapter_config.json", "adapter_model.safetensors", "defnlp-export.json"} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl"}]
    config = json.loads((out / "adapter_config.json").read_text())
    card = json.loads((tiny_ner_dir / "defnlp.json").read_text())
    assert (config["peft_type"], config["task_type"], config["r"], config["lora_alpha"]) == (
        "LORA", "TOKEN_CLS", card["adapter"]["r"], card["adapter"]["alpha"])
    record = json.loads((out / "defnlp-export.json").read_text())
    assert record["encoder"]["sha256"] == card["encoder"]["sha256"]
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
    n_lora = sum(k.startswith("lora.") for k in _defnlp_tensors(tiny_ner_dir))
    assert sum(".lora_A." in k or ".lora_B." in k for k in keys) == n_lora and any("classifier" in k for k in keys)

    # the base encoder rebuilt offline by defnlp, as a token classifier with the model's labels
    base_path = resolve_encoder("tiny-random-e5").path
    assert record["encoder"]["path"] == base_path
    id2label = {int(i): t for i, t in record["id2label"].items()}
    base = AutoModelForTokenClassification.from_pretrained(base_path, num_labels=len(id2label), id2label=id2label,
                                                           use_safetensors=True, trust_remote_code=False)
    peft_model = PeftModel.from_pretrained(base, str(out)).eval()

    ner = load_ner(str(tiny_ner_dir))
    enc = ner.encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = ner.encoder.model(**enc).last_hidden_state
        logits = ner.head(hidden)
        got = peft_model(**enc, output_hidden_states=True)
    torch.testing.assert_close(got.hidden_states[-1], hidden, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got.logits, logits, rtol=1e-5, atol=1e-5)
    assert (got.logits.argmax(-1) == logits.argmax(-1)).all()
    merged = peft_model.merge_and_unload()  # PEFT's merge is defnlp's: W + scale * B @ A
    with torch.inference_mode():
        torch.testing.assert_close(merged(**enc).logits, logits, rtol=1e-6, atol=1e-6)


def test_peft_export_refuses_a_fully_fine_tuned_model(tmp_path, tiny_markup_file, capsys):
    from defnlp.io.corpora import DataSource
    from defnlp.ner.export import export_peft
    from defnlp.training import NerTrainingConfig, train_ner

    full = train_ner(NerTrainingConfig(
        name="tiny-full", output=str(tmp_path / "full"), encoder="tiny-random-e5", epochs=1, adapter="full",
        frozen_layers=1, batch_tokens=512, train=[DataSource(format="markup", path=str(tiny_markup_file))],
        precision="fp32", log_every=0))
    with pytest.raises(ModelError, match="no LoRA adapters") as err:
        export_peft(full, tmp_path / "peft")
    assert "--format hf" in err.value.hint
    assert not (tmp_path / "peft").exists()


def _defnlp_tensors(model_dir):
    from safetensors import safe_open

    with safe_open(str(model_dir / "weights.safetensors"), "pt") as f:
        return list(f.keys())
