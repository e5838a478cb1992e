"""The one word tokenizer (defnlp.words): its two modes side by side, offsets, entity cuts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.errors import ConfigError
from defnlp.words import WORD_MODES, split_tokens_at, split_words, word_spans, words_from_tokens


def cut(text: str, mode: str) -> list[str]:
    return [text[a:b] for a, b in word_spans(text, mode=mode)]


def texts(words):
    return [w.text for w in words]


# text, mode="atom" (NER units), mode="word" (what a reader clicks on)
TRICKY = [
    ("porte-avions NATO-led", ["porte", "-", "avions", "NATO", "-", "led"], ["porte-avions", "NATO-led"]),
    ("F-35", ["F", "-", "35"], ["F-35"]),
    ("a‐b a‑b", ["a", "‐", "b", "a", "‑", "b"], ["a‐b", "a‑b"]),  # U+2010, U+2011 hyphens
    ("aujourd'hui", ["aujourd", "'", "hui"], ["aujourd'hui"]),
    ("presqu'île quelqu'un", ["presqu", "'", "île", "quelqu", "'", "un"], ["presqu'île", "quelqu'un"]),
    ("l’OTAN", ["l", "’", "OTAN"], ["l’", "OTAN"]),
    ("L'OTAN qu'il jusqu'à", ["L", "'", "OTAN", "qu", "'", "il", "jusqu", "'", "à"], ["L'", "OTAN", "qu'", "il", "jusqu'", "à"]),
    ("NATO's", ["NATO", "'", "s"], ["NATO", "'s"]),
    ("didn't", ["didn", "'", "t"], ["did", "n't"]),
    ("O'Neill Guivarc'h Da’esh", ["O", "'", "Neill", "Guivarc", "'", "h", "Da", "’", "esh"], ["O'Neill", "Guivarc'h", "Da’esh"]),
    ("U.S.", ["U.S."], ["U.S."]),
    ("e.g.", ["e", ".", "g", "."], ["e.g."]),
    ("3,5 Md€", ["3,5", "Md", "€"], ["3,5", "Md", "€"]),
    ("1.000 3.5", ["1.000", "3.5"], ["1.000", "3.5"]),
    ("14:30 14/01/2025", ["14", ":", "30", "14", "/", "01", "/", "2025"], ["14:30", "14/01/2025"]),
    ("A400M", ["A", "400", "M"], ["A400M"]),
    ("snake_case", ["snake", "_", "case"], ["snake", "_", "case"]),
    (
        "https://www.defense.gouv.fr/a.",
        ["https", ":", "/", "/", "www", ".", "defense", ".", "gouv", ".", "fr", "/", "a", "."],
        ["https://www.defense.gouv.fr/a", "."],
    ),
    ("www.defense.gouv.fr,", ["www", ".", "defense", ".", "gouv", ".", "fr", ","], ["www.defense.gouv.fr", ","]),
    ("presse@defense.gouv.fr.", ["presse", "@", "defense", ".", "gouv", ".", "fr", "."], ["presse@defense.gouv.fr", "."]),
]


@pytest.mark.parametrize("text, atoms, words", TRICKY, ids=[t for t, _, _ in TRICKY])
def test_the_two_modes_side_by_side(text: str, atoms: list[str], words: list[str]) -> None:
    assert cut(text, "atom") == atoms
    assert cut(text, "word") == words
    assert texts(split_words(text)) == words and texts(split_words(text, mode="atom")) == atoms


def test_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown word mode 'token'"):
        word_spans("x", mode="token")
    assert WORD_MODES == ("atom", "word")


# ------------------------------------------------------------------------------------------------
# mode "atom": the units of NER (unchanged from defnlp.text.word_spans)
# ------------------------------------------------------------------------------------------------
def test_atoms_split_elisions_hyphens_and_possessives():
    text = "l’OTAN, NATO-led Rafale's 3,5 Md€ U.S."
    assert cut(text, "atom") == [
        "l", "’", "OTAN", ",", "NATO", "-", "led", "Rafale", "'", "s", "3,5", "Md", "€", "U.S."
    ]


# ------------------------------------------------------------------------------------------------
# mode "word": words for alignment and CoNLL/spaCy export (unchanged from defnlp.align.tokens)
# ------------------------------------------------------------------------------------------------
def test_french_elisions_are_separate_words():
    assert texts(split_words("L'OTAN, qu'il s'agisse de l’A400M jusqu'à Brest")) == [
        "L'", "OTAN", ",", "qu'", "il", "s'", "agisse", "de", "l’", "A400M", "jusqu'", "à", "Brest",
    ]
    assert cut("l'armée d'Airbus qu'il jusqu'à", "word") == ["l'", "armée", "d'", "Airbus", "qu'", "il", "jusqu'", "à"]
    assert cut("L’OTAN", "word") == ["L’", "OTAN"]


def test_lexicalised_apostrophes_stay_whole():
    assert texts(split_words("aujourd'hui, quelqu'un, presqu'île")) == ["aujourd'hui", ",", "quelqu'un", ",", "presqu'île"]


def test_english_clitics_are_split():
    assert texts(split_words("NATO's tanks didn't move.")) == ["NATO", "'s", "tanks", "did", "n't", "move", "."]
    assert cut("Qu'il vienne, dit-il. Hussein's F-35", "word") == ["Qu'", "il", "vienne", ",", "dit-il", ".", "Hussein", "'s", "F-35"]


def test_numbers_acronyms_compounds_and_addresses():
    words = texts(split_words("The U.S. sent 3.5 bn to porte-avions https://www.defense.gouv.fr/a."))
    assert words == ["The", "U.S.", "sent", "3.5", "bn", "to", "porte-avions", "https://www.defense.gouv.fr/a", "."]
    assert cut("Les U.S. ont 3,5 Md$ à 14:30 pour le F-35 aujourd'hui.", "word") == [
        "Les", "U.S.", "ont", "3,5", "Md", "$", "à", "14:30", "pour", "le", "F-35", "aujourd'hui", ".",
    ]


# ------------------------------------------------------------------------------------------------
# offsets, in both modes
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", WORD_MODES)
def test_offsets_point_into_the_text_with_a_start_offset(mode: str):
    text = "xx Le général Burkhard."
    for w in split_words(text, 3, mode=mode):
        assert text[w.start : w.end] == w.text
    assert split_words(text, 3, mode=mode)[0].start == 3
    assert word_spans(text, 3, 13, mode=mode) == [(3, 5), (6, 13)]


def test_pretokenised_words_get_offsets_in_the_joined_text():
    text, words = words_from_tokens(["de", "le", "OTAN", "."])
    assert text == "de le OTAN ."
    assert [text[w.start : w.end] for w in words] == ["de", "le", "OTAN", "."]


def _check_cover(text: str, mode: str) -> None:
    spans = word_spans(text, mode=mode)
    covered = [0] * len(text)
    for a, b in spans:
        assert a < b and not any(ch.isspace() for ch in text[a:b])
        for k in range(a, b):
            covered[k] += 1
    for k, ch in enumerate(text):
        assert covered[k] == (0 if ch.isspace() else 1)
    assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZé'’-‐. ,;:/@_1\n«»")), max_size=60), st.sampled_from(WORD_MODES))
def test_every_visible_character_is_in_exactly_one_word(text: str, mode: str):
    _check_cover(text, mode)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80), st.sampled_from(WORD_MODES))
def test_any_unicode_text_is_covered(text: str, mode: str) -> None:
    _check_cover(text, mode)


# ------------------------------------------------------------------------------------------------
# cutting words at entity boundaries
# ------------------------------------------------------------------------------------------------
def test_split_tokens_at_cuts_inside_tokens_only():
    t = "UK-France summit"
    assert [t[a:b] for a, b in split_tokens_at(t, word_spans(t), [0, 2, 3, 9])] == ["UK", "-", "France", "summit"]
    t = "franco-belge accord"
    assert [t[a:b] for a, b in split_tokens_at(t, word_spans(t), [8, 12, 12, 13])] == ["franco-b", "elge", "accord"]
    assert split_tokens_at("a b", [(0, 3)], [1]) == [(0, 1), (2, 3)]  # pieces are trimmed of whitespace
