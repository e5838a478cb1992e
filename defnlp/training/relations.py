"""Training the relation head on top of a trained NER model's encoder.

The NER model's encoder (adapters merged) stays frozen: its hidden states for every training
document are computed once, then the small pair classifier trains for many epochs in
seconds, through the shared loop (:mod:`defnlp.training.loop`, with :class:`RelationTask`).
The result is a relation model directory that names the NER model (and the sha256 of its
weights) it must run with, so that at inference both heads share one encoder pass.

With ``seeds`` (several), one head is trained per seed on the same encoded documents, each to
the end of its schedule, and the model is their average
(:class:`~defnlp.relations.model.RelationEnsemble`) with one decision fitted on dev. A finished
head is kept in ``<output>.checkpoint/seed-<n>``, so an interrupted ensemble run resumes at the
head it was training.

>>> cfg = RelationTrainingConfig(name="re", output="runs/re", ner_model="defence-v1-ner",
...                              train=[DataSource(format="re3d", split="train")])
>>> cfg.epochs
40
"""
from __future__ import annotations


import logging
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ..config import config_to_dict
from ..doc import Doc
from ..errors import ConfigError, TrainingError
from ..evaluation.relations import evaluate_relations
from ..inference.runtime import TRAINING_PRECISIONS
from ..io.corpora import DataSource
from ..models import ModelSpec, write_model_dir
from ..ner.model import load_ner
from ..relations.candidates import candidate_pairs, entity_token_ranges
from ..ner.decoding import decode_entities
from ..relations.aliases import link_aliases
from ..relations.decision import Decision, DevPair, alias_precision, fit_decision
from ..relations.model import (MAX_ENSEMBLE, PairScorer, RelationEnsemble, RelationHead, head_tensors, label_mask,
                                pair_probabilities, predict_relations)
from ..scheme import load_scheme
from .loop import LoopSettings, TrainingConfigMixin, TrainingTask, run_training, set_seed
from .provenance import data_record

log = logging.getLogger(__name__)

__all__ = ["RelationTrainingConfig", "RelationTask", "train_relations", "encode_documents"]


