"""What a fine-tuned model changes in the shared encoder, and how it is merged back at load time.

Two kinds, named by the ``adapter`` entry of a model card (``defnlp.json``):

* ``lora`` — training wraps the frozen encoder with ``peft`` LoRA modules; a trained model
  stores only the adapter matrices as ``lora.<module>.A`` / ``lora.<module>.B`` tensors (a few
  MB). At inference the update ``W += (alpha / r) · B @ A`` is merged into the encoder weights
  once, so the forward pass costs exactly what the plain encoder costs.
* ``full`` — every weight of the transformer layers ``layers`` is trained (the vocabulary
  embeddings never are: 96M of e5-small's 117M parameters). A trained model stores the
  *difference* from the base encoder, ``delta.<parameter>`` (:func:`layer_deltas`): matrices in
  float16, vectors (biases, LayerNorm) in float32 — 43 MB for all 12 layers of e5-small. A delta
  is small next to the weight it changes, so its float16 rounding error (2^-11 of the delta) is
  far below that of storing the trained weights themselves in 16 bits. :func:`apply_layer_deltas`
  adds it to the base weights (whose sha256 the card records and the loader checks), refusing
  anything but complete, finite deltas of the declared layers.

:func:`merge_adapter` applies either kind from a card's ``adapter`` entry. Both fail closed
(:class:`~defnlp.errors.ModelError`): settings of the wrong type or range (:func:`parse_adapter`),
layers the encoder does not have, LoRA targets that match none of its modules, and weights
that do not match the settings.

>>> cfg = LoraSettings(r=4, alpha=8)
>>> cfg.scale
2.0
>>> FullSettings(layers=[4, 5]).to_dict()["type"]
'full'
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ModelError

__all__ = ["LoraSettings", "add_lora", "lora_tensors", "load_lora_into_peft", "merge_lora", "FullSettings",
           "layer_parameters", "layer_deltas", "apply_layer_deltas", "merge_adapter", "parse_adapter", "DELTA_PREFIX"]

DEFAULT_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


@dataclass
class LoraSettings:
    """Where and how big the adapters are. ``layers``: encoder layers that get adapters (None = all)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    layers: list[int] | None = None

    @property
    def scale(self) -> float:
        return self.alpha / self.r

    def to_dict(self) -> dict[str, Any]:
        return {"type": "lora", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LoraSettings":
        """Settings from a card's ``adapter`` entry, checked (:class:`ModelError` on a wrong type or range).

        >>> LoraSettings.from_dict({"type": "lora", "r": 0})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        defnlp.errors.ModelError: adapter entry of type 'lora': 'r' must be a positive integer, not 0 ...
        """
        data = {k: v for k, v in data.items() if k != "type"}
        try:
            settings = cls(**data)
        except TypeError as err:
            raise ModelError(f"adapter entry of type 'lora' is malformed: {err}", _ADAPTER_HINT) from err

        def bad(message: str) -> ModelError:
            return ModelError(f"adapter entry of type 'lora': {message}", _ADAPTER_HINT)

        if not _is_int(settings.r) or settings.r < 1:
            raise bad(f"'r' must be a positive integer, not {settings.r!r}")
        if not _is_number(settings.alpha) or not settings.alpha > 0:
            raise bad(f"'alpha' must be a positive number, not {settings.alpha!r}")
        if not _is_number(settings.dropout) or not 0 <= settings.dropout < 1:
            raise bad(f"'dropout' must be a number in [0, 1), not {settings.dropout!r}")
        targets = settings.targets
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t.strip() for t in targets):
            raise bad(f"'targets' must be a non-empty list of module names, not {targets!r}")
        if settings.layers is not None:
            _check_layer_list(settings.layers, "lora")
        return settings

    def check_encoder(self, model: nn.Module) -> None:
        """Refuse settings that name layers ``model`` does not have, or targets matching none of its modules."""
        available = encoder_layers(model)
        if self.layers is not None:
            missing = sorted(set(self.layers) - available)
            if missing:
                raise ModelError(f"LoRA adapter layers {missing} are out of range: the encoder has layers "
                                 f"0-{max(available, default=-1)}", _ADAPTER_HINT)
        names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith("encoder.layer.")]
        unknown = [t for t in self.targets if not any(n.endswith("." + t) for n in names)]
        if unknown:
            known = sorted({n.split(".", 3)[3] for n in names})
            raise ModelError(f"unknown LoRA target modules {unknown}: no linear layer of the encoder has that name",
                             f"targets of this encoder: {', '.join(known)}")

    def module_names(self, model: nn.Module) -> list[str]:
        """Full names of the ``nn.Linear`` modules of ``model`` that receive adapters."""
        names = []
        for name, module in model.named_modules():
            if not isinstance(module, nn.Linear) or not name.startswith("encoder.layer."):
                continue
            layer = int(name.split(".")[2])
            if self.layers is not None and layer not in self.layers:
                continue
            if any(name.endswith(t) for t in self.targets):
                # "output.dense" must not also catch "attention.output.dense" unless asked
                if name.endswith("attention.output.dense") and "attention.output.dense" not in self.targets:
                    continue
                names.append(name)
        return names


