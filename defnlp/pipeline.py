"""``defnlp.load()`` and the :class:`Pipeline`: text in, annotated :class:`~defnlp.doc.Doc` out.

>>> import defnlp
>>> nlp = defnlp.load()                                  # doctest: +SKIP
>>> doc = nlp("La DGA a commandé 42 Griffon à KNDS.")    # doctest: +SKIP
>>> for doc in nlp.pipe(["...", "..."]): ...             # doctest: +SKIP

The pipeline prepares each document (sentences, language: :func:`~defnlp.doc.prepare_doc`),
runs the encoder once per window (:class:`~defnlp.inference.Engine`), decodes the NER head's
outputs into entities (:mod:`defnlp.ner.decoding`), carries each person's full name to its
one-word repetitions (:mod:`defnlp.ner.names`; ``person_names=False`` turns it off) and, when a
relation model is loaded, runs the relation head on the same hidden states
(:mod:`defnlp.relations.model`).

A document longer than :data:`SECTION_CHARS` characters is annotated in sections
(:func:`section_bounds`: cut at blank lines, else at sentence starts): each section goes
through the engine as a document of its own (batched with the other documents) and its hidden
states are released once its relations are scored, so memory is bounded by the engine's pool
of documents (``runtime.pool_tokens``) and the section size, not by the document. Entities
and relations are shifted back onto the whole text; alias links and the sentence list are
computed on the whole document.
"""

from __future__ import annotations

import logging
import os
import re
from bisect import bisect_left, bisect_right
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, overload

from .doc import Doc, DocResult, Entity, Relation, Sentence, prepare_doc
from .errors import (
    AnnotationError,
    DefnlpError,
    InputError,
    ModelError,
    ModelNotFoundError,
    RecordFormatError,
    UnpairedSurrogateError,
)
from .inference import DocEncoding, Engine, Runtime, TokenHead
from .io.outputs import safe_text
from .layout import hyphen_joins
from .models import DEFAULT_PIPELINE, find_model, read_model_dir
from .ner.decoding import decode_entities
from .ner.model import LoadedNer, load_ner
from .ner.names import propagate_person_names
from .text import SUPPORTED_LANGUAGES, trim_span

if TYPE_CHECKING:
    from .relations.model import LoadedRelations

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")

__all__ = ["Pipeline", "load", "resolve_pipeline", "section_bounds", "SECTION_CHARS"]

#: a document longer than this many characters is annotated in sections of at most about this
#: size (:func:`section_bounds`); the encoder's hidden states, which the relation head reads
#: (384 float32 per token, ~3.3 characters per token), are held per section (~25 MB for 50,000
#: characters) and only for the sections of one engine pool at a time, instead of for the whole
#: document (~0.5 GB per MB). Relations between two entities in different sections are not
#: scored (cuts are at blank lines where possible; candidates are limited to a sentence and its
#: neighbour), and a section's encoder windows start at the section (see docs/robustness.md).
SECTION_CHARS = 50_000

#: what :meth:`Pipeline.pipe` annotates: a text, a Doc, a ``{"id", "text", "lang"}`` dict, or
#: the error of an input that could not be read (given back in its place)
InputItem = str | Doc | dict | DefnlpError