@dataclass
class RelationTrainingConfig(TrainingConfigMixin):
    """A relation training run (keys in docs/fine-tuning.md, section 4)."""

    name: str  # the model's name (in its card)
    output: str  # the model directory to write
    ner_model: str  # the NER model (directory or name) whose encoder states the head reads
    train: list[DataSource]
    dev: list[DataSource] = field(default_factory=list)  # picks the best epoch, stops early
    scheme: str = "defence-v1"
    labels: list[str] | None = None  # relation labels (default: the scheme's)
    seed: int = 13  # seeds the head's initial weights, dropout and the document order
    # several seeds: one head per seed, trained in turn to the end of the schedule and averaged
    # (defnlp.relations.model.RelationEnsemble), one decision fitted for the average; replaces seed
    seeds: list[int] = field(default_factory=list)
    epochs: int = 40
    lr: float = 1e-3  # AdamW, constant
    weight_decay: float = 0.01
    none_weight: float = 0.3  # loss weight of the "no relation" class
    none_sample: float = 1.0  # share of the NONE pairs each step sees (< 1: faster epochs; raise none_weight to match)
    docs_per_batch: int = 4  # documents per optimisation step
    patience: int = 8  # epochs without dev improvement before stopping
    # decay of a moving average of the head's weights, evaluated and saved at each epoch (0: off;
    # defnlp.training.loop.LoopSettings): smooths the epoch-to-epoch swings of the dev score
    ema: float = 0.0
    threshold: float = 0.5  # least probability of a predicted relation (before calibration)
    # also train on the NER model's own entities for the training documents (a spurious or mis-cut
    # entity learns NONE, relations carried over where both spans are right), and select the best
    # epoch end to end on dev. Off by default: for defence-v2-re it won on its selection set but
    # tied on held-out layout documents and lost on re3d (docs/evaluation.md)
    predicted_entities: bool = False
    # after training: calibrate the scores and choose a threshold per relation on dev, end to end
    # (defnlp.relations.decision.fit_decision); needs dev sources
    calibrate: bool = True
    max_sentence_distance: int = 1  # candidate pairs within the same or neighbouring sentences
    proj: int = 256  # width of the token projection
    mlp: int = 256  # width of the pair classifier's hidden layer
    dropout: float = 0.2  # in the head, while training
    # design of the head: 0 pools the NER encoder's states directly ("span pair"); n > 0 adds n
    # block-local self-attention layers over them with typed entity markers ("typed context",
    # defnlp.relations.model.TypedContext)
    context_layers: int = 0
    context_block: int = 128
    # "fp32" (default), "bf16" or "auto" (bf16 where the CPU has bf16 units): autocast of the head's
    # steps. fp32 by default: the head is small (bf16 saves little) and its span means are taken from
    # cumulative sums over a document's tokens, which lose precision in bf16's 8-bit mantissa
    precision: str = "fp32"
    description: str = ""  # free text for the model card
    base_dir: str = ""  # set by load_config: relative paths start from the config file's folder

    def validate(self) -> None:
        self.validate_sources()
        self.validate_ema()
        if self.epochs < 1 or self.lr <= 0 or not (0 < self.threshold < 1) or not (0 < self.none_sample <= 1):
            raise ConfigError("epochs >= 1, lr > 0, 0 < threshold < 1 and 0 < none_sample <= 1 are required")
        if self.context_layers < 0 or (self.context_layers and self.proj % 4):
            raise ConfigError("context_layers must be >= 0, and proj a multiple of 4 with a typed context (4 attention heads)")
        if self.precision not in TRAINING_PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}", f"use one of {', '.join(TRAINING_PRECISIONS)}")
        if self.seeds and (len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds) or len(self.seeds) > MAX_ENSEMBLE
                           or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)):
            raise ConfigError(f"seeds must be 2 to {MAX_ENSEMBLE} distinct integers, not {self.seeds!r}",
                              "for one head, set seed instead (and leave seeds out)")

    def loop_settings(self) -> LoopSettings:
        """No LR schedule, clipping at 1.0, no checkpoints (an ensemble keeps its finished heads instead)."""
        return LoopSettings(epochs=self.epochs, seed=self.seed, patience=self.patience, grad_clip=1.0, record_seconds=False,
                            precision=self.training_precision(), ema=self.ema)


@dataclass
class EncodedDoc:
    doc: Doc
    hidden: torch.Tensor  # (tokens, H), float16 to save memory
    token_spans: list[tuple[int, int]]


def encode_documents(ner, docs: list[Doc]) -> list[EncodedDoc]:
    """Hidden states of the NER encoder for each document (one batched pass); documents without
    sentences get the engine's, since candidate pairs are drawn per sentence as at inference."""
    from ..inference import Engine, Runtime

    engine = Engine(ner.encoder.model, ner.encoder.tokenizer, [], Runtime.create(device="cpu", precision="fp32"),
                    max_tokens=ner.spec.max_tokens, overlap=ner.spec.overlap)
    return [EncodedDoc(doc, torch.from_numpy(hidden).half(), spans) for doc, hidden, spans in engine.hidden_states(docs)]


