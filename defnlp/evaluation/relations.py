"""Relation evaluation: precision / recall / F1 per relation, micro and macro.

A predicted relation is correct when its label, its head span and its tail span equal a gold
relation's (spans compared by character offsets, so end-to-end scores also require correct
entity boundaries); symmetric relations are compared without direction.

Also the baseline that a user could write in an afternoon: :class:`TypePairBaseline`
predicts, for every pair of entities in a sentence, the most frequent relation seen in
training for that pair of entity labels.

>>> from defnlp.doc import Doc
>>> g = Doc("Ana met Bob.", sentences=[])
>>> a, b = g.add_entity(0, 3, "PER"), g.add_entity(8, 11, "PER")
>>> _ = g.add_relation(a, b, "MEETS")
>>> p = g.copy(); p.relations[0].head, p.relations[0].tail = b, a
>>> evaluate_relations([g], [p], symmetric={"MEETS"}).micro["f1"]
1.0
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..doc import Doc, Relation, prepare_doc
from ..errors import EvaluationError

if TYPE_CHECKING:
    from ..pipeline import Pipeline

__all__ = ["RelationReport", "evaluate_relations", "TypePairBaseline", "relation_keys", "relation_key"]


@dataclass
class RelationReport:
    per_label: dict[str, dict[str, float]]
    micro: dict[str, float]
    macro: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"micro": self.micro, "macro": self.macro, "per_label": self.per_label}

    def table(self, title: str = "") -> str:
        lines = [title] if title else []
        lines.append(f"{'relation':<14}{'P':>8}{'R':>8}{'F1':>8}{'gold':>7}{'pred':>7}")
        for label, m in sorted(self.per_label.items()):
            lines.append(f"{label:<14}{100*m['precision']:>8.1f}{100*m['recall']:>8.1f}{100*m['f1']:>8.1f}{m['gold']:>7}{m['pred']:>7}")
        for name, m in (("micro", self.micro), ("macro", self.macro)):
            lines.append(f"{name:<14}{100*m['precision']:>8.1f}{100*m['recall']:>8.1f}{100*m['f1']:>8.1f}{m.get('gold', ''):>7}{m.get('pred', ''):>7}")
        return "\n".join(lines)


def relation_keys(doc: Doc, symmetric: set[str], labels: set[str] | None = None) -> set[tuple]:
    """Comparable keys ``(label, head span, tail span)`` of a document's relations."""
    return {relation_key(doc, r.head, r.tail, r.label, symmetric) for r in doc.relations
            if labels is None or r.label in labels}


def relation_key(doc: Doc, head: int, tail: int, label: str, symmetric: set[str]) -> tuple:
    """The comparable key of relation ``label`` from ``doc.entities[head]`` to ``doc.entities[tail]``:
    its label and the two character spans (in text order for a symmetric label)."""
    h, t = doc.entities[head], doc.entities[tail]
    hs, ts = (h.start, h.end), (t.start, t.end)
    if label in symmetric and ts < hs:
        hs, ts = ts, hs
    return (label, hs, ts)


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "gold": n_gold, "pred": n_pred, "tp": tp}


def evaluate_relations(gold: Sequence[Doc], pred: Sequence[Doc], labels: Iterable[str] | None = None,
                       symmetric: Iterable[str] = ()) -> RelationReport:
    """Score predicted relations against gold ones (same documents, same order)."""
    if len(gold) != len(pred):
        raise EvaluationError(f"{len(gold)} gold documents but {len(pred)} predicted ones")
    sym = set(symmetric)
    label_set = set(labels) if labels is not None else None
    tp: Counter = Counter()
    n_gold: Counter = Counter()
    n_pred: Counter = Counter()
    for g, p in zip(gold, pred):
        if g.text != p.text:
            raise EvaluationError(f"document {g.id!r}: predicted text differs from the gold text")
        gk, pk = relation_keys(g, sym, label_set), relation_keys(p, sym, label_set)
        for k in gk:
            n_gold[k[0]] += 1
        for k in pk:
            n_pred[k[0]] += 1
        for k in gk & pk:
            tp[k[0]] += 1
    names = sorted(label_set if label_set is not None else set(n_gold) | set(n_pred))
    per_label = {l: _prf(tp[l], n_pred[l], n_gold[l]) for l in names}
    micro = _prf(sum(tp[l] for l in names), sum(n_pred[l] for l in names), sum(n_gold[l] for l in names))
    with_gold = [per_label[l] for l in names if n_gold[l]]
    macro = {k: (sum(m[k] for m in with_gold) / len(with_gold) if with_gold else 0.0) for k in ("precision", "recall", "f1")}
    return RelationReport(per_label, micro, macro)