class Pipeline:
    """NER (+ relations) over documents, batched. Build it with :func:`load`."""

    def __init__(self, ner: LoadedNer, relations: LoadedRelations | None = None, runtime: Runtime | None = None,
                 person_names: bool = True) -> None:
        self.ner = ner
        self.relations = relations
        self.runtime = runtime or Runtime.create()
        #: documents longer than this are annotated in sections (see :data:`SECTION_CHARS`)
        self.section_chars = SECTION_CHARS
        #: carry a person's full name to its one-word repetitions in the same document (or section):
        #: :func:`defnlp.ner.names.propagate_person_names`
        self.person_names = person_names
        model = self.runtime.prepare_model(ner.encoder.model, ner.encoder.tokenizer)
        self.ner.head.to(self.runtime.device)
        if relations is not None:
            relations.to(self.runtime.device)
        self.engine = Engine(
            model=model,
            tokenizer=ner.encoder.tokenizer,
            heads=[TokenHead("ner", ner.head)],
            runtime=self.runtime,
            max_tokens=ner.spec.max_tokens,
            overlap=ner.spec.overlap,
        )

    # ---- public API ---------------------------------------------------------------------------
    @property
    def entity_labels(self) -> list[str]:
        return list(self.ner.spec.labels)

    @property
    def relation_labels(self) -> list[str]:
        return list(self.relations.spec.labels) if self.relations is not None else []

    def __call__(self, text: str | Doc | dict, lang: str | None = None, id: str | None = None) -> Doc:
        """Annotate one text (or Doc / ``{"id", "text"}`` dict) and return the Doc."""
        doc = _to_doc(text, lang=lang, id=id)
        return next(iter(self.pipe([doc])))

    @overload
    def pipe(self, items: Iterable[InputItem], errors: Literal["raise"] = "raise", *,
             batch_size: int | None = None) -> Iterator[Doc]: ...

    @overload
    def pipe(self, items: Iterable[InputItem], errors: Literal["return"], *,
             batch_size: int | None = None) -> Iterator[DocResult]: ...

    def pipe(self, items: Iterable[InputItem], errors: Literal["raise", "return"] = "raise", *,
             batch_size: int | None = None) -> Iterator[DocResult]:
        """Annotate many documents, batched across documents: one result per item, in input order.

        With ``errors="return"`` an item that cannot be annotated yields its
        :class:`DefnlpError` in its place instead of stopping the stream; an item that already
        is a :class:`DefnlpError` (an input that could not be read) is given back as it is.
        ``batch_size`` (spaCy's argument): at most this many documents are read ahead and batched
        together; by default the runtime's pool (``token_budget``) decides.

        >>> list(nlp.pipe(["La DGA a commandé 42 Griffon.", {"no": "text"}], errors="return"))  # doctest: +SKIP
        [Doc(id=None, lang='fr', text='La DGA a commandé 42 Griffon.', entities=3, relations=2), InputError('a record must have a "text" string')]
        """
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
            from .errors import ConfigError

            raise ConfigError(f"batch_size must be a positive integer, not {batch_size!r}")
        results = self._results(items) if batch_size is None else _in_batches(self._results, items, batch_size)
        for result in results:
            if isinstance(result, DefnlpError) and errors == "raise":
                raise result
            yield result

    def info(self) -> dict[str, Any]:
        out = {
            "ner": {"name": self.ner.spec.name, "path": self.ner.path, "labels": self.entity_labels,
                    "weights_sha256": self.ner.weights_sha256},
            "encoder": self.ner.encoder.info.to_dict(),
            "device": str(self.runtime.device),
            "precision": self.runtime.precision,
            "person_names": self.person_names,
        }
        if self.relations is not None:
            out["relations"] = {"name": self.relations.spec.name, "path": self.relations.path, "labels": self.relation_labels,
                                "weights_sha256": self.relations.weights_sha256}
        return out

    # ---- internals ------------------------------------------------------------------------------
    def _results(self, items: Iterable[InputItem]) -> Iterator[DocResult]:
        # per input, in order: None while its document is in the engine, or the error that kept it out
        waiting: deque[DefnlpError | None] = deque()
        # documents handed to the engine whose result has not come back, each with the long
        # document it is a section of (None for a document annotated whole)
        pulled: deque[tuple[Doc, _Sections | None]] = deque()
        cutting: list[_Sections] = []  # the long document whose sections are being handed out
        source = iter(items)
        source_failed = False  # an exception from the caller's iterable is the caller's: re-raised

        def docs() -> Iterator[Doc]:
            nonlocal source_failed
            while True:
                if cutting:  # first the rest of a long document (also after an engine restart)
                    section = cutting[0].next_section()
                    if section is None:
                        cutting.clear()
                        continue
                    pulled.append((section, cutting[0]))
                    yield section
                    continue
                try:
                    item = next(source)
                except StopIteration:
                    return
                except BaseException:
                    source_failed = True
                    raise
                if isinstance(item, DefnlpError):  # an input that could not be read: given back in its place
                    waiting.append(item)
                    continue
                try:
                    doc = prepare_doc(_to_doc(item))
                    long = isinstance(doc.text, str) and len(doc.text) > self.section_chars
                    parts = _Sections(doc, section_bounds(doc.text, doc.sentences, self.section_chars)) if long \
                        else None
                except DefnlpError as err:
                    waiting.append(err)
                    continue
                except Exception as exc:  # noqa: BLE001 - one document must not stop the stream
                    waiting.append(_failed(getattr(item, "id", None), exc))
                    continue
                waiting.append(None)
                if parts is not None:
                    cutting.append(parts)
                    continue
                pulled.append((doc, None))
                yield doc

        def done(result: DocResult) -> Iterator[DocResult]:
            """The errors waiting before the next document, then its result."""
            while waiting[0] is not None:
                yield waiting.popleft()
            waiting.popleft()
            yield result

        hidden = self.relations is not None
        stream = self.engine.run(docs(), hidden=hidden)
        while True:
            try:
                encoded = next(stream)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001
                if source_failed:
                    raise
                # the engine failed on a pool of documents: annotate them one at a time, so that
                # only the document that breaks it gets an error, then go on with a new stream
                failed = list(pulled)
                pulled.clear()
                if not failed:  # not a document's fault: nothing to isolate
                    raise
                log.warning("annotation failed on a batch of %d documents (%s: %s); retrying them one by one",
                            len(failed), type(exc).__name__, exc)
                for doc, parts in failed:
                    result = self._annotate_alone(doc, hidden, whole=parts is None)
                    if parts is None:
                        yield from done(result)
                    elif parts.add(result):
                        yield from done(self._finish(parts))
                stream = self.engine.run(docs(), hidden=hidden)
                continue
            _, parts = pulled.popleft()
            result = encoded if isinstance(encoded, DefnlpError) else self._annotate(encoded, whole=parts is None)
            del encoded  # no reference to the token outputs and hidden states while the caller works
            if parts is None:
                yield from done(result)
            elif parts.add(result):  # a section: its hidden states are gone, its annotations kept
                yield from done(self._finish(parts))
        yield from waiting  # errors after the last document

    def _annotate_alone(self, doc: Doc, hidden: bool, whole: bool = True) -> DocResult:
        try:
            (encoded,) = list(self.engine.run([doc], hidden=hidden))
        except Exception as exc:  # noqa: BLE001
            return _failed(doc.id, exc)
        return encoded if isinstance(encoded, DefnlpError) else self._annotate(encoded, whole)

    def _annotate(self, encoded: DocEncoding, whole: bool = True) -> DocResult:
        """Entities and relations of a document, or of a section of one (``whole=False``: no
        alias links, which :meth:`_finish` draws over the whole document)."""
        doc = encoded.doc
        try:
            doc.entities = decode_entities(self.ner.tagset, doc.text, encoded.token_spans, encoded.outputs["ner"],
                                           joins=encoded.joins)
            if self.person_names and "PER" in self.ner.tagset.labels:
                doc.entities = propagate_person_names(doc.text, doc.entities)
            doc.relations = []
            if self.relations is not None and len(doc.entities) > 1 and encoded.hidden is not None:
                if whole:
                    doc.relations = self.relations.predict(doc, encoded.hidden, encoded.token_spans)
                else:
                    import torch

                    from .relations.model import predict_relations

                    rel = self.relations
                    with torch.inference_mode():
                        doc.relations = predict_relations(rel.head, doc, torch.from_numpy(encoded.hidden),
                                                          encoded.token_spans, rel.scheme, rel.decision,
                                                          rel.max_sentence_distance)
        except DefnlpError as err:
            return err
        except Exception as exc:  # noqa: BLE001 - one document must not stop the stream
            return _failed(doc.id, exc)
        return doc

    def _finish(self, parts: _Sections) -> DocResult:
        """A long document from its sections' annotations, with alias links drawn over all of it
        (as :meth:`LoadedRelations.predict <defnlp.relations.model.LoadedRelations.predict>` does
        for a whole document)."""
        if parts.error is not None:
            return parts.error
        doc = parts.doc
        doc.entities, doc.relations = parts.entities, parts.relations
        try:
            if self.relations is not None:
                from .relations.model import merge_relations

                doc.relations = merge_relations(doc.relations, self.relations.alias_links(doc))
        except DefnlpError as err:
            return err
        except Exception as exc:  # noqa: BLE001
            return _failed(doc.id, exc)
        return doc


