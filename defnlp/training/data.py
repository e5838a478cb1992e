"""Training data: sources → ``Doc`` lists → HF ``datasets`` of tokenized, labelled windows.

A *source* names where documents come from and which labels they annotate::

    [[train]]
    format = "re3d"          # re3d | winer_fr | markup | jsonl | conll | brat
    split = "train"          # for the corpora with fixed splits
    annotated = ["PER", "ORG", "LOC", "NAT", "DATE", "MONEY", "QUANTITY", "WEAPON", "PLATFORM", "DOCUMENT"]

``annotated`` matters for mixed corpora: a corpus that does not annotate ROLE says nothing
about ROLE, so where it says ``O`` the loss accepts ROLE too (partial-label learning).
Each document is tokenized once (fast tokenizer, offsets), cut into windows like at
inference time, and every window becomes one example with its unit-level tags on the head
tokens (sub-word continuations are ignored, ``-100``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..doc import Doc
from ..errors import ConfigError, TrainingError
from ..ner.tagging import TagSet, make_units, trimmed_token_spans
from ..text import plan_windows, split_sentences, token_sentence_starts

log = logging.getLogger(__name__)

__all__ = ["DataSource", "load_source", "windows_dataset", "flatten_for_bio"]

FORMATS = ("re3d", "winer_fr", "conll2003", "wikigold", "markup", "jsonl", "conll", "brat")


@dataclass
class DataSource:
    """One training or evaluation source (see the module docstring)."""

    format: str
    path: str = ""
    split: str = ""
    annotated: list[str] | None = None
    sample: float = 1.0
    defence_only: bool = False
    label_map: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"unknown data format {self.format!r}", f"formats: {', '.join(FORMATS)}")
        if self.format in ("markup", "jsonl", "conll", "brat") and not self.path:
            raise ConfigError(f"data source of format {self.format!r} needs a 'path'")
        if self.sample <= 0:
            raise ConfigError("'sample' must be > 0 (a fraction < 1 subsamples, > 1 repeats)")

    def describe(self) -> str:
        bits = [self.format]
        if self.split:
            bits.append(self.split)
        if self.path:
            bits.append(self.path)
        if self.sample != 1.0:
            bits.append(f"x{self.sample}")
        return ":".join(bits)


def load_source(source: DataSource, base_dir: str | Path = ".", seed: int = 0) -> list[Doc]:
    """Read a source into Docs (labels mapped, sampled)."""
    source.validate()
    path = Path(source.path) if source.path else None
    if path is not None and not path.is_absolute():
        path = Path(base_dir) / path
    fmt = source.format
    if fmt == "re3d":
        from ..io.corpora import load_re3d

        docs = load_re3d(split=source.split or None)
        if any(d.meta.get("bbc") for d in docs) and source.split != "test":
            raise TrainingError("re3d BBC documents (CC BY-NC) must never be used for training")
    elif fmt == "winer_fr":
        from ..io.corpora import load_winer_fr

        docs = load_winer_fr(split=source.split or None, defence_only=source.defence_only)
    elif fmt == "conll2003":
        from ..io.corpora import load_conll2003

        docs = load_conll2003(part=source.split or "testb")
    elif fmt == "wikigold":
        from ..io.corpora import load_wikigold

        docs = load_wikigold()
    elif fmt == "markup":
        from ..io.markup import read_markup_files

        docs = read_markup_files([path])
        if source.split:
            docs = [d for d in docs if d.meta.get("split", "train") == source.split]
    elif fmt == "jsonl":
        docs = [Doc.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif fmt == "conll":
        from ..io.conll import read_conll

        docs = read_conll(path)
    else:  # brat
        from ..io.brat import read_brat_dir

        docs = read_brat_dir(path)
    if source.label_map:
        for d in docs:
            keep = [e for e in d.entities if source.label_map.get(e.label, e.label)]
            for e in keep:
                e.label = source.label_map.get(e.label, e.label)
            d.entities = keep
            d.relations = []
    if source.sample != 1.0:
        rng = random.Random(seed)
        whole, frac = int(source.sample), source.sample - int(source.sample)
        docs = docs * whole + (rng.sample(docs, int(round(frac * len(docs)))) if frac else [])
    for d in docs:
        d.meta["annotated"] = source.annotated
        d.meta["source"] = source.describe()
    log.info("source %s: %d documents, %d entities", source.describe(), len(docs), sum(len(d.entities) for d in docs))
    return docs


def parse_corpus_spec(spec: str) -> DataSource:
    """``"re3d:test"``, ``"winer_fr:test:defence"``, ``"conll2003:testb"``, ``"wikigold"`` → a source.

    >>> parse_corpus_spec("winer_fr:test:defence")
    DataSource(format='winer_fr', path='', split='test', annotated=None, sample=1.0, defence_only=True, label_map={})
    """
    parts = spec.split(":")
    fmt = parts[0]
    if fmt not in ("re3d", "winer_fr", "conll2003", "wikigold"):
        raise ConfigError(f"unknown corpus {fmt!r}", "corpora: re3d, winer_fr, conll2003, wikigold (e.g. re3d:test)")
    split = parts[1] if len(parts) > 1 else ""
    defence = len(parts) > 2 and parts[2] == "defence"
    source = DataSource(format=fmt, split=split, defence_only=defence)
    source.validate()
    return source


def flatten_for_bio(entities: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Resolve overlapping spans for IOB2: keep the longest, then the earliest."""
    kept: list[tuple[int, int, str]] = []
    for s, e, label in sorted(entities, key=lambda t: (-(t[1] - t[0]), t[0])):
        if all(e <= ks or s >= ke for ks, ke, _ in kept):
            kept.append((s, e, label))
    return sorted(kept)


def encode_doc(doc: Doc, tokenizer, tagset: TagSet, max_tokens: int, overlap: int = 32) -> list[dict[str, Any]]:
    """Tokenize and label one document: one example per window."""
    text = doc.text
    if not text.strip():
        return []
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    spans = trimmed_token_spans(text, enc["offset_mapping"])
    units = make_units(text, spans)
    gold = flatten_for_bio([(e.start, e.end, e.label) for e in doc.entities if e.label in tagset.labels])
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
    """A ``datasets.Dataset`` of labelled windows (columns input_ids, tags, free_labels, doc_id)."""
    from datasets import Dataset

    rows: dict[str, list] = {"input_ids": [], "tags": [], "free_labels": [], "doc_id": []}
    for doc in docs:
        for ex in encode_doc(doc, tokenizer, tagset, max_tokens, overlap):
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
                allowed[row, o_pos, 1 + 2 * label_index] = True
                allowed[row, o_pos, 2 + 2 * label_index] = True
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
