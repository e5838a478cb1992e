"""Annotating Hugging Face ``datasets``: a text column in, entity and relation columns out.

:func:`annotate_dataset` runs the pipeline over a ``datasets.Dataset`` (or a streaming
``IterableDataset``, or each split of a ``DatasetDict``) with ``Dataset.map(batched=True)`` and
returns it with every column it had and five more, as the records of ``defnlp annotate``:

============= =========================================================================
``entities``  list of ``{start, end, label, text, score}`` (character offsets into the text)
``relations`` list of ``{head, tail, label, score}`` (head/tail index ``entities``)
``sentences`` list of ``{start, end}``: the sentences the pipeline found
``lang``      the document language (given in a ``lang`` column, or detected)
``error``     ``{type, message, hint}`` when the row could not be annotated, else null
============= =========================================================================

Every input row gives one output row, in order, as ``defnlp annotate`` gives one record per
input record. A row that cannot be annotated gets an ``error`` and empty lists: it is never
dropped, and the other rows go on — a text that is null, not a string, blank, absent from the
row (a stream whose rows lack the field) or holding a lone surrogate; a ``lang`` holding one.
The annotation columns are always valid UTF-8 (ids and messages written with ``\\udXXX``
escapes where a stream carried lone surrogates); the original columns are kept as they are. The pipeline is loaded once per process, never
pickled: with ``num_proc=N`` give ``model=`` (a name or path) and each worker process loads
its own copy.

>>> import datasets, defnlp
>>> ds = datasets.Dataset.from_dict({"id": ["a", "b"], "text": ["La DGA commande 42 Griffon.", None]})
>>> out = defnlp.annotate_dataset(ds, model="defence-v1")     # doctest: +SKIP
>>> out.column_names                                           # doctest: +SKIP
['id', 'text', 'entities', 'relations', 'sentences', 'lang', 'error']
>>> out[1]["error"]["type"]                                    # doctest: +SKIP
'RecordFormatError'

The same column logic (:class:`ColumnAnnotator`) serves the Ray Data integration in
:mod:`defnlp.cluster`, so that both give the same annotations.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .doc import Doc, DocResult
from .errors import AnnotationError, EmptyInputError, InputError, RecordedError, RecordFormatError
from .io.outputs import safe_text

log = logging.getLogger(__name__)

__all__ = ["annotate_dataset", "ColumnAnnotator", "annotation_features", "ANNOTATION_COLUMNS"]

#: the columns that annotation adds (after an optional prefix)
ANNOTATION_COLUMNS = ("entities", "relations", "sentences", "lang", "error")

#: rows per ``map`` batch: large enough for the engine to fill its length-sorted batches
DEFAULT_BATCH_SIZE = 256


def annotation_features(prefix: str = "") -> Any:
    """The ``datasets.Features`` of the annotation columns (names prefixed with ``prefix``).

    >>> list(annotation_features("pred_"))
    ['pred_entities', 'pred_relations', 'pred_sentences', 'pred_lang', 'pred_error']
    """
    import datasets as hf_datasets

    from .io.hf import doc_features

    docs = doc_features()
    value = hf_datasets.Value
    error = {"type": value("string"), "message": value("string"), "hint": value("string")}
    return hf_datasets.Features(
        {
            f"{prefix}entities": docs["entities"],
            f"{prefix}relations": docs["relations"],
            f"{prefix}sentences": docs["sentences"],
            f"{prefix}lang": value("string"),
            f"{prefix}error": error,
        }
    )


class ColumnAnnotator:
    """Annotates a batch of columns (``{column: [values]}``) and returns the annotation columns.

    The pipeline is either given (``nlp``) or loaded on first use from ``model`` with
    ``load_options`` — once per process: pickling the annotator (to send it to a worker)
    drops the loaded pipeline, and the worker loads its own.

    >>> annotate = ColumnAnnotator(model="defence-v1", load_options={"device": "cpu"})   # doctest: +SKIP
    >>> cols = annotate({"text": ["La DGA commande 42 Griffon.", ""]})                  # doctest: +SKIP
    >>> cols["error"][1]["type"]                                                          # doctest: +SKIP
    'EmptyInputError'

    A row without a text string that already carries an ``error`` value (e.g. a file that could
    not be decoded when it was read) keeps that error. A batch without the text column (a stream
    whose rows lack the field) gives each row a :class:`~defnlp.errors.RecordFormatError`.
    """

    def __init__(
        self,
        nlp: Any = None,
        model: str | os.PathLike | None = None,
        text_column: str = "text",
        id_column: str | None = None,
        lang_column: str | None = "lang",
        prefix: str = "",
        load_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._nlp = nlp
        self.model = None if model is None else str(model)
        self.text_column = text_column
        self.id_column = id_column
        self.lang_column = lang_column
        self.prefix = prefix
        self.load_options = dict(load_options or {})

    # ---- the pipeline, once per process -----------------------------------------------------
    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            from .pipeline import load

            log.info("loading pipeline %s (pid %d)", self.model or "default", os.getpid())
            self._nlp = load(self.model, **self.load_options)
        return self._nlp

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.model is None and state["_nlp"] is not None:
            raise InputError(
                "a pipeline object cannot be sent to worker processes",
                "pass model= (a pipeline name or model directory) so that each worker loads its own pipeline",
            )
        state["_nlp"] = None
        return state

    def identity(self) -> dict[str, Any]:
        """What determines the output (model weights, precision, columns): used for caching."""
        nlp = self.nlp
        ner = getattr(nlp, "ner", None)
        rel = getattr(nlp, "relations", None)
        runtime = getattr(nlp, "runtime", None)
        return {
            "ner": getattr(ner, "weights_sha256", None) or getattr(ner, "path", None),
            "relations": None if rel is None else (getattr(rel, "weights_sha256", None) or getattr(rel, "path", None)),
            "precision": getattr(runtime, "precision", None),
            "device": None if runtime is None else str(getattr(runtime, "device", "")),
            "columns": [self.text_column, self.id_column, self.lang_column, self.prefix],
        }

    # ---- one batch --------------------------------------------------------------------------
    def __call__(self, batch: Mapping[str, Sequence[Any]], indices: Sequence[int] | None = None) -> dict[str, list[Any]]:
        """Annotate ``batch`` (a mapping of equal-length columns); return the annotation columns.

        ``indices`` (the rows' positions in the dataset) only serve error messages.
        """
        n = len(next(iter(batch.values()))) if batch else 0
        if self.text_column in batch:
            texts = list(batch[self.text_column])
        else:  # a stream's rows without the field: one error each, as a Parquet file without the column
            log.warning("no column %r in a batch of %d rows (columns: %s): each row gets an error",
                        self.text_column, n, ", ".join(map(str, batch)))
            texts = [_ABSENT] * n
        ids = _column(batch, self.id_column or "id", n)
        langs = _column(batch, self.lang_column, n)
        upstream = _column(batch, f"{self.prefix}error", n)
        items: list[DocResult] = []
        for i, text in enumerate(texts):
            rec_id = _display_id(ids[i])
            row = f"row {indices[i]}" if indices is not None else "a row"
            name = f"{row} (id {rec_id})" if rec_id is not None else row
            lang = langs[i]
            if text is _ABSENT:
                items.append(RecordFormatError(f"{name}: the row has no {self.text_column!r} field",
                                               "give every row a text, or name its field with text_column=..."))
            elif not isinstance(text, str):
                recorded = _recorded_error(upstream[i])
                items.append(recorded if recorded is not None else RecordFormatError(
                    f"{name}: the {self.text_column!r} value is {'null' if text is None else type(text).__name__}, not a string",
                    "fill the text column, or drop such rows first (e.g. ds.filter)",
                ))
            elif not text.strip():
                items.append(EmptyInputError(f"{name}: the text is empty"))
            elif isinstance(lang, str) and safe_text(lang) != lang:
                items.append(RecordFormatError(
                    f"{name}: the {self.lang_column!r} field holds a lone surrogate (U+D800..U+DFFF), which is not Unicode text",
                    "fix the program that wrote the data: a \\udXXX escape must be one half of a surrogate pair"))
            else:
                items.append(Doc(text=text, id=rec_id, lang=lang if isinstance(lang, str) and lang else None))
        if any(isinstance(item, Doc) for item in items):  # (a batch of errors only loads no pipeline)
            items = list(self.nlp.pipe(items, errors="return"))
            if len(items) != n:  # zip would drop rows silently, datasets would fail far from here
                raise AnnotationError(f"the pipeline returned {len(items)} results for {n} rows",
                                      "a pipeline's pipe(items, errors='return') must yield one result per item")
        return self._columns(items, langs)

    def _columns(self, results: list[DocResult], langs: list[Any]) -> dict[str, list[Any]]:
        p = self.prefix
        out: dict[str, list[Any]] = {f"{p}{name}": [] for name in ANNOTATION_COLUMNS}
        failed = 0
        for result, lang in zip(results, langs):
            if isinstance(result, Doc):
                out[f"{p}entities"].append([e.to_dict() for e in result.entities])
                out[f"{p}relations"].append([r.to_dict() for r in result.relations])
                out[f"{p}sentences"].append([sent.to_dict() for sent in result.sentences])
                out[f"{p}lang"].append(result.lang)
                out[f"{p}error"].append(None)
                continue
            error = _safe_error(result.to_dict())
            log.debug("row not annotated: %s", error.get("message"))
            failed += 1
            out[f"{p}entities"].append([])
            out[f"{p}relations"].append([])
            out[f"{p}sentences"].append([])
            out[f"{p}lang"].append(lang if isinstance(lang, str) and lang and safe_text(lang) == lang else None)
            out[f"{p}error"].append(error)
        if failed:
            log.warning("%d of %d rows not annotated (see the %serror column)", failed, len(results), p)
        return out


#: the value of a text that a row does not have (a batch without the text column)
_ABSENT = object()


def _column(batch: Mapping[str, Sequence[Any]], name: str | None, n: int) -> list[Any]:
    if name is None or name not in batch:
        return [None] * n
    return list(batch[name])


def _display_id(value: Any) -> str | None:
    r"""A row's id for messages and ``Doc.id``, as ``defnlp annotate`` reads ids: a string (lone
    surrogates escaped), an integer's digits (``7.0`` too); None for anything else, so that a
    message names the row by its index instead of a Python repr.

    >>> _display_id("a\udc80"), _display_id(915), _display_id(7.0), _display_id({"nested": 915}), _display_id(True)
    ('a\\udc80', '915', '7', None, None)
    """
    if isinstance(value, str):
        return safe_text(value) or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def _recorded_error(value: Any) -> RecordedError | None:
    """The error recorded upstream in a row's ``error`` column, when it is one (a ``type`` string)."""
    if isinstance(value, Mapping) and isinstance(value.get("type"), str) and value["type"]:
        return RecordedError(_safe_error(value))
    return None


