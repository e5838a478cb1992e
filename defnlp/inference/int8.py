"""int8 on CPU: smoothing calibrated on bundled text, then dynamic quantisation of the linear layers.

Dynamic int8 quantisation gives each linear layer's input one scale per batch. Two kinds of
outliers break that one scale in BERT-family encoders, and each gets its own fix:

* **Outlier channels.** The LayerNorm outputs that feed the attention projections and the
  feed-forward up-projection carry a few channels tens of times larger than the rest.
  *Smoothing* (the SmoothQuant recipe) divides input channel ``j`` by
  ``s_j = max|x_j|^α / max|W[:, j]|^(1-α)`` and multiplies weight column ``j`` by ``s_j``: the
  layer computes exactly the same thing in fp32, but the outliers now sit in the weights, which
  are quantised per output channel. ``max|x_j|`` is measured once, at load, on a few paragraphs
  of bundled French and English defence text (:func:`calibration_texts`). Per encoder layer:
  one multiply before the query/key/value projections; the attention-output projection's scale
  folded into the value rows (free); one multiply before the up-projection.
* **Outlier tokens.** The feed-forward output projection's input (the GELU output) is 5-10 times
  larger at the special tokens (``<s>``, ``</s>``: ~1-2 % of the rows) than anywhere else. Those
  rows go through the fp32 weights (:class:`SpecialRowsLinear`); every other row is int8 with a
  scale taken over ordinary tokens only. Which rows are special is read from ``input_ids`` by a
  hook on the encoder (:class:`SpecialTokenRows`, per thread). Smoothing these inputs instead cost 0.6-3.2 F1
  points, and keeping their outlier channels in fp32 was 2.7x slower (``benchmarks/int8_variants.py``).

Activations keep all 8 bits where the kernels allow it (oneDNN on CPUs with VNNI or AMX int8
instructions, :func:`full_range_activations`): torch's dynamic int8 keeps 7 by default, for
fbgemm's AVX2 kernels whose 16-bit intermediate sums can saturate; the extra bit halves the
error of every layer. Query, key and value are computed by one fused projection
(:class:`FusedQKV`): the input is quantised once instead of three times, in one kernel call.
Without a tokenizer (no calibration text, no special-token ids), or for encoders whose layers do
not have the BERT layout, nothing is smoothed and the feed-forward output projections stay fp32.

**What this relies on in transformers** (``pyproject.toml`` allows 4.46 to 5.x). :class:`FusedQKV`
is a whole self-attention module swapped in for transformers' own (``BertSelfAttention``, or
``BertSdpaSelfAttention`` in 4.x): it computes attention itself with torch's
``scaled_dot_product_attention``, as transformers' ``sdpa`` implementation does. It used to
wrap transformers' module and feed it the fused outputs through per-thread stand-ins for its
``query``/``key``/``value`` linears, which held only as long as that module called each of them
exactly once, on its input, in its forward. The swap needs only the module's interface: called
with the hidden states and the additive or boolean mask, returning ``(output, ...)``; arguments
it does not compute (cross-attention, cache, head mask, attention weights) raise, and
:func:`fuse_qkv` checks each replacement against the module it replaces (a self-attention
with relative or rotary position terms stays unfused). Measured against the wrapping version
on 100 documents (re3d test and ``data/examples``, 16,727 tokens, 2 cores, transformers 5.25):
NER entities and scores identical, hidden states bitwise identical on every batch; encoder
forward 5,879 vs 5,897 tokens/s in one process (alternating, best of 9), pipeline 5,775 vs
5,474 tokens/s in separate processes (best of 3), the attention module alone 1-2 % faster.
Under transformers' ``eager`` attention (not the default) fp32 outputs move by ~5e-7. The
special-token rows still reach :class:`SpecialRowsLinear` through state set by a
hook on the encoder's forward (a context variable now, cleared after every forward, exceptions
included): transformers' layers call the feed-forward output projection with its input alone,
so passing them explicitly would mean re-implementing the encoder's and each layer's forward, a
larger dependence on transformers than reading ``input_ids``/``attention_mask`` in a pre-hook.
``tests/inference/test_int8.py`` pins all of it (same fp32 function as transformers' attention, one row
per token at the feed-forward output, several threads at once) with the transformers version in
its failure messages. It passes on transformers 5.25.0; the same checks on a random BERT pass on
4.46.3 (where the suite itself does not install: datasets>=5 wants huggingface_hub>=1.31, 4.46 <1.0).

>>> model = quantize_int8(encoder_model, tokenizer)        # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import copy
import functools
import logging
import warnings
from collections.abc import Callable, Iterable
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ModelError

log = logging.getLogger(__name__)

__all__ = ["SMOOTHING_ALPHA", "FusedQKV", "ScaledInput", "SpecialRowsLinear", "SpecialTokenRows", "calibration_batches",
           "calibration_texts", "full_range_activations", "fuse_qkv", "input_maxima", "int8_engine", "is_ffn_output", "quantize_int8", "quantize_linears", "smooth_encoder",
           "smoothing_scales"]

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


class FusedQKV(nn.Module):
    """Self-attention whose query, key and value come from one ``(3d, d)`` projection; swapped in for
    a BERT-layout self-attention module (``query``/``key``/``value`` linears, ``num_attention_heads``).

    With ``inv_scale`` its input is first multiplied per channel (smoothing). Attention is
    :func:`torch.nn.functional.scaled_dot_product_attention` on the mask that the attention block
    passes, as transformers' ``sdpa`` implementation computes it: same function in fp32, same
    numbers under ``sdpa``. Encoder self-attention only: cross-attention, a key/value cache, head
    masks or attention weights raise :class:`~defnlp.errors.ModelError` instead of being ignored.
    """

    def __init__(self, attention: nn.Module, inv_scale: torch.Tensor | None = None) -> None:
        super().__init__()
        parts = [attention.query, attention.key, attention.value]
        self.heads = int(attention.num_attention_heads)
        self.scaling = float(getattr(attention, "scaling", attention.attention_head_size ** -0.5))
        self.sizes = [p.out_features for p in parts]
        self.qkv = nn.Linear(parts[0].in_features, sum(self.sizes), bias=True)
        with torch.no_grad():
            self.qkv.weight.copy_(torch.cat([p.weight for p in parts]))
            self.qkv.bias.copy_(torch.cat([p.bias if p.bias is not None else torch.zeros(p.out_features) for p in parts]))
        if inv_scale is not None:
            self.register_buffer("inv_scale", inv_scale.detach().clone())
        else:
            self.inv_scale = None

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, *args, **kwargs):
        _refuse_unsupported(args, kwargs)
        if self.inv_scale is not None:
            hidden_states = hidden_states * self.inv_scale
        shape = (*hidden_states.shape[:-1], self.heads, -1)
        q, k, v = (part.view(shape).transpose(1, 2) for part in self.qkv(hidden_states).split(self.sizes, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, dropout_p=0.0, scale=self.scaling)
        # (output, attention weights): what a transformers self-attention module returns, 4.46 to 5.x
        return out.transpose(1, 2).reshape(*hidden_states.shape[:-1], -1), None


#: arguments a self-attention module may be passed (by name in transformers 5.x, by position after
#: the mask in 4.x) that change what it computes; :class:`FusedQKV` computes none of them
_UNSUPPORTED = ("head_mask", "encoder_hidden_states", "encoder_attention_mask", "past_key_value", "past_key_values",
                "cache", "output_attentions")


def _refuse_unsupported(args: tuple, kwargs: dict) -> None:
    used = [name for name in _UNSUPPORTED if kwargs.get(name) is not None and kwargs.get(name) is not False]
    used += [f"positional argument {i + 3}" for i, arg in enumerate(args) if arg is not None and arg is not False]
    if used:
        import transformers

        raise ModelError(f"the int8 fused self-attention was called with {', '.join(used)} "
                         f"(transformers {transformers.__version__}): it computes encoder self-attention only",
                         "use precision fp32 for this model, or a transformers version that tests/inference/test_int8.py passes on")


#: the special-token rows of the batch being encoded: ``(owner, n_rows, special, excluded)``. A context
#: variable: each thread (and asyncio task) sees its own, so one model can serve several threads.
_SPECIAL_ROWS: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("defnlp_int8_special_rows", default=None)


class SpecialTokenRows:
    """Which rows of the current batch hold special tokens, set by a forward pre-hook on the encoder.

    ``special``: flat row indices (batch × position) of special tokens that are not padding;
    ``excluded``: those plus the padding rows. Kept in a context variable (per thread), set by
    :meth:`hook` before the encoder's forward and cleared by :meth:`clear` after it, exceptions
    included. When the encoder is called without ``input_ids`` nothing is known and
    :class:`SpecialRowsLinear` runs every row in fp32.
    """

    def __init__(self, special_ids: Iterable[int]) -> None:
        self.special_ids = torch.tensor(sorted({int(i) for i in special_ids}), dtype=torch.long)

    def current(self) -> tuple[int, torch.Tensor, torch.Tensor] | None:
        """``(n_rows, special, excluded)`` for the batch this thread is encoding, or None."""
        value = _SPECIAL_ROWS.get()
        return value[1:] if value is not None and value[0] is self else None

    def hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        if not isinstance(ids, torch.Tensor):
            _SPECIAL_ROWS.set(None)
            return
        flat = ids.reshape(-1)
        special = torch.isin(flat, self.special_ids.to(flat.device))
        real = mask.reshape(-1).bool() if isinstance(mask, torch.Tensor) else torch.ones_like(special)
        _SPECIAL_ROWS.set((self, flat.numel(), (special & real).nonzero().flatten(), (special | ~real).nonzero().flatten()))

    def clear(self, *_) -> None:
        """Forget this thread's rows (a forward hook: a later call that bypasses the encoder's forward runs in fp32)."""
        _SPECIAL_ROWS.set(None)


class SpecialRowsLinear(nn.Module):
    """A linear layer that runs special-token rows in fp32 and every other row in ``ordinary`` (int8).

    Overwrites its input's special and padding rows with zeros (so that they do not set the int8
    scale): use it only where nothing else reads that input, as for the feed-forward output
    projection. ``special`` is the fp32 layer, ``ordinary`` a copy that quantisation replaces.
    """

    def __init__(self, linear: nn.Linear, rows: SpecialTokenRows) -> None:
        super().__init__()
        self.special = linear
        self.ordinary = copy.deepcopy(linear)
        self.rows = rows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        current = self.rows.current()
        flat = x.reshape(-1, x.shape[-1])
        if current is None or current[0] != flat.shape[0]:
            return self.special(x)
        _, special, excluded = current
        fp32_rows = self.special(flat.index_select(0, special))
        out = self.ordinary(flat.index_fill_(0, excluded, 0.0))
        out.index_copy_(0, special, fp32_rows.to(out.dtype))
        return out.view(*x.shape[:-1], out.shape[-1])


@functools.cache
def _full_range_linear_class() -> type:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    class FullRangeInt8Linear(DynamicInt8Linear):
        """Dynamic int8 linear with 8-bit activations: torch's default keeps 7 (``reduce_range``) because
        fbgemm's AVX2 kernels saturate 16-bit sums, which VNNI/AMX kernels do not. Halves the error."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)

        def _get_name(self) -> str:
            return "FullRangeInt8Linear"

    return FullRangeInt8Linear


