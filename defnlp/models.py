"""Model directories: what a trained defnlp model is on disk, and how it is found.

A model directory holds

* ``defnlp.json`` — the machine-readable card (:class:`ModelSpec`): task, labels, base encoder
  and the sha256 of its weights, adapter settings, head settings, training provenance, metrics;
* ``weights.safetensors`` — only what training changed (LoRA adapters or fine-tuned layers' deltas, heads):
  a few MB (LoRA) to a few tens of MB (full fine-tuning);
* ``manifest.json`` — the sha256 of both files, checked on every load;
* ``README.md`` — the human model card with the measured figures.

Nothing else is allowed, and loading fails closed (:func:`read_model_dir`, :func:`load_weights`):
pickle files or code in the directory, a file the manifest does not list, a manifest that omits
the card or the weights, a weights file that is not well-formed safetensors, non-finite or
non-float tensors, and card values of the wrong type or range are all refused with a
:class:`~defnlp.errors.ModelError` (or its subclasses ``IntegrityError``, ``UnsafeModelError``);
the paths the card names cannot leave the directory.

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

from .config import config_from_dict, models_dir
from .errors import ConfigError, IntegrityError, ModelError, ModelNotFoundError
from .integrity import check_model_dir, check_safetensors, read_json_file, safe_join, verify_manifest, write_manifest

log = logging.getLogger(__name__)

__all__ = ["ModelSpec", "find_model", "read_model_dir", "load_weights", "write_model_dir", "DEFAULT_PIPELINE",
           "shipped_models", "model_roots", "download_model"]

FORMAT = "defnlp-model/1"
SPEC_FILE = "defnlp.json"
TASKS = ("ner", "relations")
#: ``defnlp.load()`` with no name loads this pipeline (NER + relations when present)
DEFAULT_PIPELINE = "defence-v2"
#: window sizes a model may declare (the range ``defnlp train`` accepts)
MAX_TOKENS_RANGE = (8, 510)
_CARD_HINT = "the model card (defnlp.json) is malformed: re-export the model, or fix the value (see docs/models.md)"


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

    @property
    def encoder_layers(self) -> int | None:
        """How many of the base encoder's layers the model runs (``encoder.layers``); ``None``: all."""
        return self.encoder.get("layers")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = SPEC_FILE) -> "ModelSpec":
        """Build a spec from parsed JSON: known keys, the declared types (:func:`~defnlp.config.config_from_dict`),
        then the values' ranges (:meth:`check`); any problem is a :class:`ModelError`."""
        if not isinstance(data, dict):
            raise ModelError(f"{where}: expected a JSON object", _CARD_HINT)
        try:
            spec = config_from_dict(cls, data, where=where)
        except ConfigError as err:
            hint = err.hint if err.hint != ConfigError.default_hint else _CARD_HINT
            raise ModelError(err.message, hint) from err
        spec.check(where)
        return spec

    def check(self, where: str = SPEC_FILE) -> None:
        """Refuse values a loader cannot use (:class:`ModelError` naming the key).

        >>> ModelSpec(name="x", task="ner", labels=["PER"], encoder={"name": "e", "sha256": "0" * 64},
        ...           max_tokens=0).check()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        defnlp.errors.ModelError: defnlp.json: 'max_tokens' must be an integer from 8 to 510, not 0 ...
        """

        def bad(message: str, hint: str = _CARD_HINT) -> ModelError:
            return ModelError(f"{where}: {message}", hint)

        if self.format != FORMAT:
            raise bad(f"unsupported model format {self.format!r}", f"this defnlp reads {FORMAT!r}")
        if self.task not in TASKS:
            raise bad(f"unknown task {self.task!r}", f"tasks: {', '.join(TASKS)}")
        if not self.name.strip():
            raise bad("'name' must not be empty")
        labels = self.labels
        if not labels or not all(isinstance(label, str) and label.strip() for label in labels):
            raise bad("'labels' must be a non-empty list of label names (strings)")
        if len(set(labels)) != len(labels):
            raise bad(f"'labels' lists a label twice: {sorted({l for l in labels if labels.count(l) > 1})}")
        if not isinstance(self.encoder.get("name"), str) or not self.encoder["name"].strip():
            raise bad("'encoder' must give the base encoder 'name' and 'sha256'")
        if not _is_sha256(self.encoder.get("sha256")):
            raise bad("'encoder.sha256' must be the 64 hex digits of the base encoder's weights")
        layers = self.encoder.get("layers")
        if layers is not None and (isinstance(layers, bool) or not isinstance(layers, int) or layers < 1):
            raise bad(f"'encoder.layers' must be a positive integer (the encoder layers the model runs), not {layers!r}")
        if "sha256" in self.depends_on and not _is_sha256(self.depends_on["sha256"]):
            raise bad("'depends_on.sha256' must be 64 hex digits")
        if not self.weights.strip() or not self.scheme.strip():
            raise bad("'weights' and 'scheme' must not be empty")
        low, high = MAX_TOKENS_RANGE
        if not low <= self.max_tokens <= high:
            raise bad(f"'max_tokens' must be an integer from {low} to {high}, not {self.max_tokens}")
        if not 0 <= self.overlap <= self.max_tokens // 2:
            raise bad(f"'overlap' must be an integer from 0 to max_tokens / 2 ({self.max_tokens // 2}), "
                      f"not {self.overlap}")
        kind = (self.adapter or {"type": "none"}).get("type")
        if kind not in ("lora", "full", "none"):
            raise bad(f"unknown adapter type {kind!r}", "known types: lora, full, none")
        if self.task == "relations" and kind != "none":
            raise bad(f"a relation model has no encoder adapter, but 'adapter.type' is {kind!r}",
                      'relation heads read the NER model\'s hidden states; use {"type": "none"}')
        from .encoders.adapters import parse_adapter

        try:
            parse_adapter(self.adapter)
        except ModelError as err:
            raise bad(err.message, err.hint) from err


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


