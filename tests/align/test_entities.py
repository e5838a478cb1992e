"""Entity alignment of annotated FR/EN Docs (lexicon, strings, word votes), without models."""

import pytest

from defnlp import Doc
from defnlp.align.entities import EntityAligner, align_entities
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
