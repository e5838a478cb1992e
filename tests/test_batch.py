"""Resumable batch runs: kill -9 partway, restart, and every input is in the output exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from defnlp.errors import InputError
from defnlp.io.outputs import ParquetWriter
from tests.interruptions import Interrupted, StopsAfter

ROOT = Path(__file__).resolve().parents[1]
N_DOCS = 5000


def write_docs(path: Path, n: int) -> list[str]:
    ids = [f"doc-{i:05d}" for i in range(n)]
    with open(path, "w", encoding="utf-8") as fh:
        for i, doc_id in enumerate(ids):
            text = f"La DGA a commandé {i} Griffon à KNDS." if i % 2 else f"Nexter delivered {i} Caesar guns to Ukraine."
            record = {"id": doc_id, "text": text} if i % 997 else {"id": doc_id, "text": ""}  # a few error records
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ids


def annotate_command(src: Path, out: Path, model: Path) -> list[str]:
    # one torch thread: the test machine's cores are shared, and spinning threads slow it down
    return [sys.executable, "-m", "defnlp.cli", "-q", "annotate", str(src), "-o", str(out), "-m", str(model), "--threads", "1"]


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def output_ids_and_errors(out: Path) -> tuple[list[str], list[str]]:
    if out.suffix == ".parquet":
        rows = pq.read_table(out, columns=["id", "error"]).to_pylist()
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return [r["id"] for r in rows], [r["id"] for r in rows if r.get("error")]


# Parquet output goes through the same partial file as JSONL (covered in-process below), so its
# subprocess variant is `slow`; it needs more than one read-ahead pool of 2048 documents, so that
# the kill lands between two pools at the latest.
@pytest.mark.parametrize(("suffix", "n_docs"), [(".jsonl", N_DOCS), pytest.param(".parquet", 2500, marks=pytest.mark.slow)])
def test_kill_9_then_restart_gives_each_input_exactly_once_in_order(tmp_path, tiny_ner_dir, suffix, n_docs) -> None:
    src = tmp_path / "docs.jsonl"
    ids = write_docs(src, n_docs)
    out = tmp_path / f"out{suffix}"
    partial = out.with_name(out.name + ".partial")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cmd = annotate_command(src, out, tiny_ner_dir)

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while count_lines(partial) == 0:  # wait until some records are written, then kill
            assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "no output after 120 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    written = count_lines(partial)
    assert 0 < written < n_docs and not out.exists()

    done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert summary["resumed_from"] >= written - 1  # at most a torn last line is redone
    assert summary["records"] == n_docs
    got_ids, error_ids = output_ids_and_errors(out)
    assert got_ids == ids
    assert error_ids == [ids[i] for i in range(0, n_docs, 997)]
    assert not partial.exists() and not out.with_name(out.name + ".partial.json").exists()


@pytest.mark.parametrize("columns", [{}, {"text_column": "text", "id_column": "id"}])
def test_an_interrupted_run_resumes_to_the_same_bytes(tmp_path, tiny_nlp, columns) -> None:
    from defnlp.batch import annotate_files

    src = tmp_path / "docs.jsonl"
    write_docs(src, 30)  # the first one is an error record
    full = tmp_path / "full.jsonl"
    annotate_files([src], full, nlp=tiny_nlp, progress=False, **columns)
    out = tmp_path / "out.jsonl"
    with pytest.raises(Interrupted):
        annotate_files([src], out, nlp=StopsAfter(tiny_nlp, 12), progress=False, **columns)
    assert count_lines(out.with_name("out.jsonl.partial")) == 12 and not out.exists()
    with pytest.raises(InputError, match="different job"):  # other columns: another job
        annotate_files([src], out, nlp=tiny_nlp, progress=False, text_column="body")
    summary = annotate_files([src], out, nlp=tiny_nlp, progress=False, **columns)
    assert (summary["resumed_from"], summary["records"], summary["errors"]) == (12, 30, 0)
    assert out.read_bytes() == full.read_bytes()


def test_a_long_document_resumed_among_other_neighbours_gives_the_same_bytes(tmp_path, tiny_ner_dir) -> None:
    """Issue 16: a resumed run batches a long document with other neighbours than the first run
    did (the read-ahead pools start elsewhere); its output must still be the same bytes. Pools of
    four documents here, so that every interruption point moves the pools of what follows."""
    import random

    import defnlp
    from defnlp.batch import annotate_files

    nlp = defnlp.load(tiny_ner_dir, device="cpu")
    nlp.engine.runtime.pool_docs = 4  # this pipeline's own runtime
    rng = random.Random(16)
    words = "la DGA a commandé Griffon KNDS Brest the Ministry of Defence awarded Thales frigates Caesar".split()

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    src = tmp_path / "docs.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(30):
            n = 60 if i in (5, 17, 18) else 1  # three long documents (several windows each)
            fh.write(json.dumps({"id": f"d{i}", "text": " ".join(sentence(rng.randint(2, 40)) for _ in range(n))}) + "\n")
    full = tmp_path / "full.jsonl"
    scores: dict[str, list] = {}  # the scores before the JSON rounds them: the same floats too
    annotate_files([src], full, nlp=Scores(nlp, scores), progress=False)
    assert sum(len(v) for v in scores.values()) > 50
    for stop in (3, 6, 17, 25):
        out = tmp_path / f"out-{stop}.jsonl"
        with pytest.raises(Interrupted):
            annotate_files([src], out, nlp=StopsAfter(nlp, stop), progress=False)
        resumed: dict[str, list] = {}
        summary = annotate_files([src], out, nlp=Scores(nlp, resumed), progress=False)
        assert (summary["resumed_from"], summary["records"]) == (stop, 30)
        assert out.read_bytes() == full.read_bytes()
        assert resumed == {k: scores[k] for k in resumed} and len(resumed) == 30 - stop


class Scores:
    """A pipeline that notes each document's entities with their unrounded scores."""

    def __init__(self, nlp, into: dict) -> None:
        self.nlp, self.into = nlp, into

    def pipe(self, items, errors="raise"):
        for result in self.nlp.pipe(items, errors=errors):
            self.into[getattr(result, "id", None)] = [(e.start, e.end, e.label, e.score) for e in getattr(result, "entities", [])]
            yield result


