"""HTML reports (defnlp.viz): unit tests on the generated HTML, then tests in real headless Chromium.

The browser tests need the Debian package ``chromium`` (``make test`` installs it). Without it
they are skipped, unless ``DEFNLP_REQUIRE_BROWSER=1`` is set (CI), where they fail instead.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
import itertools
import json
import os
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp import Doc
from defnlp.doc import Sentence
from defnlp.cli import main as cli_main
from defnlp.io.markup import read_markup_files
from defnlp.viz import display, label_color, render_doc, render_file, render_html, to_record
from defnlp.viz.colors import DEFENCE_V1_COLORS, label_class
from defnlp.viz.records import AlignedRecord, ErrorRecord
from defnlp.viz.spans import Mark, nest_marks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "aligned" / "lecornu-belgium.jsonl"
DATA_EXAMPLES = ROOT / "data" / "examples"
DOC_IMAGES = ROOT / "docs" / "images"
#: the screenshots the docs show (rewritten by a browser test run with DEFNLP_DOC_IMAGES=1)
DOC_SCREENSHOTS = ("report-relations.png", "report-aligned.png")


# ---------------------------------------------------------------------------------------------
# a small DOM reader over the generated HTML (html.parser; fails on unbalanced tags)
# ---------------------------------------------------------------------------------------------
VOID = {"meta", "link", "br", "img", "input", "hr"}


class ReportReader(HTMLParser):
    """Collects, per document shown: its text, and each entity's label and text (all pieces).

    A document is a card's text, or one side of an aligned pair, whose text is spread over
    the cells of the grid's rows (the cells of a side, in order, give the document's text).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.docs: list[dict] = []  # {"text": str, "entities": {e: [label, text, pieces]}, "links": {e: ids}, "side", "al", "rows"}
        self.by_key: dict[tuple[int, str | None], dict] = {}
        self.cards: list[dict[str, str]] = []
        self.in_script = 0
        self.row: str | None = None

    def current(self) -> dict:
        return self.by_key[(len(self.cards), self.side)]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag in VOID:
            return
        self.stack.append((tag, a))
        classes = a.get("class", "").split()
        if tag == "section":
            self.cards.append(a)
        if "dnv-row" in classes:
            self.row = a.get("data-row")
        if "dnv-text" in classes:
            self.side = a.get("data-side")
            key = (len(self.cards), self.side)
            if key not in self.by_key:
                self.by_key[key] = {"text": "", "entities": {}, "links": {}, "side": self.side, "al": [], "rows": [], "badges": {}}
                self.docs.append(self.by_key[key])
            self.current()["rows"].append(self.row)
        if tag == "script":
            self.in_script += 1
        if "ent" in classes and "data-e" in a:
            doc = self.current()
            entry = doc["entities"].setdefault(int(a["data-e"]), {"label": a["data-label"], "text": "", "pieces": 0, "rows": set()})
            entry["pieces"] += 1
            entry["rows"].add(self.row)
            if "data-links" in a:
                doc["links"][int(a["data-e"])] = a["data-links"]
            if "data-n" in a:
                doc["badges"][int(a["data-e"])] = int(a["data-n"])
        if "al" in classes:
            self.current()["al"].append([a["data-links"], "", self.row])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        open_tag, _ = self.stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        if tag == "script":
            self.in_script -= 1

    def handle_data(self, data: str) -> None:
        if self.in_script:
            return
        if not any("dnv-text" in a.get("class", "").split() for _, a in self.stack):
            return
        doc = self.current()
        doc["text"] += data
        for _, a in self.stack:
            if "ent" in a.get("class", "").split() and "data-e" in a:
                doc["entities"][int(a["data-e"])]["text"] += data
        # innermost open alignment span gets the text
        for _, a in reversed(self.stack):
            if "al" in a.get("class", "").split():
                doc["al"][-1][1] += data
                break


