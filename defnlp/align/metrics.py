"""Evaluation measures for alignment: AER, strict/lax sentence-alignment F1, retrieval P@1.

>>> aer([{(0, 0), (1, 2)}], sure=[{(0, 0)}], possible=[{(0, 0), (1, 1)}])
33.33
>>> r = sentence_alignment_f1([[((0,), (0,)), ((1,), (1, 2))]], [[((0,), (0,)), ((1,), (1,)), ((), (2,))]])
>>> r["strict"]["f1"], r["lax"]["f1"]
(0.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["aer", "alignment_prf", "retrieval_p_at_1", "sentence_alignment_f1"]

Links = set[tuple[int, int]]
SentenceLinks = Sequence[tuple[Sequence[int], Sequence[int]]]


def alignment_prf(predicted: Iterable[Links], sure: Iterable[Links], possible: Iterable[Links]) -> dict[str, float]:
    """Precision (against possible links), recall (against sure links) and AER, in percent.

    AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)  (Och & Ney 2003); ``possible`` includes ``sure``.
    """
    n_pred = n_sure = hit_sure = hit_possible = 0
    for a, s, p in zip(predicted, sure, possible):
        a, s, p = set(a), set(s), set(p) | set(s)
        n_pred += len(a)
        n_sure += len(s)
        hit_sure += len(a & s)
        hit_possible += len(a & p)
    precision = hit_possible / n_pred if n_pred else 0.0
    recall = hit_sure / n_sure if n_sure else 0.0
    error = 1 - (hit_sure + hit_possible) / (n_pred + n_sure) if n_pred + n_sure else 0.0
    return {"precision": round(100 * precision, 2), "recall": round(100 * recall, 2), "aer": round(100 * error, 2)}


def aer(predicted: Iterable[Links], sure: Iterable[Links], possible: Iterable[Links]) -> float:
    """Alignment error rate in percent (lower is better)."""
    return alignment_prf(predicted, sure, possible)["aer"]


def _prf(correct_pred: int, n_pred: int, correct_gold: int, n_gold: int) -> dict[str, float]:
    p = float(correct_pred) / n_pred if n_pred else 0.0
    r = float(correct_gold) / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def sentence_alignment_f1(predicted: Iterable[SentenceLinks], gold: Iterable[SentenceLinks]) -> dict[str, dict[str, float]]:
    """Strict and lax precision / recall / F1 of sentence links over one or more documents.

    Links are ``(source ids, target ids)``; links with an empty side (1-0, 0-1) are ignored, as
    in the vecalign/bertalign evaluations. *Strict*: a link counts if it is exactly a gold link.
    *Lax*: a predicted link counts if it shares a source and a target sentence with one gold
    link; a gold link is found if it shares a source and a target sentence with one predicted
    link (precision and recall relaxed symmetrically).
    """
    counts = [0, 0, 0, 0, 0]  # strict hits, lax predicted hits, lax gold hits, n predicted, n gold
    for pred_doc, gold_doc in zip(predicted, gold):
        pred = {(tuple(s), tuple(t)) for s, t in pred_doc if len(s) and len(t)}
        ref = {(tuple(s), tuple(t)) for s, t in gold_doc if len(s) and len(t)}
        counts[0] += len(pred & ref)
        counts[1] += sum(_overlaps(link, ref) for link in pred)
        counts[2] += sum(_overlaps(link, pred) for link in ref)
        counts[3] += len(pred)
        counts[4] += len(ref)
    return {
        "strict": _prf(counts[0], counts[3], counts[0], counts[4]),
        "lax": _prf(counts[1], counts[3], counts[2], counts[4]),
        "predicted": int(counts[3]),
        "gold": int(counts[4]),
    }


def _overlaps(link: tuple[tuple[int, ...], tuple[int, ...]], others: set[tuple[tuple[int, ...], tuple[int, ...]]]) -> bool:
    src, tgt = set(link[0]), set(link[1])
    return any(src & set(s) and tgt & set(t) for s, t in others)


def retrieval_p_at_1(src_vectors: np.ndarray, tgt_vectors: np.ndarray) -> dict[str, float]:
    """Bitext retrieval: row ``i`` of each side is the translation of row ``i`` of the other.

    Returns P@1 (percent) of finding the translation by cosine nearest neighbour, both ways.

    >>> v = np.eye(3)
    >>> retrieval_p_at_1(v, v)
    {'src_to_tgt': 100.0, 'tgt_to_src': 100.0}
    """
    a = src_vectors / np.maximum(np.linalg.norm(src_vectors, axis=1, keepdims=True), 1e-9)
    b = tgt_vectors / np.maximum(np.linalg.norm(tgt_vectors, axis=1, keepdims=True), 1e-9)
    sim = a @ b.T
    truth = np.arange(len(a))
    return {
        "src_to_tgt": round(100 * float((sim.argmax(1) == truth).mean()), 2),
        "tgt_to_src": round(100 * float((sim.argmax(0) == truth).mean()), 2),
    }
