"""The one training loop: epochs, early stopping, checkpoints, resume, logging, seeding.

Each task (NER, relations) describes *what* to train through :class:`TrainingTask` — the
module and parameter groups to optimise, the batches of an epoch, the loss of a batch, a dev
evaluation and how to save a model — and :func:`run_training` does the rest, identically for
every task:

* **seeded**: :func:`set_seed` runs before the task is built, so the initial weights, the
  dropout masks and the batch order depend only on the seed (same seed, same machine, same
  weights);
* **early stopping**: after each epoch the dev score (``dev_f1`` of the task's evaluation;
  without dev data, minus the training loss) picks the best epoch, whose model the task
  saves; without improvement for ``patience`` epochs the run stops (only when there is dev
  data);
* **resumable**: with ``LoopSettings.checkpoint`` set, a checkpoint is written after each
  epoch — the task's trainable tensors, the AdamW moments and the torch RNG state in
  ``weights.safetensors``, the loop state (epoch, best score, history, Python/NumPy RNG
  states) in ``state.json``; never pickle. A run with ``resume=True`` continues from it and
  ends with the same weights as an uninterrupted run;
* **logged**: a tqdm bar per epoch (with its total), a log line every ``log_every`` steps and
  one per epoch;
* **mixed precision**: with ``LoopSettings.precision = "bf16"`` each step's forward pass and
  loss run under bf16 autocast (:func:`defnlp.inference.runtime.training_autocast`); the
  backward pass, the master weights and the AdamW state stay fp32. Configs say
  ``precision = "auto" | "fp32" | "bf16"`` and :meth:`TrainingConfigMixin.training_precision`
  resolves it (bf16 where the CPU has bf16 units: AMX or AVX512-BF16).

>>> settings = LoopSettings(epochs=3, seed=13, patience=2)
>>> settings.total_steps(steps_per_epoch=10)
30
>>> linear_warmup_decay(warmup=2, total=10)(0)
0.5

Why not ``accelerate``: training here is single-process and on the CPU (frozen encoder,
LoRA adapters or a small head, a partial-label loss), which the few lines below cover
without a dependency; and accelerate's ``save_state`` pickles optimizer and RNG states,
which this project never writes. Everything that touches devices and the optimizer step is
in :class:`_Optimiser` (``prepare`` / ``step``): multi-process training can slot
``Accelerator.prepare`` / ``Accelerator.backward`` in there and keep the checkpoints.
"""

from __future__ import annotations

import abc
import json
import logging
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Sequence, TypeVar

import numpy as np
import torch

from ..config import config_to_dict
from ..errors import ConfigError, TrainingError
from ..inference.runtime import cpu_bf16_units, cpu_name, resolve_training_precision, training_autocast

if TYPE_CHECKING:
    from ..doc import Doc
    from ..io.corpora import DataSource

log = logging.getLogger(__name__)

__all__ = ["TrainingTask", "LoopSettings", "run_training", "set_seed", "linear_warmup_decay", "TrainingConfigMixin"]

