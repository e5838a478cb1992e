"""brat standoff (``.txt`` + ``.ann``) <-> :class:`~defnlp.doc.Doc`.

Lines of an ``.ann`` file, as read by :func:`read_brat`:

* ``T1<TAB>Label 0 5<TAB>surface`` — an entity over ``text[0:5]``. Discontinuous entities
  (``T1<TAB>Label 0 5;10 15<TAB>...``) follow ``discontinuous``: ``"cover"`` (default) keeps
  one entity over the covering span ``0..15``; ``"split"`` makes one entity per fragment
  (relations then attach to the first fragment); ``"drop"`` leaves them out.
* ``R1<TAB>Type Arg1:T1 Arg2:T2`` — a relation ``T1 -Type-> T2``.
* ``#1<TAB>AnnotatorNotes T1<TAB>score=0.93`` — the score of an entity or relation, as
  written by :func:`doc_to_brat` (other notes are ignored).
* ``*<TAB>Equiv T1 T2`` (equivalence sets), ``E`` (events), ``A``/``M`` (attributes) and
  ``N`` (normalisations) are ignored, with one log message per file.

When the text at an entity's offsets differs from its surface string only by whitespace or
invisible format characters (e.g. a trailing U+200F), the span is shrunk to match; any other
difference keeps the offsets (the text is the reference) and is logged.

``label_map`` renames labels when reading (``None`` drops the entity or relation; labels
absent from the map are kept as they are).

>>> doc = Doc("Florence Parly visite Brest.", id="ex", lang="fr")
>>> _ = doc.add_entity(0, 14, "PER"); _ = doc.add_entity(22, 27, "LOC")
>>> _ = doc.add_relation(0, 1, "LOCATED_IN")
>>> txt, ann = doc_to_brat(doc)
>>> ann.splitlines()
['T1\\tPER 0 14\\tFlorence Parly', 'T2\\tLOC 22 27\\tBrest', 'R1\\tLOCATED_IN Arg1:T1 Arg2:T2']
>>> parse_brat(txt, ann, doc_id="ex", lang="fr") == doc
True
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from urllib.parse import unquote
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..doc import Doc
from ..errors import ConfigError, DataNotFoundError, RecordFormatError
from ..text import decode_bytes

__all__ = [
    "read_brat",
    "read_brat_dir",
    "parse_brat",
    "doc_to_brat",
    "write_brat",
    "brat_file_name",
    "brat_record_id",
    "annotation_conf",
    "DISCONTINUOUS_RULES",
]

log = logging.getLogger(__name__)

#: what :func:`read_brat` does with a discontinuous entity
DISCONTINUOUS_RULES = ("cover", "split", "drop")

_OFFSETS_RE = re.compile(r"^\d+ \d+(?:;\d+ \d+)*$")
_SCORE_NOTE_RE = re.compile(r"^score=(?P<score>[-+0-9.eE]+)$")
_IGNORED_KINDS = {"*": "equivalence (*)", "E": "event (E)", "A": "attribute (A)", "M": "attribute (M)", "N": "normalisation (N)"}


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc")


def _fit_span(text: str, start: int, end: int, surface: str, where: str, stats: dict) -> tuple[int, int]:
    """Shrink ``(start, end)`` past invisible characters when that makes it match ``surface``."""
    if text[start:end] == surface:
        return start, end
    a, b = start, end
    while a < b and _invisible(text[a]):
        a += 1
    while b > a and _invisible(text[b - 1]):
        b -= 1
    if text[a:b] == surface and a < b:
        log.info("%s: span (%d, %d) shrunk to (%d, %d) to match %r", where, start, end, a, b, surface)
        stats["shrunk"] = stats.get("shrunk", 0) + 1
        return a, b
    log.warning("%s: text at (%d, %d) is %r but the .ann says %r; keeping the offsets", where, start, end, text[start:end], surface)
    stats["mismatch"] = stats.get("mismatch", 0) + 1
    return start, end


def parse_brat(
    text: str,
    ann: str,
    doc_id: str | None = None,
    lang: str | None = None,
    label_map: Mapping[str, str | None] | None = None,
    discontinuous: str = "cover",
    where: str = "<ann>",
) -> Doc:
    """Build a Doc from the content of a ``.txt`` and its ``.ann`` (see the module docstring)."""
    if discontinuous not in DISCONTINUOUS_RULES:
        raise ConfigError(f"unknown rule discontinuous={discontinuous!r}", f"use one of: {', '.join(DISCONTINUOUS_RULES)}")
    doc = Doc(text, id=doc_id, lang=lang)
    by_ref: dict[str, int] = {}  # T id -> index of its entity in the Doc
    all_refs: set[str] = set()  # every T id, including entities dropped by label_map
    relations: list[tuple[str, str, str, str, int]] = []  # (ref, label, arg1, arg2, lineno)
    notes: dict[str, float] = {}
    ignored: dict[str, int] = {}
    stats: dict[str, int] = {}
    for lineno, line in enumerate(ann.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        loc = f"{where}:{lineno}"
        kind = line[0]
        fields = line.split("\t")
        if kind == "T":
            if len(fields) < 2 or " " not in fields[1]:
                raise RecordFormatError(f"{loc}: malformed entity line {line!r}", "entity lines look like 'T1<TAB>Label 0 5<TAB>surface'")
            all_refs.add(fields[0])
            label, offsets = fields[1].split(" ", 1)
            if not _OFFSETS_RE.match(offsets):
                raise RecordFormatError(f"{loc}: malformed offsets {offsets!r}", "offsets look like '0 5' or '0 5;10 15'")
            fragments = [tuple(map(int, frag.split())) for frag in offsets.split(";")]
            for a, b in fragments:
                if not 0 <= a < b <= len(text):
                    raise RecordFormatError(f"{loc}: span ({a}, {b}) is outside the text (length {len(text)})")
            if label_map is not None and label in label_map:
                if label_map[label] is None:
                    continue
                label = label_map[label]
            surface = fields[2] if len(fields) > 2 else None
            if len(fragments) == 1:
                a, b = fragments[0]
                if surface is not None:
                    a, b = _fit_span(text, a, b, surface, loc, stats)
                by_ref[fields[0]] = doc.add_entity(a, b, label)
            elif discontinuous == "cover":
                by_ref[fields[0]] = doc.add_entity(min(a for a, _ in fragments), max(b for _, b in fragments), label)
            elif discontinuous == "split":
                for i, (a, b) in enumerate(fragments):
                    idx = doc.add_entity(a, b, label)
                    if i == 0:
                        by_ref[fields[0]] = idx
            else:
                stats["discontinuous_dropped"] = stats.get("discontinuous_dropped", 0) + 1
        elif kind == "R":
            parts = fields[1].split() if len(fields) > 1 else []
            args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
            if len(parts) != 3 or "Arg1" not in args or "Arg2" not in args:
                raise RecordFormatError(f"{loc}: malformed relation line {line!r}", "relation lines look like 'R1<TAB>Type Arg1:T1 Arg2:T2'")
            relations.append((fields[0], parts[0], args["Arg1"], args["Arg2"], lineno))
        elif kind == "#":
            parts = fields[1].split() if len(fields) > 1 else []
            m = _SCORE_NOTE_RE.match(fields[2].strip()) if len(fields) > 2 else None
            if len(parts) == 2 and parts[0] == "AnnotatorNotes" and m:
                notes[parts[1]] = float(m.group("score"))
        elif kind in _IGNORED_KINDS:
            ignored[_IGNORED_KINDS[kind]] = ignored.get(_IGNORED_KINDS[kind], 0) + 1
        else:
            raise RecordFormatError(f"{loc}: unknown annotation line {line!r}", "brat lines start with T, R, E, A, M, N, * or #")
    for ref, idx in by_ref.items():
        if ref in notes:
            doc.entities[idx].score = notes[ref]
    dropped_rel = 0
    for ref, label, arg1, arg2, lineno in relations:
        if label_map is not None and label in label_map:
            if label_map[label] is None:
                continue
            label = label_map[label]
        if arg1 not in by_ref or arg2 not in by_ref:
            if arg1 not in all_refs or arg2 not in all_refs:
                raise RecordFormatError(f"{where}:{lineno}: relation {ref} names an unknown entity ({arg1}, {arg2})")
            dropped_rel += 1  # one of its entities was dropped by label_map or discontinuous="drop"
            continue
        doc.add_relation(by_ref[arg1], by_ref[arg2], label, score=notes.get(ref))
    if ignored:
        log.info("%s: ignored %s", where, ", ".join(f"{n} {k} line(s)" for k, n in sorted(ignored.items())))
    if dropped_rel:
        log.debug("%s: %d relation(s) dropped with their entities", where, dropped_rel)
    if stats:
        doc.meta["brat_fixes"] = stats
    return doc


def _read_text(path: Path, encoding: str | None) -> str:
    if not path.is_file():
        raise DataNotFoundError(f"brat file not found: {path}", "a brat document is a .txt file with a .ann file beside it")
    # brat offsets count characters of the file as it is: no newline translation
    return decode_bytes(path.read_bytes(), encoding=encoding, source=str(path))


def read_brat(
    txt_path: str | os.PathLike,
    ann_path: str | os.PathLike | None = None,
    label_map: Mapping[str, str | None] | None = None,
    discontinuous: str = "cover",
    doc_id: str | None = None,
    lang: str | None = None,
    encoding: str | None = None,
) -> Doc:
    """Read one brat document; ``ann_path`` defaults to the ``.txt`` path with ``.ann``.

    The id defaults to the file name without extension. A missing ``.ann`` file is an error
    (:class:`~defnlp.errors.DataNotFoundError`); an empty one gives a Doc without entities.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("Le Rafale et le Mirage", encoding="utf-8")
    >>> _ = (d / "a.ann").write_text("T1\\tPlatform 3 9;16 22\\tRafale Mirage\\n", encoding="utf-8")
    >>> [e.text for e in read_brat(d / "a.txt").entities]
    ['Rafale et le Mirage']
    >>> [e.text for e in read_brat(d / "a.txt", discontinuous="split").entities]
    ['Rafale', 'Mirage']
    """
    txt_path = Path(txt_path)
    ann = Path(ann_path) if ann_path is not None else txt_path.with_suffix(".ann")
    text = _read_text(txt_path, encoding)
    ann_text = _read_text(ann, encoding)
    return parse_brat(
        text,
        ann_text,
        doc_id=doc_id if doc_id is not None else txt_path.stem,
        lang=lang,
        label_map=label_map,
        discontinuous=discontinuous,
        where=str(ann),
    )


def read_brat_dir(
    directory: str | os.PathLike,
    label_map: Mapping[str, str | None] | None = None,
    discontinuous: str = "cover",
    lang: str | None = None,
    recursive: bool = True,
    encoding: str | None = None,
) -> list[Doc]:
    """Read every ``.ann`` (with its ``.txt``) under ``directory``, in sorted path order.

    Doc ids are the paths relative to ``directory`` without extension, with ``/`` separators
    (``2016/01/2016_01_01-001``), as written by :func:`write_brat`.
    """
    root = Path(directory)
    if not root.is_dir():
        raise DataNotFoundError(f"brat folder not found: {root}")
    pattern = "**/*.ann" if recursive else "*.ann"
    docs = []
    for ann in sorted(root.glob(pattern)):
        rel = ann.relative_to(root).with_suffix("").as_posix()
        docs.append(read_brat(ann.with_suffix(".txt"), ann, label_map, discontinuous, doc_id=rel, lang=lang, encoding=encoding))
    if not docs:
        log.warning("no .ann files under %s", root)
    return docs


def _fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a span at line breaks (brat annotations cannot cross a newline)."""
    frags = []
    pos = start
    for m in re.finditer(r"[\r\n]+", text[start:end]):
        a, b = pos, start + m.start()
        if a < b:
            frags.append((a, b))
        pos = start + m.end()
    if pos < end:
        frags.append((pos, end))
    return frags or [(start, end)]


