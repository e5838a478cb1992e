"""The inference engine: documents → tokens → windows → batches → one encoder pass → per-token outputs.

The engine knows tokens, windows and batches; what its outputs mean (entities, relations) is
the business of its callers (:mod:`defnlp.pipeline` composes :mod:`defnlp.ner.decoding` and
:mod:`defnlp.relations.model`).

1. each document is tokenized once, with the exact character span of every token. The
   tokenizer reads the document's model view (:func:`defnlp.layout.model_view`: words
   hyphenated across a line break joined, ``opéra-⏎tionnel`` → ``opérationnel``), and every
   token span is mapped back to the original text; with no such hyphen the view is the text;
2. its tokens are covered by overlapping windows (:func:`defnlp.text.plan_windows`) that end
   at the document's sentence boundaries (``doc.sentences``) where possible — no text is ever
   truncated. The caller prepares documents (sentences and language,
   :func:`defnlp.doc.prepare_doc`); the engine neither splits sentences nor detects languages;
3. windows of many documents (a pool of ``pool_tokens``) are grouped by exact length into
   batches under a token budget (:func:`~defnlp.inference.batching.padded_batches` with
   ``same_length``, each window framed by the tokenizer's CLS and SEP tokens): no window is
   ever padded, so a document's numbers do not depend on the other documents of its pool — it
   gives the same bits alone, in any stream, or in a resumed run (fp32 on CPU, bf16/fp16 on
   GPU). int8 cannot promise it (one activation scale per batch), so its windows go in
   length-sorted padded batches instead, which are faster, and so do CPU bf16's (AMX tiles:
   1.36x faster padded) (:attr:`Runtime.exact_length_batches
   <defnlp.inference.runtime.Runtime.exact_length_batches>`);
4. the encoder runs once per batch through :meth:`Runtime.encode_with_heads
   <defnlp.inference.runtime.Runtime.encode_with_heads>` — the one encoder pass of the library
   (aligners and embedders use it too): device, ``torch.inference_mode``, autocast and
   precision are the runtime's; every token head reads the same hidden states, and each token
   takes its outputs (and, when asked, its hidden state) from the window that owns it;
5. each document comes out, in input order, as a :class:`DocEncoding` — or as the
   :class:`~defnlp.errors.DefnlpError` that kept it from being encoded.

Memory is bounded by the pool, not by the corpus: documents stream through.

>>> engine = Engine(model, tokenizer, [TokenHead("ner", head)], Runtime.create())   # doctest: +SKIP
>>> for enc in engine.run(docs, hidden=True):                                        # doctest: +SKIP
...     enc.token_spans, enc.outputs["ner"].shape, enc.hidden.shape
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ..doc import Doc, prepare_doc
from ..errors import DefnlpError, InputError
from ..layout import ViewMap, model_view
from ..text import Window, plan_windows, token_sentence_starts, trim_span
from .batching import PaddedBatch, padded_batches
from .runtime import Runtime, release_free_memory

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

__all__ = ["Engine", "DocEncoding", "TokenHead"]

#: tokenize huge texts in chunks of about this many characters (cut at sentence boundaries)
TOKENIZE_CHUNK_CHARS = 100_000


@dataclass
class TokenHead:
    """A head that maps hidden states ``(B, T, H)`` to per-token outputs ``(B, T, K)``.

    With ``log_softmax`` the engine returns log-probabilities over the ``K`` outputs, otherwise
    the raw outputs.
    """

    name: str
    module: nn.Module
    log_softmax: bool = True


@dataclass(eq=False)
class DocEncoding:
    """What the engine computed for one document (tokens exclude the special tokens).

    ``token_spans[i]`` is the character span of token ``i`` in ``doc.text``, without the
    surrounding whitespace (empty spans ``(a, a)`` for tokens that cover no character); a
    token of a word joined across a line break (:func:`defnlp.layout.model_view`) covers the
    removed hyphen and line break when it straddles them;
    ``outputs[name]`` is the ``(n_tokens, K)`` float32 output of the head ``name`` (log-probs
    for a ``log_softmax`` head); ``hidden`` the ``(n_tokens, H)`` float32 final hidden states
    when :meth:`Engine.run` was asked for them (``hidden=True``), else ``None``; ``windows``
    the windows the tokens were encoded in; ``joins`` the ranges of ``doc.text`` that the model
    view removed (:func:`defnlp.layout.hyphen_joins`, computed once here: give them to
    :func:`defnlp.ner.decoding.decode_entities`).

    >>> enc = DocEncoding(Doc("Brest"), np.array([1, 2]), [(0, 3), (3, 5)])
    >>> enc.n_tokens, [enc.doc.text[a:b] for a, b in enc.token_spans]
    (2, ['Bre', 'st'])
    """

    doc: Doc
    token_ids: np.ndarray
    token_spans: list[tuple[int, int]]
    windows: list[Window] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    hidden: np.ndarray | None = None
    joins: list[tuple[int, int]] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


class Engine:
    """Runs an encoder and its token heads over streams of documents.

    ``max_tokens`` bounds a window (special tokens excluded; at most what the encoder's
    positions allow), ``overlap`` is the context shared by consecutive windows. An engine holds
    no state between calls: several :meth:`run` iterations may be in progress at once.

    >>> engine = Engine(encoder, tokenizer, [TokenHead("ner", ner_head)], Runtime.create(device="cpu"))  # doctest: +SKIP
    >>> engine = defnlp.load().engine          # the pipeline's engine                                 # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        heads: Sequence[TokenHead],
        runtime: Runtime,
        max_tokens: int = 254,
        overlap: int = 32,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.heads = list(heads)
        self.runtime = runtime
        model_max = int(getattr(getattr(model, "config", None), "max_position_embeddings", 512))
        self.max_tokens = max(8, min(max_tokens, model_max - 2))
        self.overlap = overlap
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id

    # ------------------------------------------------------------------------------------------
    # running
    # ------------------------------------------------------------------------------------------
    def run(self, docs: Iterable[Doc], *, hidden: bool = False) -> Iterator[DocEncoding | DefnlpError]:
        """One result per document, in input order: its :class:`DocEncoding`, or the error for it.

        ``hidden=True`` also returns each document's final hidden states (``DocEncoding.hidden``).
        Documents are read ahead in pools (``runtime.pool_tokens`` / ``pool_docs``); give them
        prepared (sentences set, see :func:`defnlp.doc.prepare_doc`): windows end at
        ``doc.sentences``.

        >>> [type(r).__name__ for r in engine.run([Doc("La DGA."), Doc(None)])]   # doctest: +SKIP
        ['DocEncoding', 'InputError']
        """
        pool: list[Doc] = []
        pool_tokens = 0
        for doc in docs:
            pool.append(doc)
            pool_tokens += _estimate_tokens(doc)
            if pool_tokens >= self.runtime.pool_tokens or len(pool) >= self.runtime.pool_docs:
                yield from self._run_pool(pool, hidden)
                pool, pool_tokens = [], 0
        if pool:
            yield from self._run_pool(pool, hidden)

    def hidden_states(self, docs: Iterable[Doc]) -> Iterator[tuple[Doc, np.ndarray, list[tuple[int, int]]]]:
        """Each document's final hidden states ``(tokens, H)`` and token character spans, in input order.

        For heads that read the encoder's states outside the pipeline (relation training and
        gold-entity evaluation). Each yielded document is a copy of the input with its
        annotations, given the pipeline's sentences (:func:`~defnlp.doc.prepare_doc`) when it
        had none, so that windows and anything drawn per sentence match the pipeline. A
        document that cannot be encoded raises its error.

        >>> for doc, hidden, spans in engine.hidden_states([gold_doc]):   # doctest: +SKIP
        ...     hidden.shape == (len(spans), 384)
        True
        """
        for result in self.run((prepare_doc(doc.copy(), detect_lang=False) for doc in docs), hidden=True):
            if isinstance(result, DefnlpError):
                raise result
            yield result.doc, result.hidden, result.token_spans  # type: ignore[misc]

    # ------------------------------------------------------------------------------------------
    # one pool of documents
    # ------------------------------------------------------------------------------------------
    def prepare(self, docs: Sequence[Doc]) -> list[DocEncoding | DefnlpError]:
        """Tokenize documents (exact character spans) and plan their windows; no encoder pass yet.

        >>> (enc,) = engine.prepare([prepare_doc(Doc(text))])               # doctest: +SKIP
        >>> sum(w.own_end - w.own_start for w in enc.windows) == enc.n_tokens  # doctest: +SKIP
        True
        """
        chunks: list[str] = []
        owners: list[tuple[int, int]] = []  # (document position, char offset of the chunk in the view)
        errors: dict[int, DefnlpError] = {}
        maps: dict[int, ViewMap] = {}
        for pos, doc in enumerate(docs):
            if not isinstance(doc.text, str):
                errors[pos] = InputError(f"document {doc.id!r} has no text string")
                continue
            view, maps[pos] = model_view(doc.text)
            starts = [s.start for s in doc.sentences]
            if not maps[pos].identity:  # never cut a chunk inside a joined word
                glued = {end for _, end in maps[pos].joins}
                starts = [maps[pos].to_view(a) for a in starts if a not in glued]
            for start, end in _chunk_bounds(view, starts):
                chunks.append(view[start:end])
                owners.append((pos, start))
            del view
        ids: list[list[np.ndarray]] = [[] for _ in docs]
        spans: list[list[tuple[int, int]]] = [[] for _ in docs]
        if chunks:
            encoded = self.tokenizer(chunks, add_special_tokens=False, return_offsets_mapping=True,
                                     return_attention_mask=False, return_token_type_ids=False)
            for (pos, offset), chunk_ids, offsets in zip(owners, encoded["input_ids"], encoded["offset_mapping"]):
                text = docs[pos].text
                ids[pos].append(np.asarray(chunk_ids, dtype=np.int64))
                if not maps[pos].identity:  # view offsets -> offsets in the original text
                    offsets, offset = maps[pos].spans(offsets, offset), 0
                # document offsets without the whitespace that "▁" tokens include, in one pass
                spans[pos].extend(trim_span(text, a + offset, b + offset) if b > a else (a + offset, a + offset)
                                  for a, b in offsets)
        out: list[DocEncoding | DefnlpError] = []
        for pos, doc in enumerate(docs):
            if pos in errors:
                out.append(errors[pos])
                continue
            token_ids = np.concatenate(ids[pos]) if ids[pos] else np.zeros(0, np.int64)
            starts = [a for a, _ in spans[pos]]
            sent_starts = token_sentence_starts(starts, [(s.start, s.end) for s in doc.sentences])
            windows = plan_windows(len(token_ids), self.max_tokens, self.overlap, sent_starts)
            out.append(DocEncoding(doc, token_ids, spans[pos], windows, joins=maps[pos].joins))
        return out

    def _run_pool(self, pool: list[Doc], hidden: bool) -> Iterator[DocEncoding | DefnlpError]:
        results = self.prepare(pool)
        encodings = [r for r in results if isinstance(r, DocEncoding)]
        widths = {head.name: _out_features(head.module) for head in self.heads}
        hidden_size = int(self.model.config.hidden_size) if hidden else 0
        for enc in encodings:
            enc.outputs = {name: np.zeros((enc.n_tokens, k), dtype=np.float32) for name, k in widths.items()}
            if hidden:
                enc.hidden = np.zeros((enc.n_tokens, hidden_size), dtype=np.float32)
        tasks = [(enc, w) for enc in encodings for w in enc.windows]
        del encodings
        windows = [enc.token_ids[w.start : w.end] for enc, w in tasks]  # views, no copy
        for batch in padded_batches(windows, self.pad_id, token_budget=self.runtime.token_budget,
                                    max_batch=self.runtime.max_batch, before=[self.cls_id], after=[self.sep_id],
                                    same_length=self.runtime.exact_length_batches):
            self._forward(batch, [tasks[i] for i in batch.indices], hidden)
        del tasks, windows
        results.reverse()
        while results:
            yield results.pop()  # the caller owns it now: the engine keeps no reference
        release_free_memory()

    @torch.inference_mode()
    def _forward(self, batch: PaddedBatch, rows: list[tuple[DocEncoding, Window]], hidden: bool) -> None:
        """One padded batch through the runtime's encoder pass; row ``r`` is the window ``rows[r]``."""
        states, logits = self.runtime.encode_with_heads(self.model, batch.input_ids, batch.attention_mask,
                                                        [head.module for head in self.heads])
        outs = {}
        for head, out in zip(self.heads, logits):
            out = out.float()
            outs[head.name] = (torch.log_softmax(out, dim=-1) if head.log_softmax else out).cpu().numpy()
        del logits
        states_np = states.float().cpu().numpy() if hidden else None
        del states
        for row, (enc, w) in enumerate(rows):
            a, b = w.own_start - w.start + batch.offset, w.own_end - w.start + batch.offset
            for name, arr in outs.items():
                enc.outputs[name][w.own_start : w.own_end] = arr[row, a:b]
            if states_np is not None:
                enc.hidden[w.own_start : w.own_end] = states_np[row, a:b]  # type: ignore[index]