def record(i: int) -> dict:
    return {"id": f"d{i}", "lang": "fr", "text": "Brest", "meta": {"n": i},
            "entities": [{"start": 0, "end": 5, "label": "LOC", "text": "Brest", "score": 0.9}], "relations": []}


def test_parquet_writer_drops_a_torn_line_and_resumes(tmp_path) -> None:
    out = tmp_path / "out.parquet"
    job = {"inputs": ["x"], "model": "m", "format": "parquet"}
    writer = ParquetWriter(out, job)
    for i in range(3):
        writer.write(record(i))
    writer.close(complete=False)  # as if killed
    with open(tmp_path / "out.parquet.partial", "a", encoding="utf-8") as fh:
        fh.write('{"id": "d3", "text": "Bre')  # a torn last record
    with pytest.raises(InputError, match="different job"):
        ParquetWriter(out, {**job, "model": "other"})
    with ParquetWriter(out, job) as writer:
        assert writer.done == 3
        for i in range(3, 5):
            writer.write(record(i))
        writer.write({"id": "bad", "error": {"type": "EmptyInputError", "message": "empty", "hint": ""}, "source": "x:6"})
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["d0", "d1", "d2", "d3", "d4", "bad"]
    assert rows[4]["n"] == 4 and rows[4]["meta"] is None and rows[4]["entities"][0]["label"] == "LOC"  # extra fields: columns
    assert rows[5]["error"]["type"] == "EmptyInputError" and rows[5]["text"] is None and rows[5]["source"] == "x:6"


def test_parquet_publish_interrupted_after_the_rename_is_finished_by_the_next_run(tmp_path, monkeypatch) -> None:
    out = tmp_path / "out.parquet"
    job = {"inputs": ["x"]}
    real_unlink = Path.unlink

    def killed_before_removing_the_partial(self, missing_ok=False):
        if self.name == "out.parquet.partial":
            raise Interrupted
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", killed_before_removing_the_partial)
    with pytest.raises(Interrupted), ParquetWriter(out, job) as writer:
        writer.write(record(0))
    monkeypatch.undo()
    assert out.exists() and (tmp_path / "out.parquet.partial").exists()
    with ParquetWriter(out, job) as writer:
        assert writer.done == 1 and writer.written_ids == ["d0"]
    assert [r["id"] for r in pq.read_table(out).to_pylist()] == ["d0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]
    with pytest.raises(InputError, match="already exists"):
        ParquetWriter(out, job)
