"""Corpus readers: the registry and data sources, and the loaders of the public corpora
(checked against the counts in each corpus' SOURCE.md)."""

from __future__ import annotations

import itertools
import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from defnlp import config
from defnlp.doc import Doc
from defnlp.errors import ConfigError, DataNotFoundError, EmptyInputError, RecordFormatError, TrainingError
from defnlp.io import corpora
from defnlp.io.corpora import DataSource, load_source, parse_corpus_spec
from defnlp.io.inputs import iter_jsonl_docs
from defnlp.io.conll import doc_to_bio
from defnlp.scheme import load_scheme

DATA = config.data_dir(must_exist=False)
needs_data = pytest.mark.skipif(
    not (DATA / "re3d").is_dir(),
    reason=f"public corpora not found at {DATA} (set DEFNLP_DATA_DIR to run these tests)",
)


# ------------------------------------------------------------------------------------------------
# without data
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "loader",
    [
        corpora.load_re3d, corpora.load_winer_fr, corpora.load_conll2003, corpora.load_wikigold,
        corpora.load_hansards, corpora.load_transread, corpora.load_tatoeba, corpora.load_wmt14,
        corpora.load_defence_terms, corpora.load_defence_acronyms,
    ],
)
def test_missing_corpus_names_the_path(loader, tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        loader(data_dir=tmp_path)


def test_missing_file_inside_a_corpus_names_the_file(tmp_path) -> None:
    (tmp_path / "tatoeba_fra_eng").mkdir()
    with pytest.raises(DataNotFoundError, match="tatoeba.fra-eng.fra"):
        corpora.load_tatoeba(data_dir=tmp_path)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        corpora.load_re3d(split="training")
    with pytest.raises(ConfigError):
        corpora.re3d_licence("Reuters")
    with pytest.raises(ConfigError):
        corpora.load_conll2003(part="train")
    with pytest.raises(ConfigError):
        corpora.load_hansards(part="dev")


def test_detokenize_rules() -> None:
    assert corpora.detokenize(["Hello", ",", "it", "'s", "(", "me", ")", "!"]) == "Hello, it's (me)!"
    assert corpora.detokenize(["«", "Qu'", "y", "a-t-il", "?", "»"], lang="fr") == "« Qu'y a-t-il ? »"


# ------------------------------------------------------------------------------------------------
# the registry and data sources
# ------------------------------------------------------------------------------------------------
EXAMPLES = config.project_root() / "data" / "examples"


def test_builtin_readers_and_kinds() -> None:
    names = corpora.reader_names()
    assert names[:8] == ["re3d", "winer_fr", "conll2003", "wikigold", "markup", "jsonl", "conll", "brat"]
    assert corpora.reader_names("docs", needs_path=False) == ["re3d", "winer_fr", "conll2003", "wikigold"]
    assert set(corpora.reader_names("alignment")) == {"hansards", "transread", "tatoeba", "wmt14", "wmt14_segments"}
    assert set(corpora.reader_names("terminology")) == {"defence_terms", "defence_acronyms"}
    assert corpora.get_reader("re3d").func is corpora.load_re3d
    assert corpora.get_reader("markup").needs_path and not corpora.get_reader("wikigold").needs_path
    assert corpora.get_reader("conll2003").accepts("split") and corpora.get_reader("conll").accepts("path")
    assert "split" in corpora.get_reader("re3d").options and not corpora.get_reader("wikigold").accepts("split")


def test_unknown_reader_and_option_errors_say_what_exists() -> None:
    with pytest.raises(ConfigError, match="unknown corpus reader 'nope'") as err:
        corpora.get_reader("nope")
    assert all(name in err.value.hint for name in ("re3d", "winer_fr", "markup", "jsonl", "brat")) and "register_reader" in err.value.hint
    with pytest.raises(ConfigError, match="unknown corpus reader"):
        DataSource(format="nope").validate()
    with pytest.raises(ConfigError, match="no option 'part'") as err:
        corpora.read_corpus("re3d", part="test")
    assert "split" in err.value.hint
    with pytest.raises(ConfigError, match="needs a 'path'"):
        corpora.read_corpus("markup", split="dev")
    with pytest.raises(ConfigError, match="alignment records, not documents"):
        DataSource(format="hansards").validate()


def test_markup_reader_and_source_on_the_project_examples() -> None:
    dev = corpora.read_corpus("markup", path=EXAMPLES, split="dev")
    every = corpora.read_markup(EXAMPLES)
    assert [d.id for d in dev] == [d.id for d in every if d.meta["split"] == "dev"] and dev
    docs = load_source(DataSource(format="markup", path="data/examples", split="dev", annotated=["PER"]), base_dir=config.project_root())
    assert [d.to_dict()["entities"] for d in docs] == [d.to_dict()["entities"] for d in dev]
    assert {d.meta["source"] for d in docs} == {"markup:dev:data/examples"} and all(d.meta["annotated"] == ["PER"] for d in docs)


def test_source_label_map_and_sample(tmp_path) -> None:
    path = tmp_path / "gold.jsonl"
    docs = [Doc("Thales livre Brest.", id=f"d{i}") for i in range(10)]
    for d in docs:
        d.add_entity(0, 6, "ORG")
        d.add_entity(13, 18, "LOC")
        d.add_relation(0, 1, "LOCATED_IN")
    path.write_text("".join(d.to_json() + "\n" for d in docs), encoding="utf-8")
    mapped = load_source(DataSource(format="jsonl", path=str(path), label_map={"ORG": "COMPANY", "LOC": ""}))
    assert {(e.label, e.text) for d in mapped for e in d.entities} == {("COMPANY", "Thales")}
    assert not any(d.relations for d in mapped)
    half = load_source(DataSource(format="jsonl", path=str(path), sample=0.5), seed=1)
    assert len(half) == 5 and half == load_source(DataSource(format="jsonl", path=str(path), sample=0.5), seed=1)
    twice = load_source(DataSource(format="jsonl", path=str(path), sample=2.0))
    assert [d.id for d in twice] == [d.id for d in docs] * 2 and twice[0].meta["source"] == f"jsonl:{path}:x2.0"
    with pytest.raises(ConfigError, match="'sample' must be > 0"):
        DataSource(format="jsonl", path=str(path), sample=0).validate()


def test_source_options_a_reader_does_not_take_are_ignored_with_a_warning(tmp_path, caplog) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "a", "text": "Brest"}\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="defnlp.io.corpora.registry"):
        docs = load_source(DataSource(format="jsonl", path=str(path), split="dev", defence_only=True))
    assert [d.id for d in docs] == ["a"]
    assert "takes no split, defence_only" in caplog.text