#: where a wheel install keeps the default models: ``pip wheel .`` copies the checkout's ``models/<name>/``
#: to ``defnlp/_models/<name>/`` (setup.py); an editable install reads ``models/`` in place
PACKAGED_MODELS = Path(__file__).resolve().parent / "_models"
#: ``find_model("hf://owner/name")`` (or ``hf://owner/name@revision``) downloads a model directory from the Hub
HUB_PREFIX = "hf://"


def model_roots() -> list[Path]:
    """The folders searched for a model name, in order: ``$DEFNLP_MODELS_DIR`` or the checkout's
    ``models/`` (:func:`~defnlp.config.models_dir`), then the models installed with the package."""
    roots: list[Path] = []
    for root in (models_dir(), PACKAGED_MODELS):
        if root.is_dir() and root.resolve() not in {r.resolve() for r in roots}:
            roots.append(root)
    return roots


def shipped_models() -> list[Path]:
    """The named model directories (:func:`model_roots`; a name found twice: the first root's)."""
    found: dict[str, Path] = {}
    for root in model_roots():
        for path in sorted(root.iterdir()):
            if not path.name.startswith(".") and (path / SPEC_FILE).is_file():
                found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def find_model(name: str | os.PathLike) -> Path:
    """Resolve a model to its directory: a directory path, a name (``defence-v2-ner``: looked up in
    :func:`model_roots`), or a Hugging Face Hub repository ``hf://owner/name[@revision]`` (downloaded
    once into the defnlp cache, see :func:`download_model`). The directory is checked when it is read
    (:func:`read_model_dir`), wherever it came from.

    >>> find_model("defence-v2-ner").name  # doctest: +SKIP
    'defence-v2-ner'
    """
    if isinstance(name, str) and name.startswith(HUB_PREFIX):
        return download_model(name)
    path = Path(name).expanduser()
    if (path / SPEC_FILE).is_file():
        return path
    if not path.is_absolute() and len(path.parts) == 1 and not path.name.startswith("."):
        for root in model_roots():
            if (root / path.name / SPEC_FILE).is_file():
                return root / path.name
    available = ", ".join(p.name for p in shipped_models()) or "none"
    raise ModelNotFoundError(
        f"no defnlp model named {str(name)!r} (a directory with {SPEC_FILE})",
        f"shipped models: {available}; or give the path of a model directory, or {HUB_PREFIX}owner/name for a "
        "model on the Hugging Face Hub (see docs/models.md)",
    )


