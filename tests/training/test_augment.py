"""Training-data augmentation (defnlp/training/augment.py): offsets, relations, determinism, transforms."""

from __future__ import annotations

import copy
import csv
import logging
import random
import re
from pathlib import Path

import pytest

from defnlp.config import config_from_dict
from defnlp.doc import Doc
from defnlp.errors import ConfigError
from defnlp.io.corpora import read_markup
from defnlp.text import split_sentences
from defnlp.training.augment import (
    LAYOUT_TRANSFORMS,
    AugmentSettings,
    Gazetteer,
    augment_docs,
    load_gazetteer,
    render_layout,
    replace_mentions,
)

ROOT = Path(__file__).resolve().parents[2]
GAZETTEER_DIR = ROOT / "defnlp" / "resources" / "gazetteers"
MAIN_LABELS = ("PLATFORM", "WEAPON", "ORG", "PROGRAMME", "DOCUMENT", "ROLE", "NAT", "PER", "LOC")
ALL_ON = {name: 1.0 for name in ("layout", *LAYOUT_TRANSFORMS, "replace")}


@pytest.fixture(scope="module")
def examples() -> list[Doc]:
    return read_markup(ROOT / "data" / "examples")


@pytest.fixture(scope="module")
def sample(examples) -> list[Doc]:
    return examples[::6]  # ~100 documents, FR and EN


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


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


# ---- properties over the project's examples ------------------------------------------------------
def test_default_settings_keep_every_annotation(examples, gazetteer):
    before = [d.to_dict() for d in examples]
    new = augment_docs(examples, AugmentSettings(copies=2), seed=3, gazetteer=gazetteer)
    assert [d.to_dict() for d in examples] == before  # the originals are not touched
    assert len(new) >= 0.95 * 2 * len(examples)
    assert {d.id for d in new} >= {f"{examples[0].id}#aug1", f"{examples[0].id}#aug2"}
    check_all(examples, new)
    fired = {name for d in new for name in d.meta["augmented"]}
    assert fired == {*LAYOUT_TRANSFORMS, "replace"}


def test_everything_at_once(sample, gazetteer):
    new = augment_docs(sample, AugmentSettings(**ALL_ON), seed=5, gazetteer=gazetteer)
    assert len(new) == len(sample)
    check_all(sample, new)


def test_deterministic_for_a_seed_and_different_for_another(sample, gazetteer):
    settings = AugmentSettings(copies=2)
    a = augment_docs(sample, settings, seed=1, gazetteer=gazetteer)
    b = augment_docs(sample, settings, seed=1, gazetteer=gazetteer)
    c = augment_docs(sample, settings, seed=2, gazetteer=gazetteer)
    assert [d.to_dict() for d in a] == [d.to_dict() for d in b]
    assert sum(x.text != y.text for x, y in zip(a, c)) > 0.5 * len(a)
    # each document has its own generator: the order of the documents does not matter
    r = augment_docs(sample[::-1], settings, seed=1, gazetteer=gazetteer)
    assert sorted((d.id, d.text) for d in r) == sorted((d.id, d.text) for d in a)


# ---- each transform fires with probability 1 -----------------------------------------------------------
def _evidence(name: str, orig: Doc, new: Doc) -> bool:
    text, added = new.text, new.entities[len(orig.entities):]
    if name == "ligatures":
        return len(text) < len(orig.text) and all(e.text in text for e in new.entities)
    # a title line, or the first sentence (as the splitter cuts it: "U.S. Army ..." is one), in capitals
    if name == "heading":
        a, b = split_sentences(text)[0]
        first = text[a:b].split("\n", 1)[0]
        return first == first.upper() and sum(c.isalpha() for c in first) >= 5
    if name == "emphasis":
        return text.count("**") == orig.text.count("**") + 2
    if name == "bullets":
        return len(re.findall(r"^(?:- |• |\* )", text, re.M)) >= 2
    if name == "page_break":
        lines = set(text.split("\n")) - set(orig.text.split("\n"))
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


# ---- documents with overlapping entities (re3d-style) ----------------------------------------------------
def _nested_doc() -> Doc:
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