def test_a_user_reader_is_a_source_and_a_corpus_spec(tmp_path) -> None:
    def read_lines(path: str | None = None, split: str | None = None) -> list[Doc]:
        """One Doc per line."""
        lines = Path(path or tmp_path / "notes.txt").read_text(encoding="utf-8").splitlines()
        return [Doc(t, id=f"{split}-{i}") for i, t in enumerate(lines)]

    (tmp_path / "notes.txt").write_text("Un.\nDeux.\n", encoding="utf-8")
    corpora.register_reader("notes", read_lines)
    try:
        assert corpora.get_reader("notes").description == "One Doc per line."
        with pytest.raises(ConfigError, match="already registered"):
            corpora.register_reader("notes", read_lines)
        assert "notes" in corpora.reader_names("docs", needs_path=False)
        source = parse_corpus_spec("notes:dev")
        assert [d.id for d in load_source(source)] == ["dev-0", "dev-1"]
        assert [d.id for d in load_source(DataSource(format="notes", path=str(tmp_path / "notes.txt")))] == ["None-0", "None-1"]
    finally:
        corpora.unregister_reader("notes")
    assert "notes" not in corpora.reader_names()
    with pytest.raises(ConfigError, match="invalid reader name"):
        corpora.register_reader("a:b", read_lines)
    with pytest.raises(ConfigError, match="unknown reader kind"):
        corpora.register_reader("x", read_lines, kind="pictures")


def test_parse_corpus_spec() -> None:
    assert parse_corpus_spec("re3d:test") == DataSource(format="re3d", split="test")
    assert parse_corpus_spec("winer_fr:test:defence") == DataSource(format="winer_fr", split="test", defence_only=True)
    assert parse_corpus_spec("wikigold") == DataSource(format="wikigold")
    for bad in ("nope", "markup:dev", "hansards"):
        with pytest.raises(ConfigError, match="unknown corpus") as err:
            parse_corpus_spec(bad)
        assert err.value.hint == "corpora: re3d, winer_fr, conll2003, wikigold (e.g. re3d:test)"


