"""``defnlp align`` end to end on small files: record shape, offsets, errors."""

import json

import pytest

from defnlp.cli import main

FR_TEXT = "La France a signé une lettre d'intention. Le texte sera publié demain."
EN_TEXT = "France signed a Letter of Intent. The text will be published tomorrow."


@pytest.fixture()
def files(tmp_path):
    fr, en = tmp_path / "fr.txt", tmp_path / "en.txt"
    fr.write_text(FR_TEXT, encoding="utf-8")
    en.write_text(EN_TEXT, encoding="utf-8")
    return tmp_path, fr, en


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_offsets(record):
    for link in record["links"]:
        extra = {"evidence", "many_to_one"} if record["level"] == "entity" else set()
        assert set(link) == {"fr", "en", "score", "fr_entities", "en_entities"} | extra
        for side in ("fr", "en"):
            text = record[side]["text"]
            for a, b in link[side]:
                assert 0 <= a < b <= len(text) and text[a:b].strip() == text[a:b]


def test_sentence_level(files):
    tmp, fr, en = files
    out = tmp / "out.jsonl"
    assert main(["-q", "align", str(fr), str(en), "--level", "sentence", "--output", str(out)]) == 0
    (record,) = read(out)
    assert record["level"] == "sentence" and set(record) == {"id", "level", "fr", "en", "links"}
    check_offsets(record)
    assert [len(l["fr"]) for l in record["links"]] == [1, 1]
    assert record["links"][0]["score"] > 0.5
    assert len(record["fr"]["sentences"]) == 2


def test_word_level_with_the_tiny_encoder(files):
    tmp, fr, en = files
    out = tmp / "words.jsonl"
    assert main(["-q", "align", str(fr), str(en), "--level", "word", "--encoder", "tiny-random-e5", "--layer", "1", "-o", str(out)]) == 0
    (record,) = read(out)
    assert record["level"] == "word" and record["links"]
    check_offsets(record)
    assert all(len(l["fr"]) == 1 and len(l["en"]) == 1 for l in record["links"])


def test_entity_level_on_annotated_jsonl(tmp_path):
    fr = {"id": "d1", "text": "L'OTAN en Corse.", "entities": [{"start": 2, "end": 6, "label": "ORG"}, {"start": 10, "end": 15, "label": "LOC"}]}
    en = {"id": "d1", "text": "NATO in Corsica.", "entities": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 8, "end": 15, "label": "LOC"}]}
    (tmp_path / "fr.jsonl").write_text(json.dumps(fr) + "\n", encoding="utf-8")
    (tmp_path / "en.jsonl").write_text(json.dumps(en) + "\n", encoding="utf-8")
    out = tmp_path / "ents.jsonl"
    code = main(["-q", "align", str(tmp_path / "fr.jsonl"), str(tmp_path / "en.jsonl"), "--level", "entity",
                 "--encoder", "tiny-random-e5", "--layer", "1", "-o", str(out)])
    assert code == 0
    (record,) = read(out)
    check_offsets(record)
    assert record["id"] == "d1"
    assert sorted((l["fr_entities"], l["en_entities"]) for l in record["links"]) == [([0], [0]), ([1], [1])]


def test_mismatched_inputs_are_reported(tmp_path, capsys):
    (tmp_path / "fr.jsonl").write_text('{"text": "Un."}\n{"text": "Deux."}\n', encoding="utf-8")
    (tmp_path / "en.jsonl").write_text('{"text": "One."}\n', encoding="utf-8")
    assert main(["align", str(tmp_path / "fr.jsonl"), str(tmp_path / "en.jsonl")]) == 2
    assert "same number of records" in capsys.readouterr().err


def test_missing_and_empty_files(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    assert main(["align", str(tmp_path / "nope.txt"), str(tmp_path / "empty.txt")]) == 2
    assert main(["align", str(tmp_path / "empty.txt"), str(tmp_path / "empty.txt")]) == 2
    err = capsys.readouterr().err
    assert "input not found" in err and "empty" in err


def test_jsonl_inputs_are_read_by_the_shared_reader(tmp_path, capsys):
    """Bad JSONL lines name file:line; records without an id get one; blank texts are refused."""
    from defnlp.cli.align import _read_docs

    fr = tmp_path / "fr.jsonl"
    fr.write_text('{"text": "Un."}\n\n{"id": "x", "text": "Deux.", "lang": "en", "entities": []}\n', encoding="utf-8")
    assert [(d.id, d.lang, annotated) for d, annotated in _read_docs(str(fr), "fr", None)] == [
        ("fr.jsonl:1", "fr", False), ("x", "en", True),
    ]
    en = tmp_path / "en.jsonl"
    for content, message in (('{"text": "One."}\nnot json\n', "en.jsonl:2: not valid JSON"),
                             ('{"text": "One."}\n{"text": " "}\n', "en.jsonl:2: the text is empty"),
                             ('{"text": "One."}\n"text"\n', "en.jsonl:2: expected a JSON object")):
        en.write_text(content, encoding="utf-8")
        assert main(["align", str(fr), str(en)]) == 2
        assert message in capsys.readouterr().err
