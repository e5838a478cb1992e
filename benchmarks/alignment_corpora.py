"""Private readers for the alignment benchmarks (Hansards, TransRead, Tatoeba, WMT14).

These read the public corpora from the data directory (``DEFNLP_DATA_DIR``, see
``defnlp.config``); they are small on purpose and will be replaced by the shared loaders of
``defnlp.io.corpora`` once merged.

>>> pairs = read_hansards("trial")          # doctest: +SKIP
>>> len(pairs), pairs[0].fr[:3]              # doctest: +SKIP
(37, ['il', 'ne', 'a'])
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from defnlp.config import corpus_dir

__all__ = [
    "HansardsPair",
    "Novel",
    "WmtDocument",
    "read_hansards",
    "read_tatoeba",
    "read_transread",
    "read_wmt14",
    "read_wmt14_defence_ids",
]


# ------------------------------------------------------------------------------------------------
# Hansards word alignment (HLT-NAACL 2003 WPT)
# ------------------------------------------------------------------------------------------------
@dataclass
class HansardsPair:
    fr: list[str]
    en: list[str]
    sure: set[tuple[int, int]]  # (fr index, en index), 0-based
    possible: set[tuple[int, int]]  # includes the sure links


_SNUM_RE = re.compile(r"^<s snum=\d+>\s*|\s*</s>\s*$")


def _hansards_tokens(path: Path) -> list[list[str]]:
    return [_SNUM_RE.sub("", line.strip()).split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_hansards(split: str = "test") -> list[HansardsPair]:
    """The 447 test (or 37 trial) sentence pairs with sure/possible links (no NULL links)."""
    root = corpus_dir("hansards_enfr_wa")
    fr = _hansards_tokens(root / f"{split}.f")
    en = _hansards_tokens(root / f"{split}.e")
    pairs = []
    for k, line in enumerate((root / f"{split}.align").read_text(encoding="utf-8").splitlines()):
        sure, possible = set(), set()
        for item in line.split():
            parts = item.split("-")
            link = (int(parts[0]), int(parts[1]))
            possible.add(link)
            if len(parts) == 2:
                sure.add(link)
        pairs.append(HansardsPair(fr[k], en[k], sure, possible))
    if not (len(pairs) == len(fr) == len(en)):
        raise ValueError(f"hansards {split}: {len(fr)} FR, {len(en)} EN, {len(pairs)} alignment lines")
    return pairs


# ------------------------------------------------------------------------------------------------
# TransRead gold sentence alignments of novels
# ------------------------------------------------------------------------------------------------
@dataclass
class Novel:
    name: str
    en: list[str]
    fr: list[str]
    gold: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)  # (fr ids, en ids)


_NO_SPACE_BEFORE = re.compile(r" ([,.)\]»”’:;!?…](?:\s|$))")
_NO_SPACE_AFTER = re.compile(r"([(\[«“]) ")
_ELISION_GAP = re.compile(r"\b([ldjmnstc]|qu|jusqu|lorsqu|puisqu)' ", re.IGNORECASE)


def _detokenise(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    text = _ELISION_GAP.sub(r"\1'", text)
    return text.strip()


def _ces_sentences(path: Path) -> tuple[list[str], dict[str, int]]:
    tree = ET.parse(path)
    texts, index = [], {}
    for s in tree.iter("s"):
        index[s.get("id")] = len(texts)
        texts.append(_detokenise([w.text or "" for w in s.iter("w")]))
    return texts, index


def read_transread() -> list[Novel]:
    """The 11 EN-FR novels: sentences of the aligned part and gold n-m links (FR ids, EN ids)."""
    root = corpus_dir("transread_enfr_sentalign")
    novels = []
    for book_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.endswith("_EN-FR")):
        name = book_dir.name[: -len("_EN-FR")]
        en, en_index = _ces_sentences(book_dir / f"cut_{name}_en.xml")
        fr, fr_index = _ces_sentences(book_dir / f"cut_{name}_fr.xml")
        gold = []
        for link in ET.parse(book_dir / f"{name}_sent_align_en-fr.xml").iter("link"):
            en_ids, fr_ids = (part.split() for part in link.get("xtargets", ";").split(";"))
            gold.append((tuple(fr_index[i] for i in fr_ids), tuple(en_index[i] for i in en_ids)))
        novels.append(Novel(name, en, fr, gold))
    return novels


# ------------------------------------------------------------------------------------------------
# Tatoeba (LASER) 1,000 FR-EN pairs
# ------------------------------------------------------------------------------------------------
def read_tatoeba() -> tuple[list[str], list[str]]:
    root = corpus_dir("tatoeba_fra_eng")
    fr = (root / "tatoeba.fra-eng.fra").read_text(encoding="utf-8").splitlines()
    en = (root / "tatoeba.fra-eng.eng").read_text(encoding="utf-8").splitlines()
    return fr, en


# ------------------------------------------------------------------------------------------------
# WMT14 newstest2014 FR-EN, as documents
# ------------------------------------------------------------------------------------------------
@dataclass
class WmtDocument:
    docid: str
    origlang: str
    first_segment: int  # 0-based index of the document's first segment in the line-parallel files
    fr: list[str]
    en: list[str]


_DOC_RE = re.compile(r'<doc docid="([^"]+)"[^>]*origlang="(\w+)"[^>]*>(.*?)</doc>', re.DOTALL)
_SEG_RE = re.compile(r"<seg id=\"\d+\">(.*?)</seg>", re.DOTALL)


def read_wmt14() -> list[WmtDocument]:
    root = corpus_dir("wmt14_newstest2014_fren")
    fr_docs = _DOC_RE.findall((root / "newstest2014-fren-src.fr.sgm").read_text(encoding="utf-8"))
    en_docs = _DOC_RE.findall((root / "newstest2014-fren-src.en.sgm").read_text(encoding="utf-8"))
    docs, offset = [], 0
    for (docid, origlang, fr_body), (docid_en, _, en_body) in zip(fr_docs, en_docs):
        if docid != docid_en:
            raise ValueError(f"WMT14 documents out of order: {docid} vs {docid_en}")
        fr = [html.unescape(s).strip() for s in _SEG_RE.findall(fr_body)]
        en = [html.unescape(s).strip() for s in _SEG_RE.findall(en_body)]
        docs.append(WmtDocument(docid, origlang, offset, fr, en))
        offset += len(fr)
    return docs


def read_wmt14_defence_ids() -> list[int]:
    """0-based ids of the 123 segments whose English side matches defence keywords."""
    root = corpus_dir("wmt14_newstest2014_fren")
    return [int(x) for x in (root / "defence_keyword_segment_ids.txt").read_text().split()]
