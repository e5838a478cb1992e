"""defnlp: named entities, relations and FR-EN alignment for French and English defence texts.

>>> import defnlp
>>> nlp = defnlp.load()                       # doctest: +SKIP
>>> doc = nlp("Le ministre des Armées a signé une lettre d'intention avec la Belgique.")  # doctest: +SKIP
>>> [(e.text, e.label) for e in doc.entities]  # doctest: +SKIP
[('ministre des Armées', 'ROLE'), ("lettre d'intention", 'DOCUMENT'), ('Belgique', 'LOC')]
"""

from __future__ import annotations

__version__ = "0.1.0"

from .doc import Doc, DocResult, Entity, Relation, Sentence
from .errors import DefnlpError
from .pipeline import Pipeline, load

__all__ = ["__version__", "load", "Pipeline", "Doc", "DocResult", "Entity", "Relation", "Sentence", "DefnlpError", "annotate_dataset"]


def __getattr__(name: str):
    # imported on first use: ``datasets`` takes a while to import and most users never need it
    if name == "annotate_dataset":
        from .datasets import annotate_dataset

        return annotate_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
