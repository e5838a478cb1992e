"""``defnlp render``: an HTML report of ``defnlp annotate`` / ``defnlp align`` output.

    defnlp render out.jsonl --html report.html [--title T] [--limit N]

A thin layer over :func:`defnlp.viz.render_file`; see docs/visualisation.md.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``render`` sub-command."""
    parser = subparsers.add_parser(
        "render",
        help="write a self-contained HTML report of annotated or aligned JSONL",
        description=(
            "Render annotated documents (defnlp annotate) and aligned FR/EN pairs (defnlp align) as one "
            "self-contained HTML page: entities by label with a legend, relations listed and drawn, "
            "aligned pairs side by side. Bad lines show as error cards. The page fetches nothing."
        ),
    )
    parser.add_argument("input", metavar="INPUT.jsonl", help="JSONL written by `defnlp annotate` or `defnlp align`")
    parser.add_argument("--html", required=True, metavar="OUT.html", help="the HTML file to write")
    parser.add_argument("--title", help="page title (default: the input file name)")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="render only the first N records")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render ``args.input`` to ``args.html`` and print what the report shows."""
    from ..viz import render_file

    stats = render_file(args.input, args.html, title=args.title, limit=args.limit, progress=not getattr(args, "quiet", False))
    print(f"wrote {args.html} ({stats.bytes:,} bytes): {stats.summary()}")
    return 0
