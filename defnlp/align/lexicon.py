"""A French-English lexicon of defence names and terms, and the string measures of entity matching.

Sources, merged into one :class:`BilingualLexicon`:

* the hand-made gazetteer shipped with defnlp (``defnlp/resources/align/gazetteer_fr_en.tsv``:
  alliances, ministries, forces, countries, regions, cities, nationalities, documents, roles,
  platforms and programmes — OTAN↔NATO, Corse↔Corsica, lettre d'intention↔Letter of Intent…);
* the official FR→EN defence terminology (Commission de terminologie de la défense) and the
  French defence acronym list of the 2003-2008 programming law, read at run time from the data
  directory (``fr_defence_terminology/``), when it is there.

Forms are compared after :func:`fold`: accents, case, leading articles, apostrophe and hyphen
variants and acronym dots are ignored.

>>> lex = load_lexicon(include_terminology=False)
>>> lex.translates("l'OTAN", "NATO"), lex.translates("Corse", "Corsica"), lex.translates("Corse", "Sardinia")
(True, True, False)
>>> fold("l’Armée de Terre"), fold("the U.S.")
('armee de terre', 'us')
>>> is_acronym_of("OTAN", "Organisation du traité de l'Atlantique nord")
True
"""

from __future__ import annotations

import csv
import difflib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["BilingualLexicon", "acronym_letters", "fold", "is_acronym_of", "load_lexicon", "string_similarity"]

_ARTICLES = re.compile(r"^(?:(?:le|la|les|un|une|des|du|de la|de|the|a|an)\s+|(?:de l'|l'|d'))+(?=\S)")
_STOP_FOR_ACRONYMS = {
    "de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "pour", "a", "au", "aux", "sur",
    "of", "the", "and", "for", "on", "in", "to",
}


def fold(text: str) -> str:
    """A comparison key: no accents, lower case, no leading article, single spaces, no dots in acronyms."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").replace("ʼ", "'").casefold()
    text = re.sub(r"\b(?:[a-z]\.){2,}", lambda m: m.group().replace(".", ""), text)  # u.s. -> us
    text = re.sub(r"[-‐‑–_/]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .,;:!?\"«»()[]")
    text = _ARTICLES.sub("", text)
    return text.strip()


def acronym_letters(text: str) -> str:
    """Initials of the content words: ``"Organisation du traité de l'Atlantique nord"`` -> ``"otan"``."""
    words = re.findall(r"[^\W\d_]+", fold(text).replace("'", " "))
    return "".join(w[0] for w in words if w not in _STOP_FOR_ACRONYMS)


def is_acronym_of(short: str, long: str) -> bool:
    """Whether ``short`` (2-8 capital letters) is the acronym of ``long``."""
    bare = short.replace(".", "").strip()
    if not (2 <= len(bare) <= 8 and bare.isalpha() and bare.isupper()):
        return False
    return len(long.split()) >= 2 and acronym_letters(long) == bare.lower()


def string_similarity(a: str, b: str) -> float:
    """Similarity of two names in [0, 1] after :func:`fold`: 1.0 if equal, else the best of a
    character-sequence ratio and an acronym match (0.9).

    >>> string_similarity("Sébastien Lecornu", "Sebastien LECORNU")
    1.0
    >>> round(string_similarity("Leopard 2A4", "Leopard 2"), 2)
    0.9
    """
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    if is_acronym_of(a.strip(), b) or is_acronym_of(b.strip(), a):
        return 0.9
    return round(difflib.SequenceMatcher(None, fa, fb, autojunk=False).ratio(), 4)


@dataclass
class BilingualLexicon:
    """Folded French forms -> folded English forms (and the label each pair carries, if any)."""

    fr_to_en: dict[str, set[str]] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    _en_forms: set[str] | None = field(default=None, repr=False, compare=False)
    _en_size: int = field(default=-1, repr=False, compare=False)

    def add(self, fr_forms: list[str], en_forms: list[str], label: str | None = None) -> None:
        for f in fr_forms:
            key = fold(f)
            if not key:
                continue
            bucket = self.fr_to_en.setdefault(key, set())
            for e in en_forms:
                value = fold(e)
                if value:
                    bucket.add(value)
                    if label:
                        self.labels.setdefault((key, value), label)

    def translations(self, fr: str) -> set[str]:
        """The folded English forms known for a French form."""
        return self.fr_to_en.get(fold(fr), set())

    def translates(self, fr: str, en: str) -> bool:
        """Whether the lexicon pairs these French and English forms."""
        return fold(en) in self.translations(fr)

    def knows(self, fr: str | None = None, en: str | None = None) -> bool:
        """Whether the lexicon has a French form ``fr`` / an English form ``en`` at all.

        >>> lex = load_lexicon(include_terminology=False)
        >>> lex.knows(fr="Bruxelles"), lex.knows(en="Brussels"), lex.knows(fr="Trifouillis")
        (True, True, False)
        """
        if fr is not None and fold(fr) in self.fr_to_en:
            return True
        if en is not None:
            if self._en_forms is None or self._en_size != len(self.fr_to_en):
                self._en_forms = {v for vs in self.fr_to_en.values() for v in vs}
                self._en_size = len(self.fr_to_en)
            return fold(en) in self._en_forms
        return False

    def __len__(self) -> int:
        return len(self.fr_to_en)


def _split_forms(cell: str) -> list[str]:
    return [f.strip() for f in cell.split("|") if f.strip()]


def _read_gazetteer(lexicon: BilingualLexicon) -> None:
    ref = resources.files("defnlp.resources").joinpath("align/gazetteer_fr_en.tsv")
    with ref.open("r", encoding="utf-8") as fh:
        rows = [line for line in fh if line.strip() and not line.startswith("#")]
    for row in csv.DictReader(rows, delimiter="\t"):
        lexicon.add(_split_forms(row["fr"]), _split_forms(row["en"]), row.get("label") or None)
    lexicon.sources.append("defnlp gazetteer")


def _read_terminology(lexicon: BilingualLexicon, folder: Path) -> None:
    terms = folder / "fr_en_defence_terms.tsv"
    if terms.is_file():
        with terms.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row.get("fr_term") and row.get("en_term"):
                    lexicon.add([row["fr_term"]], [row["en_term"]])
        lexicon.sources.append(str(terms))
    acronyms = folder / "fr_defence_acronyms_lpm2003.tsv"
    if acronyms.is_file():
        with acronyms.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                acronym = (row.get("acronym_or_name") or "").strip()
                if not acronym:
                    continue
                english = (row.get("en_expansion_if_given") or "").strip()
                french = re.sub(r"\s*\([^)]*\)\s*$", "", (row.get("fr_expansion") or "").strip())
                # the acronym is used as is in English texts, and its expansions are its translations
                targets = [acronym] + ([english] if english else [])
                lexicon.add([acronym] + ([french] if french else []), targets)
        lexicon.sources.append(str(acronyms))


@lru_cache(maxsize=4)
def load_lexicon(include_terminology: bool = True, data_dir: str | None = None) -> BilingualLexicon:
    """The gazetteer, plus the official terminology from the data directory when available."""
    lexicon = BilingualLexicon()
    _read_gazetteer(lexicon)
    if include_terminology:
        from ..config import data_dir as find_data_dir
        from ..errors import DataNotFoundError

        try:
            folder = find_data_dir(data_dir) / "fr_defence_terminology"
        except DataNotFoundError:
            folder = None
        if folder is not None and folder.is_dir():
            _read_terminology(lexicon, folder)
        else:
            log.info("official defence terminology not found in the data directory; using the gazetteer only")
    return lexicon
