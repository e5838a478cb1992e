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
* **weight averaging**: with ``LoopSettings.ema`` = d > 0, an exponential moving average of the
  trainable weights follows the optimizer (after step t: ``avg += (1 - d_t) * (w - avg)`` with
  ``d_t = min(d, (1 + t) / (10 + t))``, so the first steps are not averaged with the initial
  weights); each epoch is evaluated and saved with the averaged weights, while training goes on
  from the raw ones. It smooths the epoch-to-epoch swings of the dev score that make early
  stopping pick a lucky or unlucky epoch; the average is part of the checkpoint;
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

* **several processes**: launched by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment),
  each of the N processes computes the loss of one shard of every batch (``batch[rank::N]``),
  weighted by :meth:`TrainingTask.batch_weight` so that the summed gradient is the whole
  batch's (:class:`_Distributed`); the gradients are summed across processes (gloo), and the
  optimizer step, the clipping and the schedule then run identically everywhere. Rank 0 alone
  evaluates (its record is sent to the others, so that every process takes the same
  early-stopping decision), saves the model and writes the checkpoints. The batches are those
  of one process, so N processes train the same model as one, up to float summation order
  (with dropout, up to the masks drawn: each process draws its own, seeded by seed, epoch and
  rank at each epoch — which also makes a resumed run draw the same ones).

Why not ``accelerate`` or ``DistributedDataParallel``: they average each process's *mean*
loss, which is the whole batch's gradient only when every shard holds as many labelled
tokens — NER batches group windows by length, not by labelled tokens, so the mean of means
would train another model than one process does. Here the gradient sum of a batch is one
``all_reduce`` of the few trainable tensors (LoRA adapters and heads); the frozen-prefix
cache calls encoder layers outside the module's ``forward``, which DDP's hooks do not follow;
and accelerate's ``save_state`` pickles optimizer and RNG states, which this project never
writes. ``torchrun`` (shipped with torch) launches the processes on one machine or several.
"""

from __future__ import annotations

import abc
import json
import logging
import math
import os
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

    def batch_weight(self, batch: Batch) -> float:
        """How many units :meth:`loss` averages over in ``batch`` (default: its items).

        With several processes each computes the loss of a shard of a batch; the shards' losses
        are summed in these proportions, so that the gradient is that of the whole batch. A task
        whose loss is a mean over something else (labelled tokens) returns that count.
        """
        return float(len(batch))  # type: ignore[arg-type]


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
    ema: float = 0.0  # decay of the moving average of the weights that is evaluated and saved (0: off)

    def total_steps(self, steps_per_epoch: int) -> int:
        return self.max_steps or steps_per_epoch * self.epochs


class _Optimiser:
    """The device and optimizer-step logic, in one place (where accelerate would go)."""

    def __init__(self, task: TrainingTask, settings: LoopSettings) -> None:
        groups = task.param_groups()
        self.params = [p for g in groups for p in g["params"]]
        # torch's fused AdamW: one kernel per tensor instead of a dozen element-wise ops (CPU and
        # CUDA, fp32 master weights); the same update up to rounding, measured in benchmarks/training_speed.py
        self.fused = bool(self.params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in self.params)
        self.optimizer = torch.optim.AdamW(groups, fused=self.fused or None)
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
        self.finish_step()

    def finish_step(self) -> None:
        """Clip the gradients, step the optimizer and the schedule, clear the gradients."""
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
                    self.optimizer.state[p] = {  # the fused kernel reads the step count on the parameter's device
                        "step": torch.tensor(steps[key], dtype=torch.float32, device=p.device if self.fused else "cpu"),
                        "exp_avg": tensors[f"opt.{key}.exp_avg"].clone(),
                        "exp_avg_sq": tensors[f"opt.{key}.exp_avg_sq"].clone(),
                    }


class _WeightAverage:
    """An exponential moving average of the trainable parameters (``LoopSettings.ema``).

    Only the optimised tensors are averaged (torch's ``swa_utils.AveragedModel`` would copy the
    whole module, frozen encoder included, and keep its own naming for checkpoints).

    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> avg = _WeightAverage([w], decay=0.9)
    >>> with torch.no_grad():
    ...     _ = w.fill_(1.0)
    >>> avg.update(); avg.update()   # decay min(0.9, 2/11), then min(0.9, 3/12): 0.818, then 0.955
    >>> round(float(avg.shadow[0]), 3)
    0.955
    >>> avg.swap(); round(float(w), 3), round(float(avg.shadow[0]), 3)   # evaluate the average, keep the live weights
    (0.955, 1.0)
    """

    def __init__(self, params: list[torch.Tensor], decay: float) -> None:
        self.params, self.decay, self.updates = params, decay, 0
        self.shadow = [p.detach().clone() for p in params]

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, p in zip(self.shadow, self.params):
            avg.lerp_(p.detach(), 1.0 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the live weights and the average (call twice to restore)."""
        for avg, p in zip(self.shadow, self.params):
            live = p.detach().clone()
            p.copy_(avg)
            avg.copy_(live)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"ema.{i}": t for i, t in enumerate(self.shadow)} | {"ema.updates": torch.tensor(self.updates)}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "ema.updates" not in tensors:
            raise TrainingError("the checkpoint was written without a weight average (ema = 0)",
                                "resume with the settings it was written with, or delete the checkpoint to start over")
        for i, avg in enumerate(self.shadow):
            avg.copy_(tensors[f"ema.{i}"])
        self.updates = int(tensors["ema.updates"])


