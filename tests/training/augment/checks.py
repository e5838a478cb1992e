"""Helpers of the augmentation tests: the invariants of an augmented copy, a document with nested entities."""

from __future__ import annotations

import re
from pathlib import Path

from defnlp.doc import Doc
from defnlp.training.augment import LAYOUT_TRANSFORMS

ROOT = Path(__file__).resolve().parents[3]
ALL_ON = {name: 1.0 for name in ("layout", *LAYOUT_TRANSFORMS, "replace")}


def norm(text: str) -> str:
    """What a layout may change in an entity: line breaks, hyphenation at line ends, case."""
    return re.sub(r"\s+", " ", text.replace("-\n", "")).strip().casefold()


def check_copy(orig: Doc, new: Doc) -> None:
    """Every invariant of an augmented copy against its original."""
    new.validate()  # offsets and entity texts exact, relation indices valid
    assert new.id.startswith(f"{orig.id}#aug") and new.meta["augmented_from"] == orig.id
    assert new.meta["augmented"], new.id
    assert "pair" not in new.meta and new.meta.get("split") == orig.meta.get("split")
    replaced = {i: text for i, _, text in new.meta.get("replacements", [])}
    assert len(new.entities) >= len(orig.entities)
    for i, e in enumerate(orig.entities):
        got = new.entities[i]
        assert got.label == e.label, (new.id, i)
        assert norm(got.text) == norm(replaced.get(i, e.text)), (new.id, i, e.text, got.text)
        assert "\n\n" not in got.text, (new.id, i, got.text)
    for e in new.entities[len(orig.entities):]:
        assert "\n" not in e.text and e.text.strip() == e.text, (new.id, e)
    assert new.relations[: len(orig.relations)] == orig.relations
    for r in orig.relations:
        assert new.entities[r.head].label == orig.entities[r.head].label
        assert new.entities[r.tail].label == orig.entities[r.tail].label
    for r in new.relations[len(orig.relations):]:
        assert (new.entities[r.head].label, r.label, new.entities[r.tail].label) == ("PER", "HAS_ROLE", "ROLE")


def check_all(originals: list[Doc], new: list[Doc]) -> None:
    by_id = {d.id: d for d in originals}
    for d in new:
        check_copy(by_id[d.meta["augmented_from"]], d)


def nested_doc() -> Doc:
    text = (
        "The UK Ministry of Defence said on Monday that HMS Dauntless and two Typhoon jets from RAF Lossiemouth "
        "would escort the convoy. The Defence Secretary, James Whitcombe, confirmed the operation in London."
    )
    doc = Doc(text, id="nested", lang="en")
    spans = [("UK", "LOC"), ("UK Ministry of Defence", "ORG"), ("Ministry of Defence", "ORG"), ("Monday", "DATE"),
             ("HMS Dauntless", "PLATFORM"), ("two", "QUANTITY"), ("two Typhoon", "PLATFORM"), ("Typhoon", "PLATFORM"),
             ("RAF Lossiemouth", "LOC"), ("Defence Secretary", "ROLE"), ("James Whitcombe", "PER"), ("London", "LOC")]
    for surface, label in spans:
        start = text.index(surface)
        doc.add_entity(start, start + len(surface), label)
    doc.add_relation(10, 9, "HAS_ROLE")
    doc.add_relation(6, 5, "HAS_QUANTITY")
    doc.add_relation(1, 11, "LOCATED_IN")
    doc.meta["ignore_spans"] = [[text.index("convoy"), text.index("convoy") + 6]]
    return doc
