"""Training the relation head on top of a trained NER model's encoder.

The NER model's encoder (adapters merged) stays frozen: its hidden states for every training
document are computed once, then the small pair classifier trains for many epochs in
seconds. The result is a relation model directory that names the NER model (and the sha256
of its weights) it must run with, so that at inference both heads share one encoder pass.

>>> cfg = RelationTrainingConfig(name="re", output="runs/re", ner_model="defence-v1-ner",
...                              train=[DataSource(format="re3d", split="train")])
>>> cfg.epochs
40
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import config_to_dict
from ..doc import Doc
from ..errors import ConfigError, TrainingError
from ..evaluation.relations import evaluate_relations
from ..models import ModelSpec, find_model, write_model_dir
from ..ner.model import load_ner
from ..relations.candidates import candidate_pairs, entity_token_ranges
from ..relations.model import RelationHead, head_tensors, label_mask, predict_relations
from ..scheme import load_scheme
from .data import DataSource, load_source
from .ner import set_seed

log = logging.getLogger(__name__)

__all__ = ["RelationTrainingConfig", "train_relations", "encode_documents"]


@dataclass
class RelationTrainingConfig:
    name: str
    output: str
    ner_model: str
    train: list[DataSource]
    dev: list[DataSource] = field(default_factory=list)
    scheme: str = "defence-v1"
    labels: list[str] | None = None
    seed: int = 13
    epochs: int = 40
    lr: float = 1e-3
    weight_decay: float = 0.01
    none_weight: float = 0.3
    docs_per_batch: int = 4
    patience: int = 8
    threshold: float = 0.5
    max_sentence_distance: int = 1
    proj: int = 256
    mlp: int = 256
    dropout: float = 0.2
    description: str = ""
    base_dir: str = ""

    def validate(self) -> None:
        if not self.train:
            raise ConfigError("a relation training config needs at least one [[train]] source")
        if self.epochs < 1 or self.lr <= 0 or not (0 < self.threshold < 1):
            raise ConfigError("epochs >= 1, lr > 0 and 0 < threshold < 1 are required")
        for s in self.train + self.dev:
            s.validate()

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p


@dataclass
class EncodedDoc:
    doc: Doc
    hidden: torch.Tensor  # (tokens, H), float16 to save memory
    token_spans: list[tuple[int, int]]


def encode_documents(ner, docs: list[Doc]) -> list[EncodedDoc]:
    """Hidden states of the NER encoder for each document (one batched pass); documents without
    sentences get the engine's, since candidate pairs are drawn per sentence as at inference."""
    from ..inference import Engine, Runtime

    engine = Engine(ner.encoder.model, ner.encoder.tokenizer, [], lambda state: state.doc, Runtime.create(device="cpu"),
                    max_tokens=ner.spec.max_tokens, overlap=ner.spec.overlap)
    return [EncodedDoc(doc, torch.from_numpy(hidden).half(), spans) for doc, hidden, spans in engine.hidden_states(docs)]


def _targets(doc: Doc, pairs, labels: list[str], symmetric: set[str]) -> tuple[list[int], int]:
    index = {l: k + 1 for k, l in enumerate(labels)}
    gold: dict[tuple[int, int], int] = {}
    for r in doc.relations:
        if r.label not in index:
            continue
        gold.setdefault((r.head, r.tail), index[r.label])
        if r.label in symmetric:
            gold.setdefault((r.tail, r.head), index[r.label])
    targets = [gold.get((c.head, c.tail), 0) for c in pairs]
    covered = {(c.head, c.tail) for c in pairs}
    missed = sum(1 for r in doc.relations if r.label in index and (r.head, r.tail) not in covered
                 and not (r.label in symmetric and (r.tail, r.head) in covered))
    return targets, missed


