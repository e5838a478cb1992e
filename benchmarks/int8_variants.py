"""int8 variants explored for the CPU engine: speed and NER F1 change, in one run.

    python benchmarks/int8_variants.py [--docs 300] [--alpha 0.85] [--outlier 6]

The record of what was tried, so that the figures in the notes can be reproduced and the next
attempt starts from them. All variants have per-channel weight scales and per-batch dynamic
activation scales, on the torch int8 kernels that :func:`defnlp.inference.int8.int8_engine` picks
(oneDNN where available):

* ``shipped``: what ``precision="int8"`` does (:func:`defnlp.inference.int8.quantize_int8`):
  attention and up-projection inputs smoothed (α = 0.7) on the bundled calibration text, every
  linear layer int8 but the feed-forward output projections;
* ``unsmoothed``: the same layers int8 without smoothing (what shipped before);
* ``all``: every linear layer int8, no smoothing;
* ``all + outlier split``: every linear layer, but the FFN-output input channels whose calibrated
  magnitude exceeds ``--outlier`` go through a small fp32 matmul (LLM.int8-style decomposition);
* ``all + smoothing``: the shipped smoothing, and the FFN outputs int8 too, their GELU inputs
  divided per channel at run time (``--alpha``).

Calibration text: :func:`defnlp.inference.int8.calibration_texts` (not an evaluation set).
Speed: the best of ``--repeats`` passes over the throughput benchmark's documents, each variant
in this process after the fp32 reference. Writes benchmarks/results/int8_variants.json.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table, timed  # noqa: E402
from throughput import count_tokens, f1_on, gold_sets, mixed_documents  # noqa: E402

from defnlp.inference.int8 import (  # noqa: E402
    ScaledInput, calibration_batches, calibration_texts, int8_engine, is_ffn_output, quantize_int8, smooth_encoder,
)

log = logging.getLogger("int8_variants")


class _OutlierSplitLinear(nn.Module):
    """``linear(x)`` as an int8-able part over the ordinary channels plus an fp32 part over the outliers."""

    def __init__(self, linear: nn.Linear, outliers: torch.Tensor) -> None:
        super().__init__()
        keep = torch.ones(linear.in_features, dtype=torch.bool)
        keep[outliers] = False
        self.register_buffer("ordinary", keep.nonzero().flatten())
        self.register_buffer("outliers", outliers)
        self.main = nn.Linear(int(keep.sum()), linear.out_features)
        self.main.weight.data = linear.weight.data[:, keep].clone()
        self.main.bias.data = linear.bias.data.clone()
        self.fp32 = nn.Linear(len(outliers), linear.out_features, bias=False)
        self.fp32.weight.data = linear.weight.data[:, outliers].clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x.index_select(-1, self.ordinary)) + self.fp32(x.index_select(-1, self.outliers))


def ffn_input_maxima(model: nn.Module, tokenizer) -> dict[str, torch.Tensor]:
    """Per-channel max |x| at the input of each FFN output projection, on the bundled examples."""
    texts = calibration_texts()
    batch = tokenizer(texts, truncation=True, max_length=256, padding=True, return_tensors="pt")
    maxima: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and is_ffn_output(name):
            def hook(_module, inputs, name=name):
                m = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
                maxima[name] = torch.maximum(maxima[name], m) if name in maxima else m
            hooks.append(module.register_forward_pre_hook(hook))
    with torch.inference_mode():
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    for h in hooks:
        h.remove()
    log.info("calibration: %d texts, %d tokens", len(texts), int(batch["attention_mask"].sum()))
    return maxima


def variant(model: nn.Module, tokenizer, kind: str, alpha: float, outlier: float) -> tuple[nn.Module, dict]:
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    if kind == "shipped":
        return quantize_int8(model, tokenizer), {}
    if kind == "unsmoothed":
        return quantize_int8(model, None), {}
    model = copy.deepcopy(model).eval()
    info: dict = {}
    if kind == "smoothing":
        info["layers_smoothed"] = smooth_encoder(model, calibration_batches(tokenizer))
    if kind in ("outlier split", "smoothing"):
        maxima = ffn_input_maxima(model, tokenizer)
        info["outlier_channels"] = []
        for name, m in maxima.items():
            parent_name, attr = name.rsplit(".", 1)
            parent = model.get_submodule(parent_name)
            linear = getattr(parent, attr)
            if kind == "outlier split":
                idx = (m > outlier).nonzero().flatten()
                info["outlier_channels"].append(len(idx))
                setattr(parent, attr, _OutlierSplitLinear(linear, idx))
            else:
                s = (m.clamp(min=1e-5) ** alpha) / (linear.weight.data.abs().amax(0).clamp(min=1e-5) ** (1 - alpha))
                s = s.clamp(1e-2, 1e3)
                scaled = nn.Linear(linear.in_features, linear.out_features)
                scaled.weight.data = linear.weight.data * s
                scaled.bias.data = linear.bias.data.clone()
                setattr(parent, attr, ScaledInput(scaled, 1 / s))
    torch.backends.quantized.engine = int8_engine()
    targets = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and not name.endswith(".fp32")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, targets, dtype=torch.qint8), info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=0.85, help="smoothing strength of the FFN-output inputs in 'all + smoothing'")
    parser.add_argument("--outlier", type=float, default=6.0, help="calibrated |x| above which a channel stays fp32")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import defnlp

    nlp = defnlp.load(None, relations=False, device="cpu", precision="fp32")
    fp32_model = nlp.engine.model
    tokenizer = nlp.ner.encoder.tokenizer
    docs = mixed_documents(args.docs)
    n_tokens = count_tokens(tokenizer, docs)
    gold = gold_sets()

    def measure(label: str, model: nn.Module, info: dict) -> dict:
        nlp.engine.model = model
        list(nlp.pipe(d.copy(annotations=False) for d in docs[:5]))
        _, times = timed(lambda: list(nlp.pipe(d.copy(annotations=False) for d in docs)), args.repeats)
        row = {"variant": label, "tokens_per_s": n_tokens / min(times), **{name: f1_on(nlp, g) for name, g in gold.items()}, **info}
        log.info("%s: %.0f tokens/s", label, row["tokens_per_s"])
        return row

    rows = [measure("fp32", fp32_model, {})]
    for kind, label in (("shipped", "int8 shipped (smoothed, FFN outputs fp32)"), ("unsmoothed", "int8 unsmoothed (FFN outputs fp32)"),
                        ("all", "int8 all linear"),
                        ("outlier split", f"int8 all, FFN-output channels |x|>{args.outlier:g} fp32"),
                        ("smoothing", f"int8 all, smoothed, FFN outputs alpha={args.alpha:g}")):
        model, info = variant(fp32_model, tokenizer, kind, args.alpha, args.outlier)
        rows.append(measure(label, model, info))
    ref = rows[0]
    for r in rows:
        r["x_fp32"] = r["tokens_per_s"] / ref["tokens_per_s"]
        for name in gold:
            r[f"delta {name}"] = r[name] - ref[name]
    cols = ["variant", "tokens_per_s", "x_fp32"] + [f"delta {name}" for name in gold]
    print(table(rows, cols, title=f"int8 variants on {len(docs)} documents ({n_tokens:,} tokens); F1 deltas vs fp32"))
    path = save("int8_variants", {"rows": rows, "tokens": n_tokens, "documents": len(docs), "alpha": args.alpha,
                                  "outlier": args.outlier, "engine": torch.backends.quantized.engine})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
