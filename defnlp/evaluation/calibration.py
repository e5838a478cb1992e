"""Are scores probabilities? Reliability tables and expected calibration error (ECE).

A score is calibrated when, among the outputs scored about ``s``, a fraction ``s`` is right.
:func:`reliability` bins outputs by score (equal-width bins over [0, 1]) and reports, per bin,
the count, the mean score and the accuracy; the ECE is the count-weighted mean gap between
the two (Guo et al., 2017). Used for relation scores (:mod:`defnlp.evaluation.relations`) and
entity links across languages.

>>> r = reliability([0.9, 0.9, 0.2, 0.3], [True, False, False, False], bins=5)
>>> round(r.ece, 3), [(b.count, b.accuracy) for b in r.bins]
(0.325, [(2, 0.0), (2, 0.5)])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..errors import EvaluationError

__all__ = ["Bin", "Reliability", "reliability"]


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mean_score: float
    accuracy: float


@dataclass(frozen=True)
class Reliability:
    bins: list[Bin]  # non-empty bins, in score order
    ece: float  # expected calibration error, in [0, 1]
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"ece": self.ece, "count": self.count, "bins": [asdict(b) for b in self.bins]}

    def table(self, title: str = "") -> str:
        lines = [title] if title else []
        lines.append(f"{'score bin':<13}{'count':>7}{'mean score':>12}{'accuracy':>10}")
        for b in self.bins:
            lines.append(f"[{b.low:.1f}, {b.high:.1f}){'':<3}{b.count:>7}{b.mean_score:>12.3f}{b.accuracy:>10.3f}")
        lines.append(f"expected calibration error: {self.ece:.3f} over {self.count} outputs")
        return "\n".join(lines)


def reliability(scores: Sequence[float], correct: Sequence[bool], bins: int = 10) -> Reliability:
    """Reliability table and ECE of ``scores`` (each in [0, 1]) against ``correct``."""
    if len(scores) != len(correct):
        raise EvaluationError(f"{len(scores)} scores but {len(correct)} correctness flags")
    if bins < 1:
        raise EvaluationError("bins must be >= 1")
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for s, c in zip(scores, correct):
        if not 0.0 <= s <= 1.0:
            raise EvaluationError(f"score {s!r} is not in [0, 1]", "reliability tables need probabilities")
        groups[min(int(s * bins), bins - 1)].append((float(s), bool(c)))
    out, gap = [], 0.0
    for k, group in enumerate(groups):
        if not group:
            continue
        mean = sum(s for s, _ in group) / len(group)
        acc = sum(c for _, c in group) / len(group)
        gap += len(group) * abs(mean - acc)
        out.append(Bin(k / bins, (k + 1) / bins, len(group), mean, acc))
    n = len(scores)
    return Reliability(out, gap / n if n else 0.0, n)
