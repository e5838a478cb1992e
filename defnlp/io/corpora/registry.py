"""One registry of corpus readers (name → reader), and the data sources read through it.

Training, evaluation, the CLI and the benchmarks read corpora by name here. A reader is a
function that takes keyword options and returns a list; :func:`read_corpus` calls it by
name, :func:`load_source` reads a :class:`DataSource` (a training or evaluation source from
a configuration) with it. Built-in readers:

================== =========== ============================================== ==================================
name               kind        options                                        reads (function)
================== =========== ============================================== ==================================
re3d               docs        split, min_confidence, exclude_bbc, ...        :func:`~.ner.load_re3d`
winer_fr           docs        split, defence_only, keep_extra, ...           :func:`~.ner.load_winer_fr`
conll2003          docs        split (= part: testb, testa), keep_misc, ...   :func:`~.ner.load_conll2003`
wikigold           docs        keep_misc, group_documents                     :func:`~.ner.load_wikigold`
markup             docs        path (file or folder), split                   :func:`read_markup`
jsonl              docs        path, encoding, lang, line_ids                 :func:`~defnlp.io.inputs.read_jsonl_docs`
conll              docs        path (= source), token_col, tag_col, ...       :func:`~defnlp.io.conll.read_conll`
brat               docs        path (= directory), label_map, ...             :func:`~defnlp.io.brat.read_brat_dir`
labelstudio        docs        path (JSON export), text_key, encoding         :func:`~defnlp.io.labelstudio.read_labelstudio`
doccano            docs        path (JSONL export), text_key, encoding        :func:`~defnlp.io.doccano.read_doccano`
hf_dataset         docs        path (save_to_disk folder, .parquet, .jsonl),  :func:`~defnlp.io.hf.read_hf_dataset`
                               split, text_column, spans_column, id_column
hansards           alignment   part                                           :func:`~.parallel.load_hansards`
transread          alignment   novel                                          :func:`~.parallel.load_transread`
tatoeba            alignment                                                  :func:`~.parallel.load_tatoeba`
wmt14              alignment   defence_only                                   :func:`~.parallel.load_wmt14`
wmt14_segments     alignment   defence_only                                   :func:`~.parallel.load_wmt14_segments`
defence_terms      terminology                                                :func:`~.terminology.load_defence_terms`
defence_acronyms   terminology                                                :func:`~.terminology.load_defence_acronyms`
================== =========== ============================================== ==================================

The public corpora also take ``data_dir``. Readers of kind ``docs`` return Docs and can be
the ``format`` of a :class:`DataSource`; the others return alignment examples or dicts.
Code that knows which corpus it wants may call the loader itself (``load_re3d("test")``);
code that is given a name (configurations, ``--corpus``, ``--format``) reads it here.

>>> docs = read_corpus("markup", path="data/examples", split="dev")  # doctest: +SKIP
>>> pairs = read_corpus("wmt14", defence_only=True)  # doctest: +SKIP

A *source* names where documents come from and which labels they annotate::

    [[train]]
    format = "re3d"          # a reader of kind "docs": re3d | winer_fr | markup | jsonl | conll | brat | labelstudio ...
    split = "train"          # for the corpora with fixed splits
    annotated = ["PER", "ORG", "LOC", "NAT", "DATE", "MONEY", "QUANTITY", "WEAPON", "PLATFORM", "DOCUMENT"]

``annotated`` matters for mixed corpora: a corpus that does not annotate ROLE says nothing
about ROLE, so where it says ``O`` the loss accepts ROLE too (partial-label learning).
Register your own reader with :func:`register_reader`.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...doc import Doc
from ...errors import ConfigError, TrainingError
from ..brat import read_brat_dir
from ..conll import read_conll
from ..doccano import read_doccano
from ..hf import read_hf_dataset
from ..inputs import read_jsonl_docs
from ..labelstudio import read_labelstudio
from ..markup import read_markup_files
from .conventions import names_only, unmark
from .ner import load_conll2003, load_re3d, load_wikigold, load_winer_fr
from .parallel import load_hansards, load_tatoeba, load_transread, load_wmt14, load_wmt14_segments
from .terminology import load_defence_acronyms, load_defence_terms

__all__ = [
    "Reader",
    "READER_KINDS",
    "register_reader",
    "unregister_reader",
    "get_reader",
    "reader_names",
    "read_corpus",
    "read_markup",
    "DataSource",
    "load_source",
    "parse_corpus_spec",
]

log = logging.getLogger(__name__)

#: what a reader returns: Docs (usable as a data source), alignment examples, terminology dicts
READER_KINDS = ("docs", "alignment", "terminology")

ReaderFunc = Callable[..., list]


@dataclass(frozen=True)
class Reader:
    """A registered corpus reader: ``func(**options)`` returns a list (Docs for kind ``docs``).

    ``aliases`` renames options for the function (``{"split": "part"}``: a source's ``split``
    is ``load_conll2003``'s ``part``); ``needs_path``: the reader reads the user's files and
    takes a ``path`` option.

    >>> get_reader("conll2003").options[:3]
    ('part', 'keep_misc', 'group_documents')
    >>> get_reader("conll2003").accepts("split"), get_reader("wikigold").accepts("split")
    (True, False)
    """

    name: str
    func: ReaderFunc
    kind: str = "docs"
    needs_path: bool = False
    description: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def options(self) -> tuple[str, ...]:
        """The options the function takes by keyword (its parameter names; aliases not included)."""
        params = inspect.signature(self.func).parameters.values()
        return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))

    def accepts(self, option: str) -> bool:
        """Whether ``option`` (or the parameter it is an alias of) is an option of this reader."""
        params = inspect.signature(self.func).parameters.values()
        return self.aliases.get(option, option) in self.options or any(p.kind is p.VAR_KEYWORD for p in params)

    def read(self, **options: Any) -> list:
        """Call the reader with ``options`` (aliases renamed); an unknown option raises ConfigError."""
        unknown = [k for k in options if not self.accepts(k)]
        if unknown:
            raise ConfigError(
                f"corpus reader {self.name!r} has no option {', '.join(map(repr, unknown))}",
                f"its options: {', '.join([*self.aliases, *self.options]) or 'none'}",
            )
        kwargs = {self.aliases.get(k, k): v for k, v in options.items()}
        if self.needs_path and kwargs.get(self.aliases.get("path", "path")) in (None, ""):
            raise ConfigError(f"corpus reader {self.name!r} needs a 'path'", "give the file or folder to read: path=...")
        return self.func(**kwargs)


_READERS: dict[str, Reader] = {}


def register_reader(
    name: str,
    func: ReaderFunc | None = None,
    *,
    kind: str = "docs",
    needs_path: bool = False,
    description: str = "",
    aliases: Mapping[str, str] | None = None,
    replace: bool = False,
) -> ReaderFunc | Callable[[ReaderFunc], ReaderFunc]:
    """Register ``func`` as the reader of ``name`` and return it; without ``func``, a decorator that does.

    A reader of kind ``docs`` returns Docs and can then be the ``format`` of a
    :class:`DataSource` (in a training configuration, ``defnlp evaluate --format``) or, when
    it takes no ``path``, a ``--corpus`` name. A :class:`DataSource` passes it the options it
    accepts among ``path`` (resolved against the configuration's folder), ``split`` and
    ``defence_only``. ``replace=True`` replaces a reader of the same name.

    >>> import pathlib, tempfile
    >>> from defnlp.doc import Doc
    >>> @register_reader("lines", needs_path=True, replace=True)
    ... def read_lines(path: str) -> list[Doc]:
    ...     '''One Doc per non-blank line of a text file.'''
    ...     lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    ...     return [Doc(t, id=f"line-{i}") for i, t in enumerate(lines, start=1) if t.strip()]
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = f.write_text("La DGA commande.\\n\\nThales livre.\\n", encoding="utf-8")
    >>> [d.id for d in read_corpus("lines", path=f)]
    ['line-1', 'line-3']
    >>> [d.id for d in load_source(DataSource(format="lines", path=str(f)))]
    ['line-1', 'line-3']
    >>> unregister_reader("lines")
    """
    if func is None:
        return lambda f: register_reader(
            name, f, kind=kind, needs_path=needs_path, description=description, aliases=aliases, replace=replace
        )
    if not name or ":" in name:
        raise ConfigError(f"invalid reader name {name!r}", "use a non-empty name without ':' (corpus specs are name:split)")
    if kind not in READER_KINDS:
        raise ConfigError(f"unknown reader kind {kind!r}", f"kinds: {', '.join(READER_KINDS)}")
    if name in _READERS and not replace:
        raise ConfigError(f"a corpus reader named {name!r} is already registered", "choose another name, or pass replace=True")
    doc = description or " ".join((inspect.getdoc(func) or "").split("\n\n", 1)[0].split())
    _READERS[name] = Reader(name, func, kind=kind, needs_path=needs_path, description=doc, aliases=dict(aliases or {}))
    return func


def unregister_reader(name: str) -> None:
    """Remove the reader ``name`` (e.g. one registered for a test).

    >>> _ = register_reader("tmp_reader", lambda: [], replace=True)
    >>> unregister_reader("tmp_reader"); "tmp_reader" in reader_names()
    False
    """
    get_reader(name)
    del _READERS[name]


def get_reader(name: str) -> Reader:
    """The reader registered as ``name``; an unknown name raises ConfigError listing the known ones.

    >>> get_reader("winer_fr").kind
    'docs'
    >>> get_reader("tatoeba").description
    'The 1,000 Tatoeba French-English sentence pairs (LASER test set) as ``(fr, en)``.'
    """
    try:
        return _READERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown corpus reader {name!r}",
            f"known readers: {', '.join(_READERS)} (add your own with defnlp.io.corpora.register_reader)",
        ) from None


def reader_names(kind: str | None = None, needs_path: bool | None = None) -> list[str]:
    """The registered reader names (in registration order), optionally of one ``kind``.

    >>> reader_names("docs", needs_path=False)
    ['re3d', 'winer_fr', 'conll2003', 'wikigold']
    """
    return [
        r.name for r in _READERS.values()
        if (kind is None or r.kind == kind) and (needs_path is None or r.needs_path == needs_path)
    ]


def read_corpus(name: str, **options: Any) -> list:
    """Read the corpus ``name`` with its reader's ``options``.

    >>> len(read_corpus("re3d", split="test", exclude_bbc=True))  # doctest: +SKIP
    10
    >>> read_corpus("re3d", part="test")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defnlp.errors.ConfigError: corpus reader 're3d' has no option 'part' (hint: its options: split, min_confidence, ...)
    """
    return get_reader(name).read(**options)


# ------------------------------------------------------------------------------------------------
# readers of the user's own files
# ------------------------------------------------------------------------------------------------
def read_markup(path: str | os.PathLike, split: str | None = None) -> list[Doc]:
    """Inline-markup files (a file, or the ``.md`` files of a folder), optionally one ``split`` only.

    A document's split is its ``split:`` header field (``train`` when absent).

    >>> from defnlp.config import project_root
    >>> len(read_markup(project_root() / "data" / "examples", split="dev")) > 0
    True
    """
    docs = read_markup_files([path])
    if split:
        docs = [d for d in docs if d.meta.get("split", "train") == split]
    return docs


# built-in readers (registration order is the order errors and reader_names() list them in)
register_reader("re3d", load_re3d)
register_reader("winer_fr", load_winer_fr)
register_reader("conll2003", load_conll2003, aliases={"split": "part"})
register_reader("wikigold", load_wikigold)
register_reader("markup", read_markup, needs_path=True)
register_reader("jsonl", read_jsonl_docs, needs_path=True)
register_reader("conll", read_conll, needs_path=True, aliases={"path": "source"})
register_reader("brat", read_brat_dir, needs_path=True, aliases={"path": "directory"})
register_reader("labelstudio", read_labelstudio, needs_path=True)
register_reader("doccano", read_doccano, needs_path=True)
register_reader("hf_dataset", read_hf_dataset, needs_path=True)
register_reader("hansards", load_hansards, kind="alignment")
register_reader("transread", load_transread, kind="alignment")
register_reader("tatoeba", load_tatoeba, kind="alignment")
register_reader("wmt14", load_wmt14, kind="alignment")
register_reader("wmt14_segments", load_wmt14_segments, kind="alignment")
register_reader("defence_terms", load_defence_terms, kind="terminology")
register_reader("defence_acronyms", load_defence_acronyms, kind="terminology")


# ------------------------------------------------------------------------------------------------
# data sources (training and evaluation)
# ------------------------------------------------------------------------------------------------
@dataclass
class DataSource:
    """One training or evaluation source: the reader ``format`` and its options (see the module docstring).

    Plain data (a table of a TOML configuration), validated on load.

    >>> DataSource(format="markup", path="data/examples", split="dev").describe()
    'markup:dev:data/examples'
    """

    format: str
    path: str = ""
    split: str = ""
    annotated: list[str] | None = None
    sample: float = 1.0
    defence_only: bool = False
    label_map: dict[str, str] = field(default_factory=dict)
    #: training only: also train on augmented copies (the configuration's ``[augment]`` table)
    augment: bool = False
    #: read the source with the project's conventions for names (:func:`~.conventions.names_only`):
    #: PER/ORG/LOC only when they are names (re3d annotates ``we``, ``he``, ``the city``), spans
    #: start after a leading article (``the UK``), states and countries are LOC also when they act
    #: (re3d: ``[Britain]/ORG said``), titles stay outside PER (re3d: ``[Lt Gen Talib Shaghati]``)
    names_only: bool = False
    #: entity mentions to leave unmarked, by label: ``{"DOCUMENT": ["contract", "contrat"]}`` drops
    #: the DOCUMENT entities whose text is one of those phrases (case and spacing ignored), and
    #: their relations. For conventions that a source annotates and the target does not
    #: (DESIGN: generic ``contrat``/``commande`` mentions are not required)
    unmark: dict[str, list[str]] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ConfigError if the source names no reader of documents, lacks a path, or samples nothing.

        >>> DataSource(format="jsonl").validate()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        defnlp.errors.ConfigError: data source of format 'jsonl' needs a 'path' (hint: check the configuration ...)
        """
        reader = get_reader(self.format)
        if reader.kind != "docs":
            raise ConfigError(
                f"corpus reader {self.format!r} gives {reader.kind} records, not documents",
                f"data sources read documents: {', '.join(reader_names('docs'))}",
            )
        if reader.needs_path and not self.path:
            raise ConfigError(f"data source of format {self.format!r} needs a 'path'")
        if self.sample <= 0:
            raise ConfigError("'sample' must be > 0 (a fraction < 1 subsamples, > 1 repeats)")
        if not isinstance(self.unmark, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v) for k, v in self.unmark.items()):
            raise ConfigError("'unmark' must be a table of label = [phrases]", 'e.g. unmark = { DOCUMENT = ["contract", "contrat"] }')

    def describe(self) -> str:
        """``format:split:path:xSAMPLE`` (the parts that are set), as in ``meta["source"]``.

        >>> DataSource(format="re3d", split="train", sample=0.5).describe()
        're3d:train:x0.5'
        """
        bits = [self.format]
        if self.split:
            bits.append(self.split)
        if self.path:
            bits.append(self.path)
        if self.sample != 1.0:
            bits.append(f"x{self.sample}")
        return ":".join(bits)


def _source_options(source: DataSource, reader: Reader, base_dir: str | Path) -> dict[str, Any]:
    """The options that ``source`` sets, for those ``reader`` takes (the others are logged and ignored)."""
    given: dict[str, Any] = {}
    if source.path:
        path = Path(source.path)
        given["path"] = path if path.is_absolute() else Path(base_dir) / path
    if source.split:
        given["split"] = source.split
    if source.defence_only:
        given["defence_only"] = True
    ignored = [k for k in given if not reader.accepts(k)]
    if ignored:
        log.warning("source %s: the %r reader takes no %s; ignored", source.describe(), reader.name, ", ".join(ignored))
    return {k: v for k, v in given.items() if k not in ignored}


def load_source(source: DataSource, base_dir: str | Path = ".", seed: int = 0) -> list[Doc]:
    """Read a source into Docs with its reader (labels mapped, sampled).

    ``label_map`` renames entity labels (an empty name drops the entity) and then drops the
    relations; ``sample`` < 1 draws that fraction of the documents (``seed``), > 1 repeats
    them; every Doc gets ``meta["annotated"]`` and ``meta["source"]``. re3d's BBC documents
    (CC BY-NC) are refused outside its ``test`` split.

    >>> from defnlp.config import project_root
    >>> docs = load_source(DataSource(format="markup", path="data/examples", split="dev"), base_dir=project_root())
    >>> docs[0].meta["source"], all(d.meta["split"] == "dev" for d in docs)
    ('markup:dev:data/examples', True)
    """
    source.validate()
    reader = get_reader(source.format)
    docs = reader.read(**_source_options(source, reader, base_dir))
    if source.format == "re3d" and any(d.meta.get("bbc") for d in docs) and source.split != "test":
        raise TrainingError("re3d BBC documents (CC BY-NC) must never be used for training")
    if source.label_map:
        for d in docs:
            keep = [e for e in d.entities if source.label_map.get(e.label, e.label)]
            for e in keep:
                e.label = source.label_map.get(e.label, e.label)
            d.entities = keep
            d.relations = []
    if source.unmark:
        dropped = sum(unmark(d, source.unmark) for d in docs)
        log.info("source %s: %d mentions left unmarked (unmark: %s)", source.describe(), dropped, ", ".join(sorted(source.unmark)))
    if source.names_only:
        counts = sum((names_only(d) for d in docs), Counter())
        log.info("source %s: names_only: %d pronoun or common-noun PER/ORG/LOC mentions dropped, %d spans started "
                 "after a leading article, %d states ORG -> LOC, %d PER spans cut after their title, %d title-only or "
                 "descriptive PER spans dropped", source.describe(), counts["not_name"], counts["article"],
                 counts["state"], counts["title"], counts["title_only"])
    if source.sample != 1.0:
        rng = random.Random(seed)
        whole, frac = int(source.sample), source.sample - int(source.sample)
        docs = docs * whole + (rng.sample(docs, int(round(frac * len(docs)))) if frac else [])
    for d in docs:
        d.meta["annotated"] = source.annotated
        d.meta["source"] = source.describe()
    log.info("source %s: %d documents, %d entities", source.describe(), len(docs), sum(len(d.entities) for d in docs))
    return docs


def parse_corpus_spec(spec: str) -> DataSource:
    """``"re3d:test"``, ``"winer_fr:test:defence"``, ``"conll2003:testb"``, ``"wikigold"`` → a source.

    The name is a reader of documents that takes no ``path`` (the public NER corpora, or one
    you registered).

    >>> parse_corpus_spec("winer_fr:test:defence")
    DataSource(format='winer_fr', path='', split='test', annotated=None, sample=1.0, defence_only=True, label_map={}, augment=False, names_only=False, unmark={})
    """
    parts = spec.split(":")
    fmt = parts[0]
    corpora = reader_names("docs", needs_path=False)
    if fmt not in corpora:
        raise ConfigError(f"unknown corpus {fmt!r}", f"corpora: {', '.join(corpora)} (e.g. re3d:test)")
    split = parts[1] if len(parts) > 1 else ""
    defence = len(parts) > 2 and parts[2] == "defence"
    source = DataSource(format=fmt, split=split, defence_only=defence)
    source.validate()
    return source
