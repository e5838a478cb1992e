"""Checks of the news and real-layout bilingual examples in ``data/examples/news/``.

They follow ``data/examples/news/README.md``: every file parses against the scheme (so every
relation's head/tail labels are allowed), ids, pairs and splits are consistent, the FR/EN sides
of a pair share their refs, labels and relations, every entity has a ref, spans have no leading
article and no trailing punctuation, no entity crosses a layout block, and the README's counts are
the files'.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from defnlp.io.markup import read_markup_files
from defnlp.scheme import load_scheme
from tests.example_checks import (
    check_files_and_pairs,
    check_in_one_block,
    check_readme_counts,
    check_refs_and_relations,
    check_sides_agree,
    check_span_edges,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples" / "news"
FILES = ("01-world-wire.md", "02-naval-air-platforms.md", "03-titles-and-states.md", "04-pdf-and-web.md")
#: the densest bundled EN document has 29 relations; tests/viz picks the densest one, so these stay below it
MAX_RELATIONS = 28
#: a leading article followed by a lower-case word ("le ministre", "the order"); fixed names keep theirs
ARTICLES = re.compile(r"^(?i:le|la|les|des|du|the)\s+[a-zà-ÿ]")


@pytest.fixture(scope="module")
def docs():
    return read_markup_files([EXAMPLES], load_scheme())


def test_files_ids_pairs_and_splits(docs):
    check_files_and_pairs(EXAMPLES, FILES, docs, "news", pairs_per_file=None)


def test_both_sides_share_refs_labels_and_relations(docs):
    check_sides_agree(docs)


def test_every_entity_has_a_ref_sizes_and_unique_relations(docs):
    for d in docs:
        check_refs_and_relations(d, MAX_RELATIONS)
        assert 10 <= len(d.entities) <= 30, d.id
        assert 120 <= len(d.text.split()) <= 350, d.id


def test_spans_have_no_article_no_trailing_punctuation_and_stay_in_one_block(docs):
    for d in docs:
        check_span_edges(d, ARTICLES)
        check_in_one_block(d)


def test_layout_features_are_present(docs):
    texts = {d.id: d.text for d in docs}
    layout = [t for i, t in texts.items() if i >= "news-016"]
    assert any(re.search(r"[a-zé]-\n[a-z]", t) for t in layout)  # hyphenated across a line end
    assert any(e.text.count("-\n") for d in docs for e in d.entities)  # ... inside an entity
    assert any(re.search(r"^# ", t, re.MULTILINE) for t in layout) and any("**" in t for t in layout)
    wire = [t for i, t in texts.items() if i < "news-006"]
    assert all(max(len(line) for line in t.split("\n")) <= 90 for t in wire)


def test_every_label_and_target_relation_occurs_in_both_languages(docs):
    scheme = load_scheme()
    labels = Counter((d.lang, e.label) for d in docs for e in d.entities)
    for label in scheme.entity_labels:
        assert labels["fr", label] and labels["en", label], label
    counts = Counter((d.lang, r.label) for d in docs for r in d.relations)
    for label in ("ACQUIRES", "PRODUCES", "SIGNS", "HAS_ROLE", "HAS_QUANTITY", "PARTNER_OF", "LOCATED_IN", "LEADS", "MEMBER_OF", "PART_OF"):
        assert counts["fr", label] >= 5 and counts["en", label] >= 5, label


def test_readme_counts_are_the_files_counts(docs):
    check_readme_counts(docs, EXAMPLES / "README.md")
