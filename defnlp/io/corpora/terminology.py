"""The French defence terminology: official FR→EN terms and the LPM acronym glossary.

>>> len(load_defence_terms()), len(load_defence_acronyms())  # doctest: +SKIP
(41, 150)
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ._common import _corpus, _file, _read

__all__ = ["load_defence_terms", "load_defence_acronyms"]


def _tsv(path: Path) -> list[dict[str, str | None]]:
    rows = list(csv.DictReader(_read(path).splitlines(), delimiter="\t"))
    return [{k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items()} for row in rows]


def load_defence_terms(data_dir: str | os.PathLike | None = None) -> list[dict[str, str | None]]:
    """The 41 official FR→EN defence terms (Commission de terminologie de la défense).

    Keys: ``fr_term``, ``pos`` (e.g. ``n.f.``), ``domain`` (e.g. ``Défense / Armement``),
    ``en_term``, ``source`` (the official act).

    >>> term = load_defence_terms()[0]  # doctest: +SKIP
    >>> term["fr_term"], term["en_term"]  # doctest: +SKIP
    ('arme à implosion', 'implosion weapon')
    """
    return _tsv(_file(_corpus("fr_defence_terminology", data_dir), "fr_en_defence_terms.tsv"))


def load_defence_acronyms(data_dir: str | os.PathLike | None = None) -> list[dict[str, str | None]]:
    """The 150 French defence acronyms and programme names of the 2003-2008 LPM glossary.

    Keys: ``acronym_or_name`` (e.g. ``AASM``), ``fr_expansion``, ``en_expansion_if_given``
    (``None`` for all but 16).

    >>> load_defence_acronyms()[0]["acronym_or_name"]  # doctest: +SKIP
    'AASM'
    """
    return _tsv(_file(_corpus("fr_defence_terminology", data_dir), "fr_defence_acronyms_lpm2003.tsv"))
