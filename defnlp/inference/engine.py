"""The inference engine: documents → windows → batches → one encoder pass → heads → documents.

1. each document is split into sentences and tokenized once with character offsets;
2. its tokens are covered by overlapping windows (:func:`defnlp.text.plan_windows`), ending at
   sentence boundaries where possible — no text is ever truncated;
3. windows of many documents (a pool of ``pool_tokens``) are sorted by length and packed into
   batches under a padded-token budget (:func:`~defnlp.inference.batching.pack_batches`);
4. the encoder runs once per batch under ``torch.inference_mode`` (autocast on GPU); every
   token head (NER) reads the same hidden states, and each token takes its output from the
   window that owns it;
5. finished documents go to ``finish`` (decoding, relations) and come out in input order.

Memory is bounded by the pool, not by the corpus: documents stream through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ..doc import Doc, Sentence
from ..errors import DefnlpError, InputError
from ..ner.tagging import Unit, make_units, trimmed_token_spans
from ..text import Window, detect_language, plan_windows, split_sentences, token_sentence_starts
from .batching import pack_batches
from .runtime import Runtime, release_free_memory

log = logging.getLogger(__name__)

__all__ = ["Engine", "DocState", "TokenHead"]

#: tokenize huge texts in chunks of about this many characters (cut at sentence boundaries)
TOKENIZE_CHUNK_CHARS = 100_000


@dataclass
class TokenHead:
    """A head that maps hidden states ``(B, T, H)`` to per-token outputs ``(B, T, K)``."""

    name: str
    module: nn.Module
    log_softmax: bool = True


@dataclass
class DocState:
    """A document in flight: tokens, windows, and per-token outputs filled batch by batch."""

    index: int
    doc: Doc
    token_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    token_spans: list[tuple[int, int]] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    hidden: np.ndarray | None = None
    remaining: int = 0
    error: DefnlpError | None = None

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


class Engine:
    """Runs an encoder and its token heads over streams of documents.

    ``finish(state) -> Doc`` turns a completed :class:`DocState` into the output document.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        heads: Sequence[TokenHead],
        finish: Callable[[DocState], Doc],
        runtime: Runtime,
        max_tokens: int = 254,
        overlap: int = 32,
        keep_hidden: bool = False,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.heads = list(heads)
        self.finish = finish
        self.runtime = runtime
        model_max = int(getattr(getattr(model, "config", None), "max_position_embeddings", 512))
        self.max_tokens = max(8, min(max_tokens, model_max - 2))
        self.overlap = overlap
        self.keep_hidden = keep_hidden
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id
        self.stats = {"docs": 0, "tokens": 0, "windows": 0, "batches": 0, "padded_tokens": 0}

    # ------------------------------------------------------------------------------------------
    # preparation
    # ------------------------------------------------------------------------------------------
    def prepare(self, docs: Sequence[tuple[int, Doc]]) -> list[DocState]:
        """Sentence-split, language-tag and tokenize documents; plan their windows."""
        states = []
        chunks: list[str] = []
        owners: list[tuple[int, int]] = []  # (state position, char offset of the chunk)
        for index, doc in docs:
            state = DocState(index=index, doc=doc)
            states.append(state)
            try:
                if not isinstance(doc.text, str):
                    raise InputError(f"document {doc.id!r} has no text string")
                if not doc.sentences:
                    doc.sentences = [Sentence(a, b) for a, b in split_sentences(doc.text)]
                if doc.lang is None:
                    doc.lang = detect_language(doc.text)
                for start, end in _chunk_bounds(doc.text, doc.sentences):
                    chunks.append(doc.text[start:end])
                    owners.append((len(states) - 1, start))
            except DefnlpError as err:
                state.error = err
        ids_per_state: list[list[np.ndarray]] = [[] for _ in states]
        spans_per_state: list[list[tuple[int, int]]] = [[] for _ in states]
        if chunks:
            encoded = self.tokenizer(chunks, add_special_tokens=False, return_offsets_mapping=True,
                                     return_attention_mask=False, return_token_type_ids=False)
            for (pos, offset), ids, offs in zip(owners, encoded["input_ids"], encoded["offset_mapping"]):
                ids_per_state[pos].append(np.asarray(ids, dtype=np.int64))
                spans_per_state[pos].extend((a + offset, b + offset) for a, b in offs)
        for pos, state in enumerate(states):
            if state.error is not None:
                continue
            text = state.doc.text
            state.token_ids = np.concatenate(ids_per_state[pos]) if ids_per_state[pos] else np.zeros(0, np.int64)
            state.token_spans = trimmed_token_spans(text, spans_per_state[pos])
            state.units = make_units(text, state.token_spans)
            starts = [a for a, _ in state.token_spans]
            sent_starts = token_sentence_starts(starts, [(s.start, s.end) for s in state.doc.sentences])
            state.windows = plan_windows(state.n_tokens, self.max_tokens, self.overlap, sent_starts)
            state.remaining = len(state.windows)
        return states

    # ------------------------------------------------------------------------------------------
    # running
    # ------------------------------------------------------------------------------------------
    def run(self, docs: Iterable[Doc]) -> Iterator[tuple[int, Doc | DefnlpError]]:
        """Yield ``(input index, annotated Doc or the error for that document)`` in input order."""
        pool: list[tuple[int, Doc]] = []
        pool_tokens = 0
        for index, doc in enumerate(docs):
            pool.append((index, doc))
            pool_tokens += _estimate_tokens(doc)
            if pool_tokens >= self.runtime.pool_tokens or len(pool) >= self.runtime.pool_docs:
                yield from self._run_pool(pool)
                pool, pool_tokens = [], 0
        if pool:
            yield from self._run_pool(pool)

    def hidden_states(self, docs: Iterable[Doc]) -> Iterator[tuple[Doc, np.ndarray, list[tuple[int, int]]]]:
        """Each document's final hidden states ``(tokens, H)`` and token character spans, in input order.

        For heads that read the encoder's states outside the pipeline (relation training and
        gold-entity evaluation). Each yielded document is a copy of the input with its
        annotations, given the engine's sentence split when it had none, so that anything
        drawn per sentence matches the pipeline. A document that cannot be encoded raises its
        error. The engine's ``finish`` and ``keep_hidden`` are restored afterwards.
        """
        originals: dict[int, Doc] = {}
        captured: dict[int, tuple[np.ndarray, list[tuple[int, int]], list[Sentence]]] = {}

        def feed() -> Iterator[Doc]:
            for index, doc in enumerate(docs):
                originals[index] = doc
                yield Doc(doc.text, id=doc.id, lang=doc.lang, sentences=list(doc.sentences))

        def finish(state: DocState) -> Doc:
            captured[state.index] = (state.hidden, list(state.token_spans), list(state.doc.sentences))
            return state.doc

        saved = self.finish, self.keep_hidden
        self.finish, self.keep_hidden = finish, True
        try:
            for index, result in self.run(feed()):
                original = originals.pop(index)
                if isinstance(result, DefnlpError):
                    raise result
                hidden, spans, sentences = captured.pop(index)
                doc = original.copy()
                if not doc.sentences:
                    doc.sentences = sentences
                yield doc, hidden, spans
        finally:
            self.finish, self.keep_hidden = saved

    def _run_pool(self, pool: list[tuple[int, Doc]]) -> Iterator[tuple[int, Doc | DefnlpError]]:
        states = self.prepare(pool)
        tasks: list[tuple[DocState, Window]] = [(s, w) for s in states if s.error is None for w in s.windows]
        for state in states:
            if state.error is None:
                self._allocate(state)
        lengths = [len(w) + 2 for _, w in tasks]
        for batch in pack_batches(lengths, self.runtime.token_budget, self.runtime.max_batch):
            self._forward([tasks[i] for i in batch])
        for state in states:
            if state.error is not None:
                yield state.index, state.error
                continue
            try:
                doc = self.finish(state)
                self.stats["docs"] += 1
                self.stats["tokens"] += state.n_tokens
                yield state.index, doc
            except DefnlpError as err:
                yield state.index, err
            finally:
                state.outputs.clear()
                state.hidden = None
        release_free_memory()

    def _allocate(self, state: DocState) -> None:
        n = state.n_tokens
        for head in self.heads:
            out_features = _out_features(head.module)
            state.outputs[head.name] = np.zeros((n, out_features), dtype=np.float32)
        if self.keep_hidden:
            hidden_size = int(self.model.config.hidden_size)
            state.hidden = np.zeros((n, hidden_size), dtype=np.float32)

    @torch.inference_mode()
    def _forward(self, batch: list[tuple[DocState, Window]]) -> None:
        longest = max(len(w) for _, w in batch) + 2
        ids = np.full((len(batch), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), longest), dtype=np.int64)
        for row, (state, w) in enumerate(batch):
            n = len(w)
            ids[row, 0] = self.cls_id
            ids[row, 1 : n + 1] = state.token_ids[w.start : w.end]
            ids[row, n + 1] = self.sep_id
            mask[row, : n + 2] = 1
        device = self.runtime.device
        input_ids = torch.from_numpy(ids).to(device, non_blocking=True)
        attention = torch.from_numpy(mask).to(device, non_blocking=True)
        with self.runtime.autocast():
            hidden = self.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            outs = {}
            for head in self.heads:
                logits = head.module(hidden)
                outs[head.name] = (torch.log_softmax(logits.float(), dim=-1) if head.log_softmax else logits.float()).cpu().numpy()
        hidden_np = hidden.float().cpu().numpy() if self.keep_hidden else None
        for row, (state, w) in enumerate(batch):
            a, b = w.own_start - w.start + 1, w.own_end - w.start + 1
            for name, arr in outs.items():
                state.outputs[name][w.own_start : w.own_end] = arr[row, a:b]
            if hidden_np is not None:
                state.hidden[w.own_start : w.own_end] = hidden_np[row, a:b]
            state.remaining -= 1
        self.stats["windows"] += len(batch)
        self.stats["batches"] += 1
        self.stats["padded_tokens"] += len(batch) * longest


def _out_features(module: nn.Module) -> int:
    n = getattr(module, "out_features", None)
    if n is None:
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        n = linears[-1].out_features
    return int(n)


def _estimate_tokens(doc: Doc) -> int:
    return max(1, len(doc.text) // 4) if isinstance(doc.text, str) else 1


def _chunk_bounds(text: str, sentences: Sequence[Sentence]) -> list[tuple[int, int]]:
    """Character ranges to tokenize separately: whole text, or ~100k-char runs of sentences."""
    if len(text) <= TOKENIZE_CHUNK_CHARS or not sentences:
        return [(0, len(text))] if text else []
    bounds = []
    start = 0
    for s in sentences:
        if s.start - start >= TOKENIZE_CHUNK_CHARS:
            bounds.append((start, s.start))
            start = s.start
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
