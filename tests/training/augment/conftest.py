"""Fixtures of the augmentation tests: the project's examples, a sample of them, the default gazetteer."""

from __future__ import annotations

import pytest

from defnlp.doc import Doc
from defnlp.io.corpora import read_markup
from defnlp.training.augment import Gazetteer, load_gazetteer
from tests.training.augment.checks import ROOT


@pytest.fixture(scope="package")
def examples() -> list[Doc]:
    return read_markup(ROOT / "data" / "examples")


@pytest.fixture(scope="package")
def sample(examples) -> list[Doc]:
    return examples[::6]  # ~100 documents, FR and EN


@pytest.fixture(scope="package")
def gazetteer() -> Gazetteer:
    return load_gazetteer()
