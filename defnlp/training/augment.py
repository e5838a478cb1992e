"""Training-data augmentation: real-world layouts and mention replacement, offsets exact.

Two steps turn an annotated :class:`~defnlp.doc.Doc` into new training documents:

* :func:`render_layout` renders the same content as it arrives from the real world: hard
  wraps at 60–90 columns (also inside entities), hyphenation at line ends (``opéra-\\ntionnel``,
  the ``-\\n`` then belongs to the entity), ALL-CAPS headings, markdown emphasis and bullets,
  press-release header and footer blocks, contact blocks and postal addresses, page
  headers/footers of a converted PDF, ligature loss (``opération`` → ``opéraon``, outside
  entities) and stray whitespace (outside entities).
* :func:`replace_mentions` swaps entity mentions for others of the same label from the
  gazetteers (:func:`load_gazetteer`: the project's TSV files in
  ``defnlp/resources/gazetteers/`` plus the French weapon/platform acronyms of the shared
  terminology corpus).

:func:`augment_docs` does both, ``copies`` times per document, deterministically for a seed,
and returns only the new documents (ids ``<id>#aug1``, ``<id>#aug2``…; ``meta["augmented"]``
names the transforms applied).

Offsets are exact by construction: the text is held as *pieces* cut at every entity boundary
(each piece knows which entities cover it), every transform edits pieces, and the entity
offsets are rebuilt from the pieces. Relations keep their entity indices; entities added by
a layout block are appended after the original ones. Documents with overlapping or nested
entities (re3d) are handled: replacement skips the entities involved in an overlap, and the
transforms that insert text only do so outside every entity. No entity ends up running from
one block of the layout into the next (:func:`defnlp.layout.blocks`, the owner of that
convention): a wrapped line never starts like a list item, markdown headings are not wrapped,
and a wrap break that would still cut an entity is undone. Hyphenation follows the join rule
of :func:`defnlp.layout.model_view` (letters on both sides, lower case after the break).

What added blocks annotate (defence-v1 conventions): the contact name is ``PER`` and the job
title under it ``ROLE`` (linked by ``HAS_ROLE``); the organisation of "À propos de X" / "About
X" is ``ORG`` (both mentions); the city of a postal address or a dateline is ``LOC`` and the
dateline's date ``DATE``; an entity copied into a prepended ALL-CAPS title keeps its label.
Streets, postcodes, e-mails, phone numbers, URLs, page headers and boilerplate are not
annotated (they contain no names).

>>> from defnlp.doc import Doc
>>> doc = Doc("La DGA a commandé 42 Griffon à KNDS France.", id="d1", lang="fr")
>>> for start, end, label in [(3, 6, "ORG"), (18, 20, "QUANTITY"), (21, 28, "PLATFORM"), (31, 42, "ORG")]:
...     _ = doc.add_entity(start, end, label)
>>> _ = doc.add_relation(0, 2, "ACQUIRES")
>>> new = augment_docs([doc], AugmentSettings.only("header", "contact"), seed=1)
>>> new[0].id, new[0].meta["augmented"]
('d1#aug1', ['header', 'contact'])
>>> all(new[0].text[e.start:e.end] == e.text for e in new[0].entities)
True
>>> [(e.text, e.label) for e in new[0].entities][:4]
[('DGA', 'ORG'), ('42', 'QUANTITY'), ('Griffon', 'PLATFORM'), ('KNDS France', 'ORG')]
>>> new[0].relations[0]
Relation(head=0, tail=2, label='ACQUIRES', score=None)
"""

from __future__ import annotations

import csv
import logging
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..doc import Doc, Entity, Relation, Sentence
from ..errors import ConfigError, DataNotFoundError, RecordFormatError
from ..text import detect_language, split_sentences
from ..words import split_words

__all__ = [
    "AugmentSettings",
    "GazetteerEntry",
    "Gazetteer",
    "corpus_entries",
    "LAYOUT_TRANSFORMS",
    "load_gazetteer",
    "render_layout",
    "replace_mentions",
    "augment_docs",
]

logger = logging.getLogger(__name__)

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


# ================================================================================================
# settings
# ================================================================================================
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


# ================================================================================================
# gazetteers
# ================================================================================================
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


def _read_gazetteer_tsv(text: str, label: str, where: str) -> list[GazetteerEntry]:
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


#: Head words of the French expansions in the terminology corpus's acronym list → (label,
#: sub-type, forms). The list has no type column: the head noun of the expansion is its type.
_TERM_RULES: tuple[tuple[str, str, str, str], ...] = (
    (r"^système de missiles? (?:de croisière|antichar)", "WEAPON", "missile", "ms|mp"),
    (r"^système (?:de missiles?|sol-air|de défense antiaérienne)", "WEAPON", "air_defence", "ms|mp"),
    (r"^(?:famille de )?missiles?\b|^version .*\bmissile\b|\(missile\b", "WEAPON", "missile", "ms|mp"),
    (r"^torpille", "WEAPON", "torpedo", "fs|fp"),
    (r"^canon\b", "WEAPON", "gun", "ms|mp"),
    (r"^lance-roquettes", "WEAPON", "rocket_launcher", "ms|mp"),
    (r"^arme\b|^armement air-sol|\(obus\)", "WEAPON", "munition", "ms|mp"),
    (r"^hélicoptères?\b", "PLATFORM", "helicopter", "ms|mp"),
    (r"^avion\b|\(avion\)|^version .*\bmirage\b|^super-étendard", "PLATFORM", "aircraft", "ms|mp"),
    (r"^drone\b|\(drone\b", "PLATFORM", "drone", "ms|mp"),
    (r"^(?:véhicule|blindé|engin)\b", "PLATFORM", "armoured_vehicle", "ms|mp"),
    (r"^frégates?\b", "PLATFORM", "ship", "fs|fp"),
    (r"^(?:bâtiment|porte-avions|transport de chalands|chasseur de mines)", "PLATFORM", "ship", "ms|mp"),
    (r"^sous-marin", "PLATFORM", "submarine", "ms|mp"),
)


def _terminology_entries(data_dir: str | os.PathLike | None) -> list[GazetteerEntry]:
    """Weapon and platform acronyms of the shared French terminology corpus (read, never copied)."""
    from ..io.corpora import load_defence_acronyms  # the project's reader of that corpus

    try:
        rows = load_defence_acronyms(data_dir)
    except DataNotFoundError as err:
        logger.info("augmentation: terminology source skipped (%s)", err.message)
        return []
    out = []
    for row in rows:
        name = re.sub(r"\s*\([^)]*\)", "", row.get("acronym_or_name") or "").strip()
        expansion = (row.get("fr_expansion") or "").strip().lower()
        if not name or " ou " in name or not expansion:
            continue
        for pattern, label, sub_type, forms in _TERM_RULES:
            if re.search(pattern, expansion):
                lang = "any" if row.get("en_expansion_if_given") else "fr"
                out.append(GazetteerEntry(name, label, lang, sub_type, frozenset(forms.split("|")), "", "terminology"))
                break
    return out


@lru_cache(maxsize=1)
def _packaged_entries() -> tuple[GazetteerEntry, ...]:
    folder = resources.files("defnlp.resources").joinpath("gazetteers")
    out: list[GazetteerEntry] = []
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".tsv")):
        text = folder.joinpath(name).read_text(encoding="utf-8")
        out += _read_gazetteer_tsv(text, name[: -len(".tsv")].upper(), f"gazetteers/{name}")
    return tuple(out)


