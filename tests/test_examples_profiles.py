"""Folder-specific checks of ``data/examples/profiles/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): what the folder is for (encyclopedic register, every label in
both languages, a club named after its town kept apart from the town).
"""

from __future__ import annotations

import re

from defnlp.scheme import load_scheme
from tests.example_checks import check_in_both_languages, load_examples

INFOBOX_LINE = re.compile(r"^[A-Z][\w ]{1,25}: \S", re.MULTILINE)


def test_what_the_folder_is_for():
    """Encyclopedic register (infobox lines, section headings, births and foundings) in both
    languages, every label present, and a club named after its town kept apart from the town."""
    docs = load_examples("profiles")
    en = [d for d in docs if d.lang == "en"]
    assert sum(bool(INFOBOX_LINE.search(d.text)) for d in en) >= 4
    assert sum(bool(re.search(r"^## ", d.text, re.MULTILINE)) for d in docs) >= 6
    assert sum(bool(re.search(r"\b(born|founded|raised)\b", d.text)) for d in en) >= 8
    places = {e.text for d in docs for e in d.entities if e.label == "LOC"}
    assert {e.text for d in docs for e in d.entities if e.label == "ORG" and e.text in places} >= {"Toulon"}
    check_in_both_languages(docs, load_scheme().entity_labels, kind="entity")
