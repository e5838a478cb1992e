"""Gazetteers (defnlp/training/augment/gazetteer.py): the packaged TSV files, their conventions, the
terminology acronyms."""

from __future__ import annotations

import csv
import logging

from defnlp.training.augment import load_gazetteer
from tests.training.augment.checks import ROOT

GAZETTEER_DIR = ROOT / "defnlp" / "resources" / "gazetteers"
MAIN_LABELS = ("PLATFORM", "WEAPON", "ORG", "PROGRAMME", "DOCUMENT", "ROLE", "NAT", "PER", "LOC")


# ---- gazetteers ---------------------------------------------------------------------------------------------
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
    counts = load_gazetteer(terminology=False).counts()
    assert set(MAIN_LABELS) <= set(counts) and all(counts[x] >= 40 for x in MAIN_LABELS), counts
    assert 500 <= sum(counts.values())


def test_gazetteer_content_follows_the_conventions(gazetteer):
    ships = [e.text for e in gazetteer.candidates("PLATFORM", "en") if e.type == "ship"]
    assert {"HMS Queen Elizabeth", "FS Charles de Gaulle", "USS Gerald R. Ford"} <= set(ships)
    orgs = {s for e in gazetteer.candidates("ORG", "en") for s in (e.text, e.alias)}
    assert {"AFP", "Reuters", "AP", "DPA", "ANSA"} <= orgs
    assert {"SCORPION", "MGCS", "SCAF", "FCAS", "GCAP", "AUKUS", "ESSI"} <= {
        s for e in gazetteer.entries if e.label == "PROGRAMME" for s in (e.text, e.alias)
    }
    nat_fr = {e.text for e in gazetteer.candidates("NAT", "fr")}
    assert {"franco-allemand", "franco-allemande", "germano-polonais", "françaises", "belges"} <= nat_fr
    assert "Franco-British" in {e.text for e in gazetteer.candidates("NAT", "en")}
    assert {"fr", "en"} <= {e.lang for e in gazetteer.entries if e.label == "DOCUMENT"}


def test_terminology_acronyms_are_read_from_the_data_directory(tmp_path, caplog):
    from defnlp.config import data_dir

    shared = data_dir(must_exist=False)
    if (shared / "fr_defence_terminology").is_dir():
        gaz = load_gazetteer()
        terms = {e.text: e.label for e in gaz.entries if e.source == "terminology"}
        assert terms.get("MICA") == "WEAPON" and terms.get("NH 90") == "PLATFORM" and terms.get("SNLE") == "PLATFORM"
        assert "ACCS" not in terms and "EHFA" not in terms  # a system, a school: no clear label
    with caplog.at_level(logging.INFO, logger="defnlp.training.augment"):
        gaz = load_gazetteer(data_dir=tmp_path)
    assert "terminology source skipped" in caplog.text
    assert not [e for e in gaz.entries if e.source == "terminology"] and len(gaz) > 500
