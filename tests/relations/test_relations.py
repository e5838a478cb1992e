"""Relation extraction: candidates, head, alias linking, training, evaluation, pipeline."""

import time

import pytest
import torch

import defnlp
from defnlp.doc import Doc
from defnlp.errors import IncompatibleEncoderError, ModelError
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
                                 dev=[DataSource(format="markup", path=str(tiny_markup_file))], proj=32, mlp=32, dropout=0.0,
                                 predicted_entities=False)  # the tiny NER model finds little: learn on gold entities
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
    assert list(card_a) == ["config", "config_sha256", "history", "best_epoch", "wall_seconds", "data", "seed", "torch",
                            "versions", "precision", "cpu_bf16_units", "cpu", "threads"]
    assert len(card_a["config_sha256"]) == 64 and card_a["data"] == card_b["data"]
    assert card_a["data"]["train"][0]["documents"] > 0 and card_a["wall_seconds"] > 0
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
        context = None

        def parameters(self):
            return iter([torch.zeros(1)])

        def label_ids(self, labels):
            return torch.zeros(len(labels), dtype=torch.long)

        def forward(self, hidden, ranges, labels, pairs, markers=None):
            return torch.tensor([[0.0, 5.0]] * len(pairs))

    class Rel:
        head, scheme, decision, max_sentence_distance = AlwaysMeets(), load_scheme(), 0.5, 1

    nlp.relations = Rel()
    pred = predict_with_gold_entities(nlp, [d])[0]
    assert {(min(r.head, r.tail), max(r.head, r.tail)) for r in pred.relations} == {(0, 1)}


# ---- linear cost in document length (issue 16, finding 4) ----------------------------------------
def _reference_link_aliases(doc, score=0.95):
    """The pairwise definition of alias linking (the quadratic implementation it replaced)."""
    import re

    from defnlp.doc import Relation
    from defnlp.relations.aliases import _compatible

    ents, out, seen = doc.entities, [], set()
    for i, e in enumerate(ents):
        if not is_acronym(e.text):
            continue
        best = None
        for j, f in enumerate(ents):
            if i == j or is_acronym(f.text) or f.text.lower() == e.text.lower() or (f.start < e.end and e.start < f.end):
                continue
            between = doc.text[min(e.end, f.end): max(e.start, f.start)]
            apposition = between.strip() in ("(", ",", "–", "-", "—") or re.fullmatch(r"\s*\(\s*", between) is not None
            if not (acronym_matches(e.text, f.text) or (apposition and _compatible(e.label, f.label))):
                continue
            distance = e.start - f.end if f.end <= e.start else 10**6 + f.start - e.end
            if best is None or distance < best[0]:
                best = (distance, j)
        if best is not None:
            key = (min(i, best[1]), max(i, best[1]))
            if key not in seen:
                seen.add(key)
                out.append(Relation(key[0], key[1], "SAME_AS", score))
    return out


_PIECES = ["Direction", "générale", "de", "l'", "armement", "DGA", "D.G.A.", "dga", "d g a", "D GA", "(", ",", "-",
           "—", "\n", "la", "NATO", "North", "Atlantic", "Treaty", "Organization", "of", "the", "ON", "on", "de la"]


