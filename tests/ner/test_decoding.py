"""NER decoding and layout: no entity crosses a block; joined words are one unit; exact offsets."""

import re

import numpy as np
import pytest

from defnlp.doc import Doc, prepare_doc
from defnlp.layout import blocks, hyphen_joins
from defnlp.ner.decoding import decode_entities, no_end_units, trim_punctuation
from defnlp.ner.tagging import make_units
from defnlp.tags import TagSet

TAGS = TagSet(["PER", "ORG", "ROLE", "LOC"])

PRESS_RELEASE = (
    "COMMUNIQUÉ DE PRESSE\n"
    "Paris, le 3 mars 2025\n"
    "\n"
    "La Direction générale de l'armement a notifié à KNDS France un contrat opéra-\n"
    "tionnel portant sur 42 véhicules Griffon destinés à l'armée de Terre, signé par le\n"
    "général Pierre Schill à Satory.\n"
    "\n"
    "Contact presse\n"
    "Claire Dumont\n"
    "Chargée de communication\n"
    "Direction générale de l'armement\n"
    "60 boulevard du Général Martial Valin\n"
    "75015 Paris\n"
    "claire.dumont@intradef.gouv.fr\n"
    "+33 1 23 45 67 89\n"
)


def word_log_probs(spans, wants):
    """Per-token log-probs where each token prefers the tag ``wants(i)`` (0.7), the rest shared."""
    k = len(TAGS)
    out = np.full((len(spans), k), np.log(0.3 / (k - 1)))
    for i in range(len(spans)):
        out[i, wants(i)] = np.log(0.7)
    return out


def test_an_entity_never_runs_into_the_next_block():
    text = "Claire Dumont\nChargée de communication\n\nLa DGA."
    spans = [(0, 6), (7, 13), (14, 21), (22, 24), (25, 38), (40, 42), (43, 46), (46, 47)]
    # the model wants one PER from "Claire" to "communication" (I-PER on the title line)
    wants = [TAGS.begin_id("PER")] + [TAGS.inside_id("PER")] * 4 + [0, TAGS.begin_id("ORG"), 0]
    ents = decode_entities(TAGS, text, spans, word_log_probs(spans, wants.__getitem__))
    assert [(e.text, e.label) for e in ents] == [("Claire Dumont", "PER"), ("Chargée de communication", "PER"), ("DGA", "ORG")]
    # without the line break it would be one entity
    flat = text.replace("\n", " ", 1)
    ents = decode_entities(TAGS, flat, spans, word_log_probs(spans, wants.__getitem__))
    assert [(e.text, e.label) for e in ents][0] == ("Claire Dumont Chargée de communication", "PER")


def test_the_block_constraint_is_part_of_the_viterbi():
    """Not a cut after decoding: the best sequence among those with no I- at a block start."""
    ts = TagSet(["ORG"])  # O, B-ORG, I-ORG
    text = "Thales\nCommunications"
    spans = [(0, 6), (7, 21)]
    lp = np.log(np.array([[0.1, 0.8, 0.1], [0.3, 0.05, 0.65]]))
    # on one line: one ORG over both words
    assert [e.text for e in decode_entities(ts, text.replace("\n", " "), spans, lp)] == ["Thales Communications"]
    # on two lines: I-ORG is not allowed on "Communications", and O beats B-ORG there
    assert [e.text for e in decode_entities(ts, text, spans, lp)] == ["Thales"]


def test_an_entity_never_ends_on_a_function_word():
    """``Parquet de`` | ``la ville``: the entity stops before ``de``; ``arrondissement de`` | ``Paris``
    (B- on Paris): carried on to ``Paris`` when the scores prefer it — one entity, never ``... de``."""
    ts = TagSet(["ORG", "LOC"])  # O, B-ORG, I-ORG, B-LOC, I-LOC
    text = "Le Parquet de la ville"
    spans = [(0, 2), (3, 10), (11, 13), (14, 16), (17, 22)]
    lp = np.log(np.array([[0.9, 0.05, 0.01, 0.03, 0.01], [0.1, 0.8, 0.04, 0.05, 0.01], [0.3, 0.01, 0.65, 0.02, 0.02],
                          [0.9, 0.02, 0.04, 0.02, 0.02], [0.9, 0.02, 0.04, 0.02, 0.02]]))
    assert [e.text for e in decode_entities(ts, text, spans, lp)] == ["Parquet"]
    text = "le 19e arrondissement de Paris"
    spans = [(0, 2), (3, 6), (7, 21), (22, 24), (25, 30)]
    lp = np.log(np.array([[0.9, 0.02, 0.02, 0.04, 0.02], [0.1, 0.02, 0.02, 0.8, 0.06], [0.1, 0.02, 0.02, 0.06, 0.8],
                          [0.3, 0.02, 0.02, 0.01, 0.65], [0.1, 0.02, 0.02, 0.5, 0.36]]))
    assert [e.text for e in decode_entities(ts, text, spans, lp)] == ["19e arrondissement de Paris"]


