"""Evaluation: NER (seqeval), relations (P/R/F1), alignment (AER, sentence-alignment F1)."""

from .errors import ErrorReport, ner_errors
from .ner import NerReport, evaluate_ner

__all__ = ["ErrorReport", "NerReport", "evaluate_ner", "ner_errors"]
