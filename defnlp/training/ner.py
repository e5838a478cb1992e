"""Fine-tuning a NER model: LoRA adapters (or fully fine-tuned upper layers) + a tag head on the shared encoder.

>>> cfg = NerTrainingConfig(name="my-ner", output="runs/my-ner",
...                         train=[DataSource(format="markup", path="data/examples")])
>>> cfg.lora.r
16

Run it with ``defnlp train ner CONFIG.toml`` or :func:`train_ner`. :class:`NerTask` plugs the
task into the shared loop (:mod:`defnlp.training.loop`): training is deterministic for a given
seed and machine (seeded Python/NumPy/torch RNGs, deterministic batch order), evaluates on the
dev sources after each epoch, keeps the best model by dev micro-F1, stops early after
``patience`` epochs without improvement, and writes checkpoints that a later run resumes from
(``resume = true``).

``frozen_layers = K`` keeps the K lowest encoder layers without adapters: their outputs for
every training window are computed once and cached, and each step only runs (and
back-propagates through) the layers above — about twice as fast on CPU for K = 6
(:class:`defnlp.training.frozen_prefix.FrozenPrefix`). Dev scoring after each epoch goes through
the inference engine (:mod:`defnlp.training.dev_scoring`).

``adapter = "lora"`` (the default) trains LoRA adapters on the layers from K up;
``adapter = "full"`` trains every weight of those layers instead (the embeddings stay frozen)
and ships their deltas from the base encoder (:mod:`defnlp.encoders.adapters`).

``oversample_new_labels = k`` (with ``init_from``): every training window whose gold tags hold
a label the base model lacks is seen ``k`` times per epoch (:meth:`NerTask._oversample`).

``linear_probe_epochs = n`` (with ``init_from`` and new labels): before fine-tuning, the head rows of
the new labels are fitted for ``n`` epochs on the starting encoder's features, computed once
(linear probing, then fine-tuning: the encoder's first steps no longer chase a random head;
:meth:`NerTask._linear_probe`).

``new_label_bias = true`` (with ``init_from`` and new labels): after each epoch, a constant added
to the new labels' tag log-probabilities is fitted on dev (:mod:`defnlp.training.label_bias`); the
epoch is scored with it and the saved head carries it.

``precision = "auto"`` runs the steps under bf16 autocast where the CPU has bf16 units (AMX or
AVX512-BF16), else fp32 (:func:`defnlp.inference.runtime.resolve_training_precision`).
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

from ..doc import Doc
from ..encoders import load_encoder, set_attention_dropout, shorten_encoder
from ..encoders.adapters import (DELTA_PREFIX, FullSettings, LoraSettings, add_lora, layer_deltas, layer_parameters,
                                 load_lora_into_peft, lora_tensors, merge_adapter)
from ..errors import ConfigError, ModelError, TrainingError
from ..inference.runtime import TRAINING_PRECISIONS, training_autocast
from ..io.corpora import DataSource
from .augment import AugmentSettings, augment_docs
from .label_bias import bias_columns, fit_label_bias
from ..models import ModelSpec, read_model_dir, write_model_dir
from ..ner.model import NerHead, NerModel, head_tensors, partial_label_loss
from ..tags import TagSet
from ..scheme import load_scheme
from .data import collate, epoch_batches, oversampled_passes, windows_dataset
from .dev_scoring import decode_docs, encode_docs, evaluate_dev, predict_docs, score_dev
from .frozen_prefix import FrozenPrefix
from .loop import LoopSettings, TrainingConfigMixin, TrainingTask, run_training, set_seed
from .interpolation import check_alpha, interpolate_ner
from .provenance import data_record
from .distillation import DistillSettings, kl_to_teacher, teacher_logits
from .rehearsal import RehearsalSettings, base_sources, pseudo_label, replay_documents

log = logging.getLogger(__name__)

__all__ = ["NerTrainingConfig", "NerTask", "train_ner", "set_seed", "ADAPTERS"]

#: what a NER run trains in the encoder: LoRA adapters, or all weights of the layers from ``frozen_layers`` up
ADAPTERS = ("lora", "full")
#: the largest ``oversample_new_labels``
MAX_OVERSAMPLE = 20.0
#: the largest ``linear_probe_epochs``
MAX_PROBE_EPOCHS = 1000
#: ``ema`` when unset and ``init_from`` is set: the weight average that keeps a shipped model's old
#: labels within 1.0 point while a new one is learned (docs/fine-tuning.md, section 2)
FINE_TUNING_EMA = 0.99


@dataclass
class NerTrainingConfig(TrainingConfigMixin):
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
    encoder_layers: int = 0  # run only the encoder's first N layers (0: all; a faster, smaller model; with init_from: the base's)
    patience: int = 2
    max_steps: int = 0
    log_every: int = 50
    resume: bool = False
    checkpoint: str = ""
    threads: int = 0
    adapter: str = "lora"  # "lora" (adapters) or "full" (all weights of the layers from frozen_layers up)
    dropout: float | None = None  # encoder (hidden, attention) and head dropout; None: the encoder's own and 0.1
    attention_dropout: float | None = None  # on the attention probabilities only; None: as dropout (0 runs the fused attention kernel)
    precision: str = "auto"  # "auto" (bf16 autocast where the CPU has bf16 units, else fp32), "fp32", "bf16"
    lora: LoraSettings = field(default_factory=LoraSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)  # for the sources with augment = true
    rehearsal: RehearsalSettings = field(default_factory=RehearsalSettings)  # keeps the old labels when init_from is set
    distill: DistillSettings = field(default_factory=DistillSettings)  # a teacher model's tag distribution as a second target
    oversample_new_labels: float = 1.0  # windows with a label init_from's model lacks: seen this many times per epoch
    linear_probe_epochs: int = 0  # with init_from: fit the new labels' head rows on frozen features first (0: off)
    ema: float | None = None  # decay of a moving average of the weights, evaluated and saved (0: off; unset: FINE_TUNING_EMA with init_from, else off)
    interpolate: float = 1.0  # save other + interpolate * (best - other), other = interpolate_with or init_from (1: off; defnlp.training.interpolation)
    interpolate_with: str = ""  # the model to interpolate towards when it is not init_from: a model trained from the same encoder (a model soup)
    new_label_bias: bool = False  # with init_from: fit a decision bias for the new labels on dev (defnlp.training.label_bias)
    description: str = ""
    base_dir: str = ""

    def validate(self) -> None:
        self.validate_sources()
        if self.ema is not None:  # unset: weight_average() decides
            self.validate_ema()
        if self.epochs < 1 or self.lr <= 0 or self.batch_tokens < 64:
            raise ConfigError("epochs >= 1, lr > 0 and batch_tokens >= 64 are required")
        if not (8 <= self.max_tokens <= 510):
            raise ConfigError("max_tokens must be between 8 and 510")
        if self.adapter not in ADAPTERS:
            raise ConfigError(f"unknown adapter {self.adapter!r}", f"use one of {', '.join(ADAPTERS)}")
        if self.dropout is not None and not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ConfigError(f"dropout must be a number in [0, 1) or unset, not {self.dropout!r}")
        attention = self.attention_dropout
        if attention is not None and (isinstance(attention, bool) or not isinstance(attention, (int, float))
                                      or not 0 <= attention < 1):
            raise ConfigError(f"attention_dropout must be a number in [0, 1) or unset, not {attention!r}",
                              "0 turns it off (and runs the fused attention kernel); unset follows dropout")
        if self.precision not in TRAINING_PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}", f"use one of {', '.join(TRAINING_PRECISIONS)}")
        factor = self.oversample_new_labels
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) \
                or not 1.0 <= factor <= MAX_OVERSAMPLE:
            raise ConfigError(f"oversample_new_labels must be a finite number between 1 and {MAX_OVERSAMPLE:g}, not {factor!r}",
                              "1 (the default) turns it off; 4 shows each window holding a new label 4 times per epoch")
        layers = self.encoder_layers
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
            raise ConfigError(f"encoder_layers must be a non-negative integer, not {layers!r}",
                              "0 (the default) runs all of the encoder's layers; 6 keeps the first six")
        probe = self.linear_probe_epochs
        if isinstance(probe, bool) or not isinstance(probe, int) or not 0 <= probe <= MAX_PROBE_EPOCHS:
            raise ConfigError(f"linear_probe_epochs must be an integer between 0 and {MAX_PROBE_EPOCHS}, not {probe!r}",
                              "0 (the default) turns it off; 50 fits the new labels' head rows for 50 epochs first")
        check_alpha(self.interpolate)
        if self.interpolate < 1 and not (self.init_from or self.interpolate_with):
            raise ConfigError(f"interpolate = {self.interpolate:g} needs init_from or interpolate_with (the model to "
                              "interpolate towards)", "set one of them, or leave interpolate at 1")
        if self.interpolate == 1 and self.interpolate_with:
            raise ConfigError(f"interpolate_with = {self.interpolate_with!r} does nothing while interpolate is 1",
                              "set interpolate below 1 (0.5 saves the average of the two models), or remove interpolate_with")
        self.rehearsal.validate()
        for source in self.rehearsal.sources:
            source.validate()
        self.distill.validate()
        if self.distill.active and self.rehearsal.active(self.init_from) and self.rehearsal.distill > 0:
            raise ConfigError("distill.model and rehearsal's distillation (from init_from) cannot both be on: one teacher at a time",
                              "set rehearsal.distill = 0 to distil from distill.model, or remove the [distill] table")

    def weight_average(self) -> float:
        """The decay of the weight average this run uses: ``ema`` if set, else :data:`FINE_TUNING_EMA`
        when the run starts from a model (``init_from``), else 0 (off).

        >>> NerTrainingConfig(name="x", output="x", train=[], init_from="defence-v2-ner").weight_average()
        0.99
        """
        if self.ema is not None:
            return float(self.ema)
        return FINE_TUNING_EMA if self.init_from else 0.0

    def checkpoint_dir(self) -> Path:
        """``checkpoint`` if set, else ``<output>.checkpoint`` beside the output directory."""
        output = self.resolve(self.output)
        return self.resolve(self.checkpoint) if self.checkpoint else output.parent / f"{output.name}.checkpoint"

    def load_train_docs(self) -> list[Doc]:
        """The training documents: each source's, plus augmented copies for ``augment = true`` sources.

        Copies are drawn once per distinct document (``sample`` > 1 repeats the originals, not
        the copies), deterministically from ``seed`` (:func:`defnlp.training.augment.augment_docs`).
        """
        docs: list[Doc] = []
        for source in self.train:
            loaded = self.load_docs([source])
            docs += loaded
            if source.augment:
                originals = list({d.id: d for d in loaded}.values())
                copies = augment_docs(originals, self.augment, seed=self.seed)
                log.info("%s: %d augmented copies of %d documents", source.describe(), len(copies), len(originals))
                docs += copies
        return docs

    def loop_settings(self) -> LoopSettings:
        return LoopSettings(epochs=self.epochs, seed=self.seed, patience=self.patience, grad_clip=self.grad_clip,
                            warmup=self.warmup, max_steps=self.max_steps, log_every=self.log_every,
                            checkpoint=self.checkpoint_dir(), resume=self.resume, precision=self.training_precision(),
                            ema=self.weight_average())


class NerTask(TrainingTask[list[int]]):
    """NER for the loop: a batch is a list of window indices; the loss is the partial-label loss.

    With ``adapter = "lora"`` the encoder is wrapped by peft (``peft_model``); with ``"full"`` it
    is the plain encoder with the layers from ``frozen_layers`` up unfrozen, and ``base_weights``
    holds fp32 copies of the base encoder's layer weights, from which the saved deltas are taken.
    """

    def __init__(self, cfg: NerTrainingConfig) -> None:
        self.cfg = cfg
        self.precision = cfg.training_precision()
        scheme = load_scheme(cfg.scheme)
        self.labels = cfg.labels or list(scheme.entity_labels)
        for label in self.labels:
            if label not in scheme.entities:
                log.warning("label %r is not in scheme %s (kept as a custom label)", label, scheme.name)
        self.tagset = TagSet(self.labels)
        self.output = cfg.resolve(cfg.output)

        encoder = load_encoder(cfg.encoder)
        self.base_dir: Path | None = None
        self.base_spec: ModelSpec | None = None  # the init_from model's checked card (manifest, hashes), read once
        base_weights_file: Path | None = None
        if cfg.init_from:
            self.base_dir = cfg.model_dir(cfg.init_from)
            self.base_spec, base_weights_file = read_model_dir(self.base_dir)
        # found before training, not after it: a missing model fails the run at its start
        self.interpolate_dir: Path | None = cfg.model_dir(cfg.interpolate_with) if cfg.interpolate_with else None
        self.encoder_layers = _encoder_layers(cfg, self.base_spec, self.base_dir)
        if self.encoder_layers:
            try:
                encoder = shorten_encoder(encoder, self.encoder_layers)
            except ModelError as err:
                raise ConfigError(f"encoder_layers: {err.message}", err.hint) from err
        self.encoder_info = encoder.info
        self.tokenizer = tokenizer = encoder.tokenizer
        base = encoder.model
        for p in base.parameters():
            p.requires_grad_(False)
        if cfg.dropout is not None:  # every dropout of the encoder (embeddings, attention, hidden states)
            for module in base.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = float(cfg.dropout)
        if cfg.attention_dropout is not None and not set_attention_dropout(base, cfg.attention_dropout):
            raise ConfigError(f"attention_dropout: encoder {cfg.encoder!r} has no BERT-style self-attention module",
                              "leave attention_dropout unset for this encoder")
        n_layers = int(base.config.num_hidden_layers)
        if not 0 <= cfg.frozen_layers < n_layers:
            raise ConfigError(f"frozen_layers must be between 0 and {n_layers - 1}")
        self.trained_layers = list(range(cfg.frozen_layers, n_layers))
        self.base_weights: dict[str, torch.Tensor] = {}
        if cfg.adapter == "full":
            self.base_weights = {n: p.detach().float().clone() for n, p in layer_parameters(base, range(n_layers)).items()}
            for p in layer_parameters(base, self.trained_layers).values():
                p.requires_grad_(True)
            self.peft_model = base
        else:
            if cfg.frozen_layers:
                cfg.lora.layers = [n for n in (cfg.lora.layers or self.trained_layers) if n >= cfg.frozen_layers]
            self.peft_model = add_lora(base, cfg.lora)
        head_dropout = 0.1 if cfg.dropout is None else float(cfg.dropout)
        self.model: NerModel = NerModel(self.peft_model, NerHead(int(base.config.hidden_size), len(self.tagset), head_dropout))
        if self.base_spec is not None:
            _init_from(self.model, self.base_dir, self.base_spec, base_weights_file, self.tagset, encoder.info.sha256, cfg.adapter)
        # the layers whose deltas a "full" model ships: the trained ones, and any that init_from changed
        self.delta_layers = self.trained_layers
        if cfg.adapter == "full" and cfg.init_from:
            changed = {int(n.split(".")[2]) for n, p in layer_parameters(base, range(n_layers)).items()
                       if not torch.equal(p.detach(), self.base_weights[n])}
            self.delta_layers = sorted(changed | set(self.trained_layers))

        train_docs = cfg.load_train_docs()
        self.rehearsal_record: dict[str, Any] = {}
        if self.base_dir is not None and cfg.rehearsal.active(cfg.init_from):
            train_docs = self._rehearse(train_docs)
        self.dev_docs = cfg.load_docs(cfg.dev) if cfg.dev else []
        self.data = {"train": data_record(train_docs), "dev": data_record(self.dev_docs)}
        self.train_ds = windows_dataset(train_docs, tokenizer, self.tagset, cfg.max_tokens, cfg.overlap)
        self.lengths = [len(x) for x in self.train_ds["input_ids"]]
        self.labelled = [sum(t >= 0 for t in tags) for tags in self.train_ds["tags"]]  # tokens the loss averages over
        log.info("training on %d windows (%d tokens) from %d documents; dev: %d documents",
                 len(self.train_ds), sum(self.lengths), len(train_docs), len(self.dev_docs))
        self.oversample_record: dict[str, Any] = {}
        self.passes = self._oversample(train_docs)  # the windows of an epoch, in passes (oversampled_passes)
        self.prefix = (FrozenPrefix(self.peft_model, cfg.frozen_layers, tokenizer.pad_token_id, self.precision)
                       if cfg.frozen_layers else None)
        self.cache = self.prefix.cache(self.train_ds, cfg.batch_tokens) if self.prefix else None
        # distillation (defnlp.training.distillation): a teacher's tag distribution on every training window,
        # from the base model (rehearsal) or from the [distill] table's model
        self.teacher: list[torch.Tensor] | None = None
        self.teacher_tags = torch.tensor([], dtype=torch.long)  # the student's tags the teacher gives, in its logits' order
        self.distill_weight, self.distill_temperature = 0.0, 1.0
        self.distill_record: dict[str, Any] = {}
        if self.rehearsal_record and cfg.rehearsal.distill > 0:
            self.teacher = self._teacher_logits()
            self.distill_weight = float(cfg.rehearsal.distill)
        elif cfg.distill.active:
            self.teacher = self._distill_teacher()
            self.distill_weight, self.distill_temperature = float(cfg.distill.weight), float(cfg.distill.temperature)
        self.probe_record: dict[str, Any] = {}
        if cfg.linear_probe_epochs:
            self._linear_probe()
        self.label_bias, self.bias_record = 0.0, {}
        self.bias_columns = np.asarray([], dtype=np.int64)
        if cfg.new_label_bias:
            if not (self.new_labels() and self.dev_docs):
                log.warning("new_label_bias has no effect: %s", "no dev sources" if self.new_labels() else
                            "no new labels (it needs init_from and labels the base model lacks)")
            else:
                self.bias_columns = bias_columns(self.tagset, self.new_labels())

    def new_labels(self) -> list[str]:
        """The labels of this run that the ``init_from`` model lacks (none without ``init_from``)."""
        if self.base_spec is None:
            return []
        return [x for x in self.labels if x not in set(self.base_spec.labels)]

    def _rehearse(self, train_docs: list[Doc]) -> list[Doc]:
        """Pseudo-label the old labels the new sources leave out, then add replayed base documents
        (:mod:`defnlp.training.rehearsal`); the counts go to the card (``training.rehearsal``)."""
        from ..config import models_dir, project_root

        settings, cfg = self.cfg.rehearsal, self.cfg
        card = self.base_spec.to_dict()  # the init_from card, read and checked once (manifest, hashes)
        base_labels = [x for x in card["labels"] if x in self.labels]
        record: dict[str, Any] = {"base_model": card.get("name", str(self.base_dir)), "base_labels": base_labels,
                                  "share": settings.share, "pseudo_label": settings.pseudo_label,
                                  "distill": settings.distill}
        if settings.pseudo_label:
            old = TagSet(base_labels)  # the base model's tags (those this run keeps)
            base_head = NerHead(self.model.head.proj.in_features, len(old))
            with torch.no_grad():
                for i, tag in enumerate(old.tags):
                    base_head.proj.weight[i] = self.model.head.proj.weight[self.tagset.index[tag]]
                    base_head.proj.bias[i] = self.model.head.proj.bias[self.tagset.index[tag]]
            base = NerModel(self.peft_model, base_head)
            record["pseudo_labels"] = pseudo_label(
                train_docs, base_labels,
                lambda docs: predict_docs(base, self.tokenizer, old, docs, cfg.max_tokens, cfg.overlap))
        new_docs = len({id(d) for d in train_docs})
        count = settings.replay_count(new_docs)
        sources = list(settings.sources) or base_sources(card, self.base_dir,
                                                        search=[cfg.resolve("."), project_root() / "configs", models_dir()])
        replay = replay_documents(sources, base_labels, count, cfg.seed) if count else []
        # a small corpus under min_documents replayed ones is repeated, so that it keeps its share of the steps
        repeat = max(1, round(len(replay) * (1.0 - settings.share) / (settings.share * len(train_docs)))) if replay else 1
        record.update(replayed_documents=len(replay), replay_sources=sorted({d.meta["source"] for d in replay}),
                      new_documents_repeated=repeat)
        self.rehearsal_record = record
        return train_docs * repeat + replay

    def _oversample(self, train_docs: list[Doc]) -> list[list[int]]:
        """The passes of every epoch over the training windows (:func:`~defnlp.training.data.oversampled_passes`).

        With ``oversample_new_labels = k`` > 1 and ``init_from``, the *windows* (not the
        documents) whose gold tags hold a label of ``labels`` that the base model lacks are seen
        ``k`` times per epoch: a new label is often a few mentions in long documents, and
        repeating a whole document would also repeat its windows without one. A fractional
        ``k`` gives each such window one more copy with probability ``k - int(k)``, drawn once
        for the run from ``random.Random(seed)``, so that every epoch has the same windows (the
        step count of the LR schedule and of a resumed run stays exact) and every process of a
        multi-process run builds the same batches. Only windows of the original training
        sources count (their repeats and augmented copies included), not replayed rehearsal
        documents. Without ``init_from``, or without new labels, every window is seen once.
        """
        factor, n = self.cfg.oversample_new_labels, len(self.lengths)
        everything = [list(range(n))]
        if factor <= 1:
            return everything
        new_labels = self.new_labels()
        if not new_labels:
            log.warning("oversample_new_labels = %g has no effect: %s", factor,
                        "the run has no init_from" if self.base_spec is None else "every label is one of the base model's")
            return everything
        new_tags = {self.tagset.begin_id(x) for x in new_labels} | {self.tagset.inside_id(x) for x in new_labels}
        replayed = [train_docs[i].meta.get("rehearsal") == "replay" for i in self.train_ds["doc_index"]]
        flagged = [not r and any(t in new_tags for t in tags) for r, tags in zip(replayed, self.train_ds["tags"])]
        passes = oversampled_passes(flagged, factor, random.Random(self.cfg.seed))
        size = sum(map(len, passes))
        log.info("oversample_new_labels = %g: %d of %d windows hold a new label (%s); epoch of %d windows (was %d)",
                 factor, sum(flagged), n, ", ".join(new_labels), size, n)
        self.oversample_record = {"factor": factor, "new_labels": new_labels, "windows": sum(flagged),
                                  "epoch_windows": size, "windows_once": n}
        return passes

    def _logits(self, batch: list[int], ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.prefix is not None:
            return self.model.head(self.prefix.top(self.prefix.stack([self.cache[i] for i in batch]), mask))
        return self.model(ids, mask)

    def _linear_probe(self) -> None:
        """Fit the head rows of the new labels on the starting encoder's features (the other rows stay).

        The final hidden states of every labelled token of the training windows (one pass, no
        dropout, at the run's precision) are computed once; the rows of the new labels' tags are
        then trained alone, ``linear_probe_epochs`` full-batch AdamW steps at ``head_lr`` with the
        run's partial-label loss, deterministic for a seed. Fine-tuning then starts from a head
        that already separates the new labels, so the encoder's first steps are not spent
        adapting to random rows (linear probing then fine-tuning, Kumar et al., ICLR 2022).
        """
        from ..inference.batching import pack_batches

        new_labels, epochs = self.new_labels(), self.cfg.linear_probe_epochs
        if not new_labels:
            log.warning("linear_probe_epochs = %d has no effect: %s", epochs,
                        "the run has no init_from" if self.base_spec is None else "every label is one of the base model's")
            return
        started = time.perf_counter()
        feats, allowed_rows = [], []
        self.model.eval()
        with torch.inference_mode():
            for batch in pack_batches(self.lengths, self.cfg.batch_tokens * 4):
                ids, mask, allowed = collate([self.train_ds[i] for i in batch], self.tagset, self.tokenizer.pad_token_id)
                with training_autocast(self.precision):
                    hidden = (self.prefix.top(self.prefix.stack([self.cache[i] for i in batch]), mask) if self.prefix is not None
                              else self.model.hidden_states(ids, mask))
                labelled = allowed.any(dim=-1)
                feats.append(hidden.float()[labelled].clone())
                allowed_rows.append(allowed[labelled].clone())
        self.model.train()
        x, allowed = torch.cat(feats), torch.cat(allowed_rows)
        rows = torch.tensor(sorted({self.tagset.begin_id(n) for n in new_labels} | {self.tagset.inside_id(n) for n in new_labels}))
        proj = self.model.head.proj
        weight, bias = proj.weight.detach().clone(), proj.bias.detach().clone()
        new_w = weight[rows].clone().requires_grad_(True)
        new_b = bias[rows].clone().requires_grad_(True)
        optimizer = torch.optim.AdamW([new_w, new_b], lr=self.cfg.head_lr, weight_decay=0.0)

        def loss_now() -> torch.Tensor:
            w = weight.index_put((rows,), new_w)
            b = bias.index_put((rows,), new_b)
            return partial_label_loss((x @ w.T + b).unsqueeze(0), allowed.unsqueeze(0), self.cfg.unannotated_o_weight)

        with torch.no_grad():
            before = float(loss_now())
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = loss_now()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            proj.weight[rows] = new_w.detach()
            proj.bias[rows] = new_b.detach()
            after = float(loss_now())
        seconds = time.perf_counter() - started
        log.info("linear probe: head rows of %s fitted on %d tokens, %d epochs: loss %.4f -> %.4f (%.0f s)",
                 ", ".join(new_labels), x.shape[0], epochs, before, after, seconds)
        self.probe_record = {"epochs": epochs, "new_labels": new_labels, "tokens": int(x.shape[0]),
                             "loss_before": round(before, 4), "loss_after": round(after, 4), "seconds": round(seconds, 1)}

    def _teacher_logits(self) -> list[torch.Tensor]:
        """The base model's logits over its own tags for every training window (before any step: the
        model still is the base model on those tags), for the distillation term of :meth:`loss`."""
        self.teacher_tags = torch.tensor([self.tagset.index[t] for t in TagSet(self.rehearsal_record["base_labels"]).tags])

        def logits_of(batch: list[int]) -> torch.Tensor:
            ids, mask, _ = collate([self.train_ds[i] for i in batch], self.tagset, self.tokenizer.pad_token_id)
            return self._logits(batch, ids, mask)

        self.model.eval()
        out = teacher_logits(logits_of, self.lengths, self.cfg.batch_tokens * 4, self.teacher_tags)
        self.model.train()
        log.info("rehearsal: base-model logits kept for %d windows (distillation weight %g)", len(out), self.cfg.rehearsal.distill)
        return out

    def _distill_teacher(self) -> list[torch.Tensor]:
        """The ``[distill]`` teacher's logits for every training window, over the tags it shares with
        this run (matched by name); the teacher is loaded, run once and released."""
        from ..ner.model import load_ner

        settings, started = self.cfg.distill, time.perf_counter()
        try:
            path = self.cfg.model_dir(settings.model)
            teacher = load_ner(str(path))
        except ModelError as err:
            raise ConfigError(f"distill.model {settings.model!r}: {err.message}", err.hint) from err
        probe = "Le ministère des Armées a commandé 42 Rafale à Dassault Aviation. The MoD ordered 12 Typhoon jets."
        same_tokens = (teacher.encoder.info.sha256 == self.encoder_info.sha256
                       or teacher.encoder.tokenizer(probe)["input_ids"] == self.tokenizer(probe)["input_ids"])
        if not same_tokens:
            raise ConfigError(f"distill.model {settings.model!r} reads other token ids than this run's encoder "
                              f"({teacher.encoder.info.name!r} vs {self.encoder_info.name!r})",
                              "distil from a model on the same encoder (or one with the same tokenizer)")
        shared = [t for t in self.tagset.tags if t in teacher.tagset.index]
        if not any(t != "O" for t in shared):
            raise ConfigError(f"distill.model {settings.model!r} shares no label with this run ({', '.join(self.labels)})",
                              "distil from a model with (some of) the same labels")
        self.teacher_tags = torch.tensor([self.tagset.index[t] for t in shared])
        teacher_model = NerModel(teacher.encoder.model, teacher.head).eval()

        def logits_of(batch: list[int]) -> torch.Tensor:
            ids, mask, _ = collate([self.train_ds[i] for i in batch], self.tagset, self.tokenizer.pad_token_id)
            with torch.inference_mode(), training_autocast(self.precision):
                return teacher_model(ids, mask)

        out = teacher_logits(logits_of, self.lengths, self.cfg.batch_tokens * 4,
                             torch.tensor([teacher.tagset.index[t] for t in shared]))
        seconds = time.perf_counter() - started
        self.distill_record = {"teacher": teacher.spec.name, "teacher_path": str(settings.model),
                               "teacher_weights_sha256": teacher.weights_sha256,
                               "teacher_layers": int(teacher.encoder.model.config.num_hidden_layers),
                               "weight": settings.weight, "temperature": settings.temperature,
                               "shared_tags": len(shared), "seconds": round(seconds, 1)}
        log.info("distillation: logits of teacher %s (%d layers, %d shared tags) kept for %d windows in %.0f s (weight %g, temperature %g)",
                 teacher.spec.name, self.distill_record["teacher_layers"], len(shared), len(out), seconds,
                 settings.weight, settings.temperature)
        del teacher, teacher_model
        return out

    def param_groups(self) -> list[dict[str, Any]]:
        cfg = self.cfg
        head = {"params": list(self.model.head.parameters()), "lr": cfg.head_lr, "weight_decay": 0.0}
        if cfg.adapter == "full":  # no weight decay on biases and LayerNorm weights
            params = list(layer_parameters(self.peft_model, self.trained_layers).values())
            return [
                {"params": [p for p in params if p.dim() >= 2], "lr": cfg.lr, "weight_decay": cfg.weight_decay},
                {"params": [p for p in params if p.dim() < 2], "lr": cfg.lr, "weight_decay": 0.0},
                head,
            ]
        return [
            {"params": [p for p in self.peft_model.parameters() if p.requires_grad], "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            head,
        ]

    def steps_per_epoch(self) -> int:
        return len(epoch_batches(self.lengths, self.passes, self.cfg.batch_tokens, random.Random(0), self.cfg.max_batch))

    def batches(self, epoch: int) -> list[list[int]]:
        """Length-grouped batches of the epoch's windows (oversampled ones in extra passes); a function of seed and epoch."""
        rng = random.Random(self.cfg.seed * 1000 + epoch)
        return epoch_batches(self.lengths, self.passes, self.cfg.batch_tokens, rng, self.cfg.max_batch)

    def batch_weight(self, batch: list[int]) -> float:
        """The labelled tokens of ``batch``: the loss (and the distillation term) is their mean."""
        return float(sum(self.labelled[i] for i in batch))

    def loss(self, batch: list[int]) -> torch.Tensor:
        ids, mask, allowed = collate([self.train_ds[i] for i in batch], self.tagset, self.tokenizer.pad_token_id)
        logits = self._logits(batch, ids, mask)
        loss = partial_label_loss(logits, allowed, self.cfg.unannotated_o_weight)
        if self.teacher is not None:
            loss = loss + self.distill_weight * kl_to_teacher(logits, self.teacher, batch, self.teacher_tags,
                                                              allowed.any(dim=-1), self.distill_temperature)
        return loss

    def evaluate(self) -> dict[str, Any]:
        if not self.dev_docs:
            return {}
        if self.bias_columns.size:  # the dev documents encoded once, decoded with each bias of the grid
            encoded = encode_docs(self.model, self.tokenizer, self.dev_docs, self.cfg.max_tokens, self.cfg.overlap)
            results: dict[float, dict[str, Any]] = {}

            def dev_f1(bias: float) -> float:
                pred = decode_docs(self.tagset, encoded, self.bias_columns, bias)
                results[bias] = score_dev(self.dev_docs, pred, self.labels)
                return results[bias]["dev_f1"]

            self.label_bias, self.bias_record = fit_label_bias(dev_f1)
            self.bias_record["labels"] = self.new_labels()
            result = {**results[self.label_bias], "new_label_bias": self.label_bias}
            log.info("  new-label bias %+.1f (dev F1 %.4f; without %.4f)", self.label_bias, result["dev_f1"],
                     results[0.0]["dev_f1"])
        else:
            result = evaluate_dev(self.model, self.tokenizer, self.tagset, self.dev_docs, self.labels, self.cfg.max_tokens, self.cfg.overlap)
        for source, res in result["dev_sources"].items():
            log.info("  dev %s: F1 %.4f %s", source, res["f1"], res["per_label"])
        return result

    def save(self, history: list[dict[str, Any]]) -> None:
        cfg, info = self.cfg, self.encoder_info
        spec = ModelSpec(
            name=cfg.name,
            task="ner",
            labels=list(self.labels),
            scheme=cfg.scheme,
            encoder={"name": info.name if info.source != "local" else cfg.encoder, "sha256": info.sha256,
                     "hub_id": "intfloat/multilingual-e5-small" if "e5-small" in info.name else "",
                     **({"layers": self.encoder_layers} if self.encoder_layers else {})},
            adapter=FullSettings(layers=list(self.delta_layers)).to_dict() if cfg.adapter == "full" else cfg.lora.to_dict(),
            head={"type": "linear", "tags": self.tagset.tags},
            max_tokens=cfg.max_tokens,
            overlap=cfg.overlap,
            training=cfg.training_record(history, data=self.data, ema=cfg.weight_average(),
                                         **({"rehearsal": self.rehearsal_record} if self.rehearsal_record else {}),
                                         **({"distill": self.distill_record} if self.distill_record else {}),
                                         **({"oversample": self.oversample_record} if self.oversample_record else {}),
                                         **({"linear_probe": self.probe_record} if self.probe_record else {}),
                                         **({"new_label_bias": self.bias_record} if self.bias_record else {})),
            description=cfg.description,
        )
        write_model_dir(self.output, spec, self.model_tensors())

    def finish(self, history: list[dict[str, Any]], best_epoch: int, wall_seconds: float | None = None) -> None:
        """Keep the provenance of the whole run in the best model's card: history, best epoch, wall time; with
        ``interpolate`` < 1, first move the best weights towards ``interpolate_with``'s or ``init_from``'s
        (:func:`interpolate_ner`)."""
        from ..integrity import write_manifest

        path = self.output / "defnlp.json"
        spec = json.loads(path.read_text(encoding="utf-8"))
        towards = self.interpolate_dir or self.base_dir
        if self.cfg.interpolate < 1 and towards is not None and "interpolation" not in spec["training"]:
            interpolate_ner(towards, self.output, self.cfg.interpolate, self.output)  # once: a resumed run finishes again
            spec = json.loads(path.read_text(encoding="utf-8"))
        spec["training"]["history"] = history
        spec["training"]["best_epoch"] = best_epoch
        spec["training"]["wall_seconds"] = wall_seconds
        path.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files = ["weights.safetensors", "defnlp.json"] + (["README.md"] if (self.output / "README.md").is_file() else [])
        write_manifest(self.output, files)

    def model_tensors(self) -> dict[str, torch.Tensor]:
        """What the model directory ships: LoRA adapters or layer deltas (:mod:`defnlp.encoders.adapters`), and the
        head, with the fitted new-label bias in its bias vector."""
        head = head_tensors(self.model.head)
        if self.label_bias and self.bias_columns.size:
            bias = head["ner.proj.bias"].detach().clone()
            bias[torch.from_numpy(self.bias_columns)] += self.label_bias
            head = {**head, "ner.proj.bias": bias}
        if self.cfg.adapter == "full":
            return {**layer_deltas(self.peft_model, self.base_weights, self.delta_layers), **head}
        return {**lora_tensors(self.model.encoder), **head}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Checkpoint tensors: as :meth:`model_tensors`, but a "full" run keeps its layers' fp32 weights (``full.*``)."""
        if self.cfg.adapter == "full":
            layers = layer_parameters(self.peft_model, self.delta_layers)
            return {**{f"full.{n}": p for n, p in layers.items()}, **head_tensors(self.model.head)}
        return {**lora_tensors(self.model.encoder), **head_tensors(self.model.head)}

    @torch.no_grad()
    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if self.cfg.adapter == "full":
            for name, p in layer_parameters(self.peft_model, self.delta_layers).items():
                p.copy_(tensors[f"full.{name}"])
        else:
            load_lora_into_peft(self.model.encoder, tensors)
        self.model.head.proj.weight.data.copy_(tensors["ner.proj.weight"])
        self.model.head.proj.bias.data.copy_(tensors["ner.proj.bias"])


