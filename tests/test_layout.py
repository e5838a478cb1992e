"""Layout: blocks no entity crosses, and the model view (words hyphenated across a line break)."""

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defnlp.layout import SHORT_LINE, ViewMap, blocks, hyphen_joins, model_view

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cut(text: str) -> list[str]:
    return [text[a:b] for a, b in blocks(text)]


# ------------------------------------------------------------------------------------------------
# blocks
# ------------------------------------------------------------------------------------------------
def test_contact_block_lines_are_blocks():
    text = (
        "Contact presse\n"
        "Claire Dumont\n"
        "Chargée de communication\n"
        "Direction générale de l'armement\n"
        "claire.dumont@intradef.gouv.fr\n"
        "Tél. : +33 1 23 45 67 89\n"
    )
    assert cut(text) == [
        "Contact presse", "Claire Dumont", "Chargée de communication", "Direction générale de l'armement",
        "claire.dumont@intradef.gouv.fr", "Tél. : +33 1 23 45 67 89",
    ]


def test_postal_address_and_signature():
    text = "Direction générale de l'armement\n60 boulevard du Général Martial Valin\n75015 Paris\n\nJames Carter\nHead of Communications\nMoD Abbey Wood\nBristol BS34 8JH"
    assert cut(text) == [
        "Direction générale de l'armement", "60 boulevard du Général Martial Valin", "75015 Paris",
        "James Carter", "Head of Communications", "MoD Abbey Wood", "Bristol BS34 8JH",
    ]


def test_bullets_start_blocks_and_keep_their_continuation_lines():
    text = (
        "Les programmes concernés par la loi de programmation militaire sont les suivants :\n"
        "- le Rafale F4, dont les premières livraisons à l'armée de l'Air et de l'Espace sont\n"
        "  prévues en 2025 ;\n"
        "• le SNLE de troisième génération ;\n"
        "1. le porte-avions de nouvelle génération ;\n"
        "2) le char du futur MGCS."
    )
    assert cut(text) == [
        "Les programmes concernés par la loi de programmation militaire sont les suivants :",
        "- le Rafale F4, dont les premières livraisons à l'armée de l'Air et de l'Espace sont\n  prévues en 2025 ;",
        "• le SNLE de troisième génération ;",
        "1. le porte-avions de nouvelle génération ;",
        "2) le char du futur MGCS.",
    ]


def test_headings_in_capitals():
    text = (
        "RÉSUMÉ EXÉCUTIF\n"
        "La Direction générale de l'armement a notifié à KNDS France un contrat portant sur\n"
        "42 véhicules Griffon destinés à l'armée de Terre, livrables à partir de 2026.\n"
        "CONTACT PRESSE :\n"
        "Le service de presse de la DGA répond aux questions des journalistes chaque jour."
    )
    assert cut(text) == [
        "RÉSUMÉ EXÉCUTIF",
        "La Direction générale de l'armement a notifié à KNDS France un contrat portant sur\n"
        "42 véhicules Griffon destinés à l'armée de Terre, livrables à partir de 2026.",
        "CONTACT PRESSE :",
        "Le service de presse de la DGA répond aux questions des journalistes chaque jour.",
    ]


def test_markdown_headings_and_lines_ending_with_a_colon():
    text = (
        "## LIVRAISON DE LA FRÉGATE AMIRAL RONARC'H\n"
        "Naval Group et la Direction générale de l'armement ont livré le 17 juin à la Marine nationale\n"
        "la frégate Amiral Ronarc'h, première des cinq FDI commandées par la France. Elle comprend :\n"
        "radar Sea Fire de Thales, missiles Aster 15 et Aster 30 de MBDA, torpilles MU90.\n"
        "**À propos de Naval Group**\n"
        "Naval Group est le leader européen du naval de défense, à capitaux majoritairement publics."
    )
    assert cut(text) == [
        "## LIVRAISON DE LA FRÉGATE AMIRAL RONARC'H",
        "Naval Group et la Direction générale de l'armement ont livré le 17 juin à la Marine nationale\n"
        "la frégate Amiral Ronarc'h, première des cinq FDI commandées par la France. Elle comprend :",
        "radar Sea Fire de Thales, missiles Aster 15 et Aster 30 de MBDA, torpilles MU90.",
        "**À propos de Naval Group**",
        "Naval Group est le leader européen du naval de défense, à capitaux majoritairement publics.",
    ]


def test_text_all_in_capitals_is_not_cut_at_its_line_breaks():
    text = (
        "THE MINISTRY OF DEFENCE ANNOUNCED TODAY THAT THE ROYAL NAVY CARRIER STRIKE GROUP\n"
        "LED BY HMS QUEEN ELIZABETH WILL DEPLOY TO THE INDO-PACIFIC REGION NEXT SPRING."
    )
    assert cut(text) == [text]


