"""Folder-specific checks of ``data/examples/industry/`` (see ``data/examples/README-industry.md``;
the generic checks are in ``tests/test_examples.py``): spans follow the folder's rules on leading
determiners and trailing punctuation, entities do not overlap, and every label and relation type
of the scheme occurs.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from defnlp.doc import Doc
from defnlp.scheme import load_scheme
from tests.example_checks import load_examples

LEADING_DETERMINERS = {
    "fr": ("le ", "la ", "les ", "l'", "l’", "un ", "une ", "des ", "son ", "sa ", "ses ", "leur "),
    "en": ("the ", "a ", "an ", "its ", "their ", "his ", "her "),
}
# Place names whose article belongs to the name: "Le Bourget", "La Ferté-Saint-Aubin", "The Hague".
PLACE_WITH_ARTICLE_RE = re.compile(r"^(Le|La|Les|L'|The) [A-ZÀ-Ý]")
TRAILING_PUNCTUATION = ".,;:!?»«“”\"'()"


@pytest.fixture(scope="module")
def docs() -> tuple[Doc, ...]:
    return load_examples("industry")


def test_spans_exclude_determiners_and_trailing_punctuation(docs: tuple[Doc, ...]) -> None:
    for doc in docs:
        for e in doc.entities:
            if not (e.label == "LOC" and PLACE_WITH_ARTICLE_RE.match(e.text)):
                assert not e.text.lower().startswith(LEADING_DETERMINERS[doc.lang]) or e.label == "DATE", (
                    f"{doc.id}: {e.text!r} starts with a determiner"
                )
            assert e.text[-1] not in TRAILING_PUNCTUATION or e.text.endswith((".)", "Inc.", "Ltd.", "S.A.")), (
                f"{doc.id}: {e.text!r} ends with punctuation"
            )


def test_entities_do_not_overlap(docs: tuple[Doc, ...]) -> None:
    for doc in docs:
        spans = sorted((e.start, e.end) for e in doc.entities)
        for (s1, e1), (s2, _) in zip(spans, spans[1:]):
            assert e1 <= s2, f"{doc.id}: overlapping entities at {s1}-{e1} and {s2}"


def test_every_label_and_relation_type_is_represented(docs: tuple[Doc, ...]) -> None:
    scheme = load_scheme("defence-v1")
    labels = Counter(e.label for d in docs for e in d.entities)
    relations = Counter(r.label for d in docs for r in d.relations)
    assert set(scheme.entity_labels) <= set(labels), set(scheme.entity_labels) - set(labels)
    assert set(scheme.relation_labels) <= set(relations), set(scheme.relation_labels) - set(relations)