def test_overlapping_entities_never_break(gazetteer):
    doc = _nested_doc()
    for seed in range(30):
        new = augment_docs([doc], AugmentSettings(**ALL_ON, copies=2), seed=seed, gazetteer=gazetteer)
        check_all([doc], new)
        for d in new:
            replaced = {i for i, _, _ in d.meta.get("replacements", [])}
            assert not replaced & {0, 1, 2, 5, 6, 7}  # entities in an overlap are never swapped
            (s, e), = d.meta["ignore_spans"]
            assert norm(d.text[s:e]) == "convoy"


def _random_doc(rng: random.Random, n: int) -> Doc:
    """Random words, punctuation, paragraphs and line breaks; entities at word boundaries, some nested."""
    words = "la DGA commande des Griffon opération l'Allemagne Brest flanc effort Toulon the Ministry of Defence".split()
    parts, pos, spans = [], 0, []
    for _ in range(rng.randint(1, 60)):
        w = rng.choice(words)
        sep = rng.choice([" ", " ", " ", ". ", ", ", "\n", "\n\n", "  "])
        parts.append(w + sep)
        spans.append((pos, pos + len(w)))
        pos += len(w) + len(sep)
    text = "".join(parts).rstrip() + rng.choice(["", ".", "\n"])
    doc = Doc(text, id=f"r{n}", lang=rng.choice(["fr", "en", None]))
    for _ in range(rng.randint(0, 8)):
        i = rng.randrange(len(spans))
        j = min(len(spans) - 1, i + rng.choice([0, 0, 1, 2]))
        a, b = spans[i][0], min(spans[j][1], len(text))
        if a < b and "\n\n" not in text[a:b]:
            doc.add_entity(a, b, rng.choice(["LOC", "ORG", "PLATFORM", "PER", "NAT"]))
    for _ in range(rng.randint(0, 3)):
        if len(doc.entities) >= 2:
            doc.add_relation(rng.randrange(len(doc.entities)), rng.randrange(len(doc.entities)), "SAME_AS")
    return doc


def test_random_documents_never_fail(gazetteer, caplog):
    rng = random.Random(0)
    docs = [_random_doc(rng, n) for n in range(80)]
    for settings in (AugmentSettings(**ALL_ON, copies=2), AugmentSettings(copies=2)):
        with caplog.at_level(logging.WARNING, logger="defnlp.training.augment"):
            new = augment_docs(docs, settings, seed=1, gazetteer=gazetteer)
        assert "skipped" not in caplog.text
        check_all(docs, new)
        assert len(new) >= 0.9 * 2 * len(docs)


def test_malformed_document_is_skipped(caplog):
    doc = Doc("Brest", id="bad", lang="fr")
    doc.entities.append(copy.copy(_nested_doc().entities[0]))  # offsets beyond the text
    with caplog.at_level(logging.WARNING, logger="defnlp.training.augment"):
        assert augment_docs([doc, Doc("")], AugmentSettings.only("header"), seed=1) == []
    assert "bad" in caplog.text


# ---- mention replacement -----------------------------------------------------------------------------------
def _doc(text: str, spans: list[tuple[str, str]], lang: str) -> Doc:
    doc = Doc(text, id="t", lang=lang)
    pos = 0
    for surface, label in spans:
        start = text.index(surface, pos)
        doc.add_entity(start, start + len(surface), label)
        pos = start + len(surface)
    return doc


def test_replacement_keeps_french_elision_and_agreement(gazetteer):
    doc = _doc(
        "L'Allemagne et la Pologne ont signé, avec le ministre des Armées, un accord de défense de France et d'Italie.",
        [("Allemagne", "LOC"), ("Pologne", "LOC"), ("ministre des Armées", "ROLE"), ("France", "LOC"),
         ("Italie", "LOC")],
        "fr",
    )
    vowels = "AEIOUYÉÈÊÂÎÔ"
    for seed in range(40):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        e = new.entities
        assert e[0].text[0] in vowels and e[4].text[0] in vowels  # after l' and d'
        assert e[3].text[0] not in vowels  # after "de"
        fem = {x.text for x in gazetteer.entries if x.label == "LOC" and "fs" in x.forms}
        assert {e[0].text, e[1].text, e[3].text, e[4].text} <= fem  # la Pologne -> a feminine country
        assert new.text[: e[0].start] == "L'"
        assert len({x.text for x in e}) == 5  # never the same name twice