def doc_to_brat(doc: Doc) -> tuple[str, str]:
    """``(txt, ann)`` contents for a Doc.

    Entities are ``T1..Tn`` in the order of ``doc.entities``; an entity that crosses a line
    break is written as fragments split at the break (read back whole with
    ``discontinuous="cover"``). Scores are written as ``AnnotatorNotes`` lines ``score=...``.
    """
    lines = []
    notes = []
    for i, e in enumerate(doc.entities, start=1):
        frags = _fragments(doc.text, e.start, e.end)
        offsets = ";".join(f"{a} {b}" for a, b in frags)
        surface = " ".join(doc.text[a:b] for a, b in frags)
        lines.append(f"T{i}\t{e.label} {offsets}\t{surface}")
        if e.score is not None:
            notes.append(f"AnnotatorNotes T{i}\tscore={float(e.score):.4f}")
    for j, r in enumerate(doc.relations, start=1):
        lines.append(f"R{j}\t{r.label} Arg1:T{r.head + 1} Arg2:T{r.tail + 1}")
        if r.score is not None:
            notes.append(f"AnnotatorNotes R{j}\tscore={float(r.score):.4f}")
    lines += [f"#{k}\t{note}" for k, note in enumerate(notes, start=1)]
    return doc.text, "".join(line + "\n" for line in lines)


