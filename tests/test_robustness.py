"""Property-based robustness: any Unicode input yields valid offsets or a clear defnlp error.

Bad-input classes generated here: arbitrary code points (emoji, RTL scripts, combining marks,
control characters, NUL, private use), 1-character strings, whitespace-only strings, strings
mixing French, English and other scripts, and a 1 MB document. Nothing may escape as an
exception from a dependency (torch, tokenizers, numpy).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defnlp.errors import DefnlpError

# every code point except surrogates (not representable in valid UTF-8 text)
ANY_CHAR = st.characters(exclude_categories=("Cs",))
NASTY = st.sampled_from(
    ["\x00", "\u200f", "\u202e", "\ufeff", "\u0301", "\r\n", "\t", "🚀", "👩‍✈️", "مرحبا", "שלום", "中文",
     "ministre", "DGA", "Griffon", " ", "\u2028", "\x7f", "\U0010ffff", "A.", "M.", "n°"]
)
TEXT = st.lists(st.one_of(ANY_CHAR, NASTY), min_size=0, max_size=60).map("".join)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check_doc(doc, text: str) -> None:
    assert doc.text == text
    for e in doc.entities:
        assert 0 <= e.start < e.end <= len(text)
        assert e.text == text[e.start : e.end]
        assert 0.0 <= e.score <= 1.0
    for r in doc.relations:
        assert 0 <= r.head < len(doc.entities) and 0 <= r.tail < len(doc.entities)


@SETTINGS
@given(TEXT)
def test_annotate_any_unicode(tiny_nlp, text):
    try:
        doc = tiny_nlp(text)
    except DefnlpError as err:
        assert str(err)  # an actionable message, not an empty one
        return
    check_doc(doc, text)


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_pipe_returns_one_result_per_input_in_order(tiny_nlp, texts):
    results = list(tiny_nlp.pipe([{"id": str(i), "text": t} for i, t in enumerate(texts)], errors="return"))
    assert len(results) == len(texts)
    for i, (text, res) in enumerate(zip(texts, results)):
        if isinstance(res, DefnlpError):
            assert not text.strip(), f"only empty texts may fail, got {res!r} for {text!r}"
        else:
            assert res.id == str(i)
            check_doc(res, text)


UNREADABLE = DefnlpError("could not be read")
ITEM = st.one_of(TEXT.map(lambda t: {"text": t}), st.just({"no": "text"}), st.just(42), st.just(UNREADABLE))


@SETTINGS
@given(st.lists(ITEM, min_size=1, max_size=12))
def test_errors_and_documents_come_back_one_per_input_in_order(tiny_nlp, items):
    results = list(tiny_nlp.pipe(items, errors="return"))
    assert len(results) == len(items)
    for item, res in zip(items, results):
        if item is UNREADABLE:
            assert res is UNREADABLE
        elif not isinstance(item, dict) or "text" not in item:
            assert isinstance(res, DefnlpError) and res is not UNREADABLE
        elif not isinstance(res, DefnlpError):
            check_doc(res, item["text"])


def test_empty_and_whitespace_texts_give_empty_docs(tiny_nlp):
    # documented fallback of the API (like spaCy): an empty Doc; the file readers report an error
    for text in ["", "   ", "\n\n\t"]:
        doc = tiny_nlp(text)
        assert doc.text == text and doc.entities == [] and doc.relations == []


def test_one_megabyte_document(tiny_nlp):
    unit = "Le ministre des Armées 🚀 a visité Brest. The DGA ordered 42 Griffon. مرحبا \x00 שלום\n"
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    doc = tiny_nlp(text)
    check_doc(doc, text)


@pytest.fixture(scope="module")
def word_aligner(tiny_encoder):
    from defnlp.align import WordAligner

    return WordAligner(tiny_encoder, layer=1)


@SETTINGS
@given(TEXT, TEXT)
def test_word_alignment_any_unicode(word_aligner, fr, en):
    try:
        wa = word_aligner.align(fr, en)
    except DefnlpError as err:
        assert str(err)
        return
    for w in wa.src_words:
        assert fr[w.start : w.end] == w.text
    for w in wa.tgt_words:
        assert en[w.start : w.end] == w.text
    for link in wa.links:
        assert 0 <= link.src < len(wa.src_words) and 0 <= link.tgt < len(wa.tgt_words)


@SETTINGS
@given(st.lists(TEXT, max_size=8), st.lists(TEXT, max_size=8))
def test_sentence_alignment_any_unicode(fr, en):
    from defnlp.align.sentences import SentenceAligner, _toy_embedder

    aligner = SentenceAligner(embedder=_toy_embedder())
    try:
        result = aligner.align(fr, en)
    except DefnlpError as err:
        assert str(err)
        return
    covered_fr = sorted(i for link in result.links for i in link.src)
    covered_en = sorted(j for link in result.links for j in link.tgt)
    assert covered_fr == list(range(len(fr)))
    assert covered_en == list(range(len(en)))
