"""Fuzzing the JSONL reader: every non-blank line yields exactly one record or one error record,
and every record can be written as valid JSON (no lone surrogate, no NaN, a string id)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defnlp.errors import DefnlpError
from defnlp.io.inputs import _has_surrogates, iter_jsonl_records

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
GOOD = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=8), "text": st.text(min_size=1, max_size=80)}).map(
    lambda d: json.dumps(d).encode()
)
BAD_JSON = JSON_VALUES.map(lambda v: json.dumps(v).encode())  # valid JSON, maybe not a record
GARBAGE = st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b"\r" not in b)
TRUNCATED = GOOD.map(lambda b: b[: max(1, len(b) // 2)])
LINE = st.one_of(GOOD, BAD_JSON, GARBAGE, TRUNCATED)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, min_size=1, max_size=12))
def test_every_line_gives_one_record_or_error(tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    records = list(iter_jsonl_records(path))
    expected = [ln for ln in b"\n".join(lines).split(b"\n") if ln.strip()]
    assert len(records) == len(expected)  # lines end at b"\n" only; blank lines are not records
    for rec in records:
        if rec.error is not None:
            assert isinstance(rec.error, DefnlpError)
            assert str(rec.error)
        else:
            assert isinstance(rec.text, str) and rec.text.strip()
            assert rec.id
        assert_writable(rec)


# any code point, lone surrogates (U+D800..U+DFFF) included
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=12)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,  # NaN and infinities included
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
RECORD = st.fixed_dictionaries(
    {"id": ANY_JSON | ANY_TEXT, "text": ANY_TEXT | ANY_JSON}, optional={"lang": ANY_JSON, "extra": ANY_JSON}
)


def dump(value, ascii_only: bool) -> bytes:
    """As Python writes it: \\udXXX escapes (ensure_ascii), or the raw surrogate bytes, which are not UTF-8."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


ANY_LINE = st.builds(dump, RECORD | ANY_JSON, st.booleans())


def assert_writable(rec) -> None:
    """An output line can hold the record: str id, text without surrogates, JSON without NaN."""
    assert isinstance(rec.id, str) and rec.id
    if rec.error is None:
        assert isinstance(rec.text, str) and rec.text.strip() and not _has_surrogates(rec.text)
    line = {"id": rec.id, "text": rec.text, "lang": rec.lang, "meta": rec.meta, "source": rec.source,
            "error": rec.error.to_dict() if rec.error else None}
    json.dumps(line, ensure_ascii=False, allow_nan=False).encode("utf-8")  # raises on NaN or a lone surrogate


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ANY_LINE | st.just(b"") | st.just(b"  \t"), min_size=1, max_size=10))
def test_any_json_value_or_string_gives_one_writable_record_per_line(tmp_path, lines):
    """Issue 16, finding 1 (input side): lone surrogates, NaN, ids of any type never escape as such."""
    path = tmp_path / "any.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    records = list(iter_jsonl_records(path))
    assert len(records) == sum(1 for ln in lines if ln.strip())
    for rec in records:
        assert_writable(rec)


def test_oversized_and_nested_records(tmp_path):
    path = tmp_path / "big.jsonl"
    huge = {"id": "huge", "text": "Le ministre. " * 200_000}
    nested = {"id": "nested", "text": {"fr": "texte"}}
    deep = "[" * 50_000 + "]" * 50_000
    path.write_text("\n".join([json.dumps(huge), json.dumps(nested), deep, '{"id": "ok", "text": "x"}']) + "\n")
    records = list(iter_jsonl_records(path))
    assert [r.id for r in records][:2] == ["huge", "nested"]
    assert len(records) == 4
    assert records[0].error is None and len(records[0].text) == len(huge["text"])
    assert records[1].error is not None and records[2].error is not None
    assert records[3].error is None
