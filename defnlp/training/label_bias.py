"""A decision bias for the labels a fine-tuning run adds, fitted on dev.

A new label learned from a few dozen mentions is under-predicted: few training windows hold it,
rehearsal adds many more without it, and the tuned head keeps a prior against it (high
precision, low recall; docs/fine-tuning.md). Adding a constant ``bias`` to the log-probabilities
of the new labels' tags (``B-X``, ``I-X``) moves that decision threshold without retraining —
a prior correction for the label's share in the training windows. The ``bias`` of
:data:`GRID` with the best dev score is kept (ties: the smallest in absolute value), and the
saved head carries it in its bias vector, so that the shipped model decodes exactly as the
fitted one (``new_label_bias = true`` in a NER training config, :mod:`defnlp.training.ner`).

>>> import numpy as np
>>> from defnlp.tags import TagSet
>>> tags = TagSet(["ORG", "EVENT"])                         # O, B-ORG, I-ORG, B-EVENT, I-EVENT
>>> bias_columns(tags, ["EVENT"]).tolist()
[3, 4]
>>> lp = np.log(np.array([[0.6, 0.1, 0.1, 0.15, 0.05]]))
>>> int(shift(lp, bias_columns(tags, ["EVENT"]), 2.0).argmax())   # B-EVENT now beats O
3
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..tags import TagSet

__all__ = ["GRID", "bias_columns", "shift", "fit_label_bias"]

#: the biases tried, in log-probability units (a bias of 1 multiplies the odds of the label by e)
GRID: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def bias_columns(tagset: TagSet, labels: Sequence[str]) -> np.ndarray:
    """Indices of the tags of ``tagset`` whose entity label is one of ``labels``."""
    wanted = set(labels)
    return np.asarray([i for i, tag in enumerate(tagset.tags) if tag != "O" and tag.split("-", 1)[1] in wanted],
                      dtype=np.int64)


def shift(log_probs: np.ndarray, columns: np.ndarray, bias: float) -> np.ndarray:
    """``log_probs`` ``(n, n_tags)`` with ``bias`` added to ``columns``, renormalised per row."""
    if bias == 0 or columns.size == 0:
        return log_probs
    out = np.array(log_probs, dtype=np.float64)
    out[:, columns] += bias
    out -= np.logaddexp.reduce(out, axis=1, keepdims=True)
    return out


def fit_label_bias(score: Callable[[float], float], grid: Sequence[float] = GRID) -> tuple[float, dict]:
    """The bias of ``grid`` that maximises ``score(bias)`` (ties: the smallest ``|bias|``), and a
    record of every score for the model card.

    >>> fit_label_bias(lambda b: -(b - 1.2) ** 2, grid=(0.0, 1.0, 2.0))
    (1.0, {'grid': [0.0, 1.0, 2.0], 'scores': [-1.44, -0.04, -0.64], 'bias': 1.0})
    """
    scores = [float(score(b)) for b in grid]
    best = max(range(len(grid)), key=lambda i: (round(scores[i], 9), -abs(grid[i])))
    return float(grid[best]), {"grid": [float(b) for b in grid], "scores": [round(s, 4) for s in scores],
                               "bias": float(grid[best])}