def test_jsonl_reader_keeps_annotations_and_names_bad_lines(tmp_path) -> None:
    doc = Doc("La DGA commande.", id="d1", lang="fr", meta={"k": 1})
    doc.add_entity(3, 6, "ORG")
    path = tmp_path / "gold.jsonl"
    path.write_text(doc.to_json() + "\n\n" + json.dumps({"text": "Brest"}) + "\n", encoding="utf-8")
    first, second = corpora.read_corpus("jsonl", path=path)
    assert first == doc and (second.id, second.lang) == (None, None)
    read = list(iter_jsonl_docs(path, lang="en", line_ids=True))
    assert [(d.id, d.lang, "entities" in r) for d, r in read] == [("d1", "fr", True), ("gold.jsonl:3", "en", False)]
    for content, error, where in (
        ('{"text": "a"}\nnot json\n', RecordFormatError, "gold.jsonl:2: not valid JSON"),
        ('[1, 2]\n', RecordFormatError, "gold.jsonl:1: expected a JSON object"),
        ('{"text": "a", "entities": [{"start": 0}]}\n', RecordFormatError, "gold.jsonl:1: malformed annotation"),
    ):
        path.write_text(content, encoding="utf-8")
        with pytest.raises(error, match=where):
            corpora.read_corpus("jsonl", path=path)
    path.write_text('{"text": "  "}\n', encoding="utf-8")
    assert len(corpora.read_corpus("jsonl", path=path)) == 1
    with pytest.raises(EmptyInputError, match="gold.jsonl:1"):
        list(iter_jsonl_docs(path, allow_empty=False))


def test_conll_and_brat_readers_take_a_path(tmp_path) -> None:
    from defnlp.io.brat import read_brat_dir, write_brat
    from defnlp.io.conll import read_conll, write_conll

    docs = corpora.read_markup(EXAMPLES)[:3]
    write_conll(docs, tmp_path / "gold.conll")
    write_brat(docs, tmp_path / "brat")
    assert corpora.read_corpus("conll", path=tmp_path / "gold.conll") == read_conll(tmp_path / "gold.conll")
    from_brat = load_source(DataSource(format="brat", path="brat"), base_dir=tmp_path)
    assert [d.entities for d in from_brat] == [d.entities for d in read_brat_dir(tmp_path / "brat")] and len(from_brat) == 3


@needs_data
def test_sources_of_the_public_corpora() -> None:
    assert [d.id for d in load_source(parse_corpus_spec("re3d:test"))] == [d.id for d in corpora.load_re3d("test")]
    with pytest.raises(TrainingError, match="BBC"):
        load_source(DataSource(format="re3d"))  # all splits: BBC is in test only
    assert len(load_source(DataSource(format="winer_fr", split="test", defence_only=True))) == 37
    assert len(load_source(parse_corpus_spec("conll2003:testa"))) == 3250
    assert len(load_source(parse_corpus_spec("conll2003"))) == 3453  # testb by default
    assert corpora.read_corpus("wmt14", defence_only=True) == corpora.load_wmt14(defence_only=True)
    assert corpora.read_corpus("hansards", part="trial") == corpora.load_hansards("trial")


# ------------------------------------------------------------------------------------------------
# re3d
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def re3d():
    return corpora.load_re3d()


@needs_data
def test_re3d_documents_splits_and_licences(re3d) -> None:
    assert len(re3d) == 98
    assert Counter(d.meta["split"] for d in re3d) == {"train": 66, "dev": 14, "test": 18}
    bbc = [d for d in re3d if d.meta["bbc"]]
    assert len(bbc) == 8 and {d.meta["split"] for d in bbc} == {"test"}
    assert all(d.meta["licence"] == corpora.re3d_licence(d.meta["source"]) for d in re3d)
    assert Counter(d.meta["source"] for d in re3d)["CENTCOM"] == 23
    assert [d.id for d in corpora.load_re3d("test", exclude_bbc=True)] == [d.id for d in re3d if d.meta["split"] == "test" and not d.meta["bbc"]]
    assert not any(d.meta["bbc"] for d in corpora.load_re3d("train") + corpora.load_re3d("dev"))
    for d in re3d:
        d.validate()
        assert d.lang == "en"


