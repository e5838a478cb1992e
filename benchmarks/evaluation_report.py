"""Write docs/evaluation.md from the benchmark results (benchmarks/results/*.json).

    python benchmarks/evaluation_report.py

Every figure on that page is copied from a result file by this script, never typed by hand;
re-run it after any benchmark. Sections whose result file is missing say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import fmt, load_result, md_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "evaluation.md"


def machine_line(res: dict[str, Any]) -> str:
    m = res.get("machine", {})
    cpu = m.get("cpu") or m.get("platform", "")
    threads = m.get("torch_threads")
    return f"run {res.get('date') or m.get('date', '')}, {cpu}, {m.get('cores') or m.get('cpu_count')} cores" + (
        f", {threads} torch threads" if threads else "")


def missing(command: str) -> list[str]:
    return [f"*Not measured yet: run `{command}`.*", ""]


def open_section(title: str, command: str, result: str) -> tuple[list[str], dict[str, Any] | None]:
    """The section's heading and command, and its result file (None if not measured yet)."""
    return [f"## {title}", "", f"`{command}`", ""], load_result(result)


def ner_section() -> list[str]:
    lines, res = open_section("Named entities: defnlp vs spaCy md", "python benchmarks/ner_quality.py", "ner_quality")
    if not res:
        return lines + missing("python benchmarks/ner_quality.py")
    lines += [
        f"seqeval strict IOB2 micro-F1 ({machine_line(res)}). spaCy md is `fr_core_news_md` for French and "
        "`en_core_web_md` for English, its labels mapped to defence-v1 as described in the script "
        "(PERSON→PER, ORG→ORG, GPE/LOC/FAC→LOC, NORP→NAT, DATE/TIME→DATE, MONEY→MONEY, "
        "CARDINAL/QUANTITY→QUANTITY, LAW→DOCUMENT; French MISC dropped). Rows name the labels scored; "
        "per-label rows give defnlp alone (spaCy has no such label).", "",
        md_table(res["rows"], ["set", "labels", "docs", "defnlp_f1", "spacy_md_f1", "delta", "defnlp_p", "defnlp_r"]
                 + (["compare_f1"] if res.get("compare") else []),
                 {"defnlp_f1": "defnlp F1", "spacy_md_f1": "spaCy md F1", "defnlp_p": "defnlp P", "defnlp_r": "defnlp R",
                  "compare_f1": "compared F1"}),
        "",
    ]
    if res.get("compare"):
        c = res["compare"]
        lines += [f"Compared: `{c['name']}` ({c.get('path', '')}) in the same run.", ""]
    return lines


def relations_section() -> list[str]:
    lines, res = open_section("Relations: defnlp vs the type-pair baseline", "python benchmarks/relations.py", "relations")
    if not res:
        return lines + missing("python benchmarks/relations.py")
    t = res["timing"]
    lines += [
        f"re3d test, non-BBC and BBC documents apart ({machine_line(res)}). Micro-F1 over the re3d relation types; "
        "end to end, a relation counts only if its label and both entity spans are exact. The baseline predicts, "
        "for each pair of entities in a sentence, the most frequent relation of that pair of entity labels in the "
        "same training data.", "",
        md_table(res["rows"], ["set", "mode", "gold_relations", "model_p", "model_r", "model_f1", "baseline_f1", "delta"],
                 {"gold_relations": "gold", "model_p": "P", "model_r": "R", "model_f1": "F1", "baseline_f1": "baseline F1"}),
        "",
        "Per relation type with gold entities (non-BBC):", "",
    ]
    det = res["details"].get("re3d test non-BBC | gold entities")
    if det:
        per = det["model"].get("per_label", {})
        base = det["baseline"].get("per_label", {})
        rows = [{"relation": k, "P": 100 * v["precision"], "R": 100 * v["recall"], "F1": 100 * v["f1"], "gold": v.get("support", v.get("gold")),
                 "baseline F1": 100 * base.get(k, {}).get("f1", 0.0)} for k, v in sorted(per.items())]
        lines += [md_table(rows, ["relation", "gold", "P", "R", "F1", "baseline F1"]), ""]
    lines += [f"Joint cost: NER + relations took {t['seconds_ner_re']:.1f} s vs {t['seconds_ner']:.1f} s for NER alone on "
              f"the same {t['docs']} documents: **{t['ratio']:.2f}×** (the encoder runs once).", ""]
    return lines


