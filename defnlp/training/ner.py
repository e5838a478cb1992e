"""Fine-tuning a NER model: LoRA adapters + a tag head on the frozen shared encoder.

>>> cfg = NerTrainingConfig(name="my-ner", output="runs/my-ner",
...                         train=[DataSource(format="markup", path="data/examples")])
>>> cfg.lora.r
16

Run it with ``defnlp train ner CONFIG.toml`` or :func:`train_ner`. Training is deterministic
for a given seed and machine (seeded Python/NumPy/torch RNGs, deterministic batch order),
evaluates on the dev sources after each epoch, keeps the best model by dev micro-F1, stops
early after ``patience`` epochs without improvement, and writes checkpoints that a later run
resumes from (``resume = true``).

``frozen_layers = K`` keeps the K lowest encoder layers without adapters: their outputs for
every training window are computed once and cached, and each step only runs (and
back-propagates through) the layers above — about twice as fast on CPU for K = 6.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import config_to_dict, project_root
from ..doc import Doc
from ..encoders import load_encoder
from ..encoders.adapters import LoraSettings, add_lora, load_lora_into_peft, lora_tensors
from ..errors import ConfigError, TrainingError
from ..evaluation.ner import evaluate_ner
from ..models import ModelSpec, find_model, read_model_dir, write_model_dir
from ..ner.model import NerHead, NerModel, head_tensors, partial_label_loss
from ..ner.tagging import TagSet
from ..scheme import load_scheme
from .data import DataSource, collate, length_grouped_batches, load_source, windows_dataset

log = logging.getLogger(__name__)

__all__ = ["NerTrainingConfig", "train_ner", "set_seed"]


@dataclass
class NerTrainingConfig:
    """Everything a NER training run needs; loaded from TOML/JSON by :func:`defnlp.config.load_config`."""

    name: str
    output: str
    train: list[DataSource]
    dev: list[DataSource] = field(default_factory=list)
    encoder: str = "multilingual-e5-small"
    scheme: str = "defence-v1"
    labels: list[str] | None = None
    init_from: str = ""
    seed: int = 13
    epochs: int = 5
    lr: float = 3e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    batch_tokens: int = 4096
    max_batch: int = 32
    max_tokens: int = 254
    overlap: int = 32
    grad_clip: float = 1.0
    unannotated_o_weight: float = 0.3
    frozen_layers: int = 0
    patience: int = 2
    max_steps: int = 0
    log_every: int = 50
    resume: bool = False
    checkpoint: str = ""
    threads: int = 0
    lora: LoraSettings = field(default_factory=LoraSettings)
    description: str = ""
    base_dir: str = ""

    def validate(self) -> None:
        if not self.train:
            raise ConfigError("a training config needs at least one [[train]] source")
        if self.epochs < 1 or self.lr <= 0 or self.batch_tokens < 64:
            raise ConfigError("epochs >= 1, lr > 0 and batch_tokens >= 64 are required")
        if not (8 <= self.max_tokens <= 510):
            raise ConfigError("max_tokens must be between 8 and 510")
        for s in self.train + self.dev:
            s.validate()

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p


class FrozenPrefix:
    """The K lowest encoder layers, run once per training window and cached (fp16).

    Relies on the BERT layout of the encoder (``embeddings`` + ``encoder.layer``); the masks
    are built by transformers' own helper, so attention implementations stay interchangeable.
    """

    def __init__(self, peft_model: torch.nn.Module, k: int, pad_id: int) -> None:
        base = peft_model.get_base_model() if hasattr(peft_model, "get_base_model") else peft_model
        if not (hasattr(base, "embeddings") and hasattr(base, "encoder") and hasattr(base.encoder, "layer")):
            raise ConfigError("frozen_layers needs a BERT-style encoder", "set frozen_layers = 0 for this encoder")
        self.base, self.k, self.pad_id = base, k, pad_id

    def _mask(self, hidden: torch.Tensor, mask: torch.Tensor):
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.base.config, inputs_embeds=hidden, attention_mask=mask)

    def _run(self, hidden: torch.Tensor, mask: torch.Tensor, layers) -> torch.Tensor:
        ext = self._mask(hidden, mask)
        for layer in layers:
            out = layer(hidden, attention_mask=ext)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    @torch.inference_mode()
    def cache(self, dataset, batch_tokens: int) -> list[torch.Tensor]:
        from ..inference.batching import pack_batches

        lengths = [len(x) for x in dataset["input_ids"]]
        out: list[torch.Tensor | None] = [None] * len(lengths)
        self.base.eval()
        started = time.perf_counter()
        for batch in pack_batches(lengths, batch_tokens * 4):
            rows = [dataset[i]["input_ids"] for i in batch]
            longest = max(map(len, rows))
            ids = torch.full((len(rows), longest), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), longest), dtype=torch.long)
            for r, x in enumerate(rows):
                ids[r, : len(x)] = torch.tensor(x)
                mask[r, : len(x)] = 1
            hidden = self._run(self.base.embeddings(input_ids=ids), mask, self.base.encoder.layer[: self.k])
            for r, i in enumerate(batch):
                out[i] = hidden[r, : lengths[i]].to(torch.float16).clone()
        self.base.train()
        log.info("cached the outputs of the %d frozen layers for %d windows in %.0f s", self.k, len(out), time.perf_counter() - started)
        return out  # type: ignore[return-value]

    def stack(self, rows: list[torch.Tensor]) -> torch.Tensor:
        longest = max(r.shape[0] for r in rows)
        out = torch.zeros((len(rows), longest, rows[0].shape[1]), dtype=torch.float32)
        for i, r in enumerate(rows):
            out[i, : r.shape[0]] = r.float()
        return out

    def top(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._run(hidden, mask, self.base.encoder.layer[self.k :])


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels where it has them."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _load_sources(sources: list[DataSource], cfg: NerTrainingConfig) -> list[Doc]:
    docs: list[Doc] = []
    for source in sources:
        docs += load_source(source, base_dir=cfg.base_dir or ".", seed=cfg.seed)
    return docs


def predict_docs(model: NerModel, tokenizer, tagset: TagSet, docs: list[Doc], max_tokens: int, overlap: int) -> list[Doc]:
    """Annotate ``docs`` with a (training) model through the real inference engine."""
    from ..inference import Engine, Runtime, TokenHead
    from ..ner.model import decode_entities
    from ..doc import Entity

    def finish(state):
        doc = state.doc
        doc.entities = [Entity(s, e, l, doc.text[s:e], sc) for s, e, l, sc in decode_entities(tagset, state.units, state.outputs["ner"])]
        return doc

    was_training = model.training
    model.eval()
    engine = Engine(model.encoder, tokenizer, [TokenHead("ner", model.head)], finish, Runtime.create(device="cpu"),
                    max_tokens=max_tokens, overlap=overlap)
    out = [d for _, d in engine.run(d.copy(annotations=False) for d in docs)]
    model.train(was_training)
    return out


def evaluate_dev(model: NerModel, tokenizer, tagset: TagSet, dev_docs: list[Doc], cfg: NerTrainingConfig, labels: list[str]) -> dict[str, Any]:
    """Dev micro-F1 per source, each on the labels that source annotates; ``dev_f1`` is their mean."""
    pred = predict_docs(model, tokenizer, tagset, dev_docs, cfg.max_tokens, cfg.overlap)
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(dev_docs):
        groups.setdefault(d.meta.get("source", "dev"), []).append(i)
    out: dict[str, Any] = {"dev_sources": {}}
    for source, idx in groups.items():
        annotated = dev_docs[idx[0]].meta.get("annotated")
        scored = [x for x in labels if annotated is None or x in annotated]
        report = evaluate_ner([dev_docs[i] for i in idx], [pred[i] for i in idx], labels=scored)
        out["dev_sources"][source] = {"f1": round(report.micro["f1"], 4),
                                      "per_label": {k: round(v["f1"], 4) for k, v in report.per_label.items()}}
    out["dev_f1"] = float(np.mean([v["f1"] for v in out["dev_sources"].values()]))
    return out


def train_ner(cfg: NerTrainingConfig) -> Path:
    """Train (or continue training) a NER model; return the output model directory."""
    from tqdm.auto import tqdm

    cfg.validate()
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    scheme = load_scheme(cfg.scheme)
    labels = cfg.labels or list(scheme.entity_labels)
    for label in labels:
        if label not in scheme.entities:
            log.warning("label %r is not in scheme %s (kept as a custom label)", label, scheme.name)
    tagset = TagSet(labels)
    output = cfg.resolve(cfg.output)
    ckpt_dir = cfg.resolve(cfg.checkpoint) if cfg.checkpoint else output.parent / f"{output.name}.checkpoint"

    encoder = load_encoder(cfg.encoder)
    tokenizer = encoder.tokenizer
    base = encoder.model
    for p in base.parameters():
        p.requires_grad_(False)
    n_layers = int(base.config.num_hidden_layers)
    if not 0 <= cfg.frozen_layers < n_layers:
        raise ConfigError(f"frozen_layers must be between 0 and {n_layers - 1}")
    if cfg.frozen_layers:
        upper = list(range(cfg.frozen_layers, n_layers))
        cfg.lora.layers = [l for l in (cfg.lora.layers or upper) if l >= cfg.frozen_layers]
    peft_model = add_lora(base, cfg.lora)
    head = NerHead(int(base.config.hidden_size), len(tagset))
    model = NerModel(peft_model, head)

    start_epoch = 0
    if cfg.init_from:
        local = cfg.resolve(cfg.init_from)
        _init_from(model, local if local.is_dir() else find_model(cfg.init_from), tagset, encoder.info.sha256)

    train_docs = _load_sources(cfg.train, cfg)
    dev_docs = _load_sources(cfg.dev, cfg) if cfg.dev else []
    train_ds = windows_dataset(train_docs, tokenizer, tagset, cfg.max_tokens, cfg.overlap)
    lengths = [len(x) for x in train_ds["input_ids"]]
    log.info("training on %d windows (%d tokens) from %d documents; dev: %d documents",
             len(train_ds), sum(lengths), len(train_docs), len(dev_docs))

    prefix = FrozenPrefix(peft_model, cfg.frozen_layers, tokenizer.pad_token_id) if cfg.frozen_layers else None
    cache = prefix.cache(train_ds, cfg.batch_tokens) if prefix else None

    steps_per_epoch = len(length_grouped_batches(lengths, cfg.batch_tokens, random.Random(0), cfg.max_batch))
    total_steps = cfg.max_steps or steps_per_epoch * cfg.epochs
    params = [
        {"params": [p for p in peft_model.parameters() if p.requires_grad], "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": list(head.parameters()), "lr": cfg.head_lr, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(params)
    if cfg.resume and (ckpt_dir / "state.json").is_file():
        start_epoch = _load_checkpoint(model, optimizer, ckpt_dir)
        log.info("resuming from %s after epoch %d", ckpt_dir, start_epoch)
    warmup = max(1, int(cfg.warmup * total_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total_steps - step) / max(1, total_steps - warmup)) if step >= warmup else (step + 1) / warmup
    )
    for _ in range(start_epoch * steps_per_epoch):
        schedule.step()

    best_f1, best_epoch, bad_epochs = -math.inf, -1, 0
    history: list[dict[str, Any]] = []
    if (ckpt_dir / "state.json").is_file() and cfg.resume:
        state = json.loads((ckpt_dir / "state.json").read_text())
        best_f1, best_epoch, history = state["best_f1"], state["best_epoch"], state["history"]
    step = start_epoch * steps_per_epoch
    started = time.perf_counter()
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        epoch_rng = random.Random(cfg.seed * 1000 + epoch)
        batches = length_grouped_batches(lengths, cfg.batch_tokens, epoch_rng, cfg.max_batch)
        losses = []
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False, disable=None)
        for batch in bar:
            ids, mask, allowed = collate([train_ds[i] for i in batch], tagset, tokenizer.pad_token_id)
            if prefix is not None:
                logits = model.head(prefix.top(prefix.stack([cache[i] for i in batch]), mask))
            else:
                logits = model(ids, mask)
            loss = partial_label_loss(logits, allowed, cfg.unannotated_o_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], cfg.grad_clip)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            step += 1
            if step % cfg.log_every == 0:
                log.info("step %d (epoch %d, %d/%d): loss %.4f, %.0f s", step, epoch + 1, len(losses), len(batches),
                         np.mean(losses[-cfg.log_every:]), time.perf_counter() - started)
            if cfg.max_steps and step >= cfg.max_steps:
                break
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else math.nan,
                                  "seconds": round(time.perf_counter() - started, 1)}
        if dev_docs:
            record.update(evaluate_dev(model, tokenizer, tagset, dev_docs, cfg, labels))
        history.append(record)
        log.info("epoch %d: %s", epoch + 1, {k: v for k, v in record.items() if k != "dev_sources"})
        for source, res in record.get("dev_sources", {}).items():
            log.info("  dev %s: F1 %.4f %s", source, res["f1"], res["per_label"])
        score = record.get("dev_f1", -record["loss"])
        if score > best_f1:
            best_f1, best_epoch, bad_epochs = score, epoch + 1, 0
            _save(model, tagset, cfg, encoder.info, output, history, labels)
        else:
            bad_epochs += 1
        _save_checkpoint(model, optimizer, ckpt_dir, epoch + 1, best_f1, best_epoch, history)
        if cfg.max_steps and step >= cfg.max_steps:
            break
        if dev_docs and bad_epochs >= cfg.patience:
            log.info("early stopping: no dev improvement for %d epochs (best epoch %d)", bad_epochs, best_epoch)
            break
    # keep the provenance of the whole run in the best model's card
    _finalise(output, history, best_epoch)
    return output


def _save(model: NerModel, tagset: TagSet, cfg: NerTrainingConfig, enc_info, output: Path, history, labels) -> None:
    tensors = {**lora_tensors(model.encoder), **head_tensors(model.head)}
    spec = ModelSpec(
        name=cfg.name,
        task="ner",
        labels=list(labels),
        scheme=cfg.scheme,
        encoder={"name": enc_info.name if enc_info.source != "local" else cfg.encoder, "sha256": enc_info.sha256,
                 "hub_id": "intfloat/multilingual-e5-small" if "e5-small" in enc_info.name else ""},
        adapter=cfg.lora.to_dict(),
        head={"type": "linear", "tags": tagset.tags},
        max_tokens=cfg.max_tokens,
        overlap=cfg.overlap,
        training={"config": _portable_config(cfg), "history": history, "seed": cfg.seed,
                  "torch": torch.__version__},
        description=cfg.description,
    )
    write_model_dir(output, spec, tensors)


def _portable_config(cfg: NerTrainingConfig) -> dict[str, Any]:
    data = config_to_dict(cfg)
    data.pop("base_dir", None)
    return data


def _finalise(output: Path, history, best_epoch: int) -> None:
    if not (output / "defnlp.json").is_file():
        raise TrainingError("training finished without saving a model (no epoch completed?)")
    spec = json.loads((output / "defnlp.json").read_text(encoding="utf-8"))
    spec["training"]["history"] = history
    spec["training"]["best_epoch"] = best_epoch
    (output / "defnlp.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    from ..integrity import write_manifest

    files = ["weights.safetensors", "defnlp.json"] + (["README.md"] if (output / "README.md").is_file() else [])
    write_manifest(output, files)


def _init_from(model: NerModel, path: Path, tagset: TagSet, encoder_sha: str) -> None:
    from safetensors.torch import load_file

    spec, weights = read_model_dir(path)
    if spec.encoder.get("sha256") != encoder_sha:
        raise TrainingError(f"init_from model {path} was trained on another encoder")
    tensors = load_file(str(weights))
    load_lora_into_peft(model.encoder, tensors)
    if spec.labels == tagset.labels:
        model.head.proj.weight.data.copy_(tensors["ner.proj.weight"])
        model.head.proj.bias.data.copy_(tensors["ner.proj.bias"])
    else:  # new label set: keep the adapters, copy the rows of shared tags
        old = TagSet(spec.labels)
        for i, tag in enumerate(tagset.tags):
            if tag in old.index:
                model.head.proj.weight.data[i] = tensors["ner.proj.weight"][old.index[tag]]
                model.head.proj.bias.data[i] = tensors["ner.proj.bias"][old.index[tag]]
    log.info("initialised from %s", path)


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """AdamW state as safetensors-friendly tensors (checkpoints never use pickle)."""
    tensors, steps = {}, {}
    for g, group in enumerate(optimizer.param_groups):
        for i, p in enumerate(group["params"]):
            st = optimizer.state.get(p)
            if not st:
                continue
            tensors[f"opt.{g}.{i}.exp_avg"] = st["exp_avg"]
            tensors[f"opt.{g}.{i}.exp_avg_sq"] = st["exp_avg_sq"]
            steps[f"{g}.{i}"] = float(st["step"])
    return tensors, steps


def _save_checkpoint(model: NerModel, optimizer, ckpt_dir: Path, epoch: int, best_f1: float, best_epoch: int, history) -> None:
    from safetensors.torch import save_file

    ckpt_dir.mkdir(parents=True, exist_ok=True)
    opt_tensors, steps = _optimizer_tensors(optimizer)
    tensors = {**lora_tensors(model.encoder), **head_tensors(model.head), **opt_tensors}
    tmp = ckpt_dir / "weights.safetensors.tmp"
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(ckpt_dir / "weights.safetensors")
    state = {"epoch": epoch, "best_f1": best_f1, "best_epoch": best_epoch, "history": history, "steps": steps}
    state_tmp = ckpt_dir / "state.json.tmp"
    state_tmp.write_text(json.dumps(state))
    state_tmp.replace(ckpt_dir / "state.json")


def _load_checkpoint(model: NerModel, optimizer, ckpt_dir: Path) -> int:
    from safetensors.torch import load_file

    tensors = load_file(str(ckpt_dir / "weights.safetensors"))
    state = json.loads((ckpt_dir / "state.json").read_text())
    load_lora_into_peft(model.encoder, tensors)
    model.head.proj.weight.data.copy_(tensors["ner.proj.weight"])
    model.head.proj.bias.data.copy_(tensors["ner.proj.bias"])
    for g, group in enumerate(optimizer.param_groups):
        for i, p in enumerate(group["params"]):
            key = f"{g}.{i}"
            if key in state.get("steps", {}):
                optimizer.state[p] = {
                    "step": torch.tensor(state["steps"][key]),
                    "exp_avg": tensors[f"opt.{key}.exp_avg"].clone(),
                    "exp_avg_sq": tensors[f"opt.{key}.exp_avg_sq"].clone(),
                }
    return int(state["epoch"])
