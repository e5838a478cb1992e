"""Folder-specific checks of ``data/examples/operations/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): spans follow the folder's rules on leading determiners and
trailing punctuation, and every relation type the folder covers occurs.
"""

from __future__ import annotations

import re

import pytest

from defnlp.doc import Doc
from tests.example_checks import load_examples

# Leading determiners the guidelines keep out of spans (fixed names such as "Le Havre" excepted).
LEADING_DETERMINERS = re.compile(r"^(le|la|les|l'|l’|the|a|an|son|sa|ses|its|des|du)\s", re.IGNORECASE)
FIXED_NAMES_WITH_ARTICLE = {"Le Havre", "The Hague", "La Rochelle", "Le Bourget", "La Réunion", "Le Caire"}


@pytest.fixture(scope="module")
def docs() -> tuple[Doc, ...]:
    return load_examples("operations")


def test_spans_exclude_determiners_and_punctuation(docs: tuple[Doc, ...]) -> None:
    for doc in docs:
        for ent in doc.entities:
            # Relative dates and approximate counts keep their article ("la semaine dernière", "a dozen").
            if ent.text not in FIXED_NAMES_WITH_ARTICLE and ent.label not in {"DATE", "QUANTITY"}:
                assert not LEADING_DETERMINERS.match(ent.text), f"{doc.id}: {ent.text!r} starts with a determiner"
            assert ent.text[-1] not in ".,;:!?»”\"'", f"{doc.id}: {ent.text!r} ends with punctuation"


def test_relation_types_are_all_used(docs: tuple[Doc, ...]) -> None:
    used = {rel.label for doc in docs for rel in doc.relations}
    expected = {"HAS_ROLE", "MEMBER_OF", "LEADS", "LOCATED_IN", "MEETS", "SIGNS", "ACQUIRES",
                "PRODUCES", "PARTNER_OF", "OPPOSES", "PART_OF", "HAS_QUANTITY", "SAME_AS"}
    assert expected <= used, f"unused relation types: {sorted(expected - used)}"
