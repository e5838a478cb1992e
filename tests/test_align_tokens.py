"""Word tokenisation with offsets for alignment."""

from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.align.tokens import split_words, words_from_tokens


def texts(words):
    return [w.text for w in words]


def test_french_elisions_are_separate_words():
    assert texts(split_words("L'OTAN, qu'il s'agisse de l’A400M jusqu'à Brest")) == [
        "L'", "OTAN", ",", "qu'", "il", "s'", "agisse", "de", "l’", "A400M", "jusqu'", "à", "Brest",
    ]


def test_lexicalised_apostrophes_stay_whole():
    assert texts(split_words("aujourd'hui, quelqu'un, presqu'île")) == ["aujourd'hui", ",", "quelqu'un", ",", "presqu'île"]


def test_english_clitics_are_split():
    assert texts(split_words("NATO's tanks didn't move.")) == ["NATO", "'s", "tanks", "did", "n't", "move", "."]


def test_numbers_acronyms_compounds_and_addresses():
    words = texts(split_words("The U.S. sent 3.5 bn to porte-avions https://www.defense.gouv.fr/a."))
    assert words == ["The", "U.S.", "sent", "3.5", "bn", "to", "porte-avions", "https://www.defense.gouv.fr/a", "."]


def test_offsets_point_into_the_text_with_a_start_offset():
    text = "xx Le général Burkhard."
    for w in split_words(text, 3):
        assert text[w.start : w.end] == w.text
    assert split_words(text, 3)[0].start == 3


def test_pretokenised_words_get_offsets_in_the_joined_text():
    text, words = words_from_tokens(["de", "le", "OTAN", "."])
    assert text == "de le OTAN ."
    assert [text[w.start : w.end] for w in words] == ["de", "le", "OTAN", "."]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZé'’-. ,;1\n«»")), max_size=60))
def test_every_visible_character_is_in_exactly_one_word(text):
    words = split_words(text)
    covered = [0] * len(text)
    for w in words:
        assert text[w.start : w.end] == w.text and w.text.strip() == w.text and w.text
        for k in range(w.start, w.end):
            covered[k] += 1
    for k, ch in enumerate(text):
        assert covered[k] == (0 if ch.isspace() else 1)
    assert [w.start for w in words] == sorted(w.start for w in words)
