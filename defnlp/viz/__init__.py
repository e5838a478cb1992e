"""Visual HTML reports of defnlp output: entities, relations and aligned FR/EN pairs.

>>> from defnlp import Doc
>>> from defnlp.viz import render_html
>>> doc = Doc("Le Griffon", id="d1", lang="fr"); _ = doc.add_entity(3, 10, "PLATFORM")
>>> "Griffon" in render_html([doc], title="Example")
True

``render_file("out.jsonl", "report.html")`` does the same for a JSONL file (as the CLI
``defnlp render out.jsonl --html report.html`` does); ``display(doc)`` shows a document in a
notebook. See docs/visualisation.md.
"""

from .colors import label_color
from .notebook import HTMLView, display
from .records import AlignedRecord, AlignmentLink, DocRecord, ErrorRecord, read_records, to_record
from .render import ReportStats, render_doc, render_file, render_fragment, render_html

__all__ = [
    "AlignedRecord",
    "AlignmentLink",
    "DocRecord",
    "ErrorRecord",
    "HTMLView",
    "ReportStats",
    "display",
    "label_color",
    "read_records",
    "render_doc",
    "render_file",
    "render_fragment",
    "render_html",
    "to_record",
]
