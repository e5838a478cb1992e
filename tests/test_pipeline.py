"""The Python API: load, __call__, pipe, long documents, bad input."""

import dataclasses
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
    # the error names what the user typed (not the "-ner" name tried for a pipeline) and lists what exists
    assert "'does-not-exist'" in err.value.message and "-ner" not in err.value.message
    assert "available pipelines" in err.value.hint and "models:" in err.value.hint


def test_unknown_model_name_lists_available(tmp_path, monkeypatch, tiny_ner_dir):
    import shutil

    shutil.copytree(tiny_ner_dir, tmp_path / "mine-ner")
    monkeypatch.setenv("DEFNLP_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError) as err:
        defnlp.load("unknown")
    assert "'unknown'" in err.value.message and "unknown-ner" not in str(err.value)
    assert "mine" in err.value.hint and "mine-ner" in err.value.hint


# ---- long documents: annotated in sections (issue 16, finding 4: memory) ---------------------------
import random  # noqa: E402
import re  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402

from defnlp.doc import Entity, Sentence, prepare_doc  # noqa: E402
from defnlp.layout import hyphen_joins  # noqa: E402
from defnlp.pipeline import section_bounds  # noqa: E402
from defnlp.text import split_sentences  # noqa: E402

PARAGRAPHS = [
    "La Direction générale de l'armement (DGA) a commandé 12 Rafale à Dassault Aviation.\n"
    "La DGA a notifié le contrat le 3 mars 2024.",
    "The North Atlantic Treaty Organization (NATO) met in Brussels on 14 June 2024. NATO ministers agreed "
    "to deliver 40 Patriot launchers.",
    "Naval Group a livré la frégate Lorraine à la Marine nationale à Toulon. Le ministre a salué les équipes de Brest.",
    "Contact presse\nClaire Dumont\npresse@dga.defense.gouv.fr",
    "Thales et Safran ont signé un accord à Paris. Thales livrera les radars à la DGA et à NATO en 2025.",
]
NAMES = {"Direction générale de l'armement": "ORG", "DGA": "ORG", "North Atlantic Treaty Organization": "ORG",
         "NATO": "ORG", "Dassault Aviation": "ORG", "Naval Group": "ORG", "Marine nationale": "ORG", "Thales": "ORG",
         "Safran": "ORG", "Brussels": "LOC", "Toulon": "LOC", "Brest": "LOC", "Paris": "LOC", "Claire Dumont": "PER",
         "Rafale": "PLATFORM", "Patriot": "WEAPON"}
_NAME_RE = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in sorted(NAMES, key=len, reverse=True)))


def long_text(n_chars: int, seed: int = 0) -> str:
    """Paragraphs in a seeded order, separated by a blank line or a line break."""
    rng, parts, size = random.Random(seed), [], 0
    while size < n_chars:
        parts.append(rng.choice(PARAGRAPHS) + ("\n\n" if rng.random() < 0.6 else "\n"))
        size += len(parts[-1])
    return "".join(parts)


@pytest.fixture(scope="module")
def nlp_re(tiny_ner_dir, tiny_markup_file, tmp_path_factory):
    """The tiny NER model with a tiny relation model (SAME_AS among its labels: alias links)."""
    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    out = tmp_path_factory.mktemp("models") / "tiny-re"
    data = [DataSource(format="markup", path=str(tiny_markup_file))]
    cfg = RelationTrainingConfig(name="tiny-re", output=str(out), ner_model=str(tiny_ner_dir), epochs=5, lr=5e-3,
                                 train=data, dev=data, proj=32, mlp=32, dropout=0.0)
    re_dir = train_relations(cfg)
    nlp = defnlp.load(tiny_ner_dir, relations=re_dir, device="cpu")
    # alias links on whatever the tiny head's measured SAME_AS precision (training may turn them off)
    nlp.relations.decision = dataclasses.replace(nlp.relations.decision, alias_links=True, alias_score=1.0)
    assert nlp.relations.decision.keeps_aliases
    return nlp


def engine_inputs(monkeypatch, nlp) -> list[int]:
    """Records the length of every document the pipeline hands to its engine."""
    seen: list[int] = []
    run = nlp.engine.run

    def spy(docs, **kwargs):
        def tap():
            for doc in docs:
                seen.append(len(doc.text))
                yield doc
        return run(tap(), **kwargs)

    monkeypatch.setattr(nlp.engine, "run", spy)
    return seen


