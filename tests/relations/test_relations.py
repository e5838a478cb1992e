"""Relation extraction: candidates, head, alias linking, training, evaluation, pipeline."""

import pytest
import torch

import defnlp
from defnlp.doc import Doc
from defnlp.errors import IncompatibleEncoderError
from defnlp.evaluation.relations import TypePairBaseline, evaluate_relations
from defnlp.relations.aliases import acronym_matches, is_acronym, link_aliases
from defnlp.relations.candidates import candidate_pairs, entity_token_ranges
from defnlp.scheme import load_scheme


@pytest.fixture(scope="session")
def tiny_re_dir(tmp_path_factory, tiny_ner_dir, tiny_markup_file):
    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    out = tmp_path_factory.mktemp("models") / "tiny-re"
    cfg = RelationTrainingConfig(name="tiny-re", output=str(out), ner_model=str(tiny_ner_dir), epochs=30, lr=5e-3,
                                 train=[DataSource(format="markup", path=str(tiny_markup_file))],
                                 dev=[DataSource(format="markup", path=str(tiny_markup_file))], proj=32, mlp=32, dropout=0.0)
    return train_relations(cfg)


def doc_with(text, spans):
    d = Doc(text)
    for s, e, label in spans:
        d.add_entity(s, e, label)
    return d


def test_candidates_respect_sentences_and_types():
    text = "Ana met Bob in Paris. Later, Carl left. Much later, Dana came."
    d = doc_with(text, [(0, 3, "PER"), (8, 11, "PER"), (15, 20, "LOC"), (29, 33, "PER"), (52, 56, "PER")])
    from defnlp.text import split_sentences
    from defnlp.doc import Sentence

    d.sentences = [Sentence(a, b) for a, b in split_sentences(text)]
    spans = [(i, i + 1) for i in range(len(text))]  # one token per character
    ranges = entity_token_ranges(d, spans)
    assert ranges[0] == (0, 3)
    pairs = candidate_pairs(d, ranges, load_scheme(), ["MEETS", "LOCATED_IN"], max_sentence_distance=1)
    got = {(c.head, c.tail) for c in pairs}
    assert (0, 1) in got and (1, 0) in got  # symmetric relation: both orders are scored
    assert (0, 2) in got and (2, 0) not in got  # LOCATED_IN goes to a LOC only
    assert (0, 3) in got  # neighbouring sentence
    assert all(4 not in (c.head, c.tail) or {c.head, c.tail} == {3, 4} for c in pairs)  # two sentences away


def test_alias_linking():
    assert is_acronym("DGA") and is_acronym("U.S.") and not is_acronym("Paris") and not is_acronym("A")
    assert acronym_matches("OTAN", "Organisation du traité de l'Atlantique Nord")
    assert not acronym_matches("OTAN", "Organisation des Nations unies")
    text = "La Direction générale de l'armement (DGA) a signé. La DGA a commandé des Griffon à KNDS."
    second = text.index("DGA", 40)
    d = doc_with(text, [(3, 35, "ORG"), (37, 40, "ORG"), (second, second + 3, "ORG"),
                        (text.index("Griffon"), text.index("Griffon") + 7, "PLATFORM"), (text.index("KNDS"), text.index("KNDS") + 4, "ORG")])
    links = {(r.head, r.tail, r.label) for r in link_aliases(d)}
    assert links == {(0, 1, "SAME_AS"), (0, 2, "SAME_AS")}


def test_evaluation_and_baseline():
    scheme = load_scheme()
    train = doc_with("Ana met Bob. Ana visited Rome.", [(0, 3, "PER"), (8, 11, "PER"), (13, 16, "PER"), (25, 29, "LOC")])
    train.add_relation(0, 1, "MEETS")
    train.add_relation(2, 3, "LOCATED_IN")
    base = TypePairBaseline().fit([train])
    test = doc_with("Eve met Tom in Oslo.", [(0, 3, "PER"), (8, 11, "PER"), (15, 19, "LOC")])
    gold = test.copy()
    gold.add_relation(1, 0, "MEETS")
    gold.add_relation(0, 2, "LOCATED_IN")
    pred = base.predict(test, symmetric={"MEETS"})
    labels = {(r.head, r.tail, r.label) for r in pred.relations}
    assert (0, 1, "MEETS") in labels and (0, 2, "LOCATED_IN") in labels and (1, 2, "LOCATED_IN") in labels
    report = evaluate_relations([gold], [pred], symmetric={"MEETS"})
    assert report.per_label["MEETS"]["f1"] == 1.0
    assert report.per_label["LOCATED_IN"]["precision"] == 0.5 and report.per_label["LOCATED_IN"]["recall"] == 1.0


def test_trained_relation_model_runs_in_the_pipeline(tiny_re_dir, tiny_ner_dir):
    spec = defnlp.models.read_model_dir(tiny_re_dir)[0]
    assert spec.task == "relations" and spec.depends_on["name"] == "tiny-ner"
    nlp = defnlp.load(tiny_ner_dir, relations=tiny_re_dir, device="cpu")
    assert nlp.relations is not None
    docs = list(nlp.pipe(["La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.", "Nexter delivered 12 Caesar guns to Ukraine in 2023."]))
    scheme = load_scheme()
    for d in docs:
        for r in d.relations:
            h, t = d.entities[r.head], d.entities[r.tail]
            assert scheme.allows(r.label, h.label, t.label) and 0 <= r.score <= 1


