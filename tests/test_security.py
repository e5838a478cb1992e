"""Model loading is safe: safetensors only, no pickle or code, no path escapes, hashes checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import defnlp
from defnlp.errors import IntegrityError, ModelError, UnsafeModelError
from defnlp.integrity import write_manifest


@pytest.fixture()
def model_copy(tiny_ner_dir, tmp_path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(tiny_ner_dir, dst)
    return dst


def _reseal(directory: Path) -> None:
    """Rewrite the manifest so that only the check under test can refuse the directory."""
    names = [p.name for p in directory.iterdir() if p.is_file() and p.name not in ("manifest.json", "README.md")]
    write_manifest(directory, names)


def test_a_clean_copy_loads(model_copy):
    assert defnlp.load(model_copy, device="cpu")("La DGA a commandé des Griffon.").text


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pkl", "modeling_evil.py", "lib.so"])
def test_pickle_or_code_files_are_refused(model_copy, name):
    (model_copy / name).write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(UnsafeModelError, match=name.replace(".", r"\.")):
        defnlp.load(model_copy, device="cpu")


def test_weights_path_escaping_the_model_directory_is_refused(model_copy, tmp_path):
    shutil.copy(model_copy / "weights.safetensors", tmp_path / "outside.safetensors")
    spec = json.loads((model_copy / "defnlp.json").read_text())
    for bad in ["../outside.safetensors", str(tmp_path / "outside.safetensors")]:
        spec["weights"] = bad
        (model_copy / "defnlp.json").write_text(json.dumps(spec))
        _reseal(model_copy)
        with pytest.raises(UnsafeModelError):
            defnlp.load(model_copy, device="cpu")


def test_symlink_leaving_the_model_directory_is_refused(model_copy, tmp_path):
    (tmp_path / "secret.safetensors").write_bytes(b"x")
    (model_copy / "extra.safetensors").symlink_to(tmp_path / "secret.safetensors")
    with pytest.raises(UnsafeModelError, match="outside"):
        defnlp.load(model_copy, device="cpu")


def test_non_safetensors_weights_are_refused(model_copy):
    spec = json.loads((model_copy / "defnlp.json").read_text())
    (model_copy / "weights.safetensors").rename(model_copy / "weights.data")
    spec["weights"] = "weights.data"
    (model_copy / "defnlp.json").write_text(json.dumps(spec))
    _reseal(model_copy)
    with pytest.raises(ModelError, match="safetensors"):
        defnlp.load(model_copy, device="cpu")


def test_modified_weights_or_config_are_refused(model_copy):
    weights = model_copy / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        defnlp.load(model_copy, device="cpu")


def test_missing_manifest_is_refused(model_copy):
    (model_copy / "manifest.json").unlink()
    with pytest.raises(IntegrityError, match="manifest"):
        defnlp.load(model_copy, device="cpu")


def test_no_code_path_uses_pickle_or_remote_code():
    root = Path(defnlp.__file__).parent
    for path in root.rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        assert "torch.load(" not in code, path
        assert "trust_remote_code=True" not in code, path
        assert "import pickle" not in code, path
