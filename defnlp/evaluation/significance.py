"""Is one NER model better than another on a set, beyond the luck of its documents? A paired bootstrap.

Two models' predictions on the same gold documents are scored document by document (true
positives, predicted and gold entities: the strict entity match of :func:`defnlp.evaluation.evaluate_ner`);
the documents are then drawn with replacement ``samples`` times, and each draw's micro-F1
difference is computed from the summed counts of both models on the *same* draw. The 2.5th and
97.5th percentiles of those differences bound the difference a new sample of documents like
these would show (Koehn, 2004; Berg-Kirkpatrick et al., 2012). Documents, not entities, are
resampled: the entities of one document share its register and its annotator's habits.

>>> from defnlp.doc import Doc
>>> gold = [Doc("Thales livre Brest."), Doc("Airbus livre Paris.")]
>>> for d in gold: _ = d.add_entity(0, 6, "ORG"); _ = d.add_entity(13, 18, "LOC")
>>> a = [d.copy() for d in gold]                    # both documents right
>>> b = [gold[0].copy(), gold[1].copy(annotations=False)]  # misses the second document's entities
>>> result = paired_bootstrap(gold, a, b, samples=200)
>>> round(result.delta, 1), result.low >= 0.0
(33.3, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from ..doc import Doc
from .ner import word_tag_pairs

__all__ = ["BootstrapResult", "doc_entity_counts", "paired_bootstrap"]


@dataclass(frozen=True)
class BootstrapResult:
    """F1 of ``a`` minus F1 of ``b`` (points, 0-100) on the set, its 95 % interval over document
    resamples, the share of resamples where ``a`` is not better (``p_not_better``), and the two
    models' F1 on the whole set (``f1_a``, ``f1_b``: :func:`defnlp.evaluation.evaluate_ner`'s micro-F1)."""

    delta: float
    low: float
    high: float
    p_not_better: float
    samples: int
    docs: int
    f1_a: float = 0.0
    f1_b: float = 0.0

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return f"{self.delta:+.1f} [{self.low:+.1f}, {self.high:+.1f}]"


def doc_entity_counts(gold: Sequence[Doc], pred: Sequence[Doc], labels: Iterable[str] | None = None) -> np.ndarray:
    """Per document: (exactly matched entities, predicted entities, gold entities), an int array of shape (n, 3).

    Summed over the documents, they give the micro P/R/F1 of :func:`defnlp.evaluation.evaluate_ner`.
    """
    from seqeval.scheme import IOB2, Entities

    y_true, y_pred = word_tag_pairs(gold, pred, set(labels) if labels is not None else None)
    true = Entities(y_true, IOB2).entities
    predicted = Entities(y_pred, IOB2).entities
    counts = np.zeros((len(gold), 3), dtype=np.int64)
    for i, (t, p) in enumerate(zip(true, predicted)):
        t_set = {e.to_tuple()[1:] for e in t}
        p_set = {e.to_tuple()[1:] for e in p}
        counts[i] = (len(t_set & p_set), len(p_set), len(t_set))
    return counts


def _f1(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 (0-100) of summed (tp, pred, gold) counts on the last axis; 0 where nothing was predicted or expected."""
    tp, n_pred, n_gold = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = n_pred + n_gold
    return np.where(denominator > 0, 200.0 * tp / np.maximum(denominator, 1), 0.0)


def paired_bootstrap(gold: Sequence[Doc], pred_a: Sequence[Doc], pred_b: Sequence[Doc], labels: Iterable[str] | None = None,
                     samples: int = 2000, seed: int = 0) -> BootstrapResult:
    """The F1 difference of ``pred_a`` over ``pred_b`` on ``gold``, with its 95 % paired-bootstrap interval.

    ``labels`` restricts the scoring as in :func:`defnlp.evaluation.evaluate_ner`; ``seed`` makes
    the resamples reproducible. See the module docstring for the method.
    """
    labels = list(labels) if labels is not None else None
    counts_a = doc_entity_counts(gold, pred_a, labels)
    counts_b = doc_entity_counts(gold, pred_b, labels)
    f1_a, f1_b = float(_f1(counts_a.sum(0))), float(_f1(counts_b.sum(0)))
    delta = f1_a - f1_b
    n = len(gold)
    if n == 0:
        return BootstrapResult(0.0, 0.0, 0.0, 1.0, samples, 0)
    draws = np.random.default_rng(seed).integers(0, n, size=(samples, n))
    deltas = _f1(counts_a[draws].sum(1)) - _f1(counts_b[draws].sum(1))
    low, high = np.percentile(deltas, [2.5, 97.5])
    return BootstrapResult(delta, float(low), float(high), float(np.mean(deltas <= 0)), samples, n, f1_a, f1_b)
