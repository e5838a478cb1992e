"""``defnlp.load()`` and the :class:`Pipeline`: text in, annotated :class:`~defnlp.doc.Doc` out.

>>> import defnlp
>>> nlp = defnlp.load()                                  # doctest: +SKIP
>>> doc = nlp("La DGA a commandé 42 Griffon à KNDS.")    # doctest: +SKIP
>>> for doc in nlp.pipe(["...", "..."]): ...             # doctest: +SKIP

The pipeline runs the encoder once per window; the NER head and (when a relation model is
loaded) the relation head read the same hidden states.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from .doc import Doc, Entity
from .errors import DefnlpError, InputError, ModelError, ModelNotFoundError
from .inference import DocState, Engine, Runtime, TokenHead
from .models import DEFAULT_PIPELINE, find_model, read_model_dir
from .ner.model import LoadedNer, decode_entities, load_ner
from .text import SUPPORTED_LANGUAGES

log = logging.getLogger(__name__)

__all__ = ["Pipeline", "load"]

InputItem = str | Doc | dict


class Pipeline:
    """NER (+ relations) over documents, batched. Build it with :func:`load`."""

    def __init__(self, ner: LoadedNer, relations: Any | None = None, runtime: Runtime | None = None) -> None:
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
            finish=self._finish,
            runtime=self.runtime,
            max_tokens=ner.spec.max_tokens,
            overlap=ner.spec.overlap,
            keep_hidden=relations is not None,
        )

    # ---- public API ---------------------------------------------------------------------------
    @property
    def entity_labels(self) -> list[str]:
        return list(self.ner.spec.labels)

    @property
    def relation_labels(self) -> list[str]:
        return list(self.relations.spec.labels) if self.relations is not None else []

    def __call__(self, text: InputItem, lang: str | None = None, id: str | None = None) -> Doc:
        """Annotate one text (or Doc / ``{"id", "text"}`` dict) and return the Doc."""
        doc = _to_doc(text, lang=lang, id=id)
        return next(iter(self.pipe([doc])))  # type: ignore[return-value]

    def pipe(self, items: Iterable[InputItem], errors: Literal["raise", "return"] = "raise") -> Iterator[Doc | DefnlpError]:
        """Annotate many documents, batched across documents; results come in input order.

        With ``errors="return"`` a document that cannot be processed yields its
        :class:`DefnlpError` instead of stopping the stream.
        """
        docs = (_to_doc(item) if errors == "raise" else _to_doc_or_error(item) for item in items)
        pending_errors: dict[int, DefnlpError] = {}

        def valid_docs() -> Iterator[Doc]:
            for i, d in enumerate(docs):
                if isinstance(d, DefnlpError):
                    pending_errors[i] = d
                    yield Doc(text="", id=None, lang="und", meta={"_error_placeholder": True})
                else:
                    yield d

        for index, result in self.engine.run(valid_docs()):
            if index in pending_errors:
                result = pending_errors.pop(index)
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
    def _finish(self, state: DocState) -> Doc:
        doc = state.doc
        doc.entities = [
            Entity(start, end, label, doc.text[start:end], score)
            for start, end, label, score in decode_entities(self.ner.tagset, state.units, state.outputs["ner"])
        ]
        doc.relations = []
        if self.relations is not None and len(doc.entities) > 1:
            doc.relations = self.relations.predict(doc, state)
        return doc


def _to_doc(item: InputItem, lang: str | None = None, id: str | None = None) -> Doc:
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


def _to_doc_or_error(item: InputItem) -> Doc | DefnlpError:
    try:
        return _to_doc(item)
    except DefnlpError as err:
        return err


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
    ner_dir, re_dir = _resolve_pipeline(name)
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


def _resolve_pipeline(name: str) -> tuple[Path, Path | None]:
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
