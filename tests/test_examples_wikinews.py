"""Folder-specific checks of ``data/examples/wikinews/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): written French first, in the French press register (a date
line, a sources line), elided articles outside the spans, institutions named after a building.
"""

from __future__ import annotations

import re

from tests.example_checks import load_examples

ELISION = re.compile(r"^(?:[lLdD]|[qQ]u)['’]")
DATE_LINE = re.compile(r"^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) ", re.IGNORECASE | re.MULTILINE)


def test_french_first_in_the_french_press_register():
    docs = load_examples("wikinews")
    assert [d.lang for d in docs] == ["fr", "en"] * (len(docs) // 2)  # each pair: French first
    fr = [d for d in docs if d.lang == "fr"]
    assert sum(bool(DATE_LINE.search(d.text)) for d in fr) >= 15
    assert sum(bool(re.search(r"^(?:Sources?|Voir aussi) ?:", d.text, re.MULTILINE)) for d in fr) >= 8
    assert not [e.text for d in fr for e in d.entities if ELISION.match(e.text)]
    labels = {(e.text, e.label) for d in docs for e in d.entities}
    assert ("Matignon", "ORG") in labels and ("Élysée", "ORG") in labels
