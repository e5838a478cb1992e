"""Folder-specific checks of ``data/examples/general/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): what the folder is for (names that mislead kept apart: a club
or firm named after a place next to the place, a firm named after its founder next to the founder,
teams in ALL CAPS in tables).
"""

from __future__ import annotations

import re

from tests.example_checks import load_examples

#: a standings or results line: a name, then at least two numbers
TABLE_ROW = re.compile(r"^\S.*?\s+\d+\s+\d+", re.MULTILINE)


def _names(doc, label: str) -> set[str]:
    return {e.text for e in doc.entities if e.label == label}


def test_names_that_mislead_are_kept_apart():
    """In both languages: a name that is ORG and LOC in the same document (a club or a company and
    its town), a firm sharing a word of a person's name in the same document (its founder),
    ALL-CAPS organisations in results tables, and every fifth pair or more in a table layout."""
    docs = load_examples("general")
    for lang in ("fr", "en"):
        side = [d for d in docs if d.lang == lang]
        org_and_loc = [d.id for d in side if _names(d, "ORG") & _names(d, "LOC")]
        assert len(org_and_loc) >= 4, org_and_loc
        founders = [d.id for d in side if {w for org in _names(d, "ORG") for w in org.split() if len(w) > 3}
                    & {w for person in _names(d, "PER") for w in person.split()}]
        assert len(founders) >= 2, founders
        caps = [e.text for d in side for e in d.entities if e.label == "ORG" and e.text.isupper() and len(e.text) > 4]
        assert len(caps) >= 8, caps
        assert sum(len(TABLE_ROW.findall(d.text)) >= 3 for d in side) >= 3
