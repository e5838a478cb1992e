"""The project's gazetteers: names by entity label, read from the TSV files in
``defnlp/resources/gazetteers/`` (their README gives the columns).

Two users: training augmentation swaps mentions for gazetteer entries
(:mod:`defnlp.training.augment`), and corpus readers apply the project's conventions with them
(which names are countries, which words are titles: :mod:`defnlp.io.corpora.conventions`).

>>> g = packaged_gazetteer()
>>> [e.type for e in g.lookup("LOC", "Allemagne")]
['country']
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import ConfigError

__all__ = ["GazetteerEntry", "Gazetteer", "read_gazetteer_tsv", "packaged_entries", "packaged_gazetteer"]


@dataclass(frozen=True)
class GazetteerEntry:
    """One replacement candidate (a row of a gazetteer TSV file, see its README)."""

    text: str
    label: str
    lang: str = "any"
    type: str = ""
    forms: frozenset[str] = frozenset()
    alias: str = ""
    source: str = "gazetteer"

    def usable_in(self, lang: str) -> bool:
        return self.lang in ("any", lang)


class Gazetteer:
    """Replacement candidates by label, with a case-insensitive lookup of known surfaces.

    >>> g = Gazetteer([GazetteerEntry("Rafale", "PLATFORM", type="aircraft"), GazetteerEntry("Thales", "ORG")])
    >>> g.counts(), [e.type for e in g.lookup("PLATFORM", "rafale")]
    ({'ORG': 1, 'PLATFORM': 1}, ['aircraft'])
    """

    def __init__(self, entries: Iterable[GazetteerEntry] = ()) -> None:
        self.entries: list[GazetteerEntry] = []
        self._by_label: dict[str, list[GazetteerEntry]] = {}
        self._index: dict[tuple[str, str], list[GazetteerEntry]] = {}
        self._first_names: dict[str, frozenset[str]] | None = None
        for entry in entries:
            self.add(entry)

    def add(self, entry: GazetteerEntry) -> bool:
        """Add ``entry`` unless the label already has that surface in that language; return whether added."""
        key = (entry.label, entry.text.casefold())
        if any(e.text.casefold() == key[1] and e.lang == entry.lang for e in self._index.get(key, ())):
            return False
        self.entries.append(entry)
        self._first_names = None
        self._by_label.setdefault(entry.label, []).append(entry)
        for surface in (entry.text, entry.alias):
            if surface:
                self._index.setdefault((entry.label, surface.casefold()), []).append(entry)
        return True

    def candidates(self, label: str, lang: str) -> list[GazetteerEntry]:
        """The entries of ``label`` usable in a document of language ``lang`` (file order)."""
        return [e for e in self._by_label.get(label, ()) if e.usable_in(lang)]

    def lookup(self, label: str, text: str) -> list[GazetteerEntry]:
        """The entries whose text or alias is ``text`` (case-insensitive)."""
        return list(self._index.get((label, text.casefold()), ()))

    def first_name_forms(self) -> dict[str, frozenset[str]]:
        """First names of the ``PER`` entries (case-folded) → their gender forms."""
        if self._first_names is None:
            self._first_names = {}
            for e in self._by_label.get("PER", ()):
                if e.forms:
                    self._first_names.setdefault(e.text.split(" ")[0].casefold(), e.forms)
        return self._first_names

    def counts(self) -> dict[str, int]:
        """Number of entries per label."""
        return {label: len(v) for label, v in sorted(self._by_label.items())}

    @property
    def labels(self) -> list[str]:
        return sorted(self._by_label)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Gazetteer({len(self)} entries: {self.counts()})"


_GAZETTEER_COLUMNS = ("text", "lang", "type", "form", "alias")


def read_gazetteer_tsv(text: str, label: str, where: str) -> list[GazetteerEntry]:
    """The entries of one gazetteer file's ``text`` (label ``label``; ``where`` names it in errors)."""
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or tuple(c.strip() for c in rows[0][:2]) != ("text", "lang"):
        raise ConfigError(f"{where}: the first line must be the header {'/'.join(_GAZETTEER_COLUMNS)}")
    header = [c.strip() for c in rows[0]]
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip() or row[0].startswith("#"):
            continue
        rec = dict(zip(header, (c.strip() for c in row)))
        lang = rec.get("lang") or "any"
        if lang not in ("fr", "en", "any"):
            raise ConfigError(f"{where}:{n}: lang {lang!r} is not fr, en or any")
        forms = frozenset(f for f in (rec.get("form") or "").split("|") if f)
        sub_type, alias = rec.get("type") or "", rec.get("alias") or ""
        out.append(GazetteerEntry(rec["text"], label, lang, sub_type, forms, alias, where))
    return out


@lru_cache(maxsize=1)
def packaged_entries() -> tuple[GazetteerEntry, ...]:
    """The entries of the TSV files shipped in ``defnlp/resources/gazetteers/`` (read once)."""
    folder = resources.files("defnlp.resources").joinpath("gazetteers")
    out: list[GazetteerEntry] = []
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".tsv")):
        text = folder.joinpath(name).read_text(encoding="utf-8")
        out += read_gazetteer_tsv(text, name[: -len(".tsv")].upper(), f"gazetteers/{name}")
    return tuple(out)


def packaged_gazetteer() -> Gazetteer:
    """A :class:`Gazetteer` of the shipped entries (a new object: adding to it changes no other)."""
    return Gazetteer(packaged_entries())
