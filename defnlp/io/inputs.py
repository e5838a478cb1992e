"""Reading documents to annotate: text files, folders, JSONL, Parquet, CSV — one record per document.

Every input document yields exactly one :class:`InputRecord`. A record that cannot be read
(empty file, binary file, invalid UTF-8, a JSONL line that is not JSON, a Parquet row whose
text is null...) carries an ``error`` instead of a text, so that batch jobs report it and go
on: no record is ever lost.

* ``.txt``/``.text``/``.md``: one document per file, id = file name.
* ``.jsonl``/``.ndjson``: one document per line ``{"id", "text", "lang"?, ...}``; default id
  ``file:line``.
* ``.parquet``/``.pq``: one document per row, read in row batches with pyarrow (never the whole
  file in memory); default id ``file:row`` (rows counted from 1).
* ``.csv``/``.tsv``: one document per row under a header line; default id ``file:row``.

Documents that carry their annotations (JSONL of :class:`~defnlp.doc.Doc`, the output of
``defnlp annotate``) are read whole, entities and relations included, by
:func:`iter_jsonl_docs` / :func:`read_jsonl_docs` (the ``jsonl`` corpus reader, and the
inputs of ``defnlp align``).

``text_column`` / ``id_column`` name the text and id fields of JSONL, Parquet and CSV records
(default ``"text"`` and ``"id"``); a ``"lang"`` field, when present, gives the language; the
other fields are kept in ``meta``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.txt").write_text("Le ministre a signé.", encoding="utf-8")
>>> _ = (d / "b.jsonl").write_text('{"id": "x", "text": "Hello"}\\nnot json\\n', encoding="utf-8")
>>> [(r.id, r.error is None) for r in iter_inputs([d])]
[('a.txt', True), ('x', True), ('b.jsonl:2', False)]
"""

from __future__ import annotations

import base64
import csv
import datetime
import decimal
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..doc import Doc
from ..errors import (
    DefnlpError,
    EmptyInputError,
    InputEncodingError,
    InputError,
    MissingDependencyError,
    RecordFormatError,
    UnsupportedFormatError,
)
from ..text import decode_bytes

log = logging.getLogger(__name__)

__all__ = [
    "InputRecord",
    "iter_inputs",
    "iter_jsonl_records",
    "iter_parquet_records",
    "iter_csv_records",
    "iter_jsonl_docs",
    "read_jsonl_docs",
    "parse_record",
    "TEXT_SUFFIXES",
    "JSONL_SUFFIXES",
    "PARQUET_SUFFIXES",
    "CSV_SUFFIXES",
]

TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
CSV_SUFFIXES = {".csv", ".tsv"}
READABLE_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | PARQUET_SUFFIXES | CSV_SUFFIXES

#: record fields that are never copied into ``meta`` (annotations are recomputed)
_ANNOTATION_KEYS = {"entities", "relations", "sentences"}
#: rows read from a Parquet file at a time
PARQUET_BATCH_ROWS = 1024


