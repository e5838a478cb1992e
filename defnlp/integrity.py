"""Safe, verified model files: sha256 manifests, no pickle, no code, no path escapes.

Every model or encoder directory that defnlp writes carries a manifest (``manifest.json``)
with the sha256 of each file; :func:`verify_manifest` re-hashes them on load and raises
:class:`~defnlp.errors.IntegrityError` on any difference. :func:`check_model_dir` refuses
directories that hold pickle files or code, and :func:`safe_join` refuses config paths
that would escape the directory. Loaders call :func:`verify_manifest` with the files they
read as ``required`` and ``complete=True``: a manifest that lists nothing, omits a file the
loader reads, or leaves a file of the directory unlisted is refused (fail closed).
:func:`check_safetensors` refuses a weights file that is not well-formed safetensors (a pickle
renamed ``.safetensors``, a truncated file, a header that claims more bytes than the file has)
before any parser sees it.

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
import re
from pathlib import Path
from typing import Any, Iterable

from .errors import IntegrityError, ModelError, UnsafeModelError

__all__ = ["sha256_file", "write_manifest", "read_manifest", "verify_manifest", "check_model_dir", "safe_join",
           "check_safetensors", "read_json_file", "MANIFEST"]

MANIFEST = "manifest.json"
#: the largest JSON file (manifest, model card) a loader reads; real ones are a few kB
MAX_JSON_BYTES = 16 << 20
#: the largest safetensors header accepted (the ``safetensors`` library's own limit)
MAX_SAFETENSORS_HEADER = 100_000_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REBUILD_HINT = "re-export the model (defnlp train and write_model_dir write a complete manifest), or re-download it"

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


def read_json_file(path: str | os.PathLike, what: str = "file", error: type[ModelError] = ModelError) -> Any:
    """Parse a small JSON file of a model directory; any problem is an ``error`` (never a raw
    ``OSError``/``ValueError``/``RecursionError``): unreadable, too large, not UTF-8, not JSON.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> _ = p.write_text("[" * 100_000)
    >>> read_json_file(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.ModelError: ... is not valid JSON: nested too deeply ...
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise error(f"{path} ({what}) is {size:,} bytes, more than the {MAX_JSON_BYTES:,} a model file may be",
                        _REBUILD_HINT)
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise error(f"{path} ({what}) cannot be read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise error(f"{path} ({what}) is not UTF-8 text: {err.reason}", _REBUILD_HINT) from err
    try:
        return json.loads(text)
    except ValueError as err:
        raise error(f"{path} ({what}) is not valid JSON: {err}", _REBUILD_HINT) from err
    except RecursionError as err:
        raise error(f"{path} ({what}) is not valid JSON: nested too deeply", _REBUILD_HINT) from err


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``directory``: ``{"files": {relative name: sha256 hex}, ...}``."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise IntegrityError(f"{directory} has no {MANIFEST}; its files cannot be verified", _REBUILD_HINT)
    manifest = read_json_file(path, "manifest", IntegrityError)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise IntegrityError(f"{path} is malformed: it must be an object with a 'files' object", _REBUILD_HINT)
    for name, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise IntegrityError(f"{path} is malformed: the sha256 of {name!r} is not 64 lowercase hex digits",
                                 _REBUILD_HINT)
    return manifest


def verify_manifest(directory: str | os.PathLike, required: Iterable[str] = (),
                    complete: bool = False) -> dict[str, str]:
    """Re-hash every file listed in the manifest; raise ``IntegrityError`` on a mismatch.

    Fails closed: a manifest that lists no file is refused; so is one that does not list a
    ``required`` file (the files the loader reads), and with ``complete`` one that leaves a file
    of the directory unlisted (the loader could read it unverified). Returns ``{name: sha256}``.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    files: dict[str, str] = manifest["files"]
    if not files:
        raise IntegrityError(f"{directory / MANIFEST} lists no files: nothing in {directory} can be verified",
                             _REBUILD_HINT)
    listed = {safe_join(directory, name): name for name in files}
    unlisted = [name for name in required if safe_join(directory, name) not in listed]
    if unlisted:
        raise IntegrityError(f"{directory / MANIFEST} does not list {', '.join(unlisted)}, which the loader reads",
                             "the manifest must give the sha256 of every file that is loaded; " + _REBUILD_HINT)
    for path, name in listed.items():
        expected = files[name]
        if not path.is_file():
            raise IntegrityError(f"{path} is listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"{path} does not match its recorded sha256 (expected {expected[:16]}…, found {actual[:16]}…)"
            )
    if complete:
        for path in sorted(directory.rglob("*")):
            if (path.name == MANIFEST and path.parent == directory) or not path.is_file():
                continue
            if path.resolve() not in listed:
                raise IntegrityError(
                    f"{path} is not listed in {directory / MANIFEST}: its content cannot be verified",
                    f"remove {path.name} from the model directory (it holds only the files its manifest lists), or "
                    + _REBUILD_HINT,
                )
    return dict(files)


def check_safetensors(path: str | os.PathLike) -> None:
    """Refuse ``path`` unless it is a complete safetensors file, before a parser reads it.

    Checks the layout (8-byte little-endian header length, a JSON header, then the data) against
    the file size: a pickle or zip (``torch.save``) file renamed ``.safetensors`` is an
    :class:`~defnlp.errors.UnsafeModelError`; a truncated file, a header that claims more
    bytes than the file has, or one whose tensors end before or after the end of the file is a
    :class:`~defnlp.errors.ModelError`.
    """
    path = Path(path)
    hint = "the weights file is damaged or not a safetensors file: " + _REBUILD_HINT
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            prefix = fh.read(8)
            n = int.from_bytes(prefix, "little")
            plausible = size >= 8 and n <= min(size - 8, MAX_SAFETENSORS_HEADER)
            raw = fh.read(n) if plausible else b""
    except OSError as err:
        raise ModelError(f"{path} cannot be read: {err.strerror or err}") from err
    if not raw.startswith(b"{"):
        pickled = prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")  # PROTO 2-5
        if pickled or prefix[:4] == b"PK\x03\x04":
            kind = "a pickle" if pickled else "a zip archive (torch.save)"
            raise UnsafeModelError(f"{path} is {kind}, not a safetensors file: it could run code when loaded")
        if size < 8:
            raise ModelError(f"{path} is truncated: {size} bytes, not even a safetensors header", hint)
        if not plausible:
            raise ModelError(f"{path} is not a valid safetensors file: its header claims {n:,} bytes, "
                             f"the file has {size - 8:,} after the length", hint)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise ModelError(f"{path} is not a valid safetensors file: its header is not JSON", hint) from err
    if not isinstance(header, dict):
        raise ModelError(f"{path} is not a valid safetensors file: its header is not a JSON object", hint)
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise ModelError(f"{path} is not a valid safetensors file: tensor {name!r} has no valid data offsets", hint)
        end = max(end, offsets[1])
    if end != size - 8 - n:
        state = "truncated" if end > size - 8 - n else "longer than its tensors"
        raise ModelError(f"{path} is {state}: its tensors take {end:,} bytes, the file holds {size - 8 - n:,}", hint)


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