def test_alias_linking_keeps_the_pairwise_definition():
    """The indexed implementation links exactly what comparing every pair linked (random mentions,
    overlapping ones, acronyms written several ways, appositions, lower-cased twins)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(_PIECES), min_size=2, max_size=25), st.lists(st.tuples(
        st.integers(0, 200), st.integers(1, 40), st.sampled_from(["ORG", "PER", "PLATFORM", "WEAPON", "LOC"])), max_size=14),
        st.sampled_from([" ", "", "  "]))
    def check(pieces, spans, sep):
        text = sep.join(pieces) or "x"
        d = Doc(text)
        for start, width, label in spans:
            start %= len(text)
            d.add_entity(start, min(len(text), start + width), label)
        pos = 0
        for k, piece in enumerate(pieces):  # whole-piece mentions too, where acronyms and names are
            at = text.find(piece, pos)
            if at >= 0 and piece.strip() and k % 2 == 0:
                d.add_entity(at, at + len(piece), "ORG")
            pos = max(pos, at + 1)
        assert link_aliases(d) == _reference_link_aliases(d)

    check()


def _programme_document(n: int) -> tuple[Doc, list[tuple[int, int]]]:
    """``n`` paragraphs, each a programme name with its own acronym, mentioned twice; the expected links."""
    parts, spans, expected = [], [], []
    pos = 0
    for k in range(n):
        name, acro = f"Programme Alpha {k:04d}", f"PA{k:04d}"  # no acronym is a prefix of another
        sentence = f"Le {name} ({acro}) avance. Le {acro} livre à Brest.\n\n"
        for mention, label in ((name, "PROGRAMME"), (acro, "PROGRAMME"), ("Brest", "LOC")):
            at = sentence.index(mention)
            spans.append((pos + at, pos + at + len(mention), label))
        second = sentence.index(acro, sentence.index("avance"))
        spans.append((pos + second, pos + second + len(acro), "PROGRAMME"))
        parts.append(sentence)
        pos += len(sentence)
    d = Doc("".join(parts))
    for start, end, label in sorted(spans):
        d.add_entity(start, end, label)
    for i, e in enumerate(d.entities):
        if e.text.startswith("PA"):
            name = next(j for j in range(i - 1, -1, -1) if d.entities[j].text.startswith("Programme"))
            expected.append((name, i))
    return d, expected


def test_alias_linking_is_linear_in_the_number_of_mentions(monkeypatch):
    """Acronym tests grow with the document, not with its square: the old code tested every acronym
    mention against every mention (4× the tests for 2× the text)."""
    import defnlp.relations.aliases as aliases

    calls = []
    real = aliases.acronym_matches

    def counting(acronym, phrase):
        calls.append((acronym, phrase))
        return real(acronym, phrase)

    monkeypatch.setattr(aliases, "acronym_matches", counting)
    counts = []
    for n in (40, 80, 160):
        d, expected = _programme_document(n)
        calls.clear()
        links = link_aliases(d)
        assert [(r.head, r.tail, r.label) for r in links] == [(h, t, "SAME_AS") for h, t in expected]
        counts.append(len(calls))
    assert counts[0] > 0 and counts[1] <= 2.5 * counts[0] and counts[2] <= 2.5 * counts[1], counts


def test_candidate_pairs_are_bounded_per_entity():
    """A "sentence" of thousands of mentions (a list with no punctuation) gives O(n) pairs, not O(n²)."""
    from defnlp.relations.candidates import MAX_PARTNERS, candidate_rows

    def pairs(n):
        text = " ".join(f"Ville{k}" for k in range(n))
        d, pos = Doc(text), 0
        for k in range(n):
            d.add_entity(pos, pos + len(f"Ville{k}"), "LOC")
            pos += len(f"Ville{k}") + 1
        return sum(1 for _ in candidate_rows(d, [(k, k + 1) for k in range(n)], None, ["PARTNER_OF"]))

    small, large = pairs(500), pairs(1000)
    assert small <= 2 * MAX_PARTNERS * 500 and large <= 2.1 * small


def test_relations_of_a_long_document_are_scored_in_chunks(tiny_re_dir, tiny_ner_dir):
    """Chunked scoring gives the one-pass relations, and every pair of a long document is scored
    (the old code stopped at 20,000 pairs, silently: nothing after the first part of a long text)."""
    from defnlp.doc import prepare_doc
    from defnlp.ner.decoding import decode_entities
    from defnlp.relations.model import predict_relations

    nlp = defnlp.load(tiny_ner_dir, relations=tiny_re_dir, device="cpu")
    text = "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024. Nexter delivered 12 Caesar guns to Ukraine in 2023.\n" * 30
    doc = prepare_doc(Doc(text))
    enc = next(nlp.engine.run([doc], hidden=True))
    doc.entities = decode_entities(nlp.ner.tagset, doc.text, enc.token_spans, enc.outputs["ner"])
    rel = nlp.relations
    with torch.inference_mode():
        one = predict_relations(rel.head, doc, torch.from_numpy(enc.hidden), enc.token_spans, rel.scheme, rel.threshold)
        chunked = predict_relations(rel.head, doc, torch.from_numpy(enc.hidden), enc.token_spans, rel.scheme, rel.threshold,
                                    chunk_pairs=16)
    assert [(r.head, r.tail, r.label) for r in one] == [(r.head, r.tail, r.label) for r in chunked]
    assert all(abs(a.score - b.score) < 1e-4 for a, b in zip(one, chunked))
    if one:  # relations are found all along the document, not only at its start
        assert max(doc.entities[r.head].start for r in one) > len(text) // 2


def test_typed_context_head_scores_chunks_like_the_whole_document():
    """With the typed context (block-local attention), a chunk of pairs sees whole blocks and
    every entity in them: the same probabilities as one pass over the document."""
    from defnlp.relations.model import RelationHead, pair_probabilities

    torch.manual_seed(0)
    n_ents = 120
    text = " ".join(f"Ville{k}" for k in range(n_ents))
    d, pos, spans = Doc(text), 0, []
    for k in range(n_ents):
        d.add_entity(pos, pos + len(f"Ville{k}"), "LOC" if k % 3 else "ORG")
        spans.append((pos, pos + len(f"Ville{k}")))
        pos += len(f"Ville{k}") + 1
    head = RelationHead(16, ["ORG", "LOC"], ["LOCATED_IN", "PARTNER_OF"], proj=16, mlp=16, context_layers=1, context_block=8).eval()
    hidden = torch.randn(len(spans), 16)
    scheme = load_scheme()
    with torch.inference_mode():
        whole = pair_probabilities(head, d, hidden, spans, scheme, min_probability=0.0)
        chunked = pair_probabilities(head, d, hidden, spans, scheme, min_probability=0.0, chunk_pairs=16)
        plain = pair_probabilities(RelationHead(16, ["ORG", "LOC"], ["LOCATED_IN", "PARTNER_OF"], proj=16, mlp=16).eval(),
                                   d, hidden, spans, scheme, min_probability=0.0)
    assert whole.keys() == chunked.keys() and len(whole) > 100
    assert max(abs(whole[k] - chunked[k]) for k in whole) < 1e-5
    assert whole != plain  # the context layer does change the scores


def test_decision_calibrates_and_thresholds_per_label():
    from defnlp.relations.decision import Decision, DevPair, decision_from_card, fit_decision
    import numpy as np

    rng = np.random.default_rng(0)
    pairs = []
    for label, bias in (("SIGNS", 0.0), ("LOCATED_IN", -0.3)):  # LOCATED_IN is over-confident by 0.3
        for p in rng.uniform(0.05, 0.95, 400):
            pairs.append(DevPair(label, float(p), bool(rng.uniform() < max(0.0, p + bias))))
    d = fit_decision(pairs, {"SIGNS": 200, "LOCATED_IN": 120})
    assert d.score("LOCATED_IN", 0.7) < d.score("SIGNS", 0.7)  # per-label calibration
    assert abs(d.score("SIGNS", 0.7) - 0.7) < 0.1 and abs(d.score("LOCATED_IN", 0.7) - 0.4) < 0.12
    again = decision_from_card({"decision": d.to_dict()}, "card")
    assert again == d and Decision().score("X", 0.3) == 0.3


def test_alias_links_carry_their_measured_precision_and_drop_under_the_threshold():
    from dataclasses import replace

    from defnlp.relations.decision import Decision, alias_precision, decision_from_card
    from defnlp.relations.model import LoadedRelations

    text = "La Direction générale de l'armement (DGA) a signé. La DGA commande."
    d = Doc(text)
    d.add_entity(3, 35, "ORG"), d.add_entity(37, 40, "ORG"), d.add_entity(54, 57, "ORG")

    class Head:
        relation_labels = ["SAME_AS", "LOCATED_IN"]

    def links(decision):
        return LoadedRelations(spec=None, head=Head(), scheme=None, path="", decision=decision).alias_links(d)

    old_card = decision_from_card({"threshold": 0.5}, "card")
    assert old_card.alias_score == 0.95 and [r.score for r in links(old_card)] == [0.95, 0.95]
    measured = replace(Decision(thresholds={"SAME_AS": 0.6}), alias_score=alias_precision(7, 10))
    assert [r.score for r in links(measured)] == [0.6667, 0.6667]
    assert decision_from_card({"decision": measured.to_dict()}, "card") == measured
    poor = replace(measured, alias_score=alias_precision(1, 20))  # 2 of 22: under the 0.6 threshold
    assert links(poor) == [] and not poor.keeps_aliases
    # training turned them off (under the model's own SAME_AS precision): not output, whatever the threshold
    off = replace(measured, alias_links=False)
    assert links(off) == [] and not off.keeps_aliases and off.to_dict()["alias_links"] is False
    assert decision_from_card({"decision": off.to_dict()}, "card") == off
    assert replace(measured, alias_links=True).keeps_aliases and "alias_links" not in measured.to_dict()
    with pytest.raises(ModelError, match="alias_links"):
        decision_from_card({"decision": {**measured.to_dict(), "alias_links": "yes"}}, "card")
    Head.relation_labels = ["LOCATED_IN"]
    assert links(old_card) == []


def test_training_decides_on_alias_links_against_the_models_own_same_as_precision(tiny_ner_dir, tiny_markup_file, tmp_path):
    """The fitted decision records whether the acronym/alias rule links are output: only where their
    dev precision reaches the model's own SAME_AS precision (a refit threshold alone is not enough)."""
    import json

    from defnlp.io.corpora import DataSource
    from defnlp.relations.decision import decision_from_card
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    data = [DataSource(format="markup", path=str(tiny_markup_file))]
    out = train_relations(RelationTrainingConfig(name="tiny-re", output=str(tmp_path / "re"), ner_model=str(tiny_ner_dir),
                                                 epochs=2, lr=5e-3, train=data, dev=data, proj=32, mlp=32, dropout=0.0,
                                                 calibrate=True))
    card = json.loads((out / "defnlp.json").read_text(encoding="utf-8"))
    decision = decision_from_card(card["head"], "card")
    record = card["training"]["decision"]["alias_links"]
    assert isinstance(decision.alias_links, bool) and 0.0 <= record["model_same_as_precision"] <= 1.0
    assert decision.alias_links == (decision.alias_score >= record["model_same_as_precision"])