def add_lora(model: nn.Module, settings: LoraSettings) -> nn.Module:
    """Wrap ``model`` (a BertModel) with trainable LoRA adapters; everything else frozen."""
    from peft import LoraConfig, get_peft_model

    targets = settings.module_names(model)
    if not targets:
        raise ModelError("no encoder module matches the LoRA targets", f"targets were {settings.targets}")
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=targets, bias="none")
    return get_peft_model(model, config)


_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.default)?\.weight$")


def lora_tensors(peft_model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter weights of a peft-wrapped encoder as ``lora.<module>.A|B`` tensors."""
    out = {}
    for key, value in peft_model.state_dict().items():
        m = _PEFT_KEY.match(key)
        if m:
            out[f"lora.{m.group('module')}.{m.group('ab')}"] = value.detach().clone()
    if not out:
        raise ModelError("the model has no LoRA adapter weights to save")
    return out


def _pairs(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("lora."):
            module, ab = key[len("lora.") :].rsplit(".", 1)
            pairs.setdefault(module, {})[ab] = value
    for module, ab in pairs.items():
        if set(ab) != {"A", "B"}:
            raise ModelError(f"adapter of {module} is incomplete (has {sorted(ab)})")
    return {m: (ab["A"], ab["B"]) for m, ab in pairs.items()}


@torch.no_grad()
def merge_lora(model: nn.Module, tensors: dict[str, torch.Tensor], settings: LoraSettings) -> int:
    """Add the adapters' update into ``model``'s weights in place; return the number merged.

    Fails closed: the adapters must be exactly those of the modules that ``settings`` names
    (:meth:`LoraSettings.module_names`), with ``r``-sized, finite matrices; nothing is merged otherwise.
    """
    settings.check_encoder(model)
    modules = dict(model.named_modules())
    pairs = _pairs(tensors)
    expected = set(settings.module_names(model))
    if set(pairs) != expected:
        extra, missing = sorted(set(pairs) - expected), sorted(expected - set(pairs))
        raise ModelError(f"the LoRA adapters do not match the card's adapter settings "
                         f"({len(extra)} unexpected, e.g. {extra[:2]}; {len(missing)} missing, e.g. {missing[:2]})",
                         "the weights file does not belong to this card or this encoder")
    for name, (a, b) in pairs.items():
        if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
            raise ModelError(f"adapter of {name} holds non-finite values")
    for name, (a, b) in pairs.items():
        linear = modules.get(name)
        if not isinstance(linear, nn.Linear):
            raise ModelError(f"adapter names module {name!r}, which this encoder does not have")
        if a.shape != (settings.r, linear.in_features) or b.shape != (linear.out_features, settings.r):
            raise ModelError(f"adapter of {name} has shapes {tuple(a.shape)}/{tuple(b.shape)}, not matching the encoder")
        linear.weight += settings.scale * (b.to(linear.weight) @ a.to(linear.weight))
    return len(pairs)


@torch.no_grad()
def load_lora_into_peft(peft_model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy saved adapters into a freshly wrapped peft model (to continue training)."""
    state = peft_model.state_dict()
    pairs = _pairs(tensors)
    loaded = 0
    for key in state:
        m = _PEFT_KEY.match(key)
        if m and m.group("module") in pairs:
            a, b = pairs[m.group("module")]
            state[key].copy_(a if m.group("ab") == "A" else b)
            loaded += 1
    if loaded != 2 * len(pairs):
        raise ModelError(f"only {loaded} of {2 * len(pairs)} adapter matrices matched the encoder")


# ------------------------------------------------------------------------------------------------
# full fine-tuning of transformer layers: shipped as deltas from the base encoder
# ------------------------------------------------------------------------------------------------
DELTA_PREFIX = "delta."
_LAYER_PARAM = re.compile(r"^encoder\.layer\.(?P<layer>\d+)\.")
#: how deltas are stored, by the number of dimensions of the parameter
DELTA_DTYPES = {"matrix": torch.float16, "vector": torch.float32}
_ALLOWED_DELTA_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


@dataclass
class FullSettings:
    """The ``adapter`` entry of a fully fine-tuned model: which encoder layers its deltas change."""

    layers: list[int]
    matrix_dtype: str = "float16"
    vector_dtype: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "full", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FullSettings":
        data = {k: v for k, v in data.items() if k != "type"}
        try:
            settings = cls(**data)
        except TypeError as err:
            raise ModelError(f"adapter entry of type 'full' is malformed: {err}") from err
        if not isinstance(settings.layers, list) or not settings.layers or not all(isinstance(n, int) for n in settings.layers):
            raise ModelError("adapter entry of type 'full' must list its 'layers' (encoder layer indices)",
                             _ADAPTER_HINT)
        _check_layer_list(settings.layers, "full")
        for key in ("matrix_dtype", "vector_dtype"):
            if getattr(settings, key) not in _DTYPE_NAMES:
                raise ModelError(f"adapter entry of type 'full': {key!r} must be one of {', '.join(_DTYPE_NAMES)}, "
                                 f"not {getattr(settings, key)!r}", _ADAPTER_HINT)
        return settings


def layer_parameters(model: nn.Module, layers: list[int] | range) -> dict[str, nn.Parameter]:
    """The parameters of encoder layers ``layers`` of a BERT-layout ``model``, by full name (``encoder.layer.N.…``)."""
    wanted = set(layers)
    out = {}
    for name, param in model.named_parameters():
        m = _LAYER_PARAM.match(name)
        if m and int(m.group("layer")) in wanted:
            out[name] = param
    found = {int(_LAYER_PARAM.match(n).group("layer")) for n in out}  # type: ignore[union-attr]
    if found != wanted:
        raise ModelError(f"the encoder has no layers {sorted(wanted - found)} (BERT layout 'encoder.layer.N' expected)")
    return out


@torch.no_grad()
def layer_deltas(model: nn.Module, base: dict[str, torch.Tensor], layers: list[int] | range) -> dict[str, torch.Tensor]:
    """``delta.<name>`` = trained minus base weights of encoder layers ``layers``, stored as :data:`DELTA_DTYPES`.

    ``base`` maps parameter names to the base encoder's weights (fp32 copies taken before training).
    """
    out = {}
    for name, param in layer_parameters(model, layers).items():
        dtype = DELTA_DTYPES["matrix" if param.dim() >= 2 else "vector"]
        delta = (param.detach().float() - base[name].float()).to(dtype)
        if not torch.isfinite(delta).all():
            raise ModelError(f"the trained weights of {name} differ from the base by more than {dtype} holds",
                             "lower the learning rate; the delta of a fine-tuned weight should be small")
        out[DELTA_PREFIX + name] = delta.contiguous()
    return out


@torch.no_grad()
def apply_layer_deltas(model: nn.Module, tensors: dict[str, torch.Tensor], settings: FullSettings) -> int:
    """Add the ``delta.*`` tensors to ``model``'s weights in place; return how many were applied.

    Fails closed (:class:`ModelError`, nothing applied): a delta of a parameter outside the
    declared layers (the embeddings included), of a parameter the encoder does not have, of
    another shape, of a dtype other than float16/bfloat16/float32, with non-finite values, or
    a declared layer whose deltas are incomplete.
    """
    params = layer_parameters(model, settings.layers)
    deltas = {k[len(DELTA_PREFIX):]: v for k, v in tensors.items() if k.startswith(DELTA_PREFIX)}
    unexpected = sorted(set(deltas) - set(params))
    if unexpected:
        raise ModelError(f"the model's deltas name parameters outside encoder layers {settings.layers}: {unexpected[:3]}",
                         "the weights file does not belong to this card or this encoder")
    missing = sorted(set(params) - set(deltas))
    if missing:
        raise ModelError(f"the model's deltas are incomplete: {len(missing)} parameters of layers {settings.layers} missing, "
                         f"e.g. {missing[0]}")
    for name, delta in deltas.items():
        if delta.shape != params[name].shape:
            raise ModelError(f"delta of {name} has shape {tuple(delta.shape)}, the encoder {tuple(params[name].shape)}")
        if delta.dtype not in _ALLOWED_DELTA_DTYPES:
            raise ModelError(f"delta of {name} has dtype {delta.dtype}", "deltas are float16, bfloat16 or float32")
        if not torch.isfinite(delta).all():
            raise ModelError(f"delta of {name} holds non-finite values")
    for name, delta in deltas.items():
        params[name] += delta.to(params[name])  # dtype and device (a meta-device skeleton for a dry run)
    return len(deltas)


def parse_adapter(adapter: dict[str, Any] | None) -> LoraSettings | FullSettings | None:
    """The checked settings of a card's ``adapter`` entry (``None`` for ``{"type": "none"}``).

    >>> parse_adapter({"type": "full", "layers": [4, 5]}).layers
    [4, 5]
    >>> parse_adapter({"type": "none"}) is None
    True
    """
    adapter = adapter or {"type": "none"}
    if not isinstance(adapter, dict):
        raise ModelError(f"the adapter entry must be an object, not {type(adapter).__name__}", _ADAPTER_HINT)
    kind = adapter.get("type")
    if kind == "lora":
        return LoraSettings.from_dict(adapter)
    if kind == "full":
        return FullSettings.from_dict(adapter)
    if kind == "none":
        if set(adapter) != {"type"}:
            raise ModelError(f"adapter entry of type 'none' has settings {sorted(set(adapter) - {'type'})}",
                             _ADAPTER_HINT)
        return None
    raise ModelError(f"unknown adapter type {kind!r}", "known types: lora, full, none")


def encoder_layers(model: nn.Module) -> set[int]:
    """Indices of the transformer layers of a BERT-layout encoder (``encoder.layer.N``)."""
    found = set()
    for name, _ in model.named_modules():
        m = _LAYER_PARAM.match(name + ".")
        if m:
            found.add(int(m.group("layer")))
    return found


_ADAPTER_HINT = "the model card's 'adapter' entry is malformed: re-export the model (see docs/fine-tuning.md)"
_DTYPE_NAMES = ("float16", "bfloat16", "float32")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_layer_list(layers: Any, kind: str) -> None:
    if not isinstance(layers, list) or not layers or not all(_is_int(n) and n >= 0 for n in layers):
        raise ModelError(f"adapter entry of type {kind!r}: 'layers' must be a non-empty list of layer indices "
                         f"(integers >= 0), not {layers!r}", _ADAPTER_HINT)
    if len(set(layers)) != len(layers):
        raise ModelError(f"adapter entry of type {kind!r}: 'layers' lists a layer twice: {layers}", _ADAPTER_HINT)


def merge_adapter(model: nn.Module, tensors: dict[str, torch.Tensor], adapter: dict[str, Any] | None) -> int:
    """Merge what a model card's ``adapter`` entry says into the base encoder ``model``; return the count merged.

    ``lora``: :func:`merge_lora`; ``full``: :func:`apply_layer_deltas`; ``none``: nothing.
    """
    settings = parse_adapter(adapter)
    if isinstance(settings, LoraSettings):
        return merge_lora(model, tensors, settings)
    if isinstance(settings, FullSettings):
        return apply_layer_deltas(model, tensors, settings)
    return 0