def test_wrapped_prose_stays_one_block():
    text = (
        "Le ministre des Armées a visité la base navale de Brest avec le général Jean\n"
        "Dupont, chef d'état-major de la Marine, et le directeur de Naval Group France,\n"
        "avant de rejoindre Toulon."
    )
    assert cut(text) == [text]


@pytest.mark.parametrize("text", [
    "Le général Jean\nDupont a visité Brest.",                                   # ends a sentence
    "Le ministre a reçu\nle général Dupont",                                     # lower-case start
    "La délégation de\nNaval Group\nest arrivée",                                # connective at a line end
    "Le contrat avec l'\nOCCAR est signé",                                       # elision at a line end
    "Le contrat opéra-\nTionnel\nDe la DGA",                                     # hyphen at a line end
])
def test_narrow_prose_made_of_short_lines_stays_one_block(text):
    assert cut(text) == [text]


def test_a_paragraph_with_a_long_line_is_not_list_like():
    long = "X" * SHORT_LINE
    assert cut(f"Jean Dupont\n{long}") == [f"Jean Dupont\n{long}"]
    assert cut(f"Jean Dupont\n{long[:-1]}") == ["Jean Dupont", long[:-1]]


def test_contact_lines_inside_prose_paragraphs():
    text = (
        "Pour toute question sur le programme, les journalistes peuvent joindre le service de presse\n"
        "presse@dga.defense.gouv.fr\n"
        "ou consulter le site du ministère, qui publie chaque semaine les dernières informations\n"
        "www.defense.gouv.fr/dga\n"
        "+33 (0)1 23 45 67 89 / 01 98 76 54 32"
    )
    assert cut(text) == [
        "Pour toute question sur le programme, les journalistes peuvent joindre le service de presse",
        "presse@dga.defense.gouv.fr",
        "ou consulter le site du ministère, qui publie chaque semaine les dernières informations",
        "www.defense.gouv.fr/dga",
        "+33 (0)1 23 45 67 89 / 01 98 76 54 32",
    ]


def test_paragraphs_crlf_blank_lines_with_spaces_and_page_breaks():
    text = "  Jean Dupont\r\nDirecteur\r\n \t \r\nLa DGA a signé le contrat avec Thales le 3 mars 2024, à Paris, pour dix ans.\x0cPage 2 \r\n"
    assert cut(text) == [
        "Jean Dupont", "Directeur",
        "La DGA a signé le contrat avec Thales le 3 mars 2024, à Paris, pour dix ans.", "Page 2",
    ]
    assert blocks(text)[0] == (2, 13)


def test_degenerate_texts():
    assert blocks("") == [] and blocks(" \n\r\n \t") == []
    assert blocks("  DGA  ") == [(2, 5)]
    assert cut("\n\nDGA\n\n") == ["DGA"]


def pieces(*items: str, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(items), max_size=max_size).map("".join)


LAYOUT_TEXT = pieces(*"aZé -\n\r\t.:@1+•*#", "\r\n", "\u2028", "\x0c", "Jean ", "DGA ", "de ", "x" * 30, max_size=120)


def assert_blocks_are_sound(text: str, spans: list[tuple[int, int]]) -> None:
    covered = set()
    for i, (a, b) in enumerate(spans):
        assert 0 <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        if i:
            assert spans[i - 1][1] < a
        # no blank line and no page break inside a block
        for line in text[a:b].splitlines()[1:-1]:
            assert line.strip(), (text, text[a:b])
        assert not any(c in text[a:b] for c in "\x0c\x1c\x1d\x1e\u2029")
        covered.update(range(a, b))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


@SETTINGS
@given(LAYOUT_TEXT)
def test_blocks_are_sorted_trimmed_disjoint_and_cover_every_character(text):
    spans = blocks(text)
    assert_blocks_are_sound(text, spans)
    # a blank line always separates blocks
    for m in re.finditer(r"\S(?:[^\S\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*(?>\r\n|[\r\n\x0b\x85\u2028])){2,}\s*\S", text):
        assert not any(a <= m.start() and m.end() <= b for a, b in spans)
    # no joined word is cut by a block boundary
    for start, end in hyphen_joins(text):
        assert any(a <= start and end < b for a, b in spans)


def test_blocks_are_linear_on_200k_characters():
    contact = "Claire Dumont\nChargée de communication\n60 boulevard Victor\n75015 Paris\nclaire@dga.fr\n\n"
    prose = "Le ministre des Armées a visité la base navale de Brest avec le général Jean\nDupont. "
    for text in (contact * 2600, prose * 2500, " " * 200_000, "\n" * 200_000, "a-\n" * 70_000, "- \n" * 70_000, "AB\n" * 70_000):
        start = time.perf_counter()
        spans = blocks(text)
        view, _ = model_view(text)
        elapsed = time.perf_counter() - start
        assert elapsed < 5, (text[:20], elapsed)
        assert sum(b - a for a, b in spans) <= len(text) and len(view) <= len(text)


