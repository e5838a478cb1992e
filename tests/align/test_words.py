"""Word alignment on the tiny random encoder (behaviour, not quality) and link extraction."""

import numpy as np
import pytest

from defnlp.align.words import WordAligner, extract_links
from defnlp.errors import ConfigError, InputError
from defnlp.words import split_words


@pytest.fixture(scope="module")
def encoder():
    from defnlp.encoders import load_encoder

    return load_encoder("tiny-random-e5")


@pytest.fixture(scope="module")
def aligner(encoder):
    return WordAligner(encoder, layer=1, batch_size=4)


def test_argmax_keeps_mutual_best_matches_only():
    sim = np.array([[0.9, 0.8, 0.1], [0.85, 0.2, 0.1], [0.1, 0.1, 0.7]])
    assert {(l.src, l.tgt) for l in extract_links(sim, "argmax")} == {(0, 0), (2, 2)}


def test_itermax_adds_links_for_words_left_over():
    sim = np.array([[0.9, 0.8, 0.1], [0.85, 0.2, 0.1], [0.1, 0.1, 0.7]])
    links = {(l.src, l.tgt) for l in extract_links(sim, "itermax")}
    assert {(0, 0), (2, 2)} <= links and len(links) > 2


def test_softmax_threshold_and_min_score():
    sim = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert {(l.src, l.tgt) for l in extract_links(sim, "softmax")} == {(0, 0), (1, 1)}
    assert extract_links(sim, "argmax", min_score=0.95) == []
    with pytest.raises(ConfigError):
        extract_links(sim, "nope")


def test_raw_and_pretokenised_inputs_give_word_offsets(aligner):
    wa = aligner.align("L'OTAN a signé.", ["NATO", "signed", "."], src_lang="fr", tgt_lang="en")
    assert [w.text for w in wa.src_words] == ["L'", "OTAN", "a", "signé", "."]
    assert wa.tgt_text == "NATO signed ."
    for (s0, s1), (t0, t1), score in wa.char_links():
        assert wa.src_text[s0:s1] and wa.tgt_text[t0:t1] and -1.0 <= score <= 1.0
    assert all(0 <= l.src < 5 and 0 <= l.tgt < 3 for l in wa.links)


def test_batched_alignment_equals_one_pair_at_a_time(aligner):
    pairs = [("Le char Leclerc.", "The Leclerc tank."), ("Oui.", "Yes."),
             ("La frégate a quitté Toulon hier soir.", "The frigate left Toulon last night."), ("", "Empty source.")]
    batched = aligner.align_batch(pairs, src_lang="fr", tgt_lang="en")
    single = [aligner.align(s, t, src_lang="fr", tgt_lang="en") for s, t in pairs]
    assert [b.pairs() for b in batched] == [s.pairs() for s in single]
    assert batched[3].links == [] and batched[3].src_words == []


def test_long_sentences_are_chunked_not_truncated(encoder):
    small = WordAligner(encoder, layer=1)
    small.max_pieces = 8  # force several chunks
    words = [f"mot{k}" for k in range(40)]
    vectors = small.word_vectors([words], ["fr"])[0]
    assert vectors.shape[0] == 40
    assert np.all(np.linalg.norm(vectors, axis=1) > 0)  # every word got a vector


def test_centering_modes_and_first_piece_pooling_change_vectors(encoder):
    a = WordAligner(encoder, layer=1, center=None).word_vectors(["Bonjour la France"])[0]
    b = WordAligner(encoder, layer=1, center="sentence").word_vectors(["Bonjour la France"])[0]
    c = WordAligner(encoder, layer=1, center=None, subwords="first").word_vectors(["Bonjour la France"])[0]
    assert np.allclose(b, a - a.mean(0), atol=1e-5)
    assert a.shape == c.shape


def test_truncated_model_matches_the_full_hidden_state(aligner):
    import torch

    model = aligner.encoder.model
    ids = aligner.tokenizer(["Le ministre a signé."], return_tensors="pt")
    with torch.inference_mode():
        full = model(**ids, output_hidden_states=True).hidden_states[1]
        short = aligner._model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).last_hidden_state
    assert torch.allclose(full, short, atol=1e-5)


def test_bad_configuration_and_input_are_reported(encoder, aligner):
    with pytest.raises(ConfigError):
        WordAligner(encoder, layer=9)
    with pytest.raises(ConfigError):
        WordAligner(encoder, method="max")
    with pytest.raises(InputError):
        aligner.align(["two words"], ["ok"])  # a token with a space
    with pytest.raises(InputError):
        aligner.align(42, "ok")
    with pytest.raises(InputError):
        aligner.align_batch([("only one side",)])