def corpus_entries(docs: Iterable[Doc], labels: Iterable[str]) -> list[GazetteerEntry]:
    """Replacement candidates from documents' own mentions of ``labels`` (one per surface and language).

    A mention qualifies when it is a name on one line: a capital letter or a digit, no line
    break. Its ``forms`` are those the words before it require (French article gender and
    number, English ``the``), so that a swap keeps ``la Coupe du monde`` -> ``la Ligue des
    champions`` and not ``le Tour de France``.

    >>> doc = Doc("La Coupe du monde et le Tour de France.", lang="fr")
    >>> _ = doc.add_entity(3, 17, "EVENT"), doc.add_entity(24, 38, "EVENT")
    >>> [(e.text, e.lang, sorted(e.forms)) for e in corpus_entries([doc], ["EVENT"])]
    [('Coupe du monde', 'fr', ['fs']), ('Tour de France', 'fr', ['ms'])]
    """
    wanted = set(labels)
    found: dict[tuple[str, str, str], tuple[str, set[str]]] = {}
    for doc in docs:
        if not isinstance(doc.text, str) or not doc.text.strip():
            continue  # no copy is made of it either (augment_docs)
        lang = _doc_lang(doc)
        for e in doc.entities:
            text = doc.text[e.start:e.end]
            if e.label not in wanted or not text or "\n" in text or not any(c.isupper() or c.isdigit() for c in text):
                continue
            ctx = _context(doc.text[: e.start], lang)
            forms = set(ctx.forms or ()) if lang == "fr" else ({"the"} if ctx.article else set())
            key = (e.label, text.casefold(), lang)
            found.setdefault(key, (text, set()))[1].update(forms)
    return [GazetteerEntry(text, label, lang, "corpus", frozenset(forms), source="corpus")
            for (label, _, lang), (text, forms) in found.items()]


def load_gazetteer(
    gazetteers: bool = True,
    terminology: bool = True,
    data_dir: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
) -> Gazetteer:
    """The replacement candidates: the project's gazetteers and the terminology acronyms.

    ``gazetteers``: the TSV files shipped in ``defnlp/resources/gazetteers/`` (or those of
    ``folder``: one ``LABEL.tsv`` per label, same columns). ``terminology``: the French weapon
    and platform acronyms of ``fr_defence_terminology`` in the data directory (``data_dir``,
    default the project's data-directory setting), read through
    :func:`defnlp.io.corpora.load_defence_acronyms`; skipped with a log message when the data
    directory or the corpus is absent.

    >>> g = load_gazetteer(terminology=False)
    >>> main = ("PLATFORM", "WEAPON", "ORG", "PROGRAMME", "DOCUMENT", "ROLE", "NAT", "PER", "LOC")
    >>> all(g.counts()[label] >= 40 for label in main)
    True
    >>> g.lookup("PLATFORM", "fs charles de gaulle")[0].type
    'ship'
    """
    entries: list[GazetteerEntry] = []
    if gazetteers:
        if folder is None:
            entries += _packaged_entries()
        else:
            for path in sorted(Path(folder).glob("*.tsv")):
                entries += _read_gazetteer_tsv(path.read_text(encoding="utf-8"), path.stem.upper(), str(path))
    gaz = Gazetteer(entries)
    if terminology:
        added = sum(gaz.add(e) for e in _terminology_entries(data_dir) if not gaz.lookup(e.label, e.text))
        logger.debug("augmentation: %d terminology acronyms added", added)
    logger.debug("augmentation gazetteer: %s", gaz.counts())
    return gaz


# ================================================================================================
# pieces: the text cut at every span boundary
# ================================================================================================
class _Pieces:
    """A text as pieces cut at every span boundary; each piece knows the spans that cover it.

    Editing inside a piece keeps its spans; inserting at a boundary gives a new piece that
    belongs to the spans covering both sides. Span offsets are rebuilt from the pieces.
    """

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        cuts = sorted({0, len(text), *(s for s, _ in spans), *(e for _, e in spans)})
        self.texts: list[str] = []
        self.covers: list[frozenset[int]] = []
        for a, b in zip(cuts, cuts[1:]):
            if a < b:
                self.texts.append(text[a:b])
                self.covers.append(frozenset(i for i, (s, e) in enumerate(spans) if s <= a and b <= e))
        self.n_spans = len(spans)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def _starts(self) -> list[int]:
        out = [0]
        for t in self.texts:
            out.append(out[-1] + len(t))
        return out

    def _find(self, pos: int) -> tuple[int, int, list[int]]:
        """(piece index, offset in it, starts) for character offset ``pos`` (piece count at the end)."""
        starts = self._starts()
        for k in range(len(self.texts)):
            if starts[k] <= pos < starts[k + 1]:
                return k, pos - starts[k], starts
        return len(self.texts), 0, starts

    def covering(self, pos: int) -> frozenset[int]:
        """The spans with ``start < pos < end`` (an insertion at ``pos`` would fall inside them)."""
        k, off, _ = self._find(pos)
        if off > 0:
            return self.covers[k]
        left = self.covers[k - 1] if k > 0 else frozenset()
        right = self.covers[k] if k < len(self.texts) else frozenset()
        return left & right

    def inside(self, pos: int) -> bool:
        return bool(self.covering(pos))

    def covered(self, a: int, b: int) -> bool:
        """Whether any character of ``[a, b)`` belongs to a span."""
        starts = self._starts()
        return any(self.covers[k] and starts[k] < b and a < starts[k + 1] for k in range(len(self.texts)))

    def replace(self, a: int, b: int, new: str) -> None:
        """Replace ``text[a:b]``, which must lie within one piece (``a == b``: insert at ``a``)."""
        k, off, starts = self._find(a)
        if a == b:
            if off > 0:
                self.texts[k] = self.texts[k][:off] + new + self.texts[k][off:]
            elif new:
                cover = self.covering(a) if 0 < a < starts[-1] else frozenset()
                self.texts.insert(k, new)
                self.covers.insert(k, cover)
            return
        if k == len(self.texts):
            raise ValueError(f"edit ({a}, {b}) is beyond the text")
        m = k
        while b > starts[m + 1] and m + 1 < len(self.texts) and self.covers[m + 1] == self.covers[k]:
            m += 1  # neighbouring pieces of the same spans (e.g. two outside pieces): merge them
        if b > starts[m + 1]:
            raise ValueError(f"edit ({a}, {b}) crosses a span boundary")
        if m > k:
            self.texts[k : m + 1] = ["".join(self.texts[k : m + 1])]
            del self.covers[k + 1 : m + 1]
        t = self.texts[k]
        self.texts[k] = t[:off] + new + t[off + b - a :]
        if not self.texts[k]:
            if self.covers[k]:
                raise ValueError(f"edit ({a}, {b}) would empty a span")
            del self.texts[k], self.covers[k]

    def map_range(self, a: int, b: int, fn: Callable[[str], str]) -> None:
        """Apply ``fn`` to ``text[a:b]`` piece by piece (spans keep their pieces)."""
        starts = self._starts()
        for k in range(len(self.texts)):
            x, y = max(a, starts[k]), min(b, starts[k + 1])
            if x < y:
                t = self.texts[k]
                self.texts[k] = t[: x - starts[k]] + fn(t[x - starts[k] : y - starts[k]]) + t[y - starts[k] :]

    def insert_parts(self, pos: int, parts: Sequence[tuple[str, int | None]]) -> None:
        """Insert ``(text, span)`` parts at ``pos`` (outside every span); ``span`` marks a new span's text."""
        if self.inside(pos):
            raise ValueError(f"insertion at {pos} falls inside a span")
        k, off, _ = self._find(pos)
        if off > 0:  # split the outside piece
            t = self.texts[k]
            self.texts[k : k + 1] = [t[:off], t[off:]]
            self.covers[k : k + 1] = [self.covers[k], self.covers[k]]
            k += 1
        for text, span in parts:
            if text:
                self.texts.insert(k, text)
                self.covers.insert(k, frozenset() if span is None else frozenset([span]))
                k += 1

    def new_span(self) -> int:
        self.n_spans += 1
        return self.n_spans - 1

    def set_span_text(self, span: int, new: str) -> None:
        """Replace the whole text of ``span``, which must be one piece covered by it alone."""
        ks = [k for k, c in enumerate(self.covers) if span in c]
        if len(ks) != 1 or self.covers[ks[0]] != frozenset([span]) or not new:
            raise ValueError(f"span {span} is not a simple span")
        self.texts[ks[0]] = new

    def simple(self, span: int) -> bool:
        ks = [k for k, c in enumerate(self.covers) if span in c]
        return len(ks) == 1 and self.covers[ks[0]] == frozenset([span])

    def spans(self) -> dict[int, tuple[int, int]]:
        out: dict[int, tuple[int, int]] = {}
        starts = self._starts()
        for k, cover in enumerate(self.covers):
            for i in cover:
                s, e = out.get(i, (starts[k], starts[k + 1]))
                out[i] = (min(s, starts[k]), max(e, starts[k + 1]))
        return out


