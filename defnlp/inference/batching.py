"""Packing windows of many documents into padded batches under a token budget.

Windows are sorted by length so that each batch holds windows of similar size (little
padding), and a batch holds as many windows as fit in ``token_budget`` *padded* tokens
(``batch_size × longest window``) — long windows go in small batches, short ones in big
batches, so memory per batch is bounded whatever the input.

>>> sizes = [5, 300, 7, 6, 120]
>>> [[sizes[i] for i in b] for b in pack_batches(sizes, token_budget=320, max_batch=64)]
[[5, 6, 7], [120], [300]]
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["pack_batches"]


def pack_batches(lengths: Sequence[int], token_budget: int, max_batch: int = 256) -> list[list[int]]:
    """Group indices of ``lengths`` into batches with ``len(batch) * max_len <= token_budget``.

    A single window longer than the budget still gets a batch of its own.
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
