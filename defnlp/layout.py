"""Document layout: the blocks no entity crosses, and the text the model sees.

Real documents arrive with hard line breaks: contact blocks (a name, a job title, an e-mail,
a phone number, one per line), postal addresses, headings, bullet lists, and prose wrapped
at a fixed width with words hyphenated across line ends (``opéra-⏎tionnel``). This module is
the one owner of that layout. Nothing here changes the text: every offset is into the
original string.

Blocks — :func:`blocks`
    A *block* is a stretch of the text that an entity may not leave (annotation convention:
    spans never cross a blank line or run from one block of a layout into the next). Blocks
    are given as ``(start, end)`` spans, sorted, disjoint, trimmed of whitespace; every
    non-whitespace character is in exactly one block. Rules, applied only where the boundary
    is certain, since a wrong boundary cuts a real entity:

    * **Paragraphs.** A blank line (a line holding only whitespace), a form feed (page break)
      or a Unicode paragraph/record separator (U+2029, U+001C–U+001E) ends a block. Line breaks
      are those of :meth:`str.splitlines` (``\\n``, ``\\r\\n``, ``\\r``, U+000B, U+0085, U+2028…).
    * Inside a paragraph, the line break between two lines becomes a block boundary when:

      1. **Bullets** — the next line starts with a bullet: ``-``, ``*``, ``•``, ``·``, ``▪``,
         ``◦``, ``‣``, ``–``, ``—`` followed by a space, or ``1.`` / ``12)`` / ``a)`` / ``(3)``
         followed by a space. (A bullet item's wrapped continuation lines stay with it.)
      2. **Contact lines** — either line is nothing but an e-mail address, a web address or a
         phone number (at least 8 digits), optionally labelled (``Tél. :``, ``Phone:``,
         ``Email``, ``Fax``, ``Mob.``, ``Courriel`` …), possibly several separated by ``|``,
         ``/``, ``–``, ``,`` or ``;``.
      3. **Headings** — a *heading* is a line with no lower-case letter, at least 4 letters,
         not ending in ``.`` ``,`` ``;`` and either of two words or more or the first line of
         its paragraph (``COMMUNIQUÉ DE PRESSE``, ``CONTACT PRESSE :``). A heading is cut from
         a next line that has lower-case letters; it is cut from a previous line that has
         lower-case letters and is short or ends with ``.`` ``!`` ``?`` ``:`` ``;`` ``…``.
         Text written entirely in capitals (telex-style messages) is not cut by this rule,
         nor is a single capitalised word (``Jean⏎DUPONT``). A Markdown heading (``# …``) or
         a line in bold and nothing else (``**À propos de Naval Group**``) is cut from both
         neighbours.
      4. **Introductions** — a line that ends with a colon (``Contact presse :``,
         ``Points clés :``, ``comprend :``, ``**Contacts :**``) is cut from the next line.
      5. **List-like paragraphs** — a paragraph of two lines or more, every line *short*
         (fewer than :data:`SHORT_LINE` = 50 characters, whitespace excluded), is cut at
         every line break — contact blocks, addresses, signatures, headers — unless it reads
         like narrow prose: a line other than the first starts with a lower-case letter (and
         is not a contact line), a line other than the last ends with a connective word
         (``de``, ``la``, ``et``, ``à``, ``the``, ``of``, ``and`` …, or an elision ``l'``), or
         the last line ends a sentence (``.`` ``!`` ``?`` ``…``) while another line ends with
         no punctuation.

      Never a boundary after a line that ends with a hyphen (the word may continue on the
      next line, see below). Ordinary wrapped prose — long lines that continue the sentence —
      stays one block, and so does a paragraph mixing long prose lines with short ones
      (only rules 1–4 cut it).

    >>> text = "Contact presse\\nClaire Dumont\\nChargée de communication\\n60 boulevard Victor\\n75015 Paris"
    >>> [text[a:b] for a, b in blocks(text)]
    ['Contact presse', 'Claire Dumont', 'Chargée de communication', '60 boulevard Victor', '75015 Paris']
    >>> prose = "Le ministre des Armées a visité la base navale de Brest avec le général Jean\\nDupont, chef d'EM."
    >>> len(blocks(prose))
    1
    >>> text = "COMMUNIQUÉ DE PRESSE\\nLa DGA a notifié le contrat.\\n\\n- KNDS France\\n- Thales\\ncontact@dga.fr"
    >>> [text[a:b] for a, b in blocks(text)]
    ['COMMUNIQUÉ DE PRESSE', 'La DGA a notifié le contrat.', '- KNDS France', '- Thales', 'contact@dga.fr']

The model view — :func:`model_view`
    The text the tokenizer sees: the original, except that a word hyphenated across a line
    break is joined into one word. **Rule**: a hyphen (``-``, U+2010) at the end of a line,
    followed by one line break (optionally with spaces or tabs around it) and a letter, is
    removed together with the break and the spaces when

    * the part before the hyphen is a run of at least 2 letters ending with a lower-case one
      (``NATO-⏎led``, ``a-⏎t-il`` keep their hyphen), and not a 2-letter inner part of a
      compound (``arc-en-⏎ciel``; ``anti-sub-⏎marine``, ``franco-alle-⏎mand`` are joined);
    * the part after the break starts with a lower-case letter (``Jean-⏎Pierre``, ``F-⏎35``
      keep their hyphen) and is not a part of at most 4 letters followed by another hyphen
      (``Aix-⏎en-Provence``, ``Barrow-⏎in-Furness``; ``Dread-⏎nought-class`` is joined);
    * neither part is a known compound element: a first part such as ``sous``, ``porte``,
      ``vice``, ``contre``, ``franco``, ``état``, ``lance``, ``anti``, ``non``, ``self``,
      ``well``, ``sea``, ``sol``, ``nord`` (:data:`COMPOUND_HEADS`), or a second part such as
      ``il``, ``elle``, ``on``, ``ci``, ``là``, ``même``, ``être``, ``dessus``, ``air``,
      ``sol``, ``led``, ``based`` (:data:`COMPOUND_TAILS`): ``sous-⏎marin``,
      ``porte-⏎avions``, ``dit-⏎il``, ``peut-⏎être``, ``air-⏎sol``, ``government-⏎led`` stay
      as they are (``air-⏎craft`` is joined).

    A soft hyphen (U+00AD) before a line break and a letter is always removed with the break:
    it only ever marks a hyphenation point. A hyphen that is kept leaves the text unchanged
    (the line break is whitespace to the tokenizer). Syllable breaks at line ends are far more
    frequent than compounds broken at their hyphen, so the rule errs towards joining; a
    compound it joins by mistake (``drone-⏎kamikaze`` → ``dronekamikaze``) is still one
    word, as its parts were inside one line. When the text has no such hyphen the view is the text itself and the map
    is the identity (no offsets are copied).

    >>> view, to_original = model_view("un contrat opéra-\\n  tionnel, dit-\\nil, à Jean-\\nPierre")
    >>> view
    'un contrat opérationnel, dit-\\nil, à Jean-\\nPierre'
    >>> to_original(15), to_original(16), to_original.span(11, 23)    # "a" | "t" | "opéra-⏎  tionnel"
    (15, 20, (11, 27))

Entities stay word-exact in the original text: the engine tokenizes the view and maps every
token back (:meth:`ViewMap.span`); NER units (:func:`defnlp.ner.tagging.make_units`) treat a
joined word as one word; decoding (:func:`defnlp.ner.decoding.decode_entities`) never lets an
entity run from one block into the next.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Sequence

import numpy as np

__all__ = ["blocks", "model_view", "hyphen_joins", "ViewMap", "SHORT_LINE", "COMPOUND_HEADS", "COMPOUND_TAILS"]

#: a line of a list-like paragraph has fewer characters than this (whitespace excluded)
SHORT_LINE = 50

# ------------------------------------------------------------------------------------------------
# lines and paragraphs
# ------------------------------------------------------------------------------------------------
_BREAK_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # str.splitlines
_HARD_CHARS = "\x0c\x1c\x1d\x1e\u2029"  # page, file/group/record, paragraph separators
_HARD_GAP_RE = re.compile(f"[{_HARD_CHARS}]")
_HSPACE = rf"[^\S{_BREAK_CHARS}]"  # whitespace that does not break a line
_BREAK = rf"(?:\r\n|[{_BREAK_CHARS}])"
_BREAK_RE = re.compile(_BREAK)
# the whitespace between two lines: trailing spaces, one or more breaks, blank lines, indentation
# (the look-behind makes a match start at the beginning of a run of spaces: linear time)
_GAP_RE = re.compile(rf"(?<!{_HSPACE}){_HSPACE}*{_BREAK}\s*")

_BULLET_RE = re.compile(r"(?:[-*•·▪◦‣–—]|\d{1,2}[.)]|[a-z]\)|\(\w{1,3}\))\s+\S")
_MARKDOWN_HEADING_RE = re.compile(r"#{1,6}\s+\S|\*\*[^*]+\*\*$|__[^_]+__$")
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_URL = r"(?:https?://|www\.)[^\s<>\"]+"
_PHONE = r"\+?\(?\d(?:[ \t\u00a0\u202f.()/-]{0,3}\d){7,}"  # at least 8 digits
_CONTACT_LABEL = (
    r"(?:t[ée]l(?:[ée]phone)?|phone|mob(?:ile)?|portable|port|cell|fax|gsm|standard|switchboard"
    r"|e-?mail|courriel|mail|web|site(?:\s+(?:web|internet))?|internet|url|[tmfe])\.?\s*[:.]?\s*"
)
_CONTACT_ITEM = rf"(?:{_CONTACT_LABEL})?(?:{_EMAIL}|{_URL}|{_PHONE})"
_CONTACT_RE = re.compile(rf"{_CONTACT_ITEM}(?:\s*[|/,;–—-]\s*{_CONTACT_ITEM})*[.;,]?", re.IGNORECASE)
_DIGIT_RE = re.compile(r"\d")
_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
_SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’»)\]]*$")
_ANY_PUNCT_END_RE = re.compile(r"[.!?…:;,][\"'”’»)\]]*$")
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)['’]?$")
_HYPHENS = "-\u00ad\u2010\u2011"
# words that end a line only in running text
_CONNECTIVES = frozenset(
    "de du des la le les l d un une à au aux et ou en par pour avec sans sur sous dans chez vers entre "
    "que qui dont ce cette ces son sa ses leur leurs notre nos votre vos mon ma mes "
    "the a an of and or to for with by in on at from into as that this these its their his her "
    "our is are was were has have had be".split()
)


def _is_contact(line: str) -> bool:
    if "@" not in line and "://" not in line and "www." not in line and "WWW." not in line:
        if len(_DIGIT_RE.findall(line)) < 8:
            return False
    return _CONTACT_RE.fullmatch(line) is not None


def _heading(line: str, first: bool) -> bool:
    """No lower-case letter, at least 4 letters, no final ``.``/``,``/``;``, two words or the first line."""
    if line[-1] in ".,;" or line.upper() != line or line.lower() == line:
        return False
    words = _LETTER_RUN_RE.findall(line)
    return sum(map(len, words)) >= 4 and (len(words) >= 2 or first)


def _ends_connective(line: str) -> bool:
    if line[-1] in "'’":
        return True
    m = _LAST_WORD_RE.search(line, max(0, len(line) - 24))
    return m is not None and m.group(1).lower() in _CONNECTIVES


def _prose_like(lines: list[str], alone: list[bool]) -> bool:
    """Whether a paragraph of short lines reads like narrow prose (rule 5 of the module docstring)."""
    if any(line[0].islower() and not is_alone for line, is_alone in zip(lines[1:], alone[1:])):
        return True
    if any(_ends_connective(line) for line in lines[:-1]):
        return True
    ends_sentence = _SENTENCE_END_RE.search(lines[-1]) is not None
    return ends_sentence and any(_ANY_PUNCT_END_RE.search(line) is None for line in lines[:-1])


def _paragraph_cuts(lines: list[str]) -> list[bool]:
    """``cuts[i]``: a block boundary between line ``i`` and line ``i + 1`` of one paragraph (stripped lines)."""
    k = len(lines)
    hyphen_end = [line[-1] in _HYPHENS for line in lines]
    # contact lines and Markdown headings: cut from both neighbours
    alone = [_is_contact(line) or _MARKDOWN_HEADING_RE.match(line) is not None for line in lines]
    if all(len(line) < SHORT_LINE for line in lines) and not any(hyphen_end) and not _prose_like(lines, alone):
        return [True] * (k - 1)
    cuts = []
    heading_next = _heading(lines[0], True)
    for i in range(k - 1):
        a, b = lines[i], lines[i + 1]
        heading_here, heading_next = heading_next, _heading(b, False)
        if hyphen_end[i]:
            cuts.append(False)
            continue
        cuts.append(
            _BULLET_RE.match(b) is not None
            or a.rstrip("*_")[-1:] == ":"
            or alone[i]
            or alone[i + 1]
            or (heading_here and b.upper() != b)
            or (heading_next and a.upper() != a and (len(a) < SHORT_LINE or a[-1] in ".!?:;…"))
        )
    return cuts


def blocks(text: str) -> list[tuple[int, int]]:
    """Layout blocks of ``text``: sorted, disjoint, trimmed ``(start, end)`` spans (see the module docstring).

    Every non-whitespace character is in exactly one block; no block contains a blank line.

    >>> t = "Jean Dupont\\r\\nDirecteur de la communication\\r\\n\\r\\nLa DGA a signé."
    >>> [t[a:b] for a, b in blocks(t)]
    ['Jean Dupont', 'Directeur de la communication', 'La DGA a signé.']
    """
    if not any(c in text for c in _BREAK_CHARS):
        a = len(text) - len(text.lstrip())
        b = len(text.rstrip())
        return [(a, b)] if a < b else []
    out: list[tuple[int, int]] = []
    starts: list[int] = []  # the lines of the current paragraph: starts, stripped texts
    lines: list[str] = []
    pos = 0
    for m in _GAP_RE.finditer(text):
        _add_line(text, pos, m.start(), starts, lines)
        if lines:
            gap = m.group()
            if gap in _HARD_CHARS or (len(gap) > 1 and (_HARD_GAP_RE.search(gap) or len(_BREAK_RE.findall(gap)) > 1)):
                _flush(starts, lines, out)
                starts, lines = [], []
        pos = m.end()
    _add_line(text, pos, len(text), starts, lines)
    if lines:
        _flush(starts, lines, out)
    return out


def _add_line(text: str, start: int, end: int, starts: list[int], lines: list[str]) -> None:
    line = text[start:end]
    stripped = line.strip()
    if stripped:
        starts.append(start + len(line) - len(line.lstrip()))
        lines.append(stripped)


def _flush(starts: list[int], lines: list[str], out: list[tuple[int, int]]) -> None:
    start = starts[0]
    if len(lines) > 1:
        for i, cut in enumerate(_paragraph_cuts(lines)):
            if cut:
                out.append((start, starts[i] + len(lines[i])))
                start = starts[i + 1]
    out.append((start, starts[-1] + len(lines[-1])))

# ------------------------------------------------------------------------------------------------
# the model view: words hyphenated across a line break joined
# ------------------------------------------------------------------------------------------------
#: first parts of compounds: ``sous-⏎marin`` keeps its hyphen
COMPOUND_HEADS = frozenset(
    # French
    "sous porte vice contre franco anglo germano italo hispano russo sino américano euro état états lance garde "
    "chasse chasseur brise avant arrière après demi semi mi ex non anti néo post pré pro auto extra ultra quasi "
    "grand grande haut haute bas basse petit petite nord sud est ouest sol mer surface terre chef arc "
    "dix vingt trente quarante cinquante soixante quatre deux trois "
    # English
    "self well cross counter pre co multi long short high low mid north south east west sea ground land full "
    "half state one two three four five six seven eight nine ten twenty thirty forty fifty sixty seventy "
    "eighty ninety first second third large small world all ill".split()
)
#: second parts of compounds: ``dit-⏎il``, ``celui-⏎ci``, ``government-⏎led`` keep their hyphen
COMPOUND_TAILS = frozenset(
    "il ils elle elles on je tu nous vous moi toi lui leur eux le la les y en ce ci là même mêmes être "
    "dessus dessous delà devant dedans air sol mer surface "
    "led based owned made run related term range level scale time class like wide free style type "
    "launched guided sized".split()
)
_JOIN_RE = re.compile(rf"(?<=[^\W\d_])[-\u00ad\u2010]{_HSPACE}*{_BREAK}{_HSPACE}*(?=[^\W\d_])")
_HEAD_RE = re.compile(r"[^\W\d_]+$")
_TAIL_RE = re.compile(r"[^\W\d_]+")


def hyphen_joins(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` ranges of ``text`` that the model view removes (hyphen, break, spaces).

    Each range starts at a line-end hyphen and ends at the first letter of the word's second
    part (the rule is in the module docstring).

    >>> hyphen_joins("opéra-\\ntionnel sous-\\nmarin")
    [(5, 7)]
    """
    if "\u00ad" not in text and "-" not in text and "\u2010" not in text:
        return []
    out = []
    for m in _JOIN_RE.finditer(text):
        start, end = m.span()
        if text[start] != "\u00ad":
            head = _HEAD_RE.search(text, max(0, start - 64), start)
            tail = _TAIL_RE.match(text, end)
            if head is None or tail is None:  # pragma: no cover - the regex guarantees both
                continue
            h, t = head.group(), tail.group()
            before = text[head.start() - 1] if head.start() > 0 else " "
            after = text[tail.end()] if tail.end() < len(text) else " "
            if (
                len(h) < 2
                or not h[-1].islower()
                or not t[0].islower()
                or (before in _HYPHENS and len(h) <= 2)
                or (after in _HYPHENS and len(t) <= 4)
                or h.lower() in COMPOUND_HEADS
                or t.lower() in COMPOUND_TAILS
            ):
                continue
        out.append((start, end))
    return out


