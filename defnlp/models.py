"""Model directories: what a trained defnlp model is on disk, and how it is found.

A model directory holds

* ``defnlp.json`` — the machine-readable card (:class:`ModelSpec`): task, labels, base encoder
  and the sha256 of its weights, adapter settings, head settings, training provenance, metrics;
* ``weights.safetensors`` — only what training changed (LoRA adapters or fine-tuned layers' deltas, heads):
  a few MB (LoRA) to a few tens of MB (full fine-tuning);
* ``manifest.json`` — the sha256 of both files, checked on every load;
* ``README.md`` — the human model card with the measured figures.

Nothing else is allowed: pickle files or code in the directory are refused, and the paths the
card names cannot leave the directory.

>>> spec = ModelSpec(name="demo", task="ner", labels=["PER"], encoder={"name": "tiny-random-e5", "sha256": "0" * 64})
>>> ModelSpec.from_dict(spec.to_dict()).labels
['PER']
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import models_dir
from .errors import ModelError, ModelNotFoundError
from .integrity import check_model_dir, safe_join, verify_manifest, write_manifest

log = logging.getLogger(__name__)

__all__ = ["ModelSpec", "find_model", "read_model_dir", "write_model_dir", "DEFAULT_PIPELINE", "shipped_models"]

FORMAT = "defnlp-model/1"
SPEC_FILE = "defnlp.json"
TASKS = ("ner", "relations")
#: ``defnlp.load()`` with no name loads this pipeline (NER + relations when present)
DEFAULT_PIPELINE = "defence-v2"


@dataclass
class ModelSpec:
    """The content of ``defnlp.json``."""

    name: str
    task: str
    labels: list[str]
    encoder: dict[str, Any]
    scheme: str = "defence-v1"
    format: str = FORMAT
    weights: str = "weights.safetensors"
    adapter: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    head: dict[str, Any] = field(default_factory=dict)
    max_tokens: int = 256
    overlap: int = 32
    depends_on: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = SPEC_FILE) -> "ModelSpec":
        if not isinstance(data, dict):
            raise ModelError(f"{where}: expected a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ModelError(f"{where}: unknown keys {sorted(unknown)}", f"allowed keys: {sorted(known)}")
        try:
            spec = cls(**data)
        except TypeError as err:
            raise ModelError(f"{where}: {err}") from err
        if spec.format != FORMAT:
            raise ModelError(f"{where}: unsupported model format {spec.format!r}", f"this defnlp reads {FORMAT!r}")
        if spec.task not in TASKS:
            raise ModelError(f"{where}: unknown task {spec.task!r}", f"tasks: {', '.join(TASKS)}")
        if not spec.labels or not all(isinstance(label, str) for label in spec.labels):
            raise ModelError(f"{where}: 'labels' must be a non-empty list of strings")
        if not isinstance(spec.encoder, dict) or not spec.encoder.get("name") or not spec.encoder.get("sha256"):
            raise ModelError(f"{where}: 'encoder' must give the base encoder 'name' and 'sha256'")
        return spec


def shipped_models() -> list[Path]:
    """Model directories shipped in the project's ``models/`` folder."""
    root = models_dir()
    return sorted(p for p in root.iterdir() if (p / SPEC_FILE).is_file()) if root.is_dir() else []


def find_model(name: str | os.PathLike) -> Path:
    """Resolve a model name (``defence-v1-ner``) or a directory path to a model directory."""
    path = Path(name).expanduser()
    if (path / SPEC_FILE).is_file():
        return path
    shipped = models_dir() / str(name)
    if (shipped / SPEC_FILE).is_file():
        return shipped
    available = ", ".join(p.name for p in shipped_models()) or "none"
    raise ModelNotFoundError(
        f"no defnlp model named {str(name)!r} (a directory with {SPEC_FILE})",
        f"shipped models: {available}; or give the path of a trained model directory",
    )


def read_model_dir(path: str | os.PathLike) -> tuple[ModelSpec, Path]:
    """Check a model directory (safety, hashes) and return its spec and weights path."""
    path = Path(path)
    check_model_dir(path)
    verify_manifest(path)
    try:
        data = json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"{path / SPEC_FILE} cannot be read: {err}") from err
    spec = ModelSpec.from_dict(data, where=str(path / SPEC_FILE))
    weights = safe_join(path, spec.weights)
    if weights.suffix != ".safetensors":
        raise ModelError(f"{path}: weights must be a .safetensors file, not {weights.name}")
    if not weights.is_file():
        raise ModelError(f"{path}: weights file {spec.weights} is missing")
    return spec, weights


def write_model_dir(path: str | os.PathLike, spec: ModelSpec, tensors: dict[str, Any], card: str = "") -> Path:
    """Write a model directory atomically (a temporary sibling renamed into place)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / spec.weights), metadata={"format": "pt"})
        (tmp / SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files = [spec.weights, SPEC_FILE]
        if card:
            (tmp / "README.md").write_text(card, encoding="utf-8")
            files.append("README.md")
        write_manifest(tmp, files)
        os.chmod(tmp, 0o755)
        if path.exists():
            old = path.with_name(f".old-{path.name}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote model %s to %s", spec.name, path)
    return path


def update_card(path: str | os.PathLike, card: str | None = None, metrics: dict[str, Any] | None = None) -> None:
    """Rewrite the README and/or metrics of an existing model directory (manifest refreshed)."""
    path = Path(path)
    spec, _ = read_model_dir(path)
    if metrics is not None:
        spec.metrics = metrics
        (path / SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files = [spec.weights, SPEC_FILE]
    if card is not None:
        (path / "README.md").write_text(card, encoding="utf-8")
    if (path / "README.md").is_file():
        files.append("README.md")
    write_manifest(path, files)
