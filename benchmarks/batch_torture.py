"""Batch contract at scale (issue 16): a salted JSONL, an uninterrupted run, three ``kill -9``.

    python benchmarks/batch_torture.py [--model defence-v2] [--records 100000] [--seed 16]
                                       [--kills 3] [--workdir DIR] [--keep] [--threads N]

Writes a JSONL file of ``--records`` records (plus the blank lines salted between them, which
are not records), deterministic from ``--seed``: mostly short FR/EN defence
sentences (a few templates filled with numbers, names, places), salted at fixed rates with every
bad-record class (``CLASSES``: lone surrogates in the text, the id or another field; NaN,
Infinity and overflowing numbers; texts and ids of the wrong type; values that are not objects;
truncated lines; lines that are not UTF-8; empty texts; JSON nested too deeply; blank lines,
which are not records; duplicate ids), a few huge records (``--huge-mb`` of text each, annotated)
and one line over the record size limit (``DEFNLP_MAX_RECORD_BYTES`` is set to ``--record-limit-mb``
for the runs, so that the line stays small enough to write).

Then ``python -m defnlp annotate IN -o OUT --model MODEL`` runs once uninterrupted (the
reference), and once into another output that is killed with ``SIGKILL`` ``--kills`` times, at
spread points (after 20 %, 50 %, 80 % of the records for three kills, watching the line count of
``OUT.partial``, and at least one record after the point the run resumed from), the same command
being re-run after each kill until it completes. Checked and reported:

- output lines == input records (blank lines are not records, docs/batch.md), in both outputs;
- every line is RFC 8259 JSON: UTF-8, ``json.loads`` refusing NaN/Infinity, an object, a string
  id, no lone surrogate in any string;
- the ids, in input order, are the ids the contract gives each record: its own id when usable
  (a string, or an integer as its digits) and the line parses as strict JSON, else ``file:line``
  (a NaN line's id is not read: the whole line is refused, as ``iter_jsonl_records`` documents);
- per class: records, error records and error types, against what the contract expects;
- the interrupted output is byte-identical to the reference (the records carry no run-dependent
  field: no time, no run id; scores are rounded to 4 decimals);
- where each rerun resumed from (the ledger's records with their bytes on disk, checked against
  the rerun's ``resuming ...`` log line and the final summary's ``resumed_from``), each run's wall
  time and records/s.

``--model`` defaults to the shipped pipeline (NER + relations). ``--model DIR`` with the directory
of a tiny model (as ``tests/conftest.py`` trains one, on the ``tiny-random-e5`` encoder) exercises
the same batch machinery (readers, writer, ledger, resume) in a fraction of the time:

    OMP_NUM_THREADS=1 python benchmarks/batch_torture.py --model /tmp/tiny-ner --records 3000

Writes benchmarks/results/batch_torture.json (``--output`` to change) and exits 1 when a check
fails. The work folder (a temporary one unless ``--workdir``) is removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save  # noqa: E402

log = logging.getLogger("batch_torture")

ROOT = Path(__file__).resolve().parents[1]
SURROGATE = re.compile("[\ud800-\udfff]")
KILL_POINTS = {1: [0.5], 2: [0.3, 0.7], 3: [0.2, 0.5, 0.8]}

# ---- the records --------------------------------------------------------------------------------
PEOPLE = ["Claire Dumont", "John Carter", "Sébastien Lecornu", "Amélie Rousseau", "Tom Walker", "Li Wei"]
COMPANIES = ["KNDS", "Thales", "Naval Group", "Dassault Aviation", "MBDA", "Safran", "Rheinmetall", "BAE Systems"]
PLATFORMS = ["Griffon", "Rafale", "Caesar", "Serval", "Jaguar", "FREMM", "Challenger 3", "Patriot"]
CITIES_FR = ["Brest", "Toulon", "Paris", "Bourges", "Lorient", "Cherbourg"]
CITIES_EN = ["London", "Brussels", "Vilnius", "Warsaw", "Telford", "Portsmouth"]
COUNTRIES = ["Ukraine", "Poland", "Estonia", "Greece", "India", "Brazil"]
MONTHS_FR = ["janvier", "mars", "mai", "juin", "septembre", "novembre"]
MONTHS_EN = ["January", "March", "May", "June", "September", "November"]

TEMPLATES = [
    ("fr", "La DGA a commandé {n} {platform} à {company} le {day} {month_fr} {year}."),
    ("fr", "Le ministre des Armées, {person}, a visité {city_fr} avec {company}."),
    ("fr", "{company} et {company2} ont signé un contrat de {n} millions d'euros pour le programme {platform}."),
    ("fr", "La Marine nationale a reçu {n} {platform} à {city_fr} ; {person} a salué les équipes."),
    ("en", "{company} delivered {n} {platform} guns to {country} in {year}."),
    ("en", "The Minister of Defence, {person}, visited {city_en} with {company}."),
    ("en", "NATO ministers met in {city_en} on {day} {month_en} {year} and agreed to send {n} {platform} to {country}."),
    ("en", "{country} ordered {n} {platform} from {company} for {n2} million dollars."),
]


def sentence(rng: random.Random) -> tuple[str, str]:
    """One ordinary short FR or EN defence sentence: (lang, text)."""
    lang, template = rng.choice(TEMPLATES)
    company, company2 = rng.sample(COMPANIES, 2)
    return lang, template.format(
        n=rng.randint(2, 400), n2=rng.randint(10, 9000), platform=rng.choice(PLATFORMS), company=company,
        company2=company2, person=rng.choice(PEOPLE), city_fr=rng.choice(CITIES_FR), city_en=rng.choice(CITIES_EN),
        country=rng.choice(COUNTRIES), day=rng.randint(1, 28), month_fr=rng.choice(MONTHS_FR),
        month_en=rng.choice(MONTHS_EN), year=rng.randint(1995, 2026),
    )


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


@dataclass
class Line:
    """One input line: its bytes (without the newline; emptied once written), its class, and the
    record's own id as the output must show it (a string), or None where the output record gets the
    default id ``file:line`` (no id, an unusable id, or a line that does not parse as strict JSON)."""

    data: bytes
    cls: str
    own_id: str | None = None


@dataclass
class Class:
    """A class of input lines: how often it is drawn, how one is made, what the output must be."""

    name: str
    rate: float  # share of the lines (the rest are ordinary sentences)
    make: Callable[[int, random.Random], tuple[bytes, str | None]]  # (line, own id or None) for line index i
    errors: frozenset[str] = frozenset()  # the error types allowed; empty: the record is annotated
    record: bool = True  # False: not a record (blank lines)
    description: str = ""


def _good(i: int, rng: random.Random, **fields: Any) -> dict[str, Any]:
    lang, text = sentence(rng)
    obj = {"id": f"d{i}", "text": text, "lang": lang, "n": i}
    obj.update(fields)
    return obj


def _ascii(s: str) -> bytes:
    return s.encode("ascii")


def _utf8(s: str) -> bytes:
    return s.encode("utf-8")


def _truncated(i: int, rng: random.Random) -> tuple[bytes, str | None]:
    line = dumps(_good(i, rng, id=f"tr{i}"))
    cut = rng.randint(1, len(line) - 1)  # a prefix of an object: never JSON, never blank (starts with "{")
    return _utf8(line[:cut].rstrip("\r")), None


def _deep(i: int, rng: random.Random) -> tuple[bytes, str | None]:
    depth = 5_000  # far past Python's recursion limit
    return _ascii('{"id": "deep%d", "text": %s"x"%s}' % (i, "[" * depth, "]" * depth)), None


def _not_object(i: int, rng: random.Random) -> tuple[bytes, str | None]:
    return _utf8(rng.choice(['[1, 2]', '"La DGA à Brest."', "42", "null", "true", "[]"])), None


def _dup(i: int, rng: random.Random) -> tuple[bytes, str | None]:
    rid = f"dup-{rng.randint(0, 9)}"  # ten ids, each met many times
    return _utf8(dumps(_good(i, rng, id=rid))), rid


E_FORMAT = frozenset({"RecordFormatError"})
# the JSONL reader refuses lone surrogates as a RecordFormatError; other readers' records get an
# UnpairedSurrogateError (defnlp.batch.output_safe): either is the contract's error record
E_SURROGATE = frozenset({"UnpairedSurrogateError", "RecordFormatError"})

CLASSES: list[Class] = [
    # controls: records the contract annotates
    Class("int id", 0.004, lambda i, r: (_utf8(dumps(_good(i, r, id=i))), str(i)),
          description="an integer id (becomes its digits)"),
    Class("float id 7.0", 0.002, lambda i, r: (_utf8(dumps(_good(i, r, id=float(i)))), str(i)),
          description="an integral float id (pandas): its digits"),
    Class("no id", 0.004, lambda i, r: (_utf8(dumps({k: v for k, v in _good(i, r).items() if k != "id"})), None),
          description="no id: the default file:line"),
    Class("paired surrogates", 0.003,
          lambda i, r: (_ascii('{"id": "ps%d", "text": "La DGA \\ud83d\\ude80 Brest \\ud83c\\uddeb\\ud83c\\uddf7."}' % i),
                        f"ps{i}"), description="escaped emoji pairs: valid text"),
    Class("CRLF", 0.003, lambda i, r: (_utf8(dumps(_good(i, r, id=f"cr{i}")) + "\r"), f"cr{i}"),
          description="a line ending in \\r\\n"),
    Class("duplicate id", 0.01, _dup, description="ten ids, each used by many records"),
    # lone surrogates
    Class("surrogate in text", 0.003,
          lambda i, r: (_ascii('{"id": "st%d", "text": "Brest \\ud800 et Toulon"}' % i), f"st{i}"), E_SURROGATE,
          description='"\\ud800" in the text'),
    Class("surrogate in id", 0.003, lambda i, r: (_ascii('{"id": "si%d\\udc80", "text": "Brest"}' % i), None),
          E_SURROGATE, description='"\\udc80" in the id'),
    Class("surrogate in field", 0.003,
          lambda i, r: (_ascii('{"id": "sf%d", "text": "Brest", "note": ["\\udfff"]}' % i), f"sf{i}"),
          E_SURROGATE, description="a lone surrogate in an extra field"),
    # numbers JSON does not have
    Class("NaN", 0.003, lambda i, r: (_utf8('{"id": "n%d", "text": "Brest", "score": NaN}' % i), None), E_FORMAT,
          description="NaN in an extra field"),
    Class("Infinity", 0.003,
          lambda i, r: (_utf8('{"id": "inf%d", "text": "Brest", "w": [1, -Infinity], "v": Infinity}' % i), None),
          E_FORMAT, description="±Infinity in extra fields"),
    Class("overflow", 0.002,
          lambda i, r: (_utf8('{"id": "of%d", "text": "Brest", "x": %s}' % (i, r.choice(["1e999", "-1e400", "9" * 5000]))),
                        None), E_FORMAT, description="1e999, or an integer of 5,000 digits"),
    # wrong types
    Class("text not a string", 0.004,
          lambda i, r: (_utf8('{"id": "tt%d", "text": %s}' % (i, r.choice(["42", "3.5", "null", '["Brest"]', '{"t": "x"}',
                                                                              "true"]))), f"tt{i}"),
          E_FORMAT, description="text: number, null, list, object, boolean"),
    Class("no text", 0.002, lambda i, r: (_utf8('{"id": "nt%d", "body": "Brest"}' % i), f"nt{i}"), E_FORMAT,
          description="no text field"),
    Class("id of a wrong type", 0.004,
          lambda i, r: (_utf8('{"id": %s, "text": "Brest"}' % r.choice(['{"nested": %d}' % i, "[%d]" % i, "true", "%d.5" % i])),
                        None), E_FORMAT, description="id: object, list, boolean, fractional number"),
    Class("not an object", 0.003, _not_object, E_FORMAT, description="a JSON array, string, number, null, true"),
    # broken lines
    Class("truncated", 0.004, _truncated, E_FORMAT, description="a record cut at a random byte"),
    Class("not UTF-8", 0.003,
          lambda i, r: (b'{"id": "lat%d", "text": "Arm\xe9es \xe0 Brest"}' % i, None), frozenset({"InputEncodingError"}),
          description="Latin-1 bytes in the line"),
    Class("deep nesting", 0.0005, _deep, E_FORMAT, description="a text nested 5,000 lists deep"),
    Class("empty text", 0.004,
          lambda i, r: (_ascii('{"id": "e%d", "text": %s}' % (i, r.choice(['""', '"   "', '"\\n\\t "']))), f"e{i}"),
          frozenset({"EmptyInputError"}), description="an empty or blank text"),
    Class("blank line", 0.005, lambda i, r: (_ascii(r.choice(["", "   ", "\t", " \r"])), None), record=False,
          description="a blank line: not a record"),
]
HUGE = "huge record"
TOO_LARGE = "over the size limit"
ORDINARY = "ordinary"


def write_salted(path: Path, n_records: int, seed: int, huge: int = 3, huge_mb: float = 2.0,
                 too_large_mb: float | None = None) -> list[Line]:
    """Write ``n_records`` salted JSONL records to ``path``, with blank lines (not records) salted
    between them; return every line written (class, own id).

    ``huge`` records of ``huge_mb`` MB of text are placed at spread records, and one line of
    ``too_large_mb`` MB (over the record limit the runs are given) at two thirds.
    """
    rng = random.Random(seed)
    huge_at = {int(n_records * (k + 1) / (huge + 1)) for k in range(huge)} if n_records > 2 * huge else set()
    too_large_at = (2 * n_records) // 3 + 1 if too_large_mb else -1
    cumulative, acc = [], 0.0
    for cls in CLASSES:
        acc += cls.rate
        cumulative.append((acc, cls))
    not_records = {c.name for c in CLASSES if not c.record}
    lines: list[Line] = []
    records = 0
    with open(path, "wb") as fh:
        while records < n_records:
            i = len(lines)  # line index: ids stay unique whatever the blank lines
            if records in huge_at:
                unit = " ".join(sentence(rng)[1] for _ in range(20)) + "\n\n"
                text = unit * max(1, int(huge_mb * 1e6 / len(unit.encode("utf-8"))))
                line = Line(_utf8(dumps({"id": f"huge{i}", "text": text})), HUGE, f"huge{i}")
                huge_at.discard(records)
            elif records == too_large_at:
                text = "La DGA à Brest. " * int(too_large_mb * 1e6 / 17 + 1)
                line = Line(_utf8(dumps({"id": f"big{i}", "text": text})), TOO_LARGE, None)
                too_large_at = -1
            else:
                x = rng.random()
                cls = next((c for bound, c in cumulative if x < bound), None)
                if cls is None:
                    line = Line(_utf8(dumps(_good(i, rng))), ORDINARY, f"d{i}")
                else:
                    data, own = cls.make(i, rng)
                    line = Line(data, cls.name, own)
            assert b"\n" not in line.data
            fh.write(line.data + b"\n")
            line.data = b""  # written: keep the class and the id only
            lines.append(line)
            records += line.cls not in not_records
    return lines


def expected_records(lines: list[Line], file_name: str) -> list[tuple[str, str]]:
    """(class, id) of each output record the contract gives, in order: one per non-blank line,
    with the record's own id when usable, else ``file:line``."""
    blank = {c.name for c in CLASSES if not c.record}
    return [(ln.cls, ln.own_id if ln.own_id is not None else f"{file_name}:{k}")
            for k, ln in enumerate(lines, 1) if ln.cls not in blank]