class ViewMap:
    """Offsets of a model view → offsets of the original text (and back).

    Built by :func:`model_view` from the removed ranges (``joins``). Calling it maps one view
    offset to the original one; :meth:`span` maps a view span; :meth:`spans` maps many;
    :meth:`to_view` maps an original offset into the view. With no joins it is the identity.

    >>> m = ViewMap([(5, 7)])            # "opéra-\\ntionnel" -> "opérationnel"
    >>> m(4), m(5), m.span(3, 9), m.to_view(6), m.identity
    (4, 7, (3, 11), 5, False)
    """

    __slots__ = ("joins", "_cuts", "_shifts", "_ends", "_removed")

    def __init__(self, joins: Sequence[tuple[int, int]] = ()) -> None:
        self.joins: list[tuple[int, int]] = list(joins)
        cuts, shifts, ends, removed = [], [], [], 0
        for start, end in self.joins:
            cuts.append(start - removed)  # the view offset of the first character after the removed range
            removed += end - start
            shifts.append(removed)
            ends.append(end)
        self._cuts, self._shifts, self._ends = cuts, shifts, ends
        self._removed = removed

    @property
    def identity(self) -> bool:
        """Whether the view is the original text."""
        return not self.joins

    def __call__(self, i: int) -> int:
        """The original offset of view offset ``i`` (``len(view)`` maps to ``len(text)``)."""
        k = bisect_right(self._cuts, i)
        return i + self._shifts[k - 1] if k else i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the view span ``[start, end)``: from its first to its last character.

        A removed range inside the span is covered; one at its edges is not. An empty span
        ``(a, a)`` maps to ``(m(a), m(a))``.
        """
        if end <= start:
            p = self(start)
            return p, p
        return self(start), self(end - 1) + 1

    def spans(self, spans: Sequence[tuple[int, int]], offset: int = 0) -> list[tuple[int, int]]:
        """:meth:`span` of each ``(start + offset, end + offset)``, vectorised."""
        if self.identity:
            return [(a + offset, b + offset) for a, b in spans]
        if not spans:
            return []
        arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2) + offset
        cuts = np.asarray(self._cuts, dtype=np.int64)
        shifts = np.concatenate([[0], np.asarray(self._shifts, dtype=np.int64)])
        a, b = arr[:, 0], arr[:, 1]
        last = np.maximum(b - 1, a)
        oa = a + shifts[np.searchsorted(cuts, a, side="right")]
        ol = last + shifts[np.searchsorted(cuts, last, side="right")]
        ob = np.where(b > a, ol + 1, oa)
        return list(zip(oa.tolist(), ob.tolist()))

    def to_view(self, i: int) -> int:
        """The view offset of original offset ``i``; inside a removed range, that of the next kept character."""
        k = bisect_right(self._ends, i)
        removed = self._shifts[k - 1] if k else 0
        if k < len(self.joins) and self.joins[k][0] < i:
            removed += i - self.joins[k][0]
        return i - removed


def model_view(text: str) -> tuple[str, ViewMap]:
    """The text the tokenizer should see and the map from its offsets to ``text``'s.

    Words hyphenated across a line break are joined (rule in the module docstring); with
    none, the view is ``text`` itself and the map the identity.

    >>> text = "Le véhicule blin-\\r\\ndé Griffon"
    >>> view, m = model_view(text)
    >>> view, text[m(15)], text[m(16)], m.span(12, 18)
    ('Le véhicule blindé Griffon', 'n', 'd', (12, 21))
    >>> model_view("Pas de césure.")[1].identity
    True
    """
    joins = hyphen_joins(text)
    if not joins:
        return text, ViewMap()
    parts = []
    pos = 0
    for start, end in joins:
        parts.append(text[pos:start])
        pos = end
    parts.append(text[pos:])
    return "".join(parts), ViewMap(joins)
