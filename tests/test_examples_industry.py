"""Checks of the hand-written bilingual defence-industry examples in ``data/examples/industry``.

They train the shipped NER and relation models and are the gold for FR<->EN entity alignment,
so every French paragraph must have its English translation, and a reference shared by the two
sides must name the same kind of entity on both.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from defnlp.doc import Doc
from defnlp.io.markup import read_markup_files
from defnlp.scheme import load_scheme

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "examples" / "industry"
DOC_ID_RE = re.compile(r"^ind-(?P<num>\d{3})-(?P<lang>fr|en)$")
LEADING_DETERMINERS = {
    "fr": ("le ", "la ", "les ", "l'", "l’", "un ", "une ", "des ", "son ", "sa ", "ses ", "leur "),
    "en": ("the ", "a ", "an ", "its ", "their ", "his ", "her "),
}
# Place names whose article belongs to the name: "Le Bourget", "La Ferté-Saint-Aubin", "The Hague".
PLACE_WITH_ARTICLE_RE = re.compile(r"^(Le|La|Les|L'|The) [A-ZÀ-Ý]")
TRAILING_PUNCTUATION = ".,;:!?»«“”\"'()"


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return read_markup_files([EXAMPLES_DIR], load_scheme("defence-v1"))


@pytest.fixture(scope="module")
def pairs(docs: list[Doc]) -> dict[str, dict[str, Doc]]:
    by_pair: dict[str, dict[str, Doc]] = defaultdict(dict)
    for doc in docs:
        by_pair[doc.meta["pair"]][doc.lang] = doc
    return by_pair


def _refs(doc: Doc) -> dict[str, str]:
    """Reference name -> entity label."""
    return {ref: doc.entities[idx].label for ref, idx in doc.meta["refs"].items()}


def test_doc_ids_languages_and_pairs_are_consistent(docs: list[Doc]) -> None:
    assert docs, f"no examples found under {EXAMPLES_DIR}"
    for doc in docs:
        m = DOC_ID_RE.match(doc.id)
        assert m, f"{doc.id}: ids look like ind-NNN-fr / ind-NNN-en"
        assert doc.lang == m.group("lang"), f"{doc.id}: lang {doc.lang!r} does not match its id"
        assert doc.meta.get("pair") == f"ind-{m.group('num')}", f"{doc.id}: pair field {doc.meta.get('pair')!r}"
        assert doc.meta.get("split") in {"train", "dev"}, f"{doc.id}: split {doc.meta.get('split')!r}"


def test_every_pair_has_both_sides_with_the_same_split(pairs: dict[str, dict[str, Doc]]) -> None:
    for pair_id, sides in pairs.items():
        assert set(sides) == {"fr", "en"}, f"{pair_id}: has only {sorted(sides)}"
        assert sides["fr"].meta["split"] == sides["en"].meta["split"], f"{pair_id}: sides in different splits"


def test_there_are_enough_pairs_and_a_dev_share(pairs: dict[str, dict[str, Doc]]) -> None:
    splits = Counter(sides["fr"].meta["split"] for sides in pairs.values())
    assert len(pairs) >= 80
    assert 0.10 <= splits["dev"] / len(pairs) <= 0.20, splits


def test_shared_refs_name_the_same_label_on_both_sides(pairs: dict[str, dict[str, Doc]]) -> None:
    for pair_id, sides in pairs.items():
        fr, en = _refs(sides["fr"]), _refs(sides["en"])
        for ref in fr.keys() & en.keys():
            assert fr[ref] == en[ref], f"{pair_id}: ref {ref} is {fr[ref]} in French but {en[ref]} in English"


def test_spans_exclude_determiners_and_trailing_punctuation(docs: list[Doc]) -> None:
    for doc in docs:
        for e in doc.entities:
            assert doc.text[e.start : e.end] == e.text
            if not (e.label == "LOC" and PLACE_WITH_ARTICLE_RE.match(e.text)):
                assert not e.text.lower().startswith(LEADING_DETERMINERS[doc.lang]) or e.label == "DATE", (
                    f"{doc.id}: {e.text!r} starts with a determiner"
                )
            assert e.text[-1] not in TRAILING_PUNCTUATION or e.text.endswith((".)", "Inc.", "Ltd.", "S.A.")), (
                f"{doc.id}: {e.text!r} ends with punctuation"
            )


def test_entities_do_not_overlap(docs: list[Doc]) -> None:
    for doc in docs:
        spans = sorted((e.start, e.end) for e in doc.entities)
        for (s1, e1), (s2, _) in zip(spans, spans[1:]):
            assert e1 <= s2, f"{doc.id}: overlapping entities at {s1}-{e1} and {s2}"


def test_paragraph_sizes_are_within_the_guidelines(docs: list[Doc]) -> None:
    for doc in docs:
        words = len(doc.text.split())
        assert 30 <= words <= 180, f"{doc.id}: {words} words"
        assert 4 <= len(doc.entities) <= 18, f"{doc.id}: {len(doc.entities)} entities"


def test_every_label_and_relation_type_is_represented(docs: list[Doc]) -> None:
    scheme = load_scheme("defence-v1")
    labels = Counter(e.label for d in docs for e in d.entities)
    relations = Counter(r.label for d in docs for r in d.relations)
    assert set(scheme.entity_labels) <= set(labels), set(scheme.entity_labels) - set(labels)
    assert set(scheme.relation_labels) <= set(relations), set(scheme.relation_labels) - set(relations)
