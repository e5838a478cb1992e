"""The ``defnlp`` command line on real files, with a tiny model trained in the fixture."""

import json
from pathlib import Path

import pytest

from defnlp.cli import main


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.", encoding="utf-8")
    (d / "b.txt").write_text("Nexter delivered 12 Caesar guns to Ukraine.\n", encoding="utf-8")
    (d / "empty.txt").write_text("", encoding="utf-8")
    (d / "binary.txt").write_bytes(b"%PDF-1.7\n\x00\x01\x02\x03binary\x00\x00")
    (d / "latin1.txt").write_bytes("Le ministre des Armées à Brest.".encode("latin-1"))
    (d / "docs.jsonl").write_text(
        '{"id": "j1", "text": "Le ministre des Armées a visité Brest."}\n'
        "this line is not JSON\n"
        '\n'
        '{"id": "j3", "text": ""}\n'
        '{"id": "j4", "text": 42}\n'
        '["not", "an", "object"]\n'
        '{"id": "j6", "text": "The Minister of Defence visited Toulon."}\n',
        encoding="utf-8",
    )
    return d


def run_annotate(tmp_path, model_dir, *args) -> list[dict]:
    out = tmp_path / "out.jsonl"
    code = main(["-q", "annotate", *map(str, args), "-o", str(out), "-m", str(model_dir)])
    assert code == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_annotate_txt_and_jsonl_one_record_per_input(tmp_path, inputs, tiny_ner_dir):
    records = run_annotate(tmp_path, tiny_ner_dir, inputs)
    ids = [r["id"] for r in records]
    assert ids == ["a.txt", "b.txt", "binary.txt", "j1", "docs.jsonl:2", "j3", "j4", "docs.jsonl:6", "j6", "empty.txt", "latin1.txt"]
    by_id = {r["id"]: r for r in records}
    for good in ("a.txt", "b.txt", "j1", "j6"):
        r = by_id[good]
        assert set(r) >= {"id", "lang", "text", "entities", "relations"}
        for e in r["entities"]:
            assert set(e) == {"start", "end", "label", "text", "score"}
            assert r["text"][e["start"] : e["end"]] == e["text"]
        for rel in r["relations"]:
            assert 0 <= rel["head"] < len(r["entities"]) and 0 <= rel["tail"] < len(r["entities"])
    assert by_id["a.txt"]["lang"] == "fr" and by_id["j6"]["lang"] == "en"
    expected_errors = {
        "binary.txt": "BinaryInputError",
        "docs.jsonl:2": "RecordFormatError",
        "j3": "EmptyInputError",
        "j4": "RecordFormatError",
        "docs.jsonl:6": "RecordFormatError",
        "empty.txt": "EmptyInputError",
        "latin1.txt": "InputEncodingError",
    }
    for rid, etype in expected_errors.items():
        assert by_id[rid]["error"]["type"] == etype
        assert by_id[rid]["error"]["hint"]


