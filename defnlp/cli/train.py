"""``defnlp train ner|relations CONFIG``: fine-tune a model from a TOML/JSON config."""

from __future__ import annotations

import argparse
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune a NER or relation model from a config file",
                       description="Fine-tune a model. See docs/fine-tuning.md for the configuration keys.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, helptext in (("ner", "train a NER model (LoRA adapters or fine-tuned upper layers, + tag head)"),
                           ("relations", "train a relation head on top of a NER model")):
        t = tasks.add_parser(task, help=helptext)
        t.add_argument("config", help="TOML or JSON training configuration")
        t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key (VALUE parsed as JSON when possible), e.g. --set epochs=2 --set rehearsal.share=0.3; "
                            "a number picks one [[train]] or [[dev]] source: --set train.1.sample=4.0")
        t.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
        t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config, parse_overrides

    overrides = parse_overrides(args.set)
    if args.resume:
        overrides["resume"] = True
    if args.task == "ner":
        from ..training.ner import NerTrainingConfig, train_ner

        out = train_ner(load_config(NerTrainingConfig, args.config, overrides))
    else:
        from ..training.relations import RelationTrainingConfig, train_relations

        out = train_relations(load_config(RelationTrainingConfig, args.config, overrides))
    if os.environ.get("RANK", "0") == "0":  # under torchrun, the model's path once (rank 0 wrote it)
        print(out)
    return 0
