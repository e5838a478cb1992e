"""defnlp.evaluation.significance: per-document counts add up to evaluate_ner; the paired bootstrap's interval."""
import random

import pytest

from defnlp.doc import Doc
from defnlp.evaluation import evaluate_ner
from defnlp.evaluation.significance import doc_entity_counts, paired_bootstrap

TEXT = "Le ministre des Armées a reçu Jean Dupont à Brest le 3 mai avec Thales et Naval Group."
SPANS = [(16, 22, "ORG"), (30, 41, "PER"), (44, 49, "LOC"), (53, 58, "DATE"), (64, 70, "ORG"), (74, 85, "ORG")]


def gold_docs(n):
    docs = []
    for i in range(n):
        d = Doc(TEXT, id=str(i))
        for s, e, label in SPANS:
            d.add_entity(s, e, label)
        docs.append(d)
    return docs


def noisy(gold, keep, seed):
    """Each gold entity kept with probability ``keep``, a wrong-label copy otherwise half the time."""
    rng = random.Random(seed)
    out = []
    for g in gold:
        p = g.copy(annotations=False)
        for e in g.entities:
            if rng.random() < keep:
                p.add_entity(e.start, e.end, e.label)
            elif rng.random() < 0.5:
                p.add_entity(e.start, e.end, "LOC" if e.label != "LOC" else "ORG")
        out.append(p)
    return out


@pytest.mark.parametrize("labels", [None, ["ORG", "LOC"]])
def test_summed_document_counts_give_evaluate_ners_micro_f1(labels):
    gold = gold_docs(20)
    pred = noisy(gold, 0.7, seed=1)
    counts = doc_entity_counts(gold, pred, labels).sum(0)
    tp, n_pred, n_gold = counts
    assert 2 * tp / (n_pred + n_gold) == pytest.approx(evaluate_ner(gold, pred, labels=labels).micro["f1"])


def test_a_clearly_better_model_has_an_interval_above_zero_and_equal_models_one_around_it():
    gold = gold_docs(60)
    good, bad = noisy(gold, 0.95, seed=2), noisy(gold, 0.6, seed=3)
    better = paired_bootstrap(gold, good, bad, samples=500)
    assert better.low > 0 and better.p_not_better == 0.0 and better.low <= better.delta <= better.high
    assert better.f1_a == pytest.approx(100 * evaluate_ner(gold, good).micro["f1"])
    assert better.f1_b == pytest.approx(100 * evaluate_ner(gold, bad).micro["f1"])
    assert better.delta == pytest.approx(better.f1_a - better.f1_b)
    same = paired_bootstrap(gold, good, [d.copy() for d in good], samples=500)
    assert (same.delta, same.low, same.high) == (0.0, 0.0, 0.0)
    close = paired_bootstrap(gold, noisy(gold, 0.8, seed=4), noisy(gold, 0.8, seed=5), samples=500)
    assert close.low < 0 < close.high


def test_the_resamples_are_reproducible_from_the_seed():
    gold = gold_docs(30)
    a, b = noisy(gold, 0.8, seed=6), noisy(gold, 0.7, seed=7)
    assert paired_bootstrap(gold, a, b, seed=5) == paired_bootstrap(gold, a, b, seed=5)
