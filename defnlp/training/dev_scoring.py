"""Scoring a NER model on dev while it trains, through the real inference engine (as the pipeline annotates).

:func:`encode_docs` runs the engine once; :func:`decode_docs` turns its tag log-probs into
entities (optionally with a decision bias, :mod:`defnlp.training.label_bias`); :func:`score_dev`
gives the micro-F1 of each dev source on the labels that source annotates, and their mean
(``dev_f1``), which picks the best epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..doc import Doc
from ..evaluation.ner import evaluate_ner
from ..ner.model import NerModel
from ..tags import TagSet
from .label_bias import shift

__all__ = ["encode_docs", "decode_docs", "predict_docs", "evaluate_dev", "score_dev"]


def encode_docs(model: NerModel, tokenizer, docs: list[Doc], max_tokens: int, overlap: int) -> list:
    """The inference engine's results for ``docs`` with a (training) model: token spans, joins and
    the head's tag log-probs (:class:`defnlp.inference.DocEncoding`), as the pipeline gets them."""
    from ..doc import prepare_doc
    from ..errors import DefnlpError
    from ..inference import Engine, Runtime, TokenHead

    was_training = model.training
    model.eval()
    engine = Engine(model.encoder, tokenizer, [TokenHead("ner", model.head)], Runtime.create(device="cpu", precision="fp32"),
                    max_tokens=max_tokens, overlap=overlap)
    out = []
    for result in engine.run(prepare_doc(d.copy(annotations=False)) for d in docs):
        if isinstance(result, DefnlpError):
            raise result
        out.append(result)
    model.train(was_training)
    return out


def decode_docs(tagset: TagSet, encoded: list, bias_columns: np.ndarray | None = None, bias: float = 0.0) -> list[Doc]:
    """Documents with the entities decoded from :func:`encode_docs` results; ``bias`` is added to the
    log-probs of the tags in ``bias_columns`` first (:func:`defnlp.training.label_bias.shift`)."""
    from ..ner.decoding import decode_entities

    out = []
    for result in encoded:
        doc = result.doc.copy(annotations=False)
        log_probs = result.outputs["ner"] if bias_columns is None else shift(result.outputs["ner"], bias_columns, bias)
        doc.entities = decode_entities(tagset, doc.text, result.token_spans, log_probs, joins=result.joins)
        out.append(doc)
    return out


def predict_docs(model: NerModel, tokenizer, tagset: TagSet, docs: list[Doc], max_tokens: int, overlap: int) -> list[Doc]:
    """Annotate ``docs`` with a (training) model through the real inference engine, as the pipeline does."""
    return decode_docs(tagset, encode_docs(model, tokenizer, docs, max_tokens, overlap))


def evaluate_dev(model: NerModel, tokenizer, tagset: TagSet, dev_docs: list[Doc], labels: list[str], max_tokens: int,
                 overlap: int) -> dict[str, Any]:
    """Dev micro-F1 per source, each on the labels that source annotates; ``dev_f1`` is their mean."""
    return score_dev(dev_docs, predict_docs(model, tokenizer, tagset, dev_docs, max_tokens, overlap), labels)


def score_dev(dev_docs: list[Doc], pred: list[Doc], labels: list[str]) -> dict[str, Any]:
    """:func:`evaluate_dev` on predictions already made."""
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(dev_docs):
        groups.setdefault(d.meta.get("source", "dev"), []).append(i)
    out: dict[str, Any] = {"dev_sources": {}}
    for source, idx in groups.items():
        annotated = dev_docs[idx[0]].meta.get("annotated")
        scored = [x for x in labels if annotated is None or x in annotated]
        report = evaluate_ner([dev_docs[i] for i in idx], [pred[i] for i in idx], labels=scored)
        out["dev_sources"][source] = {"f1": round(report.micro["f1"], 4),
                                      "per_label": {k: round(v["f1"], 4) for k, v in report.per_label.items()}}
    out["dev_f1"] = float(np.mean([v["f1"] for v in out["dev_sources"].values()]))
    return out