def predicted_view(ner, enc: EncodedDoc) -> EncodedDoc:
    """``enc`` with the NER model's entities (decoded from the same hidden states) in place of
    the gold ones; a gold relation is kept where both of its entities were found with exact spans.

    The relation head then learns from what it meets at inference: spurious and mis-cut
    entities (NONE), labels the NER model gets wrong.
    """
    with torch.inference_mode():
        log_probs = torch.log_softmax(ner.head(enc.hidden.float()), dim=-1).numpy()
    gold = enc.doc
    view = gold.copy(annotations=False)
    for e in decode_entities(ner.tagset, gold.text, enc.token_spans, log_probs):
        view.add_entity(e.start, e.end, e.label, e.score)
    where = {(e.start, e.end): k for k, e in enumerate(view.entities)}
    for r in gold.relations:
        h, t = gold.entities[r.head], gold.entities[r.tail]
        kh, kt = where.get((h.start, h.end)), where.get((t.start, t.end))
        if kh is not None and kt is not None and kh != kt:
            view.add_relation(kh, kt, r.label)
    return EncodedDoc(view, enc.hidden, enc.token_spans)


def _spans(doc: Doc) -> set[tuple[int, int, str]]:
    return {(e.start, e.end, e.label) for e in doc.entities}


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


@dataclass
class PreparedData:
    """What every head of a run reads, computed once: the NER model, and its encoder states of the
    training documents (with the NER model's own entities added where ``predicted_entities``) and
    of the dev documents (``dev_views``: the same, end to end)."""

    scheme: Any
    ner: Any
    train_enc: list[EncodedDoc]
    dev_enc: list[EncodedDoc]
    dev_views: list[EncodedDoc]
    data: dict[str, Any]  # provenance of the training and dev documents (the card's training.data)

    @classmethod
    def from_config(cls, cfg: RelationTrainingConfig) -> "PreparedData":
        scheme = load_scheme(cfg.scheme)
        ner_dir = cfg.model_dir(cfg.ner_model)
        ner = load_ner(str(ner_dir))
        train_docs = cfg.load_docs(cfg.train, keep=lambda d: bool(d.entities))
        dev_docs = cfg.load_docs(cfg.dev, keep=lambda d: bool(d.entities)) if cfg.dev else []
        data = {"train": data_record(train_docs), "dev": data_record(dev_docs)}
        if not any(d.relations for d in train_docs):
            raise TrainingError("the training sources hold no relations")
        started = time.perf_counter()
        train_enc = encode_documents(ner, train_docs)
        dev_enc = encode_documents(ner, dev_docs) if dev_docs else []
        log.info("encoded %d train / %d dev documents in %.0f s", len(train_enc), len(dev_enc), time.perf_counter() - started)
        ner.head.eval()
        dev_views = [predicted_view(ner, e) for e in dev_enc] if cfg.predicted_entities else []
        if cfg.predicted_entities:  # the documents where the NER model's entities differ from gold
            views = [v for v, e in ((predicted_view(ner, e), e) for e in train_enc) if _spans(v.doc) != _spans(e.doc)]
            log.info("training also on the NER model's entities where they differ from gold: %d documents, %d entities, "
                     "%d gold relations kept", len(views), sum(len(v.doc.entities) for v in views),
                     sum(len(v.doc.relations) for v in views))
            train_enc = train_enc + views
        return cls(scheme, ner, train_enc, dev_enc, dev_views, data)


def relation_labels(cfg: RelationTrainingConfig, scheme: Any) -> tuple[list[str], set[str]]:
    """The relation labels a run trains (``cfg.labels``, else all of the scheme's) and the symmetric ones."""
    labels = cfg.labels or list(scheme.relation_labels)
    return labels, {l for l in labels if l in scheme.relations and scheme.is_symmetric(l)}


# one training document: (encoded doc, entity token ranges, candidate rows (n, 6), targets, label mask, entity label ids)
Example = tuple[EncodedDoc, Any, Any, torch.Tensor, torch.Tensor, Any]


