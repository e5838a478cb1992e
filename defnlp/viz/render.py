"""Self-contained HTML reports of annotated documents and aligned FR/EN pairs.

:func:`render_html` turns records (``Doc`` objects, JSON dicts or JSONL lines) into one HTML
page: entities highlighted by label with a legend; beside each document, its relations as a
list, one row ``head —LABEL→ tail`` each (hovering or clicking a row lights both mentions and
draws one labelled arc between them, and the reverse from a mention); aligned FR/EN pairs as a
grid whose rows hold aligned sentences side by side (:mod:`defnlp.viz.rows`), with aligned
entities numbered and coloured alike on both sides; and error cards for lines that could not
be shown. The page holds its CSS and script inline and fetches nothing. :func:`render_doc`
gives an HTML fragment for notebooks.

Every text goes through :func:`html.escape`; offsets are sliced in Python (code points), so
the browser never re-counts characters (JavaScript counts UTF-16 units, which differ for emoji).

>>> doc = Doc("Sébastien Lecornu signe avec la Belgique.", id="d1", lang="fr")
>>> _ = doc.add_entity(0, 17, "PER"); _ = doc.add_entity(32, 40, "LOC")
>>> page = render_html([doc], title="Demo")
>>> page.startswith("<!DOCTYPE html>") and page.count('data-e="') == 2
True
"""

from __future__ import annotations

import bisect
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
from .records import AlignedRecord, AlignmentLink, DocRecord, ErrorRecord, Record, read_records, to_record
from .rows import Row, align_rows
from .spans import Mark, nest_marks

__all__ = ["ReportStats", "render_doc", "render_file", "render_fragment", "render_html"]

log = logging.getLogger(__name__)

#: a mention quoted in a relation or link list is cut after this many characters
LIST_TEXT_CHARS = 80
#: relation and link lists longer than this start folded
OPEN_LIST_MAX = 50
#: the table of contents names at most this many records
TOC_MAX = 1000
#: aligned entity pairs cycle through this many colours (their number tells them apart)
LINK_COLOURS = 8


def _esc(value: Any) -> str:
    """Escape text for HTML content and attribute values (CR kept as a character reference)."""
    return html.escape(str(value), quote=True).replace("\r", "&#13;")


