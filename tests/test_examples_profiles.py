"""Checks of the encyclopedic and biographical bilingual examples in ``data/examples/profiles/``.

They follow ``data/examples/profiles/README.md``: every file parses against the scheme, ids, pairs
and splits are consistent, the FR/EN sides of a pair share their refs, labels and relations, every
entity has a ref, spans have no leading article and no trailing punctuation, no entity crosses a
layout block, a marked name is marked wherever it repeats, and the README's counts are the files'.
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
    check_no_unmarked_repeats,
    check_readme_counts,
    check_refs_and_relations,
    check_sides_agree,
    check_span_edges,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples" / "profiles"
FILES = ("01-people.md", "02-companies.md", "03-units-and-institutions.md", "04-equipment-and-places.md")
MAX_RELATIONS = 28
ARTICLES = re.compile(r"^(?i:le|la|les|des|du|the)\s+[a-zà-ÿ]")
INFOBOX_LINE = re.compile(r"^[A-Z][\w ]{1,25}: \S", re.MULTILINE)


@pytest.fixture(scope="module")
def docs():
    return read_markup_files([EXAMPLES], load_scheme())


def test_files_ids_pairs_and_splits(docs):
    check_files_and_pairs(EXAMPLES, FILES, docs, "profile")


def test_both_sides_share_refs_labels_and_relations(docs):
    check_sides_agree(docs)


def test_every_entity_has_a_ref_sizes_and_unique_relations(docs):
    for d in docs:
        check_refs_and_relations(d, MAX_RELATIONS)
        assert 10 <= len(d.entities) <= 30, d.id
        assert 120 <= len(d.text.split()) <= 350, d.id
        assert max(len(line) for line in d.text.split("\n")) <= 90, d.id


def test_spans_have_no_article_no_trailing_punctuation_stay_in_one_block_and_repeats_are_marked(docs):
    for d in docs:
        check_span_edges(d, ARTICLES)
        check_in_one_block(d)
        check_no_unmarked_repeats(d)


def test_what_the_folder_is_for(docs):
    """Encyclopedic register (infobox lines, section headings, births and foundings) in both
    languages, every label present, and a club named after its town kept apart from the town."""
    en = [d for d in docs if d.lang == "en"]
    assert sum(bool(INFOBOX_LINE.search(d.text)) for d in en) >= 4
    assert sum(bool(re.search(r"^## ", d.text, re.MULTILINE)) for d in docs) >= 6
    assert sum(bool(re.search(r"\b(born|founded|raised)\b", d.text)) for d in en) >= 8
    places = {e.text for d in docs for e in d.entities if e.label == "LOC"}
    assert {e.text for d in docs for e in d.entities if e.label == "ORG" and e.text in places} >= {"Toulon"}
    labels = Counter((d.lang, e.label) for d in docs for e in d.entities)
    for label in load_scheme().entity_labels:
        assert labels["fr", label] and labels["en", label], label


def test_readme_counts_are_the_files_counts(docs):
    check_readme_counts(docs, EXAMPLES / "README.md")
