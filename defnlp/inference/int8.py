"""int8 on CPU: smoothing calibrated on bundled text, then dynamic quantisation of the linear layers.

Dynamic int8 quantisation gives each linear layer's input one scale per batch. In BERT-family
encoders the LayerNorm outputs that feed the attention projections and the feed-forward
up-projection carry a few channels tens of times larger than the rest, and that one scale
crushes every other channel. *Smoothing* (the SmoothQuant recipe) divides input channel ``j``
by ``s_j = max|x_j|^α / max|W[:, j]|^(1-α)`` and multiplies weight column ``j`` by ``s_j``:
the layer computes exactly the same thing in fp32, but the outliers now sit in the weights,
which are quantised per output channel. ``max|x_j|`` is measured once, at load, on a few
paragraphs of bundled French and English defence text (:func:`calibration_texts`).

Where the division goes, per encoder layer:

* attention input (shared by query, key and value): one multiply before the three projections;
* attention output projection: folded into the value projection's rows (the attention context
  is linear in the values), so it costs nothing;
* feed-forward up-projection: one multiply before it.

The feed-forward output projections stay in fp32: their GELU inputs cannot be smoothed for
free, and quantising them cost 2-11 F1 points, smoothed or not (``benchmarks/int8_variants.py``). Encoders
whose layers do not have the BERT layout are quantised without smoothing.

>>> model = quantize_int8(encoder_model, tokenizer)        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import warnings
from importlib import resources
from typing import Iterable

import torch
from torch import nn

from ..errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["SMOOTHING_ALPHA", "ScaledInput", "calibration_batches", "calibration_texts", "int8_engine",
           "is_ffn_output", "quantize_int8", "smooth_encoder"]

#: migration strength α: 0.7 kept int8 closest to fp32 on re3d dev and WiNER-fr dev (0.5 and 0.85 were further)
SMOOTHING_ALPHA = 0.7
#: calibration sequences are cut to this many tokens
CALIBRATION_MAX_TOKENS = 256


class ScaledInput(nn.Module):
    """Runs ``inner`` on its first input multiplied per channel by ``inv_scale`` (other arguments pass through)."""

    def __init__(self, inner: nn.Module, inv_scale: torch.Tensor) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("inv_scale", inv_scale.detach().clone())

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        return self.inner(hidden_states * self.inv_scale, *args, **kwargs)


def calibration_texts() -> list[str]:
    """The bundled calibration paragraphs (French and English, the project's own example texts)."""
    text = resources.files("defnlp.resources").joinpath("calibration/int8-fr-en.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def int8_engine() -> str:
    """The quantised-kernel library for int8: oneDNN (AVX-512 VNNI / AMX) where this torch build has it, else x86/fbgemm."""
    engines = torch.backends.quantized.supported_engines
    for name in ("onednn", "x86", "fbgemm"):
        if name in engines:
            return name
    raise ConfigError("this torch build has no int8 CPU kernels", "use precision fp32")


def is_ffn_output(name: str) -> bool:
    """``encoder.layer.N.output.dense`` (feed-forward down-projection), not the attention output."""
    return name.endswith("output.dense") and "attention" not in name


def _bert_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Encoder layers with the BERT layout (attention.self.{query,key,value}, attention.output.dense, intermediate.dense)."""
    layers = []
    for name, module in model.named_modules():
        att = getattr(module, "attention", None)
        self_att = getattr(att, "self", None)
        inter = getattr(getattr(module, "intermediate", None), "dense", None)
        out = getattr(getattr(att, "output", None), "dense", None)
        parts = [getattr(self_att, p, None) for p in ("query", "key", "value")] + [out, inter]
        if all(isinstance(p, nn.Linear) for p in parts):
            layers.append((name, module))
    return layers


@torch.inference_mode()
def _input_maxima(model: nn.Module, modules: dict[str, nn.Module], batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-channel max |input| of each module in ``modules`` over the calibration batches."""
    maxima: dict[str, torch.Tensor] = {}
    hooks = []
    for key, module in modules.items():
        def hook(mod, args, kwargs, key=key):
            x = args[0] if args else kwargs["hidden_states"]
            m = x.detach().abs().flatten(0, -2).amax(0).float()
            maxima[key] = torch.maximum(maxima[key], m) if key in maxima else m

        hooks.append(module.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        for ids in batches:
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
    finally:
        for h in hooks:
            h.remove()
    return maxima


def _smoothing(x_max: torch.Tensor, w_max: torch.Tensor, alpha: float) -> torch.Tensor:
    s = x_max.clamp(min=1e-5) ** alpha / w_max.clamp(min=1e-5) ** (1 - alpha)
    return s.clamp(1e-2, 1e3)


@torch.no_grad()
def smooth_encoder(model: nn.Module, batches: Iterable[torch.Tensor], alpha: float = SMOOTHING_ALPHA) -> int:
    """Smooth every BERT-layout layer of ``model`` in place (same fp32 outputs); return how many.

    ``batches``: ``input_ids`` tensors (no padding) of representative text.
    """
    layers = _bert_layers(model)
    if not layers:
        return 0
    sites: dict[str, nn.Module] = {}
    for name, layer in layers:
        sites[f"{name}/qkv"] = layer.attention.self
        sites[f"{name}/context"] = layer.attention.output.dense
        sites[f"{name}/intermediate"] = layer.intermediate.dense
    maxima = _input_maxima(model, sites, batches)
    if len(maxima) != len(sites):
        log.warning("int8 smoothing skipped: calibration did not reach every layer")
        return 0
    for name, layer in layers:
        att = layer.attention.self
        # attention output projection: s folded into the value rows (context channel j = Σ p · value_j)
        out = layer.attention.output.dense
        s = _smoothing(maxima[f"{name}/context"], out.weight.abs().amax(0), alpha)
        out.weight.mul_(s)
        att.value.weight.div_(s[:, None])
        if att.value.bias is not None:
            att.value.bias.div_(s)
        # query, key, value share their input: one scale, one multiply
        qkv = [att.query, att.key, att.value]
        w_max = torch.stack([lin.weight.abs().amax(0) for lin in qkv]).amax(0)
        s = _smoothing(maxima[f"{name}/qkv"], w_max, alpha)
        for lin in qkv:
            lin.weight.mul_(s)
        layer.attention.self = ScaledInput(att, 1.0 / s)
        # feed-forward up-projection
        inter = layer.intermediate.dense
        s = _smoothing(maxima[f"{name}/intermediate"], inter.weight.abs().amax(0), alpha)
        inter.weight.mul_(s)
        layer.intermediate.dense = ScaledInput(inter, 1.0 / s)
    return len(layers)


def calibration_batches(tokenizer) -> list[torch.Tensor]:
    """Each calibration text as a ``(1, n)`` ``input_ids`` tensor with special tokens, cut to 256 tokens."""
    encoded = tokenizer(calibration_texts(), truncation=True, max_length=CALIBRATION_MAX_TOKENS)
    return [torch.tensor([ids]) for ids in encoded["input_ids"]]


def _copy_sharing_embeddings(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose input embedding table (not quantised, ~380 MB for e5) is shared, not copied."""
    memo = {}
    get = getattr(model, "get_input_embeddings", None)
    embeddings = get() if callable(get) else None
    if isinstance(embeddings, nn.Embedding):
        memo[id(embeddings.weight)] = embeddings.weight
    return copy.deepcopy(model, memo)


def quantize_int8(model: nn.Module, tokenizer=None, *, alpha: float = SMOOTHING_ALPHA) -> nn.Module:
    """A copy of ``model`` with int8 linear layers (per-channel weights, per-batch dynamic inputs).

    With a ``tokenizer``, BERT-layout layers are first smoothed on :func:`calibration_texts`;
    the feed-forward output projections stay fp32. ``model`` itself is left unchanged.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = _copy_sharing_embeddings(model).eval()
    smoothed = smooth_encoder(model, calibration_batches(tokenizer), alpha) if tokenizer is not None else 0
    log.info("int8: %d encoder layers smoothed (alpha %.2f)", smoothed, alpha)
    # process-wide in torch: the kernels that run every quantised linear layer
    torch.backends.quantized.engine = int8_engine()
    targets = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and not is_ffn_output(name)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, targets, dtype=torch.qint8, inplace=True)
