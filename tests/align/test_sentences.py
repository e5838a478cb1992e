"""Sentence alignment: the dynamic programme on controlled embeddings, and its contract."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.align.sentences import SentenceAligner, _one_to_one_path, align_sentences
from defnlp.errors import ConfigError


class ConceptEmbedder:
    """Each sentence is a bag of concept ids ("c3 c7"); its vector is the normalised concept count
    plus a little noise, so that a translation has exactly the same concepts."""

    name = "concepts"

    def __init__(self, dim: int = 64, noise: float = 0.05, seed: int = 0):
        self.dim, self.noise = dim, noise
        self.rng = np.random.default_rng(seed)
        self.basis = self.rng.normal(size=(dim, dim))

    def encode(self, texts):
        out = []
        for t in texts:
            v = np.zeros(self.dim)
            for tok in t.lower().replace(".", " ").split():
                if tok.startswith("c"):
                    v += self.basis[int(tok[1:]) % self.dim]
            v += self.noise * self.rng.normal(size=self.dim)
            out.append(v / np.linalg.norm(v))
        return np.array(out, dtype=np.float32)


def sentences(ids):
    return [f"c{i}." for i in ids]


def covered_once(links, n, m):
    src = [i for l in links for i in l.src]
    tgt = [j for l in links for j in l.tgt]
    return sorted(src) == list(range(n)) and sorted(tgt) == list(range(m)) and src == sorted(src) and tgt == sorted(tgt)


def test_one_to_one_documents_align_one_to_one():
    result = SentenceAligner(embedder=ConceptEmbedder()).align(sentences(range(20)), sentences(range(20)))
    assert [(l.src, l.tgt) for l in result.links] == [((k,), (k,)) for k in range(20)]
    assert all(l.score > 0.9 for l in result.links)


def test_merges_and_deletions_are_found():
    fr = ["c1.", "c2 c3.", "c4.", "c5.", "c6.", "c7.", "c8."]
    en = ["c1.", "c2.", "c3.", "c4.", "c5.", "c99.", "c6.", "c7 c8."]
    result = SentenceAligner(embedder=ConceptEmbedder()).align(fr, en)
    kinds = {(l.src, l.tgt) for l in result.links}
    assert ((1,), (1, 2)) in kinds  # 1-2
    assert ((), (5,)) in kinds  # the extra English sentence is left unaligned
    assert ((5, 6), (7,)) in kinds  # 2-1
    assert covered_once(result.links, len(fr), len(en))


def test_unrelated_material_scores_low_so_it_can_be_filtered():
    fr = sentences([1, 2, 3, 40, 41, 4, 5])
    en = sentences([1, 2, 3, 50, 51, 4, 5])
    result = SentenceAligner(embedder=ConceptEmbedder()).align(fr, en)
    parallel = result.parallel(min_score=0.5)
    assert {(l.src, l.tgt) for l in parallel} == {((k,), (k,)) for k in (0, 1, 2, 5, 6)}


def test_align_texts_reports_character_spans():
    fr_text = "C1 un. C2 deux.\n\nC3 trois."
    en_text = "C1 one. C2 two. C3 three."
    result = SentenceAligner(embedder=ConceptEmbedder()).align_texts(fr_text, en_text)
    for fr_spans, en_spans, _ in result.char_links():
        for a, b in fr_spans:
            assert fr_text[a:b] in result.src_sentences
    assert len(result.links) == 3


def test_empty_sides():
    aligner = SentenceAligner(embedder=ConceptEmbedder())
    assert [l.kind for l in aligner.align([], ["c1."]).links] == ["0-1"]
    assert aligner.align([], []).links == []


def test_group_vectors_sum_gives_the_same_result_on_clean_data():
    fr = ["c1.", "c2 c3.", "c4."]
    en = ["c1.", "c2.", "c3.", "c4."]
    a = SentenceAligner(embedder=ConceptEmbedder(), group_vectors="sum").align(fr, en)
    assert [(l.src, l.tgt) for l in a.links] == [((0,), (0,)), ((1,), (1, 2)), ((2,), (3,))]


def test_invalid_options():
    with pytest.raises(ConfigError):
        SentenceAligner(embedder=ConceptEmbedder(), group_vectors="avg")
    with pytest.raises(ConfigError):
        SentenceAligner(embedder=ConceptEmbedder(), link_types=[(1, 2)])


def test_banded_first_pass_equals_the_full_one_when_the_band_covers_the_path():
    emb = ConceptEmbedder(noise=0.01)
    fr, en = sentences(range(60)), sentences([k for k in range(60) if k % 7])
    full = SentenceAligner(embedder=emb).align(fr, en)
    banded = SentenceAligner(embedder=emb, full_matrix_cells=500).align(fr, en)
    assert [(l.src, l.tgt) for l in full.links] == [(l.src, l.tgt) for l in banded.links]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 1000))
def test_links_cover_every_sentence_once_in_order(n, m, seed):
    emb = ConceptEmbedder(seed=seed)
    rng = np.random.default_rng(seed)
    fr = sentences(rng.integers(0, 15, n))
    en = sentences(rng.integers(0, 15, m))
    result = align_sentences(fr, en, embedder=emb)
    assert covered_once(result.links, n, m)


def test_one_to_one_path_is_monotone_and_optimal_on_a_small_case():
    x = np.eye(4, dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 2, 3]]
    zeros = np.zeros(4, dtype=np.float32)
    path = _one_to_one_path(x, y, zeros, zeros[:3], np.zeros(4, dtype=int), np.full(4, 3))
    assert path == [(0, 0), (2, 1), (3, 2)]