class RelationTask(TrainingTask[list[int]]):
    """Relations for the loop: a batch is a list of document indices (``docs_per_batch``)."""

    def __init__(self, cfg: RelationTrainingConfig, prepared: PreparedData | None = None) -> None:
        self.cfg = cfg
        prepared = prepared or PreparedData.from_config(cfg)
        self.scheme = scheme = prepared.scheme
        self.labels, self.symmetric = relation_labels(cfg, scheme)
        labels = self.labels
        self.ner = ner = prepared.ner
        self.output = cfg.resolve(cfg.output)
        self.data = prepared.data
        self.dev_enc, self.dev_views = prepared.dev_enc, prepared.dev_views
        train_enc = prepared.train_enc
        # seeded here, after whatever loading the NER model drew: a head's initial weights depend on
        # its seed alone, so the heads of an ensemble are the single-seed runs of the same config
        set_seed(cfg.seed)
        self.model: RelationHead = RelationHead(int(ner.encoder.model.config.hidden_size), ner.spec.labels, labels,
                                                proj=cfg.proj, mlp=cfg.mlp, dropout=cfg.dropout,
                                                context_layers=cfg.context_layers, context_block=cfg.context_block)
        self.examples = self._examples(train_enc)
        self.weights = torch.ones(len(labels) + 1)
        self.weights[0] = cfg.none_weight
        self._rng, self._order, self._shuffled = random.Random(cfg.seed), list(range(len(self.examples))), 0
        self._sampler = torch.Generator().manual_seed(cfg.seed)

    def _examples(self, encoded: list[EncodedDoc]) -> list[Example]:
        cfg, head, labels = self.cfg, self.model, self.labels
        examples = []
        n_pos = n_missed = 0
        for enc in encoded:
            ranges = entity_token_ranges(enc.doc, enc.token_spans)
            pairs = candidate_pairs(enc.doc, ranges, self.scheme, labels, cfg.max_sentence_distance)
            if not pairs:
                continue
            targets, missed = _targets(enc.doc, pairs, labels, self.symmetric)
            mask = label_mask(self.scheme, labels, enc.doc, pairs)
            t = torch.tensor(targets)
            keep = mask[torch.arange(len(pairs)), t]  # gold labels the scheme forbids for these types: skip
            t[~keep] = -100
            n_pos += int((t > 0).sum())
            n_missed += missed
            rows = torch.tensor([(c.head, c.tail, *c.context, c.distance_bucket, c.sentence_distance) for c in pairs],
                                dtype=torch.long).reshape(-1, 6)
            examples.append((enc, ranges, rows, t, mask, head.label_ids([e.label for e in enc.doc.entities])))
        log.info("relation training: %d documents, %d positive pairs, %d gold relations outside the candidates",
                 len(examples), n_pos, n_missed)
        return examples

    def param_groups(self) -> list[dict[str, Any]]:
        return [{"params": list(self.model.parameters()), "lr": self.cfg.lr, "weight_decay": self.cfg.weight_decay}]

    def steps_per_epoch(self) -> int:
        return len(range(0, len(self.examples), self.cfg.docs_per_batch))

    def batches(self, epoch: int) -> list[list[int]]:
        """One seeded RNG shuffles the documents epoch after epoch (replayed up to ``epoch``)."""
        if epoch + 1 < self._shuffled:
            self._rng, self._shuffled = random.Random(self.cfg.seed), 0
        while self._shuffled <= epoch:
            self._order = list(range(len(self.examples)))
            self._rng.shuffle(self._order)
            self._shuffled += 1
        n = self.cfg.docs_per_batch
        return [self._order[start : start + n] for start in range(0, len(self._order), n)]

    def loss(self, batch: list[int]) -> torch.Tensor:
        logits_all, targets_all = [], []
        for k in batch:
            enc, ranges, rows, t, mask, lab = self.examples[k]
            if self.cfg.none_sample < 1.0:  # a random share of the NONE pairs, fresh every step
                keep = (t != 0) | (torch.rand(len(t), generator=self._sampler) < self.cfg.none_sample)
                rows, t, mask = rows[keep], t[keep], mask[keep]
            logits_all.append(self.model(enc.hidden.float(), ranges, lab, rows).masked_fill(~mask, -1e4))
            targets_all.append(t)
        return torch.nn.functional.cross_entropy(torch.cat(logits_all), torch.cat(targets_all), weight=self.weights, ignore_index=-100)

    def evaluate(self) -> dict[str, Any]:
        if not self.dev_enc:
            return {}
        self.model.eval()
        gold_docs = [e.doc for e in self.dev_enc]
        report = evaluate_relations(gold_docs, _predict(self.model, self.dev_enc, self.scheme, self.cfg), self.labels, self.symmetric)
        out = {"dev_f1": report.micro["f1"], "dev_gold_entities_f1": report.micro["f1"],
               "dev_per_label": {k: round(v["f1"], 4) for k, v in report.per_label.items() if v["gold"]}}
        if self.dev_views:  # selection end to end: the NER model's entities, scored against gold
            e2e = evaluate_relations(gold_docs, _predict(self.model, self.dev_views, self.scheme, self.cfg), self.labels, self.symmetric)
            out.update(dev_f1=e2e.micro["f1"], dev_end_to_end_f1=e2e.micro["f1"],
                       dev_per_label={k: round(v["f1"], 4) for k, v in e2e.per_label.items() if v["gold"]})
        return out

    def save(self, history: list[dict[str, Any]]) -> None:
        _save(self.model, self.cfg, self.ner, self.labels, self.output, history, data=self.data)

    def finish(self, history: list[dict[str, Any]], best_epoch: int, wall_seconds: float | None = None) -> None:
        """Re-save the best head with the whole history, its fitted decision (calibration and
        per-label thresholds, :func:`fit_dev_decision`) and the run's wall time."""
        head = head_from(self.output, self.ner, self.labels, self.cfg)
        decision, record = Decision(threshold=self.cfg.threshold), {}
        views = self.dev_views or self.dev_enc
        if self.cfg.calibrate and views:
            decision, record = fit_dev_decision(head, views, self.dev_enc, self.scheme, self.cfg)
        _save(head, self.cfg, self.ner, self.labels, self.output, history, best_epoch, data=self.data,
              wall_seconds=wall_seconds, decision=decision, decision_record=record)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return head_tensors(self.model)

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict({k[len("re."):]: v for k, v in tensors.items() if k.startswith("re.")})


