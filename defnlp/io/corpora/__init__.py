"""Corpus readers: one registry (name → reader), the public corpora in the data directory, data sources.

===================== ===================================================================
module                what
===================== ===================================================================
:mod:`.registry`      the registry (:func:`register_reader`, :func:`get_reader`,
                      :func:`read_corpus`) and the data sources of training and evaluation
                      (:class:`DataSource`, :func:`load_source`, :func:`parse_corpus_spec`)
:mod:`.ner`           NER/RE corpora: re3d, WiNER-fr, CoNLL-2003, WikiGold → Docs
:mod:`.conventions`   the project's naming conventions applied to a corpus that annotates
                      otherwise (a source's ``names_only``, ``unmark``)
:mod:`.parallel`      FR/EN alignment corpora: Hansards, TransRead, Tatoeba, WMT14
:mod:`.terminology`   the French defence terms and acronyms
:mod:`.detokenizer`   :func:`detokenize` (tokens back to text)
===================== ===================================================================

Every loader of a public corpus takes ``data_dir`` (default: :func:`defnlp.config.data_dir`,
i.e. ``--data-dir`` > ``DEFNLP_DATA_DIR`` > ``../shared/data``), raises
:class:`~defnlp.errors.DataNotFoundError` naming the missing path, and returns project types:
:class:`~defnlp.doc.Doc` for NER/RE corpora (labels mapped to the ``defence-v1`` scheme unless
``map_labels=False``), :class:`WordAlignmentExample`, :class:`SentenceAlignmentBook`,
:class:`ParallelSegment` and plain tuples/dicts for the alignment and terminology resources.

=================== ======================================= ==========================
corpus (reader)     loader                                  returns
=================== ======================================= ==========================
re3d                :func:`load_re3d`                       Docs (entities, relations)
WiNER-fr            :func:`load_winer_fr`                   Docs (entities)
CoNLL-2003 (EN)     :func:`load_conll2003`                  Docs (one per sentence)
WikiGold (EN)       :func:`load_wikigold`                   Docs (one per sentence)
Hansards EN-FR WA   :func:`load_hansards`                   WordAlignmentExample
TransRead           :func:`load_transread`                  SentenceAlignmentBook
Tatoeba fra-eng     :func:`load_tatoeba`                    (fr, en) pairs
WMT14 newstest      :func:`load_wmt14`, ``_segments``       (fr, en) / ParallelSegment
FR defence terms    :func:`load_defence_terms`, ``_acronyms`` dicts
=================== ======================================= ==========================

By name, through the registry (what configurations and the CLI do):

>>> sorted(reader_names("docs"))
['brat', 'conll', 'conll2003', 'doccano', 'hf_dataset', 'jsonl', 'labelstudio', 'markup', 're3d', 'wikigold', 'winer_fr']
>>> test = read_corpus("re3d", split="test")  # doctest: +SKIP

Training code keeps BBC Online (CC BY-NC 3.0) out with ``exclude_bbc=True`` or ``meta["bbc"]``:

>>> train = load_re3d("train", exclude_bbc=True)  # doctest: +SKIP
>>> commercial_ok = [d for d in load_re3d() if not d.meta["bbc"]]  # doctest: +SKIP
"""

from . import conventions, detokenizer, ner, parallel, registry, terminology
from .detokenizer import detokenize
from .ner import (
    RE3D_LICENCES,
    RE3D_NON_COMMERCIAL,
    WINER_EXTRA_LABELS,
    flatten_entities,
    load_conll2003,
    load_re3d,
    load_wikigold,
    load_winer_fr,
    re3d_licence,
    re3d_link_report,
)
from .parallel import (
    ParallelSegment,
    SentenceAlignmentBook,
    WordAlignmentExample,
    load_hansards,
    load_tatoeba,
    load_transread,
    load_wmt14,
    load_wmt14_segments,
)
from .registry import (
    READER_KINDS,
    DataSource,
    Reader,
    get_reader,
    load_source,
    parse_corpus_spec,
    read_corpus,
    read_markup,
    reader_names,
    register_reader,
    unregister_reader,
)
from .terminology import load_defence_acronyms, load_defence_terms

__all__ = [*registry.__all__, *ner.__all__, *parallel.__all__, *detokenizer.__all__, *terminology.__all__]
