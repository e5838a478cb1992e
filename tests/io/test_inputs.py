"""The input reader on filesystem oddities and bad records: every entry, one record or one error.

Issue 16, finding 5 (silent skips in folders, FIFOs and devices, unterminated CSV quotes) and the
input side of finding 1 (ids that are not strings, lone surrogates, NaN). Each case failed, hung
or crashed before the reader was made total.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import threading
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest

from defnlp.errors import (
    InputError,
    RecordFormatError,
    RecordTooLargeError,
    SpecialFileError,
    UnreadableInputError,
)
from defnlp.io import inputs
from defnlp.io.inputs import InputRecord, iter_csv_records, iter_inputs, iter_jsonl_records, iter_parquet_records

TEXT = "Le ministre des Armées a visité Brest."


class Blocked(Exception):
    """Not an OSError (TimeoutError is one, and the reader would turn it into an error record)."""


@contextmanager
def deadline(seconds: int = 10):
    """Fail (instead of hanging the test run) if the body takes longer than ``seconds``."""

    def expired(signum, frame):
        raise Blocked(f"still running after {seconds} s: the reader blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read(paths, **kwargs) -> list[InputRecord]:
    with deadline():
        return list(iter_inputs([Path(p) for p in paths], **kwargs))


def summary(records: list[InputRecord]) -> list[tuple[str, str | None]]:
    return [(r.id, type(r.error).__name__ if r.error else None) for r in records]


def assert_output_safe(records: list[InputRecord]) -> None:
    """What the output writer needs: string ids, valid Unicode everywhere, JSON without NaN."""
    for rec in records:
        assert isinstance(rec.id, str) and rec.id
        payload = {"id": rec.id, "text": rec.text, "meta": rec.meta, "source": rec.source,
                   "error": rec.error.to_dict() if rec.error else None}
        json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")  # raises on surrogates / NaN
        if rec.error is None:
            assert isinstance(rec.text, str) and rec.text.strip()
        else:
            assert isinstance(rec.error, InputError) and rec.error.hint


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text(TEXT, encoding="utf-8")
    (d / "sub" / "b.txt").write_text(TEXT, encoding="utf-8")
    (d / "z.txt").write_text(TEXT, encoding="utf-8")
    return d


# ---- folders ------------------------------------------------------------------------------------
def test_unreadable_subfolder_is_one_error_record(folder, monkeypatch) -> None:
    locked = folder / "locked"
    locked.mkdir()
    (locked / "c.txt").write_text(TEXT, encoding="utf-8")
    if os.geteuid() == 0:  # root reads everything: simulate the permission error
        real_scandir = os.scandir

        def scandir(path="."):
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(inputs.os, "scandir", scandir)
        records = read([folder])
    else:
        locked.chmod(0)
        try:
            records = read([folder])
        finally:
            locked.chmod(0o755)
    assert summary(records) == [("a.txt", None), ("locked", "UnreadableInputError"), ("b.txt", None), ("z.txt", None)]
    assert "cannot list the folder" in records[1].error.message and "chmod" in records[1].error.hint
    assert_output_safe(records)


def test_symlink_loop_is_one_error_record_and_the_walk_ends(folder) -> None:
    (folder / "sub" / "up").symlink_to("..", target_is_directory=True)  # sub/up -> docs
    (folder / "sub" / "here").symlink_to(".", target_is_directory=True)  # sub/here -> sub
    (folder / "self.txt").symlink_to("self.txt")  # a file link to itself: ELOOP
    records = read([folder])
    assert summary(records) == [
        ("a.txt", None), ("self.txt", "UnreadableInputError"),
        ("b.txt", None), ("here", "UnreadableInputError"), ("up", "UnreadableInputError"),
        ("z.txt", None),
    ]
    assert all("symbolic link loop" in r.error.message for r in records if r.error)


def test_a_folder_linked_twice_is_read_once_with_a_warning(folder, caplog) -> None:
    (folder / "alias").symlink_to(folder / "sub", target_is_directory=True)
    with caplog.at_level(logging.WARNING, logger="defnlp.io.inputs"):
        records = read([folder])
    assert summary(records) == [("a.txt", None), ("b.txt", None), ("z.txt", None)]  # b.txt not twice
    assert "sub (already read)" in caplog.text  # "alias" comes first in sorted order


def test_dangling_symlinks_are_error_records(folder) -> None:
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    (folder / "gone-folder").symlink_to(folder / "nowhere", target_is_directory=True)
    (folder / "gone.pdf").symlink_to(folder / "nowhere.pdf")  # a suffix defnlp never reads: a warning
    records = read([folder])
    assert summary(records) == [
        ("a.txt", None), ("gone-folder", "UnreadableInputError"), ("gone.txt", "UnreadableInputError"),
        ("b.txt", None), ("z.txt", None),
    ]
    assert "dangling symbolic link" in records[2].error.message and "nowhere.txt" in records[2].error.message


def test_fifo_socket_and_device_in_a_folder_are_error_records(folder, caplog) -> None:
    os.mkfifo(folder / "pipe.txt")
    os.mkfifo(folder / "pipe")  # no document suffix: left out, named in the warning
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(folder)  # a relative name keeps the socket path under the 108-byte limit
    try:
        sock.bind("s.csv")
    finally:
        os.chdir(cwd)
    try:
        with caplog.at_level(logging.WARNING, logger="defnlp.io.inputs"):
            records = read([folder])
    finally:
        sock.close()
    assert summary(records) == [
        ("a.txt", None), ("pipe.txt", "SpecialFileError"), ("s.csv", "SpecialFileError"),
        ("b.txt", None), ("z.txt", None), ("zero.jsonl", "SpecialFileError"),
    ]
    assert "FIFO" in records[1].error.message and "socket" in records[2].error.message
    assert "character device" in records[5].error.message
    assert "1 entry skipped" in caplog.text and "pipe" in caplog.text
    assert_output_safe(records)


def test_a_file_removed_after_the_listing_is_an_error_record(folder) -> None:
    with deadline():
        it = iter_inputs([folder])
        first = next(it)  # the folder is listed now
        (folder / "z.txt").unlink()
        rest = list(it)
    assert summary([first, *rest]) == [("a.txt", None), ("b.txt", None), ("z.txt", "UnreadableInputError")]
    assert "no longer exists" in rest[1].error.message


def test_a_file_removed_between_stat_and_open_is_an_error_record(folder, monkeypatch) -> None:
    real_open = os.open

    def vanishing_open(path, flags, *args, **kwargs):
        if Path(path).name == "b.txt":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(inputs.os, "open", vanishing_open)
    records = read([folder])
    assert summary(records) == [("a.txt", None), ("b.txt", "UnreadableInputError"), ("z.txt", None)]


def test_records_plus_errors_equal_the_entries_found(folder) -> None:
    """Many oddities in one folder: one record per entry, in sorted order, nothing lost."""
    n = 40
    for i in range(n):
        (folder / f"doc{i:03d}.txt").write_text(TEXT, encoding="utf-8")
    (folder / "doc005.txt").unlink()
    (folder / "doc005.txt").symlink_to("missing.txt")
    (folder / "doc010.txt").unlink()
    os.mkfifo(folder / "doc010.txt")
    (folder / "sub" / "loop").symlink_to("..", target_is_directory=True)
    records = read([folder])
    assert len(records) == n + 4  # a.txt, sub/b.txt, sub/loop, z.txt
    assert sum(r.error is not None for r in records) == 3
    ids = [r.id for r in records]
    assert ids == ["a.txt", *[f"doc{i:03d}.txt" for i in range(n)], "b.txt", "loop", "z.txt"]


def test_undecodable_file_names_give_unicode_ids(tmp_path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(TEXT.encode())
    [rec] = read([tmp_path])
    assert rec.id == "caf\\xe9.txt" and rec.ok
    assert_output_safe([rec])


# ---- special files named directly, and records over the size limit ---------------------------------
def test_a_fifo_named_directly_does_not_block(tmp_path) -> None:
    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    plain = tmp_path / "stream"
    os.mkfifo(plain)
    records = read([fifo, plain])  # used to block for ever in open()
    assert summary(records) == [("stream.jsonl", "SpecialFileError"), ("stream", "SpecialFileError")]
    assert "cat pipe > doc.txt" in records[0].error.hint


def test_dev_zero_is_an_error_record_not_a_memory_error() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    [rec] = read(["/dev/zero"])
    assert isinstance(rec.error, SpecialFileError) and rec.id == "zero"


def test_missing_and_dangling_paths_named_directly_raise_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="input not found"):
        read([tmp_path / "missing.txt"])
    (tmp_path / "link.txt").symlink_to(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="dangling symbolic link"):
        read([tmp_path / "link.txt"])


def test_text_files_over_the_limit_are_error_records(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DEFNLP_MAX_RECORD_BYTES", "1000")
    (tmp_path / "big.txt").write_text("Brest. " * 200, encoding="utf-8")
    (tmp_path / "small.txt").write_text(TEXT, encoding="utf-8")
    records = read([tmp_path])
    assert summary(records) == [("big.txt", "RecordTooLargeError"), ("small.txt", None)]
    assert "DEFNLP_MAX_RECORD_BYTES" in records[0].error.hint


def test_a_bad_limit_setting_is_a_config_error(tmp_path, monkeypatch) -> None:
    from defnlp.errors import ConfigError

    monkeypatch.setenv("DEFNLP_MAX_RECORD_BYTES", "lots")
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    with pytest.raises(ConfigError, match="DEFNLP_MAX_RECORD_BYTES"):
        read([tmp_path])


def test_a_huge_jsonl_line_is_read_in_bounded_memory(tmp_path) -> None:
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"id": "a", "text": "Brest"}\n')
        fh.write(b'{"id": "huge", "text": "' + b"x" * (8 << 20))  # 8 MB, no newline until much later
        fh.write(b'"}\n{"id": "c", "text": "Toulon"}\n')
        fh.write(b'{"id": "d", "text": "' + b"y" * 5000)  # the last line: too large, no newline at all
    tracemalloc.start()
    try:
        records = list(iter_jsonl_records(path, max_record_bytes=4096))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary(records) == [("a", None), ("huge.jsonl:2", "RecordTooLargeError"), ("c", None),
                                ("huge.jsonl:4", "RecordTooLargeError")]
    assert "8,388," in records[1].error.message  # the length is measured, not read
    assert peak < 4 << 20  # the 8 MB line was never held in memory


# ---- CSV --------------------------------------------------------------------------------------------
def test_an_unterminated_csv_quote_does_not_swallow_the_rows_after_it(tmp_path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text('id,text\nc1,Brest\nc2,"Toulon, never closed\nc3,Lorient\nc4,Cherbourg\n', encoding="utf-8")
    records = list(iter_csv_records(path))
    assert summary(records) == [("c1", None), ("docs.csv:2", "RecordFormatError"), ("c3", None), ("c4", None)]
    assert "lines 3-5" in records[1].error.message and "reading goes on at line 4" in records[1].error.message
    assert [r.text for r in records if r.ok] == ["Brest", "Lorient", "Cherbourg"]


def test_broken_quoting_in_the_middle_of_a_csv_is_one_error_record(tmp_path) -> None:
    path = tmp_path / "docs.tsv"
    path.write_text('id\ttext\nt1\t"opened\nt2\t"closed" then text\nt3\t"two\nlines"\nt4\tend\n', encoding="utf-8")
    records = list(iter_csv_records(path))
    assert summary(records) == [("docs.tsv:1", "RecordFormatError"), ("docs.tsv:2", "RecordFormatError"),
                                ("t3", None), ("t4", None)]
    assert records[2].text == "two\nlines"  # a legitimate multi-line field is still one row


def test_a_csv_row_over_the_limit_is_an_error_record(tmp_path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text(f'id,text\nc1,Brest\nc2,"{"x" * 5000}"\nc3,Toulon\n', encoding="utf-8")
    records = list(iter_csv_records(path, max_record_bytes=1000))
    assert summary(records) == [("c1", None), ("docs.csv:2", "RecordTooLargeError"), ("c3", None)]


def test_an_empty_csv_is_a_warning(tmp_path, caplog) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="defnlp.io.inputs"):
        assert list(iter_csv_records(path)) == []
    assert "empty.csv is empty" in caplog.text


# ---- JSONL records ------------------------------------------------------------------------------
BAD_LINES = [
    ('{"id": {"nested": 915}, "text": "Brest"}', "x.jsonl:1", "is an object, not a string"),
    ('{"id": [1, 2], "text": "Brest"}', "x.jsonl:2", "is an array"),
    ('{"id": true, "text": "Brest"}', "x.jsonl:3", "is a boolean"),
    ('{"id": NaN, "text": "Brest"}', "x.jsonl:4", "NaN is not a JSON number"),
    ('{"id": 1.5, "text": "Brest"}', "x.jsonl:5", "is a number, not a string"),
    ('{"id": "b", "text": "Brest \\ud800"}', "b", "lone surrogate"),
    ('{"id": "c\\udc80", "text": "Brest"}', "x.jsonl:7", "lone surrogate"),
    ('{"id": "d", "text": "Brest", "score": NaN}', "x.jsonl:8", "NaN is not a JSON number"),
    ('{"id": "e", "text": "Brest", "score": -Infinity}', "x.jsonl:9", "-Infinity is not a JSON number"),
    ('{"id": "f", "text": "Brest", "score": 1e999}', "x.jsonl:10", "1e999 is not a JSON number"),
    ('{"id": "g", "text": "Brest", "meta": {"k\\ud83d": 1}}', "g", "the field 'meta' holds a lone surrogate"),
    ('{"id": 1' + "0" * 5000 + ', "text": "Brest"}', "x.jsonl:12", "too many digits"),
    ('[{"id": "h", "text": "Brest"}]', "x.jsonl:13", "got an array"),
    ('"Brest"', "x.jsonl:14", "got a string"),
    ("42", "x.jsonl:15", "got a number"),
    ("null", "x.jsonl:16", "got null"),
    ('{"id": "i", "text": "Bre', "x.jsonl:17", "not valid JSON"),
]


def test_bad_jsonl_records_are_one_error_record_each(tmp_path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(line for line, _, _ in BAD_LINES) + "\n", encoding="utf-8")
    records = list(iter_jsonl_records(path))
    assert [r.id for r in records] == [rec_id for _, rec_id, _ in BAD_LINES]
    for rec, (_, _, message) in zip(records, BAD_LINES):
        assert isinstance(rec.error, RecordFormatError) and message in rec.error.message, rec
    assert_output_safe(records)


def test_the_jsonl_docs_reader_refuses_what_the_annotate_reader_refuses(tmp_path) -> None:
    """iter_jsonl_docs (the jsonl corpus reader, defnlp align's JSONL input) parses as strictly as
    iter_jsonl_records: NaN, ±Infinity, overflowing and 5,000-digit numbers, lone surrogates, values
    that are not objects and truncated lines are a RecordFormatError naming file:line (it raises
    where the annotate reader gives an error record), never a Doc with a NaN or a surrogate in it."""
    from defnlp.io import corpora
    from defnlp.io.inputs import iter_jsonl_docs

    json_level = [entry for entry in BAD_LINES if "not a string" not in entry[2] and "is an array" not in entry[2]
                  and "is a boolean" not in entry[2]]
    assert len(json_level) == 13
    path = tmp_path / "x.jsonl"
    for line, _, message in json_level:
        path.write_text('{"id": "ok", "text": "Toulon", "score": 0.5}\n\n' + line + "\n", encoding="utf-8")
        (annotate_record,) = list(iter_jsonl_records(path))[1:]
        assert type(annotate_record.error) is RecordFormatError
        fragment = "lone surrogate" if "surrogate" in message else message
        with pytest.raises(RecordFormatError, match=re.escape(fragment)) as err:
            list(iter_jsonl_docs(path))
        assert err.value.message.startswith("x.jsonl:3: ")
        with pytest.raises(RecordFormatError, match="x.jsonl:3"):
            corpora.read_corpus("jsonl", path=path)
    # what it accepted before and still does: finite numbers, surrogate pairs, annotations
    path.write_text('{"id": "d", "text": "Brest \\ud83d\\ude00", "score": -1.5e300, "n": 12}\n', encoding="utf-8")
    ((doc, record),) = list(iter_jsonl_docs(path))
    assert doc.text == "Brest 😀" and record["score"] == -1.5e300


def test_integer_and_null_ids_and_blank_lines(tmp_path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 915, "text": "Brest"}\n\n   \n{"id": null, "text": "Toulon"}\n'
                    '{"id": 7.0, "text": "Lorient"}\n{"text": "Cherbourg \\ud83d\\ude00"}\n', encoding="utf-8")
    records = list(iter_jsonl_records(path))
    assert summary(records) == [("915", None), ("x.jsonl:4", None), ("7", None), ("x.jsonl:6", None)]
    assert records[3].text == "Cherbourg 😀"  # a surrogate *pair* is one character


def test_parquet_nan_cells_are_read_as_null(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": [1.0, float("nan")], "text": ["Brest", "Toulon"], "score": [float("nan"), 0.5]}), path)
    records = list(iter_parquet_records(path))
    assert summary(records) == [("1", None), ("docs.parquet:2", None)]
    assert records[0].meta == {"score": None} and records[1].meta == {"score": 0.5}
    assert_output_safe(records)


def test_a_fifo_named_as_parquet_does_not_block(tmp_path) -> None:
    fifo = tmp_path / "stream.parquet"
    os.mkfifo(fifo)
    result: list[InputRecord] = []
    # pyarrow would block in C, where no signal reaches it: read in a thread, and unblock the
    # FIFO (open it for writing, close it) if the thread hangs
    reader = threading.Thread(target=lambda: result.extend(iter_parquet_records(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        pytest.fail("reading a FIFO named .parquet blocked")
    [rec] = result
    assert isinstance(rec.error, SpecialFileError)


def test_errors_are_input_errors_with_hints() -> None:
    for cls in (UnreadableInputError, SpecialFileError, RecordTooLargeError):
        assert issubclass(cls, InputError) and cls.default_hint
