"""Rehearsal: extend a trained NER model with new labels without forgetting the old ones.

A run that starts from a trained model (``init_from``) and trains only on a user's new corpus
drifts away from what the base model knew: where the new corpus says "outside" (it annotates
only the new label, or it is small), the model learns to tag nothing there, and the old labels
lose recall and leak into the new one. Two remedies, both on by default when ``init_from`` is
set (``[rehearsal]`` table of the NER config):

* **replay** — documents of the base model's own training data (the sources its card
  records, or ``sources``) are mixed into the training set: ``share`` of the training documents
  (at least ``min_documents``). They are annotated for the old labels only, so on them the
  new labels are left free (the partial-label loss).
* **pseudo-labels** — on the new documents, the base model's labels that a source does not
  annotate (``annotated = ["UNIT"]``) are filled in with the base model's own predictions,
  where they do not overlap a gold entity; the source then counts as annotated for them.
* **distillation** — on every training token, a KL term keeps the model's distribution over
  the base model's tags (renormalised over them, so the new labels take mass freely) close to
  the base model's (learning without forgetting), weighted by ``distill``.

>>> RehearsalSettings().active(init_from="defence-v2-ner"), RehearsalSettings().active(init_from="")
(True, False)
>>> RehearsalSettings(share=0.5).replay_count(new_documents=200)
200
>>> RehearsalSettings(share=0.5).replay_count(new_documents=10)   # at least min_documents
50
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import ConfigError, DefnlpError
from ..io.corpora import DataSource

log = logging.getLogger(__name__)

__all__ = ["RehearsalSettings", "replay_documents", "pseudo_label", "base_sources"]


@dataclass
class RehearsalSettings:
    """The ``[rehearsal]`` table of a NER training config.

    ``enabled``: ``None`` (default) = on when ``init_from`` is set; ``share``: fraction of the
    training documents replayed from the base model's data (0 = no replay); ``min_documents`` /
    ``max_documents`` bound that number; ``pseudo_label``: fill in the old labels a source does
    not annotate with the base model's predictions; ``distill``: weight of the distillation
    term (KL divergence from the base model's tag distribution over its own tags, on every
    training token; 0 = off); ``sources``: replay these data sources instead of those recorded
    in the base model's card (same tables as ``[[train]]``).
    """

    enabled: bool | None = None
    share: float = 0.5
    min_documents: int = 50
    max_documents: int = 2000
    pseudo_label: bool = True
    distill: float = 1.0
    sources: list[DataSource] = field(default_factory=list)

    def validate(self) -> None:
        if not 0.0 <= self.share < 1.0:
            raise ConfigError(f"rehearsal.share must be in [0, 1), not {self.share}",
                              "0.5 replays as many base documents as there are new ones; 0 turns replay off")
        if self.distill < 0:
            raise ConfigError("rehearsal.distill must be >= 0 (0 turns distillation off)")
        if self.min_documents < 0 or self.max_documents < self.min_documents:
            raise ConfigError("rehearsal needs 0 <= min_documents <= max_documents")

    def active(self, init_from: str) -> bool:
        """Whether rehearsal runs: ``enabled`` if set, else whenever the run starts from a model."""
        return bool(init_from) if self.enabled is None else bool(self.enabled and init_from)

    def replay_count(self, new_documents: int) -> int:
        """How many base documents to replay beside ``new_documents`` new ones."""
        if self.share <= 0:
            return 0
        wanted = round(new_documents * self.share / (1.0 - self.share))
        return int(min(max(wanted, self.min_documents), self.max_documents))


def base_sources(card: dict[str, Any], model_dir: Path, search: Sequence[Path] = ()) -> list[DataSource]:
    """The training sources recorded in a model card, as :class:`~defnlp.io.corpora.DataSource`.

    Relative paths are looked up beside the card's config (``search``: the project's
    ``configs/`` folder for shipped models, the model's parent folder); a source whose files
    are not on this machine is skipped with a warning (replay then uses the others).
    """
    from ..config import config_from_dict

    out = []
    for raw in ((card.get("training") or {}).get("config") or {}).get("train") or []:
        source = config_from_dict(DataSource, dict(raw))
        # the originals, once each, in the proportions the base model saw (a fraction stays a fraction)
        source.augment, source.sample = False, min(source.sample, 1.0)
        if source.path and not Path(source.path).is_absolute():
            found = [base / source.path for base in (*search, model_dir.parent) if (base / source.path).exists()]
            if not found:
                log.warning("rehearsal: the base model's source %s is not on this machine; not replayed", source.describe())
                continue
            source.path = str(found[0].resolve())
        out.append(source)
    return out


def replay_documents(sources: Sequence[DataSource], base_labels: Sequence[str], count: int, seed: int) -> list[Doc]:
    """``count`` documents drawn (seeded) from ``sources``, annotated for ``base_labels`` only.

    Each document's ``meta["annotated"]`` becomes the labels its source annotates among
    ``base_labels`` (all of them when the source annotates everything), so that the labels
    the base model does not have are left free on it; ``meta["rehearsal"] = "replay"``.
    """
    from ..io.corpora import load_source

    pool: list[Doc] = []
    seen: set[tuple[str, str]] = set()
    for source in sources:
        try:
            docs = load_source(source, seed=seed)
        except DefnlpError as err:  # data not on this machine, a missing optional reader...
            log.warning("rehearsal: cannot read %s (%s); not replayed", source.describe(), err)
            continue
        for d in docs:
            key = (source.format, str(d.id))  # one corpus read by two sources: each document once
            if key in seen:
                continue
            seen.add(key)
            annotated = [x for x in base_labels if source.annotated is None or x in source.annotated]
            d.entities = [e for e in d.entities if e.label in annotated]
            d.relations = []
            d.meta.update(annotated=annotated, rehearsal="replay", source=f"rehearsal:{source.describe()}")
            pool.append(d)
    if not pool or count <= 0:
        if count > 0:
            log.warning("rehearsal: no base training documents found; only pseudo-labels keep the old labels")
        return []
    picked = random.Random(seed).sample(pool, min(count, len(pool)))
    log.info("rehearsal: replaying %d of %d base training documents", len(picked), len(pool))
    return picked


def pseudo_label(docs: Sequence[Doc], base_labels: Sequence[str], predict: Callable[[list[Doc]], list[Doc]]) -> dict[str, int]:
    """Fill in, with ``predict`` (the base model), the base labels that each document's source does not annotate.

    Only documents whose ``meta["annotated"]`` lists some labels and misses some of
    ``base_labels`` change: predicted entities of the missing labels that overlap no gold
    entity are added (``score`` kept: they are silver), and ``annotated`` grows by those labels.
    A document object listed several times (``sample > 1``) is labelled once. Returns counts.
    """
    todo: dict[int, Doc] = {}
    for d in docs:
        annotated = d.meta.get("annotated")
        if annotated is not None and any(x not in annotated for x in base_labels) and d.meta.get("rehearsal") != "replay":
            todo.setdefault(id(d), d)
    targets = list(todo.values())
    if not targets:
        return {"documents": 0, "entities": 0}
    added = 0
    for doc, pred in zip(targets, predict(targets)):
        missing = [x for x in base_labels if x not in doc.meta["annotated"]]
        gold = [(e.start, e.end) for e in doc.entities]
        for e in pred.entities:
            if e.label in missing and not any(a < e.end and e.start < b for a, b in gold):
                doc.add_entity(e.start, e.end, e.label, score=e.score)
                added += 1
        doc.meta["annotated"] = list(doc.meta["annotated"]) + missing
        doc.meta["pseudo_labels"] = missing
    log.info("rehearsal: %d silver entities of the base model's labels added to %d documents", added, len(targets))
    return {"documents": len(targets), "entities": added}