class _Distributed:
    """The processes of a ``torchrun`` launch (``WORLD_SIZE`` > 1): shards, gradient sums, rank 0's decisions.

    One process (no ``WORLD_SIZE``, or 1) gets ``world == 1`` and the loop takes its plain path.
    The process group (gloo: the tensors of a training step live on the CPU) is created here
    from torchrun's environment unless the caller made one, and destroyed by :meth:`close`.
    """

    def __init__(self) -> None:
        self.rank, self.world, self.owned = 0, 1, False
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            try:
                dist.init_process_group(backend="gloo")
            except (RuntimeError, ValueError) as err:
                raise TrainingError(f"cannot join the {os.environ['WORLD_SIZE']} training processes: {err}",
                                    "launch with torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT); "
                                    "see docs/fine-tuning.md") from err
            self.owned = True
        self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, batch: Any) -> Any:
        """This process's share of ``batch``: every N-th item from its rank on."""
        return batch[self.rank :: self.world]

    @torch.no_grad()
    def broadcast_params(self, params: list[torch.Tensor]) -> None:
        """Rank 0's values of ``params`` everywhere (the same start whatever each process computed)."""
        import torch.distributed as dist

        for p in params:
            dist.broadcast(p.data, src=0)

    def same(self, value: int, what: str) -> None:
        """Fail (:class:`TrainingError`) unless every process holds the same ``value``."""
        import torch.distributed as dist

        t = torch.tensor([value, -value], dtype=torch.long)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        if int(t[0]) != -int(t[1]):
            raise TrainingError(f"the training processes disagree on {what} ({-int(t[1])} to {int(t[0])})",
                                "every process must read the same checkpoint: put 'checkpoint' on a shared folder")

    @torch.no_grad()
    def sum_gradients(self, params: list[torch.Tensor], loss: float) -> float:
        """Sum the gradients of ``params`` and the weighted ``loss`` over the processes; return the batch loss.

        A parameter that no process's shard reached keeps ``grad = None`` (as in one process).
        """
        import torch.distributed as dist

        parts = [p.grad.reshape(-1).float() if p.grad is not None else torch.zeros(p.numel()) for p in params]
        reached = [1.0 if p.grad is not None else 0.0 for p in params]
        flat = torch.cat(parts + [torch.tensor(reached + [loss], dtype=torch.float32)])
        dist.all_reduce(flat)
        total = sum(p.numel() for p in params)
        offset = 0
        for i, p in enumerate(params):
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p).to(p.dtype).clone() if flat[total + i] > 0 else None
            offset += n
        return float(flat[-1])

    def broadcast_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Rank 0's ``record`` (JSON) in every process."""
        import torch.distributed as dist

        data = torch.tensor(list(json.dumps(record).encode("utf-8")) if self.main else [], dtype=torch.uint8)
        size = torch.tensor([data.numel()], dtype=torch.long)
        dist.broadcast(size, src=0)
        if not self.main:
            data = torch.empty(int(size), dtype=torch.uint8)
        dist.broadcast(data, src=0)
        return json.loads(bytes(data.tolist()).decode("utf-8"))

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.owned:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.owned = False


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