@dataclass
class InputRecord:
    """One input document, or the error that prevented reading it."""

    id: str
    text: str | None = None
    lang: str | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    error: DefnlpError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _expand(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in READABLE_SUFFIXES and not child.name.startswith("."):
                    yield child
        elif path.exists():
            yield path
        else:
            raise InputError(
                f"input not found: {path}",
                "check the path; folders are read recursively for .txt, .jsonl, .parquet and .csv files",
            )


def iter_inputs(
    paths: Iterable[str | os.PathLike],
    encoding: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per document in ``paths`` (files or folders, read in sorted order).

    ``text_column``/``id_column`` name the fields of JSONL, Parquet and CSV records that hold
    the text and the id (default ``"text"``, and ``"id"`` when present).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "notes.csv"
    >>> _ = f.write_text("ref,body\\nn1,La DGA commande.\\nn2,\\n", encoding="utf-8")
    >>> [(r.id, r.text, r.ok) for r in iter_inputs([f], text_column="body", id_column="ref")]
    [('n1', 'La DGA commande.', True), ('n2', None, False)]
    """
    for path in _expand(paths):
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from iter_jsonl_records(path, encoding=encoding, text_column=text_column, id_column=id_column)
        elif suffix in PARQUET_SUFFIXES:
            yield from iter_parquet_records(path, text_column=text_column, id_column=id_column)
        elif suffix in CSV_SUFFIXES:
            yield from iter_csv_records(path, encoding=encoding, text_column=text_column, id_column=id_column)
        elif suffix in TEXT_SUFFIXES or suffix == "":
            yield _read_text_file(path, encoding)
        else:
            yield InputRecord(id=path.name, source=str(path), error=UnsupportedFormatError(f"{path.name}: unsupported file type {suffix!r}"))


def _read_text_file(path: Path, encoding: str | None) -> InputRecord:
    try:
        text = decode_bytes(path.read_bytes(), encoding=encoding, source=path.name)
        if not text.strip():
            raise EmptyInputError(f"{path.name} is empty")
        return InputRecord(id=path.name, text=text, source=str(path))
    except DefnlpError as err:
        return InputRecord(id=path.name, source=str(path), error=err)
    except OSError as err:
        return InputRecord(id=path.name, source=str(path), error=InputError(f"{path.name}: cannot read ({err.strerror})"))


def parse_record(
    obj: Any,
    default_id: str,
    source: str = "",
    text_column: str = "text",
    id_column: str | None = None,
    lang_column: str = "lang",
) -> InputRecord:
    """Validate a record ``{"id", "text", "lang"?, ...}`` into an :class:`InputRecord`.

    Raises :class:`~defnlp.errors.RecordFormatError` (no text string) or
    :class:`~defnlp.errors.EmptyInputError`; the other fields go to ``meta``.

    >>> parse_record({"ref": 7, "body": "Brest", "year": 2024}, "f:1", text_column="body", id_column="ref")
    InputRecord(id='7', text='Brest', lang=None, source='', meta={'year': 2024}, error=None)
    """
    if not isinstance(obj, dict):
        raise RecordFormatError(f"{default_id}: expected a JSON object, got {type(obj).__name__}")
    id_key = id_column or "id"
    text = obj.get(text_column)
    rec_id = obj.get(id_key)
    rec_id = default_id if rec_id is None or rec_id == "" else str(rec_id)
    if not isinstance(text, str):
        raise RecordFormatError(
            f'{rec_id}: the record has no "{text_column}" string',
            None if text_column == "text" else f"check that the {text_column!r} field holds the text (--text-column)",
        )
    if not text.strip():
        raise EmptyInputError(f"{rec_id}: the text is empty")
    lang = obj.get(lang_column)
    skip = {id_key, text_column, lang_column} | _ANNOTATION_KEYS
    meta = {k: v for k, v in obj.items() if k not in skip}
    return InputRecord(id=rec_id, text=text, lang=lang if isinstance(lang, str) and lang else None, source=source, meta=meta)


def _record_or_error(obj: dict[str, Any], default_id: str, source: str, text_column: str, id_column: str | None) -> InputRecord:
    try:
        return parse_record(obj, default_id, source, text_column=text_column, id_column=id_column)
    except DefnlpError as err:
        rec_id = obj.get(id_column or "id")
        return InputRecord(id=default_id if rec_id is None or rec_id == "" else str(rec_id), source=source, error=err)


def iter_jsonl_records(
    path: str | os.PathLike,
    encoding: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per non-blank line; bad lines become error records (id ``file:line``)."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as err:
        yield InputRecord(id=path.name, source=str(path), error=InputError(f"{path.name}: cannot read ({err.strerror})"))
        return
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            default_id = f"{path.name}:{lineno}"
            source = f"{path}:{lineno}"
            try:
                obj = _json_line(decode_bytes(raw, encoding=encoding, source=default_id), default_id)
                yield parse_record(obj, default_id, source, text_column=text_column, id_column=id_column)
            except DefnlpError as err:
                rec_id = default_id
                try:  # keep the record's own id when the line is JSON with an id
                    obj = json.loads(raw)
                    if isinstance(obj, dict) and obj.get(id_column or "id") not in (None, ""):
                        rec_id = str(obj[id_column or "id"])
                except (ValueError, UnicodeDecodeError, RecursionError):
                    pass
                yield InputRecord(id=rec_id, source=source, error=err)


def _json_line(line: str, where: str) -> Any:
    """One JSONL line parsed; a line that is not JSON raises RecordFormatError naming ``where``."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise RecordFormatError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from err
    except RecursionError as err:
        raise RecordFormatError(f"{where}: JSON nested too deeply to be a record") from err


def iter_jsonl_docs(
    path: str | os.PathLike,
    encoding: str | None = None,
    lang: str | None = None,
    line_ids: bool = False,
    allow_empty: bool = True,
) -> Iterator[tuple[Doc, dict[str, Any]]]:
    """Yield ``(doc, record)`` for each non-blank line of a JSONL file of Docs, annotations included.

    Each line is a :meth:`Doc.to_dict <defnlp.doc.Doc.to_dict>` object (``{"id", "text",
    "lang"?, "entities"?, "relations"?, "sentences"?, "meta"?}``); ``record`` is that object
    (with its ``file:line`` id under ``line_ids``), e.g. to tell a record without an
    ``"entities"`` key from one with none. Unlike
    :func:`iter_jsonl_records` (documents to annotate, one error record per bad line), a bad
    line raises: :class:`~defnlp.errors.RecordFormatError` naming ``file:line``.

    * ``lang``: the language of records that give none;
    * ``line_ids=True``: records without an id get ``file:line`` (else ``None``);
    * ``allow_empty=False``: a record with a blank text raises
      :class:`~defnlp.errors.EmptyInputError`.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "gold.jsonl"
    >>> _ = f.write_text('{"id": "d1", "text": "Thales", "entities": [{"start": 0, "end": 6, "label": "ORG"}]}\\n'
    ...                  '{"text": "Brest"}\\n', encoding="utf-8")
    >>> [(d.id, d.lang, len(d.entities), "entities" in r) for d, r in iter_jsonl_docs(f, lang="fr", line_ids=True)]
    [('d1', 'fr', 1, True), ('gold.jsonl:2', 'fr', 0, False)]
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input not found: {path}", "give the path of a JSONL file of documents")
    data = decode_bytes(path.read_bytes(), encoding=encoding, source=path.name)
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        obj = _json_line(line, where)
        if not isinstance(obj, dict):
            raise RecordFormatError(f"{where}: expected a JSON object")
        if line_ids:
            obj.setdefault("id", where)
        try:
            doc = Doc.from_dict(obj)
        except RecordFormatError as err:
            raise RecordFormatError(f"{where}: {err.message}", err.hint) from err
        if not allow_empty and not doc.text.strip():
            raise EmptyInputError(f"{where}: the text is empty")
        if lang is not None:
            doc.lang = doc.lang or lang
        yield doc, obj


def read_jsonl_docs(
    path: str | os.PathLike,
    encoding: str | None = None,
    lang: str | None = None,
    line_ids: bool = False,
    allow_empty: bool = True,
) -> list[Doc]:
    """The Docs of a JSONL file of Docs (the ``jsonl`` corpus reader); options as :func:`iter_jsonl_docs`.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "gold.jsonl"
    >>> _ = f.write_text('{"id": "d1", "text": "Thales"}\\n\\n{"text": "Brest"}\\n', encoding="utf-8")
    >>> [d.id for d in read_jsonl_docs(f)]
    ['d1', None]
    """
    return [doc for doc, _ in iter_jsonl_docs(path, encoding=encoding, lang=lang, line_ids=line_ids, allow_empty=allow_empty)]


def iter_parquet_records(
    path: str | os.PathLike,
    text_column: str = "text",
    id_column: str | None = None,
    batch_rows: int = PARQUET_BATCH_ROWS,
) -> Iterator[InputRecord]:
    """Yield one record per row of a Parquet file, reading ``batch_rows`` rows at a time.

    The default id is ``file:row`` (rows counted from 1). A row whose text is null, not a
    string or blank becomes an error record; a file without the text column yields one
    error record per row (so that the output still has one record per input row).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - pyarrow comes with datasets
        raise MissingDependencyError("pyarrow", "reading Parquet files") from err
    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid derives from ValueError
        yield InputRecord(
            id=path.name,
            source=str(path),
            error=InputError(f"{path.name}: cannot read as Parquet ({str(err)[:200]})", "check that the file is a valid Parquet file"),
        )
        return
    columns = parquet.schema_arrow.names
    missing = _missing_text_column(path, columns, text_column, id_column)
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            for obj in batch.to_pylist():
                row += 1
                default_id = f"{path.name}:{row}"
                source = f"{path}:{row}"
                if missing is not None:
                    yield InputRecord(id=default_id, source=source, error=missing)
                    continue
                yield _record_or_error({k: _jsonable(v) for k, v in obj.items()}, default_id, source, text_column, id_column)
    except (OSError, ValueError) as err:
        # a corrupt row group: report each remaining row so that none is silently lost
        error = InputError(f"{path.name}: unreadable after row {row} ({str(err)[:200]})", "check or rewrite the Parquet file")
        for rest in range(row + 1, parquet.metadata.num_rows + 1):
            yield InputRecord(id=f"{path.name}:{rest}", source=f"{path}:{rest}", error=error)


def iter_csv_records(
    path: str | os.PathLike,
    encoding: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per row of a CSV (``.tsv``: tab-separated) file with a header line.

    Read as a stream; the default id is ``file:row`` (data rows counted from 1). A row that is
    not valid in the file's encoding becomes an error record, and the rows after it are read.
    """
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long reports exceed the 128 kB default
    try:
        fh = open(path, "r", encoding=encoding or "utf-8-sig", errors="surrogateescape", newline="")
    except (OSError, LookupError) as err:
        reason = err.strerror if isinstance(err, OSError) else f"unknown encoding {encoding!r}"
        yield InputRecord(id=path.name, source=str(path), error=InputError(f"{path.name}: cannot read ({reason})"))
        return
    with fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
        except csv.Error as err:
            yield InputRecord(id=path.name, source=str(path), error=RecordFormatError(f"{path.name}: not valid CSV ({err})"))
            return
        missing = _missing_text_column(path, header, text_column, id_column)
        row = 0
        while True:
            try:
                obj = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                row += 1
                yield InputRecord(id=f"{path.name}:{row}", source=f"{path}:{row}",
                                  error=RecordFormatError(f"{path.name}:{row}: not valid CSV ({err})"))
                continue
            row += 1
            default_id = f"{path.name}:{row}"
            source = f"{path}:{row}"
            if missing is not None:
                yield InputRecord(id=default_id, source=source, error=missing)
            elif any(_has_surrogates(v) for v in obj.values() if isinstance(v, str)):
                own_id = obj.get(id_column or "id")
                yield InputRecord(
                    id=own_id if isinstance(own_id, str) and own_id and not _has_surrogates(own_id) else default_id,
                    source=source,
                    error=InputEncodingError(f"{default_id}: not valid {encoding or 'UTF-8'}"),
                )
            else:
                obj.pop(None, None)  # cells beyond the header
                yield _record_or_error(obj, default_id, source, text_column, id_column)


def _missing_text_column(path: Path, columns: list[str], text_column: str, id_column: str | None) -> DefnlpError | None:
    if id_column and id_column not in columns:
        log.warning("%s has no id column %r: using row numbers as ids", path.name, id_column)
    if text_column in columns:
        return None
    log.warning("%s has no text column %r (columns: %s): every row is an error record", path.name, text_column, ", ".join(columns))
    return RecordFormatError(
        f"{path.name} has no column {text_column!r} (columns: {', '.join(columns[:20])})",
        "name the column that holds the text with --text-column (text_column=...)",
    )


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _jsonable(value: Any) -> Any:
    """A Parquet cell as a JSON-compatible value (dates as ISO strings, bytes as base64)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
