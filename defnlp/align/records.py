"""The JSON records that ``defnlp align`` writes (one per document pair), read by the viewer.

Shape (character offsets on both sides; ``fr``/``en`` are :class:`~defnlp.doc.Doc` JSON)::

    {"id": str, "level": "sentence" | "word" | "entity",
     "fr": <Doc JSON>, "en": <Doc JSON>,
     "links": [{"fr": [[start, end], ...], "en": [[start, end], ...], "score": float,
                "fr_entities": [int, ...], "en_entities": [int, ...]}]}

* ``sentence``: one link per sentence link; a side is a list of sentence spans (empty for a
  1-0 / 0-1 link, score 0.0); ``fr_entities``/``en_entities`` list the entities inside the spans
  (when the docs carry entities). The docs' ``sentences`` hold all sentence spans.
* ``word``: one record per document pair, one link per aligned word pair (one span a side).
* ``entity``: one link per aligned entity pair; the spans are the two mentions and
  ``fr_entities``/``en_entities`` hold their indices in the docs' ``entities``.

>>> from defnlp import Doc
>>> rec = entity_record("d1", Doc("OTAN", lang="fr", entities=[]), Doc("NATO", lang="en"), [])
>>> sorted(rec), rec["level"]
(['en', 'fr', 'id', 'level', 'links'], 'entity')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..doc import Doc, Sentence
from .entities import EntityLink
from .sentences import SentenceAlignment
from .words import WordAlignment

__all__ = ["LEVELS", "entity_record", "sentence_record", "word_record"]

LEVELS = ("sentence", "word", "entity")


def _link(fr_spans: list[tuple[int, int]], en_spans: list[tuple[int, int]], score: float,
          fr_entities: Sequence[int] = (), en_entities: Sequence[int] = ()) -> dict[str, Any]:
    return {
        "fr": [[int(a), int(b)] for a, b in fr_spans],
        "en": [[int(a), int(b)] for a, b in en_spans],
        "score": round(float(score), 4),
        "fr_entities": [int(i) for i in fr_entities],
        "en_entities": [int(i) for i in en_entities],
    }


def _entities_within(doc: Doc, spans: list[tuple[int, int]]) -> list[int]:
    return [k for k, e in enumerate(doc.entities) if any(a <= e.start and e.end <= b for a, b in spans)]


def _with_sentences(doc: Doc, spans: list[tuple[int, int]] | None) -> Doc:
    out = doc.copy()
    if spans is not None:
        out.sentences = [Sentence(a, b) for a, b in spans]
    return out


def sentence_record(record_id: str, fr_doc: Doc, en_doc: Doc, alignment: SentenceAlignment) -> dict[str, Any]:
    """A sentence-level record; ``alignment`` must come from ``SentenceAligner.align_texts``."""
    links = []
    for fr_spans, en_spans, score in alignment.char_links():
        links.append(_link(fr_spans, en_spans, score, _entities_within(fr_doc, fr_spans), _entities_within(en_doc, en_spans)))
    return {
        "id": record_id,
        "level": "sentence",
        "fr": _with_sentences(fr_doc, alignment.src_spans).to_dict(),
        "en": _with_sentences(en_doc, alignment.tgt_spans).to_dict(),
        "links": links,
    }


def word_record(
    record_id: str,
    fr_doc: Doc,
    en_doc: Doc,
    alignments: list[WordAlignment],
    fr_sentences: list[tuple[int, int]] | None = None,
    en_sentences: list[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A word-level record: the word links of all parallel segments of one document pair."""
    links = []
    for wa in alignments:
        for (fs, fe), (es, ee), score in wa.char_links():
            links.append(_link([(fs, fe)], [(es, ee)], score, _entities_within(fr_doc, [(fs, fe)]), _entities_within(en_doc, [(es, ee)])))
    return {
        "id": record_id,
        "level": "word",
        "fr": _with_sentences(fr_doc, fr_sentences).to_dict(),
        "en": _with_sentences(en_doc, en_sentences).to_dict(),
        "links": links,
    }


def entity_record(record_id: str, fr_doc: Doc, en_doc: Doc, links: list[EntityLink]) -> dict[str, Any]:
    """An entity-level record: each link with its calibrated score, the evidence that decided it
    and ``many_to_one`` (an extra link to a mention already linked one-to-one, e.g. an acronym)."""
    out = []
    for link in links:
        f, e = fr_doc.entities[link.fr], en_doc.entities[link.en]
        out.append({**_link([(f.start, f.end)], [(e.start, e.end)], link.score, [link.fr], [link.en]),
                    "evidence": link.evidence, "many_to_one": bool(link.many_to_one)})
    return {"id": record_id, "level": "entity", "fr": fr_doc.to_dict(), "en": en_doc.to_dict(), "links": out}
