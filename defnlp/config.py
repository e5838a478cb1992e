"""Settings (where data, caches and models live) and plain-data configuration files.

Directories, in order of precedence:

* data directory (public corpora): ``--data-dir`` flag > ``DEFNLP_DATA_DIR`` > ``../shared/data``
  beside the project checkout (or beside the current directory);
* cache directory (rebuilt encoders): ``DEFNLP_CACHE_DIR`` > ``$XDG_CACHE_HOME/defnlp`` >
  ``~/.cache/defnlp``;
* shipped models: ``DEFNLP_MODELS_DIR`` > the project's ``models/`` folder.

Configuration files (training, evaluation) are TOML or JSON, loaded into dataclasses and
validated: unknown keys and wrong types are reported with the allowed keys.

>>> from dataclasses import dataclass
>>> @dataclass
... class Example:
...     epochs: int = 3
...     lr: float = 3e-4
>>> config_from_dict(Example, {"epochs": 5})
Example(epochs=5, lr=0.0003)
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

from .errors import ConfigError, DataNotFoundError

__all__ = [
    "project_root",
    "data_dir",
    "cache_dir",
    "models_dir",
    "load_config",
    "parse_overrides",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
]

T = TypeVar("T")

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout that holds ``defnlp/`` (editable installs) — where ``models/`` and ``data/`` live."""
    return _PACKAGE_DIR.parent


def data_dir(override: str | os.PathLike | None = None, must_exist: bool = True) -> Path:
    """The folder of public corpora (re3d/, winer_fr/, ...)."""
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    elif os.environ.get("DEFNLP_DATA_DIR"):
        candidates.append(Path(os.environ["DEFNLP_DATA_DIR"]))
    else:
        candidates += [project_root().parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    if must_exist:
        raise DataNotFoundError(f"data directory not found (looked in: {', '.join(map(str, candidates))})")
    return candidates[0]


def corpus_dir(name: str, override: str | os.PathLike | None = None) -> Path:
    """The folder of one corpus inside the data directory, e.g. ``corpus_dir('re3d')``."""
    path = data_dir(override) / name
    if not path.is_dir():
        raise DataNotFoundError(f"corpus {name!r} not found at {path}")
    return path


def cache_dir() -> Path:
    """Per-user cache (rebuilt encoders). Created on first use."""
    if os.environ.get("DEFNLP_CACHE_DIR"):
        base = Path(os.environ["DEFNLP_CACHE_DIR"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"]) / "defnlp"
    else:
        base = Path.home() / ".cache" / "defnlp"
    base.mkdir(parents=True, exist_ok=True)
    return base


def models_dir() -> Path:
    """Folder of the models shipped with the project (``models/``)."""
    if os.environ.get("DEFNLP_MODELS_DIR"):
        return Path(os.environ["DEFNLP_MODELS_DIR"])
    return project_root() / "models"


# ------------------------------------------------------------------------------------------------
# Plain-data configuration
# ------------------------------------------------------------------------------------------------
def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        if path.suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: the top level must be an object")
            return data
    except (ValueError, json.JSONDecodeError) as err:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {err}") from err
    raise ConfigError(f"unsupported configuration format {path.suffix!r}", "use a .toml or .json file")


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in args:
            if arg is type(None) and value is None:
                return None
            try:
                return _check_type(value, arg, where)
            except ConfigError as err:
                errors.append(err)
        raise ConfigError(f"{where}: {value!r} does not match {annotation}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        inner = args[0] if args else Any
        return [_check_type(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table/object, got {type(value).__name__}")
        kt, vt = args if args else (Any, Any)
        return {_check_type(k, kt, where): _check_type(v, vt, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(annotation):
        return config_from_dict(annotation, value, where)
    if annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, str, bool):
        if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    if isinstance(annotation, type):
        raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def config_from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a plain dict, validating keys and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table/object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}",
            f"allowed keys: {', '.join(sorted(fields))}",
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _check_type(value, hints[name], f"{where}.{name}")
    missing = [
        n for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
    ]
    if missing:
        raise ConfigError(f"{where}: missing required key(s) {', '.join(missing)}")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate()
    return obj


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--set`` on the command line) as overrides; VALUE is read as JSON
    when it parses, else kept as a string.

    >>> parse_overrides(["epochs=3", "rehearsal.distill=2", "encoder=xlm-r"])
    {'epochs': 3, 'rehearsal.distill': 2, 'encoder': 'xlm-r'}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}", "e.g. --set epochs=3 or --set lora.r=8")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], where: str = "config") -> dict[str, Any]:
    """Set ``overrides`` in the plain configuration ``data`` (in place, returned); a dotted key
    sets a key of a table, creating the table when missing; a number picks an entry of an array
    of tables (``train.1.sample``: the second ``[[train]]`` source).

    >>> apply_overrides({"epochs": 5}, {"epochs": 3, "rehearsal.distill": 2.0})
    {'epochs': 3, 'rehearsal': {'distill': 2.0}}
    >>> apply_overrides({"train": [{"sample": 2.0}, {"sample": 1.0}]}, {"train.1.sample": 4.0})
    {'train': [{'sample': 2.0}, {'sample': 4.0}]}
    """
    for key, value in overrides.items():
        *tables, last = key.split(".")
        target: Any = data
        for depth, table in enumerate(tables):
            if isinstance(target, list):
                target = _array_entry(target, table, key, ".".join(tables[:depth]), where)
                continue
            node = target.setdefault(table, {})
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"cannot set {key!r}: {table!r} is not a table in {where}")
            target = node
        if isinstance(target, list):
            raise ConfigError(f"cannot set {key!r}: {'.'.join(tables)!r} is an array of tables in {where}",
                              f"name a key of one entry, e.g. {'.'.join(tables)}.0.{last}=...")
        target[last] = value
    return data


def _array_entry(array: list, index: str, key: str, name: str, where: str) -> dict[str, Any]:
    """Entry ``index`` (a 0-based number as text) of the array of tables ``name``, for :func:`apply_overrides`."""
    hint = f"{name} has {len(array)} entries in {where}: use {name}.0 ... {name}.{len(array) - 1}" if array \
        else f"{name} is empty in {where}"
    if not index.isdigit():
        raise ConfigError(f"cannot set {key!r}: {name!r} is an array of tables, so {index!r} must be an entry number", hint)
    if int(index) >= len(array):
        raise ConfigError(f"cannot set {key!r}: {name!r} has no entry {index}", hint)
    entry = array[int(index)]
    if not isinstance(entry, dict):
        raise ConfigError(f"cannot set {key!r}: entry {index} of {name!r} is not a table in {where}")
    return entry


def load_config(cls: type[T], path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> T:
    """Load a TOML/JSON file into dataclass ``cls``; relative paths stay relative to the file.

    ``overrides`` replace keys of the file; a dotted key sets a key of a table
    (``{"rehearsal.enabled": False}``, ``{"lora.r": 8}``).
    """
    path = Path(path)
    data = apply_overrides(_read_config_file(path), overrides or {}, where=path.name)
    obj = config_from_dict(cls, data, where=path.name)
    if hasattr(obj, "base_dir"):
        object.__setattr__(obj, "base_dir", str(path.resolve().parent))
    return obj


def config_to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass config as plain JSON-ready data."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def is_interactive() -> bool:
    return sys.stderr.isatty()
