"""Inline markup for writing annotated examples by hand, converted to ``Doc`` objects.

The format (used for the project's own bilingual examples in ``data/examples/``)::

    === doc: agreements-001-fr | lang: fr | pair: agreements-001
    Le [ministre des Armées]{ROLE:r1}, [Sébastien Lecornu]{PER:p1}, a signé une
    [lettre d'intention]{DOCUMENT:d1} avec son homologue [belge]{NAT}.
    > p1 HAS_ROLE r1
    > p1 SIGNS d1

* a document starts with a ``=== doc: ID`` header line; ``| key: value`` fields follow
  (``lang``, ``pair`` — the id shared by a French text and its English translation, ``split``);
* ``[surface]{LABEL}`` or ``[surface]{LABEL:ref}`` marks an entity; ``ref`` names it for
  relations (and, in a FR/EN pair, the same ``ref`` on both sides marks the same entity);
* ``> HEAD_REF RELATION TAIL_REF`` lines give relations;
* ``\\[``, ``\\]``, ``\\{`` and ``\\}`` are literal brackets; ``\\>`` at the start of a line is a
  literal ``>`` (the quoted lines of an e-mail), not a relation line; lines starting with ``#`` outside
  a document are comments; the text of a document is its lines joined with newlines, with
  leading/trailing blank lines removed.

>>> docs = parse_markup('''=== doc: t1 | lang: en
... The [DGA]{ORG:o1} ordered [42]{QUANTITY:q} [Griffon]{PLATFORM:g} vehicles.
... > g HAS_QUANTITY q''')
>>> d = docs[0]
>>> [(e.text, e.label) for e in d.entities]
[('DGA', 'ORG'), ('42', 'QUANTITY'), ('Griffon', 'PLATFORM')]
>>> d.relations[0].label, d.entities[d.relations[0].head].text
('HAS_QUANTITY', 'Griffon')
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from ..doc import Doc
from ..errors import LabelError, RecordFormatError
from ..scheme import LabelScheme

__all__ = ["parse_markup", "read_markup_files", "doc_to_markup"]

_HEADER_RE = re.compile(r"^===\s*doc:\s*(?P<id>[^|]+?)\s*(?:\|(?P<fields>.*))?$")
_REL_RE = re.compile(r"^>\s*(?P<head>\S+)\s+(?P<label>[A-Z_]+)\s+(?P<tail>\S+)\s*$")
_ENTITY_RE = re.compile(r"(?<!\\)\[(?P<surface>(?:\\.|[^\[\]\\])+)\]\{(?P<label>[A-Z_]+)(?::(?P<ref>[\w\-]+))?\}")
_UNESCAPE_RE = re.compile(r"\\([\[\]{}\\])")


def _parse_body(lines: list[str], doc_id: str, where: str) -> tuple[str, list[tuple[int, int, str, str | None]]]:
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    marked = "\n".join(lines)
    text_parts: list[str] = []
    entities = []
    pos = 0
    out_len = 0
    for m in _ENTITY_RE.finditer(marked):
        _check_plain(marked[pos : m.start()], doc_id, where)
        before = _UNESCAPE_RE.sub(r"\1", marked[pos : m.start()])
        text_parts.append(before)
        out_len += len(before)
        surface = _UNESCAPE_RE.sub(r"\1", m.group("surface"))
        if surface != surface.strip() or not surface:
            raise RecordFormatError(f"{where}: doc {doc_id}: entity {surface!r} has leading/trailing spaces")
        entities.append((out_len, out_len + len(surface), m.group("label"), m.group("ref")))
        text_parts.append(surface)
        out_len += len(surface)
        pos = m.end()
    rest = marked[pos:]
    _check_plain(rest, doc_id, where)
    text_parts.append(_UNESCAPE_RE.sub(r"\1", rest))
    return "".join(text_parts), entities


def _check_plain(chunk: str, doc_id: str, where: str) -> None:
    """Text outside entities may not hold unescaped brackets: they signal broken markup."""
    m = re.search(r"(?<!\\)[\[\]{}]", chunk)
    if m:
        context = chunk[max(0, m.start() - 30) : m.start() + 30]
        raise RecordFormatError(f"{where}: doc {doc_id}: malformed entity markup near {context!r} (escape literal brackets as \\[)")


def parse_markup(source: str, scheme: LabelScheme | None = None, where: str = "<markup>") -> list[Doc]:
    """Parse markup text into Docs; with ``scheme``, labels are checked against it."""
    docs: list[Doc] = []
    current: dict | None = None

    def finish() -> None:
        if current is None:
            return
        text, ents = _parse_body(current["lines"], current["id"], where)
        if not text.strip():
            raise RecordFormatError(f"{where}: doc {current['id']} has no text")
        doc = Doc(text=text, id=current["id"], lang=current["fields"].pop("lang", None), meta=current["fields"])
        refs: dict[str, int] = {}
        for start, end, label, ref in ents:
            if scheme is not None:
                scheme.check_entity_label(label)
            idx = doc.add_entity(start, end, label)
            if ref:
                if ref in refs:
                    raise RecordFormatError(f"{where}: doc {doc.id}: reference {ref!r} used twice")
                refs[ref] = idx
        for head, label, tail, lineno in current["relations"]:
            if scheme is not None:
                scheme.check_relation_label(label)
            for ref in (head, tail):
                if ref not in refs:
                    raise RecordFormatError(f"{where}:{lineno}: doc {doc.id}: relation names unknown reference {ref!r}")
            if scheme is not None and not scheme.allows(label, doc.entities[refs[head]].label, doc.entities[refs[tail]].label):
                raise LabelError(
                    f"{where}:{lineno}: doc {doc.id}: {label} cannot link {doc.entities[refs[head]].label} to {doc.entities[refs[tail]].label}"
                )
            doc.add_relation(refs[head], refs[tail], label)
        doc.meta["refs"] = {ref: idx for ref, idx in refs.items()}
        docs.append(doc)

    for lineno, line in enumerate(source.splitlines(), start=1):
        header = _HEADER_RE.match(line)
        if header:
            finish()
            fields = {}
            for part in (header.group("fields") or "").split("|"):
                if part.strip():
                    if ":" not in part:
                        raise RecordFormatError(f"{where}:{lineno}: header field {part.strip()!r} is not 'key: value'")
                    key, value = part.split(":", 1)
                    fields[key.strip()] = value.strip()
            current = {"id": header.group("id").strip(), "fields": fields, "lines": [], "relations": []}
            continue
        if current is None:
            if line.strip() and not line.lstrip().startswith("#"):
                raise RecordFormatError(f"{where}:{lineno}: text before the first '=== doc:' header")
            continue
        rel = _REL_RE.match(line)
        if rel:
            current["relations"].append((rel.group("head"), rel.group("label"), rel.group("tail"), lineno))
        elif line.startswith(">"):
            raise RecordFormatError(f"{where}:{lineno}: relation lines look like '> head_ref LABEL tail_ref'")
        else:
            current["lines"].append(line[1:] if line.startswith("\\>") else line)
    finish()
    ids = [d.id for d in docs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RecordFormatError(f"{where}: duplicate doc ids {sorted(dupes)}")
    return docs


def read_markup_files(paths: Iterable[str | os.PathLike], scheme: LabelScheme | None = None) -> list[Doc]:
    """Parse every ``.md`` markup file under ``paths`` (files or folders), in sorted order."""
    docs: list[Doc] = []
    for p in paths:
        path = Path(p)
        files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
        for f in files:
            if f.name.lower().startswith("readme"):
                continue  # notes beside the examples, not examples
            docs += parse_markup(f.read_text(encoding="utf-8"), scheme=scheme, where=str(f))
    return docs


def doc_to_markup(doc: Doc) -> str:
    """Render a Doc (flat entities) back to markup — the inverse of :func:`parse_markup`."""
    refs = {idx: ref for ref, idx in (doc.meta.get("refs") or {}).items()}
    needed = {r.head for r in doc.relations} | {r.tail for r in doc.relations}
    for i in needed:
        refs.setdefault(i, f"e{i}")
    esc = lambda s: re.sub(r"([\[\]{}\\])", r"\\\1", s)  # noqa: E731
    parts, pos = [], 0
    for i, e in sorted(enumerate(doc.entities), key=lambda t: (t[1].start, t[1].end)):
        if e.start < pos:
            raise RecordFormatError(f"doc {doc.id}: overlapping entities cannot be written as markup")
        parts.append(esc(doc.text[pos : e.start]))
        ref = f":{refs[i]}" if i in refs else ""
        parts.append(f"[{esc(e.text)}]{{{e.label}{ref}}}")
        pos = e.end
    parts.append(esc(doc.text[pos:]))
    fields = "".join(f" | {k}: {v}" for k, v in ([("lang", doc.lang)] if doc.lang else []) + [
        (k, v) for k, v in doc.meta.items() if k != "refs" and isinstance(v, str)
    ])
    body = re.sub(r"(?m)^>", r"\\>", "".join(parts))  # a quoted e-mail line is not a relation line
    lines = [f"=== doc: {doc.id}{fields}", body]
    lines += [f"> {refs[r.head]} {r.label} {refs[r.tail]}" for r in doc.relations]
    return "\n".join(lines) + "\n"
