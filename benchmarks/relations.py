"""Relation extraction: the default model vs the type-pair baseline, calibration, and the cost of joint annotation.

    python benchmarks/relations.py [--model defence-v1] [--relations DIR] [--precision fp32] [--timing-docs 200] [--timing-rounds 5] [--no-timing]
                                   [--output relations]

1. Five sets: the project's examples (dev split: selects the epoch and fits the decision, see
   docs/relations.md), the layout dev set (data/layout-dev, never trained or tuned on), re3d test
   non-BBC and BBC, and re3d test non-BBC with its gold in the model's conventions (names only:
   pronoun and common-noun mentions and their relations dropped, leading articles out of spans):
   relation precision/recall/F1 per type and micro, with gold entities and end to
   end, for the shipped relation model and for the baseline a user could write in an afternoon
   (:class:`defnlp.evaluation.relations.TypePairBaseline`: for every pair of entities in a
   sentence, the most frequent relation of that pair of entity labels in the training data —
   re3d train + the project's examples, like the model). End to end, a relation counts only if
   its label and both entity spans are exact.
2. Calibration: per set, end to end, the reliability table of the output relations' scores
   (score bins: count, mean score, accuracy) and the expected calibration error.
3. Joint cost: time to annotate the same documents with NER alone and with NER + relations
   (the encoder runs once; the relation head reads the same hidden states), in alternating
   rounds (``--timing-rounds``): the median of the per-round ratios, which a drift of a shared
   machine's speed moves far less than two separate timings.

Writes benchmarks/results/<output>.json (``relations.json`` by default). ``--precision`` is the
runtime's (``defnlp.load(precision=...)``): ``int8`` measures the quantised encoder's effect on
relations, as ``benchmarks/ner_quality.py --precision int8`` does for entities.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table  # noqa: E402

from defnlp.doc import Doc  # noqa: E402
from defnlp.evaluation.calibration import reliability  # noqa: E402
from defnlp.evaluation.relations import TypePairBaseline, evaluate_relations, predict_with_gold_entities, relation_key, relation_keys  # noqa: E402

log = logging.getLogger("relations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline with a relation model (default: defence-v2)")
    parser.add_argument("--timing-docs", type=int, default=200)
    parser.add_argument("--timing-rounds", type=int, default=5, help="alternating NER-alone / joint rounds (median of the paired ratios)")
    parser.add_argument("--no-timing", action="store_true", help="skip the joint-cost timing (quality only)")
    parser.add_argument("--relations", default=None, help="a relation model directory to score instead of the pipeline's own (e.g. a run in runs/)")
    parser.add_argument("--precision", default="fp32", help="runtime precision: fp32 (default, the reference), int8, bf16, auto")
    parser.add_argument("--output", default="relations", help="results file name in benchmarks/results (default: relations)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import defnlp
    from defnlp.config import project_root
    from defnlp.io import corpora

    nlp = defnlp.load(args.model, relations=args.relations or True, precision=args.precision)
    if nlp.relations is None:
        raise SystemExit("the pipeline has no relation model")
    scheme = nlp.relations.scheme
    symmetric = {r for r in nlp.relation_labels if scheme.is_symmetric(r)}
    examples = project_root() / "data" / "examples"
    train = corpora.load_re3d(split="train") + corpora.read_corpus("markup", path=examples, split="train")
    baseline = TypePairBaseline().fit(train)
    test = corpora.load_re3d(split="test")
    sets = {"examples dev": corpora.read_corpus("markup", path=examples, split="dev"),
            "layout dev": corpora.read_corpus("markup", path=project_root() / "data" / "layout-dev", split="dev"),
            "re3d test non-BBC": [d for d in test if not d.meta.get("bbc")], "re3d test BBC": [d for d in test if d.meta.get("bbc")]}
    # re3d's gold in the NER model's conventions (DESIGN.md: names, no pronoun or common-noun
    # mentions, no leading articles; relations of dropped mentions dropped), as the model trains on it
    names = corpora.load_source(corpora.DataSource(format="re3d", split="test", names_only=True))
    sets["re3d test non-BBC, names only"] = [d for d in names if not d.meta.get("bbc")]
    labels = sorted(nlp.relation_labels)

    rows, details, calibration = [], {}, {}
    for name, gold in sets.items():
        n_rel = sum(len(d.relations) for d in gold)
        model_gold = predict_with_gold_entities(nlp, gold)
        base_gold = [baseline.predict(d, symmetric) for d in gold]
        model_e2e = list(nlp.pipe(Doc(d.text, id=d.id, lang=d.lang) for d in gold))
        base_e2e = [baseline.predict(p, symmetric) for p in model_e2e]
        for mode, m_pred, b_pred in (("gold entities", model_gold, base_gold), ("end to end", model_e2e, base_e2e)):
            rm = evaluate_relations(gold, m_pred, labels, symmetric)
            rb = evaluate_relations(gold, b_pred, labels, symmetric)
            rows.append({"set": name, "mode": mode, "docs": len(gold), "gold_relations": n_rel,
                         "model_p": 100 * rm.micro["precision"], "model_r": 100 * rm.micro["recall"], "model_f1": 100 * rm.micro["f1"],
                         "baseline_f1": 100 * rb.micro["f1"], "delta": 100 * (rm.micro["f1"] - rb.micro["f1"])})
            details[f"{name} | {mode}"] = {"model": rm.to_dict(), "baseline": rb.to_dict()}
            print(f"\n{name}, {mode}")
            print(rm.table("model"))
            print(rb.table("type-pair baseline"))
        rel = reliability(*_scored(gold, model_e2e, symmetric))
        calibration[name] = rel.to_dict()
        rows[-1]["ece"] = rel.ece
        print(rel.table(f"{name}, end to end: are relation scores probabilities?"))
    print()
    print(table(rows, ["set", "mode", "docs", "gold_relations", "model_p", "model_r", "model_f1", "baseline_f1", "delta", "ece"],
                title="relation micro-F1: defnlp relation model vs type-pair baseline"))
    record = {"model": nlp.info().get("relations"), "precision": nlp.runtime.precision, "rows": rows, "details": details,
              "calibration": calibration, "labels": labels,
              "baseline_table": {f"{h}->{t}": l for (h, t), l in baseline.table.items()}}
    if args.no_timing:
        print(f"\nwrote {save(args.output, record)}")
        return

    # joint cost: NER alone vs NER + relations on the same documents
    docs = [Doc(d.text) for d in corpora.load_re3d()] + [Doc(d.text) for d in corpora.load_winer_fr(defence_only=True)]
    docs = docs[: args.timing_docs]
    ner_only = defnlp.load(args.model, relations=False, precision=args.precision)
    runs = {"ner": lambda: list(ner_only.pipe(d.copy() for d in docs)), "joint": lambda: list(nlp.pipe(d.copy() for d in docs))}
    for run in runs.values():  # warm-up
        run()
    seconds: dict[str, list[float]] = {"ner": [], "joint": []}
    for _ in range(args.timing_rounds):  # alternating, so that a drift of the machine's speed hits both alike
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    ratios = [j / n for j, n in zip(seconds["joint"], seconds["ner"])]
    t_ner, t_joint = statistics.median(seconds["ner"]), statistics.median(seconds["joint"])
    timing = {"docs": len(docs), "rounds": args.timing_rounds, "seconds_ner": t_ner, "seconds_ner_re": t_joint,
              "ratio": statistics.median(ratios), "ratios": [round(r, 3) for r in ratios]}

    print(f"\njoint NER + relations vs NER alone on {len(docs)} documents, {args.timing_rounds} alternating rounds: "
          f"median {t_joint:.1f} s vs {t_ner:.1f} s; paired ratio median {timing['ratio']:.2f}x (rounds {timing['ratios']})")
    print(f"\nwrote {save(args.output, {**record, 'timing': timing})}")


def _scored(gold: list[Doc], pred: list[Doc], symmetric: set[str]) -> tuple[list[float], list[bool]]:
    """Each predicted relation's score and whether it is right (label and both spans)."""
    scores, correct = [], []
    for g, p in zip(gold, pred):
        keys = relation_keys(g, symmetric)
        for r in p.relations:
            scores.append(float(r.score if r.score is not None else 1.0))
            correct.append(relation_key(p, r.head, r.tail, r.label, symmetric) in keys)
    return scores, correct


if __name__ == "__main__":
    main()
