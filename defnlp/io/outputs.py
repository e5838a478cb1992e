"""Writing annotated records: one output record per input record, atomically, resumably, exclusively.

While a job runs, these files sit beside ``OUT``:

* ``OUT.lock``: held (``flock``) by the running job. A second job on the same output fails at
  once with :class:`~defnlp.errors.OutputLockedError`; the lock dies with its process, so a
  ``kill -9`` leaves no stale lock.
* ``OUT.partial``: the records, written and flushed one by one;
* ``OUT.partial.json``: the job manifest: its identity (inputs, model, format, columns) and a
  fingerprint of every input file (size, mtime, sha256 of the first and last 64 KiB);
* ``OUT.partial.ledger``: one line per record written: ``[end offset in OUT.partial, id]``.

The partial files are created with the first record (or at the end of a job without records),
so a run that fails before (the model or an input cannot be opened) leaves nothing behind. When
the job ends, the partial file is renamed to ``OUT`` in one atomic step. If the job is killed,
the next run of the same job counts the records of the ledger (never the lines of the output:
a CoNLL block may hold blank lines), cuts the partial file after the last of them, checks the
fingerprints (an input that changed is refused with :class:`~defnlp.errors.InputChangedError`
naming it), and gives the ids written (:attr:`_ResumableFile.written_ids`) so that the caller
checks that the inputs still start with the same records.

Every line written is RFC 8259 JSON (no NaN or Infinity, no lone surrogates): a record that
cannot be written so becomes an error record (:func:`dumps_record`). Error records keep the
contract ``{"id", "error": {"type", "message", "hint"}}``. Output-side failures (the output is
a folder, its folder cannot be created or written, the disk is full) are
:class:`~defnlp.errors.OutputError`, raised before the run where they can be seen then.

Parquet output (:class:`ParquetWriter`) is resumable the same way: records go to
``OUT.parquet.partial`` as JSON lines, and when the job ends they are converted, in bounded
row groups, to ``OUT.parquet.tmp``, which is then renamed to ``OUT.parquet`` — a reader never
sees a half-written Parquet file (see :data:`PARQUET_SCHEMA` for the columns).

Label Studio output (:class:`LabelStudioWriter`) is published the same way: tasks go to
``OUT.partial`` as JSON lines, and the JSON list Label Studio imports is written at the end and
renamed to ``OUT``, so ``OUT`` is valid JSON whenever it exists. doccano output
(:class:`DoccanoWriter`) is JSON Lines, written like JSONL. Both leave error records out (an
annotation tool cannot import them; they are counted in the summary and logged).

>>> import tempfile, pathlib, json
>>> out = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
>>> with JsonlWriter(out, job={"inputs": ["a"]}) as w:
...     w.write({"id": "a", "text": "x", "entities": [], "relations": []})
...     w.write({"id": "b", "text": "x", "meta": {"score": float("nan")}})
>>> [json.loads(l).get("error", {}).get("type") for l in out.read_text().splitlines()]
[None, 'UnwritableRecordError']
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import DefnlpError, InputChangedError, InputError, OutputError, OutputLockedError

try:  # pragma: no cover - always there on POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = [
    "JsonlWriter",
    "ConllWriter",
    "BratWriter",
    "ParquetWriter",
    "LabelStudioWriter",
    "DoccanoWriter",
    "OutputLock",
    "open_writer",
    "error_record",
    "dumps_record",
    "safe_text",
    "check_output_path",
    "job_paths",
    "jsonl_to_parquet",
    "parquet_schema",
    "UnwritableRecordError",
    "OUTPUT_FORMATS",
]

OUTPUT_FORMATS = ("jsonl", "conll", "brat", "parquet", "labelstudio", "doccano")

#: flush a Parquet row group when it holds this many records or this many bytes of JSON
PARQUET_GROUP_ROWS = 2048
PARQUET_GROUP_BYTES = 32 * 1024 * 1024

#: the version of the job manifest (``OUT.partial.json``); a partial of another version is not resumed
JOB_VERSION = 2

_SURROGATE = re.compile("[\ud800-\udfff]")


class UnwritableRecordError(InputError):
    """A record holds values that RFC 8259 JSON cannot carry (NaN, Infinity, lone surrogates)."""

    default_hint = "clean the input record: JSON has no NaN or Infinity, and UTF-8 no lone surrogates"


def safe_text(value: str) -> str:
    """``value`` with each lone surrogate written as its escape ``\\udXXX``: safe in UTF-8 and JSON.

    >>> safe_text("Brest \\ud800")
    'Brest \\\\ud800'
    """
    if not _SURROGATE.search(value):
        return value
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def _safe_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def error_record(record_id: str | None, error: DefnlpError, source: str = "") -> dict[str, Any]:
    """The output record of an input that could not be annotated (id and source made writable).

    >>> from defnlp.errors import EmptyInputError
    >>> error_record("a\\ud800", EmptyInputError("a is empty"), "in/a.txt")["id"]
    'a\\\\ud800'
    """
    out: dict[str, Any] = {"id": _safe_id(record_id), "error": error.to_dict()}
    if source:
        out["source"] = safe_text(str(source))
    return out


def dumps_record(record: dict[str, Any]) -> str:
    """One record as one line of RFC 8259 JSON (UTF-8, no NaN/Infinity, no lone surrogates).

    A record that cannot be written so gives, in its place, an error record
    (:class:`UnwritableRecordError`) with its id made safe: a line is never invalid, and never
    missing.

    >>> dumps_record({"id": "a", "meta": {"x": float("inf")}})[:60]
    '{"id": "a", "error": {"type": "UnwritableRecordError", "mess'
    """
    try:
        line = json.dumps(record, ensure_ascii=False, allow_nan=False)
        if _SURROGATE.search(line):
            raise ValueError("lone surrogates")
        return line
    except (ValueError, TypeError, RecursionError) as err:
        return json.dumps(_unwritable(record, err), ensure_ascii=False, allow_nan=False)


def _unwritable(record: Any, err: BaseException) -> dict[str, Any]:
    rid = _safe_id(record.get("id")) if isinstance(record, dict) else None
    reason = "it holds lone surrogates" if "surrogate" in str(err) else f"{type(err).__name__}: {str(err)[:200]}"
    out = error_record(rid, UnwritableRecordError(f"record {rid!r} cannot be written as JSON ({safe_text(reason)})"))
    source = record.get("source") if isinstance(record, dict) else None
    if isinstance(source, str) and source:
        out["source"] = safe_text(source)
    return out


def job_paths(path: str | os.PathLike) -> list[Path]:
    """The files a job on ``path`` writes beside it (lock, partial, manifest, ledger, temporary)."""
    path = Path(path)
    return [path.with_name(path.name + suffix) for suffix in (".lock", ".partial", ".partial.json", ".partial.ledger", ".tmp")]


def check_output_path(path: str | os.PathLike, folder: bool = False) -> Path:
    """Check, before a run, that ``path`` can be written; create its folder. Return the path.

    Raises :class:`~defnlp.errors.OutputError` when the output is a folder (a file for
    ``folder=True``), when a parent is a file, or when its folder cannot be created or written.
    """
    path = Path(path)
    if not folder and path.is_dir():
        raise OutputError(f"the output {path} is a folder",
                          "give a file name for --output (out.jsonl, out.parquet, out.conll, tasks.json), or --format brat to write a folder")
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"{path} exists and is not a folder", "brat output needs a folder for --output")
    parent = path if folder else path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        blocker = next((p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), parent)
        raise OutputError(f"cannot create the folder {parent} of the output: {blocker} is a file",
                          "choose an --output whose folders are folders") from err
    except OSError as err:
        raise output_error(parent, err, "cannot create the output folder") from err
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in the output folder {parent} (permission denied)", "choose a writable --output folder")
    return path


def output_error(path: Path, err: OSError, doing: str = "cannot write") -> OutputError:
    """The :class:`OutputError` for an ``OSError`` met while writing ``path``."""
    reason = err.strerror or type(err).__name__
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space on the output's disk (or choose another --output), then re-run the same command: it resumes"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a writable --output folder"
    else:
        hint = None
    return OutputError(f"{doing} {path}: {reason}", hint)


class OutputLock:
    """An exclusive lock on a job's output: ``flock`` on ``OUT.lock``, released when the process ends.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> with OutputLock(out):
    ...     OutputLock(out).acquire()
    Traceback (most recent call last):
    ...
    defnlp.errors.OutputLockedError: another defnlp job is writing ... (hint: ...)
    """

    def __init__(self, output: str | os.PathLike) -> None:
        self.output = Path(output)
        self.path = self.output.with_name(self.output.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        if fcntl is None:  # pragma: no cover
            return self
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise output_error(self.path.parent, err, "cannot write in the output folder") from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
                os.close(fd)
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise output_error(self.path, err, "cannot lock") from err
                raise OutputLockedError(f"another defnlp job is writing {self.output} ({holder or 'lock held'})") from None
            try:  # the job that held it may have removed the file just before: lock the file in place
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        try:
            os.ftruncate(fd, 0)
            os.write(fd, info)
        except OSError as err:
            os.close(fd)
            raise output_error(self.path, err) from err
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still held: a waiter then sees another inode
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def compare_inputs(previous: dict[str, Any] | None, current: dict[str, Any] | None) -> None:
    """Raise :class:`~defnlp.errors.InputChangedError` naming the first input that differs."""
    if previous is None or current is None or previous == current:
        return
    for path in sorted(set(previous) | set(current)):
        if path not in current:
            what = "was removed"
        elif path not in previous:
            what = "was added"
        elif previous[path] != current[path]:
            what = "changed (size, time or content)"
        else:
            continue
        raise InputChangedError(f"the input {safe_text(path)} {what} since the interrupted run; resuming would mix two versions of the inputs")


class _ResumableFile:
    """A record-oriented output written through ``<path>.partial`` and renamed when complete."""

    def __init__(
        self,
        path: str | os.PathLike,
        job: dict[str, Any] | None = None,
        overwrite: bool = False,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.path = check_output_path(path)
        self.partial, self.job_file, self.ledger = job_paths(self.path)[1:4]
        self.job = json.loads(json.dumps(job or {}, sort_keys=True))
        self.inputs = inputs
        self.done = 0
        #: the ids of the records already written (a resumed job), in order
        self.written_ids: list[str | None] = []
        self._size = 0
        self._fh: Any = None
        self._ledger_fh: Any = None
        self.lock = OutputLock(self.path).acquire()
        try:
            if overwrite:
                for p in (self.partial, self.job_file, self.ledger):
                    p.unlink(missing_ok=True)
            elif self.path.exists() and not self.partial.exists():
                raise InputError(f"{self.path} already exists", "pass --overwrite to replace it, or choose another --output")
            if self.partial.exists():
                self._resume()
        except BaseException:
            self.lock.release()
            raise

    # ---- resuming -----------------------------------------------------------------------------------
    def _resume(self) -> None:
        try:
            state = json.loads(self.job_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        entries = self._read_ledger()
        previous = state.get("job") if isinstance(state, dict) and state.get("version") == JOB_VERSION else None
        if previous != self.job:
            if not entries and self._ledger_consistent():
                log.info("%s holds no record: starting the job afresh", self.partial)
                for p in (self.partial, self.job_file, self.ledger):
                    p.unlink(missing_ok=True)
                return
            raise InputError(
                f"{self.partial} belongs to a different job (other inputs, model, format or columns, or an older defnlp)",
                "pass --overwrite to start again, or re-run with the same inputs and options",
            )
        compare_inputs(state.get("inputs"), self.inputs)
        size = self.partial.stat().st_size
        while entries and entries[-1][0] > size:  # recorded, but the record itself is not on disk
            entries.pop()
        cut = entries[-1][0] if entries else 0
        if cut != size:
            log.warning("dropping a torn last record from %s (%d bytes)", self.partial, size - cut)
        with open(self.partial, "r+b") as fh:
            fh.truncate(cut)
        with open(self.ledger, "wb") as fh:  # the ledger without a torn last line
            fh.write(b"".join(self._ledger_line(end, rid) for end, rid in entries))
        self._size = cut
        self.done = len(entries)
        self.written_ids = [rid for _, rid in entries]
        self._open("ab")
        log.info("resuming %s: %d records already written", self.path, self.done)

    def _ledger_consistent(self) -> bool:
        """A partial with no ledger entry may be dropped only if it is empty or has a ledger."""
        return self.ledger.exists() or self.partial.stat().st_size == 0

    def _read_ledger(self) -> list[tuple[int, str | None]]:
        entries: list[tuple[int, str | None]] = []
        try:
            data = self.ledger.read_bytes()
        except FileNotFoundError:
            return entries
        end_prev = 0
        for line in data.split(b"\n")[:-1]:  # the part after the last newline is torn
            try:
                end, rid = json.loads(line)
            except (ValueError, TypeError):
                break
            if not isinstance(end, int) or end < end_prev or not (rid is None or isinstance(rid, str)):
                break
            entries.append((end, rid))
            end_prev = end
        return entries

    @staticmethod
    def _ledger_line(end: int, rid: str | None) -> bytes:
        return (json.dumps([end, rid]) + "\n").encode("ascii")

    # ---- writing ------------------------------------------------------------------------------------
    def _open(self, mode: str) -> None:
        try:
            if mode == "wb":  # a new job: its manifest first, then the (empty) partial and ledger
                tmp = self.job_file.with_name(self.job_file.name + ".tmp")
                state = {"version": JOB_VERSION, "job": self.job, "inputs": self.inputs}
                tmp.write_text(json.dumps(state, sort_keys=True, ensure_ascii=True), encoding="utf-8")
                os.replace(tmp, self.job_file)
            self._fh = open(self.partial, mode)  # noqa: SIM115
            self._ledger_fh = open(self.ledger, mode)  # noqa: SIM115
        except OSError as err:
            raise output_error(self.partial, err) from err

    def format(self, record: dict[str, Any]) -> str:
        """The text of one record in the output (one JSON line here)."""
        return dumps_record(record) + "\n"

    def write(self, record: dict[str, Any] | Doc) -> None:
        """Append one record (a Doc, an output dict or an :func:`error_record`) and flush it."""
        if isinstance(record, Doc):
            record = record.to_dict()
        try:
            data = self.format(record).encode("utf-8")
        except (DefnlpError, ValueError, TypeError, KeyError, RecursionError) as err:  # UnicodeEncodeError too
            record = _unwritable(record, err)
            data = self.format(record).encode("utf-8")
        rid = record.get("id")
        rid = _safe_id(rid)
        if self._fh is None:
            self._open("wb")
        try:
            self._fh.write(data)
            self._fh.flush()
            self._size += len(data)
            self._ledger_fh.write(self._ledger_line(self._size, rid))
            self._ledger_fh.flush()
        except OSError as err:
            raise output_error(self.partial, err) from err
        self.done += 1

    def close(self, complete: bool = True) -> None:
        try:
            if complete and self._fh is None:
                self._open("wb")  # a job without records still publishes its (empty) output
            for fh in (self._fh, self._ledger_fh):
                if fh is not None and not fh.closed:
                    try:
                        fh.flush()
                        if complete:
                            os.fsync(fh.fileno())
                    except OSError as err:
                        if complete:
                            raise output_error(self.partial, err) from err
                    finally:
                        _close_quietly(fh)  # an interrupted job: what could not be flushed is redone
            if complete:
                try:
                    self._publish()
                except OSError as err:
                    raise output_error(self.path, err, "cannot publish the output to") from err
                self.job_file.unlink(missing_ok=True)
                self.ledger.unlink(missing_ok=True)
        finally:
            self.lock.release()

    def _publish(self) -> None:
        """Turn the complete partial file into the final output, atomically."""
        os.replace(self.partial, self.path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def _close_quietly(fh: Any) -> None:
    try:
        fh.close()
    except OSError:
        pass


class JsonlWriter(_ResumableFile):
    """One JSON object per line (:func:`dumps_record`)."""


#: characters that end a line for some reader (``str.splitlines``): escaped in CoNLL comments
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _comment(value: Any) -> str:
    """``value`` as the text of a one-line CoNLL comment: line breaks and lone surrogates escaped."""
    text = safe_text(str(value))
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ConllWriter(_ResumableFile):
    """CoNLL-2003 NER: each record starts with the line ``-DOCSTART- -X- O O`` and a blank line, then
    its sentences, ``token TAG`` lines (IOB2) with a blank line after each sentence.

    spaCy's ``conll_ner_to_docs`` (``spacy convert -c ner``) reads it as one Doc per record, and
    ``defnlp evaluate`` / :func:`~defnlp.io.conll.read_conll` read it back. Tokens are cut at
    whitespace (a token never holds a space, NBSP or line separator). Records are in input order,
    so the N-th ``-DOCSTART-`` is the N-th input record; an error record is a ``-DOCSTART-`` with no
    tokens (its error is in the log and counted in the summary; JSONL output keeps it whole).
    Resuming counts records in the ledger, not blocks in the output.
    """

    def format(self, record: dict[str, Any]) -> str:
        from .conll import DOCSTART, docs_to_conll

        if "error" in record:
            return f"{DOCSTART}\n\n"
        return docs_to_conll([Doc.from_dict(record)], docstart=True, split_tokens=True)


class ParquetWriter(JsonlWriter):
    """Parquet: JSON lines in ``OUT.partial`` while running, one Parquet file at the end.

    Columns: see :func:`parquet_schema`, then one column per extra field of the input records
    (the other columns of a Parquet/CSV input, the other keys of a JSONL input; see
    :func:`jsonl_to_parquet`); error records have ``error`` set and null ``text``/``entities``.
    """

    def _publish(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        rows = jsonl_to_parquet(self.partial, tmp)
        os.replace(tmp, self.path)
        self.partial.unlink(missing_ok=True)
        log.info("wrote %d records to %s", rows, self.path)


class LabelStudioWriter(JsonlWriter):
    """Label Studio tasks (:func:`~defnlp.io.labelstudio.doc_to_task`) as ``predictions`` with their
    scores and the job's model as ``model_version``: pre-annotations to correct in Label Studio.

    While running, ``OUT.partial`` holds one task per line (resumable like JSONL); at the end the
    JSON list Label Studio imports is written to ``OUT.tmp`` and renamed to ``OUT``. Error records
    are left out (a task needs a text). :func:`~defnlp.io.labelstudio.read_labelstudio` reads the
    file back — and the export of the project once corrected.

    >>> import tempfile, pathlib
    >>> from defnlp.io.labelstudio import read_labelstudio
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "tasks.json"
    >>> with LabelStudioWriter(out, job={"model": "tiny"}) as w:
    ...     w.write({"id": "a", "text": "Brest", "entities": [{"start": 0, "end": 5, "label": "LOC", "score": 0.9}]})
    ...     w.write({"id": "b", "error": {"type": "EmptyInputError", "message": "empty", "hint": ""}})
    >>> [(d.id, d.entities[0].score, d.meta["labelstudio"]["from"]) for d in read_labelstudio(out)]
    [('a', 0.9, 'predictions')]
    """

    def format(self, record: dict[str, Any]) -> str:
        from .labelstudio import doc_to_task

        if "error" in record:
            return ""
        model = self.job.get("model")
        return _strict_json(doc_to_task(Doc.from_dict(record), predictions=True, model_version=model)) + "\n"

    def _publish(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        count = 0
        with open(self.partial, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
            dst.write("[")
            for line in src:
                if line.strip():
                    dst.write(("\n" if count == 0 else ",\n") + line.rstrip("\n"))
                    count += 1
            dst.write("\n]\n")
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path)
        self.partial.unlink(missing_ok=True)
        log.info("wrote %d Label Studio tasks to %s", count, self.path)


class DoccanoWriter(_ResumableFile):
    """doccano JSONL, relation form (:func:`~defnlp.io.doccano.doc_to_doccano`): one document per
    line, imported by doccano as a sequence labelling project with relations. Error records are
    left out (doccano cannot import a line without text)."""

    def format(self, record: dict[str, Any]) -> str:
        from .doccano import doc_to_doccano

        if "error" in record:
            return ""
        return _strict_json(doc_to_doccano(Doc.from_dict(record))) + "\n"


def _strict_json(value: Any) -> str:
    """``value`` as one line of RFC 8259 JSON; ``ValueError`` if it cannot be (the writer then
    treats the record as unwritable)."""
    line = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if _SURROGATE.search(line):
        raise ValueError("lone surrogates")
    return line


def parquet_schema() -> Any:
    """The ``pyarrow`` schema of defnlp's Parquet output.

    ``id``, ``lang``, ``text``, ``source``: string · ``entities``: list of struct{start, end,
    label, text, score} · ``relations``: list of struct{head, tail, label, score} ·
    ``sentences``: list of struct{start, end} · ``meta``: JSON string of the extra fields
    that could not be columns (their name is one of these) · ``error``: struct{type, message,
    hint} (null when the record was annotated). The extra fields of the input follow as columns
    (:func:`jsonl_to_parquet`).

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


