"""The project's gazetteer files (defnlp/gazetteers.py, defnlp/resources/gazetteers/)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from defnlp.errors import ConfigError
from defnlp.gazetteers import GazetteerEntry, packaged_entries, packaged_gazetteer, read_gazetteer_tsv

GAZETTEER_DIR = Path(__file__).resolve().parents[1] / "defnlp" / "resources" / "gazetteers"
MAIN_LABELS = ("PLATFORM", "WEAPON", "ORG", "PROGRAMME", "DOCUMENT", "ROLE", "NAT", "PER", "LOC")


def test_gazetteer_files():
    readme = (GAZETTEER_DIR / "README.md").read_text(encoding="utf-8")
    assert "MIT" in readme and "facts compiled by the project" in readme
    seen = set()
    for path in sorted(GAZETTEER_DIR.glob("*.tsv")):
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert rows[0] == ["text", "lang", "type", "form", "alias"], path.name
        for row in rows[1:]:
            assert len(row) == 5 and row[0] == row[0].strip() and row[0], (path.name, row)
            assert row[1] in ("fr", "en", "any") and row[2], (path.name, row)
            assert set(filter(None, row[3].split("|"))) <= {"ms", "fs", "mp", "fp", "the"}, (path.name, row)
            key = (path.stem, row[0].casefold(), row[1])
            assert key not in seen, key
            seen.add(key)
    counts = packaged_gazetteer().counts()
    assert set(MAIN_LABELS) <= set(counts) and all(counts[x] >= 40 for x in MAIN_LABELS), counts
    assert 500 <= sum(counts.values())


def test_reading_a_gazetteer_file_keeps_types_forms_and_aliases_and_refuses_bad_rows() -> None:
    (entry,) = read_gazetteer_tsv("text\tlang\ttype\tform\talias\n# a comment\nUnited Kingdom\ten\tcountry\tthe\tUK\n", "LOC", "x.tsv")
    assert (entry.text, entry.label, entry.lang, entry.type, entry.forms, entry.alias) == (
        "United Kingdom", "LOC", "en", "country", frozenset({"the"}), "UK")
    with pytest.raises(ConfigError, match="header"):
        read_gazetteer_tsv("name\tlanguage\n", "LOC", "x.tsv")
    with pytest.raises(ConfigError, match="x.tsv:2: lang 'de'"):
        read_gazetteer_tsv("text\tlang\nBerlin\tde\n", "LOC", "x.tsv")


def test_the_packaged_gazetteer_is_read_once_and_each_copy_is_independent() -> None:
    assert packaged_entries() is packaged_entries()
    first, second = packaged_gazetteer(), packaged_gazetteer()
    first.add(GazetteerEntry("Atlantis", "LOC", "en", "country"))
    assert first.lookup("LOC", "atlantis") and not second.lookup("LOC", "atlantis")
    assert {"US", "UK", "Britain", "United States"} <= {s for e in second.entries if e.type == "country" for s in (e.text, e.alias)}
