"""Issue 18, CLI polish: progress totals, --data-dir, model options taken as typed, format guessing,
quiet third-party libraries, the command list, and `defnlp export`."""

import json
import logging
import re
import shutil
import warnings
from pathlib import Path

import pytest

from defnlp.cli import build_parser, leaf_parsers, main

ROOT = Path(__file__).resolve().parents[2]


class RecordingBar:
    """Stands in for tqdm: records the totals and steps a command reports."""

    made: list["RecordingBar"] = []

    def __init__(self, iterable=None, total=None, disable=None, initial=0, **kwargs) -> None:
        self.iterable, self.total, self.disable, self.n = iterable, total, False, initial
        self.desc = kwargs.get("desc")
        RecordingBar.made.append(self)

    def __iter__(self):
        for item in self.iterable:
            self.n += 1
            yield item

    def update(self, k=1) -> None:
        self.n += k

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


@pytest.fixture()
def bars(monkeypatch):
    import tqdm.auto

    RecordingBar.made = []
    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    return RecordingBar.made


# ---- progress bars ---------------------------------------------------------------------------------
def test_count_records_is_cheap_and_close(tmp_path):
    from defnlp.batch import count_records

    (tmp_path / "a.jsonl").write_bytes(b'{"text": "a"}\n\n{"text": "b"}\n\n\n{"text": "c"}')  # 3, no final newline
    (tmp_path / "b.csv").write_text("id,text\n1,a\n2,b\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("Brest", encoding="utf-8")
    (tmp_path / "notes.bin").write_bytes(b"\x00")  # not read in a folder
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["x"] * 7}), tmp_path / "d.parquet")
    files = sorted(str(p) for p in tmp_path.iterdir())
    assert count_records(files, [tmp_path]) == 3 + 2 + 1 + 7
    assert count_records([tmp_path / "notes.bin"], [tmp_path / "notes.bin"]) == 1  # named: one error record


def test_annotate_bar_has_the_total_and_ends_exact(tmp_path, tiny_nlp, bars):
    from defnlp.batch import annotate_files

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("La DGA à Brest.", encoding="utf-8")
    (src / "docs.jsonl").write_text('{"id": "j1", "text": "Brest."}\n   \n{"id": "j2", "text": "Toulon."}\n', encoding="utf-8")
    annotate_files([src], tmp_path / "out.jsonl", nlp=tiny_nlp, progress=True)
    (bar,) = [b for b in bars if b.desc == "annotating"]
    assert bar.n == 3 and bar.total == 3  # the line of spaces counted, then corrected to what was read


def test_align_has_a_bar_over_the_pairs(tmp_path, monkeypatch, bars):
    import defnlp.cli.align as align_cli

    fr, en = tmp_path / "fr.jsonl", tmp_path / "en.jsonl"
    fr.write_text('{"id": "a", "text": "La DGA."}\n{"id": "b", "text": "Brest."}\n', encoding="utf-8")
    en.write_text('{"id": "a", "text": "The DGA."}\n{"id": "b", "text": "Brest."}\n', encoding="utf-8")
    monkeypatch.setattr(align_cli, "_align_pair", lambda level, rid, *a: {"id": rid, "level": level, "links": []})
    assert main(["align", str(fr), str(en), "-o", str(tmp_path / "links.jsonl")]) == 0
    (bar,) = [b for b in bars if (b.desc or "").startswith("aligning")]
    assert bar.total == 2 and bar.n == 2


# ---- --data-dir ------------------------------------------------------------------------------------
def test_every_command_takes_data_dir_as_the_hint_says():
    from defnlp.errors import DataNotFoundError

    assert "--data-dir" in DataNotFoundError.default_hint
    commands = leaf_parsers(build_parser())
    assert {"annotate", "evaluate ner", "evaluate relations", "train ner", "align", "export", "info"} <= set(commands)
    for name, parser in commands.items():
        assert any("--data-dir" in a.option_strings for a in parser._actions), name


