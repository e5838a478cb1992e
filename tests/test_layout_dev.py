"""The layout dev set (data/layout-dev) is valid gold and is never trained on."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

from defnlp.io.markup import read_markup_files
from defnlp.scheme import load_scheme

ROOT = Path(__file__).resolve().parents[1]
LAYOUT_DEV = ROOT / "data" / "layout-dev"


def _docs():
    return read_markup_files(sorted(LAYOUT_DEV.glob("*.md")), load_scheme("defence-v1"))


def test_layout_dev_set_parses_with_every_label_in_both_languages():
    docs = [d for d in _docs()]
    assert len({d.id for d in docs}) == len(docs) >= 40
    by_lang = Counter(d.lang for d in docs)
    assert by_lang["fr"] >= 20 and by_lang["en"] >= 20
    labels = Counter(e.label for d in docs for e in d.entities)
    assert set(labels) == set(load_scheme("defence-v1").entity_labels)
    assert min(labels.values()) >= 25
    assert all(d.meta.get("split") == "dev" for d in docs)


def test_no_gold_entity_crosses_a_blank_line_or_has_outer_spaces():
    for d in _docs():
        for e in d.entities:
            surface = d.text[e.start : e.end]
            assert "\n\n" not in surface.replace("\r", "") and surface == surface.strip(), (d.id, surface)


def test_no_training_configuration_reads_the_layout_dev_set():
    for path in (ROOT / "configs").rglob("*.toml"):
        config = tomllib.loads(path.read_text(encoding="utf-8"))
        for source in config.get("train", []):
            assert "layout-dev" not in str(source.get("path", "")), path