Batch = TypeVar("Batch")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels where it has them."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def linear_warmup_decay(warmup: int, total: int) -> Callable[[int], float]:
    """LR factor of step ``step``: linear warm-up over ``warmup`` steps, then linear decay to 0 at ``total``.

    >>> f = linear_warmup_decay(warmup=2, total=4)
    >>> [f(s) for s in range(5)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup))

    return factor


class TrainingTask(abc.ABC, Generic[Batch]):
    """What one task plugs into :func:`run_training`.

    Subclasses set ``model`` (the module switched to train mode at each epoch) and ``output``
    (the model directory that :meth:`save` writes) and implement the abstract methods.
    """

    model: torch.nn.Module
    output: Path

    @abc.abstractmethod
    def param_groups(self) -> list[dict[str, Any]]:
        """AdamW parameter groups: ``{"params": [...], "lr": ..., "weight_decay": ...}``."""

    @abc.abstractmethod
    def steps_per_epoch(self) -> int:
        """The steps of one epoch (for the LR schedule and the step count of a resumed run)."""

    @abc.abstractmethod
    def batches(self, epoch: int) -> Sequence[Batch]:
        """The batches of epoch ``epoch`` (0-based), in order; a function of the seed and the epoch only."""

    @abc.abstractmethod
    def loss(self, batch: Batch) -> torch.Tensor:
        """The (scalar) loss of one batch, model in train mode."""

    def evaluate(self) -> dict[str, Any]:
        """Dev metrics merged into the epoch's history record; ``dev_f1`` is the early-stopping score."""
        return {}

    @abc.abstractmethod
    def save(self, history: list[dict[str, Any]]) -> None:
        """Write the current model (the best so far) to ``output``."""

    @abc.abstractmethod
    def finish(self, history: list[dict[str, Any]], best_epoch: int, wall_seconds: float | None = None) -> None:
        """Record the whole run in the saved (best) model's card (``wall_seconds``: the run's wall time, setup included)."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The trained tensors, for checkpoints (needed only when checkpoints are written)."""
        raise TrainingError(f"{type(self).__name__} does not support checkpoints", "train without 'checkpoint'/'resume'")

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load :meth:`state_tensors` back (resume)."""
        raise TrainingError(f"{type(self).__name__} does not support checkpoints", "train without 'checkpoint'/'resume'")


@dataclass
class LoopSettings:
    """How :func:`run_training` runs: epochs, early stopping, optimisation, logging, checkpoints."""

    epochs: int
    seed: int
    patience: int  # stop after this many epochs without dev improvement (0 counts as 1)
    grad_clip: float = 1.0
    warmup: float | None = None  # fraction of the steps: linear warm-up then decay; None: constant LR
    max_steps: int = 0  # stop after this many steps (0: no limit)
    log_every: int = 0  # a log line every N steps (0: none)
    checkpoint: Path | None = None  # checkpoint folder (None: no checkpoints)
    resume: bool = False
    record_seconds: bool = True  # add the elapsed seconds to each history record
    precision: str = "fp32"  # "fp32" or "bf16" (autocast of the forward pass and loss); resolved, not "auto"

    def total_steps(self, steps_per_epoch: int) -> int:
        return self.max_steps or steps_per_epoch * self.epochs


class _Optimiser:
    """The device and optimizer-step logic, in one place (where accelerate would go)."""

    def __init__(self, task: TrainingTask, settings: LoopSettings) -> None:
        groups = task.param_groups()
        self.params = [p for g in groups for p in g["params"]]
        self.optimizer = torch.optim.AdamW(groups)
        self.settings = settings
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None

    def schedule(self, total_steps: int, done: int) -> None:
        """Create the LR schedule (if any) and advance it past ``done`` steps of a resumed run."""
        if self.settings.warmup is None:
            return
        warmup = max(1, int(self.settings.warmup * total_steps))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, linear_warmup_decay(warmup, total_steps))
        with warnings.catch_warnings():  # replaying the schedule before any optimizer step is intended
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`", category=UserWarning)
            for _ in range(done):
                self.scheduler.step()

    def step(self, loss: torch.Tensor) -> None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.settings.grad_clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """AdamW moments as tensors ``opt.{group}.{index}.exp_avg[_sq]`` and their step counts."""
        tensors, steps = {}, {}
        for g, group in enumerate(self.optimizer.param_groups):
            for i, p in enumerate(group["params"]):
                st = self.optimizer.state.get(p)
                if not st:
                    continue
                tensors[f"opt.{g}.{i}.exp_avg"] = st["exp_avg"]
                tensors[f"opt.{g}.{i}.exp_avg_sq"] = st["exp_avg_sq"]
                steps[f"{g}.{i}"] = float(st["step"])
        return tensors, steps

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], steps: dict[str, float]) -> None:
        for g, group in enumerate(self.optimizer.param_groups):
            for i, p in enumerate(group["params"]):
                key = f"{g}.{i}"
                if key in steps:
                    self.optimizer.state[p] = {
                        "step": torch.tensor(steps[key]),
                        "exp_avg": tensors[f"opt.{key}.exp_avg"].clone(),
                        "exp_avg_sq": tensors[f"opt.{key}.exp_avg_sq"].clone(),
                    }


@dataclass
class _LoopState:
    """What a checkpoint's ``state.json`` holds besides the RNG states."""

    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    #: wall time of the run so far, setup included, summed over the processes of a resumed run
    wall_seconds: float = 0.0


