"""Folder-specific checks of ``data/examples/security/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): the briefs keep their hard wraps and incident lists, the
intelligence-style reports their assessments, and the relations the folder was written for occur
in both languages.
"""

from __future__ import annotations

import re

import pytest

from tests.example_checks import check_in_both_languages, load_examples

#: the relations this folder was written for (re3d's most frequent ones in conflict reporting)
TARGETS = ("OPPOSES", "MEMBER_OF", "LEADS", "LOCATED_IN")


@pytest.fixture(scope="module")
def docs():
    return load_examples("security")


def test_briefs_keep_hard_wraps_and_incident_lists(docs):
    briefs = [d for d in docs if d.meta["pair"] >= "sec-016"]
    assert all(max(len(line) for line in d.text.split("\n")) <= 90 for d in briefs)
    assert all(re.search(r"^\s*[-*] ", d.text, re.MULTILINE) for d in briefs if d.meta["pair"] != "sec-016")
    reports = [d for d in docs if "sec-011" <= d.meta["pair"] <= "sec-015"]
    assert all(re.search(r"\b(?:[Ww]e\s+(?:assess|judge|estimate|count)|[Nn]ous\s+estimons)\b", d.text) for d in reports)


def test_target_relations_occur_in_both_languages(docs):
    check_in_both_languages(docs, TARGETS, at_least=15)
    others = ("HAS_QUANTITY", "PARTNER_OF", "SAME_AS", "MEETS", "PART_OF", "HAS_ROLE")
    check_in_both_languages(docs, others, at_least=5)
    for d in docs:  # every document states at least one of them
        assert any(r.label in TARGETS for r in d.relations), d.id
