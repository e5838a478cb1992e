"""The layout dev set (data/layout-dev) is valid gold and is never trained on."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from defnlp.errors import RecordFormatError
from defnlp.io.markup import parse_markup, read_markup_files
from defnlp.scheme import load_scheme

ROOT = Path(__file__).resolve().parents[1]
LAYOUT_DEV = ROOT / "data" / "layout-dev"
# sha256 of the documents' texts and entity spans/labels as they were before relations were added
# (issue 15): adding refs and relation lines must not move, relabel or retext any entity.
ENTITIES_SHA256 = "3ad7560a0474e34d18c88e80cb5c0633917b0841a3f4dc9ff5d745e279645c8b"
REF_PREFIX = {"PER": "p", "ORG": "o", "LOC": "l", "NAT": "n", "DATE": "t", "MONEY": "m", "QUANTITY": "q",
              "WEAPON": "w", "PLATFORM": "v", "PROGRAMME": "g", "DOCUMENT": "d", "ROLE": "r"}


def _docs():
    return read_markup_files(sorted(LAYOUT_DEV.glob("*.md")), load_scheme("defence-v1"))


def test_layout_dev_set_parses_with_every_label_in_both_languages():
    docs = [d for d in _docs()]
    assert len({d.id for d in docs}) == len(docs) >= 40
    by_lang = Counter(d.lang for d in docs)
    assert by_lang["fr"] >= 20 and by_lang["en"] >= 20
    labels = Counter(e.label for d in docs for e in d.entities)
    assert set(labels) == set(load_scheme("defence-v1").entity_labels)
    assert min(labels.values()) >= 25
    assert all(d.meta.get("split") == "dev" for d in docs)


def test_no_gold_entity_crosses_a_blank_line_or_has_outer_spaces():
    for d in _docs():
        for e in d.entities:
            surface = d.text[e.start : e.end]
            assert "\n\n" not in surface.replace("\r", "") and surface == surface.strip(), (d.id, surface)


def test_no_training_configuration_reads_the_layout_dev_set():
    for path in (ROOT / "configs").rglob("*.toml"):
        config = tomllib.loads(path.read_text(encoding="utf-8"))
        for source in config.get("train", []):
            assert "layout-dev" not in str(source.get("path", "")), path


def test_texts_and_entities_are_unchanged_by_the_relation_annotation():
    payload = json.dumps([[d.id, d.text, [[e.start, e.end, e.label] for e in d.entities]] for d in _docs()], ensure_ascii=False)
    assert hashlib.sha256(payload.encode("utf-8")).hexdigest() == ENTITIES_SHA256


def test_every_document_has_relations_at_a_realistic_density():
    docs = _docs()
    assert all(d.relations for d in docs), [d.id for d in docs if not d.relations]
    n_rel = sum(len(d.relations) for d in docs)
    n_ent = sum(len(d.entities) for d in docs)
    assert n_rel >= 1000 and 0.25 <= n_rel / n_ent <= 0.7, (n_rel, n_ent)
    by_lang = Counter(d.lang for d in docs for _ in d.relations)
    assert by_lang["fr"] >= 400 and by_lang["en"] >= 400
    labels = Counter(r.label for d in docs for r in d.relations)
    for label in ("ACQUIRES", "PRODUCES", "SIGNS", "HAS_ROLE", "HAS_QUANTITY", "PARTNER_OF", "LOCATED_IN", "LEADS", "MEMBER_OF", "PART_OF", "SAME_AS"):
        assert labels[label] >= 15, (label, labels[label])


def test_refs_are_typed_unique_and_every_relation_is_allowed_by_the_scheme():
    scheme = load_scheme("defence-v1")
    for d in _docs():
        refs = d.meta["refs"]
        assert len(refs) == len(d.entities), d.id  # every entity carries a ref
        for ref, idx in refs.items():
            assert re.fullmatch(REF_PREFIX[d.entities[idx].label] + r"\d+", ref), (d.id, ref, d.entities[idx].label)
        seen = set()
        for r in d.relations:
            head, tail = d.entities[r.head], d.entities[r.tail]
            assert r.head != r.tail, (d.id, r)
            assert scheme.allows(r.label, head.label, tail.label), (d.id, r.label, head.text, tail.text)
            key = (r.label, frozenset((r.head, r.tail)) if scheme.is_symmetric(r.label) else (r.head, r.tail))
            assert key not in seen, (d.id, r.label, head.text, tail.text)  # symmetric ones written once
            seen.add(key)


def test_a_relation_line_with_an_unknown_ref_is_rejected():
    source = (LAYOUT_DEV / "fr-press-releases.md").read_text(encoding="utf-8")
    first_doc = source.split("\n=== doc:", 2)[1]
    broken = "=== doc:" + first_doc.rstrip() + "\n> p1 HAS_ROLE r999\n"
    with pytest.raises(RecordFormatError, match="unknown reference"):
        parse_markup(broken, load_scheme("defence-v1"))
