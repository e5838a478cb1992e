"""Label schemes: the entity and relation labels a model predicts, as data.

The built-in scheme is ``defence-v1`` (see docs/labels.md). A fine-tuned model carries its own
labels in its ``defnlp.json``; a scheme is only needed to validate and map data.

>>> s = load_scheme("defence-v1")
>>> s.entity_labels[:3]
('PER', 'ORG', 'LOC')
>>> s.bio_tags()[:3]
['O', 'B-PER', 'I-PER']
>>> s.is_symmetric("MEETS"), s.allows("HAS_ROLE", "PER", "ROLE")
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError, LabelError
from .tags import bio_tags

__all__ = ["LabelScheme", "load_scheme", "DEFAULT_SCHEME"]

DEFAULT_SCHEME = "defence-v1"


@dataclass(frozen=True)
class RelationType:
    name: str
    head: tuple[str, ...] | None  # None = any entity label
    tail: tuple[str, ...] | None
    symmetric: bool


@dataclass(frozen=True)
class LabelScheme:
    name: str
    entities: dict[str, str]
    relations: dict[str, RelationType]
    mappings: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)

    @property
    def entity_labels(self) -> tuple[str, ...]:
        return tuple(self.entities)

    @property
    def relation_labels(self) -> tuple[str, ...]:
        return tuple(self.relations)

    def bio_tags(self) -> list[str]:
        """The IOB2 tags of the entity labels (layout of :func:`defnlp.tags.bio_tags`)."""
        return bio_tags(self.entity_labels)

    def check_entity_label(self, label: str) -> str:
        if label not in self.entities:
            raise LabelError(f"unknown entity label {label!r} for scheme {self.name!r}; known: {', '.join(self.entities)}")
        return label

    def check_relation_label(self, label: str) -> str:
        if label not in self.relations:
            raise LabelError(f"unknown relation label {label!r} for scheme {self.name!r}; known: {', '.join(self.relations)}")
        return label

    def is_symmetric(self, relation: str) -> bool:
        return self.relations[relation].symmetric

    def allows(self, relation: str, head_label: str, tail_label: str) -> bool:
        """Whether ``relation`` may link an entity labelled ``head_label`` to one labelled ``tail_label``."""
        rel = self.relations[relation]
        ok_head = rel.head is None or head_label in rel.head
        ok_tail = rel.tail is None or tail_label in rel.tail
        if ok_head and ok_tail:
            return True
        if rel.symmetric:
            return (rel.head is None or tail_label in rel.head) and (rel.tail is None or head_label in rel.tail)
        return False

    def mapping(self, corpus: str, kind: str = "entities") -> dict[str, str | None]:
        """The label mapping from a corpus' own labels to this scheme (``None`` = dropped)."""
        try:
            return self.mappings[corpus][kind]
        except KeyError as err:
            raise ConfigError(f"scheme {self.name!r} has no {kind} mapping for corpus {corpus!r}") from err

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelScheme":
        try:
            name = str(data["name"])
            entities = {str(k): str(v) for k, v in data["entities"].items()}
            relations = {}
            for rel_name, spec in (data.get("relations") or {}).items():
                head = None if spec.get("head", "*") == "*" else tuple(spec["head"])
                tail = None if spec.get("tail", "*") == "*" else tuple(spec["tail"])
                for side in (head or ()) + (tail or ()):
                    if side not in entities:
                        raise ConfigError(f"relation {rel_name!r} names unknown entity label {side!r}")
                relations[rel_name] = RelationType(rel_name, head, tail, bool(spec.get("symmetric", False)))
        except (KeyError, TypeError, AttributeError) as err:
            raise ConfigError(f"malformed label scheme: {err!r}", "a scheme needs 'name', 'entities' and 'relations'") from err
        return cls(name, entities, relations, data.get("mappings") or {})


@lru_cache(maxsize=8)
def load_scheme(name_or_path: str = DEFAULT_SCHEME) -> LabelScheme:
    """Load a built-in scheme by name or a scheme JSON file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files("defnlp.resources.schemes").joinpath(f"{name_or_path}.json")
        if not res.is_file():
            raise ConfigError(f"unknown label scheme {name_or_path!r}", "use 'defence-v1' or the path to a scheme .json file")
        text = res.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"label scheme {name_or_path!r} is not valid JSON: {err}") from err
    return LabelScheme.from_dict(data)