def test_same_as_pair_is_replaced_by_a_name_and_its_acronym(gazetteer):
    doc = _doc(
        "La Direction générale de l'armement (DGA) a commandé des Caesar. La DGA paiera.",
        [("Direction générale de l'armement", "ORG"), ("DGA", "ORG"), ("Caesar", "WEAPON"), ("DGA", "ORG")],
        "fr",
    )
    doc.add_relation(1, 0, "SAME_AS")
    doc.add_relation(0, 2, "ACQUIRES")
    swapped = 0
    for seed in range(20):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        long, short, _, again = new.entities
        assert short.text == again.text  # the same surface changes everywhere
        if long.text != doc.entities[0].text:
            swapped += 1
            entry = gazetteer.lookup("ORG", long.text)[0]
            assert entry.alias == short.text and entry.type == "agency" and "fs" in entry.forms
        assert [(r.head, r.tail, r.label) for r in new.relations] == [(1, 0, "SAME_AS"), (0, 2, "ACQUIRES")]
    assert swapped >= 15


def test_replacement_respects_language_and_type(gazetteer):
    doc = _doc(
        "The Royal Navy sent HMS Duncan and a Typhoon to the Black Sea, said Colonel Emma Caldwell. "
        "Caldwell met Reuters.",
        [("Royal Navy", "ORG"), ("HMS Duncan", "PLATFORM"), ("Typhoon", "PLATFORM"), ("Black Sea", "LOC"),
         ("Colonel", "ROLE"), ("Emma Caldwell", "PER"), ("Caldwell", "PER"), ("Reuters", "ORG")],
        "en",
    )
    doc.add_relation(5, 4, "HAS_ROLE")
    for seed in range(30):
        new = replace_mentions(doc, random.Random(seed), AugmentSettings(replace=1.0), gazetteer)
        e = new.entities
        expected = [(0, "armed_force"), (1, "ship"), (2, "aircraft"), (3, "region"), (4, "rank"), (7, "news_agency")]
        for i, sub_type in expected:
            (entry,) = [x for x in gazetteer.lookup(e[i].label, e[i].text) if x.usable_in("en")][:1]
            assert entry.type == sub_type, (e[i].text, entry)
        assert "the" in gazetteer.lookup("LOC", e[3].text)[0].forms  # "the Black Sea" -> a "the" region
        assert e[6].text == e[5].text.split(" ", 1)[1]  # the surname alone follows the full name
        assert e[2].text[0].lower() not in "aeiou"  # "a Typhoon" -> not "a Eurofighter"


def test_common_nouns_and_unknown_plurals_are_left_alone(gazetteer):
    doc = _doc(
        "Les drones et les rapporteurs ont évoqué le contrat.",
        [("drones", "PLATFORM"), ("rapporteurs", "ROLE"), ("contrat", "DOCUMENT")],
        "fr",
    )
    new = replace_mentions(doc, random.Random(0), AugmentSettings(replace=1.0), gazetteer)
    assert new.text == doc.text and "replace" not in new.meta["augmented"]


