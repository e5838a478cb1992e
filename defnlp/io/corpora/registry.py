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
    #: keep PER/ORG/LOC entities only when they are names: drop pronouns and mentions without a
    #: capital letter (re3d annotates ``we``, ``he``, ``they``, ``the city``; defence-v1 does not),
    #: and start every span after a leading article or possessive (re3d: ``the UK``, ``our
    #: forces``; the project's conventions, CoNLL and WikiGold leave it out)
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
        phrases = {label: {_normalise(x) for x in texts} for label, texts in source.unmark.items()}
        dropped = sum(_unmark(d, phrases) for d in docs)
        log.info("source %s: %d mentions left unmarked (unmark: %s)", source.describe(), dropped, ", ".join(sorted(phrases)))
    if source.names_only:
        dropped = sum(_keep_names_only(d) for d in docs)
        trimmed = sum(_trim_leading_articles(d) for d in docs)
        log.info("source %s: %d pronoun or common-noun PER/ORG/LOC mentions dropped, %d spans started after "
                 "a leading article (names_only)", source.describe(), dropped, trimmed)
    if source.sample != 1.0:
        rng = random.Random(seed)
        whole, frac = int(source.sample), source.sample - int(source.sample)
        docs = docs * whole + (rng.sample(docs, int(round(frac * len(docs)))) if frac else [])
    for d in docs:
        d.meta["annotated"] = source.annotated
        d.meta["source"] = source.describe()
    log.info("source %s: %d documents, %d entities", source.describe(), len(docs), sum(len(d.entities) for d in docs))
    return docs


_PRONOUNS = frozenset(
    "i me my we us our ours you your he him his she her hers it its they them their theirs "
    "je moi nous vous il lui elle ils elles eux leur leurs".split()
)


_ARTICLES = frozenset(
    "the a an this that these those its their his her our my your "
    "le la les un une des du son sa ses leur leurs notre nos votre vos".split()
)
#: names that begin with an article, kept whole
_ARTICLE_NAMES = frozenset(
    "the hague|the times|the economist|the guardian|the telegraph|the independent|the new york times|"
    "the washington post|the wall street journal|the pentagon papers|le monde|le figaro|le parisien|"
    "la tribune|les echos|le point|la haye|le havre|le mans|le bourget|la rochelle|la réunion|le caire".split("|")
)
#: labels whose spans may legitimately start with an article (``the 1990s``, ``a third``)
_KEEP_ARTICLE_LABELS = frozenset({"DATE", "QUANTITY", "MONEY"})


def _trim_leading_articles(doc: Doc) -> int:
    """Start each entity after a leading article or possessive (``the UK`` → ``UK``, ``l'armée`` stays
    whole); names that begin with one (``The Hague``, ``Le Monde``) and DATE/QUANTITY/MONEY spans
    are kept. Returns how many spans changed.

    >>> d = Doc("the UK and The Hague met our Royal Navy.")
    >>> for a, b, label in [(0, 6, "LOC"), (11, 20, "LOC"), (25, 39, "ORG")]:
    ...     _ = d.add_entity(a, b, label)
    >>> _trim_leading_articles(d), [e.text for e in d.entities]
    (2, ['UK', 'The Hague', 'Royal Navy'])
    """
    changed = 0
    for e in doc.entities:
        text = doc.text[e.start : e.end]
        first, _, rest = text.partition(" ")
        if (e.label in _KEEP_ARTICLE_LABELS or not rest.strip() or first.lower() not in _ARTICLES
                or text.lower() in _ARTICLE_NAMES):
            continue
        offset = len(first) + 1
        while offset < len(text) and text[offset].isspace():
            offset += 1
        e.start += offset
        e.text = doc.text[e.start : e.end]
        changed += 1
    return changed


def _keep_names_only(doc: Doc) -> int:
    """Drop the PER/ORG/LOC entities of ``doc`` that are pronouns or have no capital letter; relations
    follow their entities. Returns how many entities were dropped.

    >>> d = Doc("We met he and the city of Kyiv.")
    >>> for a, b, label in [(0, 2, "ORG"), (7, 9, "PER"), (14, 22, "LOC"), (26, 30, "LOC")]:
    ...     _ = d.add_entity(a, b, label)
    >>> _ = d.add_relation(1, 3, "LOCATED_IN"); _keep_names_only(d), [e.text for e in d.entities], len(d.relations)
    (3, ['Kyiv'], 0)
    """
    def is_name(e) -> bool:
        text = doc.text[e.start : e.end]
        first, _, rest = text.partition(" ")
        if rest.strip() and first.lower() in _ARTICLES:  # `The city`: is the rest a name?
            text = rest
        return e.label not in ("PER", "ORG", "LOC") or (any(c.isupper() for c in text) and text.lower() not in _PRONOUNS)

    return _keep_entities(doc, [i for i, e in enumerate(doc.entities) if is_name(e)])


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _unmark(doc: Doc, phrases: dict[str, set[str]]) -> int:
    """Drop the entities whose label has a phrase list in ``phrases`` and whose text is one of them
    (case and spacing ignored); relations and ``meta["refs"]`` follow. Returns how many were dropped.

    >>> d = Doc("Thales signed the contract and the Contrat-cadre Scorpion.")
    >>> for a, b, label in [(0, 6, "ORG"), (18, 26, "DOCUMENT"), (35, 57, "DOCUMENT")]:
    ...     _ = d.add_entity(a, b, label)
    >>> _ = d.add_relation(0, 1, "SIGNS"); _ = d.add_relation(0, 2, "SIGNS")
    >>> _unmark(d, {"DOCUMENT": {"contract"}}), [e.text for e in d.entities], [(r.head, r.tail) for r in d.relations]
    (1, ['Thales', 'Contrat-cadre Scorpion'], [(0, 1)])
    """
    return _keep_entities(doc, [i for i, e in enumerate(doc.entities)
                                if _normalise(doc.text[e.start : e.end]) not in phrases.get(e.label, ())])


def _keep_entities(doc: Doc, keep: list[int]) -> int:
    """Keep only the entities at indices ``keep`` (in order); relations between kept entities and the
    markup's ``meta["refs"]`` are re-indexed, the others dropped. Returns how many entities went."""
    if len(keep) == len(doc.entities):
        return 0
    new_index = {old: new for new, old in enumerate(keep)}
    dropped = len(doc.entities) - len(keep)
    doc.entities = [doc.entities[i] for i in keep]
    relations = []
    for r in doc.relations:
        if r.head in new_index and r.tail in new_index:
            r.head, r.tail = new_index[r.head], new_index[r.tail]
            relations.append(r)
    doc.relations = relations
    if isinstance(doc.meta.get("refs"), dict):
        doc.meta["refs"] = {ref: new_index[i] for ref, i in doc.meta["refs"].items() if i in new_index}
    return dropped


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