_SAFE_ID_RE = re.compile(r"^[\w.\-]+(?:/[\w.\-]+)*$")


def write_brat(docs: Iterable[Doc], directory: str | os.PathLike) -> list[Path]:
    """Write each Doc as ``<id>.txt`` + ``<id>.ann`` under ``directory``; return the ``.ann`` paths.

    Ids may contain ``/`` (sub-folders are created, so that :func:`read_brat_dir` gives the
    same ids back); docs without an id are named ``doc00000``, ``doc00001``...
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[str] = set()
    for n, doc in enumerate(docs):
        name = doc.id if doc.id else f"doc{n:05d}"
        if not _SAFE_ID_RE.match(name) or any(part in (".", "..") for part in name.split("/")):
            raise RecordFormatError(
                f"doc id {name!r} cannot be used as a brat file name",
                "use ids made of letters, digits, '.', '-', '_' and '/' separators",
            )
        if name in seen:
            raise RecordFormatError(f"duplicate doc id {name!r}: two docs would write the same brat files")
        seen.add(name)
        txt, ann = doc_to_brat(doc)
        base = root / name
        base.parent.mkdir(parents=True, exist_ok=True)
        with open(base.with_name(base.name + ".txt"), "w", encoding="utf-8", newline="") as fh:
            fh.write(txt)
        ann_path = base.with_name(base.name + ".ann")
        with open(ann_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(ann)
        written.append(ann_path)
    return written


# ------------------------------------------------------------------------------------------------
# file names of records, and the annotation.conf of a folder
# ------------------------------------------------------------------------------------------------
#: the longest file name (in UTF-8 bytes, before ``.txt``/``.ann``) that :func:`brat_file_name` makes
MAX_NAME_BYTES = 200


def brat_file_name(record_id: str | None) -> str:
    """The file name (without ``.txt``/``.ann``) of a record in a brat output folder.

    Letters, digits (any script), ``-``, ``_`` and ``.`` are kept; every other character is
    written ``%XX`` per UTF-8 byte (``/`` → ``%2F``, ``%`` → ``%25``, a leading ``.`` → ``%2E``), so
    the name is safe on any file system and :func:`brat_record_id` gives the id back. An id longer
    than :data:`MAX_NAME_BYTES` is cut and ends with ``~`` and 16 hex digits of its sha256 (the
    only names that do not map back); no id gives ``doc``. (A writer that meets the same name
    twice adds ``~2``, ``~3``...: ``~`` never comes from an id.)

    >>> brat_file_name("rapport 2024/01"), brat_file_name(".hidden"), brat_file_name("Armées-1")
    ('rapport%202024%2F01', '%2Ehidden', 'Armées-1')
    >>> brat_record_id(brat_file_name("a/b c%"))
    'a/b c%'
    """
    if record_id is None or record_id == "":
        return "doc"
    text = str(record_id)
    parts = []
    for i, ch in enumerate(text):
        if (ch.isalnum() or ch in "-_.") and not (i == 0 and ch == "."):
            parts.append(ch)
        else:
            parts.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
    name = "".join(parts)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        cut = name.encode("utf-8")[: MAX_NAME_BYTES - 17].decode("utf-8", "ignore")
        cut = re.sub(r"%[0-9A-F]?$", "", cut)  # never half an escape
        name = f"{cut}~{digest}"
    return name


def brat_record_id(name: str) -> str:
    """The record id of a file name made by :func:`brat_file_name` (``%XX`` decoded; a ``~k`` that a
    writer added to a repeated name is dropped).

    >>> brat_record_id("rapport%202024%2F01"), brat_record_id("a~2")
    ('rapport 2024/01', 'a')
    """
    return unquote(re.sub(r"~\d+$", "", name), errors="surrogateescape")


def annotation_conf(entity_labels: Iterable[str], relation_labels: Iterable[str]) -> str:
    """The ``annotation.conf`` that tells brat the labels of a folder: every entity label, and every
    relation between any two entities.

    >>> annotation_conf(["PER", "ORG"], ["HAS_ROLE"]).splitlines()[1:]
    ['[entities]', 'ORG', 'PER', '[relations]', 'HAS_ROLE\\tArg1:<ENTITY>, Arg2:<ENTITY>', '[events]', '[attributes]']
    """
    lines = ["# brat configuration written by defnlp: the labels of the model that annotated these files", "[entities]"]
    lines += sorted(set(entity_labels))
    lines.append("[relations]")
    lines += [f"{label}\tArg1:<ENTITY>, Arg2:<ENTITY>" for label in sorted(set(relation_labels))]
    lines += ["[events]", "[attributes]"]
    return "\n".join(lines) + "\n"


def ann_labels(ann: str) -> tuple[set[str], set[str]]:
    """The entity and relation labels used in the text of an ``.ann`` file.

    >>> ann_labels("T1\\tPER 0 5\\tParly\\nR1\\tHAS_ROLE Arg1:T1 Arg2:T1\\n")
    ({'PER'}, {'HAS_ROLE'})
    """
    entities: set[str] = set()
    relations: set[str] = set()
    for line in ann.splitlines():
        fields = line.split("\t")
        if len(fields) > 1 and fields[1]:
            label = fields[1].split(" ", 1)[0]
            if line.startswith("T"):
                entities.add(label)
            elif line.startswith("R"):
                relations.add(label)
    return entities, relations
