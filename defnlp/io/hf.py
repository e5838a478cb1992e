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

:func:`read_hf_dataset` (the ``hf_dataset`` corpus reader) reads a dataset saved with
``Dataset.save_to_disk`` (a folder), or a ``.parquet`` / ``.jsonl`` file, whose rows are
either documents in the columns above, or the common ``text`` + ``spans`` (or ``entities``)
list of ``{start, end, label}`` (:func:`row_to_doc`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import ConfigError, DataNotFoundError, MissingDependencyError, RecordFormatError

__all__ = [
    "DOC_COLUMNS",
    "doc_features",
    "docs_to_dataset",
    "dataset_to_docs",
    "load_docs_dataset",
    "row_to_doc",
    "read_hf_dataset",
]

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


#: the columns that may hold a row's spans, in the order they are looked for
SPAN_COLUMNS = ("entities", "spans")


def row_to_doc(
    row: dict[str, Any],
    where: str = "row",
    text_column: str = "text",
    spans_column: str | None = None,
    id_column: str = "id",
) -> Doc:
    """The Doc of one dataset row: ``text_column`` and a list of spans ``{start, end, label}``.

    The spans are in ``spans_column``, else ``entities``, else ``spans``; each may carry
    ``text`` (checked against the text) and ``score``. ``relations`` (``{head, tail, label}``,
    indices into the spans), ``sentences``, ``lang`` and ``meta`` (a dict, or the JSON string
    of defnlp's Parquet output) are read when present; other columns are not. Offsets are validated
    (:class:`~defnlp.errors.RecordFormatError` naming ``where``).

    >>> row_to_doc({"text": "Thales à Brest", "spans": [{"start": 9, "end": 14, "label": "LOC"}]}).entities
    [Entity(start=9, end=14, label='LOC', text='Brest', score=None)]
    """
    if not isinstance(row, dict):
        raise RecordFormatError(f"{where}: a row must be a mapping, got {type(row).__name__}")
    if not isinstance(row.get(text_column), str):
        columns = ", ".join(map(repr, row)) or "none"
        raise RecordFormatError(f"{where}: no text string in column {text_column!r} (columns: {columns})",
                                "pass text_column= the column that holds the text")
    if spans_column is not None and spans_column not in row:
        raise RecordFormatError(f"{where}: no column {spans_column!r}", f"columns: {', '.join(map(str, row))}")
    column = spans_column or next((c for c in SPAN_COLUMNS if row.get(c) is not None), None)
    spans = row.get(column) if column else None
    meta = row.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = {"meta": meta}
    record = {
        "id": row.get(id_column),
        "lang": row.get("lang"),
        "text": row[text_column],
        "entities": spans or [],
        "relations": row.get("relations") or [],
        "sentences": row.get("sentences") or [],
        "meta": meta if isinstance(meta, dict) else None,
    }
    return _doc_from_row(record, where)


def _rows(path: Path, split: str | None) -> Iterable[dict[str, Any]]:
    """The rows of a ``save_to_disk`` folder, a Parquet file or a JSONL file."""
    if path.is_dir():
        import datasets

        try:
            ds = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as err:
            raise DataNotFoundError(f"{path} is not a dataset saved with save_to_disk: {err}",
                                    "give the folder written by Dataset.save_to_disk, or a .parquet/.jsonl file") from err
        if isinstance(ds, datasets.DatasetDict):
            if not split:
                raise ConfigError(f"{path} holds a DatasetDict ({', '.join(ds)}): which split?", "set split = \"train\" (or another)")
            if split not in ds:
                raise ConfigError(f"{path} has no split {split!r}", f"its splits: {', '.join(ds)}")
            ds = ds[split]
        yield from ds
        return
    if split:
        log.warning("%s: a single file has no splits; split=%r ignored", path, split)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=1024):
            yield from batch.to_pylist()
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as err:
                        raise RecordFormatError(f"{path}, line {n}: not valid JSON ({err})",
                                                "give a JSON Lines file: one row object per line") from err
    else:
        raise RecordFormatError(f"{path}: unknown dataset file type {path.suffix or '(none)'}",
                                "give a save_to_disk folder, a .parquet or a .jsonl file")


def read_hf_dataset(
    path: str | os.PathLike,
    split: str | None = None,
    text_column: str = "text",
    spans_column: str | None = None,
    id_column: str = "id",
) -> list[Doc]:
    """The Docs of a Hugging Face dataset on disk (the ``hf_dataset`` corpus reader).

    ``path``: a folder written by ``Dataset.save_to_disk`` (``split`` picks one of a
    ``DatasetDict``), or a ``.parquet`` / ``.jsonl`` file. Rows are read by :func:`row_to_doc`;
    rows with an ``error`` (defnlp's annotate output for inputs it could not annotate) are left
    out and counted in the log.

    >>> import tempfile, pathlib, datasets
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "ds"
    >>> datasets.Dataset.from_list([{"text": "Brest", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}]).save_to_disk(folder)
    >>> [(d.text, d.entities[0].label) for d in read_hf_dataset(folder)]
    [('Brest', 'LOC')]
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"dataset not found: {path}", "give a save_to_disk folder, a .parquet or a .jsonl file")
    docs: list[Doc] = []
    errors = 0
    for i, row in enumerate(_rows(path, split)):
        if isinstance(row, dict) and row.get("error") and row.get(text_column) is None:
            errors += 1
            continue
        docs.append(row_to_doc(row, f"{path}, row {i}", text_column, spans_column, id_column))
    if errors:
        log.warning("%s: left out %d error row(s) (documents defnlp could not annotate)", path, errors)
    log.info("%s: %d documents, %d entities", path, len(docs), sum(len(d.entities) for d in docs))
    return docs