def check_bounds(text: str, bounds: list[tuple[int, int]], size: int) -> None:
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))
    assert all(0 < b - a <= size for a, b in bounds)
    joins = hyphen_joins(text)
    for _, cut in bounds[:-1]:
        assert not any(a < cut <= b for a, b in joins), "a cut inside a word joined across a line break"


def test_section_bounds_prefer_blank_lines_then_sentences_then_words():
    text = "Le ministre a signé.\n\nLa DGA a commandé. Brest attend."
    sents = [Sentence(a, b) for a, b in split_sentences(text)]
    assert section_bounds(text, sents, size=len(text)) == [(0, len(text))]  # short: one section
    assert section_bounds(text, sents, size=40) == [(0, 22), (22, len(text))]  # the blank line, not the later sentence
    assert section_bounds(text, sents, size=30) == [(0, 22), (22, 41), (41, len(text))]  # then a sentence start
    # a "sentence" longer than a section: cut at a word start, never inside a hyphen-joined word
    prose = "la frégate opéra-\ntionnel " * 40
    bounds = section_bounds(prose, [Sentence(*split_sentences(prose)[0])], size=100)
    check_bounds(prose, bounds, 100)
    assert all(prose[c - 1] == " " for _, c in bounds[:-1])
    # no whitespace at all: cut at the section size
    assert section_bounds("x" * 250, [], size=100) == [(0, 100), (100, 200), (200, 250)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["La DGA", "a", "opéra-\ntionnel", ".", " ", "\n", "\n\n", "\f", "Brest."]),
                max_size=80), st.integers(3, 60))
def test_section_bounds_partition_any_text(parts, size):
    text = "".join(parts)
    sents = [Sentence(a, b) for a, b in split_sentences(text)]
    if text:
        check_bounds(text, section_bounds(text, sents, size), size)


def test_documents_up_to_the_section_size_are_annotated_whole_as_before(nlp_re, monkeypatch):
    text = long_text(4_000)
    monkeypatch.setattr(nlp_re, "section_chars", len(text))
    seen = engine_inputs(monkeypatch, nlp_re)
    doc = nlp_re(text)
    assert seen == [len(text)]
    # what the pipeline computed before sections existed: one engine pass, NER decoding, relations
    from defnlp.ner.decoding import decode_entities

    (enc,) = nlp_re.engine.run([prepare_doc(Doc(text))], hidden=True)
    entities = decode_entities(nlp_re.ner.tagset, text, enc.token_spans, enc.outputs["ner"])
    enc.doc.entities = entities
    relations = nlp_re.relations.predict(enc.doc, enc.hidden, enc.token_spans)
    assert doc.entities == entities and doc.relations == relations  # scores included: bit-identical
    assert len(doc.entities) > 1 and doc.relations


def _fake_models(monkeypatch) -> None:
    """NER by a list of names and a 'relation' for every candidate pair: deterministic, so that a
    sectioned run can be compared with a whole one whatever the windows the encoder saw."""
    import defnlp.relations.model as relations_model
    from defnlp.doc import Relation
    from defnlp.relations.candidates import candidate_rows, entity_token_ranges

    def decode(tagset, text, token_spans, log_probs, joins=None):
        return [Entity(m.start(), m.end(), NAMES[m.group()], m.group(), 0.9) for m in _NAME_RE.finditer(text)]

    def pairs(head, doc, hidden, token_spans, scheme, threshold=0.5, max_sentence_distance=1, **_):
        ranges = entity_token_ranges(doc, token_spans)
        rows = candidate_rows(doc, ranges, scheme, head.relation_labels, max_sentence_distance)
        return [Relation(h, t, "PAIR", 0.9) for h, t in sorted({(h, t) for h, t, *_ in rows})]

    monkeypatch.setattr("defnlp.pipeline.decode_entities", decode)
    monkeypatch.setattr(relations_model, "predict_relations", pairs)