def read_report(page: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(page)
    reader.close()
    assert not reader.stack or [t for t, _ in reader.stack] == [], "unclosed tags"
    return reader


def docs_of_jsonl(path: Path) -> list[Doc]:
    """The documents of a JSONL file in the order a report shows them (an aligned record: FR, EN)."""
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "fr" in record and "en" in record:
            docs += [Doc.from_dict(record["fr"]), Doc.from_dict(record["en"])]
        elif "text" in record:
            docs.append(Doc.from_dict(record))
    return docs


def assert_docs_shown(reader: ReportReader, docs: list[Doc]) -> None:
    assert len(reader.docs) == len(docs)
    for shown, doc in zip(reader.docs, docs):
        assert shown["text"] == doc.text
        assert sorted(shown["entities"]) == list(range(len(doc.entities)))
        for i, entity in enumerate(doc.entities):
            assert shown["entities"][i]["label"] == entity.label
            assert shown["entities"][i]["text"] == entity.text


def make_doc(text: str, spans: list[tuple[str, str]], **kwargs) -> Doc:
    """A doc with an entity on the first occurrence of each (surface, label)."""
    doc = Doc(text, **kwargs)
    for surface, label in spans:
        start = text.index(surface)
        doc.add_entity(start, start + len(surface), label)
    return doc


# ---------------------------------------------------------------------------------------------
# unit tests
# ---------------------------------------------------------------------------------------------
def test_bundled_example_shows_every_entity_with_its_exact_text():
    page = render_html(EXAMPLE.read_text(encoding="utf-8").splitlines())
    reader = read_report(page)
    docs = docs_of_jsonl(EXAMPLE)
    assert sum(len(d.entities) for d in docs) == 92
    assert_docs_shown(reader, docs)
    assert [c["data-kind"] for c in reader.cards] == ["doc", "doc", "aligned", "doc", "doc", "aligned"]


def _build_example_module():
    spec = importlib.util.spec_from_file_location("build_example", EXAMPLE.with_name("build_example.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_example_is_what_its_build_script_writes():
    module = _build_example_module()
    assert module.to_jsonl(module.build_records()) == EXAMPLE.read_text(encoding="utf-8")


def densest_example() -> tuple[Doc, dict]:
    """The English press release of ``data/examples/press`` with the most relations (gold
    annotations, read with the markup reader), and its FR/EN pair aligned at entity level (gold:
    the entities that share a markup ref). Press releases translate sentence by sentence, so their
    aligned entities share a row; other folders' pairs (digests, agendas) need not."""
    files = sorted(p for p in (DATA_EXAMPLES / "press").glob("*.md") if not p.name.startswith("README"))
    docs = read_markup_files(files)
    en = max((d for d in docs if d.lang == "en"), key=lambda d: (len(d.relations), len(d.entities)))
    fr = next(d for d in docs if d.lang == "fr" and d.meta.get("pair") == en.meta["pair"])
    build = _build_example_module()
    links = build.entity_links(fr, en)
    pair = {"id": en.meta["pair"], "level": "entity", "fr": build.doc_record(fr), "en": build.doc_record(en), "links": links}
    return Doc.from_dict(build.doc_record(en)), pair


def test_page_is_self_contained_and_its_csp_allows_only_its_own_style_and_script():
    page = render_html([make_doc("Le Griffon", [("Griffon", "PLATFORM")])])
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    assert "default-src 'none'" in csp
    for tag in ("style", "script"):
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
        assert len(blocks) == 1
        digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_text_ids_and_labels_are_escaped():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    doc = Doc(f"Voir {evil} & 'Brest'", id=evil, lang='fr"><script>')
    start = doc.text.index("<img")
    doc.add_entity(start, start + 8, '<b onmouseover="alert(2)">')
    doc.add_entity(doc.text.index("Brest"), doc.text.index("Brest") + 5, "LOC")
    doc.add_relation(0, 1, '"><script>alert(3)</script>', score=0.5)
    page = render_html([doc, {"id": evil, "error": {"type": evil, "message": evil, "hint": evil}}], title=evil)
    assert page.count("<script") == 1  # the report's own script only
    assert "<img" not in page and "<b " not in page
    reader = read_report(page)
    assert reader.docs[0]["text"] == doc.text
    assert reader.docs[0]["entities"][0]["label"] == '<b onmouseover="alert(2)">'
    assert reader.cards[1]["data-kind"] == "error" and reader.cards[1]["data-id"] == evil


def test_legend_lists_each_label_once_with_its_count_and_colour():
    docs = [
        make_doc("Lecornu et Dedonder à Brest", [("Lecornu", "PER"), ("Dedonder", "PER"), ("Brest", "LOC")]),
        make_doc("Le Griffon", [("Griffon", "Vehicle")]),
    ]
    page = render_html(docs)
    keys = re.findall(r'<button type="button" class="dnv-key [^"]+" data-class="([^"]+)" data-label="([^"]+)".*?<span class="dnv-count">(\d+)</span>', page)
    assert keys == [("l-PER", "PER", "2"), ("l-LOC", "LOC", "1"), ("l-Vehicle", "Vehicle", "1")]
    assert f".l-PER{{--c:{DEFENCE_V1_COLORS['PER']}}}" in page
    assert f".l-Vehicle{{--c:{label_color('Vehicle')}}}" in page


def test_unknown_labels_get_a_deterministic_valid_colour_and_a_safe_class():
    assert label_color("Vehicle") == label_color("Vehicle")
    assert re.fullmatch(r"#[0-9a-f]{6}", label_color("Vehicle"))
    assert len({label_color(x) for x in ("Vehicle", "Frequency", "Url", "Coordinate")}) == 4
    assert label_color("PER") == "#4e79a7"
    assert re.fullmatch(r"lx-[0-9a-f]{12}", label_class("a b<c>"))


def test_bad_lines_become_error_cards_and_the_rest_still_renders(tmp_path):
    good = {"id": "ok", "text": "Brest", "entities": [{"start": 0, "end": 5, "label": "LOC"}]}
    fr = {"text": "la Belgique", "entities": [{"start": 3, "end": 11, "label": "LOC"}]}
    en = {"text": "Belgium", "entities": [{"start": 0, "end": 7, "label": "LOC"}]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "no-text", "entities": []}),
        json.dumps({"id": "range", "text": "abc", "entities": [{"start": 1, "end": 9, "label": "LOC"}]}),
        json.dumps({"id": "mismatch", "text": "abc", "entities": [{"start": 0, "end": 1, "label": "LOC", "text": "z"}]}),
        json.dumps({"id": "job-error", "error": {"type": "EmptyInputError", "message": "empty", "hint": "give it text"}}),
        json.dumps({"id": "bad-link", "level": "entity", "fr": fr, "en": en, "links": [{"fr": [[3, 99]], "en": [[0, 7]]}]}),
        json.dumps({"id": "bad-index", "level": "entity", "fr": fr, "en": en, "links": [{"fr": [], "en": [], "fr_entities": [4]}]}),
        json.dumps([1, 2]),
        json.dumps({"id": "rel", "text": "ab", "entities": [{"start": 0, "end": 1, "label": "X"}], "relations": [{"head": 0, "tail": 3, "label": "R"}]}),
        json.dumps({"id": "type", "text": "ab", "entities": "nope"}),
        "",
        json.dumps({"id": "ok2", "level": "entity", "fr": fr, "en": en, "links": [{"fr": [[3, 11]], "en": [[0, 7]], "fr_entities": [0], "en_entities": [0]}]}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "latin1", "text": "\xe9"}\n')
    stats = render_file(path, tmp_path / "report.html", progress=False)
    assert (stats.documents, stats.aligned, stats.errors) == (1, 1, 11)
    reader = read_report((tmp_path / "report.html").read_text(encoding="utf-8"))
    errors = [c for c in reader.cards if c["data-kind"] == "error"]
    assert [int(c["data-line"]) for c in errors] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "EmptyInputError" in page and "give it text" in page and "InputEncodingError" in page
    assert "link 0 fr: span (3, 99) is outside the text" in page


def test_overlapping_nested_crossing_and_identical_entities_all_render():
    text = "Le ministre des Armées et le système Griffon-Jaguar CaMo"
    doc = Doc(text, id="overlaps")
    spans = [
        (3, 22, "ROLE"),  # ministre des Armées
        (16, 22, "ORG"),  # Armées (nested)
        (16, 22, "LOC"),  # Armées again, same span
        (37, 51, "PLATFORM"),  # Griffon-Jaguar
        (45, 56, "PROGRAMME"),  # Jaguar CaMo (crosses the previous one)
        (29, 44, "WEAPON"),  # système Griffon (crosses PLATFORM from the left)
    ]
    for start, end, label in spans:
        doc.add_entity(start, end, label)
    reader = read_report(render_doc(doc))
    assert_docs_shown(reader, [doc])
    pieces = {i: e["pieces"] for i, e in reader.docs[0]["entities"].items()}
    assert pieces[0] == pieces[1] == pieces[2] == 1  # properly nested spans stay whole
    assert sum(pieces.values()) > len(spans)  # crossing spans were cut, not dropped


def test_emoji_and_astral_characters_keep_python_offsets():
    text = "🚀🇫🇷 Le Rafale 𝔸 vole au-dessus de Brest 🛩️ avec 2 Griffon."
    doc = make_doc(text, [("Rafale", "PLATFORM"), ("Brest", "LOC"), ("🛩️", "PLATFORM"), ("Griffon", "PLATFORM")])
    reader = read_report(render_html([doc]))
    assert_docs_shown(reader, [doc])


def test_carriage_returns_survive_as_character_references():
    doc = make_doc("Ligne 1\r\nBrest", [("Brest", "LOC")])
    page = render_html([doc])
    assert "Ligne 1&#13;\n<span" in page  # a raw CR would be turned into LF by the HTML parser
    assert read_report(page).docs[0]["text"] == doc.text


def test_lone_surrogates_and_empty_texts_do_not_break_the_file(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text('{"id": "s", "text": "a\\ud800b", "entities": [{"start": 2, "end": 3, "label": "X"}]}\n{"id": "e", "text": ""}\n', encoding="utf-8")
    stats = render_file(path, tmp_path / "odd.html", progress=False)
    assert (stats.documents, stats.errors) == (2, 0)
    reader = read_report((tmp_path / "odd.html").read_text(encoding="utf-8"))
    assert reader.docs[0]["entities"][0]["text"] == "b" and reader.docs[1]["text"] == ""


def test_alignment_links_mark_both_sides_with_the_same_link_ids():
    fr = make_doc("La Belgique achète des véhicules Griffon et Jaguar.", [("Belgique", "LOC"), ("Griffon", "PLATFORM"), ("Jaguar", "PLATFORM")], lang="fr")
    en = make_doc("Belgium buys Griffon and Jaguar vehicles.", [("Belgium", "LOC"), ("Griffon", "PLATFORM"), ("Jaguar", "PLATFORM")], lang="en")
    record = {
        "id": "pair",
        "level": "entity",
        "fr": fr.to_dict(),
        "en": en.to_dict(),
        "links": [
            {"fr": [[3, 11]], "en": [[0, 7]], "score": 0.9, "fr_entities": [0], "en_entities": [0]},
            {"fr": [[33, 40]], "en": [[13, 20]], "score": 0.8, "fr_entities": [1], "en_entities": [1]},
            {"fr": [[44, 50]], "en": [[25, 31]], "score": 0.7, "fr_entities": [2], "en_entities": [2]},
            # an n-m link over plain words: "achète des véhicules" <-> "buys", "vehicles"
            {"fr": [[12, 18], [23, 32]], "en": [[8, 12], [32, 40]], "score": 0.4},
        ],
    }
    assert isinstance(to_record(record), AlignedRecord)
    reader = read_report(render_html([record]))
    fr_shown, en_shown = reader.docs
    assert (fr_shown["side"], en_shown["side"]) == ("fr", "en")
    assert fr_shown["links"] == en_shown["links"] == {0: "0", 1: "1", 2: "2"}
    # spans equal to a linked entity are shown by the entity; the word link gets its own spans
    assert sorted(al[:2] for al in fr_shown["al"]) == [["3", "achète"], ["3", "véhicules"]]
    assert sorted(al[:2] for al in en_shown["al"]) == [["3", "buys"], ["3", "vehicles"]]


def test_relations_are_listed_with_head_label_tail_and_score():
    doc = make_doc("Lecornu signe la lettre d'intention.", [("Lecornu", "PER"), ("lettre d'intention", "DOCUMENT")])
    doc.add_relation(0, 1, "SIGNS", score=0.87)
    doc.add_relation(0, 0, "SAME_AS")
    page = render_html([doc])
    item = re.search(r'<li data-r="0" data-head="0" data-tail="1" data-label="SIGNS".*?</li>', page).group(0)
    assert "Lecornu" in item and "—SIGNS→" in item and "lettre d&#x27;intention" in item and "0.87" in item
    assert 'data-label="SAME_AS" data-symmetric' in page
    assert '<svg class="dnv-arcs"' in page


def test_relations_sit_beside_the_text_one_row_each_in_reading_order():
    doc = make_doc(
        "Thales livre Brest. Lecornu signe la lettre.",
        [("Thales", "ORG"), ("Brest", "LOC"), ("Lecornu", "PER"), ("lettre", "DOCUMENT")],
    )
    doc.add_relation(2, 3, "SIGNS")
    doc.add_relation(0, 1, "LOCATED_IN")
    doc.add_relation(1, 0, "MEETS")
    page = render_html([doc, make_doc("Brest", [("Brest", "LOC")])])
    body = re.search(r'<div class="dnv-doc has-rels"><div class="dnv-textwrap">.*?</div></div><aside class="dnv-rels"[^>]*>(.*?)</aside></div>', page, re.S)
    assert body, "the relation list is a panel beside the text"
    rows = re.findall(r'<li data-r="(\d+)" data-head="(\d+)" data-tail="(\d+)".*?<button [^>]*data-goto="(\d+)".*?<span class="rl">([^<]+)</span><button [^>]*data-goto="(\d+)"', body.group(1))
    # reading order: by the first of the two mentions, then the head
    assert rows == [("1", "0", "1", "0", "—LOCATED_IN→", "1"), ("2", "1", "0", "1", "←MEETS→", "0"), ("0", "2", "3", "2", "—SIGNS→", "3")]
    assert page.count('class="dnv-doc has-rels"') == 1 and page.count('<div class="dnv-doc">') == 1  # no panel without relations
    assert page.count('<span class="lab">') == 6  # each mention of a row names its label in text, not only in colour


def _example_records() -> list[dict]:
    return [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]


def test_aligned_pair_is_a_grid_whose_rows_hold_aligned_sentences_side_by_side():
    pair = next(r for r in _example_records() if r.get("level") == "sentence")
    page = render_html([pair])
    reader = read_report(page)
    fr, en = reader.docs
    assert (fr["text"], en["text"]) == (pair["fr"]["text"], pair["en"]["text"])
    assert len(pair["links"]) == 2
    assert {ids: row for ids, _, row in fr["al"]} == {ids: row for ids, _, row in en["al"]} == {"0": "1", "1": "2"}
    cells = re.findall(r'<div class="dnv-row" role="row" data-row="(\d+)"><span class="dnv-n" role="rowheader">\d+</span>'
                       r'<div class="dnv-text" role="cell" data-side="fr".*?<div class="dnv-text" role="cell" data-side="en"', page)
    assert cells == ["1", "2"]


def test_aligned_entities_carry_the_same_number_on_both_sides_in_the_same_row():
    _, pair = densest_example()
    reader = read_report(render_html([pair]))
    assert_docs_shown(reader, [Doc.from_dict(pair["fr"]), Doc.from_dict(pair["en"])])
    fr, en = reader.docs
    assert len(set(fr["rows"])) > 10  # one row per sentence group, not two long columns
    assert len(pair["links"]) > 30
    for number, link in enumerate(pair["links"], start=1):
        (i,), (j,) = link["fr_entities"], link["en_entities"]
        assert fr["badges"][i] == en["badges"][j] == number
        assert fr["entities"][i]["rows"] == en["entities"][j]["rows"], f"link {number} crosses rows"


def test_an_entity_across_a_row_boundary_is_cut_not_lost():
    fr = Doc("Un deux. Trois quatre.", lang="fr", sentences=[Sentence(0, 8), Sentence(9, 22)])
    fr.add_entity(4, 14, "LOC")  # "deux. Trois" crosses the sentence boundary
    en = Doc("One two. Three four.", lang="en", sentences=[Sentence(0, 8), Sentence(9, 20)])
    record = {"id": "cut", "level": "sentence", "fr": fr.to_dict(), "en": en.to_dict(),
              "links": [{"fr": [[0, 8]], "en": [[0, 8]]}, {"fr": [[9, 22]], "en": [[9, 20]]}]}
    page = render_html([record])
    reader = read_report(page)
    assert_docs_shown(reader, [fr, en])
    entity = reader.docs[0]["entities"][0]
    assert entity["pieces"] >= 2 and entity["rows"] == {"1", "2"}
    assert len(re.findall(r'class="ent l-LOC(?: cont)?"', page)) == 1  # one piece ends it: its label shows once
    assert len(re.findall(r'class="ent l-LOC(?: cut)?"', page)) == 1  # one piece starts it


def test_docs_show_the_report_screenshots_and_they_are_small():
    guide = (ROOT / "docs" / "visualisation.md").read_text(encoding="utf-8")
    for name in DOC_SCREENSHOTS:
        data = (DOC_IMAGES / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) < 300_000, f"{name}: {len(data):,} bytes"
        assert f"](images/{name})" in guide


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 12)), max_size=25))
@settings(max_examples=150, deadline=None)
def test_nest_marks_keeps_every_mark_whole_and_nested(raw):
    length = 40
    marks = [Mark(s, min(length, s + n), k) for k, (s, n) in enumerate(raw) if s < min(length, s + n)]
    ops = nest_marks(length, marks)
    stack, covered, text = [], {m.key: [] for m in marks}, []
    for op, mark, fragment in ops:
        if op == "text":
            text.append(mark)
        elif op == "open":
            stack.append(fragment)
        else:
            assert stack.pop() is fragment  # proper nesting
            covered[mark.key].append((fragment.start, fragment.end))
    assert not stack
    assert [a for a, _ in text] == sorted(a for a, _ in text) and sum(b - a for a, b in text) == length
    for m in marks:  # the pieces of a mark tile exactly its span
        pieces = sorted(covered[m.key])
        assert pieces[0][0] == m.start and pieces[-1][1] == m.end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))


