"""What the words just before a mention require of a name (:class:`_Context`, :func:`_context`):
French elision and the gender and number of an article, English ``a``/``an``/``the``; whether a
name starts with a vowel, and which organisation types take an article. Private; used by mention
replacement, the layout footer and :func:`~.gazetteer.corpus_entries`."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__: list[str] = []

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
_FR_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿæœ")
_EN_VOWELS = set("aeiou")
_ORG_WITH_ARTICLE = {"agency", "ministry", "armed_force", "alliance", "intl_org"}
_ORG_WITHOUT_ARTICLE = {"company", "news_agency"}


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
