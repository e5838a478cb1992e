"""Packing token sequences into padded batches under a token budget.

Sequences (the engine's document windows, the aligners' sentences) are sorted by length so that
each batch holds sequences of similar size (little padding), and a batch holds as many as fit in
``token_budget`` *padded* tokens (``batch_size × longest sequence``) — long sequences go in
small batches, short ones in big batches, so memory per batch is bounded whatever the input.

:func:`pack_batches` plans the batches from lengths; :func:`padded_batches` also builds them:
each sequence framed by the encoder's special tokens (:func:`special_tokens_around`), padded to
the batch's longest row, with its attention mask and its index in the input.

>>> sizes = [5, 300, 7, 6, 120]
>>> [[sizes[i] for i in b] for b in pack_batches(sizes, token_budget=320, max_batch=64)]
[[5, 6, 7], [120], [300]]
>>> [b.indices for b in padded_batches([[7, 8, 9], [5]], pad_id=0, token_budget=64, before=[1], after=[2])]
[[1, 0]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PaddedBatch", "pack_batches", "padded_batches", "special_tokens_around"]


def pack_batches(lengths: Sequence[int], token_budget: int, max_batch: int = 256) -> list[list[int]]:
    """Group indices of ``lengths`` into batches with ``len(batch) * max_len <= token_budget``.

    Indices are taken in order of length (a stable sort: equal lengths keep their input order),
    and a batch closes when the next index would break the budget or ``max_batch``. A single
    sequence longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = lengths[i]
        new_longest = max(longest, n)
        if current and (new_longest * (len(current) + 1) > token_budget or len(current) >= max_batch):
            batches.append(current)
            current, new_longest = [], n
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True)
class PaddedBatch:
    """Rows ``indices`` of the input, ready for the encoder.

    ``input_ids`` / ``attention_mask``: ``(len(indices), longest row)`` int64 arrays; row ``r``
    is ``before + sequences[indices[r]] + after`` followed by padding, so the sequence's own
    tokens sit in columns ``offset : offset + len(sequences[indices[r]])``.

    >>> (b,) = padded_batches([[7, 8]], pad_id=0, token_budget=64, before=[1], after=[2])
    >>> b.input_ids.tolist(), b.attention_mask.tolist(), b.offset
    ([[1, 7, 8, 2]], [[1, 1, 1, 1]], 1)
    """

    indices: list[int]
    input_ids: np.ndarray
    attention_mask: np.ndarray
    offset: int


def padded_batches(
    sequences: Sequence[Sequence[int]],
    pad_id: int,
    *,
    token_budget: int,
    max_batch: int = 256,
    before: Sequence[int] = (),
    after: Sequence[int] = (),
) -> Iterator[PaddedBatch]:
    """Length-bucketed, dynamically padded batches of token-id ``sequences`` (:func:`pack_batches`
    on the framed lengths), shortest first; every input index is in exactly one batch.

    ``sequences`` may be lists or numpy arrays (the engine passes views of its documents'
    token ids: its windows); the batches are what the engine and the aligners feed to
    :meth:`Runtime.encode_with_heads <defnlp.inference.runtime.Runtime.encode_with_heads>`.

    >>> seqs = [[5, 5, 5, 5], [6], [7, 7]]
    >>> [(b.indices, b.input_ids.shape) for b in padded_batches(seqs, pad_id=0, token_budget=8, max_batch=4)]
    [([1, 2], (2, 2)), ([0], (1, 4))]
    """
    head, tail = list(before), list(after)
    offset, extra = len(head), len(head) + len(tail)
    for batch in pack_batches([len(s) + extra for s in sequences], token_budget, max_batch):
        width = max(len(sequences[i]) for i in batch) + extra
        ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        if head:
            ids[:, :offset] = head
        for row, i in enumerate(batch):
            n = len(sequences[i])
            ids[row, offset : offset + n] = sequences[i]  # a list or a numpy slice, never copied into a list
            if tail:
                ids[row, offset + n : n + extra] = tail
            mask[row, : n + extra] = 1
        yield PaddedBatch(batch, ids, mask, offset)


def special_tokens_around(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids ``tokenizer`` puts before and after a text (``<s>`` … ``</s>``).

    >>> from defnlp.encoders import load_encoder
    >>> tok = load_encoder("tiny-random-e5").tokenizer
    >>> special_tokens_around(tok) == ([tok.cls_token_id], [tok.sep_token_id])
    True
    """
    plain = tokenizer("x", add_special_tokens=False)["input_ids"]
    full = tokenizer("x", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            return list(full[:i]), list(full[i + len(plain) :])
    return [], []
