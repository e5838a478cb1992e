"""Manifests and safetensors files fail closed: nothing unlisted, nothing unhashed, no raw parser errors."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from defnlp.errors import IntegrityError, ModelError, UnsafeModelError
from defnlp.integrity import check_safetensors, read_json_file, verify_manifest, write_manifest


@pytest.fixture()
def weights(tmp_path) -> Path:
    path = tmp_path / "weights.safetensors"
    save_file({"a": torch.ones(3, 4), "b": torch.zeros(2)}, str(path))
    return path


# --- manifests ----------------------------------------------------------------------------------
def test_a_manifest_that_lists_no_files_is_refused(tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"x")
    write_manifest(tmp_path, [])
    with pytest.raises(IntegrityError, match="lists no files") as err:
        verify_manifest(tmp_path)
    assert err.value.hint


def test_a_manifest_must_list_the_files_the_loader_reads(tmp_path):
    for name in ("defnlp.json", "weights.safetensors"):
        (tmp_path / name).write_bytes(b"x")
    write_manifest(tmp_path, ["defnlp.json"])
    assert verify_manifest(tmp_path, required=["defnlp.json"])
    with pytest.raises(IntegrityError, match="does not list weights.safetensors"):
        verify_manifest(tmp_path, required=["defnlp.json", "weights.safetensors"])


def test_a_complete_manifest_refuses_unlisted_files(tmp_path):
    (tmp_path / "defnlp.json").write_text("{}")
    write_manifest(tmp_path, ["defnlp.json"])
    assert verify_manifest(tmp_path, complete=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(IntegrityError, match="extra.safetensors is not listed") as err:
        verify_manifest(tmp_path, complete=True)
    assert "remove extra.safetensors" in err.value.hint


@pytest.mark.parametrize("content", [
    "[" * 100_000,                                    # RecursionError in the JSON parser
    '{"files": {"defnlp.json": 5}}',                  # a digest that is not a string
    '{"files": {"defnlp.json": "abc"}}',              # nor 64 hex digits
    '["files"]',
    "\udcff not utf-8",
])
def test_a_malformed_manifest_is_an_integrity_error(tmp_path, content):
    (tmp_path / "defnlp.json").write_text("{}")
    (tmp_path / "manifest.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(IntegrityError, match="manifest"):
        verify_manifest(tmp_path)


def test_json_files_are_read_with_model_errors_only(tmp_path):
    path = tmp_path / "x.json"
    for content in (b"{not json", b"\xff\xfe", b"[" * 50_000):
        path.write_bytes(content)
        with pytest.raises(ModelError, match="x.json"):
            read_json_file(path)
    with pytest.raises(ModelError, match="cannot be read"):
        read_json_file(tmp_path / "missing.json")


# --- safetensors ----------------------------------------------------------------------------------
def test_a_well_formed_safetensors_file_passes(weights):
    check_safetensors(weights)


def test_a_header_length_starting_like_a_pickle_is_still_safetensors(tmp_path):
    """A header of 0x80 + 256·k bytes starts with the pickle opcode 0x80: the layout decides, not one byte."""
    path = tmp_path / "weights.safetensors"
    for pad in range(0, 512, 8):
        save_file({"a": torch.ones(2)}, str(path), metadata={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    check_safetensors(path)


def test_a_pickle_renamed_safetensors_is_unsafe(tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(pickle.dumps({"a": [1.0, 2.0]}, protocol=2))
    with pytest.raises(UnsafeModelError, match="pickle") as err:
        check_safetensors(path)
    assert err.value.hint
    with zipfile.ZipFile(path, "w") as z:  # torch.save's format
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(UnsafeModelError, match="zip"):
        check_safetensors(path)


@pytest.mark.parametrize("cut", [3, 8, 20, -1])
def test_a_truncated_safetensors_file_is_refused(weights, cut):
    data = weights.read_bytes()
    weights.write_bytes(data[:cut])
    with pytest.raises(ModelError, match="truncated|header") as err:
        check_safetensors(weights)
    assert not isinstance(err.value, UnsafeModelError) and err.value.hint


def test_a_header_claiming_a_huge_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes((2**62).to_bytes(8, "little") + b'{"a": 1}')
    with pytest.raises(ModelError, match="header claims"):
        check_safetensors(path)


@pytest.mark.parametrize("header", [b"not json at all!", b"[1, 2, 3]", b'{"a": {"data_offsets": [0, "x"]}}'])
def test_a_malformed_header_is_refused(tmp_path, header):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ModelError, match="not a valid safetensors"):
        check_safetensors(path)


def test_trailing_bytes_after_the_tensors_are_refused(weights):
    weights.write_bytes(weights.read_bytes() + b"\x00" * 16)
    with pytest.raises(ModelError, match="longer than its tensors"):
        check_safetensors(weights)


def test_the_header_check_agrees_with_a_real_header(weights):
    n = int.from_bytes(weights.read_bytes()[:8], "little")
    header = json.loads(weights.read_bytes()[8:8 + n])
    assert set(header) >= {"a", "b"}