def fit_dev_decision(head: PairScorer, views: list[EncodedDoc], dev_enc: list[EncodedDoc], scheme: Any,
                     cfg: RelationTrainingConfig) -> tuple[Decision, dict[str, Any]]:
    """Calibration and thresholds on the dev documents ``views`` (end to end where the
    config trains on predicted entities), with dev micro-F1 before and after."""
    from ..evaluation.relations import relation_key, relation_keys

    labels, symmetric = relation_labels(cfg, scheme)
    head.eval()
    gold_docs = [e.doc for e in dev_enc]
    pairs: list[DevPair] = []
    gold_counts: dict[str, int] = {}
    gold_keys = [relation_keys(gold, symmetric, set(labels)) for gold in gold_docs]
    with torch.inference_mode():
        for gold, view, keys in zip(gold_docs, views, gold_keys):
            for r in gold.relations:
                if r.label in labels:
                    gold_counts[r.label] = gold_counts.get(r.label, 0) + 1
            found = pair_probabilities(head, view.doc, view.hidden, view.token_spans, scheme, cfg.max_sentence_distance)
            for (h, t, label), p in found.items():
                pairs.append(DevPair(label, p, relation_key(view.doc, h, t, label, symmetric) in keys))
    decision = fit_decision(pairs, gold_counts, default_threshold=cfg.threshold)
    before = evaluate_relations(gold_docs, _predict(head, views, scheme, cfg), labels, symmetric)
    after = evaluate_relations(gold_docs, _predict(head, views, scheme, cfg, decision), labels, symmetric)
    aliases = {"found": 0, "correct": 0}
    if "SAME_AS" in labels:  # acronym/alias links: scored with their measured precision
        for view, keys in zip(views, gold_keys):
            for r in link_aliases(view.doc):
                aliases["found"] += 1
                aliases["correct"] += relation_key(view.doc, r.head, r.tail, r.label, symmetric) in keys
        decision = replace(decision, alias_score=alias_precision(aliases["correct"], aliases["found"]))
        # the rule links must not lower the precision of the label they add to: the model's own
        # SAME_AS links on the same dev documents set the bar (a refit SAME_AS threshold alone
        # let 0.60-precision links through that were 6 of 52 right on held-out documents)
        own = after.per_label.get("SAME_AS", {})
        bar = float(own["precision"]) if own.get("pred") else 0.0
        decision = replace(decision, alias_links=decision.alias_score >= bar)
        aliases["model_same_as_precision"] = round(bar, 4)
        log.info("acronym/alias links on dev: %d of %d right, score %.3f, the model's own SAME_AS precision %.3f (%s)",
                 aliases["correct"], aliases["found"], decision.alias_score, bar,
                 "kept" if decision.keeps_aliases else "not output")
    log.info("dev micro-F1 %s: %.1f with threshold %.2f, %.1f with the fitted decision",
             "end to end" if cfg.predicted_entities else "on gold entities", 100 * before.micro["f1"], cfg.threshold,
             100 * after.micro["f1"])
    return decision, {"dev_pairs": len(pairs), "mode": "end to end" if cfg.predicted_entities else "gold entities",
                      "dev_f1_before": round(before.micro["f1"], 4), "dev_f1_after": round(after.micro["f1"], 4),
                      "alias_links": aliases}


