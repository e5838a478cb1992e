"""The augmentation step: :func:`augment_docs`, ``copies`` new documents per document (mention
replacement, then a layout rendering), deterministic for a seed."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from ...doc import Doc
from ...errors import ConfigError, RecordFormatError
from .gazetteer import Gazetteer, corpus_entries, load_gazetteer
from .layouts import render_layout
from .mentions import replace_mentions
from .settings import AugmentSettings

__all__ = ["augment_docs"]

logger = logging.getLogger(__name__)

_META_DROPPED = ("pair", "augmented", "replacements")


def _augment_one(doc: Doc, rng: random.Random, settings: AugmentSettings, gazetteer: Gazetteer) -> Doc | None:
    base = doc.copy()
    base.meta = {k: v for k, v in doc.meta.items() if k not in _META_DROPPED}
    for _ in range(4):  # a copy where nothing fired is drawn again (a few times)
        out = base
        if settings.replace > 0 and len(gazetteer):
            out = replace_mentions(out, rng, settings, gazetteer)
        if rng.random() < settings.layout:
            out = render_layout(out, rng, settings)
        if out.meta.get("augmented"):
            return out
    return None


def augment_docs(
    docs: Sequence[Doc],
    settings: AugmentSettings,
    seed: int,
    gazetteer: Gazetteer | None = None,
) -> list[Doc]:
    """``settings.copies`` augmented copies of each document: ONLY the new documents.

    Each copy is drawn from its own random generator seeded by ``(seed, doc.id, copy number)``,
    so the result is the same for the same seed and documents, whatever their order. A copy
    is mention replacement (when ``settings.replace > 0``), then, with probability
    ``settings.layout``, a layout rendering; a copy where nothing fired is drawn again, and
    dropped after four tries. Ids are ``<id>#aug<k>`` (the index when ``id`` is None);
    ``meta`` keeps the original's (minus ``pair``: a copy is no translation pair) plus
    ``augmented`` (the transforms applied), ``augmented_from`` and, when mentions were
    replaced, ``replacements``. ``gazetteer`` defaults to :func:`load_gazetteer` with the
    settings' sources (loaded only when ``replace > 0``). A document with broken offsets is
    skipped with a warning; one with an empty text gives no copy.

    >>> from defnlp.io.corpora import read_markup
    >>> from defnlp.config import project_root
    >>> docs = read_markup(project_root() / "data" / "examples" / "industry")[:20]
    >>> new = augment_docs(docs, AugmentSettings(copies=2), seed=13)
    >>> len(new), new[0].id
    (40, 'ind-001-fr#aug1')
    >>> new == augment_docs(docs, AugmentSettings(copies=2), seed=13)
    True
    >>> all(d.text[e.start:e.end] == e.text and "\\n\\n" not in e.text for d in new for e in d.entities)
    True
    """
    if not isinstance(settings, AugmentSettings):
        raise ConfigError(f"settings must be AugmentSettings, got {type(settings).__name__}")
    settings.validate()
    if settings.copies == 0 or not docs:
        return []
    if gazetteer is None:
        if settings.replace > 0 and (settings.gazetteers or settings.terminology):
            gazetteer = load_gazetteer(settings.gazetteers, settings.terminology, settings.data_dir)
        else:
            gazetteer = Gazetteer()
    if settings.corpus_labels and settings.replace > 0:
        own = corpus_entries(docs, settings.corpus_labels)
        gazetteer = Gazetteer([*gazetteer.entries, *own])
        logger.info("augmentation: %d mentions of %s from the documents themselves are replacement candidates",
                    len(own), ", ".join(settings.corpus_labels))
    out: list[Doc] = []
    dropped = 0
    for index, doc in enumerate(docs):
        if not isinstance(doc.text, str) or not doc.text.strip():
            continue
        key = doc.id if doc.id is not None else str(index)
        for k in range(1, settings.copies + 1):
            rng = random.Random(f"defnlp-augment|{seed}|{key}|{k}")
            try:
                new = _augment_one(doc, rng, settings, gazetteer)
            except RecordFormatError as err:
                logger.warning("augmentation: document %s skipped: %s", key, err)
                break
            except ValueError as err:  # a piece edit refused: a bug, but one copy less is no reason to stop
                logger.warning("augmentation: copy %d of document %s skipped (internal error: %s)", k, key, err)
                continue
            if new is None:
                dropped += 1
                continue
            new.id = f"{key}#aug{k}"
            new.meta["augmented_from"] = doc.id
            out.append(new)
    logger.info(
        "augmentation: %d new documents from %d (%d copies each%s)",
        len(out), len(docs), settings.copies, f"; {dropped} copies where nothing applied" if dropped else "",
    )
    return out
