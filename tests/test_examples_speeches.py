"""Folder-specific checks of ``data/examples/speeches/`` (see its ``README.md``; the generic checks
are in ``tests/test_examples.py``): what the folder is for (the layouts of speeches, transcripts
and official statements in both languages, with titles standing alone as ROLE) and its
conventions (layout lines and generic addresses are plain text).
"""

from __future__ import annotations

import re

from tests.example_checks import load_examples

#: a transcript's speaker label: ``Q:``, ``Réponse :``, ``MINISTER X:``, ``Q (Name, Reuters):``
SPEAKER = re.compile(r"^(?:Q|A|R|Question|Réponse|Answer|QUESTION|MOD[EÉ]RAT(?:OR|EUR)|[A-ZÉ][A-ZÉ'’ -]{3,40})"
                     r"(?: \([^)\n]*\))? ?:", re.MULTILINE)
#: lines of the layout that carry no entity
LAYOUT_LINE = re.compile(r"^(?:Seul le prononcé fait foi|Check against delivery|As prepared for delivery|"
                         r"\(As delivered\)|\[\.\.\.\]|– Fin –|– Ends –)\s*$", re.MULTILINE)
GENERIC_ADDRESS = re.compile(r"Mesdames et Messieurs|Ladies and gentlemen|chers camarades", re.IGNORECASE)


def _lines(doc):
    start = 0
    for line in doc.text.split("\n"):
        yield start, start + len(line), line
        start += len(line) + 1


def test_speech_and_transcript_layouts_in_both_languages():
    """Each language has speeches with salutation lines whose titles are ROLE, transcripts with
    speaker labels, and delivery lines (``Seul le prononcé fait foi``, ``Check against delivery``)."""
    docs = load_examples("speeches")
    for lang in ("fr", "en"):
        side = [d for d in docs if d.lang == lang]
        salutations = [d.id for d in side if any(
            line.rstrip().endswith(",") and len(line) < 70
            and any(e.label == "ROLE" and a <= e.start < b for e in d.entities)
            for a, b, line in _lines(d))]
        assert len(salutations) >= 5, salutations
        transcripts = [d.id for d in side if len(SPEAKER.findall(d.text)) >= 2]
        assert len(transcripts) >= 5, transcripts
        assert sum(bool(LAYOUT_LINE.search(d.text)) for d in side) >= 8


def test_layout_lines_and_generic_addresses_are_plain_text():
    for d in load_examples("speeches"):
        for m in LAYOUT_LINE.finditer(d.text):
            assert not [e.text for e in d.entities if e.start < m.end() and m.start() < e.end], (d.id, m.group())
        for m in GENERIC_ADDRESS.finditer(d.text):
            assert not [e.text for e in d.entities if e.start < m.end() and m.start() < e.end], (d.id, m.group())


def test_speaker_labels_keep_title_and_name_apart():
    """``[MINISTER]{ROLE} [NAME]{PER}:`` and ``GÉNÉRAL`` labels: two entities, never one span with the colon."""
    docs = load_examples("speeches")
    labelled = [(d.id, e.text) for d in docs for e in d.entities
                if e.label == "PER" and re.match(r" ?:", d.text[e.end:e.end + 2]) and e.text.isupper()]
    assert len(labelled) >= 8, labelled
    for d in docs:
        for e in d.entities:
            assert ":" not in e.text, (d.id, e.text)
            if e.label == "PER":
                assert not re.match(r"(?i)(?:minist|général|general|secretary)", e.text), (d.id, e.text)