def train_relations(cfg: RelationTrainingConfig) -> Path:
    """Train a relation head; return the output model directory.

    >>> train_relations(load_config(RelationTrainingConfig, "configs/defence-v1-re.toml"))  # doctest: +SKIP
    PosixPath('models/defence-v1-re')
    """
    cfg.validate()
    if cfg.seeds:
        return _train_ensemble(cfg)
    return run_training(lambda: RelationTask(cfg), cfg.loop_settings())  # loop_settings resolves the precision first


def _train_ensemble(cfg: RelationTrainingConfig) -> Path:
    """One head per seed of ``cfg.seeds`` on the same encoded documents, then their average with
    one decision fitted on dev. Each head is a complete model in ``<output>.checkpoint/seed-<n>``;
    one finished earlier with the same settings and the same NER model is reused (the run resumes)."""
    started = time.perf_counter()
    output = cfg.resolve(cfg.output)
    members_dir = output.with_name(output.name + ".checkpoint")
    prepared = PreparedData.from_config(cfg)
    members: list[dict[str, Any]] = []
    heads: list[RelationHead] = []
    reused_seconds = 0.0  # training time of heads finished by an earlier run (this run's own time is measured)
    for k, seed in enumerate(cfg.seeds, 1):
        member = replace(cfg, seed=seed, seeds=[], calibrate=False, name=f"{cfg.name}-seed-{seed}",
                         output=str((members_dir / f"seed-{seed}").resolve()))
        done = _finished_member(member, prepared.ner)
        if done is None:
            log.info("ensemble head %d of %d (seed %d): training", k, len(cfg.seeds), seed)
            run_training(lambda: RelationTask(member, prepared), member.loop_settings())
            done = _finished_member(member, prepared.ner)
            if done is None:
                raise TrainingError(f"ensemble head seed {seed} did not finish its schedule in {member.output}")
        else:
            log.info("ensemble head %d of %d (seed %d): finished earlier in %s, reused", k, len(cfg.seeds), seed, member.output)
            reused_seconds += float(done[1].get("wall_seconds") or 0.0)
        head, record = done
        heads.append(head)
        members.append({"seed": seed, "best_epoch": record.get("best_epoch"), "epochs_run": len(record.get("history") or []),
                        "dev_f1": max((h.get("dev_f1", 0.0) for h in record.get("history") or []), default=None),
                        "wall_seconds": record.get("wall_seconds"), "history": record.get("history") or []})
    ensemble = RelationEnsemble(heads).eval()
    decision, record = Decision(threshold=cfg.threshold), {}
    views = prepared.dev_views or prepared.dev_enc
    if cfg.calibrate and views:
        decision, record = fit_dev_decision(ensemble, views, prepared.dev_enc, prepared.scheme, cfg)
    wall = round(reused_seconds + time.perf_counter() - started, 1)
    labels, _ = relation_labels(cfg, prepared.scheme)
    _save(ensemble, cfg, prepared.ner, labels, output, [], data=prepared.data, wall_seconds=wall, decision=decision,
          decision_record=record, members=members)
    log.info("ensemble of %d heads written to %s (%.0f min of training in all)", len(heads), output, wall / 60)
    return output


