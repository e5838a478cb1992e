"""Fine-tuning: data sources, NER training, relation training.

>>> from defnlp.training import NerTrainingConfig, train_ner   # doctest: +SKIP
"""

from .data import DataSource, load_source
from .ner import NerTrainingConfig, train_ner

__all__ = ["DataSource", "load_source", "NerTrainingConfig", "train_ner"]
