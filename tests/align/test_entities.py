"""Entity alignment of annotated FR/EN Docs (lexicon, strings, word votes, calibrated link model), without models."""

from pathlib import Path

import numpy as np
import pytest

from defnlp import Doc
from defnlp.align.entities import (FEATURES, EntityAligner, align_entities, entity_of, fit_link_calibration, gold_links,
                                   load_link_calibration, variant_features)
from defnlp.align.lexicon import fold, is_acronym_of, load_lexicon, string_similarity
from defnlp.words import split_words
from defnlp.align.words import WordAlignment, WordLink
from defnlp.errors import ConfigError

DICTIONARY = {("corse", "corsica"), ("ministre", "minister"), ("armees", "armed"), ("a", "has"),
              ("signe", "signed"), ("lettre", "letter"), ("intention", "intent"), ("otan", "nato"), ("la", "the")}


class DictWordAligner:
    """A stand-in word aligner: links identical words and the pairs of a small dictionary (either direction)."""

    def align_batch(self, pairs, src_lang=None, tgt_lang=None):
        out = []
        for src, tgt in pairs:
            sw, tw = split_words(src), split_words(tgt)
            links, used = [], set()
            for i, s in enumerate(sw):
                for j, t in enumerate(tw):
                    a, b = fold(s.text), fold(t.text)
                    if j not in used and (a == b or (a, b) in DICTIONARY or (b, a) in DICTIONARY):
                        links.append(WordLink(i, j, 0.9))
                        used.add(j)
                        break
            out.append(WordAlignment(src, tgt, sw, tw, links))
        return out


def annotate(text, lang, mentions):
    doc = Doc(text, lang=lang)
    start = 0
    for surface, label in mentions:
        k = text.index(surface, start)
        doc.add_entity(k, k + len(surface), label)
        start = k + 1
    return doc


FR = annotate("Sébastien Lecornu a signé la lettre d'intention avec l'OTAN en Corse.", "fr",
              [("Sébastien Lecornu", "PER"), ("lettre d'intention", "DOCUMENT"), ("OTAN", "ORG"), ("Corse", "LOC")])
EN = annotate("Sébastien Lecornu signed the Letter of Intent with NATO in Corsica.", "en",
              [("Sébastien Lecornu", "PER"), ("Letter of Intent", "DOCUMENT"), ("NATO", "ORG"), ("Corsica", "LOC")])


def pairs(links, fr=FR, en=EN):
    return {(fr.entities[l.fr].text, en.entities[l.en].text) for l in links}


def test_lexicon_and_strings_link_comparable_documents():
    links = align_entities(FR, EN, mode="comparable", use_embeddings=False)
    assert pairs(links) == {("Sébastien Lecornu", "Sébastien Lecornu"), ("lettre d'intention", "Letter of Intent"),
                            ("OTAN", "NATO"), ("Corse", "Corsica")}
    assert all(0.5 <= l.score <= 1.0 for l in links)


def test_word_votes_link_parallel_sentences():
    aligner = EntityAligner(word_aligner=DictWordAligner(), lexicon=load_lexicon(include_terminology=False).__class__(),
                            use_embeddings=False)  # an empty lexicon: only words and strings
    links = aligner.align(FR, EN)
    evidence = {(FR.entities[l.fr].text, l.evidence) for l in links}
    assert ("Corse", "words") in evidence and ("OTAN", "words") in evidence
    assert len(links) == 4


def test_incompatible_labels_are_never_linked():
    en = annotate("NATO met in Corsica.", "en", [("NATO", "PER"), ("Corsica", "LOC")])
    links = align_entities(FR, en, mode="comparable", use_embeddings=False)
    assert pairs(links, en=en) == {("Corse", "Corsica")}


def test_links_are_one_to_one_and_repeated_mentions_pair_by_position():
    fr = annotate("Lecornu parle. Puis Lecornu signe.", "fr", [("Lecornu", "PER"), ("Lecornu", "PER")])
    en = annotate("Lecornu speaks. Then Lecornu signs.", "en", [("Lecornu", "PER"), ("Lecornu", "PER")])
    links = align_entities(fr, en, mode="comparable", use_embeddings=False)
    assert sorted((l.fr, l.en) for l in links) == [(0, 0), (1, 1)]


def test_threshold_and_empty_documents():
    assert align_entities(FR, EN, mode="comparable", use_embeddings=False, threshold=1.01) == []
    assert align_entities(Doc("rien", lang="fr"), EN, mode="comparable", use_embeddings=False) == []
    with pytest.raises(ConfigError):
        EntityAligner(mode="loose")


def test_string_measures():
    assert string_similarity("Sébastien LECORNU", "Sebastien Lecornu") == 1.0
    assert is_acronym_of("NATO", "North Atlantic Treaty Organization")
    assert not is_acronym_of("Nato", "North Atlantic Treaty Organization")
    assert string_similarity("Brest", "Toulon") < 0.5
    assert fold("L’Armée de Terre") == "armee de terre"


def test_official_terminology_is_read_from_the_data_directory():
    lexicon = load_lexicon()
    if len(lexicon.sources) == 1:
        pytest.skip("no data directory with fr_defence_terminology")
    assert lexicon.translates("guerre électronique", "electronic warfare")
    assert lexicon.translates("ASTOR", "Airborne stand-off radar")


ROOT = Path(__file__).resolve().parents[2]