# --- ensembles of heads ---------------------------------------------------------------------------
def test_ensemble_averages_its_heads_probabilities():
    from defnlp.relations.model import RelationEnsemble, RelationHead

    torch.manual_seed(0)
    heads = [RelationHead(16, ["ORG", "LOC"], ["LOCATED_IN", "PARTNER_OF"], proj=8, mlp=8).eval() for _ in range(3)]
    ensemble = RelationEnsemble(heads).eval()
    hidden, ranges, labels = torch.randn(10, 16), [(0, 2), (4, 6)], torch.tensor([0, 1])
    rows = torch.tensor([[0, 1, 2, 4, 1, 0], [1, 0, 2, 4, 1, 0]])
    with torch.inference_mode():
        want = torch.stack([torch.softmax(h(hidden, ranges, labels, rows), -1) for h in heads]).mean(0)
        got = torch.softmax(ensemble(hidden, ranges, labels, rows), -1)
    assert torch.allclose(got, want, atol=1e-6)
    with pytest.raises(ModelError, match="same labels"):
        RelationEnsemble([heads[0], RelationHead(16, ["ORG", "LOC"], ["LOCATED_IN"], proj=8, mlp=8)])
    with pytest.raises(ModelError, match="at least two"):
        RelationEnsemble(heads[:1])


