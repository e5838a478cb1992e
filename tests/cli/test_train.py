"""``defnlp train``: a run killed with SIGKILL resumes from its checkpoint and ends as if never killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

CONFIG = """
name = "{name}"
output = "{out}"
encoder = "tiny-random-e5"
precision = "fp32"
seed = 7
epochs = 4
lr = 1e-2
head_lr = 1e-2
batch_tokens = 128
max_batch = 2
patience = 10

[lora]
r = 4
alpha = 8

[[train]]
format = "markup"
path = "{data}"
sample = 6.0

[[dev]]
format = "markup"
path = "{data}"
"""


def _train(config: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")  # same thread count in every run: same sums, same weights
    return subprocess.Popen([sys.executable, "-m", "defnlp.cli", "-q", "train", "ner", str(config), *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _config(tmp_path: Path, name: str, data: Path) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(CONFIG.format(name=name, out=tmp_path / name, data=data), encoding="utf-8")
    return path


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_training_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path, tiny_markup_file, tiny_encoder):
    whole = _train(_config(tmp_path, "whole", tiny_markup_file))
    assert whole.wait(timeout=600) == 0, whole.stderr.read()

    config = _config(tmp_path, "killed", tiny_markup_file)
    run = _train(config)
    state = tmp_path / "killed.checkpoint" / "state.json"
    deadline = time.monotonic() + 600
    while run.poll() is None and time.monotonic() < deadline:
        if state.is_file() and json.loads(state.read_text() or "{}").get("epoch", 0) >= 1:
            break
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed: make it longer"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)

    resumed = _train(config, "--resume")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    a = load_file(str(tmp_path / "whole" / "weights.safetensors"))
    b = load_file(str(tmp_path / "killed" / "weights.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    card = json.loads((tmp_path / "killed" / "defnlp.json").read_text())
    assert [h["epoch"] for h in card["training"]["history"]] == [1, 2, 3, 4] and card["training"]["best_epoch"]
