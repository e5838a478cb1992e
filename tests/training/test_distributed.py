"""Training in several processes (issue 18): ``torchrun`` with 2 CPU processes (gloo) trains the
same model as 1 process, and only rank 0 writes the model and the checkpoint.

Each process computes the loss of its shard of every batch, weighted by its labelled tokens
(``NerTask.batch_weight``), and the gradients are summed across processes: the gradient of a
step is the whole batch's, up to float summation order. Dropout is off (``dropout = 0``,
``lora.dropout = 0``) because each process draws its own masks. Measured on this config (3
epochs, 15 steps, lr 1e-2): the weights differ from one process by at most 6e-7 (weights up to
~0.3); averaging the shards' mean losses instead (what DDP or accelerate do) moves them by 2e-2.
The tolerance, 1e-5, sits 17x above the first and 1,900x below the second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "examples" / "industry" / "01-procurement.md"  # 24 documents of varied length

CONFIG = f"""
name = "tiny-dist"
output = "one"
encoder = "tiny-random-e5"
epochs = 3
lr = 1e-2
head_lr = 1e-2
batch_tokens = 256
max_batch = 4
precision = "fp32"
dropout = 0.0
log_every = 0

[lora]
r = 4
alpha = 8
dropout = 0.0

[[train]]
format = "markup"
path = "{DATA}"
sample = 0.5
"""


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch without gloo")
def test_two_processes_train_the_model_of_one(tmp_path, tiny_encoder):
    from defnlp.config import load_config
    from defnlp.models import read_model_dir
    from defnlp.training import NerTrainingConfig, train_ner

    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG, encoding="utf-8")
    one = train_ner(load_config(NerTrainingConfig, config))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("WORLD_SIZE", None)
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "defnlp", "train", "ner", str(config), "--set", "output=two"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "training in 2 processes" in run.stderr
    two = tmp_path / "two"
    read_model_dir(two)  # a complete, hash-checked model directory (written by rank 0 alone)
    assert not list(tmp_path.glob("two/*.tmp")) and not list(tmp_path.glob("*.tmp"))

    a, b = load_file(str(one / "weights.safetensors")), load_file(str(two / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-5, msg=lambda m: f"{key}: {m}")
    card_one, card_two = (json.loads((d / "defnlp.json").read_text())["training"] for d in (one, two))
    assert [h["epoch"] for h in card_two["history"]] == [1, 2, 3]
    for h1, h2 in zip(card_one["history"], card_two["history"]):  # the batch loss, summed over the processes
        assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-5)

    # the checkpoint (rank 0's) holds the one-process state: weights and AdamW moments
    ckpt_one, ckpt_two = load_file(str(tmp_path / "one.checkpoint" / "weights.safetensors")), \
        load_file(str(tmp_path / "two.checkpoint" / "weights.safetensors"))
    assert ckpt_one.keys() == ckpt_two.keys()
    for key in ckpt_one:
        if key != "rng.torch":
            torch.testing.assert_close(ckpt_two[key], ckpt_one[key], rtol=1e-3, atol=1e-5, msg=lambda m: f"{key}: {m}")
    assert json.loads((tmp_path / "two.checkpoint" / "state.json").read_text())["epoch"] == 3


@pytest.mark.parametrize("dropout", [-0.1, 1.0, "0.1"])
def test_dropout_out_of_range_is_a_config_error(tiny_markup_file, dropout):
    from defnlp.errors import ConfigError
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig

    cfg = NerTrainingConfig(name="x", output="x", train=[DataSource(format="markup", path=str(tiny_markup_file))],
                            dropout=dropout)
    with pytest.raises(ConfigError, match="dropout"):
        cfg.validate()


def test_one_process_ignores_the_distributed_path(monkeypatch):
    from defnlp.training.loop import _Distributed

    monkeypatch.setenv("WORLD_SIZE", "1")
    d = _Distributed()
    assert (d.rank, d.world, d.main, d.owned) == (0, 1, True, False)
    assert d.shard([0, 1, 2]) == [0, 1, 2]