def class_spec(name: str) -> tuple[frozenset[str], str]:
    if name == HUGE:
        return frozenset(), "annotated, huge text"
    if name == TOO_LARGE:
        return frozenset({"RecordTooLargeError"}), "one line over DEFNLP_MAX_RECORD_BYTES"
    if name == ORDINARY:
        return frozenset(), "a short FR/EN sentence"
    cls = next(c for c in CLASSES if c.name == name)
    return cls.errors, cls.description


# ---- the output checks ---------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def read_strict(path: Path) -> tuple[list[dict[str, Any] | None], list[str]]:
    """The records of a JSONL output (None where a line is not strict JSON) and the problems found."""
    records: list[dict[str, Any] | None] = []
    problems: list[str] = []
    with open(path, "rb") as fh:
        for k, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                problems.append(f"line {k}: no newline at the end of the file")
            try:
                obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
                if not isinstance(obj, dict):
                    raise ValueError(f"a JSON {type(obj).__name__}, not an object")
                if not isinstance(obj.get("id"), str):
                    raise ValueError(f"id {obj.get('id')!r} is not a string")
                if any(SURROGATE.search(s) for s in _strings(obj)):
                    raise ValueError("a lone surrogate in a string")
            except ValueError as err:  # UnicodeDecodeError and JSONDecodeError too
                problems.append(f"line {k}: {err}"[:300])
                obj = None
            records.append(obj)
    return records, problems


