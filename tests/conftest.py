"""Shared fixtures: tiny encoders and models trained on the spot, sample texts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from defnlp.doc import Doc

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the same path on every machine: precision "auto" is fp32 even on a CPU with AMX tiles (where it
# would be bf16) or VNNI (int8), since many tests compare outputs with fp32 references or across
# batch sizes; tests/inference/test_bf16_cpu.py and test_auto_precision.py simulate those CPUs
# explicitly (and clear these variables)
os.environ.setdefault("DEFNLP_NO_AMX", "1")
os.environ.setdefault("DEFNLP_NO_VNNI", "1")

ROOT = Path(__file__).resolve().parents[1]


def doc_with_entities(text: str, spans: list[tuple[str, str]], lang: str = "en", id: str = "t") -> Doc:
    """A Doc with an entity for each ``(surface, label)``, found in ``text`` in order after the previous one."""
    doc = Doc(text, id=id, lang=lang)
    pos = 0
    for surface, label in spans:
        start = text.index(surface, pos)
        doc.add_entity(start, start + len(surface), label)
        pos = start + len(surface)
    return doc

TINY_MARKUP = """
=== doc: t-fr-1 | lang: fr
Le [ministre des Armées]{ROLE:r}, [Claire Dumont]{PER:p}, a visité [Brest]{LOC:l} avec la [DGA]{ORG:o}.
> p HAS_ROLE r
> p LOCATED_IN l

=== doc: t-en-1 | lang: en
The [Minister of Defence]{ROLE:r}, [John Carter]{PER:p}, visited [Toulon]{LOC} with [Thales]{ORG}.
> p HAS_ROLE r

=== doc: t-fr-2 | lang: fr
La [DGA]{ORG:o} a commandé [42]{QUANTITY:q} [Griffon]{PLATFORM:g} à [KNDS]{ORG:k} le [3 mars 2024]{DATE}.
> o ACQUIRES g
> g HAS_QUANTITY q
> k PRODUCES g

=== doc: t-en-2 | lang: en
[Nexter]{ORG:n} delivered [12]{QUANTITY:q} [Caesar]{WEAPON:c} guns to [Ukraine]{LOC:u} in [2023]{DATE}.
> n PRODUCES c
> u ACQUIRES c
> c HAS_QUANTITY q
"""


@pytest.fixture(scope="session")
def tiny_encoder():
    from defnlp.encoders import load_encoder

    return load_encoder("tiny-random-e5")


@pytest.fixture(scope="session")
def tiny_markup_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.md"
    path.write_text(TINY_MARKUP, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_ner_dir(tmp_path_factory, tiny_markup_file) -> Path:
    """A NER model trained in a second on the tiny random encoder (real code path, toy quality)."""
    from defnlp.encoders.adapters import LoraSettings
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig, train_ner

    out = tmp_path_factory.mktemp("models") / "tiny-ner"
    cfg = NerTrainingConfig(
        name="tiny-ner", output=str(out), encoder="tiny-random-e5", epochs=2, lr=1e-2, head_lr=1e-2,
        batch_tokens=512, train=[DataSource(format="markup", path=str(tiny_markup_file))],
        lora=LoraSettings(r=4, alpha=8), precision="fp32",  # the same fixture on every CPU
    )
    return train_ner(cfg)


@pytest.fixture(scope="session")
def tiny_nlp(tiny_ner_dir):
    import defnlp

    return defnlp.load(tiny_ner_dir, device="cpu")


def default_model_available() -> bool:
    return (ROOT / "models" / "defence-v2-ner" / "defnlp.json").is_file()
