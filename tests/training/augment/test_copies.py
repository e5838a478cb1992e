"""Augmented copies (defnlp/training/augment/copies.py, augment_docs): every annotation kept, determinism,
overlapping entities, robustness, training configurations."""

from __future__ import annotations

import copy
import logging
import random

from defnlp.doc import Doc
from defnlp.training.augment import LAYOUT_TRANSFORMS, AugmentSettings, augment_docs
from tests.training.augment.checks import ALL_ON, nested_doc, check_all, norm


# ---- properties over the project's examples ------------------------------------------------------
def test_default_settings_keep_every_annotation(examples, gazetteer):
    before = [d.to_dict() for d in examples]
    new = augment_docs(examples, AugmentSettings(copies=2), seed=3, gazetteer=gazetteer)
    assert [d.to_dict() for d in examples] == before  # the originals are not touched
    assert len(new) >= 0.95 * 2 * len(examples)
    assert {d.id for d in new} >= {f"{examples[0].id}#aug1", f"{examples[0].id}#aug2"}
    check_all(examples, new)
    fired = {name for d in new for name in d.meta["augmented"]}
    assert fired == {*LAYOUT_TRANSFORMS, "replace"}


def test_everything_at_once(sample, gazetteer):
    new = augment_docs(sample, AugmentSettings(**ALL_ON), seed=5, gazetteer=gazetteer)
    assert len(new) == len(sample)
    check_all(sample, new)


def test_deterministic_for_a_seed_and_different_for_another(sample, gazetteer):
    settings = AugmentSettings(copies=2)
    a = augment_docs(sample, settings, seed=1, gazetteer=gazetteer)
    b = augment_docs(sample, settings, seed=1, gazetteer=gazetteer)
    c = augment_docs(sample, settings, seed=2, gazetteer=gazetteer)
    assert [d.to_dict() for d in a] == [d.to_dict() for d in b]
    assert sum(x.text != y.text for x, y in zip(a, c)) > 0.5 * len(a)
    # each document has its own generator: the order of the documents does not matter
    r = augment_docs(sample[::-1], settings, seed=1, gazetteer=gazetteer)
    assert sorted((d.id, d.text) for d in r) == sorted((d.id, d.text) for d in a)


# ---- documents with overlapping entities (re3d-style) ----------------------------------------------------
def test_overlapping_entities_never_break(gazetteer):
    doc = nested_doc()
    for seed in range(30):
        new = augment_docs([doc], AugmentSettings(**ALL_ON, copies=2), seed=seed, gazetteer=gazetteer)
        check_all([doc], new)
        for d in new:
            replaced = {i for i, _, _ in d.meta.get("replacements", [])}
            assert not replaced & {0, 1, 2, 5, 6, 7}  # entities in an overlap are never swapped
            (s, e), = d.meta["ignore_spans"]
            assert norm(d.text[s:e]) == "convoy"


def _random_doc(rng: random.Random, n: int) -> Doc:
    """Random words, punctuation, paragraphs and line breaks; entities at word boundaries, some nested."""
    words = "la DGA commande des Griffon opération l'Allemagne Brest flanc effort Toulon the Ministry of Defence".split()
    parts, pos, spans = [], 0, []
    for _ in range(rng.randint(1, 60)):
        w = rng.choice(words)
        sep = rng.choice([" ", " ", " ", ". ", ", ", "\n", "\n\n", "  "])
        parts.append(w + sep)
        spans.append((pos, pos + len(w)))
        pos += len(w) + len(sep)
    text = "".join(parts).rstrip() + rng.choice(["", ".", "\n"])
    doc = Doc(text, id=f"r{n}", lang=rng.choice(["fr", "en", None]))
    for _ in range(rng.randint(0, 8)):
        i = rng.randrange(len(spans))
        j = min(len(spans) - 1, i + rng.choice([0, 0, 1, 2]))
        a, b = spans[i][0], min(spans[j][1], len(text))
        if a < b and "\n\n" not in text[a:b]:
            doc.add_entity(a, b, rng.choice(["LOC", "ORG", "PLATFORM", "PER", "NAT"]))
    for _ in range(rng.randint(0, 3)):
        if len(doc.entities) >= 2:
            doc.add_relation(rng.randrange(len(doc.entities)), rng.randrange(len(doc.entities)), "SAME_AS")
    return doc


def test_random_documents_never_fail(gazetteer, caplog):
    rng = random.Random(0)
    docs = [_random_doc(rng, n) for n in range(80)]
    for settings in (AugmentSettings(**ALL_ON, copies=2), AugmentSettings(copies=2)):
        with caplog.at_level(logging.WARNING, logger="defnlp.training.augment"):
            new = augment_docs(docs, settings, seed=1, gazetteer=gazetteer)
        assert "skipped" not in caplog.text
        check_all(docs, new)
        assert len(new) >= 0.9 * 2 * len(docs)


def test_malformed_document_is_skipped(caplog):
    doc = Doc("Brest", id="bad", lang="fr")
    doc.entities.append(copy.copy(nested_doc().entities[0]))  # offsets beyond the text
    with caplog.at_level(logging.WARNING, logger="defnlp.training.augment"):
        assert augment_docs([doc, Doc("")], AugmentSettings.only("header"), seed=1) == []
    assert "bad" in caplog.text


def test_a_training_config_adds_copies_for_augmented_sources_only(tmp_path):
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig

    markup = tmp_path / "docs.md"
    markup.write_text(
        "=== doc: a | lang: fr\nLa [DGA]{ORG} a commandé [42]{QUANTITY} [Griffon]{PLATFORM} à [Paris]{LOC}.\n"
        "=== doc: b | lang: en\nThe [UK]{LOC} ordered [12]{QUANTITY} [Typhoon]{PLATFORM} jets in [2025]{DATE}.\n",
        encoding="utf-8",
    )
    plain = DataSource(format="markup", path=str(markup), sample=2.0)
    cfg = NerTrainingConfig(name="t", output=str(tmp_path / "out"), train=[plain],
                            augment=AugmentSettings(copies=3, gazetteers=False, terminology=False))
    assert len(cfg.load_train_docs()) == 4
    cfg.train = [DataSource(format="markup", path=str(markup), sample=2.0, augment=True)]
    docs = cfg.load_train_docs()
    copies = [d for d in docs if "#aug" in d.id]
    assert len(docs) - len(copies) == 4  # the originals, repeated by sample
    assert 1 <= len(copies) <= 6 and len({d.id for d in copies}) == len(copies)  # copies of distinct documents
    assert [d.text for d in cfg.load_train_docs()] == [d.text for d in docs]  # deterministic
