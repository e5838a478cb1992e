"""The Python API: load, __call__, pipe, long documents, bad input."""

import pytest

import defnlp
from defnlp.doc import Doc
from defnlp.errors import DefnlpError, EmptyInputError, InputError, ModelNotFoundError


def test_call_and_pipe_give_valid_docs(tiny_nlp):
    doc = tiny_nlp("La DGA a commandé 42 Griffon à KNDS.")
    assert isinstance(doc, Doc) and doc.lang == "fr" and doc.sentences
    for e in doc.entities:
        assert doc.text[e.start : e.end] == e.text and e.label in tiny_nlp.entity_labels and 0 <= e.score <= 1
    texts = ["Nexter delivered 12 Caesar guns.", Doc("Le ministre a visité Brest.", id="x"), {"id": "y", "text": "Toulon"}]
    docs = list(tiny_nlp.pipe(texts))
    assert [d.id for d in docs] == [None, "x", "y"]
    assert docs[0].text == texts[0]


def test_pipe_returns_errors_in_place_when_asked(tiny_nlp):
    out = list(tiny_nlp.pipe(["ok text here", {"no": "text"}, "more text"], errors="return"))
    assert isinstance(out[0], Doc) and isinstance(out[1], InputError) and isinstance(out[2], Doc)
    with pytest.raises(InputError):
        list(tiny_nlp.pipe([{"no": "text"}]))


def test_pipe_gives_each_result_in_its_place_errors_given_as_items_included(tiny_nlp):
    unreadable = EmptyInputError("b.txt is empty")
    items = [unreadable, "Le ministre a visité Brest.", {"no": "text"}, unreadable, "More text.", 42, unreadable]
    out = list(tiny_nlp.pipe(items, errors="return"))
    assert [type(r).__name__ for r in out] == ["EmptyInputError", "Doc", "InputError", "EmptyInputError", "Doc",
                                               "InputError", "EmptyInputError"]
    assert out[0] is unreadable and out[3] is unreadable and out[6] is unreadable
    assert [d.text for d in out if isinstance(d, Doc)] == [items[1], items[4]]
    assert not any(d.meta for d in out if isinstance(d, Doc))
    # errors="raise": the results before the first error come out, then it is raised
    stream = tiny_nlp.pipe(["Le ministre a visité Brest.", unreadable, "More text."])
    assert isinstance(next(stream), Doc)
    with pytest.raises(EmptyInputError):
        next(stream)


def test_documents_are_prepared_before_the_engine_and_keep_what_they_have(tiny_nlp):
    from defnlp.doc import Sentence

    given = Doc("Le ministre a signé. Il est parti.", lang="en", sentences=[Sentence(0, 34)])
    doc = tiny_nlp(given)
    assert doc.lang == "en" and doc.sentences == [Sentence(0, 34)] and doc is not given
    doc = tiny_nlp("Le ministre a signé. Il est parti.")
    assert doc.lang == "fr" and [(s.start, s.end) for s in doc.sentences] == [(0, 20), (21, 34)]


def test_whitespace_and_tiny_inputs(tiny_nlp):
    assert tiny_nlp("").entities == []
    assert tiny_nlp("   \n\t ").entities == []
    doc = tiny_nlp("A")
    assert all(doc.text[e.start : e.end] == e.text for e in doc.entities)


def test_200k_character_document_is_annotated_without_truncation(tiny_nlp):
    sentence = "Le ministre des Armées a rencontré le général Burkhard à Brest le 3 mars 2024. "
    text = (sentence * (200_000 // len(sentence) + 1))[:200_000]
    doc = tiny_nlp(text)
    assert len(doc.text) == 200_000
    assert doc.entities, "the model should find something in 200k characters"
    for e in doc.entities:
        assert doc.text[e.start : e.end] == e.text
    # predictions reach the very end of the document: nothing was cut
    assert max(e.end for e in doc.entities) > 190_000
    assert doc.sentences[-1].end >= 199_990


def test_results_do_not_depend_on_batching(tiny_ner_dir):
    texts = [f"Document {i}: la DGA a commandé {i} Griffon à Brest. " * (1 + i % 7) for i in range(20)]
    small = defnlp.load(tiny_ner_dir, device="cpu", token_budget=64)
    large = defnlp.load(tiny_ner_dir, device="cpu", token_budget=100_000)
    a = [[(e.start, e.end, e.label) for e in d.entities] for d in small.pipe(texts)]
    b = [[(e.start, e.end, e.label) for e in d.entities] for d in large.pipe(texts)]
    assert a == b


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError) as err:
        defnlp.load("does-not-exist")
    assert isinstance(err.value, DefnlpError) and err.value.hint
