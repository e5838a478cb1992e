"""The fine-tuning guide's example scores the model on held-out documents, never on training data."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from defnlp.cli.evaluate import read_gold_file
from defnlp.io.corpora import DataSource, load_source

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "fine-tuning.md"
CONFIG = ROOT / "examples" / "fine-tuning" / "units-ner.toml"


def _guide_evaluations() -> list[list[str]]:
    """The `defnlp evaluate` commands of the guide that score the bundled example's model on bundled data."""
    commands = []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if line.startswith("defnlp evaluate") and "runs/units-ner" in line and "--data examples/" in line:
            commands.append(shlex.split(line.split("#")[0]))
    return commands


def _training_docs() -> list:
    """Every document the example's configuration reads, train and dev (dev chooses the epoch)."""
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    docs = []
    for role in ("train", "dev"):
        for source in config[role]:
            docs += load_source(DataSource(format=source["format"], path=source["path"], split=source.get("split")), base_dir=CONFIG.parent)
    return docs


def test_the_guide_evaluates_the_example_on_documents_training_never_reads():
    commands = _guide_evaluations()
    assert commands, "the guide shows how to evaluate the example's model"
    seen = _training_docs()
    assert len(seen) == 12
    seen_ids = {d.id for d in seen}
    seen_texts = {" ".join(d.text.split()) for d in seen}
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    training_paths = {(CONFIG.parent / s["path"]).resolve() for role in ("train", "dev") for s in config[role]}
    for command in commands:
        data = Path(command[command.index("--data") + 1])
        assert (ROOT / data).resolve() not in training_paths, f"{data} is read by training"
        gold = read_gold_file(ROOT / data, command[command.index("--format") + 1] if "--format" in command else None)
        assert len(gold) >= 5
        assert not {d.id for d in gold} & seen_ids
        assert not {" ".join(d.text.split()) for d in gold} & seen_texts
        labels = {e.label for d in gold for e in d.entities}
        assert "UNIT" in labels and labels <= set(config["labels"])


def test_the_held_out_file_is_named_in_the_guide_and_linked():
    guide = GUIDE.read_text(encoding="utf-8")
    assert re.search(r"\]\(\.\./examples/fine-tuning/units-test\.md\)", guide)
