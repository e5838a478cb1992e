"""The NER model: the shared encoder (with LoRA adapters or fine-tuned layers) and a token-classification head.

At training time :class:`NerModel` wraps the peft-adapted (or partly unfrozen) encoder and the
head; on disk a trained model is only what training changed and the head
(``weights.safetensors`` in a model directory, see :mod:`defnlp.models`): LoRA adapters, or
the deltas of fully fine-tuned layers (:mod:`defnlp.encoders.adapters`). At inference
:func:`load_ner` merges them into the encoder and returns the head, so that the encoder pass
is shared with the other heads (and int8 quantises the merged encoder like any other).
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders import Encoder, encoder_skeleton, load_encoder, resolve_encoder, shorten_encoder
from ..encoders.adapters import DELTA_PREFIX, merge_adapter
from ..errors import ModelError
from ..inference.runtime import encoder_attention_mask
from ..models import ModelSpec, load_weights, read_model_dir
from ..tags import TagSet

__all__ = ["NerHead", "NerModel", "LoadedNer", "load_ner"]


class NerHead(nn.Module):
    """Dropout + linear projection from hidden states to IOB2 tag logits."""

    def __init__(self, hidden_size: int, num_tags: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden_size, num_tags)
        self.out_features = num_tags

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(hidden))


class NerModel(nn.Module):
    """Encoder + NER head, for training."""

    def __init__(self, encoder: nn.Module, head: NerHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The encoder's last hidden states ``(B, T, H)`` for a padded batch (the head's input)."""
        mask = encoder_attention_mask(self.encoder, attention_mask)
        return self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(input_ids, attention_mask))


def partial_label_loss(logits: torch.Tensor, allowed: torch.Tensor, unannotated_o_weight: float = 0.0) -> torch.Tensor:
    """Negative log of the probability mass on the allowed tags, averaged over labelled tokens.

    ``allowed`` is ``(B, T, K)`` bool; tokens with no allowed tag (sub-word continuations,
    special tokens, padding) do not count. With one allowed tag this is cross-entropy. Tokens
    that a partially annotated corpus marks ``O`` allow ``O`` and every unannotated label; on
    its own that lets the unannotated labels soak up all such tokens, so
    ``unannotated_o_weight`` adds that share of plain ``-log p(O)`` on them: a prior that an
    unannotated token is most likely outside any entity.
    """
    labelled = allowed.any(dim=-1)
    if not labelled.any():
        return logits.sum() * 0.0
    logits = logits[labelled].float()
    mask = allowed[labelled]
    log_z = torch.logsumexp(logits, dim=-1)
    log_allowed = torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=-1)
    loss = log_z - log_allowed
    if unannotated_o_weight > 0:
        partial = mask[:, 0] & (mask.sum(dim=-1) > 1)
        loss = loss + unannotated_o_weight * partial.float() * (log_z - logits[:, 0])
    return loss.mean()


class LoadedNer:
    """A trained NER model ready for inference: spec, tag set, merged encoder and head."""

    def __init__(self, spec: ModelSpec, encoder: Encoder, head: NerHead, path: str, weights_sha256: str) -> None:
        self.spec = spec
        self.encoder = encoder
        self.head = head
        self.tagset = TagSet(spec.labels)
        self.path = path
        self.weights_sha256 = weights_sha256


def load_ner(path: str, encoder: str | None = None, device: str | torch.device = "cpu") -> LoadedNer:
    """Load a NER model directory onto its base encoder (verified by sha256).

    Fails closed (:class:`ModelError`): besides :func:`~defnlp.models.read_model_dir` and
    :func:`~defnlp.models.load_weights`, the card's head settings must match its labels, the
    weights may hold only the adapter the card declares and the head, of the encoder's shapes.
    ``encoder`` overrides the card's encoder (a user's choice, resolved as given); the card's own
    reference is resolved in the model directory (:func:`~defnlp.encoders.card_encoder_dir`).
    """
    from ..integrity import sha256_file

    spec, weights_path = read_model_dir(path)
    if spec.task != "ner":
        raise ModelError(f"{path} is a {spec.task!r} model, not a NER model")
    tagset = TagSet(spec.labels)
    head_cfg = spec.head
    if head_cfg.get("type", "linear") != "linear" or ("tags" in head_cfg and head_cfg["tags"] != tagset.tags):
        raise ModelError(f"{path}: the card's head (type {head_cfg.get('type')!r}, "
                         f"tags {str(head_cfg.get('tags'))[:80]}) does not match its labels {spec.labels}",
                         "a NER head is 'linear' over the IOB2 tags of the labels; re-export the model")
    tensors = load_weights(weights_path)
    adapter = spec.adapter or {"type": "none"}
    allowed = ("ner.",) + {"full": (DELTA_PREFIX,), "lora": ("lora.",)}.get(adapter.get("type"), ())
    stray = sorted(k for k in tensors if not k.startswith(allowed))  # fail closed: the adapter and the head only
    if stray:
        raise ModelError(f"{path}: unexpected tensors for a model with adapter {adapter.get('type')!r}: {stray[:3]}",
                         "the weights file does not belong to this card")
    info = resolve_encoder(encoder) if encoder else resolve_encoder(spec.encoder["name"], model_dir=path)
    layers = spec.encoder_layers
    if layers is not None and info.num_layers and layers > info.num_layers:
        raise ModelError(f"{path}: the card runs {layers} encoder layers, encoder {info.name!r} has {info.num_layers}",
                         "the card does not belong to this encoder")
    skeleton = encoder_skeleton(info, layers)  # every check below runs before seconds are spent loading the encoder
    hidden = int(skeleton.config.hidden_size)
    for name, shape in (("ner.proj.weight", (len(tagset), hidden)), ("ner.proj.bias", (len(tagset),))):
        if name not in tensors:
            raise ModelError(f"{path}: NER head weights missing ({name})",
                             "the weights file does not belong to this card")
        if tuple(tensors[name].shape) != shape:  # copy_ would broadcast a smaller tensor silently
            raise ModelError(f"{path}: {name} has shape {tuple(tensors[name].shape)}, the card's {len(tagset)} tags "
                             f"and the encoder need {shape}", "the weights file does not belong to this card")
    try:
        merge_adapter(skeleton, tensors, adapter)  # a dry run on the meta device: the adapter fits, or nothing loads
    except ModelError as err:
        raise type(err)(f"{path}: {err.message}", err.hint) from err
    if encoder:
        enc = load_encoder(encoder, expected_sha256=spec.encoder["sha256"])
    else:
        enc = load_encoder(spec.encoder["name"], expected_sha256=spec.encoder["sha256"], model_dir=path)
    if layers is not None:
        enc = shorten_encoder(enc, layers)
    try:
        merge_adapter(enc.model, tensors, adapter)
    except ModelError as err:
        raise type(err)(f"{path}: {err.message}", err.hint) from err
    head = NerHead(int(enc.model.config.hidden_size), len(tagset), dropout=0.0)
    try:
        head.proj.weight.data.copy_(tensors["ner.proj.weight"])
        head.proj.bias.data.copy_(tensors["ner.proj.bias"])
    except RuntimeError as err:
        raise ModelError(f"{path}: NER head weights of the wrong shape ({err})") from err
    head.eval()
    enc.model.to(device)
    head.to(device)
    return LoadedNer(spec, enc, head, str(path), sha256_file(weights_path))


def head_tensors(head: NerHead) -> dict[str, torch.Tensor]:
    return {"ner.proj.weight": head.proj.weight, "ner.proj.bias": head.proj.bias}