def test_function_words_are_found_only_as_words_of_their_own():
    def held(text):
        units = make_units(text, [(a, b) for a, b in _token_spans(text)])
        return [text[units[i].start:units[i].end] for i in no_end_units(text, units)]

    assert held("Ministry of Defence and the Army") == ["of", "and", "the"]
    assert held("Hapoel Beit She'an, Ilocos Sur, TNI AU") == []          # inside a word, or capitalised
    assert held("l'armée d'Ansar (de Gaulle)") == ["l", "'", "d", "'", "de"]


def test_punctuation_glued_to_a_unit_stays_out_of_the_entity():
    """The tokenizer's ``▁(3`` ``7,5`` ``▁%)`` make the units ``(37,5`` and ``%)``: the entity the
    model tags over them is ``37,5 %``, and a year glued to its period (``▁1994.``) is ``1994``."""
    ts = TagSet(["QUANTITY", "DATE"])  # O, B-Q, I-Q, B-D, I-D
    text = "Airbus (37,5 %), en 1994. Fin"
    spans = [(0, 6), (7, 9), (9, 12), (13, 15), (15, 16), (17, 19), (20, 25), (26, 29)]
    wants = [0, 1, 2, 2, 0, 0, 3, 0]  # B-Q on "(3", I-Q on "7,5" and "%)", B-D on "1994."
    lp = np.log(np.where(np.eye(5)[wants] > 0, 0.8, 0.05))
    assert [(e.text, e.label, e.start) for e in decode_entities(ts, text, spans, lp)] == [
        ("37,5 %", "QUANTITY", 8), ("1994", "DATE", 20)]


@pytest.mark.parametrize("span, kept", [
    ("(37,5 %)", "37,5 %"), ("(2024", "2024"), ("%)", "%"), ("2016,", "2016"), ("Type 26;", "Type 26"),
    ("1994.", "1994"), ("Navy.", "Navy"), ("«Rafale»", "Rafale"), ('"Tigre"', "Tigre"), ("(HMS Dragon (D35))", "HMS Dragon (D35)"),
    # what gold entities hold: brackets in pairs, abbreviations and initials with their period
    ("Bretagne (D655)", "Bretagne (D655)"), ("[2026] EWHC 2591 (Admin)", "[2026] EWHC 2591 (Admin)"), ("Staff Sgt.", "Staff Sgt."),
    ("Ltd.", "Ltd."), ("U.S.", "U.S."), ("William L .", "William L ."), ("€5 billion", "€5 billion"), ("5 %", "5 %"),
    ("(1) and (2)", "(1) and (2)"), (",", ""),
])
def test_trim_punctuation_keeps_what_gold_entities_hold(span, kept):
    text = f"x {span} y"
    a, b = trim_punctuation(text, 2, 2 + len(span))
    assert text[a:b] == kept


def _token_spans(text):
    from defnlp.words import word_spans

    return word_spans(text, mode="atom")


def test_a_word_hyphenated_across_a_line_break_is_one_unit():
    text = "un contrat opéra-\n  tionnel signé"
    joins = hyphen_joins(text)
    spans = [(0, 2), (3, 10), (11, 15), (15, 22), (22, 27), (28, 33)]  # "opér" | "a-\n  ti" | "onnel"
    units = make_units(text, spans, joins=joins)
    assert [text[u.start : u.end] for u in units] == ["un", "contrat", "opéra-\n  tionnel", "signé"]
    assert [u.token for u in units] == [0, 1, 2, 5]
    wants = [0, TAGS.begin_id("ORG"), TAGS.inside_id("ORG"), TAGS.inside_id("ORG"), TAGS.inside_id("ORG"), 0]
    (ent,) = decode_entities(TAGS, text, spans, word_log_probs(spans, wants.__getitem__))
    assert (ent.start, ent.end, ent.text) == (3, 27, "contrat opéra-\n  tionnel")


def test_every_token_wanting_to_continue_an_entity_gives_one_entity_per_block(tiny_nlp):
    """Real token spans from the engine; synthetic outputs that never want to stop an ORG."""
    (enc,) = tiny_nlp.engine.prepare([prepare_doc(Doc(PRESS_RELEASE))])
    tagset = tiny_nlp.ner.tagset
    k = len(tagset)
    lp = np.full((enc.n_tokens, k), np.log(0.01 / (k - 2)))
    lp[:, tagset.begin_id("ORG")] = np.log(0.3)
    lp[:, tagset.inside_id("ORG")] = np.log(0.69)
    ents = decode_entities(tagset, PRESS_RELEASE, enc.token_spans, lp)
    # one entity per block, less the punctuation no entity ends on (the period of a sentence)
    assert [(e.start, e.end) for e in ents] == [trim_punctuation(PRESS_RELEASE, a, b) for a, b in blocks(PRESS_RELEASE)]
    assert [e.text for e in ents][:3] == [
        "COMMUNIQUÉ DE PRESSE",
        "Paris, le 3 mars 2025",
        "La Direction générale de l'armement a notifié à KNDS France un contrat opéra-\n"
        "tionnel portant sur 42 véhicules Griffon destinés à l'armée de Terre, signé par le\n"
        "général Pierre Schill à Satory",
    ]
    assert "60 boulevard du Général Martial Valin" in [e.text for e in ents]