def test_data_dir_is_the_folder_the_command_reads(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DEFNLP_DATA_DIR", raising=False)
    empty = tmp_path / "corpora"
    empty.mkdir()
    assert main(["evaluate", "ner", "--corpus", "wikigold", "--data-dir", str(empty)]) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and "Traceback" not in err
    assert main(["info", "--json", "--data-dir", str(tmp_path / "missing")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert main(["info", "--json", "--data-dir", str(empty)]) == 0
    assert json.loads(capsys.readouterr().out)["data_dir"] == str(empty.resolve())
    import os

    assert "DEFNLP_DATA_DIR" not in os.environ  # restored after the command


# ---- models taken as typed -------------------------------------------------------------------------
@pytest.fixture()
def models_root(tmp_path, tiny_ner_dir, monkeypatch):
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(tiny_ner_dir, root / "mine-ner")
    monkeypatch.setenv("DEFNLP_MODELS_DIR", str(root))
    return root


def test_model_names_are_taken_exactly_as_typed(tmp_path, models_root):
    from defnlp.cli.model_args import resolve_model
    from defnlp.errors import ModelNotFoundError

    assert resolve_model("mine") == (models_root / "mine-ner", None)  # a pipeline name
    assert resolve_model("mine-ner") == (models_root / "mine-ner", None)  # that model
    assert resolve_model(str(models_root / "mine-ner"))[0] == models_root / "mine-ner"
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("mine-ner-ner")
    assert "'mine-ner-ner'" in err.value.message and "-ner-ner-ner" not in str(err.value)
    assert "pipelines: mine" in err.value.hint and "mine-ner" in err.value.hint
    with pytest.raises(ModelNotFoundError):
        resolve_model(str(models_root / "mine"))  # a path is never completed with -ner


def test_annotate_ner_model_and_re_model(tmp_path, tiny_ner_dir, tiny_markup_file, capsys):
    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    data = [DataSource(format="markup", path=str(tiny_markup_file))]
    re_dir = train_relations(RelationTrainingConfig(name="tiny-re", output=str(tmp_path / "tiny-re"), ner_model=str(tiny_ner_dir),
                                                    epochs=1, lr=5e-3, train=data, dev=data, proj=16, mlp=16, dropout=0.0))
    text = tmp_path / "t.txt"
    text.write_text("Le ministre des Armées, Claire Dumont, a visité Brest avec la DGA.", encoding="utf-8")
    loaded = []
    import defnlp.pipeline

    real_load = defnlp.pipeline.load

    def spy(name, **kw):
        rel = kw.get("relations")
        loaded.append((Path(str(name)), Path(rel) if isinstance(rel, str) else rel))
        return real_load(name, **kw)

    out = tmp_path / "o.jsonl"
    import unittest.mock

    with unittest.mock.patch.object(defnlp.pipeline, "load", spy):
        assert main(["-q", "annotate", str(text), "-o", str(out), "--ner-model", str(tiny_ner_dir), "--re-model", str(re_dir)]) == 0
        assert main(["-q", "annotate", str(text), "-o", str(tmp_path / "n.jsonl"), "--ner-model", str(tiny_ner_dir)]) == 0
    assert loaded == [(Path(tiny_ner_dir), Path(re_dir)), (Path(tiny_ner_dir), False)]
    assert json.loads(out.read_text(encoding="utf-8"))["entities"]
    capsys.readouterr()
    both = ["-q", "annotate", str(text), "-o", str(tmp_path / "x.jsonl"), "--model", "defence-v2", "--ner-model", str(tiny_ner_dir)]
    assert main(both) == 2 and "either --model" in capsys.readouterr().err
    contradiction = ["-q", "annotate", str(text), "-o", str(tmp_path / "y.jsonl"), "--re-model", str(re_dir), "--no-relations"]
    assert main(contradiction) == 2 and "contradict" in capsys.readouterr().err
    assert main(["-q", "annotate", str(text), "-o", str(tmp_path / "z.jsonl"), "--ner-model", "no-such-ner"]) == 2
    assert "--ner-model: no defnlp model named 'no-such-ner'" in capsys.readouterr().err


# ---- evaluate: formats from the name, files named in errors -----------------------------------------
def test_evaluate_guesses_the_format(tmp_path):
    from defnlp.cli.evaluate import guess_format, read_gold_file
    from defnlp.errors import ConfigError

    (tmp_path / "g.conll").write_text("-DOCSTART- -X- O O\n\nLa O\nDGA B-ORG\n\nà O\nBrest B-LOC\n\n", encoding="utf-8")
    (tmp_path / "g.bio").write_text("Brest B-LOC\n", encoding="utf-8")
    (tmp_path / "g.jsonl").write_text('{"id": "a", "text": "Brest", "entities": [{"start": 0, "end": 5, "label": "LOC"}]}\n')
    (tmp_path / "g.md").write_text("=== doc: m1 | lang: fr\nLa [DGA]{ORG} à [Brest]{LOC}.\n", encoding="utf-8")
    brat = tmp_path / "brat"
    brat.mkdir()
    (brat / "d1.txt").write_text("La DGA à Brest.", encoding="utf-8")
    (brat / "d1.ann").write_text("T1\tORG 3 6\tDGA\nT2\tLOC 9 14\tBrest\n", encoding="utf-8")
    expected = {"g.conll": "conll", "g.bio": "conll", "g.jsonl": "jsonl", "g.md": "markup", "brat": "brat",
                "brat/d1.ann": "brat", "brat/d1.txt": "brat"}
    for name, fmt in expected.items():
        assert guess_format(tmp_path / name) == fmt, name
    labels = {name: sorted(e.label for d in read_gold_file(tmp_path / name) for e in d.entities) for name in expected}
    assert labels["g.conll"] == labels["brat"] == labels["brat/d1.ann"] == labels["g.md"] == ["LOC", "ORG"]
    with pytest.raises(ConfigError, match="--format"):
        guess_format(tmp_path / "g.xml")


@pytest.mark.parametrize("name, content, where", [
    ("bad.conll", "La O\nBrest B_LOC\n", "bad.conll:2"),
    ("bad.ann", "T1\tLOC five 14\tBrest\n", "bad.ann:1"),
    ("bad.md", "=== doc: x | lang: fr\nLa [DGA{ORG} à Brest.\n", "bad.md"),
    ("bad.jsonl", '{"id": "a", "text": "Brest"}\nnot json\n', "bad.jsonl"),
])
def test_evaluate_parse_errors_name_the_file(tmp_path, capsys, name, content, where):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    if name.endswith(".ann"):
        path.with_suffix(".txt").write_text("La DGA à Brest.", encoding="utf-8")
    assert main(["evaluate", "ner", "--data", str(path), "-m", "no-model-needed"]) == 2
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err


# ---- logs and warnings -----------------------------------------------------------------------------
def test_third_party_warnings_do_not_leak_but_ours_do(monkeypatch, caplog):
    import defnlp.cli.info as info_cli

    def noisy(args):
        warnings.warn_explicit("TypedStorage is deprecated", UserWarning, "torch/storage.py", 1, module="torch.storage")
        warnings.warn_explicit("old API", FutureWarning, "transformers/x.py", 1, module="transformers.modeling_utils")
        logging.getLogger("transformers.modeling_utils").warning("Some weights of the model were not initialized")
        warnings.warn_explicit("defnlp says so", UserWarning, "defnlp/x.py", 1, module="defnlp.x")
        return 0

    monkeypatch.setattr(info_cli, "run", noisy)
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(["info"]) == 0
    assert [str(w.message) for w in shown] == ["defnlp says so"]
    assert not [r for r in caplog.records if r.name.startswith("transformers")]


def test_annotate_prints_its_figures_once(tmp_path, tiny_ner_dir, capsys, caplog):
    text = tmp_path / "t.txt"
    text.write_text("La DGA à Brest.", encoding="utf-8")
    with caplog.at_level(logging.INFO):
        assert main(["annotate", str(text), "-o", str(tmp_path / "o.jsonl"), "--ner-model", str(tiny_ner_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 1 and summary["seconds"] == round(summary["seconds"], 2)
    assert not [r for r in caplog.records if "annotated" in r.getMessage() and r.levelno >= logging.INFO]


# ---- README and docs -------------------------------------------------------------------------------
def test_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `defnlp (\w+)", section, flags=re.M))
    top = {name.split()[0] for name in leaf_parsers(build_parser())}
    assert listed == top


# ---- export ----------------------------------------------------------------------------------------
def test_export_loads_with_transformers_and_gives_the_same_entities(tmp_path, tiny_ner_dir, tiny_nlp, capsys):
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from defnlp.ner.decoding import decode_entities
    from defnlp.ner.tagging import trimmed_token_spans
    from defnlp.tags import TagSet

    out = tmp_path / "hf"
    assert main(["export", str(tiny_ner_dir), str(out)]) == 0
    assert "exported tiny-ner" in capsys.readouterr().out
    model = AutoModelForTokenClassification.from_pretrained(out).eval()
    tok = AutoTokenizer.from_pretrained(out)
    tagset = TagSet([t[2:] for t in model.config.id2label.values() if t.startswith("B-")])
    texts = ["La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.", "Nexter delivered 12 Caesar guns to Ukraine."]
    for text in texts:
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        ids = torch.tensor([[tok.cls_token_id] + enc["input_ids"] + [tok.sep_token_id]])
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, 1:-1]
        ents = decode_entities(tagset, text, trimmed_token_spans(text, enc["offset_mapping"]), torch.log_softmax(logits, -1).numpy())
        assert [(e.start, e.end, e.label) for e in ents] == [(e.start, e.end, e.label) for e in tiny_nlp(text).entities]
    assert main(["export", str(tiny_ner_dir), str(out)]) == 2  # not empty
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", "no-such-model", str(tmp_path / "x")]) == 2
    assert "no defnlp model named 'no-such-model'" in capsys.readouterr().err


# ---- CoNLL and brat outputs re-read by defnlp evaluate -----------------------------------------------
def test_conll_and_brat_outputs_are_read_back_by_evaluate(tmp_path, tiny_ner_dir, capsys):
    src = tmp_path / "docs.jsonl"
    src.write_text('{"id": "d/1", "text": "La DGA a commandé 42 Griffon à KNDS. Le ministre des Armées a visité Brest."}\n'
                   '{"id": "d/2", "text": "Nexter delivered 12 Caesar guns to Ukraine in 2023."}\n', encoding="utf-8")
    conll, brat = tmp_path / "out.conll", tmp_path / "brat"
    model = ["--ner-model", str(tiny_ner_dir)]
    assert main(["-q", "annotate", str(src), "-o", str(conll), *model]) == 0
    assert main(["-q", "annotate", str(src), "-o", str(brat), "--format", "brat", *model]) == 0
    assert sorted(p.name for p in brat.iterdir()) == ["annotation.conf", "d%2F1.ann", "d%2F1.txt", "d%2F2.ann", "d%2F2.txt"]
    written = sum(len(line.split("\t")) > 1 and line.startswith("T") for f in brat.glob("*.ann") for line in f.read_text().splitlines())
    reports = {}
    for name, data in (("conll", conll), ("brat", brat)):
        report = tmp_path / f"{name}.json"
        assert main(["-q", "evaluate", "ner", "--data", str(data), *model, "--json", str(report)]) == 0
        reports[name] = json.loads(report.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert written > 0
    assert reports["brat"]["micro"]["f1"] == 1.0  # the same model on the same text
    assert reports["conll"]["micro"]["support"] == reports["brat"]["micro"]["support"] == written
