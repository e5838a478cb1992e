"""Layout rendering (:func:`render_layout`, :class:`_Renderer`): a document as it arrives from the
real world (wraps, hyphenation, headings, emphasis, bullets, press-release blocks, contacts,
addresses, page breaks, lost ligatures, stray whitespace), its strings and hyphenation rules."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ...doc import Doc, Entity
from ...text import split_sentences
from ...words import split_words
from .context import _ORG_WITHOUT_ARTICLE, _context, _starts_with_vowel
from ...gazetteers import Gazetteer, packaged_entries
from .pieces import _doc_lang, _pieces_of, _rebuild
from .settings import LAYOUT_TRANSFORMS, AugmentSettings

__all__ = ["render_layout"]

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
    return Gazetteer(packaged_entries())


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
            from ...layout import blocks
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
                # line breaks that were there before (none added by the wrap) stay
                and not (span < len(originals) and text[s:e].count("\n") <= originals[span].count("\n"))
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
