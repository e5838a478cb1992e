"""Records a report shows: annotated documents, aligned FR/EN pairs, and error cards.

A line of ``defnlp annotate`` or ``defnlp align`` output becomes one record. The kind is told
by the keys of the line: ``"error"`` → :class:`ErrorRecord`, ``"fr"`` and ``"en"`` →
:class:`AlignedRecord`, anything else → :class:`DocRecord`. A line that cannot be shown (not
JSON, no text, offsets out of range, a link pointing outside its text...) becomes an
:class:`ErrorRecord` that says why, so that one bad line never stops a report.

>>> rec = to_record('{"id": "d1", "text": "Brest", "entities": [{"start": 0, "end": 5, "label": "LOC"}]}')
>>> type(rec).__name__, rec.doc.entities[0].text
('DocRecord', 'Brest')
>>> bad = to_record('{"id": "d2", "text": "Brest", "entities": [{"start": 0, "end": 9, "label": "LOC"}]}', line=7)
>>> type(bad).__name__, bad.line, bad.error_type
('ErrorRecord', 7, 'RecordFormatError')
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import DefnlpError, InputError, RecordFormatError

__all__ = [
    "ALIGNMENT_LEVELS",
    "AlignedRecord",
    "AlignmentLink",
    "DocRecord",
    "ErrorRecord",
    "Record",
    "read_records",
    "to_record",
    "to_records",
]

log = logging.getLogger(__name__)

#: the levels ``defnlp align`` writes
ALIGNMENT_LEVELS = ("sentence", "word", "entity")

#: how much of an unreadable line an error card quotes
_SNIPPET_CHARS = 300

# errors that malformed JSON values raise while being read (a wrong type where a number or a
# list is expected...): they become error cards, never a crash of the whole report
_BAD_VALUE_ERRORS = (DefnlpError, KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)


@dataclass
class DocRecord:
    """One annotated document. ``line`` is its 1-based line in the input file, if any."""

    doc: Doc
    line: int | None = None


@dataclass
class AlignmentLink:
    """An n-m link: character spans on each side, a score, and linked entity indices."""

    fr: list[tuple[int, int]]
    en: list[tuple[int, int]]
    score: float | None = None
    fr_entities: list[int] = field(default_factory=list)
    en_entities: list[int] = field(default_factory=list)

    def spans(self, side: str) -> list[tuple[int, int]]:
        """The spans of ``side`` (``"fr"`` or ``"en"``)."""
        return self.fr if side == "fr" else self.en

    def entities(self, side: str) -> list[int]:
        """The entity indices of ``side`` (``"fr"`` or ``"en"``)."""
        return self.fr_entities if side == "fr" else self.en_entities


@dataclass
class AlignedRecord:
    """A French document, its English counterpart, and the links between them."""

    id: str | None
    level: str | None
    fr: Doc
    en: Doc
    links: list[AlignmentLink]
    line: int | None = None

    def doc(self, side: str) -> Doc:
        return self.fr if side == "fr" else self.en


@dataclass
class ErrorRecord:
    """A record that could not be shown, or an error line written by a batch job."""

    id: str | None
    error_type: str
    message: str
    hint: str = ""
    line: int | None = None
    snippet: str | None = None


Record = DocRecord | AlignedRecord | ErrorRecord


# ------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------
def _record_id(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("id") is not None:
        return str(data["id"])
    return None


def _error_from_line(data: dict[str, Any], line: int | None) -> ErrorRecord:
    err = data["error"]
    if isinstance(err, dict):
        return ErrorRecord(
            id=_record_id(data),
            error_type=str(err.get("type") or "Error"),
            message=str(err.get("message") or ""),
            hint=str(err.get("hint") or ""),
            line=line,
        )
    return ErrorRecord(id=_record_id(data), error_type="Error", message=str(err), line=line)


def _spans(value: Any, text_length: int, where: str) -> list[tuple[int, int]]:
    if not isinstance(value, list):
        raise RecordFormatError(f"{where} must be a list of [start, end] pairs, got {type(value).__name__}")
    spans = []
    for pair in value:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in pair)):
            raise RecordFormatError(f"{where}: {pair!r} is not a [start, end] pair of integers")
        start, end = pair
        if not 0 <= start < end <= text_length:
            raise RecordFormatError(f"{where}: span ({start}, {end}) is outside the text (length {text_length})")
        spans.append((start, end))
    return spans


def _entity_indices(value: Any, n_entities: int, where: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise RecordFormatError(f"{where} must be a list of entity indices")
    for i in value:
        if not 0 <= i < n_entities:
            raise RecordFormatError(f"{where}: entity {i} does not exist (the document has {n_entities} entities)")
    return list(value)


def _aligned_from_dict(data: dict[str, Any], line: int | None) -> AlignedRecord:
    sides = {}
    for side in ("fr", "en"):
        try:
            sides[side] = Doc.from_dict(data[side])
        except RecordFormatError as err:
            raise RecordFormatError(f'the "{side}" document: {err.message}') from err
    level = data.get("level")
    if level is not None and level not in ALIGNMENT_LEVELS:
        raise RecordFormatError(f"unknown alignment level {level!r}; expected one of {', '.join(ALIGNMENT_LEVELS)}")
    raw_links = data.get("links") or []
    if not isinstance(raw_links, list):
        raise RecordFormatError('"links" must be a list')
    links = []
    for k, raw in enumerate(raw_links):
        if not isinstance(raw, dict):
            raise RecordFormatError(f"link {k} must be an object")
        score = raw.get("score")
        links.append(
            AlignmentLink(
                fr=_spans(raw.get("fr", []), len(sides["fr"].text), f"link {k} fr"),
                en=_spans(raw.get("en", []), len(sides["en"].text), f"link {k} en"),
                score=None if score is None else float(score),
                fr_entities=_entity_indices(raw.get("fr_entities"), len(sides["fr"].entities), f"link {k} fr_entities"),
                en_entities=_entity_indices(raw.get("en_entities"), len(sides["en"].entities), f"link {k} en_entities"),
            )
        )
    return AlignedRecord(id=_record_id(data), level=level, fr=sides["fr"], en=sides["en"], links=links, line=line)


def to_record(obj: Any, line: int | None = None) -> Record:
    """Turn a ``Doc``, a JSON dict or a JSONL line into a record; bad input gives an ``ErrorRecord``.

    >>> to_record("not json").error_type
    'RecordFormatError'
    """
    if isinstance(obj, (DocRecord, AlignedRecord, ErrorRecord)):
        return obj
    snippet = None
    try:
        if isinstance(obj, Doc):
            return DocRecord(obj.validate(), line)
        if isinstance(obj, (bytes, str)):
            snippet = obj if isinstance(obj, str) else obj.decode("utf-8", errors="replace")
            snippet = snippet[:_SNIPPET_CHARS]
            try:
                obj = json.loads(obj)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise RecordFormatError(f"not valid JSON: {err}") from err
        if not isinstance(obj, dict):
            raise RecordFormatError(f"a record must be a JSON object, got {type(obj).__name__}")
        if "error" in obj:
            return _error_from_line(obj, line)
        if "fr" in obj and "en" in obj:
            return _aligned_from_dict(obj, line)
        return DocRecord(Doc.from_dict(obj), line)
    except _BAD_VALUE_ERRORS as err:
        if isinstance(err, DefnlpError):
            message, hint = err.message, err.hint
        else:
            message, hint = f"malformed record: {err!r}", RecordFormatError.default_hint
        where = f"line {line}: " if line is not None else ""
        log.warning("%s%s", where, message)
        return ErrorRecord(
            id=_record_id(obj),
            error_type=RecordFormatError.__name__,
            message=message,
            hint=hint,
            line=line,
            snippet=snippet,
        )


def to_records(items: Iterable[Any]) -> list[Record]:
    """Records for a list of Docs, dicts, JSONL lines or records (see :func:`to_record`).

    >>> [type(r).__name__ for r in to_records([Doc("Brest"), {"id": "x", "error": "boom"}])]
    ['DocRecord', 'ErrorRecord']
    """
    if isinstance(items, (Doc, dict, str, bytes)):
        items = [items]
    return [to_record(item) for item in items]


def read_records(path: str | Path, limit: int | None = None) -> Iterator[Record]:
    """Read a JSONL file lazily into records; blank lines are skipped, ``limit`` caps the count.

    Each line is decoded on its own, so an undecodable line becomes an error card and the
    others still show.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}", "give the JSONL file written by `defnlp annotate` or `defnlp align`")
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if limit is not None and count >= limit:
                return
            if not raw.strip():
                continue
            count += 1
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                yield ErrorRecord(
                    id=None,
                    error_type="InputEncodingError",
                    message=f"line {number} is not valid UTF-8 (byte {err.start})",
                    hint="re-encode the file as UTF-8",
                    line=number,
                    snippet=raw[:_SNIPPET_CHARS].decode("utf-8", errors="replace"),
                )
                continue
            yield to_record(text, line=number)