class TypePairBaseline:
    """Most frequent relation per (head label, tail label), predicted for every pair in a sentence."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], str] = {}

    def fit(self, docs: Iterable[Doc]) -> "TypePairBaseline":
        counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for d in docs:
            for r in d.relations:
                counts[(d.entities[r.head].label, d.entities[r.tail].label)][r.label] += 1
        self.table = {pair: c.most_common(1)[0][0] for pair, c in counts.items()}
        return self

    def predict(self, doc: Doc, symmetric: Iterable[str] = ()) -> Doc:
        sym = set(symmetric)
        out = prepare_doc(doc.copy(), detect_lang=False)  # sentences, as in the pipeline, when it has none
        out.relations = []
        sentence = [out.sentence_index(e.start) for e in out.entities]
        seen = set()
        for i, ei in enumerate(out.entities):
            for j, ej in enumerate(out.entities):
                if i == j or sentence[i] is None or sentence[i] != sentence[j]:
                    continue
                if ei.start < ej.end and ej.start < ei.end:
                    continue
                label = self.table.get((ei.label, ej.label))
                if label is None:
                    continue
                key = (min(i, j), max(i, j), label) if label in sym else (i, j, label)
                if key not in seen:
                    seen.add(key)
                    out.relations.append(Relation(key[0], key[1], label, None))
        return out


def evaluate_relations_cli(args: Any, gold: list[Doc], labels: list[str] | None) -> dict[str, Any]:
    """``defnlp evaluate relations``: with gold entities and/or end to end."""
    from ..pipeline import load

    nlp = load(args.model)
    if nlp.relations is None:
        raise EvaluationError("the pipeline has no relation model", "give --model a pipeline with a relation model")
    scheme = nlp.relations.scheme
    symmetric = {r for r in nlp.relation_labels if scheme is not None and r in scheme.relations and scheme.is_symmetric(r)}
    labels = labels or nlp.relation_labels
    result: dict[str, Any] = {}
    if args.mode in ("gold", "both"):
        pred = predict_with_gold_entities(nlp, gold)
        report = evaluate_relations(gold, pred, labels, symmetric)
        print(report.table(f"relations with gold entities ({len(gold)} documents)"))
        result["gold_entities"] = report.to_dict()
    if args.mode in ("end2end", "both"):
        pred = list(nlp.pipe(d.copy(annotations=False) for d in gold))
        report = evaluate_relations(gold, pred, labels, symmetric)
        print(report.table(f"relations end to end ({len(gold)} documents)"))
        result["end_to_end"] = report.to_dict()
    return result


def predict_with_gold_entities(nlp: Pipeline, docs: Sequence[Doc]) -> list[Doc]:
    """Run the pipeline's encoder on each document and its relation head on the gold entities.

    Alias links are not added (unlike :meth:`~defnlp.relations.model.LoadedRelations.predict`):
    this scores the head alone.

    >>> pred = predict_with_gold_entities(defnlp.load(), gold_docs)   # doctest: +SKIP
    >>> evaluate_relations(gold_docs, pred).micro["f1"]                # doctest: +SKIP
    """
    import torch

    from ..relations.model import predict_relations

    rel = nlp.relations
    out: list[Doc] = []
    for p, hidden, spans in nlp.engine.hidden_states(docs):  # p: a copy of the gold document, with sentences
        with torch.inference_mode():
            p.relations = predict_relations(rel.head, p, torch.from_numpy(hidden), spans, rel.scheme, rel.decision, rel.max_sentence_distance)
        out.append(p)
    return out
