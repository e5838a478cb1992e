"""The FR/EN alignment corpora: Hansards (word links), TransRead (sentence links),
Tatoeba and WMT14 (parallel sentences).

>>> [len(b.links) for b in load_transread("Candide")]  # doctest: +SKIP
[1230]
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ConfigError, DataNotFoundError, RecordFormatError
from ._common import _corpus, _file, _read
from .detokenizer import detokenize

__all__ = [
    "WordAlignmentExample",
    "load_hansards",
    "SentenceAlignmentBook",
    "load_transread",
    "load_tatoeba",
    "ParallelSegment",
    "load_wmt14",
    "load_wmt14_segments",
]


# ------------------------------------------------------------------------------------------------
# Hansards word alignment
# ------------------------------------------------------------------------------------------------
@dataclass
class WordAlignmentExample:
    """A sentence pair with gold word links ``(en_index, fr_index)``, 0-based.

    ``sure`` ⊆ ``possible`` (AER convention: every sure link is also possible).

    >>> ex = WordAlignmentExample("1", ["the", "house"], ["la", "chambre"], {(0, 0), (1, 1)}, {(0, 0), (1, 1)})
    >>> ex.en_tokens[1], ex.fr_tokens[1]
    ('house', 'chambre')
    """

    id: str
    en_tokens: list[str]
    fr_tokens: list[str]
    sure: set[tuple[int, int]] = field(default_factory=set)
    possible: set[tuple[int, int]] = field(default_factory=set)


_SNUM_RE = re.compile(r"^<s snum=(?P<id>\d+)>(?P<body>.*?)</s>\s*$")


def _hansards_sentences(path: Path) -> list[tuple[str, list[str]]]:
    out = []
    for lineno, line in enumerate(_read(path).splitlines(), start=1):
        m = _SNUM_RE.match(line.strip())
        if m is None:
            raise RecordFormatError(f"{path}:{lineno}: expected '<s snum=N> tokens </s>'")
        out.append((m.group("id"), m.group("body").split()))
    return out


def load_hansards(part: str = "test", data_dir: str | os.PathLike | None = None) -> list[WordAlignmentExample]:
    """The NAACL-2003 English-French Hansards word-alignment gold (``test``: 447 pairs,
    ``trial``: 37). Tokens are lowercased and tokenised as distributed; links come from
    ``<part>.align`` (``f-e`` pairs, ``-P`` = possible; no NULL links).

    >>> pairs = load_hansards("trial")  # doctest: +SKIP
    >>> len(pairs), pairs[0].fr_tokens[:2]  # doctest: +SKIP
    (37, ['chacun', 'en'])
    """
    if part not in ("test", "trial"):
        raise ConfigError(f"unknown Hansards part {part!r}", "use 'test' (447 pairs) or 'trial' (37 pairs)")
    root = _corpus("hansards_enfr_wa", data_dir)
    en = _hansards_sentences(_file(root, f"{part}.e"))
    fr = _hansards_sentences(_file(root, f"{part}.f"))
    links = _read(_file(root, f"{part}.align")).splitlines()
    if not len(en) == len(fr) == len(links):
        raise RecordFormatError(f"Hansards {part}: {len(en)} English, {len(fr)} French and {len(links)} alignment lines")
    examples = []
    for lineno, ((en_id, en_toks), (fr_id, fr_toks), line) in enumerate(zip(en, fr, links), start=1):
        if en_id != fr_id:
            raise RecordFormatError(f"Hansards {part} line {lineno}: sentence ids differ ({en_id} / {fr_id})")
        ex = WordAlignmentExample(en_id, en_toks, fr_toks)
        for item in line.split():
            m = re.fullmatch(r"(\d+)-(\d+)(-P)?", item)
            if m is None:
                raise RecordFormatError(f"{part}.align:{lineno}: malformed link {item!r}", "links look like 'f-e' or 'f-e-P'")
            f_i, e_i = int(m.group(1)), int(m.group(2))
            if not (e_i < len(en_toks) and f_i < len(fr_toks)):
                raise RecordFormatError(f"{part}.align:{lineno}: link {item!r} is outside the sentences")
            ex.possible.add((e_i, f_i))
            if m.group(3) is None:
                ex.sure.add((e_i, f_i))
        examples.append(ex)
    return examples


# ------------------------------------------------------------------------------------------------
# TransRead sentence alignment
# ------------------------------------------------------------------------------------------------
@dataclass
class SentenceAlignmentBook:
    """One EN/FR novel with its gold n-m sentence links.

    ``links[k] = (en_indices, fr_indices)`` into ``en_sentences`` / ``fr_sentences``; either
    list may be empty (1-0 and 0-1 links). ``en_ids``/``fr_ids`` are the XML sentence ids.
    """

    name: str
    en_sentences: list[str]
    fr_sentences: list[str]
    links: list[tuple[list[int], list[int]]]
    en_ids: list[str] = field(default_factory=list)
    fr_ids: list[str] = field(default_factory=list)



def _cut_sentences(path: Path, lang: str) -> tuple[list[str], list[str]]:
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError as err:
        raise RecordFormatError(f"{path}: not valid XML ({err})") from err
    ids, sentences = [], []
    for s in root.iter("s"):
        ids.append(s.get("id"))
        sentences.append(detokenize([(w.text or "").strip() for w in s.iter("w") if (w.text or "").strip()], lang))
    return ids, sentences


def load_transread(novel: str | None = None, data_dir: str | os.PathLike | None = None) -> list[SentenceAlignmentBook]:
    """TransRead gold sentence alignments of 11 EN/FR novels (5,260 links, CC BY-SA 4.0).

    ``novel``: a book name such as ``"Candide"`` (``None`` = all, in name order). Sentences
    are the ``<s>`` of ``cut_<book>_{en,fr}.xml`` in document order, their ``<w>`` tokens
    joined with :func:`detokenize`.

    >>> (book,) = load_transread("Candide")  # doctest: +SKIP
    >>> book.en_sentences[4]  # doctest: +SKIP
    'His face was the true index of his mind.'
    """
    root = _corpus("transread_enfr_sentalign", data_dir)
    books = sorted(p.name[: -len("_EN-FR")] for p in root.glob("*_EN-FR") if p.is_dir())
    if novel is not None:
        if novel not in books:
            raise DataNotFoundError(f"no TransRead novel {novel!r} under {root}", f"available: {', '.join(books)}")
        books = [novel]
    out = []
    for name in books:
        folder = root / f"{name}_EN-FR"
        en_ids, en = _cut_sentences(_file(folder, f"cut_{name}_en.xml"), "en")
        fr_ids, fr = _cut_sentences(_file(folder, f"cut_{name}_fr.xml"), "fr")
        en_pos = {sid: i for i, sid in enumerate(en_ids)}
        fr_pos = {sid: i for i, sid in enumerate(fr_ids)}
        align_path = _file(folder, f"{name}_sent_align_en-fr.xml")
        try:
            align = ET.fromstring(align_path.read_bytes())
        except ET.ParseError as err:
            raise RecordFormatError(f"{align_path}: not valid XML ({err})") from err
        links = []
        for link in align.iter("link"):
            targets = link.get("xtargets", "")
            if ";" not in targets:
                raise RecordFormatError(f"{align_path}: link {link.get('id')} has no 'en_ids;fr_ids' xtargets")
            en_part, fr_part = targets.split(";", 1)
            try:
                links.append(([en_pos[x] for x in en_part.split()], [fr_pos[x] for x in fr_part.split()]))
            except KeyError as err:
                raise RecordFormatError(f"{align_path}: link {link.get('id')} names unknown sentence {err.args[0]!r}") from None
        out.append(SentenceAlignmentBook(name, en, fr, links, en_ids, fr_ids))
    return out


# ------------------------------------------------------------------------------------------------
# parallel sentences: Tatoeba, WMT14
# ------------------------------------------------------------------------------------------------
def _parallel_lines(fr_path: Path, en_path: Path) -> list[tuple[str, str]]:
    fr = _read(fr_path).splitlines()
    en = _read(en_path).splitlines()
    if len(fr) != len(en):
        raise RecordFormatError(f"{fr_path.name} has {len(fr)} lines but {en_path.name} has {len(en)}")
    return list(zip(fr, en))


def load_tatoeba(data_dir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """The 1,000 Tatoeba French-English sentence pairs (LASER test set) as ``(fr, en)``.

    >>> load_tatoeba()[0]  # doctest: +SKIP
    ('Au commencement, Dieu créa le ciel et la terre.', 'In the beginning God created the heaven and the earth.')
    """
    root = _corpus("tatoeba_fra_eng", data_dir)
    return _parallel_lines(_file(root, "tatoeba.fra-eng.fra"), _file(root, "tatoeba.fra-eng.eng"))


@dataclass(frozen=True)
class ParallelSegment:
    """A WMT14 newstest segment pair: ``index`` is its 0-based line in the test set."""

    index: int
    fr: str
    en: str
    doc_id: str
    seg_id: int
    origlang: str
    defence: bool


def load_wmt14_segments(defence_only: bool = False, data_dir: str | os.PathLike | None = None) -> list[ParallelSegment]:
    """WMT14 newstest2014 fr-en (3,003 segments) with their article ids and original language;
    ``defence=True`` on the 123 segments listed in ``defence_keyword_segment_ids.txt``.

    >>> segments = load_wmt14_segments(defence_only=True)  # doctest: +SKIP
    >>> len(segments), segments[0].index, segments[0].doc_id  # doctest: +SKIP
    (123, 97, '1041-cyberpresse')
    """
    root = _corpus("wmt14_newstest2014_fren", data_dir)
    pairs = _parallel_lines(_file(root, "newstest2014.fr-en.fr"), _file(root, "newstest2014.fr-en.en"))
    sgm = _read(_file(root, "newstest2014-fren-src.fr.sgm"))
    seg_docs: list[tuple[str, str, int]] = []
    for doc in re.finditer(r'<doc docid="(?P<id>[^"]+)"[^>]*?origlang="(?P<lang>\w+)"[^>]*>(?P<body>.*?)</doc>', sgm, re.DOTALL):
        for seg in re.finditer(r'<seg id="(\d+)">', doc.group("body")):
            seg_docs.append((doc.group("id"), doc.group("lang"), int(seg.group(1))))
    if len(seg_docs) != len(pairs):
        raise RecordFormatError(f"WMT14: the .sgm has {len(seg_docs)} segments but the plain text has {len(pairs)} lines")
    defence = {int(x) for x in _read(_file(root, "defence_keyword_segment_ids.txt")).split()}
    segments = [
        ParallelSegment(i, fr, en, doc_id, seg_id, lang, i in defence)
        for i, ((fr, en), (doc_id, lang, seg_id)) in enumerate(zip(pairs, seg_docs))
    ]
    return [s for s in segments if s.defence] if defence_only else segments


def load_wmt14(defence_only: bool = False, data_dir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """WMT14 newstest2014 as ``(fr, en)`` pairs (3,003, or the 123 defence segments);
    :func:`load_wmt14_segments` gives the same pairs with their ids.

    >>> len(load_wmt14()), len(load_wmt14(defence_only=True))  # doctest: +SKIP
    (3003, 123)
    """
    return [(s.fr, s.en) for s in load_wmt14_segments(defence_only, data_dir)]
