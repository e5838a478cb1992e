"""Export a defnlp NER model as a plain Hugging Face token-classification model.

The adapters are merged into the encoder and the head becomes the ``classifier`` of a
``BertForTokenClassification`` (or the matching ``AutoModelForTokenClassification``), saved
as safetensors with the tokenizer. Any transformers tool can then load it — e.g. the HF
``pipeline("token-classification")`` that ``benchmarks/throughput.py`` compares against.

>>> export_hf("models/defence-v1-ner", "exported/defence-v1-ner")   # doctest: +SKIP

Note: the model was trained with labels on the first sub-token of each word only; HF's
sub-token aggregation strategies decode differently from defnlp (which decodes whole words
under IOB2 constraints), so entity boundaries can differ at punctuation and sub-words.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch

from ..errors import ModelError
from .model import load_ner

log = logging.getLogger(__name__)

__all__ = ["export_hf"]


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
