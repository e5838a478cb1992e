"""Text handling with exact character offsets: decoding, language, sentences, windows.

Nothing here changes the text: every function returns offsets into the original string, so
that annotations always point at ``text[start:end]``.

>>> text = "Le ministre des Armées a signé. The U.S. Army agreed on 3.5 bn."
>>> [text[a:b] for a, b in split_sentences(text)]
['Le ministre des Armées a signé.', 'The U.S. Army agreed on 3.5 bn.']
>>> detect_language("Le ministre des Armées a signé une lettre d'intention avec la Belgique.")
'fr'
>>> plan_windows(10, max_tokens=4, overlap=1)[:2]
[Window(start=0, end=4, own_start=0, own_end=3), Window(start=3, end=7, own_start=3, own_end=6)]
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

from .errors import BinaryInputError, InputEncodingError

__all__ = [
    "decode_bytes",
    "detect_language",
    "language_scores",
    "split_sentences",
    "Window",
    "plan_windows",
    "trim_span",
    "is_abbreviation",
    "SUPPORTED_LANGUAGES",
]

SUPPORTED_LANGUAGES = ("fr", "en")

# ------------------------------------------------------------------------------------------------
# decoding
# ------------------------------------------------------------------------------------------------
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def decode_bytes(data: bytes, encoding: str | None = None, source: str = "input") -> str:
    """Decode file content to ``str``.

    UTF-8 (with or without BOM) and BOM-marked UTF-16/32 are recognised; any other encoding must
    be named with ``encoding``. Binary content (NUL bytes, many control bytes) raises
    :class:`BinaryInputError`; undecodable bytes raise :class:`InputEncodingError` with the
    position — never a silent replacement.
    """
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError as err:
            raise InputEncodingError(f"{source}: unknown encoding {encoding!r}") from err
        except UnicodeDecodeError as err:
            raise InputEncodingError(f"{source}: not valid {encoding} at byte {err.start}") from err
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as err:
                raise InputEncodingError(f"{source}: not valid {codec} at byte {err.start}") from err
    head = data[:8192]
    if b"\x00" in head or (head and sum(b < 9 or 13 < b < 32 for b in head) / len(head) > 0.1):
        raise BinaryInputError(f"{source} looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputEncodingError(
            f"{source}: not valid UTF-8 at byte {err.start} (0x{data[err.start]:02x})"
        ) from err


# ------------------------------------------------------------------------------------------------
# language identification (fr / en / und)
# ------------------------------------------------------------------------------------------------
_STOPWORDS = {
    "fr": set(
        "le la les un une des du de d l au aux et ou mais donc car ni que qui quoi dont où ce cet cette ces "
        "son sa ses leur leurs notre nos votre vos il elle ils elles nous vous je tu on se ne pas plus "
        "est sont était été être avoir a ont avait sur sous dans par pour avec sans entre vers chez "
        "selon lors depuis aussi très tout tous toute toutes comme si même après avant contre ainsi "
        "y en qu s c n j m t également français française ministre armées".split()
    ),
    "en": set(
        "the a an and or but of to in on at by for with from into about over under after before "
        "is are was were be been being has have had do does did will would shall should can could "
        "may might must this that these those it its he she they we you i his her their our your "
        "not no as than then there here which who whom whose what when where why how also all any "
        "each more most other some such only own same so very just said minister defence defense".split()
    ),
    # other languages: only to recognise text that is neither French nor English
    "de": set("der die das und ist nicht mit von zu den dem des ein eine auf für im sich auch wird".split()),
    "es": set("el los las y es del por con una para que se su al lo como más pero sus le ya".split()),
    "it": set("il di che è per una sono della con non gli le del dei nel alla anche come".split()),
    "pt": set("o os as e do da dos das em um uma para com não que se por mais foi ao".split()),
    "nl": set("de het een en van is niet op met voor zijn aan bij ook dat er maar".split()),
}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def language_scores(text: str) -> dict[str, float]:
    """Share of word tokens that are stopwords of each language (first 5,000 words)."""
    words = [w.lower() for w in _WORD_RE.findall(text[:50_000])][:5000]
    if not words:
        return {lang: 0.0 for lang in _STOPWORDS}
    scores = {}
    for lang, stop in _STOPWORDS.items():
        scores[lang] = sum(w in stop for w in words) / len(words)
    # diacritics typical of French tip the balance on short texts
    accents = sum(ch in "éèêàùçôîœâë" for ch in text[:50_000].lower())
    scores["fr"] += min(0.05, accents / max(1, len(words)) * 0.1)
    return scores


def detect_language(text: str, min_score: float = 0.08) -> str:
    """``'fr'``, ``'en'`` or ``'und'`` (undetermined, other language, or too little text)."""
    scores = language_scores(text)
    best = max(scores, key=scores.__getitem__)
    if scores[best] < min_score or best not in SUPPORTED_LANGUAGES:
        return "und"
    return best


# ------------------------------------------------------------------------------------------------
# function words
# ------------------------------------------------------------------------------------------------
#: lowercase prepositions, articles and conjunctions (FR and EN) that never end a name: an entity
#: may not stop on one (``Parquet de``, ``Quartier Nord de`` | ``Bruxelles``). Checked against
#: 51k gold entities (project examples, layout dev, WiNER-fr, WikiGold, re3d): none ends on one
#: written as a word of its own (``Ilocos Sur``, ``TNI AU`` are capitalised; ``She'an`` is
#: inside a word).
FUNCTION_WORDS: frozenset[str] = frozenset({
    "de", "des", "du", "la", "le", "les", "à", "au", "aux", "et", "ou", "en", "par", "pour", "sur", "avec", "dans",
    "of", "the", "and", "or", "for", "in", "on", "at", "by", "with", "to", "from", "a", "an",
})
#: French elided words (``d'``, ``l'``, ``qu'``): they never end a name either
ELIDED_WORDS: frozenset[str] = frozenset({"d", "l", "qu", "jusqu", "lorsqu", "puisqu"})
APOSTROPHES = "'’"
#: characters that open a quotation or a bracket right before a word. The straight apostrophe is
#: not one: inside a word it marks an elision or a transliteration (``She'an``, ``d'Ansar``);
#: sentence splitting, which looks only at the text before a period, adds it
OPENERS = "\"“‘«([¿¡"


# ------------------------------------------------------------------------------------------------
# sentence splitting
# ------------------------------------------------------------------------------------------------
#: titles and ranks written with a dot before a name ("Brig. Gen. Martin", "Mme Durand"): no
#: sentence ends after them, and a ROLE span may end with their dot (``[Col.]``, ``[Staff Sgt.]``)
TITLE_ABBREVIATIONS: frozenset[str] = frozenset({
    "m", "mm", "mme", "mmes", "mlle", "dr", "pr", "prof", "me", "mgr", "mr", "mrs", "ms", "messrs", "sr", "jr",
    "gen", "gén", "brig", "col", "lt", "lieut", "cdt", "cmdt", "capt", "cpt", "cdr", "cmdr", "maj", "sgt", "cpl",
    "pvt", "spc", "adm", "amiral", "cne", "ltn", "gov", "sen", "rep", "hon", "rev",
})
_ABBREVIATIONS = TITLE_ABBREVIATIONS | {
    # places
    "st", "ste", "mt", "ft",
    # common abbreviations
    "no", "nos", "n°", "nr", "art", "al", "etc", "cf", "vol", "p", "pp", "fig", "ch", "chap", "ed", "éd",
    "vs", "env", "av", "bd", "bld", "blvd", "rd", "ave", "tel", "tél", "fax", "approx", "dept", "dépt", "est",
    "inc", "ltd", "co", "corp", "ca", "cie", "sa", "sas", "min", "max", "ref", "réf",
    "bros", "fl", "fla", "calif", "tex", "ariz", "conn",
    # months
    "jan", "janv", "feb", "fév", "févr", "mar", "apr", "avr", "jun", "jul", "juil", "aug", "sep", "sept",
    "oct", "nov", "dec", "déc",
}
# multi-period abbreviations such as "U.S." "e.g." "i.e." "p.ex."; it matches a word iff it
# matches the word's last 5 characters (the last two letter-dot pairs and the character before
# them, for the \b): searched on those only, as a search over a long dotted run is quadratic
_DOTTED_ABBREV_RE = re.compile(r"(?:\b[^\W\d_]\.){2,}$", re.UNICODE)

_TERMINATOR_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*")
_BULLET_RE = re.compile(r"^\s*(?:[-*•·▪◦–—+>]|#{1,6}|\d{1,3}[.)]|[a-z][.)]|\|)\s", re.UNICODE)
_CLOSERS = "\"'”’»)]"
# in sentence splitting a straight apostrophe before a word opens a quotation ('Hello.')
_OPENERS = OPENERS + "'"


def is_abbreviation(word: str) -> bool:
    """Whether ``word`` followed by a period is an abbreviation, so that the period belongs to
    the word: a listed one (``Gen``, ``Ltd``, ``Dec``, ``Mme``), a dotted one (``U.S``,
    ``p.ex``) or an initial (a single capital letter). Case-insensitive for the listed ones;
    surrounding brackets and quotes are ignored.

    >>> [w for w in ["Gen", "Ltd", "U.S", "J", "1994", "Navy", "%"] if is_abbreviation(w)]
    ['Gen', 'Ltd', 'U.S', 'J']
    """
    return _abbreviation_kind(word) is not None


def _abbreviation_kind(word: str) -> str | None:
    """``"listed"``, ``"dotted"`` or ``"initial"`` when ``word`` + period is an abbreviation (:func:`is_abbreviation`), else None."""
    bare = word.strip(_OPENERS + _CLOSERS)
    if bare.lower() in _ABBREVIATIONS:
        return "listed"
    if _DOTTED_ABBREV_RE.search((bare + ".")[-5:]):
        return "dotted"
    if len(bare) == 1 and bare.isalpha() and bare.isupper():
        return "initial"
    return None


def _is_boundary_after(text: str, term_start: int, term_end: int) -> bool:
    """Decide whether the terminator text[term_start:term_end] ends a sentence."""
    n = len(text)
    # next non-space character
    j = term_end
    while j < n and text[j] in " \t\u00a0\u202f":
        j += 1
    if j == term_end and j < n and text[j] not in "\r\n":
        return False  # no whitespace after: "3.5", "e.g", "www.defense.gouv.fr", "a@b.fr"
    if j >= n:
        return True
    nxt = text[j]
    if nxt in "\r\n":
        return True
    punct = text[term_start:term_end]
    if punct == ".":
        # the word before the period
        k = term_start
        while k > 0 and not text[k - 1].isspace() and text[k - 1] not in _OPENERS:
            k -= 1
        word = text[k:term_start]
        kind = _abbreviation_kind(word)
        if kind in ("listed", "initial"):
            return False  # "Gen. Burkhard", "J. Smith"
        if kind == "dotted" and not (nxt.isupper() and len(word.strip(_OPENERS + _CLOSERS).replace(".", "")) > 3):
            # "U.S. Army" stays together; "in the U.S. The" is ambiguous: keep together too
            return False
    if nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or nxt in "-–—•*#":
        return True
    if punct in ("...", "…") or punct.startswith(("..", "…")):
        return False  # ellipsis followed by lower case continues the sentence
    return not nxt.isalpha() or nxt.isupper()


def _line_breaks(text: str) -> list[int]:
    """Offsets where a new sentence must start because of the layout (lines, bullets, headings)."""
    breaks = []
    pos = 0
    prev: str | None = None
    blank = False
    for line in text.splitlines(keepends=True):
        start = pos
        pos += len(line)
        stripped = line.strip()
        if not stripped:
            blank = True
            continue
        if prev is not None:
            p = prev.strip()
            if (
                blank
                or _BULLET_RE.match(line) is not None
                or _BULLET_RE.match(prev) is not None
                or p[-1] in ".!?:;…»\"”)|"
                or len(p) < 60  # a short line: heading, address, signature
            ):
                breaks.append(start + len(line) - len(line.lstrip()))
        prev = line
        blank = False
    return breaks


def split_sentences(text: str, lang: str | None = None) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` over ``text``, whitespace trimmed.

    Every non-whitespace character belongs to exactly one span; spans are sorted and disjoint.
    Handles abbreviations (M., Gen., U.S.), decimals, e-mail/web addresses, phone numbers,
    markdown headings, bullets and tables, and layout lines (addresses, signatures).
    """
    if not text:
        return []
    cuts = set(_line_breaks(text))
    for m in _TERMINATOR_RE.finditer(text):
        if _is_boundary_after(text, m.start(), m.end()):
            cuts.add(m.end())
    bounds = sorted(c for c in cuts if 0 < c < len(text))
    spans = []
    start = 0
    for cut in bounds + [len(text)]:
        a, b = trim_span(text, start, cut)
        if a < b:
            spans.append((a, b))
        start = cut
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``(start, end)`` so that it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ------------------------------------------------------------------------------------------------
# windows over long token sequences
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Tokens ``[start, end)`` go through the encoder; tokens ``[own_start, own_end)`` take their
    prediction from this window (the other ones are context shared with a neighbour)."""

    start: int
    end: int
    own_start: int
    own_end: int

    def __len__(self) -> int:
        return self.end - self.start


def plan_windows(
    n_tokens: int,
    max_tokens: int,
    overlap: int = 32,
    sentence_starts: Sequence[int] = (),
) -> list[Window]:
    """Cover ``n_tokens`` tokens with windows of at most ``max_tokens``.

    Windows end at a sentence start when one lies in their second half; consecutive windows
    overlap by ``overlap`` tokens, and each overlapped token is owned by the window where it is
    further from the edge. The owned ranges partition ``[0, n_tokens)``: nothing is dropped,
    nothing is counted twice.
    """
    if max_tokens < 2:
        raise ValueError("max_tokens must be >= 2")
    overlap = max(0, min(overlap, max_tokens // 2))
    if n_tokens <= 0:
        return []
    starts = sorted(set(sentence_starts))
    raw: list[tuple[int, int]] = []
    s = 0
    while True:
        e = min(s + max_tokens, n_tokens)
        if e < n_tokens and starts:
            lo = s + max_tokens // 2
            i = bisect_right(starts, e) - 1
            if i >= 0 and starts[i] > lo:
                e = starts[i]
        raw.append((s, e))
        if e >= n_tokens:
            break
        s = max(e - overlap, s + 1)
    # the owned ranges partition [0, n): neighbours split their overlap at its midpoint
    cuts = [0] + [(raw[i][1] + raw[i + 1][0]) // 2 for i in range(len(raw) - 1)] + [n_tokens]
    return [Window(s, e, cuts[i], cuts[i + 1]) for i, (s, e) in enumerate(raw)]


def token_sentence_starts(token_starts: Sequence[int], sentence_spans: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the first token of each sentence, given each token's character start."""
    out = []
    for a, _ in sentence_spans:
        i = bisect_left(token_starts, a)
        if 0 < i < len(token_starts):
            out.append(i)
    return out