def _save_checkpoint(folder: Path, task: TrainingTask, opt: _Optimiser, state: _LoopState) -> None:
    """``weights.safetensors`` (task tensors, AdamW moments, torch RNG) + ``state.json``, each replaced atomically."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    opt_tensors, steps = opt.state_tensors()
    tensors = {**task.state_tensors(), **opt_tensors, "rng.torch": torch.get_rng_state()}
    tmp = folder / "weights.safetensors.tmp"
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(folder / "weights.safetensors")
    np_state = np.random.get_state()
    data = {"epoch": state.epoch, "best_f1": state.best_score, "best_epoch": state.best_epoch, "history": state.history,
            "steps": steps, "bad_epochs": state.bad_epochs, "wall_seconds": state.wall_seconds,
            "rng": {"python": random.getstate(), "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]]}}
    state_tmp = folder / "state.json.tmp"
    state_tmp.write_text(json.dumps(data))
    state_tmp.replace(folder / "state.json")


def _load_checkpoint(folder: Path, task: TrainingTask, opt: _Optimiser) -> _LoopState:
    """Restore the task, the optimizer and the RNGs from :func:`_save_checkpoint`'s files."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(folder / "weights.safetensors"))
        data = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError) as err:
        raise TrainingError(f"cannot read the checkpoint in {folder}: {err}",
                            "delete the checkpoint folder to start over, or point 'checkpoint' at another one") from err
    task.load_state_tensors(tensors)
    opt.load_state_tensors(tensors, data.get("steps", {}))
    if "rng.torch" in tensors:  # checkpoints written before the RNG states were kept lack them
        torch.set_rng_state(tensors["rng.torch"])
    rng = data.get("rng")
    if rng:
        version, internal, gauss = rng["python"]
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state((rng["numpy"][0], np.asarray(rng["numpy"][1], dtype=np.uint32), *rng["numpy"][2:]))
    return _LoopState(epoch=int(data["epoch"]), best_score=data["best_f1"], best_epoch=data["best_epoch"],
                      bad_epochs=int(data.get("bad_epochs", 0)), history=data["history"],
                      wall_seconds=float(data.get("wall_seconds", 0.0)))