def test_long_document_in_sections_equals_the_whole_run_but_pairs_across_a_cut(nlp_re, monkeypatch):
    _fake_models(monkeypatch)
    text = long_text(30_000)
    monkeypatch.setattr(nlp_re, "section_chars", 10**9)
    whole = nlp_re(text)
    monkeypatch.setattr(nlp_re, "section_chars", 3_000)
    seen = engine_inputs(monkeypatch, nlp_re)
    doc = nlp_re(text)
    bounds = section_bounds(text, whole.sentences, 3_000)
    assert len(seen) == len(bounds) > 9 and max(seen) <= 3_000  # the engine never holds more than a section
    doc.validate()
    assert doc.text == text and doc.sentences == whole.sentences
    assert doc.entities == whole.entities  # offsets shifted back exactly

    def section(offset):
        return next(k for k, (a, b) in enumerate(bounds) if a <= offset < b)

    def rels(d, label):
        return {(r.head, r.tail) for r in d.relations if r.label == label}

    # alias links are drawn over the whole document: the same, across sections too
    assert rels(doc, "SAME_AS") == rels(whole, "SAME_AS")
    assert any(section(doc.entities[h].start) != section(doc.entities[t].start) for h, t in rels(doc, "SAME_AS"))
    # relations: those of the whole run, less the pairs whose entities are in different sections
    pairs, kept = rels(whole, "PAIR"), rels(doc, "PAIR")
    lost = pairs - kept
    assert kept <= pairs and lost
    assert all(section(doc.entities[h].start) != section(doc.entities[t].start) for h, t in lost)
    assert all(section(doc.entities[h].start) == section(doc.entities[t].start) for h, t in kept)
    # measured: 3,000-character sections cut at blank lines lose 1.0% of the candidate pairs (66 of
    # 6,594); the default 50,000-character sections have ~17 times fewer cuts
    assert len(lost) / len(pairs) < 0.02


def test_long_document_with_the_real_models(nlp_re, monkeypatch):
    text = long_text(12_000, seed=1)
    monkeypatch.setattr(nlp_re, "section_chars", 2_000)
    seen = engine_inputs(monkeypatch, nlp_re)
    doc = nlp_re(text)
    bounds = section_bounds(text, doc.sentences, 2_000)
    assert len(seen) == len(bounds) and max(seen) <= 2_000
    doc.validate()
    assert doc.sentences == prepare_doc(Doc(text)).sentences
    assert doc.entities == sorted(doc.entities, key=lambda e: (e.start, e.end)) and doc.entities[-1].end > 11_000
    cuts = [a for a, _ in bounds[1:]]
    for r in doc.relations:  # only alias links cross a cut
        h, t = doc.entities[r.head], doc.entities[r.tail]
        assert r.label == "SAME_AS" or not any(min(h.start, t.start) < c <= max(h.start, t.start) for c in cuts)


def test_a_failing_section_fails_its_document_only(nlp_re, monkeypatch):
    text = long_text(8_000)
    broken = text[:5_000] + "BOOM. " + text[5_000:]
    monkeypatch.setattr(nlp_re, "section_chars", 2_000)
    prepare = nlp_re.engine.prepare

    def failing(docs):  # the engine fails on the pool that holds the section, then on that section alone
        if any("BOOM" in doc.text for doc in docs):
            raise RuntimeError("the encoder broke")
        return prepare(docs)

    monkeypatch.setattr(nlp_re.engine, "prepare", failing)
    out = list(nlp_re.pipe([text, broken, {"no": "text"}, "La DGA a commandé.", text], errors="return"))
    assert [type(r).__name__ for r in out] == ["Doc", "AnnotationError", "InputError", "Doc", "Doc"]
    assert out[0].entities == out[4].entities and out[0].relations == out[4].relations
    assert out[3].text == "La DGA a commandé."


def test_person_names_are_carried_before_relations_and_can_be_turned_off(nlp_re, monkeypatch):
    """The pipeline runs defnlp.ner.names on the decoded entities, before the relation head reads them."""
    text = "Claire Dumont visited Toulon. Dumont met the DGA."

    def decode(tagset, text, token_spans, log_probs, joins=None):
        return [Entity(0, 13, "PER", "Claire Dumont", 0.9), Entity(22, 28, "LOC", "Toulon", 0.9),
                Entity(45, 48, "ORG", "DGA", 0.9)]

    monkeypatch.setattr("defnlp.pipeline.decode_entities", decode)
    seen = []
    real_predict = nlp_re.relations.predict
    monkeypatch.setattr(nlp_re.relations, "predict", lambda doc, *a, **k: seen.append(list(doc.entities)) or real_predict(doc, *a, **k))
    doc = nlp_re(text)
    assert [(e.text, e.start, e.label) for e in doc.entities] == [
        ("Claire Dumont", 0, "PER"), ("Toulon", 22, "LOC"), ("Dumont", 30, "PER"), ("DGA", 45, "ORG")]
    assert seen[-1] == doc.entities and nlp_re.info()["person_names"] is True
    monkeypatch.setattr(nlp_re, "person_names", False)
    assert [e.text for e in nlp_re(text).entities] == ["Claire Dumont", "Toulon", "DGA"]