@needs_data
def test_re3d_entities_and_relations_are_mapped(re3d) -> None:
    scheme = load_scheme()
    entities = Counter(e.label for d in re3d for e in d.entities)
    relations = Counter(r.label for d in re3d for r in d.relations)
    assert set(entities) <= set(scheme.entity_labels) and set(relations) <= set(scheme.relation_labels)
    # SOURCE.md: 3,500 rows with confidence >= 0.5, of which 7 have a dropped type
    # (CommsIdentifier 4, Frequency 3), 1 is a lone space and 1 is the same span as another
    # once trailing spaces are trimmed; 43 more are restored as relation ends
    assert sum(entities.values()) == 3500 - 7 - 1 - 1 + 43
    assert all(e.text == e.text.strip() for d in re3d for e in d.entities)
    assert entities["ORG"] == 1425 + sum(1 for d in re3d for i in d.meta.get("restored_entities", []) if d.entities[i].label == "ORG")
    assert sum(relations.values()) == 1220
    assert relations["HAS_QUANTITY"] == 99 and relations["LOCATED_IN"] == 431
    for d in re3d:
        for r in d.relations:
            if r.label == "HAS_QUANTITY":
                assert d.entities[r.tail].label == "QUANTITY"
        assert len({e.span for e in d.entities}) == len(d.entities)  # same-span rows merged


RE3D_SPLITS = {  # docs, BBC docs, entities, relations (docs/corpora.md)
    "train": (66, 0, 1995, 711),
    "dev": (14, 0, 398, 121),
    "test": (18, 8, 1141, 388),
}


@needs_data
@pytest.mark.parametrize("split", list(RE3D_SPLITS))
def test_re3d_split_counts(split: str) -> None:
    docs = corpora.load_re3d(split)
    counts = (len(docs), sum(d.meta["bbc"] for d in docs), sum(len(d.entities) for d in docs), sum(len(d.relations) for d in docs))
    assert counts == RE3D_SPLITS[split]


@needs_data
def test_re3d_overlaps_and_symmetric_pairs(re3d) -> None:
    overlaps = sum(1 for d in re3d for i, a in enumerate(d.entities) for b in d.entities[i + 1 :] if a.start < b.end and b.start < a.end)
    assert overlaps == 94
    flat = [corpora.flatten_entities(d) for d in re3d]
    assert sum(len(d.entities) for d in re3d) - sum(len(d.entities) for d in flat) == 91
    assert sum(len(d.relations) for d in re3d) - sum(len(d.relations) for d in flat) == 49
    both_ways = 0
    for d in re3d:
        triples = {(r.head, r.tail, r.label) for r in d.relations}
        both_ways += sum(1 for h, t, lab in triples if h < t and (t, h, lab) in triples)
    assert both_ways == 92


@needs_data
def test_re3d_relation_linking_report() -> None:
    report = corpora.re3d_link_report()
    assert report["relation_rows"] == 1327  # SOURCE.md: 1,327 rows with confidence >= 0.5
    assert report["relation_linked"] + report["relation_restored"] + report["relation_dropped_type"] + report[
        "relation_dropped_unlinked"
    ] == report["relation_rows"]
    assert report["relation_linked"] == 1179 and report["relation_restored"] == 41
    assert report["entity_value_mismatch"] == 5
    assert (report["entity_trimmed"], report["entity_blank_dropped"], report["entities_restored"]) == (4, 1, 43)
    strict = corpora.load_re3d(strict_relations=True)
    assert report["relations_outside_scheme"] == 228
    assert sum(len(d.relations) for d in strict) == 1220 - 228
    scheme = load_scheme()
    assert all(scheme.allows(r.label, d.entities[r.head].label, d.entities[r.tail].label) for d in strict for r in d.relations)


@needs_data
def test_re3d_options() -> None:
    raw = corpora.load_re3d(map_labels=False, restore_relation_entities=False)
    labels = Counter(e.label for d in raw for e in d.entities)
    assert labels["Organisation"] == 1425 and labels["Frequency"] == 3
    assert "HasAttrOf" in {r.label for d in raw for r in d.relations}
    assert not any("restored_entities" in d.meta for d in raw)
    everything = corpora.load_re3d(min_confidence=0.0)
    assert sum(len(d.entities) for d in everything) > 4000


