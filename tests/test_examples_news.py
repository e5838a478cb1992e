"""Folder-specific checks of ``data/examples/news/`` (see its ``README.md``; the generic checks are
in ``tests/test_examples.py``): the layout features the folder was written for are present, and
every label and the target relations occur in both languages.
"""

from __future__ import annotations

import re

import pytest

from defnlp.scheme import load_scheme
from tests.example_checks import check_in_both_languages, load_examples

#: the relations the folder was written for (at least 5 on each side)
TARGETS = (
    "ACQUIRES", "PRODUCES", "SIGNS", "HAS_ROLE", "HAS_QUANTITY",
    "PARTNER_OF", "LOCATED_IN", "LEADS", "MEMBER_OF", "PART_OF",
)


@pytest.fixture(scope="module")
def docs():
    return load_examples("news")


def test_layout_features_are_present(docs):
    texts = {d.id: d.text for d in docs}
    layout = [t for i, t in texts.items() if i >= "news-016"]
    assert any(re.search(r"[a-zé]-\n[a-z]", t) for t in layout)  # hyphenated across a line end
    assert any(e.text.count("-\n") for d in docs for e in d.entities)  # ... inside an entity
    assert any(re.search(r"^# ", t, re.MULTILINE) for t in layout) and any("**" in t for t in layout)
    wire = [t for i, t in texts.items() if i < "news-006"]
    assert all(max(len(line) for line in t.split("\n")) <= 90 for t in wire)


def test_every_label_and_target_relation_occurs_in_both_languages(docs):
    check_in_both_languages(docs, load_scheme().entity_labels, kind="entity")
    check_in_both_languages(docs, TARGETS, at_least=5)