def train_ner(cfg: NerTrainingConfig) -> Path:
    """Train (or continue training) a NER model; return the output model directory.

    >>> train_ner(load_config(NerTrainingConfig, "configs/defence-v1-ner.toml"))  # doctest: +SKIP
    PosixPath('models/defence-v1-ner')
    """
    cfg.validate()
    settings = cfg.loop_settings()  # resolves the precision: a bf16 run on a CPU without bf16 units stops here
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    log.info("training precision: %s (config %r), adapter: %s", settings.precision, cfg.precision, cfg.adapter)
    return run_training(lambda: NerTask(cfg), settings)


def _encoder_layers(cfg: NerTrainingConfig, base_spec: ModelSpec | None, base_dir: Path | None) -> int:
    """The encoder layers a run keeps (0: all): ``encoder_layers``, or the ``init_from`` model's own.

    A run starting from a model keeps that model's depth: another one is a :class:`ConfigError`."""
    if base_spec is None:
        return cfg.encoder_layers
    base_layers = base_spec.encoder_layers or 0
    if cfg.encoder_layers and cfg.encoder_layers != base_layers:
        raise ConfigError(f"encoder_layers = {cfg.encoder_layers}, but init_from model {base_dir} runs "
                          f"{base_layers or 'all'} encoder layers",
                          "drop encoder_layers: a run that starts from a model keeps its depth")
    return base_layers