class _Sections:
    """A long document annotated section by section: hands out its sections one at a time
    (:meth:`next_section`) and collects their annotations, shifted onto the whole text
    (:meth:`add`)."""

    def __init__(self, doc: Doc, bounds: list[tuple[int, int]]) -> None:
        self.doc = doc
        self.bounds = bounds
        self.given = 0  # sections handed out
        self.received = 0  # sections whose annotations came back
        self.entities: list[Entity] = []
        self.relations: list[Relation] = []
        self.error: DefnlpError | None = None
        self._sentences = sorted((s.start, s.end) for s in doc.sentences)
        self._starts = [a for a, _ in self._sentences]

    def next_section(self) -> Doc | None:
        """The next section as a Doc of its own (the document's sentences in it, shifted), or None."""
        if self.given == len(self.bounds):
            return None
        a, b = self.bounds[self.given]
        self.given += 1
        text = self.doc.text
        sentences = []
        i, j = bisect_left(self._starts, a), bisect_left(self._starts, b)
        if i > 0 and self._sentences[i - 1][1] > a:  # a sentence that the cut splits (no sentence start near)
            sentences.append(trim_span(text, a, min(self._sentences[i - 1][1], b)))
        sentences.extend(trim_span(text, start, min(end, b)) for start, end in self._sentences[i:j])
        if self.given < len(self.bounds):  # not the last section: without the whitespace before the
            while b > a and text[b - 1].isspace():  # next one, of which the tokenizer would make a token
                b -= 1
        return Doc(text[a:b], id=self.doc.id, lang=self.doc.lang,
                   sentences=[Sentence(start - a, end - a) for start, end in sentences if start < end])

    def add(self, result: DocResult) -> bool:
        """Take the next section's result; True when it was the last one."""
        offset = self.bounds[self.received][0]
        self.received += 1
        if self.error is None and isinstance(result, DefnlpError):
            self.error = result
            self.entities, self.relations = [], []
        elif self.error is None and isinstance(result, Doc):
            first = len(self.entities)
            for e in result.entities:
                e.start += offset
                e.end += offset
            for r in result.relations:
                r.head += first
                r.tail += first
            self.entities.extend(result.entities)
            self.relations.extend(result.relations)
        return self.received == len(self.bounds)


