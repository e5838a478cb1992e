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
import errno
import io
import json
import logging
import math
import os
import re
import stat
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from ..doc import Doc
from ..errors import (
    ConfigError,
    DefnlpError,
    EmptyInputError,
    InputEncodingError,
    InputError,
    MissingDependencyError,
    RecordFormatError,
    RecordTooLargeError,
    SpecialFileError,
    UnreadableInputError,
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
    "record_limit",
    "DEFAULT_MAX_RECORD_BYTES",
    "MAX_RECORD_BYTES_ENV",
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
#: the largest record read from a file (a text file, a JSONL line, a CSV row), unless
#: ``DEFNLP_MAX_RECORD_BYTES`` says otherwise
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_RECORD_BYTES_ENV = "DEFNLP_MAX_RECORD_BYTES"


@dataclass
class InputRecord:
    """One input document, or the error that prevented reading it."""

    id: str
    text: str | None = None
    lang: str | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    error: DefnlpError | None = None

    def __post_init__(self) -> None:
        # file names may hold bytes that are not UTF-8 (kept by the OS as surrogates): never
        # let them reach an output, which must be valid Unicode
        if isinstance(self.id, str):
            self.id = _safe_text(self.id)
        self.source = _safe_text(self.source)
        if self.error is not None and _has_surrogates(f"{self.error.message}{self.error.hint}"):
            self.error.message, self.error.hint = _safe_text(self.error.message), _safe_text(self.error.hint)
            self.error.args = (self.error.message,)

    @property
    def ok(self) -> bool:
        return self.error is None


def record_limit() -> int:
    """The largest record read from a file, in bytes: ``DEFNLP_MAX_RECORD_BYTES`` or 64 MiB.

    It bounds a text file, a JSONL line and a CSV row (counted in characters there); a larger
    one becomes a :class:`~defnlp.errors.RecordTooLargeError` record, read no further than the
    limit, so that no input can exhaust memory.

    >>> record_limit() == DEFAULT_MAX_RECORD_BYTES or "DEFNLP_MAX_RECORD_BYTES" in os.environ
    True
    """
    value = os.environ.get(MAX_RECORD_BYTES_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_RECORD_BYTES
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ConfigError(f"{MAX_RECORD_BYTES_ENV}={value!r} is not a positive number of bytes",
                          f"set it to a byte count, e.g. {DEFAULT_MAX_RECORD_BYTES} (64 MiB), or unset it")
    return limit


# ------------------------------------------------------------------------------------------------
# files and folders
# ------------------------------------------------------------------------------------------------
@dataclass
class _Entry:
    """A file to read, or a folder entry that cannot be read (``error``), named ``name`` in records."""

    path: Path
    name: str
    error: InputError | None = None


def _may_hold_documents(name: str) -> bool:
    """Whether a folder entry of unknown type could be a document or a folder of documents."""
    suffix = Path(name).suffix.lower()
    return not name.startswith(".") and (suffix in READABLE_SUFFIXES or suffix == "")


def _is_document(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in READABLE_SUFFIXES


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def _special_error(path: Path, kind: str) -> SpecialFileError:
    return SpecialFileError(f"{path}: {kind}, not a regular file; not read")


def _unresolved_error(path: Path, err: OSError) -> UnreadableInputError:
    """The error for a path whose ``stat`` (or ``open``) failed with ``err``."""
    if err.errno == errno.ELOOP:
        return UnreadableInputError(f"{path}: symbolic link loop", "fix or remove the symbolic link")
    if isinstance(err, FileNotFoundError):
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return UnreadableInputError(f"{path}: dangling symbolic link (to {target}, which does not exist)",
                                        "fix or remove the symbolic link")
        return UnreadableInputError(f"{path}: no longer exists (removed after the folder was listed?)",
                                    "run again once the input folder has stopped changing")
    if isinstance(err, PermissionError):
        return UnreadableInputError(f"{path}: permission denied", "give this user read access (chmod), or leave it out")
    return UnreadableInputError(f"{path}: cannot read ({err.strerror or err})")


def _entries(paths: Iterable[str | os.PathLike]) -> Iterator[_Entry]:
    """The files named by ``paths``, folders expanded recursively in sorted order.

    A path named directly that does not exist raises :class:`~defnlp.errors.InputError`; inside
    folders, every entry that cannot be read (unreadable folder, symbolic-link loop, dangling
    link, FIFO, socket, device) is an ``_Entry`` with an error, and the entries left out
    (other suffixes, hidden files, a folder reached twice) are counted in one warning per folder.
    """
    for p in paths:
        path = Path(p)
        try:
            st = os.stat(path)
        except FileNotFoundError as err:
            if os.path.islink(path):
                raise InputError(str(_unresolved_error(path, err).message), "fix the symbolic link or give another path") from err
            raise InputError(
                f"input not found: {path}",
                "check the path; folders are read recursively for .txt, .jsonl, .parquet and .csv files",
            ) from err
        except OSError as err:
            raise InputError(_unresolved_error(path, err).message, "check the path and its permissions") from err
        if stat.S_ISDIR(st.st_mode):
            skipped: list[str] = []
            yield from _walk(path, path.name or str(path), [(st.st_dev, st.st_ino)], set(), skipped)
            if skipped:
                log.warning(
                    "%s: %d entr%s skipped (hidden, not %s, or a folder read twice): %s%s",
                    path, len(skipped), "y" if len(skipped) == 1 else "ies", "/".join(sorted(READABLE_SUFFIXES)),
                    ", ".join(skipped[:5]), ", ..." if len(skipped) > 5 else "",
                )
        else:
            yield _Entry(path, path.name)  # a special file is reported when it is opened


def _walk(folder: Path, name: str, ancestors: list[tuple[int, int]], seen: set[tuple[int, int]],
          skipped: list[str]) -> Iterator[_Entry]:
    """Depth-first, entries sorted by name (the order of ``sorted(folder.rglob("*"))``)."""
    seen.add(ancestors[-1])
    try:
        with os.scandir(folder) as listing:
            children = sorted(entry.name for entry in listing)
    except OSError as err:
        yield _Entry(folder, name, UnreadableInputError(
            f"{folder}: cannot list the folder ({'permission denied' if isinstance(err, PermissionError) else err.strerror or err})",
            "give this user read and execute access to the folder (chmod u+rx), or leave it out"))
        return
    for child_name in children:
        child = folder / child_name
        try:
            st = os.stat(child)  # follows symbolic links
        except OSError as err:
            if _may_hold_documents(child_name):
                yield _Entry(child, child_name, _unresolved_error(child, err))
            else:
                skipped.append(str(child))
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                yield _Entry(child, child_name, UnreadableInputError(
                    f"{child}: symbolic link loop (it leads back to {folder if key == ancestors[-1] else 'a folder above it'})",
                    "remove the link, or name the folders to read one by one"))
            elif key in seen:
                skipped.append(f"{child} (already read)")
            else:
                yield from _walk(child, child_name, [*ancestors, key], seen, skipped)
        elif not _is_document(child_name):
            skipped.append(str(child))
        elif not stat.S_ISREG(st.st_mode):
            yield _Entry(child, child_name, _special_error(child, _kind(st.st_mode) or "not a regular file"))
        else:
            yield _Entry(child, child_name)


def _expand(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """The paths of the files (and unreadable entries) that :func:`iter_inputs` reads, in order."""
    for entry in _entries(paths):
        yield entry.path


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading in binary mode, if it is a regular file.

    Raises :class:`~defnlp.errors.SpecialFileError` for a FIFO, socket or device (checked with
    ``stat`` before opening, and with ``fstat`` after a non-blocking open, so that a FIFO never
    blocks) and :class:`~defnlp.errors.UnreadableInputError` for a missing, dangling or
    forbidden path.
    """
    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is not None:
            raise _special_error(path, kind)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise _unresolved_error(path, err) from err
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:  # replaced between the stat and the open
            raise _special_error(path, kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def iter_inputs(
    paths: Iterable[str | os.PathLike],
    encoding: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    *,
    max_record_bytes: int | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per document in ``paths`` (files or folders, read in sorted order).

    ``text_column``/``id_column`` name the fields of JSONL, Parquet and CSV records that hold
    the text and the id (default ``"text"``, and ``"id"`` when present). Inside folders, an
    entry that cannot be read (unreadable folder, symbolic-link loop, dangling link, FIFO,
    socket, device, a file removed meanwhile) is one error record named after the entry.
    ``max_record_bytes`` overrides :func:`record_limit`.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "notes.csv"
    >>> _ = f.write_text("ref,body\\nn1,La DGA commande.\\nn2,\\n", encoding="utf-8")
    >>> [(r.id, r.text, r.ok) for r in iter_inputs([f], text_column="body", id_column="ref")]
    [('n1', 'La DGA commande.', True), ('n2', None, False)]
    """
    cap = max_record_bytes or record_limit()
    for entry in _entries(paths):
        path = entry.path
        if entry.error is not None:
            yield InputRecord(id=entry.name, source=str(path), error=entry.error)
            continue
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from iter_jsonl_records(path, encoding=encoding, text_column=text_column, id_column=id_column,
                                          max_record_bytes=cap)
        elif suffix in PARQUET_SUFFIXES:
            yield from iter_parquet_records(path, text_column=text_column, id_column=id_column)
        elif suffix in CSV_SUFFIXES:
            yield from iter_csv_records(path, encoding=encoding, text_column=text_column, id_column=id_column,
                                        max_record_bytes=cap)
        elif suffix in TEXT_SUFFIXES or suffix == "":
            yield _read_text_file(path, encoding, cap)
        else:
            yield InputRecord(id=path.name, source=str(path), error=UnsupportedFormatError(f"{path.name}: unsupported file type {suffix!r}"))


def _read_text_file(path: Path, encoding: str | None, cap: int | None = None) -> InputRecord:
    cap = cap or record_limit()
    try:
        with _open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            data = b"" if size > cap else fh.read(cap + 1)
        if size > cap or len(data) > cap:
            raise RecordTooLargeError(f"{path.name}: {max(size, len(data)):,} bytes, more than the {cap:,}-byte limit")
        text = decode_bytes(data, encoding=encoding, source=path.name)
        if not text.strip():
            raise EmptyInputError(f"{path.name} is empty")
        where = _surrogate_at(text)
        if where is not None:
            raise _surrogate_error(path.name, "the text", where)
        return InputRecord(id=path.name, text=text, source=str(path))
    except DefnlpError as err:
        return InputRecord(id=path.name, source=str(path), error=err)
    except OSError as err:  # an I/O error while reading
        return InputRecord(id=path.name, source=str(path), error=_unresolved_error(path, err))


# ------------------------------------------------------------------------------------------------
# records
# ------------------------------------------------------------------------------------------------
def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (``object``, ``array``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _record_id(value: Any, default_id: str, id_key: str) -> str:
    """A record's id as a string: ``default_id`` when absent, null or empty; an integer (or a
    float with an integral value) as its decimal digits; anything else raises RecordFormatError."""
    if value is None or value == "":
        return default_id
    if isinstance(value, str):
        where = _surrogate_at(value)
        if where is not None:
            raise _surrogate_error(default_id, f"the {id_key!r} field", where)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    raise RecordFormatError(
        f"{default_id}: the {id_key!r} field is {_json_type(value)}, not a string or an integer",
        f"give each record a string id (or none: the id is then {default_id!r})",
    )


def _safe_id(obj: Any, default_id: str, id_key: str) -> str:
    """The record's own id when it is usable, else ``default_id`` (ids of error records)."""
    if not isinstance(obj, dict):
        return default_id
    try:
        return _record_id(obj.get(id_key), default_id, id_key)
    except RecordFormatError:
        return default_id


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate (U+D800..U+DFFF) in ``text``, or None."""
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def _has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (a ``\\udXXX`` JSON escape without its pair,
    or a byte that was not valid in the file's encoding, kept by ``surrogateescape``)."""
    return _SURROGATE.search(text) is not None


def _safe_text(text: str) -> str:
    r"""``text`` with its surrogates written as escapes: the bytes of a file name that are not
    UTF-8 as ``\xNN``, other lone surrogates as ``\udXXX``.

    >>> _safe_text("caf\udce9.txt"), _safe_text("a\ud800"), _safe_text("Brest")
    ('caf\\xe9.txt', 'a\\ud800', 'Brest')
    """
    if not _has_surrogates(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _surrogate_error(where: str, what: str, index: int) -> RecordFormatError:
    return RecordFormatError(
        f"{where}: {what} holds a lone surrogate (U+D800..U+DFFF) at character {index}, which is not Unicode text",
        "fix the program that wrote the file: a \\udXXX escape must be one half of a surrogate pair",
    )


def _invalid_value(value: Any) -> str | None:
    """What makes ``value`` unfit for JSON output (``"surrogate"``, or ``"NaN"``/``"inf"``...), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _has_surrogates(item):
                return "surrogate"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return repr(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def _check_fields(rec_id: str, fields: dict[str, Any]) -> None:
    """Raise RecordFormatError if a field (name or value) holds a lone surrogate, NaN or an infinity."""
    for key, value in fields.items():
        problem = _invalid_value([key, value])
        if problem == "surrogate":
            raise RecordFormatError(f"{rec_id}: the field {ascii(key)} holds a lone surrogate (U+D800..U+DFFF), which is not Unicode text",
                                    "fix the program that wrote the file: a \\udXXX escape must be one half of a surrogate pair")
        if problem is not None:
            raise RecordFormatError(f"{rec_id}: the field {ascii(key)} holds {problem}, which is not a JSON number",
                                    "write null (or a string) instead; JSON output cannot hold it (RFC 8259)")


def parse_record(
    obj: Any,
    default_id: str,
    source: str = "",
    text_column: str = "text",
    id_column: str | None = None,
    lang_column: str = "lang",
) -> InputRecord:
    """Validate a record ``{"id", "text", "lang"?, ...}`` into an :class:`InputRecord`.

    Raises :class:`~defnlp.errors.RecordFormatError` (not an object, no text string, an id that
    is not a string or an integer, a lone surrogate anywhere, NaN or an infinity in a field) or
    :class:`~defnlp.errors.EmptyInputError`; the other fields go to ``meta``. An absent, null or
    empty id gives ``default_id``; an integer id becomes its decimal string.

    >>> parse_record({"ref": 7, "body": "Brest", "year": 2024}, "f:1", text_column="body", id_column="ref")
    InputRecord(id='7', text='Brest', lang=None, source='', meta={'year': 2024}, error=None)
    >>> parse_record({"id": {"nested": 915}, "text": "Brest"}, "f:2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.RecordFormatError: f:2: the 'id' field is an object, not a string or an integer ...
    """
    if not isinstance(obj, dict):
        raise RecordFormatError(f"{default_id}: expected a JSON object, got {_json_type(obj)}")
    id_key = id_column or "id"
    rec_id = _record_id(obj.get(id_key), default_id, id_key)
    text = obj.get(text_column)
    if not isinstance(text, str):
        raise RecordFormatError(
            f'{rec_id}: the record has no "{text_column}" string',
            None if text_column == "text" else f"check that the {text_column!r} field holds the text (--text-column)",
        )
    where = _surrogate_at(text)
    if where is not None:
        raise _surrogate_error(rec_id, f"the {text_column!r} field", where)
    if not text.strip():
        raise EmptyInputError(f"{rec_id}: the text is empty")
    lang = obj.get(lang_column)
    skip = {id_key, text_column, lang_column} | _ANNOTATION_KEYS
    meta = {k: v for k, v in obj.items() if k not in skip}
    _check_fields(rec_id, {**meta, lang_column: lang})
    return InputRecord(id=rec_id, text=text, lang=lang if isinstance(lang, str) and lang else None, source=source, meta=meta)


def _record_or_error(obj: dict[str, Any], default_id: str, source: str, text_column: str, id_column: str | None) -> InputRecord:
    try:
        return parse_record(obj, default_id, source, text_column=text_column, id_column=id_column)
    except DefnlpError as err:
        return InputRecord(id=_safe_id(obj, default_id, id_column or "id"), source=source, error=err)


# ------------------------------------------------------------------------------------------------
# JSONL
# ------------------------------------------------------------------------------------------------
def iter_jsonl_records(
    path: str | os.PathLike,
    encoding: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    *,
    max_record_bytes: int | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per non-blank line; bad lines become error records (id ``file:line``).

    Blank lines (only whitespace) are not records. A line longer than ``max_record_bytes``
    (default :func:`record_limit`) is read no further and becomes a
    :class:`~defnlp.errors.RecordTooLargeError` record. ``NaN``/``Infinity`` (which Python
    writes but JSON does not allow), an id that is not a string or an integer, and lone
    surrogates make error records; an error record keeps the record's own id only when that id
    is usable.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = f.write_text('{"id": 7, "text": "Brest"}\\n\\n[1]\\n{"id": "x", "text": "a", "score": NaN}\\n', encoding="utf-8")
    >>> [(r.id, r.error and type(r.error).__name__) for r in iter_jsonl_records(f)]
    [('7', None), ('d.jsonl:3', 'RecordFormatError'), ('d.jsonl:4', 'RecordFormatError')]
    """
    path = Path(path)
    cap = max_record_bytes or record_limit()
    try:
        fh = _open_regular(path)
    except InputError as err:
        yield InputRecord(id=path.name, source=str(path), error=err)
        return
    records = 0
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(cap + 1)
            except OSError as err:
                yield InputRecord(id=f"{path.name}:{lineno + 1}", source=f"{path}:{lineno + 1}", error=UnreadableInputError(
                    f"{path.name}: read failed after line {lineno} ({err.strerror or err}); the rest of the file is not read"))
                return
            if not raw:
                break
            lineno += 1
            default_id = f"{path.name}:{lineno}"
            source = f"{path}:{lineno}"
            if len(raw) > cap and not raw.endswith(b"\n"):
                length = len(raw) + _skip_line(fh)
                records += 1
                yield InputRecord(id=default_id, source=source, error=RecordTooLargeError(
                    f"{default_id}: the line is {length:,} bytes, more than the {cap:,}-byte limit"))
                continue
            if not raw.strip():
                continue
            records += 1
            yield _jsonl_record(raw, default_id, source, encoding, text_column, id_column)
    if not records:
        log.warning("%s holds no records (no non-blank line)", path)


def _skip_line(fh: BinaryIO) -> int:
    """Read to the end of the current line without keeping it; return the bytes skipped."""
    skipped = 0
    while True:
        chunk = fh.readline(1 << 20)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _jsonl_record(raw: bytes, default_id: str, source: str, encoding: str | None, text_column: str,
                  id_column: str | None) -> InputRecord:
    try:
        obj = _json_line(decode_bytes(raw, encoding=encoding, source=default_id).rstrip("\r\n"), default_id)
    except DefnlpError as err:
        return InputRecord(id=default_id, source=source, error=err)
    return _record_or_error(obj, default_id, source, text_column, id_column)


class _NonFiniteNumber(ValueError):
    """NaN, Infinity, -Infinity or a number too large for a float: not a JSON number."""


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NonFiniteNumber(literal[:40])
    return value


def _json_line(line: str, where: str) -> Any:
    """One JSONL line parsed strictly (RFC 8259), for every JSONL reader of defnlp; a line that
    is not JSON raises RecordFormatError naming ``where``.

    ``NaN``, ``Infinity`` and numbers that overflow a float are refused (Python's ``json``
    accepts them), as are integers too long for Python to convert (over 4,300 digits).
    """
    try:
        return json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFiniteNumber as err:
        raise RecordFormatError(
            f"{where}: {err} is not a JSON number",
            "write null (or a string) instead; Python: json.dumps(..., allow_nan=False) finds them",
        ) from err
    except json.JSONDecodeError as err:
        raise RecordFormatError(f"{where}: not valid JSON ({err.msg}, column {err.colno})") from err
    except RecursionError as err:
        raise RecordFormatError(f"{where}: JSON nested too deeply to be a record") from err
    except ValueError as err:  # an integer with more digits than Python converts (4,300)
        reason = "a number with too many digits" if "digits" in str(err) else str(err)[:120]
        raise RecordFormatError(f"{where}: not a usable JSON value ({reason})") from err


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
    line raises: :class:`~defnlp.errors.RecordFormatError` naming ``file:line`` — a line that is
    not JSON, not an object, or that :func:`iter_jsonl_records` refuses too: ``NaN``,
    ``Infinity`` or a number that overflows a float anywhere (strict RFC 8259, the same parser),
    or a lone surrogate (``"\\ud800"`` without its pair) in any field.

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
            raise RecordFormatError(f"{where}: expected a JSON object, got {_json_type(obj)}")
        _check_fields(where, obj)  # lone surrogates: no tokenizer and no UTF-8 output can hold them
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
        fh = _open_regular(path)
    except InputError as err:
        yield InputRecord(id=path.name, source=str(path), error=err)
        return
    with fh:
        yield from _parquet_rows(pq, fh, path, text_column, id_column, batch_rows)


def _parquet_rows(pq: Any, fh: BinaryIO, path: Path, text_column: str, id_column: str | None,
                  batch_rows: int) -> Iterator[InputRecord]:
    try:
        parquet = pq.ParquetFile(fh)
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
    *,
    max_record_bytes: int | None = None,
) -> Iterator[InputRecord]:
    """Yield one record per row of a CSV (``.tsv``: tab-separated) file with a header line.

    Read as a stream; the default id is ``file:row`` (data rows counted from 1; blank lines are
    not rows). A row that is not valid in the file's encoding becomes an error record, and the
    rows after it are read. A row with broken quoting (a quote that is never closed, or text
    right after a closing quote) is one error record naming its line, and reading starts again
    at the next physical line, so that an unterminated quote never swallows the rows after it.
    A row longer than ``max_record_bytes`` characters is an error record the same way.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text('id,text\\na,"Brest\\nb,Toulon\\nc,Lorient\\n', encoding="utf-8")
    >>> [(r.id, r.text) for r in iter_csv_records(f)]
    [('d.csv:1', None), ('b', 'Toulon'), ('c', 'Lorient')]
    """
    path = Path(path)
    cap = max_record_bytes or record_limit()
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long reports exceed the 128 kB default; rows are capped below
    try:
        raw = _open_regular(path)
    except InputError as err:
        yield InputRecord(id=path.name, source=str(path), error=err)
        return
    try:
        fh = io.TextIOWrapper(raw, encoding=encoding or "utf-8-sig", errors="surrogateescape", newline="")
    except LookupError:
        raw.close()
        yield InputRecord(id=path.name, source=str(path), error=InputEncodingError(f"{path.name}: unknown encoding {encoding!r}"))
        return
    with fh:
        try:
            yield from _csv_records(fh, path, delimiter, cap, encoding, text_column, id_column)
        except OSError as err:
            yield InputRecord(id=path.name, source=str(path), error=UnreadableInputError(
                f"{path.name}: read failed ({err.strerror or err}); the rest of the file is not read"))


class _RowTooLarge(Exception):
    pass


class _CsvLines:
    """The physical lines of a CSV file, fed to :func:`csv.reader`.

    The lines of the row being read are kept (at most ``cap`` characters), so that when the row
    turns out malformed, the lines after its first one are read again as new rows.
    """

    def __init__(self, fh: io.TextIOBase, cap: int) -> None:
        self.fh, self.cap = fh, cap
        self.lineno = 0  # physical lines read from the file
        self.replay: deque[tuple[int, str | None]] = deque()  # (line number, line; None: over the cap)
        self.pending: list[tuple[int, str | None]] = []  # lines of the row being read
        self.pending_size = 0

    def _read(self) -> tuple[int, str | None] | None:
        if self.replay:
            return self.replay.popleft()
        line = self.fh.readline(self.cap + 1)
        if not line:
            return None
        self.lineno += 1
        if len(line) > self.cap and not line.endswith(("\n", "\r")):
            while True:  # skip the rest of the line
                chunk = self.fh.readline(1 << 20)
                if not chunk or chunk.endswith(("\n", "\r")):
                    break
            return self.lineno, None
        return self.lineno, line

    def __iter__(self) -> "_CsvLines":
        return self

    def __next__(self) -> str:
        item = self._read()
        if item is None:
            raise StopIteration
        self.pending.append(item)
        line = item[1]
        if line is None:
            raise _RowTooLarge
        self.pending_size += len(line)
        if self.pending_size > self.cap:
            raise _RowTooLarge
        return line

    def row_read(self) -> None:
        self.pending.clear()
        self.pending_size = 0

    def row_failed(self) -> tuple[int, int]:
        """Forget the first line of the failed row, read the others again; its first and last line."""
        first, last = self.pending[0][0], self.pending[-1][0]
        self.replay.extendleft(reversed(self.pending[1:]))
        self.row_read()
        return first, last


def _csv_records(fh: io.TextIOBase, path: Path, delimiter: str, cap: int, encoding: str | None, text_column: str,
                 id_column: str | None) -> Iterator[InputRecord]:
    lines = _CsvLines(fh, cap)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        log.warning("%s is empty: no header line, no rows", path)
        return
    except (csv.Error, _RowTooLarge) as err:
        reason = f"a header line over {cap:,} characters" if isinstance(err, _RowTooLarge) else f"header line: {err}"
        yield InputRecord(id=path.name, source=str(path),
                          error=RecordFormatError(f"{path.name}: not valid CSV ({reason})", "check the file's header line and quoting"))
        return
    lines.row_read()
    missing = _missing_text_column(path, header, text_column, id_column)
    row = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except (csv.Error, _RowTooLarge) as err:
            first, last = lines.row_failed()
            row += 1
            default_id = f"{path.name}:{row}"
            span = f"line {first}" if first == last else f"lines {first}-{last}"
            if isinstance(err, _RowTooLarge):
                error: InputError = RecordTooLargeError(
                    f"{default_id}: the row from line {first} is longer than the {cap:,}-character limit; "
                    f"reading goes on at line {first + 1}")
            else:
                error = RecordFormatError(
                    f"{default_id}: not valid CSV at {span} ({err}); reading goes on at line {first + 1}",
                    'check the quoting of that row: a field that starts with " must end with " (inner quotes doubled: "")')
            yield InputRecord(id=default_id, source=f"{path}:{row}", error=error)
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        lines.row_read()
        if not cells:  # a blank line is not a row
            continue
        row += 1
        default_id = f"{path.name}:{row}"
        source = f"{path}:{row}"
        obj: dict[str, Any] = dict(zip(header, cells))
        for name in header[len(cells):]:
            obj.setdefault(name, None)  # missing cells, as csv.DictReader gives them
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


def _jsonable(value: Any) -> Any:
    """A Parquet cell as a JSON-compatible value (dates as ISO strings, bytes as base64, NaN and
    infinities as None: Arrow float columns use NaN for missing values, and JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
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
