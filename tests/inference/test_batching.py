"""Length-bucketed, dynamically padded batches (defnlp.inference.batching)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.inference.batching import pack_batches, padded_batches, special_tokens_around


def test_pack_batches_with_an_unbounded_budget_is_fixed_size_length_sorted_batching():
    lengths = [5, 3, 3, 9, 1, 3]
    assert pack_batches(lengths, token_budget=10**9, max_batch=2) == [[4, 1], [2, 5], [0, 3]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(3, 99), min_size=0, max_size=12), max_size=30),
       st.integers(1, 64), st.integers(1, 8))
def test_padded_batches_cover_every_sequence_once_framed_and_padded(seqs, budget, max_batch):
    before, after, pad = [1], [2], 0
    seen = []
    for b in padded_batches(seqs, pad, token_budget=budget, max_batch=max_batch, before=before, after=after):
        assert 1 <= len(b.indices) <= max_batch and b.offset == 1
        assert b.input_ids.shape == b.attention_mask.shape == (len(b.indices), max(len(seqs[i]) for i in b.indices) + 2)
        if len(b.indices) > 1:
            assert b.input_ids.size <= budget
        for row, i in enumerate(b.indices):
            n = len(seqs[i]) + 2
            assert b.input_ids[row, :n].tolist() == before + seqs[i] + after
            assert b.attention_mask[row].tolist() == [1] * n + [0] * (b.input_ids.shape[1] - n)
            assert (b.input_ids[row, n:] == pad).all()
        seen += b.indices
    assert sorted(seen) == list(range(len(seqs)))
    assert [len(seqs[i]) for i in seen] == sorted(len(s) for s in seqs)  # shortest first
    # numpy sequences (the engine's windows are views of its token ids) give the same batches
    arrays = [np.asarray(s, dtype=np.int64) for s in seqs]
    kw = dict(token_budget=budget, max_batch=max_batch, before=before, after=after)
    for a, b in zip(padded_batches(seqs, pad, **kw), padded_batches(arrays, pad, **kw), strict=True):
        assert a.indices == b.indices and np.array_equal(a.input_ids, b.input_ids)
        assert np.array_equal(a.attention_mask, b.attention_mask)


def test_special_tokens_around_an_e5_text():
    from defnlp.encoders import load_encoder

    tok = load_encoder("tiny-random-e5").tokenizer
    before, after = special_tokens_around(tok)
    assert before + tok("Brest", add_special_tokens=False)["input_ids"] + after == tok("Brest")["input_ids"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 300), max_size=200), st.integers(1, 4096), st.integers(1, 16))
def test_exact_length_batches_hold_one_length_each_under_the_budget(lengths, budget, max_batch):
    from defnlp.inference.batching import exact_length_batches

    batches = exact_length_batches(lengths, budget, max_batch)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len({lengths[i] for i in b}) == 1 and b == sorted(b)  # one length, input order
        assert len(b) == 1 or (len(b) <= max_batch and len(b) * lengths[b[0]] <= budget)
    # a batch closes only when full: as few batches as one length per batch allows
    assert len(batches) == sum(-(-lengths.count(n) // max(1, min(max_batch, budget // n))) for n in set(lengths))


def test_same_length_batches_are_never_padded_and_small_ones_repeat_their_rows():
    from defnlp.inference.batching import MIN_BATCH_TOKENS

    seqs = [[5] * 30, [6], [7] * 30, [8] * 200, [9] * 5]
    got = list(padded_batches(seqs, 0, token_budget=4096, before=[1], after=[2], same_length=True))
    assert [b.indices for b in got] == [[1], [4], [0, 2], [3]]
    for b in got:
        assert b.attention_mask.all()
        n = len(b.indices)
        rows = b.input_ids.shape[0]
        assert rows == max(n, -(-MIN_BATCH_TOKENS // b.input_ids.shape[1]))
        for r in range(rows):
            assert b.input_ids[r].tolist() == [1] + seqs[b.indices[r % n]] + [2]
