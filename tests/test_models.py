"""Model directories fail closed: every file hashed, encoder references inside the model
directory, every weights or card problem a ModelError with a hint (never a raw parser error)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from defnlp.encoders import resolve_encoder
from defnlp.errors import IntegrityError, ModelError, UnsafeModelError
from defnlp.integrity import write_manifest
from defnlp.models import ModelSpec, read_model_dir, write_model_dir
from defnlp.ner.model import load_ner
from defnlp.relations.model import RelationHead, head_tensors, load_relations


@pytest.fixture()
def model(tiny_ner_dir, tmp_path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(tiny_ner_dir, dst)
    return dst


@pytest.fixture(scope="module")
def tiny_ner(tiny_ner_dir, tmp_path_factory):
    """The tiny NER model loaded from a resealed copy: resealing alone refuses nothing."""
    dst = tmp_path_factory.mktemp("resealed") / "model"
    shutil.copytree(tiny_ner_dir, dst)
    reseal(dst)
    return load_ner(str(dst))


def reseal(directory: Path) -> None:
    """A manifest listing every file, so that only the check under test can refuse the directory."""
    names = [p.relative_to(directory).as_posix() for p in directory.rglob("*")
             if p.is_file() and p != directory / "manifest.json"]
    write_manifest(directory, names)


def edit_card(directory: Path, change) -> None:
    card = json.loads((directory / "defnlp.json").read_text())
    change(card)
    (directory / "defnlp.json").write_text(json.dumps(card))
    reseal(directory)


def edit_weights(directory: Path, change) -> None:
    tensors = load_file(str(directory / "weights.safetensors"))
    change(tensors)
    save_file(tensors, str(directory / "weights.safetensors"))
    reseal(directory)


def refused(directory: Path, error=ModelError, match: str | None = None) -> ModelError:
    with pytest.raises(error, match=match) as info:
        load_ner(str(directory))
    assert info.value.hint, "every refusal says what to do"
    return info.value


def test_a_resealed_copy_loads(tiny_ner):
    assert tiny_ner.spec.name == "tiny-ner"


# --- the manifest lists every file the loader reads ---------------------------------------------
def test_a_manifest_listing_no_files_is_refused(model):
    write_manifest(model, [])
    refused(model, IntegrityError, "lists no files")


@pytest.mark.parametrize("omitted", ["weights.safetensors", "defnlp.json"])
def test_a_manifest_omitting_the_weights_or_the_card_is_refused(model, omitted):
    write_manifest(model, [p.name for p in model.iterdir() if p.name not in ("manifest.json", omitted)])
    refused(model, IntegrityError, f"does not list .*{omitted}|{omitted} is not listed")


def test_an_unlisted_file_is_refused(model):
    (model / "extra.safetensors").write_bytes((model / "weights.safetensors").read_bytes())
    refused(model, IntegrityError, "extra.safetensors is not listed")


def test_weights_swapped_for_an_unlisted_file_are_refused(model):
    shutil.copy(model / "weights.safetensors", model / "other.safetensors")
    reseal(model)
    (model / "manifest.json").write_text(json.dumps({"format": 1, "files": {
        "defnlp.json": json.loads((model / "manifest.json").read_text())["files"]["defnlp.json"]}}))
    edit = json.loads((model / "defnlp.json").read_text())
    edit["weights"] = "other.safetensors"
    (model / "defnlp.json").write_text(json.dumps(edit))
    write_manifest(model, ["defnlp.json", "weights.safetensors"])
    refused(model, IntegrityError, "other.safetensors")


# --- the card's encoder reference stays inside the model directory ----------------------------------
@pytest.fixture()
def outside_encoder(tmp_path) -> Path:
    """A real copy of the tiny encoder (same sha256 as the model's card) outside the model directory."""
    dst = tmp_path / "enc"
    shutil.copytree(resolve_encoder("tiny-random-e5").path, dst)
    return dst


def test_an_absolute_encoder_path_is_refused(model, outside_encoder):
    edit_card(model, lambda c: c["encoder"].update(name=str(outside_encoder)))
    err = refused(model, UnsafeModelError, "outside the model directory")
    assert "alias" in err.hint


def test_a_relative_encoder_path_escaping_the_model_is_refused(model, outside_encoder):
    edit_card(model, lambda c: c["encoder"].update(name="../enc"))
    refused(model, UnsafeModelError, "outside the model directory")


def test_an_encoder_reference_resolves_in_the_model_directory_not_the_working_directory(model, outside_encoder,
                                                                                        monkeypatch):
    monkeypatch.chdir(outside_encoder.parent)  # "enc" exists in the working directory, not in the model
    edit_card(model, lambda c: c["encoder"].update(name="enc"))
    refused(model, ModelError, "not a built-in alias")


def test_an_encoder_inside_the_model_directory_or_an_explicit_override_is_used(model, outside_encoder):
    shutil.copytree(outside_encoder, model / "encoder")
    edit_card(model, lambda c: c["encoder"].update(name="encoder"))
    assert resolve_encoder("encoder", model_dir=model).path == str((model / "encoder").resolve())
    shutil.rmtree(model / "encoder")
    edit_card(model, lambda c: c["encoder"].update(name=str(outside_encoder)))
    assert load_ner(str(model), encoder=str(outside_encoder)).encoder.info.path == str(outside_encoder.resolve())


# --- every weights problem is a ModelError ------------------------------------------------------------
def test_a_pickle_renamed_safetensors_is_refused(model):
    (model / "weights.safetensors").write_bytes(pickle.dumps({"ner.proj.weight": [0.0]}))
    reseal(model)
    refused(model, UnsafeModelError, "pickle")


def test_a_truncated_weights_file_is_refused(model):
    data = (model / "weights.safetensors").read_bytes()
    (model / "weights.safetensors").write_bytes(data[: len(data) // 2])
    reseal(model)
    refused(model, ModelError, "truncated")


def test_a_huge_header_is_refused(model):
    data = (model / "weights.safetensors").read_bytes()
    (model / "weights.safetensors").write_bytes((10**12).to_bytes(8, "little") + data[8:])
    reseal(model)
    refused(model, ModelError, "header claims")


@pytest.mark.parametrize("content", [b"{not json", b"[" * 100_000, b"\xff\xfe{}", b"[]"])
def test_a_card_that_is_not_a_json_object_is_refused(model, content):
    (model / "defnlp.json").write_bytes(content)
    reseal(model)
    refused(model, ModelError, "defnlp.json")


@pytest.mark.parametrize("name, change, message", [
    ("nan", lambda t: t["ner.proj.weight"].__setitem__((0, 0), float("nan")), "non-finite"),
    ("inf", lambda t: t["ner.proj.bias"].__setitem__(0, float("inf")), "non-finite"),
    ("nan-lora", lambda t: next(v for k, v in t.items() if k.startswith("lora.")).fill_(float("nan")), "non-finite"),
    ("int", lambda t: t.update({"ner.proj.bias": t["ner.proj.bias"].to(torch.int64)}), "dtype"),
    ("broadcast", lambda t: t.update({"ner.proj.bias": t["ner.proj.bias"][:1].clone()}), "shape"),
    ("rows", lambda t: t.update({"ner.proj.weight": t["ner.proj.weight"][:1].clone()}), "shape"),
    ("missing", lambda t: t.pop("ner.proj.bias"), "missing"),
    ("stray", lambda t: t.update({"code.payload": torch.zeros(2)}), "unexpected tensors"),
    ("lora-extra", lambda t: t.update({k.replace("layer.0.", "layer.9."): v.clone() for k, v in list(t.items())
                                       if k.startswith("lora.encoder.layer.0.")}), "do not match the card"),
])
def test_wrong_tensors_are_refused(model, name, change, message):
    edit_weights(model, change)
    refused(model, ModelError, message)


# --- card values are checked on load --------------------------------------------------------------
@pytest.mark.parametrize("name, change, message", [
    ("max_tokens-str", lambda c: c.update(max_tokens="abc"), "max_tokens"),
    ("max_tokens-zero", lambda c: c.update(max_tokens=0), "max_tokens"),
    ("max_tokens-bool", lambda c: c.update(max_tokens=True), "max_tokens"),
    ("overlap-negative", lambda c: c.update(overlap=-1), "overlap"),
    ("labels-dict", lambda c: c.update(labels={"PER": 0, "ORG": 1}), "labels"),
    ("labels-nested", lambda c: c.update(labels=[["PER"]]), "labels"),
    ("labels-duplicate", lambda c: c.update(labels=["PER", "PER"]), "labels"),
    ("encoder-sha", lambda c: c["encoder"].update(sha256=12), "sha256"),
    ("head-tags", lambda c: c["head"].update(tags=["O", "B-X"]), "does not match its labels"),
    ("lora-layers", lambda c: c["adapter"].update(layers=[99]), "out of range"),
    ("lora-layers-str", lambda c: c["adapter"].update(layers="all"), "layers"),
    ("lora-targets", lambda c: c["adapter"].update(targets=["query", "no_such_module"]), "unknown LoRA target"),
    ("lora-alpha", lambda c: c["adapter"].update(alpha="abc"), "alpha"),
    ("lora-r", lambda c: c["adapter"].update(r=-4), "'r'"),
    ("lora-unknown-key", lambda c: c["adapter"].update(rank=4), "malformed"),
    ("adapter-type", lambda c: c["adapter"].update(type="evil"), "unknown adapter type"),
    ("full-layers", lambda c: c.update(adapter={"type": "full", "layers": [-1]}), "layers"),
])
def test_bad_card_values_are_refused(model, name, change, message):
    edit_card(model, change)
    refused(model, ModelError, message)


def test_card_errors_are_found_without_loading_anything(model):
    edit_card(model, lambda c: c.update(max_tokens="abc"))
    with pytest.raises(ModelError, match="max_tokens") as err:
        read_model_dir(model)
    assert "abc" in str(err.value)


# --- relation models ----------------------------------------------------------------------------
@pytest.fixture()
def relation_model(tiny_ner, tmp_path) -> Path:
    """A tiny relation model written on the spot for the tiny NER model (untrained head)."""
    head = RelationHead(tiny_ner.encoder.info.hidden_size, tiny_ner.spec.labels, ["PART_OF"],
                        proj=8, mlp=8, label_dim=4)
    spec = ModelSpec(name="tiny-re-x", task="relations", labels=["PART_OF"], encoder=dict(tiny_ner.spec.encoder),
                     head={**head.config, "entity_labels": list(tiny_ner.spec.labels), "threshold": 0.5,
                           "max_sentence_distance": 1, "type": "span-pair-mlp"},
                     depends_on={"name": tiny_ner.spec.name, "sha256": tiny_ner.weights_sha256})
    return write_model_dir(tmp_path / "re", spec, head_tensors(head))


def test_a_written_relation_model_loads(relation_model, tiny_ner):
    assert load_relations(str(relation_model), tiny_ner).head.relation_labels == ["PART_OF"]


@pytest.mark.parametrize("name, change, message", [
    ("proj-str", lambda c: c["head"].update(proj="abc"), "'proj'"),
    ("mlp-zero", lambda c: c["head"].update(mlp=0), "'mlp'"),
    ("proj-huge", lambda c: c["head"].update(proj=10**12), "'proj'"),
    ("threshold", lambda c: c["head"].update(threshold="high"), "threshold"),
    ("distance", lambda c: c["head"].update(max_sentence_distance=-2), "max_sentence_distance"),
    ("entity-labels", lambda c: c["head"].update(entity_labels="PER"), "entity_labels"),
    ("adapter", lambda c: c.update(adapter={"type": "lora"}), "adapter"),
    ("sizes", lambda c: c["head"].update(proj=16), "shapes"),
    ("ensemble-zero", lambda c: c["head"].update(ensemble=0), "'ensemble'"),
    ("ensemble-bool", lambda c: c["head"].update(ensemble=True), "'ensemble'"),
    ("ensemble-count", lambda c: c["head"].update(ensemble=2), "do not fit the card"),
])
def test_bad_relation_cards_are_refused(relation_model, tiny_ner, name, change, message):
    edit_card(relation_model, change)
    with pytest.raises(ModelError, match=message) as err:
        load_relations(str(relation_model), tiny_ner)
    assert err.value.hint


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update({"payload": torch.zeros(1)}), "unexpected"),
    (lambda t: t.pop("re.mlp.4.bias"), "missing"),
    (lambda t: t["re.mlp.4.bias"].fill_(float("nan")), "non-finite"),
])
def test_wrong_relation_tensors_are_refused(relation_model, tiny_ner, change, message):
    edit_weights(relation_model, change)
    with pytest.raises(ModelError, match=message):
        load_relations(str(relation_model), tiny_ner)