def _doc_lang(doc: Doc) -> str:
    lang = (doc.lang or detect_language(doc.text) or "en").lower()
    return "fr" if lang.startswith("fr") else "en"


def _hidden_spans(doc: Doc) -> list[tuple[int, int]]:
    """``meta["ignore_spans"]`` (spans of unannotated labels): carried along like entities."""
    out = []
    for x in doc.meta.get("ignore_spans") or []:
        try:
            s, e = int(x[0]), int(x[1])
        except (TypeError, ValueError, IndexError):
            continue
        if 0 <= s < e <= len(doc.text):
            out.append((s, e))
    return out


def _pieces_of(doc: Doc) -> tuple[_Pieces, int]:
    n = len(doc.text)
    for i, e in enumerate(doc.entities):
        if not (isinstance(e.start, int) and isinstance(e.end, int) and 0 <= e.start < e.end <= n):
            raise RecordFormatError(
                f"document {doc.id!r}: entity {i} has invalid offsets ({e.start}, {e.end}) for a text of length {n}",
                "fix or drop the entity before augmentation (Doc.validate() finds them)",
            )
    for i, r in enumerate(doc.relations):
        if not (0 <= r.head < len(doc.entities) and 0 <= r.tail < len(doc.entities)):
            raise RecordFormatError(
                f"document {doc.id!r}: relation {i} refers to a missing entity ({r.head} -> {r.tail})"
            )
    hidden = _hidden_spans(doc)
    spans = [(e.start, e.end) for e in doc.entities] + hidden
    return _Pieces(doc.text, spans), len(hidden)


def _rebuild(
    doc: Doc,
    pieces: _Pieces,
    n_hidden: int,
    added: Sequence[tuple[int, str]] = (),
    added_relations: Sequence[tuple[int, int, str]] = (),
    names: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
) -> Doc:
    """The new Doc: original entities (same indices), then ``added`` ``(span, label)``."""
    text = pieces.text
    spans = pieces.spans()
    n = len(doc.entities)
    entities = []
    for i, e in enumerate(doc.entities):
        s, t = spans[i]
        entities.append(Entity(s, t, e.label, text[s:t], e.score))
    out_index: dict[int, int] = {}
    for span, label in added:
        s, t = spans[span]
        out_index[span] = len(entities)
        entities.append(Entity(s, t, label, text[s:t], None))
    relations = [Relation(r.head, r.tail, r.label, r.score) for r in doc.relations]
    relations += [Relation(out_index[h], out_index[t], label) for h, t, label in added_relations]
    new_meta = dict(doc.meta if meta is None else meta)
    if n_hidden:
        new_meta["ignore_spans"] = [list(spans[n + j]) for j in range(n_hidden)]
    new_meta["augmented"] = [*new_meta.get("augmented", []), *names]
    sentences = [Sentence(a, b) for a, b in split_sentences(text, doc.lang)] if doc.sentences else []
    return Doc(
        text=text, id=doc.id, lang=doc.lang, entities=entities, relations=relations, sentences=sentences, meta=new_meta
    )


# ================================================================================================
# layout rendering
# ================================================================================================
_STRINGS: dict[str, dict[str, Any]] = {
    "fr": {
        "titles": [
            "ACTUALITÉS DE LA DÉFENSE", "POINT DE SITUATION", "INFORMATION", "L'ESSENTIEL", "ARMEMENT ET INDUSTRIE",
        ],
        "entity_titles": ["{X} : POINT D'ÉTAPE", "{X} : CE QU'IL FAUT RETENIR", "FOCUS {X}", "DOSSIER {X}"],
        "header": ["COMMUNIQUÉ DE PRESSE", "Communiqué de presse", "INFORMATION PRESSE", "COMMUNIQUÉ"],
        "months": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
        "about": ["À propos de ", "A propos de ", "À PROPOS DE "],
        "about_text": [
            " conçoit, produit et soutient des équipements de défense et de sécurité.",
            " est un acteur de référence des systèmes de défense, présent sur terre, en mer et dans les airs.",
            " accompagne les forces armées dans la durée, de la conception au maintien en condition opérationnelle.",
        ],
        "follow": ["Suivez-nous : ", "Suivez-nous sur ", "Plus d'informations : "],
        "contact": ["Contact presse", "Contacts presse :", "Contact médias", "CONTACT PRESSE"],
        "phone": [  # 01 99 00 xx xx: numbers that ARCEP keeps for fiction
            "Tél. : +33 1 99 00 {a:02d} {b:02d}", "Tél. 01 99 00 {a:02d} {b:02d}", "+33 (0)1 99 00 {a:02d} {b:02d}",
        ],
        "streets": [
            "rue des Arsenaux", "rue de l'Industrie", "avenue des Forges", "quai des Chantiers", "rue des Ateliers",
            "allée des Hangars", "boulevard des Manufactures",
        ],
        "cities": [
            ("Paris", "75015"), ("Brest", "29200"), ("Toulon", "83000"), ("Bourges", "18000"), ("Lorient", "56100"),
            ("Cherbourg-en-Cotentin", "50100"), ("Tarbes", "65000"), ("Roanne", "42300"), ("Élancourt", "78990"),
            ("Mérignac", "33700"), ("Versailles", "78000"), ("Toulouse", "31000"),
        ],
        "address": ["", "Adresse : ", "Siège : "],
        "postbox": ["", "CS 70{a:03d}\n", "BP {a}\n"],
        "page": ["Page {i}/{n}", "– {i} –", "{i}/{n}", "Page {i} sur {n}"],
        "running": [
            "Dossier de presse – {t}", "{t} | Dossier de presse", "Document non contractuel", "DOSSIER DE PRESSE",
        ],
        "topics": [
            "Programmes d'armement", "Innovation de défense", "Coopération industrielle", "Bilan de l'année",
            "Salon de la défense",
        ],
        "sites": ["presse-defense", "actu-armement", "defense-infos", "espace-presse"],
    },
    "en": {
        "titles": ["DEFENCE NEWS", "SITUATION UPDATE", "NEWS IN BRIEF", "KEY POINTS", "INDUSTRY AND PROCUREMENT"],
        "entity_titles": ["{X}: WHAT YOU NEED TO KNOW", "{X}: PROGRESS UPDATE", "FOCUS: {X}", "SPOTLIGHT ON {X}"],
        "header": ["PRESS RELEASE", "Press release", "NEWS RELEASE", "FOR IMMEDIATE RELEASE"],
        "months": "January February March April May June July August September October November December".split(),
        "about": ["About ", "ABOUT ", "About "],
        "about_text": [
            " designs, builds and supports defence and security equipment.",
            " is a leading provider of defence systems on land, at sea and in the air.",
            " supports armed forces throughout the life of their equipment, from design to in-service support.",
        ],
        "follow": ["Follow us: ", "Follow us on ", "More information: "],
        "contact": ["Media contact", "Press contact:", "For more information, contact:", "MEDIA ENQUIRIES"],
        "phone": [  # 020 7946 0xxx: numbers that Ofcom keeps for drama
            "Tel: +44 20 7946 0{a:03d}", "Tel. 020 7946 0{a:03d}", "+44 (0)20 7946 0{a:03d}",
        ],
        "streets": [
            "Station Road", "Mill Lane", "Harbour Way", "Dockyard Road", "Foundry Street", "Hangar Lane", "Works Road",
        ],
        "cities": [
            ("Bristol", "BS34 7QW"), ("Farnborough", "GU14 6YU"), ("Portsmouth", "PO1 3LT"), ("Glasgow", "G51 4XP"),
            ("Plymouth", "PL2 2BG"), ("Barrow-in-Furness", "LA14 1AF"), ("Yeovil", "BA20 2YB"),
            ("Stevenage", "SG1 2DA"),
        ],
        "address": ["", "Address: ", "Registered office: "],
        "postbox": ["", "Unit {a}\n", "PO Box {a}\n"],
        "page": ["Page {i} of {n}", "- {i} -", "{i}/{n}", "Page {i}"],
        "running": ["Press kit – {t}", "{t} | Press kit", "Not for distribution", "PRESS KIT"],
        "topics": [
            "Armament programmes", "Defence innovation", "Industrial cooperation", "Year in review",
            "Defence exhibition",
        ],
        "sites": ["defence-news", "press-centre", "media-defence", "newsroom"],
    },
}