def _out_features(module: nn.Module) -> int:
    n = getattr(module, "out_features", None)
    if n is None:
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        n = linears[-1].out_features
    return int(n)


def _estimate_tokens(doc: Doc) -> int:
    return max(1, len(doc.text) // 4) if isinstance(doc.text, str) else 1


def _chunk_bounds(text: str, sentence_starts: Sequence[int]) -> list[tuple[int, int]]:
    """Character ranges to tokenize separately: whole text, or ~100k-char runs of sentences."""
    if len(text) <= TOKENIZE_CHUNK_CHARS or not sentence_starts:
        return [(0, len(text))] if text else []
    bounds = []
    start = 0
    for s in sentence_starts:
        if s - start >= TOKENIZE_CHUNK_CHARS:
            bounds.append((start, s))
            start = s
    bounds.append((start, len(text)))
    # a single sentence longer than the chunk size is cut at whitespace
    out = []
    for a, b in bounds:
        while b - a > 2 * TOKENIZE_CHUNK_CHARS:
            cut = text.rfind(" ", a + TOKENIZE_CHUNK_CHARS // 2, a + TOKENIZE_CHUNK_CHARS)
            cut = cut if cut > a else a + TOKENIZE_CHUNK_CHARS
            out.append((a, cut))
            a = cut
        out.append((a, b))
    return out
