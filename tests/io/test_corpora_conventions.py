"""The project's naming conventions applied to corpora (defnlp.io.corpora.conventions, DataSource names_only)."""

from __future__ import annotations

import pytest

from defnlp.io.corpora.conventions import names_only, states_as_loc, titles_outside_per
from defnlp.io.corpora.registry import DataSource, load_source
from defnlp.text import TITLE_ABBREVIATIONS
from tests.conftest import doc_with_entities as _doc

from .test_corpora import needs_data


@pytest.mark.parametrize("span, name", [
    ("Lt Gen Talib Shaghati", "Talib Shaghati"),
    ("US Defense Secretary Ash Carter", "Ash Carter"),
    ("Pentagon Press Secretary Peter Cook", "Peter Cook"),
    ("Russian Foreign Minister Lavrov", "Lavrov"),
    ("Jordanian planning minister, Imad Fakhoury", "Imad Fakhoury"),
    ("Prime Minister-designate, Haider al-Abadi", "Haider al-Abadi"),
    ("Tobias Ellwood, Foreign Office Minister for the Middle East", "Tobias Ellwood"),
    ("Col. John “J.D.” Dorrian", "John “J.D.” Dorrian"),
    ("Crown Prince Mohammed bin Salman", "Mohammed bin Salman"),
    ("Martin Luther King", "Martin Luther King"),
    ("Charles de Gaulle", "Charles de Gaulle"),
    ("Foreign Secretary", None),
    ("Capt.", None),
    ("Russian military spokesman", None),
    ("commander of the Amphibious Task Group", None),
    ("artillery crew chief in Abel Battery, 3rd Battalion", None),
])
def test_titles_stay_outside_person_spans(span: str, name: str | None) -> None:
    doc = _doc(f"On Monday {span} said it.", [(span, "PER")])
    cut, dropped = titles_outside_per(doc)
    assert [e.text for e in doc.entities] == ([name] if name else [])
    assert [doc.text[e.start : e.end] for e in doc.entities] == [e.text for e in doc.entities]  # offsets exact
    assert (cut, dropped) == ((int(name != span), 0) if name else (0, 1))


def test_states_become_loc_and_organisations_stay() -> None:
    doc = _doc("Britain, the U.S. and NATO agreed; France and Thales signed.",
               [("Britain", "ORG"), ("U.S.", "ORG"), ("NATO", "ORG"), ("France", "ORG"), ("Thales", "ORG")])
    assert states_as_loc(doc) == 3
    assert [e.label for e in doc.entities] == ["LOC", "LOC", "ORG", "LOC", "ORG"]


def test_names_only_drops_the_relations_of_dropped_titles_and_keeps_the_others() -> None:
    doc = _doc("Defence Secretary Michael Fallon and the Foreign Secretary visited Britain.",
               [("Defence Secretary Michael Fallon", "PER"), ("Foreign Secretary", "PER"), ("Britain", "ORG")])
    doc.add_relation(0, 2, "LOCATED_IN")
    doc.add_relation(1, 2, "LOCATED_IN")
    counts = names_only(doc)
    assert (counts["title"], counts["title_only"], counts["state"]) == (1, 1, 1)
    assert [(doc.entities[r.head].text, r.label, doc.entities[r.tail].text) for r in doc.relations] == [
        ("Michael Fallon", "LOCATED_IN", "Britain")]
    doc.validate()


@needs_data
def test_re3d_read_with_the_conventions_has_no_state_organisations_and_no_titled_persons() -> None:
    plain = load_source(DataSource(format="re3d", split="train"))
    names = load_source(DataSource(format="re3d", split="train", names_only=True))
    states = {"UK", "U.S.", "US", "United States", "Britain", "Syria", "Russia", "France"}
    assert any(d.text[e.start : e.end] in states for d in plain for e in d.entities if e.label == "ORG")
    assert not any(d.text[e.start : e.end] in states for d in names for e in d.entities if e.label == "ORG")
    titles = {"mr", "president", "minister", "secretary", "gen", "lt", "col", "prime", "foreign"} | TITLE_ABBREVIATIONS
    firsts = [d.text[e.start : e.end].split()[0].strip(".").lower() for d in names for e in d.entities if e.label == "PER"]
    assert firsts and not [w for w in firsts if w in titles]
    for d in names:
        d.validate()
    # relations follow their entities: fewer, never dangling
    assert 0 < sum(len(d.relations) for d in names) <= sum(len(d.relations) for d in plain)
