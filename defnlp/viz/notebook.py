"""Show documents and aligned pairs inline in Jupyter and other rich front ends.

>>> from defnlp import Doc
>>> view = display(Doc("Brest", id="d1"))
>>> view._repr_html_().startswith('<div class="dnv')
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .render import render_fragment

__all__ = ["HTMLView", "display"]


class HTMLView:
    """Rendered HTML that notebooks display (``_repr_html_``) and that can be saved to a file."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"HTMLView({len(self.html):,} characters of HTML)"

    def save(self, path: str | Path) -> Path:
        """Write the fragment to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8", errors="replace")
        return path


def display(obj: Any) -> HTMLView:
    """Wrap a ``Doc``, an aligned-pair dict, or a list of them for notebook display.

    In Jupyter, end a cell with ``display(doc)`` (or call ``IPython.display.display`` on it).
    """
    return HTMLView(render_fragment(obj))
