"""The shared training loop (defnlp.training.loop): determinism, early stopping, checkpoints, resume.

Most tests drive the loop with a toy task (a small MLP with dropout on random data, a
scripted dev score), so they run in a fraction of a second; the last one interrupts and
resumes a real NER training run on the tiny random encoder.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from defnlp.errors import TrainingError
from defnlp.training.loop import LoopSettings, TrainingTask, run_training


class Interrupted(Exception):
    """Stands for a killed run."""


class ToyTask(TrainingTask[list[int]]):
    """Regression with an MLP with dropout (so the RNG matters); the dev score is scripted."""

    def __init__(self, output: Path, dev_scores: list[float] | None = None, stop_at_step: int = 0,
                 checkpoints: bool = True) -> None:
        self.output = output
        self.model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1))
        gen = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(20, 4, generator=gen), torch.randn(20, 1, generator=gen)
        self.dev_scores, self.stop_at_step, self.steps, self.checkpoints = dev_scores, stop_at_step, 0, checkpoints
        self.epochs_evaluated = 0

    def param_groups(self) -> list[dict[str, Any]]:
        return [{"params": list(self.model.parameters()), "lr": 0.05, "weight_decay": 0.01}]

    def steps_per_epoch(self) -> int:
        return 5

    def batches(self, epoch: int) -> list[list[int]]:
        order = list(range(20))
        random.Random(epoch).shuffle(order)
        return [order[i : i + 4] for i in range(0, 20, 4)]

    def loss(self, batch: list[int]) -> torch.Tensor:
        self.steps += 1
        if self.stop_at_step and self.steps == self.stop_at_step:
            raise Interrupted
        return torch.nn.functional.mse_loss(self.model(self.x[batch]), self.y[batch])

    def evaluate(self) -> dict[str, Any]:
        self.epochs_evaluated += 1
        if self.dev_scores is None:
            return {}
        return {"dev_f1": self.dev_scores[self.epochs_evaluated - 1]}

    def save(self, history: list[dict[str, Any]]) -> None:
        from safetensors.torch import save_file

        self.output.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(self.output / "weights.safetensors"))
        (self.output / "defnlp.json").write_text(json.dumps({"history": history}))

    def finish(self, history: list[dict[str, Any]], best_epoch: int, wall_seconds: float | None = None) -> None:
        (self.output / "defnlp.json").write_text(json.dumps({"history": history, "best_epoch": best_epoch}))

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if not self.checkpoints:
            return super().state_tensors()
        return {f"toy.{k}": v for k, v in self.model.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("toy.")})


def weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path / "weights.safetensors"))


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


def card(path: Path) -> dict[str, Any]:
    return json.loads((path / "defnlp.json").read_text())


def losses(history: list[dict[str, Any]]) -> list[float]:
    return [h["loss"] for h in history]


def settings(tmp_path: Path, name: str, **kw: Any) -> LoopSettings:
    base: dict[str, Any] = dict(epochs=4, seed=7, patience=2, warmup=0.1, log_every=3, checkpoint=tmp_path / f"{name}.ckpt")
    base.update(kw)
    return LoopSettings(**base)


def test_same_seed_same_weights_and_another_seed_other_weights(tmp_path):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        out = run_training(lambda: ToyTask(tmp_path / name), settings(tmp_path, name, seed=seed))
        runs[name] = (weights(out), losses(card(out)["history"]))
    assert_same_weights(runs["a"][0], runs["b"][0])
    assert runs["a"][1] == runs["b"][1]
    assert runs["a"][1] != runs["c"][1]


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    tasks: list[ToyTask] = []

    def make(scores: list[float], name: str) -> ToyTask:
        tasks.append(ToyTask(tmp_path / name, dev_scores=scores))
        return tasks[-1]

    out = run_training(lambda: make([0.5, 0.6, 0.6, 0.55, 0.9, 0.9], "es"), settings(tmp_path, "es", epochs=6, patience=2))
    spec = card(out)
    assert [h["epoch"] for h in spec["history"]] == [1, 2, 3, 4]  # two epochs without improvement after epoch 2
    assert spec["best_epoch"] == 2
    assert all("seconds" in h for h in spec["history"])
    # the saved model is the best epoch's: the checkpoint (last epoch) holds other weights
    ckpt = weights(tmp_path / "es.ckpt")
    assert not torch.equal(weights(out)["0.weight"], ckpt["toy.0.weight"])

    # without dev data the loss picks the best epoch and the run never stops early
    out = run_training(lambda: ToyTask(tmp_path / "nodev"), settings(tmp_path, "nodev", epochs=5, patience=1,
                                                                        record_seconds=False))
    spec = card(out)
    assert len(spec["history"]) == 5 and "seconds" not in spec["history"][0]
    assert spec["best_epoch"] == min(spec["history"], key=lambda h: h["loss"])["epoch"]


def test_max_steps_stops_mid_epoch(tmp_path):
    out = run_training(lambda: ToyTask(tmp_path / "ms"), settings(tmp_path, "ms", max_steps=7))
    assert [h["epoch"] for h in card(out)["history"]] == [1, 2]
    assert json.loads((tmp_path / "ms.ckpt" / "state.json").read_text())["epoch"] == 2


def test_checkpoints_are_safetensors_and_json(tmp_path):
    run_training(lambda: ToyTask(tmp_path / "ck"), settings(tmp_path, "ck", epochs=2))
    folder = tmp_path / "ck.ckpt"
    assert sorted(p.name for p in folder.iterdir()) == ["state.json", "weights.safetensors"]
    state = json.loads((folder / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 2 and set(state["rng"]) == {"python", "numpy"}
    assert {"toy.0.weight", "opt.0.0.exp_avg", "opt.0.0.exp_avg_sq", "rng.torch"} <= set(weights(folder))


@pytest.mark.parametrize("stop_at_step", [8, 16])  # in epoch 2; at the start of epoch 4
def test_resume_after_an_interruption_gives_the_uninterrupted_run(tmp_path, stop_at_step):
    # best epoch 2, then two epochs without improvement: the run stops after epoch 4, so the
    # resumed run must also remember that epoch 3 did not improve
    dev = [0.5, 0.6, 0.55, 0.5, 0.9]
    full = run_training(lambda: ToyTask(tmp_path / "full", dev), settings(tmp_path, "full", epochs=5, patience=2))

    with pytest.raises(Interrupted):
        run_training(lambda: ToyTask(tmp_path / "cut", dev, stop_at_step=stop_at_step), settings(tmp_path, "cut", epochs=5, patience=2))
    done = json.loads((tmp_path / "cut.ckpt" / "state.json").read_text())["epoch"]

    def resumed_task() -> ToyTask:
        task = ToyTask(tmp_path / "cut", dev)
        task.epochs_evaluated = done  # the scripted dev scores go on where they stopped
        return task

    resumed = run_training(resumed_task, settings(tmp_path, "cut", epochs=5, patience=2, resume=True))
    assert_same_weights(weights(full), weights(resumed))
    assert_same_weights(weights(tmp_path / "full.ckpt"), weights(tmp_path / "cut.ckpt"))
    a, b = card(full), card(resumed)
    assert len(a["history"]) == 4 and a["best_epoch"] == b["best_epoch"] == 2
    assert losses(a["history"]) == losses(b["history"])


def test_a_weight_average_is_evaluated_and_saved_while_training_goes_on_from_the_raw_weights(tmp_path):
    seen: list[torch.Tensor] = []

    class Watched(ToyTask):
        def evaluate(self) -> dict[str, Any]:
            seen.append(self.model[0].weight.detach().clone())
            return super().evaluate()

    dev = [0.5, 0.6, 0.7]
    plain = run_training(lambda: ToyTask(tmp_path / "plain", dev), settings(tmp_path, "plain", epochs=3))
    averaged = run_training(lambda: Watched(tmp_path / "avg", dev), settings(tmp_path, "avg", epochs=3, ema=0.9))
    # the same optimiser path (the raw weights in the checkpoint), another saved model (the average)
    assert_same_weights({k: v for k, v in weights(tmp_path / "plain.ckpt").items() if not k.startswith("rng")},
                        {k: v for k, v in weights(tmp_path / "avg.ckpt").items() if not k.startswith(("rng", "ema."))})
    assert not torch.equal(weights(plain)["0.weight"], weights(averaged)["0.weight"])
    assert torch.equal(weights(averaged)["0.weight"], seen[-1])  # the evaluated weights are the saved ones
    assert torch.equal(weights(tmp_path / "avg.ckpt")["ema.0"], seen[-1])
    assert int(weights(tmp_path / "avg.ckpt")["ema.updates"]) == 15


def test_a_run_with_a_weight_average_resumes_bit_identically(tmp_path):
    dev = [0.5, 0.6, 0.55, 0.7]
    full = run_training(lambda: ToyTask(tmp_path / "full", dev), settings(tmp_path, "full", epochs=4, ema=0.8))
    with pytest.raises(Interrupted):
        run_training(lambda: ToyTask(tmp_path / "cut", dev, stop_at_step=13), settings(tmp_path, "cut", epochs=4, ema=0.8))

    def resumed_task() -> ToyTask:
        task = ToyTask(tmp_path / "cut", dev)
        task.epochs_evaluated = 2
        return task

    resumed = run_training(resumed_task, settings(tmp_path, "cut", epochs=4, ema=0.8, resume=True))
    assert_same_weights(weights(full), weights(resumed))
    assert_same_weights(weights(tmp_path / "full.ckpt"), weights(tmp_path / "cut.ckpt"))
    # a checkpoint written without the average cannot resume a run with one
    run_training(lambda: ToyTask(tmp_path / "none"), settings(tmp_path, "none", epochs=1))
    with pytest.raises(TrainingError, match="without a weight average"):
        run_training(lambda: ToyTask(tmp_path / "none"), settings(tmp_path, "none", epochs=2, ema=0.8, resume=True))
    # nor can a checkpoint with the average resume a run without one (the average would be lost silently)
    with pytest.raises(TrainingError, match="with a weight average"):
        run_training(lambda: ToyTask(tmp_path / "cut"), settings(tmp_path, "cut", epochs=5, resume=True))


@pytest.mark.parametrize("ema", [-0.1, 1.0, True, "0.9"])
def test_a_bad_ema_is_a_config_error(ema, tiny_markup_file):
    from defnlp.errors import ConfigError
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig

    cfg = NerTrainingConfig(name="x", output="x", train=[DataSource(format="markup", path=str(tiny_markup_file))], ema=ema)
    with pytest.raises(ConfigError, match="ema must be"):
        cfg.validate()


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    a = run_training(lambda: ToyTask(tmp_path / "a"), settings(tmp_path, "a", epochs=2, resume=True))
    b = run_training(lambda: ToyTask(tmp_path / "b"), settings(tmp_path, "b", epochs=2))
    assert_same_weights(weights(a), weights(b))


def test_errors(tmp_path):
    with pytest.raises(TrainingError, match="does not support checkpoints"):
        run_training(lambda: ToyTask(tmp_path / "x", checkpoints=False), settings(tmp_path, "x", epochs=1))
    with pytest.raises(TrainingError, match="without saving a model"):  # the dev score never beats -inf
        run_training(lambda: ToyTask(tmp_path / "y", dev_scores=[float("nan")]), settings(tmp_path, "y", epochs=1, checkpoint=None))
    folder = tmp_path / "z.ckpt"
    folder.mkdir()
    (folder / "state.json").write_text("{}")
    with pytest.raises(TrainingError, match="cannot read the checkpoint"):
        run_training(lambda: ToyTask(tmp_path / "z"), settings(tmp_path, "z", epochs=1, resume=True))


def test_ner_training_resumes_bit_identically(tmp_path, tiny_markup_file, monkeypatch):
    """A real NER run (tiny encoder, LoRA dropout) killed in epoch 2 and resumed ends like an uninterrupted one."""
    from defnlp.encoders.adapters import LoraSettings
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig, train_ner
    from defnlp.training.ner import NerTask

    def cfg(name: str, **kw: Any) -> NerTrainingConfig:
        return NerTrainingConfig(name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=3, lr=1e-2,
                                 head_lr=1e-2, batch_tokens=128, max_batch=2, patience=5, lora=LoraSettings(r=4, alpha=8),
                                 train=[DataSource(format="markup", path=str(tiny_markup_file))],
                                 dev=[DataSource(format="markup", path=str(tiny_markup_file))], **kw)

    full = train_ner(cfg("full"))
    loss, calls = NerTask.loss, []

    def dying_loss(self, batch):
        calls.append(1)
        if len(calls) == self.steps_per_epoch() + 1:  # first step of epoch 2
            raise Interrupted
        return loss(self, batch)

    monkeypatch.setattr(NerTask, "loss", dying_loss)
    with pytest.raises(Interrupted):
        train_ner(cfg("cut"))
    monkeypatch.setattr(NerTask, "loss", loss)
    assert json.loads((tmp_path / "cut.checkpoint" / "state.json").read_text())["epoch"] == 1
    resumed = train_ner(cfg("cut", resume=True))
    assert_same_weights(weights(tmp_path / "full.checkpoint"), weights(tmp_path / "cut.checkpoint"))
    a, b = card(full)["training"], card(resumed)["training"]
    assert losses(a["history"]) == losses(b["history"]) and a["best_epoch"] == b["best_epoch"]
    assert_same_weights(weights(full), weights(resumed))


def test_bf16_precision_autocasts_the_forward_pass_only(tmp_path, monkeypatch):
    """With precision "bf16" the task's loss runs under CPU bf16 autocast; the weights stay fp32."""
    seen: list[tuple[bool, torch.dtype]] = []
    loss = ToyTask.loss

    def spying_loss(self, batch):
        seen.append((torch.is_autocast_enabled("cpu"), self.model[0](self.x[batch]).dtype))
        return loss(self, batch)

    monkeypatch.setattr(ToyTask, "loss", spying_loss)
    tasks: list[ToyTask] = []
    run_training(lambda: tasks.append(ToyTask(tmp_path / "bf")) or tasks[-1],
                 settings(tmp_path, "bf", epochs=1, precision="bf16", checkpoint=None))
    assert seen and all(on and dtype == torch.bfloat16 for on, dtype in seen)
    assert not torch.is_autocast_enabled("cpu")
    assert all(p.dtype == torch.float32 for p in tasks[0].model.parameters())
    seen.clear()
    run_training(lambda: ToyTask(tmp_path / "fp"), settings(tmp_path, "fp", epochs=1, checkpoint=None))
    assert seen and not any(on for on, _ in seen)


