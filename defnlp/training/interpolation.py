"""Weight interpolation between a fine-tuned NER model and the model it started from.

A model tuned from a shipped one (``init_from``) learns its new labels and drifts on the old
ones. Moving its weights part of the way back towards the starting model (WiSE-FT, Wortsman et
al., CVPR 2022: robust fine-tuning by weight-space ensembling) gives back much of what the
old labels lost for little of what the new ones gained, with no retraining:

    weights = base + alpha * (tuned - base)

over every fine-tuned encoder layer (``adapter = "full"`` models store their layers as deltas
from the same raw encoder, so the interpolation is one line per tensor) and over the head rows
of the tags both models have. The rows of the new tags stay as trained: the base model has none.
``alpha = 1`` is the tuned model, ``alpha = 0`` the base model with the tuned model's new rows.

>>> interpolate_ner("models/defence-v2-ner", "runs/units-ner", 0.7, "runs/units-ner-0.7")  # doctest: +SKIP
PosixPath('runs/units-ner-0.7')

The training loop applies it to the best epoch when ``interpolate`` < 1 in a configuration with
``init_from`` (:class:`~defnlp.training.ner.NerTrainingConfig`); the card records it
(``training.interpolation``).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import torch

from ..encoders.adapters import DELTA_PREFIX, FullSettings, parse_adapter
from ..errors import ConfigError
from ..models import ModelSpec, load_weights, read_model_dir, write_model_dir
from ..tags import TagSet

log = logging.getLogger(__name__)

__all__ = ["interpolate_ner", "interpolate_tensors", "check_alpha"]

_HEAD_WEIGHT, _HEAD_BIAS = "ner.proj.weight", "ner.proj.bias"


def check_alpha(alpha: Any, where: str = "interpolate") -> float:
    """``alpha`` as a float in [0, 1], or a :class:`ConfigError` that says what to write."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or not 0 <= alpha <= 1:
        raise ConfigError(f"{where} must be a number between 0 and 1, not {alpha!r}",
                          "1 (the default) keeps the tuned weights; 0.7 moves them 30 % of the way back to init_from's")
    return float(alpha)


def _full_layers(spec: ModelSpec, what: str) -> list[int]:
    adapter = parse_adapter(spec.adapter)
    if not isinstance(adapter, FullSettings):
        kind = (spec.adapter or {}).get("type", "none")
        raise ConfigError(f"{what} model {spec.name!r} has adapter type {kind!r}: interpolation needs fully "
                          f"fine-tuned layers on both sides", 'train with adapter = "full" (as the shipped models are)')
    return list(adapter.layers)


def interpolate_tensors(base: dict[str, torch.Tensor], base_tags: list[str], tuned: dict[str, torch.Tensor],
                        tuned_tags: list[str], alpha: float) -> dict[str, torch.Tensor]:
    """The tensors of ``base + alpha * (tuned - base)``: layer deltas (a layer one side lacks is a zero
    delta there), and the head rows of the tags both have; the tuned model's other rows unchanged.
    Each tensor keeps the tuned model's dtype."""
    alpha = check_alpha(alpha, "alpha")
    out: dict[str, torch.Tensor] = {}
    deltas = sorted({k for k in (*base, *tuned) if k.startswith(DELTA_PREFIX)})
    for key in deltas:
        t, b = tuned.get(key), base.get(key)
        ref = t if t is not None else b
        tf = t.float() if t is not None else torch.zeros_like(ref, dtype=torch.float32)
        bf = b.float() if b is not None else torch.zeros_like(ref, dtype=torch.float32)
        if tf.shape != bf.shape:
            raise ConfigError(f"{key}: the two models' deltas have shapes {tuple(bf.shape)} and {tuple(tf.shape)}",
                              "both models must be trained on the same encoder")
        out[key] = (bf + alpha * (tf - bf)).to(ref.dtype)
    weight, bias = tuned[_HEAD_WEIGHT].float().clone(), tuned[_HEAD_BIAS].float().clone()
    base_index = {tag: i for i, tag in enumerate(base_tags)}
    for i, tag in enumerate(tuned_tags):
        j = base_index.get(tag)
        if j is not None:
            weight[i] = base[_HEAD_WEIGHT][j].float() + alpha * (weight[i] - base[_HEAD_WEIGHT][j].float())
            bias[i] = base[_HEAD_BIAS][j].float() + alpha * (bias[i] - base[_HEAD_BIAS][j].float())
    out[_HEAD_WEIGHT] = weight.to(tuned[_HEAD_WEIGHT].dtype)
    out[_HEAD_BIAS] = bias.to(tuned[_HEAD_BIAS].dtype)
    for key, value in tuned.items():  # anything else the tuned model ships (none today) is kept
        out.setdefault(key, value)
    return out


def interpolate_ner(base: str | os.PathLike, tuned: str | os.PathLike, alpha: float,
                    output: str | os.PathLike, name: str | None = None) -> Path:
    """Write the NER model ``base + alpha * (tuned - base)`` to ``output`` (which may be ``tuned``
    itself: both models are read before anything is written) and return its directory.

    Both models must be NER models with fully fine-tuned layers on the same encoder and the same
    encoder depth, and ``tuned`` must have every label of ``base`` (a model tuned from it). The
    card is ``tuned``'s, with ``training.interpolation`` (base name and weights sha256, alpha).
    """
    from ..integrity import sha256_file

    alpha = check_alpha(alpha, "alpha")
    base_spec, base_file = read_model_dir(base)
    tuned_spec, tuned_file = read_model_dir(tuned)
    for spec, what in ((base_spec, "base"), (tuned_spec, "tuned")):
        if spec.task != "ner":
            raise ConfigError(f"{what} model {spec.name!r} is a {spec.task} model, not a NER model")
    if base_spec.encoder.get("sha256") != tuned_spec.encoder.get("sha256") or \
            base_spec.encoder_layers != tuned_spec.encoder_layers:
        raise ConfigError(f"{tuned_spec.name!r} and {base_spec.name!r} run different encoders",
                          "interpolate a model with the model it was tuned from (its init_from)")
    missing = [x for x in base_spec.labels if x not in tuned_spec.labels]
    if missing:
        raise ConfigError(f"{tuned_spec.name!r} lacks labels of {base_spec.name!r}: {', '.join(missing)}",
                          "interpolate a model with the model it was tuned from (its init_from)")
    layers = sorted(set(_full_layers(base_spec, "base")) | set(_full_layers(tuned_spec, "tuned")))
    base_tags = TagSet(base_spec.labels).tags
    tensors = interpolate_tensors(load_weights(base_file), base_tags, load_weights(tuned_file),
                                  TagSet(tuned_spec.labels).tags, alpha)
    card = tuned_spec.to_dict()
    card["adapter"] = {**card["adapter"], "layers": layers}
    card["name"] = name or card["name"]
    card.setdefault("training", {})["interpolation"] = {
        "base": base_spec.name, "base_sha256": sha256_file(base_file), "alpha": alpha}
    spec = ModelSpec.from_dict(card)
    out = write_model_dir(output, spec, tensors)
    log.info("interpolated %s towards %s: alpha %.2f, %d layer deltas and the head rows of %d shared tags -> %s",
             tuned_spec.name, base_spec.name, alpha, sum(k.startswith(DELTA_PREFIX) for k in tensors),
             len(base_tags), out)
    return out
