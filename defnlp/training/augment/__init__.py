"""Training-data augmentation: real-world layouts and mention replacement, offsets exact.

Two steps turn an annotated :class:`~defnlp.doc.Doc` into new training documents:

* :func:`render_layout` renders the same content as it arrives from the real world: hard
  wraps at 60–90 columns (also inside entities), hyphenation at line ends (``opéra-\\ntionnel``,
  the ``-\\n`` then belongs to the entity), ALL-CAPS headings, markdown emphasis and bullets,
  press-release header and footer blocks, contact blocks and postal addresses, page
  headers/footers of a converted PDF, ligature loss (``opération`` → ``opéraon``, outside
  entities) and stray whitespace (outside entities).
* :func:`replace_mentions` swaps entity mentions for others of the same label from the
  gazetteers (:func:`load_gazetteer`: the project's TSV files in
  ``defnlp/resources/gazetteers/`` plus the French weapon/platform acronyms of the shared
  terminology corpus).

:func:`augment_docs` does both, ``copies`` times per document, deterministically for a seed,
and returns only the new documents (ids ``<id>#aug1``, ``<id>#aug2``…; ``meta["augmented"]``
names the transforms applied).

Offsets are exact by construction: the text is held as *pieces* cut at every entity boundary
(each piece knows which entities cover it), every transform edits pieces, and the entity
offsets are rebuilt from the pieces. Relations keep their entity indices; entities added by
a layout block are appended after the original ones. Documents with overlapping or nested
entities (re3d) are handled: replacement skips the entities involved in an overlap, and the
transforms that insert text only do so outside every entity. No entity ends up running from
one block of the layout into the next (:func:`defnlp.layout.blocks`, the owner of that
convention): a wrapped line never starts like a list item, markdown headings are not wrapped,
and a wrap break that would still cut an entity is undone. Hyphenation follows the join rule
of :func:`defnlp.layout.model_view` (letters on both sides, lower case after the break).

What added blocks annotate (defence-v1 conventions): the contact name is ``PER`` and the job
title under it ``ROLE`` (linked by ``HAS_ROLE``); the organisation of "À propos de X" / "About
X" is ``ORG`` (both mentions); the city of a postal address or a dateline is ``LOC`` and the
dateline's date ``DATE``; an entity copied into a prepended ALL-CAPS title keeps its label.
Streets, postcodes, e-mails, phone numbers, URLs, page headers and boilerplate are not
annotated (they contain no names).

Each part lives in its own submodule:

* :mod:`~defnlp.training.augment.settings`: :class:`AugmentSettings` and :data:`LAYOUT_TRANSFORMS`;
* :mod:`~defnlp.training.augment.gazetteer`: the replacement candidates (:class:`Gazetteer`,
  :func:`load_gazetteer`, :func:`corpus_entries`);
* :mod:`~defnlp.training.augment.pieces`: the text as pieces cut at every span boundary;
* :mod:`~defnlp.training.augment.context`: what the words before a mention require (elision,
  articles);
* :mod:`~defnlp.training.augment.layouts`: :func:`render_layout`;
* :mod:`~defnlp.training.augment.mentions`: :func:`replace_mentions`;
* :mod:`~defnlp.training.augment.copies`: :func:`augment_docs`.

>>> from defnlp.doc import Doc
>>> doc = Doc("La DGA a commandé 42 Griffon à KNDS France.", id="d1", lang="fr")
>>> for start, end, label in [(3, 6, "ORG"), (18, 20, "QUANTITY"), (21, 28, "PLATFORM"), (31, 42, "ORG")]:
...     _ = doc.add_entity(start, end, label)
>>> _ = doc.add_relation(0, 2, "ACQUIRES")
>>> new = augment_docs([doc], AugmentSettings.only("header", "contact"), seed=1)
>>> new[0].id, new[0].meta["augmented"]
('d1#aug1', ['header', 'contact'])
>>> all(new[0].text[e.start:e.end] == e.text for e in new[0].entities)
True
>>> [(e.text, e.label) for e in new[0].entities][:4]
[('DGA', 'ORG'), ('42', 'QUANTITY'), ('Griffon', 'PLATFORM'), ('KNDS France', 'ORG')]
>>> new[0].relations[0]
Relation(head=0, tail=2, label='ACQUIRES', score=None)
"""

from __future__ import annotations

from .copies import augment_docs
from .gazetteer import Gazetteer, GazetteerEntry, corpus_entries, load_gazetteer
from .layouts import render_layout
from .mentions import replace_mentions
from .settings import LAYOUT_TRANSFORMS, AugmentSettings

__all__ = [
    "AugmentSettings",
    "GazetteerEntry",
    "Gazetteer",
    "corpus_entries",
    "LAYOUT_TRANSFORMS",
    "load_gazetteer",
    "render_layout",
    "replace_mentions",
    "augment_docs",
]
