"""Packing token sequences into padded batches under a token budget.

Sequences (the engine's document windows, the aligners' sentences) are sorted by length so that
each batch holds sequences of similar size (little padding), and a batch holds as many as fit in
``token_budget`` *padded* tokens (``batch_size × longest sequence``) — long sequences go in
small batches, short ones in big batches, so memory per batch is bounded whatever the input.

:func:`pack_batches` plans the batches from lengths; :func:`padded_batches` also builds them:
each sequence framed by the encoder's special tokens (:func:`special_tokens_around`), padded to
the batch's longest row, with its attention mask and its index in the input.

**Batches that do not change a sequence's numbers** (``same_length=True``, what the engine
uses): a window's encoder output must not depend, bit for bit, on the other documents that
happen to share its batch — else a document's scores move with its neighbours, and a resumed
run (other neighbours) is not byte-identical to an uninterrupted one. Padding a row to a wider
batch changes its float sums (the attention kernels sum over the padded length in other
blocks: up to 3e-6 in fp32 and 1e-2 in bf16 in the hidden states of an encoder of
multilingual-e5-small's sizes). Batch *size* does not, where rows have one length, measured for
the default precision of each device:

* CPU, fp32 (torch 2.13, AMD EPYC, 1 and 2 threads): rows of 9 to 256 tokens, alone or among
  1 to 12 rows, bit-identical — except that the fp32 matrix kernels take other code paths for
  tiny products (1-3 rows × tokens with 1 thread; 1-11, save 4 and 8, with 2): a batch of fewer
  than :data:`MIN_BATCH_TOKENS` tokens therefore has its rows repeated up to that size;
* GPU, bf16 and fp16 autocast (torch 2.11, H200): rows of 9 to 256 tokens alone or among 2 to
  512 rows, bit-identical.

So :func:`exact_length_batches` puts only sequences of exactly one length in a batch (no
padding, ever). Not covered: int8 (one activation scale per batch, by design: a row moves
with its neighbours by ~5e-2 in the hidden states, so the engine gives int8 ordinary padded
batches, which are faster: :attr:`Runtime.exact_length_batches
<defnlp.inference.runtime.Runtime.exact_length_batches>`), bf16 on CPU (a speed precision like
int8: padded batches there, 1.36x faster with AMX tiles), and fp32 on GPU (cuBLAS picks kernels
by batch size: ~2e-6).

>>> sizes = [5, 300, 7, 6, 120]
>>> [[sizes[i] for i in b] for b in pack_batches(sizes, token_budget=320, max_batch=64)]
[[5, 6, 7], [120], [300]]
>>> [b.indices for b in padded_batches([[7, 8, 9], [5]], pad_id=0, token_budget=64, before=[1], after=[2])]
[[1, 0]]
>>> exact_length_batches([5, 300, 7, 5, 120, 5], token_budget=640)
[[0, 3, 5], [2], [4], [1]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MIN_BATCH_TOKENS", "PaddedBatch", "exact_length_batches", "pack_batches", "padded_batches",
           "special_tokens_around"]

#: a ``same_length`` batch holds at least this many tokens (rows × width): a smaller one has its
#: rows repeated. Measured with torch 2.13 on an AMD EPYC: fp32 linear layers of
#: multilingual-e5-small's sizes give other bits for 1-3 rows (1 thread) and 1-11 rows other
#: than 4 and 8 (2 threads) than for 12 rows and more.
MIN_BATCH_TOKENS = 64


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
    tokens sit in columns ``offset : offset + len(sequences[indices[r]])``. (A small batch of
    ``same_length`` batch has more rows: copies of the first ones, see :func:`padded_batches`.)

    >>> (b,) = padded_batches([[7, 8]], pad_id=0, token_budget=64, before=[1], after=[2])
    >>> b.input_ids.tolist(), b.attention_mask.tolist(), b.offset
    ([[1, 7, 8, 2]], [[1, 1, 1, 1]], 1)
    """

    indices: list[int]
    input_ids: np.ndarray
    attention_mask: np.ndarray
    offset: int


def exact_length_batches(lengths: Sequence[int], token_budget: int, max_batch: int = 256) -> list[list[int]]:
    """Batches of the indices of ``lengths``, each of one length only: sequences grouped by
    exact length, in input order, at most ``token_budget // length`` (and ``max_batch``) to a
    batch, shortest lengths first. Every index is in exactly one batch; no batch needs padding,
    so a sequence's numbers do not depend on the others in its batch (see the module's
    introduction).

    >>> exact_length_batches([9, 9, 9, 4], token_budget=18)
    [[3], [0, 1], [2]]
    """
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    batches: list[list[int]] = []
    for n in sorted(by_length):
        group, size = by_length[n], max(1, min(max_batch, token_budget // max(n, 1)))
        batches += [group[k : k + size] for k in range(0, len(group), size)]
    return batches


def padded_batches(
    sequences: Sequence[Sequence[int]],
    pad_id: int,
    *,
    token_budget: int,
    max_batch: int = 256,
    before: Sequence[int] = (),
    after: Sequence[int] = (),
    same_length: bool = False,
) -> Iterator[PaddedBatch]:
    """Length-bucketed, dynamically padded batches of token-id ``sequences`` (:func:`pack_batches`
    on the framed lengths), shortest first; every input index is in exactly one batch.

    ``sequences`` may be lists or numpy arrays (the engine passes views of its documents'
    token ids: its windows); the batches are what the engine and the aligners feed to
    :meth:`Runtime.encode_with_heads <defnlp.inference.runtime.Runtime.encode_with_heads>`.

    With ``same_length`` the batches are :func:`exact_length_batches` instead (no padding), so
    that no sequence's numbers depend on the others: a batch of fewer than
    :data:`MIN_BATCH_TOKENS` tokens then has its rows repeated (``input_ids`` has more rows
    than ``indices``; the rows after ``len(indices)`` are copies, to be ignored).

    >>> seqs = [[5, 5, 5, 5], [6], [7, 7]]
    >>> [(b.indices, b.input_ids.shape) for b in padded_batches(seqs, pad_id=0, token_budget=8, max_batch=4)]
    [([1, 2], (2, 2)), ([0], (1, 4))]
    >>> [(b.indices, b.input_ids.shape) for b in padded_batches(seqs, pad_id=0, token_budget=8, same_length=True)]
    [([1], (64, 1)), ([2], (32, 2)), ([0], (16, 4))]
    """
    head, tail = list(before), list(after)
    offset, extra = len(head), len(head) + len(tail)
    framed = [len(s) + extra for s in sequences]
    plan = exact_length_batches(framed, token_budget, max_batch) if same_length else \
        pack_batches(framed, token_budget, max_batch)
    for batch in plan:
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
        if same_length and ids.size < MIN_BATCH_TOKENS:  # the kernels' general path (see above)
            rows = -(-MIN_BATCH_TOKENS // width)
            ids, mask = np.resize(ids, (rows, width)), np.resize(mask, (rows, width))
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
