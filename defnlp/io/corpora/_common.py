"""Helpers shared by the corpus loaders: where a corpus lives, reading its files, splits."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tqdm.auto import tqdm

from ... import config
from ...errors import ConfigError, DataNotFoundError
from ...text import decode_bytes

SPLITS = ("train", "dev", "test")


def _corpus(name: str, data_dir: str | os.PathLike | None) -> Path:
    return config.corpus_dir(name, data_dir)


def _file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataNotFoundError(f"missing corpus file: {path}")
    return path


def _read(path: Path, bom: bool = False) -> str:
    text = decode_bytes(path.read_bytes(), source=str(path))
    return text.lstrip("\ufeff") if bom else text


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}", "use 'train', 'dev', 'test' or None (all documents)")


def _progress(items: list, desc: str) -> Iterable:
    return tqdm(items, desc=desc, unit="doc", leave=False, disable=not config.is_interactive() or len(items) < 200)
