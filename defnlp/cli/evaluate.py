"""``defnlp evaluate ner|relations``: score a model on a corpus or on your own gold files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..doc import Doc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model (seqeval for NER, P/R/F1 for relations)")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in ("ner", "relations"):
        t = tasks.add_parser(task, help=f"evaluate {task}")
        t.add_argument("-m", "--model", default=None, help="pipeline name or model directory (default: defence-v2)")
        src = t.add_mutually_exclusive_group(required=True)
        src.add_argument("--corpus", help="re3d:test, winer_fr:test[:defence], conll2003:testb, wikigold")
        src.add_argument("--data", help="gold file or folder")
        t.add_argument("--format", default="jsonl", help="format of --data: jsonl, conll, brat, markup")
        t.add_argument("--labels", default=None, help="comma-separated labels to score (default: the gold's labels)")
        t.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
        if task == "relations":
            t.add_argument("--mode", choices=("gold", "end2end", "both"), default="both",
                           help="relations from gold entities, from predicted entities, or both")
        t.set_defaults(func=run)


def load_gold(args: argparse.Namespace) -> list[Doc]:
    """The gold Docs of ``--corpus`` (a corpus spec) or ``--data`` (read with the ``--format`` reader).

    >>> docs = load_gold(argparse.Namespace(corpus=None, data="data/examples", format="markup"))  # doctest: +SKIP
    """
    from ..io.corpora import DataSource, load_source, parse_corpus_spec

    source = parse_corpus_spec(args.corpus) if args.corpus else DataSource(format=args.format, path=args.data)
    return load_source(source, base_dir=".")


def run(args: argparse.Namespace) -> int:
    from ..pipeline import load

    gold = load_gold(args)
    labels = args.labels.split(",") if args.labels else None
    if args.task == "ner":
        from ..evaluation.ner import evaluate_ner

        nlp = load(args.model, relations=False)
        pred = list(nlp.pipe(d.copy(annotations=False) for d in gold))
        if labels is None:
            labels = sorted({e.label for d in gold for e in d.entities} & set(nlp.entity_labels))
        report = evaluate_ner(gold, pred, labels=labels)
        print(report.table(f"NER on {args.corpus or args.data} ({len(gold)} documents, labels {', '.join(labels)})"))
        result = report.to_dict()
    else:
        from ..evaluation.relations import evaluate_relations_cli

        result = evaluate_relations_cli(args, gold, labels)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
