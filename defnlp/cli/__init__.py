"""The ``defnlp`` command line: a thin layer over the Python API.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds
its parser and sets ``func`` (called with the parsed arguments, returns an exit code).
Errors raised as :class:`~defnlp.errors.DefnlpError` are printed with their hint and exit
with status 2; nothing else is caught, so bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from .. import __version__
from ..errors import DefnlpError

log = logging.getLogger("defnlp")

#: sub-command modules, in the order they appear in ``defnlp --help``
COMMAND_MODULES = [
    "annotate",
    "train",
    "evaluate",
    "align",
    "render",
    "info",
    "docs",
]


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
    return parser


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("urllib3", "filelock", "datasets", "huggingface_hub", "transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    setup_logging(args.verbose, args.quiet)
    try:
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
