"""The project's annotation conventions applied to corpora that annotate otherwise (DESIGN.md).

A public corpus read for training or evaluation keeps its text and its entities, but some of its
spans follow another annotator's habits. :func:`names_only` re-reads a document with the
project's conventions for names (what ``names_only = true`` does to a data source):

=============================  =====================================  ==========================
re3d writes                    defence-v1 writes                      rule
=============================  =====================================  ==========================
``[we]/ORG``, ``[the city]``   nothing                                :func:`keep_names`
``[the UK]/LOC``               ``the [UK]/LOC``                       :func:`trim_leading_articles`
``[Britain]/ORG said``         ``[Britain]/LOC said``                 :func:`states_as_loc`
``[Lt Gen Talib Shaghati]``    ``Lt Gen [Talib Shaghati]/PER``        :func:`titles_outside_per`
``[Defence Secretary]/PER``    nothing (a title alone is ROLE)        :func:`titles_outside_per`
=============================  =====================================  ==========================

Countries come from the LOC gazetteer (type ``country``, names and aliases), title words from
the ROLE gazetteer, the title abbreviations of :mod:`defnlp.text` and a few honorifics and ranks
(``_EXTRA_TITLE_WORDS``). :func:`unmark` leaves chosen mentions unmarked (a source's ``unmark``
table). Each rule returns how many spans it changed; relations and ``meta["refs"]`` follow the
entities they link.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ...doc import Doc
from ...gazetteers import packaged_entries
from ...scheme import load_scheme
from ...text import TITLE_ABBREVIATIONS

__all__ = ["names_only", "keep_names", "trim_leading_articles", "states_as_loc", "titles_outside_per", "unmark"]

_PRONOUNS = frozenset(
    "i me my we us our ours you your he him his she her hers it its they them their theirs "
    "je moi nous vous il lui elle ils elles eux leur leurs".split()
)


_ARTICLES = frozenset(
    "the a an this that these those its their his her our my your "
    "le la les un une des du son sa ses leur leurs notre nos votre vos".split()
)
#: names that begin with an article, kept whole
_ARTICLE_NAMES = frozenset(
    "the hague|the times|the economist|the guardian|the telegraph|the independent|the new york times|"
    "the washington post|the wall street journal|the pentagon papers|le monde|le figaro|le parisien|"
    "la tribune|les echos|le point|la haye|le havre|le mans|le bourget|la rochelle|la réunion|le caire".split("|")
)
#: labels whose spans may legitimately start with an article (``the 1990s``, ``a third``)
_KEEP_ARTICLE_LABELS = frozenset({"DATE", "QUANTITY", "MONEY"})


def trim_leading_articles(doc: Doc) -> int:
    """Start each entity after a leading article or possessive (``the UK`` → ``UK``, ``l'armée`` stays
    whole); names that begin with one (``The Hague``, ``Le Monde``) and DATE/QUANTITY/MONEY spans
    are kept. Returns how many spans changed.

    >>> d = Doc("the UK and The Hague met our Royal Navy.")
    >>> for a, b, label in [(0, 6, "LOC"), (11, 20, "LOC"), (25, 39, "ORG")]:
    ...     _ = d.add_entity(a, b, label)
    >>> trim_leading_articles(d), [e.text for e in d.entities]
    (2, ['UK', 'The Hague', 'Royal Navy'])
    """
    changed = 0
    for e in doc.entities:
        text = doc.text[e.start : e.end]
        first, _, rest = text.partition(" ")
        if (e.label in _KEEP_ARTICLE_LABELS or not rest.strip() or first.lower() not in _ARTICLES
                or text.lower() in _ARTICLE_NAMES):
            continue
        offset = len(first) + 1
        while offset < len(text) and text[offset].isspace():
            offset += 1
        e.start += offset
        e.text = doc.text[e.start : e.end]
        changed += 1
    return changed


def keep_names(doc: Doc) -> int:
    """Drop the PER/ORG/LOC entities of ``doc`` that are pronouns or have no capital letter; relations
    follow their entities. Returns how many entities were dropped.

    >>> d = Doc("We met he and the city of Kyiv.")
    >>> for a, b, label in [(0, 2, "ORG"), (7, 9, "PER"), (14, 22, "LOC"), (26, 30, "LOC")]:
    ...     _ = d.add_entity(a, b, label)
    >>> _ = d.add_relation(1, 3, "LOCATED_IN"); keep_names(d), [e.text for e in d.entities], len(d.relations)
    (3, ['Kyiv'], 0)
    """
    def is_name(e) -> bool:
        text = doc.text[e.start : e.end]
        first, _, rest = text.partition(" ")
        if rest.strip() and first.lower() in _ARTICLES:  # `The city`: is the rest a name?
            text = rest
        return e.label not in ("PER", "ORG", "LOC") or (any(c.isupper() for c in text) and text.lower() not in _PRONOUNS)

    return _keep_entities(doc, [i for i, e in enumerate(doc.entities) if is_name(e)])


def names_only(doc: Doc) -> Counter:
    """Re-read ``doc`` with the project's conventions for names (the table above), in place.

    Returns the changes by rule: ``not_name``, ``article``, ``state``, ``title``, ``title_only``.

    >>> d = Doc("Britain said Lt Gen Talib Shaghati and the UK met.")
    >>> for a, b, label in [(0, 7, "ORG"), (13, 34, "PER"), (39, 45, "ORG")]:
    ...     _ = d.add_entity(a, b, label)
    >>> counts = names_only(d); [(e.text, e.label) for e in d.entities]
    [('Britain', 'LOC'), ('Talib Shaghati', 'PER'), ('UK', 'LOC')]
    >>> sorted((+counts).items())
    [('article', 1), ('state', 2), ('title', 1)]
    """
    counts: Counter = Counter()
    counts["not_name"] = keep_names(doc)
    counts["article"] = trim_leading_articles(doc)
    counts["state"] = states_as_loc(doc)
    counts["title"], counts["title_only"] = titles_outside_per(doc)
    return counts


#: Title words beyond the ROLE gazetteer and :data:`defnlp.text.TITLE_ABBREVIATIONS`: honorifics,
#: ranks and offices that precede a name (``Sir Michael Fallon``, ``Sheikh Tamim``)
_EXTRA_TITLE_WORDS = frozenset(
    "mister madam sir dame lord lady king queen prince princess sheikh emir sultan pope cardinal imam ayatollah "
    "office chancellor governor mayor chairman chairwoman vice minister secretary deputy major captain lieutenant "
    "sergeant corporal commodore marshal spokesman spokeswoman envoy official "
    "monsieur madame ministre président présidente général générale amiral colonel capitaine".split()
)
#: small words inside a title (``Secretary of State for Defence``)
_TITLE_CONNECTORS = frozenset("of for the and to de du des la le l' d' à aux chargé chargée".split())
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
#: lowercase words inside a person's name (``Mohammed bin Salman``, ``Charles de Gaulle``)
_NAME_PARTICLES = frozenset("al el bin ibn bint ben abu de du des da di dos van von der den ter le la".split())


@lru_cache(maxsize=1)
def _title_words() -> frozenset[str]:
    words = set(TITLE_ABBREVIATIONS) | _EXTRA_TITLE_WORDS
    for entry in packaged_entries():
        if entry.label == "ROLE":
            words.update(w.lower() for w in entry.text.replace("'", "' ").split() if w.lower() not in _TITLE_CONNECTORS)
    return frozenset(words)


@lru_cache(maxsize=1)
def _state_names() -> frozenset[str]:
    """Country names and aliases of the LOC gazetteer, all languages (case kept: ``US`` is not ``us``)."""
    return frozenset(s for e in packaged_entries() if e.label == "LOC" and e.type == "country"
                     for s in (e.text, e.alias) if s)


@lru_cache(maxsize=1)
def _nationality_words() -> frozenset[str]:
    return frozenset(e.text.lower() for e in packaged_entries() if e.label == "NAT" and " " not in e.text)


def states_as_loc(doc: Doc) -> int:
    """Relabel LOC the ORG entities whose text is a country (DESIGN: states are LOC also when they
    act). A relation of such an entity that the label scheme does not allow with a LOC (``[UK]
    MEMBER_OF [NATO]``: MEMBER_OF takes PER/ORG heads) is dropped. Returns how many entities changed.

    >>> d = Doc("The U.S. and NATO agreed.")
    >>> _ = d.add_entity(4, 8, "ORG"), d.add_entity(13, 17, "ORG"), d.add_relation(0, 1, "MEMBER_OF")
    >>> states_as_loc(d), [e.label for e in d.entities], d.relations
    (1, ['LOC', 'ORG'], [])
    """
    states = _state_names()
    changed = set()
    for i, e in enumerate(doc.entities):
        if e.label == "ORG" and doc.text[e.start : e.end].strip() in states:
            e.label = "LOC"
            changed.add(i)
    if changed:
        scheme = load_scheme()
        doc.relations = [r for r in doc.relations if not ({r.head, r.tail} & changed) or r.label not in scheme.relations
                         or scheme.allows(r.label, doc.entities[r.head].label, doc.entities[r.tail].label)]
    return len(changed)


def _key(word: str) -> str:
    """A word as the word lists hold it: lowercase, no surrounding punctuation, no hyphenated suffix
    (``Minister-designate,`` → ``minister``)."""
    bare = _EDGE_PUNCTUATION.sub("", word).lower()
    return bare.split("-")[0] if "-" in bare[1:] and not bare.startswith(("al-", "el-")) else bare


def titles_outside_per(doc: Doc) -> tuple[int, int]:
    """Start each PER span after its titles (``Lt Gen [Talib Shaghati]``, ``Pentagon Press Secretary
    [Peter Cook]``, ``Jordanian planning minister, [Imad Fakhoury]``); drop the PER spans that are a
    title alone (``Foreign Secretary``) or a description (``Russian military spokesman``, ``commander
    of the Amphibious Task Group``). Returns (cut, dropped).

    >>> d = Doc("Defence Secretary Michael Fallon met the Prime Minister and Martin Luther King.")
    >>> for a, b in [(0, 32), (41, 55), (60, 78)]:
    ...     _ = d.add_entity(a, b, "PER")
    >>> titles_outside_per(d), [e.text for e in d.entities]
    ((1, 1), ['Michael Fallon', 'Martin Luther King'])
    """
    titles, nationals, states = _title_words(), _nationality_words(), _state_names()

    def is_title(n: int, words: list[str]) -> bool:
        key = _key(words[n])
        following = _key(words[n + 1]) if n + 1 < len(words) else ""
        return (key in titles or (key in _TITLE_CONNECTORS and n > 0)
                or ((key in nationals or words[n].strip(".,") in states) and following in titles))

    def is_name_word(word: str) -> bool:
        bare = _EDGE_PUNCTUATION.sub("", word)
        return bare[:1].isupper() or bare[:1].isdigit() or _key(word) in _NAME_PARTICLES or bare.startswith(("al-", "el-"))

    cut, drop = 0, []
    for i, e in enumerate(doc.entities):
        if e.label != "PER":
            continue
        text = doc.text[e.start : e.end]
        spans = [m.span() for m in re.finditer(r"\S+", text)]  # each word's offsets in the span
        words = [text[a:b] for a, b in spans]
        if all(is_title(n, words) for n in range(len(words))):
            drop.append(i)  # a title alone is ROLE
            continue
        # the name: the words after the last title word, when they are all name words
        last = max((n for n in range(len(words)) if _key(words[n]) in titles), default=-1)
        start = None
        if 0 <= last < len(words) - 1 and all(is_name_word(w) and _key(w) not in titles for w in words[last + 1 :]):
            start = last + 1
        elif not all(is_name_word(w) for w in words):  # a description, unless a name stands before or after a comma
            head = text.split(",", 1)[0].split() if "," in text else []
            tail = text.rsplit(",", 1)[1].split() if "," in text else []
            if head and all(is_name_word(w) and _key(w) not in titles for w in head):
                e.end = e.start + len(text.split(",", 1)[0].rstrip())  # "Tobias Ellwood, Foreign Office Minister"
                e.text = doc.text[e.start : e.end]
                cut += 1
                continue
            if not tail or not tail[0][:1].isupper() or not all(is_name_word(w) and not w[:1].isdigit() for w in tail):
                drop.append(i)
                continue
            start = len(words) - len(tail)
        if start:
            e.start += spans[start][0]
            e.text = doc.text[e.start : e.end]
            cut += 1
    dropped = set(drop)
    _keep_entities(doc, [i for i in range(len(doc.entities)) if i not in dropped])
    return cut, len(drop)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def unmark(doc: Doc, phrases: Mapping[str, Sequence[str]]) -> int:
    """Drop the entities whose label has a phrase list in ``phrases`` and whose text is one of them
    (case and spacing ignored); relations and ``meta["refs"]`` follow. Returns how many were dropped.

    >>> d = Doc("Thales signed the contract and the Contrat-cadre Scorpion.")
    >>> for a, b, label in [(0, 6, "ORG"), (18, 26, "DOCUMENT"), (35, 57, "DOCUMENT")]:
    ...     _ = d.add_entity(a, b, label)
    >>> _ = d.add_relation(0, 1, "SIGNS"); _ = d.add_relation(0, 2, "SIGNS")
    >>> unmark(d, {"DOCUMENT": ["contract"]}), [e.text for e in d.entities], [(r.head, r.tail) for r in d.relations]
    (1, ['Thales', 'Contrat-cadre Scorpion'], [(0, 1)])
    """
    wanted = {label: {_normalise(x) for x in texts} for label, texts in phrases.items()}
    return _keep_entities(doc, [i for i, e in enumerate(doc.entities)
                                if _normalise(doc.text[e.start : e.end]) not in wanted.get(e.label, ())])


def _keep_entities(doc: Doc, keep: list[int]) -> int:
    """Keep only the entities at indices ``keep`` (in order); relations between kept entities and the
    markup's ``meta["refs"]`` are re-indexed, the others dropped. Returns how many entities went."""
    if len(keep) == len(doc.entities):
        return 0
    new_index = {old: new for new, old in enumerate(keep)}
    dropped = len(doc.entities) - len(keep)
    doc.entities = [doc.entities[i] for i in keep]
    relations = []
    for r in doc.relations:
        if r.head in new_index and r.tail in new_index:
            r.head, r.tail = new_index[r.head], new_index[r.tail]
            relations.append(r)
    doc.relations = relations
    if isinstance(doc.meta.get("refs"), dict):
        doc.meta["refs"] = {ref: new_index[i] for ref, i in doc.meta["refs"].items() if i in new_index}
    return dropped


