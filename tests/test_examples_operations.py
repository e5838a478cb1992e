"""Checks on the hand-written bilingual examples in ``data/examples/operations``.

They train the shipped NER and relation models and are the gold for FR<->EN entity
alignment, so every French paragraph must have its English side, with the same split,
and a reference shared by both sides must name an entity of the same label.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from defnlp.doc import Doc
from defnlp.io.markup import read_markup_files
from defnlp.scheme import load_scheme

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples" / "operations"
DOC_ID = re.compile(r"^ops-(?P<num>\d{3})-(?P<lang>fr|en)$")
# Leading determiners the guidelines keep out of spans (fixed names such as "Le Havre" excepted).
LEADING_DETERMINERS = re.compile(r"^(le|la|les|l'|l’|the|a|an|son|sa|ses|its|des|du)\s", re.IGNORECASE)
FIXED_NAMES_WITH_ARTICLE = {"Le Havre", "The Hague", "La Rochelle", "Le Bourget", "La Réunion", "Le Caire"}


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return read_markup_files([EXAMPLES], load_scheme("defence-v1"))


@pytest.fixture(scope="module")
def pairs(docs: list[Doc]) -> dict[str, dict[str, Doc]]:
    by_pair: dict[str, dict[str, Doc]] = defaultdict(dict)
    for doc in docs:
        assert doc.lang not in by_pair[doc.meta["pair"]], f"{doc.id}: second {doc.lang} side of pair {doc.meta['pair']}"
        by_pair[doc.meta["pair"]][doc.lang] = doc
    return by_pair


def test_examples_parse_and_validate(docs: list[Doc]) -> None:
    assert len(docs) >= 160
    for doc in docs:
        doc.validate()
        assert DOC_ID.match(doc.id), doc.id
        assert doc.lang == DOC_ID.match(doc.id).group("lang")
        assert doc.meta.get("pair") == doc.id[: -len("-fr")], doc.id
        assert doc.meta.get("split") in {"train", "dev"}, doc.id


def test_every_pair_has_both_languages_and_one_split(pairs: dict[str, dict[str, Doc]]) -> None:
    assert len(pairs) >= 80
    for pair_id, sides in pairs.items():
        assert set(sides) == {"fr", "en"}, f"pair {pair_id} has sides {sorted(sides)}"
        assert sides["fr"].meta["split"] == sides["en"].meta["split"], pair_id


def test_shared_refs_name_the_same_label(pairs: dict[str, dict[str, Doc]]) -> None:
    for pair_id, sides in pairs.items():
        fr, en = sides["fr"], sides["en"]
        fr_refs, en_refs = fr.meta["refs"], en.meta["refs"]
        for ref in fr_refs.keys() & en_refs.keys():
            fr_label = fr.entities[fr_refs[ref]].label
            en_label = en.entities[en_refs[ref]].label
            assert fr_label == en_label, f"{pair_id}: ref {ref} is {fr_label} in French, {en_label} in English"


def test_pairs_share_most_refs(pairs: dict[str, dict[str, Doc]]) -> None:
    """Translations name the same things: most refs of one side exist on the other."""
    for pair_id, sides in pairs.items():
        fr_refs, en_refs = set(sides["fr"].meta["refs"]), set(sides["en"].meta["refs"])
        if fr_refs | en_refs:
            shared = len(fr_refs & en_refs) / len(fr_refs | en_refs)
            assert shared >= 0.6, f"{pair_id}: only {shared:.0%} of refs shared"


def test_paragraph_sizes(docs: list[Doc]) -> None:
    for doc in docs:
        words = len(doc.text.split())
        assert 40 <= words <= 160, f"{doc.id}: {words} words"
        assert 4 <= len(doc.entities) <= 15, f"{doc.id}: {len(doc.entities)} entities"


def test_spans_exclude_determiners_and_punctuation(docs: list[Doc]) -> None:
    for doc in docs:
        for ent in doc.entities:
            # Relative dates and approximate counts keep their article ("la semaine dernière", "a dozen").
            if ent.text not in FIXED_NAMES_WITH_ARTICLE and ent.label not in {"DATE", "QUANTITY"}:
                assert not LEADING_DETERMINERS.match(ent.text), f"{doc.id}: {ent.text!r} starts with a determiner"
            assert ent.text[-1] not in ".,;:!?»”\"'", f"{doc.id}: {ent.text!r} ends with punctuation"


def test_dev_split_is_about_fifteen_percent(pairs: dict[str, dict[str, Doc]]) -> None:
    dev = sum(1 for sides in pairs.values() if sides["fr"].meta["split"] == "dev")
    assert 0.10 <= dev / len(pairs) <= 0.20, f"{dev} dev pairs of {len(pairs)}"


def test_relation_types_are_all_used(docs: list[Doc]) -> None:
    used = {rel.label for doc in docs for rel in doc.relations}
    expected = {"HAS_ROLE", "MEMBER_OF", "LEADS", "LOCATED_IN", "MEETS", "SIGNS", "ACQUIRES",
                "PRODUCES", "PARTNER_OF", "OPPOSES", "PART_OF", "HAS_QUANTITY", "SAME_AS"}
    assert expected <= used, f"unused relation types: {sorted(expected - used)}"
