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
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, overload

from .doc import Doc, DocResult, prepare_doc
from .errors import DefnlpError, InputError, ModelError, ModelNotFoundError
from .inference import DocEncoding, Engine, Runtime, TokenHead
from .models import DEFAULT_PIPELINE, find_model, read_model_dir
from .ner.decoding import decode_entities
from .ner.model import LoadedNer, load_ner
from .text import SUPPORTED_LANGUAGES

if TYPE_CHECKING:
    from .relations.model import LoadedRelations

log = logging.getLogger(__name__)

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
    def pipe(self, items: Iterable[InputItem], errors: Literal["raise"] = "raise") -> Iterator[Doc]: ...

    @overload
    def pipe(self, items: Iterable[InputItem], errors: Literal["return"]) -> Iterator[DocResult]: ...

    def pipe(self, items: Iterable[InputItem], errors: Literal["raise", "return"] = "raise") -> Iterator[DocResult]:
        """Annotate many documents, batched across documents: one result per item, in input order.

        With ``errors="return"`` an item that cannot be annotated yields its
        :class:`DefnlpError` in its place instead of stopping the stream; an item that already
        is a :class:`DefnlpError` (an input that could not be read) is given back as it is.

        >>> list(nlp.pipe(["La DGA a commandé 42 Griffon.", {"no": "text"}], errors="return"))  # doctest: +SKIP
        [Doc(id=None, lang='fr', text='La DGA a commandé 42 Griffon.', entities=3, relations=2), InputError('a record must have a "text" string')]
        """
        for result in self._results(items):
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

        def docs() -> Iterator[Doc]:
            for item in items:
                if isinstance(item, DefnlpError):  # an input that could not be read: given back in its place
                    waiting.append(item)
                    continue
                try:
                    doc = _to_doc(item)
                except DefnlpError as err:
                    waiting.append(err)
                    continue
                waiting.append(None)
                yield prepare_doc(doc)

        for encoded in self.engine.run(docs(), hidden=self.relations is not None):
            while waiting[0] is not None:
                yield waiting.popleft()
            waiting.popleft()
            result = encoded if isinstance(encoded, DefnlpError) else self._annotate(encoded)
            del encoded  # no reference to the token outputs and hidden states while the caller works
            yield result
        yield from waiting  # errors after the last document

    def _annotate(self, encoded: DocEncoding) -> DocResult:
        doc = encoded.doc
        try:
            doc.entities = decode_entities(self.ner.tagset, doc.text, encoded.token_spans, encoded.outputs["ner"])
            doc.relations = []
            if self.relations is not None and len(doc.entities) > 1 and encoded.hidden is not None:
                doc.relations = self.relations.predict(doc, encoded.hidden, encoded.token_spans)
        except DefnlpError as err:
            return err
        return doc


def _to_doc(item: str | Doc | dict, lang: str | None = None, id: str | None = None) -> Doc:
    if isinstance(item, Doc):
        doc = item.copy(annotations=False)
    elif isinstance(item, str):
        doc = Doc(text=item, id=id, lang=lang)
    elif isinstance(item, dict):
        text = item.get("text")
        if not isinstance(text, str):
            raise InputError('a record must have a "text" string')
        doc = Doc(text=text, id=None if item.get("id") is None else str(item["id"]), lang=item.get("lang") or lang)
    else:
        raise InputError(f"cannot annotate a {type(item).__name__}; give a str, a Doc or a dict with 'text'")
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
