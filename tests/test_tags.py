"""Tag schemes (defnlp.tags): layout, parsing, the one encoder and decoder, overlaps, Viterbi."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.doc import Doc
from defnlp.errors import ConfigError, LabelError, RecordFormatError
from defnlp.evaluation.ner import doc_word_tags
from defnlp.io.conll import doc_to_bio
from defnlp.ner.tagging import Unit, make_units
from defnlp.scheme import load_scheme
from defnlp.tags import (
    TagSet,
    bio_tags,
    check_end,
    check_scheme,
    check_transition,
    flatten_spans,
    parse_tag,
    resolve_overlaps,
    spans_to_tags,
    tags_to_spans,
)


# ------------------------------------------------------------------------------------------------
# layout
# ------------------------------------------------------------------------------------------------
def test_layout_is_o_then_begin_inside_per_label() -> None:
    assert bio_tags(["PER", "LOC"]) == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    scheme = load_scheme("defence-v1")
    assert scheme.bio_tags() == bio_tags(scheme.entity_labels) == TagSet(scheme.entity_labels).tags
    ts = TagSet(["PER", "LOC"])
    assert [ts.begin_id(x) for x in ts.labels] == [1, 3] and [ts.inside_id(x) for x in ts.labels] == [2, 4]
    assert [ts.label_of(i) for i in range(len(ts))] == [None, "PER", "PER", "LOC", "LOC"]
    with pytest.raises(LabelError, match="'WPN' is not one of"):
        ts.begin_id("WPN")
    with pytest.raises(LabelError, match="duplicate"):
        TagSet(["PER", "PER"])


def test_collate_marks_begin_and_inside_of_free_labels() -> None:
    from defnlp.training.data import collate

    ts = TagSet(["PER", "LOC"])
    example = {"input_ids": [0, 5, 6, 1], "tags": [-100, 0, 1, -100], "free_labels": [1], "doc_id": "d"}
    _ids, _mask, allowed = collate([example], ts, pad_id=1)
    assert allowed[0, 1].tolist() == [True, False, False, True, True]  # O, or any LOC tag
    assert allowed[0, 2].tolist() == [False, True, False, False, False]


# ------------------------------------------------------------------------------------------------
# reading tags
# ------------------------------------------------------------------------------------------------
def test_parse_tag_and_invalid_tags() -> None:
    assert parse_tag("O") == (None, None)
    assert parse_tag("B-LOC") == ("B", "LOC") and parse_tag("L-LOC") == ("E", "LOC") and parse_tag("U-LOC") == ("S", "LOC")
    for bad in ("B_LOC", "X-LOC", "B-", "o", "B-LOC X", ""):
        with pytest.raises(RecordFormatError, match=r"f:3: invalid tag"):
            parse_tag(bad, "f:3")
    with pytest.raises(RecordFormatError, match=r"tag 1: invalid tag 'B_LOC'"):
        tags_to_spans(["O", "B_LOC"])


def _check(scheme: str, tags: list[str]) -> None:
    prev = (None, None)
    for i, tag in enumerate(tags):
        cur = parse_tag(tag)
        check_transition(scheme, prev, cur, f"tag {i}", tag)
        prev = cur
    check_end(scheme, prev)


@pytest.mark.parametrize(
    "scheme, tags, error",
    [
        ("iob1", ["O", "I-LOC", "I-LOC", "B-LOC"], None),
        ("iob1", ["O", "B-LOC"], "in IOB1, 'B-LOC' may only follow a LOC entity"),
        ("iob1", ["S-LOC"], "not IOB1"),
        ("iob2", ["B-LOC", "I-LOC", "O", "B-PER"], None),
        ("iob2", ["O", "I-LOC"], "in IOB2, 'I-LOC' must follow B-LOC or I-LOC"),
        ("iob2", ["B-PER", "I-LOC"], "in IOB2"),
        ("iob2", ["E-LOC"], "not IOB2"),
        ("bioes", ["B-LOC", "I-LOC", "E-LOC", "S-PER", "O"], None),
        ("bioes", ["B-LOC", "O"], "not closed by E-LOC"),
        ("bioes", ["O", "E-LOC"], "in BIOES, 'E-LOC' must follow"),
        ("bioes", ["B-LOC", "I-LOC"], "the sentence ends inside a LOC entity"),
        ("auto", ["E-LOC", "I-PER", "B-LOC"], None),
    ],
)
def test_strict_transitions(scheme: str, tags: list[str], error: str | None) -> None:
    if error is None:
        _check(scheme, tags)
    else:
        with pytest.raises(RecordFormatError, match=error):
            _check(scheme, tags)


def test_schemes() -> None:
    assert check_scheme("auto") == "auto"
    with pytest.raises(ConfigError, match="unknown tagging scheme 'bilou'"):
        check_scheme("bilou")
    with pytest.raises(ConfigError, match="cannot write tagging scheme 'iob1'"):
        check_scheme("iob1", write=True)
    with pytest.raises(ConfigError, match="cannot write"):
        spans_to_tags([(0, 1)], [], scheme="auto")


# ------------------------------------------------------------------------------------------------
# tags -> spans
# ------------------------------------------------------------------------------------------------
def test_decoding_accepts_iob1_iob2_and_bioes() -> None:
    assert tags_to_spans(["I-PER", "I-PER", "B-PER", "O"]) == [(0, 2, "PER"), (2, 3, "PER")]  # IOB1
    assert tags_to_spans(["B-LOC", "I-LOC", "B-LOC"]) == [(0, 2, "LOC"), (2, 3, "LOC")]  # IOB2
    assert tags_to_spans(["B-ORG", "I-ORG", "E-ORG", "S-LOC", "U-PER"]) == [(0, 3, "ORG"), (3, 4, "LOC"), (4, 5, "PER")]
    assert tags_to_spans(["O", "I-LOC", "I-ORG"]) == [(1, 2, "LOC"), (2, 3, "ORG")]
    assert tags_to_spans(["E-LOC", "I-LOC", "E-PER"]) == [(0, 1, "LOC"), (1, 2, "LOC"), (2, 3, "PER")]  # lenient
    assert tags_to_spans([]) == []


def test_tagset_spans_with_scores() -> None:
    ts = TagSet(["PER", "LOC"])
    units = [Unit(0, 4, 0), Unit(5, 11, 1), Unit(12, 18, 2), Unit(19, 24, 3)]
    probs = np.full((4, 5), 0.1)
    probs[0, 1], probs[1, 2], probs[3, 4] = 0.9, 0.5, 0.8
    assert ts.spans(units, [1, 2, 0, 4], probs) == [(0, 11, "PER", pytest.approx(0.7)), (19, 24, "LOC", pytest.approx(0.8))]
    assert ts.spans(units, [2, 1, 4, 3]) == [(0, 4, "PER", 1.0), (5, 11, "PER", 1.0), (12, 18, "LOC", 1.0), (19, 24, "LOC", 1.0)]


# ------------------------------------------------------------------------------------------------
# spans -> tags, and round trips
# ------------------------------------------------------------------------------------------------
def test_encoder_rules() -> None:
    units = [(0, 2), (3, 9), (10, 22), (22, 23)]  # "Un accord franco-belge."
    assert spans_to_tags(units, [(18, 22, "NAT")]) == ["O", "O", "B-NAT", "O"]  # one character is enough
    assert spans_to_tags(units, [(3, 22, "ORG")], "bioes") == ["O", "B-ORG", "E-ORG", "O"]
    assert spans_to_tags(units, [(0, 2, "PER")], "bioes") == ["S-PER", "O", "O", "O"]
    # a unit taken by a span stays with it; the next span starts at its first free unit
    assert spans_to_tags(units, [(0, 4, "A"), (3, 22, "B")]) == ["B-A", "I-A", "B-B", "O"]
    missed = []
    assert spans_to_tags(units, [(10, 15, "A"), (17, 20, "B"), (9, 10, "C")], on_missing=missed.append) == ["O", "O", "B-A", "O"]
    assert missed == [(9, 10, "C"), (17, 20, "B")]  # in order of start; (9, 10) is whitespace
    assert spans_to_tags([], [(0, 3, "A")]) == []


def test_unknown_labels_in_the_tagset_encoder() -> None:
    ts = TagSet(["PER", "LOC"])
    text = "Jean Dupont visite Brest."
    units = make_units(text, [(0, 4), (4, 11), (11, 18), (18, 24), (24, 25)])
    assert ts.encode(units, [(0, 11, "PER"), (19, 24, "LOC")]) == [1, 2, 0, 3, 0]
    with pytest.raises(LabelError, match="'WPN' is not one of"):
        ts.encode(units, [(12, 18, "WPN"), (0, 11, "PER")])
    assert ts.encode(units, [(5, 24, "WPN"), (0, 11, "PER")], strict=False) == [1, 2, 0, 0, 0]  # WPN takes no unit


def test_iob1_iob2_bioes_round_trips() -> None:
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]
    spans = tags_to_spans(iob1)
    units = [(i, i + 1) for i in range(len(iob1))]
    iob2 = spans_to_tags(units, spans)
    bioes = spans_to_tags(units, spans, "bioes")
    assert iob2 == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
    assert bioes == ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "S-ORG"]
    assert tags_to_spans(iob2) == tags_to_spans(bioes) == spans


@st.composite
def unit_spans(draw):
    """Units with gaps, and non-overlapping spans made of whole units."""
    n = draw(st.integers(0, 12))
    gaps = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    lens = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    units, pos = [], 0
    for g, length in zip(gaps, lens):
        units.append((pos + g, pos + g + length))
        pos += g + length
    spans, i = [], 0
    while i < n:
        if draw(st.booleans()):
            j = draw(st.integers(i + 1, min(n, i + 3)))
            spans.append((i, j, draw(st.sampled_from(["PER", "LOC"]))))
            i = j
        else:
            i += 1
    return units, spans


@settings(max_examples=200, deadline=None)
@given(unit_spans(), st.sampled_from(["iob2", "bioes"]))
def test_round_trip_property(case, scheme: str) -> None:
    units, spans = case
    chars = [(units[a][0], units[b - 1][1], label) for a, b, label in spans]
    tags = spans_to_tags(units, chars, scheme)
    assert tags_to_spans(tags) == spans
    _check(scheme, tags)
    ts = TagSet(["PER", "LOC"])
    assert [ts.tags[i] for i in ts.encode([Unit(a, b, k) for k, (a, b) in enumerate(units)], chars)] == spans_to_tags(units, chars)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=list("ab '-.é"), min_size=1, max_size=30), st.data())
def test_the_three_callers_agree(text: str, data) -> None:
    """TagSet.encode, evaluation's doc_word_tags and conll's doc_to_bio: one rule, any spans."""
    from defnlp.words import word_spans

    words = word_spans(text, mode="atom")
    n = len(text)
    ents = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 8), st.sampled_from(["PER", "LOC"])), max_size=5))
    doc = Doc(text)
    for a, length, label in ents:
        doc.add_entity(a, min(n, a + length), label)
    flat = flatten_spans((e.start, e.end, e.label) for e in doc.entities)
    ts = TagSet(["PER", "LOC"])
    by_tagset = [ts.tags[i] for i in ts.encode([Unit(a, b, k) for k, (a, b) in enumerate(words)], flat)]
    assert doc_word_tags(doc, words) == by_tagset
    if words:
        assert doc_to_bio(doc, token_spans=words)[1] == by_tagset


# ------------------------------------------------------------------------------------------------
# overlaps
# ------------------------------------------------------------------------------------------------
def test_overlap_rules() -> None:
    spans = [(5, 9, "B"), (0, 4, "A"), (2, 9, "C"), (3, 7, "D"), (3, 7, "E")]
    assert resolve_overlaps(spans) == [2]  # longest
    assert resolve_overlaps(spans, "shortest") == [0, 1]  # 4-long ties: the leftmost (A at 0), then B
    assert resolve_overlaps(spans[3:], "longest") == [0]  # same span: the one listed first
    assert resolve_overlaps(spans, "first") == [0, 1]
    assert resolve_overlaps([(0, 2), (2, 4)]) == [0, 1]  # touching spans do not overlap
    assert flatten_spans(spans, "shortest") == [(0, 4, "A"), (5, 9, "B")]
    assert flatten_spans([]) == []
    with pytest.raises(ConfigError, match="unknown overlap rule"):
        resolve_overlaps(spans, "random")


# ------------------------------------------------------------------------------------------------
# the constrained Viterbi
# ------------------------------------------------------------------------------------------------
def _brute_force_best(tagset, log_probs, starts=(), no_end=()):
    """The best valid tag sequence by enumeration (tiny inputs only), under the block ``starts``
    (no I- there) and the ``no_end`` units (an entity there goes on with I- of its label)."""
    best, best_score = None, -np.inf
    n, k = log_probs.shape
    inside = set(tagset._inside.tolist())
    for seq in itertools.product(range(k), repeat=n):
        if not tagset.start_allowed[seq[0]] or not all(tagset.allowed[a, b] for a, b in zip(seq, seq[1:])):
            continue
        if any(seq[i] in inside for i in starts if 0 < i < n):
            continue
        if any(seq[i] != 0 and (i == n - 1 or not tagset.continue_allowed[seq[i], seq[i + 1]]) for i in no_end):
            continue
        score = sum(log_probs[i, t] for i, t in enumerate(seq))
        if score > best_score:
            best, best_score = list(seq), score
    return best, best_score


def test_viterbi_is_exact_and_valid():
    tagset = TagSet(["PER", "LOC"])
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.3, 2.0, 6.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        tags = tagset.viterbi(log_probs)
        _, best_score = _brute_force_best(tagset, log_probs)
        assert tagset.start_allowed[tags[0]] and all(tagset.allowed[a, b] for a, b in zip(tags, tags[1:]))
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(best_score)
    # long sequences: the same optimum as dynamic programming over the whole sequence
    tagset = TagSet(["PER", "ORG", "LOC", "WPN"])
    for _ in range(100):
        n = int(rng.integers(50, 400))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.5, 3.0, 8.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        tags, reference = tagset.viterbi(log_probs), tagset._viterbi_dp(log_probs)
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(sum(log_probs[i, t] for i, t in enumerate(reference)))
    assert tagset.viterbi(np.zeros((0, len(tagset)))) == []


def test_viterbi_with_units_that_may_not_end_an_entity_is_exact_and_valid():
    tagset = TagSet(["PER", "LOC"])
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.3, 2.0, 6.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        no_end = sorted(set(rng.integers(0, n, size=int(rng.integers(0, 3))).tolist()))
        starts = sorted(set(rng.integers(1, n + 1, size=int(rng.integers(0, 2))).tolist()))
        tags = tagset.viterbi(log_probs, starts=starts, no_end=no_end)
        _, best_score = _brute_force_best(tagset, log_probs, starts, no_end)
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(best_score)
        for i in no_end:  # an entity never ends on one
            assert tags[i] == 0 or (i < n - 1 and tagset.continue_allowed[tags[i], tags[i + 1]])
    # long sequences: the fast path gives the optimum of dynamic programming over the whole sequence
    tagset = TagSet(["PER", "ORG", "LOC", "WPN"])
    for _ in range(100):
        n = int(rng.integers(50, 400))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.5, 3.0, 8.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        no_end = sorted(set(rng.integers(0, n, size=n // 8).tolist()))
        hold = np.zeros(n, dtype=bool)
        hold[no_end] = True
        tags, reference = tagset.viterbi(log_probs, no_end=no_end), tagset._viterbi_dp(log_probs, hold)
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(sum(log_probs[i, t] for i, t in enumerate(reference)))
