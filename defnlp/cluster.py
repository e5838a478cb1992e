"""Batch annotation on a cluster with Ray Data: one pipeline per actor, GPUs when present.

:func:`annotate_ray` adds the annotation columns (``entities``, ``relations``, ``lang``,
``error``: the same as :func:`defnlp.annotate_dataset`, from the same code) to a Ray Dataset
with ``map_batches`` over an actor pool. Each :class:`AnnotatorActor` loads the pipeline once
and then annotates batch after batch; with ``num_gpus=1`` each actor holds one GPU (fractions
such as ``0.5`` put two actors on one GPU).

>>> import ray, defnlp.cluster as dc
>>> ray.init()                                                        # doctest: +SKIP
>>> ds = dc.read_documents("s3://bucket/reports/", fmt="parquet")    # doctest: +SKIP
>>> out = dc.annotate_ray(ds, model="defence-v1", concurrency=4, num_gpus=1)   # doctest: +SKIP
>>> dc.write_annotations(out, "s3://bucket/annotated/")              # doctest: +SKIP

The model (a shipped name or a directory) must be readable on every node: install defnlp
with its models on each node, or put the model directory on shared storage.
Ray Data does not keep the input order unless
``ray.data.DataContext.get_current().execution_options.preserve_order = True``; every output
row keeps its input columns (its id), so rows can always be matched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from .datasets import DEFAULT_BATCH_SIZE, ColumnAnnotator, annotation_features
from .errors import InputError, MissingDependencyError
from .io.inputs import JSONL_SUFFIXES, PARQUET_SUFFIXES, TEXT_SUFFIXES

log = logging.getLogger(__name__)

__all__ = ["AnnotatorActor", "annotate_ray", "read_documents", "write_annotations"]

DocumentFormat = Literal["jsonl", "parquet", "text"]


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise MissingDependencyError("ray[data]", "annotating on a Ray cluster", extra="ray") from err
    return ray


class AnnotatorActor:
    """A Ray Data actor: loads one pipeline in ``__init__``, annotates ``pyarrow`` batches.

    Used through :func:`annotate_ray`; it can also be called directly on a ``pyarrow.Table``.

    >>> import pyarrow as pa
    >>> actor = AnnotatorActor(model="defence-v1", device="cpu")                 # doctest: +SKIP
    >>> actor(pa.table({"text": ["La DGA commande 42 Griffon."]})).column_names  # doctest: +SKIP
    ['text', 'entities', 'relations', 'lang', 'error']
    """

    def __init__(
        self,
        model: str | None = None,
        text_column: str = "text",
        id_column: str | None = None,
        lang_column: str | None = "lang",
        prefix: str = "",
        device: str | None = None,
        load_options: Mapping[str, Any] | None = None,
    ) -> None:
        import torch

        options = dict(load_options or {})
        options["device"] = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.annotator = ColumnAnnotator(
            model=model, text_column=text_column, id_column=id_column, lang_column=lang_column,
            prefix=prefix, load_options=options,
        )
        self.annotator.nlp  # noqa: B018 - load the pipeline once, when the actor starts
        self.schema = annotation_features(prefix).arrow_schema
        log.info("annotator actor ready on %s (pid %d)", options["device"], os.getpid())

    def __call__(self, batch: Any) -> Any:
        """Annotate a ``pyarrow.Table`` batch; return it with the annotation columns (typed)."""
        import pyarrow as pa

        columns = self.annotator({name: batch.column(name).to_pylist() for name in batch.column_names})
        for name, values in columns.items():
            array = pa.array(values, type=self.schema.field(name).type)
            if name in batch.column_names:
                batch = batch.set_column(batch.column_names.index(name), name, array)
            else:
                batch = batch.append_column(name, array)
        return batch


def annotate_ray(
    ds: Any,
    model: str | os.PathLike | None = None,
    concurrency: int | tuple[int, int] = 2,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_gpus: float = 0,
    *,
    num_cpus: float | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    lang_column: str | None = "lang",
    prefix: str = "",
    **load_options: Any,
) -> Any:
    """A Ray Dataset with ``entities``, ``relations``, ``lang`` and ``error`` columns added (lazy).

    ``concurrency``: actors in the pool (an int, or ``(min, max)`` to let Ray autoscale it);
    each loads ``model`` once. ``num_gpus``: GPUs per actor (0: CPU; the actor then uses
    ``device="cuda"``). ``num_cpus``: CPUs per actor (on CPU also the torch threads of each
    actor). ``load_options`` go to :func:`defnlp.load` (``precision``, ``relations``,
    ``token_budget``...). Nothing runs until the dataset is consumed (``write_*``,
    ``take``, ``iter_batches``...).

    >>> import ray
    >>> ds = ray.data.from_items([{"id": "a", "text": "La DGA commande 42 Griffon."}])   # doctest: +SKIP
    >>> annotate_ray(ds, model="defence-v1", concurrency=1).take(1)[0]["entities"]     # doctest: +SKIP
    """
    ray = _import_ray()
    device = load_options.pop("device", None) or ("cuda" if num_gpus else "cpu")
    if num_gpus and str(device).startswith("cpu"):
        raise InputError("num_gpus > 0 with device='cpu'", "leave device unset: actors with GPUs use cuda")
    if isinstance(concurrency, int):
        pool = ray.data.ActorPoolStrategy(size=concurrency)
    else:
        low, high = concurrency
        pool = ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    if num_cpus and device == "cpu":
        load_options.setdefault("threads", max(1, int(num_cpus)))
    remote_args: dict[str, Any] = {}
    if num_cpus is not None:
        remote_args["num_cpus"] = num_cpus
    if num_gpus:
        remote_args["num_gpus"] = num_gpus
    return ds.map_batches(
        AnnotatorActor,
        fn_constructor_kwargs={
            "model": None if model is None else str(model),
            "text_column": text_column,
            "id_column": id_column,
            "lang_column": lang_column,
            "prefix": prefix,
            "device": device,
            "load_options": load_options,
        },
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=pool,
        **remote_args,
    )


def read_documents(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    fmt: DocumentFormat | None = None,
    encoding: str | None = None,
    **read_options: Any,
) -> Any:
    """Read JSONL files, Parquet files or a folder of text files into a Ray Dataset.

    ``fmt`` is inferred from local paths (file suffixes, or the files of a folder); give it for
    remote paths (``s3://...``). JSONL and Parquet rows keep their columns (``text`` and
    ``id``...; JSONL lines must be valid JSON — use ``defnlp annotate`` for files with broken
    lines, which it reports line by line). Text files become rows ``{id, text, source,
    error}`` with id = file name; a file that cannot be decoded gets ``text`` null and the
    reason in ``error``, which annotation keeps. ``read_options`` go to the Ray reader.

    >>> ds = read_documents("examples/texts/")    # doctest: +SKIP
    >>> ds.take(1)[0]["id"]                       # doctest: +SKIP
    'fr-armees-belgique.txt'
    """
    ray = _import_ray()
    items = [str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not items:
        raise InputError("no input paths given")
    fmt = fmt or _infer_format(items)
    if fmt == "jsonl":
        return ray.data.read_json(items, lines=True, file_extensions=[s.lstrip(".") for s in JSONL_SUFFIXES], **read_options)
    if fmt == "parquet":
        return ray.data.read_parquet(items, file_extensions=[s.lstrip(".") for s in PARQUET_SUFFIXES], **read_options)
    if fmt == "text":
        files = ray.data.read_binary_files(
            items, include_paths=True, file_extensions=[s.lstrip(".") for s in TEXT_SUFFIXES], **read_options
        )
        return files.map(_TextFileRow(encoding))
    raise InputError(f"unknown document format {fmt!r}", "use fmt='jsonl', 'parquet' or 'text'")


class _TextFileRow:
    """``{"bytes", "path"}`` -> ``{"id", "text", "source", "error"}``, decoding like ``defnlp annotate``."""

    def __init__(self, encoding: str | None) -> None:
        self.encoding = encoding

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        from .errors import DefnlpError, EmptyInputError
        from .text import decode_bytes

        path = str(row["path"])
        name = Path(path).name
        out: dict[str, Any] = {"id": name, "text": None, "source": path, "error": None}
        try:
            text = decode_bytes(bytes(row["bytes"]), encoding=self.encoding, source=name)
            if not text.strip():
                raise EmptyInputError(f"{name} is empty")
            out["text"] = text
        except DefnlpError as err:
            out["error"] = err.to_dict()
        return out


def _infer_format(items: Sequence[str]) -> DocumentFormat:
    suffixes: set[str] = set()
    for item in items:
        path = Path(item)
        if "://" in item:
            raise InputError(f"cannot infer the format of {item}", "pass fmt='jsonl', 'parquet' or 'text'")
        if path.is_dir():
            suffixes |= {p.suffix.lower() for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")}
        elif path.exists():
            suffixes.add(path.suffix.lower())
        else:
            raise InputError(f"input not found: {path}", "check the path (remote paths need fmt=...)")
    kinds = {
        kind
        for kind, known in (("jsonl", JSONL_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("text", TEXT_SUFFIXES))
        if suffixes & known
    }
    if len(kinds) != 1:
        raise InputError(
            f"cannot infer one document format from the files' suffixes ({', '.join(sorted(suffixes)) or 'no files'})",
            "read one format per call and pass fmt='jsonl', 'parquet' or 'text'",
        )
    return kinds.pop()  # type: ignore[return-value]


def write_annotations(ds: Any, path: str | os.PathLike, fmt: Literal["parquet", "jsonl"] = "parquet", **write_options: Any) -> str:
    """Write an annotated Ray Dataset as a folder of Parquet (default) or JSONL files; return the path.

    Each Ray block becomes one file (``ds.repartition(n)`` first to choose how many).

    >>> write_annotations(annotate_ray(ds, model="defence-v1"), "out/")   # doctest: +SKIP
    'out/'
    """
    _import_ray()
    target = str(path)
    if fmt == "parquet":
        ds.write_parquet(target, **write_options)
    elif fmt == "jsonl":
        ds.write_json(target, **write_options)
    else:
        raise InputError(f"unknown output format {fmt!r}", "use fmt='parquet' or 'jsonl'")
    return target