def test_annotate_with_explicit_encoding(tmp_path, tiny_ner_dir):
    f = tmp_path / "latin1.txt"
    f.write_bytes("Le ministre des Armées à Brest.".encode("latin-1"))
    out = tmp_path / "o.jsonl"
    assert main(["-q", "annotate", str(f), "-o", str(out), "-m", str(tiny_ner_dir), "--encoding", "latin-1"]) == 0
    (rec,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert rec["text"] == "Le ministre des Armées à Brest."


def test_existing_output_needs_overwrite(tmp_path, inputs, tiny_ner_dir, capsys):
    run_annotate(tmp_path, tiny_ner_dir, inputs / "a.txt")
    code = main(["-q", "annotate", str(inputs / "a.txt"), "-o", str(tmp_path / "out.jsonl"), "-m", str(tiny_ner_dir)])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err


def test_resume_after_interruption_writes_each_record_once(tmp_path, inputs, tiny_ner_dir, monkeypatch):
    from defnlp.io import outputs

    full = run_annotate(tmp_path, tiny_ner_dir, inputs)
    out = tmp_path / "out.jsonl"
    out.unlink()
    # a run interrupted (Ctrl-C) after 4 records, in the middle of writing the 5th
    real_write = outputs._ResumableFile.write

    def write(self, record):
        if self.done == 4:
            self._fh.write(b'{"id": "to')  # a torn record
            self._fh.flush()
            raise KeyboardInterrupt
        return real_write(self, record)

    monkeypatch.setattr(outputs._ResumableFile, "write", write)
    assert main(["-q", "annotate", str(inputs), "-o", str(out), "-m", str(tiny_ner_dir)]) == 130
    monkeypatch.undo()
    partial = out.with_name("out.jsonl.partial")
    assert partial.exists() and not out.exists()
    resumed = run_annotate(tmp_path, tiny_ner_dir, inputs)
    assert [r["id"] for r in resumed] == [r["id"] for r in full]
    assert not partial.exists()


def test_unknown_model_is_a_clean_error(tmp_path, inputs, capsys):
    code = main(["annotate", str(inputs / "a.txt"), "-o", str(tmp_path / "x.jsonl"), "-m", "no-such-model"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no defnlp model named" in err and "hint" in err


def test_missing_input_is_a_clean_error(tmp_path, tiny_ner_dir, capsys):
    code = main(["annotate", str(tmp_path / "nope.txt"), "-o", str(tmp_path / "x.jsonl"), "-m", str(tiny_ner_dir)])
    assert code == 2
    assert "input not found" in capsys.readouterr().err


def test_info_lists_environment(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"defnlp", "torch", "transformers", "device", "cache_dir", "models"} <= set(info)


def test_fine_tune_a_fresh_model_on_a_small_corpus_from_the_cli(tmp_path):
    """The fine-tuning guide's example, on the tiny encoder: train, then annotate with the result."""
    from defnlp.models import read_model_dir

    config = Path(__file__).resolve().parents[2] / "examples" / "fine-tuning" / "units-ner.toml"
    out = tmp_path / "units-ner"
    code = main(["-q", "train", "ner", str(config), "--set", "encoder=tiny-random-e5", "--set", 'init_from=""',
                 "--set", "epochs=2", "--set", "frozen_layers=1", "--set", f"output={json.dumps(str(out))}"])
    assert code == 0
    spec, _ = read_model_dir(out)
    assert spec.labels[-1] == "UNIT" and spec.encoder["name"] == "tiny-random-e5"
    assert len(spec.training["history"]) == 2 and "dev_f1" in spec.training["history"][0]
    assert spec.adapter["layers"] == [1]
    text = tmp_path / "t.txt"
    text.write_text("Le 3e régiment d'infanterie de marine a quitté Vannes.", encoding="utf-8")
    records = run_annotate(tmp_path, out, text)
    assert records[0]["id"] == "t.txt" and "entities" in records[0]


def test_evaluate_reads_gold_through_the_corpus_registry(tmp_path, tiny_ner_dir, capsys):
    """--data/--format and --corpus go through defnlp.io.corpora (no training code is imported)."""
    import subprocess
    import sys

    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "g1", "text": "Thales a livré Brest.", "entities": [{"start": 0, "end": 6, "label": "ORG"},
                                                                           {"start": 15, "end": 20, "label": "LOC"}]}) + "\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    assert main(["-q", "evaluate", "ner", "-m", str(tiny_ner_dir), "--data", str(gold), "--json", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))
    assert main(["evaluate", "ner", "-m", str(tiny_ner_dir), "--data", str(gold), "--format", "xml"]) == 2
    err = capsys.readouterr().err
    assert "unknown corpus reader 'xml'" in err and "jsonl" in err and "markup" in err
    assert main(["evaluate", "ner", "-m", str(tiny_ner_dir), "--corpus", "hansards:test"]) == 2
    assert "unknown corpus 'hansards'" in capsys.readouterr().err
    code = (
        "import argparse, sys\n"
        "from defnlp.cli.evaluate import load_gold\n"
        f"docs = load_gold(argparse.Namespace(corpus=None, data={str(gold)!r}, format='jsonl'))\n"
        "assert [d.id for d in docs] == ['g1'] and docs[0].meta['source'].startswith('jsonl:'), docs\n"
        "assert not [m for m in sys.modules if m.startswith('defnlp.training')], 'evaluate imported training code'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- issue 16: output-side failures are clear errors, outputs are exclusive and atomic ----------
def test_annotate_into_a_folder_is_a_clear_error_before_the_model_loads(tmp_path, inputs, capsys):
    (tmp_path / "out.jsonl").mkdir()
    code = main(["-q", "annotate", str(inputs / "a.txt"), "-o", str(tmp_path / "out.jsonl"), "-m", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err and "hint" in err and "Traceback" not in err


def test_annotate_on_an_output_another_job_holds_fails_at_once(tmp_path, inputs, capsys):
    from defnlp.io.outputs import OutputLock

    out = tmp_path / "out.jsonl"
    with OutputLock(out):
        code = main(["-q", "annotate", str(inputs / "a.txt"), "-o", str(out), "-m", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "another defnlp job is writing" in err and not out.exists()


def test_align_writes_its_output_atomically(tmp_path, monkeypatch):
    import defnlp.cli.align as align_cli

    fr, en = tmp_path / "fr.jsonl", tmp_path / "en.jsonl"
    fr.write_text('{"id": "a", "text": "La DGA."}\n{"id": "b", "text": "Brest."}\n', encoding="utf-8")
    en.write_text('{"id": "a", "text": "The DGA."}\n{"id": "b", "text": "Brest."}\n', encoding="utf-8")
    out = tmp_path / "links.jsonl"
    out.write_text("previous output\n", encoding="utf-8")
    calls = []

    def align_pair(level, record_id, *args):
        calls.append(record_id)
        if len(calls) == 2:
            raise align_cli.DefnlpError("the second pair failed")
        return {"id": record_id, "level": level, "links": []}

    monkeypatch.setattr(align_cli, "_align_pair", align_pair)
    assert main(["-q", "align", str(fr), str(en), "--level", "sentence", "-o", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "previous output\n"  # not half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.jsonl", "fr.jsonl", "links.jsonl"]


def test_evaluate_split_scores_only_that_split(tmp_path, tiny_ner_dir, capsys):
    gold = tmp_path / "gold.md"
    gold.write_text("=== doc: a | split: train\nLa [DGA]{ORG} à [Brest]{LOC}.\n"
                    "=== doc: b | split: dev\n[Thales]{ORG} à [Toulon]{LOC}.\n", encoding="utf-8")
    report = tmp_path / "r.json"
    assert main(["-q", "evaluate", "ner", "-m", str(tiny_ner_dir), "--data", str(gold), "--split", "dev",
                 "--json", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["n_docs"] == 1
    assert main(["evaluate", "ner", "-m", str(tiny_ner_dir), "--data", str(gold), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert "no document" in err and "dev, train" in err


def test_train_set_overrides_keys_of_tables(tmp_path):
    from defnlp.config import load_config
    from defnlp.errors import ConfigError
    from defnlp.training import NerTrainingConfig

    path = tmp_path / "c.toml"
    path.write_text('name = "x"\noutput = "o"\n[lora]\nr = 4\n[[train]]\nformat = "markup"\npath = "d.md"\n', encoding="utf-8")
    cfg = load_config(NerTrainingConfig, path, {"lora.r": 8, "rehearsal.enabled": False, "epochs": 2})
    assert (cfg.lora.r, cfg.rehearsal.enabled, cfg.epochs) == (8, False, 2)
    with pytest.raises(ConfigError, match=r"rehearsal: unknown key\(s\) nope"):
        load_config(NerTrainingConfig, path, {"rehearsal.nope": 1})
    with pytest.raises(ConfigError, match="not a table"):
        load_config(NerTrainingConfig, path, {"name.x": 1})


def test_annotate_no_person_names_reaches_the_pipeline(tmp_path, inputs, tiny_ner_dir, monkeypatch):
    """--no-person-names loads the pipeline with person_names=False (the default run: True)."""
    import defnlp.pipeline

    seen = []
    real_load = defnlp.pipeline.load
    monkeypatch.setattr(defnlp.pipeline, "load", lambda name, **kw: seen.append(kw["person_names"]) or real_load(name, **kw))
    out = tmp_path / "out.jsonl"
    assert main(["-q", "annotate", str(inputs / "a.txt"), "-o", str(out), "-m", str(tiny_ner_dir), "--no-person-names"]) == 0
    assert main(["-q", "annotate", str(inputs / "a.txt"), "-o", str(tmp_path / "b.jsonl"), "-m", str(tiny_ner_dir)]) == 0
    assert seen == [False, True]
