"""The ``defnlp`` command line: a thin layer over the Python API.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds
its parser and sets ``func`` (called with the parsed arguments, returns an exit code).
Errors raised as :class:`~defnlp.errors.DefnlpError` are printed with their hint and exit
with status 2; nothing else is caught, so bugs keep their traceback.

Every command takes ``--data-dir`` (the folder of public corpora, which the hint of a
:class:`~defnlp.errors.DataNotFoundError` names); ``-q`` turns progress bars off (they are off
anyway when standard error is not a terminal). Warnings of third-party libraries (transformers,
torch, tokenizers, huggingface_hub) are hidden unless ``-vv``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import warnings
from typing import Iterator, Sequence

from .. import __version__
from ..errors import DataNotFoundError, DefnlpError

log = logging.getLogger("defnlp")

#: sub-command modules, in the order they appear in ``defnlp --help``
COMMAND_MODULES = [
    "annotate",
    "train",
    "evaluate",
    "align",
    "render",
    "export",
    "info",
    "docs",
]

#: libraries whose Python warnings and log messages the command line keeps quiet (unless -vv)
QUIET_LIBRARIES = ("transformers", "torch", "tokenizers", "huggingface_hub", "datasets", "accelerate", "peft")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="defnlp",
        description="Entities, relations and FR-EN alignment for French and English defence texts.",
    )
    parser.add_argument("--version", action="version", version=f"defnlp {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors, no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue  # command not available in this build
            raise
        module.register(sub)
    for command in leaf_parsers(parser).values():
        command.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR",
                             help="folder of the public corpora (default: $DEFNLP_DATA_DIR, else ../shared/data)")
    return parser


def leaf_parsers(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every runnable command's parser by its name (``"annotate"``, ``"evaluate ner"``...).

    >>> sorted(leaf_parsers(build_parser()))[:3]
    ['align', 'annotate', 'docs']
    """
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.update(leaf_parsers(child, f"{prefix}{name} ") or {f"{prefix}{name}": child})
    return out


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    for library in QUIET_LIBRARIES:  # their "Some weights were not initialized..." is not the user's business
        logging.getLogger(library).setLevel(logging.DEBUG if verbose > 1 else logging.ERROR)


@contextlib.contextmanager
def quiet_libraries(verbose: int = 0) -> Iterator[None]:
    """Hide the Python warnings raised from inside :data:`QUIET_LIBRARIES` while a command runs
    (restored afterwards); defnlp's own warnings still show. ``-vv`` shows them all."""
    with warnings.catch_warnings():
        if verbose < 2:
            pattern = "|".join(QUIET_LIBRARIES)
            warnings.filterwarnings("ignore", module=rf"({pattern})(\.|$)")
        yield


@contextlib.contextmanager
def data_dir_option(path: str | None) -> Iterator[None]:
    """``--data-dir``: the data folder for this command (``DEFNLP_DATA_DIR`` while it runs)."""
    if path is None:
        yield
        return
    if not os.path.isdir(path):
        raise DataNotFoundError(f"--data-dir {path} is not a folder",
                                "give the folder that holds the public corpora (re3d/, winer_fr/, ...)")
    previous = os.environ.get("DEFNLP_DATA_DIR")
    os.environ["DEFNLP_DATA_DIR"] = os.path.abspath(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DEFNLP_DATA_DIR", None)
        else:
            os.environ["DEFNLP_DATA_DIR"] = previous


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    setup_logging(args.verbose, args.quiet)
    try:
        with quiet_libraries(args.verbose), data_dir_option(getattr(args, "data_dir", None)):
            return int(args.func(args) or 0)
    except DefnlpError as err:
        print(f"defnlp: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"defnlp: hint: {err.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("defnlp: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