def _init_from(model: NerModel, path: Path, spec: ModelSpec, weights: Path, tagset: TagSet, encoder_sha: str,
               adapter: str = "lora") -> None:
    """Start from the trained model at ``path`` (its checked card ``spec`` and ``weights`` file, as
    :func:`~defnlp.models.read_model_dir` gives them): its adapters (LoRA run) or its merged encoder
    changes (full run), and its head rows."""
    from safetensors.torch import load_file

    if spec.encoder.get("sha256") != encoder_sha:
        raise TrainingError(f"init_from model {path} was trained on another encoder")
    tensors = load_file(str(weights))
    kind = (spec.adapter or {}).get("type", "none")
    if adapter == "full":  # LoRA updates or deltas merged into the (unwrapped) encoder's weights
        merge_adapter(model.encoder, tensors, spec.adapter)
    elif kind == "full" or any(k.startswith(DELTA_PREFIX) for k in tensors):
        raise ConfigError(f"init_from model {path} has fully fine-tuned layers, which LoRA adapters cannot hold",
                          'set adapter = "full" to continue from it')
    else:
        load_lora_into_peft(model.encoder, tensors)
    if spec.labels == tagset.labels:
        model.head.proj.weight.data.copy_(tensors["ner.proj.weight"])
        model.head.proj.bias.data.copy_(tensors["ner.proj.bias"])
    else:  # new label set: keep the adapters, copy the rows of shared tags
        old = TagSet(spec.labels)
        bias = tensors["ner.proj.bias"]
        floor = float(bias[1:].min()) if bias.numel() > 1 else 0.0
        for i, tag in enumerate(tagset.tags):
            if tag in old.index:
                model.head.proj.weight.data[i] = tensors["ner.proj.weight"][old.index[tag]]
                model.head.proj.bias.data[i] = bias[old.index[tag]]
            else:  # a new tag starts as unlikely as the base model's least likely one: it takes no token before it is learned
                model.head.proj.bias.data[i] = floor
    log.info("initialised from %s", path)
