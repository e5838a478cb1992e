"""``nlp.add_pipe("defnlp")``: defnlp's entities and relations inside a spaCy pipeline.

spaCy finds the ``defnlp`` factory through the ``spacy_factories`` entry point (no ``import
defnlp`` needed, as with ``spacy-transformers``). The component runs a defnlp pipeline
(:func:`defnlp.load`) on each spaCy Doc's text and writes the result with
:func:`~defnlp.io.spacy.set_spacy_annotations`:

* ``doc.ents``: the entities, mapped onto the spaCy tokens with ``alignment_mode="expand"`` by
  default (an entity boundary inside a token takes the whole token); an entity that cannot be
  mapped is logged as a warning with the count, never dropped silently;
* ``doc.spans["defnlp"]``: every entity (``doc.ents`` cannot overlap); ``span._.defnlp_score``;
* ``doc._.defnlp_relations``: ``[{"head": Span, "tail": Span, "label": str, "score": float}]``;
* ``doc.user_data["defnlp"]``: the full defnlp Doc, which
  :func:`~defnlp.io.spacy.from_spacy_doc` gives back.

Config: ``model`` (a name, a directory, ``hf://owner/name``; ``None``: the default pipeline),
``relations`` (``True``, ``False`` or a relation model), ``batch_size`` (spaCy Docs sent to
defnlp's :meth:`~defnlp.pipeline.Pipeline.pipe` at a time; ``nlp.pipe(texts, batch_size=...)``
overrides it), ``device``, ``precision``, ``alignment_mode`` (``expand``, ``contract``,
``strict``), ``overwrite_ents`` (``False`` keeps the entities of an earlier spaCy NER and adds
defnlp's where they do not overlap). The language given to defnlp is the spaCy pipeline's
(``fr``, ``en``), otherwise detected. spaCy is an optional dependency (``pip install
"defnlp[spacy]"``); without it this module imports, but creating the component raises
:class:`~defnlp.errors.MissingDependencyError`.

>>> import spacy                                                       # doctest: +SKIP
>>> nlp = spacy.blank("fr")                                           # doctest: +SKIP
>>> _ = nlp.add_pipe("defnlp", config={"model": "defence-v2"})        # doctest: +SKIP
>>> doc = nlp("La DGA a commandé 42 Griffon à KNDS.")                 # doctest: +SKIP
>>> [(e.text, e.label_, round(e._.defnlp_score, 2)) for e in doc.ents]  # doctest: +SKIP
[('DGA', 'ORG', 1.0), ('42', 'QUANTITY', 1.0), ('Griffon', 'PLATFORM', 1.0), ('KNDS', 'ORG', 1.0)]
>>> [(r["head"].text, r["label"], r["tail"].text) for r in doc._.defnlp_relations]  # doctest: +SKIP
[('DGA', 'ACQUIRES', 'Griffon'), ('Griffon', 'HAS_QUANTITY', '42'), ('KNDS', 'PRODUCES', 'Griffon')]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional, Union

from .doc import Doc
from .errors import ConfigError, DefnlpError, MissingDependencyError
from .io.spacy import ALIGNMENT_MODES, register_extensions, set_spacy_annotations
from .text import SUPPORTED_LANGUAGES

try:
    from spacy.language import Language
except ImportError:  # optional: make_component / DefnlpComponent raise MissingDependencyError
    Language = None

log = logging.getLogger(__name__)

__all__ = ["DefnlpComponent", "make_component", "FACTORY", "DEFAULT_CONFIG"]

FACTORY = "defnlp"
DEFAULT_CONFIG: dict[str, Any] = {
    "model": None,
    "relations": True,
    "batch_size": 64,
    "device": "auto",
    "precision": "auto",
    "alignment_mode": "expand",
    "overwrite_ents": True,
}
_FEATURE = 'the spaCy component (nlp.add_pipe("defnlp"))'


def _raise_error(name: str, component: Any, docs: list[Any], error: Exception) -> None:
    raise error


class DefnlpComponent:
    """The ``defnlp`` spaCy component (see the module docstring); spaCy builds it from the config."""

    def __init__(self, nlp: Any, name: str = FACTORY, *, model: str | os.PathLike | None = None,
                 relations: bool | str = True, batch_size: int = 64, device: str = "auto", precision: str = "auto",
                 alignment_mode: str = "expand", overwrite_ents: bool = True, pipeline: Any = None) -> None:
        if Language is None:
            raise MissingDependencyError("spacy", _FEATURE, extra="spacy")
        if alignment_mode not in ALIGNMENT_MODES:
            raise ConfigError(f"defnlp component: alignment_mode must be one of {', '.join(ALIGNMENT_MODES)}, "
                              f"not {alignment_mode!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"defnlp component: batch_size must be a positive integer, not {batch_size!r}")
        register_extensions()
        if pipeline is None:
            from .pipeline import load

            pipeline = load(model, relations=relations, device=device, precision=precision)
        self.name = name
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.alignment_mode = alignment_mode
        self.overwrite_ents = overwrite_ents
        self.lang = nlp.lang if nlp.lang in SUPPORTED_LANGUAGES else None
        self._error_handler: Callable[[str, Any, list[Any], Exception], Any] = _raise_error

    def __call__(self, sdoc: Any) -> Any:
        """Annotate one spaCy Doc in place; a document defnlp cannot annotate raises its error."""
        for out in self._annotate([sdoc], _raise_error):
            return out
        return sdoc

    def pipe(self, docs: Iterable[Any], *, batch_size: int | None = None) -> Iterator[Any]:
        """Annotate a stream of spaCy Docs, ``batch_size`` at a time through defnlp's batched pipe.

        As spaCy's own components: a Doc whose annotation fails goes to the error handler
        (``nlp.set_error_handler``; the default raises) and is not yielded.
        """
        from spacy.util import minibatch

        for chunk in minibatch(docs, size=batch_size or self.batch_size):
            yield from self._annotate(list(chunk), self._error_handler)

    def get_error_handler(self) -> Callable[[str, Any, list[Any], Exception], Any]:
        return self._error_handler

    def set_error_handler(self, error_handler: Callable[[str, Any, list[Any], Exception], Any]) -> None:
        self._error_handler = error_handler

    def _annotate(self, chunk: list[Any], on_error: Callable[[str, Any, list[Any], Exception], Any]) -> Iterator[Any]:
        results = self.pipeline.pipe([Doc(sdoc.text, lang=self.lang) for sdoc in chunk], errors="return")
        for sdoc, result in zip(chunk, results):
            if isinstance(result, DefnlpError):
                on_error(self.name, self, [sdoc], result)
                continue
            yield set_spacy_annotations(sdoc, result, alignment_mode=self.alignment_mode,
                                        overwrite_ents=self.overwrite_ents)


def make_component(nlp: Any, name: str, model: Optional[str], relations: Union[bool, str], batch_size: int,
                   device: str, precision: str, alignment_mode: str, overwrite_ents: bool) -> DefnlpComponent:
    """The ``defnlp`` factory (``nlp.add_pipe("defnlp", config={...})``): see the module docstring."""
    return DefnlpComponent(nlp, name, model=model, relations=relations, batch_size=batch_size, device=device,
                           precision=precision, alignment_mode=alignment_mode, overwrite_ents=overwrite_ents)


if Language is not None:
    Language.factory(
        FACTORY,
        default_config=DEFAULT_CONFIG,
        assigns=["doc.ents", "doc.spans", "doc._.defnlp_relations", "span._.defnlp_score"],
    )(make_component)