LAYOUT_DOCS = [
    PRESS_RELEASE,
    PRESS_RELEASE.replace("\n", "\r\n"),
    "Le ministre des Armées, Claire Dumont, a visité Brest avec la DGA et Thales Communi-\ncations le 3 mars 2024.\n\n"
    "- La DGA a commandé 42 Griffon à KNDS.\n- Nexter delivered 12 Caesar guns to Ukraine in 2023.\n"
    "John Carter\nMinister of Defence\nToulon\n\n\nThales\nKNDS",
    "Jean Dupont\nDGA\n" * 40,
]


@pytest.mark.parametrize("text", LAYOUT_DOCS)
def test_tiny_model_entities_stay_inside_blocks_with_exact_offsets(tiny_nlp, text):
    doc = tiny_nlp(text)
    spans = blocks(text)
    for e in doc.entities:
        assert text[e.start : e.end] == e.text
        assert any(a <= e.start and e.end <= b for a, b in spans), (e, spans)
        assert "\n\n" not in e.text.replace("\r", "")
    # a joined word is never cut: an entity covers all of it or none of it
    for s, t in hyphen_joins(text):
        ws = re.search(r"[^\W\d_]+$", text[:s]).start()
        we = re.match(r"[^\W\d_]+", text[t:]).end() + t
        for e in doc.entities:
            assert e.end <= ws or e.start >= we or (e.start <= ws and e.end >= we), (e, text[ws:we])


def test_pipeline_results_with_and_without_line_breaks_inside_one_block_agree_on_offsets(tiny_nlp):
    text = "La DGA a notifié à KNDS France un contrat portant sur 42 véhicules Griffon destinés à\nl'armée de Terre."
    doc = tiny_nlp(text)
    assert all(text[e.start : e.end] == e.text for e in doc.entities)
    assert blocks(text) == [(0, len(text))]


def test_decoding_takes_the_joins_it_is_given(monkeypatch):
    """With ``joins`` given, decode_entities uses them (the engine's, computed once) and finds none itself."""
    from defnlp.ner import decoding

    text = "un contrat opéra-\n  tionnel signé"
    spans = [(0, 2), (3, 10), (11, 15), (15, 22), (22, 27), (28, 33)]
    wants = [0, TAGS.begin_id("ORG"), TAGS.inside_id("ORG"), TAGS.inside_id("ORG"), TAGS.inside_id("ORG"), 0]
    lp = word_log_probs(spans, wants.__getitem__)
    found = decode_entities(TAGS, text, spans, lp)
    given = decode_entities(TAGS, text, spans, lp, joins=hyphen_joins(text))
    assert given == found and [e.text for e in given] == ["contrat opéra-\n  tionnel"]
    seen = []
    monkeypatch.setattr(decoding, "hyphen_joins", lambda t: seen.append(t) or hyphen_joins(t))
    monkeypatch.setattr(decoding, "make_units", lambda *a, joins: seen.append(joins) or make_units(*a, joins=joins))
    decode_entities(TAGS, text, spans, lp, joins=[(16, 20)])
    assert seen == [[(16, 20)]]  # used as given, not found again
    decode_entities(TAGS, text, spans, lp)
    assert seen[1:] == [text, [(16, 20)]]  # None: found in the text


def test_training_predictions_decode_with_the_engines_joins(tiny_ner_dir, monkeypatch):
    """predict_docs (dev evaluation during training) hands the engine's joins to decode_entities."""
    from defnlp.ner import decoding
    from defnlp.ner.model import NerModel, load_ner
    from defnlp.training.dev_scoring import predict_docs

    loaded = load_ner(str(tiny_ner_dir))
    model, tok = NerModel(loaded.encoder.model, loaded.head), loaded.encoder.tokenizer
    docs = [Doc("La DGA a notifié un contrat opéra-\ntionnel à KNDS France."), Doc("Nexter delivered 12 guns.")]
    expected = [d.entities for d in predict_docs(model, tok, loaded.tagset, docs, 254, 32)]

    def no_second_pass(text):
        raise AssertionError("hyphen_joins ran again")

    monkeypatch.setattr(decoding, "hyphen_joins", no_second_pass)
    got = [d.entities for d in predict_docs(model, tok, loaded.tagset, docs, 254, 32)]
    assert got == expected