def test_the_optimiser_is_torchs_fused_adamw_and_matches_the_unfused_update(tmp_path):
    """Fused AdamW on CPU: the same update as torch's for-loop AdamW up to rounding; its moments
    round-trip through the checkpoint tensors (the step count on the parameter's device)."""
    from defnlp.training.loop import _Optimiser

    fused_task, plain_task = ToyTask(tmp_path / "a"), ToyTask(tmp_path / "b")
    plain_task.model.load_state_dict(fused_task.model.state_dict())
    opt = _Optimiser(fused_task, settings(tmp_path, "fused"))
    assert opt.fused and opt.optimizer.defaults["fused"]
    plain = torch.optim.AdamW(plain_task.param_groups())
    torch.manual_seed(0)
    for batch in fused_task.batches(0):
        fused_task.model.eval(), plain_task.model.eval()  # no dropout: the same loss in both
        opt.step(fused_task.loss(batch))
        plain_task.loss(batch).backward()
        torch.nn.utils.clip_grad_norm_(list(plain_task.model.parameters()), 1.0)
        plain.step(), plain.zero_grad()
    for p, q in zip(fused_task.model.parameters(), plain_task.model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    tensors, steps = opt.state_tensors()
    again = _Optimiser(fused_task, settings(tmp_path, "again"))
    again.load_state_tensors(tensors, steps)
    state = again.optimizer.state[next(fused_task.model.parameters())]
    assert float(state["step"]) == 5.0 and state["step"].dtype == torch.float32
    again.step(fused_task.loss([0, 1, 2, 3]))  # the fused kernel accepts the restored state
