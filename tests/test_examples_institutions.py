"""Checks of the hand-written bilingual examples in ``data/examples/institutions/``.

These paragraphs are training data for the NER and relation models and the gold for FR<->EN
entity alignment, so they must parse, pair up and follow the annotation guidelines
(``data/examples/institutions/README.md``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from defnlp.doc import Doc
from defnlp.io.markup import read_markup_files
from defnlp.scheme import load_scheme
from defnlp.text import detect_language

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples" / "institutions"
ID_RE = re.compile(r"^inst-(?P<num>\d{3})-(?P<lang>fr|en)$")

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
def scheme():
    return load_scheme("defence-v1")


@pytest.fixture(scope="module")
def docs(scheme) -> list[Doc]:
    # parsing with the scheme checks labels, relation types against head/tail labels, and refs
    return read_markup_files([EXAMPLES], scheme)


@pytest.fixture(scope="module")
def pairs(docs) -> dict[str, dict[str, Doc]]:
    by_pair: dict[str, dict[str, Doc]] = defaultdict(dict)
    for doc in docs:
        by_pair[doc.meta.get("pair", "")][doc.lang] = doc
    return by_pair


def _refs(doc: Doc) -> dict[str, str]:
    """ref -> entity label."""
    return {ref: doc.entities[i].label for ref, i in doc.meta["refs"].items()}


def _relations_between(doc: Doc, refs: set[str], scheme) -> set[tuple[str, str, str]]:
    """Relations of ``doc`` whose two ends carry refs in ``refs``, symmetric ones normalised."""
    name = {i: ref for ref, i in doc.meta["refs"].items()}
    out = set()
    for rel in doc.relations:
        head, tail = name.get(rel.head), name.get(rel.tail)
        if head in refs and tail in refs:
            if scheme.is_symmetric(rel.label):
                head, tail = sorted((head, tail))
            out.add((head, rel.label, tail))
    return out


def test_ids_and_headers(docs):
    for doc in docs:
        m = ID_RE.match(doc.id)
        assert m, f"{doc.id}: ids look like inst-NNN-fr / inst-NNN-en"
        assert doc.lang == m["lang"], f"{doc.id}: lang {doc.lang!r} does not match the id"
        assert doc.meta.get("pair") == f"inst-{m['num']}", f"{doc.id}: pair field should be inst-{m['num']}"
        assert doc.meta.get("split") in {"train", "dev"}, f"{doc.id}: split must be train or dev"


def test_every_pair_has_both_sides_and_one_split(pairs):
    for pair, sides in pairs.items():
        assert set(sides) == {"fr", "en"}, f"{pair}: has {sorted(sides)}"
        assert sides["fr"].meta["split"] == sides["en"].meta["split"], f"{pair}: sides in different splits"


def test_dev_share_is_about_fifteen_percent(pairs):
    dev = sum(1 for sides in pairs.values() if sides["fr"].meta["split"] == "dev")
    assert 0.10 <= dev / len(pairs) <= 0.20, f"{dev} dev pairs out of {len(pairs)}"


def test_shared_refs_name_the_same_label(pairs):
    problems = []
    for pair, sides in pairs.items():
        fr, en = _refs(sides["fr"]), _refs(sides["en"])
        for ref in sorted(fr.keys() & en.keys()):
            if fr[ref] != en[ref]:
                problems.append(f"{pair}: ref {ref} is {fr[ref]} in French but {en[ref]} in English")
    assert not problems, "\n".join(problems)


def test_shared_entities_have_the_same_relations(pairs, scheme):
    problems = []
    for pair, sides in pairs.items():
        shared = set(_refs(sides["fr"])) & set(_refs(sides["en"]))
        fr = _relations_between(sides["fr"], shared, scheme)
        en = _relations_between(sides["en"], shared, scheme)
        if fr != en:
            problems.append(f"{pair}: only in French {sorted(fr - en)}, only in English {sorted(en - fr)}")
    assert not problems, "\n".join(problems)


def test_most_entities_are_aligned(pairs):
    problems = []
    for pair, sides in pairs.items():
        shared = set(_refs(sides["fr"])) & set(_refs(sides["en"]))
        for doc in sides.values():
            if len(shared) < 0.6 * len(doc.entities):
                problems.append(f"{doc.id}: few entities carry a ref shared with its translation")
    assert not problems, "\n".join(problems)


def test_paragraph_size(docs):
    problems = []
    for doc in docs:
        words = len(doc.text.split())
        if not 40 <= words <= 160:
            problems.append(f"{doc.id}: {words} words (40-160)")
        if not 4 <= len(doc.entities) <= 15:
            problems.append(f"{doc.id}: {len(doc.entities)} entities (4-15)")
    assert not problems, "\n".join(problems)


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


def test_there_are_at_least_80_pairs(pairs):
    assert len(pairs) >= 80


def test_every_label_is_used(docs, scheme):
    used = {e.label for d in docs for e in d.entities}
    assert used == set(scheme.entity_labels), f"unused labels: {sorted(set(scheme.entity_labels) - used)}"