def full_range_activations(engine: str) -> bool:
    """Whether int8 activations can use all 8 bits: oneDNN on a CPU with VNNI (or AMX) int8 instructions."""
    is_vnni = getattr(torch.cpu, "_is_vnni_supported", None)
    return engine == "onednn" and callable(is_vnni) and bool(is_vnni())


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


def _unscaled(part: nn.Module | None) -> tuple[nn.Module | None, torch.Tensor | None]:
    """``(module, inv_scale)`` of a :class:`ScaledInput`, ``(part, None)`` for anything else."""
    return (part.inner, part.inv_scale) if isinstance(part, ScaledInput) else (part, None)


def _bert_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Encoder layers with the BERT layout (attention.self.{query,key,value}, attention.output.dense, intermediate.dense).

    Smoothed layers (:class:`ScaledInput` around the self-attention or the up-projection) count;
    fused ones (:class:`FusedQKV`) do not.
    """
    layers = []
    for name, module in model.named_modules():
        att = getattr(module, "attention", None)
        self_att, _ = _unscaled(getattr(att, "self", None))
        inter, _ = _unscaled(getattr(getattr(module, "intermediate", None), "dense", None))
        out = getattr(getattr(att, "output", None), "dense", None)
        parts = [getattr(self_att, p, None) for p in ("query", "key", "value")] + [out, inter]
        if all(isinstance(p, nn.Linear) for p in parts):
            layers.append((name, module))
    return layers


@torch.inference_mode()
def input_maxima(model: nn.Module, modules: dict[str, nn.Module], batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
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


def smoothing_scales(x_max: torch.Tensor, w_max: torch.Tensor, alpha: float) -> torch.Tensor:
    """Per-channel ``s = max|x|^α / max|W|^(1-α)`` (clamped to [0.01, 1000]): divide inputs, multiply weight columns by it."""
    s = x_max.clamp(min=1e-5) ** alpha / w_max.clamp(min=1e-5) ** (1 - alpha)
    return s.clamp(1e-2, 1e3)


@torch.no_grad()
def smooth_encoder(model: nn.Module, batches: Iterable[torch.Tensor], alpha: float = SMOOTHING_ALPHA) -> int:
    """Smooth every BERT-layout layer of ``model`` in place (same fp32 outputs); return how many.

    ``batches``: ``input_ids`` tensors (no padding) of representative text.
    """
    layers = [(name, layer) for name, layer in _bert_layers(model) if not isinstance(layer.attention.self, ScaledInput)]
    if not layers:
        return 0
    sites: dict[str, nn.Module] = {}
    for name, layer in layers:
        sites[f"{name}/qkv"] = layer.attention.self
        sites[f"{name}/context"] = layer.attention.output.dense
        sites[f"{name}/intermediate"] = layer.intermediate.dense
    maxima = input_maxima(model, sites, batches)
    if len(maxima) != len(sites):
        log.warning("int8 smoothing skipped: calibration did not reach every layer")
        return 0
    for name, layer in layers:
        att = layer.attention.self
        # attention output projection: s folded into the value rows (context channel j = Σ p · value_j)
        out = layer.attention.output.dense
        s = smoothing_scales(maxima[f"{name}/context"], out.weight.abs().amax(0), alpha)
        out.weight.mul_(s)
        att.value.weight.div_(s[:, None])
        if att.value.bias is not None:
            att.value.bias.div_(s)
        # query, key, value share their input: one scale, one multiply
        qkv = [att.query, att.key, att.value]
        w_max = torch.stack([lin.weight.abs().amax(0) for lin in qkv]).amax(0)
        s = smoothing_scales(maxima[f"{name}/qkv"], w_max, alpha)
        for lin in qkv:
            lin.weight.mul_(s)
        layer.attention.self = ScaledInput(att, 1.0 / s)
        # feed-forward up-projection
        inter = layer.intermediate.dense
        s = smoothing_scales(maxima[f"{name}/intermediate"], inter.weight.abs().amax(0), alpha)
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


def fuse_qkv(model: nn.Module) -> int:
    """Replace each BERT-layout self-attention of ``model`` by a :class:`FusedQKV` (same fp32 outputs); return how many.

    Keeps the smoothing of a :class:`ScaledInput` that wraps the self-attention. Each replacement
    is checked against the module it replaces on a random input: one that computes something else
    (relative or rotary position terms, or a transformers version whose attention differs) is
    left as it is, with a warning.
    """
    count = 0
    for name, layer in _bert_layers(model):
        attention, inv_scale = _unscaled(layer.attention.self)
        if getattr(attention, "is_decoder", False):
            continue
        fused = FusedQKV(attention, inv_scale)
        if not _same_attention(fused, layer.attention.self):
            import transformers

            log.warning("int8: %s.attention.self (%s, transformers %s) does not compute plain scaled dot-product "
                        "attention: query/key/value left unfused", name, type(attention).__name__, transformers.__version__)
            continue
        layer.attention.self = fused
        count += 1
    return count


@torch.inference_mode()
def _same_attention(fused: FusedQKV, original: nn.Module) -> bool:
    """Whether ``fused`` and the self-attention it replaces agree (fp32, to 1e-4 of the output's scale) on a random input."""
    weight = fused.qkv.weight
    x = torch.randn(2, 7, weight.shape[1], generator=torch.Generator().manual_seed(0)).to(weight)
    try:
        expected = original(x)[0]
        got = fused(x)[0]
    except Exception:  # noqa: BLE001 - a module that cannot be called like a BERT self-attention is not replaced
        return False
    return got.shape == expected.shape and bool((got - expected).abs().max() <= 1e-4 * expected.abs().max() + 1e-6)


def _split_special_rows(model: nn.Module, tokenizer) -> int:
    """Wrap each BERT-layout feed-forward output projection in a :class:`SpecialRowsLinear`; return how many."""
    layers = [layer for _, layer in _bert_layers(model)
              if isinstance(getattr(getattr(layer, "output", None), "dense", None), nn.Linear)]
    special_ids = getattr(tokenizer, "all_special_ids", None)
    if not layers or not special_ids:
        return 0
    rows = SpecialTokenRows(special_ids)
    model.register_forward_pre_hook(rows.hook, with_kwargs=True)
    model.register_forward_hook(rows.clear, always_call=True)
    for layer in layers:
        layer.output.dense = SpecialRowsLinear(layer.output.dense, rows)
    return len(layers)


def quantize_int8(model: nn.Module, tokenizer=None, *, alpha: float = SMOOTHING_ALPHA) -> nn.Module:
    """A copy of ``model`` with int8 linear layers (per-channel weights, per-batch dynamic inputs).

    BERT-layout layers get a fused query/key/value projection. With a ``tokenizer``, they are also
    smoothed on :func:`calibration_texts`, and their feed-forward output projections run special-token
    rows in fp32 (:class:`SpecialRowsLinear`); without one, those projections stay fp32.
    ``model`` itself is left unchanged (its embedding table is shared, not copied).
    """
    model = _copy_sharing_embeddings(model).eval()
    smoothed = smooth_encoder(model, calibration_batches(tokenizer), alpha) if tokenizer is not None else 0
    split = _split_special_rows(model, tokenizer) if tokenizer is not None else 0
    fused = fuse_qkv(model)
    log.info("int8: %d encoder layers smoothed (alpha %.2f), %d with fused query/key/value, %d with int8 feed-forward outputs",
             smoothed, alpha, fused, split)
    keep_fp32 = {id(m.special) for m in model.modules() if isinstance(m, SpecialRowsLinear)}
    return quantize_linears(model, lambda name, module: id(module) in keep_fp32 or (not split and is_ffn_output(name)))


def quantize_linears(model: nn.Module, keep_fp32: Callable[[str, nn.Module], bool] | None = None) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` of ``model`` for which ``keep_fp32(name, module)`` is false by a
    dynamic int8 linear (per-channel weights) on :func:`int8_engine`'s kernels, with 8-bit activations
    where :func:`full_range_activations` allows; return ``model``."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    # process-wide in torch: the kernels that run every quantised linear layer
    engine = torch.backends.quantized.engine = int8_engine()
    mapping = {nn.Linear: _full_range_linear_class()} if full_range_activations(engine) else None
    targets = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and not (keep_fp32 and keep_fp32(name, module))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, targets, dtype=torch.qint8, mapping=mapping, inplace=True)
