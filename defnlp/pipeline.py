"""``defnlp.load()`` and the :class:`Pipeline`: text in, annotated :class:`~defnlp.doc.Doc` out.

>>> import defnlp
>>> nlp = defnlp.load()                                  # doctest: +SKIP
>>> doc = nlp("La DGA a commandé 42 Griffon à KNDS.")    # doctest: +SKIP
>>> for doc in nlp.pipe(["...", "..."]): ...             # doctest: +SKIP

The pipeline prepares each document (sentences, language: :func:`~defnlp.doc.prepare_doc`),
runs the encoder once per window (:class:`~defnlp.inference.Engine`), decodes the NER head's
outputs into entities (:mod:`defnlp.ner.decoding`) and, when a relation model is loaded, runs
the relation head on the same hidden states (:mod:`defnlp.relations.model`).
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, overload

from .doc import Doc, DocResult, prepare_doc
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
from .models import DEFAULT_PIPELINE, find_model, read_model_dir
from .ner.decoding import decode_entities
from .ner.model import LoadedNer, load_ner
from .text import SUPPORTED_LANGUAGES

if TYPE_CHECKING:
    from .relations.model import LoadedRelations

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")

__all__ = ["Pipeline", "load", "resolve_pipeline"]

#: what :meth:`Pipeline.pipe` annotates: a text, a Doc, a ``{"id", "text", "lang"}`` dict, or
#: the error of an input that could not be read (given back in its place)
InputItem = str | Doc | dict | DefnlpError


class Pipeline:
    """NER (+ relations) over documents, batched. Build it with :func:`load`."""

    def __init__(self, ner: LoadedNer, relations: LoadedRelations | None = None, runtime: Runtime | None = None) -> None:
        self.ner = ner
        self.relations = relations
        self.runtime = runtime or Runtime.create()
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
            "ner": {"name": self.ner.spec.name, "path": self.ner.path, "labels": self.entity_labels},
            "encoder": self.ner.encoder.info.to_dict(),
            "device": str(self.runtime.device),
            "precision": self.runtime.precision,
        }
        if self.relations is not None:
            out["relations"] = {"name": self.relations.spec.name, "path": self.relations.path, "labels": self.relation_labels}
        return out

    # ---- internals ------------------------------------------------------------------------------
    def _results(self, items: Iterable[InputItem]) -> Iterator[DocResult]:
        # per input, in order: None while its document is in the engine, or the error that kept it out
        waiting: deque[DefnlpError | None] = deque()
        pulled: deque[Doc] = deque()  # documents handed to the engine whose result has not come back
        source = iter(items)
        source_failed = False  # an exception from the caller's iterable is the caller's: re-raised

        def docs() -> Iterator[Doc]:
            nonlocal source_failed
            while True:
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
                except DefnlpError as err:
                    waiting.append(err)
                    continue
                except Exception as exc:  # noqa: BLE001 - one document must not stop the stream
                    waiting.append(_failed(getattr(item, "id", None), exc))
                    continue
                waiting.append(None)
                pulled.append(doc)
                yield doc

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
                for doc in failed:
                    while waiting[0] is not None:
                        yield waiting.popleft()
                    waiting.popleft()
                    yield self._annotate_alone(doc, hidden)
                stream = self.engine.run(docs(), hidden=hidden)
                continue
            while waiting[0] is not None:
                yield waiting.popleft()
            waiting.popleft()
            pulled.popleft()
            result = encoded if isinstance(encoded, DefnlpError) else self._annotate(encoded)
            del encoded  # no reference to the token outputs and hidden states while the caller works
            yield result
        yield from waiting  # errors after the last document

    def _annotate_alone(self, doc: Doc, hidden: bool) -> DocResult:
        try:
            (encoded,) = list(self.engine.run([doc], hidden=hidden))
        except Exception as exc:  # noqa: BLE001
            return _failed(doc.id, exc)
        return encoded if isinstance(encoded, DefnlpError) else self._annotate(encoded)

    def _annotate(self, encoded: DocEncoding) -> DocResult:
        doc = encoded.doc
        try:
            doc.entities = decode_entities(self.ner.tagset, doc.text, encoded.token_spans, encoded.outputs["ner"])
            doc.relations = []
            if self.relations is not None and len(doc.entities) > 1 and encoded.hidden is not None:
                doc.relations = self.relations.predict(doc, encoded.hidden, encoded.token_spans)
        except DefnlpError as err:
            return err
        except Exception as exc:  # noqa: BLE001 - one document must not stop the stream
            return _failed(doc.id, exc)
        return doc


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
) -> Pipeline:
    """Load a pipeline: a shipped name (``"defence-v1"``), or a NER model directory.

    ``relations``: ``True`` loads the pipeline's relation model when there is one, ``False``
    skips it, a name/path loads that relation model. ``encoder`` overrides where the base
    encoder comes from (its sha256 must still match the model's card).
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
    return Pipeline(ner, rel, runtime)


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
    ner_path = find_model(f"{name}-ner")
    re_path = None
    try:
        re_path = find_model(f"{name}-re")
    except ModelNotFoundError:
        pass
    return ner_path, re_path