_HYPHEN_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿæœ")
_NO_SPLIT = {"ch", "ph", "th", "gn", "qu", "gu", "sh", "ck", "wh"}
_LIGATURES = re.compile("ffi|ffl|ff|fi|fl|ti")
_BLOCK_STARTS = ("#", "-", "•", "*", "|", ">")
#: what a wrapped line must not start with: it would read as a list item (``30. Les marins``)
_ITEM_START = re.compile(r"(?:[-*•·▪◦‣–—+>]|\d{1,3}[.)]|[A-Za-z][.)]|\(\d{1,3}\)|#{1,6})\s")


def _hyphen_points(word: str) -> list[int]:
    """Where ``word`` may be hyphenated (``opération`` → 5: ``opéra-tion``), at least 3 letters each side."""
    low = word.lower()
    out = []
    for k in range(3, len(word) - 2):
        a, b, c = low[k - 1], low[k], low[k + 1]
        if a in _HYPHEN_VOWELS and b not in _HYPHEN_VOWELS and c in _HYPHEN_VOWELS:
            out.append(k)  # V-CV
        elif a not in _HYPHEN_VOWELS and b not in _HYPHEN_VOWELS and a != "'" and (a + b) not in _NO_SPLIT and not (
            b in "lr" and a in "bcdfgkptv"
        ) and low[k - 2] in _HYPHEN_VOWELS and c in _HYPHEN_VOWELS:
            out.append(k)  # VC-CV
    return out


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and (c.isalnum() or c in " -")).lower()


def _slug(name: str) -> str:
    words = _ascii(name).replace("-", " ").split()
    return "".join(words[:2]) or "defense"


@lru_cache(maxsize=1)
def _layout_gazetteer() -> Gazetteer:
    return Gazetteer(_packaged_entries())


