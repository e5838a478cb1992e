"""Where a NER model goes wrong: every gold and predicted entity sorted into one error category.

F1 says how much is wrong; fine-tuning needs to know *what*. :func:`ner_errors` compares gold and
predicted entities over the same words as :func:`defnlp.evaluation.ner.evaluate_ner` (so its
counts add up to the seqeval figures) and files each mismatch under one category:

* ``label``: same span, another label (``Taurus`` WEAPON tagged PLATFORM);
* ``boundary``: overlapping spans, same label, other bounds (``Raytheon Co.`` cut to ``Raytheon``);
* ``boundary+label``: overlapping spans, other bounds and label;
* ``missed``: a gold entity that no prediction overlaps;
* ``spurious``: a prediction that overlaps no gold entity.

An overlap error is counted once per gold entity; a prediction that overlaps several gold
entities (``Camden, Arkansas`` as one LOC) adds one ``boundary`` per gold entity it overlaps.

>>> from defnlp.doc import Doc
>>> gold = Doc("Le Rafale de Dassault Aviation vole à Istres.", id="d1")
>>> _ = gold.add_entity(3, 9, "PLATFORM"); _ = gold.add_entity(13, 30, "ORG"); _ = gold.add_entity(38, 44, "LOC")
>>> pred = gold.copy(annotations=False)
>>> _ = pred.add_entity(3, 9, "WEAPON"); _ = pred.add_entity(13, 21, "ORG"); _ = pred.add_entity(0, 2, "PER")
>>> report = ner_errors([gold], [pred])
>>> report.counts
{'correct': 0, 'label': 1, 'boundary': 1, 'boundary+label': 0, 'missed': 1, 'spurious': 1}
>>> report.confusions
{('PLATFORM', 'WEAPON'): 1}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..doc import Doc
from ..errors import EvaluationError
from ..tags import tags_to_spans
from ..words import word_spans
from .ner import doc_word_tags

__all__ = ["CATEGORIES", "NerError", "ErrorReport", "ner_errors"]

#: the categories, in the order reports list them
CATEGORIES = ("correct", "label", "boundary", "boundary+label", "missed", "spurious")


@dataclass(frozen=True)
class NerError:
    """One mismatch: the gold and predicted mentions involved (text and label; ``None`` when absent)."""

    category: str
    doc_id: str
    gold_text: str | None
    gold_label: str | None
    pred_text: str | None
    pred_label: str | None

    def mentions(self) -> str:
        """``'gold text' LABEL -> 'predicted text' LABEL`` (``-`` for the side that is absent)."""
        gold = f"{self.gold_text!r} {self.gold_label}" if self.gold_label else "-"
        pred = f"{self.pred_text!r} {self.pred_label}" if self.pred_label else "-"
        return f"{gold} -> {pred}"

    def describe(self) -> str:
        return f"{self.category:<15} {self.mentions()}  ({self.doc_id})"


@dataclass
class ErrorReport:
    """Counts per category, label confusions (gold, predicted) and every error, in document order."""

    counts: dict[str, int]
    confusions: dict[tuple[str, str], int]
    errors: list[NerError] = field(default_factory=list)

    def by_label(self) -> dict[str, Counter]:
        """Per gold label (predicted label for ``spurious``): how many errors of each category."""
        out: dict[str, Counter] = {}
        for e in self.errors:
            out.setdefault(e.gold_label or e.pred_label or "?", Counter())[e.category] += 1
        return out

    def most_common(self, category: str, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` most frequent errors of a category, as (:meth:`NerError.mentions`, count)."""
        return Counter(e.mentions() for e in self.errors if e.category == category).most_common(n)

    def table(self, examples: int = 5) -> str:
        """A plain-text summary: categories, the most frequent confusions, and examples of each kind."""
        total = sum(v for k, v in self.counts.items() if k != "spurious") or 1
        lines = [f"{'category':<16}{'count':>7}{'share of gold':>15}"]
        for cat in CATEGORIES:
            share = "" if cat == "spurious" else f"{100 * self.counts[cat] / total:.1f} %"
            lines.append(f"{cat:<16}{self.counts[cat]:>7}{share:>15}")
        if self.confusions:
            lines += ["", "label confusions (gold -> predicted, same span):"]
            lines += [f"  {g} -> {p}: {n}" for (g, p), n in sorted(self.confusions.items(), key=lambda x: -x[1])[:10]]
        for cat in CATEGORIES[1:]:
            common = self.most_common(cat, examples)
            if common:
                lines += ["", f"most frequent {cat}:"] + [f"  {n} x {text}" for text, n in common]
        return "\n".join(lines)

    def to_dict(self, examples: int = 20) -> dict:
        return {"counts": self.counts,
                "confusions": [{"gold": g, "pred": p, "count": n} for (g, p), n in sorted(self.confusions.items(), key=lambda x: -x[1])],
                "by_label": {k: dict(v) for k, v in sorted(self.by_label().items())},
                "most_common": {cat: self.most_common(cat, examples) for cat in CATEGORIES[1:]}}


def _char_spans(doc: Doc, words: Sequence[tuple[int, int]], labels: set[str] | None) -> list[tuple[int, int, str]]:
    """The entities of ``doc`` as character spans snapped to ``words`` (what seqeval scores)."""
    return [(words[a][0], words[b - 1][1], label) for a, b, label in tags_to_spans(doc_word_tags(doc, words, labels))]


def ner_errors(gold: Sequence[Doc], pred: Sequence[Doc], labels: Iterable[str] | None = None) -> ErrorReport:
    """Sort every gold and predicted entity of ``labels`` (all when ``None``) into :data:`CATEGORIES`."""
    if len(gold) != len(pred):
        raise EvaluationError(f"{len(gold)} gold documents but {len(pred)} predicted ones")
    label_set = set(labels) if labels is not None else None
    counts = dict.fromkeys(CATEGORIES, 0)
    confusions: Counter = Counter()
    errors: list[NerError] = []
    for g, p in zip(gold, pred):
        if g.text != p.text:
            raise EvaluationError(f"document {g.id!r}: predicted text differs from the gold text")
        tokens = g.meta.get("tokens")
        words = [tuple(t) for t in tokens] if tokens else word_spans(g.text, mode="atom")
        gs, ps = _char_spans(g, words, label_set), _char_spans(p, words, label_set)
        text, doc_id = g.text, str(g.id)
        exact = {(a, b): label for a, b, label in ps}
        for a, b, label in gs:
            if (a, b) in exact:
                if exact[(a, b)] == label:
                    counts["correct"] += 1
                    continue
                counts["label"] += 1
                confusions[(label, exact[(a, b)])] += 1
                errors.append(NerError("label", doc_id, text[a:b], label, text[a:b], exact[(a, b)]))
                continue
            overlapping = [(c, d, lab) for c, d, lab in ps if c < b and a < d]
            if not overlapping:
                counts["missed"] += 1
                errors.append(NerError("missed", doc_id, text[a:b], label, None, None))
                continue
            same = [s for s in overlapping if s[2] == label]
            c, d, lab = same[0] if same else overlapping[0]
            cat = "boundary" if same else "boundary+label"
            counts[cat] += 1
            errors.append(NerError(cat, doc_id, text[a:b], label, text[c:d], lab))
        for c, d, lab in ps:
            if not any(a < d and c < b for a, b, _ in gs):  # a prediction overlapping gold was filed above
                counts["spurious"] += 1
                errors.append(NerError("spurious", doc_id, None, None, text[c:d], lab))
    return ErrorReport(counts=counts, confusions=dict(confusions), errors=errors)
