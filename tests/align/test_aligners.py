"""The aligners that entity alignment and projection share (defnlp.align.aligners)."""

from defnlp.align.aligners import LazyAligners
from defnlp.align.entities import EntityAligner
from defnlp.align.projection import Projector
from defnlp.align.sentences import _toy_embedder


def test_one_owner_for_the_lazily_built_aligners():
    for cls in (EntityAligner, Projector):
        assert issubclass(cls, LazyAligners)
        for name in ("word_aligner", "sentence_aligner", "embedder"):
            assert getattr(cls, name) is getattr(LazyAligners, name)


def test_given_instances_are_reused_and_the_default_sentence_aligner_gets_the_embedder():
    toy = _toy_embedder()
    marker = object()
    entity = EntityAligner(word_aligner=marker, embedder=toy, lexicon=None)
    assert entity.word_aligner is marker and entity.embedder is toy
    built = entity.sentence_aligner
    assert built.embedder is toy and entity.sentence_aligner is built  # built once
    projector = Projector(word_aligner=marker, sentence_aligner=built)
    assert projector.word_aligner is marker and projector.sentence_aligner is built and projector.embedder is toy
