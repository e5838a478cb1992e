"""Batch annotation of files and folders: the engine behind ``defnlp annotate``.

>>> from defnlp.batch import annotate_files
>>> summary = annotate_files(["examples/"], "out.jsonl")   # doctest: +SKIP
>>> summary["records"], summary["errors"]                   # doctest: +SKIP
(4, 0)

Every input record yields exactly one output record — the annotated document or an error
record — in input order; an interrupted run resumes where it stopped (see
:mod:`defnlp.io.outputs`).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .doc import Doc, DocResult
from .errors import DefnlpError
from .io.inputs import InputRecord, iter_inputs
from .io.outputs import error_record, open_writer

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)

__all__ = ["annotate_files", "annotate_records"]


def annotate_records(nlp: Pipeline, records: Iterable[InputRecord]) -> Iterator[tuple[InputRecord, DocResult]]:
    """Each input record with its result, in input order: the annotated :class:`Doc`, or the
    :class:`DefnlpError` that kept the record from being read or annotated.

    >>> from defnlp.errors import EmptyInputError
    >>> from defnlp.io.inputs import InputRecord
    >>> recs = [InputRecord("a", "La DGA a commandé 42 Griffon."), InputRecord("b", error=EmptyInputError("b is empty"))]
    >>> [type(r).__name__ for _, r in annotate_records(nlp, recs)]   # doctest: +SKIP
    ['Doc', 'EmptyInputError']
    """
    waiting: deque[InputRecord] = deque()  # records whose result is still in the pipeline

    def items() -> Iterator[DocResult]:
        for rec in records:
            waiting.append(rec)
            yield rec.error if rec.error is not None else Doc(text=rec.text, id=rec.id, lang=rec.lang, meta=dict(rec.meta))

    for result in nlp.pipe(items(), errors="return"):
        yield waiting.popleft(), result


def annotate_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    model: str | None = None,
    fmt: str = "jsonl",
    encoding: str | None = None,
    overwrite: bool = False,
    nlp: Pipeline | None = None,
    progress: bool = True,
    text_column: str = "text",
    id_column: str | None = None,
    **load_options: Any,
) -> dict[str, Any]:
    """Annotate every document of ``inputs`` into ``output``; return a summary.

    ``text_column``/``id_column`` name the text and id fields of JSONL, Parquet and CSV inputs.
    """
    from tqdm.auto import tqdm

    from .pipeline import load

    job = {"inputs": [os.path.abspath(p) for p in inputs], "model": model or "default", "format": fmt,
           "columns": {"text": text_column, "id": id_column}}
    started = time.perf_counter()
    with open_writer(output, fmt, job=job, overwrite=overwrite) as writer:
        skip = writer.done
        nlp = nlp or load(model, **load_options)
        records = islice(iter_inputs(inputs, encoding=encoding, text_column=text_column, id_column=id_column), skip, None)
        n_records = n_errors = n_entities = n_relations = 0
        bar = tqdm(desc="annotating", unit="doc", initial=skip, disable=not progress or None)
        for rec, result in annotate_records(nlp, records):
            if isinstance(result, DefnlpError):
                writer.write(error_record(rec.id, result, rec.source))
                n_errors += 1
                log.warning("record %s: %s", rec.id, result.message)
            else:
                writer.write(result)
                n_entities += len(result.entities)
                n_relations += len(result.relations)
            n_records += 1
            bar.update(1)
        bar.close()
    elapsed = time.perf_counter() - started
    summary = {"output": str(output), "records": n_records + skip, "resumed_from": skip, "errors": n_errors,
               "entities": n_entities, "relations": n_relations, "seconds": round(elapsed, 2)}
    log.info("annotated %(records)d records (%(errors)d errors) into %(output)s", summary)
    return summary