class _Renderer:
    """One layout rendering of one document (see :func:`render_layout`)."""

    def __init__(self, doc: Doc, rng: random.Random, settings: AugmentSettings) -> None:
        self.doc, self.rng, self.settings = doc, rng, settings
        self.lang = _doc_lang(doc)
        self.s = _STRINGS[self.lang]
        self.pieces, self.n_hidden = _pieces_of(doc)
        self.added: list[tuple[int, str]] = []
        self.added_relations: list[tuple[int, int, str]] = []
        self.names: list[str] = []

    # ---- helpers --------------------------------------------------------------------------------
    def _new_entity(self, text: str, label: str) -> tuple[str, int]:
        span = self.pieces.new_span()
        self.added.append((span, label))
        return text, span

    def _entities_of(self, labels: Iterable[str]) -> list[Entity]:
        wanted = set(labels)
        return [
            e for e in self.doc.entities
            if e.label in wanted and "\n" not in e.text and 2 <= len(e.text) <= 40 and any(c.isupper() for c in e.text)
        ]

    def _sentences(self) -> list[tuple[int, int]]:
        return split_sentences(self.pieces.text, self.lang)

    def _gap_ok(self, text: str, a: int, b: int) -> bool:
        """``text[a:b]`` is a run of plain spaces outside every entity."""
        return a < b and text[a:b].strip(" ") == "" and not self.pieces.covered(a, b)

    def _append_block(self, parts: list[tuple[str, int | None]]) -> None:
        """Append a block after a blank line (trailing whitespace outside entities is dropped first)."""
        text = self.pieces.text
        while text and text[-1].isspace() and not self.pieces.covered(len(text) - 1, len(text)):
            self.pieces.replace(len(text) - 1, len(text), "")
            text = self.pieces.text
        self.pieces.insert_parts(len(text), [("\n\n", None), *parts])

    # ---- transforms -----------------------------------------------------------------------------
    def ligatures(self) -> bool:
        text = self.pieces.text
        found = []
        for w in split_words(text):
            if len(w.text) >= 4 and w.text.isalpha() and not self.pieces.covered(w.start, w.end):
                m = _LIGATURES.search(w.text)
                if m and len(w.text) - len(m.group()) >= 2:
                    found.append((w.start + m.start(), w.start + m.end()))
        if not found:
            return False
        chosen = sorted(self.rng.sample(found, min(len(found), self.rng.randint(1, 3))), reverse=True)
        for a, b in chosen:
            self.pieces.replace(a, b, "")
        return True

    def heading(self) -> bool:
        text = self.pieces.text
        sents = self._sentences()
        if not sents:
            return False
        a, b = sents[0]
        first = text[a:b]
        if self.rng.random() < 0.5 and len(first) <= 120 and "\n" not in first and first.upper() != first:
            self.pieces.map_range(a, b, str.upper)
            after = self.pieces.text
            end = a + len(first.upper())
            nxt = len(after) - len(after[end:].lstrip(" "))
            if self.rng.random() < 0.5 and end < nxt < len(after) and self._gap_ok(after, end, nxt):
                self.pieces.replace(end, nxt, self.rng.choice(["\n", "\n\n"]))  # the heading on its own line
            return True
        ents = self._entities_of(("ORG", "PLATFORM", "WEAPON", "PROGRAMME", "LOC"))
        if ents and self.rng.random() < 0.6:
            ent = self.rng.choice(ents)
            pre, post = self.rng.choice(self.s["entity_titles"]).split("{X}")
            parts = [(pre, None), self._new_entity(ent.text.upper(), ent.label), (post, None)]
        else:
            parts = [(self.rng.choice(self.s["titles"]), None)]
        self.pieces.insert_parts(0, [*parts, (self.rng.choice(["\n\n", "\n"]), None)])
        return True

    def emphasis(self) -> bool:
        text = self.pieces.text
        cands = [
            (a, b) for a, b in self._sentences()
            if not text[a:b].startswith(_BLOCK_STARTS) and "\n\n" not in text[a:b] and b - a <= 400
            and not self.pieces.inside(a) and not self.pieces.inside(b)
        ]
        if not cands:
            return False
        a, b = cands[0] if self.rng.random() < 0.4 else self.rng.choice(cands)
        self.pieces.insert_parts(b, [("**", None)])
        self.pieces.insert_parts(a, [("**", None)])
        return True

    def bullets(self) -> bool:
        text = self.pieces.text
        sents = self._sentences()
        joined = [i > 0 and self._gap_ok(text, sents[i - 1][1], sents[i][0]) for i in range(len(sents))]
        # an item starts a line: at the text's start, after a newline, or after a gap that becomes one
        # (not after an indented continuation line, where the splitter may cut "…de\n  420 véhicules")
        ok = [not text[a:b].startswith(_BLOCK_STARTS) and not self.pieces.inside(a)
              and (a == 0 or text[a - 1] == "\n" or joined[n]) for n, (a, b) in enumerate(sents)]
        runs = []
        for length in (4, 3, 2):
            for i in range(len(sents) - length + 1):
                if all(ok[i : i + length]) and all(joined[i + 1 : i + length]):
                    runs.append((i, i + length))
        if not runs:
            return False
        i, j = self.rng.choice(runs)
        marker = self.rng.choice(["- ", "• ", "- ", "• ", "* "])
        if j < len(sents) and joined[j]:
            self.pieces.replace(sents[j - 1][1], sents[j][0], "\n\n")
        for m in range(j - 1, i - 1, -1):
            self.pieces.insert_parts(sents[m][0], [(marker, None)])
            if m > 0 and joined[m]:
                self.pieces.replace(sents[m - 1][1], sents[m][0], "\n")
        return True

    def page_break(self) -> bool:
        text = self.pieces.text
        cands = [m.span() for m in re.finditer(r"\n\s*\n", text) if not self.pieces.covered(*m.span())]
        sents = self._sentences()
        cands += [
            (sents[i - 1][1], sents[i][0])
            for i in range(1, len(sents))
            if self._gap_ok(text, sents[i - 1][1], sents[i][0])
        ]
        if not cands:
            return False
        a, b = self.rng.choice(sorted(cands))
        n = self.rng.randint(2, 6)
        i = self.rng.randint(1, n - 1)
        topic = self.rng.choice(self.s["topics"])
        lines = []
        if self.rng.random() < 0.7:
            lines.append(self.rng.choice(self.s["page"]).format(i=i, n=n))
        if self.rng.random() < 0.6 or not lines:
            lines.append(self.rng.choice(self.s["running"]).format(t=topic))
        self.pieces.replace(a, b, "\n\n" + "\n\n".join(lines) + "\n\n")
        return True

    def header(self) -> bool:
        parts: list[tuple[str, int | None]] = [(self.rng.choice(self.s["header"]), None), ("\n", None)]
        has_dateline = any(e.label == "DATE" and e.start < 80 for e in self.doc.entities)
        if not has_dateline:
            city = self.rng.choice(self.s["cities"])[0]
            day, month, year = self.rng.randint(1, 28), self.rng.randint(1, 12), self.rng.randint(2022, 2026)
            if self.rng.random() < 0.3:
                date = f"{day:02d}/{month:02d}/{year}"
            elif self.lang == "fr":
                date = f"{'1er' if day == 1 else day} {self.s['months'][month - 1]} {year}"
            else:
                date = f"{day} {self.s['months'][month - 1]} {year}"
            sep = ", le " if self.lang == "fr" else ", "
            parts += [self._new_entity(city, "LOC"), (sep, None), self._new_entity(date, "DATE"), ("\n", None)]
        parts.append(("\n", None))
        self.pieces.insert_parts(0, parts)
        return True

    def footer(self) -> bool:
        gaz = _layout_gazetteer()
        orgs = [  # a firm's name, used without an article: "À propos de Thales", not "de Section technique", "NATO"
            e for e in self._entities_of(("ORG",))
            if e.text[0].isupper() and not _context(self.doc.text[: e.start], self.lang).article
            and all(x.type in _ORG_WITHOUT_ARTICLE for x in gaz.lookup("ORG", e.text))
        ]
        parts: list[tuple[str, int | None]] = []
        if orgs:
            org = self.rng.choice(orgs).text
            about = self.rng.choice(self.s["about"])
            if self.lang == "fr" and _starts_with_vowel(org, "fr"):
                about = about[:-3] + ("D'" if about.isupper() else "d'")  # "À propos d'Airbus"
            name = org.upper() if about.isupper() else org
            parts += [(about, None), self._new_entity(name, "ORG"), ("\n", None)]
            parts += [self._new_entity(org, "ORG"), (self.rng.choice(self.s["about_text"]), None), ("\n\n", None)]
            site = _slug(org)
        else:
            site = self.rng.choice(self.s["sites"])
        tld = ".fr" if self.lang == "fr" else self.rng.choice([".com", ".co.uk"])
        parts.append((self.rng.choice(self.s["follow"]) + f"www.{site}{tld}", None))
        if self.rng.random() < 0.5:
            parts.append((f"\nhttps://www.{site}{tld}/{'presse' if self.lang == 'fr' else 'media'}", None))
        self._append_block(parts)
        return True

    def contact(self) -> bool:
        gaz = _layout_gazetteer()
        people = gaz.candidates("PER", self.lang)
        if not people:
            return False
        person = self.rng.choice(people)
        roles = [
            e for e in gaz.candidates("ROLE", self.lang)
            if e.type == "communications" and (not e.forms or not person.forms or e.forms & person.forms)
        ]
        if not roles:
            return False
        role = self.rng.choice(roles)
        role_text = role.text[0].upper() + role.text[1:]
        first, _, last = person.text.partition(" ")
        orgs = self._entities_of(("ORG",))
        domain = _slug(self.rng.choice(orgs).text) if orgs else self.rng.choice(self.s["sites"])
        local = f"{_ascii(first).replace(' ', '')}.{_ascii(last).replace(' ', '').replace('-', '')}"
        email = f"{local}@{domain}.{'fr' if self.lang == 'fr' else 'com'}"
        phone = self.rng.choice(self.s["phone"]).format(a=self.rng.randint(0, 99), b=self.rng.randint(0, 99))
        per = self._new_entity(person.text, "PER")
        rol = self._new_entity(role_text, "ROLE")
        self.added_relations.append((per[1], rol[1], "HAS_ROLE"))
        parts = [
            (self.rng.choice(self.s["contact"]) + "\n", None), per, ("\n", None), rol, ("\n", None),
            (email + "\n" + phone, None),
        ]
        self._append_block(parts)
        return True

    def address(self) -> bool:
        city, postcode = self.rng.choice(self.s["cities"])
        number = self.rng.randint(1, 250)
        street = self.rng.choice(self.s["streets"])
        box = self.rng.choice(self.s["postbox"]).format(a=self.rng.randint(10, 999))
        lead = self.rng.choice(self.s["address"])
        if self.lang == "fr":
            parts = [(f"{lead}{number} {street}\n{box}{postcode} ", None), self._new_entity(city, "LOC")]
        else:
            parts = [(f"{lead}{number} {street}\n{box}", None), self._new_entity(city, "LOC"), (f" {postcode}", None)]
        self._append_block(parts)
        return True

    def wrap(self) -> tuple[bool, bool]:
        """Hard-wrap every line at a random width; hyphenate some long words at line ends."""
        text = self.pieces.text
        width = self.rng.randint(self.settings.wrap_min, self.settings.wrap_max)
        edits: list[tuple[int, int, str]] = []
        line_start = 0
        for line in text.split("\n"):
            pos = line_start
            end = line_start + len(line)
            if line.startswith("#"):  # a markdown heading stays one line
                line_start = end + 1
                continue
            while end - pos > width:
                limit = pos + width
                cut = None
                if text[limit] != " ":
                    a = limit
                    while a > pos and not text[a - 1].isspace():
                        a -= 1
                    b = limit
                    while b < end and not text[b].isspace():
                        b += 1
                    m = re.fullmatch(r"((?:[^\W\d_]{1,6}['’])?)([^\W\d_]+)[.,;:!?)»\"']*", text[a:b])
                    if a > pos and m and not m.group(2).isupper() and self.rng.random() < self.settings.hyphenate:
                        w0 = a + len(m.group(1))  # after an elision: l'ar-mement
                        ks = [
                            w0 + k for k in _hyphen_points(m.group(2))
                            if w0 + k + 1 <= limit and not self._boundary(w0 + k)
                        ]
                        if ks:
                            cut = max(ks)
                            edits.append((cut, cut, "-\n"))
                            pos = cut
                            continue
                spaces = [i for i in range(limit, pos, -1) if self._breakable(text, i)]
                if not spaces:
                    spaces = [i for i in range(limit + 1, end - 1) if self._breakable(text, i)][:1]
                if not spaces:
                    break
                cut = spaces[0]
                edits.append((cut, cut + 1, "\n"))
                pos = cut + 1
            line_start = end + 1
        for a, b, new in sorted(edits, reverse=True):
            self.pieces.replace(a, b, new)
        return bool(edits), any(new == "-\n" for _, _, new in edits)

    @staticmethod
    def _breakable(text: str, i: int) -> bool:
        """A single space at ``i`` where a line may break (the next line not reading as a list item)."""
        return (
            text[i] == " " and 0 < i < len(text) - 1 and not text[i - 1].isspace() and not text[i + 1].isspace()
            and _ITEM_START.match(text, i + 1) is None
        )

    def _keep_blocks(self) -> None:
        """Undo the wrap inside an entity that the layout's blocks would cut (:func:`defnlp.layout.blocks`)."""
        try:
            from ..layout import blocks
        except ImportError:  # pragma: no cover - the layout owner is part of the package
            return
        originals = [e.text for e in self.doc.entities]
        done: set[int] = set()
        while True:
            text = self.pieces.text
            bounds = blocks(text)
            cut = [
                (span, s, e) for span, (s, e) in sorted(self.pieces.spans().items())
                if span not in done and "\n" in text[s:e] and not any(a <= s and e <= b for a, b in bounds)
                and not (span < len(originals) and "\n" in originals[span])  # a line break that was there before
            ]
            if not cut:
                return
            span, s, e = cut[0]
            done.add(span)
            self.pieces.map_range(s, e, lambda t: t.replace("-\n", "").replace("\n", " "))

    def _boundary(self, pos: int) -> bool:
        """Whether ``pos`` is a piece boundary (an entity starts or ends there)."""
        return self.pieces._find(pos)[1] == 0

    def whitespace(self) -> bool:
        text = self.pieces.text
        spaces = [
            i for i in range(1, len(text) - 1)
            if text[i] == " " and not text[i - 1].isspace() and not text[i + 1].isspace()
            and not self.pieces.covered(i, i + 1)
        ]
        line_ends = [
            i for i in range(1, len(text))
            if text[i] == "\n" and not text[i - 1].isspace() and not self.pieces.inside(i)
        ]
        line_starts = [
            i + 1 for i in range(len(text) - 1)
            if text[i] == "\n" and not text[i + 1].isspace() and not self.pieces.inside(i + 1)
        ]
        edits: dict[int, tuple[int, str]] = {}
        for _ in range(self.rng.randint(1, 4)):
            pools = (("double", spaces), ("tab", spaces), ("trailing", line_ends), ("indent", line_starts))
            kinds = [k for k, pool in pools if pool]
            if not kinds:
                break
            kind = self.rng.choice(kinds)
            if kind in ("double", "tab"):
                i = self.rng.choice(spaces)
                edits[i] = (i + 1, "  " if kind == "double" else self.rng.choice(["\t", " \t"]))
            elif kind == "trailing":
                i = self.rng.choice(line_ends)
                edits[i] = (i, self.rng.choice([" ", "  ", "\t"]))
            else:
                i = self.rng.choice(line_starts)
                edits[i] = (i, self.rng.choice(["\t", "  ", " "]))
        if self.rng.random() < 0.3:
            edits[len(text)] = (len(text), self.rng.choice(["\n", " \n", "\n\n"]))
        for a in sorted(edits, reverse=True):
            b, new = edits[a]
            self.pieces.replace(a, b, new)
        return bool(edits)

    # ---- driver ---------------------------------------------------------------------------------
    def run(self) -> Doc:
        st = self.settings
        for name in LAYOUT_TRANSFORMS[:9]:  # ligatures ... address; then wrap (+ hyphenate), whitespace
            if self.rng.random() < getattr(st, name) and getattr(self, name)():
                self.names.append(name)
        breaks_before_wrap = self.pieces.text.count("\n")
        if self.rng.random() < st.wrap:
            wrapped, hyphenated = self.wrap()
            self.names += (["wrap"] if wrapped else []) + (["hyphenate"] if hyphenated else [])
        if self.rng.random() < st.whitespace and self.whitespace():
            self.names.append("whitespace")
        if "wrap" in self.names:
            self._keep_blocks()
            text = self.pieces.text
            if "hyphenate" in self.names and text.count("-\n") <= self.doc.text.count("-\n"):
                self.names.remove("hyphenate")
            if text.count("\n") <= breaks_before_wrap:  # every break fell inside an entity and was undone
                self.names.remove("wrap")
        return _rebuild(self.doc, self.pieces, self.n_hidden, self.added, self.added_relations, self.names)