def section_bounds(text: str, sentences: Iterable[Sentence], size: int = SECTION_CHARS) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive sections ``[(0, c1), (c1, c2), …, (ck, len(text))]`` of at
    most ``size`` characters, for :class:`Pipeline` to annotate one at a time.

    A text of at most ``size`` characters is one section. Otherwise each section ends at the
    last cut before its ``size``-th character, chosen in this order: the start of a sentence
    after a blank line, a form feed or a paragraph separator (a layout paragraph: no entity
    crosses it, :func:`defnlp.layout.blocks`) in the second half of the section, any sentence
    start there, the same two in the first half; failing that (a "sentence" longer than the
    section) a word start, and as a last resort (no whitespace) the last character before the
    ``size``-th that is not in a word joined across a line break
    (:func:`defnlp.layout.hyphen_joins`); no other cut falls in such a word either, and all but
    the last resort follow whitespace. (Only a section smaller than a hyphen and its line break
    can be longer than ``size``.)

    >>> text = "Le ministre a signé.\\n\\nLa DGA a commandé. Brest attend."
    >>> from defnlp.text import split_sentences
    >>> sents = [Sentence(a, b) for a, b in split_sentences(text)]
    >>> [text[a:b] for a, b in section_bounds(text, sents, size=40)]
    ['Le ministre a signé.\\n\\n', 'La DGA a commandé. Brest attend.']
    >>> [text[a:b] for a, b in section_bounds(text, sents, size=30)]
    ['Le ministre a signé.\\n\\n', 'La DGA a commandé. ', 'Brest attend.']
    """
    n = len(text)
    if n <= size:
        return [(0, n)]
    size = max(2, size)
    starts = sorted({s.start for s in sentences if 0 < s.start < n})
    joins = hyphen_joins(text)
    join_starts = [a for a, _ in joins]

    def glued(c: int) -> bool:
        k = bisect_left(join_starts, c) - 1  # the last join that starts before c
        return k >= 0 and c <= joins[k][1]

    def cuttable(c: int) -> bool:
        return not text[c].isspace() and text[c - 1].isspace() and not glued(c)

    def last_start(lo: int, hi: int, paragraph: bool) -> int | None:
        """The last cuttable sentence start in ``(lo, hi]`` (after a paragraph break if asked)."""
        for k in range(bisect_right(starts, hi) - 1, -1, -1):
            c = starts[k]
            if c <= lo:
                return None
            if cuttable(c) and (not paragraph or _after_paragraph_break(text, c)):
                return c
        return None

    def last_word(lo: int, hi: int, word_start: bool = True) -> int | None:
        for c in range(hi, lo, -1):
            if cuttable(c) if word_start else not glued(c):
                return c
        return None

    bounds = []
    start = 0
    while n - start > size:
        limit, half = start + size, start + size // 2
        cut = (last_start(half, limit, True) or last_start(half, limit, False) or last_start(start, half, True)
               or last_start(start, half, False) or last_word(half, limit) or last_word(start, half)
               or last_word(start, limit, word_start=False))
        if cut is None:  # (start, limit] is all in one joined word's hyphen and break: after them
            cut = joins[bisect_left(join_starts, limit) - 1][1] + 1
            if cut >= n:
                break
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


#: the line breaks of :meth:`str.splitlines` (``\r\n`` is one), and those that end a paragraph alone
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_PARAGRAPH_BREAK_CHARS = "\x0c\x1c\x1d\x1e\u2029"


def _after_paragraph_break(text: str, c: int) -> bool:
    """Whether the whitespace just before ``text[c]`` holds a blank line, a form feed or a
    paragraph separator (what ends a paragraph in :func:`defnlp.layout.blocks`)."""
    k = c
    while k > 0 and text[k - 1].isspace():
        k -= 1
    gap = text[k:c]
    return any(ch in gap for ch in _PARAGRAPH_BREAK_CHARS) or len(_LINE_BREAK.findall(gap)) > 1


def _in_batches(results: Any, items: Iterable[InputItem], size: int) -> Iterator[DocResult]:
    """``results(chunk)`` over ``items`` taken ``size`` at a time."""
    from itertools import islice

    source = iter(items)
    while chunk := list(islice(source, size)):
        yield from results(chunk)


def _failed(doc_id: Any, exc: BaseException) -> AnnotationError:
    """The error of a document on which the model (or a step of the pipeline) raised ``exc``."""
    log.warning("document %r: annotation failed", doc_id, exc_info=exc)
    reason = f"{type(exc).__name__}: {exc}"[:300]
    return AnnotationError(f"document {safe_text(str(doc_id))!r}: annotation failed ({safe_text(reason)})")


def _check_text(text: str, doc_id: Any) -> None:
    """Refuse a text that no tokenizer or UTF-8 output can hold (lone surrogates)."""
    found = _SURROGATE.search(text)
    if found is not None:
        raise UnpairedSurrogateError(
            f"document {safe_text(str(doc_id))!r}: the text holds a lone surrogate "
            f"(U+{ord(found.group()):04X} at offset {found.start()})"
        )


def _to_doc(item: str | Doc | dict, lang: str | None = None, id: str | None = None) -> Doc:
    if isinstance(item, Doc):
        doc = item.copy(annotations=False)
    elif isinstance(item, str):
        doc = Doc(text=item, id=id, lang=lang)
    elif isinstance(item, dict):
        text = item.get("text")
        if not isinstance(text, str):
            raise InputError('a record must have a "text" string')
        doc_id = item.get("id")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)  # a number's JSON text
        elif doc_id is not None and not isinstance(doc_id, str):
            raise RecordFormatError(f"the record's id is a {type(doc_id).__name__}, not a string",
                                    'give each record a string id (or a number), e.g. {"id": "doc-1", "text": "..."}')
        item_lang = item.get("lang")
        doc = Doc(text=text, id=doc_id, lang=item_lang if isinstance(item_lang, str) and item_lang else lang)
    else:
        raise InputError(f"cannot annotate a {type(item).__name__}; give a str, a Doc or a dict with 'text'")
    if isinstance(doc.text, str):
        _check_text(doc.text, doc.id)
    if doc.lang is not None and doc.lang not in SUPPORTED_LANGUAGES + ("und",):
        log.debug("document %s has language %r: annotating with the multilingual model anyway", doc.id, doc.lang)
    return doc


def load(
    name: str | os.PathLike | None = None,
    *,
    relations: bool | str | os.PathLike = True,
    device: str | None = "auto",
    precision: str = "auto",
    encoder: str | None = None,
    token_budget: int | None = None,
    threads: int | None = None,
    person_names: bool = True,
) -> Pipeline:
    """Load a pipeline: a shipped name (``"defence-v1"``), or a NER model directory.

    ``relations``: ``True`` loads the pipeline's relation model when there is one, ``False``
    skips it, a name/path loads that relation model. ``encoder`` overrides where the base
    encoder comes from (its sha256 must still match the model's card). ``person_names``: carry
    a person's full name to its one-word repetitions in the document
    (:func:`defnlp.ner.names.propagate_person_names`); ``False`` gives the tagger's output as
    decoded.
    """
    name = str(name or DEFAULT_PIPELINE)
    ner_dir, re_dir = resolve_pipeline(name)
    if isinstance(relations, (str, os.PathLike)) and not isinstance(relations, bool):
        re_dir = find_model(relations)
    elif relations is False:
        re_dir = None
    runtime = Runtime.create(device=device, precision=precision, token_budget=token_budget, threads=threads)
    ner = load_ner(str(ner_dir), encoder=encoder)
    rel = None
    if re_dir is not None:
        from .relations.model import load_relations

        rel = load_relations(str(re_dir), ner)
    return Pipeline(ner, rel, runtime, person_names=person_names)


def _available_hint() -> str:
    """The models and pipelines a name can stand for, for a not-found error's hint."""
    from .models import HUB_PREFIX, shipped_models

    names = [p.name for p in shipped_models()]
    pipelines = sorted({n[: -len("-ner")] for n in names if n.endswith("-ner")})
    return (f"available pipelines: {', '.join(pipelines) or 'none'}; models: {', '.join(names) or 'none'}; "
            f"or give the path of a model directory, or {HUB_PREFIX}owner/name (see docs/models.md)")


def resolve_pipeline(name: str) -> tuple[Path, Path | None]:
    """The model folders a pipeline name stands for: ``(ner_dir, relations_dir or None)``.

    ``name`` is a pipeline (``"defence-v1"`` → ``defence-v1-ner`` + ``defence-v1-re``), a NER
    model, or a relation model (which names the NER model it runs on).

    >>> ner_dir, re_dir = resolve_pipeline("defence-v1")   # doctest: +SKIP
    """
    try:
        path = find_model(name)
    except ModelNotFoundError:
        path = None
    if path is not None:
        spec, _ = read_model_dir(path)
        if spec.task == "ner":
            return path, None
        dep = spec.depends_on.get("name")
        if not dep:
            raise ModelError(f"relation model {path} does not name the NER model it runs on")
        ner_path = path.parent / dep if (path.parent / dep).is_dir() else find_model(dep)
        return ner_path, path
    try:
        ner_path = find_model(f"{name}-ner")
    except ModelNotFoundError as err:  # name what the user typed, not the "-ner" name tried for a pipeline
        raise ModelNotFoundError(f"no defnlp model or pipeline named {str(name)!r}", _available_hint()) from err
    re_path = None
    try:
        re_path = find_model(f"{name}-re")
    except ModelNotFoundError:
        pass
    return ner_path, re_path
