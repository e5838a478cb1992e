"""CoNLL / BIO files <-> :class:`~defnlp.doc.Doc`, and the BIO view of a document.

Reading (:func:`read_conll`)
    One token per line, columns separated by a tab (if the line has one) or by spaces; a blank
    line ends a sentence; a line whose token is ``-DOCSTART-`` starts a new document. The tag
    column may use IOB1, IOB2 or BIOES (BILOU's ``L``/``U`` are read as ``E``/``S``). The text
    of a Doc is rebuilt by joining the tokens with single spaces (sentences with ``\\n`` when
    ``group_sentences=True``), and ``doc.meta["tokens"]`` keeps the ``[start, end]`` character
    span of every token, so that evaluation can go back to token tags exactly.

Writing (:func:`doc_to_bio`, :func:`write_conll`)
    A Doc becomes ``(tokens, tags)``. Tokens come from ``token_spans``, else from
    ``doc.meta["tokens"]``, else from the word tokenizer (:func:`defnlp.words.word_spans`,
    ``mode="word"``) split at every entity boundary (so that "UK" and "France" in "UK-France"
    stay two entities). **Boundary rule** for given tokens: a token is tagged with an entity
    when it overlaps the entity by at least one character, so an entity that starts or ends
    inside a token takes the whole token ("belge" in a given token ``franco-belge`` tags that
    token). Overlapping entities cannot be written as BIO: they are first resolved with
    :func:`flatten_entities` (longest first), and a token claimed by two entities goes to the
    first one (:func:`defnlp.tags.spans_to_tags`).

>>> docs = read_conll("Le O\\nministre B-ROLE\\ndes I-ROLE\\nArmées I-ROLE\\nà O\\nBrest B-LOC\\n")
>>> d = docs[0]
>>> d.text, [(e.text, e.label) for e in d.entities]
('Le ministre des Armées à Brest', [('ministre des Armées', 'ROLE'), ('Brest', 'LOC')])
>>> doc_to_bio(d)[1]
['O', 'B-ROLE', 'I-ROLE', 'I-ROLE', 'O', 'B-LOC']
>>> doc_to_bio(Doc("L'armée de l'Air a reçu 3,5 M€ pour l'A400M."))[0]
["L'", 'armée', 'de', "l'", 'Air', 'a', 'reçu', '3,5', 'M', '€', 'pour', "l'", 'A400M', '.']
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..doc import Doc, Sentence
from ..errors import DataNotFoundError, RecordFormatError
from ..tags import (
    TAG_SCHEMES,
    check_end,
    check_scheme,
    check_transition,
    parse_tag,
    resolve_overlaps,
    spans_to_tags,
    tags_to_spans,
)
from ..text import decode_bytes
from ..words import split_tokens_at, word_spans

__all__ = [
    "read_conll",
    "write_conll",
    "docs_to_conll",
    "doc_to_bio",
    "flatten_entities",
    "split_at_whitespace",
    "DOCSTART",
    "TAG_SCHEMES",
]

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------
# overlaps
# ------------------------------------------------------------------------------------------------
def flatten_entities(doc: Doc, prefer: str = "longest") -> Doc:
    """A copy of ``doc`` whose entities do not overlap, for BIO training.

    The entities kept are those of :func:`defnlp.tags.resolve_overlaps`: ranked, then kept
    greedily when they do not overlap an entity already kept. ``prefer="longest"`` ranks by
    length (longest first), ``"shortest"`` by length (shortest first); ties go to the leftmost
    entity, then to the one listed first. ``"first"`` keeps entities in the order they are
    listed. Relations are re-indexed onto the kept entities; a relation whose head or tail was
    removed is dropped. Entity order is kept.

    >>> d = Doc("Grande Mosquée de Valence", lang="fr")
    >>> org, loc = d.add_entity(0, 25, "ORG"), d.add_entity(18, 25, "LOC")
    >>> [e.label for e in flatten_entities(d).entities], [e.label for e in flatten_entities(d, "shortest").entities]
    (['ORG'], ['LOC'])
    """
    kept = resolve_overlaps([(e.start, e.end) for e in doc.entities], prefer)
    out = doc.copy(annotations=False)
    out.entities = [type(doc.entities[i])(**vars(doc.entities[i])) for i in kept]
    new_index = {old: new for new, old in enumerate(kept)}
    for r in doc.relations:
        if r.head in new_index and r.tail in new_index:
            out.relations.append(type(r)(new_index[r.head], new_index[r.tail], r.label, r.score))
    return out


def _has_overlaps(doc: Doc) -> bool:
    spans = sorted((e.start, e.end) for e in doc.entities)
    return any(b[0] < a[1] for a, b in itertools.pairwise(spans))


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
@dataclass
class _Sentence:
    tokens: list[str]
    tags: list[str]
    first_line: int


def _read_source(source: str | os.PathLike, encoding: str | None) -> tuple[str, str]:
    """``(content, name)``: a path is read from disk; a string with a newline is the content itself."""
    if isinstance(source, str) and "\n" in source:
        return source, "conll"
    path = Path(source)
    if not path.is_file():
        raise DataNotFoundError(f"CoNLL file not found: {path}", "check the path (or pass the file content as a string)")
    return decode_bytes(path.read_bytes(), encoding=encoding, source=str(path)), path.stem


def _parse_lines(content: str, name: str, token_col: int, tag_col: int, scheme: str) -> list[list[_Sentence]]:
    """Documents (lists of sentences) of a CoNLL text, with tag validation."""
    documents: list[list[_Sentence]] = [[]]
    current: _Sentence | None = None
    prev: tuple[str | None, str | None] = (None, None)

    def end_sentence(where: str) -> None:
        nonlocal current, prev
        if current is not None:
            check_end(scheme, prev, where)
            documents[-1].append(current)
        current, prev = None, (None, None)

    for lineno, raw in enumerate(content.splitlines(), start=1):
        where = f"{name}:{lineno}"
        line = raw.rstrip("\r\n")
        if not line.strip():
            end_sentence(where)
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if "-DOCSTART-" in cols[:2]:
            end_sentence(where)
            if documents[-1]:
                documents.append([])
            continue
        try:
            token, tag = cols[token_col], cols[tag_col].strip()
        except IndexError:
            raise RecordFormatError(
                f"{where}: expected a token in column {token_col} and a tag in column {tag_col}, got {len(cols)} column(s): {line!r}",
                "set token_col/tag_col to the columns of the file (0-based, negative counts from the end)",
            ) from None
        parsed = parse_tag(tag, where)
        check_transition(scheme, prev, parsed, where, tag)
        if current is None:
            current = _Sentence([], [], lineno)
        current.tokens.append(token)
        current.tags.append(tag)
        prev = parsed
    end_sentence(f"{name}:end")
    return [d for d in documents if d]


def _build_doc(
    sentences: list[_Sentence],
    doc_id: str,
    lang: str | None,
    label_map: Mapping[str, str | None] | None,
    meta: dict,
) -> Doc:
    parts: list[str] = []
    token_spans: list[list[int]] = []
    sent_spans: list[Sentence] = []
    entity_spans: list[tuple[int, int, str]] = []
    pos = 0
    for s_idx, sent in enumerate(sentences):
        if s_idx:
            parts.append("\n")
            pos += 1
        first_token = len(token_spans)
        sent_start = pos
        for t_idx, token in enumerate(sent.tokens):
            if t_idx:
                parts.append(" ")
                pos += 1
            parts.append(token)
            token_spans.append([pos, pos + len(token)])
            pos += len(token)
        sent_spans.append(Sentence(sent_start, pos))
        for a, b, label in tags_to_spans(sent.tags):
            entity_spans.append((token_spans[first_token + a][0], token_spans[first_token + b - 1][1], label))
    doc = Doc("".join(parts), id=doc_id, lang=lang, sentences=sent_spans, meta={**meta, "tokens": token_spans})
    for start, end, label in entity_spans:
        if label_map is not None and label in label_map:
            mapped = label_map[label]
            if mapped is None:
                continue
            label = mapped
        doc.add_entity(start, end, label)
    return doc


def read_conll(
    source: str | os.PathLike,
    token_col: int = 0,
    tag_col: int = -1,
    scheme: str = "auto",
    group_sentences: bool = False,
    label_map: Mapping[str, str | None] | None = None,
    lang: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
) -> list[Doc]:
    """Read a CoNLL/BIO file (a path, or the content itself as a string with newlines).

    ``scheme`` is the tagging scheme: ``"auto"`` (default) decodes IOB1, IOB2 and BIOES
    leniently and only rejects malformed tags; ``"iob1"``, ``"iob2"`` or ``"bioes"`` also
    check transitions (an ``I-X`` after ``O`` is valid IOB1 but not IOB2). Errors are
    :class:`~defnlp.errors.RecordFormatError` naming ``file:line``.

    One Doc per sentence (ids ``name:N``, ``meta["sentence_index"]`` and ``meta["document_index"]``),
    or, with ``group_sentences=True``, one Doc per ``-DOCSTART-`` document (ids ``name:docN``,
    sentences joined with ``\\n`` and listed in ``doc.sentences``). ``label_map`` renames labels
    (``None`` drops them; labels absent from the map are kept). ``name`` defaults to the file stem.

    >>> conll = "-DOCSTART- O\\n\\nParis B-LOC\\n\\nLe O\\nMonde I-ORG\\n"
    >>> [d.text for d in read_conll(conll, group_sentences=True)]
    ['Paris\\nLe Monde']
    >>> [[e.label for e in d.entities] for d in read_conll(conll, label_map={"ORG": None})]
    [['LOC'], []]
    """
    check_scheme(scheme)
    content, stem = _read_source(source, encoding)
    name = name or stem
    documents = _parse_lines(content, name, token_col, tag_col, scheme)
    docs: list[Doc] = []
    if group_sentences:
        for d_idx, sentences in enumerate(documents):
            docs.append(_build_doc(sentences, f"{name}:doc{d_idx}", lang, label_map, {"document_index": d_idx}))
    else:
        s_idx = 0
        for d_idx, sentences in enumerate(documents):
            for sent in sentences:
                meta = {"document_index": d_idx, "sentence_index": s_idx, "line": sent.first_line}
                docs.append(_build_doc([sent], f"{name}:{s_idx}", lang, label_map, meta))
                s_idx += 1
    log.debug("read %d docs from %s", len(docs), name)
    return docs


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------
def _token_spans_of(doc: Doc, token_spans: Sequence[Sequence[int]] | None) -> list[tuple[int, int]]:
    """Given tokens, else ``meta["tokens"]``, else the word tokenizer split at entity boundaries."""
    if token_spans is None:
        token_spans = doc.meta.get("tokens")
    if token_spans is None:
        return split_tokens_at(doc.text, word_spans(doc.text), [x for e in doc.entities for x in (e.start, e.end)])
    spans = [(int(a), int(b)) for a, b in token_spans]
    prev_end = 0
    for a, b in spans:
        if not 0 <= a < b <= len(doc.text):
            raise RecordFormatError(f"doc {doc.id}: token span ({a}, {b}) is outside the text (length {len(doc.text)})")
        if a < prev_end:
            raise RecordFormatError(f"doc {doc.id}: token spans must be sorted and must not overlap (({a}, {b}) starts before {prev_end})")
        prev_end = b
    return spans


def doc_to_bio(
    doc: Doc,
    token_spans: Sequence[Sequence[int]] | None = None,
    scheme: str = "iob2",
) -> tuple[list[str], list[str]]:
    """``(tokens, tags)`` of a Doc, in IOB2 (default) or BIOES.

    Tokens: ``token_spans`` if given, else ``doc.meta["tokens"]``, else the words of
    :func:`defnlp.words.word_spans` split at entity boundaries.
    A token takes the tag of an entity it overlaps (see the module docstring for the rule on
    overlapping entities); entities that cover no token are skipped with a debug message.

    >>> d = Doc("Le Leclerc franco-belge.", lang="fr")
    >>> _ = d.add_entity(3, 10, "PLATFORM"); _ = d.add_entity(18, 23, "NAT")
    >>> doc_to_bio(d, scheme="bioes")  # the word tokenizer splits at entity boundaries
    (['Le', 'Leclerc', 'franco-', 'belge', '.'], ['O', 'S-PLATFORM', 'O', 'S-NAT', 'O'])
    >>> doc_to_bio(d, token_spans=[(0, 2), (3, 10), (11, 23), (23, 24)])  # given tokens: overlap rule
    (['Le', 'Leclerc', 'franco-belge', '.'], ['O', 'B-PLATFORM', 'B-NAT', 'O'])
    """
    check_scheme(scheme, write=True)
    spans = _token_spans_of(doc, token_spans)
    tokens = [doc.text[a:b] for a, b in spans]
    flat = flatten_entities(doc) if _has_overlaps(doc) else doc
    if flat is not doc:
        log.debug("doc %s: %d overlapping entities left out of the BIO tags", doc.id, len(doc.entities) - len(flat.entities))

    def missing(span: tuple[int, int, str]) -> None:
        start, end, _ = span
        log.debug("doc %s: entity %r (%d, %d) covers no free token", doc.id, doc.text[start:end], start, end)

    tags = spans_to_tags(spans, [(e.start, e.end, e.label) for e in flat.entities], scheme, on_missing=missing)
    return tokens, tags


def _sentence_groups(doc: Doc, spans: Sequence[tuple[int, int]]) -> list[range]:
    """Token index ranges of the doc's sentences (one range when the doc lists no sentences)."""
    if not doc.sentences:
        return [range(len(spans))]
    groups: list[range] = []
    i = 0
    for s_idx, sent in enumerate(doc.sentences):
        j = i
        last = s_idx == len(doc.sentences) - 1
        while j < len(spans) and (last or spans[j][0] < sent.end):
            j += 1
        if j > i:
            groups.append(range(i, j))
        i = j
    if i < len(spans):
        groups.append(range(i, len(spans)))
    return groups


