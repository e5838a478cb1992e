"""Knowledge distillation for NER training: a teacher model's tag distribution as a second target.

A NER run with a ``[distill]`` table learns, besides the gold tags, the distribution over tags
that another NER model — the *teacher*, typically a larger model with the same labels, such as
the 12-layer ``defence-v2-ner`` for a student on the first 6 layers of the encoder
(``encoder_layers = 6``) — gives every token of the training windows (Hinton et al., 2015,
"Distilling the knowledge in a neural network"). The term is KL(teacher ‖ student) over the
teacher's tags at ``temperature`` (both distributions softened alike), scaled by temperature²
so that its gradients keep their size, weighted by ``weight``, averaged over the labelled tokens
and added to the partial-label loss. Where a source annotates only some labels (WiNER-fr: PER,
ORG, LOC, DATE), the teacher still says what the other labels would be.

The teacher's logits are computed once, before the first step, with the run's precision, and
kept in memory (100 bytes per training token for the 25 tags of the defence-v1 scheme: ~190 MB
for the shipped recipe's 1.85 million). The teacher must
read the same token ids as the student (the same tokenizer); its tags are matched to the
student's by name, and the student's tags that the teacher lacks take no part in the term.

Rehearsal's distillation (``rehearsal.distill``: the starting model as its own teacher, over
its own tags, so that a fine-tuned model keeps what it knew) is the same term with temperature 1:
:func:`kl_to_teacher` computes both.

>>> DistillSettings(model="defence-v2-ner", weight=0.5, temperature=2.0).active
True
>>> DistillSettings().active
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..errors import ConfigError

__all__ = ["DistillSettings", "teacher_logits", "kl_to_teacher"]


@dataclass
class DistillSettings:
    """The ``[distill]`` table of a NER training config.

    ``model``: the teacher, a NER model name (``defence-v2-ner``) or directory; empty = off.
    ``weight``: weight of the distillation term beside the partial-label loss.
    ``temperature``: softening of both distributions (1 = as they are; 2 is common).
    """

    model: str = ""
    weight: float = 1.0
    temperature: float = 1.0

    @property
    def active(self) -> bool:
        return bool(self.model)

    def validate(self) -> None:
        for name in ("weight", "temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"distill.{name} must be a finite number > 0, not {value!r}",
                                  "leave distill.model empty to turn distillation off")


@torch.no_grad()
def teacher_logits(logits_of: Callable[[list[int]], torch.Tensor], lengths: Sequence[int], batch_tokens: int,
                   tags: torch.Tensor) -> list[torch.Tensor]:
    """The teacher's logits over ``tags`` (indices into its tag set) for every window (fp32).

    ``logits_of(batch)`` runs the teacher on the windows ``batch`` (a list of indices) and
    returns ``(B, T, K)`` logits; windows are packed into batches of about ``batch_tokens``
    tokens. Row ``i`` of the result has ``lengths[i]`` tokens.
    """
    from tqdm.auto import tqdm

    from ..inference.batching import pack_batches

    out: list[torch.Tensor | None] = [None] * len(lengths)
    batches = pack_batches(list(lengths), batch_tokens)
    for batch in tqdm(batches, total=len(batches), desc="teacher logits", unit="batch", leave=False, disable=None):
        logits = logits_of(batch).float()[..., tags]
        for r, i in enumerate(batch):
            out[i] = logits[r, : lengths[i]].clone()
    return out  # type: ignore[return-value]


def kl_to_teacher(logits: torch.Tensor, teacher: Sequence[torch.Tensor], batch: Sequence[int], tags: torch.Tensor,
                  labelled: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher ‖ student) over ``tags``, averaged over the ``labelled`` tokens, times temperature².

    ``logits``: the student's ``(B, T, K)`` logits for the windows ``batch``; ``teacher``: the
    teacher's logits of every window (:func:`teacher_logits`), already restricted to the tags
    that ``tags`` (indices into the student's tag set) name, in the same order; the student's
    distribution is renormalised over those tags, so tags the teacher lacks take mass freely.

    >>> t = [torch.tensor([[2.0, 0.0], [0.0, 2.0]])]
    >>> same = torch.tensor([[[2.0, 0.0, 5.0], [0.0, 2.0, 5.0]]])   # a third tag the teacher lacks
    >>> float(kl_to_teacher(same, t, [0], torch.tensor([0, 1]), torch.ones(1, 2, dtype=torch.bool)))
    0.0
    """
    if not labelled.any():
        return logits.sum() * 0.0
    target = torch.zeros(logits.shape[0], logits.shape[1], len(tags))
    for r, i in enumerate(batch):
        target[r, : teacher[i].shape[0]] = teacher[i]
    t = (target[labelled] / temperature).log_softmax(-1)
    s = (logits.float()[..., tags][labelled] / temperature).log_softmax(-1)
    return (t.exp() * (t - s)).sum(-1).mean() * temperature ** 2
