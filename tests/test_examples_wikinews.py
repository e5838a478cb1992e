"""Folder-specific checks of ``data/examples/wikinews/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): written French first, in the French press register (a date
line, a sources line), institutions named after a building. Elided articles outside the spans:
the folder's row in ``tests/test_examples.py`` (``ARTICLES_OR_ELISIONS``).
"""

from __future__ import annotations

import re

from tests.example_checks import load_examples

DATE_LINE = re.compile(r"^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) ", re.IGNORECASE | re.MULTILINE)


def test_french_first_in_the_french_press_register():
    docs = load_examples("wikinews")
    assert [d.lang for d in docs] == ["fr", "en"] * (len(docs) // 2)  # each pair: French first
    fr = [d for d in docs if d.lang == "fr"]
    assert sum(bool(DATE_LINE.search(d.text)) for d in fr) >= 15
    assert sum(bool(re.search(r"^(?:Sources?|Voir aussi) ?:", d.text, re.MULTILINE)) for d in fr) >= 8
    labels = {(e.text, e.label) for d in docs for e in d.entities}
    assert ("Matignon", "ORG") in labels and ("Élysée", "ORG") in labels
