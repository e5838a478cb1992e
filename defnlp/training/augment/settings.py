"""Augmentation settings: :class:`AugmentSettings` (plain data, a configuration's ``[augment]``
table) and :data:`LAYOUT_TRANSFORMS`, the names of the layout transforms."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError

__all__ = ["AugmentSettings", "LAYOUT_TRANSFORMS"]

#: The layout transforms, in the order :func:`render_layout` applies them (also the names
#: recorded in ``meta["augmented"]``; ``"replace"`` is the mention replacement).
LAYOUT_TRANSFORMS = (
    "ligatures",
    "heading",
    "emphasis",
    "bullets",
    "page_break",
    "header",
    "footer",
    "contact",
    "address",
    "wrap",
    "hyphenate",
    "whitespace",
)
_PROBABILITIES = ("layout", *LAYOUT_TRANSFORMS, "replace")


@dataclass
class AugmentSettings:
    """What :func:`augment_docs` does; plain data (a table of a TOML configuration).

    ``layout`` is the probability that a copy gets a layout rendering at all; inside it each
    transform fires with its own probability. ``hyphenate`` is the probability per line end
    where a long word crosses the wrap width (so it needs ``wrap``). ``replace`` is the
    probability per entity mention (all mentions of the same surface change together).
    ``corpus_labels``: labels whose replacement candidates are the augmented documents' own
    mentions (:func:`corpus_entries`), for a label that the gazetteers lack, such as a new label
    learned from a few documents (``["EVENT"]``).

    >>> AugmentSettings(copies=2).copies
    2
    >>> AugmentSettings(wrap=1.5)
    Traceback (most recent call last):
    ...
    defnlp.errors.ConfigError: augment.wrap: 1.5 is not a probability (hint: use a number between 0 and 1)
    >>> s = AugmentSettings.only("wrap", "hyphenate")
    >>> s.layout, s.wrap, s.hyphenate, s.heading, s.replace
    (1.0, 1.0, 1.0, 0.0, 0.0)
    """

    copies: int = 1
    layout: float = 0.8
    ligatures: float = 0.1
    heading: float = 0.25
    emphasis: float = 0.15
    bullets: float = 0.15
    page_break: float = 0.15
    header: float = 0.25
    footer: float = 0.2
    contact: float = 0.2
    address: float = 0.15
    wrap: float = 0.6
    hyphenate: float = 0.3
    whitespace: float = 0.3
    wrap_min: int = 60
    wrap_max: int = 90
    replace: float = 0.3
    gazetteers: bool = True
    terminology: bool = True
    data_dir: str | None = None
    corpus_labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~defnlp.errors.ConfigError` on a value out of range."""
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or not 0 <= self.copies <= 100:
            raise ConfigError(
                f"augment.copies: {self.copies!r} is not a number of copies", "use an integer from 0 to 100"
            )
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"augment.{name}: {value!r} is not a probability", "use a number between 0 and 1")
            setattr(self, name, float(value))
        for name in ("wrap_min", "wrap_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 20 <= value <= 500:
                raise ConfigError(f"augment.{name}: {value!r} is not a line width", "use an integer from 20 to 500")
        if self.wrap_min > self.wrap_max:
            raise ConfigError(
                f"augment.wrap_min ({self.wrap_min}) is larger than augment.wrap_max ({self.wrap_max})",
                "the wrap width is drawn from wrap_min..wrap_max",
            )
        for name in ("gazetteers", "terminology"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"augment.{name}: {getattr(self, name)!r} is not true/false", "use true or false")
        if self.data_dir is not None and not isinstance(self.data_dir, (str, os.PathLike)):
            raise ConfigError(f"augment.data_dir: {self.data_dir!r} is not a path")
        labels = self.corpus_labels
        if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) and x for x in labels):
            raise ConfigError(f"augment.corpus_labels: {labels!r} is not a list of labels",
                              'use label names, e.g. corpus_labels = ["EVENT"]')
        self.corpus_labels = list(labels)

    @classmethod
    def only(cls, *names: str, **overrides: Any) -> "AugmentSettings":
        """Settings where exactly the named transforms fire (probability 1), the others never.

        A layout transform name also sets ``layout = 1``; ``"hyphenate"`` also sets ``wrap``.
        """
        unknown = [n for n in names if n not in _PROBABILITIES or n == "layout"]
        if unknown:
            raise ConfigError(
                f"unknown augmentation transform(s): {', '.join(unknown)}",
                f"use some of: {', '.join(n for n in _PROBABILITIES if n != 'layout')}",
            )
        values: dict[str, Any] = {name: 0.0 for name in _PROBABILITIES}
        for name in names:
            values[name] = 1.0
        if "hyphenate" in names:
            values["wrap"] = 1.0
        if any(n in LAYOUT_TRANSFORMS for n in names):
            values["layout"] = 1.0
        values.update(overrides)
        return cls(**values)