def download_model(ref: str) -> Path:
    """The directory of a model stored in a Hugging Face Hub repository (``hf://owner/name[@revision]``).

    The repository holds a model directory at its root (``defnlp.json``, ``manifest.json``,
    weights, README). Only ``manifest.json`` and the files it lists are downloaded (through the
    Hub cache, so ``HF_HUB_OFFLINE=1`` works once they are there); they are copied as plain files
    to ``<cache>/hub/<owner>--<name>/<commit>/``, which :func:`read_model_dir` then checks like any
    other model directory. Any failure is a :class:`ModelError` naming the repository.
    """
    from .config import cache_dir
    from .integrity import MANIFEST, read_manifest

    repo, _, revision = ref[len(HUB_PREFIX):].partition("@")
    if repo.count("/") != 1 or not all(part and not part.startswith(".") for part in repo.split("/")):
        raise ModelNotFoundError(f"{ref!r} is not a Hub model reference",
                                 f"write {HUB_PREFIX}owner/name, or {HUB_PREFIX}owner/name@revision")
    try:
        from huggingface_hub import hf_hub_download

        manifest = Path(hf_hub_download(repo, MANIFEST, revision=revision or None))
        listed = read_manifest(manifest.parent)["files"]
        commit = manifest.parent.name  # the Hub cache keeps a snapshot folder per commit
        target = cache_dir() / "hub" / repo.replace("/", "--") / commit
        if (target / MANIFEST).is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            for relative in listed:
                destination = safe_join(tmp, relative)  # no absolute path, no ".." from the manifest
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(hf_hub_download(repo, relative, revision=commit), destination)
            shutil.copyfile(manifest, tmp / MANIFEST)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if (target / MANIFEST).is_file():  # another process got it first
                return target
            raise
    except ModelError:
        raise
    except Exception as err:  # network, unknown repository or file, offline without a cached copy
        raise ModelError(
            f"cannot get the model {ref!r} from the Hugging Face Hub ({type(err).__name__}: {str(err)[:200]})",
            "check the repository name and the network (with HF_HUB_OFFLINE=1 only models downloaded before are "
            "found); or download the model directory and give its path",
        ) from err
    log.info("downloaded model %s to %s", ref, target)
    return target


def read_model_dir(path: str | os.PathLike) -> tuple[ModelSpec, Path]:
    """Check a model directory (safety, hashes, card values) and return its spec and weights path.

    Fails closed: the manifest must list the card and the weights and every other file of the
    directory (:func:`~defnlp.integrity.verify_manifest`); see :func:`load_weights` for the weights.
    """
    path = Path(path)
    check_model_dir(path)
    listed = verify_manifest(path, required=[SPEC_FILE], complete=True)
    data = read_json_file(path / SPEC_FILE, "model card")
    spec = ModelSpec.from_dict(data, where=str(path / SPEC_FILE))
    weights = safe_join(path, spec.weights)
    if weights.suffix != ".safetensors":
        raise ModelError(f"{path}: weights must be a .safetensors file, not {weights.name}")
    if not weights.is_file():
        raise ModelError(f"{path}: weights file {spec.weights} is missing")
    if weights not in {safe_join(path, name) for name in listed}:
        raise IntegrityError(f"{path / 'manifest.json'} does not list the weights file {spec.weights}",
                             "the manifest must give the sha256 of the weights; re-export the model")
    return spec, weights


def load_weights(path: str | os.PathLike) -> dict[str, Any]:
    """The tensors of a model's ``weights.safetensors``, checked: every problem is a :class:`ModelError`.

    The file's layout is checked against its size first (:func:`~defnlp.integrity.check_safetensors`:
    pickles, truncated files, oversized headers); then every tensor must be floating-point and
    finite (no NaN or infinity in a head, an adapter or a delta).
    """
    import torch
    from safetensors.torch import load_file

    path = Path(path)
    check_safetensors(path)
    try:
        tensors = load_file(str(path))
    except Exception as err:  # SafetensorError, OSError, MemoryError...: never a raw traceback
        raise ModelError(f"{path} cannot be read as safetensors: {err}",
                         "the weights file is damaged: re-export the model, or re-download it") from err
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise ModelError(f"{path}: tensor {name} has dtype {tensor.dtype}",
                             "a model's weights are floating-point tensors")
        if not bool(torch.isfinite(tensor).all()):
            raise ModelError(f"{path}: tensor {name} holds non-finite values (NaN or infinity)",
                             "the weights are corrupt or training diverged: retrain the model")
    return tensors


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