# ------------------------------------------------------------------------------------------------
# the model view
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, view", [
    ("un contrat opéra-\ntionnel", "un contrat opérationnel"),
    ("un contrat opéra- \r\n   tionnel", "un contrat opérationnel"),
    ("Opéra-\ntionnel", "Opérationnel"),
    ("le véhicule blin\u2010\ndé", "le véhicule blindé"),
    ("la Direc\u00ad\nTion", "la DirecTion"),                   # a soft hyphen is always a hyphenation point
    ("défense anti-aérienne opéra-\u2028tionnelle", "défense anti-aérienne opérationnelle"),
    ("anti-sub-\nmarine, franco-alle-\nmand", "anti-submarine, franco-allemand"),   # inside a compound
    ("the Dread-\nnought-class boats", "the Dreadnought-class boats"),
    ("combat air-\ncraft", "combat aircraft"),
])
def test_words_hyphenated_across_a_line_break_are_joined(text, view):
    assert model_view(text)[0] == view


@pytest.mark.parametrize("text", [
    "Jean-\nPierre Dupont",           # capital after the break
    "le F-\n35 et le Rafale-\nM",     # digit or capital
    "un sous-\nmarin, un porte-\navions, le vice-\namiral, l'état-\nmajor",   # known compound heads
    "« Non », dit-\nil, puis celui-\nci",                                         # known compound tails
    "Aix-\nen-Provence, Saint-Jean-\nde-Luz, Barrow-\nin-Furness, arc-en-\nciel",  # part of a longer compound
    "peut-\nêtre, au-\ndelà, missile air-\nsol, sea-\nbed",                             # known compound elements
    "a-\nvion",                                                                   # one letter before the hyphen
    "NATO-\nled, OTAN-\ndirigé",                                                  # capital before the hyphen
    "opéra-\n\ntionnel",                                                           # a blank line is not one break
    "opéra -\ntionnel",                                                            # a dash, not a hyphen
    "2024-\n2025",
])
def test_hyphens_that_stay(text):
    view, to_original = model_view(text)
    assert view is text and to_original.identity and to_original.joins == []


def test_identity_fast_path_keeps_the_string_and_maps_nothing():
    text = "La DGA a commandé 42 Griffon.\nSans césure."
    view, to_original = model_view(text)
    assert view is text
    assert to_original(5) == 5 and to_original.span(3, 6) == (3, 6) and to_original.spans([(0, 2), (3, 3)]) == [(0, 2), (3, 3)]


def test_view_map_points_every_view_character_at_its_original():
    text = "le contrat opéra-\r\n  tionnel et l'équi-\npement"
    view, m = model_view(text)
    assert view == "le contrat opérationnel et l'équipement"
    assert [text[m(i)] for i in range(len(view))] == list(view)
    assert m(len(view)) == len(text)
    a = view.index("opérationnel")
    assert text[slice(*m.span(a, a + len("opérationnel")))] == "opéra-\r\n  tionnel"
    assert m.span(a, a + 5) == (11, 16) and text[11:16] == "opéra"


TEXT = pieces(*"abcé XY-\u00ad\u2010\n\r\t1", "\r\n", "sous", "il", max_size=120)


@SETTINGS
@given(TEXT)
def test_model_view_round_trip(text):
    view, m = model_view(text)
    joins = hyphen_joins(text)
    assert m.joins == joins
    # the view is the text without the removed ranges
    kept = "".join(text[a:b] for a, b in zip([0] + [e for _, e in joins], [s for s, _ in joins] + [len(text)]))
    assert view == kept
    # each removed range is a hyphen, spaces and exactly one line break, between two letters
    for s, e in joins:
        assert text[s] in "-\u00ad\u2010" and len(re.findall(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text[s:e])) == 1
        assert text[s + 1 : e].isspace() and text[s - 1].isalpha() and text[e].isalpha()
    # every view character maps to the same character of the text, in order; and back
    originals = [m(i) for i in range(len(view))]
    assert all(text[o] == c for o, c in zip(originals, view))
    assert originals == sorted(set(originals))
    assert all(m.to_view(o) == i for i, o in enumerate(originals))
    assert m(len(view)) == len(text)
    # spans, one by one and vectorised
    pairs = [(a, b) for a in range(0, len(view) + 1, 3) for b in (a, a + 1, a + 4) if b <= len(view)]
    assert m.spans(pairs) == [m.span(a, b) for a, b in pairs]
    for a, b in pairs:
        oa, ob = m.span(a, b)
        if b > a:
            assert (oa, ob) == (originals[a], originals[b - 1] + 1)
        else:
            assert oa == ob


def test_view_map_offsets_inside_a_removed_range_go_to_the_next_kept_character():
    m = ViewMap([(5, 8)])
    assert [m.to_view(i) for i in range(10)] == [0, 1, 2, 3, 4, 5, 5, 5, 5, 6]
