"""Evaluation: NER (seqeval), relations (P/R/F1), alignment (AER, sentence-alignment F1)."""

from .ner import NerReport, evaluate_ner

__all__ = ["NerReport", "evaluate_ner"]
