"""Folder-specific checks of ``data/examples/procurement/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): the export deals carry hard negatives, the press releases and
PDF-converted documents keep their layout (hard wraps, bullet lists, "About" footers and contact
blocks, page headers and hyphenated line ends), and the relations the folder was written for occur
in both languages.
"""

from __future__ import annotations

import re

import pytest

from tests.example_checks import check_in_both_languages, load_examples

#: the relations this folder was written for (ACQUIRES is the relation model's weakest important one)
TARGETS = ("ACQUIRES", "PRODUCES", "SIGNS", "HAS_QUANTITY")
#: hard negatives of the export deals: intentions, evaluations, talks, refusals, competitors' wins
NEGATIVE_CUES = re.compile(
    r"\b(?:consider|evaluat|talks|reject|chose|display|financ|étudi|évalu|négoci|écart|choisi|expos|financ)",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def docs():
    return load_examples("procurement")


def test_export_deals_carry_hard_negatives(docs):
    for d in docs:
        if "acq-006" <= d.meta["pair"] <= "acq-010":
            assert NEGATIVE_CUES.search(d.text), d.id


def test_press_releases_keep_their_layout(docs):
    releases = [d for d in docs if "acq-011" <= d.meta["pair"] <= "acq-015"]
    for d in releases:
        lines = d.text.split("\n")
        assert max(len(line) for line in lines) <= 90, d.id
        assert sum(len(line) >= 60 for line in lines) >= 5, d.id  # hard-wrapped prose
        assert re.search(r"^\s*[-*•] ", d.text, re.MULTILINE), d.id  # a bullet list of contract items
        assert re.search(r"^\**(?:About|À propos d)", d.text, re.MULTILINE), d.id  # the footer
        assert re.search(r"[\w.-]+@[\w.-]+\.\w+", d.text) and re.search(r"\+\d[\d ]{8,}", d.text), d.id
        assert "**" in d.text, d.id  # markdown emphasis


def test_pdf_converted_documents_keep_page_furniture_and_hyphenation(docs):
    reports = [d for d in docs if d.meta["pair"] >= "acq-016"]
    for d in reports:
        assert max(len(line) for line in d.text.split("\n")) <= 90, d.id
        assert re.search(r"\w-\n[a-zà-ÿ]", d.text), d.id  # a word hyphenated across a line end
        assert re.search(r"^.*\b(?:[Pp]age|p\.)\s*\d+", d.text, re.MULTILINE), d.id  # running header/footer


def test_target_relations_occur_in_both_languages(docs):
    check_in_both_languages(docs, TARGETS, at_least=15)
    check_in_both_languages(docs, ("ACQUIRES",), at_least=40)
    check_in_both_languages(docs, ("PART_OF", "PARTNER_OF", "LOCATED_IN"), at_least=5)
    for d in docs:  # every document states an acquisition
        assert any(r.label == "ACQUIRES" for r in d.relations), d.id
