"""Word alignment of sentence pairs from contextual embeddings (SimAlign-style), batched.

Each word of both sentences gets a vector: the hidden state of a middle layer of the shared
encoder, averaged over the word's sub-word pieces. The cosine similarity matrix of the two
sentences' word vectors is turned into links by one of three extraction methods:

* ``"argmax"`` — a link where each word is the other's most similar word (mutual argmax;
  high precision, the default);
* ``"itermax"`` — argmax repeated on the words left unaligned, with a discount for words that
  already have a link (SimAlign's IterMax; more recall);
* ``"softmax"`` — a link where both row- and column-softmax of the similarities (sharpened by a
  temperature) exceed a threshold (awesome-align's extraction).

Vectors can be mean-centred per language before the cosine (``center="language"``: the mean
word vector of each language is estimated once from bundled calibration sentences; or
``"sentence"``: each sentence's own mean), which removes the language-specific offset that
multilingual encoders carry. Inputs are raw strings (cut into words by
:func:`defnlp.words.split_words`, with character offsets) or pre-tokenised lists of words.

The encoder runs on :mod:`defnlp.inference`, as under NER: sentences are length-bucketed and
padded per batch (:func:`~defnlp.inference.batching.padded_batches`), and run by a
:class:`~defnlp.inference.runtime.Runtime` (device, precision — fp32, int8, bf16/fp16 where it
allows them — threads) through only the layers needed
(:func:`~defnlp.inference.runtime.truncate_layers`). Sentences longer than the encoder's window
are encoded in consecutive chunks — nothing is truncated.

>>> aligner = WordAligner("tiny-random-e5")                      # doctest: +SKIP
>>> wa = aligner.align("Le ministre a signé.", "The minister signed.")  # doctest: +SKIP
>>> [(wa.src_words[i].text, wa.tgt_words[j].text) for i, j, _ in wa.links]  # doctest: +SKIP
[('Le', 'The'), ('ministre', 'minister'), ('signé', 'signed'), ('.', '.')]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError, InputError
from ..inference.batching import padded_batches, special_tokens_around
from ..inference.runtime import Runtime, resolve_runtime
from ..text import detect_language
from ..words import Word, split_words, words_from_tokens

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LAYER",
    "DEFAULT_PREFIX",
    "METHODS",
    "AlignInput",
    "WordAligner",
    "WordAlignment",
    "WordLink",
    "extract_links",
]

AlignInput = str | Sequence[str]  # a raw sentence or its tokens
METHODS = ("argmax", "itermax", "softmax")
CENTERING = ("language", "sentence", None)
# chosen on the 37 Hansards trial pairs (benchmarks/alignment.py --only aer), never on the test set
DEFAULT_LAYER = 7
DEFAULT_PREFIX = "query: "


class WordLink(NamedTuple):
    """A link between word ``src`` of the source sentence and word ``tgt`` of the target."""

    src: int
    tgt: int
    score: float


@dataclass
class WordAlignment:
    """The words of a sentence pair and the links between them (word indices and offsets).

    ``src_words[i].start/end`` are character offsets into ``src_text`` (for pre-tokenised input,
    into the tokens joined by single spaces).

    >>> from defnlp.words import split_words
    >>> wa = WordAlignment("la guerre", "the war", split_words("la guerre"), split_words("the war"),
    ...                    [WordLink(0, 0, 0.9), WordLink(1, 1, 0.8)])
    >>> wa.char_links()[1]
    ((3, 9), (4, 7), 0.8)
    >>> sorted(wa.pairs())
    [(0, 0), (1, 1)]
    """

    src_text: str
    tgt_text: str
    src_words: list[Word]
    tgt_words: list[Word]
    links: list[WordLink] = field(default_factory=list)

    def pairs(self) -> set[tuple[int, int]]:
        """The links as a set of ``(src_index, tgt_index)``."""
        return {(link.src, link.tgt) for link in self.links}

    def char_links(self) -> list[tuple[tuple[int, int], tuple[int, int], float]]:
        """The links as ``((src_start, src_end), (tgt_start, tgt_end), score)``."""
        out = []
        for link in self.links:
            s, t = self.src_words[link.src], self.tgt_words[link.tgt]
            out.append(((s.start, s.end), (t.start, t.end), link.score))
        return out

    def src_to_tgt(self) -> dict[int, list[int]]:
        """For each linked source word, the target words it is linked to."""
        out: dict[int, list[int]] = {}
        for link in self.links:
            out.setdefault(link.src, []).append(link.tgt)
        return out

    def tgt_to_src(self) -> dict[int, list[int]]:
        """For each linked target word, the source words it is linked to."""
        out: dict[int, list[int]] = {}
        for link in self.links:
            out.setdefault(link.tgt, []).append(link.src)
        return out

    def reversed(self) -> WordAlignment:
        """The same alignment seen from the target side."""
        return WordAlignment(
            self.tgt_text, self.src_text, self.tgt_words, self.src_words,
            [WordLink(link.tgt, link.src, link.score) for link in self.links],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": self.src_text,
            "tgt": self.tgt_text,
            "links": [[link.src, link.tgt, round(float(link.score), 4)] for link in self.links],
        }


# ------------------------------------------------------------------------------------------------
# link extraction from a similarity matrix
# ------------------------------------------------------------------------------------------------
def _mutual_argmax(sim: np.ndarray) -> np.ndarray:
    n, m = sim.shape
    forward = np.zeros((n, m), dtype=bool)
    forward[np.arange(n), sim.argmax(1)] = True
    backward = np.zeros((n, m), dtype=bool)
    backward[sim.argmax(0), np.arange(m)] = True
    return forward & backward


def _itermax(sim: np.ndarray, iterations: int = 2, discount: float = 0.9) -> np.ndarray:
    links = _mutual_argmax(sim)
    if min(sim.shape) <= 2:
        return links
    for _ in range(iterations - 1):
        row_done = links.any(1)[:, None]
        col_done = links.any(0)[None, :]
        if row_done.all() or col_done.all():
            break
        # both words free: full similarity; one already linked: discounted; both linked: excluded
        weight = np.where(row_done & col_done, 0.0, np.where(row_done | col_done, discount, 1.0))
        shifted = (sim - sim.min() + 1e-3) * weight  # positive, so that excluded cells (0) never win
        new = _mutual_argmax(shifted) & (weight > 0)
        if not (new & ~links).any():
            break
        links |= new
    return links


def _softmax_links(sim: np.ndarray, temperature: float, threshold: float) -> np.ndarray:
    logits = sim / temperature
    rows = np.exp(logits - logits.max(1, keepdims=True))
    rows /= rows.sum(1, keepdims=True)
    cols = np.exp(logits - logits.max(0, keepdims=True))
    cols /= cols.sum(0, keepdims=True)
    return (rows > threshold) & (cols > threshold)


def extract_links(
    sim: np.ndarray,
    method: str = "argmax",
    *,
    iterations: int = 2,
    discount: float = 0.9,
    temperature: float = 0.005,
    threshold: float = 1e-3,
    min_score: float | None = None,
) -> list[WordLink]:
    """Turn a ``(n_src, n_tgt)`` similarity matrix into links, sorted by source then target.

    >>> sim = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> [tuple(l)[:2] for l in extract_links(sim)]
    [(0, 0), (1, 1)]
    """
    if sim.size == 0:
        return []
    if method == "argmax":
        mask = _mutual_argmax(sim)
    elif method == "itermax":
        mask = _itermax(sim, iterations, discount)
    elif method == "softmax":
        mask = _softmax_links(sim, temperature, threshold)
    else:
        raise ConfigError(f"unknown word-alignment method {method!r}", f"use one of {', '.join(METHODS)}")
    if min_score is not None:
        mask &= sim >= min_score
    rows, cols = np.nonzero(mask)
    return [WordLink(int(i), int(j), float(sim[i, j])) for i, j in zip(rows, cols)]


# ------------------------------------------------------------------------------------------------
# the aligner
# ------------------------------------------------------------------------------------------------
@dataclass
class _Sentence:
    text: str
    words: list[Word]
    lang: str


@dataclass
class _Chunk:
    sentence: int  # index in the list being encoded
    piece_ids: list[int]
    piece_words: list[int]  # word index (within the sentence) of each piece


def _as_sentence(item: Any, lang: str | None) -> _Sentence:
    if isinstance(item, str):
        text, words = item, split_words(item)
    elif isinstance(item, (list, tuple)) and all(isinstance(t, str) for t in item):
        if any(not t or any(ch.isspace() for ch in t) for t in item):
            raise InputError(
                "pre-tokenised input has an empty token or a token with whitespace",
                "give a list of non-empty tokens without spaces, or pass the raw sentence as a string",
            )
        text, words = words_from_tokens(item)
    else:
        raise InputError(
            f"cannot word-align a {type(item).__name__}",
            "give each sentence as a string (raw text) or a list of token strings (pre-tokenised)",
        )
    return _Sentence(text, words, lang or detect_language(text))


def _calibration_sentences(lang: str) -> list[str]:
    with resources.files("defnlp.resources").joinpath("align/calibration.json").open("r", encoding="utf-8") as fh:
        data = json.load(fh)
    return list(data[lang])


class WordAligner:
    """SimAlign-style word aligner over a middle layer of an encoder, batched on CPU and GPU.

    ``encoder``: an encoder name for :func:`defnlp.encoders.load_encoder` (default
    ``multilingual-e5-small``) or a loaded :class:`defnlp.encoders.Encoder`. ``layer``: which
    hidden state (0 = embeddings). ``method``: ``argmax``, ``itermax`` or ``softmax``.
    ``center``: ``"language"``, ``"sentence"`` or ``None``. ``subwords``: ``"mean"`` or
    ``"first"`` piece per word. ``prefix``: text put before every sentence (e5's ``"query: "``
    by default; ``None`` for encoders without that convention), its pieces are not aligned.
    ``batch_size``: at most this many sentences per forward pass (and at most the runtime's
    ``token_budget`` padded pieces). ``device`` / ``precision``: as for :func:`defnlp.load`
    (``"auto"``: the GPU when there is one; the runtime's fastest precision that keeps quality),
    or ``runtime``: a :class:`~defnlp.inference.runtime.Runtime` to share (e.g. the pipeline's).

    >>> aligner = WordAligner("tiny-random-e5", layer=1)
    >>> wa = aligner.align("Le ministre a signé.", ["The", "minister", "signed", "."])
    >>> [w.text for w in wa.src_words], len(wa.tgt_words)
    (['Le', 'ministre', 'a', 'signé', '.'], 4)
    """

    def __init__(
        self,
        encoder: Any = None,
        layer: int = DEFAULT_LAYER,
        method: str = "argmax",
        center: str | None = "language",
        subwords: str = "mean",
        prefix: str | None = DEFAULT_PREFIX,
        batch_size: int = 64,
        device: str | None = None,
        *,
        precision: str | None = None,
        runtime: Runtime | None = None,
        iterations: int = 2,
        discount: float = 0.9,
        temperature: float = 0.005,
        threshold: float = 1e-3,
        min_score: float | None = None,
    ) -> None:
        from ..encoders import Encoder, load_encoder

        if method not in METHODS:
            raise ConfigError(f"unknown word-alignment method {method!r}", f"use one of {', '.join(METHODS)}")
        if center not in CENTERING:
            raise ConfigError(f"unknown centering {center!r}", "use 'language', 'sentence' or None")
        if subwords not in ("mean", "first"):
            raise ConfigError(f"unknown sub-word pooling {subwords!r}", "use 'mean' or 'first'")
        if batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        self.encoder = encoder if isinstance(encoder, Encoder) else load_encoder(encoder)
        n_layers = int(self.encoder.info.num_layers or self.encoder.model.config.num_hidden_layers)
        if not (0 <= layer <= n_layers):
            raise ConfigError(f"layer {layer} does not exist: the encoder has {n_layers} layers", f"pick a layer in 0..{n_layers}")
        self.layer = layer
        self.method = method
        self.center = center
        self.subwords = subwords
        self.batch_size = batch_size
        self.extract_options = {"iterations": iterations, "discount": discount, "temperature": temperature,
                                "threshold": threshold, "min_score": min_score}
        self.runtime = resolve_runtime(runtime, device, precision)
        self.device = self.runtime.device
        self.tokenizer = self.encoder.tokenizer
        self.prefix_ids: list[int] = (
            self.tokenizer(prefix.strip(), add_special_tokens=False)["input_ids"] if prefix else []
        )
        self.prefix = prefix
        self._special_before, self._special_after = special_tokens_around(self.tokenizer)
        n_special = len(self._special_before) + len(self._special_after)
        max_positions = int(getattr(self.encoder.model.config, "max_position_embeddings", 512))
        # XLM-R style position ids start after the padding index
        if getattr(self.encoder.model.config, "model_type", "") in ("xlm-roberta", "roberta"):
            max_positions -= 2
        self.max_pieces = min(max_positions, int(getattr(self.tokenizer, "model_max_length", 10**6))) - n_special - len(self.prefix_ids)
        # the encoder cut after `layer` (weights shared), in the runtime's precision
        self._model = self.runtime.prepare_model(self.encoder.model, self.tokenizer, layers=layer)
        self._means: dict[str, Any] = {}

    # ---- encoding --------------------------------------------------------------------------------
    def _chunks(self, sentences: list[_Sentence]) -> list[_Chunk]:
        chunks: list[_Chunk] = []
        tokenised = self.tokenizer(
            [[w.text for w in s.words] or [""] for s in sentences],
            is_split_into_words=True,
            add_special_tokens=False,
        )
        for k, sentence in enumerate(sentences):
            if not sentence.words:
                continue
            ids = tokenised["input_ids"][k]
            word_ids = tokenised.word_ids(k)
            start = 0
            while start < len(ids):
                end = min(start + self.max_pieces, len(ids))
                if end < len(ids):  # do not cut a word in two
                    cut = end
                    while cut > start and word_ids[cut] == word_ids[cut - 1]:
                        cut -= 1
                    end = cut if cut > start else end
                pieces = [(i, w) for i, w in zip(ids[start:end], word_ids[start:end]) if w is not None]
                chunks.append(_Chunk(k, [p for p, _ in pieces], [w for _, w in pieces]))
                start = end
        return chunks

    def _forward(self, chunks: list[_Chunk]) -> list[Any]:
        """Hidden states (``[n_pieces, hidden]`` float32 tensors) of each chunk, same order."""
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        out: list[Any] = [None] * len(chunks)
        batches = padded_batches(
            [c.piece_ids for c in chunks], pad_id, token_budget=self.runtime.token_budget, max_batch=self.batch_size,
            before=self._special_before + self.prefix_ids, after=self._special_after,
        )
        for batch in batches:
            hidden = self.runtime.encode(self._model, batch.input_ids, batch.attention_mask).float().cpu()
            for r, i in enumerate(batch.indices):
                out[i] = hidden[r, batch.offset : batch.offset + len(chunks[i].piece_ids)]
        return out

    def word_vectors(self, sentences: Sequence[Any], langs: Sequence[str | None] | None = None, center: bool = True) -> list[np.ndarray]:
        """Contextual vectors ``[n_words, hidden]`` of each sentence's words (centred, not normalised).

        >>> aligner = WordAligner("tiny-random-e5", layer=1)
        >>> [v.shape for v in aligner.word_vectors(["Bonjour la France", ["Hello", "France"]])]
        [(3, 32), (2, 32)]
        """
        langs = list(langs) if langs is not None else [None] * len(sentences)
        prepared = [_as_sentence(s, lang) for s, lang in zip(sentences, langs)]
        return self._vectors(prepared, center)

    def _vectors(self, sentences: list[_Sentence], center: bool = True) -> list[np.ndarray]:
        import torch

        chunks = self._chunks(sentences)
        hidden = self._forward(chunks)
        dim = int(self.encoder.model.config.hidden_size)
        sums = [torch.zeros((len(s.words), dim)) for s in sentences]
        counts = [torch.zeros(len(s.words)) for s in sentences]
        for chunk, states in zip(chunks, hidden):
            index = torch.tensor(chunk.piece_words, dtype=torch.long)
            if self.subwords == "first":
                keep = torch.ones(len(index), dtype=torch.bool)
                keep[1:] = index[1:] != index[:-1]
                index, states = index[keep], states[keep]
            sums[chunk.sentence].index_add_(0, index, states)
            counts[chunk.sentence].index_add_(0, index, torch.ones(len(index)))
        vectors = []
        for sentence, s, c in zip(sentences, sums, counts):
            v = (s / c.clamp(min=1)[:, None]).numpy()
            if center and self.center == "sentence" and len(v):
                v = v - v[c.numpy() > 0].mean(0) if (c > 0).any() else v
            elif center and self.center == "language":
                v = v - self._language_mean(sentence.lang)
            v[c.numpy() == 0] = 0.0  # a word without pieces (e.g. a control character) matches nothing
            vectors.append(v)
        return vectors

    def _language_mean(self, lang: str) -> np.ndarray:
        if lang not in ("fr", "en"):
            return (self._language_mean("fr") + self._language_mean("en")) / 2
        if lang not in self._means:
            calib = [_Sentence(t, split_words(t), lang) for t in _calibration_sentences(lang)]
            vectors = self._vectors(calib, center=False)
            self._means[lang] = np.concatenate(vectors).mean(0)
        return self._means[lang]

    # ---- alignment -------------------------------------------------------------------------------
    def similarity(self, src_vectors: np.ndarray, tgt_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity matrix of two sets of word vectors."""
        a = src_vectors / np.maximum(np.linalg.norm(src_vectors, axis=1, keepdims=True), 1e-9)
        b = tgt_vectors / np.maximum(np.linalg.norm(tgt_vectors, axis=1, keepdims=True), 1e-9)
        return a @ b.T

    def align(self, src: Any, tgt: Any, src_lang: str | None = None, tgt_lang: str | None = None) -> WordAlignment:
        """Align one sentence pair (raw strings or token lists)."""
        return self.align_batch([(src, tgt)], src_lang=src_lang, tgt_lang=tgt_lang)[0]

    def align_batch(
        self,
        pairs: Iterable[tuple[Any, Any]],
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        progress: bool = False,
        buffer_pairs: int | None = None,
    ) -> list[WordAlignment]:
        """Align many sentence pairs; the encoder sees ``batch_size`` length-sorted sentences at a time."""
        return list(self.iter_align(pairs, src_lang, tgt_lang, progress, buffer_pairs))

    def iter_align(
        self,
        pairs: Iterable[tuple[Any, Any]],
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        progress: bool = False,
        buffer_pairs: int | None = None,
    ) -> Iterator[WordAlignment]:
        """Like :meth:`align_batch`, streaming: pairs are read and aligned ``buffer_pairs`` at a time."""
        from tqdm.auto import tqdm

        buffer_pairs = buffer_pairs or max(256, 16 * self.batch_size)
        total = len(pairs) if hasattr(pairs, "__len__") else None  # type: ignore[arg-type]
        bar = tqdm(total=total, unit="pair", desc="word alignment", disable=not progress)
        buffer: list[tuple[Any, Any]] = []
        try:
            for pair in pairs:
                buffer.append(pair)
                if len(buffer) >= buffer_pairs:
                    yield from self._align_buffer(buffer, src_lang, tgt_lang)
                    bar.update(len(buffer))
                    buffer = []
            if buffer:
                yield from self._align_buffer(buffer, src_lang, tgt_lang)
                bar.update(len(buffer))
        finally:
            bar.close()

    def _align_buffer(self, pairs: list[tuple[Any, Any]], src_lang: str | None, tgt_lang: str | None) -> list[WordAlignment]:
        for k, pair in enumerate(pairs):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise InputError(f"item {k} is not a (source, target) pair", "give pairs of sentences: [(src, tgt), ...]")
        sentences = [_as_sentence(s, src_lang) for s, _ in pairs] + [_as_sentence(t, tgt_lang) for _, t in pairs]
        vectors = self._vectors(sentences)
        n = len(pairs)
        out = []
        for k in range(n):
            src, tgt = sentences[k], sentences[n + k]
            sim = self.similarity(vectors[k], vectors[n + k])
            links = extract_links(sim, self.method, **self.extract_options)
            out.append(WordAlignment(src.text, tgt.text, src.words, tgt.words, links))
        return out

    def __repr__(self) -> str:
        return (f"WordAligner(encoder={self.encoder.info.name!r}, layer={self.layer}, method={self.method!r}, "
                f"center={self.center!r}, subwords={self.subwords!r}, device={str(self.device)!r}, "
                f"precision={self.runtime.precision!r})")
