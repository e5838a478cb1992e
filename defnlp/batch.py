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
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence

from .doc import Doc
from .errors import DefnlpError
from .io.inputs import InputRecord, iter_inputs
from .io.outputs import error_record, open_writer

log = logging.getLogger(__name__)

__all__ = ["annotate_files", "annotate_records"]


def annotate_records(nlp, records: Iterable[InputRecord]) -> Iterator[tuple[InputRecord, Doc | DefnlpError]]:
    """Annotate input records with pipeline ``nlp``; errors come back per record."""
    buffered: list[InputRecord] = []

    def docs() -> Iterator[Doc | dict]:
        for rec in records:
            buffered.append(rec)
            if rec.ok:
                yield Doc(text=rec.text, id=rec.id, lang=rec.lang, meta=dict(rec.meta))
            else:
                yield {"__error__": True}  # placeholder: pipe() turns it into an error in order

    position = 0
    for result in nlp.pipe(docs(), errors="return"):
        rec = buffered[position]
        buffered[position] = None  # type: ignore[call-overload]
        position += 1
        yield rec, (rec.error if rec.error is not None else result)
        if position > 4096:
            del buffered[:position]
            position = 0


def annotate_files(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    model: str | None = None,
    fmt: str = "jsonl",
    encoding: str | None = None,
    overwrite: bool = False,
    nlp: Any = None,
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

    job = {"inputs": [os.path.abspath(p) for p in inputs], "model": model or "default", "format": fmt}
    if text_column != "text" or id_column is not None:  # only then, so that older partial files still resume
        job["columns"] = {"text": text_column, "id": id_column}
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
