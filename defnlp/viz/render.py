"""Self-contained HTML reports of annotated documents and aligned FR/EN pairs.

:func:`render_html` turns records (``Doc`` objects, JSON dicts or JSONL lines) into one HTML
page: entities highlighted by label with a legend, relations listed and drawn as arcs between
mentions, aligned FR/EN pairs side by side (hovering a mention highlights its counterpart),
and error cards for lines that could not be shown. The page holds its CSS and script inline
and fetches nothing. :func:`render_doc` gives an HTML fragment for notebooks.

Every text goes through :func:`html.escape`; offsets are sliced in Python (code points), so
the browser never re-counts characters (JavaScript counts UTF-16 units, which differ for emoji).

>>> doc = Doc("Sébastien Lecornu signe avec la Belgique.", id="d1", lang="fr")
>>> _ = doc.add_entity(0, 17, "PER"); _ = doc.add_entity(32, 40, "LOC")
>>> page = render_html([doc], title="Demo")
>>> page.startswith("<!DOCTYPE html>") and page.count('data-e="') == 2
True
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import __version__
from ..doc import Doc
from ..errors import InputError
from ..scheme import DEFAULT_SCHEME, load_scheme
from .assets import content_security_policy, report_css, report_js
from .colors import label_class, label_css
from .records import AlignedRecord, DocRecord, ErrorRecord, Record, read_records, to_record
from .spans import Mark, nest_marks

__all__ = ["ReportStats", "render_doc", "render_file", "render_fragment", "render_html"]

log = logging.getLogger(__name__)

#: a mention quoted in a relation or link list is cut after this many characters
LIST_TEXT_CHARS = 80
#: relation and link lists longer than this start folded
OPEN_LIST_MAX = 50
#: the table of contents names at most this many records
TOC_MAX = 1000


def _esc(value: Any) -> str:
    """Escape text for HTML content and attribute values (CR kept as a character reference)."""
    return html.escape(str(value), quote=True).replace("\r", "&#13;")


def _short(text: str, limit: int = LIST_TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _score(score: float | None) -> str:
    return "" if score is None else f'<span class="score">{score:.2f}</span>'


@dataclass
class ReportStats:
    """What a report shows: counts of records, entities per label, relations, links."""

    documents: int = 0
    aligned: int = 0
    errors: int = 0
    entities: int = 0
    relations: int = 0
    links: int = 0
    labels: Counter = field(default_factory=Counter)
    bytes: int = 0

    def summary(self) -> str:
        """A one-line summary, e.g. ``2 documents · 1 aligned pair · 0 errors · 31 entities``."""

        def n(count: int, word: str) -> str:
            return f"{count:,} {word}{'' if count == 1 else 's'}"

        parts = [n(self.documents, "document"), n(self.aligned, "aligned pair"), n(self.errors, "error")]
        parts += [n(self.entities, "entity").replace("entitys", "entities"), n(self.relations, "relation")]
        if self.aligned:
            parts.append(n(self.links, "alignment link"))
        return " · ".join(parts)


class _ReportBuilder:
    """Renders records one by one into cards and keeps the counts for the legend."""

    def __init__(self, anchors: bool = True) -> None:
        self.stats = ReportStats()
        self.anchors = anchors
        self.toc: list[tuple[str, str, bool]] = []
        scheme = load_scheme(DEFAULT_SCHEME)
        self.symmetric = {name: rel.symmetric for name, rel in scheme.relations.items()}
        self.descriptions = dict(scheme.entities)
        self.label_order = list(scheme.entities)

    # ---- cards ----------------------------------------------------------------------------
    def card(self, record: Record) -> str:
        number = self.stats.documents + self.stats.aligned + self.stats.errors + 1
        anchor = f"r{number}"
        if isinstance(record, DocRecord):
            self.stats.documents += 1
            name = record.doc.id or f"document {number}"
            html_card = self._doc_card(record, anchor, name)
        elif isinstance(record, AlignedRecord):
            self.stats.aligned += 1
            name = record.id or f"pair {number}"
            html_card = self._pair_card(record, anchor, name)
        else:
            self.stats.errors += 1
            name = record.id or (f"line {record.line}" if record.line is not None else f"record {number}")
            html_card = self._error_card(record, anchor, name)
        self.toc.append((anchor, name, isinstance(record, ErrorRecord)))
        return html_card

    def _open_section(
        self, classes: str, anchor: str, kind: str, record_id: str | None, line: int | None, extra: str = ""
    ) -> str:
        attrs = f' id="{anchor}"' if self.anchors else ""
        attrs += f' data-kind="{kind}"{extra}'
        if record_id is not None:
            attrs += f' data-id="{_esc(record_id)}"'
        if line is not None:
            attrs += f' data-line="{line}"'
        return f'<section class="dnv-card {classes}"{attrs}>'

    def _doc_card(self, record: DocRecord, anchor: str, name: str) -> str:
        doc = record.doc
        meta = self._doc_meta(doc)
        return (
            self._open_section("dnv-docrec", anchor, "doc", doc.id, record.line)
            + f'<header><h2>{_esc(name)}</h2><span class="dnv-meta">{meta}</span></header>'
            + self._doc_body(doc)
            + "</section>\n"
        )

    def _pair_card(self, record: AlignedRecord, anchor: str, name: str) -> str:
        self.stats.links += len(record.links)
        level = f"{record.level}-level alignment" if record.level else "alignment"
        columns = []
        for side in ("fr", "en"):
            doc = record.doc(side)
            entity_links: dict[int, set[int]] = {}
            link_spans: dict[tuple[int, int], set[int]] = {}
            for k, link in enumerate(record.links):
                own = {(doc.entities[i].start, doc.entities[i].end) for i in link.entities(side)}
                for i in link.entities(side):
                    entity_links.setdefault(i, set()).add(k)
                for span in link.spans(side):
                    if span not in own:  # a span that is exactly a linked entity is shown by the entity
                        link_spans.setdefault(span, set()).add(k)
            marks = [Mark(start, end, ("a", start, end), rank=0, data=ids) for (start, end), ids in link_spans.items()]
            heading = f"{side.upper()} · {_esc(doc.id)}" if doc.id else side.upper()
            columns.append(
                f'<div class="dnv-col" data-side="{side}"><h3>{heading}'
                f' <span class="dnv-meta">{self._doc_meta(doc, with_lang=False)}</span></h3>'
                + self._doc_body(doc, side=side, link_marks=marks, entity_links=entity_links)
                + "</div>"
            )
        return (
            self._open_section("dnv-pair", anchor, "aligned", record.id, record.line, f' data-level="{_esc(record.level or "")}"')
            + f'<header><h2>{_esc(name)}</h2><span class="dnv-meta">{_esc(level)} · {len(record.links):,} links</span></header>'
            + '<div class="dnv-cols">'
            + "".join(columns)
            + "</div>"
            + self._links_list(record)
            + "</section>\n"
        )

    def _error_card(self, record: ErrorRecord, anchor: str, name: str) -> str:
        where = f"line {record.line}" if record.line is not None else "record"
        parts = [
            self._open_section("dnv-error", anchor, "error", record.id, record.line),
            f'<header><h2>{_esc(name)}</h2><span class="dnv-meta">{_esc(where)} could not be shown</span></header>',
            f'<p class="dnv-type">{_esc(record.error_type)}</p>',
            f'<p class="dnv-message">{_esc(record.message)}</p>',
        ]
        if record.hint:
            parts.append(f'<p class="dnv-hint">Hint: {_esc(record.hint)}</p>')
        if record.snippet:
            parts.append(f'<pre class="dnv-snippet">{_esc(record.snippet)}</pre>')
        parts.append("</section>\n")
        return "".join(parts)

    # ---- documents --------------------------------------------------------------------------
    def _doc_meta(self, doc: Doc, with_lang: bool = True) -> str:
        parts = [doc.lang] if doc.lang and with_lang else []
        parts += [f"{len(doc.text):,} characters", f"{len(doc.entities):,} entities", f"{len(doc.relations):,} relations"]
        return _esc(" · ".join(parts))

    def _doc_body(
        self,
        doc: Doc,
        side: str | None = None,
        link_marks: list[Mark] | None = None,
        entity_links: dict[int, set[int]] | None = None,
    ) -> str:
        self.stats.entities += len(doc.entities)
        self.stats.relations += len(doc.relations)
        self.stats.labels.update(e.label for e in doc.entities)
        lang = f' lang="{_esc(doc.lang)}"' if doc.lang else ""
        side_attr = f' data-side="{side}"' if side else ""
        arcs = '<svg class="dnv-arcs" aria-hidden="true"></svg>' if doc.relations else ""
        text = self._marked_text(doc, link_marks or [], entity_links or {})
        return (
            f'<div class="dnv-doc"{side_attr}><div class="dnv-textwrap">{arcs}'
            f'<div class="dnv-text"{lang}>{text}</div></div>{self._relations_list(doc)}</div>'
        )

    def _marked_text(self, doc: Doc, link_marks: list[Mark], entity_links: dict[int, set[int]]) -> str:
        text = doc.text
        marks = [Mark(e.start, e.end, ("e", i), rank=1) for i, e in enumerate(doc.entities)] + link_marks
        out: list[str] = []
        for op, mark, fragment in nest_marks(len(text), marks):
            if op == "text":
                start, end = mark
                out.append(_esc(text[start:end]))
            elif op == "close":
                out.append("</span>")
            elif mark.key[0] == "e":
                out.append(self._entity_open(doc, mark.key[1], fragment.first, fragment.last, entity_links))
            else:
                ids = " ".join(str(k) for k in sorted(mark.data))
                out.append(f'<span class="al" data-links="{ids}" title="alignment link {ids}">')
        return "".join(out)

    def _entity_open(self, doc: Doc, index: int, first: bool, last: bool, entity_links: dict[int, set[int]]) -> str:
        entity = doc.entities[index]
        classes = "ent " + label_class(entity.label) + ("" if last else " cut") + ("" if first else " cont")
        title = entity.label if entity.score is None else f"{entity.label} · {entity.score:.2f}"
        links = ""
        if index in entity_links:
            links = ' data-links="' + " ".join(str(k) for k in sorted(entity_links[index])) + '"'
        return f'<span class="{classes}" data-e="{index}" data-label="{_esc(entity.label)}"{links} title="{_esc(title)}">'

    def _mention(self, doc: Doc, index: int) -> str:
        entity = doc.entities[index]
        return f'<span class="ref {label_class(entity.label)}">{_esc(_short(entity.text))}</span>'

    def _relations_list(self, doc: Doc) -> str:
        if not doc.relations:
            return ""
        items = []
        for k, rel in enumerate(doc.relations):
            symmetric = self.symmetric.get(rel.label, False)
            arrow = f"←{rel.label}→" if symmetric else f"—{rel.label}→"
            items.append(
                f'<li data-r="{k}" data-head="{rel.head}" data-tail="{rel.tail}" data-label="{_esc(rel.label)}"'
                + (" data-symmetric" if symmetric else "")
                + ' tabindex="0">'
                + self._mention(doc, rel.head)
                + f'<span class="rl">{_esc(arrow)}</span>'
                + self._mention(doc, rel.tail)
                + _score(rel.score)
                + "</li>"
            )
        opened = " open" if len(items) <= OPEN_LIST_MAX else ""
        return f'<details class="dnv-rels"{opened}><summary>Relations ({len(items):,})</summary><ol>{"".join(items)}</ol></details>'

    def _links_list(self, record: AlignedRecord) -> str:
        if not record.links:
            return '<p class="dnv-empty">no alignment links</p>'
        items = []
        for k, link in enumerate(record.links):
            sides = []
            for side in ("fr", "en"):
                doc = record.doc(side)
                if link.entities(side):
                    texts = [doc.entities[i].text for i in link.entities(side)]
                else:
                    texts = [doc.text[start:end] for start, end in link.spans(side)]
                shown = " … ".join(_short(t, LIST_TEXT_CHARS // max(1, len(texts))) for t in texts) or "∅"
                sides.append(f'<span class="l{side}" lang="{side}">{_esc(shown)}</span>')
            items.append(
                f'<li data-links="{k}" tabindex="0">{sides[0]}<span class="rl">⇄</span>{sides[1]}{_score(link.score)}</li>'
            )
        opened = " open" if len(items) <= OPEN_LIST_MAX else ""
        return f'<details class="dnv-links"{opened}><summary>Alignment links ({len(items):,})</summary><ol>{"".join(items)}</ol></details>'

    # ---- page parts -------------------------------------------------------------------------
    def ordered_labels(self) -> list[str]:
        known = [label for label in self.label_order if label in self.stats.labels]
        return known + sorted(label for label in self.stats.labels if label not in self.descriptions)

    def legend(self) -> str:
        labels = self.ordered_labels()
        if not labels:
            return '<div class="dnv-legend"><span class="dnv-empty">no entities</span></div>'
        keys = []
        for label in labels:
            cls = label_class(label)
            title = self.descriptions.get(label, "label not in defence-v1")
            keys.append(
                f'<button type="button" class="dnv-key {cls}" data-class="{cls}" data-label="{_esc(label)}"'
                f' aria-pressed="true" title="{_esc(title)} (click to hide)">{_esc(label)}'
                f'<span class="dnv-count">{self.stats.labels[label]:,}</span></button>'
            )
        return (
            '<div class="dnv-legend" role="toolbar" aria-label="Entity labels">'
            '<span class="dnv-legend-title">Labels</span>' + "".join(keys) + "</div>"
        )

    def table_of_contents(self) -> str:
        if len(self.toc) < 2:
            return ""
        items = [
            f'<li><a href="#{anchor}">{"⚠ " if is_error else ""}{_esc(_short(name, 60))}</a></li>'
            for anchor, name, is_error in self.toc[:TOC_MAX]
        ]
        more = f"<li>… and {len(self.toc) - TOC_MAX:,} more</li>" if len(self.toc) > TOC_MAX else ""
        return f'<details class="dnv-toc"><summary>Contents ({len(self.toc):,} records)</summary><ol>{"".join(items)}{more}</ol></details>'

    def stylesheet(self) -> str:
        return report_css() + label_css(self.stats.labels.keys())


def _cards(builder: _ReportBuilder, records: Iterable[Any], progress: bool) -> list[str]:
    items = records if progress is False else tqdm(records, desc="render", unit="record", disable=None)
    return [builder.card(to_record(item)) for item in items]


def _page(records_or_docs: Iterable[Any] | Doc | dict, title: str, progress: bool) -> tuple[str, ReportStats]:
    if isinstance(records_or_docs, (Doc, dict, str, bytes)):
        records_or_docs = [records_or_docs]
    builder = _ReportBuilder(anchors=True)
    cards = _cards(builder, records_or_docs, progress)
    style = builder.stylesheet()
    script = report_js()
    page = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(content_security_policy(style, script))}">',
        f'<meta name="generator" content="defnlp {_esc(__version__)}">',
        f"<title>{_esc(title)}</title>",
        '<link rel="icon" href="data:,">',
        f"<style>{style}</style></head>",
        '<body><div class="dnv dnv-page">',
        f'<header><h1>{_esc(title)}</h1><p class="dnv-summary">{_esc(builder.stats.summary())}</p></header>',
        builder.legend(),
        builder.table_of_contents(),
        '<main class="dnv-records">',
        *cards,
        "</main></div>",
        f"<script>{script}</script>",
        "</body></html>\n",
    ]
    out = "\n".join(page)
    builder.stats.bytes = len(out.encode("utf-8", errors="replace"))
    log.info("rendered %s (%s bytes)", builder.stats.summary(), f"{builder.stats.bytes:,}")
    return out, builder.stats


def render_html(records_or_docs: Iterable[Any] | Doc | dict, title: str = "defnlp report", *, progress: bool = False) -> str:
    """A complete, self-contained HTML page for documents, aligned pairs and error lines.

    ``records_or_docs`` may hold ``Doc`` objects, JSON dicts (as written by ``defnlp annotate``
    and ``defnlp align``), JSONL lines, or records from :mod:`defnlp.viz.records`; a single
    ``Doc`` or dict works too. Items that cannot be shown become error cards.

    >>> page = render_html([{"id": "x", "text": "<script>alert(1)</script>"}])
    >>> "<script>alert(1)" in page
    False
    """
    return _page(records_or_docs, title, progress)[0]


def render_fragment(records_or_docs: Iterable[Any] | Doc | dict) -> str:
    """An HTML fragment (a ``<div>`` with its own style and script) for notebooks and web pages.

    >>> render_fragment(Doc("Brest")).startswith('<div class="dnv dnv-fragment">')
    True
    """
    if isinstance(records_or_docs, (Doc, dict, str, bytes)):
        records_or_docs = [records_or_docs]
    builder = _ReportBuilder(anchors=False)
    cards = _cards(builder, records_or_docs, progress=False)
    return (
        '<div class="dnv dnv-fragment">'
        f"<style>{builder.stylesheet()}</style>"
        + builder.legend()
        + "".join(cards)
        + f"<script>{report_js()}</script></div>"
    )


def render_doc(doc: Doc | dict) -> str:
    """The HTML fragment of one document (or one aligned-pair dict), for notebooks.

    >>> d = Doc("Le Griffon", lang="fr"); _ = d.add_entity(3, 10, "PLATFORM")
    >>> 'data-label="PLATFORM"' in render_doc(d)
    True
    """
    return render_fragment([doc])


def render_file(
    in_path: str | Path,
    out_html: str | Path,
    title: str | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> ReportStats:
    """Render a JSONL file of ``defnlp annotate`` / ``defnlp align`` output to an HTML page.

    Bad lines become error cards; ``limit`` renders only the first N records. Returns the
    counts of what the report shows (and its size in bytes).
    """
    in_path, out_html = Path(in_path), Path(out_html)
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be a positive number of records, got {limit}", "pass --limit 1 or more, or leave it out")
    page, stats = _page(read_records(in_path, limit=limit), title or f"defnlp report: {in_path.name}", progress)
    try:
        out_html.parent.mkdir(parents=True, exist_ok=True)
        with out_html.open("w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.write(page)
    except OSError as err:
        raise InputError(f"cannot write {out_html}: {err.strerror}", "choose a writable output path for --html") from err
    log.info("wrote %s", out_html)
    return stats

