"""``defnlp evaluate ner|relations``: score a model on a corpus or on your own gold files.

The format of ``--data`` is guessed from its name unless ``--format`` is given
(:func:`guess_format`): ``.conll``/``.bio``/``.iob`` CoNLL, ``.ann`` (or a ``.txt`` beside its
``.ann``, or a folder of them) brat, ``.jsonl``/``.ndjson`` JSONL, ``.md`` markup. A gold file
that cannot be parsed is an error naming the file (and the line, where the reader knows it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..doc import Doc
from ..errors import ConfigError, DataNotFoundError, DefnlpError
from .model_args import add_model_options, pipeline_paths

#: suffix -> reader
FORMAT_SUFFIXES = {".conll": "conll", ".bio": "conll", ".iob": "conll", ".ann": "brat", ".jsonl": "jsonl",
                   ".ndjson": "jsonl", ".md": "markup"}
GOLD_FORMATS = ("jsonl", "conll", "brat", "markup")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model (seqeval for NER, P/R/F1 for relations)")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in ("ner", "relations"):
        t = tasks.add_parser(task, help=f"evaluate {task}")
        if task == "ner":
            add_model_options(t, relations=False)
        else:
            t.add_argument("-m", "--model", default=None, metavar="NAME_OR_DIR",
                           help="a pipeline name (default: defence-v2) or a relation model (name, directory, hf://...)")
            t.add_argument("--re-model", default=None, metavar="NAME_OR_DIR",
                           help="the relation model (it brings the NER model it runs on)")
        src = t.add_mutually_exclusive_group(required=True)
        src.add_argument("--corpus", help="re3d:test, winer_fr:test[:defence], conll2003:testb, wikigold")
        src.add_argument("--data", help="gold file or folder")
        t.add_argument("--format", default=None,
                       help="format of --data: jsonl, conll, brat, markup (default: from the name: .jsonl, "
                       ".conll/.bio/.iob, .ann or a folder of .ann, .md)")
        t.add_argument("--split", default=None,
                       help="score only the documents of --data whose split is this (markup '| split: dev', JSONL meta.split)")
        t.add_argument("--labels", default=None, help="comma-separated labels to score (default: the gold's labels)")
        t.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
        if task == "ner":
            t.add_argument("--errors", type=int, nargs="?", const=5, default=None, metavar="N",
                           help="also sort the errors into label / boundary / missed / spurious and show the N most "
                           "frequent of each (default 5; the JSON report gets them under \"errors\")")
        if task == "relations":
            t.add_argument("--mode", choices=("gold", "end2end", "both"), default="both",
                           help="relations from gold entities, from predicted entities, or both")
        t.set_defaults(func=run)


def guess_format(path: str | Path) -> str:
    """The reader of a gold file or folder, from its name (see the module docstring).

    >>> guess_format("gold.conll"), guess_format("test.bio"), guess_format("docs.jsonl"), guess_format("a.ann")
    ('conll', 'conll', 'jsonl', 'brat')
    >>> guess_format("gold.xml")
    Traceback (most recent call last):
    defnlp.errors.ConfigError: cannot tell the format of gold.xml from its name (hint: give --format: jsonl, conll, brat or markup)
    """
    path = Path(path)
    hint = f"give --format: {', '.join(GOLD_FORMATS[:-1])} or {GOLD_FORMATS[-1]}"
    if path.is_dir():
        found = {FORMAT_SUFFIXES.get(f.suffix.lower()) for f in path.rglob("*") if f.is_file() and not f.name.startswith(".")}
        for fmt in ("brat", "markup", "jsonl"):  # a brat folder also holds .txt files; readers of folders only
            if fmt in found:
                return fmt
        raise ConfigError(f"cannot tell the format of the folder {path} (no .ann, .md or .jsonl files in it)", hint)
    suffix = path.suffix.lower()
    if suffix == ".txt" and path.with_suffix(".ann").is_file():
        return "brat"
    if suffix in FORMAT_SUFFIXES:
        return FORMAT_SUFFIXES[suffix]
    raise ConfigError(f"cannot tell the format of {path.name} from its name", hint)


def read_gold_file(path: str | Path, fmt: str | None = None) -> list[Doc]:
    """The gold Docs of a file or folder, read with the reader of ``fmt`` (guessed when None).

    Errors name the file: a parse error of any reader is re-raised (same type) with the path in front
    when its message does not name the file already.
    """
    from ..io.corpora import DataSource, load_source

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"gold data not found: {path}", "check the path given to --data")
    fmt = fmt or guess_format(path)
    try:
        if fmt == "conll":
            from ..io.conll import read_conll

            return _with_source(read_conll(path, name=path.name), f"conll:{path}")  # one Doc per sentence
        if fmt == "brat" and path.is_file():
            from ..io.brat import read_brat

            return _with_source([read_brat(path.with_suffix(".txt"), path.with_suffix(".ann"))], f"brat:{path}")
        return load_source(DataSource(format=fmt, path=str(path)), base_dir=".")
    except DefnlpError as err:
        if str(path) in err.message or path.name in err.message or fmt not in GOLD_FORMATS:
            raise
        raise type(err)(f"{path}: {err.message}", err.hint) from err


def _with_source(docs: list[Doc], source: str) -> list[Doc]:
    for d in docs:
        d.meta["source"] = source
    return docs


def load_gold(args: argparse.Namespace) -> list[Doc]:
    """The gold Docs of ``--corpus`` (a corpus spec) or ``--data`` (read with the ``--format`` reader).

    >>> docs = load_gold(argparse.Namespace(corpus=None, data="data/examples", format="markup"))  # doctest: +SKIP
    """
    from ..io.corpora import load_source, parse_corpus_spec

    if args.corpus:
        return load_source(parse_corpus_spec(args.corpus), base_dir=".")
    docs = read_gold_file(args.data, getattr(args, "format", None))
    split = getattr(args, "split", None)
    if split:
        found = sorted({str(d.meta.get("split")) for d in docs})
        docs = [d for d in docs if d.meta.get("split") == split]
        if not docs:
            raise ConfigError(f"no document of {args.data} has split {split!r} (splits found: {', '.join(found)})",
                              "check --split, or leave it out to score every document")
    return docs


def _predict(nlp, gold: list[Doc], quiet: bool) -> list[Doc]:
    from tqdm.auto import tqdm

    docs = (d.copy(annotations=False) for d in gold)
    return list(tqdm(nlp.pipe(docs), total=len(gold), desc="predicting", unit="doc", disable=True if quiet else None))


def run(args: argparse.Namespace) -> int:
    from ..pipeline import load

    gold = load_gold(args)
    labels = args.labels.split(",") if args.labels else None
    quiet = getattr(args, "quiet", False)
    if args.task == "ner":
        from ..evaluation.ner import evaluate_ner

        ner_dir, _ = pipeline_paths(args, relations=False)
        nlp = load(str(ner_dir), relations=False)
        pred = _predict(nlp, gold, quiet)
        if labels is None:
            labels = sorted({e.label for d in gold for e in d.entities} & set(nlp.entity_labels))
        report = evaluate_ner(gold, pred, labels=labels)
        print(report.table(f"NER on {args.corpus or args.data} ({len(gold)} documents, labels {', '.join(labels)})"))
        result = report.to_dict()
        if getattr(args, "errors", None) is not None:
            from ..evaluation.errors import ner_errors

            errors = ner_errors(gold, pred, labels=labels)
            print("\n" + errors.table(examples=args.errors))
            result["errors"] = errors.to_dict(examples=max(args.errors, 20))
    else:
        from ..evaluation.relations import evaluate_relations_cli

        if args.model and args.re_model:
            raise ConfigError("give either --model or --re-model, not both")
        ner_dir, re_dir = pipeline_paths(argparse.Namespace(model=args.re_model or args.model, ner_model=None))
        # the relation model brings the NER model it runs on
        result = evaluate_relations_cli(argparse.Namespace(**{**vars(args), "model": str(re_dir or ner_dir)}), gold, labels)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
