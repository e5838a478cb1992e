"""Converters between Doc and CoNLL/BIO, brat standoff, spaCy-style dicts and HF datasets."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defnlp.doc import Doc, Sentence
from defnlp.errors import ConfigError, DataNotFoundError, MissingDependencyError, RecordFormatError
from defnlp.io.brat import doc_to_brat, parse_brat, read_brat, read_brat_dir, write_brat
from defnlp.io.conll import doc_to_bio, docs_to_conll, flatten_entities, read_conll, write_conll
from defnlp.io.hf import dataset_to_docs, docs_to_dataset, load_docs_dataset
from defnlp.io.spacy import doc_from_spacy_dict, doc_to_spacy_dict, from_spacy_doc, to_spacy_doc


def make_doc() -> Doc:
    """A French doc with overlapping entities, scores, a relation and two lines."""
    text = "Le ministre des Armées, Sébastien Lecornu, a visité Brest.\nLa DGA commande 42 Griffon."
    doc = Doc(text, id="ex-1", lang="fr", sentences=[Sentence(0, 58), Sentence(59, len(text))])

    def ent(surface: str, label: str, score: float | None = None) -> int:
        start = text.index(surface)
        return doc.add_entity(start, start + len(surface), label, score)

    role = ent("ministre des Armées", "ROLE")
    ent("Armées", "ORG", 0.75)  # nested in the ROLE
    per = ent("Sébastien Lecornu", "PER", 0.9876)
    loc = ent("Brest", "LOC")
    ent("DGA", "ORG")
    q = ent("42", "QUANTITY")
    g = ent("Griffon", "PLATFORM")
    doc.add_relation(per, role, "HAS_ROLE")
    doc.add_relation(per, loc, "LOCATED_IN", score=0.5)
    doc.add_relation(g, q, "HAS_QUANTITY")
    return doc.validate()


# ------------------------------------------------------------------------------------------------
# CoNLL / BIO (the tokenizer is tested in test_words.py, the tag schemes in test_tags.py)
# ------------------------------------------------------------------------------------------------
def test_read_conll_rebuilds_text_tokens_and_entities() -> None:
    content = "-DOCSTART- -X- O O\n\nLa DT O\nDGA NNP B-ORG\n\nÀ P O\nToulon NNP I-LOC\n\n-DOCSTART- -X- O O\n\nParis NNP B-LOC\n"
    docs = read_conll(content, name="t")
    assert [d.id for d in docs] == ["t:0", "t:1", "t:2"]
    assert [d.meta["document_index"] for d in docs] == [0, 0, 1]
    d = docs[1]
    assert d.text == "À Toulon"
    assert d.meta["tokens"] == [[0, 1], [2, 8]]
    assert [(e.text, e.label) for e in d.entities] == [("Toulon", "LOC")]
    grouped = read_conll(content, group_sentences=True, name="t")
    assert [g.text for g in grouped] == ["La DGA\nÀ Toulon", "Paris"]
    assert [(s.start, s.end) for s in grouped[0].sentences] == [(0, 6), (7, 15)]
    assert [e.text for e in grouped[0].entities] == ["DGA", "Toulon"]
    for doc in docs + grouped:
        doc.validate()


def test_read_conll_columns_and_tabs() -> None:
    content = "0\tLe\tO\n1\tRafale\tB-PLATFORM\n"
    (doc,) = read_conll(content, token_col=1, tag_col=2)
    assert doc.text == "Le Rafale" and doc.entities[0].label == "PLATFORM"


def test_read_conll_reports_garbage_tags_with_their_line() -> None:
    with pytest.raises(RecordFormatError, match=r"conll:3: invalid tag 'B_LOC'"):
        read_conll("Le O\nministre O\nBrest B_LOC\n")
    with pytest.raises(RecordFormatError, match=r"conll:2: expected a token in column 0 and a tag in column 3"):
        read_conll("Le O O O\nBrest\n", tag_col=3)


def test_strict_schemes_check_transitions() -> None:
    iob1 = "Le O\nBrest I-LOC\n"
    assert [e.text for e in read_conll(iob1)[0].entities] == ["Brest"]
    assert [e.text for e in read_conll(iob1, scheme="iob1")[0].entities] == ["Brest"]
    with pytest.raises(RecordFormatError, match=r"conll:2: in IOB2"):
        read_conll(iob1, scheme="iob2")
    with pytest.raises(RecordFormatError, match=r"conll:2: in IOB1"):
        read_conll("Le O\nBrest B-LOC\n", scheme="iob1")
    with pytest.raises(RecordFormatError, match="BIOES"):
        read_conll("Le B-LOC\nBrest O\n", scheme="bioes")
    with pytest.raises(RecordFormatError, match="not IOB2"):
        read_conll("Brest S-LOC\n", scheme="iob2")
    with pytest.raises(ConfigError):
        read_conll("Brest O\n", scheme="bilou")


def test_read_conll_label_map_and_missing_file(tmp_path) -> None:
    docs = read_conll("Paris B-LOC\nMatch B-MISC\n", label_map={"MISC": None, "LOC": "PLACE"})
    assert [e.label for e in docs[0].entities] == ["PLACE"]
    with pytest.raises(DataNotFoundError):
        read_conll(tmp_path / "missing.conll")


def test_doc_to_bio_overlap_rule_and_boundaries_inside_tokens() -> None:
    doc = make_doc()
    tokens, tags = doc_to_bio(doc)
    pairs = dict(zip(tokens, tags))
    # the nested ORG "Armées" loses to the longer ROLE
    assert [pairs[t] for t in ("ministre", "des", "Armées")] == ["B-ROLE", "I-ROLE", "I-ROLE"]
    assert pairs["Griffon"] == "B-PLATFORM"
    d = Doc("Un accord franco-belge.")
    d.add_entity(18, 22, "NAT")  # "elge": starts inside the word
    # the fallback tokenizer splits at entity boundaries ...
    assert doc_to_bio(d) == (["Un", "accord", "franco-b", "elge", "."], ["O", "O", "O", "B-NAT", "O"])
    # ... given tokens are kept: a token overlapping an entity takes its tag
    given = [(0, 2), (3, 9), (10, 22), (22, 23)]
    assert doc_to_bio(d, token_spans=given) == (["Un", "accord", "franco-belge", "."], ["O", "O", "B-NAT", "O"])
    two = Doc("UK-France summit")
    two.add_entity(0, 2, "LOC"), two.add_entity(3, 9, "LOC")
    assert doc_to_bio(two) == (["UK", "-", "France", "summit"], ["B-LOC", "O", "B-LOC", "O"])
    assert doc_to_bio(two, token_spans=[(0, 9), (10, 16)])[1] == ["B-LOC", "O"]  # one token: first entity wins
    tokens, tags = doc_to_bio(doc, scheme="bioes")
    assert tags[tokens.index("Brest")] == "S-LOC" and tags[tokens.index("Armées")] == "E-ROLE"


def test_doc_to_bio_rejects_bad_token_spans() -> None:
    doc = Doc("Le Rafale")
    with pytest.raises(RecordFormatError):
        doc_to_bio(doc, token_spans=[[3, 9], [0, 2]])
    with pytest.raises(RecordFormatError):
        doc_to_bio(doc, token_spans=[[0, 20]])


def test_conll_round_trip_of_a_file(tmp_path) -> None:
    content = "Le O\nministre B-ROLE\ndes I-ROLE\nArmées I-ROLE\n\nÀ O\nBrest B-LOC\n\n"
    docs = read_conll(content, name="rt")
    path = write_conll(docs, tmp_path / "rt.conll")
    assert path.read_text(encoding="utf-8") == content
    again = read_conll(path, name="rt")
    assert [(d.text, d.entities, d.meta["tokens"]) for d in again] == [(d.text, d.entities, d.meta["tokens"]) for d in docs]


def test_conll_round_trip_of_grouped_documents(tmp_path) -> None:
    content = "-DOCSTART- -X- O O\n\nLa O\nDGA B-ORG\n\nÀ O\nToulon B-LOC\n\n-DOCSTART- -X- O O\n\nParis B-LOC\n\n"
    docs = read_conll(content, group_sentences=True)
    assert docs_to_conll(docs, docstart=True) == content
    assert [d.text for d in read_conll(content.replace(" -X- O O", " O"), group_sentences=True)] == [d.text for d in docs]
    again = read_conll(write_conll(docs, tmp_path / "g.conll", docstart=True), group_sentences=True)
    assert [(d.text, d.entities, d.sentences) for d in again] == [(d.text, d.entities, d.sentences) for d in docs]


def test_write_conll_refuses_tokens_with_spaces() -> None:
    doc = Doc("New York", meta={"tokens": [[0, 8]]})
    with pytest.raises(RecordFormatError, match="separator"):
        docs_to_conll([doc])
    assert docs_to_conll([doc], sep="\t") == "New York\tO\n\n"


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéàç", min_size=1, max_size=8)


@st.composite
def tokenised_docs(draw):
    toks = draw(st.lists(WORD, min_size=1, max_size=15))
    text = " ".join(toks)
    starts = [sum(len(t) + 1 for t in toks[:i]) for i in range(len(toks))]
    doc = Doc(text, lang="fr")
    i = 0
    while i < len(toks):
        if draw(st.booleans()):
            j = draw(st.integers(i + 1, min(len(toks), i + 3)))
            doc.add_entity(starts[i], starts[j - 1] + len(toks[j - 1]), draw(st.sampled_from(["PER", "LOC", "ORG"])))
            i = j
        else:
            i += 1
    return doc


@settings(max_examples=60, deadline=None)
@given(tokenised_docs(), st.sampled_from(["iob2", "bioes"]))
def test_bio_round_trip_property(doc: Doc, scheme: str) -> None:
    (again,) = read_conll(docs_to_conll([doc], scheme=scheme), scheme=scheme)
    assert again.text == doc.text
    assert [(e.start, e.end, e.label) for e in again.entities] == [(e.start, e.end, e.label) for e in doc.entities]


# ------------------------------------------------------------------------------------------------
# overlaps
# ------------------------------------------------------------------------------------------------
def test_flatten_entities_rules_and_relation_remapping() -> None:
    doc = make_doc()
    flat = flatten_entities(doc)
    assert "Armées" not in [e.text for e in flat.entities if e.label == "ORG"]
    assert len(flat.entities) == len(doc.entities) - 1
    assert [(flat.entities[r.head].text, r.label, flat.entities[r.tail].text) for r in flat.relations] == [
        ("Sébastien Lecornu", "HAS_ROLE", "ministre des Armées"),
        ("Sébastien Lecornu", "LOCATED_IN", "Brest"),
        ("Griffon", "HAS_QUANTITY", "42"),
    ]
    short = flatten_entities(doc, prefer="shortest")
    assert "ministre des Armées" not in [e.text for e in short.entities]
    assert [r.label for r in short.relations] == ["LOCATED_IN", "HAS_QUANTITY"]  # HAS_ROLE lost its tail
    assert doc.validate() and len(doc.entities) == 7  # the input is untouched
    with pytest.raises(ConfigError):
        flatten_entities(doc, prefer="random")


# ------------------------------------------------------------------------------------------------
# brat
# ------------------------------------------------------------------------------------------------
def test_brat_round_trip_with_scores_relations_and_line_breaks(tmp_path) -> None:
    doc = make_doc()
    multi = doc.add_entity(52, 61, "LOC")  # "Brest.\nLa" crosses the line break
    txt, ann = doc_to_brat(doc)
    assert f"T{multi + 1}\tLOC 52 58;59 61\tBrest. La" in ann
    assert parse_brat(txt, ann, doc_id="ex-1", lang="fr") == Doc(
        doc.text, "ex-1", "fr", doc.entities, doc.relations
    )
    write_brat([doc, Doc("Sans entité.", id="sub/dir/2")], tmp_path)
    back = read_brat_dir(tmp_path, lang="fr")
    assert [d.id for d in back] == ["ex-1", "sub/dir/2"]
    assert back[0].entities == doc.entities and back[0].relations == doc.relations
    assert back[1].entities == [] and back[1].text == "Sans entité."


def test_brat_crlf_text_keeps_offsets(tmp_path) -> None:
    (tmp_path / "a.txt").write_bytes(b"Ligne 1\r\nBrest")
    (tmp_path / "a.ann").write_text("T1\tLOC 9 14\tBrest\n", encoding="utf-8")
    assert read_brat(tmp_path / "a.txt").entities[0].text == "Brest"


def test_brat_discontinuous_label_map_and_ignored_lines(tmp_path, caplog) -> None:
    text = "Le Rafale et le Mirage de Dassault"
    ann = (
        "T1\tPlatform 3 9;16 22\tRafale Mirage\n"
        "T2\tOrganization 26 34\tDassault\n"
        "T3\tMisc 0 2\tLe\n"
        "R1\tProducedBy Arg1:T1 Arg2:T2\n"
        "R2\tOther Arg1:T3 Arg2:T2\n"
        "*\tEquiv T1 T2\n"
        "A1\tNegated T1\n"
        "#1\tAnnotatorNotes T2\ta free note\n"
    )
    with caplog.at_level(logging.INFO, logger="defnlp.io.brat"):
        doc = parse_brat(text, ann, label_map={"Platform": "PLATFORM", "Misc": None})
    assert "ignored" in caplog.text and "equivalence" in caplog.text
    assert [(e.text, e.label) for e in doc.entities] == [("Rafale et le Mirage", "PLATFORM"), ("Dassault", "Organization")]
    assert [(r.head, r.tail, r.label) for r in doc.relations] == [(0, 1, "ProducedBy")]  # R2 lost T3
    split = parse_brat(text, ann, discontinuous="split")
    assert [e.text for e in split.entities][:2] == ["Rafale", "Mirage"] and split.relations[0].head == 0
    dropped = parse_brat(text, ann, discontinuous="drop")
    assert [e.text for e in dropped.entities] == ["Dassault", "Le"] and [r.label for r in dropped.relations] == ["Other"]


def test_brat_surface_mismatch_is_fixed_or_logged(caplog) -> None:
    text = "Jimmy Wales\u200f a dit"
    doc = parse_brat(text, "T1\tPerson 0 12\tJimmy Wales\n")
    assert doc.entities[0].text == "Jimmy Wales" and doc.meta["brat_fixes"] == {"shrunk": 1}
    with caplog.at_level(logging.WARNING, logger="defnlp.io.brat"):
        kept = parse_brat(text, "T1\tPerson 0 5\tJames\n")
    assert kept.entities[0].text == "Jimmy" and "keeping the offsets" in caplog.text


@pytest.mark.parametrize(
    "ann, message",
    [
        ("T1\tPerson 0 x\tJimmy\n", "malformed offsets"),
        ("T1\tPerson 0 99\tJimmy\n", "outside the text"),
        ("T1\tPerson\n", "malformed entity line"),
        ("T1\tPerson 0 5\tJimmy\nR1\tKnows Arg1:T1 Arg2:T9\n", "unknown entity"),
        ("T1\tPerson 0 5\tJimmy\nR1\tKnows T1 T1\n", "malformed relation"),
        ("X1\tfoo\n", "unknown annotation line"),
    ],
)
def test_brat_errors_name_the_line(ann: str, message: str) -> None:
    with pytest.raises(RecordFormatError, match=message):
        parse_brat("Jimmy Wales", ann, where="x.ann")


def test_brat_missing_files_and_bad_ids(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataNotFoundError):
        read_brat(tmp_path / "a.txt")
    with pytest.raises(RecordFormatError):
        write_brat([Doc("x", id="../escape")], tmp_path / "out")
    with pytest.raises(RecordFormatError, match="duplicate"):
        write_brat([Doc("x", id="a"), Doc("y", id="a")], tmp_path / "out2")


# ------------------------------------------------------------------------------------------------
# spaCy-style dicts and spaCy objects
# ------------------------------------------------------------------------------------------------
def test_spacy_dict_round_trip_keeps_everything() -> None:
    doc = make_doc()
    data = doc_to_spacy_dict(doc)
    json.dumps(data)  # plain JSON
    assert doc_from_spacy_dict(data) == doc
    # spaCy-visible part: non-overlapping ents that line up with tokens
    starts = {t["start"] for t in data["tokens"]}
    ends = {t["end"] for t in data["tokens"]}
    assert all(e["start"] in starts and e["end"] in ends for e in data["ents"])
    assert "Armées" not in [doc.text[e["start"] : e["end"]] for e in data["ents"]]
    assert data["sents"] == [{"start": 0, "end": 58}, {"start": 59, "end": len(doc.text)}]


def test_spacy_dict_tokens_follow_spacy_whitespace_rules() -> None:
    doc = Doc("  Le  Rafale\n\nbelge.")
    doc.add_entity(16, 19, "NAT")  # "lge" inside "belge": the token is split at the boundary
    toks = [doc.text[t["start"] : t["end"]] for t in doc_to_spacy_dict(doc)["tokens"]]
    assert toks == ["  ", "Le", " ", "Rafale", "\n\n", "be", "lge", "."]


def test_foreign_spacy_dicts_are_read() -> None:
    displacy = {"text": "Macron à Paris", "ents": [{"start": 9, "end": 14, "label": "GPE"}], "title": "t1"}
    doc = doc_from_spacy_dict(displacy, lang="fr")
    assert (doc.id, doc.lang, doc.entities[0].text) == ("t1", "fr", "Paris")
    with_tokens = {"text": "A b", "tokens": [{"id": 0, "start": 0, "end": 1}, {"id": 1, "start": 2, "end": 3}]}
    assert doc_from_spacy_dict(with_tokens).meta["tokens"] == [[0, 1], [2, 3]]
    with pytest.raises(RecordFormatError):
        doc_from_spacy_dict({"ents": []})
    with pytest.raises(RecordFormatError):
        doc_from_spacy_dict({"text": "abc", "ents": [{"start": 0, "end": 9, "label": "X"}]})


def test_spacy_objects_need_spacy(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)  # makes `import spacy` fail
    with pytest.raises(MissingDependencyError, match="spacy"):
        to_spacy_doc(make_doc(), object())
    with pytest.raises(MissingDependencyError):
        from_spacy_doc(object())


def test_spacy_objects_round_trip() -> None:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc as SpacyDoc

    doc = make_doc()
    nlp = spacy.blank("fr")
    sdoc = to_spacy_doc(doc, nlp)
    assert [(e.text, e.label_) for e in sdoc.ents][:2] == [("ministre des Armées", "ROLE"), ("Sébastien Lecornu", "PER")]
    assert len(sdoc.spans["defnlp"]) == len(doc.entities)
    back = from_spacy_doc(sdoc)
    assert (back.id, back.lang, back.entities, back.relations) == (doc.id, doc.lang, doc.entities, doc.relations)
    # with a Vocab, defnlp's own tokens are used; spaCy's from_json accepts our dict
    vdoc = to_spacy_doc(doc, nlp.vocab)
    assert [t.text for t in vdoc][:3] == ["Le", "ministre", "des"]
    loaded = SpacyDoc(nlp.vocab).from_json(doc_to_spacy_dict(doc), validate=True)
    assert [e.text for e in loaded.ents] == [doc.text[e["start"] : e["end"]] for e in doc_to_spacy_dict(doc)["ents"]]
    # a plain spaCy doc
    plain = nlp("Emmanuel Macron est à Paris.")
    plain.ents = [plain.char_span(22, 27, "LOC")]
    read = from_spacy_doc(plain)
    assert (read.lang, [e.text for e in read.entities], read.relations) == ("fr", ["Paris"], [])


# ------------------------------------------------------------------------------------------------
# HF datasets
# ------------------------------------------------------------------------------------------------
def test_dataset_round_trip() -> None:
    docs = [make_doc(), Doc("Sans entité.", id=None, lang=None, meta={"split": "dev", "tokens": [[0, 4]]})]
    ds = docs_to_dataset(docs)
    assert ds.column_names == ["id", "lang", "text", "entities", "relations", "sentences", "meta"]
    assert ds[0]["entities"][1] == {"start": 16, "end": 22, "label": "ORG", "text": "Armées", "score": 0.75}
    assert dataset_to_docs(ds) == docs


def test_load_docs_dataset_from_jsonl(tmp_path) -> None:
    docs = [make_doc(), Doc("Brest", id="b", lang="fr", meta={"source": {"nested": [1, 2]}})]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(d.to_json() + "\n" for d in docs), encoding="utf-8")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "x.jsonl").write_text('{"id": "m", "text": "DGA", "entities": [{"start": 0, "end": 3, "label": "ORG"}]}\n')
    ds = load_docs_dataset([path, tmp_path / "more"], cache_dir=tmp_path / "cache")
    assert len(ds) == 3
    back = dataset_to_docs(ds)
    assert back[:2] == docs
    assert back[2].entities[0].text == "DGA" and ds[2]["relations"] == [] and ds[2]["meta"] is None


def test_load_docs_dataset_errors(tmp_path) -> None:
    with pytest.raises(DataNotFoundError):
        load_docs_dataset(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "abc", "entities": [{"start": 0, "end": 9, "label": "X"}]}\n')
    with pytest.raises(RecordFormatError, match="row 0"):
        load_docs_dataset(bad, cache_dir=tmp_path / "cache")
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"sentence": "abc", "label": 1}\n')
    with pytest.raises(RecordFormatError, match="cannot read"):
        load_docs_dataset(foreign, cache_dir=tmp_path / "cache")


# ------------------------------------------------------------------------------------------------
# outputs that other tools read (issue 18): CoNLL-2003 for spaCy, brat folders, Parquet columns
# ------------------------------------------------------------------------------------------------
def output_doc(doc_id: str = "a/b 1") -> Doc:
    """Two sentences, a number with a narrow no-break space, no overlaps (as the pipeline writes)."""
    text = "Le ministre des Armées a visité Brest.\nLa DGA a commandé 3\u202f500 obus à Nexter."
    doc = Doc(text, id=doc_id, lang="fr", sentences=[Sentence(0, 38), Sentence(39, len(text))])
    idx = {}
    for surface, label in [("ministre des Armées", "ROLE"), ("Brest", "LOC"), ("DGA", "ORG"), ("3\u202f500", "QUANTITY"),
                           ("Nexter", "ORG")]:
        start = text.index(surface)
        idx[surface] = doc.add_entity(start, start + len(surface), label, 0.9)
    doc.add_relation(idx["DGA"], idx["Nexter"], "ACQUIRES_FROM", 0.8)
    return doc.validate()


ERROR = {"id": "broken", "error": {"type": "EmptyInputError", "message": "broken is empty", "hint": ""}, "source": "x"}


def test_conll_output_is_conll2003_that_spacy_reads(tmp_path) -> None:
    from spacy.training.converters import conll_ner_to_docs

    from defnlp.io.outputs import ConllWriter

    docs = [output_doc("d1"), output_doc("d2")]
    out = tmp_path / "out.conll"
    with ConllWriter(out, job={}) as writer:
        writer.write(docs[0])
        writer.write(ERROR)
        writer.write(docs[1])
    content = out.read_text(encoding="utf-8")
    assert content.count("-DOCSTART- -X- O O\n\n") == 3 and "#" not in content
    assert "3 B-QUANTITY\n500 I-QUANTITY\n" in content  # a token never holds whitespace
    assert "Brest B-LOC\n. O\n\nLa O\n" in content  # a blank line between sentences
    spacy_docs = list(conll_ner_to_docs(content, no_print=True))
    assert len(spacy_docs) == 2  # the error record is an empty document
    for sdoc, doc in zip(spacy_docs, docs):
        assert [(e.text.split(), e.label_) for e in sdoc.ents] == [(e.text.split(), e.label) for e in doc.entities]
        assert len(list(sdoc.sents)) == 2
    again = read_conll(out, group_sentences=True)
    assert [[(e.text.split(), e.label) for e in d.entities] for d in again] == [
        [(e.text.split(), e.label) for e in d.entities] for d in docs]


def test_brat_output_follows_brats_rules(tmp_path) -> None:
    import re

    from defnlp.io.brat import brat_record_id
    from defnlp.io.outputs import BratWriter

    ids = ["a/b 1", ".hidden", "A", "a", "x" * 300, "Armées", "A"]
    out = tmp_path / "brat"
    with BratWriter(out, job={}) as writer:
        writer.declare_labels(["PER"], ["HAS_ROLE"])
        for rid in ids:
            writer.write(output_doc(rid))
        writer.write(ERROR)
    names = sorted(p.name for p in out.iterdir())
    assert "a%2Fb%201.txt" in names and "%2Ehidden.ann" in names and "Armées.ann" in names and "broken.err" in names
    assert "a~2.ann" in names and "A~3.ann" in names  # a/A on a case-insensitive file system, and the same id twice
    stems = sorted({p.stem for p in out.glob("*.ann")})
    assert len(stems) == len(ids) and all(len(s.encode()) <= 200 for s in stems)
    assert sorted(brat_record_id(s) for s in stems if "~" not in s or s.endswith(("~2", "~3"))) == sorted(
        i for i in ids if len(i) < 200)
    conf = (out / "annotation.conf").read_text(encoding="utf-8").splitlines()
    entities = conf[conf.index("[entities]") + 1 : conf.index("[relations]")]
    relations = conf[conf.index("[relations]") + 1 : conf.index("[events]")]
    assert entities == ["LOC", "ORG", "PER", "QUANTITY", "ROLE"]
    assert relations == ["ACQUIRES_FROM\tArg1:<ENTITY>, Arg2:<ENTITY>", "HAS_ROLE\tArg1:<ENTITY>, Arg2:<ENTITY>"]
    for ann in out.glob("*.ann"):
        text = ann.with_suffix(".txt").read_text(encoding="utf-8")
        refs = set()
        for line in ann.read_text(encoding="utf-8").splitlines():
            if line.startswith("T"):
                m = re.fullmatch(r"(T\d+)\t(\S+) (\d+) (\d+)\t(.*)", line)
                assert m, line  # one span: no discontinuous fragments
                assert text[int(m[3]) : int(m[4])] == m[5] and m[2] in entities
                refs.add(m[1])
            elif line.startswith("R"):
                m = re.fullmatch(r"R\d+\t(\S+) Arg1:(T\d+) Arg2:(T\d+)", line)
                assert m and m[2] in refs and m[3] in refs, line
            else:
                assert re.fullmatch(r"#\d+\tAnnotatorNotes [TR]\d+\tscore=[0-9.]+", line), line
    (back,) = [d for d in read_brat_dir(out) if d.id == "Armées"]
    assert [(e.start, e.end, e.label) for e in back.entities] == [(e.start, e.end, e.label) for e in output_doc().entities]
    assert [(r.head, r.tail, r.label) for r in back.relations] == [(2, 4, "ACQUIRES_FROM")]


def test_brat_output_resumed_still_lists_the_labels_written_before(tmp_path) -> None:
    from defnlp.io.outputs import BratWriter

    out = tmp_path / "brat"
    with pytest.raises(KeyboardInterrupt), BratWriter(out, job={"j": 1}) as writer:
        writer.write(output_doc("one"))
        raise KeyboardInterrupt
    assert not (out / "annotation.conf").exists()
    with BratWriter(out, job={"j": 1}) as writer:
        assert writer.written_ids == ["one"]
        writer.write(Doc("Rien.", id="two"))
    assert "ROLE" in (out / "annotation.conf").read_text(encoding="utf-8")


def test_parquet_output_keeps_extra_input_fields_as_typed_columns(tmp_path) -> None:
    import pyarrow.parquet as pq

    from defnlp.io.outputs import ParquetWriter, parquet_schema

    out = tmp_path / "out.parquet"
    base = {"text": "Brest", "entities": [], "relations": []}
    with ParquetWriter(out, job={}) as writer:
        writer.write({**base, "id": "a", "meta": {"year": 2024, "score": 1, "ok": True, "tags": ["x"], "mix": 1, "text": "clash"}})
        writer.write({**base, "id": "b", "meta": {"year": 2023, "score": 0.5, "mix": "y", "site": "defense.gouv.fr"}})
        writer.write(ERROR)
    table = pq.read_table(out)
    assert table.schema.names == parquet_schema().names + ["year", "score", "ok", "tags", "mix", "site"]
    types = {f.name: str(f.type) for f in table.schema}
    assert (types["year"], types["score"], types["ok"], types["tags"], types["mix"]) == ("int64", "double", "bool", "string", "string")
    rows = table.to_pylist()
    assert [r["year"] for r in rows] == [2024, 2023, None] and [r["score"] for r in rows] == [1.0, 0.5, None]
    assert rows[0]["tags"] == '["x"]' and [r["mix"] for r in rows] == ["1", "y", None]
    assert json.loads(rows[0]["meta"]) == {"text": "clash"} and rows[1]["meta"] is None  # a clashing name stays in meta