def _finished_member(member: RelationTrainingConfig, ner) -> tuple[RelationHead, dict[str, Any]] | None:
    """The head and training record of an ensemble member trained to the end of its schedule with
    exactly ``member``'s settings on this NER model, or None (not there, interrupted or different)."""
    from ..relations.model import load_relations

    path = Path(member.output)
    if not (path / "defnlp.json").is_file():
        return None
    try:
        relations = load_relations(str(path), ner)
    except Exception as err:  # a half-written or foreign folder: train it again
        log.warning("ensemble head in %s cannot be reused (%s): training it again", path, err)
        return None
    record = relations.spec.training or {}
    wanted = {k: v for k, v in config_to_dict(member).items() if k not in ("base_dir", "output")}
    found = {k: v for k, v in (record.get("config") or {}).items() if k != "output"}
    if record.get("wall_seconds") is None or record.get("best_epoch") is None or found != wanted:
        return None
    assert isinstance(relations.head, RelationHead)
    return relations.head, record


def _predict(head: PairScorer, encoded: list[EncodedDoc], scheme, cfg: RelationTrainingConfig,
             decision: Decision | None = None) -> list[Doc]:
    out = []
    with torch.inference_mode():
        for enc in encoded:
            p = enc.doc.copy()
            p.relations = predict_relations(head, p, enc.hidden, enc.token_spans, scheme, decision or cfg.threshold,
                                            cfg.max_sentence_distance)
            out.append(p)
    return out


def head_from(path: Path, ner, labels: list[str], cfg: RelationTrainingConfig) -> RelationHead:
    from ..relations.model import load_relations

    return load_relations(str(path), ner).head


def _save(head: PairScorer, cfg: RelationTrainingConfig, ner, labels: list[str], output: Path, history,
          best_epoch: int | None = None, data: dict[str, Any] | None = None, wall_seconds: float | None = None,
          decision: Decision | None = None, decision_record: dict[str, Any] | None = None,
          members: list[dict[str, Any]] | None = None) -> None:
    spec = ModelSpec(
        name=cfg.name,
        task="relations",
        labels=list(labels),
        scheme=cfg.scheme,
        encoder=dict(ner.spec.encoder),
        adapter={"type": "none"},
        head={**head.config, "dropout": cfg.dropout, "entity_labels": list(ner.spec.labels), "threshold": cfg.threshold,
              "max_sentence_distance": cfg.max_sentence_distance, "type": "span-pair-mlp",
              **({"decision": decision.to_dict()} if decision is not None and decision != Decision(threshold=cfg.threshold) else {})},
        max_tokens=ner.spec.max_tokens,
        overlap=ner.spec.overlap,
        depends_on={"name": ner.spec.name, "sha256": ner.weights_sha256},
        training=cfg.training_record(history, best_epoch=best_epoch, wall_seconds=wall_seconds, data=data or {},
                                     **({"decision": decision_record} if decision_record else {}),
                                     **({"members": members} if members else {})),
        description=cfg.description,
    )
    write_model_dir(output, spec, head_tensors(head))