def throughput_section() -> list[str]:
    lines = ["## Inference speed", "", "`python benchmarks/throughput.py` and `python benchmarks/throughput.py --memory`", ""]
    res = load_result("throughput")
    if not res:
        lines += missing("python benchmarks/throughput.py")
    else:
        cols = ["system", "tokens_per_s", "docs_per_s", "peak_rss_mb", "x_hf_batch1", "fraction_of_limit"]
        if any("words_per_s" in r for r in res["rows"]):  # per-precision runs (issue 17): words/s and × spaCy md too
            cols[1:1] = ["resolved_precision"]
            cols[3:3] = ["words_per_s"]
            cols[-1:-1] = ["x_spacy_words"]
        lines += [
            f"{res['documents']} mixed-length FR/EN documents, {res['tokens']:,} tokens, on {res['device']} ({machine_line(res)}). "
            "Each system runs in its own process on the same documents and the same weights (the HF pipeline gets "
            "the model exported to `BertForTokenClassification`, `aggregation_strategy=\"simple\"`, with striding "
            "so that it too sees whole documents). `x_hf_batch1`: tokens/s over the HF pipeline's at batch 1, "
            "same run. `fraction_of_limit`: tokens/s × FLOPs per token / the 2048² "
            + ("matmul GFLOP/s of the row's precision measured in the same run (below)." if res.get("matmul") else
               f"fp32 matmul GFLOP/s measured in the same run ({fmt(res.get('matmul_gflops'))} GFLOP/s)."), "",
            md_table(res["rows"], cols, {"x_hf_batch1": "× HF batch 1", "x_spacy_words": "× spaCy md words/s",
                                         "fraction_of_limit": "of machine limit"}), "",
        ]
        if res.get("matmul"):
            lines += ["Machine limit per precision (2048² matmul, same run): " + "; ".join(
                f"{p} {fmt(r['gflops'])} GFLOP/s ({r['probe']})" for p, r in res["matmul"].items())
                + (" — AMX forced off (`--force-no-amx`)." if res.get("force_no_amx") else "."), ""]
        lines += ["Where the time goes per precision, what the engine does about it and what was tried and not kept "
                  "(torch.compile, oneDNN Graph, fused QKV, hand-written attention, int8 on AMX): "
                  "[experiments](experiments.md). Earlier runs on other CPUs: `results/throughput_*.json`.", ""]
        if res.get("sweep"):
            lines += ["Token-budget sweep (fp32):", "", md_table(res["sweep"], ["token_budget", "tokens_per_s", "docs_per_s", "peak_rss_mb"]), ""]
        if res.get("precision_quality"):
            lines += ["NER micro-F1 per precision vs fp32 (`resolved_precision`: what `auto` ran as):", "",
                      md_table(res["precision_quality"], ["set", "precision", "resolved_precision", "f1_fp32", "f1", "delta"]), ""]
        elif res.get("int8_quality"):
            lines += ["Dynamic int8 quantisation vs fp32, NER micro-F1:", "", md_table(res["int8_quality"], ["set", "f1_fp32", "f1_int8", "delta"]), ""]
    variants = load_result("int8_variants")
    if variants:
        deltas = [c for c in variants["rows"][0] if c.startswith("delta ")]
        lines += [f"int8 variants tried (`python benchmarks/int8_variants.py`, {machine_line(variants)}; speed in one process, "
                  "F1 deltas vs fp32 in points; the first int8 row is what `precision=\"int8\"` runs):", "",
                  md_table(variants["rows"], ["variant", "tokens_per_s", "x_fp32"] + deltas), ""]
    mem = load_result("throughput_memory")
    if mem:
        lines += [f"Peak memory of `defnlp annotate` on 1k vs 20k documents ({machine_line(mem)}): ratio "
                  f"**{mem['rss_ratio_20k_over_1k']:.3f}**.", "", md_table(mem["rows"], ["records", "seconds", "docs_per_s", "max_rss_mb", "errors"]), ""]
    gpu = load_result("throughput_cuda")
    if gpu:
        lines += ["On GPU:", "", md_table(gpu["rows"], ["system", "tokens_per_s", "docs_per_s", "x_hf_batch1"]), ""]
    enc = load_result("encoder")
    if enc:
        lines += ["Encoder forward pass alone (`python benchmarks/encoder.py`, " + machine_line(enc) + "):", "",
                  md_table(enc["rows"], ["batch_size", "seq_len", "tokens_per_s", "sequences_per_s", "gflops_achieved"]), ""]
    return lines


