"""The report's CSS and JavaScript, read from ``defnlp/resources/viz`` and inlined into pages.

A report never fetches anything: styles and script travel inside the HTML file, and the page's
Content-Security-Policy allows exactly those two blocks (by their sha256) and nothing else, so
even a text that slipped past escaping could not load or run code.

>>> "</script" in report_js().lower()
False
>>> content_security_policy("body{}", "1;").startswith("default-src 'none'")
True
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources

__all__ = ["content_security_policy", "report_css", "report_js"]


@cache
def _asset(name: str) -> str:
    text = resources.files("defnlp.resources.viz").joinpath(name).read_text(encoding="utf-8")
    if "</" + ("style" if name.endswith(".css") else "script") in text.lower():
        raise ValueError(f"{name} may not contain a closing tag: it is inlined into the page")
    return text


def report_css() -> str:
    """The report stylesheet (scoped under ``.dnv``)."""
    return _asset("report.css")


def report_js() -> str:
    """The report script (arcs, hover highlighting, legend toggles)."""
    return _asset("report.js")


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(style: str, script: str) -> str:
    """A CSP that allows only the given inline ``<style>`` and ``<script>`` texts, and no fetch."""
    return (
        "default-src 'none'; "
        f"style-src {_sha256_source(style)}; "
        f"script-src {_sha256_source(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