def _parquet_row(record: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    row = {name: record.get(name) for name in ("id", "lang", "text", "entities", "relations", "sentences", "error", "source")}
    meta = record.get("meta")
    if isinstance(meta, dict) and extra:
        for key, kind in extra.items():
            value = meta.get(key)
            row[key] = value if kind.scalar or value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))
        meta = {k: v for k, v in meta.items() if k not in extra}
    row["meta"] = None if meta in (None, {}) else json.dumps(meta, ensure_ascii=False, sort_keys=True)
    if row["id"] is not None:
        row["id"] = str(row["id"])
    return row


class _ColumnKind:
    """The kinds of value met in one extra field: its Arrow type (text when they mix)."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()

    def add(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            self.kinds.add("bool")
        elif isinstance(value, int):
            self.kinds.add("int" if -(2**63) <= value < 2**63 else "other")
        elif isinstance(value, float):
            self.kinds.add("float")
        elif isinstance(value, str):
            self.kinds.add("str")
        else:
            self.kinds.add("other")

    @property
    def scalar(self) -> bool:
        """One Arrow scalar type holds every value as it is (else: text, JSON for lists and objects)."""
        return self.kinds in ({"bool"}, {"int"}, {"float"}, {"int", "float"}, {"str"}) or not self.kinds

    def arrow_type(self) -> Any:
        import pyarrow as pa

        if self.kinds == {"bool"}:
            return pa.bool_()
        if self.kinds == {"int"}:
            return pa.int64()
        if self.kinds in ({"float"}, {"int", "float"}):
            return pa.float64()
        return pa.string()


def _extra_columns(source: str | os.PathLike, reserved: set[str]) -> dict[str, _ColumnKind]:
    """The extra fields of the records of a JSONL file (first pass), in order of first appearance."""
    columns: dict[str, _ColumnKind] = {}
    with open(source, "r", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            meta = json.loads(line).get("meta")
            if not isinstance(meta, dict):
                continue
            for key, value in meta.items():
                if key in reserved:
                    continue
                columns.setdefault(key, _ColumnKind()).add(value)
    return columns


def jsonl_to_parquet(source: str | os.PathLike, target: str | os.PathLike) -> int:
    """Convert a JSONL file of output records to Parquet in bounded row groups; return the row count.

    The fixed columns are :func:`parquet_schema`'s; then every extra field of the records
    (``meta``: the other columns of the input) becomes a column of its own, in order of first
    appearance, null where a record lacks it: bool, int64, float64 (ints and floats mixed) or
    string; a field whose values are lists, objects or of mixed kinds is a string column (JSON
    for lists and objects). A field named like a fixed column stays in the ``meta`` JSON string.
    Two passes over the JSONL file; memory holds one row group.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.jsonl").write_text('{"id": "a", "text": "Brest", "entities": [], "relations": [], "meta": {"year": 2024}}\\n')
    >>> jsonl_to_parquet(d / "a.jsonl", d / "a.parquet")
    1
    >>> import pyarrow.parquet as pq; pq.read_table(d / "a.parquet").column("year").to_pylist()
    [2024]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = parquet_schema()
    extra = _extra_columns(source, set(base.names))
    schema = pa.schema(list(base) + [pa.field(key, kind.arrow_type()) for key, kind in extra.items()])
    rows: list[dict[str, Any]] = []
    size = count = 0
    with open(source, "r", encoding="utf-8") as fh, pq.ParquetWriter(str(target), schema) as writer:
        for line in fh:
            if not line.strip():
                continue
            rows.append(_parquet_row(json.loads(line), extra))
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
    """brat standoff: ``NAME.txt`` + ``NAME.ann`` per document in a folder (``NAME.err`` for an error
    record), and an ``annotation.conf`` listing the labels of the model and of the records.

    ``NAME`` is :func:`~defnlp.io.brat.brat_file_name` of the record's id (``a/b`` → ``a%2Fb``;
    :func:`~defnlp.io.brat.brat_record_id` maps it back); a name met twice (the same id, or names
    that differ only in case) gets ``~2``, ``~3``... ``.ann`` lines follow brat's rules: ``T1<TAB>LABEL
    start end<TAB>text`` with the text of the ``.txt`` at those offsets (an entity crossing a line
    break is written as fragments split at the break, as brat does), ``R1<TAB>LABEL Arg1:T1 Arg2:T2``.

    Resumable like the file writers: ``.defnlp-progress.json`` holds the job manifest and
    ``.defnlp-ledger`` one line ``[file name, id]`` per record written (after its files).
    """

    CONF = "annotation.conf"

    def __init__(
        self,
        path: str | os.PathLike,
        job: dict[str, Any] | None = None,
        overwrite: bool = False,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.path = check_output_path(path, folder=True)
        self.progress = self.path / ".defnlp-progress.json"
        self.ledger = self.path / ".defnlp-ledger"
        self.job = json.loads(json.dumps(job or {}, sort_keys=True))
        self.inputs = inputs
        self.done = 0
        self.written_ids: list[str | None] = []
        self._names: set[str] = set()
        self._resumed: list[str] = []
        self.entity_labels: set[str] = set()
        self.relation_labels: set[str] = set()
        self._ledger_fh: Any = None
        self.lock = OutputLock(self.path).acquire()
        try:
            self._start(overwrite)
        except BaseException:
            self.lock.release()
            raise

    def _start(self, overwrite: bool) -> None:
        if self.progress.exists() and not overwrite:
            try:
                state = json.loads(self.progress.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                state = {}
            if state.get("version") != JOB_VERSION or state.get("job") != self.job:
                raise InputError(f"{self.path} holds the output of a different job", "pass --overwrite or choose another --output")
            compare_inputs(state.get("inputs"), self.inputs)
            try:
                lines = self.ledger.read_bytes().split(b"\n")[:-1]
            except FileNotFoundError:
                lines = []
            for line in lines:
                try:
                    name, rid = json.loads(line)
                except (ValueError, TypeError):
                    break
                self._names.add(name.casefold())
                self._resumed.append(name)
                self.written_ids.append(rid)
            self.done = len(self.written_ids)
            self.ledger.write_bytes(b"".join(line + b"\n" for line in lines[: self.done]))  # without a torn line
            return
        if any(p.name not in (self.progress.name, self.ledger.name) for p in self.path.iterdir()) and not overwrite:
            raise InputError(f"{self.path} is not empty", "pass --overwrite to write into it anyway")
        try:
            _atomic_write(self.progress, json.dumps({"version": JOB_VERSION, "job": self.job, "inputs": self.inputs}, ensure_ascii=True))
            self.ledger.write_bytes(b"")
        except OSError as err:
            raise output_error(self.path, err) from err

    def declare_labels(self, entity_labels: Any = (), relation_labels: Any = ()) -> None:
        """Labels for ``annotation.conf`` beyond those the records use (all the model's labels)."""
        self.entity_labels.update(entity_labels)
        self.relation_labels.update(relation_labels)

    @staticmethod
    def _ledger_line(name: str, rid: str | None) -> bytes:
        return (json.dumps([name, rid]) + "\n").encode("ascii")

    def _name(self, record_id: str | None) -> str:
        from .brat import brat_file_name

        base = brat_file_name(record_id)
        name, k = base, 1
        while name.casefold() in self._names:  # case-insensitive file systems too
            k += 1
            name = f"{base}~{k}"
        return name

    def write(self, record: dict[str, Any] | Doc) -> None:
        from .brat import doc_to_brat

        if isinstance(record, Doc):
            record = record.to_dict()
        rid = _safe_id(record.get("id"))
        name = self._name(rid)
        files: list[tuple[str, str]]
        try:
            if "error" in record:
                files = [(f"{name}.err", dumps_record(record) + "\n")]
            else:
                doc = Doc.from_dict(record)
                txt, ann = doc_to_brat(doc)
                txt.encode("utf-8"), ann.encode("utf-8")
                files = [(f"{name}.txt", txt), (f"{name}.ann", ann)]
                self.entity_labels.update(e.label for e in doc.entities)
                self.relation_labels.update(r.label for r in doc.relations)
        except (DefnlpError, ValueError, TypeError, KeyError, RecursionError) as err:
            files = [(f"{name}.err", dumps_record(_unwritable(record, err)) + "\n")]
        try:
            for fname, text in files:
                _atomic_write(self.path / fname, text)
            if self._ledger_fh is None:
                self._ledger_fh = open(self.ledger, "ab")  # noqa: SIM115
            self._ledger_fh.write(self._ledger_line(name, rid))
            self._ledger_fh.flush()
        except OSError as err:
            raise output_error(self.path, err) from err
        self._names.add(name.casefold())
        self.done += 1

    def _write_conf(self) -> None:
        from .brat import ann_labels, annotation_conf

        for name in self._resumed:  # the labels of the records an interrupted run wrote
            try:
                entities, relations = ann_labels((self.path / f"{name}.ann").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
            self.entity_labels |= entities
            self.relation_labels |= relations
        _atomic_write(self.path / self.CONF, annotation_conf(self.entity_labels, self.relation_labels))

    def close(self, complete: bool = True) -> None:
        try:
            if self._ledger_fh is not None:
                self._ledger_fh.close()
            if complete:
                try:
                    self._write_conf()
                except OSError as err:
                    raise output_error(self.path / self.CONF, err) from err
                self.progress.unlink(missing_ok=True)
                self.ledger.unlink(missing_ok=True)
        finally:
            self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")  # brat offsets count the characters as they are
    os.replace(tmp, path)


def open_writer(
    path: str | os.PathLike,
    fmt: str = "jsonl",
    job: dict[str, Any] | None = None,
    overwrite: bool = False,
    inputs: dict[str, Any] | None = None,
):
    """A resumable, exclusive writer for ``fmt`` (jsonl | conll | brat | parquet | labelstudio | doccano).

    ``job`` identifies the job (a partial output of another job is refused); ``inputs`` are the
    fingerprints of its input files (a resumed job whose inputs changed is refused).
    """
    writers = {"jsonl": JsonlWriter, "parquet": ParquetWriter, "conll": ConllWriter, "brat": BratWriter,
               "labelstudio": LabelStudioWriter, "doccano": DoccanoWriter}
    if fmt in writers:
        return writers[fmt](path, job, overwrite, inputs)
    raise InputError(f"unknown output format {fmt!r}", f"use one of {', '.join(OUTPUT_FORMATS)}")