def _save_checkpoint(folder: Path, task: TrainingTask, opt: _Optimiser, state: _LoopState,
                     average: _WeightAverage | None = None) -> None:
    """``weights.safetensors`` (task tensors, AdamW moments, weight average, torch RNG) + ``state.json``,
    each replaced atomically."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    opt_tensors, steps = opt.state_tensors()
    tensors = {**task.state_tensors(), **opt_tensors, "rng.torch": torch.get_rng_state()}
    if average is not None:
        tensors.update(average.state_tensors())
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


def _load_checkpoint(folder: Path, task: TrainingTask, opt: _Optimiser, average: _WeightAverage | None = None) -> _LoopState:
    """Restore the task, the optimizer, the weight average and the RNGs from :func:`_save_checkpoint`'s files."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(folder / "weights.safetensors"))
        data = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError) as err:
        raise TrainingError(f"cannot read the checkpoint in {folder}: {err}",
                            "delete the checkpoint folder to start over, or point 'checkpoint' at another one") from err
    task.load_state_tensors(tensors)
    opt.load_state_tensors(tensors, data.get("steps", {}))
    if average is not None:
        average.load_state_tensors(tensors)
    elif "ema.updates" in tensors:
        raise TrainingError("the checkpoint was written with a weight average (ema > 0) and this run has none",
                            "resume with the settings it was written with, or delete the checkpoint to start over")
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
    Under ``torchrun`` with several processes, each trains on its shard of every batch and
    rank 0 writes the model and the checkpoints (see the module's docstring).

    >>> out = run_training(lambda: MyTask(cfg), LoopSettings(epochs=5, seed=13, patience=2))  # doctest: +SKIP
    """
    dist = _Distributed()
    try:
        return _run(make_task, settings, dist)
    finally:
        dist.close()


def _run(make_task: Callable[[], TrainingTask], settings: LoopSettings, dist: _Distributed) -> Path:
    from tqdm.auto import tqdm

    process_started = time.perf_counter()
    info = log.info if dist.main else log.debug
    set_seed(settings.seed)
    task = make_task()
    opt = _Optimiser(task, settings)
    steps_per_epoch = task.steps_per_epoch()
    state = _LoopState()
    ckpt = settings.checkpoint
    average = _WeightAverage(opt.params, settings.ema) if settings.ema > 0 else None
    if ckpt is not None and settings.resume and (ckpt / "state.json").is_file():
        state = _load_checkpoint(ckpt, task, opt, average)
        info("resuming from %s after epoch %d", ckpt, state.epoch)
    if dist.world > 1:
        dist.same(state.epoch, "the epoch to resume after")
        dist.broadcast_params(opt.params)
        info("training in %d processes (rank 0 writes the model)", dist.world)
        if type(task).batch_weight is TrainingTask.batch_weight:
            info("%s weights each process's share of a batch by its items: if its loss averages over something "
                 "else, %d processes approximate the model of one", type(task).__name__, dist.world)
    opt.schedule(settings.total_steps(steps_per_epoch), done=state.epoch * steps_per_epoch)

    step = state.epoch * steps_per_epoch
    started = time.perf_counter()
    wall_before = state.wall_seconds  # earlier processes of a resumed run
    for epoch in range(state.epoch, settings.epochs):
        task.model.train()
        if dist.world > 1:  # each process its own dropout masks, the same again when resumed at this epoch
            torch.manual_seed((settings.seed * 1000 + epoch) * 1000 + dist.rank)
        batches = task.batches(epoch)
        losses: list[float] = []
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch", leave=False,
                   disable=None if dist.main else True)
        for batch in bar:
            if dist.world > 1:
                losses.append(_distributed_step(task, opt, dist, batch, settings.precision))
            else:
                with training_autocast(settings.precision):
                    loss = task.loss(batch)
                opt.step(loss)
                losses.append(loss.item())
            if average is not None:
                average.update()
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            step += 1
            if settings.log_every and step % settings.log_every == 0:
                info("step %d (epoch %d, %d/%d): loss %.4f, %.0f s", step, epoch + 1, len(losses), len(batches),
                     np.mean(losses[-settings.log_every:]), time.perf_counter() - started)
            if settings.max_steps and step >= settings.max_steps:
                break
        record: dict[str, Any] = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else math.nan}
        if settings.record_seconds:
            record["seconds"] = round(time.perf_counter() - started, 1)
        if average is not None:  # evaluated (and saved, below) with the averaged weights
            average.swap()
        if dist.main:
            record.update(task.evaluate())
        if dist.world > 1:  # rank 0's evaluation decides for every process
            record = dist.broadcast_record(record)
        state.history.append(record)
        state.epoch = epoch + 1
        state.wall_seconds = round(wall_before + time.perf_counter() - process_started, 1)
        info("epoch %d: %s", epoch + 1, {k: v for k, v in record.items() if not isinstance(v, dict)})
        score = record.get("dev_f1", -record["loss"])
        if score > state.best_score:
            state.best_score, state.best_epoch, state.bad_epochs = score, epoch + 1, 0
            if dist.main:
                task.save(state.history)
        else:
            state.bad_epochs += 1
        if average is not None:  # training goes on from the raw weights
            average.swap()
        if ckpt is not None and dist.main:
            _save_checkpoint(ckpt, task, opt, state, average)
        if settings.max_steps and step >= settings.max_steps:
            break
        if "dev_f1" in record and state.bad_epochs >= max(1, settings.patience):
            info("early stopping: no dev improvement for %d epochs (best epoch %d)", state.bad_epochs, state.best_epoch)
            break
    if dist.main:
        if not (task.output / "defnlp.json").is_file():
            raise TrainingError(f"training finished without saving a model to {task.output} (no epoch completed?)")
        task.finish(state.history, state.best_epoch, wall_seconds=state.wall_seconds)
    dist.barrier()  # every process returns once the model is complete
    return task.output


def _distributed_step(task: TrainingTask, opt: _Optimiser, dist: _Distributed, batch: Any, precision: str) -> float:
    """One step of one process: the loss of its shard, weighted by its share of the batch; gradients summed."""
    shards = [batch[r :: dist.world] for r in range(dist.world)]
    weights = [task.batch_weight(shard) if len(shard) else 0.0 for shard in shards]
    total = sum(weights)
    mine, share = shards[dist.rank], (weights[dist.rank] / total if total > 0 else 0.0)
    loss_share = 0.0
    if len(mine):
        with training_autocast(precision):
            loss = task.loss(mine)
        (loss * share).backward()
        loss_share = loss.item() * share
    batch_loss = dist.sum_gradients(opt.params, loss_share)
    opt.finish_step()
    return batch_loss


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

    def validate_ema(self) -> None:
        """``ema`` (the decay of the weight average, :class:`LoopSettings`) must be 0 (off) or in (0, 1)."""
        ema = getattr(self, "ema", 0.0)
        if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0.0 <= ema < 1.0:
            raise ConfigError(f"ema must be a number in [0, 1), not {ema!r}",
                              "0 turns the weight average off; 0.998 averages over roughly the last 500 steps")

    def resolve(self, path: str) -> Path:
        """``path`` relative to the config file's folder (absolute paths unchanged)."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p

    def model_dir(self, model: str) -> Path:
        """The directory of ``model``: a folder relative to the config file's folder, else a model name
        or path for :func:`~defnlp.models.find_model` (which raises ModelNotFoundError with the models it knows)."""
        from ..models import find_model

        local = self.resolve(model)
        return local if local.is_dir() else find_model(model)

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
