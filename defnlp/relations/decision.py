"""From a pair's label probabilities to a relation and its score: calibration and thresholds.

The relation head gives, for a candidate pair, a probability per label (and NONE). A
:class:`Decision` turns that into at most one relation: the most probable label other than
NONE, its probability ``p`` (for a symmetric label, the mean of both directions) mapped to a
calibrated score ``sigmoid(scale · logit(p) + shift + label_shift[label])`` — the probability
that the relation is right, as measured end to end on dev (predicted entities: a wrong
entity boundary makes the relation wrong too) — kept when the score reaches the label's
threshold. :func:`fit_decision` fits the calibration (logistic regression on dev candidates)
and then picks each label's threshold for F1 on the same candidates.

An uncalibrated decision (the defaults) keeps ``p`` as the score and one threshold for every
label: with threshold 0.5 this is the argmax rule of models trained before calibration.

Acronym/alias links (:func:`~defnlp.relations.aliases.link_aliases`, SAME_AS by rule, not by the
head) get ``alias_score``: their precision measured end to end on dev (:func:`alias_precision`;
0.95 in cards written before it was measured), and are kept only where that reaches the SAME_AS
threshold.

>>> d = Decision(threshold=0.5, thresholds={"ACQUIRES": 0.3}, scale=2.0, shift=-1.0)
>>> round(d.score("ACQUIRES", 0.5), 3), d.threshold_for("ACQUIRES"), d.threshold_for("SIGNS")
(0.269, 0.3, 0.5)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ModelError

log = logging.getLogger(__name__)

__all__ = ["Decision", "DevPair", "fit_decision", "decision_from_card", "alias_precision", "MIN_PROBABILITY"]

#: the score of acronym/alias links in cards that do not record a measured one
DEFAULT_ALIAS_SCORE = 0.95

#: pairs whose best label has a lower head probability are never output (nor calibrated on)
MIN_PROBABILITY = 0.02


@dataclass(frozen=True)
class Decision:
    """Calibration and per-label thresholds of a relation model (card: ``head.decision``)."""

    threshold: float = 0.5  # for labels without their own
    thresholds: Mapping[str, float] = field(default_factory=dict)
    scale: float = 1.0
    shift: float = 0.0
    label_shift: Mapping[str, float] = field(default_factory=dict)
    alias_score: float = DEFAULT_ALIAS_SCORE  # acronym/alias links: measured dev precision
    #: whether training let the acronym/alias links through (None in cards written before: the threshold alone decides)
    alias_links: bool | None = None

    @property
    def keeps_aliases(self) -> bool:
        """Whether acronym/alias links are output: training did not turn them off (``alias_links``) and
        they pass the SAME_AS threshold at their measured precision."""
        return self.alias_links is not False and self.alias_score >= self.threshold_for("SAME_AS")

    @property
    def calibrated(self) -> bool:
        return self.scale != 1.0 or self.shift != 0.0 or any(self.label_shift.values())

    def score(self, label: str, p: float) -> float:
        """The calibrated score of a relation whose head probability is ``p``."""
        if not self.calibrated:
            return float(p)
        q = min(max(float(p), 1e-6), 1 - 1e-6)
        z = self.scale * math.log(q / (1 - q)) + self.shift + self.label_shift.get(label, 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def threshold_for(self, label: str) -> float:
        return float(self.thresholds.get(label, self.threshold))

    @property
    def min_probability(self) -> float:
        """Below this head probability no label can pass (the lowest threshold, uncalibrated)."""
        if not self.calibrated:
            return max(MIN_PROBABILITY, min([self.threshold, *self.thresholds.values()]))
        return MIN_PROBABILITY

    def to_dict(self) -> dict[str, Any]:
        out = {"threshold": self.threshold, "thresholds": dict(self.thresholds), "scale": self.scale,
               "shift": self.shift, "label_shift": dict(self.label_shift), "alias_score": self.alias_score}
        if self.alias_links is not None:
            out["alias_links"] = self.alias_links
        return out


@dataclass(frozen=True)
class DevPair:
    """A dev pair the decision is fitted on: its best label, head probability, and whether the
    relation (label and both entity spans) is in the gold annotations."""

    label: str
    probability: float
    correct: bool


def decision_from_card(head: Mapping[str, Any], where: str) -> Decision:
    """The :class:`Decision` a card's ``head`` settings describe (``threshold`` alone in cards
    written before calibration), checked; fails closed on malformed values.

    >>> decision_from_card({"threshold": 0.4}, "defnlp.json").threshold
    0.4
    >>> decision_from_card({"decision": {"scale": "x"}}, "defnlp.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.ModelError: defnlp.json: head 'decision.scale' must be a finite number, not 'x' ...
    """
    hint = "the relation head settings of the card (defnlp.json 'head') are malformed: re-export the model"
    raw = head.get("decision") or {}
    if not isinstance(raw, Mapping):
        raise ModelError(f"{where}: head 'decision' must be a table", hint)

    def number(key: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not lo <= value <= hi:
            raise ModelError(f"{where}: head {key!r} must be a finite number{f' in [{lo}, {hi}]' if hi < math.inf else ''}, not {value!r}", hint)
        return float(value)

    def table(key: str, lo: float = -math.inf, hi: float = math.inf) -> dict[str, float]:
        value = raw.get(key) or {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ModelError(f"{where}: head 'decision.{key}' must map relation labels to numbers", hint)
        return {k: number(f"decision.{key}.{k}", v, lo, hi) for k, v in value.items()}

    threshold = number("threshold", raw.get("threshold", head.get("threshold", 0.5)), 0.0, 1.0)
    alias_links = raw.get("alias_links")
    if alias_links is not None and not isinstance(alias_links, bool):
        raise ModelError(f"{where}: head 'decision.alias_links' must be true or false, not {alias_links!r}", hint)
    return Decision(alias_links=alias_links, threshold=threshold, thresholds=table("thresholds", 0.0, 1.0),
                    scale=number("decision.scale", raw.get("scale", 1.0)), shift=number("decision.shift", raw.get("shift", 0.0)),
                    label_shift=table("label_shift"),
                    alias_score=number("decision.alias_score", raw.get("alias_score", DEFAULT_ALIAS_SCORE), 0.0, 1.0))


def alias_precision(correct: int, found: int) -> float:
    """The score of acronym/alias links: their dev precision, smoothed towards 1/2 (Laplace) so
    that a handful of links cannot claim certainty.

    >>> alias_precision(17, 20), alias_precision(0, 0)
    (0.8182, 0.5)
    """
    return round((correct + 1) / (found + 2), 4)


def fit_decision(candidates: Sequence[DevPair], gold_counts: Mapping[str, int], *, default_threshold: float = 0.5,
                 min_gold: int = 8, l2: float = 1.0, bounds: tuple[float, float] = (0.2, 0.8)) -> Decision:
    """Fit calibration then thresholds on dev ``candidates`` (all pairs whose best label has
    head probability ≥ :data:`MIN_PROBABILITY`); ``gold_counts``: gold relations per label on
    the same documents (the recall denominators, reachable or not).

    Calibration: logistic regression of ``correct`` on ``logit(p)`` with a bias per label
    (L2 ``l2`` on the label biases, so rare labels stay near the shared bias). Thresholds: one
    shared threshold for the best micro-F1, then, for labels with at least ``min_gold`` gold
    relations, the threshold within ``bounds`` that maximises that label's F1.

    >>> cands = [DevPair("SIGNS", p, p > 0.6) for p in np.linspace(0.05, 0.95, 40)]
    >>> d = fit_decision(cands, {"SIGNS": 15})
    >>> d.score("SIGNS", 0.9) > 0.8 > 0.2 > d.score("SIGNS", 0.3)
    True
    """
    if not candidates:
        return Decision(threshold=default_threshold)
    import torch

    labels = sorted({c.label for c in candidates})
    index = {l: k for k, l in enumerate(labels)}
    p = np.clip(np.array([c.probability for c in candidates], dtype=np.float64), 1e-6, 1 - 1e-6)
    x = torch.tensor(np.log(p / (1 - p)))
    y = torch.tensor([float(c.correct) for c in candidates], dtype=torch.float64)
    lab = torch.tensor([index[c.label] for c in candidates])
    params = torch.zeros(2 + len(labels), dtype=torch.float64)
    params[0] = 1.0
    params.requires_grad_(True)
    opt = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = params[0] * x + params[1] + params[2:][lab]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum") + l2 * (params[2:] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w = params.detach().numpy()
    calibrated = Decision(scale=float(w[0]), shift=float(w[1]), label_shift={l: float(w[2 + k]) for l, k in index.items()})
    scores = np.array([calibrated.score(c.label, c.probability) for c in candidates])
    correct = np.array([c.correct for c in candidates])
    names = np.array([c.label for c in candidates])

    def f1(mask: np.ndarray, gold: int) -> float:
        tp = int((mask & correct).sum())
        return 2 * tp / (int(mask.sum()) + gold) if gold or mask.any() else 0.0

    grid = np.round(np.arange(bounds[0], bounds[1] + 1e-9, 0.025), 3)
    total = sum(gold_counts.values())
    shared = max(grid, key=lambda t: (f1(scores >= t, total), -abs(t - 0.5)))
    own = {}
    for label in labels:
        gold = gold_counts.get(label, 0)
        if gold < min_gold:
            continue
        sel = names == label
        best = max(grid, key=lambda t: (f1(sel & (scores >= t), gold), -abs(t - shared)))
        if best != shared:
            own[label] = float(best)
    log.info("relation decision fitted on %d dev candidates: scale %.2f shift %.2f, shared threshold %.3f, %d label thresholds",
             len(candidates), w[0], w[1], shared, len(own))
    return Decision(threshold=float(shared), thresholds=own, scale=calibrated.scale, shift=calibrated.shift,
                    label_shift=calibrated.label_shift)
