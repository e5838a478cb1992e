"""Provenance of a training run, for the model card: config hash, data fingerprints, versions.

A card records enough to tell whether two models came from the same recipe and data: the
sha256 of the portable configuration (canonical JSON), per data source the number of
documents and entities and a sha256 over their texts and annotations, and the versions of
the libraries that shape the weights.

>>> config_sha256({"lr": 1e-3, "epochs": 5}) == config_sha256({"epochs": 5, "lr": 0.001})
True
>>> from defnlp.doc import Doc
>>> d = Doc("La DGA commande.", id="a"); _ = d.add_entity(3, 6, "ORG"); d.meta["source"] = "markup:train"
>>> [(r["source"], r["documents"], r["entities"]) for r in data_record([d, d])]
[('markup:train', 2, 2)]
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from ..doc import Doc

__all__ = ["config_sha256", "data_record", "library_versions"]

#: the libraries whose versions a card records (the ones that shape the weights or read them)
RECORDED_LIBRARIES = ("torch", "transformers", "peft", "safetensors", "tokenizers", "datasets", "numpy")


def config_sha256(config: dict[str, Any]) -> str:
    """sha256 of a configuration as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _doc_digest(doc: Doc) -> bytes:
    ents = [(e.start, e.end, e.label) for e in doc.entities]
    rels = [(r.head, r.tail, r.label) for r in doc.relations]
    payload = json.dumps([doc.text, ents, rels, doc.meta.get("annotated")], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).digest()


def data_record(docs: Sequence[Doc]) -> list[dict[str, Any]]:
    """Per source (``meta["source"]``, in order of appearance): documents, entities, relations and a sha256
    over the documents' texts and annotations in training order (repeats and augmented copies included)."""
    groups: dict[str, list[Doc]] = {}
    for d in docs:
        groups.setdefault(str(d.meta.get("source", "unknown")), []).append(d)
    out = []
    for source, items in groups.items():
        digest = hashlib.sha256()
        for d in items:
            digest.update(_doc_digest(d))
        out.append({"source": source, "documents": len(items), "entities": sum(len(d.entities) for d in items),
                    "relations": sum(len(d.relations) for d in items), "sha256": digest.hexdigest()})
    return out


def library_versions() -> dict[str, str]:
    """defnlp, Python and the :data:`RECORDED_LIBRARIES` installed (``"missing"`` for an absent one)."""
    from .. import __version__

    out = {"defnlp": __version__, "python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out