@pytest.mark.parametrize("seeds", [[3], [3, 3], [1, "2"]])
def test_ensemble_seeds_are_validated(seeds, tiny_markup_file):
    from defnlp.errors import ConfigError
    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig

    cfg = RelationTrainingConfig(name="e", output="out", ner_model="m", seeds=seeds,
                                 train=[DataSource(format="markup", path=str(tiny_markup_file))])
    with pytest.raises(ConfigError, match="seeds"):
        cfg.validate()


def test_an_ensemble_trains_one_head_per_seed_resumes_and_loads(tmp_path, tiny_ner_dir, tiny_markup_file, caplog):
    """Each head is the single-seed run of the same config (same weights); a finished head is
    reused when the run starts again; the model loads as one and every card check holds."""
    import json
    import logging

    from safetensors.torch import load_file

    from defnlp.io.corpora import DataSource
    from defnlp.relations.model import RelationEnsemble
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    def config(output, **kw):
        return RelationTrainingConfig(name="ens", output=str(tmp_path / output), ner_model=str(tiny_ner_dir), epochs=3,
                                      lr=5e-3, train=[DataSource(format="markup", path=str(tiny_markup_file))],
                                      dev=[DataSource(format="markup", path=str(tiny_markup_file))], proj=16, mlp=16,
                                      docs_per_batch=2, **kw)

    started = time.perf_counter()
    out = train_relations(config("ens", seeds=[5, 6]))
    elapsed = time.perf_counter() - started
    weights = load_file(str(out / "weights.safetensors"))
    assert {k.split(".")[2] for k in weights} == {"0", "1"} and all(k.startswith("re.heads.") for k in weights)
    card = json.loads((out / "defnlp.json").read_text())
    assert card["head"]["ensemble"] == 2 and [m["seed"] for m in card["training"]["members"]] == [5, 6]
    assert all(m["best_epoch"] >= 1 and m["wall_seconds"] >= 0 for m in card["training"]["members"])
    # the run's wall time counts each head once: freshly trained heads are inside the run's own time
    assert sum(m["wall_seconds"] for m in card["training"]["members"]) - 0.2 <= card["training"]["wall_seconds"] <= elapsed + 0.1

    single = load_file(str(train_relations(config("single", seed=6, calibrate=False)) / "weights.safetensors"))
    assert all(torch.equal(single[k], weights[k.replace("re.", "re.heads.1.", 1)]) for k in single)

    member = tmp_path / "ens.checkpoint" / "seed-5" / "weights.safetensors"
    stamp = member.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="defnlp.training.relations"):
        again = train_relations(config("ens", seeds=[5, 6]))
    assert member.stat().st_mtime_ns == stamp and caplog.text.count("reused") == 2
    assert all(torch.equal(weights[k], v) for k, v in load_file(str(again / "weights.safetensors")).items())
    resumed = json.loads((again / "defnlp.json").read_text())["training"]  # reused heads bring their own time
    assert resumed["wall_seconds"] >= sum(m["wall_seconds"] for m in resumed["members"])

    nlp = defnlp.load(tiny_ner_dir, relations=out, device="cpu")
    assert isinstance(nlp.relations.head, RelationEnsemble)
    doc = nlp("La DGA a commandé des Rafale à Dassault Aviation à Paris.")
    assert all(0 <= r.score <= 1 for r in doc.relations)