def render_layout(doc: Doc, rng: random.Random, settings: AugmentSettings) -> Doc:
    """``doc`` rendered in a real-world layout (a new Doc; ``doc`` is not changed).

    Each transform of :data:`LAYOUT_TRANSFORMS` fires with its probability in ``settings``
    (``settings.layout`` is not consulted here: :func:`augment_docs` uses it to decide whether a
    copy is rendered at all). Entities keep their indices and cover exactly their (possibly
    wrapped, hyphenated or upper-cased) surface; added blocks append their entities.
    ``meta["augmented"]`` gets the names of the transforms that changed something.

    >>> import random
    >>> doc = Doc("Le ministre a visité l'opération de Brest avec la Direction générale de l'armement.", lang="fr")
    >>> _ = doc.add_entity(36, 41, "LOC"), doc.add_entity(50, 82, "ORG")
    >>> out = render_layout(doc, random.Random(0), AugmentSettings.only("hyphenate", wrap_min=33, wrap_max=33))
    >>> print(out.text)
    Le ministre a visité l'opération
    de Brest avec la Direction géné-
    rale de l'armement.
    >>> out.entities[1].text, out.meta["augmented"]
    ("Direction géné-\\nrale de l'armement", ['wrap', 'hyphenate'])
    """
    if not doc.text:
        return doc.copy()
    return _Renderer(doc, rng, settings).run()


# ================================================================================================
# mention replacement
# ================================================================================================
_FR_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿæœ")
_EN_VOWELS = set("aeiou")
_FR_ELIDED = re.compile(r"(?:^|[^\w])([ldjmntsc]|qu|jusqu|lorsqu|puisqu)['’]$", re.IGNORECASE)
_FR_BEFORE = re.compile(r"(?:^|[^\w'’])(\w+)[ \u00a0]$")
_FR_NO_VOWEL_AFTER = {"le", "la", "de", "du", "au", "que", "ce", "je", "ne", "se", "me", "te", "lorsque", "puisque"}
_FR_ARTICLE_FORMS = {
    "le": {"ms"}, "du": {"ms"}, "au": {"ms"}, "un": {"ms"}, "ce": {"ms"}, "cet": {"ms"},
    "la": {"fs"}, "une": {"fs"}, "cette": {"fs"},
    "les": {"mp", "fp"}, "des": {"mp", "fp"}, "aux": {"mp", "fp"}, "ces": {"mp", "fp"},
    "en": {"fs"},  # "en France", "en Allemagne": a feminine country or region
}
_FR_ARTICLES = {"le", "la", "les", "du", "des", "au", "aux", "un", "une", "ce", "cet", "cette", "ces"}
_ORG_WITH_ARTICLE = {"agency", "ministry", "armed_force", "alliance", "intl_org"}
_ORG_WITHOUT_ARTICLE = {"company", "news_agency"}
#: sub-type of a ROLE not in the gazetteer, from its words
_ROLE_TYPES = (
    (re.compile(r"minist|secr[eé]tary of state|secr[eé]taire d'[ée]tat", re.I), "minister"),
    (re.compile(
        r"g[ée]n[ée]ral\b|amiral|admiral|colonel|commandant|commander|capitaine|captain|lieutenant|major\b|marshal"
        r"|brigadier|sergent|sergeant", re.I), "rank"),
    (re.compile(r"porte-parole|spokes|communication|presse|press|media|médias", re.I), "communications"),
    (re.compile(r"directeu?r|directrice|pdg|ceo|chief executive|executive|managing|chair", re.I), "executive"),
)
_GENDER_BEFORE = {
    "fr": (
        (re.compile(r"(?:^|\W)(?:M\.|Monsieur)\s*$"), "ms"),
        (re.compile(r"(?:^|\W)(?:Mme|Madame|Mlle)\.?\s*$"), "fs"),
    ),
    "en": (
        (re.compile(r"(?:^|\W)(?:Mr|Sir)\.?\s*$"), "ms"),
        (re.compile(r"(?:^|\W)(?:Mrs|Ms|Miss|Dame|Lady)\.?\s*$"), "fs"),
    ),
}
_FR_FORMS = {"ms", "fs", "mp", "fp"}
_REPLACE_LABELS_LOWER_OK = {"ROLE", "NAT"}


