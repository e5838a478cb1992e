"""Replacement candidates for augmentation: the project's gazetteers (:mod:`defnlp.gazetteers`,
which owns :class:`GazetteerEntry` and :class:`Gazetteer`), the terminology corpus's weapon and
platform acronyms, the documents' own mentions (:func:`corpus_entries`) and :func:`load_gazetteer`."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ...doc import Doc
from ...errors import DataNotFoundError
from ...gazetteers import Gazetteer, GazetteerEntry, packaged_entries, read_gazetteer_tsv
from .context import _context
from .pieces import _doc_lang

__all__ = ["GazetteerEntry", "Gazetteer", "corpus_entries", "load_gazetteer"]

logger = logging.getLogger(__name__)


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
    from ...io.corpora import load_defence_acronyms  # the project's reader of that corpus

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
            entries += packaged_entries()
        else:
            for path in sorted(Path(folder).glob("*.tsv")):
                entries += read_gazetteer_tsv(path.read_text(encoding="utf-8"), path.stem.upper(), str(path))
    gaz = Gazetteer(entries)
    if terminology:
        added = sum(gaz.add(e) for e in _terminology_entries(data_dir) if not gaz.lookup(e.label, e.text))
        logger.debug("augmentation: %d terminology acronyms added", added)
    logger.debug("augmentation gazetteer: %s", gaz.counts())
    return gaz
