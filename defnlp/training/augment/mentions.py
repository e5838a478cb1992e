"""Mention replacement (:func:`replace_mentions`, :class:`_Replacer`): entity mentions swapped for
gazetteer entries of the same label, sub-type, gender and number, keeping elision, articles and
``SAME_AS`` pairs."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ...doc import Doc
from .context import _ORG_WITH_ARTICLE, _ORG_WITHOUT_ARTICLE, _Context, _context, _starts_with_vowel
from .gazetteer import Gazetteer, GazetteerEntry
from .pieces import _doc_lang, _pieces_of, _rebuild
from .settings import AugmentSettings

__all__ = ["replace_mentions"]

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
