"""``defnlp docs``: write the CLI reference (docs/cli.md) from the parser itself."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="write the command-line reference in Markdown")
    p.add_argument("--output", default="-", help="file to write (default: stdout)")
    p.set_defaults(func=run)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """The Markdown reference of every command and sub-command, from their argparse help."""
    import os

    from . import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width: fix it for a stable file
    try:
        parser = build_parser()
        return _reference(parser)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def _reference(parser: argparse.ArgumentParser) -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the parser by `defnlp docs --output docs/cli.md`; do not edit by hand.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]

    def walk(name: str, sub: argparse.ArgumentParser, depth: int) -> None:
        lines.extend([f"{'#' * depth} `defnlp {name}`", "", "```text", sub.format_help().rstrip(), "```", ""])
        for child, child_parser in _subparsers(sub).items():
            walk(f"{name} {child}", child_parser, depth + 1)

    for name, sub in _subparsers(parser).items():
        walk(name, sub, 2)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    text = cli_reference()
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0
