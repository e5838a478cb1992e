"""Build ``lecornu-belgium.jsonl`` from the hand-written markup ``lecornu-belgium.md``.

Offsets are computed here, never counted by hand. For each FR/EN pair the JSONL holds the
French document, the English document (as ``defnlp annotate`` writes them) and one aligned
record (as ``defnlp align`` writes it): pair 1 aligned at entity level (entities sharing a
markup ref), pair 2 at sentence level (sentences in order). Two nested entities are added to
pair 1 ("Armées" inside "ministre des Armées", "Armed Forces" inside its English title) so
that the example also shows overlapping mentions.

Run from the repository root:  PYTHONPATH=. python examples/aligned/build_example.py
"""

from __future__ import annotations

import json
from pathlib import Path

from defnlp.doc import Doc, Sentence
from defnlp.io.markup import parse_markup
from defnlp.scheme import load_scheme
from defnlp.text import split_sentences

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "lecornu-belgium.md"
TARGET = HERE / "lecornu-belgium.jsonl"

#: pair id -> alignment level
LEVELS = {"lecornu-belgium-1": "entity", "lecornu-belgium-2": "sentence"}

#: nested entities: doc id -> (outer surface, inner surface, label)
NESTED = {
    "lecornu-belgium-1-fr": ("ministre des Armées", "Armées", "ORG"),
    "lecornu-belgium-1-en": ("Minister for the Armed Forces", "Armed Forces", "ORG"),
}


def add_nested(doc: Doc) -> None:
    """Add the nested entity of ``NESTED`` inside its outer mention, keeping refs valid."""
    outer, inner, label = NESTED[doc.id]
    start = doc.text.index(outer) + outer.index(inner)
    refs = doc.meta["refs"]
    doc.meta["refs"] = {}  # refs are indices: rebuilt after sorting
    keyed = {ref: doc.entities[i] for ref, i in refs.items()}
    doc.add_entity(start, start + len(inner), label)
    doc.sort_entities()
    position = {id(e): i for i, e in enumerate(doc.entities)}
    doc.meta["refs"] = {ref: position[id(e)] for ref, e in keyed.items()}


def entity_links(fr: Doc, en: Doc) -> list[dict]:
    """One link per markup ref present on both sides."""
    links = []
    fr_refs, en_refs = fr.meta["refs"], en.meta["refs"]
    for ref, i in sorted(fr_refs.items(), key=lambda item: item[1]):
        if ref in en_refs:
            j = en_refs[ref]
            links.append(
                {
                    "fr": [[fr.entities[i].start, fr.entities[i].end]],
                    "en": [[en.entities[j].start, en.entities[j].end]],
                    "score": 1.0,
                    "fr_entities": [i],
                    "en_entities": [j],
                }
            )
    return links


def sentence_links(fr: Doc, en: Doc) -> list[dict]:
    """Sentences linked in order (the example's sentences translate one to one)."""
    if len(fr.sentences) != len(en.sentences):
        raise SystemExit(f"{fr.id}: {len(fr.sentences)} FR sentences but {len(en.sentences)} EN sentences")
    return [
        {"fr": [[a.start, a.end]], "en": [[b.start, b.end]], "score": 1.0}
        for a, b in zip(fr.sentences, en.sentences)
    ]


def doc_record(doc: Doc) -> dict:
    record = doc.to_dict()
    record.pop("meta", None)  # markup refs and pair ids are build-time only
    return record


def build_records(source: Path = SOURCE) -> list[dict]:
    """The JSONL records of the example, in file order."""
    scheme = load_scheme("defence-v1")
    docs = parse_markup(source.read_text(encoding="utf-8"), scheme=scheme, where=source.name)
    for doc in docs:
        doc.sentences = [Sentence(a, b) for a, b in split_sentences(doc.text)]
        if doc.id in NESTED:
            add_nested(doc)
        doc.validate()
    pairs: dict[str, dict[str, Doc]] = {}
    for doc in docs:
        pairs.setdefault(doc.meta["pair"], {})[doc.lang] = doc
    records = []
    for pair_id, sides in pairs.items():
        fr, en = sides["fr"], sides["en"]
        level = LEVELS[pair_id]
        links = entity_links(fr, en) if level == "entity" else sentence_links(fr, en)
        records += [doc_record(fr), doc_record(en)]
        records.append({"id": pair_id, "level": level, "fr": doc_record(fr), "en": doc_record(en), "links": links})
    return records


def to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def main() -> None:
    records = build_records()
    TARGET.write_text(to_jsonl(records), encoding="utf-8")
    print(f"wrote {TARGET.name}: {len(records)} records")


if __name__ == "__main__":
    main()
