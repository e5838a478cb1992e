"""AER, sentence-alignment F1 and retrieval P@1."""

import numpy as np
import pytest

from defnlp.align.metrics import aer, alignment_prf, retrieval_p_at_1, sentence_alignment_f1


def test_aer_of_a_perfect_alignment_is_zero_and_possible_links_are_not_required():
    sure = [{(0, 0), (1, 1)}]
    possible = [{(0, 0), (1, 1), (2, 1)}]
    assert aer([{(0, 0), (1, 1)}], sure, possible) == 0.0
    assert aer([{(0, 0), (1, 1), (2, 1)}], sure, possible) == 0.0


def test_aer_counts_wrong_and_missing_links():
    # A = {(0,0),(1,0)}, S = {(0,0),(1,1)}, P = S: 1 - (1 + 1) / (2 + 2) = 50 %
    result = alignment_prf([{(0, 0), (1, 0)}], [{(0, 0), (1, 1)}], [{(0, 0), (1, 1)}])
    assert result == {"precision": 50.0, "recall": 50.0, "aer": 50.0}


def test_sentence_f1_strict_and_lax():
    gold = [[((0,), (0,)), ((1, 2), (1,)), ((3,), ())]]
    pred = [[((0,), (0,)), ((1,), (1,)), ((2,), ()), ((3,), ())]]
    r = sentence_alignment_f1(pred, gold)
    assert r["strict"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}  # null links are ignored
    assert r["lax"]["precision"] == 1.0 and r["lax"]["recall"] == 1.0


def test_sentence_f1_of_nothing_is_zero():
    r = sentence_alignment_f1([[]], [[((0,), (0,))]])
    assert r["strict"]["f1"] == 0.0 and r["lax"]["recall"] == 0.0


def test_retrieval_p_at_1_both_directions():
    src = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    tgt = np.array([[1.0, 0.1], [1.0, 0.0], [0.6, 0.8]])
    p = retrieval_p_at_1(src, tgt)
    assert p["src_to_tgt"] == pytest.approx(100 / 3, abs=0.01)
    assert 0 <= p["tgt_to_src"] <= 100
