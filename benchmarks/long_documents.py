"""Long documents: time and peak memory of annotating one document of 100 kB, 1 MB, 5 MB.

    python benchmarks/long_documents.py [--sizes 100kB,1MB,5MB] [--model defence-v2]
                                        [--relations PATH] [--output PATH]

Each size is one synthetic FR/EN defence document (press-release paragraphs with acronyms and
their expansions, quantities, programmes, bullets, contact lines, blank lines; the same
paragraph set at every size, drawn in a seeded order), annotated with NER and relations (the
default pipeline, or ``--model``/``--relations``) by ``nlp(text)`` in a fresh process. Reported
per size: wall and CPU seconds, seconds per MB, the ratio of seconds per MB to that of the
smallest size (the issue-16 contract: flat within 1.5× from 100 kB to 5 MB), and the worker's
peak RSS (``VmHWM``: the model included; contract ≤ 2 GB at 5 MB). CPU seconds are the fairer
measure on a shared machine. Writes benchmarks/results/long_documents.json (or ``--output``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, table  # noqa: E402

log = logging.getLogger("long_documents")

PARAGRAPHS = [
    "La Direction générale de l'armement (DGA) a commandé 12 Rafale à Dassault Aviation.\n"
    "La DGA a notifié le contrat le 3 mars 2024 pour un montant de 2,5 milliards d'euros.",
    "The North Atlantic Treaty Organization (NATO) met in Brussels on 14 June 2024.\n"
    "NATO defence ministers agreed to deliver 40 Patriot launchers to Ukraine.",
    "Naval Group a livré la frégate FREMM Lorraine à la Marine nationale à Toulon. Le ministre des Armées,\n"
    "Sébastien Lecornu, a salué le travail des équipes du Service de soutien de la flotte (SSF).",
    "COMMUNIQUÉ DE PRESSE\n\nLe Commissariat à l'énergie atomique (CEA) et Thales ont signé un accord-cadre\n"
    "sur le programme SCAF à Paris.",
    "The Defence Equipment and Support (DE&S) agency ordered 148 Challenger 3 tanks from Rheinmetall BAE\n"
    "Systems Land (RBSL) in Telford.\n\n- KNDS France\n- MBDA\n- Safran Electronics & Defense",
    "L'Organisation du traité de l'Atlantique Nord (OTAN) et l'Union européenne (UE) ont tenu un sommet à\n"
    "Vilnius. L'OTAN a salué l'engagement de la Pologne, qui a commandé 96 AH-64E Apache.",
    "Contact presse\nClaire Dumont\nChargée de communication\nTél. : 01 23 45 67 89\npresse@dga.defense.gouv.fr",
    "The Joint Strike Fighter (JSF) programme office confirmed that Lockheed Martin delivered 30 F-35A to\n"
    "the Royal Netherlands Air Force (RNLAF) at Leeuwarden in 2023.",
]

_SIZE_RE = re.compile(r"^\s*([\d.]+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(text: str) -> int:
    """``"100kB"`` → 100000 characters (decimal units; a bare number is characters)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 100kB, 1MB, 5MB)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "b").lower()])


def synthetic_document(n_chars: int, seed: int = 0) -> str:
    """About ``n_chars`` characters of defence press text: paragraphs in a seeded order, separated
    by a line break or a blank line, cut at a paragraph end."""
    rng = random.Random(seed)
    parts, size = [], 0
    while size < n_chars:
        part = rng.choice(PARAGRAPHS) + ("\n\n" if rng.random() < 0.6 else "\n")
        parts.append(part)
        size += len(part)
    return "".join(parts)


def worker(args: argparse.Namespace) -> dict:
    """Annotate one document of ``args.worker`` characters in this (fresh) process."""
    import defnlp

    nlp = defnlp.load(args.model, relations=args.relations if args.relations else True, device=args.device)
    nlp("Warm-up: la DGA a commandé 12 Rafale.")
    text = synthetic_document(int(args.worker))
    wall, cpu = time.perf_counter(), time.process_time()
    doc = nlp(text)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"chars": len(text), "bytes": len(text.encode("utf-8")), "seconds": wall, "cpu_seconds": cpu,
            "entities": len(doc.entities), "relations": len(doc.relations), "peak_rss_mb": peak_rss_mb(),
            "ner_model": nlp.info()["ner"]["name"], "relation_model": (nlp.info().get("relations") or {}).get("name")}


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: ru_maxrss (KiB on Linux/BSD, bytes on macOS)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)


def in_subprocess(args: argparse.Namespace, n_chars: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(n_chars), "--device", args.device]
    if args.model:
        cmd += ["--model", args.model]
    if args.relations:
        cmd += ["--relations", args.relations]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"worker for {n_chars} characters failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100kB,1MB,5MB", help="comma-separated document sizes (kB, MB; decimal)")
    parser.add_argument("--model", default=None, help="pipeline name or NER model directory (default: the shipped pipeline)")
    parser.add_argument("--relations", default=None, help="relation model directory (default: the pipeline's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per size")
    parser.add_argument("--output", default=None, help="JSON path (default: benchmarks/results/long_documents.json)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if not args.worker else logging.WARNING, format="%(asctime)s %(message)s")
    if args.worker:
        print(json.dumps(worker(args)))
        return
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    for n in sizes:
        log.info("annotating a %d-character document", n)
        row = in_subprocess(args, n)
        row["size"] = f"{n / 1e6:g} MB" if n >= 1e6 else f"{n / 1e3:g} kB"
        row["s_per_mb"] = row["seconds"] / (row["bytes"] / 1e6)
        row["cpu_s_per_mb"] = row["cpu_seconds"] / (row["bytes"] / 1e6)
        rows.append(row)
    for row in rows:
        row["ratio"] = row["s_per_mb"] / rows[0]["s_per_mb"]
        row["cpu_ratio"] = row["cpu_s_per_mb"] / rows[0]["cpu_s_per_mb"]
    print(table(rows, ["size", "chars", "entities", "relations", "seconds", "s_per_mb", "ratio", "cpu_s_per_mb",
                       "cpu_ratio", "peak_rss_mb"], title="one long document, NER + relations"))
    payload = {"benchmark": "long_documents", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
               "model": args.model or "default", "relations": args.relations or "default", "device": args.device,
               "rows": rows, "max_ratio": max(r["ratio"] for r in rows), "max_cpu_ratio": max(r["cpu_ratio"] for r in rows),
               "max_peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}
    path = Path(args.output) if args.output else RESULTS / "long_documents.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
