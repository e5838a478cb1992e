"""Seconds per NER training step on CPU: fp32 vs bf16 autocast, LoRA vs full fine-tuning, attention
dropout on or off, fused or for-loop AdamW; full-delta size and error.

    python benchmarks/training_speed.py [--runs lora:4,lora:0,full:0] [--steps 5] [--threads 2]
    python benchmarks/training_speed.py --runs full:4 --attention-dropout own,0 --optimizers for-loop,fused

Each run (``adapter:frozen_layers``) builds the real :class:`defnlp.training.ner.NerTask` on the
default encoder with the shipped model's batch shape (``batch_tokens`` 1024, ``max_tokens`` 254,
``max_batch`` 8) on re3d train windows, then times whole training steps — forward and loss under
the precision's autocast, backward, gradient clipping, AdamW — with the loop's own optimiser
(:class:`defnlp.training.loop._Optimiser`). The steps alternate fp32 / bf16 on the same
batches, so that the load of other processes on the machine falls on both alike; medians are
reported. bf16 is measured only where the CPU has bf16 units (AMX or AVX512-BF16).

``--attention-dropout own,0`` also times each step with the dropout on the attention
probabilities at 0 (``attention_dropout = 0`` of a NER config: torch then runs its fused attention
kernel in training too; ``own`` is the encoder's own, 0.1 for e5), and ``--optimizers
for-loop,fused`` with torch's for-loop AdamW beside the loop's fused one: every combination runs on
the same batches in turn, and ``speedup`` is each row's median against the run's first mode.

For ``full`` runs it also writes the model directory the run would ship and reports the size of
its weights (the layer deltas + head) and their round-trip error: the reloaded encoder against
the in-memory one, with the deltas stored as float16 (shipped) and as bfloat16 (for comparison).
The deltas after a few benchmark steps are small; the *relative* error (to the delta) is what
carries over to a trained model.

Prints a table and writes benchmarks/results/training_speed.json.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save, table  # noqa: E402

from defnlp.encoders import set_attention_dropout  # noqa: E402
from defnlp.encoders.adapters import DELTA_PREFIX, layer_parameters  # noqa: E402
from defnlp.inference.runtime import cpu_bf16_units, training_autocast  # noqa: E402
from defnlp.io.corpora import DataSource  # noqa: E402
from defnlp.training.loop import LoopSettings, _Optimiser, set_seed  # noqa: E402
from defnlp.training.ner import NerTask, NerTrainingConfig  # noqa: E402


def make_task(adapter: str, frozen: int, args: argparse.Namespace) -> NerTask:
    cfg = NerTrainingConfig(
        name=f"speed-{adapter}-{frozen}", output=str(Path(tempfile.mkdtemp()) / "model"), encoder=args.encoder,
        adapter=adapter, frozen_layers=frozen, precision="fp32", lr=args.lr, head_lr=3e-3,
        batch_tokens=args.batch_tokens, max_batch=args.max_batch, max_tokens=args.max_tokens,
        train=[DataSource(format="re3d", split="train", sample=args.sample)],
    )
    set_seed(13)
    return NerTask(cfg)


def full_batches(task: NerTask, n: int) -> list[list[int]]:
    """``n`` batches of epoch 0 with the most padded tokens (the realistic, full-size steps), in epoch order."""
    padded = lambda b: len(b) * max(task.lengths[i] for i in b)  # noqa: E731
    batches = task.batches(0)
    if len(batches) < n:
        raise SystemExit(f"only {len(batches)} batches: raise --sample")
    keep = set(sorted(range(len(batches)), key=lambda k: padded(batches[k]), reverse=True)[:n])
    return [b for k, b in enumerate(batches) if k in keep]


def time_steps(task: NerTask, batches: list[list[int]], modes: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], list[float]]:
    """Median-ready step times of each mode ``(precision, attention dropout, optimizer)``, modes in turn on each batch."""
    own = {m: m.p for m in task.model.encoder.modules() if isinstance(m, torch.nn.Dropout)}
    attention_dropout = {"own": None, **{a: float(a) for _, a, _ in modes if a != "own"}}
    optimisers = {}
    for name in {o for _, _, o in modes}:
        opt = _Optimiser(task, LoopSettings(epochs=1, seed=13, patience=1))
        if name == "for-loop":  # torch's default AdamW on CPU, as the loop used before it took the fused one
            opt.optimizer, opt.fused = torch.optim.AdamW(task.param_groups(), foreach=False), False
        optimisers[name] = opt
    task.model.train()
    times: dict[tuple[str, str, str], list[float]] = {m: [] for m in modes}
    for k, batch in enumerate([batches[0]] + batches):  # the first step warms up (allocations, oneDNN kernels)
        for mode in modes:
            precision, attention, optimiser = mode
            for m, p in own.items():
                m.p = p
            if attention_dropout[attention] is not None:
                set_attention_dropout(task.model.encoder, attention_dropout[attention])
            start = time.perf_counter()
            with training_autocast(precision):
                loss = task.loss(batch)
            optimisers[optimiser].step(loss)
            if k:
                times[mode].append(time.perf_counter() - start)
    for m, p in own.items():
        m.p = p
    return times


@torch.no_grad()
def delta_round_trip(task: NerTask) -> dict[str, object]:
    """Write the model as shipped; reload it; compare encoder outputs and tags with the in-memory model."""
    from safetensors.torch import load_file

    from defnlp.encoders import load_encoder
    from defnlp.encoders.adapters import FullSettings, apply_layer_deltas
    from defnlp.training.data import collate

    task.save([])
    weights = task.output / "weights.safetensors"
    tensors = load_file(str(weights))
    task.model.eval()
    batch = max(task.batches(0), key=lambda b: len(b) * max(task.lengths[i] for i in b))
    ids, mask, _ = collate([task.train_ds[i] for i in batch], task.tagset, task.tokenizer.pad_token_id)
    ref_hidden = task.model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    ref_tags = task.model.head(ref_hidden).argmax(-1)[mask.bool()]
    trained = layer_parameters(task.model.encoder, task.delta_layers)
    delta_norm = sum(float((p.float() - task.base_weights[n]).pow(2).sum()) for n, p in trained.items()) ** 0.5
    out: dict[str, object] = {"weights_mb": round(weights.stat().st_size / 1e6, 1),
                              "delta_parameters": sum(v.numel() for k, v in tensors.items() if k.startswith(DELTA_PREFIX)),
                              "delta_norm": delta_norm, "fp32_mb": round(sum(p.numel() for p in trained.values()) * 4 / 1e6, 1)}
    for name, dtype in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        stored = {k: (v.to(dtype) if v.dim() >= 2 else v) if k.startswith(DELTA_PREFIX) else v for k, v in tensors.items()}
        encoder = load_encoder(task.cfg.encoder).model
        apply_layer_deltas(encoder, stored, FullSettings(layers=list(task.delta_layers)))
        loaded = layer_parameters(encoder, task.delta_layers)
        err = sum(float((loaded[n] - p).pow(2).sum()) for n, p in trained.items()) ** 0.5
        hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        tags = task.model.head(hidden).argmax(-1)[mask.bool()]
        out[name] = {"weight_error_relative_to_delta": err / max(delta_norm, 1e-30),
                     "hidden_max_abs_error": float((hidden - ref_hidden).abs().max()),
                     "hidden_relative_error": float((hidden - ref_hidden).norm() / ref_hidden.norm()),
                     "tag_agreement": float((tags == ref_tags).float().mean())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="multilingual-e5-small")
    parser.add_argument("--runs", default="lora:4,lora:0,full:0", help="adapter:frozen_layers, comma-separated")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per precision and run (after one warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-tokens", type=int, default=1024)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=254)
    parser.add_argument("--sample", type=float, default=0.5, help="share of re3d train used (windows to draw batches from)")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--attention-dropout", default="own",
                        help="comma-separated: 'own' (the encoder's) and/or values such as 0 (attention_dropout of a NER config)")
    parser.add_argument("--optimizers", default="fused", help="comma-separated: fused (the loop's), for-loop (torch's default on CPU)")
    parser.add_argument("--steps-per-epoch", type=int, default=360,
                        help="for the epoch estimate: configs/defence-v1-ner.toml gives 360 steps of ≤1024 tokens")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    units = cpu_bf16_units()
    precisions = ["fp32", "bf16"] if units else ["fp32"]
    attentions = [a.strip() for a in args.attention_dropout.split(",")]
    optimizers = [o.strip() for o in args.optimizers.split(",")]
    for a in attentions:
        if a != "own" and not 0 <= float(a) < 1:
            raise SystemExit(f"--attention-dropout: {a!r} is neither 'own' nor a number in [0, 1)")
    if set(optimizers) - {"fused", "for-loop"}:
        raise SystemExit("--optimizers: use fused and/or for-loop")
    modes = [(p, a, o) for p in precisions for a in attentions for o in optimizers]
    rows, deltas = [], {}
    for spec in args.runs.split(","):
        adapter, frozen = spec.split(":")
        task = make_task(adapter, int(frozen), args)
        batches = full_batches(task, args.steps)
        tokens = statistics.median(len(b) * max(task.lengths[i] for i in b) for b in batches)
        trainable = sum(p.numel() for g in task.param_groups() for p in g["params"])
        times = time_steps(task, batches, modes)
        first = statistics.median(times[modes[0]])
        for mode in modes:
            precision, attention, optimiser = mode
            med = statistics.median(times[mode])
            rows.append({"adapter": adapter, "frozen_layers": int(frozen), "trained_layers": len(task.trained_layers),
                         "trainable_params_m": round(trainable / 1e6, 2), "precision": precision,
                         "attention_dropout": attention, "optimizer": optimiser,
                         "padded_tokens": int(tokens), "median_s": round(med, 3), "min_s": round(min(times[mode]), 3),
                         "steps": len(times[mode]), "epoch_h": round(med * args.steps_per_epoch / 3600, 2),
                         "times": [round(t, 3) for t in times[mode]]})
            if mode != modes[0]:
                rows[-1]["speedup"] = round(first / med, 2)
        if adapter == "full":
            deltas[spec] = delta_round_trip(task)
        del task

    cols = ["adapter", "frozen_layers", "trained_layers", "trainable_params_m", "precision", "attention_dropout", "optimizer", "padded_tokens",
            "median_s", "min_s", "speedup", "epoch_h"]
    print(table(rows, cols, title=f"NER training step on {args.threads} threads (CPU bf16 units: {units})"))
    for spec, d in deltas.items():
        print(f"\nfull fine-tuning {spec}: weights.safetensors {d['weights_mb']} MB "
              f"({d['delta_parameters']:,} delta parameters; {d['fp32_mb']} MB as fp32)")
        for name in ("float16", "bfloat16"):
            e = d[name]
            print(f"  deltas as {name}: weight error / delta {e['weight_error_relative_to_delta']:.2e}, "
                  f"hidden max |err| {e['hidden_max_abs_error']:.2e} (relative {e['hidden_relative_error']:.2e}), "
                  f"tags agree {e['tag_agreement']:.4f}")
    path = save("training_speed", {"encoder": args.encoder, "cpu_bf16_units": units, "threads": args.threads,
                                   "batch_tokens": args.batch_tokens, "max_batch": args.max_batch,
                                   "max_tokens": args.max_tokens, "lr": args.lr, "rows": rows, "full_deltas": deltas})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
