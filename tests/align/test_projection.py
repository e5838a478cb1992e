"""Annotation projection through word alignment, with span repair, in both directions."""

from .test_entities import DictWordAligner, annotate

from defnlp import Doc
from defnlp.align.projection import Projector, project_entities
from defnlp.words import split_words
from defnlp.align.words import WordAlignment, WordLink


class FixedWordAligner:
    """Returns given links (by word index) for every pair."""

    def __init__(self, links):
        self.links = links

    def align_batch(self, pairs, src_lang=None, tgt_lang=None):
        return [WordAlignment(s, t, split_words(s), split_words(t), [WordLink(i, j, 0.8) for i, j in self.links]) for s, t in pairs]


def project(src, tgt_text, aligner, **options):
    return project_entities(src, tgt_text, word_aligner=aligner, whole=True, **options)


def spans(doc):
    return [(e.text, e.label) for e in doc.entities]


def test_en_to_fr_and_back():
    en = annotate("NATO signed the Letter of Intent in Corsica.", "en",
                  [("NATO", "ORG"), ("Letter of Intent", "DOCUMENT"), ("Corsica", "LOC")])
    fr_text = "L'OTAN a signé la lettre d'intention en Corse."
    fr = project(en, fr_text, DictWordAligner(), tgt_lang="fr")
    assert spans(fr) == [("OTAN", "ORG"), ("lettre d'intention", "DOCUMENT"), ("Corse", "LOC")]
    assert fr.lang == "fr" and fr.validate() is fr
    back = project(fr, en.text, DictWordAligner(), tgt_lang="en")
    assert spans(back) == spans(en)


def test_articles_are_trimmed_and_one_word_gaps_are_merged():
    src = annotate("ministre des Armées", "fr", [("ministre des Armées", "ROLE")])
    # ministre -> Minister (0), Armées -> Forces (4); "of the Armed" unaligned in between: gap of 3
    doc = project(src, "the Minister of the Armed Forces", FixedWordAligner([(0, 1), (2, 5)]), max_gap=3)
    assert spans(doc) == [("Minister of the Armed Forces", "ROLE")]
    doc = project(src, "the Minister of the Armed Forces", FixedWordAligner([(0, 0), (0, 1)]))
    assert spans(doc) == [("Minister", "ROLE")]  # leading "the" dropped


def test_a_stray_link_does_not_stretch_the_span():
    src = annotate("la Corse", "fr", [("Corse", "LOC")])
    tgt = "Corsica is an island , said a man from Corsica town far away"
    doc = project(src, tgt, FixedWordAligner([(1, 0), (1, 9)]), max_extension=0)
    assert spans(doc) == [("Corsica", "LOC")]


def test_unaligned_capitalised_neighbours_are_taken_into_names():
    src = annotate("Jean-Yves Le Drian", "fr", [("Jean-Yves Le Drian", "PER")])
    doc = project(src, "minister Jean-Yves Le Drian spoke", FixedWordAligner([(0, 1), (2, 3)]))
    assert spans(doc) == [("Jean-Yves Le Drian", "PER")]


def test_unprojectable_entities_are_counted_not_invented():
    src = annotate("Brest et Toulon", "fr", [("Brest", "LOC"), ("Toulon", "LOC")])
    doc = project(src, "Brest and somewhere", FixedWordAligner([(0, 0)]))
    assert spans(doc) == [("Brest", "LOC")]
    assert doc.meta["projection"] == {"source": None, "projected": 1, "unprojected": 1}


def test_overlapping_projections_keep_the_best():
    src = annotate("char Leclerc", "fr", [("char", "PLATFORM"), ("Leclerc", "PLATFORM")])
    doc = project(src, "Leclerc", FixedWordAligner([(0, 0), (1, 0)]))
    assert len(doc.entities) == 1


def test_many_pairs_in_one_batch_and_empty_sources():
    projector = Projector(word_aligner=DictWordAligner(), whole=True)
    docs = projector.project_many([(annotate("OTAN", "fr", [("OTAN", "ORG")]), "NATO"), (Doc("rien", lang="fr"), "nothing")], tgt_lang="en")
    assert spans(docs[0]) == [("NATO", "ORG")] and docs[1].entities == []
