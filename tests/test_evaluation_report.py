"""docs/evaluation.md is generated from benchmarks/results and benchmarks/report_notes, never edited by hand."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def report():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("evaluation_report")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_page_is_what_the_generator_writes(report):
    # a figure typed into the page, or a result file updated without re-running the generator, fails here
    assert report.OUT.read_text(encoding="utf-8") == report.render(), (
        "docs/evaluation.md is out of date: run `python benchmarks/evaluation_report.py` "
        "(hand-written text goes in benchmarks/report_notes/)")


def test_notes_split_at_the_tables_mark(report, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "NOTES", tmp_path)
    assert report.notes("relations") == ([], [])
    (tmp_path / "relations.md").write_text("Intro.\n\n<!-- tables -->\n\nAfter.\n", encoding="utf-8")
    assert report.notes("relations") == (["Intro.", ""], ["After.", ""])
    (tmp_path / "ner.md").write_text("Only before.\n", encoding="utf-8")
    assert report.notes("ner") == (["Only before.", ""], [])


def test_previous_release_must_exist(report, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "NOTES", tmp_path)
    assert report.previous("relations") is None
    (tmp_path / "previous.toml").write_text('[relations]\nresult = "no_such_result"\nrelease = "0.0"\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="no_such_result"):
        report.previous("relations")
