"""Grid rows of aligned FR/EN pairs (defnlp.viz.rows): aligned sentences sit side by side."""

from __future__ import annotations

import time

from defnlp import Doc
from defnlp.doc import Sentence
from defnlp.viz.rows import Row, align_rows, segments


def doc_of(sentences: list[str], lang: str) -> Doc:
    """A doc whose sentences are given (joined by one space), with its sentence spans set."""
    doc = Doc(" ".join(sentences), lang=lang)
    position = 0
    for sentence in sentences:
        doc.sentences.append(Sentence(position, position + len(sentence)))
        position += len(sentence) + 1
    return doc


def sentence_spans(doc: Doc, *indices: int) -> list[tuple[int, int]]:
    return [(doc.sentences[i].start, doc.sentences[i].end) for i in indices]


def groups(doc_fr: Doc, doc_en: Doc, rows: list[Row]) -> list[tuple[str, str]]:
    """Each row as (FR text, EN text), stripped."""
    return [(doc_fr.text[slice(*r.fr)].strip(), doc_en.text[slice(*r.en)].strip()) for r in rows]


def assert_tiles(doc: Doc, ranges: list[tuple[int, int]]) -> None:
    assert "".join(doc.text[a:b] for a, b in ranges) == doc.text
    assert all(a <= b for a, b in ranges)


FR = doc_of(["Un.", "Deux.", "Trois.", "Quatre."], "fr")
EN = doc_of(["One.", "Two.", "Three.", "Four."], "en")


def test_segments_tile_the_text_and_keep_the_whitespace_between_sentences():
    doc = Doc("  Titre\n\nUn. Deux.\n")
    assert segments(doc) == [(0, 9), (9, 13), (13, 19)]
    assert_tiles(doc, segments(doc))
    assert segments(Doc("")) == []


def test_without_links_sentences_pair_in_order():
    rows = align_rows(FR, EN, [])
    assert groups(FR, EN, rows) == [("Un.", "One."), ("Deux.", "Two."), ("Trois.", "Three."), ("Quatre.", "Four.")]


def test_sentence_links_give_their_rows_exactly_n_to_m_and_lone_sentences():
    fr = doc_of(["A1.", "A2.", "B.", "C1.", "C2.", "C3.", "C4.", "D.", "E."], "fr")
    en = doc_of(["a.", "b1.", "b2.", "c.", "x.", "e."], "en")
    links = [
        (sentence_spans(fr, 0, 1), sentence_spans(en, 0)),  # 2-1
        (sentence_spans(fr, 2), sentence_spans(en, 1, 2)),  # 1-2
        (sentence_spans(fr, 3, 4, 5, 6), sentence_spans(en, 3)),  # 4-1: larger than the default rows
        ([], sentence_spans(en, 4)),  # 0-1: an EN sentence without counterpart
        (sentence_spans(fr, 7), []),  # 1-0
        (sentence_spans(fr, 8), sentence_spans(en, 5)),
    ]
    rows = align_rows(fr, en, links, sentence_level=True)
    assert groups(fr, en, rows) == [
        ("A1. A2.", "a."),
        ("B.", "b1. b2."),
        ("C1. C2. C3. C4.", "c."),
        ("", "x."),
        ("D.", ""),
        ("E.", "e."),
    ]
    assert_tiles(fr, [r.fr for r in rows])
    assert_tiles(en, [r.en for r in rows])


def test_entity_links_pull_a_split_translation_into_one_row_and_a_stray_link_does_not_merge_rows():
    fr = doc_of(["Paris et Berlin signent avec Rome.", "Madrid suit.", "Lisbonne aussi."], "fr")
    en = doc_of(["Paris and Berlin sign.", "Rome joins them.", "Madrid follows.", "Lisbon too."], "en")

    def link(fr_word: str, en_word: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        a, b = fr.text.index(fr_word), en.text.index(en_word)
        return [(a, a + len(fr_word))], [(b, b + len(en_word))]

    links = [link("Paris", "Paris"), link("Berlin", "Berlin"), link("Rome", "Rome"), link("Madrid", "Madrid"),
             link("Lisbonne", "Lisbon"), link("Madrid", "Lisbon")]  # the last one is a wrong, stray link
    assert groups(fr, en, align_rows(fr, en, links)) == [
        ("Paris et Berlin signent avec Rome.", "Paris and Berlin sign. Rome joins them."),
        ("Madrid suit.", "Madrid follows."),
        ("Lisbonne aussi.", "Lisbon too."),
    ]


def test_uneven_sides_and_empty_texts():
    fr = doc_of(["Un.", "Deux.", "Trois."], "fr")
    en = doc_of(["One."], "en")
    rows = align_rows(fr, en, [(sentence_spans(fr, 2), sentence_spans(en, 0))])
    assert groups(fr, en, rows) == [("Un.", ""), ("Deux.", ""), ("Trois.", "One.")]
    assert align_rows(Doc("", lang="fr"), Doc("", lang="en"), []) == []
    only_en = align_rows(Doc("", lang="fr"), EN, [])
    assert [r.fr for r in only_en] == [(0, 0)] * 4 and [r.en for r in only_en] == segments(EN)


def test_documents_without_sentence_spans_are_split_into_sentences():
    fr, en = Doc("Un. Deux.", lang="fr"), Doc("One. Two.", lang="en")
    assert groups(fr, en, align_rows(fr, en, [])) == [("Un.", "One."), ("Deux.", "Two.")]


def test_long_documents_are_aligned_in_a_band_quickly():
    n = 700
    fr = doc_of([f"Phrase {k}." for k in range(n)], "fr")
    en = doc_of([f"Sentence {k}." for k in range(n + 5)], "en")
    links = [(sentence_spans(fr, k), sentence_spans(en, k + (k >= 300) * 5)) for k in range(n)]
    start = time.perf_counter()
    rows = align_rows(fr, en, links, sentence_level=True)
    assert time.perf_counter() - start < 20
    assert len(rows) == n + 5
    assert groups(fr, en, rows)[300:306] == [("", f"Sentence {k}.") for k in range(300, 305)] + [("Phrase 300.", "Sentence 305.")]
    assert_tiles(fr, [r.fr for r in rows])