def test_a_label_without_gazetteer_swaps_among_the_documents_own_mentions(gazetteer):
    texts = [("La Coupe du monde se joue en juin au Qatar.", "Coupe du monde"),
             ("Le Tour de France part de Lille.", "Tour de France"),
             ("La Ligue des champions reprend le 3 mars.", "Ligue des champions"),
             ("Elle a couru le Marathon de Paris.", "Marathon de Paris")]
    docs = []
    for i, (text, name) in enumerate(texts):
        doc = _doc(text, [(name, "EVENT")], "fr")
        doc.id = f"e{i}"
        docs.append(doc)
    settings = AugmentSettings(copies=2, layout=0.0, replace=1.0, corpus_labels=["EVENT"])
    new = augment_docs(docs, settings, seed=3, gazetteer=gazetteer)
    swapped = [d for d in new if "replace" in d.meta["augmented"]]
    assert swapped and len(new) == 8
    names = {name for _, name in texts}
    for d in new:
        (e,) = d.entities
        assert e.label == "EVENT" and e.text in names and d.text[e.start:e.end] == e.text
        source = next(x for x in docs if x.id == d.meta["augmented_from"])
        if "replace" in d.meta["augmented"]:  # another document's event, with the article it agrees with
            assert e.text != source.entities[0].text
            assert d.text[: e.start] == source.text[: source.entities[0].start]
            article = d.text[: e.start].split()[-1].lower()
            assert (article == "la") == (e.text in {"Coupe du monde", "Ligue des champions"})
    # a document without text gives no candidate and no copy, as without corpus_labels
    assert augment_docs([*docs, Doc("", id="empty")], settings, seed=3, gazetteer=gazetteer) == new
    # without corpus_labels the label has no candidate: no copy is a replacement
    plain = augment_docs(docs, AugmentSettings(copies=2, layout=0.0, replace=1.0), seed=3, gazetteer=gazetteer)
    assert all("replace" not in d.meta.get("augmented", ()) for d in plain)


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


# ---- settings -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [{"copies": -1}, {"copies": 1.5}, {"replace": 2}, {"wrap": -0.1}, {"layout": True},
     {"wrap_min": 95, "wrap_max": 90}, {"wrap_min": 5}, {"gazetteers": "yes"}, {"corpus_labels": "EVENT"},
     {"corpus_labels": [""]}],
)
def test_bad_settings_raise_config_error(values):
    with pytest.raises(ConfigError):
        AugmentSettings(**values)


def test_settings_from_a_configuration_table():
    s = config_from_dict(AugmentSettings, {"copies": 2, "replace": 0, "wrap_max": 80}, where="augment")
    assert (s.copies, s.replace, s.wrap_max) == (2, 0.0, 80)
    with pytest.raises(ConfigError):
        config_from_dict(AugmentSettings, {"copise": 2}, where="augment")
    with pytest.raises(ConfigError):
        AugmentSettings.only("nope")
    assert augment_docs([_nested_doc()], AugmentSettings(copies=0), seed=1) == []


def test_render_layout_alone_is_a_new_doc(examples):
    doc = examples[0]
    before = doc.to_dict()
    out = render_layout(doc, random.Random(1), AugmentSettings.only("heading", "contact", "wrap"))
    assert doc.to_dict() == before and out is not doc
    assert out.id == doc.id and {"heading", "contact", "wrap"} <= set(out.meta["augmented"])


def test_a_training_config_adds_copies_for_augmented_sources_only(tmp_path):
    from defnlp.io.corpora import DataSource
    from defnlp.training import NerTrainingConfig

    markup = tmp_path / "docs.md"
    markup.write_text(
        "=== doc: a | lang: fr\nLa [DGA]{ORG} a commandé [42]{QUANTITY} [Griffon]{PLATFORM} à [Paris]{LOC}.\n"
        "=== doc: b | lang: en\nThe [UK]{LOC} ordered [12]{QUANTITY} [Typhoon]{PLATFORM} jets in [2025]{DATE}.\n",
        encoding="utf-8",
    )
    plain = DataSource(format="markup", path=str(markup), sample=2.0)
    cfg = NerTrainingConfig(name="t", output=str(tmp_path / "out"), train=[plain],
                            augment=AugmentSettings(copies=3, gazetteers=False, terminology=False))
    assert len(cfg.load_train_docs()) == 4
    cfg.train = [DataSource(format="markup", path=str(markup), sample=2.0, augment=True)]
    docs = cfg.load_train_docs()
    copies = [d for d in docs if "#aug" in d.id]
    assert len(docs) - len(copies) == 4  # the originals, repeated by sample
    assert 1 <= len(copies) <= 6 and len({d.id for d in copies}) == len(copies)  # copies of distinct documents
    assert [d.text for d in cfg.load_train_docs()] == [d.text for d in docs]  # deterministic