def train_relations(cfg: RelationTrainingConfig) -> Path:
    """Train a relation head; return the output model directory."""
    from tqdm.auto import tqdm

    cfg.validate()
    set_seed(cfg.seed)
    scheme = load_scheme(cfg.scheme)
    labels = cfg.labels or list(scheme.relation_labels)
    symmetric = {l for l in labels if l in scheme.relations and scheme.is_symmetric(l)}
    ner_dir = cfg.resolve(cfg.ner_model)
    ner_dir = ner_dir if ner_dir.is_dir() else find_model(cfg.ner_model)
    ner = load_ner(str(ner_dir))

    def load(sources: list[DataSource]) -> list[Doc]:
        docs: list[Doc] = []
        for s in sources:
            docs += [d for d in load_source(s, base_dir=cfg.base_dir or ".", seed=cfg.seed) if d.entities]
        return docs

    train_docs, dev_docs = load(cfg.train), load(cfg.dev) if cfg.dev else []
    if not any(d.relations for d in train_docs):
        raise TrainingError("the training sources hold no relations")
    started = time.perf_counter()
    train_enc = encode_documents(ner, train_docs)
    dev_enc = encode_documents(ner, dev_docs) if dev_docs else []
    log.info("encoded %d train / %d dev documents in %.0f s", len(train_enc), len(dev_enc), time.perf_counter() - started)

    head = RelationHead(int(ner.encoder.model.config.hidden_size), ner.spec.labels, labels,
                        proj=cfg.proj, mlp=cfg.mlp, dropout=cfg.dropout)
    examples = []
    n_pos = n_missed = 0
    for enc in train_enc:
        ranges = entity_token_ranges(enc.doc, enc.token_spans)
        pairs = candidate_pairs(enc.doc, ranges, scheme, labels, cfg.max_sentence_distance)
        if not pairs:
            continue
        targets, missed = _targets(enc.doc, pairs, labels, symmetric)
        mask = label_mask(scheme, labels, enc.doc, pairs)
        t = torch.tensor(targets)
        keep = mask[torch.arange(len(pairs)), t]  # gold labels the scheme forbids for these types: skip
        t[~keep] = -100
        n_pos += int((t > 0).sum())
        n_missed += missed
        examples.append((enc, ranges, pairs, t, mask, head.label_ids([e.label for e in enc.doc.entities])))
    log.info("relation training: %d documents, %d positive pairs, %d gold relations outside the candidates",
             len(examples), n_pos, n_missed)
    weights = torch.ones(len(labels) + 1)
    weights[0] = cfg.none_weight
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = random.Random(cfg.seed)
    best, best_epoch, bad = -math.inf, 0, 0
    history: list[dict[str, Any]] = []
    output = cfg.resolve(cfg.output)
    for epoch in range(cfg.epochs):
        head.train()
        order = list(range(len(examples)))
        rng.shuffle(order)
        losses = []
        for start in tqdm(range(0, len(order), cfg.docs_per_batch), desc=f"epoch {epoch + 1}", leave=False, disable=None):
            logits_all, targets_all = [], []
            for k in order[start : start + cfg.docs_per_batch]:
                enc, ranges, pairs, t, mask, lab = examples[k]
                logits = head(enc.hidden.float(), ranges, lab, pairs).masked_fill(~mask, -1e4)
                logits_all.append(logits)
                targets_all.append(t)
            loss = torch.nn.functional.cross_entropy(torch.cat(logits_all), torch.cat(targets_all), weight=weights, ignore_index=-100)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
        if dev_enc:
            head.eval()
            report = evaluate_relations([e.doc for e in dev_enc], _predict(head, dev_enc, scheme, cfg), labels, symmetric)
            record["dev_f1"] = report.micro["f1"]
            record["dev_per_label"] = {k: round(v["f1"], 4) for k, v in report.per_label.items() if v["gold"]}
        history.append(record)
        log.info("epoch %d: loss %.4f dev F1 %s", epoch + 1, record["loss"], record.get("dev_f1"))
        score = record.get("dev_f1", -record["loss"])
        if score > best:
            best, best_epoch, bad = score, epoch + 1, 0
            _save(head, cfg, ner, labels, output, history)
        else:
            bad += 1
            if dev_enc and bad >= cfg.patience:
                log.info("early stopping at epoch %d (best %d)", epoch + 1, best_epoch)
                break
    spec_path = output / "defnlp.json"
    if not spec_path.is_file():
        raise TrainingError("relation training saved no model")
    _save(head_from(output, ner, labels, cfg), cfg, ner, labels, output, history, best_epoch)
    return output


def _predict(head: RelationHead, encoded: list[EncodedDoc], scheme, cfg: RelationTrainingConfig) -> list[Doc]:
    out = []
    with torch.inference_mode():
        for enc in encoded:
            p = enc.doc.copy()
            p.relations = predict_relations(head, p, enc.hidden, enc.token_spans, scheme, cfg.threshold, cfg.max_sentence_distance)
            out.append(p)
    return out


def head_from(path: Path, ner, labels: list[str], cfg: RelationTrainingConfig) -> RelationHead:
    from ..relations.model import load_relations

    return load_relations(str(path), ner).head


def _save(head: RelationHead, cfg: RelationTrainingConfig, ner, labels: list[str], output: Path, history, best_epoch: int | None = None) -> None:
    spec = ModelSpec(
        name=cfg.name,
        task="relations",
        labels=list(labels),
        scheme=cfg.scheme,
        encoder=dict(ner.spec.encoder),
        adapter={"type": "none"},
        head={**head.config, "dropout": cfg.dropout, "entity_labels": list(ner.spec.labels), "threshold": cfg.threshold,
              "max_sentence_distance": cfg.max_sentence_distance, "type": "span-pair-mlp"},
        max_tokens=ner.spec.max_tokens,
        overlap=ner.spec.overlap,
        depends_on={"name": ner.spec.name, "sha256": ner.weights_sha256},
        training={"config": {k: v for k, v in config_to_dict(cfg).items() if k != "base_dir"}, "history": history,
                  "best_epoch": best_epoch, "seed": cfg.seed, "torch": torch.__version__},
        description=cfg.description,
    )
    write_model_dir(output, spec, head_tensors(head))
