"""E5 sentence embeddings on the inference runtime (tiny random encoder: behaviour, not quality)."""

import numpy as np
import pytest
import torch

from defnlp.align.embeddings import E5Embedder, load_sentence_embedder
from defnlp.errors import ConfigError
from defnlp.inference.runtime import Runtime


@pytest.fixture(scope="module")
def encoder():
    from defnlp.encoders import load_encoder

    return load_encoder("tiny-random-e5")


def _reference(encoder, text, prefix="passage: "):
    """Mean-pooled last layer of the whole model, one text at a time, normalised."""
    ids = encoder.tokenizer([prefix + text], return_tensors="pt")
    with torch.inference_mode():
        states = encoder.model(**ids).last_hidden_state[0]
    v = states.mean(0).numpy()
    return v / np.linalg.norm(v)


def test_batched_embeddings_equal_one_text_at_a_time(encoder):
    texts = ["Bonjour.", "La frégate a appareillé de Toulon.", "The frigate sailed.", "OTAN", "Le ministre des Armées a signé."]
    emb = E5Embedder(encoder, batch_size=2, device="cpu", precision="fp32")
    emb.runtime.token_budget = 24  # several batches
    got = emb.encode(texts)
    assert got.shape == (5, 32) and got.dtype == np.float32
    assert np.allclose(got, np.stack([_reference(encoder, t) for t in texts]), atol=1e-5)


def test_long_texts_are_the_mean_of_their_windows(encoder):
    emb = E5Embedder(encoder, device="cpu", precision="fp32")
    emb.window = 6
    v = emb.encode(["un deux trois quatre cinq six sept huit neuf dix onze douze"])
    assert v.shape == (1, 32) and np.isclose(np.linalg.norm(v), 1.0)
    assert E5Embedder(encoder, device="cpu").encode([]).shape == (0, 32)


def test_device_precision_and_a_shared_runtime(encoder):
    shared = Runtime.create(device="cpu", precision="fp32")
    assert E5Embedder(encoder, runtime=shared).runtime is shared
    assert load_sentence_embedder("e5:tiny-random-e5", precision="fp32").runtime.precision == "fp32"
    int8 = E5Embedder(encoder, device="cpu", precision="int8")
    fp32 = E5Embedder(encoder, device="cpu", precision="fp32")
    texts = ["Le char Leclerc.", "The Leclerc tank."]
    assert int8._model is not encoder.model and fp32._model is encoder.model
    assert np.abs(int8.encode(texts) - fp32.encode(texts)).max() < 0.2
    with pytest.raises(ConfigError):
        E5Embedder(encoder, runtime=shared, device="cpu")
    with pytest.raises(ConfigError):
        E5Embedder(encoder, batch_size=0)