def test_render_file_limit_and_cli(tmp_path, capsys):
    out = tmp_path / "sub" / "report.html"
    assert cli_main(["-q", "render", str(EXAMPLE), "--html", str(out), "--limit", "3", "--title", "Belgique"]) == 0
    assert "2 documents · 1 aligned pair · 0 errors" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "<title>Belgique</title>" in page and page.count('class="dnv-card') == 3
    assert cli_main(["-q", "render", str(tmp_path / "missing.jsonl"), "--html", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_display_gives_a_notebook_object_and_render_doc_a_fragment():
    doc = make_doc("Le Griffon", [("Griffon", "PLATFORM")], id="nb")
    view = display(doc)
    fragment = view._repr_html_()
    assert fragment.startswith('<div class="dnv dnv-fragment">') and fragment.endswith("</script></div>")
    assert "<html" not in fragment and "<!DOCTYPE" not in fragment
    assert_docs_shown(read_report(fragment), [doc])
    assert render_doc(doc) == fragment


def test_error_records_from_api_objects():
    assert isinstance(to_record({"id": "x", "error": "boom"}), ErrorRecord)
    assert to_record("[]").message.startswith("a record must be a JSON object")


def _large_doc(n_chars: int = 200_000, every: int = 40) -> Doc:
    sentence = "Le ministre des Armées a rencontré son homologue belge à Bruxelles pour le Griffon. "
    text = (sentence * (n_chars // len(sentence) + 1))[:n_chars]
    doc = Doc(text, id="large", lang="fr")
    labels = ["PER", "LOC", "PLATFORM", "ORG"]
    for k, start in enumerate(range(0, n_chars - 20, every)):
        doc.add_entity(start, start + 12 + k % 9, labels[k % 4])
        if k % 3 == 0:
            doc.add_entity(start + 2, start + 6, "NAT")  # nested
    for k in range(0, len(doc.entities) - 1, 5):
        doc.add_relation(k, k + 1, "PARTNER_OF", score=0.5)
    return doc


def test_large_document_renders_in_reasonable_time_and_size():
    doc = _large_doc()
    assert len(doc.entities) > 6000
    start = time.perf_counter()
    page = render_html([doc])
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert len(page.encode()) < 12 * len(doc.text), f"{len(page):,} bytes"
    assert page.count('data-e="') >= len(doc.entities)


# ---------------------------------------------------------------------------------------------
# headless Chromium
# ---------------------------------------------------------------------------------------------
def _load_browser_module():
    spec = importlib.util.spec_from_file_location("defnlp_test_browser", Path(__file__).with_name("browser.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


browser_module = _load_browser_module()


@pytest.fixture(scope="module")
def chromium():
    if not browser_module.find_chromium():
        if os.environ.get("DEFNLP_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (DEFNLP_REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
        pytest.skip("Chromium not installed (apt-get install chromium, or `make browser`)")
    with browser_module.Chromium(width=1280, height=900) as browser:
        yield browser


def _open(chromium, path: Path):
    page = chromium.new_page()
    page.goto(path.resolve().as_uri())
    page.wait_for("document.querySelector('.dnv') && document.querySelector('.dnv').dataset.ready === '1'")
    return page


# every entity in the DOM, per document in page order: {text, entities: {e: [label, text]}}; a
# document is a card's text or one side of an aligned pair (its cells, row by row); the text of
# an entity is the text of its pieces (nested mentions included, CSS labels excluded)
DOM_ENTITIES_JS = """
(() => {
  const docs = [], byKey = new Map();
  document.querySelectorAll('.dnv-card').forEach((card, c) => {
    for (const cell of card.querySelectorAll('.dnv-text')) {
      const key = c + '/' + (cell.dataset.side || '');
      if (!byKey.has(key)) { byKey.set(key, {text: '', entities: {}}); docs.push(byKey.get(key)); }
      const doc = byKey.get(key);
      doc.text += cell.textContent;
      for (const el of cell.querySelectorAll('[data-e]')) {
        const k = el.dataset.e;
        if (!doc.entities[k]) doc.entities[k] = [el.dataset.label, ''];
        doc.entities[k][1] += el.textContent;
      }
    }
  });
  return docs;
})()
"""


@pytest.fixture(scope="module")
def example_page(chromium, tmp_path_factory):
    html_path = tmp_path_factory.mktemp("report") / "lecornu-belgium.html"
    render_file(EXAMPLE, html_path, progress=False)
    return _open(chromium, html_path), html_path


def test_browser_example_opens_without_console_errors_or_requests(example_page):
    page, html_path = example_page
    assert page.console_errors == []
    assert page.failed_requests == []
    assert page.requests == [html_path.resolve().as_uri()]


def test_browser_example_shows_every_entity_of_the_jsonl(example_page):
    page, _ = example_page
    shown = page.evaluate(DOM_ENTITIES_JS)
    docs = docs_of_jsonl(EXAMPLE)
    assert len(shown) == len(docs)
    for dom, doc in zip(shown, docs):
        assert dom["text"] == doc.text
        assert {int(k): tuple(v) for k, v in dom["entities"].items()} == {i: (e.label, e.text) for i, e in enumerate(doc.entities)}
    assert page.evaluate("[...document.querySelectorAll('.dnv-text .ent')].every(e => e.getClientRects().length > 0)")
    relations = sum(len(d.relations) for d in docs)
    assert int(page.evaluate("document.querySelector('.dnv').dataset.relations")) == relations
    assert int(page.evaluate("document.querySelector('.dnv').dataset.arcs")) == relations  # every arc can be drawn
    assert page.evaluate("document.querySelectorAll('.dnv-rels li[data-r] .rl').length") == relations


@pytest.mark.parametrize("source,target", [("fr", "en"), ("en", "fr")])
def test_browser_hovering_a_mention_highlights_its_counterpart(example_page, source, target):
    page, _ = example_page
    pair = ".dnv-pair[data-level=entity]"
    link = page.evaluate(f"document.querySelector('{pair} [data-side={source}] .ent[data-label=LOC]').dataset.links")
    assert not page.evaluate(f"document.querySelector('{pair} [data-side={target}] .ent[data-links~=\"{link}\"]').classList.contains('hl')")
    page.hover(f"{pair} [data-side={source}] .ent[data-label=LOC]")
    lit = page.evaluate(f"[...document.querySelectorAll('{pair} [data-side={target}] .hl')].map(e => e.textContent)")
    expected = {"fr": "Bruxelles", "en": "Brussels"}[target]
    assert lit == [expected]
    assert page.evaluate(f"document.querySelector('{pair} .dnv-links li[data-links=\"{link}\"]').classList.contains('hl')")
    page.hover("h1")
    assert page.evaluate("document.querySelectorAll('.hl').length") == 0


def test_browser_sentence_links_and_relations_highlight(example_page):
    page, _ = example_page
    page.hover(".dnv-pair[data-level=sentence] [data-side=en] .al")
    lit = page.evaluate("[...document.querySelectorAll('.dnv-pair[data-level=sentence] [data-side=fr] .al.hl')].map(e => e.textContent)")
    assert len(lit) == 1 and lit[0].startswith("À l'issue de la signature")
    page.hover(".dnv-docrec .dnv-rels li[data-label=SIGNS]")
    arcs = page.evaluate("[...document.querySelectorAll('.dnv-arc')].map(g => [g.dataset.r, g.querySelector('text').textContent])")
    assert arcs == [[page.evaluate("document.querySelector('.dnv-docrec .dnv-rels li[data-label=SIGNS]').dataset.r"), "SIGNS"]]
    assert page.evaluate("[...document.querySelectorAll('.dnv-docrec .ent.hl')].map(e => e.dataset.label).sort()") == ["DOCUMENT", "PER"]


def test_browser_legend_switches_a_label_off_and_on(example_page):
    page, _ = example_page
    key = ".dnv-key[data-label=PER]"
    page.click(key)
    assert page.evaluate(f"document.querySelector('{key}').getAttribute('aria-pressed')") == "false"
    assert page.evaluate("getComputedStyle(document.querySelector('.ent.l-PER')).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.click(key)
    assert page.evaluate(f"document.querySelector('{key}').getAttribute('aria-pressed')") == "true"
    assert page.evaluate("getComputedStyle(document.querySelector('.ent.l-PER')).backgroundColor") != "rgba(0, 0, 0, 0)"


def test_browser_screenshot_is_not_blank(example_page, tmp_path):
    page, _ = example_page
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot()
    (tmp_path / "report.png").write_bytes(png)
    width, height, rows = browser_module.decode_png(png)
    assert (width, height) == (1280, 900)
    assert len(set(rows)) > 50  # many different rows: text, highlights, legend
    colours = {row[x : x + 3] for row in rows[::10] for x in range(0, len(row), 4 * 7)}
    assert len(colours) > 20  # label colours, not just black on white


def test_browser_hostile_text_does_not_run(chromium, tmp_path):
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    doc = Doc(f"{evil} à Brest", id=evil)
    doc.add_entity(0, 10, evil)
    path = tmp_path / "evil.html"
    path.write_text(render_html([doc, {"id": evil, "error": {"type": evil, "message": evil}}], title=evil), encoding="utf-8")
    page = _open(chromium, path)
    assert page.evaluate("window.__pwned === undefined")
    assert page.console_errors == []
    assert page.requests == [path.resolve().as_uri()]
    assert page.evaluate("document.querySelector('.dnv-text').textContent") == doc.text


def test_browser_large_document(chromium, tmp_path):
    doc = _large_doc()
    path = tmp_path / "large.html"
    path.write_text(render_html([doc]), encoding="utf-8")
    start = time.perf_counter()
    page = _open(chromium, path)
    elapsed = time.perf_counter() - start
    assert page.console_errors == []
    assert page.evaluate("document.querySelectorAll('.dnv-text [data-e]').length") >= len(doc.entities)
    assert int(page.evaluate("document.querySelector('.dnv').dataset.relations")) == len(doc.relations)
    page.hover(".dnv-rels li[data-r]:last-child .rl")  # the panel scrolls on its own; one arc for the row
    assert page.evaluate("document.querySelectorAll('.dnv-arc').length") == 1
    assert elapsed < 30, f"{elapsed:.1f} s to load and draw"


# ---------------------------------------------------------------------------------------------
# headless Chromium: the densest bundled document and an aligned pair, read at a glance
# ---------------------------------------------------------------------------------------------
def _save_screenshot(page, tmp_path: Path, name: str) -> bytes:
    """A viewport screenshot, kept in the test's tmp folder; with DEFNLP_DOC_IMAGES=1 also in docs/images/."""
    png = page.screenshot()
    (tmp_path / name).write_bytes(png)
    width, height, rows = browser_module.decode_png(png)
    assert (width, height) == (SHOT_WIDTH, SHOT_HEIGHT) and len(set(rows)) > 50
    if os.environ.get("DEFNLP_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        small = browser_module.recompress_png(png)
        assert len(small) < 300_000, f"{name}: {len(small):,} bytes"
        (DOC_IMAGES / name).write_bytes(small)
    return png


#: the screenshots' viewport: wide enough for the text and its relation list side by side
SHOT_WIDTH, SHOT_HEIGHT = 1200, 800


@pytest.fixture(scope="module")
def shots_browser():
    if not browser_module.find_chromium():
        if os.environ.get("DEFNLP_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (DEFNLP_REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
        pytest.skip("Chromium not installed (apt-get install chromium, or `make browser`)")
    with browser_module.Chromium(width=SHOT_WIDTH, height=SHOT_HEIGHT) as browser:
        yield browser


@pytest.fixture(scope="module")
def dense_page(shots_browser, tmp_path_factory):
    doc, _ = densest_example()
    html_path = tmp_path_factory.mktemp("dense") / "dense.html"
    html_path.write_text(render_html([doc], title=f"{doc.id}: {len(doc.relations)} relations"), encoding="utf-8")
    return _open(shots_browser, html_path), html_path, doc


RELATION_ROWS_JS = """
[...document.querySelectorAll('.dnv-rels li[data-r]')].map(li => {
  const rl = li.querySelector('.rl'), box = rl.getBoundingClientRect(), style = getComputedStyle(rl);
  return {r: +li.dataset.r, label: li.dataset.label, shown: rl.textContent, width: box.width, height: box.height,
          visible: style.visibility === 'visible' && style.display !== 'none' && +style.opacity === 1
                   && style.color !== 'rgba(0, 0, 0, 0)' && +style.fontSize.replace('px', '') >= 10,
          mentions: [...li.querySelectorAll('[data-goto]')].map(b => [+b.dataset.goto, b.querySelector('.lab').textContent])};
})
"""


def _outermost(doc: Doc, index: int) -> bool:
    """No other entity lies inside this one (hovering its centre hovers it, not a nested mention)."""
    e = doc.entities[index]
    return not any(k != index and e.start <= o.start and o.end <= e.end for k, o in enumerate(doc.entities))


def test_browser_densest_document_lists_every_relation_with_a_visible_label(dense_page):
    page, html_path, doc = dense_page
    assert len(doc.relations) >= 25  # press-008-en: 29 relations between 55 entities in 1,331 characters
    assert page.console_errors == [] and page.failed_requests == []
    assert page.requests == [html_path.resolve().as_uri()]
    rows = page.evaluate(RELATION_ROWS_JS)
    assert sorted(row["r"] for row in rows) == list(range(len(doc.relations)))
    for row in rows:
        rel = doc.relations[row["r"]]
        assert row["label"] == rel.label and rel.label in row["shown"]
        assert row["width"] > 0 and row["height"] > 0 and row["visible"], row
        assert row["mentions"] == [[rel.head, doc.entities[rel.head].label], [rel.tail, doc.entities[rel.tail].label]]
    box = page.evaluate(
        "(() => { const t = document.querySelector('.dnv-textwrap').getBoundingClientRect(),"
        " p = document.querySelector('aside.dnv-rels').getBoundingClientRect();"
        " return {textRight: t.right, listLeft: p.left, textTop: t.top, listTop: p.top}; })()"
    )
    assert box["listLeft"] >= box["textRight"] and abs(box["listTop"] - box["textTop"]) < 40  # beside the text
    assert page.evaluate("document.querySelectorAll('.dnv-arc').length") == 0  # no tangle of arcs at rest


def test_browser_a_relation_row_and_its_mentions_light_each_other(dense_page):
    page, _, doc = dense_page
    k = max(range(len(doc.relations)), key=lambda r: abs(doc.entities[doc.relations[r].head].start - doc.entities[doc.relations[r].tail].start))
    rel = doc.relations[k]
    page.hover(f".dnv-rels li[data-r='{k}'] .rl")
    assert set(page.evaluate("[...document.querySelectorAll('.dnv-text .ent.hl')].map(e => +e.dataset.e)")) == {rel.head, rel.tail}
    arcs = page.evaluate("[...document.querySelectorAll('.dnv-arc')].map(g => [+g.dataset.r, g.querySelector('text').textContent])")
    assert arcs == [[k, rel.label]]
    # the reverse: a mention lights every row it takes part in, with one labelled arc each
    counts = {i: sum(i in (r.head, r.tail) for r in doc.relations) for i in range(len(doc.entities)) if _outermost(doc, i)}
    entity = max(counts, key=counts.get)
    page.hover(f".dnv-text [data-e='{entity}']")
    lit = page.evaluate("[...document.querySelectorAll('.dnv-rels li.hl')].map(li => +li.dataset.r)")
    assert sorted(lit) == [r for r, rel in enumerate(doc.relations) if entity in (rel.head, rel.tail)] and len(lit) >= 2
    labels = page.evaluate("[...document.querySelectorAll('.dnv-arc text')].map(t => t.textContent)")
    assert sorted(labels) == sorted(doc.relations[r].label for r in lit)
    page.hover("h1")
    assert page.evaluate("document.querySelectorAll('.hl, .dnv-arc').length") == 0


def test_browser_clicking_a_mention_of_a_row_shows_it_and_pins_the_relation(dense_page):
    page, _, doc = dense_page
    k = max(range(len(doc.relations)), key=lambda r: doc.entities[doc.relations[r].tail].start)
    rel = doc.relations[k]
    page.evaluate("window.scrollTo(0, 0)")
    page.click(f".dnv-rels li[data-r='{k}'] [data-goto='{rel.tail}']")
    page.wait_for(f"!!document.querySelector(\".dnv-rels li.pin[data-r='{k}']\")")
    top = page.evaluate(f"document.querySelector(\".dnv-text [data-e='{rel.tail}']\").getBoundingClientRect().top")
    assert 0 <= top <= SHOT_HEIGHT  # the text scrolled to the mention
    page.hover("h1")  # the pinned relation stays lit when the mouse leaves
    assert set(page.evaluate("[...document.querySelectorAll('.dnv-text .ent.hl')].map(e => +e.dataset.e)")) == {rel.head, rel.tail}
    page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
    assert page.evaluate("document.querySelectorAll('.pin, .hl, .dnv-arc').length") == 0


def test_browser_screenshot_of_the_densest_document(dense_page, tmp_path):
    page, _, doc = dense_page
    page.evaluate("window.scrollTo(0, 0); document.querySelector('aside.dnv-rels').scrollTop = 0")
    # light the relation whose mentions are furthest apart among those in the first lines
    early = [r for r, rel in enumerate(doc.relations) if max(doc.entities[rel.head].end, doc.entities[rel.tail].end) < 600]
    k = max(early, key=lambda r: abs(doc.entities[doc.relations[r].head].start - doc.entities[doc.relations[r].tail].start))
    page.hover(f".dnv-rels li[data-r='{k}'] .rl", scroll=False)
    assert page.evaluate("document.querySelectorAll('.dnv-arc').length") == 1
    _save_screenshot(page, tmp_path, "report-relations.png")


@pytest.fixture(scope="module")
def aligned_page(shots_browser, tmp_path_factory):
    _, pair = densest_example()
    html_path = tmp_path_factory.mktemp("aligned") / "aligned.html"
    html_path.write_text(render_html([pair], title=f"{pair['id']}: FR/EN, entity-level alignment"), encoding="utf-8")
    return _open(shots_browser, html_path), html_path, pair


ALIGNED_ENTITIES_JS = """
[...document.querySelectorAll('.dnv-pair [data-side=fr] .ent[data-n]:not(.cont)')].map(fr => {
  const en = document.querySelector(`.dnv-pair [data-side=en] .ent[data-n="${fr.dataset.n}"]:not(.cont)`);
  const a = fr.closest('.dnv-text').getBoundingClientRect(), b = en.closest('.dnv-text').getBoundingClientRect();
  const fb = getComputedStyle(fr, '::before'), eb = getComputedStyle(en, '::before');
  return {n: +fr.dataset.n, sameRow: fr.closest('.dnv-row') === en.closest('.dnv-row'), tops: [a.top, b.top],
          frLeftOfEn: a.right <= b.left, badges: [fb.content, eb.content], colours: [fb.backgroundColor, eb.backgroundColor],
          display: [fb.display, eb.display]};
})
"""


def test_browser_aligned_pair_rows_and_matching_entities_without_hover(aligned_page):
    page, html_path, pair = aligned_page
    assert page.console_errors == [] and page.failed_requests == []
    assert page.requests == [html_path.resolve().as_uri()]
    shown = page.evaluate(ALIGNED_ENTITIES_JS)
    assert sorted(e["n"] for e in shown) == list(range(1, len(pair["links"]) + 1))
    for entity in shown:
        assert entity["sameRow"] and entity["tops"][0] == entity["tops"][1] and entity["frLeftOfEn"], entity
        assert entity["badges"] == [f'"{entity["n"]}"'] * 2 and entity["display"] != ["none", "none"]
        assert entity["colours"][0] == entity["colours"][1] != "rgba(0, 0, 0, 0)"
    assert page.evaluate("document.querySelectorAll('.hl, .dnv-linkline').length") == 0  # all of it without hovering


def test_browser_sentence_level_pair_puts_aligned_sentences_in_the_same_grid_row(example_page):
    page, _ = example_page
    rows = page.evaluate(
        "[...document.querySelectorAll('.dnv-pair[data-level=sentence] [data-side=fr] .al')].map(fr => {"
        " const en = document.querySelector(`.dnv-pair[data-level=sentence] [data-side=en] .al[data-links='${fr.dataset.links}']`);"
        " return [fr.dataset.links, fr.closest('.dnv-row').dataset.row, en.closest('.dnv-row').dataset.row,"
        " fr.closest('.dnv-text').getBoundingClientRect().top === en.closest('.dnv-text').getBoundingClientRect().top]; })"
    )
    assert rows == [["0", "1", "1", True], ["1", "2", "2", True]]


def test_browser_hovering_an_aligned_entity_draws_a_line_to_its_counterpart(aligned_page, tmp_path):
    page, _, pair = aligned_page
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.querySelector('.dnv-row[data-row=\"1\"]').getBoundingClientRect().top") < SHOT_HEIGHT / 2
    # an FR mention of the first rows that takes part in no relation: its line is all that is drawn
    target = page.evaluate(
        "(() => { const inRelations = new Set([...document.querySelectorAll('.dnv-rels[data-side=fr] li')]"
        ".flatMap(li => [li.dataset.head, li.dataset.tail]));"
        " return [...document.querySelectorAll('.dnv-row [data-side=fr] .ent[data-n]')].find(e => !inRelations.has(e.dataset.e)"
        " && +e.closest('.dnv-row').dataset.row >= 3 && e.getBoundingClientRect().bottom < innerHeight).dataset.n; })()"
    )
    page.hover(f".dnv-row [data-side=fr] .ent[data-n='{target}']", scroll=False)
    assert page.evaluate("document.querySelectorAll('.dnv-linkline').length") == 1
    assert page.evaluate(f"[...document.querySelectorAll('[data-side=en] .ent.hl')].map(e => e.dataset.n)") == [target]
    _save_screenshot(page, tmp_path, "report-aligned.png")
