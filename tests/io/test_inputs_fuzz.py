"""Fuzzing the JSONL reader: every non-blank line yields exactly one record or one error record."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defnlp.errors import DefnlpError
from defnlp.io.inputs import iter_jsonl_records

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
    # bytes that Python's line iteration also splits on (\r, \x0b…) may make extra lines;
    # what matters is that nothing is silently dropped
    assert len(records) >= len(expected)
    for rec in records:
        if rec.error is not None:
            assert isinstance(rec.error, DefnlpError)
            assert str(rec.error)
        else:
            assert isinstance(rec.text, str) and rec.text.strip()
            assert rec.id


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
