"""Mention replacement (defnlp/training/augment/mentions.py): elision and agreement, SAME_AS pairs,
language and sub-type, common nouns, a label's own mentions as candidates."""

from __future__ import annotations

import random

from defnlp.doc import Doc
from defnlp.training.augment import AugmentSettings, augment_docs, replace_mentions
from tests.conftest import doc_with_entities as _doc


# ---- mention replacement -----------------------------------------------------------------------------------
def test_replacement_keeps_french_elision_and_agreement(gazetteer):
    doc = _doc(
        "L'Allemagne et la Pologne ont signé, avec le ministre des Armées, un accord de défense de France et d'Italie.",
        [("Allemagne", "LOC"), ("Pologne", "LOC"), ("ministre des Armées", "ROLE"), ("France", "LOC"),
         ("Italie", "LOC")],
        "fr",
    )
    vowels = "AEIOUYÉÈÊÂÎÔ"
    for seed in range(40):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        e = new.entities
        assert e[0].text[0] in vowels and e[4].text[0] in vowels  # after l' and d'
        assert e[3].text[0] not in vowels  # after "de"
        fem = {x.text for x in gazetteer.entries if x.label == "LOC" and "fs" in x.forms}
        assert {e[0].text, e[1].text, e[3].text, e[4].text} <= fem  # la Pologne -> a feminine country
        assert new.text[: e[0].start] == "L'"
        assert len({x.text for x in e}) == 5  # never the same name twice


def test_same_as_pair_is_replaced_by_a_name_and_its_acronym(gazetteer):
    doc = _doc(
        "La Direction générale de l'armement (DGA) a commandé des Caesar. La DGA paiera.",
        [("Direction générale de l'armement", "ORG"), ("DGA", "ORG"), ("Caesar", "WEAPON"), ("DGA", "ORG")],
        "fr",
    )
    doc.add_relation(1, 0, "SAME_AS")
    doc.add_relation(0, 2, "ACQUIRES")
    swapped = 0
    for seed in range(20):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        long, short, _, again = new.entities
        assert short.text == again.text  # the same surface changes everywhere
        if long.text != doc.entities[0].text:
            swapped += 1
            entry = gazetteer.lookup("ORG", long.text)[0]
            assert entry.alias == short.text and entry.type == "agency" and "fs" in entry.forms
        assert [(r.head, r.tail, r.label) for r in new.relations] == [(1, 0, "SAME_AS"), (0, 2, "ACQUIRES")]
    assert swapped >= 15


def test_replacement_respects_language_and_type(gazetteer):
    doc = _doc(
        "The Royal Navy sent HMS Duncan and a Typhoon to the Black Sea, said Colonel Emma Caldwell. "
        "Caldwell met Reuters.",
        [("Royal Navy", "ORG"), ("HMS Duncan", "PLATFORM"), ("Typhoon", "PLATFORM"), ("Black Sea", "LOC"),
         ("Colonel", "ROLE"), ("Emma Caldwell", "PER"), ("Caldwell", "PER"), ("Reuters", "ORG")],
        "en",
    )
    doc.add_relation(5, 4, "HAS_ROLE")
    for seed in range(30):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        e = new.entities
        expected = [(0, "armed_force"), (1, "ship"), (2, "aircraft"), (3, "region"), (4, "rank"), (7, "news_agency")]
        for i, sub_type in expected:
            (entry,) = [x for x in gazetteer.lookup(e[i].label, e[i].text) if x.usable_in("en")][:1]
            assert entry.type == sub_type, (e[i].text, entry)
        assert "the" in gazetteer.lookup("LOC", e[3].text)[0].forms  # "the Black Sea" -> a "the" region
        assert e[6].text == e[5].text.split(" ", 1)[1]  # the surname alone follows the full name
        assert e[2].text[0].lower() not in "aeiou"  # "a Typhoon" -> not "a Eurofighter"


def test_common_nouns_and_unknown_plurals_are_left_alone(gazetteer):
    doc = _doc(
        "Les drones et les rapporteurs ont évoqué le contrat.",
        [("drones", "PLATFORM"), ("rapporteurs", "ROLE"), ("contrat", "DOCUMENT")],
        "fr",
    )
    new = replace_mentions(doc, random.Random(0), AugmentSettings(replace=1.0), gazetteer)
    assert new.text == doc.text and "replace" not in new.meta["augmented"]


def test_a_label_without_gazetteer_swaps_among_the_documents_own_mentions(gazetteer):
    texts = [("La Coupe du monde se joue en juin au Qatar.", "Coupe du monde"),
             ("Le Tour de France part de Lille.", "Tour de France"),
             ("La Ligue des champions reprend le 3 mars.", "Ligue des champions"),
             ("Elle a couru le Marathon de Paris.", "Marathon de Paris")]
    docs = []
    for i, (text, name) in enumerate(texts):
        doc = _doc(text, [(name, "EVENT")], "fr")
        doc.id = f"e{i}"
        docs.append(doc)
    settings = AugmentSettings(copies=2, layout=0.0, replace=1.0, corpus_labels=["EVENT"])
    new = augment_docs(docs, settings, seed=3, gazetteer=gazetteer)
    swapped = [d for d in new if "replace" in d.meta["augmented"]]
    assert swapped and len(new) == 8
    names = {name for _, name in texts}
    for d in new:
        (e,) = d.entities
        assert e.label == "EVENT" and e.text in names and d.text[e.start:e.end] == e.text
        source = next(x for x in docs if x.id == d.meta["augmented_from"])
        if "replace" in d.meta["augmented"]:  # another document's event, with the article it agrees with
            assert e.text != source.entities[0].text
            assert d.text[: e.start] == source.text[: source.entities[0].start]
            article = d.text[: e.start].split()[-1].lower()
            assert (article == "la") == (e.text in {"Coupe du monde", "Ligue des champions"})
    # a document without text gives no candidate and no copy, as without corpus_labels
    assert augment_docs([*docs, Doc("", id="empty")], settings, seed=3, gazetteer=gazetteer) == new
    # without corpus_labels the label has no candidate: no copy is a replacement
    plain = augment_docs(docs, AugmentSettings(copies=2, layout=0.0, replace=1.0), seed=3, gazetteer=gazetteer)
    assert all("replace" not in d.meta.get("augmented", ()) for d in plain)