@needs_data
def test_flatten_entities_makes_re3d_bio_ready(re3d) -> None:
    for doc in re3d:
        flat = corpora.flatten_entities(doc)
        spans = sorted(e.span for e in flat.entities)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
        assert all(0 <= r.head < len(flat.entities) and 0 <= r.tail < len(flat.entities) for r in flat.relations)
        _tokens, tags = doc_to_bio(flat)
        assert sum(t.startswith("B-") for t in tags) == len(flat.entities)


# ------------------------------------------------------------------------------------------------
# WiNER-fr
# ------------------------------------------------------------------------------------------------
WINER_COUNTS = {  # documents, entities per label after mapping and keeping outer entities
    "train": (835, {"DATE": 2631, "LOC": 6065, "ORG": 2954, "PER": 3515}),
    "dev": (161, {"DATE": 574, "LOC": 982, "ORG": 531, "PER": 745}),
    "test": (195, {"DATE": 607, "LOC": 1286, "ORG": 670, "PER": 707}),
}


@needs_data
@pytest.mark.parametrize("split", list(WINER_COUNTS))
def test_winer_split_counts(split: str) -> None:
    docs = corpora.load_winer_fr(split)
    n_docs, labels = WINER_COUNTS[split]
    assert len(docs) == n_docs
    assert Counter(e.label for d in docs for e in d.entities) == labels
    for d in docs:
        d.validate()
        assert d.lang == "fr" and d.meta["split"] == split
        spans = sorted(e.span for e in d.entities)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no nesting left


@needs_data
def test_winer_extra_labels_defence_subset_and_raw_labels() -> None:
    extra = corpora.load_winer_fr(keep_extra=True)
    assert len(extra) == 1191
    # SOURCE.md: 24,182 entities; keeping every label, 1,151 nested ones are removed
    assert sum(len(d.entities) for d in extra) == 24182 - 1151
    assert {"HOUR", "EVENT", "PRODUCT"} <= {e.label for d in extra for e in d.entities}
    raw = corpora.load_winer_fr(map_labels=False)
    assert {e.label for d in raw for e in d.entities} == {"Person", "Location", "Organization", "Date"}
    assert Counter(e.label for d in extra for e in d.entities if e.label in ("HOUR", "EVENT", "PRODUCT")) == {
        "HOUR": 944, "EVENT": 739, "PRODUCT": 672,
    }
    defence = corpora.load_winer_fr(defence_only=True)
    assert len(defence) == 209 and all(d.meta["defence"] for d in defence)
    assert sum(len(d.entities) for d in defence) == 4813
    assert Counter(d.meta["split"] for d in defence) == {"train": 145, "dev": 27, "test": 37}
    assert len(corpora.load_winer_fr("test", defence_only=True)) == 37
    fixed = [d for d in extra if "brat_fixes" in d.meta]
    assert len(fixed) == 1 and "Jimmy Wales" in [e.text for e in fixed[0].entities]
    assert extra[0].meta["url"].startswith("https://fr.wikinews.org/")


# ------------------------------------------------------------------------------------------------
# English NER test sets
# ------------------------------------------------------------------------------------------------
@needs_data
def test_conll2003_counts() -> None:
    testb = corpora.load_conll2003()
    assert len(testb) == 3453
    assert sum(len(d.meta["tokens"]) for d in testb) == 46435
    assert Counter(e.label for d in testb for e in d.entities) == {"LOC": 1668, "ORG": 1661, "PER": 1617}  # 4,946
    with_misc = corpora.load_conll2003(keep_misc=True)
    assert sum(len(d.entities) for d in with_misc) == 5648
    grouped = corpora.load_conll2003(keep_misc=True, group_documents=True)
    assert len(grouped) == 231 and sum(len(d.entities) for d in grouped) == 5648
    testa = corpora.load_conll2003("testa", keep_misc=True)
    assert (len(testa), sum(len(d.entities) for d in testa)) == (3250, 5942)
    for d in testb[:200] + grouped[:5]:
        d.validate()
    with pytest.raises(ConfigError):
        corpora.load_conll2003("testa", group_documents=True)


