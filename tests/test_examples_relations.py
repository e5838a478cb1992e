"""Folder-specific check of ``data/examples/relations/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): the relations the folder is meant to teach occur in both
languages.
"""

from __future__ import annotations

from tests.example_checks import check_in_both_languages, load_examples

#: the relations the folder is meant to teach (each must occur on both sides)
TARGETS = ("ACQUIRES", "PRODUCES", "SIGNS", "HAS_ROLE", "HAS_QUANTITY", "PARTNER_OF", "LOCATED_IN", "LEADS", "MEMBER_OF", "PART_OF")


def test_targets_occur_in_both_languages():
    check_in_both_languages(load_examples("relations"), TARGETS, at_least=10)