def _short(text: str, limit: int = LIST_TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _score(score: float | None) -> str:
    return "" if score is None else f'<span class="score">{score:.2f}</span>'


#: the overlay in which the page's script draws the highlighted relations and alignment links
_ARCS = '<svg class="dnv-arcs" aria-hidden="true" focusable="false"></svg>'


def _entity_marks(doc: Doc) -> list[Mark]:
    return [Mark(e.start, e.end, ("e", i), rank=1) for i, e in enumerate(doc.entities)]


def _link_spans(record: AlignedRecord, link: AlignmentLink, side: str) -> list[tuple[int, int]]:
    """The character spans of one side of a link (its entities' spans when it lists no span)."""
    doc = record.doc(side)
    return list(link.spans(side)) or [(doc.entities[i].start, doc.entities[i].end) for i in link.entities(side)]


def _entity_link_numbers(record: AlignedRecord) -> dict[str, dict[int, int]]:
    """Number the entity-to-entity links of a pair 1, 2, ...: entity index -> number, per side.

    A link counts when both sides name entities and its spans are exactly theirs (entity-level
    alignment; a word link that happens to cover a one-word entity too). Sentence links, which
    list the entities inside their sentences, do not. Both mentions of a link show its number
    and colour in the text, so aligned entities are matched without hovering.
    """
    numbers: dict[str, dict[int, int]] = {"fr": {}, "en": {}}
    count = 0
    for link in record.links:
        if not (link.fr_entities and link.en_entities):
            continue
        exact = all(
            set(link.spans(side)) <= {record.doc(side).entities[i].span for i in link.entities(side)} for side in ("fr", "en")
        )
        if not exact:
            continue
        count += 1
        for side in ("fr", "en"):
            for i in link.entities(side):
                numbers[side].setdefault(i, count)
    return numbers


def _bucket(marks: list[Mark], ranges: list[tuple[int, int]]) -> list[list[Mark]]:
    """The marks that overlap each range (``ranges`` tile a text in order; empty ones get none)."""
    order = [k for k, (a, b) in enumerate(ranges) if b > a]
    starts = [ranges[k][0] for k in order]
    out: list[list[Mark]] = [[] for _ in ranges]
    for mark in marks:
        first = max(0, bisect.bisect_right(starts, mark.start) - 1)
        last = bisect.bisect_left(starts, mark.end) - 1
        for position in range(first, last + 1):
            out[order[position]].append(mark)
    return out


def _entity_open(
    doc: Doc, index: int, first: bool, last: bool, entity_links: dict[int, set[int]], badges: dict[int, int]
) -> str:
    entity = doc.entities[index]
    classes = "ent " + label_class(entity.label) + ("" if last else " cut") + ("" if first else " cont")
    title = entity.label if entity.score is None else f"{entity.label} · {entity.score:.2f}"
    extra = ""
    if index in entity_links:
        extra += ' data-links="' + " ".join(str(k) for k in sorted(entity_links[index])) + '"'
    if index in badges:
        number = badges[index]
        classes += f" lk k{(number - 1) % LINK_COLOURS}"
        extra += f' data-n="{number}"'
        title += f" · aligned pair {number}"
    return f'<span class="{classes}" data-e="{index}" data-label="{_esc(entity.label)}"{extra} title="{_esc(title)}">'


def _marked(
    doc: Doc, marks: list[Mark], start: int, end: int, entity_links: dict[int, set[int]], badges: dict[int, int]
) -> str:
    """``doc.text[start:end]`` as HTML, with the marks clipped to the range.

    A mark cut by the range keeps its identity (``data-e``); its label shows after the piece
    where it really ends and its link number before the piece where it really starts.
    """
    text = doc.text
    clipped = []
    for mark in marks:
        a, b = max(mark.start, start), min(mark.end, end)
        if a < b:
            cut = (mark.start < start, mark.end > end)
            clipped.append(Mark(a - start, b - start, mark.key, mark.rank, (mark.data, *cut)))
    out: list[str] = []
    for op, mark, fragment in nest_marks(end - start, clipped):
        if op == "text":
            a, b = mark
            out.append(_esc(text[start + a : start + b]))
        elif op == "close":
            out.append("</span>")
        elif mark.key[0] == "e":
            _, cut_left, cut_right = mark.data
            first, last = fragment.first and not cut_left, fragment.last and not cut_right
            out.append(_entity_open(doc, mark.key[1], first, last, entity_links, badges))
        else:
            ids = " ".join(str(k) for k in sorted(mark.data[0]))
            out.append(f'<span class="al" data-links="{ids}" title="alignment link {ids}">')
    return "".join(out)


def _cell(
    doc: Doc,
    marks: list[Mark],
    start: int,
    end: int,
    entity_links: dict[int, set[int]],
    badges: dict[int, int],
    side: str,
) -> str:
    """A ``.dnv-text`` block: a whole document, or one side of a row of an aligned pair."""
    lang = f' lang="{_esc(doc.lang)}"' if doc.lang else ""
    if not side:
        return f'<div class="dnv-text"{lang}>{_marked(doc, marks, start, end, entity_links, badges)}</div>'
    if start == end:
        return f'<div class="dnv-text dnv-none" role="cell" data-side="{side}" title="no counterpart on this side"></div>'
    # the blank lines between paragraphs would leave empty lines at the bottom of a row: they
    # stay in the DOM (the cells of a side still give back doc.text) but are not displayed
    shown = max(len(doc.text[:end].rstrip()), start + 1, *(m.end for m in marks if m.start < end))
    shown = min(shown, end)
    hidden = f'<span class="dnv-ws">{_esc(doc.text[shown:end])}</span>' if shown < end else ""
    return (
        f'<div class="dnv-text" role="cell" data-side="{side}"{lang} data-start="{start}" data-end="{end}">'
        f"{_marked(doc, marks, start, shown, entity_links, badges)}{hidden}</div>"
    )


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
        self._count(doc)
        marks = _entity_marks(doc)
        text = _cell(doc, marks, 0, len(doc.text), {}, {}, "")
        relations = self._relations(doc, side=None)
        layout = "dnv-doc has-rels" if doc.relations else "dnv-doc"
        return (
            self._open_section("dnv-docrec", anchor, "doc", doc.id, record.line)
            + f'<header><h2>{_esc(name)}</h2><span class="dnv-meta">{self._doc_meta(doc)}</span></header>'
            + (_ARCS if doc.relations else "")
            + f'<div class="{layout}"><div class="dnv-textwrap">{text}</div>{relations}</div>'
            + "</section>\n"
        )

    def _pair_card(self, record: AlignedRecord, anchor: str, name: str) -> str:
        self.stats.links += len(record.links)
        level = f"{record.level}-level alignment" if record.level else "alignment"
        badges = _entity_link_numbers(record)
        marks, entity_links, headers = {}, {}, []
        for side in ("fr", "en"):
            doc = record.doc(side)
            self._count(doc)
            own_links: dict[int, set[int]] = {}
            link_spans: dict[tuple[int, int], set[int]] = {}
            for k, link in enumerate(record.links):
                own = {(doc.entities[i].start, doc.entities[i].end) for i in link.entities(side)}
                for i in link.entities(side):
                    own_links.setdefault(i, set()).add(k)
                for span in link.spans(side):
                    if span not in own:  # a span that is exactly a linked entity is shown by the entity
                        link_spans.setdefault(span, set()).add(k)
            marks[side] = _entity_marks(doc) + [
                Mark(start, end, ("a", start, end), rank=0, data=ids) for (start, end), ids in link_spans.items()
            ]
            entity_links[side] = own_links
            heading = f"{side.upper()} · {_esc(doc.id)}" if doc.id else side.upper()
            headers.append(
                f'<div class="dnv-colhead" role="columnheader" data-side="{side}"><h3>{heading}</h3>'
                f'<span class="dnv-meta">{self._doc_meta(doc, with_lang=False)}</span></div>'
            )
        grid = [
            f'<div class="dnv-grid" role="table" aria-label="{_esc(name)}: aligned sentences, French and English side by side">',
            '<div class="dnv-row dnv-rowhead" role="row"><span class="dnv-n" role="columnheader" title="row">#</span>'
            + "".join(headers)
            + "</div>",
        ]
        spans = [(_link_spans(record, link, "fr"), _link_spans(record, link, "en")) for link in record.links]
        rows = align_rows(record.fr, record.en, spans, sentence_level=record.level == "sentence")
        rows = rows or [Row((0, 0), (0, 0))]  # two empty texts: one empty row
        buckets = {side: _bucket(marks[side], [getattr(row, side) for row in rows]) for side in ("fr", "en")}
        for number, row in enumerate(rows, start=1):
            cells = []
            for side in ("fr", "en"):
                start, end = getattr(row, side)
                row_marks = buckets[side][number - 1]
                cells.append(_cell(record.doc(side), row_marks, start, end, entity_links[side], badges[side], side))
            grid.append(
                f'<div class="dnv-row" role="row" data-row="{number}"><span class="dnv-n" role="rowheader">{number}</span>'
                + "".join(cells)
                + "</div>"
            )
        grid.append("</div>")
        relations = [self._relations(record.doc(side), side=side) for side in ("fr", "en")]
        relation_block = f'<div class="dnv-relcols">{"".join(relations)}</div>' if any(relations) else ""
        return (
            self._open_section("dnv-pair", anchor, "aligned", record.id, record.line, f' data-level="{_esc(record.level or "")}"')
            + f'<header><h2>{_esc(name)}</h2><span class="dnv-meta">{_esc(level)} · {len(record.links):,} links'
            + f" · {len(rows):,} rows</span></header>"
            + _ARCS
            + "".join(grid)
            + relation_block
            + self._links_list(record, badges)
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
    def _count(self, doc: Doc) -> None:
        self.stats.entities += len(doc.entities)
        self.stats.relations += len(doc.relations)
        self.stats.labels.update(e.label for e in doc.entities)

    def _doc_meta(self, doc: Doc, with_lang: bool = True) -> str:
        parts = [doc.lang] if doc.lang and with_lang else []
        parts += [f"{len(doc.text):,} characters", f"{len(doc.entities):,} entities", f"{len(doc.relations):,} relations"]
        return _esc(" · ".join(parts))

    def _relations(self, doc: Doc, side: str | None) -> str:
        """The relation list of a document: one row ``head —LABEL→ tail`` per relation.

        Beside the text for a document, under the grid (one list per side) for an aligned
        pair. Rows are in reading order (by the first of their two mentions); ``data-r`` keeps
        the relation's index in ``doc.relations``.
        """
        if not doc.relations:
            return ""

        def position(k: int) -> tuple[int, int, int, int]:
            rel = doc.relations[k]
            head, tail = doc.entities[rel.head], doc.entities[rel.tail]
            return (min(head.start, tail.start), head.start, tail.start, k)

        items = []
        for k in sorted(range(len(doc.relations)), key=position):
            rel = doc.relations[k]
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
        count = f"{len(items):,}"
        if side is None:  # beside the text: a panel that scrolls on its own
            return (
                f'<aside class="dnv-rels" aria-label="Relations ({count})"><h3>Relations <span class="dnv-count">{count}</span>'
                f'<span class="dnv-hint-inline">hover or click a row</span></h3><ol>{"".join(items)}</ol></aside>'
            )
        opened = " open" if len(items) <= OPEN_LIST_MAX else ""
        return (
            f'<details class="dnv-rels" data-side="{side}" lang="{side}"{opened}><summary>{side.upper()} relations ({count})</summary>'
            f'<ol>{"".join(items)}</ol></details>'
        )

    def _mention(self, doc: Doc, index: int) -> str:
        entity = doc.entities[index]
        return (
            f'<button type="button" class="ref {label_class(entity.label)}" data-goto="{index}" title="show in the text">'
            f'{_esc(_short(entity.text, LIST_TEXT_CHARS // 2))}<span class="lab">{_esc(entity.label)}</span></button>'
        )

    def _links_list(self, record: AlignedRecord, badges: dict[str, dict[int, int]]) -> str:
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
            number = next((badges["fr"][i] for i in link.fr_entities if i in badges["fr"]), None)
            badge = f'<span class="nb k{(number - 1) % LINK_COLOURS}">{number}</span>' if number is not None else ""
            items.append(
                f'<li data-links="{k}" tabindex="0">{badge}{sides[0]}<span class="rl">⇄</span>{sides[1]}{_score(link.score)}</li>'
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

