"""Fine-tuning: the training loop, NER training, relation training.

Data sources (what to train on) live with the corpus readers in :mod:`defnlp.io.corpora`.

>>> from defnlp.io.corpora import DataSource
>>> from defnlp.training import NerTrainingConfig, train_ner   # doctest: +SKIP
"""

from .loop import LoopSettings, TrainingTask, run_training
from .ner import NerTrainingConfig, train_ner

__all__ = ["NerTrainingConfig", "train_ner", "LoopSettings", "TrainingTask", "run_training"]
