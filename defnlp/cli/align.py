"""``defnlp align``: align a French and an English document (sentences, words or entities).

    defnlp align fr.txt en.txt --level sentence --output pairs.jsonl
    defnlp align fr.jsonl en.jsonl --level entity --output entities.jsonl

Inputs are two ``.txt`` files (one document each) or two ``.jsonl`` files whose lines are
paired in order (``{"id", "text", "entities"?}``; at entity level, documents without an
``entities`` key are annotated with the NER model first). The output is one JSON record per
document pair, with character offsets on both sides (see :mod:`defnlp.align.records`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..doc import Doc
from ..errors import DefnlpError, EmptyInputError, InputError
from ..io.inputs import JSONL_SUFFIXES, iter_jsonl_docs
from ..io.outputs import check_output_path, dumps_record, output_error
from ..text import decode_bytes

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "align",
        help="align a French and an English document: sentences, words or entities",
        description="Align FR_FILE with EN_FILE (two .txt documents, or two .jsonl files paired line by line) "
        "and write one JSON record per document pair with character offsets on both sides.",
    )
    p.add_argument("fr_file", metavar="FR_FILE", help="French document (.txt) or documents (.jsonl)")
    p.add_argument("en_file", metavar="EN_FILE", help="English document (.txt) or documents (.jsonl)")
    p.add_argument("--level", choices=("sentence", "word", "entity"), default="sentence", help="what to align (default: sentence)")
    p.add_argument("--output", "-o", default="-", help="output JSONL file (default: standard output)")
    p.add_argument("--embedder", default="use", help="sentence embeddings: 'use' (default), 'e5' or 'e5:<encoder>'")
    p.add_argument("--group-vectors", choices=("auto", "concat", "sum"), default="auto",
                   help="sentence groups (2-1, 1-2...) embedded as their concatenation (better) or as the sum of their "
                   "sentences' embeddings (about 3-10x faster on long documents); auto (default): concat up to 600 "
                   "sentences in the pair, sum beyond")
    p.add_argument("--encoder", default=None, help="encoder for word alignment (default: multilingual-e5-small)")
    p.add_argument("--layer", type=int, default=None, help="encoder layer for word alignment (default: the tuned one)")
    p.add_argument("--method", choices=("argmax", "itermax", "softmax"), default="argmax", help="word link extraction")
    p.add_argument("--min-score", type=float, default=None,
                   help="sentence links scoring below this are not word-aligned (word/entity level, default 0.5) "
                   "or are dropped (sentence level, default: keep all)")
    p.add_argument("--mode", choices=("auto", "parallel", "comparable"), default="auto",
                   help="entity level: are the documents translations ('parallel'), only on the same topic "
                   "('comparable'), or unknown ('auto', default)")
    p.add_argument("--threshold", type=float, default=0.5, help="entity level: minimum link score (default 0.5)")
    p.add_argument("--ner-model", default=None, metavar="NAME_OR_DIR",
                   help="entity level: the pipeline or model that annotates documents without entities, taken exactly "
                   "as typed (default: defence-v2)")
    p.add_argument("--batch-size", type=int, default=64, help="sentences per encoder pass (default 64)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    p.add_argument("--encoding", default=None, help="encoding of .txt inputs that are not UTF-8")
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------
def _read_docs(path_str: str, lang: str, encoding: str | None) -> list[tuple[Doc, bool]]:
    """Docs of one input file, each with a flag: does it carry its own entity annotation?"""
    path = Path(path_str)
    if not path.is_file():
        raise InputError(f"input not found: {path}", "give two files: the French and the English document")
    if path.suffix.lower() in JSONL_SUFFIXES:
        return [
            (doc, "entities" in record)
            for doc, record in iter_jsonl_docs(path, encoding=encoding, lang=lang, line_ids=True, allow_empty=False)
        ]
    data = decode_bytes(path.read_bytes(), encoding=encoding, source=path.name)
    if not data.strip():
        raise EmptyInputError(f"{path.name} is empty")
    return [(Doc(data, id=path.stem, lang=lang), False)]


def _pairs(args: argparse.Namespace) -> Iterator[tuple[str, Doc, bool, Doc, bool]]:
    fr_docs = _read_docs(args.fr_file, "fr", args.encoding)
    en_docs = _read_docs(args.en_file, "en", args.encoding)
    if len(fr_docs) != len(en_docs):
        raise InputError(
            f"{args.fr_file} has {len(fr_docs)} documents but {args.en_file} has {len(en_docs)}",
            "JSONL inputs are paired line by line: give both files the same number of records",
        )
    for (fr, fr_annotated), (en, en_annotated) in zip(fr_docs, en_docs):
        record_id = fr.id if fr.id == en.id or en.id is None else f"{fr.id}|{en.id}"
        yield record_id or "doc", fr, fr_annotated, en, en_annotated


def _ner(model: str | None) -> Any:
    from ..models import DEFAULT_PIPELINE
    from .model_args import resolve_model

    try:
        import defnlp

        load = defnlp.load
    except AttributeError as err:
        raise DefnlpError(
            "this build of defnlp has no NER pipeline to annotate the documents",
            "give JSONL inputs whose records carry \"entities\", or install a defnlp with defnlp.load()",
        ) from err
    ner_dir, re_dir = resolve_model(model or DEFAULT_PIPELINE)  # exactly what was typed, or a pipeline name
    return load(str(ner_dir), relations=str(re_dir) if re_dir is not None else False)


# ------------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from ..align.entities import EntityAligner
    from ..align.segments import DEFAULT_PARALLEL_SCORE
    from ..align.sentences import SentenceAligner
    from ..align.words import DEFAULT_LAYER, WordAligner
    from tqdm.auto import tqdm

    pairs = list(_pairs(args))
    sentence_aligner = SentenceAligner(embedder=args.embedder, group_vectors=args.group_vectors)
    word_aligner = None
    if args.level in ("word", "entity"):
        word_aligner = WordAligner(
            args.encoder, layer=DEFAULT_LAYER if args.layer is None else args.layer, method=args.method,
            batch_size=args.batch_size, device=args.device,
        )
    aligners = _Aligners(
        sentence=sentence_aligner,
        word=word_aligner,
        entity=EntityAligner(
            word_aligner=word_aligner, sentence_aligner=sentence_aligner, threshold=args.threshold, mode=args.mode,
            parallel_score=DEFAULT_PARALLEL_SCORE if args.min_score is None else args.min_score,
        ) if args.level == "entity" else None,
    )
    n_links = 0
    quiet = getattr(args, "quiet", False)
    with _output(args.output) as out, tqdm(total=len(pairs), desc=f"aligning ({args.level})", unit="pair",
                                           disable=True if quiet else None) as bar:
        for record_id, fr, fr_annotated, en, en_annotated in pairs:
            if args.level == "entity":
                for doc, annotated in ((fr, fr_annotated), (en, en_annotated)):
                    if not annotated:
                        found = aligners.ner(args.ner_model)(doc.text, lang=doc.lang)
                        doc.entities, doc.relations = found.entities, found.relations
            record = _align_pair(args.level, record_id, fr, en, aligners, args.min_score)
            n_links += len(record["links"])
            out.write(dumps_record(record) + "\n")
            bar.update(1)
    if args.output != "-":
        print(f"defnlp align: {len(pairs)} document pair(s), {n_links} {args.level} links -> {args.output}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _output(output: str) -> Iterator[Any]:
    """Standard output for ``-``; else a temporary file beside ``output``, renamed onto it when
    every pair is written (a failed or killed run leaves the previous output as it was)."""
    if output == "-":
        yield sys.stdout
        return
    path = check_output_path(output)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fh = open(tmp, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        raise output_error(path, err) from err
    try:
        with fh:
            yield fh
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as err:
                raise output_error(path, err) from err
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise output_error(path, err) from err
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class _Aligners:
    """The aligners of one run (built once), and the NER pipeline, loaded on first need."""

    sentence: Any
    word: Any
    entity: Any
    _nlp: Any = None

    def ner(self, model: str | None) -> Any:
        if self._nlp is None:
            self._nlp = _ner(model)
        return self._nlp


def _align_pair(level: str, record_id: str, fr: Doc, en: Doc, aligners: _Aligners, min_score: float | None) -> dict[str, Any]:
    """The output record of one document pair at ``level``."""
    from ..align.records import entity_record, sentence_record, word_record
    from ..align.segments import DEFAULT_PARALLEL_SCORE, align_segment_words, parallel_segments
    from ..text import split_sentences

    if level == "sentence":
        alignment = aligners.sentence.align_texts(fr.text, en.text)
        if min_score is not None:
            alignment.links = [link for link in alignment.links if link.is_null or link.score >= min_score]
        return sentence_record(record_id, fr, en, alignment)
    if level == "word":
        segments = parallel_segments(fr.text, en.text, aligners.sentence,
                                     min_score=DEFAULT_PARALLEL_SCORE if min_score is None else min_score)
        alignments = align_segment_words(fr.text, en.text, segments, aligners.word, "fr", "en")
        return word_record(record_id, fr, en, alignments, split_sentences(fr.text), split_sentences(en.text))
    return entity_record(record_id, fr, en, aligners.entity.align(fr, en))
