"""Batch annotation of files and folders: the engine behind ``defnlp annotate``.

>>> from defnlp.batch import annotate_files
>>> summary = annotate_files(["examples/"], "out.jsonl")   # doctest: +SKIP
>>> summary["records"], summary["errors"]                   # doctest: +SKIP
(4, 0)

Every input record yields exactly one output record — the annotated document or an error
record — in input order, as valid JSON (see :func:`output_safe`). One job at a time writes an
output (a lock), and an interrupted run resumes where it stopped, by identity: the inputs must
have the same fingerprints (:func:`fingerprint_inputs`) and start with the records already
written, id for id (see :mod:`defnlp.io.outputs`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import stat
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from .doc import Doc, DocResult
from .errors import DefnlpError, InputChangedError, InputError, UnpairedSurrogateError
from .io.inputs import InputRecord, iter_inputs
from .io.outputs import error_record, job_paths, open_writer, safe_text

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)

__all__ = ["annotate_files", "annotate_records", "count_records", "fingerprint_inputs", "output_safe"]

#: bytes hashed at the start and at the end of each input file for its fingerprint
FINGERPRINT_BYTES = 64 * 1024
#: bytes read at a time when counting the lines of a JSONL or CSV file for the progress bar
COUNT_CHUNK_BYTES = 1 << 20
_EMPTY_LINE = re.compile(b"\n(?=\n)")
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def annotate_records(nlp: Pipeline, records: Iterable[InputRecord]) -> Iterator[tuple[InputRecord, DocResult]]:
    """Each input record with its result, in input order: the annotated :class:`Doc`, or the
    :class:`DefnlpError` that kept the record from being read or annotated.

    >>> from defnlp.errors import EmptyInputError
    >>> from defnlp.io.inputs import InputRecord
    >>> recs = [InputRecord("a", "La DGA a commandé 42 Griffon."), InputRecord("b", error=EmptyInputError("b is empty"))]
    >>> [type(r).__name__ for _, r in annotate_records(nlp, recs)]   # doctest: +SKIP
    ['Doc', 'EmptyInputError']
    """
    waiting: deque[InputRecord] = deque()  # records whose result is still in the pipeline

    def items() -> Iterator[DocResult]:
        for rec in records:
            waiting.append(rec)
            yield rec.error if rec.error is not None else Doc(text=rec.text, id=rec.id, lang=rec.lang, meta=dict(rec.meta))

    for result in nlp.pipe(items(), errors="return"):
        yield waiting.popleft(), result


def output_safe(records: Iterable[InputRecord]) -> Iterator[InputRecord]:
    """The records, each made writable as RFC 8259 JSON, or turned into an error record.

    * an id that is not a string: a number becomes its JSON text, anything else an error
      record (:class:`~defnlp.errors.RecordFormatError`);
    * lone surrogates in the id or in an extra field (``meta``): an error record
      (:class:`~defnlp.errors.UnpairedSurrogateError`; the id is written with ``\\udXXX``
      escapes). Lone surrogates in the text are refused by the pipeline the same way;
    * NaN and ±Infinity in extra fields become ``null`` (JSON has no such numbers);
    * the ``source`` is written with its lone surrogates escaped (file names that are not UTF-8).

    >>> rec = InputRecord("a", "Brest", meta={"score": float("nan"), "tags": ["x"]})
    >>> [r.meta for r in output_safe([rec])]
    [{'score': None, 'tags': ['x']}]
    """
    for rec in records:
        yield _output_safe(rec)


def _output_safe(rec: InputRecord) -> InputRecord:
    source = safe_text(rec.source) if isinstance(rec.source, str) else str(rec.source)
    rid: Any = rec.id
    if isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)
    if not isinstance(rid, str):
        from .errors import RecordFormatError

        return InputRecord(id=None, source=source, error=RecordFormatError(  # type: ignore[arg-type]
            f"{source}: the record's id is a {type(rid).__name__}, not a string",
            'give each record a string id, e.g. {"id": "doc-1", "text": "..."}'))
    if _SURROGATE.search(rid):
        rid = safe_text(rid)
        return InputRecord(id=rid, source=source, error=UnpairedSurrogateError(f"{rid}: the id holds lone surrogates"))
    if rec.error is not None:
        return InputRecord(id=rid, source=source, error=rec.error) if (rid, source) != (rec.id, rec.source) else rec
    try:
        meta, problem = _json_safe(rec.meta)
    except RecursionError:
        meta, problem = None, "is nested too deeply"
    if problem is not None:
        return InputRecord(id=rid, source=source, error=UnpairedSurrogateError(f"{rid}: a field of the record {problem}")
                           if "surrogate" in problem else InputError(f"{rid}: a field of the record {problem}"))
    if rid is rec.id and source is rec.source and meta is rec.meta:
        return rec
    return InputRecord(id=rid, text=rec.text, lang=rec.lang, source=source, meta=meta, error=None)


def _json_safe(value: Any) -> tuple[Any, str | None]:
    """``value`` with NaN/Infinity as None, and the reason it cannot be written (lone surrogates)."""
    if isinstance(value, float):
        return (value, None) if math.isfinite(value) else (None, None)
    if isinstance(value, str):
        return value, ("holds lone surrogates" if _SURROGATE.search(value) else None)
    if isinstance(value, dict):
        out, changed = {}, False
        for k, v in value.items():
            if not isinstance(k, str):
                k, changed = str(k), True
            if _SURROGATE.search(k):
                return value, "holds lone surrogates"
            new, problem = _json_safe(v)
            if problem is not None:
                return value, problem
            changed = changed or new is not v
            out[k] = new
        return (out if changed else value), None
    if isinstance(value, (list, tuple)):
        items, changed = [], isinstance(value, tuple)
        for v in value:
            new, problem = _json_safe(v)
            if problem is not None:
                return value, problem
            changed = changed or new is not v
            items.append(new)
        return (items if changed else value), None
    return value, None


def fingerprint_inputs(inputs: Sequence[str | os.PathLike], exclude: Iterable[str | os.PathLike] = ()) -> dict[str, Any]:
    """The fingerprint of every file of ``inputs``: ``{path: [size, mtime_ns, sha256 of the first
    and last 64 KiB]}`` (folders walked; hidden files and the paths of ``exclude`` — the job's own
    files and everything under them — left out). A file that cannot be read gets its error
    (``{"error": ...}``), so that its recovery counts as a change too.

    Raises :class:`~defnlp.errors.InputError` for an input that does not exist.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("Brest", encoding="utf-8")
    >>> [(pathlib.Path(p).name, fp[0]) for p, fp in fingerprint_inputs([d]).items()]
    [('a.txt', 5)]
    """
    skip = [os.path.abspath(p) for p in exclude]
    out: dict[str, Any] = {}

    def excluded(path: str) -> bool:
        return any(path == s or path.startswith(s + os.sep) for s in skip)

    for given in inputs:
        path = os.path.abspath(given)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if not name.startswith(".") and not excluded(full):
                        out[full] = _fingerprint(full)
        elif os.path.lexists(path):
            out[path] = _fingerprint(path)
        else:
            raise InputError(
                f"input not found: {given}",
                "check the path; folders are read recursively for .txt, .jsonl, .parquet and .csv files",
            )
    return out


def _fingerprint(path: str) -> Any:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return {"special": stat.S_IFMT(st.st_mode)}
        with open(path, "rb") as fh:
            head = fh.read(FINGERPRINT_BYTES)
            tail = b""
            if st.st_size > FINGERPRINT_BYTES:
                fh.seek(max(FINGERPRINT_BYTES, st.st_size - FINGERPRINT_BYTES))
                tail = fh.read(FINGERPRINT_BYTES)
    except OSError as err:
        return {"error": err.strerror or type(err).__name__}
    return [st.st_size, st.st_mtime_ns, hashlib.sha256(head).hexdigest(), hashlib.sha256(tail).hexdigest()]


def count_records(files: Iterable[str | os.PathLike], given: Iterable[str | os.PathLike] = ()) -> int:
    """About how many records ``files`` hold, cheaply, for a progress bar's total: a text file is
    one, a JSONL file its non-empty lines (newlines counted in 1 MiB reads), a CSV file its lines
    less the header, a Parquet file the row count of its footer. Files of other kinds count one
    when given by name (they become one error record) and none when found in a folder
    (``given``: the paths given by name). Unreadable files count one.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.jsonl").write_text('{"text": "a"}\\n\\n{"text": "b"}', encoding="utf-8")
    >>> _ = (d / "b.txt").write_text("Brest", encoding="utf-8")
    >>> count_records([d / "a.jsonl", d / "b.txt", d / "c.bin"])
    3
    """
    from .io.inputs import CSV_SUFFIXES, JSONL_SUFFIXES, PARQUET_SUFFIXES, READABLE_SUFFIXES

    named = {os.path.abspath(p) for p in given}
    total = 0
    for path in files:
        suffix = Path(path).suffix.lower()
        try:
            if suffix in JSONL_SUFFIXES:
                total += _count_lines(path, skip_blank=True)
            elif suffix in CSV_SUFFIXES:
                total += max(_count_lines(path, skip_blank=False) - 1, 0)
            elif suffix in PARQUET_SUFFIXES:
                import pyarrow.parquet as pq

                total += pq.ParquetFile(path).metadata.num_rows
            elif suffix in READABLE_SUFFIXES or os.path.abspath(path) in named:
                total += 1
        except Exception:  # noqa: BLE001 - the reader reports it as an error record
            total += 1
    return total


def _count_lines(path: str | os.PathLike, skip_blank: bool) -> int:
    """The lines of a file (a last line without newline counts; with ``skip_blank``, empty lines
    do not), read in chunks: no line is ever held whole."""
    lines = blank = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(COUNT_CHUNK_BYTES):
            lines += chunk.count(b"\n")
            if skip_blank:  # a line of spaces still counts: an estimate, corrected when the bar ends
                blank += len(_EMPTY_LINE.findall(chunk)) + (last == b"\n" and chunk[:1] == b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - blank, 0)


def _skip_written(records: Iterator[InputRecord], done: int, written: Sequence[str | None]) -> int:
    """Skip the ``done`` records already written, checking that they are the same records."""
    for k in range(done):
        rec = next(records, None)
        if rec is None:
            raise InputChangedError(f"the inputs now hold {k} records, but the interrupted run already wrote {done}")
        if k < len(written) and rec.id != written[k]:
            raise InputChangedError(
                f"record {k + 1} of the inputs is {rec.id!r} ({rec.source}), but the interrupted run wrote "
                f"{written[k]!r} there: the inputs changed"
            )
    return done


def annotate_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    model: str | None = None,
    fmt: str = "jsonl",
    encoding: str | None = None,
    overwrite: bool = False,
    nlp: Pipeline | None = None,
    progress: bool = True,
    text_column: str = "text",
    id_column: str | None = None,
    loader: Callable[[], Pipeline] | None = None,
    **load_options: Any,
) -> dict[str, Any]:
    """Annotate every document of ``inputs`` into ``output``; return a summary.

    ``text_column``/``id_column`` name the text and id fields of JSONL, Parquet and CSV inputs.
    The pipeline is ``nlp``, else ``loader()``, else ``load(model, **load_options)``; it is
    loaded after the output is checked. ``progress``: a bar on standard error with the total
    (:func:`count_records`) and an ETA, shown only when standard error is a terminal.
    """
    from tqdm.auto import tqdm

    from .pipeline import load

    job = {"inputs": [os.path.abspath(p) for p in inputs], "model": model or "default", "format": fmt,
           "columns": {"text": text_column, "id": id_column}}
    started = time.perf_counter()
    output = Path(output)
    fingerprints = fingerprint_inputs(inputs, exclude=[output, *job_paths(output)])
    # checks the output (folder, permissions, lock, a partial of another job, changed inputs) before
    # the model loads; the partial file itself appears with the first record
    with open_writer(output, fmt, job=job, overwrite=overwrite, inputs=fingerprints) as writer:
        nlp = nlp or (loader() if loader is not None else load(model, **load_options))
        declare = getattr(writer, "declare_labels", None)
        if declare is not None:  # brat: annotation.conf lists every label of the model
            declare(getattr(nlp, "entity_labels", ()), getattr(nlp, "relation_labels", ()))
        records = output_safe(iter_inputs(inputs, encoding=encoding, text_column=text_column, id_column=id_column))
        skip = _skip_written(records, writer.done, writer.written_ids)
        n_records = n_errors = n_entities = n_relations = 0
        bar = tqdm(desc="annotating", unit="doc", initial=skip, disable=not progress or None)
        if not bar.disable:  # a terminal: count the records for the total and the ETA
            bar.total = count_records(fingerprints, inputs)
            bar.refresh()
        for rec, result in annotate_records(nlp, records):
            if isinstance(result, DefnlpError):
                writer.write(error_record(rec.id, result, rec.source))
                n_errors += 1
                log.warning("record %s: %s", safe_text(str(rec.id)), safe_text(result.message))
            else:
                writer.write(result)
                n_entities += len(result.entities)
                n_relations += len(result.relations)
            n_records += 1
            bar.update(1)
        if bar.total is not None and bar.total != bar.n:  # the count was an estimate
            bar.total = bar.n
            bar.refresh()
        bar.close()
    elapsed = time.perf_counter() - started
    summary = {"output": str(output), "records": n_records + skip, "resumed_from": skip, "errors": n_errors,
               "entities": n_entities, "relations": n_relations, "seconds": round(elapsed, 2)}
    log.debug("annotated %(records)d records (%(errors)d errors) into %(output)s", summary)  # the CLI prints the summary
    return summary
