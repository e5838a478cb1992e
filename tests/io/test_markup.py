"""The inline markup of the project's examples (defnlp/io/markup.py): parsing, escapes, round trip."""

from __future__ import annotations

import pytest

from defnlp.doc import Doc
from defnlp.errors import RecordFormatError
from defnlp.io.markup import doc_to_markup, parse_markup


def test_entities_relations_and_literal_brackets():
    (doc,) = parse_markup(
        "=== doc: d1 | lang: fr | split: train\n"
        "Le [DGA]{ORG:o} \\[sic\\] a commandé [42]{QUANTITY:q} [Griffon]{PLATFORM:g}.\n"
        "> g HAS_QUANTITY q\n"
    )
    assert doc.text == "Le DGA [sic] a commandé 42 Griffon."
    assert [(e.text, e.label) for e in doc.entities] == [("DGA", "ORG"), ("42", "QUANTITY"), ("Griffon", "PLATFORM")]
    assert [(r.head, r.label, r.tail) for r in doc.relations] == [(2, "HAS_QUANTITY", 1)]
    assert doc.meta["split"] == "train"


def test_escaped_quote_marker_is_text_and_round_trips():
    source = (
        "=== doc: m1 | lang: en\n"
        "Hello,\n"
        "\\> On 3 May, [Anna Berg]{PER:p} wrote:\n"
        "\\> the [Saab]{ORG:o} visit is confirmed\n"
        "> p MEMBER_OF o\n"
    )
    (doc,) = parse_markup(source)
    assert doc.text.splitlines()[1:] == ["> On 3 May, Anna Berg wrote:", "> the Saab visit is confirmed"]
    assert doc.text[doc.entities[0].start:doc.entities[0].end] == "Anna Berg"
    (again,) = parse_markup(doc_to_markup(doc))
    assert again.text == doc.text
    assert [(e.start, e.end, e.label) for e in again.entities] == [(e.start, e.end, e.label) for e in doc.entities]
    assert [(r.head, r.label, r.tail) for r in again.relations] == [(r.head, r.label, r.tail) for r in doc.relations]


def test_round_trip_of_backslashes_and_brackets():
    doc = Doc("a \\> b [c] {d}\n\\> e", id="x", lang="en")
    doc.add_entity(0, 1, "ORG")
    (again,) = parse_markup(doc_to_markup(doc))
    assert again.text == doc.text


def test_unescaped_quote_line_is_a_malformed_relation():
    with pytest.raises(RecordFormatError, match="relation lines look like"):
        parse_markup("=== doc: m2 | lang: en\nHello\n> On 3 May, Anna wrote:\n")