def run_training(make_task: Callable[[], TrainingTask], settings: LoopSettings) -> Path:
    """Seed, build the task, train it epoch by epoch; return its output model directory.

    ``make_task`` is called after seeding, so that the task's initial weights are seeded too.

    >>> out = run_training(lambda: MyTask(cfg), LoopSettings(epochs=5, seed=13, patience=2))  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    process_started = time.perf_counter()
    set_seed(settings.seed)
    task = make_task()
    opt = _Optimiser(task, settings)
    steps_per_epoch = task.steps_per_epoch()
    state = _LoopState()
    ckpt = settings.checkpoint
    if ckpt is not None and settings.resume and (ckpt / "state.json").is_file():
        state = _load_checkpoint(ckpt, task, opt)
        log.info("resuming from %s after epoch %d", ckpt, state.epoch)
    opt.schedule(settings.total_steps(steps_per_epoch), done=state.epoch * steps_per_epoch)

    step = state.epoch * steps_per_epoch
    started = time.perf_counter()
    wall_before = state.wall_seconds  # earlier processes of a resumed run
    for epoch in range(state.epoch, settings.epochs):
        task.model.train()
        batches = task.batches(epoch)
        losses: list[float] = []
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch", leave=False, disable=None)
        for batch in bar:
            with training_autocast(settings.precision):
                loss = task.loss(batch)
            opt.step(loss)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            step += 1
            if settings.log_every and step % settings.log_every == 0:
                log.info("step %d (epoch %d, %d/%d): loss %.4f, %.0f s", step, epoch + 1, len(losses), len(batches),
                         np.mean(losses[-settings.log_every:]), time.perf_counter() - started)
            if settings.max_steps and step >= settings.max_steps:
                break
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else math.nan}
        if settings.record_seconds:
            record["seconds"] = round(time.perf_counter() - started, 1)
        record.update(task.evaluate())
        state.history.append(record)
        state.epoch = epoch + 1
        state.wall_seconds = round(wall_before + time.perf_counter() - process_started, 1)
        log.info("epoch %d: %s", epoch + 1, {k: v for k, v in record.items() if not isinstance(v, dict)})
        score = record.get("dev_f1", -record["loss"])
        if score > state.best_score:
            state.best_score, state.best_epoch, state.bad_epochs = score, epoch + 1, 0
            task.save(state.history)
        else:
            state.bad_epochs += 1
        if ckpt is not None:
            _save_checkpoint(ckpt, task, opt, state)
        if settings.max_steps and step >= settings.max_steps:
            break
        if "dev_f1" in record and state.bad_epochs >= max(1, settings.patience):
            log.info("early stopping: no dev improvement for %d epochs (best epoch %d)", state.bad_epochs, state.best_epoch)
            break
    if not (task.output / "defnlp.json").is_file():
        raise TrainingError(f"training finished without saving a model to {task.output} (no epoch completed?)")
    task.finish(state.history, state.best_epoch, wall_seconds=state.wall_seconds)
    return task.output


class TrainingConfigMixin:
    """What the training configs share: paths relative to the config file, sources, the card's record.

    Mixed into the config dataclasses (it adds no fields).
    """

    if TYPE_CHECKING:  # the fields it reads (declared by each config; kept out of the runtime annotations)
        train: list[DataSource]
        dev: list[DataSource]
        seed: int
        base_dir: str
        precision: str

    def validate_sources(self) -> None:
        if not self.train:
            raise ConfigError("a training config needs at least one [[train]] source",
                              "add a [[train]] table with a 'format' (see docs/fine-tuning.md)")
        for s in self.train + self.dev:
            s.validate()

    def resolve(self, path: str) -> Path:
        """``path`` relative to the config file's folder (absolute paths unchanged)."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p

    def load_docs(self, sources: list[DataSource], keep: Callable[[Doc], bool] | None = None) -> list[Doc]:
        """The documents of ``sources`` (those ``keep`` accepts), in order."""
        from ..io.corpora import load_source

        docs: list[Doc] = []
        for source in sources:
            docs += [d for d in load_source(source, base_dir=self.base_dir or ".", seed=self.seed) if keep is None or keep(d)]
        return docs

    def training_precision(self) -> str:
        """The config's ``precision`` (``auto``/``fp32``/``bf16``) resolved on this machine: ``fp32`` or ``bf16``.

        Raises :class:`ConfigError` for ``bf16`` on a CPU without bf16 units (see
        :func:`defnlp.inference.runtime.resolve_training_precision`, the one place that decides).
        """
        return resolve_training_precision(getattr(self, "precision", "fp32"))

    def training_record(self, history: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """The ``training`` entry of a model card: the portable config and its sha256, the history,
        ``extra`` (e.g. ``data``: :func:`~defnlp.training.provenance.data_record`), seed, library
        versions, the precision the run used (resolved), the CPU, its bf16 units and the thread count."""
        from .provenance import config_sha256, library_versions

        config = {k: v for k, v in config_to_dict(self).items() if k != "base_dir"}
        return {"config": config, "config_sha256": config_sha256(config), "history": history, **extra,
                "seed": self.seed, "torch": torch.__version__, "versions": library_versions(),
                "precision": self.training_precision(), "cpu_bf16_units": cpu_bf16_units(), "cpu": cpu_name(),
                "threads": torch.get_num_threads()}
