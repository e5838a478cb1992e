"""Reading and writing documents: inputs to annotate, annotated outputs, corpus formats.

* :mod:`defnlp.io.inputs` — text files, folders and JSONL into records (errors per record);
* :mod:`defnlp.io.outputs` — annotated JSONL / CoNLL / brat outputs (atomic, resumable);
* :mod:`defnlp.io.conll`, :mod:`defnlp.io.brat`, :mod:`defnlp.io.spacy`, :mod:`defnlp.io.hf` —
  converters between ``Doc`` and CoNLL/BIO, brat standoff, spaCy-style dicts, HF datasets;
* :mod:`defnlp.io.markup` — inline markup for hand-written examples;
* :mod:`defnlp.io.corpora` — loaders for the public evaluation corpora.
"""

from .brat import doc_to_brat, read_brat, read_brat_dir, write_brat
from .conll import doc_to_bio, read_conll, write_conll
from .hf import dataset_to_docs, docs_to_dataset, load_docs_dataset
from .inputs import InputRecord, iter_inputs, iter_jsonl_records
from .markup import doc_to_markup, parse_markup, read_markup_files
from .spacy import doc_from_spacy_dict, doc_to_spacy_dict, from_spacy_doc, to_spacy_doc

__all__ = [
    "InputRecord", "iter_inputs", "iter_jsonl_records",
    "read_conll", "write_conll", "doc_to_bio",
    "read_brat", "read_brat_dir", "write_brat", "doc_to_brat",
    "doc_to_spacy_dict", "doc_from_spacy_dict", "to_spacy_doc", "from_spacy_doc",
    "docs_to_dataset", "dataset_to_docs", "load_docs_dataset",
    "parse_markup", "read_markup_files", "doc_to_markup",
]