@needs_data
def test_conll2003_tokens_give_back_the_gold_tags() -> None:
    path = DATA / "conll2003_en" / "eng.testb"
    gold = [line.split()[-1] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tags = [t for d in corpora.load_conll2003(keep_misc=True) for t in doc_to_bio(d)[1]]
    assert tags == gold


@needs_data
def test_wikigold_counts() -> None:
    docs = corpora.load_wikigold(keep_misc=True)
    assert len(docs) == 1841 - 145  # SOURCE.md counts the 145 -DOCSTART- blocks as sentences
    assert sum(len(d.entities) for d in docs) == 3558
    assert sum(len(d.entities) for d in corpora.load_wikigold()) == 3558 - 712
    assert len(corpora.load_wikigold(group_documents=True)) == 145


# ------------------------------------------------------------------------------------------------
# alignment corpora
# ------------------------------------------------------------------------------------------------
@needs_data
def test_hansards_counts_and_links() -> None:
    pairs = corpora.load_hansards()
    assert len(pairs) == 447
    assert sum(len(p.en_tokens) for p in pairs) == 7020 and sum(len(p.fr_tokens) for p in pairs) == 7761
    assert sum(len(p.sure) for p in pairs) == 4038
    assert sum(len(p.possible - p.sure) for p in pairs) == 13400
    assert all(p.sure <= p.possible for p in pairs)
    # cross-check with the 1-based 'snum e f S|P' file derived from the same gold
    derived: dict[str, set] = {}
    for line in (DATA / "hansards_enfr_wa" / "test.wa.nonullalign.derived").read_text().splitlines():
        snum, e, f, kind = line.split()
        if kind == "S":
            derived.setdefault(snum, set()).add((int(e) - 1, int(f) - 1))
    assert {p.id: p.sure for p in pairs if p.sure} == derived
    trial = corpora.load_hansards("trial")
    assert (len(trial), sum(len(p.sure) for p in trial), sum(len(p.possible - p.sure) for p in trial)) == (37, 338, 1446)


@needs_data
def test_transread_books_and_links() -> None:
    books = corpora.load_transread()
    assert len(books) == 11
    assert sum(len(b.links) for b in books) == 5260
    shapes = Counter((len(e), len(f)) for b in books for e, f in b.links)
    assert shapes[(1, 1)] == 4110 and shapes[(1, 2)] == 421 and shapes[(2, 1)] == 396 and shapes[(1, 0)] == 36
    for b in books:
        # links cover every sentence once, in order
        assert [i for e, _ in b.links for i in e] == list(range(len(b.en_sentences)))
        assert [i for _, f in b.links for i in f] == list(range(len(b.fr_sentences)))
        assert all(s.strip() for s in b.en_sentences + b.fr_sentences)
    (candide,) = corpora.load_transread("Candide")
    assert candide.en_sentences[4] == "His face was the true index of his mind."
    assert candide.links[7] == ([7], [7, 8])
    with pytest.raises(DataNotFoundError, match="Candide"):
        corpora.load_transread("Germinal")


@needs_data
def test_parallel_sentences() -> None:
    tatoeba = corpora.load_tatoeba()
    assert len(tatoeba) == 1000
    assert tatoeba[0] == ("Au commencement, Dieu créa le ciel et la terre.", "In the beginning God created the heaven and the earth.")
    wmt = corpora.load_wmt14()
    assert len(wmt) == 3003 and all(fr and en for fr, en in wmt)
    segments = corpora.load_wmt14_segments()
    assert len({s.doc_id for s in segments}) == 176
    assert Counter(s.origlang for s in {s.doc_id: s for s in segments}.values()) == {"fr": 108, "en": 68}
    defence = corpora.load_wmt14(defence_only=True)
    assert len(defence) == 123 and defence[0] == (segments[97].fr, segments[97].en)


@needs_data
def test_defence_terminology() -> None:
    terms = corpora.load_defence_terms()
    assert len(terms) == 41
    assert set(terms[0]) == {"fr_term", "pos", "domain", "en_term", "source"}
    assert all(t["fr_term"] and t["en_term"] for t in terms)
    acronyms = corpora.load_defence_acronyms()
    assert len(acronyms) == 150
    assert sum(a["en_expansion_if_given"] is not None for a in acronyms) == 16
    assert {"acronym_or_name": "AASM", "fr_expansion": "Armement air-sol modulaire", "en_expansion_if_given": None} in acronyms


def test_names_only_drops_pronouns_and_common_nouns_and_remaps_relations(tmp_path):
    path = tmp_path / "docs.md"
    path.write_text(
        "=== doc: a | lang: en\n[We]{ORG:w} met [Ben Wallace]{PER:p}, the [Defence Secretary]{ROLE:r}, in [the city]{LOC:c}"
        " of [Kyiv]{LOC:k} with [two]{QUANTITY:q} [drones]{PLATFORM:d}.\n> p HAS_ROLE r\n> p LOCATED_IN k\n> w LOCATED_IN c\n"
        "> d HAS_QUANTITY q\n",
        encoding="utf-8",
    )
    (doc,) = load_source(DataSource(format="markup", path=str(path), names_only=True))
    assert [e.text for e in doc.entities] == ["Ben Wallace", "Defence Secretary", "Kyiv", "two", "drones"]
    assert sorted((doc.entities[r.head].text, r.label, doc.entities[r.tail].text) for r in doc.relations) == [
        ("Ben Wallace", "HAS_ROLE", "Defence Secretary"), ("Ben Wallace", "LOCATED_IN", "Kyiv"), ("drones", "HAS_QUANTITY", "two")]


def test_unmark_leaves_the_listed_mentions_of_a_label_unmarked_with_their_relations(tmp_path):
    path = tmp_path / "docs.md"
    path.write_text(
        "=== doc: a | lang: en\n[Thales]{ORG:t} signed the [Contract]{DOCUMENT:c} and the [framework\ncontract]{DOCUMENT:f}"
        " for [Contract Wars]{PROGRAMME:w} under the [Letter of Intent]{DOCUMENT:l}.\n"
        "> t SIGNS c\n> t SIGNS f\n> t SIGNS l\n",
        encoding="utf-8",
    )
    source = DataSource(format="markup", path=str(path), unmark={"DOCUMENT": ["contract", "framework contract"]})
    (doc,) = load_source(source)
    assert [e.text for e in doc.entities] == ["Thales", "Contract Wars", "Letter of Intent"]  # other labels untouched
    assert [(doc.entities[r.head].text, doc.entities[r.tail].text) for r in doc.relations] == [("Thales", "Letter of Intent")]
    assert {ref: doc.entities[i].text for ref, i in doc.meta["refs"].items()} == {"t": "Thales", "w": "Contract Wars", "l": "Letter of Intent"}
    doc.validate()
    with pytest.raises(ConfigError, match="unmark"):
        load_source(DataSource(format="markup", path=str(path), unmark={"DOCUMENT": "contract"}))


@needs_data
def test_names_only_on_re3d_train_drops_its_pronoun_mentions():
    plain = load_source(DataSource(format="re3d", split="train"))
    names = load_source(DataSource(format="re3d", split="train", names_only=True))
    texts = {d.text[e.start : e.end].lower() for d in names for e in d.entities if e.label in ("PER", "ORG", "LOC")}
    assert not texts & {"we", "he", "they", "i", "it", "the city"}
    dropped = sum(len(d.entities) for d in plain) - sum(len(d.entities) for d in names)
    assert 100 < dropped < 0.3 * sum(len(d.entities) for d in plain)  # pronouns, common nouns, titles alone


def test_names_only_starts_spans_after_a_leading_article_and_keeps_names_that_begin_with_one(tmp_path):
    path = tmp_path / "docs.md"
    path.write_text(
        "=== doc: a | lang: en\n[The UK]{LOC:u} and [our  Royal Navy]{ORG:n} met in [The Hague]{LOC:h} on"
        " [the 3rd of May]{DATE:d}; [The City]{LOC:c} agreed.\n> n LOCATED_IN h\n",
        encoding="utf-8",
    )
    (doc,) = load_source(DataSource(format="markup", path=str(path), names_only=True))
    assert [(e.text, doc.text[e.start : e.end]) for e in doc.entities] == [
        ("UK", "UK"), ("Royal Navy", "Royal Navy"), ("The Hague", "The Hague"), ("the 3rd of May", "the 3rd of May"),
        ("City", "City")]
    assert [(doc.entities[r.head].text, r.label, doc.entities[r.tail].text) for r in doc.relations] == [
        ("Royal Navy", "LOCATED_IN", "The Hague")]


@needs_data
def test_names_only_on_re3d_train_leaves_no_leading_article():
    names = load_source(DataSource(format="re3d", split="train", names_only=True))
    starts = [d.text[e.start : e.end].split()[0].lower() for d in names for e in d.entities
              if e.label not in ("DATE", "QUANTITY", "MONEY") and d.text[e.start : e.end].split()]
    assert sum(w in ("the", "a", "an", "our", "their") for w in starts) <= 10  # names such as 'The Hague' stay whole
