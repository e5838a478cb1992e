"""Folder-specific checks of ``data/examples/wire/`` (see its ``README.md``; the generic checks are
in ``tests/test_examples.py``): what the folder is for (clubs named after a place are ORG, states
LOC, the main labels in both languages).
"""

from __future__ import annotations

from tests.example_checks import check_in_both_languages, load_examples


def test_what_the_folder_is_for():
    """Clubs named after a place are ORG, states (dotted forms included) LOC, armies by nationality NAT only."""
    docs = load_examples("wire")
    en = [d for d in docs if d.lang == "en"]
    sports = [d for d in en if d.meta["pair"] <= "wire-010"]
    places = {e.text for d in docs for e in d.entities if e.label == "LOC"}
    clubs_named_after_places = {e.text for d in sports for e in d.entities if e.label == "ORG" and e.text in places}
    assert len(clubs_named_after_places) >= 3, clubs_named_after_places
    assert any(e.text == "U.S." and e.label == "LOC" for d in en for e in d.entities)
    check_in_both_languages(docs, ("PER", "ORG", "LOC", "NAT", "DATE", "MONEY", "QUANTITY", "ROLE"), kind="entity")
