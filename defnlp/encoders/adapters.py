"""LoRA adapters on the shared encoder: trained with ``peft``, shipped as a few MB, merged for speed.

Training wraps the frozen encoder with ``peft`` LoRA modules; a trained model stores only
the adapter matrices as ``lora.<module>.A`` / ``lora.<module>.B`` tensors. At inference the
update ``W += (alpha / r) · B @ A`` is merged into the encoder weights once, so the forward
pass costs exactly what the plain encoder costs.

>>> cfg = LoraSettings(r=4, alpha=8)
>>> cfg.scale
2.0
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ModelError

__all__ = ["LoraSettings", "add_lora", "lora_tensors", "load_lora_into_peft", "merge_lora"]

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
        data = {k: v for k, v in data.items() if k != "type"}
        return cls(**data)

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
    """Add the adapters' update into ``model``'s weights in place; return the number merged."""
    modules = dict(model.named_modules())
    pairs = _pairs(tensors)
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
