"""int8 variants explored for the CPU engine: speed and NER F1 change, in one run.

    python benchmarks/int8_variants.py [--docs 300] [--alpha 0.85] [--outlier 6]

The record of what was tried, so that the figures in the notes can be reproduced and the next
attempt starts from them. All variants have per-channel weight scales and per-batch dynamic
activation scales, and all are quantised by :func:`defnlp.inference.int8.quantize_linears` (the
kernels that ``int8_engine`` picks, oneDNN where available; 8-bit activations where it allows):

* ``shipped``: what ``precision="int8"`` does (:func:`defnlp.inference.int8.quantize_int8`):
  attention and up-projection inputs smoothed (α = 0.7) on the bundled calibration text, fused
  query/key/value, every linear layer int8, special-token rows of the feed-forward outputs fp32;
* ``FFN outputs fp32``: the same, feed-forward output projections entirely fp32 (the previous release);
* ``special rows int8 too``: the same, special-token rows of the feed-forward outputs int8 as well;
* ``unsmoothed``: no calibration (``quantize_int8`` without a tokenizer): no smoothing, FFN outputs fp32;
* ``outlier channels``: every linear layer int8, the FFN-output input channels whose calibrated
  magnitude exceeds ``--outlier`` through a small fp32 matmul (LLM.int8-style decomposition), no smoothing;
* ``smoothed FFN outputs``: the shipped smoothing, and the FFN-output inputs (GELU outputs)
  smoothed too, divided per channel at run time (``--alpha``), special-token rows int8.

Calibration: :func:`defnlp.inference.int8.calibration_batches` (bundled text, not an evaluation set).
Speed: the best of ``--repeats`` passes over the throughput benchmark's documents, each variant
in this process after the fp32 reference. Writes benchmarks/results/int8_variants.json.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table, timed  # noqa: E402
from throughput import count_tokens, f1_on, gold_sets, mixed_documents  # noqa: E402

from defnlp.inference.int8 import (  # noqa: E402
    ScaledInput, calibration_batches, input_maxima, is_ffn_output, quantize_int8, quantize_linears, smoothing_scales,
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


def _replace_ffn_outputs(model: nn.Module, make) -> nn.Module:
    """Replace each feed-forward output projection (plain or :class:`SpecialRowsLinear`) by ``make(name, module)``."""
    for name, module in list(model.named_modules()):
        if is_ffn_output(name):
            parent, attr = name.rsplit(".", 1)
            setattr(model.get_submodule(parent), attr, make(name, module))
    return model


def _fp32_part(name: str, _module: nn.Module) -> bool:
    return name.endswith(".fp32")  # the outlier-channel matmul of _OutlierSplitLinear


def variant(model: nn.Module, tokenizer, kind: str, alpha: float, outlier: float) -> tuple[nn.Module, dict]:
    if kind == "shipped":
        return quantize_int8(model, tokenizer), {}
    if kind == "FFN outputs fp32":
        return _replace_ffn_outputs(quantize_int8(model, tokenizer), lambda _, m: m.special), {}
    if kind == "special rows int8":
        return _replace_ffn_outputs(quantize_int8(model, tokenizer), lambda _, m: m.ordinary), {}
    if kind == "unsmoothed":
        return quantize_int8(model, None), {}
    # FFN-output inputs of the fp32 model (outlier channels) or of the smoothed fp32 model (smoothing)
    base = quantize_int8(model, tokenizer) if kind == "smoothing" else None
    fp32 = _replace_ffn_outputs(base, lambda _, m: m.special) if base is not None else _copy(model)
    sites = {name: m for name, m in fp32.named_modules() if is_ffn_output(name)}
    maxima = input_maxima(fp32, sites, calibration_batches(tokenizer))
    info: dict = {}
    if kind == "outlier channels":
        info["outlier_channels"] = [int((maxima[name] > outlier).sum()) for name in sites]
        fp32 = _replace_ffn_outputs(fp32, lambda name, m: _OutlierSplitLinear(m, (maxima[name] > outlier).nonzero().flatten()))
        return quantize_linears(fp32, _fp32_part), info

    def smoothed(name: str, linear: nn.Linear) -> nn.Module:
        s = smoothing_scales(maxima[name], linear.weight.abs().amax(0), alpha)
        scaled = nn.Linear(linear.in_features, linear.out_features)
        scaled.weight.data = linear.weight.data * s
        scaled.bias.data = linear.bias.data.clone()
        return ScaledInput(scaled, 1 / s)

    return quantize_linears(_replace_ffn_outputs(fp32, smoothed)), info


def _copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).eval()


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
    for kind, label in (("shipped", "int8 shipped (smoothed, fused QKV, special-token rows of FFN outputs fp32)"),
                        ("FFN outputs fp32", "int8, FFN outputs fp32 (previous release)"),
                        ("special rows int8", "int8, special-token rows of FFN outputs int8 too"),
                        ("unsmoothed", "int8 unsmoothed, FFN outputs fp32"),
                        ("outlier channels", f"int8 all, FFN-output channels |x|>{args.outlier:g} fp32"),
                        ("smoothing", f"int8 all, FFN-output inputs smoothed alpha={args.alpha:g}")):
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
