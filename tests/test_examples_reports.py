"""Folder-specific checks of ``data/examples/reports/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): elided articles stay outside the span, and every label occurs
in both languages.
"""

from __future__ import annotations

import re

import pytest

from defnlp.scheme import load_scheme
from tests.example_checks import load_examples


@pytest.fixture(scope="module")
def docs():
    return load_examples("reports")


def test_elisions_are_outside_the_span(docs):
    """``d'[Airbus]``, ``l'[OTAN]``, ``qu'[Arquus]``: the span starts after the apostrophe."""
    elided = 0
    for d in docs:
        for e in d.entities:
            before = d.text[max(0, e.start - 3) : e.start]
            if re.search(r"\b(?:[ldLD]|qu|Qu)['’]$", before):
                elided += 1
    assert elided >= 15


def test_every_label_occurs_in_both_languages(docs):
    scheme = load_scheme()
    for lang in ("fr", "en"):
        labels = {e.label for d in docs if d.lang == lang for e in d.entities}
        assert labels == set(scheme.entity_labels), lang