@dataclass
class _Context:
    """What the words just before a mention require of a replacement."""

    vowel: bool | None = None  # True: must start with a vowel (elision); False: must not
    forms: frozenset[str] | None = None  # FR: one of these gender/number forms
    article: bool = False  # a (definite or indefinite) article just before: "la DGA", "the MoD"


def _context(text_before: str, lang: str) -> _Context:
    tail = text_before[-12:]
    if lang == "fr":
        m = _FR_ELIDED.search(tail)
        if m:
            return _Context(vowel=True, article=m.group(1).lower() == "l")
        m = _FR_BEFORE.search(tail)
        if m:
            word = m.group(1).lower()
            forms = _FR_ARTICLE_FORMS.get(word)
            return _Context(
                False if word in _FR_NO_VOWEL_AFTER else None,
                None if forms is None else frozenset(forms),
                word in _FR_ARTICLES,
            )
        return _Context()
    m = re.search(r"(?:^|\W)(an?|the)[ \u00a0]$", tail, re.IGNORECASE)
    if m:
        word = m.group(1).lower()
        return _Context(vowel=None if word == "the" else word == "an", article=word == "the")
    return _Context()


def _starts_with_vowel(text: str, lang: str) -> bool:
    return bool(text) and text[0].lower() in (_FR_VOWELS if lang == "fr" else _EN_VOWELS)


def _adapt_case(original: str, new: str, known: Sequence[GazetteerEntry]) -> str:
    """Give ``new`` the case of ``original`` where that case comes from the layout or the sentence."""
    layout_caps = original.isupper() and (
        any(not e.text.isupper() and not e.alias.isupper() for e in known) if known else " " in original
    )
    if layout_caps:
        return new.upper()
    if original[:1].isupper() and new[:1].islower():
        return new[:1].upper() + new[1:]
    return new


