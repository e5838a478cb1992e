"""Person names carried across a document (defnlp.ner.names)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.doc import Entity
from defnlp.ner.names import MIN_NAME_SCORE, propagate_person_names


def ents(text: str, *marks: tuple[str, str, float], nth: dict[str, int] | None = None) -> list[Entity]:
    """Entities over the first occurrence of each mark (or its ``nth[mark]``-th, 0-based)."""
    out = []
    for mention, label, score in marks:
        k = (nth or {}).get(mention, 0)
        m = list(re.finditer(re.escape(mention), text))[k]
        out.append(Entity(m.start(), m.end(), label, mention, score))
    return sorted(out, key=lambda e: e.start)


def labels(entities: list[Entity]) -> list[tuple[str, int, str]]:
    return [(e.text, e.start, e.label) for e in entities]


def test_one_word_mention_after_the_full_name_becomes_per():
    text = "General Thierry Burkhard visited Brest. Burkhard met the crew."
    found = ents(text, ("General Thierry Burkhard", "PER", 0.95), ("Brest", "LOC", 0.99), ("Burkhard", "ORG", 0.7),
                 nth={"Burkhard": 1})
    out = propagate_person_names(text, found)
    assert labels(out) == [("General Thierry Burkhard", 0, "PER"), ("Brest", 33, "LOC"), ("Burkhard", 40, "PER")]
    assert out[2].score == 0.7                      # the relabelled mention keeps its own score
    assert found[2].label == "ORG"                  # the input is not changed


def test_a_mention_before_the_full_name_is_left_alone():
    text = "Parly Street is closed. Florence Parly spoke."
    found = ents(text, ("Parly Street", "LOC", 0.9), ("Florence Parly", "PER", 0.97))
    assert labels(propagate_person_names(text, found)) == labels(found)
    text = "Toulon: Parly. Florence Parly spoke."
    found = ents(text, ("Toulon", "LOC", 0.99), ("Parly", "ORG", 0.6), ("Florence Parly", "PER", 0.97))
    assert labels(propagate_person_names(text, found)) == labels(found)


def test_a_low_score_name_does_not_relabel_a_place():
    """The WiNER-fr case: a wrong 'Lille Neige' PER must not turn the city of Lille into a person."""
    text = "Lille Neige a ouvert. La ville de Lille et Lille Métropole."
    found = ents(text, ("Lille Neige", "PER", MIN_NAME_SCORE - 0.2), ("Lille", "LOC", 0.99), nth={"Lille": 1})
    assert propagate_person_names(text, found) == found
    found[0] = Entity(0, 11, "PER", "Lille Neige", MIN_NAME_SCORE)
    assert [e.label for e in propagate_person_names(text, found)] == ["PER", "PER"]  # confident: used


def test_untagged_repetitions_of_the_surname_are_added_with_the_name_score():
    text = "Gary Player won. Player, aged 30, thanked Player's coach; Players and Player-Smith did not."
    found = ents(text, ("Gary Player", "PER", 0.9))
    out = propagate_person_names(text, found)
    assert [(e.text, e.start, e.score) for e in out] == [("Gary Player", 0, 0.9), ("Player", 17, 0.9), ("Player", 42, 0.9)]
    assert all(text[e.start:e.end] == e.text for e in out)


def test_no_surname_is_added_inside_or_next_to_another_entity():
    text = "John Dalton spoke. Dalton Industries and the Dalton-class ship; Dalton."
    found = ents(text, ("John Dalton", "PER", 0.95), ("Dalton Industries", "ORG", 0.9))
    out = propagate_person_names(text, found)
    assert labels(out) == [("John Dalton", 0, "PER"), ("Dalton Industries", 19, "ORG"), ("Dalton", 64, "PER")]


def test_first_names_relabel_but_are_not_added_and_short_words_are_never_added():
    text = "Angelo Li scored. Angelo passed to Li. Angelo ran."
    found = ents(text, ("Angelo Li", "PER", 0.99), ("Angelo", "ORG", 0.9), nth={"Angelo": 1})
    out = propagate_person_names(text, found)
    assert labels(out) == [("Angelo Li", 0, "PER"), ("Angelo", 18, "PER")]   # 'Li' is too short to add


def test_models_without_names_or_single_word_names_change_nothing():
    text = "Parly visits Toulon. Parly."
    found = ents(text, ("Parly", "PER", 0.99), ("Toulon", "LOC", 0.99))
    assert propagate_person_names(text, found) == found
    assert propagate_person_names("", []) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Jean Dupont", "Dupont", "Brest", " ", ". ", "\n", "Dupont-Aix", "DGA", "xDupont"]),
                max_size=30), st.data())
def test_any_text_gives_exact_non_overlapping_sorted_entities(parts, data):
    text = "".join(parts)
    found, pos = [], 0
    for part in parts:
        if part.strip(" .\n") and data.draw(st.booleans()):
            label = data.draw(st.sampled_from(["PER", "ORG", "LOC"]))
            found.append(Entity(pos, pos + len(part), label, part, data.draw(st.floats(0, 1))))
        pos += len(part)
    # touching entities ("Jean Dupont" right after "Brest") are allowed, overlapping ones are not
    out = propagate_person_names(text, found)
    assert all(text[e.start:e.end] == e.text for e in out)
    assert all(a.end <= b.start for a, b in zip(out, out[1:]))
    assert len(out) >= len(found) and {(e.start, e.end) for e in found} <= {(e.start, e.end) for e in out}
