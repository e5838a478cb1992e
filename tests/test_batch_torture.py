"""Batch jobs against hostile inputs and outputs (issue 16, findings 1, 2, 3 and 6).

Every input record gives exactly one output line of RFC 8259 JSON, in input order; one job at a
time writes an output; resume checks the identity of the inputs; output-side failures are
clear errors, before the run where they can be seen then. The tiny model keeps this fast.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defnlp.batch import annotate_files, annotate_records, output_safe
from defnlp.doc import Doc
from defnlp.errors import (
    AnnotationError,
    DefnlpError,
    InputChangedError,
    InputError,
    ModelError,
    OutputError,
    OutputLockedError,
    UnpairedSurrogateError,
)
from defnlp.io import outputs
from defnlp.io.inputs import InputRecord
from defnlp.io.outputs import ConllWriter, JsonlWriter, dumps_record
from tests.interruptions import Interrupted, StopsAfter

SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str):
    raise AssertionError(f"not JSON: {name}")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def strict_lines(path: Path) -> list[dict]:
    """The records of a JSONL output, checked as RFC 8259 JSON: UTF-8, no NaN, no lone surrogates."""
    records = []
    for line in path.read_bytes().decode("utf-8").split("\n")[:-1]:
        obj = json.loads(line, parse_constant=_reject_constant)
        assert isinstance(obj, dict)
        assert not any(SURROGATE.search(s) for s in _strings(obj)), line[:200]
        assert obj["id"] is None or isinstance(obj["id"], str)
        records.append(obj)
    return records


# ---- finding 1: every record gives one valid line -------------------------------------------------
def test_pipe_returns_an_error_for_a_lone_surrogate_instead_of_raising(tiny_nlp) -> None:
    results = list(tiny_nlp.pipe(["Brest \ud800 et Toulon", "La DGA à Brest.", {"id": {"nested": 915}, "text": "x"}],
                                 errors="return"))
    assert isinstance(results[0], UnpairedSurrogateError) and "offset 6" in results[0].message and results[0].hint
    assert isinstance(results[1], Doc)
    assert isinstance(results[2], InputError) and "dict" in results[2].message


def test_a_record_that_crashes_the_model_becomes_an_error_and_the_others_are_annotated(tiny_nlp, monkeypatch) -> None:
    engine = tiny_nlp.engine
    real_prepare = engine.prepare

    def prepare(docs):  # the model breaks on any batch holding this document
        if any("BOOM" in d.text for d in docs):
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real_prepare(docs)

    monkeypatch.setattr(engine, "prepare", prepare)
    import defnlp.pipeline as pipeline

    real_decode = pipeline.decode_entities

    def decode(tagset, text, *args, **kwargs):  # and decoding breaks on that one
        if text.startswith("CRASH"):
            raise IndexError("index 7 is out of bounds")
        return real_decode(tagset, text, *args, **kwargs)

    monkeypatch.setattr(pipeline, "decode_entities", decode)
    texts = [f"La DGA a commandé {i} Griffon." for i in range(6)]
    texts[2], texts[4] = "BOOM à Brest", "CRASH à Toulon"
    results = list(tiny_nlp.pipe(texts + [""], errors="return"))
    assert [type(r).__name__ for r in results] == ["Doc", "Doc", "AnnotationError", "Doc", "AnnotationError", "Doc", "Doc"]
    assert "RuntimeError" in results[2].message and "IndexError" in results[4].message
    assert [r.text for r in results if isinstance(r, Doc)] == [texts[0], texts[1], texts[3], texts[5], ""]

    def source():  # an exception from the caller's own iterable is not swallowed
        yield "La DGA."
        raise KeyError("caller")

    with pytest.raises(KeyError):
        list(tiny_nlp.pipe(source(), errors="return"))


def test_output_safe_turns_bad_ids_and_fields_into_error_records_and_nan_into_null() -> None:
    recs = [
        InputRecord("a", "Brest", meta={"x": float("nan"), "y": [float("-inf"), 1.5], "z": {"w": float("inf")}}),
        InputRecord("b\ud800", "Brest"),
        InputRecord("c", "Brest", meta={"note": "half \udc80"}),
        InputRecord(7, "Brest"),  # type: ignore[arg-type]
        InputRecord({"nested": 915}, "Brest"),  # type: ignore[arg-type]
        InputRecord("e", source="dir/\udcff.txt", error=InputError("e: cannot read")),
    ]
    out = list(output_safe(recs))
    assert out[0].meta == {"x": None, "y": [None, 1.5], "z": {"w": None}} and out[0].ok
    assert out[1].id == "b\\ud800"  # escaped (by the reader's record, or here with an error)
    assert isinstance(out[2].error, UnpairedSurrogateError) and out[2].id == "c"
    assert out[3].ok and out[3].id == "7"
    assert out[4].error is not None and out[4].id is None and "dict" in out[4].error.message
    assert not SURROGATE.search(out[5].source)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x\ud800", {"k\udfff": 1}, object()])
def test_the_writer_never_writes_a_line_that_is_not_json(tmp_path, bad) -> None:
    out = tmp_path / "out.jsonl"
    with JsonlWriter(out, job={}) as writer:
        writer.write({"id": "ok", "text": "Brest"})
        writer.write({"id": "bad\ud800", "text": "Brest", "meta": {"v": bad}})
    recs = strict_lines(out)
    assert [r["id"] for r in recs] == ["ok", "bad\\ud800"]
    assert recs[1]["error"]["type"] == "UnwritableRecordError" and recs[1]["error"]["hint"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(), lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8))
def test_dumps_record_gives_strict_json_for_any_value(value) -> None:
    line = dumps_record({"id": "x", "meta": {"v": value}})
    obj = json.loads(line, parse_constant=_reject_constant)
    line.encode("utf-8")
    assert obj["id"] == "x" and ("error" in obj or obj["meta"]["v"] == value or value != value)


def test_ids_that_are_not_strings_are_never_written_as_python_reprs(tmp_path, tiny_nlp) -> None:
    """Finding 1e end to end: an integer id is its decimal text, any other non-string id an error
    record with the file:line id (before: ``"{'nested': 915}"``, ``"[3]"``, ``"True"`` were written as ids)."""
    src = tmp_path / "ids.jsonl"
    ids = ['{"nested": 915}', "[3]", "7", "true", "1.5", "null", '"s"', "-0"]
    src.write_text("".join('{"id": %s, "text": "La DGA à Brest."}\n' % i for i in ids), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    annotate_files([src], out, nlp=tiny_nlp, progress=False)
    recs = strict_lines(out)
    assert [r["id"] for r in recs] == ["ids.jsonl:1", "ids.jsonl:2", "7", "ids.jsonl:4", "ids.jsonl:5",
                                       "ids.jsonl:6", "s", "0"]
    assert [("error" in r) for r in recs] == [True, True, False, True, True, False, False, False]
    assert all(r["error"]["type"] == "RecordFormatError" and "'id' field" in r["error"]["message"]
               for r in recs if "error" in r)
    assert not any(re.search(r"[{}\[\]']|^(True|False|None)$", r["id"]) for r in recs)


# ---- the salted stress test ------------------------------------------------------------------------
def salted_jsonl(path: Path, n: int, seed: int = 16) -> int:
    """``n`` JSONL lines, salted with every bad-record class; returns the number of records (non-blank lines)."""
    rng = random.Random(seed)
    bad = [
        lambda i: '{"id": "s%d", "text": "Brest \\ud800 et Toulon"}' % i,          # lone surrogate in text
        lambda i: '{"id": "s%d\\udc80", "text": "Brest"}' % i,                     # ... in the id
        lambda i: '{"id": "s%d", "text": "Brest", "note": "\\udfff"}' % i,         # ... in a field
        lambda i: '{"id": "n%d", "text": "Brest", "score": NaN, "w": [Infinity]}' % i,
        lambda i: '{"id": {"nested": %d}, "text": "Brest"}' % i,                  # wrong id types
        lambda i: '{"id": [%d], "text": "Brest"}' % i,
        lambda i: '{"id": %d, "text": "Brest"}' % i,
        lambda i: '{"id": true, "text": "Brest"}',
        lambda i: '{"id": "t%d", "text": 42}' % i,                                 # wrong text types
        lambda i: '{"id": "t%d", "text": null}' % i,
        lambda i: '{"id": "t%d", "text": ["a"]}' % i,
        lambda i: '{"id": "u%d", "text": "Bre' % i,                                # truncated line
        lambda i: '[1, 2]',
        lambda i: 'NaN',
        lambda i: '{"id": "dup", "text": "La DGA à Brest."}',                      # duplicate ids
        lambda i: '{"id": "e%d", "text": "   "}' % i,                              # empty text
    ]
    lines, records = [], 0
    for i in range(n):
        if i == n // 2:
            lines.append(json.dumps({"id": "huge", "text": "La DGA a commandé 42 Griffon à KNDS. " * 6000}))
        elif i % 7 == 3:
            lines.append(rng.choice(bad)(i))
        elif i % 101 == 50:
            lines.append("")  # an empty line: no record
            continue
        else:
            lines.append(json.dumps({"id": f"d{i}", "text": f"La DGA a commandé {i} Griffon à KNDS.", "n": i},
                                    ensure_ascii=False))
        records += 1
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b'{"id": "latin", "text": "Arm\xe9es"}\n')
    return records + 1


def test_salted_jsonl_gives_one_strict_json_line_per_record_and_resumes_to_the_same_bytes(tmp_path, tiny_nlp) -> None:
    src = tmp_path / "salted.jsonl"
    n = salted_jsonl(src, 2000)
    full = tmp_path / "full.jsonl"
    summary = annotate_files([src], full, nlp=tiny_nlp, progress=False)
    recs = strict_lines(full)
    assert len(recs) == n == summary["records"]
    raw_lines = [line for line in src.read_bytes().split(b"\n") if line.strip()]
    assert len(raw_lines) == n
    for raw, rec in zip(raw_lines, recs):  # input order: each good line's own id at its place
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("id"), str) and re.fullmatch(r"d\d+", obj["id"]):
            assert rec["id"] == obj["id"] and "error" not in rec and rec["meta"]["n"] == int(obj["id"][1:])
        if b"Brest \\ud800 et" in raw or b'"\\udfff"' in raw:  # lone surrogates in the text or a field
            assert rec["error"]["type"] in ("UnpairedSurrogateError", "RecordFormatError", "InputEncodingError")
    by_kind = {r["error"]["type"] for r in recs if "error" in r}
    assert {"RecordFormatError", "EmptyInputError", "InputEncodingError"} <= by_kind
    assert all(r["error"]["hint"] for r in recs if "error" in r)
    nan_recs = [rec for raw, rec in zip(raw_lines, recs) if b'"score": NaN' in raw]
    # the reader may refuse NaN fields (an error record); if it passes them, they are written as null
    assert nan_recs and all("error" in r or r["meta"] == {"score": None, "w": [None]} for r in nan_recs)
    assert [r["id"] for r in recs].count("dup") > 1
    assert next(r for r in recs if r["id"] == "huge").get("entities") is not None

    out = tmp_path / "out.jsonl"
    for stop in (150, 500, 500):  # three interruptions, each resumed by the next run
        with pytest.raises(Interrupted):
            annotate_files([src], out, nlp=StopsAfter(tiny_nlp, stop), progress=False)
    summary = annotate_files([src], out, nlp=tiny_nlp, progress=False)
    assert summary["resumed_from"] > 0 and summary["records"] == n
    assert out.read_bytes() == full.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.jsonl", "out.jsonl", "salted.jsonl"]


# ---- finding 2: one job per output -------------------------------------------------------------------
def test_a_second_run_on_the_same_output_fails_at_once_and_the_first_completes(tmp_path, tiny_nlp) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": f"La DGA à Brest {i}."}) + "\n" for i in range(20)))
    out = tmp_path / "out.jsonl"
    seen: list[BaseException] = []

    class SecondRunMidway:  # starts a second job on the same output while the first is writing
        def pipe(self, items, errors="raise"):
            for k, result in enumerate(tiny_nlp.pipe(items, errors=errors)):
                if k == 5:
                    with pytest.raises(OutputLockedError) as err:
                        annotate_files([src], out, nlp=tiny_nlp, progress=False)
                    seen.append(err.value)
                yield result

    summary = annotate_files([src], out, nlp=SecondRunMidway(), progress=False)
    assert seen and "another defnlp job" in str(seen[0]) and "--output" in seen[0].hint
    assert summary["records"] == 20 and [r["id"] for r in strict_lines(out)] == [f"d{i}" for i in range(20)]
    assert not (tmp_path / "out.jsonl.lock").exists()


def test_a_lock_left_by_a_killed_job_does_not_block(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.lock").write_text('{"pid": 999999}')  # left by kill -9: the flock died with it
    with JsonlWriter(out, job={}) as writer:
        writer.write({"id": "a", "text": "x"})
    assert [r["id"] for r in strict_lines(out)] == ["a"]


# ---- finding 3: resume by identity -------------------------------------------------------------------
def _folder(tmp_path: Path, names: list[str]) -> Path:
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    for name in names:
        (d / name).write_text(f"La DGA a commandé des Griffon ({name}).", encoding="utf-8")
    return d


@pytest.mark.parametrize("change", ["added", "removed", "changed"])
def test_resume_refuses_inputs_that_changed(tmp_path, tiny_nlp, change) -> None:
    d = _folder(tmp_path, ["a.txt", "c.txt", "d.txt"])
    out = tmp_path / "out.jsonl"
    with pytest.raises(Interrupted):
        annotate_files([d], out, nlp=StopsAfter(tiny_nlp, 2), progress=False)
    if change == "added":
        (d / "b.txt").write_text("Un nouveau document.", encoding="utf-8")
    elif change == "removed":
        (d / "a.txt").unlink()
    else:
        with open(d / "c.txt", "a", encoding="utf-8") as fh:
            fh.write(" Modifié.")
    with pytest.raises(InputChangedError, match={"added": "b.txt was added", "removed": "a.txt was removed",
                                                 "changed": "c.txt changed"}[change]) as err:
        annotate_files([d], out, nlp=tiny_nlp, progress=False)
    assert "--overwrite" in err.value.hint
    summary = annotate_files([d], out, nlp=tiny_nlp, progress=False, overwrite=True)
    assert summary["resumed_from"] == 0 and summary["records"] == len(list(d.iterdir()))


def test_resume_checks_the_ids_already_written(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(Interrupted), JsonlWriter(out, job={"j": 1}) as writer:
        writer.write({"id": "a", "text": "x"})
        raise Interrupted
    from defnlp.batch import _skip_written

    with JsonlWriter(out, job={"j": 1}) as writer:
        assert writer.written_ids == ["a"]
        with pytest.raises(InputChangedError, match="'b'"):
            _skip_written(iter([InputRecord("b", "x")]), writer.done, writer.written_ids)
        with pytest.raises(InputChangedError, match="hold 0 records"):
            _skip_written(iter([]), writer.done, writer.written_ids)


def _jsonl_docs(path: Path, ids: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": i, "text": f"La DGA a commandé des Griffon ({i})."}) + "\n" for i in ids),
                    encoding="utf-8")


def test_resume_refuses_a_jsonl_file_edited_before_the_resume_point(tmp_path, tiny_nlp) -> None:
    """Finding 3a for one file: two records before the resume point swapped, same size, mtime put
    back (as ``cp -p`` or a careful editor would) — the old count-based resume wrote d0, d1 twice
    in the wrong places without a word."""
    src = tmp_path / "docs.jsonl"
    ids = [f"d{i}" for i in range(10)]
    _jsonl_docs(src, ids)
    out = tmp_path / "out.jsonl"
    with pytest.raises(Interrupted):
        annotate_files([src], out, nlp=StopsAfter(tiny_nlp, 4), progress=False)
    st = src.stat()
    _jsonl_docs(src, [ids[1], ids[0], *ids[2:]])
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert src.stat().st_size == st.st_size and src.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(InputChangedError, match="docs.jsonl changed") as err:
        annotate_files([src], out, nlp=tiny_nlp, progress=False)
    assert "--overwrite" in err.value.hint and not out.exists()


def test_resume_checks_the_record_ids_when_the_fingerprint_misses_a_change(tmp_path, tiny_nlp, monkeypatch) -> None:
    """Finding 3a, second line of defence: a change the fingerprint cannot see (in the middle of a
    file larger than the hashed head and tail) still stops the resume, by the ids already written
    (the old resume skipped 4 records by count: d4 lost, the summary said all were written)."""
    import defnlp.batch as batch

    src = tmp_path / "docs.jsonl"
    ids = [f"d{i}" for i in range(10)]
    _jsonl_docs(src, ids)
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(batch, "_fingerprint", lambda path: ["same"])  # blind to every change
    with pytest.raises(Interrupted):
        annotate_files([src], out, nlp=StopsAfter(tiny_nlp, 4), progress=False)
    _jsonl_docs(src, [i for i in ids if i != "d1"])  # a record deleted before the resume point
    with pytest.raises(InputChangedError, match="'d2'.*'d1'"):
        annotate_files([src], out, nlp=tiny_nlp, progress=False)
    _jsonl_docs(src, ids)  # restored: the resume goes on and completes the output
    summary = annotate_files([src], out, nlp=tiny_nlp, progress=False)
    assert summary["resumed_from"] == 4 and [r["id"] for r in strict_lines(out)] == ids


def test_conll_ids_with_blank_lines_do_not_shift_the_resume(tmp_path, tiny_nlp) -> None:
    src = tmp_path / "docs.jsonl"
    ids = [f"d{i}\n\nnext\r\u2028x" if i % 3 == 0 else f"d{i}" for i in range(12)]
    src.write_text("".join(json.dumps({"id": i, "text": f"La DGA à Brest {k}."}) + "\n" for k, i in enumerate(ids)))
    full, out = tmp_path / "full.conll", tmp_path / "out.conll"
    annotate_files([src], full, nlp=tiny_nlp, progress=False, fmt="conll")
    for stop in (4, 7):
        with pytest.raises(Interrupted):
            annotate_files([src], out, nlp=StopsAfter(tiny_nlp, stop), progress=False, fmt="conll")
    summary = annotate_files([src], out, nlp=tiny_nlp, progress=False, fmt="conll")
    assert summary["records"] == 12 and out.read_bytes() == full.read_bytes()
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines.count("-DOCSTART- -X- O O") == 12 and not [line for line in lines if line.startswith("#")]  # CoNLL-2003


def test_a_conll_writer_counts_records_in_its_ledger(tmp_path) -> None:
    out = tmp_path / "out.conll"
    with pytest.raises(Interrupted), ConllWriter(out, job={}) as writer:
        writer.write({"id": "a\n\n\nb", "error": {"type": "EmptyInputError", "message": "a\n\nb is empty", "hint": ""}})
        writer.write({"id": "c", "text": "Brest", "entities": []})
        raise Interrupted
    with ConllWriter(out, job={}) as writer:
        assert writer.done == 2 and writer.written_ids == ["a\n\n\nb", "c"]


# ---- finding 6: output-side failures --------------------------------------------------------------
def test_output_problems_are_clear_errors_before_the_model_loads(tmp_path) -> None:
    src = _folder(tmp_path, ["a.txt"])
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "file").write_text("x")
    model = str(tmp_path / "no-such-model")  # never reached: the output is checked first
    with pytest.raises(OutputError, match="is a folder"):
        annotate_files([src], tmp_path / "folder.jsonl", model=model, progress=False)
    with pytest.raises(OutputError, match="is a file"):
        annotate_files([src], tmp_path / "file" / "sub" / "out.jsonl", model=model, progress=False)
    with pytest.raises(OutputError, match="is a file"):
        annotate_files([src], tmp_path / "file" / "out.jsonl", model=model, progress=False)


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path, monkeypatch) -> None:
    src = _folder(tmp_path, ["a.txt"])
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the folder refuse writes instead
        monkeypatch.setattr(outputs.os, "access", lambda path, mode: Path(path) != ro)
    else:
        ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="cannot write in the output folder") as err:
            annotate_files([src], ro / "out.jsonl", model=str(tmp_path / "nope"), progress=False)
        assert "writable" in err.value.hint
    finally:
        ro.chmod(0o755)


def test_disk_full_is_a_clear_error_and_the_job_resumes_once_there_is_space(tmp_path, tiny_nlp, monkeypatch) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": f"La DGA à Brest {i}."}) + "\n" for i in range(10)))
    out = tmp_path / "out.jsonl"
    real_write = outputs._ResumableFile.write
    calls = {"n": 0}

    def write(self, record):
        calls["n"] += 1
        if calls["n"] == 6:
            raise outputs.output_error(self.partial, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        return real_write(self, record)

    monkeypatch.setattr(outputs._ResumableFile, "write", write)
    with pytest.raises(OutputError, match="No space left on device") as err:
        annotate_files([src], out, nlp=tiny_nlp, progress=False)
    assert "resumes" in err.value.hint
    monkeypatch.undo()
    summary = annotate_files([src], out, nlp=tiny_nlp, progress=False)
    assert summary["resumed_from"] == 5 and [r["id"] for r in strict_lines(out)] == [f"d{i}" for i in range(10)]


def test_a_full_disk_met_by_the_file_itself_is_an_output_error(tmp_path, monkeypatch) -> None:
    out = tmp_path / "out.jsonl"
    real_open = open

    def open_full(path, mode="r", *args, **kwargs):
        if str(path).endswith(".partial") and "b" in mode and "r" not in mode:
            return real_open("/dev/full", "wb")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(outputs, "open", open_full, raising=False)
    with pytest.raises(OutputError, match="No space left") as err, JsonlWriter(out, job={}) as writer:
        writer.write({"id": "a", "text": "x"})
    assert "free space" in err.value.hint


@pytest.mark.parametrize("broken", ["model", "input"])
def test_a_run_that_fails_to_start_leaves_nothing_that_blocks_the_corrected_command(tmp_path, tiny_ner_dir, broken) -> None:
    src = _folder(tmp_path, ["a.txt"])
    out = tmp_path / "o" / "out.jsonl"
    if broken == "model":
        with pytest.raises(ModelError):
            annotate_files([src], out, model=str(tmp_path / "no-such-model"), progress=False)
    else:
        with pytest.raises(InputError, match="input not found"):
            annotate_files([tmp_path / "missing.txt"], out, model=str(tiny_ner_dir), progress=False)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    summary = annotate_files([src], out, model=str(tiny_ner_dir), progress=False, device="cpu")
    assert summary["records"] == 1


def test_an_empty_partial_of_another_job_does_not_block(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_bytes(b"")  # e.g. left by an older defnlp whose model failed to load
    (tmp_path / "out.jsonl.partial.json").write_text('{"inputs": ["other"]}')
    with JsonlWriter(out, job={"inputs": ["mine"]}) as writer:
        assert writer.done == 0
        writer.write({"id": "a", "text": "x"})
    assert [r["id"] for r in strict_lines(out)] == ["a"]


def test_annotate_records_keeps_order_with_error_items(tiny_nlp) -> None:
    recs = [InputRecord("a", "La DGA."), InputRecord("b", "x\ud800"), InputRecord("c", error=InputError("c: bad"))]
    got = [(rec.id, type(res).__name__) for rec, res in annotate_records(tiny_nlp, recs)]
    assert got == [("a", "Doc"), ("b", "UnpairedSurrogateError"), ("c", "InputError")]
    assert issubclass(AnnotationError, DefnlpError)
