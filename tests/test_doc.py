import json

import pytest

from defnlp.doc import Doc, Sentence, prepare_doc
from defnlp.errors import RecordFormatError


def make_doc() -> Doc:
    doc = Doc("Le ministre a visité Brest 🚢 et Toulon.", id="d1", lang="fr", meta={"source": "test"})
    i = doc.add_entity(3, 11, "ROLE", score=0.91)
    j = doc.add_entity(21, 26, "LOC")
    doc.add_entity(32, 38, "LOC", score=0.5)
    doc.add_relation(i, j, "LOCATED_IN", score=0.7)
    return doc


def test_json_round_trip_is_lossless():
    doc = make_doc()
    again = Doc.from_json(doc.to_json())
    assert again == doc
    data = json.loads(doc.to_json())
    assert set(data) >= {"id", "lang", "text", "entities", "relations", "sentences"}
    assert data["entities"][0] == {"start": 3, "end": 11, "label": "ROLE", "text": "ministre", "score": 0.91}
    assert data["relations"][0] == {"head": 0, "tail": 1, "label": "LOCATED_IN", "score": 0.7}


def test_entity_text_always_matches_offsets_with_emoji():
    doc = make_doc()
    for e in doc.entities:
        assert doc.text[e.start : e.end] == e.text
    assert doc.entities[2].text == "Toulon"


@pytest.mark.parametrize(
    "record, message",
    [
        ({"text": "abc", "entities": [{"start": 0, "end": 9, "label": "X"}]}, "invalid offsets"),
        ({"text": "abc", "entities": [{"start": 0, "end": 2, "label": "X", "text": "zz"}]}, "differs"),
        ({"text": "abc", "entities": [{"start": 0, "end": 2, "label": "X"}], "relations": [{"head": 0, "tail": 3, "label": "R"}]}, "missing entity"),
        ({"id": 1}, "text"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_records_raise_clear_errors(record, message):
    with pytest.raises(RecordFormatError, match=message):
        Doc.from_dict(record)


def test_from_json_rejects_non_json():
    with pytest.raises(RecordFormatError, match="not valid JSON"):
        Doc.from_json("{nope")


def test_add_entity_checks_bounds():
    doc = Doc("abc")
    with pytest.raises(RecordFormatError):
        doc.add_entity(2, 5, "X")
    with pytest.raises(RecordFormatError):
        doc.add_relation(0, 1, "R")


def test_sort_entities_remaps_relations():
    doc = Doc("aa bb cc")
    c = doc.add_entity(6, 8, "X")
    a = doc.add_entity(0, 2, "X")
    doc.add_relation(c, a, "R")
    doc.sort_entities()
    assert [e.text for e in doc.entities] == ["aa", "cc"]
    assert (doc.relations[0].head, doc.relations[0].tail) == (1, 0)


def test_ents_is_a_read_only_tuple_of_the_entities():
    doc = make_doc()
    assert isinstance(doc.ents, tuple) and doc.ents == tuple(doc.entities)
    assert [e.text for e in doc.ents if e.label == "LOC"] == ["Brest", "Toulon"]
    with pytest.raises(AttributeError):
        doc.ents = ()  # type: ignore[misc]


def test_prepare_doc_fills_only_what_is_missing():
    doc = prepare_doc(Doc("The Army agreed. The minister signed the letter."))
    assert [(s.start, s.end) for s in doc.sentences] == [(0, 16), (17, 48)] and doc.lang == "en"
    kept = Doc("abc def", lang="fr", sentences=[Sentence(0, 7)])
    assert prepare_doc(kept) is kept and kept.lang == "fr" and kept.sentences == [Sentence(0, 7)]
    assert prepare_doc(Doc("Le ministre a signé."), detect_lang=False).lang is None
    assert prepare_doc(Doc(None)).sentences == []  # type: ignore[arg-type]  # not a text: the engine reports it