def check_output(path: Path, expected: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The checks of one output against the expected (class, id) list; and per class counts."""
    records, problems = read_strict(path)
    got_ids = [r.get("id") if r else None for r in records]
    want_ids = [rid for _, rid in expected]
    mismatches = [(k + 1, w, g) for k, (w, g) in enumerate(zip(want_ids, got_ids)) if w != g]
    per_class: dict[str, dict[str, Any]] = {}
    wrong_outcome: list[str] = []
    for k, ((cls, rid), rec) in enumerate(zip(expected, records), 1):
        allowed, description = class_spec(cls)
        row = per_class.setdefault(cls, {"class": cls, "records": 0, "errors": 0, "types": {}, "expected": (
            "/".join(sorted(allowed)) if allowed else "annotated"), "description": description, "wrong": 0})
        row["records"] += 1
        if rec is None:
            row["wrong"] += 1
            continue
        error = rec.get("error")
        if error:
            row["errors"] += 1
            row["types"][error.get("type")] = row["types"].get(error.get("type"), 0) + 1
        ok = (error.get("type") in allowed) if error else (not allowed and "entities" in rec)
        if not ok and len(wrong_outcome) < 20:
            wrong_outcome.append(f"record {k} ({cls}, id {rid!r}): {json.dumps(error or 'annotated')[:200]}")
        row["wrong"] += not ok
    checks = {
        "lines": len(records),
        "records_expected": len(expected),
        "lines_equal_records": len(records) == len(expected),
        "strict_json": not problems,
        "not_json": problems[:20],
        "ids_in_order": not mismatches and len(records) == len(expected),
        "id_mismatches": [{"record": k, "expected": w, "got": g} for k, w, g in mismatches[:20]],
        "outcomes_as_expected": all(r["wrong"] == 0 for r in per_class.values()),
        "wrong_outcomes": wrong_outcome,
    }
    return checks, per_class


def compare(reference: Path, other: Path) -> dict[str, Any]:
    """Byte identity, and where the files differ, which records and which fields."""
    if reference.read_bytes() == other.read_bytes():
        return {"identical": True}
    a = reference.read_bytes().split(b"\n")
    b = other.read_bytes().split(b"\n")
    differing = [k for k, (x, y) in enumerate(zip(a, b), 1) if x != y]
    fields: dict[str, int] = {}
    for k in differing[:1000]:
        try:
            x, y = json.loads(a[k - 1]), json.loads(b[k - 1])
        except ValueError:
            fields["(not JSON)"] = fields.get("(not JSON)", 0) + 1
            continue
        for key in sorted(set(x) | set(y)):
            if x.get(key) != y.get(key):
                fields[key] = fields.get(key, 0) + 1
    return {"identical": False, "lines": [len(a) - 1, len(b) - 1], "differing_records": len(differing),
            "first_differing": differing[:10], "differing_fields": fields}


# ---- the runs ------------------------------------------------------------------------------------
class LineCounter:
    """Complete lines of a growing file, counted on the new bytes only (the file may be cut or
    replaced: counting then starts again)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:
                    self.offset = self.lines = 0
                fh.seek(self.offset)
                while chunk := fh.read(1 << 20):
                    self.lines += chunk.count(b"\n")
                    self.offset += len(chunk)
        except FileNotFoundError:
            pass
        return self.lines


def ledger_resume_point(out: Path) -> int:
    """The records a rerun resumes from: the ledger's entries whose bytes are in ``OUT.partial``."""
    partial = out.with_name(out.name + ".partial")
    ledger = out.with_name(out.name + ".partial.ledger")
    try:
        size = partial.stat().st_size
        data = ledger.read_bytes()
    except FileNotFoundError:
        return 0
    done = 0
    for line in data.split(b"\n")[:-1]:
        try:
            end, _ = json.loads(line)
        except (ValueError, TypeError):
            break
        if end > size:
            break
        done += 1
    return done


def command(args: argparse.Namespace, src: Path, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "defnlp", "annotate", str(src), "--output", str(out)]
    if args.model:
        cmd += ["--model", args.model]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.device:
        cmd += ["--device", args.device]
    return cmd


def run_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env["DEFNLP_MAX_RECORD_BYTES"] = str(int(args.record_limit_mb * (1 << 20)))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def summary_of(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "records" in obj:
            return obj
    return None


RESUMING = re.compile(r"resuming .*: (\d+) records already written")


def run_once(cmd: list[str], env: dict[str, str], logs: Path, kill_at: int | None = None,
             at_least: int = 0) -> dict[str, Any]:
    """Run ``cmd``; with ``kill_at``, SIGKILL it once ``OUT.partial`` holds that many complete lines
    (and more than ``at_least``, the records it resumed from). Returns what happened."""
    out = Path(cmd[cmd.index("--output") + 1])
    counter = LineCounter(out.with_name(out.name + ".partial"))
    stdout_path, stderr_path = logs.with_suffix(".stdout"), logs.with_suffix(".stderr")
    started = time.perf_counter()
    with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
        proc = subprocess.Popen(cmd, env=env, stdout=so, stderr=se, start_new_session=True)
        killed = False
        lines_seen = 0
        try:
            while proc.poll() is None:
                if kill_at is not None:
                    lines_seen = counter.count()
                    if lines_seen >= max(kill_at, at_least + 1):
                        os.killpg(proc.pid, signal.SIGKILL)
                        killed = True
                        proc.wait()
                        break
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    wall = time.perf_counter() - started
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    resuming = RESUMING.search(stderr)
    result = {"killed": killed, "returncode": proc.returncode, "wall_s": round(wall, 2),
              "lines_seen_at_kill": lines_seen if killed else None,
              "logged_resume": int(resuming.group(1)) if resuming else 0,
              "summary": summary_of(stdout_path.read_text(encoding="utf-8", errors="replace"))}
    if killed:
        result["partial_lines_after_kill"] = LineCounter(counter.path).count()
    elif proc.returncode != 0:
        result["stderr_tail"] = stderr[-3000:]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None,
                        help="pipeline name or model directory (default: the shipped pipeline); a tiny model's "
                             "directory exercises the same batch machinery fast")
    parser.add_argument("--records", type=int, default=100_000,
                        help="JSONL records to write (default 100000), blank lines not counted")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--kills", type=int, default=3, choices=sorted(KILL_POINTS), help="SIGKILLs (default 3)")
    parser.add_argument("--huge", type=int, default=3, help="huge records (default 3)")
    parser.add_argument("--huge-mb", type=float, default=2.0, help="MB of text per huge record (default 2)")
    parser.add_argument("--record-limit-mb", type=float, default=4.0,
                        help="DEFNLP_MAX_RECORD_BYTES for the runs, in MiB (default 4); one line is made larger")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of each run (default: defnlp's)")
    parser.add_argument("--device", default=None, help="device of each run (default: defnlp's)")
    parser.add_argument("--workdir", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (input, outputs, logs)")
    parser.add_argument("--output", type=Path, default=None, help="result JSON (default benchmarks/results/batch_torture.json)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.huge_mb * 1e6 * 1.1 >= args.record_limit_mb * (1 << 20):
        parser.error("--huge-mb must stay under --record-limit-mb (huge records are annotated)")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="batch-torture-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return torture(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log.info("kept %s", work)


def torture(args: argparse.Namespace, work: Path) -> int:
    src = work / "salted.jsonl"
    for stale in work.glob("out-*"):  # a previous run's outputs in a kept work folder
        stale.unlink()
    t = time.perf_counter()
    too_large_mb = args.record_limit_mb * (1 << 20) / 1e6 + 0.5
    lines = write_salted(src, args.records, args.seed, huge=args.huge, huge_mb=args.huge_mb, too_large_mb=too_large_mb)
    expected = expected_records(lines, src.name)
    n_records = len(expected)
    log.info("wrote %s: %d lines, %d records, %.1f MB in %.1f s", src, len(lines), n_records,
             src.stat().st_size / 1e6, time.perf_counter() - t)
    env = run_env(args)

    reference = work / "out-reference.jsonl"
    log.info("reference run: %s", " ".join(command(args, src, reference)))
    ref_run = run_once(command(args, src, reference), env, work / "log-reference")
    if ref_run["returncode"] != 0 or not reference.exists():
        log.error("the reference run failed: %s", ref_run.get("stderr_tail", ""))
        return 1

    interrupted = work / "out-interrupted.jsonl"
    cmd = command(args, src, interrupted)
    runs = []
    for k, fraction in enumerate(KILL_POINTS[args.kills], 1):
        resume_from = ledger_resume_point(interrupted)
        target = int(n_records * fraction)
        log.info("run %d: kill at %d records (resuming from %d)", k, target, resume_from)
        r = run_once(cmd, env, work / f"log-run{k}", kill_at=target, at_least=resume_from)
        r.update(run=k, kill_target=target, resume_from=resume_from, ledger_after_kill=ledger_resume_point(interrupted))
        runs.append(r)
        if not r["killed"]:
            log.error("run %d ended before its kill (rc %s): the kill points do not fit this run", k, r["returncode"])
            break
    else:
        resume_from = ledger_resume_point(interrupted)
        log.info("run %d: to the end (resuming from %d)", len(runs) + 1, resume_from)
        r = run_once(cmd, env, work / f"log-run{len(runs) + 1}")
        r.update(run=len(runs) + 1, kill_target=None, resume_from=resume_from)
        runs.append(r)

    ref_checks, per_class = check_output(reference, expected)
    final = runs[-1]
    completed = not final["killed"] and final["returncode"] == 0 and interrupted.exists()
    if completed:
        int_checks, int_per_class = check_output(interrupted, expected)
        identity = compare(reference, interrupted)
    else:
        int_checks, int_per_class, identity = {}, {}, {"identical": False, "reason": "the interrupted series did not complete"}
    resumes = [r["resume_from"] for r in runs[1:]]
    summary = final.get("summary") or {}
    resume_checks = {
        "kills": sum(r["killed"] for r in runs),
        "resumed_from": resumes,
        "summary_resumed_from": summary.get("resumed_from"),
        # each rerun resumes where the ledger says, logs it, and makes progress before the next kill
        "resume_points_consistent": (
            len(resumes) == args.kills
            and all(r["logged_resume"] == r["resume_from"] for r in runs[1:])
            and summary.get("resumed_from") == runs[-1]["resume_from"]
            and all(a < b for a, b in zip([0, *resumes], [*resumes, n_records]))
            and all(r["partial_lines_after_kill"] - 1 <= r["ledger_after_kill"] <= r["partial_lines_after_kill"]
                    for r in runs if r["killed"])
        ),
        "no_job_files_left": not any(p.name.startswith("out-interrupted.jsonl.") for p in work.iterdir()),
    }

    ok = bool(
        ref_checks["lines_equal_records"] and ref_checks["strict_json"] and ref_checks["ids_in_order"]
        and ref_checks["outcomes_as_expected"] and completed and int_checks.get("lines_equal_records")
        and int_checks.get("strict_json") and int_checks.get("ids_in_order") and identity["identical"]
        and resume_checks["resume_points_consistent"] and resume_checks["no_job_files_left"]
        and (ref_run["summary"] or {}).get("records") == n_records and summary.get("records") == n_records
    )

    # ---- report -----------------------------------------------------------------------------------
    rows = sorted(per_class.values(), key=lambda r: (r["class"] != ORDINARY, r["class"]))
    for row in rows:
        row["types"] = ", ".join(f"{t} {n}" for t, n in sorted(row["types"].items())) or "-"
    blank_lines = sum(1 for ln in lines if ln.cls == "blank line")
    print()
    print(f"### Salted input: {len(lines):,} lines, {n_records:,} records ({blank_lines:,} blank lines), "
          f"{src.stat().st_size / 1e6:.1f} MB, seed {args.seed}, model {args.model or 'default'}\n")
    print(md_table(rows, ["class", "records", "errors", "types", "expected", "wrong"]))
    run_rows = [{"run": "reference", "killed at": "-", "resumed from": 0, "records": n_records, "wall s": ref_run["wall_s"],
                 "records/s": round(n_records / ref_run["wall_s"], 1)}]
    for r in runs:
        end = r["ledger_after_kill"] if r["killed"] else n_records
        run_rows.append({"run": f"interrupted {r['run']}",
                         "killed at": f"{r['partial_lines_after_kill']} lines" if r["killed"] else "completed",
                         "resumed from": r["resume_from"], "records": end - r["resume_from"], "wall s": r["wall_s"],
                         "records/s": round((end - r["resume_from"]) / r["wall_s"], 1) if r["wall_s"] else 0})
    print()
    print(md_table(run_rows, ["run", "killed at", "resumed from", "records", "wall s", "records/s"]))
    check_rows = [
        {"check": "output lines == input records", "reference": ref_checks["lines_equal_records"],
         "interrupted": int_checks.get("lines_equal_records")},
        {"check": "every line strict JSON (no NaN, no lone surrogate, string ids)", "reference": ref_checks["strict_json"],
         "interrupted": int_checks.get("strict_json")},
        {"check": "ids in input order, as the contract gives them", "reference": ref_checks["ids_in_order"],
         "interrupted": int_checks.get("ids_in_order")},
        {"check": "error records per class as expected", "reference": ref_checks["outcomes_as_expected"],
         "interrupted": int_checks.get("outcomes_as_expected")},
        {"check": "interrupted output byte-identical to the reference", "reference": "", "interrupted": identity["identical"]},
        {"check": f"{args.kills} kills, each rerun resumes where the ledger says", "reference": "",
         "interrupted": resume_checks["resume_points_consistent"]},
        {"check": "no job file left beside the output", "reference": "", "interrupted": resume_checks["no_job_files_left"]},
    ]
    print()
    print(md_table(check_rows, ["check", "reference", "interrupted"]))
    for name, checks in (("reference", ref_checks), ("interrupted", int_checks)):
        for key in ("not_json", "id_mismatches", "wrong_outcomes"):
            if checks.get(key):
                print(f"\n{name} {key}:", *checks[key][:10], sep="\n  ")
    if not identity["identical"]:
        print("\ndifferences:", json.dumps(identity))
    print(f"\n{'PASS' if ok else 'FAIL'}")

    payload = {
        "lines": len(lines), "records": n_records, "blank_lines": blank_lines, "seed": args.seed,
        "model": args.model or "default", "input_mb": round(src.stat().st_size / 1e6, 2),
        "record_limit_bytes": int(env["DEFNLP_MAX_RECORD_BYTES"]), "huge": args.huge, "huge_mb": args.huge_mb,
        "kills": args.kills, "passed": ok, "per_class": rows, "reference_checks": ref_checks,
        "interrupted_checks": int_checks, "identity": identity, "resume": resume_checks,
        "reference_run": ref_run, "interrupted_runs": runs, "command": command(args, src, Path("OUT.jsonl")),
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log.info("wrote %s", args.output)
    else:
        log.info("wrote %s", save("batch_torture", payload))
    return 0 if ok else 1


def md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        if v is True:
            return "yes"
        if v is False:
            return "**NO**"
        if v is None:
            return "-"
        return f"{v:,}" if isinstance(v, int) else str(v)

    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