def test_relation_head_learns_the_training_data(tiny_re_dir, tiny_ner_dir, tiny_markup_file):
    """On its (tiny) training set, with gold entities, the head recovers most relations."""
    from defnlp.evaluation.relations import predict_with_gold_entities
    from defnlp.io.markup import read_markup_files

    gold = read_markup_files([tiny_markup_file])
    nlp = defnlp.load(tiny_ner_dir, relations=tiny_re_dir, device="cpu")
    pred = predict_with_gold_entities(nlp, gold)
    report = evaluate_relations(gold, pred, symmetric={"MEETS", "SAME_AS"})
    assert report.micro["f1"] >= 0.5, report.table()


def test_relation_training_is_deterministic_and_records_the_run(tmp_path, tiny_ner_dir, tiny_markup_file):
    """Same config and seed, same weights (head dropout on); the card keeps the history and the best epoch."""
    from safetensors.torch import load_file

    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    def run(name):
        cfg = RelationTrainingConfig(name=name, output=str(tmp_path / name), ner_model=str(tiny_ner_dir), epochs=4, lr=5e-3,
                                     train=[DataSource(format="markup", path=str(tiny_markup_file))], proj=16, mlp=16,
                                     docs_per_batch=2)
        out = train_relations(cfg)
        return load_file(str(out / "weights.safetensors")), defnlp.models.read_model_dir(out)[0].training

    (a, card_a), (b, card_b) = run("a"), run("b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["loss"] for h in card_a["history"]] == [h["loss"] for h in card_b["history"]]
    assert [list(h) for h in card_a["history"]] == [["epoch", "loss"]] * 4  # no dev: all epochs, no timings
    assert card_a["best_epoch"] == min(card_a["history"], key=lambda h: h["loss"])["epoch"]
    assert list(card_a) == ["config", "history", "best_epoch", "seed", "torch", "precision", "cpu_bf16_units", "cpu", "threads"]
    assert "base_dir" not in card_a["config"] and card_a["precision"] == "fp32"  # relations default to fp32


def test_relation_model_refuses_another_ner_model(tmp_path, tiny_re_dir, tiny_ner_dir):
    import shutil

    from defnlp.integrity import write_manifest

    other = tmp_path / "other-ner"
    shutil.copytree(tiny_ner_dir, other)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(other / "weights.safetensors"))
    tensors["ner.proj.bias"] = tensors["ner.proj.bias"] + 1
    save_file(tensors, str(other / "weights.safetensors"))
    write_manifest(other, ["weights.safetensors", "defnlp.json"])  # a consistent, different NER model
    with pytest.raises(IncompatibleEncoderError, match="trained on NER model weights"):
        defnlp.load(other, relations=tiny_re_dir, device="cpu")


def test_training_and_gold_evaluation_draw_pairs_per_sentence(tiny_ner_dir):
    """Documents read without sentences (corpora, markup) get the engine's sentences, as at
    inference: no pairs across distant sentences in training or in gold-entity evaluation."""
    from defnlp.evaluation.relations import predict_with_gold_entities
    from defnlp.ner.model import load_ner
    from defnlp.training.relations import encode_documents

    text = "Ana met Bob. It rained. It rained again. Carl left Oslo."
    d = doc_with(text, [(0, 3, "PER"), (8, 11, "PER"), (text.index("Carl"), text.index("Carl") + 4, "PER"),
                        (text.index("Oslo"), text.index("Oslo") + 4, "LOC")])
    assert not d.sentences
    enc = encode_documents(load_ner(str(tiny_ner_dir)), [d])[0]
    assert len(enc.doc.sentences) == 4 and not d.sentences  # the caller's document is left as it was
    ranges = entity_token_ranges(enc.doc, enc.token_spans)
    pairs = {(c.head, c.tail) for c in candidate_pairs(enc.doc, ranges, load_scheme(), ["MEETS", "LOCATED_IN"], 1)}
    assert (0, 1) in pairs and (2, 3) in pairs and (0, 2) not in pairs and (1, 3) not in pairs
    nlp = defnlp.load(tiny_ner_dir, device="cpu")

    class AlwaysMeets(torch.nn.Module):  # a head that relates every candidate pair
        relation_labels = ["MEETS"]

        def parameters(self):
            return iter([torch.zeros(1)])

        def label_ids(self, labels):
            return torch.zeros(len(labels), dtype=torch.long)

        def forward(self, hidden, ranges, labels, pairs):
            return torch.tensor([[0.0, 5.0]] * len(pairs))

    class Rel:
        head, scheme, threshold, max_sentence_distance = AlwaysMeets(), load_scheme(), 0.5, 1

    nlp.relations = Rel()
    pred = predict_with_gold_entities(nlp, [d])[0]
    assert {(min(r.head, r.tail), max(r.head, r.tail)) for r in pred.relations} == {(0, 1)}
