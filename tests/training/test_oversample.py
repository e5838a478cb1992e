"""``oversample_new_labels``: windows holding a label the base model lacks are seen k times per epoch."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from defnlp.config import load_config, parse_overrides
from defnlp.encoders.adapters import LoraSettings
from defnlp.errors import ConfigError
from defnlp.io.corpora import DataSource
from defnlp.training import NerTrainingConfig, train_ner
from defnlp.training.data import epoch_batches, oversampled_passes
from defnlp.training.ner import NerTask
from defnlp.training.rehearsal import RehearsalSettings

# three short documents (one window each); only u1 holds the new label UNIT
CORPUS = """
=== doc: u1 | lang: fr
Le [3e régiment d'infanterie de marine]{UNIT} a quitté Vannes avec la DGA.
=== doc: u2 | lang: en
Thales delivered radars to the navy near Toulon last spring.
=== doc: u3 | lang: fr
La DGA a commandé des véhicules blindés à KNDS pour l'armée de Terre.
"""


def _config(tmp_path: Path, base: Path | None, name: str, **kw: Any) -> NerTrainingConfig:
    corpus = tmp_path / "units.md"
    corpus.write_text(CORPUS, encoding="utf-8")
    labels = json.loads((base / "defnlp.json").read_text())["labels"] if base else ["ORG", "LOC"]
    args: dict[str, Any] = dict(
        name=name, output=str(tmp_path / name), encoder="tiny-random-e5", epochs=1, lr=1e-2, head_lr=1e-2,
        batch_tokens=512, max_batch=2, labels=labels + ["UNIT"], precision="fp32", lora=LoraSettings(r=4, alpha=8),
        train=[DataSource(format="markup", path=str(corpus), annotated=None if base is None else ["UNIT"])],
        init_from=str(base) if base else "")
    args.update(kw)
    return NerTrainingConfig(**args)


def _epoch_counts(task: NerTask, epoch: int = 0) -> Counter:
    batches = task.batches(epoch)
    assert all(len(set(b)) == len(b) for b in batches)  # the copies of a window go to different batches
    return Counter(i for b in batches for i in b)


# ------------------------------------------------------------------------------------------------
# (1) configuration
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.5, 0.0, -2, 20.5, 100, float("nan"), float("inf"), True])
def test_bad_factors_are_config_errors(tmp_path, bad):
    with pytest.raises(ConfigError, match="oversample_new_labels"):
        _config(tmp_path, None, "x", oversample_new_labels=bad).validate()


def test_the_key_loads_validated_and_through_set(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('name = "c"\noutput = "out"\n[[train]]\nformat = "markup"\npath = "units.md"\n', encoding="utf-8")
    assert load_config(NerTrainingConfig, path).oversample_new_labels == 1.0
    cfg = load_config(NerTrainingConfig, path, parse_overrides(["oversample_new_labels=4"]))
    assert cfg.oversample_new_labels == 4.0 and isinstance(cfg.oversample_new_labels, float)
    for value in ("25", "NaN", '"many"'):
        with pytest.raises(ConfigError, match="oversample_new_labels"):
            load_config(NerTrainingConfig, path, parse_overrides([f"oversample_new_labels={value}"]))


# ------------------------------------------------------------------------------------------------
# (2) assembly of an epoch
# ------------------------------------------------------------------------------------------------
def test_passes_repeat_the_flagged_windows_and_draw_the_fraction_from_the_seed():
    flagged = [i % 3 == 0 for i in range(3000)]
    assert oversampled_passes(flagged, 1.0, random.Random(0)) == [list(range(3000))]
    assert oversampled_passes([False] * 4, 5.0, random.Random(0)) == [[0, 1, 2, 3]]
    counts = Counter(i for p in oversampled_passes(flagged, 3.0, random.Random(0)) for i in p)
    assert all(counts[i] == (3 if flagged[i] else 1) for i in range(3000))
    passes = oversampled_passes(flagged, 2.25, random.Random(7))
    assert passes == oversampled_passes(flagged, 2.25, random.Random(7))  # seeded
    assert passes != oversampled_passes(flagged, 2.25, random.Random(8))
    counts = Counter(i for p in passes for i in p)
    assert {counts[i] for i in range(3000) if flagged[i]} == {2, 3} and {counts[i] for i in range(3000) if not flagged[i]} == {1}
    assert 0.2 < sum(counts[i] == 3 for i in range(3000)) / 1000 < 0.3


def test_one_pass_gives_the_batches_of_before():
    from defnlp.training.data import length_grouped_batches

    lengths = [random.Random(1).randrange(5, 60) for _ in range(200)]
    assert epoch_batches(lengths, [list(range(200))], 128, random.Random(3), 4) == \
        length_grouped_batches(lengths, 128, random.Random(3), 4)
    batches = epoch_batches(lengths, [list(range(200)), [5, 9], [5, 9]], 128, random.Random(3), 4)
    assert Counter(i for b in batches for i in b) == Counter(list(range(200)) + [5, 9, 5, 9])


@pytest.mark.parametrize("rehearsal", [False, True])
def test_the_window_with_a_new_label_is_seen_k_times(tmp_path, tiny_ner_dir, caplog, rehearsal):
    settings = RehearsalSettings(enabled=rehearsal, pseudo_label=False, distill=0.0)
    with caplog.at_level(logging.INFO, logger="defnlp.training.ner"):
        task = NerTask(_config(tmp_path, tiny_ner_dir, "k", oversample_new_labels=3, rehearsal=settings))
    docs = task.train_ds["doc_id"]
    counts = _epoch_counts(task)
    assert sorted(counts) == list(range(len(docs)))
    assert {docs[i]: counts[i] for i in counts if docs[i].startswith("u")} == {"u1": 3, "u2": 1, "u3": 1}
    replayed = [i for i in counts if not docs[i].startswith("u")]
    assert bool(replayed) == rehearsal and all(counts[i] == 1 for i in replayed)
    assert task.oversample_record == {"factor": 3.0, "new_labels": ["UNIT"], "windows": 1,
                                      "epoch_windows": len(docs) + 2, "windows_once": len(docs)}
    assert f"1 of {len(docs)} windows hold a new label (UNIT); epoch of {len(docs) + 2} windows" in caplog.text
    assert task.steps_per_epoch() == len(task.batches(0)) and _epoch_counts(task, 1) == counts


# ------------------------------------------------------------------------------------------------
# (3) reproducibility
# ------------------------------------------------------------------------------------------------
def test_same_seed_gives_bit_identical_weights_with_oversampling(tmp_path, tiny_ner_dir):
    def weights(name: str) -> str:
        out = train_ner(_config(tmp_path, tiny_ner_dir, name, epochs=2, oversample_new_labels=2.5,
                                rehearsal=RehearsalSettings(enabled=False)))
        assert json.loads((out / "defnlp.json").read_text())["training"]["oversample"]["windows"] == 1
        return hashlib.sha256((out / "weights.safetensors").read_bytes()).hexdigest()

    assert weights("a") == weights("b")


# ------------------------------------------------------------------------------------------------
# (4) no effect without init_from or without new labels
# ------------------------------------------------------------------------------------------------
def test_no_effect_without_init_from_or_new_labels(tmp_path, tiny_ner_dir, caplog):
    plain = NerTask(_config(tmp_path, None, "plain"))
    with caplog.at_level(logging.WARNING, logger="defnlp.training.ner"):
        scratch = NerTask(_config(tmp_path, None, "scratch", oversample_new_labels=4))
    assert "has no effect: the run has no init_from" in caplog.text
    assert scratch.batches(0) == plain.batches(0) and not scratch.oversample_record
    assert set(_epoch_counts(scratch).values()) == {1}

    caplog.clear()
    labels = json.loads((tiny_ner_dir / "defnlp.json").read_text())["labels"]
    with caplog.at_level(logging.WARNING, logger="defnlp.training.ner"):
        known = NerTask(_config(tmp_path, tiny_ner_dir, "known", labels=labels, oversample_new_labels=4,
                                rehearsal=RehearsalSettings(enabled=False)))
    assert "every label is one of the base model's" in caplog.text
    assert set(_epoch_counts(known).values()) == {1} and not known.oversample_record