#: the line that starts a document: CoNLL-2003's, the delimiter spaCy's ``conll_ner_to_docs`` splits on
DOCSTART = "-DOCSTART- -X- O O"


def split_at_whitespace(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` cut at every run of whitespace (``str.isspace``: NBSP and line separators too), empty
    pieces dropped: tokens that every whitespace-splitting CoNLL reader reads back as they are.

    >>> split_at_whitespace("3\u202f500 km", [(0, 5), (6, 8)])
    [(0, 1), (2, 5), (6, 8)]
    """
    out: list[tuple[int, int]] = []
    for a, b in spans:
        start = None
        for i in range(a, b):
            if text[i].isspace():
                if start is not None:
                    out.append((start, i))
                    start = None
            elif start is None:
                start = i
        if start is not None:
            out.append((start, b))
    return out


def docs_to_conll(
    docs: Iterable[Doc],
    scheme: str = "iob2",
    docstart: bool = False,
    sep: str = " ",
    split_tokens: bool = False,
) -> str:
    """The CoNLL text of ``docs``: ``token<sep>tag`` lines, a blank line after each sentence.

    Sentences are the doc's ``sentences`` (one sentence if it lists none). ``docstart=True``
    writes the line ``-DOCSTART- -X- O O`` and a blank line before each doc (CoNLL-2003; read back
    with ``group_sentences=True``, and by spaCy's ``conll_ner_to_docs`` as one Doc per document).
    ``split_tokens=True`` cuts tokens at whitespace (:func:`split_at_whitespace`; a piece after the
    first takes ``I-``) instead of refusing a token that holds the separator.

    >>> d = Doc("Paris brûle", lang="fr"); _ = d.add_entity(0, 5, "LOC")
    >>> print(docs_to_conll([d]), end="")
    Paris B-LOC
    brûle O
    <BLANKLINE>
    """
    lines: list[str] = []
    for doc in docs:
        spans = _token_spans_of(doc, None)
        if split_tokens:
            spans = split_at_whitespace(doc.text, spans)
        tokens, tags = doc_to_bio(doc, spans, scheme=scheme)
        if docstart:
            lines += [DOCSTART, ""]
        for group in _sentence_groups(doc, spans):
            for i in group:
                if sep in tokens[i] or "\n" in tokens[i] or (sep == " " and any(c.isspace() for c in tokens[i])):
                    raise RecordFormatError(
                        f"doc {doc.id}: token {tokens[i]!r} contains the column separator",
                        "write with sep='\\t', or give tokens without whitespace",
                    )
                lines.append(f"{tokens[i]}{sep}{tags[i]}")
            lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def write_conll(docs: Iterable[Doc], path: str | os.PathLike, scheme: str = "iob2", docstart: bool = False, sep: str = " ") -> Path:
    """Write ``docs`` as a CoNLL file (see :func:`docs_to_conll`) and return its path.

    >>> import tempfile, pathlib
    >>> d = Doc("Le Rafale", lang="fr"); _ = d.add_entity(3, 9, "PLATFORM")
    >>> p = write_conll([d], pathlib.Path(tempfile.mkdtemp()) / "out.conll")
    >>> [(e.text, e.label) for e in read_conll(p)[0].entities]
    [('Rafale', 'PLATFORM')]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docs_to_conll(docs, scheme=scheme, docstart=docstart, sep=sep), encoding="utf-8")
    return path