def alignment_section() -> list[str]:
    lines, res = open_section("Alignment", "python benchmarks/alignment.py", "alignment")
    if not res:
        return lines + missing("python benchmarks/alignment.py")
    aer = res.get("aer")
    if aer:
        ours = aer["test"][0]
        rows = [{"system": f"defnlp ({ours['variant']}: layer {ours['layer']}, {ours['method']}, centering {ours['center']})",
                 "AER": ours["aer"], "P": ours["precision"], "R": ours["recall"]}]
        rows += [{"system": v["variant"], "AER": v["aer"], "P": v["precision"], "R": v["recall"]} for v in aer["test"][1:]]
        rows += [{"system": f"{k} (published)", "AER": v} for k, v in aer["anchors"].items()]
        lines += [f"Word alignment, Hansards EN–FR, {aer['test_pairs']} test pairs, no fine-tuning; settings chosen on the "
                  f"{aer['trial_pairs']} trial pairs. Target AER ≤ {aer['target_aer']}.", "", md_table(rows, ["system", "AER", "P", "R"]), ""]
    tr = res.get("transread")
    if tr:
        rows = []
        for variant, v in tr.items():
            if not isinstance(v, dict) or "overall" not in v:
                continue
            rows.append({"variant": variant, "novel": "**overall**", "strict F1": v["overall"]["strict"]["f1"], "lax F1": v["overall"]["lax"]["f1"]})
        first = next((v for v in tr.values() if isinstance(v, dict) and "novels" in v), None)
        if first:
            rows += [{"variant": next(iter(tr)), "novel": k, "strict F1": n["strict_f1"], "lax F1": n["lax_f1"]} for k, n in first["novels"].items()]
        lines += ["Sentence alignment, TransRead novels (FR–EN), strict and lax F1:", "", md_table(rows, ["variant", "novel", "strict F1", "lax F1"]), ""]
    tat = res.get("tatoeba")
    if tat:
        rows = [{"embedder": k, "P@1 fr→en": v["fr_to_en"], "P@1 en→fr": v["en_to_fr"], "seconds": v.get("seconds")} for k, v in tat.items() if isinstance(v, dict) and "fr_to_en" in v]
        lines += ["Bitext retrieval, Tatoeba FR–EN 1,000 pairs:", "", md_table(rows, ["embedder", "P@1 fr→en", "P@1 en→fr", "seconds"]), ""]
    sp = res.get("speed")
    if sp:
        w = sp["word_alignment"]
        lines += [f"Word-alignment speed on {w['pairs']} sentence pairs ({w['device']}, {w['torch_threads']} threads): batched "
                  f"**{w['batched_pairs_per_s']} pairs/s** vs one pair at a time {w['one_at_a_time_pairs_per_s']} pairs/s, "
                  f"×{w['speedup']}, identical links {w['identical_links']} ({machine_line({'machine': sp.get('machine', {})})}).", ""]
        if w.get("by_precision"):
            rows = [{"precision": k, "pairs/s (batched)": v["batched_pairs_per_s"], "links identical to fp32": v["identical_links"]}
                    for k, v in w["by_precision"].items()]
            lines += ["Word alignment by precision, same pairs and run (AER of int8: the Hansards table above, row \"chosen on trial, int8\"):", "",
                      md_table(rows, list(rows[0])), ""]
        rows = [{"mode": k, "sentences per side": v["sentences_per_side"], "seconds": v["seconds_total"], "search only (s)": v["seconds_search_only"],
                 "correct 1-1 links": v["correct_1_1_links"]} for k, v in sp["sentence_alignment"].items()]
        lines += ["Sentence alignment of a 1,000-sentence document pair:", "", md_table(rows, list(rows[0])), ""]
    pr = res.get("projection")
    if pr and "skipped" not in pr:
        rows = [{"match": "exact span + label", **{k.upper() if k != 'f1' else 'F1': 100 * v for k, v in pr["exact"].items()}},
                {"match": "overlapping span + label", **{k.upper() if k != 'f1' else 'F1': 100 * v for k, v in pr["overlap"].items()}}]
        lines += [f"Annotation projection on {pr['segments']} WMT14 defence segments: entities found by the default NER on "
                  f"English ({pr['en_entities']}) projected onto the French side ({pr['projected']} projected), compared with "
                  f"the NER run directly on French ({pr['fr_ner_entities']}):", "", md_table(rows, ["match", "PRECISION", "RECALL", "F1"],
                  {"PRECISION": "P", "RECALL": "R"}), ""]
    return lines


def main() -> None:
    lines = [
        "# Evaluation", "",
        "<!-- generated by benchmarks/evaluation_report.py from benchmarks/results/*.json; do not edit by hand -->", "",
        "Every figure here comes from a script in `benchmarks/` that prints a table and writes JSON to "
        "`benchmarks/results/`; this page is generated from those files (`python benchmarks/evaluation_report.py`). "
        "Speed figures are compared with their anchor **in the same run** (the machines are shared and noisy): "
        "read the ratios, not the absolute numbers. The corpora are read from `../shared/data` (or "
        "`$DEFNLP_DATA_DIR`), see [Corpora](corpora.md); the model cards ([Model cards](models.md)) use the same files.", "",
        "| what | command | result file |", "|---|---|---|",
        "| NER quality vs spaCy md | `python benchmarks/ner_quality.py` | `ner_quality.json` |",
        "| relations vs type-pair baseline; joint cost | `python benchmarks/relations.py` | `relations.json` |",
        "| inference throughput per precision vs HF pipeline and spaCy, F1 change, sweep | `python benchmarks/throughput.py` | `throughput.json` |",
        "| int8 variants: speed and F1 change | `python benchmarks/int8_variants.py` | `int8_variants.json` |",
        "| peak memory, 1k vs 20k documents | `python benchmarks/throughput.py --memory` | `throughput_memory.json` |",
        "| encoder forward pass (batch 1/8/32) | `python benchmarks/encoder.py` | `encoder.json` |",
        "| alignment: Hansards AER, TransRead, Tatoeba, speed, projection | `python benchmarks/alignment.py` | `alignment.json` |",
        "| HTML report rendering | `python benchmarks/viz_render.py` | `viz_render.json` |", "",
    ]
    for section in (ner_section, relations_section, throughput_section, alignment_section):
        lines += section()
    OUT.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
