"""Hugging Face ``datasets`` <-> :class:`~defnlp.doc.Doc`: what training reads.

A Dataset of documents has one row per Doc and the columns of the Doc JSON form, with fixed
types (:func:`doc_features`) so that datasets built from different sources concatenate:

============ =========================================================================
``id``        string (may be null)
``lang``      string (may be null)
``text``      string
``entities``  list of ``{start, end, label, text, score}`` (score null for gold)
``relations`` list of ``{head, tail, label, score}`` (head/tail index ``entities``)
``sentences`` list of ``{start, end}``
``meta``      any JSON object (``datasets.Json``), e.g. ``{"tokens": [[0, 5], ...]}``
============ =========================================================================

>>> doc = Doc("La DGA commande 42 Griffon.", id="d1", lang="fr")
>>> _ = doc.add_entity(3, 6, "ORG"); _ = doc.add_entity(19, 26, "PLATFORM")
>>> ds = docs_to_dataset([doc])
>>> ds.column_names
['id', 'lang', 'text', 'entities', 'relations', 'sentences', 'meta']
>>> dataset_to_docs(ds) == [doc]
True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import DataNotFoundError, MissingDependencyError, RecordFormatError

__all__ = ["DOC_COLUMNS", "doc_features", "docs_to_dataset", "dataset_to_docs", "load_docs_dataset"]

log = logging.getLogger(__name__)

DOC_COLUMNS = ("id", "lang", "text", "entities", "relations", "sentences", "meta")


def doc_features() -> Any:
    """The ``datasets.Features`` of a Dataset of Docs (see the module docstring)."""
    import datasets

    if not hasattr(datasets, "Json"):
        raise MissingDependencyError("datasets>=5", "storing Doc metadata in a datasets.Dataset (the Json feature type)")
    value, seq = datasets.Value, datasets.List
    return datasets.Features(
        {
            "id": value("string"),
            "lang": value("string"),
            "text": value("string"),
            "entities": seq(
                {"start": value("int64"), "end": value("int64"), "label": value("string"), "text": value("string"), "score": value("float64")}
            ),
            "relations": seq({"head": value("int64"), "tail": value("int64"), "label": value("string"), "score": value("float64")}),
            "sentences": seq({"start": value("int64"), "end": value("int64")}),
            "meta": datasets.Json(),
        }
    )


def _row(doc: Doc) -> dict[str, Any]:
    data = doc.to_dict()
    data["meta"] = doc.meta or None
    return data


def docs_to_dataset(docs: Iterable[Doc]) -> Any:
    """A ``datasets.Dataset`` with one row per Doc (columns: see the module docstring)."""
    import datasets

    rows = [_row(d) for d in docs]
    return datasets.Dataset.from_list(rows, features=doc_features())


def _doc_from_row(row: dict[str, Any], where: str) -> Doc:
    try:
        return Doc.from_dict(dict(row))
    except RecordFormatError as err:
        raise RecordFormatError(f"{where}: {err.message}", err.hint) from err


def dataset_to_docs(dataset: Iterable[dict[str, Any]]) -> list[Doc]:
    """The Docs of a Dataset (or any iterable of Doc dicts); offsets are validated."""
    return [_doc_from_row(row, f"row {i}") for i, row in enumerate(dataset)]


def _expand_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".json", ".ndjson") and p.is_file())
            if not found:
                raise DataNotFoundError(f"no .jsonl files under {path}", "give JSONL files of documents (one Doc JSON object per line)")
            files += [str(p) for p in found]
        elif path.is_file():
            files.append(str(path))
        else:
            raise DataNotFoundError(f"document file not found: {path}", "check the path of the training/evaluation JSONL files")
    if not files:
        raise DataNotFoundError("no document files given")
    return files


def _normalise(row: dict[str, Any], idx: int) -> dict[str, Any]:
    """Fill defaults (missing lists, entity texts) and validate offsets through ``Doc``."""
    doc = _doc_from_row(row, f"row {idx}")
    out = _row(doc)
    out["meta"] = row.get("meta")  # keep the row's own meta (None stays None)
    return out


def load_docs_dataset(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    validate: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Any:
    """Load JSONL files of Docs (files or folders of ``.jsonl``) as one ``datasets.Dataset``.

    Reads through ``datasets.load_dataset("json", data_files=...)`` with :func:`doc_features`
    — local files only, memory-mapped, cached by ``datasets`` — so that training streams
    large corpora. With ``validate=True`` (default) every row goes through ``Doc``: offsets
    are checked and missing keys get their defaults (empty lists, entity ``text`` from the
    offsets); ``validate=False`` skips that pass (missing lists stay null). A file that is
    not Doc JSONL raises :class:`~defnlp.errors.RecordFormatError`.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> _ = p.write_text('{"id": "a", "text": "Brest", "entities": [{"start": 0, "end": 5, "label": "LOC"}]}\\n')
    >>> ds = load_docs_dataset(p)
    >>> ds[0]["entities"], ds[0]["relations"]
    ([{'start': 0, 'end': 5, 'label': 'LOC', 'text': 'Brest', 'score': None}], [])
    """
    import datasets

    files = _expand_paths(paths)
    features = doc_features()
    try:
        ds = datasets.load_dataset(
            "json",
            data_files=files,
            split="train",
            features=features,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    except (datasets.exceptions.DatasetsError, ValueError, TypeError, KeyError) as err:
        cause = err.__cause__ or err
        raise RecordFormatError(
            f"cannot read {', '.join(files)} as documents: {type(cause).__name__}: {str(cause)[:300]}",
            "each line must be one Doc JSON object with keys among id, lang, text, entities, relations, sentences, meta",
        ) from err
    if validate:
        ds = ds.map(_normalise, with_indices=True, features=features, desc="checking documents")
    log.info("loaded %d documents from %d file(s)", len(ds), len(files))
    return ds
