"""Replacement candidates (defnlp/training/augment/gazetteer.py): the gazetteers' conventions, the
terminology acronyms. The files themselves: tests/test_gazetteers.py."""

from __future__ import annotations

import logging

from defnlp.training.augment import load_gazetteer


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
