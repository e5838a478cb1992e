"""``defnlp annotate``: annotate text files, folders, JSONL, Parquet and CSV with a model."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..io.outputs import OUTPUT_FORMATS
from ..inference.runtime import PRECISIONS
from .model_args import add_model_options, load_pipeline, model_identity


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "annotate",
        help="annotate documents (.txt files, folders, .jsonl, .parquet, .csv) with entities and relations",
        description=(
            "Annotate documents: each .txt file is one document (id = file name); each line of a .jsonl "
            'file is one document {"id", "text"}; each row of a .parquet or .csv file is one document '
            "(see --text-column, --id-column). Writes one record per document, or an error record, in "
            "input order. An interrupted run resumes when re-run with the same arguments. Models: --model "
            "names a pipeline (NER + relations) or one model; --ner-model and --re-model name each model."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="files or folders (read recursively)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.jsonl/.conll/.parquet; labelstudio: tasks.json; doccano: .jsonl) or folder "
                        "(brat: ID.txt + ID.ann, annotation.conf)")
    add_model_options(p)
    p.add_argument("-f", "--format", default=None, choices=OUTPUT_FORMATS,
                   help="output format (default: from the output's suffix, .parquet/.conll, else jsonl); labelstudio "
                        "and doccano write pre-annotations to correct in those tools, then train on their export")
    p.add_argument("--encoding", default=None, help="input encoding when not UTF-8 (e.g. cp1252)")
    p.add_argument("--text-column", default="text", metavar="NAME",
                   help="field holding the text in .jsonl/.parquet/.csv inputs (default: text)")
    p.add_argument("--id-column", default=None, metavar="NAME",
                   help="field holding the document id (default: id when present, else file:line / file:row)")
    p.add_argument("--no-relations", action="store_true", help="entities only")
    p.add_argument("--no-person-names", action="store_true",
                   help="the tagger's entities as decoded, without carrying a person's full name to the surname "
                   "repeated later in the document (defnlp.ner.names)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="fp32, int8 (CPU), bf16 (GPU, or CPU with AMX tiles), fp16 (GPU); auto: bf16 on GPU and AMX CPUs, int8 on VNNI CPUs, else fp32")
    p.add_argument("--batch-tokens", type=int, default=None, help="padded tokens per batch")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output instead of resuming")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import annotate_files

    relations = not args.no_relations
    options = {"device": args.device, "precision": args.precision, "token_budget": args.batch_tokens, "threads": args.threads,
               "person_names": not args.no_person_names}
    model = model_identity(args)
    if not relations:
        model = f"{model or 'default'};no-relations"
    if args.no_person_names:  # part of what the output was made with: a resumed run must use the same
        model = f"{model or 'default'};no-person-names"
    summary = annotate_files(
        args.inputs,
        args.output,
        model=model,
        loader=lambda: load_pipeline(args, relations=relations, **options),  # after the output is checked
        fmt=args.format or output_format_for(args.output),
        encoding=args.encoding,
        text_column=args.text_column,
        id_column=args.id_column,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(json.dumps(summary), file=sys.stderr if args.quiet else sys.stdout)
    return 0


def output_format_for(output: str) -> str:
    """The output format implied by a file name: ``parquet`` for .parquet/.pq, ``conll`` for
    .conll/.bio/.iob, ``brat`` for a name ending in ``/`` (a folder), else ``jsonl``.

    >>> output_format_for("out.parquet"), output_format_for("out.conll"), output_format_for("out.jsonl")
    ('parquet', 'conll', 'jsonl')
    """
    if output.endswith(("/", os.sep)):
        return "brat"
    suffix = Path(output).suffix.lower()
    return {".parquet": "parquet", ".pq": "parquet", ".conll": "conll", ".bio": "conll", ".iob": "conll"}.get(suffix, "jsonl")
