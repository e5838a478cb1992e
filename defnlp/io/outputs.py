"""Writing annotated records: one output record per input record, atomically, resumably.

While a job runs, records go to ``OUT.partial`` (one line per input record, flushed as it is
written) and the job's identity (inputs, model, format) to ``OUT.partial.json``. When the job
ends the partial file is renamed to ``OUT`` in one atomic step. If the job is killed, the next
run with the same inputs finds the partial file, drops a torn last line, skips the records
already written and appends the rest: the final output holds each input exactly once, in
input order.

Error records keep the contract ``{"id", "error": {"type", "message", "hint"}}``.

Parquet output (:class:`ParquetWriter`) is resumable the same way: records go to
``OUT.parquet.partial`` as JSON lines, and when the job ends they are converted, in bounded
row groups, to ``OUT.parquet.tmp``, which is then renamed to ``OUT.parquet`` — a reader never
sees a half-written Parquet file (see :data:`PARQUET_SCHEMA` for the columns).

>>> import tempfile, pathlib, json
>>> out = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
>>> with JsonlWriter(out, job={"inputs": ["a"]}) as w:
...     w.write({"id": "a", "text": "x", "entities": [], "relations": []})
>>> [json.loads(l)["id"] for l in out.read_text().splitlines()]
['a']
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import DefnlpError, InputError

log = logging.getLogger(__name__)

__all__ = [
    "JsonlWriter",
    "ConllWriter",
    "BratWriter",
    "ParquetWriter",
    "open_writer",
    "error_record",
    "jsonl_to_parquet",
    "parquet_schema",
    "OUTPUT_FORMATS",
]

OUTPUT_FORMATS = ("jsonl", "conll", "brat", "parquet")

#: flush a Parquet row group when it holds this many records or this many bytes of JSON
PARQUET_GROUP_ROWS = 2048
PARQUET_GROUP_BYTES = 32 * 1024 * 1024


def error_record(record_id: str | None, error: DefnlpError, source: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"id": record_id, "error": error.to_dict()}
    if source:
        out["source"] = source
    return out


class _ResumableFile:
    """A line-oriented output written through ``<path>.partial`` and renamed when complete."""

    record_separator = "\n"

    def __init__(self, path: str | os.PathLike, job: dict[str, Any] | None = None, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.job_file = self.path.with_name(self.path.name + ".partial.json")
        self.job = job or {}
        self.done = 0
        if overwrite:
            for p in (self.partial, self.job_file):
                p.unlink(missing_ok=True)
        elif self.path.exists() and not self.partial.exists():
            raise InputError(f"{self.path} already exists", "pass --overwrite to replace it, or choose another --output")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.partial.exists():
            self._resume()
        else:
            self.job_file.write_text(json.dumps(self.job, sort_keys=True), encoding="utf-8")
        self._fh = open(self.partial, "a", encoding="utf-8", newline="\n")

    def _resume(self) -> None:
        try:
            previous = json.loads(self.job_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous != json.loads(json.dumps(self.job, sort_keys=True)):
            raise InputError(
                f"{self.partial} belongs to a different job (other inputs, model or format)",
                "pass --overwrite to start again, or re-run with the same inputs and options",
            )
        data = self.partial.read_bytes()
        sep = self.record_separator.encode()
        cut = data.rfind(sep) + len(sep) if data.rfind(sep) >= 0 else 0
        if cut != len(data):
            log.warning("dropping a torn last record from %s (%d bytes)", self.partial, len(data) - cut)
            with open(self.partial, "r+b") as fh:
                fh.truncate(cut)
        self.done = data[:cut].count(sep)
        log.info("resuming %s: %d records already written", self.path, self.done)

    def _write_raw(self, text: str) -> None:
        self._fh.write(text)
        self._fh.flush()

    def close(self, complete: bool = True) -> None:
        if self._fh.closed:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        if complete:
            self._publish()
            self.job_file.unlink(missing_ok=True)

    def _publish(self) -> None:
        """Turn the complete partial file into the final output, atomically."""
        os.replace(self.partial, self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


class JsonlWriter(_ResumableFile):
    """One JSON object per line."""

    def write(self, record: dict[str, Any] | Doc) -> None:
        if isinstance(record, Doc):
            record = record.to_dict()
        self._write_raw(json.dumps(record, ensure_ascii=False) + "\n")
        self.done += 1


class ConllWriter(_ResumableFile):
    """CoNLL: ``token<TAB>tag`` lines, a ``# id = ...`` header and a blank line per document."""

    record_separator = "\n\n"

    def write(self, record: dict[str, Any] | Doc) -> None:
        from .conll import doc_to_bio

        if isinstance(record, dict) and "error" in record:
            block = f"# id = {record.get('id')}\n# error = {record['error']['type']}: {record['error']['message']}\n"
        else:
            doc = record if isinstance(record, Doc) else Doc.from_dict(record)
            tokens, tags = doc_to_bio(doc)
            lines = [f"# id = {doc.id}"] + [f"{t}\t{tag}" for t, tag in zip(tokens, tags) if t.strip()]
            block = "\n".join(lines) + "\n"
        self._write_raw(block + "\n")
        self.done += 1


