"""The model options of the commands: ``--model`` (a pipeline), ``--ner-model``, ``--re-model``.

A name is taken exactly as typed:

* a model directory, a shipped model name (``defence-v2-ner``, ``defence-v2-re``) or
  ``hf://owner/name`` loads that model (a relation model brings the NER model it runs on);
* otherwise a bare name that is a *pipeline* (``defence-v2``: the shipped ``defence-v2-ner``
  and, when there is one, ``defence-v2-re``) loads both;
* anything else is a :class:`~defnlp.errors.ModelNotFoundError` that lists the pipelines and
  models there are. A path is never completed with ``-ner``.

>>> split_pipeline_names(["defence-v1-ner", "defence-v1-re", "mine-ner", "other"])
['defence-v1', 'mine']
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError, ModelNotFoundError
from ..models import DEFAULT_PIPELINE as DEFAULT_PIPELINE_NAME


def add_model_options(parser: argparse.ArgumentParser, relations: bool = True) -> None:
    """``-m/--model`` (pipeline or model), ``--ner-model`` and, with ``relations``, ``--re-model``."""
    parser.add_argument("-m", "--model", default=None, metavar="NAME_OR_DIR",
                        help=f"a pipeline name ({DEFAULT_PIPELINE_NAME} = {DEFAULT_PIPELINE_NAME}-ner + "
                        f"{DEFAULT_PIPELINE_NAME}-re; the default), or one model, taken exactly as typed: a shipped "
                        "model name, a model directory or hf://owner/name")
    parser.add_argument("--ner-model", default=None, metavar="NAME_OR_DIR",
                        help="the NER model (name, directory or hf://...); without --re-model: entities only")
    if relations:
        parser.add_argument("--re-model", default=None, metavar="NAME_OR_DIR",
                            help="the relation model (name, directory or hf://...); it must run on the NER model")


def split_pipeline_names(model_names: Iterable[str]) -> list[str]:
    """The pipeline names among model names: ``X`` for every model ``X-ner``."""
    return sorted({name[: -len("-ner")] for name in model_names if name.endswith("-ner")})


def _available() -> str:
    from ..models import shipped_models

    names = [p.name for p in shipped_models()]
    pipelines = split_pipeline_names(names)
    return (f"pipelines: {', '.join(pipelines) or 'none'}; models: {', '.join(names) or 'none'}; or the path of a "
            "model directory, or hf://owner/name (see docs/models.md)")


def _is_bare_name(name: str) -> bool:
    return bool(name) and "/" not in name and os.sep not in name and not name.startswith((".", "~"))


def resolve_model(name: str | os.PathLike) -> tuple[Path, Path | None]:
    """``(ner_dir, relations_dir or None)`` for a ``--model`` value, exactly as typed (see the module).

    >>> resolve_model("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.ModelNotFoundError: no defnlp model named 'no-such-model' ... (hint: pipelines: ...)
    """
    from ..models import find_model
    from ..pipeline import resolve_pipeline

    text = str(name)
    try:
        path = find_model(text)
    except ModelNotFoundError:
        path = None
    if path is not None:
        if _task(path) == "ner":
            return path, None
        return resolve_pipeline(str(path))  # a relation model, with the NER model it runs on
    if _is_bare_name(text):
        try:
            ner = find_model(f"{text}-ner")
        except ModelNotFoundError:
            ner = None
        if ner is not None:
            try:
                return ner, find_model(f"{text}-re")
            except ModelNotFoundError:
                return ner, None
    raise ModelNotFoundError(f"no defnlp model named {text!r} (neither a model nor a pipeline)", _available())


def _task(path: Path) -> str | None:
    """The task a model card states (read, not checked: the model is checked when it loads)."""
    from ..models import SPEC_FILE

    try:
        return json.loads((path / SPEC_FILE).read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError, AttributeError):
        return None


def find_exact_model(name: str | os.PathLike, option: str) -> Path:
    """The directory of one model given to ``option`` (``--ner-model``...), exactly as typed."""
    from ..models import find_model

    try:
        return find_model(str(name))
    except ModelNotFoundError:
        raise ModelNotFoundError(f"{option}: no defnlp model named {str(name)!r}", _available()) from None


def model_identity(args: argparse.Namespace) -> str | None:
    """What the model options say, as typed (for a job's identity); None for the default pipeline."""
    parts = [f"{key}={getattr(args, attr)}" for key, attr in (("model", "model"), ("ner", "ner_model"), ("re", "re_model"))
             if getattr(args, attr, None)]
    if len(parts) == 1 and parts[0].startswith("model="):
        return args.model
    return ";".join(parts) or None


def pipeline_paths(args: argparse.Namespace, relations: bool = True) -> tuple[Path, Path | None]:
    """``(ner_dir, relations_dir or None)`` from ``--model``/``--ner-model``/``--re-model`` (and
    ``relations=False`` for ``--no-relations``). Raises :class:`~defnlp.errors.ConfigError` for
    options that contradict each other."""
    model, ner_model, re_model = args.model, args.ner_model, getattr(args, "re_model", None)
    if model and ner_model:
        raise ConfigError("give either --model (a pipeline or one model) or --ner-model, not both",
                          "--model defence-v2 loads defence-v2-ner and defence-v2-re; --ner-model X [--re-model Y] "
                          "loads exactly those")
    if re_model and not relations:
        raise ConfigError("--re-model and --no-relations contradict each other", "drop one of them")
    if ner_model:
        ner_dir, re_dir = find_exact_model(ner_model, "--ner-model"), None
    else:
        ner_dir, re_dir = resolve_model(model or DEFAULT_PIPELINE_NAME)
    if re_model:
        re_dir = find_exact_model(re_model, "--re-model")
    return ner_dir, (re_dir if relations else None)


def load_pipeline(args: argparse.Namespace, relations: bool = True, **options: Any) -> Any:
    """The :class:`~defnlp.pipeline.Pipeline` the model options name (see :func:`pipeline_paths`)."""
    from ..pipeline import load

    ner_dir, re_dir = pipeline_paths(args, relations)
    return load(str(ner_dir), relations=str(re_dir) if re_dir is not None else False, **options)
