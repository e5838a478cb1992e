"""Layout rendering (defnlp/training/augment/layouts.py): each transform fires, wraps and hyphenation,
layout blocks, render_layout alone."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from defnlp.doc import Doc
from defnlp.text import split_sentences
from defnlp.training.augment import LAYOUT_TRANSFORMS, AugmentSettings, augment_docs, render_layout
from tests.training.augment.checks import ALL_ON, check_all


# ---- each transform fires with probability 1 -----------------------------------------------------------
def _evidence(name: str, orig: Doc, new: Doc) -> bool:
    text, added = new.text, new.entities[len(orig.entities):]
    if name == "ligatures":
        return len(text) < len(orig.text) and all(e.text in text for e in new.entities)
    # a title line, or the first sentence (as the splitter cuts it: "U.S. Army ..." is one), in capitals
    if name == "heading":
        a, b = split_sentences(text)[0]
        first = text[a:b].split("\n", 1)[0]
        return first == first.upper() and sum(c.isalpha() for c in first) >= 4  # "SAAB"
    if name == "emphasis":
        return text.count("**") == orig.text.count("**") + 2
    if name == "bullets":
        return len(re.findall(r"^(?:- |• |\* )", text, re.M)) >= 2
    if name == "page_break":
        lines = Counter(text.split("\n")) - Counter(orig.text.split("\n"))  # a press kit repeats its own marks
        marks = ("Page ", "– ", "- ", "Dossier de presse", "DOSSIER DE PRESSE", "Press kit", "PRESS KIT",
                 "Document non", "Not for distribution")
        running = r"\d/\d|.* \| (?:Dossier de presse|Press kit)"
        return any(x.startswith(marks) or re.fullmatch(running, x) for x in lines)
    if name == "header":
        return text.startswith(("COMMUNIQUÉ", "Communiqué", "INFORMATION PRESSE", "PRESS RELEASE", "Press release",
                                "NEWS RELEASE", "FOR IMMEDIATE RELEASE"))
    if name == "footer":
        return bool(re.search(r"(Suivez-nous|Plus d'informations|Follow us|More information)", text))
    if name == "contact":
        per = [e for e in added if e.label == "PER"]
        role = [e for e in added if e.label == "ROLE"]
        return len(per) == len(role) == 1 and text[per[0].end : role[0].start] == "\n" and "@" in text
    if name == "address":
        loc = [e for e in added if e.label == "LOC"]
        return len(loc) == 1 and loc[0].start > len(orig.text) * 0.5 and re.search(r"\d+ \S", text) is not None
    if name == "wrap":
        lines = text.split("\n")
        return len(lines) > len(orig.text.split("\n")) and all(len(x) <= 90 or " " not in x for x in lines)
    if name == "hyphenate":
        return "-\n" in text
    if name == "whitespace":
        return bool(re.search(r"  |\t| \n|\n |\n$", text))
    if name == "replace":
        return bool(new.meta.get("replacements")) and text != orig.text
    raise AssertionError(name)


# the share of the sample where a transform can apply (bullets need 2+ sentences in a paragraph,
# hyphenation a long word at a line end, ligatures a word with ti/fi/fl/ff outside entities)
MIN_RATE = {"hyphenate": 0.35, "ligatures": 0.7, "bullets": 0.7}


@pytest.mark.parametrize("name", [*LAYOUT_TRANSFORMS, "replace"])
def test_each_transform_fires(name, sample, gazetteer):
    new = augment_docs(sample, AugmentSettings.only(name), seed=4, gazetteer=gazetteer)
    check_all(sample, new)
    by_id = {d.id: d for d in sample}
    fired = [d for d in new if name in d.meta["augmented"]]
    assert len(fired) >= MIN_RATE.get(name, 0.9) * len(sample), (name, len(fired))
    assert all(set(d.meta["augmented"]) <= {name, "wrap"} for d in new)  # nothing else fires
    missing = [d.id for d in fired if not _evidence(name, by_id[d.meta["augmented_from"]], d)]
    assert not missing, missing[:5]


def test_wrap_width_and_hyphenation_inside_entities(examples):
    settings = AugmentSettings.only("hyphenate", wrap_min=60, wrap_max=90)
    new = augment_docs(examples, settings, seed=8)
    assert any("-\n" in e.text for d in new for e in d.entities)  # hyphenated inside an entity
    assert any("\n" in e.text and "-\n" not in e.text for d in new for e in d.entities)  # wrapped inside one
    for d in new:
        for line in d.text.split("\n"):
            assert len(line) <= 90 or " " not in line.strip(), (d.id, line)


def test_no_entity_crosses_a_layout_block(examples, gazetteer):
    """Spans never run from one block of a layout into the next (DESIGN.md; :func:`defnlp.layout.blocks`)."""
    from defnlp.layout import blocks

    for settings in (AugmentSettings(copies=2), AugmentSettings(**ALL_ON)):
        for d in augment_docs(examples, settings, seed=6, gazetteer=gazetteer):
            bounds = blocks(d.text)
            crossing = [e for e in d.entities if not any(a <= e.start and e.end <= b for a, b in bounds)]
            assert not crossing, (d.id, crossing)



def test_render_layout_alone_is_a_new_doc(examples):
    doc = examples[0]
    before = doc.to_dict()
    out = render_layout(doc, random.Random(1), AugmentSettings.only("heading", "contact", "wrap"))
    assert doc.to_dict() == before and out is not doc
    assert out.id == doc.id and {"heading", "contact", "wrap"} <= set(out.meta["augmented"])
