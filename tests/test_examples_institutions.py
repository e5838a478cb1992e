"""Folder-specific checks of ``data/examples/institutions/`` (see its ``README.md``; the generic
checks are in ``tests/test_examples.py``): the language detector agrees with each paragraph's
``lang``, spans follow the folder's rules on leading articles and trailing punctuation, and every
entity label occurs.
"""

from __future__ import annotations

import re

import pytest

from defnlp.scheme import load_scheme
from defnlp.text import detect_language
from tests.example_checks import load_examples

# leading words that the guidelines keep outside a span, and the fixed names that start with one
LEADING_DETERMINERS = {
    "le", "la", "les", "l'", "l’", "un", "une", "des", "du", "au", "aux", "son", "sa", "ses", "leur", "leurs",
    "the", "a", "an", "its", "his", "her", "their", "in", "on", "at", "en", "à", "dans",
}
# demonstratives belong to deictic dates ("ce matin", "this week") but to no other span
DEMONSTRATIVES = {"ce", "cet", "cette", "ces", "this", "these", "that"}
# the article of an approximate number belongs to the quantity ("a dozen", "une centaine")
NUMBER_ARTICLES = {"a", "une", "un"}
NAMES_WITH_ARTICLE = {
    "Le Havre", "Le Mans", "La Rochelle", "La Réunion", "La Haye", "The Hague", "Les Mureaux", "Les Invalides",
    "Les Républicains",
}
TRAILING_PUNCTUATION = tuple(".,;:!?»«“”\"'()")


@pytest.fixture(scope="module")
def docs():
    return load_examples("institutions")


def test_language_matches_header(docs):
    wrong = [f"{d.id}: reads as {detect_language(d.text)!r}" for d in docs if detect_language(d.text) != d.lang]
    assert not wrong, "\n".join(wrong)


def test_spans_exclude_articles_and_punctuation(docs):
    problems = []
    for doc in docs:
        for e in doc.entities:
            if any(e.text.startswith(name) for name in NAMES_WITH_ARTICLE):
                continue
            word = re.split(r"(?<=['’])|\s", e.text, maxsplit=1)[0]
            first = word.lower()
            if word.isupper() and len(word) > 1:  # an acronym (UN, AU), not an article
                continue
            if e.label == "QUANTITY" and first in NUMBER_ARTICLES:  # "a dozen", "une centaine"
                continue
            if first in LEADING_DETERMINERS or (e.label != "DATE" and first in DEMONSTRATIVES):
                problems.append(f"{doc.id}: span {e.text!r} starts with a determiner")
            if e.text.endswith(TRAILING_PUNCTUATION) and not (e.text.endswith(")") and "(" in e.text):
                problems.append(f"{doc.id}: span {e.text!r} ends with punctuation")
    assert not problems, "\n".join(problems)


def test_every_label_is_used(docs):
    scheme = load_scheme("defence-v1")
    used = {e.label for d in docs for e in d.entities}
    assert used == set(scheme.entity_labels), f"unused labels: {sorted(set(scheme.entity_labels) - used)}"
