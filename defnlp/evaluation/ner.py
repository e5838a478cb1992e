"""NER evaluation with seqeval (strict IOB2, entity level), per label and overall.

Gold and predicted documents are aligned by position (same texts); both are turned into IOB2
tags over the same words — the corpus' own tokens when a document carries them in
``meta["tokens"]`` (CoNLL), else :func:`defnlp.words.word_spans` in ``mode="atom"`` (the units of
NER) — and scored with seqeval in strict mode. Overlapping gold spans (re3d) are flattened first
(:func:`defnlp.tags.flatten_spans`, longest span kept).

>>> from defnlp.doc import Doc
>>> gold = Doc("Jean Dupont visite Brest.", entities=[])
>>> _ = gold.add_entity(0, 11, "PER"); _ = gold.add_entity(19, 24, "LOC")
>>> pred = gold.copy(annotations=False); _ = pred.add_entity(0, 11, "PER")
>>> r = evaluate_ner([gold], [pred])
>>> round(r.micro["f1"], 3), r.per_label["LOC"]["recall"]
(0.667, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..doc import Doc
from ..errors import EvaluationError
from ..tags import flatten_spans, spans_to_tags
from ..words import word_spans

__all__ = ["NerReport", "evaluate_ner", "doc_word_tags", "word_tag_pairs"]


@dataclass
class NerReport:
    """Precision / recall / F1 (0-1) per label, micro and macro averages, and counts."""

    per_label: dict[str, dict[str, float]]
    micro: dict[str, float]
    macro: dict[str, float]
    n_docs: int
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"micro": self.micro, "macro": self.macro, "per_label": self.per_label, "n_docs": self.n_docs, "labels": self.labels}

    def table(self, title: str = "") -> str:
        lines = [title] if title else []
        lines.append(f"{'label':<12}{'P':>8}{'R':>8}{'F1':>8}{'gold':>8}")
        for label, m in sorted(self.per_label.items()):
            lines.append(f"{label:<12}{100*m['precision']:>8.1f}{100*m['recall']:>8.1f}{100*m['f1']:>8.1f}{int(m['support']):>8}")
        for name, m in (("micro", self.micro), ("macro", self.macro)):
            lines.append(f"{name:<12}{100*m['precision']:>8.1f}{100*m['recall']:>8.1f}{100*m['f1']:>8.1f}{int(m.get('support', 0)):>8}")
        return "\n".join(lines)


def doc_word_tags(doc: Doc, words: Sequence[tuple[int, int]], labels: set[str] | None = None) -> list[str]:
    """IOB2 tags of ``words`` for the entities of ``doc`` (the rule of :func:`defnlp.tags.spans_to_tags`).

    Only entities whose label is in ``labels`` (all when ``None``) count; overlapping ones are
    flattened first (longest kept).

    >>> from defnlp.doc import Doc
    >>> d = Doc("Grande Mosquée de Valence"); _ = d.add_entity(0, 25, "ORG"); _ = d.add_entity(18, 25, "LOC")
    >>> doc_word_tags(d, [(0, 6), (7, 14), (15, 17), (18, 25)]), doc_word_tags(d, [(0, 6), (18, 25)], {"LOC"})
    (['B-ORG', 'I-ORG', 'I-ORG', 'I-ORG'], ['O', 'B-LOC'])
    """
    spans = [(e.start, e.end, e.label) for e in doc.entities if labels is None or e.label in labels]
    return spans_to_tags(words, flatten_spans(spans))


def word_tag_pairs(gold: Sequence[Doc], pred: Sequence[Doc], labels: set[str] | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """Gold and predicted IOB2 tags of each document over the same words (what :func:`evaluate_ner`
    scores): the corpus' own tokens when ``meta["tokens"]`` holds them, else the atom words."""
    if len(gold) != len(pred):
        raise EvaluationError(f"{len(gold)} gold documents but {len(pred)} predicted ones")
    y_true, y_pred = [], []
    for g, p in zip(gold, pred):
        if g.text != p.text:
            raise EvaluationError(f"document {g.id!r}: predicted text differs from the gold text")
        tokens = g.meta.get("tokens")
        words = [tuple(t) for t in tokens] if tokens else word_spans(g.text, mode="atom")
        y_true.append(doc_word_tags(g, words, labels))
        y_pred.append(doc_word_tags(p, words, labels))
    return y_true, y_pred


def _metrics(m: dict) -> dict[str, float]:
    return {"precision": float(m["precision"]), "recall": float(m["recall"]), "f1": float(m["f1-score"]), "support": int(m["support"])}


def evaluate_ner(gold: Sequence[Doc], pred: Sequence[Doc], labels: Iterable[str] | None = None) -> NerReport:
    """Score predicted documents against gold ones (same order, same texts)."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    label_set = set(labels) if labels is not None else None
    y_true, y_pred = word_tag_pairs(gold, pred, label_set)
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    per_label = {}
    for key, m in report.items():
        if key in ("micro avg", "macro avg", "weighted avg"):
            continue
        per_label[key] = _metrics(m)
    def avg(key: str) -> dict[str, float]:
        m = report.get(key) or {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
        return _metrics(m)
    used = sorted(label_set) if label_set is not None else sorted(per_label)
    return NerReport(per_label=per_label, micro=avg("micro avg"), macro=avg("macro avg"), n_docs=len(gold), labels=used)