class ParquetWriter(JsonlWriter):
    """Parquet: JSON lines in ``OUT.partial`` while running, one Parquet file at the end.

    Columns: see :func:`parquet_schema`. ``meta`` is stored as a JSON string (its keys vary
    from record to record); error records have ``error`` set and null ``text``/``entities``.
    """

    def _publish(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        rows = jsonl_to_parquet(self.partial, tmp)
        os.replace(tmp, self.path)
        self.partial.unlink(missing_ok=True)
        log.info("wrote %d records to %s", rows, self.path)


def parquet_schema() -> Any:
    """The ``pyarrow`` schema of defnlp's Parquet output.

    ``id``, ``lang``, ``text``, ``source``: string · ``entities``: list of struct{start, end,
    label, text, score} · ``relations``: list of struct{head, tail, label, score} ·
    ``sentences``: list of struct{start, end} · ``meta``: JSON string · ``error``:
    struct{type, message, hint} (null when the record was annotated).

    >>> parquet_schema().names
    ['id', 'lang', 'text', 'entities', 'relations', 'sentences', 'meta', 'error', 'source']
    """
    import pyarrow as pa

    string, int64, float64 = pa.string(), pa.int64(), pa.float64()
    entity = pa.struct([("start", int64), ("end", int64), ("label", string), ("text", string), ("score", float64)])
    relation = pa.struct([("head", int64), ("tail", int64), ("label", string), ("score", float64)])
    sentence = pa.struct([("start", int64), ("end", int64)])
    error = pa.struct([("type", string), ("message", string), ("hint", string)])
    return pa.schema(
        [
            ("id", string),
            ("lang", string),
            ("text", string),
            ("entities", pa.list_(entity)),
            ("relations", pa.list_(relation)),
            ("sentences", pa.list_(sentence)),
            ("meta", string),
            ("error", error),
            ("source", string),
        ]
    )


def _parquet_row(record: dict[str, Any]) -> dict[str, Any]:
    row = {name: record.get(name) for name in ("id", "lang", "text", "entities", "relations", "sentences", "error", "source")}
    meta = record.get("meta")
    row["meta"] = None if meta in (None, {}) else json.dumps(meta, ensure_ascii=False, sort_keys=True)
    if row["id"] is not None:
        row["id"] = str(row["id"])
    return row


def jsonl_to_parquet(source: str | os.PathLike, target: str | os.PathLike) -> int:
    """Convert a JSONL file of output records to Parquet in bounded row groups; return the row count.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.jsonl").write_text('{"id": "a", "text": "Brest", "entities": [], "relations": []}\\n')
    >>> jsonl_to_parquet(d / "a.jsonl", d / "a.parquet")
    1
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    rows: list[dict[str, Any]] = []
    size = count = 0
    with open(source, "r", encoding="utf-8") as fh, pq.ParquetWriter(str(target), schema) as writer:
        for line in fh:
            if not line.strip():
                continue
            rows.append(_parquet_row(json.loads(line)))
            size += len(line)
            if len(rows) >= PARQUET_GROUP_ROWS or size >= PARQUET_GROUP_BYTES:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
                rows, size = [], 0
        if rows or count == 0:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count


class BratWriter:
    """brat standoff: ``<id>.txt`` + ``<id>.ann`` per document in a folder (``<id>.err`` for errors)."""

    def __init__(self, path: str | os.PathLike, job: dict[str, Any] | None = None, overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path} exists and is not a folder", "brat output needs a folder for --output")
        self.path.mkdir(parents=True, exist_ok=True)
        self.progress = self.path / ".defnlp-progress.json"
        self.job = json.loads(json.dumps(job or {}, sort_keys=True))
        self.done = 0
        if self.progress.exists() and not overwrite:
            state = json.loads(self.progress.read_text(encoding="utf-8"))
            if state.get("job") != self.job:
                raise InputError(f"{self.path} holds the output of a different job", "pass --overwrite or choose another --output")
            self.done = int(state.get("done", 0))
        elif any(self.path.iterdir()) and not overwrite:
            raise InputError(f"{self.path} is not empty", "pass --overwrite to write into it anyway")
        self._names: set[str] = {p.stem for p in self.path.iterdir() if p.suffix in (".txt", ".err")} if self.done else set()

    def _name(self, record_id: str | None) -> str:
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(record_id or f"doc-{self.done}"))[:120] or "doc"
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}-{k}"
        self._names.add(name)
        return name

    def write(self, record: dict[str, Any] | Doc) -> None:
        from .brat import doc_to_brat

        name = self._name(record.id if isinstance(record, Doc) else record.get("id"))
        if isinstance(record, dict) and "error" in record:
            _atomic_write(self.path / f"{name}.err", json.dumps(record, ensure_ascii=False) + "\n")
        else:
            doc = record if isinstance(record, Doc) else Doc.from_dict(record)
            txt, ann = doc_to_brat(doc)
            _atomic_write(self.path / f"{name}.txt", txt)
            _atomic_write(self.path / f"{name}.ann", ann)
        self.done += 1
        _atomic_write(self.progress, json.dumps({"job": self.job, "done": self.done}))

    def close(self, complete: bool = True) -> None:
        if complete:
            self.progress.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def open_writer(path: str | os.PathLike, fmt: str = "jsonl", job: dict[str, Any] | None = None, overwrite: bool = False):
    """A resumable writer for ``fmt`` (jsonl | conll | brat | parquet)."""
    if fmt == "jsonl":
        return JsonlWriter(path, job, overwrite)
    if fmt == "parquet":
        return ParquetWriter(path, job, overwrite)
    if fmt == "conll":
        return ConllWriter(path, job, overwrite)
    if fmt == "brat":
        return BratWriter(path, job, overwrite)
    raise InputError(f"unknown output format {fmt!r}", f"use one of {', '.join(OUTPUT_FORMATS)}")
