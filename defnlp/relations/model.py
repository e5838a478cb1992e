"""The relation head: classifies candidate entity pairs from the NER encoder's hidden states.

No second encoder pass: the head reads the token hidden states that the NER pass already
computed (the engine returns them per document, :attr:`defnlp.inference.DocEncoding.hidden`,
with the tokens' character spans). For a pair (head, tail) it pools each
mention (mean and first token of a learned projection, plus a label embedding), the tokens
between them, and a distance embedding, and an MLP scores every relation label plus NONE.
Labels the scheme forbids for the pair's entity labels are masked. Symmetric relations are
scored from both directions and reported once. Several heads trained with different seeds can
run as one (:class:`RelationEnsemble`, averaged probabilities): they read the same encoder
states, so each added head costs only its small MLP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ..doc import Doc, Relation
from ..errors import IncompatibleEncoderError, ModelError
from ..inference.runtime import release_free_memory
from ..models import ModelSpec, read_model_dir
from ..scheme import LabelScheme, load_scheme
from .aliases import link_aliases
from .candidates import N_BUCKETS, Candidate, candidate_rows, entity_token_ranges
from .decision import MIN_PROBABILITY, Decision, decision_from_card

if TYPE_CHECKING:
    from ..ner.model import LoadedNer

log = logging.getLogger(__name__)

__all__ = ["RelationHead", "RelationEnsemble", "LoadedRelations", "load_relations", "predict_relations", "pair_probabilities", "NONE"]

NONE = "NONE"


class TypedContext(nn.Module):
    """Block-local self-attention over the projected tokens, each entity's tokens marked with
    its label (first token and inside apart): typed entity markers, computed once per document
    rather than once per pair, so that the tokens around a mention learn what kind of entity
    stands next to them ("commandés par [LOC]"). Attention stays within blocks of ``block``
    tokens at fixed positions (0, block, 2·block…): cost linear in the document, and a slice
    starting at a block boundary gets the same states as the whole document.
    """

    def __init__(self, dim: int, n_labels: int, layers: int, block: int = 128, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.block = block
        self.marker = nn.Embedding(2 * (n_labels + 1) + 1, dim)  # 0 outside; 1 + 2k first token of label k; 2 + 2k inside
        nn.init.zeros_(self.marker.weight)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, spans: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``x`` ``(T, dim)`` → ``(T, dim)``; ``spans`` ``(E, 2)`` token ranges (in ``x``) of the
        entities with label ids ``labels`` ``(E,)``."""
        n_tokens, dim = x.shape
        marks = torch.zeros(n_tokens, dtype=torch.long, device=x.device)
        if len(spans):
            a, b = spans[:, 0].clamp(0, n_tokens), spans[:, 1].clamp(0, n_tokens)
            widths = (b - a).clamp(min=0)
            owner = torch.repeat_interleave(torch.arange(len(spans), device=x.device), widths)
            first = torch.repeat_interleave(torch.cumsum(widths, 0) - widths, widths)
            pos = a[owner] + torch.arange(len(owner), device=x.device) - first
            marks[pos] = 2 + 2 * labels[owner]
            start = widths > 0
            marks[a[start]] = 1 + 2 * labels[start]
        x = x + self.marker(marks)
        n_blocks = -(-n_tokens // self.block)
        pad = n_blocks * self.block - n_tokens
        blocks = torch.nn.functional.pad(x, (0, 0, 0, pad)).view(n_blocks, self.block, dim)
        padding = (torch.arange(n_blocks * self.block, device=x.device) >= n_tokens).view(n_blocks, self.block)
        return self.layers(blocks, src_key_padding_mask=padding).reshape(-1, dim)[:n_tokens]


class RelationHead(nn.Module):
    """Pair classifier over pooled hidden states. Outputs logits over ``[NONE] + labels``.

    ``context_layers`` > 0 adds a :class:`TypedContext` between the token projection and the
    pooling (design "typed context"); 0 pools the projected encoder states directly.
    """

    def __init__(self, hidden_size: int, entity_labels: Sequence[str], relation_labels: Sequence[str],
                 proj: int = 256, mlp: int = 256, label_dim: int = 32, dropout: float = 0.2,
                 context_layers: int = 0, context_block: int = 128) -> None:
        super().__init__()
        self.entity_labels = list(entity_labels)
        self.relation_labels = list(relation_labels)
        self.proj = nn.Sequential(nn.Linear(hidden_size, proj), nn.GELU())
        self.context = (TypedContext(proj, len(self.entity_labels), context_layers, context_block, dropout=min(dropout, 0.1))
                        if context_layers else None)
        self.label_emb = nn.Embedding(len(self.entity_labels) + 1, label_dim)  # last = unknown label
        self.dist_emb = nn.Embedding(N_BUCKETS, 16)
        self.sent_emb = nn.Embedding(3, 8)
        ent = 2 * proj + label_dim
        self.mlp = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * ent + 2 * proj + 16 + 8, mlp),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp, len(self.relation_labels) + 1),
        )
        self.config = {"proj": proj, "mlp": mlp, "label_dim": label_dim, "dropout": dropout,
                       **({"context_layers": context_layers, "context_block": context_block} if context_layers else {})}

    def label_ids(self, labels: Sequence[str]) -> torch.Tensor:
        index = {l: i for i, l in enumerate(self.entity_labels)}
        return torch.tensor([index.get(l, len(self.entity_labels)) for l in labels], dtype=torch.long)

    def forward(self, hidden: torch.Tensor, ranges: Sequence[tuple[int, int]], labels: torch.Tensor,
                pairs: Sequence[Candidate] | torch.Tensor,
                markers: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits ``(len(pairs), 1 + n_relations)`` for one document's candidate pairs.

        ``pairs``: :class:`Candidate` objects, or a ``(n_pairs, 6)`` integer tensor of
        :func:`~defnlp.relations.candidates.candidate_rows` (the fast path of inference). ``markers``: see :meth:`score`.
        """
        device = hidden.device
        if isinstance(pairs, torch.Tensor):
            rows = pairs.to(device=device, dtype=torch.long).reshape(-1, 6)
            return self.score(hidden, ranges, labels, rows[:, 0], rows[:, 1], rows[:, 2:4], rows[:, 4], rows[:, 5], markers)
        return self.score(
            hidden, ranges, labels,
            torch.tensor([c.head for c in pairs], dtype=torch.long, device=device),
            torch.tensor([c.tail for c in pairs], dtype=torch.long, device=device),
            torch.tensor([c.context for c in pairs], dtype=torch.long, device=device).reshape(-1, 2),
            torch.tensor([c.distance_bucket for c in pairs], dtype=torch.long, device=device),
            torch.tensor([c.sentence_distance for c in pairs], dtype=torch.long, device=device),
            markers,
        )

    def score(self, hidden: torch.Tensor, ranges: Sequence[tuple[int, int]] | torch.Tensor, labels: torch.Tensor,
              heads: torch.Tensor, tails: torch.Tensor, contexts: torch.Tensor, distance_buckets: torch.Tensor,
              sentence_distances: torch.Tensor, markers: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """:meth:`forward` with the pairs given as tensors (``contexts``: ``(n_pairs, 2)``).
        ``markers``: the token ranges and label ids of every entity in ``hidden`` for the typed
        context (default: the entities of ``ranges``/``labels``)."""
        p = self.proj(hidden)  # (T, proj)
        if self.context is not None:
            if markers is None:
                markers = (torch.as_tensor(ranges, dtype=torch.long, device=p.device).reshape(-1, 2), labels)
            p = self.context(p, *markers)
        # means over token ranges from a cumulative sum, all ranges at once (cheap for many pairs)
        csum = torch.cat([p.new_zeros(1, p.shape[-1]), p.cumsum(0)], dim=0)

        def means(idx: torch.Tensor) -> torch.Tensor:
            a, b = idx[:, 0], idx[:, 1]
            width = (b - a).clamp(min=1).unsqueeze(-1).to(p.dtype)
            return torch.where((b > a).unsqueeze(-1), (csum[b] - csum[a]) / width, p.new_zeros(()))

        spans = torch.as_tensor(ranges, dtype=torch.long, device=p.device).reshape(-1, 2)
        ent_mean = means(spans)
        starts, nonempty = spans[:, 0], spans[:, 1] > spans[:, 0]
        ent_first = torch.where(nonempty.unsqueeze(-1), p[starts.clamp(max=p.shape[0] - 1)], p.new_zeros(()))
        ent = torch.cat([ent_mean, ent_first, self.label_emb(labels)], dim=-1)
        sentence_distances = sentence_distances.clamp(max=2)
        if not self.training:
            return self._score_factored(p, csum, ent, ent_mean, heads, tails, contexts, distance_buckets, sentence_distances)
        ctx = means(contexts)
        dist = self.dist_emb(distance_buckets)
        sent = self.sent_emb(sentence_distances)
        feats = torch.cat([ent[heads], ent[tails], ent_mean[heads] * ent_mean[tails], ctx, dist, sent], dim=-1)
        return self.mlp(feats)

    def _score_factored(self, p: torch.Tensor, csum: torch.Tensor, ent: torch.Tensor, ent_mean: torch.Tensor,
                        heads: torch.Tensor, tails: torch.Tensor, contexts: torch.Tensor, distance_buckets: torch.Tensor,
                        sentence_distances: torch.Tensor) -> torch.Tensor:
        """The MLP's first layer split by its input blocks (inference: no dropout): a linear map of a
        concatenation is the sum of the blocks' maps, so the entity blocks are mapped once per entity,
        the context block once per token (then averaged like the tokens), the embeddings once per
        row; per pair remain the product block and the sums. Same logits as :meth:`score`'s
        training path up to float rounding, at a fraction of the per-pair cost."""
        first, last = self.mlp[1], self.mlp[4]
        width_e, width_p = ent.shape[-1], p.shape[-1]
        w_head, w_tail, w_prod, w_ctx, w_dist, w_sent = torch.split(
            first.weight, [width_e, width_e, width_p, width_p, self.dist_emb.embedding_dim, self.sent_emb.embedding_dim], dim=1)
        by_head, by_tail = ent @ w_head.T, ent @ w_tail.T  # (E, mlp)
        ctx_sum = csum @ w_ctx.T  # the tokens' cumulative sums, mapped
        a, b = contexts[:, 0], contexts[:, 1]
        width = (b - a).clamp(min=1).unsqueeze(-1).to(p.dtype)
        ctx = torch.where((b > a).unsqueeze(-1), (ctx_sum[b] - ctx_sum[a]) / width, p.new_zeros(()))
        x = (by_head[heads] + by_tail[tails] + (ent_mean[heads] * ent_mean[tails]) @ w_prod.T + ctx
             + (self.dist_emb.weight @ w_dist.T)[distance_buckets] + (self.sent_emb.weight @ w_sent.T)[sentence_distances]
             + first.bias)
        return last(self.mlp[2](x))


class RelationEnsemble(nn.Module):
    """Heads of the same shape (one per training seed) that score pairs together: the log of
    their averaged label probabilities, which :func:`pair_probabilities` masks and normalises
    like one head's logits. Averaging heads evens out the seed-to-seed spread of a single head
    selected on a small dev set (docs/experiments.md).

    >>> heads = [RelationHead(8, ["ORG", "LOC"], ["LOCATED_IN"], proj=4, mlp=4) for _ in range(2)]
    >>> ensemble = RelationEnsemble(heads)
    >>> ensemble.config["ensemble"], sorted(ensemble.state_dict())[0]
    (2, 'heads.0.dist_emb.weight')
    """

    def __init__(self, heads: Sequence[RelationHead]) -> None:
        super().__init__()
        if len(heads) < 2:
            raise ModelError("an ensemble needs at least two relation heads", "use the head itself")
        first = heads[0]
        for other in heads[1:]:
            if (other.entity_labels, other.relation_labels, other.config) != (first.entity_labels, first.relation_labels, first.config):
                raise ModelError("the heads of an ensemble must have the same labels and settings",
                                 "train them from one config, with different seeds only")
        self.heads = nn.ModuleList(heads)
        self.entity_labels = list(first.entity_labels)
        self.relation_labels = list(first.relation_labels)
        self.config = {**first.config, "ensemble": len(heads)}

    @property
    def context(self) -> TypedContext | None:
        """The first head's typed context (all heads have the same design)."""
        return self.heads[0].context  # type: ignore[return-value]

    def label_ids(self, labels: Sequence[str]) -> torch.Tensor:
        return self.heads[0].label_ids(labels)  # type: ignore[operator]

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """Log of the heads' mean probabilities over ``[NONE] + labels`` (arguments: :meth:`RelationHead.forward`)."""
        probs = torch.stack([torch.softmax(h(*args, **kwargs).float(), dim=-1) for h in self.heads]).mean(0)
        return torch.log(probs.clamp_min(1e-12))


#: what scores candidate pairs: one head or an ensemble of heads
PairScorer = RelationHead | RelationEnsemble


def label_mask(scheme: LabelScheme | None, relation_labels: Sequence[str], doc: Doc, pairs: Sequence[Candidate]) -> torch.Tensor:
    """``(len(pairs), 1 + n)`` bool: which outputs are allowed for each pair (NONE always)."""
    if scheme is None:
        return torch.ones((len(pairs), len(relation_labels) + 1), dtype=torch.bool)
    allowed: dict[tuple[str, str], list[bool]] = {}  # one scheme lookup per pair of entity labels
    rows = []
    for c in pairs:
        key = (doc.entities[c.head].label, doc.entities[c.tail].label)
        if key not in allowed:
            allowed[key] = [True] + [r not in scheme.relations or scheme.allows(r, *key) for r in relation_labels]
        rows.append(allowed[key])
    return torch.tensor(rows, dtype=torch.bool).reshape(len(pairs), len(relation_labels) + 1)


@dataclass
class LoadedRelations:
    """A trained relation model, ready to run on the pipeline's hidden states."""

    spec: ModelSpec
    head: PairScorer  # one head, or several averaged (card head 'ensemble')
    scheme: LabelScheme | None
    path: str
    decision: Decision = field(default_factory=Decision)  # calibration and per-label thresholds
    max_sentence_distance: int = 1
    weights_sha256: str = ""  # of the weights file it was loaded from (as LoadedNer.weights_sha256)

    @property
    def threshold(self) -> float:
        """The shared threshold (labels may have their own: :attr:`decision`)."""
        return self.decision.threshold

    def to(self, device: torch.device | str) -> "LoadedRelations":
        self.head.to(device)
        return self

    @torch.inference_mode()
    def predict(self, doc: Doc, hidden: np.ndarray, token_spans: Sequence[tuple[int, int]]) -> list[Relation]:
        """Relations among ``doc.entities`` from the document's token hidden states.

        ``hidden`` is ``(n_tokens, H)`` (the encoder's final states) and ``token_spans`` the
        tokens' character spans in ``doc.text``, as :meth:`defnlp.inference.Engine.run` returns
        them with ``hidden=True``; candidate pairs are drawn per ``doc.sentences``. With SAME_AS
        among its labels, acronym/alias links (:func:`~defnlp.relations.aliases.link_aliases`)
        are merged in.

        >>> enc = next(nlp.engine.run([doc], hidden=True))                # doctest: +SKIP
        >>> nlp.relations.predict(doc, enc.hidden, enc.token_spans)        # doctest: +SKIP
        [Relation(head=0, tail=1, label='ACQUIRES', score=0.93)]
        """
        if len(doc.entities) < 2:
            return []
        found = predict_relations(self.head, doc, torch.from_numpy(hidden), token_spans, self.scheme,
                                  self.decision, self.max_sentence_distance)
        return merge_relations(found, self.alias_links(doc))

    def alias_links(self, doc: Doc) -> list[Relation]:
        """SAME_AS links between acronyms and the names they abbreviate
        (:func:`~defnlp.relations.aliases.link_aliases`), scored with their measured dev
        precision (``decision.alias_score``); none where the model has no SAME_AS label or that
        precision is under the SAME_AS threshold."""
        if "SAME_AS" not in self.head.relation_labels or not self.decision.keeps_aliases or len(doc.entities) < 2:
            return []
        return link_aliases(doc, self.decision.alias_score)


def merge_relations(*groups: list[Relation]) -> list[Relation]:
    """Union of relation lists; the same (head, tail, label) keeps its best score (SAME_AS unordered)."""
    best: dict[tuple[int, int, str], Relation] = {}
    for group in groups:
        for r in group:
            key = (min(r.head, r.tail), max(r.head, r.tail), r.label) if r.label == "SAME_AS" else (r.head, r.tail, r.label)
            if key not in best or (r.score or 0) > (best[key].score or 0):
                best[key] = r
    return sorted(best.values(), key=lambda r: (r.head, r.tail, r.label))


#: the most heads a relation model may average (each is a few MB; more than a handful adds nothing)
MAX_ENSEMBLE = 16

#: candidate pairs scored in one pass of the head: bounds its memory on long documents
PAIR_CHUNK = 4096


def predict_relations(head: PairScorer, doc: Doc, hidden: torch.Tensor, token_spans: Sequence[tuple[int, int]],
                      scheme: LabelScheme | None, decision: Decision | float = 0.5, max_sentence_distance: int = 1,
                      chunk_pairs: int = PAIR_CHUNK) -> list[Relation]:
    """Decode relations for one document from its token hidden states ``(n_tokens, H)`` and the
    tokens' character spans (used at inference, in training and for evaluation): the pairs of
    :func:`pair_probabilities` that ``decision`` (a :class:`~defnlp.relations.decision.Decision`,
    or one threshold) keeps, with its calibrated scores.
    """
    decision = decision if isinstance(decision, Decision) else Decision(threshold=float(decision))
    found = pair_probabilities(head, doc, hidden, token_spans, scheme, max_sentence_distance,
                               min_probability=decision.min_probability, chunk_pairs=chunk_pairs)
    out = []
    for (h, t, label), p in sorted(found.items()):
        score = decision.score(label, p)
        if score >= decision.threshold_for(label):
            out.append(Relation(h, t, label, score))
    return out


def pair_probabilities(head: PairScorer, doc: Doc, hidden: torch.Tensor, token_spans: Sequence[tuple[int, int]],
                       scheme: LabelScheme | None, max_sentence_distance: int = 1, min_probability: float = MIN_PROBABILITY,
                       chunk_pairs: int = PAIR_CHUNK) -> dict[tuple[int, int, str], float]:
    """Each candidate pair's most probable label other than NONE and its head probability
    (a symmetric label: the mean of both directions, keyed ``(min, max, label)``), where that
    probability is at least ``min_probability``.

    Every candidate pair is scored (:func:`~defnlp.relations.candidates.candidate_rows`),
    ``chunk_pairs`` at a time: a chunk reads only the tokens its pairs span, so time and memory
    grow linearly with the document. A document with fewer pairs is scored in one pass.
    """
    ranges = entity_token_ranges(doc, token_spans)
    rows = candidate_rows(doc, ranges, scheme, head.relation_labels, max_sentence_distance)
    labels = head.label_ids([e.label for e in doc.entities])
    allowed = _allowed_table(scheme, head.relation_labels, doc)
    span_array = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
    out: dict[tuple[int, int, str], float] = {}
    for n, chunk in enumerate(_row_chunks(rows, chunk_pairs)):
        pairs = np.asarray(chunk, dtype=np.int64).reshape(-1, 6)
        whole = n == 0 and len(chunk) < chunk_pairs  # the whole document in one pass
        probs = _pair_probs(head, hidden, span_array, labels, pairs, allowed, whole)
        _best_labels(head, scheme, min_probability, pairs, probs, out)
        if not whole:
            release_free_memory()  # freed chunks fragment the heap: RSS would creep up with length
    return out


def _row_chunks(rows: Iterator[tuple[int, ...]], size: int) -> Iterator[list[tuple[int, ...]]]:
    """Lists of about ``size`` rows; both directions of a pair stay in the same list."""
    chunk: list[tuple[int, ...]] = []
    for row in rows:
        if len(chunk) >= size and (row[0], row[1]) != (chunk[-1][1], chunk[-1][0]):
            yield chunk
            chunk = []
        chunk.append(row)
    if chunk:
        yield chunk


def _allowed_table(scheme: LabelScheme | None, relation_labels: Sequence[str], doc: Doc) -> tuple[np.ndarray, np.ndarray]:
    """Per entity, the index of its label; per pair of those indices, :func:`label_mask`'s row."""
    names = sorted({e.label for e in doc.entities})
    index = {name: k for k, name in enumerate(names)}
    table = np.ones((len(names), len(names), len(relation_labels) + 1), dtype=bool)
    if scheme is not None:
        for a in names:
            for b in names:
                table[index[a], index[b], 1:] = [r not in scheme.relations or scheme.allows(r, a, b) for r in relation_labels]
    return np.asarray([index[e.label] for e in doc.entities], dtype=np.int64), table


def _pair_probs(head: PairScorer, hidden: torch.Tensor, spans: np.ndarray, labels: torch.Tensor, pairs: np.ndarray,
                allowed: tuple[np.ndarray, np.ndarray], whole: bool) -> np.ndarray:
    """``(len(pairs), 1 + n_relations)`` probabilities of ``pairs`` (rows of
    :func:`~defnlp.relations.candidates.candidate_rows`), forbidden labels masked; unless
    ``whole``, on the tokens the pairs span only."""
    device = next(head.parameters()).device
    heads, tails, contexts = pairs[:, 0], pairs[:, 1], pairs[:, 2:4]
    entity_label, table = allowed
    mask = torch.from_numpy(table[entity_label[heads], entity_label[tails]])
    markers = None
    if not whole:  # the entities and tokens of these pairs, renumbered
        ents, local = np.unique(np.concatenate([heads, tails]), return_inverse=True)
        heads, tails = local[: len(pairs)], local[len(pairs):]
        t0 = int(min(spans[ents, 0].min(), contexts[:, 0].min()))
        t1 = int(max(spans[ents, 1].max(), contexts[:, 1].max()))
        t0 = max(0, min(t0, hidden.shape[0] - 1))
        t1 = max(t0 + 1, t1)
        if head.context is not None:  # whole blocks, every entity in them marked: the states of the whole document
            block = head.context.block
            t0, t1 = t0 // block * block, min(hidden.shape[0], -(-t1 // block) * block)
            inside = np.flatnonzero((spans[:, 1] > t0) & (spans[:, 0] < t1))
            markers = (torch.from_numpy(spans[inside] - t0).to(device), labels[torch.from_numpy(inside)].to(device))
        hidden, spans, contexts, labels = hidden[t0:t1], spans[ents] - t0, contexts - t0, labels[torch.from_numpy(ents)]
    rows = np.concatenate([heads[:, None], tails[:, None], contexts, pairs[:, 4:6]], axis=1)
    logits = head(hidden.to(device).float(), spans.tolist(), labels.to(device), torch.from_numpy(rows).to(device), markers)
    logits = logits.masked_fill(~mask.to(device), float("-inf"))
    return torch.softmax(logits.float(), dim=-1).cpu().numpy()


def _best_labels(head: PairScorer, scheme: LabelScheme | None, min_probability: float, pairs: np.ndarray,
                 probs: np.ndarray, out: dict[tuple[int, int, str], float]) -> None:
    """Add to ``out`` each pair's best label other than NONE with its probability, where at
    least ``min_probability``; a symmetric one scored by the mean of both directions (which
    follow each other in ``pairs``)."""
    if probs.shape[1] < 2:
        return
    heads, tails = pairs[:, 0], pairs[:, 1]
    partner = np.full(len(pairs), -1, dtype=np.int64)
    swapped = np.flatnonzero((heads[1:] == tails[:-1]) & (tails[1:] == heads[:-1]))
    partner[swapped + 1], partner[swapped] = swapped, swapped + 1
    best_labels = probs[:, 1:].argmax(axis=-1) + 1
    best_probs = probs[np.arange(len(pairs)), best_labels]
    for k in np.flatnonzero(best_probs >= min_probability * 0.5).tolist():
        best = int(best_labels[k])
        h, t = int(heads[k]), int(tails[k])
        label = head.relation_labels[best - 1]
        symmetric = scheme is not None and label in scheme.relations and scheme.is_symmetric(label)
        if symmetric:
            q = partner[k]
            score = float((probs[k, best] + probs[q, best]) / 2) if q >= 0 else float(probs[k, best])
            key = (min(h, t), max(h, t), label)
        else:
            score, key = float(probs[k, best]), (h, t, label)
        if score >= min_probability and score > out.get(key, -1.0):
            out[key] = score


def head_tensors(head: PairScorer) -> dict[str, torch.Tensor]:
    return {f"re.{k}": v for k, v in head.state_dict().items()}


def load_relations(path: str, ner: LoadedNer) -> LoadedRelations:
    """Load a relation model directory; it must have been trained on this NER model.

    Fails closed (:class:`ModelError`): the card's head settings are checked
    (:func:`_head_settings`), the weights (:func:`~defnlp.models.load_weights`) must hold exactly
    the head's tensors with the shapes the settings give, checked before anything is allocated.
    """
    from ..integrity import sha256_file
    from ..models import load_weights

    spec, weights = read_model_dir(path)
    if spec.task != "relations":
        raise ModelError(f"{path} is a {spec.task!r} model, not a relation model")
    needed = spec.depends_on.get("sha256")
    if needed and needed != ner.weights_sha256:
        raise IncompatibleEncoderError(
            f"relation model {spec.name} was trained on NER model weights {needed[:12]}…, "
            f"but {ner.spec.name} has {ner.weights_sha256[:12]}…",
            "load the NER model the relation model names in its defnlp.json (depends_on), or retrain the relation head",
        )
    cfg = _head_settings(spec.head, f"{path}/defnlp.json")
    sizes = {k: cfg[k] for k in ("proj", "mlp", "label_dim", "context_layers", "context_block")}
    hidden = int(ner.encoder.model.config.hidden_size)
    tensors = load_weights(weights)
    stray = sorted(k for k in tensors if not k.startswith("re."))
    members = cfg["ensemble"]

    def build(dropout: float = 0.2) -> PairScorer:
        heads = [RelationHead(hidden, cfg["entity_labels"], spec.labels, dropout=dropout, **sizes) for _ in range(members)]
        return heads[0] if members == 1 else RelationEnsemble(heads)

    with torch.device("meta"):  # the expected shapes, without allocating anything
        expected = {f"re.{k}": tuple(v.shape) for k, v in build().state_dict().items()}
    wrong = [f"{k} {tuple(tensors[k].shape)} (expected {shape})" for k, shape in expected.items()
             if k in tensors and tuple(tensors[k].shape) != shape]
    missing = sorted(set(expected) - set(tensors))
    if stray or wrong or missing:
        raise ModelError(f"{path}: relation head weights do not fit the card: "
                         + "; ".join(part for part in (f"unexpected {stray[:3]}" if stray else "",
                                                       f"missing {missing[:3]}" if missing else "",
                                                       f"shapes {wrong[:2]}" if wrong else "") if part),
                         "the weights file does not belong to this card or this NER model's encoder")
    head = build(dropout=0.0)
    try:
        head.load_state_dict({k[len("re."):]: v for k, v in tensors.items()})
    except RuntimeError as err:
        raise ModelError(f"{path}: relation head weights do not fit ({err})") from err
    head.eval()
    try:
        scheme = load_scheme(spec.scheme)
    except Exception:  # a custom scheme that is not installed: no type constraints
        scheme = None
    return LoadedRelations(spec, head, scheme, str(path), decision=decision_from_card(cfg, f"{path}/defnlp.json"),
                           max_sentence_distance=cfg["max_sentence_distance"], weights_sha256=sha256_file(weights))


def _head_settings(head: dict, where: str) -> dict:
    """The relation head settings of a card, checked: sizes are positive integers (at most
    65,536), ``ensemble`` (the number of averaged heads, 1 when absent) at most :data:`MAX_ENSEMBLE`, ``threshold`` a number in [0, 1], ``max_sentence_distance`` an integer >= 0,
    ``entity_labels`` a non-empty list of distinct names.

    >>> _head_settings({"entity_labels": ["PER"], "proj": -1}, "defnlp.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.ModelError: defnlp.json: head 'proj' must be an integer from 1 to 65536, not -1 ...
    """
    hint = "the relation head settings of the card (defnlp.json 'head') are malformed: re-export the model"
    cfg = {"proj": 256, "mlp": 256, "label_dim": 32, "threshold": 0.5, "max_sentence_distance": 1,
           "context_layers": 0, "context_block": 128, "ensemble": 1, **head}
    labels = cfg.get("entity_labels")
    if (not isinstance(labels, list) or not labels or not all(isinstance(l, str) and l for l in labels)
            or len(set(labels)) != len(labels)):
        raise ModelError(f"{where}: head 'entity_labels' must be a non-empty list of distinct entity labels", hint)
    if cfg.get("type", "span-pair-mlp") != "span-pair-mlp":
        raise ModelError(f"{where}: unknown relation head type {cfg['type']!r}", "this defnlp reads 'span-pair-mlp' heads")
    for key in ("proj", "mlp", "label_dim", "context_block"):
        value = cfg[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65536:
            raise ModelError(f"{where}: head {key!r} must be an integer from 1 to 65536, not {value!r}", hint)
    members = cfg["ensemble"]
    if not isinstance(members, int) or isinstance(members, bool) or not 1 <= members <= MAX_ENSEMBLE:
        raise ModelError(f"{where}: head 'ensemble' must be an integer from 1 to {MAX_ENSEMBLE}, not {members!r}", hint)
    layers = cfg["context_layers"]
    if not isinstance(layers, int) or isinstance(layers, bool) or not 0 <= layers <= 12:
        raise ModelError(f"{where}: head 'context_layers' must be an integer from 0 to 12, not {layers!r}", hint)
    if layers and cfg["proj"] % 4:
        raise ModelError(f"{where}: head 'proj' must be a multiple of 4 with a typed context (4 attention heads)", hint)
    threshold = cfg["threshold"]
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold <= 1:
        raise ModelError(f"{where}: head 'threshold' must be a number in [0, 1], not {threshold!r}", hint)
    distance = cfg["max_sentence_distance"]
    if not isinstance(distance, int) or isinstance(distance, bool) or distance < 0:
        raise ModelError(f"{where}: head 'max_sentence_distance' must be an integer >= 0, not {distance!r}", hint)
    return {**cfg, "threshold": float(threshold)}
