"""Benchmark: HTML report size and speed on large documents (Python render + Chromium load).

Builds synthetic French documents of increasing size with dense, partly nested entities and
relations, renders each with :func:`defnlp.viz.render_html` (median of 3 runs), and, when
Chromium is installed, measures how long headless Chromium takes to load the page and draw
every relation arc. Prints a table and writes ``benchmarks/results/viz_render.json``.

    PYTHONPATH=. python benchmarks/viz_render.py [--no-browser]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from defnlp import Doc, __version__
from defnlp.viz import render_html

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "viz_render.json"
SENTENCE = "Le ministre des Armées a rencontré son homologue belge à Bruxelles pour le Griffon. "
LABELS = ["PER", "LOC", "PLATFORM", "ORG"]


def synthetic_doc(n_chars: int, every: int) -> Doc:
    """A document of ``n_chars`` with an entity every ``every`` characters, a third of them with
    a nested entity, and a relation for every fifth entity."""
    text = (SENTENCE * (n_chars // len(SENTENCE) + 1))[:n_chars]
    doc = Doc(text, id=f"synthetic-{n_chars}", lang="fr")
    for k, start in enumerate(range(0, n_chars - 20, every)):
        doc.add_entity(start, start + 12 + k % 9, LABELS[k % 4], score=0.9)
        if k % 3 == 0:
            doc.add_entity(start + 2, start + 6, "NAT", score=0.8)
    for k in range(0, len(doc.entities) - 1, 5):
        doc.add_relation(k, k + 1, "PARTNER_OF", score=0.5)
    return doc


def load_browser():
    spec = importlib.util.spec_from_file_location("defnlp_test_browser", ROOT / "tests" / "browser.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module if module.find_chromium() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium load timings")
    args = parser.parse_args()
    browser_module = None if args.no_browser else load_browser()
    cases = [(20_000, 40), (200_000, 40), (200_000, 20)]
    rows = []
    chromium = browser_module.Chromium() if browser_module else None
    try:
        if chromium:
            chromium.start()
        with tempfile.TemporaryDirectory() as tmp:
            for n_chars, every in cases:
                doc = synthetic_doc(n_chars, every)
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    page = render_html([doc])
                    times.append(time.perf_counter() - start)
                row = {
                    "chars": n_chars,
                    "entities": len(doc.entities),
                    "relations": len(doc.relations),
                    "render_s": round(statistics.median(times), 3),
                    "html_bytes": len(page.encode("utf-8")),
                    "bytes_per_char": round(len(page.encode("utf-8")) / n_chars, 2),
                }
                if chromium:
                    path = Path(tmp) / f"{doc.id}.html"
                    path.write_text(page, encoding="utf-8")
                    tab = chromium.new_page()
                    start = time.perf_counter()
                    tab.goto(path.as_uri(), timeout=120)
                    tab.wait_for("document.querySelector('.dnv').dataset.ready === '1'", timeout=120)
                    row["chromium_load_s"] = round(time.perf_counter() - start, 3)
                    row["chromium_arcs"] = int(tab.evaluate("document.querySelector('.dnv').dataset.arcs"))
                    row["chromium_console_errors"] = len(tab.console_errors)
                    chromium.send("Target.closeTarget", {"targetId": tab.target})
                rows.append(row)
    finally:
        if chromium:
            chromium.close()

    columns = list(rows[0])
    print(" | ".join(f"{c:>16}" for c in columns))
    for row in rows:
        print(" | ".join(f"{row.get(c, ''):>16}" for c in columns))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "viz_render",
                "defnlp": __version__,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "chromium": chromium.version if chromium else None,
                "rows": rows,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
