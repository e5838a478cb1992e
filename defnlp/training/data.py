"""Training data: ``Doc`` lists → HF ``datasets`` of tokenized, labelled windows.

Documents come from data sources read through the corpus registry
(:class:`defnlp.io.corpora.DataSource`, :func:`defnlp.io.corpora.load_source`); a source's
``annotated`` labels reach :func:`encode_doc` as ``doc.meta["annotated"]``: where a corpus
that does not annotate ROLE says ``O``, the loss accepts ROLE too (partial-label learning).
Each document is tokenized once (fast tokenizer, offsets), cut into windows like at
inference time, and every window becomes one example with its unit-level tags on the head
tokens (sub-word continuations are ignored, ``-100``).

Training sees the text inference sees: the tokenizer reads the document's model view
(:func:`defnlp.layout.model_view`, words hyphenated across a line break joined), token spans
are mapped back to the original text, and a joined word is one unit (``joins`` of
:func:`~defnlp.ner.tagging.make_units`). Gold entities keep their original offsets: an entity
that covers any part of ``opéra-⏎tionnel`` covers the unit of the joined word, exactly as
if its offsets were moved into the view.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Sequence

import numpy as np

from ..doc import Doc
from ..errors import TrainingError
from ..layout import model_view
from ..ner.tagging import make_units, trimmed_token_spans
from ..tags import TagSet, flatten_spans
from ..text import plan_windows, split_sentences, token_sentence_starts

log = logging.getLogger(__name__)

__all__ = ["windows_dataset", "oversampled_passes", "epoch_batches"]


def encode_doc(doc: Doc, tokenizer, tagset: TagSet, max_tokens: int, overlap: int = 32) -> list[dict[str, Any]]:
    """Tokenize and label one document: one example per window."""
    text = doc.text
    if not text.strip():
        return []
    view, to_original = model_view(text)
    enc = tokenizer(view, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    offsets = enc["offset_mapping"] if to_original.identity else to_original.spans(enc["offset_mapping"])
    spans = trimmed_token_spans(text, offsets)
    units = make_units(text, spans, joins=to_original.joins)
    gold = flatten_spans([(e.start, e.end, e.label) for e in doc.entities if e.label in tagset.labels])
    tags = tagset.encode(units, gold)
    token_tags = np.full(len(ids), -100, dtype=np.int64)
    ignore = sorted(tuple(x) for x in doc.meta.get("ignore_spans") or [])
    for unit, tag in zip(units, tags):
        if tag == 0 and ignore and any(a < unit.end and unit.start < b for a, b in ignore):
            continue  # inside a span of a type the scheme drops (e.g. WiNER Product): no supervision
        token_tags[unit.token] = tag
    annotated = doc.meta.get("annotated")
    free = sorted({tagset.labels.index(x) for x in tagset.labels if annotated is not None and x not in annotated})
    sentences = doc.sentences and [(s.start, s.end) for s in doc.sentences] or split_sentences(text)
    starts = token_sentence_starts([a for a, _ in spans], sentences)
    examples = []
    for w in plan_windows(len(ids), max_tokens, overlap, starts):
        examples.append({
            "input_ids": [tokenizer.cls_token_id] + list(ids[w.start : w.end]) + [tokenizer.sep_token_id],
            "tags": [-100] + token_tags[w.start : w.end].tolist() + [-100],
            "free_labels": free,
            "doc_id": str(doc.id),
        })
    return examples


def windows_dataset(docs: Sequence[Doc], tokenizer, tagset: TagSet, max_tokens: int, overlap: int = 32):
    """A ``datasets.Dataset`` of labelled windows (columns input_ids, tags, free_labels, doc_id, and
    doc_index: the position in ``docs`` of the window's document)."""
    from datasets import Dataset

    rows: dict[str, list] = {"input_ids": [], "tags": [], "free_labels": [], "doc_id": [], "doc_index": []}
    for index, doc in enumerate(docs):
        for ex in encode_doc(doc, tokenizer, tagset, max_tokens, overlap):
            ex["doc_index"] = index
            for k in rows:
                rows[k].append(ex[k])
    if not rows["input_ids"]:
        raise TrainingError("the training data produced no examples (empty documents?)")
    return Dataset.from_dict(rows)


def collate(examples: Sequence[dict[str, Any]], tagset: TagSet, pad_id: int):
    """Pad a batch and build the allowed-tag mask ``(B, T, K)`` for the partial-label loss."""
    import torch

    longest = max(len(e["input_ids"]) for e in examples)
    b, k = len(examples), len(tagset)
    ids = torch.full((b, longest), pad_id, dtype=torch.long)
    mask = torch.zeros((b, longest), dtype=torch.long)
    allowed = torch.zeros((b, longest, k), dtype=torch.bool)
    for row, ex in enumerate(examples):
        n = len(ex["input_ids"])
        ids[row, :n] = torch.tensor(ex["input_ids"])
        mask[row, :n] = 1
        tags = torch.tensor(ex["tags"])
        pos = (tags >= 0).nonzero(as_tuple=True)[0]
        allowed[row, pos, tags[pos]] = True
        if ex["free_labels"]:
            o_pos = pos[tags[pos] == 0]
            for label_index in ex["free_labels"]:
                label = tagset.labels[label_index]
                allowed[row, o_pos, tagset.begin_id(label)] = True
                allowed[row, o_pos, tagset.inside_id(label)] = True
    return ids, mask, allowed


def length_grouped_batches(lengths: Sequence[int], token_budget: int, rng: random.Random, max_batch: int = 64) -> list[list[int]]:
    """Shuffled batches of similar-length examples, each under ``token_budget`` padded tokens."""
    from ..inference.batching import pack_batches

    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    chunk = max(1, 50 * max_batch)
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        for b in pack_batches([lengths[j] for j in part], token_budget, max_batch):
            batches.append([part[j] for j in b])
    rng.shuffle(batches)
    return batches


def oversampled_passes(flagged: Sequence[bool], factor: float, rng: random.Random) -> list[list[int]]:
    """The passes of one epoch over ``len(flagged)`` windows, each flagged window ``factor`` times.

    Pass 0 holds every window once; ``int(factor) - 1`` more passes hold each flagged window
    once; a fractional part ``f`` adds one last pass holding each flagged window with
    probability ``f`` (one ``rng.random()`` draw per flagged window, in order), so a flagged
    window is seen ``factor`` times on average, exactly ``factor`` times for an integer.
    Separate passes put the copies of a window in different batches (one pass groups by
    length, which would otherwise pack identical copies together). ``factor = 1`` or no
    flagged window gives ``[[0, 1, ..., n - 1]]`` and draws nothing.

    >>> oversampled_passes([False, True, False], 3, random.Random(0))
    [[0, 1, 2], [1], [1]]
    """
    passes = [list(range(len(flagged)))]
    chosen = [i for i, f in enumerate(flagged) if f]
    if not chosen or factor <= 1:
        return passes
    whole, fraction = int(factor), factor - int(factor)
    passes += [list(chosen) for _ in range(whole - 1)]
    if fraction > 0:
        extra = [i for i in chosen if rng.random() < fraction]
        if extra:
            passes.append(extra)
    return passes


def epoch_batches(lengths: Sequence[int], passes: Sequence[Sequence[int]], token_budget: int, rng: random.Random,
                  max_batch: int = 64) -> list[list[int]]:
    """Batches of window indices over the ``passes`` of an epoch (:func:`oversampled_passes`).

    Each pass is cut into shuffled length-grouped batches (:func:`length_grouped_batches`),
    then the batches of all passes are shuffled together. A single pass over every window
    gives exactly ``length_grouped_batches(lengths, ...)`` with the same ``rng`` draws.
    """
    if len(passes) == 1 and list(passes[0]) == list(range(len(lengths))):
        return length_grouped_batches(lengths, token_budget, rng, max_batch)
    batches: list[list[int]] = []
    for windows in passes:
        for b in length_grouped_batches([lengths[i] for i in windows], token_budget, rng, max_batch):
            batches.append([windows[j] for j in b])
    rng.shuffle(batches)
    return batches
