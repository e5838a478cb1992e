"""Stylesheet and script of the HTML reports (``defnlp.viz``), inlined into every page."""
