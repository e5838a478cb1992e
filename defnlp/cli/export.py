"""``defnlp export MODEL OUT_DIR``: a NER model as a plain Hugging Face token classifier (or a PEFT adapter).

    defnlp export defence-v2-ner exported/defence-v2-ner
    defnlp export defence-v2-ner exported/defence-v2-ner-peft --format peft
    python -c "from transformers import AutoModelForTokenClassification as M; M.from_pretrained('exported/defence-v2-ner')"

A thin layer over :func:`defnlp.ner.export.export_hf`: the adapters are merged into the
encoder, the tag head becomes the ``classifier``, and ``OUT_DIR`` holds ``config.json`` (with
``id2label``), ``model.safetensors``, the tokenizer and ``defnlp-export.json`` (the source
model and its weights' sha256). Any transformers-based stack can serve it; see docs/models.md
for how to decode its tags into the same entities as defnlp.

``--format peft`` writes the LoRA adapters and the head in PEFT's format instead
(:func:`defnlp.ner.export.export_peft`): a few MB, loaded with ``PeftModel.from_pretrained``
on the base encoder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a NER model for Hugging Face transformers (AutoModelForTokenClassification)",
        description=(
            "Write a NER model as a plain Hugging Face token-classification model (adapters merged, "
            "safetensors, tokenizer, id2label), loadable with AutoModelForTokenClassification.from_pretrained, "
            "or (--format peft) its LoRA adapters and head as a PEFT adapter. "
            "MODEL is a NER model taken exactly as typed: a shipped name (defence-v2-ner), a model "
            "directory or hf://owner/name."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="the NER model: name, directory or hf://owner/name")
    p.add_argument("output", metavar="OUT_DIR", help="the folder to write (created; must be empty unless --overwrite)")
    p.add_argument("--format", choices=("hf", "peft"), default="hf",
                   help="hf: a full token classifier, adapters merged (default); peft: the LoRA adapters and the "
                        "head as a PEFT adapter (adapter_config.json + adapter_model.safetensors) for "
                        "PeftModel.from_pretrained on the base encoder")
    p.add_argument("--overwrite", action="store_true", help="write into a folder that is not empty")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelError, OutputError
    from ..models import read_model_dir
    from ..ner.export import export_hf, export_peft
    from .model_args import find_exact_model

    source = find_exact_model(args.model, "MODEL")
    spec, _ = read_model_dir(source)
    if spec.task != "ner":
        raise ModelError(f"{args.model} is a {spec.task} model: only NER models can be exported",
                         f"export the NER model it runs on ({spec.depends_on.get('name') or 'see its card'})")
    out = Path(args.output)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.overwrite)):
        raise OutputError(f"{out} exists and is {'not a folder' if not out.is_dir() else 'not empty'}",
                          "choose another OUT_DIR, or pass --overwrite to write into it")
    stream = sys.stderr if getattr(args, "quiet", False) else sys.stdout
    if getattr(args, "format", "hf") == "peft":
        written = export_peft(source, out)
        record = json.loads((written / "defnlp-export.json").read_text(encoding="utf-8"))
        print(f"exported the LoRA adapters of {spec.name} to {written} (PEFT format, {len(record['id2label'])} tags; "
              f"base encoder: {record['encoder']['path']})", file=stream)
        return 0
    written = export_hf(source, out)
    labels = json.loads((written / "config.json").read_text(encoding="utf-8")).get("id2label", {})
    print(f"exported {spec.name} to {written} ({len(labels)} tags)", file=stream)
    return 0