def _safe_error(error: Mapping[str, Any]) -> dict[str, str | None]:
    r"""``{type, message, hint}`` as strings (or None) in valid UTF-8: what the ``error`` column holds.

    >>> _safe_error({"type": "X", "message": ["a"], "hint": "b\ud800", "extra": 1})
    {'type': 'X', 'message': '["a"]', 'hint': 'b\\ud800'}
    """
    out: dict[str, str | None] = {}
    for key in ("type", "message", "hint"):
        value = error.get(key)
        if value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        out[key] = None if value is None else safe_text(value)
    return out


def annotate_dataset(
    ds: Any,
    nlp: Any = None,
    model: str | os.PathLike | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    lang_column: str | None = "lang",
    prefix: str = "",
    num_proc: int | None = None,
    load_from_cache_file: bool | None = None,
    desc: str = "annotating",
    **load_options: Any,
) -> Any:
    """Annotate a ``datasets.Dataset`` / ``IterableDataset`` / ``DatasetDict``; return the same kind.

    The result has the original columns plus ``entities``, ``relations``, ``sentences``, ``lang``
    and ``error`` (see the module docstring; ``prefix="pred_"`` names them ``pred_entities``... so
    that gold columns of the same name are kept). ``nlp`` is a loaded pipeline; otherwise
    ``model`` (name or directory) is loaded with ``load_options`` (``device``, ``precision``,
    ``relations``, ``threads``...). ``id_column`` names the ids used in error messages;
    ``lang_column`` (default ``lang``, when present) gives each row's language.

    * ``Dataset``: runs ``Dataset.map(batched=True)`` with a progress bar; results are written
      to the dataset's cache (memory-mapped) when it has one, so memory stays bounded, and a
      second call with the same data and model reuses them (``load_from_cache_file=False``
      to recompute).
    * ``IterableDataset`` (streaming): returns a lazily annotated ``IterableDataset``;
      nothing is annotated until it is iterated, and memory holds one batch at a time.
    * ``num_proc=N`` (``Dataset`` only): N worker processes, each loading its own pipeline from
      ``model`` (``nlp=`` cannot be shared); on CPU give each ``threads=cores // N``.

    >>> import datasets, defnlp
    >>> ds = datasets.Dataset.from_dict({"text": ["La DGA commande 42 Griffon.", "Nexter delivered 12 Caesar."]})
    >>> out = defnlp.annotate_dataset(ds, model="defence-v1", device="cpu")   # doctest: +SKIP
    >>> [e["label"] for e in out[0]["entities"]]                              # doctest: +SKIP
    ['ORG', 'QUANTITY', 'PLATFORM']
    """
    import datasets as hf_datasets

    if isinstance(ds, (hf_datasets.DatasetDict, hf_datasets.IterableDatasetDict)):
        annotator_nlp = nlp if nlp is not None or (num_proc or 1) > 1 else _load(model, load_options)
        return type(ds)(
            {
                split: annotate_dataset(
                    part, nlp=annotator_nlp, model=model, text_column=text_column, id_column=id_column,
                    batch_size=batch_size, lang_column=lang_column, prefix=prefix, num_proc=num_proc,
                    load_from_cache_file=load_from_cache_file, desc=f"{desc} {split}", **load_options,
                )
                for split, part in ds.items()
            }
        )
    if not isinstance(ds, (hf_datasets.Dataset, hf_datasets.IterableDataset)):
        raise InputError(
            f"annotate_dataset() needs a datasets.Dataset, IterableDataset or DatasetDict, not {type(ds).__name__}",
            "build one with datasets.Dataset.from_dict / from_list / load_dataset, or use defnlp annotate for files",
        )
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, not {batch_size}")
    columns = ds.column_names
    if columns is not None and text_column not in columns:
        raise InputError(
            f"the dataset has no column {text_column!r} (columns: {', '.join(columns)})",
            "name the column that holds the text with text_column=...",
        )
    if id_column is not None and columns is not None and id_column not in columns:
        raise InputError(f"the dataset has no id column {id_column!r} (columns: {', '.join(columns)})")
    parallel = (num_proc or 1) > 1
    if parallel and nlp is not None and model is None:
        raise InputError(
            "num_proc > 1 needs model= (a name or directory) so that each process loads its own pipeline",
            "pass model=... instead of nlp=..., or leave num_proc at 1",
        )
    annotator = ColumnAnnotator(
        nlp=None if parallel else nlp, model=model, text_column=text_column, id_column=id_column,
        lang_column=lang_column, prefix=prefix, load_options=load_options,
    )
    new_features = annotation_features(prefix)
    overwritten = [c for c in new_features if columns is not None and c in columns and c != f"{prefix}lang"]
    if overwritten:
        log.warning("annotation replaces the existing column(s) %s (use prefix= to keep them)", ", ".join(overwritten))
    features = None
    if ds.features is not None:
        features = ds.features.copy()
        features.update(new_features)

    if isinstance(ds, hf_datasets.IterableDataset):
        if parallel:
            raise InputError(
                "num_proc is not available for a streaming IterableDataset",
                "leave num_proc unset, split the stream into shards, or use defnlp.cluster.annotate_ray",
            )
        if not parallel:
            annotator.nlp  # noqa: B018 - load now, not at the first batch
        return ds.map(annotator, with_indices=True, batched=True, batch_size=batch_size, features=features)

    if not parallel:
        identity = annotator.identity()
        if identity["ner"] is None:  # not a defnlp Pipeline: no way to know its weights, never reuse a cache
            identity["object"] = f"{id(annotator.nlp)}-{os.urandom(8).hex()}"
    else:  # identify the model without loading it in the main process
        identity = {"model": annotator.model, "options": sorted((k, repr(v)) for k, v in load_options.items()),
                    "columns": [text_column, id_column, lang_column, prefix]}
    fingerprint = hashlib.sha256(
        json.dumps([ds._fingerprint, identity, batch_size, "defnlp-annotate-2"], sort_keys=True, default=str).encode()
    ).hexdigest()[:32]
    return ds.map(
        annotator,
        with_indices=True,
        batched=True,
        batch_size=batch_size,
        features=features,
        num_proc=num_proc,
        new_fingerprint=fingerprint,  # never hash the pipeline object itself
        load_from_cache_file=load_from_cache_file,
        desc=desc,
    )


def _load(model: str | os.PathLike | None, options: Mapping[str, Any]) -> Any:
    from .pipeline import load

    return load(None if model is None else str(model), **options)
