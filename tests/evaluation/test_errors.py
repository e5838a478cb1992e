"""NER error categories (defnlp.evaluation.errors): every gold entity in exactly one category,
the exact matches are seqeval's true positives, and the CLI reports them."""

from __future__ import annotations

import json
import random

from defnlp.doc import Doc, Entity
from defnlp.evaluation import evaluate_ner, ner_errors
from defnlp.evaluation.errors import CATEGORIES

LABELS = ("PER", "ORG", "LOC")


def _doc(text: str, spans) -> Doc:
    return Doc(text, id="d", entities=[Entity(s, e, label, text[s:e]) for s, e, label in spans])


def test_each_kind_of_mistake_has_its_category():
    text = "Camden , Arkansas et Raytheon Co. à Paris avec Jean Dupont ."
    gold = _doc(text, [(0, 6, "LOC"), (9, 17, "LOC"), (21, 33, "ORG"), (36, 41, "LOC"), (47, 58, "PER")])
    pred = _doc(text, [(0, 17, "LOC"), (21, 29, "ORG"), (36, 41, "ORG"), (18, 20, "PER")])
    report = ner_errors([gold], [pred])
    assert report.counts == {"correct": 0, "label": 1, "boundary": 3, "boundary+label": 0, "missed": 1, "spurious": 1}
    assert report.confusions == {("LOC", "ORG"): 1}
    # one prediction merging two gold places is a boundary error for each of them
    assert [e.gold_text for e in report.errors if e.category == "boundary"] == ["Camden", "Arkansas", "Raytheon Co."]
    assert report.most_common("missed") == [("'Jean Dupont' PER -> -", 1)]
    assert report.by_label()["LOC"]["boundary"] == 2
    table = report.table()
    assert "LOC -> ORG: 1" in table and "'et' PER" in table
    assert json.dumps(report.to_dict())


def test_boundary_with_another_label_and_label_filter():
    text = "La frégate Alsace de la Marine nationale ."
    gold = _doc(text, [(3, 17, "PLATFORM"), (24, 40, "ORG")])
    pred = _doc(text, [(11, 17, "WEAPON"), (24, 40, "ORG")])
    report = ner_errors([gold], [pred])
    assert report.counts["boundary+label"] == 1 and report.counts["correct"] == 1
    only_org = ner_errors([gold], [pred], labels=["ORG"])
    assert only_org.counts == dict.fromkeys(CATEGORIES, 0) | {"correct": 1}


def test_counts_agree_with_seqeval_on_random_predictions():
    rng = random.Random(3)
    words = "Le ministre Jean Dupont a visité Brest puis Toulon avec Thales et Naval Group hier soir .".split()
    text = " ".join(words)
    starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]

    def random_doc() -> Doc:
        spans, i = [], 0
        while i < len(words):
            if rng.random() < 0.35:
                n = rng.randint(1, 3)
                j = min(i + n, len(words))
                spans.append((starts[i], starts[j - 1] + len(words[j - 1]), rng.choice(LABELS)))
                i = j + 1
            else:
                i += 1
        return _doc(text, spans)

    gold = [random_doc() for _ in range(30)]
    pred = [random_doc() for _ in range(30)]
    report = ner_errors(gold, pred)
    scores = evaluate_ner(gold, pred)
    n_gold = sum(len(d.entities) for d in gold)
    n_pred = sum(len(d.entities) for d in pred)
    assert sum(report.counts[c] for c in CATEGORIES if c != "spurious") == n_gold
    assert report.counts["correct"] == round(scores.micro["recall"] * n_gold)
    assert report.counts["correct"] == round(scores.micro["precision"] * n_pred)
    assert report.counts["spurious"] <= n_pred - report.counts["correct"]


def test_evaluate_cli_prints_and_stores_the_errors(tmp_path, tiny_ner_dir, capsys):
    from defnlp.cli import main

    gold = tmp_path / "gold.md"
    gold.write_text("=== doc: a | split: dev\n[Thales]{ORG} a livré [Brest]{LOC}.\n", encoding="utf-8")
    report = tmp_path / "r.json"
    assert main(["-q", "evaluate", "ner", "-m", str(tiny_ner_dir), "--data", str(gold), "--errors", "3",
                 "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "category" in out and "missed" in out and "spurious" in out
    errors = json.loads(report.read_text(encoding="utf-8"))["errors"]
    assert set(errors["counts"]) == set(CATEGORIES)
    assert sum(v for k, v in errors["counts"].items() if k != "spurious") == 2
