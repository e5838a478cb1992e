"""Checks of the conflict and security reporting bilingual examples in ``data/examples/security/``.

They follow ``data/examples/security/README.md``: every file parses against the scheme (so every
relation's head/tail labels are allowed), ids, pairs and splits are consistent, the FR/EN sides
of a pair share their refs, labels and relations, every entity has a ref, spans have no leading or
elided article and no trailing punctuation, no entity crosses a layout block, no marked name is
repeated unmarked, the briefs keep their hard wraps, the relations the folder was written for
occur in both languages, and the README's counts are the files'.
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
EXAMPLES = ROOT / "data" / "examples" / "security"
FILES = (
    "01-conflict-reporting.md",
    "02-peacekeeping-and-coalitions.md",
    "03-intelligence-style-reports.md",
    "04-security-briefs.md",
)
#: the densest bundled EN document has 29 relations; tests/viz picks the densest one, so these stay below it
MAX_RELATIONS = 28
#: a leading article followed by a lower-case word ("le ministre", "the army") or an elided one ("l'armée")
ARTICLES = re.compile(r"^(?:(?i:le|la|les|des|du|the)\s+[a-zà-ÿ]|(?i:l|d|qu)['’])")
#: the relations this folder was written for (re3d's most frequent ones in conflict reporting)
TARGETS = ("OPPOSES", "MEMBER_OF", "LEADS", "LOCATED_IN")


@pytest.fixture(scope="module")
def docs():
    return read_markup_files([EXAMPLES], load_scheme())


def test_files_ids_pairs_and_splits(docs):
    check_files_and_pairs(EXAMPLES, FILES, docs, "sec", pairs_per_file=5)


def test_both_sides_share_refs_labels_and_relations(docs):
    check_sides_agree(docs)


def test_every_entity_has_a_ref_sizes_and_unique_relations(docs):
    for d in docs:
        check_refs_and_relations(d, MAX_RELATIONS)
        assert 10 <= len(d.entities) <= 31, d.id
        assert 110 <= len(d.text.split()) <= 300, d.id


def test_spans_have_no_article_no_trailing_punctuation_and_stay_in_one_block(docs):
    for d in docs:
        check_span_edges(d, ARTICLES)
        check_in_one_block(d)


def test_no_marked_name_is_repeated_unmarked(docs):
    for d in docs:
        check_no_unmarked_repeats(d)


def test_briefs_keep_hard_wraps_and_incident_lists(docs):
    briefs = [d for d in docs if d.meta["pair"] >= "sec-016"]
    assert all(max(len(line) for line in d.text.split("\n")) <= 90 for d in briefs)
    assert all(re.search(r"^\s*[-*] ", d.text, re.MULTILINE) for d in briefs if d.meta["pair"] != "sec-016")
    reports = [d for d in docs if "sec-011" <= d.meta["pair"] <= "sec-015"]
    assert all(re.search(r"\b(?:[Ww]e\s+(?:assess|judge|estimate|count)|[Nn]ous\s+estimons)\b", d.text) for d in reports)


def test_target_relations_occur_in_both_languages(docs):
    counts = Counter((d.lang, r.label) for d in docs for r in d.relations)
    for label in TARGETS:
        assert counts["fr", label] >= 15 and counts["en", label] >= 15, label
    for label in ("HAS_QUANTITY", "PARTNER_OF", "SAME_AS", "MEETS", "PART_OF", "HAS_ROLE"):
        assert counts["fr", label] >= 5 and counts["en", label] >= 5, label
    for d in docs:  # every document states at least one of them
        assert any(r.label in TARGETS for r in d.relations), d.id


def test_readme_counts_are_the_files_counts(docs):
    check_readme_counts(docs, EXAMPLES / "README.md")