# ---- the encoder pass runs on defnlp.inference (one batching path, one Runtime) -------------------
PAIRS = [("Le char Leclerc.", "The Leclerc tank."), ("Oui.", "Yes."),
         ("La frégate a quitté Toulon hier soir.", "The frigate left Toulon last night."),
         ("Le ministre des Armées a signé la lettre d'intention avec l'OTAN.", "The Minister of the Armed Forces signed the letter of intent with NATO."),
         ("Brest", "Brest")]


def test_batched_links_and_scores_are_identical_to_one_pair_at_a_time(encoder):
    batched = WordAligner(encoder, layer=1, batch_size=3, device="cpu", precision="fp32")
    batched.runtime.token_budget = 40  # several batches of different widths
    single = WordAligner(encoder, layer=1, batch_size=1, device="cpu", precision="fp32")
    a = batched.align_batch(PAIRS, src_lang="fr", tgt_lang="en")
    b = [single.align(s, t, src_lang="fr", tgt_lang="en") for s, t in PAIRS]
    c = list(batched.iter_align(iter(PAIRS), src_lang="fr", tgt_lang="en", buffer_pairs=2))
    assert [x.pairs() for x in a] == [x.pairs() for x in b] == [x.pairs() for x in c]
    assert all(x.pairs() for x in a)
    for x, y in zip(a, b):
        assert np.allclose([l.score for l in x.links], [l.score for l in y.links], atol=1e-5)


def test_word_vectors_equal_the_full_models_hidden_state_of_each_sentence(encoder):
    """What the aligner computed before it ran on the Runtime: layer `layer` of the whole model,
    one sentence at a time, mean over each word's pieces (no centering)."""
    import torch

    aligner = WordAligner(encoder, layer=1, center=None, batch_size=2, device="cpu", precision="fp32")
    sentences = [s for pair in PAIRS for s in pair]
    got = aligner.word_vectors(sentences, ["fr", "en"] * len(PAIRS))
    tok = encoder.tokenizer
    for text, vectors in zip(sentences, got):
        words = [w.text for w in split_words(text)]
        enc = tok(words, is_split_into_words=True, add_special_tokens=False)
        ids = aligner._special_before + aligner.prefix_ids + enc["input_ids"] + aligner._special_after
        with torch.inference_mode():
            states = encoder.model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[1][0]
        first = len(aligner._special_before) + len(aligner.prefix_ids)
        pieces = states[first : first + len(enc["input_ids"])]
        word_ids = enc.word_ids(0)
        expected = np.stack([pieces[[k for k, w in enumerate(word_ids) if w == i]].mean(0).numpy() for i in range(len(words))])
        assert np.allclose(vectors, expected, atol=1e-5)


def test_device_precision_and_a_shared_runtime(encoder):
    from defnlp.inference.runtime import Runtime

    aligner = WordAligner(encoder, layer=1, device="cpu", precision="fp32")
    assert aligner.runtime.precision == "fp32" and aligner.device.type == "cpu"
    shared = Runtime.create(device="cpu", precision="fp32")
    assert WordAligner(encoder, layer=1, runtime=shared).runtime is shared
    with pytest.raises(ConfigError, match="runtime"):
        WordAligner(encoder, layer=1, runtime=shared, precision="int8")
    with pytest.raises(ConfigError, match="precision"):
        WordAligner(encoder, layer=1, precision="fp64")


def test_int8_alignment_runs_on_the_runtimes_quantised_model(encoder):
    import torch

    fp32 = WordAligner(encoder, layer=1, device="cpu", precision="fp32")
    int8 = WordAligner(encoder, layer=1, device="cpu", precision="int8")
    assert int8.runtime.precision == "int8" and int8._model is not fp32._model
    a = fp32.word_vectors(["Le char Leclerc."], ["fr"])[0]
    b = int8.word_vectors(["Le char Leclerc."], ["fr"])[0]
    assert a.shape == b.shape and np.isfinite(b).all()
    assert type(encoder.model.encoder.layer[0].intermediate.dense) is torch.nn.Linear  # the shared encoder is untouched


def test_every_forward_goes_through_runtime_encode(encoder, monkeypatch):
    from defnlp.inference.runtime import Runtime

    calls = []
    original = Runtime.encode

    def counting(self, model, input_ids, attention_mask):
        calls.append(input_ids.shape)
        return original(self, model, input_ids, attention_mask)

    monkeypatch.setattr(Runtime, "encode", counting)
    aligner = WordAligner(encoder, layer=1, center=None, batch_size=2, device="cpu", precision="fp32")
    aligner.align_batch(PAIRS[:2])
    assert len(calls) == 2 and all(shape[0] <= 2 for shape in calls)  # 4 sentences, 2 per batch