class _Replacer:
    """One mention replacement of one document (see :func:`replace_mentions`)."""

    def __init__(self, doc: Doc, rng: random.Random, settings: AugmentSettings, gazetteer: Gazetteer) -> None:
        self.doc, self.rng, self.settings, self.gaz = doc, rng, settings, gazetteer
        self.lang = _doc_lang(doc)
        self.pieces, self.n_hidden = _pieces_of(doc)
        self.text_cf = doc.text.casefold()
        self.used: set[str] = {e.text.casefold() for e in doc.entities}
        self.first_names = gazetteer.first_name_forms()
        self._seen: dict[str, bool] = {}

    # ---- constraints ------------------------------------------------------------------------------
    def _present(self, name: str) -> bool:
        """Whether case-folded ``name`` is already used or occurs as a whole word in the text."""
        if name in self.used:
            return True
        found = self._seen.get(name)
        if found is None:
            found = self._seen[name] = name in self.text_cf and re.search(
                r"(?<!\w)" + re.escape(name) + r"(?!\w)", self.text_cf
            ) is not None
        return found

    def _contexts(self, mentions: Sequence[int]) -> list[_Context]:
        return [_context(self.doc.text[: self.doc.entities[i].start], self.lang) for i in mentions]

    def _forms(self, entry: GazetteerEntry) -> frozenset[str]:
        return entry.forms & _FR_FORMS if self.lang == "fr" else entry.forms & {"the"}

    def _fits(
        self, surface: str, entry: GazetteerEntry, contexts: Sequence[_Context], known_forms: frozenset[str] | None
    ) -> bool:
        if not surface or surface.casefold() in self.used:
            return False
        for name in (surface, entry.text, entry.alias):
            if name and self._present(name.casefold()):
                return False  # already in the text (also as its acronym): the copy would mix two things
        if entry.label == "PER":  # gender, and elision before the name ("d'Hélène")
            if known_forms and not entry.forms & known_forms:
                return False
            return all(c.vowel is None or _starts_with_vowel(surface, self.lang) == c.vowel for c in contexts)
        forms = self._forms(entry)
        if known_forms is None and self.lang == "en" and entry.label == "LOC":
            if ("the" in forms) != any(c.article for c in contexts):
                return False  # "the Gironde" -> "the Sahel", not "the Glasgow"; "in Bavaria" -> not "in Sahel"
        if known_forms is not None:
            if self.lang == "fr" and known_forms and not forms >= known_forms:
                return False
            if self.lang == "en" and forms != known_forms:
                return False
        for ctx in contexts:
            if ctx.vowel is not None and _starts_with_vowel(surface, self.lang) != ctx.vowel:
                return False
            if ctx.vowel is False and surface[:1].lower() == "h":
                return False
            if ctx.forms is not None and not forms & ctx.forms:
                return False
        return True

    def _gender(self, mentions: Sequence[int]) -> frozenset[str] | None:
        """A person's gender (``ms``/``fs``) from a title before the name or the role linked to it."""
        doc = self.doc
        found: set[str] = set()
        for i in mentions:
            e = doc.entities[i]
            before = doc.text[max(0, e.start - 12) : e.start]
            for pattern, form in _GENDER_BEFORE[self.lang]:
                if pattern.search(before):
                    found.add(form)
            roles = {r.tail for r in doc.relations if r.label == "HAS_ROLE" and r.head == i}
            roles |= {j for j, x in enumerate(doc.entities) if x.label == "ROLE" and 0 <= e.start - x.end <= 2}
            for j in roles:
                role = doc.entities[j]
                genders = set().union(*(x.forms for x in self.gaz.lookup("ROLE", role.text))) & {"ms", "fs"}
                if len(genders) != 1 and self.lang == "fr":
                    genders = set(_context(doc.text[: role.start], "fr").forms or ()) & {"ms", "fs"}
                if len(genders) == 1:
                    found |= genders
        return frozenset(found) if len(found) == 1 else None

    def _known(
        self, label: str, text: str, mentions: Sequence[int] = ()
    ) -> tuple[list[GazetteerEntry], set[str] | None, frozenset[str] | None]:
        """The gazetteer entries of ``text``, their sub-types and forms (PER: the gender)."""
        known = self.gaz.lookup(label, text)
        if label == "PER" and not known:
            forms = self.first_names.get(text.split(" ")[0].casefold()) if " " in text else None
            return [], None, forms or self._gender(mentions)
        if not known:
            return [], None, None
        types = {e.type for e in known}
        forms = frozenset().union(*(self._forms(e) for e in known))
        return known, types, forms

    def _choose(self, label: str, text: str, mentions: Sequence[int]) -> str | None:
        """A replacement surface for the singleton ``text`` (all its mentions), or None.

        An acronym (``OTAN``, ``DGA``) is replaced by an acronym where the entry has one.
        """
        known, types, known_forms = self._known(label, text, mentions)
        contexts = self._contexts(mentions)
        if not known and label not in _REPLACE_LABELS_LOWER_OK and label != "PER":
            if not any(c.isupper() or c.isdigit() for c in text):
                return None  # a common noun ("drones", "contrat"): not a name to swap
        if not known and label in _REPLACE_LABELS_LOWER_OK and self.lang == "fr" and text.endswith(("s", "x")):
            return None  # an unknown plural: agreement cannot be kept
        if not known and label == "LOC":
            types = {"city", "region"} if self.lang == "en" else {"city"}
        if not known and label == "ROLE":
            types = {next((t for pattern, t in _ROLE_TYPES if pattern.search(text)), "official")}
        if not known and label == "ORG":  # companies go without an article, institutions with one
            types = _ORG_WITH_ARTICLE if any(c.article for c in contexts) else _ORG_WITHOUT_ARTICLE
        acronym = text.isupper() and " " not in text and len(text) <= 8 and label not in ("PER", "NAT", "ROLE")
        options = []
        for entry in self.gaz.candidates(label, self.lang):
            if types is not None and entry.type not in types:
                continue
            surface = (entry.alias or entry.text) if acronym else entry.text
            adapted = _adapt_case(text, surface, known)
            if self._fits(adapted, entry, contexts, known_forms):
                options.append(adapted)
        return self.rng.choice(options) if options else None

    def _choose_pair(
        self, label: str, long: tuple[str, list[int]], short: tuple[str, list[int]]
    ) -> tuple[str, str] | None:
        """Replacements for a SAME_AS pair (full name, acronym) from entries with an alias."""
        known, types, known_forms = self._known(label, long[0])
        if not known:
            known, types, known_forms = self._known(label, short[0])
        c_long, c_short = self._contexts(long[1]), self._contexts(short[1])
        options = []
        for entry in self.gaz.candidates(label, self.lang):
            if not entry.alias or (types is not None and entry.type not in types):
                continue
            a = _adapt_case(long[0], entry.text, known)
            b = _adapt_case(short[0], entry.alias, known)
            if a.casefold() == b.casefold():
                continue
            if self._fits(a, entry, c_long, known_forms) and self._fits(b, entry, c_short, known_forms):
                options.append((a, b))
        return self.rng.choice(options) if options else None

    # ---- driver ---------------------------------------------------------------------------------
    def run(self) -> Doc:
        doc = self.doc
        groups: dict[tuple[str, str], list[int]] = {}
        for i, e in enumerate(doc.entities):
            groups.setdefault((e.label, e.text), []).append(i)
        blocked = {k for k, ms in groups.items() if not all(self.pieces.simple(i) for i in ms)}
        key_of = {i: k for k, ms in groups.items() for i in ms}
        # SAME_AS components over keys
        parent: dict[tuple[str, str], tuple[str, str]] = {k: k for k in groups}

        def root(k: tuple[str, str]) -> tuple[str, str]:
            while parent[k] != k:
                k = parent[k]
            return k

        for r in doc.relations:
            if r.label == "SAME_AS" and 0 <= r.head < len(doc.entities) and 0 <= r.tail < len(doc.entities):
                a, b = root(key_of[r.head]), root(key_of[r.tail])
                if a != b:
                    parent[max(a, b)] = min(a, b)
        components: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for k in groups:  # insertion order = order of first mention
            components.setdefault(root(k), []).append(k)

        chosen: dict[tuple[str, str], str] = {}
        per_last: dict[str, str] = {}
        deferred: list[tuple[tuple[str, str], bool]] = []
        for keys in components.values():
            drawn = self.rng.random() < self.settings.replace
            if any(k in blocked for k in keys):
                continue
            if len(keys) == 1 and keys[0][0] == "PER" and " " not in keys[0][1].strip():
                deferred.append((keys[0], drawn))  # a surname alone follows its full name
                continue
            if not drawn:
                continue
            if len(keys) == 1:
                label, text = keys[0]
                new = self._choose(label, text, groups[keys[0]])
                if new:
                    chosen[keys[0]] = new
                    if label == "PER":
                        per_last[text.split(" ", 1)[1]] = new.split(" ", 1)[1] if " " in new else new
            elif len(keys) == 2 and keys[0][0] == keys[1][0]:
                long, short = sorted(keys, key=lambda k: (-len(k[1]), k[1]))
                pair = self._choose_pair(long[0], (long[1], groups[long]), (short[1], groups[short]))
                if pair:
                    chosen[long], chosen[short] = pair
            if chosen:
                self.used |= {v.casefold() for v in chosen.values()}
        for key, drawn in deferred:  # a surname alone: the new surname of the same person, else any surname
            label, text = key
            new = per_last.get(text)
            if new is None and drawn:
                full = self._choose(label, text, groups[key])
                new = full.split(" ", 1)[1] if full and " " in full else None
            if new and new.casefold() not in self.used:
                chosen[key] = new
                self.used.add(new.casefold())
        replacements = []
        for key, new in chosen.items():
            for i in groups[key]:
                self.pieces.set_span_text(i, new)
                replacements.append([i, doc.entities[i].text, new])
        meta = dict(doc.meta)
        if replacements:
            meta["replacements"] = [*meta.get("replacements", []), *sorted(replacements)]
        return _rebuild(doc, self.pieces, self.n_hidden, names=["replace"] if replacements else [], meta=meta)


def replace_mentions(doc: Doc, rng: random.Random, settings: AugmentSettings, gazetteer: Gazetteer) -> Doc:
    """``doc`` with some entity mentions swapped for others of the same label (a new Doc).

    Each distinct surface (all its mentions together) is replaced with probability
    ``settings.replace`` by a gazetteer entry of the same label, usable in the document's
    language, of the same sub-type and French gender/number when the surface is known, that
    keeps the article or elision before it correct (``l'`` → a vowel-initial name; ``le``,
    ``de`` → not), and that does not already occur in the text. A pair linked by ``SAME_AS``
    (full name and acronym) is replaced by an entry and its alias together; a surname alone
    follows the replaced full name of the same person. Common nouns (``drones``, ``contrat``),
    entities that overlap others, and larger ``SAME_AS`` groups are left alone. Relations keep
    their entity indices; ``meta["replacements"]`` lists ``[index, old, new]``.

    >>> import random
    >>> doc = Doc("L'Allemagne achète des Rafale.", lang="fr")
    >>> _ = doc.add_entity(2, 11, "LOC"), doc.add_entity(23, 29, "PLATFORM")
    >>> gaz = Gazetteer([GazetteerEntry("Allemagne", "LOC", "fr", "country", frozenset({"fs"})),
    ...                  GazetteerEntry("Pologne", "LOC", "fr", "country", frozenset({"fs"})),
    ...                  GazetteerEntry("Italie", "LOC", "fr", "country", frozenset({"fs"})),
    ...                  GazetteerEntry("Rafale", "PLATFORM", "any", "aircraft", frozenset({"ms", "mp"})),
    ...                  GazetteerEntry("Gripen E", "PLATFORM", "any", "aircraft", frozenset({"ms", "mp"}))])
    >>> out = replace_mentions(doc, random.Random(3), AugmentSettings(replace=1.0), gaz)
    >>> out.text, out.meta["replacements"]
    ("L'Italie achète des Gripen E.", [[0, 'Allemagne', 'Italie'], [1, 'Rafale', 'Gripen E']])
    """
    if not doc.text or not doc.entities or not len(gazetteer):
        return _rebuild(doc, *_pieces_of(doc))
    return _Replacer(doc, rng, settings, gazetteer).run()


# ================================================================================================
# the augmentation step
# ================================================================================================
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