@pytest.mark.parametrize("context_layers", [0, 1])
def test_inference_scores_pairs_like_training_without_dropout(context_layers):
    """In eval mode the first MLP layer is applied block by block (per entity, per token, per
    pair): the same logits as the concatenated features of the training path."""
    from defnlp.relations.model import RelationHead

    torch.manual_seed(0)
    head = RelationHead(32, ["ORG", "LOC", "PER"], ["LOCATED_IN", "PARTNER_OF", "HAS_ROLE"], proj=16, mlp=24,
                        dropout=0.3, context_layers=context_layers, context_block=8)
    hidden, ranges, labels = torch.randn(50, 32), [(0, 3), (5, 9), (12, 13), (20, 25), (30, 30)], torch.tensor([0, 1, 2, 0, 1])
    rows = torch.tensor([[i, j, min(ranges[i][1], ranges[j][1]), max(ranges[i][0], ranges[j][0]), (i + j) % 8, (i * j) % 3]
                         for i in range(5) for j in range(5) if i != j])
    with torch.inference_mode():
        fast = head.eval()(hidden, ranges, labels, rows)
        head.train()
        for module in head.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
            if isinstance(module, torch.nn.MultiheadAttention):  # its attention dropout is a float
                module.dropout = 0.0
        slow = head(hidden, ranges, labels, rows)
    assert fast.shape == slow.shape == (len(rows), 4)
    assert torch.allclose(fast, slow, atol=1e-5)
