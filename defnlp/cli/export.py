"""``defnlp export MODEL OUT_DIR``: a NER model as a plain Hugging Face token classifier.

    defnlp export defence-v2-ner exported/defence-v2-ner
    python -c "from transformers import AutoModelForTokenClassification as M; M.from_pretrained('exported/defence-v2-ner')"

A thin layer over :func:`defnlp.ner.export.export_hf`: the adapters are merged into the
encoder, the tag head becomes the ``classifier``, and ``OUT_DIR`` holds ``config.json`` (with
``id2label``), ``model.safetensors``, the tokenizer and ``defnlp-export.json`` (the source
model and its weights' sha256). Any transformers-based stack can serve it; see docs/models.md
for how to decode its tags into the same entities as defnlp.
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
            "safetensors, tokenizer, id2label), loadable with AutoModelForTokenClassification.from_pretrained. "
            "MODEL is a NER model taken exactly as typed: a shipped name (defence-v2-ner), a model "
            "directory or hf://owner/name."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="the NER model: name, directory or hf://owner/name")
    p.add_argument("output", metavar="OUT_DIR", help="the folder to write (created; must be empty unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="write into a folder that is not empty")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelError, OutputError
    from ..models import read_model_dir
    from ..ner.export import export_hf
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
    written = export_hf(source, out)
    labels = json.loads((written / "config.json").read_text(encoding="utf-8")).get("id2label", {})
    print(f"exported {spec.name} to {written} ({len(labels)} tags)", file=sys.stderr if getattr(args, "quiet", False) else sys.stdout)
    return 0
