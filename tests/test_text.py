import random

import pytest

from defnlp.errors import BinaryInputError, InputEncodingError
from defnlp.text import TITLE_ABBREVIATIONS, decode_bytes, detect_language, plan_windows, split_sentences

PRESS_RELEASE = """# Communiqué de presse
Paris, le 12 mars 2024

- Le ministre des Armées, M. Sébastien Lecornu, a reçu le Gen. Burkhard.
- Contact : presse@defense.gouv.fr, tél. 01.44.42.30.11.

Le contrat porte sur 42 VBMR Griffon... Il sera livré en 2025. Voir www.defense.gouv.fr pour plus d'informations. Le coût est de 3.5 Md€!
Hôtel de Brienne
14 rue Saint-Dominique
75007 Paris
The U.S. Army and J. Smith met at 10 a.m. in Washington. Then they left."""


def test_sentences_of_a_press_release():
    got = [PRESS_RELEASE[a:b] for a, b in split_sentences(PRESS_RELEASE)]
    assert got == [
        "# Communiqué de presse",
        "Paris, le 12 mars 2024",
        "- Le ministre des Armées, M. Sébastien Lecornu, a reçu le Gen. Burkhard.",
        "- Contact : presse@defense.gouv.fr, tél. 01.44.42.30.11.",
        "Le contrat porte sur 42 VBMR Griffon...",
        "Il sera livré en 2025.",
        "Voir www.defense.gouv.fr pour plus d'informations.",
        "Le coût est de 3.5 Md€!",
        "Hôtel de Brienne",
        "14 rue Saint-Dominique",
        "75007 Paris",
        "The U.S. Army and J. Smith met at 10 a.m. in Washington.",
        "Then they left.",
    ]


@pytest.mark.parametrize("title", sorted(TITLE_ABBREVIATIONS))
def test_no_sentence_ends_after_a_title_abbreviation(title):
    text = f"The unit was led by {title.capitalize()}. Martin Dupont. It left."
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == [f"The unit was led by {title.capitalize()}. Martin Dupont.", "It left."]


def test_ranks_of_a_us_release_stay_in_their_sentence():
    text = "Brig. Gen. Anne Moreau met Spc. John Doe and Pvt. Lee. Then Cmdr. Ray Holt left."
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["Brig. Gen. Anne Moreau met Spc. John Doe and Pvt. Lee.", "Then Cmdr. Ray Holt left."]


def test_sentences_cover_every_non_space_character():
    rng = random.Random(0)
    alphabet = "ab. \n!?«»U.S.-•#1é\t"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        spans = split_sentences(text)
        covered = set()
        last = 0
        for a, b in spans:
            assert last <= a < b <= len(text)
            assert not text[a].isspace() and not text[b - 1].isspace()
            covered.update(range(a, b))
            last = b
        assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Le ministre des Armées a signé une lettre d'intention avec la Belgique.", "fr"),
        ("The Minister of Defence signed a Letter of Intent with Belgium.", "en"),
        ("Der Minister hat den Vertrag mit der Bundeswehr unterzeichnet und ist nicht da.", "und"),
        ("El ministro de Defensa firmó el acuerdo con los aliados para la compra.", "und"),
        ("", "und"),
        ("12345 !!!", "und"),
    ],
)
def test_language_identification(text, lang):
    assert detect_language(text) == lang


def test_decode_bytes_handles_boms_and_rejects_bad_input():
    assert decode_bytes("é".encode("utf-8-sig")) == "é"
    assert decode_bytes("é".encode("utf-16")) == "é"
    assert decode_bytes(b"caf\xe9", encoding="cp1252") == "café"
    with pytest.raises(InputEncodingError, match="byte 3"):
        decode_bytes(b"caf\xe9 au lait")
    with pytest.raises(BinaryInputError):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_windows_partition_tokens():
    rng = random.Random(1)
    for _ in range(500):
        n = rng.randint(1, 5000)
        max_tokens = rng.randint(2, 600)
        starts = sorted(rng.sample(range(n), min(n, rng.randint(0, 60))))
        windows = plan_windows(n, max_tokens, rng.randint(0, 64), starts)
        assert windows[0].own_start == 0 and windows[-1].own_end == n
        for a, b in zip(windows, windows[1:]):
            assert a.own_end == b.own_start
        for w in windows:
            assert w.start <= w.own_start <= w.own_end <= w.end and len(w) <= max_tokens


def test_windows_end_on_sentence_starts_when_possible():
    windows = plan_windows(1000, 100, 10, sentence_starts=list(range(0, 1000, 30)))
    assert all(w.end % 30 == 0 or w.end == 1000 for w in windows)


def test_windows_on_a_200k_character_document_keep_exact_offsets(tiny_encoder):
    """Tokenize a 200k-character document through the engine: windows cover every token."""
    from defnlp.doc import Doc, prepare_doc
    from defnlp.inference import Engine, Runtime
    from defnlp.ner.tagging import make_units

    sentence = "Le ministre des Armées a rencontré son homologue belge à Bruxelles le 3 mars. "
    text = (sentence * (200_000 // len(sentence) + 1))[:200_000]
    engine = Engine(tiny_encoder.model, tiny_encoder.tokenizer, [], Runtime.create(device="cpu"), max_tokens=128, overlap=16)
    (enc,) = engine.prepare([prepare_doc(Doc(text))])
    assert len(text) == 200_000 and enc.n_tokens > 30_000
    owned = sum(w.own_end - w.own_start for w in enc.windows)
    assert owned == enc.n_tokens
    assert max(len(w) for w in enc.windows) <= 128
    # token spans are exact and ordered; units (words) point inside the text
    for (a, b), (c, d) in zip(enc.token_spans, enc.token_spans[1:]):
        assert a <= b <= c <= d <= len(text)
    units = make_units(text, enc.token_spans)
    assert units[-1].end == len(text)
    assert text[units[0].start : units[0].end] == "Le"


def test_sentence_splitting_is_linear_on_long_dotted_runs():
    """A 100k-character run of "a.a.a." took a minute (a regex search over the whole word at each
    candidate boundary: quadratic); abbreviations are still recognised from their last letters."""
    import time

    text = "a." * 50_000 + "a1. Next one."
    start = time.process_time()
    spans = split_sentences(text)
    assert time.process_time() - start < 5
    assert [text[a:b] for a, b in spans][1] == "Next one."
    t = "Visit the U.S. Army base. Then x.U.S. Navy."
    assert [t[a:b] for a, b in split_sentences(t)] == ["Visit the U.S. Army base.", "Then x.U.S. Navy."]
