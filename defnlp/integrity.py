"""Safe, verified model files: sha256 manifests, no pickle, no code, no path escapes.

Every model or encoder directory that defnlp writes carries a manifest (``manifest.json``)
with the sha256 of each file; :func:`verify_manifest` re-hashes them on load and raises
:class:`~defnlp.errors.IntegrityError` on any difference. :func:`check_model_dir` refuses
directories that hold pickle files or code, and :func:`safe_join` refuses config paths
that would escape the directory.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "weights.safetensors").write_bytes(b"abc")
>>> m = write_manifest(d, ["weights.safetensors"])
>>> verify_manifest(d) == m["files"]
True
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from .errors import IntegrityError, ModelError, UnsafeModelError

__all__ = ["sha256_file", "write_manifest", "verify_manifest", "check_model_dir", "safe_join", "MANIFEST"]

MANIFEST = "manifest.json"

#: Files that can execute code when loaded (pickle-based weights, Python modules, notebooks...).
UNSAFE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".py", ".pyc", ".so", ".dll", ".dylib", ".joblib", ".npy", ".npz", ".h5", ".msgpack", ".ipynb", ".sh"}

_HASH_MEMO: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """sha256 hex digest of a file, memoised on (path, size, mtime, inode) within the process."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _HASH_MEMO:
        return _HASH_MEMO[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    digest = h.hexdigest()
    _HASH_MEMO[key] = digest
    return digest


def write_manifest(directory: str | os.PathLike, files: Iterable[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Hash ``files`` (relative to ``directory``) and write ``manifest.json``; return it."""
    directory = Path(directory)
    manifest: dict[str, Any] = {"format": 1, "files": {}}
    for name in sorted(files):
        manifest["files"][name] = sha256_file(safe_join(directory, name))
    if extra:
        manifest.update(extra)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IntegrityError(f"{directory} has no {MANIFEST}; its files cannot be verified")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except (ValueError, KeyError, TypeError) as err:
        raise IntegrityError(f"{path} is malformed: {err}") from err
    return manifest


def verify_manifest(directory: str | os.PathLike) -> dict[str, str]:
    """Re-hash every file listed in the manifest; raise ``IntegrityError`` on a mismatch."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    for name, expected in manifest["files"].items():
        path = safe_join(directory, name)
        if not path.is_file():
            raise IntegrityError(f"{path} is listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"{path} does not match its recorded sha256 (expected {expected[:16]}…, found {actual[:16]}…)"
            )
    return dict(manifest["files"])


def safe_join(directory: str | os.PathLike, relative: str) -> Path:
    """``directory / relative``, refusing absolute paths, ``..`` and symlinks that leave the directory."""
    base = Path(directory).resolve()
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        raise UnsafeModelError(f"path {relative!r} in a model config must be relative to the model directory")
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise UnsafeModelError(f"path {relative!r} escapes the model directory {base}")
    return target


def check_model_dir(directory: str | os.PathLike, allow_suffixes: Iterable[str] = ()) -> Path:
    """Refuse a model directory that contains pickle files, code, or links pointing outside it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    allowed = set(allow_suffixes)
    base = directory.resolve()
    for path in directory.rglob("*"):
        if path.is_symlink():
            target = path.resolve()
            if base not in target.parents:
                raise UnsafeModelError(f"{path} is a link to {target}, outside the model directory")
        if path.is_file() and path.suffix.lower() in UNSAFE_SUFFIXES and path.suffix.lower() not in allowed:
            raise UnsafeModelError(f"{path.name} in {directory} can run code when loaded (pickle or code file)")
    return directory