class SameVectorEmbedder:
    """An adversarial embedder: every mention gets the same vector (cosine 1.0 for any two cities)."""

    name = "same"

    def encode(self, texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0


def test_scores_are_probabilities_and_incompatible_labels_never_link():
    fr = annotate("Paris et Paris.", "fr", [("Paris", "PER"), ("Paris", "LOC")])
    en = annotate("Paris.", "en", [("Paris", "DATE")])
    assert align_entities(fr, en, mode="comparable", embedder=SameVectorEmbedder()) == []
    aligner = EntityAligner(mode="comparable", embedder=SameVectorEmbedder())
    p, _ = aligner.probabilities(aligner.features(FR, EN))
    assert ((p >= 0) & (p <= 1)).all()
    assert p[0, 3] == 0.0  # PER x LOC: never a candidate
    for link in align_entities(FR, EN, mode="comparable", embedder=SameVectorEmbedder()):
        assert 0.5 <= link.score < 1.0


def test_paris_brussels_scores_low_even_when_embeddings_call_all_cities_alike():
    # the dateline trap of examples/texts/communique-camo-fr.txt / press-release-camo-en.txt
    fr = annotate("Paris, le 14 octobre 2025 – Le ministre a signé à Bruxelles une lettre d'intention.", "fr",
                  [("Paris", "LOC"), ("14 octobre 2025", "DATE"), ("ministre", "ROLE"), ("Bruxelles", "LOC"),
                   ("lettre d'intention", "DOCUMENT")])
    en = annotate("Brussels, 14 October 2025 – The minister signed a Letter of Intent in Brussels.", "en",
                  [("Brussels", "LOC"), ("14 October 2025", "DATE"), ("minister", "ROLE"), ("Letter of Intent", "DOCUMENT"),
                   ("Brussels", "LOC")])
    aligner = EntityAligner(mode="comparable", embedder=SameVectorEmbedder())
    p, _ = aligner.probabilities(aligner.features(fr, en))
    assert p[0, 0] < 0.3 and p[0, 4] < 0.3  # Paris <-> Brussels
    assert p[3, 0] > 0.8 and p[1, 1] > 0.5  # Bruxelles <-> Brussels, the date
    links = aligner.align(fr, en)
    assert all(fr.entities[l.fr].text != "Paris" for l in links)
    # the second "Brussels" joins the first one's link (many-to-one)
    assert {(l.fr, l.en) for l in links} >= {(3, 0), (3, 4)}


def test_a_name_and_its_short_form_both_link_to_one_mention():
    fr = annotate("La Direction générale de l'armement (DGA) a commandé des Griffon. La DGA précise.", "fr",
                  [("Direction générale de l'armement", "ORG"), ("DGA", "ORG"), ("Griffon", "PLATFORM"), ("DGA", "ORG")])
    en = annotate("The DGA ordered Griffon vehicles.", "en", [("DGA", "ORG"), ("Griffon", "PLATFORM")])
    links = align_entities(fr, en, mode="comparable", use_embeddings=False)
    assert {(l.fr, l.en) for l in links} == {(0, 0), (1, 0), (2, 1), (3, 0)}
    assert sum(l.many_to_one for l in links) == 2
    assert align_entities(fr, en, mode="comparable", use_embeddings=False, extra_threshold=None).__len__() == 2


def test_stored_calibration_loads_and_its_strings_variant_is_what_the_fit_gives():
    cal = load_link_calibration()
    assert set(cal.variants) == {"words+embeddings", "words", "embeddings", "strings"}
    for name, coef in cal.variants.items():
        assert set(coef) <= set(FEATURES) and "bias" in coef
    assert set(cal.variants["strings"]) == set(variant_features(False, False))
    # the model-free variant is refitted here on the same train pairs (the others need the encoders)
    from defnlp.io.markup import read_markup_files

    if len(load_lexicon().sources) == 1:
        pytest.skip("fitted with the official terminology of the data directory, which is not here")

    docs = read_markup_files([ROOT / "data" / "examples"])
    by_pair = {}
    for d in docs:
        by_pair.setdefault(d.meta["pair"], {})[d.lang] = d
    # the pairs it was fitted on (examples added since then wait for the next refit)
    train = [(by_pair[p]["fr"], by_pair[p]["en"]) for p in cal.meta["train_pairs"]]
    aligner = EntityAligner(use_words=False, use_embeddings=False, calibration=cal)
    refit = fit_link_calibration(train, aligner, variants=[(False, False)])
    for feature, value in cal.variants["strings"].items():
        assert refit.variants["strings"][feature] == pytest.approx(value, abs=2e-3), feature


def test_gold_links_and_entity_ids():
    fr = annotate("La DGA et la DGA.", "fr", [("DGA", "ORG"), ("DGA", "ORG")])
    en = annotate("The DGA.", "en", [("DGA", "ORG")])
    fr.meta["refs"], en.meta["refs"] = {"o2": 0, "o2b": 1}, {"o2b": 0}
    mentions, same = gold_links(fr, en)
    assert mentions == {(1, 0)} and same.tolist() == [[True], [True]]
    assert entity_of("o2c") == "o2" and entity_of("q10") == "q10"


def test_comparable_pairs_are_a_test_set_never_trained_on():
    from defnlp.io.markup import read_markup_files

    docs = read_markup_files([ROOT / "data" / "comparable"])
    assert len(docs) >= 20 and {d.meta["split"] for d in docs} == {"test"}
    pairs = {}
    for d in docs:
        pairs.setdefault(d.meta["pair"], set()).add(d.lang)
    assert all(langs == {"fr", "en"} for langs in pairs.values())
    for config in (ROOT / "configs").rglob("*.toml"):
        assert "comparable" not in config.read_text(encoding="utf-8"), config
