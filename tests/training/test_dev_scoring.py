"""defnlp.training.dev_scoring: each dev source is scored on the labels it annotates; dev_f1 is their mean."""
from defnlp.doc import Doc, Entity
from defnlp.training.dev_scoring import score_dev


def doc(text, entities, source, annotated=None):
    d = Doc(text=text, entities=[Entity(s, e, label) for s, e, label in entities])
    d.meta.update({"source": source, **({"annotated": annotated} if annotated else {})})
    return d


def test_each_source_is_scored_on_its_own_labels_and_dev_f1_is_their_mean():
    text = "Thales livre Paris en 2026."
    gold = [doc(text, [(0, 6, "ORG"), (13, 18, "LOC"), (22, 26, "DATE")], "examples"),
            doc(text, [(0, 6, "ORG"), (13, 18, "LOC")], "winer", annotated=["ORG", "LOC"])]
    pred = [doc(text, [(0, 6, "ORG"), (13, 18, "LOC")], "examples"),  # misses the DATE
            doc(text, [(0, 6, "ORG"), (13, 18, "LOC"), (22, 26, "DATE")], "winer")]  # DATE not annotated there
    out = score_dev(gold, pred, ["ORG", "LOC", "DATE"])
    assert out["dev_sources"]["winer"]["f1"] == 1.0
    assert out["dev_sources"]["examples"]["f1"] == 0.8  # P 1, R 2/3
    assert "DATE" not in out["dev_sources"]["winer"]["per_label"]
    assert out["dev_f1"] == (1.0 + 0.8) / 2
