"""Export a defnlp NER model for Hugging Face: a plain token classifier, or a PEFT LoRA adapter.

:func:`export_hf` — a plain token-classification model:

The adapters are merged into the encoder and the head becomes the ``classifier`` of a
``BertForTokenClassification`` (or the matching ``AutoModelForTokenClassification``), saved
as safetensors with the tokenizer. Any transformers tool can then load it — e.g. the HF
``pipeline("token-classification")`` that ``benchmarks/throughput.py`` compares against.

>>> export_hf("models/defence-v1-ner", "exported/defence-v1-ner")   # doctest: +SKIP

Note: the model was trained with labels on the first sub-token of each word only; HF's
sub-token aggregation strategies decode differently from defnlp (which decodes whole words
under IOB2 constraints), so entity boundaries can differ at punctuation and sub-words.

:func:`export_peft` — the model's LoRA adapters in PEFT's own format (``adapter_config.json`` +
``adapter_model.safetensors``, written by ``PeftModel.save_pretrained``), for
``PeftModel.from_pretrained`` on ``AutoModelForTokenClassification`` of defnlp's base encoder;
the tag head travels as the adapter's ``classifier`` (``modules_to_save``). defnlp trains with
peft's own LoRA modules (:func:`defnlp.encoders.adapters.add_lora`) and stores the very same
matrices under shorter names, so the conversion copies tensors and loses nothing.

>>> export_peft("models/defence-v2-ner", "exported/defence-v2-ner-peft")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch

from ..errors import ModelError
from .model import load_ner

log = logging.getLogger(__name__)

__all__ = ["export_hf", "export_peft", "PEFT_EXPORT_FILE"]

#: what :func:`export_peft` records beside the adapter: source model, base encoder, tags
PEFT_EXPORT_FILE = "defnlp-export.json"


def export_hf(model_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir`` with config.json (id2label), model.safetensors and the tokenizer."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    ner = load_ner(str(model_dir))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = ner.encoder.model
    tags = ner.tagset.tags
    config = AutoConfig.from_pretrained(ner.encoder.info.path, num_labels=len(tags),
                                        id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
    config.num_hidden_layers = int(base.config.num_hidden_layers)  # a model on the first layers only (encoder.layers)
    model = AutoModelForTokenClassification.from_config(config)
    backbone = getattr(model, model.base_model_prefix)
    missing, unexpected = backbone.load_state_dict(base.state_dict(), strict=False)
    if [m for m in missing if not m.startswith("pooler")]:
        raise ModelError(f"export: encoder weights missing in the exported model: {missing[:5]}")
    with torch.no_grad():
        model.classifier.weight.copy_(ner.head.proj.weight)
        model.classifier.bias.copy_(ner.head.proj.bias)
    model.save_pretrained(str(out), safe_serialization=True)
    ner.encoder.tokenizer.save_pretrained(str(out))
    (out / "defnlp-export.json").write_text(json.dumps({"source": str(model_dir), "name": ner.spec.name,
                                                         "weights_sha256": ner.weights_sha256}, indent=2) + "\n")
    log.info("exported %s to %s", ner.spec.name, out)
    return out


def export_peft(model_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir`` as a PEFT LoRA adapter of a NER model (``adapter_config.json``, ``adapter_model.safetensors``).

    The adapter targets ``AutoModelForTokenClassification`` of the model's base encoder (the
    folder that :func:`defnlp.encoders.resolve_encoder` rebuilds offline, whose path is the
    config's ``base_model_name_or_path``) with ``len(tags)`` labels; its ``classifier`` is the
    tag head (``modules_to_save``). ``defnlp-export.json`` records the source model, its weights'
    sha256, the base encoder (name, path, sha256) and ``id2label``. Only LoRA models have an
    adapter: a fully fine-tuned model (``adapter = "full"``) is refused (:class:`ModelError`;
    :func:`export_hf` exports it). The model is loaded and checked by :func:`load_ner` first.
    """
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoConfig, AutoModelForTokenClassification

    from ..encoders.adapters import LoraSettings, parse_adapter
    from ..integrity import sha256_file
    from ..models import load_weights, read_model_dir

    spec, weights_path = read_model_dir(model_dir)
    settings = parse_adapter(spec.adapter) if spec.task == "ner" else None
    if not isinstance(settings, LoraSettings):
        kind = (spec.adapter or {}).get("type", "none") if spec.task == "ner" else f"a {spec.task} model"
        raise ModelError(f"{model_dir} has no LoRA adapters to export in PEFT's format (adapter: {kind})",
                         "export it as a plain token classifier instead: defnlp export MODEL OUT_DIR --format hf")
    ner = load_ner(str(model_dir))  # every fail-closed check of a model directory, and the head
    if spec.encoder_layers is not None and spec.encoder_layers < int(AutoConfig.from_pretrained(ner.encoder.info.path).num_hidden_layers):
        raise ModelError(f"{model_dir} runs the first {spec.encoder_layers} layers of its encoder, which a PEFT adapter "
                         "of the whole encoder cannot express",
                         "export it as a plain token classifier instead: defnlp export MODEL OUT_DIR --format hf")
    tensors = load_weights(weights_path)
    info = ner.encoder.info
    tags = ner.tagset.tags
    model = AutoModelForTokenClassification.from_pretrained(
        info.path, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)},
        use_safetensors=True, trust_remote_code=False)
    prefix = model.base_model_prefix
    backbone = getattr(model, prefix)
    with torch.no_grad():
        model.classifier.weight.copy_(ner.head.proj.weight)
        model.classifier.bias.copy_(ner.head.proj.bias)
    del ner
    modules = settings.module_names(backbone)
    config = LoraConfig(task_type=TaskType.TOKEN_CLS, r=settings.r, lora_alpha=settings.alpha,
                        lora_dropout=settings.dropout, bias="none", modules_to_save=["classifier"],
                        target_modules=[f"{prefix}.{m}" for m in modules])
    with warnings.catch_warnings():  # transformers' deprecation notice inside peft, not the user's concern
        warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model = get_peft_model(model, config)
    copied = 0
    with torch.no_grad():
        for module in modules:
            layer = peft_model.base_model.model.get_submodule(f"{prefix}.{module}")
            for ab, lora in (("A", layer.lora_A), ("B", layer.lora_B)):
                lora["default"].weight.copy_(tensors[f"lora.{module}.{ab}"])
                copied += 1
    if copied != sum(k.startswith("lora.") for k in tensors):
        raise ModelError(f"export: {copied} adapter matrices copied, the model has "
                         f"{sum(k.startswith('lora.') for k in tensors)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model.save_pretrained(str(out), safe_serialization=True)
    record = {"source": str(model_dir), "name": spec.name, "format": "peft",
              "weights_sha256": sha256_file(weights_path),
              "encoder": {"name": spec.encoder.get("name"), "path": info.path, "sha256": info.sha256,
                          "hub_id": spec.encoder.get("hub_id", "")},
              "id2label": {str(i): t for i, t in enumerate(tags)}}
    (out / PEFT_EXPORT_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("exported the LoRA adapters of %s to %s (PEFT format, %d modules)", spec.name, out, len(modules))
    return out
