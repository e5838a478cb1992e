"""The inference engine: same results as a plain per-document forward pass, any batching."""

import random
import re

import numpy as np
import pytest
import torch

import defnlp
from defnlp.errors import ConfigError
from defnlp.inference import Runtime, pack_batches
from defnlp.ner.decoding import decode_entities
from defnlp.ner.tagging import trimmed_token_spans

TEXTS = [
    "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.",
    "Nexter delivered 12 Caesar guns to Ukraine.",
    "Le ministre des Armées a visité Brest, Toulon et Lorient avec son homologue belge.",
    "A",
    "The Minister of Defence met NATO's Secretary General in Brussels on Tuesday to discuss the MGCS programme.",
]


def reference_entities(path, texts):
    """Export to a plain HF token classifier and decode one document at a time, unbatched."""
    import tempfile

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from defnlp.ner.export import export_hf
    from defnlp.tags import TagSet

    with tempfile.TemporaryDirectory() as tmp:
        export_hf(path, tmp)
        model = AutoModelForTokenClassification.from_pretrained(tmp).eval()
        tok = AutoTokenizer.from_pretrained(tmp)
        tagset = TagSet([t[2:] for t in model.config.id2label.values() if t.startswith("B-")])
    out = []
    for text in texts:
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
        ids = torch.tensor([[tok.cls_token_id] + enc["input_ids"] + [tok.sep_token_id]])
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, 1:-1]
        log_probs = torch.log_softmax(logits, -1).numpy()
        entities = decode_entities(tagset, text, trimmed_token_spans(text, enc["offset_mapping"]), log_probs)
        out.append([(e.start, e.end, e.label) for e in entities])
    return out


def test_engine_matches_a_plain_unbatched_hf_forward(tiny_ner_dir):
    nlp = defnlp.load(tiny_ner_dir, device="cpu", precision="fp32", token_budget=256)  # as the fp32 reference, AMX or not
    ours = [[(e.start, e.end, e.label) for e in d.entities] for d in nlp.pipe(TEXTS)]
    assert ours == reference_entities(tiny_ner_dir, TEXTS)


def test_precision_rules(monkeypatch):
    from defnlp.inference import runtime

    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: False)  # bf16 on AMX CPUs: tests/inference/test_bf16_cpu.py
    monkeypatch.delenv(runtime.ALLOW_CPU_BF16_ENV, raising=False)
    with pytest.raises(ConfigError, match="not supported on this CPU"):
        Runtime.create(device="cpu", precision="bf16")
    with pytest.raises(ConfigError, match="not supported on CPU"):
        Runtime.create(device="cpu", precision="fp16")
    with pytest.raises(ConfigError):
        Runtime.create(device="cpu", precision="fp8")
    assert Runtime.create(device="cpu").precision == "fp32"


def test_pack_batches_respects_the_budget_and_keeps_every_window():
    rng = random.Random(0)
    for _ in range(200):
        lengths = [rng.randint(1, 300) for _ in range(rng.randint(0, 200))]
        budget = rng.randint(64, 4096)
        batches = pack_batches(lengths, budget, max_batch=16)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        for b in batches:
            assert len(b) <= 16
            assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= budget


def test_windows_of_a_long_document_agree_with_short_context(tiny_ner_dir):
    """Entities found in a long document (many windows) stay where they are in the text."""
    nlp = defnlp.load(tiny_ner_dir, device="cpu")
    text = " ".join(TEXTS * 60)
    doc = nlp(text)
    assert len(doc.text) == len(text)
    starts = [e.start for e in doc.entities]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(doc.entities, doc.entities[1:]))


def test_engine_returns_tokens_head_outputs_and_hidden_states_only_when_asked(tiny_ner_dir):
    from defnlp.doc import Doc, prepare_doc
    from defnlp.errors import InputError
    from defnlp.inference import DocEncoding

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False)
    docs = [prepare_doc(Doc(t)) for t in TEXTS]
    plain = list(nlp.engine.run(docs + [Doc(None)]))
    assert isinstance(plain[-1], InputError) and "no text string" in plain[-1].message
    with_hidden = list(nlp.engine.run(docs, hidden=True))
    for doc, a, b in zip(docs, plain, with_hidden):
        assert isinstance(a, DocEncoding) and a.doc is doc and a.hidden is None
        assert a.outputs["ner"].shape == (a.n_tokens, len(nlp.ner.tagset)) and len(a.token_spans) == a.n_tokens
        for start, end in a.token_spans:  # exact spans, without the whitespace of "▁" tokens
            assert 0 <= start <= end <= len(doc.text) and doc.text[start:end] == doc.text[start:end].strip()
        assert b.hidden.shape == (b.n_tokens, nlp.engine.model.config.hidden_size)
        assert np.array_equal(a.outputs["ner"], b.outputs["ner"]) and a.token_spans == b.token_spans
    # the engine takes documents as they are: no sentence split, no language detection
    (enc,) = nlp.engine.run([Doc("Le ministre a signé. Il est parti.")])
    assert enc.doc.sentences == [] and enc.doc.lang is None


def test_hidden_states_can_run_while_the_engine_serves_other_calls(tiny_ner_dir):
    """No engine attribute is swapped: interleaved iterations give what each gives alone."""
    from defnlp.doc import Doc

    nlp = defnlp.load(tiny_ner_dir, device="cpu", token_budget=64)
    texts = TEXTS * 3
    alone = [(d.to_json(), h, s) for d, h, s in nlp.engine.hidden_states(Doc(t) for t in texts)]
    piped_alone = [d.to_json() for d in nlp.pipe(texts)]
    first = nlp.engine.hidden_states(Doc(t) for t in texts)
    piped = nlp.pipe(texts)
    second = nlp.engine.hidden_states(Doc(t) for t in texts)
    for k, (x, doc, y) in enumerate(zip(first, piped, second)):
        assert doc.to_json() == piped_alone[k]
        for d, h, s in (x, y):
            assert d.to_json() == alone[k][0] and s == alone[k][2] and np.array_equal(h, alone[k][1])
    assert k == len(texts) - 1


def test_the_engine_knows_nothing_of_ner_sentences_or_languages():
    import ast
    import inspect

    from defnlp.inference import engine

    tree = ast.parse(inspect.getsource(engine))
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not any("ner" in m.split(".") for m in modules), modules
    assert not names & {"split_sentences", "detect_language", "make_units", "TagSet"}


def test_release_free_memory_reports_whether_it_could():
    import platform

    from defnlp.inference.runtime import release_free_memory

    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")


# ------------------------------------------------------------------------------------------------
# layout: the engine tokenizes the model view, token spans point into the original text
# ------------------------------------------------------------------------------------------------
LAYOUT_TEXTS = [
    "COMMUNIQUÉ DE PRESSE\nLa DGA a notifié à KNDS France un contrat opéra-\ntionnel portant sur 42 Griffon.\n\n"
    "Contact presse\nClaire Dumont\nChargée de communication\nclaire.dumont@intradef.gouv.fr\n+33 1 23 45 67 89",
    "The Ministry of Defence awarded Thales a contract to sup-\r\n   port the Royal Navy's frigates at Devon-\r\nport.",
    "Le véhicule blin\u00ad\nDé Griffon, le sous-\nmarin Suffren et Jean-\nPierre Dupont.",
]


def test_engine_tokenizes_the_model_view_and_maps_spans_back_exactly(tiny_ner_dir):
    from defnlp.doc import Doc, prepare_doc
    from defnlp.layout import model_view
    from defnlp.text import trim_span

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False)
    for text in LAYOUT_TEXTS:
        (enc,) = nlp.engine.prepare([prepare_doc(Doc(text))])
        view, to_original = model_view(text)
        assert not to_original.identity
        plain = nlp.engine.tokenizer(view, add_special_tokens=False, return_offsets_mapping=True)
        assert enc.token_ids.tolist() == plain["input_ids"]
        for (a, b), (va, vb) in zip(enc.token_spans, plain["offset_mapping"]):
            assert 0 <= a <= b <= len(text) and text[a:b] == text[a:b].strip()
            # the token's characters are the view's: the original minus the joined hyphens and breaks
            assert "".join(text[to_original(i)] for i in range(va, vb)) == view[va:vb]
            assert (a, b) == (trim_span(text, *to_original.span(va, vb)) if vb > va else (a, a))
            assert view[va:vb].strip() == re.sub(r"[-\u00ad]\s+", "", text[a:b]) or "-" in view[va:vb]
    # the joined word is one token sequence: "opérationnel" is tokenized as in running text
    (enc,) = nlp.engine.prepare([prepare_doc(Doc("un contrat opéra-\ntionnel"))])
    assert enc.token_ids.tolist() == nlp.engine.tokenizer("un contrat opérationnel", add_special_tokens=False)["input_ids"]


def test_engine_matches_a_plain_forward_over_the_model_view(tiny_ner_dir):
    """A plain HF forward over the view, spans mapped back, decodes to the engine's entities."""
    import tempfile

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from defnlp.layout import model_view
    from defnlp.ner.export import export_hf
    from defnlp.tags import TagSet

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False)
    with tempfile.TemporaryDirectory() as tmp:
        export_hf(tiny_ner_dir, tmp)
        model = AutoModelForTokenClassification.from_pretrained(tmp).eval()
        tok = AutoTokenizer.from_pretrained(tmp)
        tagset = TagSet([t[2:] for t in model.config.id2label.values() if t.startswith("B-")])
    for text in LAYOUT_TEXTS:
        view, to_original = model_view(text)
        enc = tok(view, return_offsets_mapping=True, add_special_tokens=False)
        ids = torch.tensor([[tok.cls_token_id] + enc["input_ids"] + [tok.sep_token_id]])
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, 1:-1]
        spans = trimmed_token_spans(text, to_original.spans(enc["offset_mapping"]))
        expected = decode_entities(tagset, text, spans, torch.log_softmax(logits, -1).numpy())
        got = nlp(text).entities
        assert [(e.start, e.end, e.label) for e in got] == [(e.start, e.end, e.label) for e in expected]
        assert all(text[e.start : e.end] == e.text for e in got)


# ------------------------------------------------------------------------------------------------
# one encoder pass: the engine runs through Runtime.encode_with_heads, joins computed once
# ------------------------------------------------------------------------------------------------
def test_every_engine_batch_goes_through_the_runtimes_encoder_pass(tiny_ner_dir, monkeypatch):
    """The engine has no forward pass of its own: each batch is one Runtime.encode_with_heads call,
    with the engine's windows framed by CLS/SEP, never padded (one length per batch), and the
    heads run in that call."""
    from defnlp.doc import Doc, prepare_doc
    from defnlp.inference import engine as engine_module
    from defnlp.inference.batching import MIN_BATCH_TOKENS

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False, token_budget=96)
    docs = [prepare_doc(Doc(t)) for t in TEXTS * 4 + [" ".join(TEXTS * 8)]]
    before = list(nlp.engine.run(docs, hidden=True))
    calls, planned = [], []
    real = Runtime.encode_with_heads
    real_batches = engine_module.padded_batches

    def spy(self, model, input_ids, attention_mask, heads=()):
        calls.append((input_ids.copy(), attention_mask.copy(), len(heads)))
        return real(self, model, input_ids, attention_mask, heads)

    def spy_batches(*args, **kwargs):
        for batch in real_batches(*args, **kwargs):
            planned.append(batch.indices)
            yield batch

    monkeypatch.setattr(Runtime, "encode_with_heads", spy)
    monkeypatch.setattr(engine_module, "padded_batches", spy_batches)
    after = list(nlp.engine.run(docs, hidden=True))
    n_windows = sum(len(enc.windows) for enc in after)
    assert len(calls) == len(planned) > 1 and sum(len(rows) for rows in planned) == n_windows
    assert max(len(enc.windows) for enc in after) > 1
    tok = nlp.engine.tokenizer
    for (ids, mask, n_heads), rows in zip(calls, planned):
        assert n_heads == 1 and (ids[:, 0] == tok.cls_token_id).all() and (ids[:, -1] == tok.sep_token_id).all()
        assert mask.all()  # one length per batch: no padding
        if len(ids) > len(rows):  # a small batch, its rows repeated up to MIN_BATCH_TOKENS
            assert ids[: len(rows)].size < MIN_BATCH_TOKENS <= ids.size < MIN_BATCH_TOKENS + ids.shape[1]
            assert all((ids[r] == ids[r % len(rows)]).all() for r in range(len(ids)))
        else:
            assert ids.size <= 96 or len(rows) == 1
    for a, b in zip(before, after):
        assert np.array_equal(a.outputs["ner"], b.outputs["ner"]) and np.array_equal(a.hidden, b.hidden)


def test_the_engine_gives_decoding_the_model_views_joins(tiny_ner_dir, monkeypatch):
    """Joins are found once, by the engine's model view; decode_entities takes them instead of
    running hyphen_joins over the text again, with the same entities."""
    from defnlp.doc import Doc, prepare_doc
    from defnlp.layout import hyphen_joins
    from defnlp.ner import decoding

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False)
    encs = list(nlp.engine.run([prepare_doc(Doc(t)) for t in LAYOUT_TEXTS + TEXTS]))
    for enc in encs:
        assert enc.joins == hyphen_joins(enc.doc.text)
    assert all(enc.joins for enc in encs[: len(LAYOUT_TEXTS)]) and not any(enc.joins for enc in encs[len(LAYOUT_TEXTS):])
    computed = [decode_entities(nlp.ner.tagset, e.doc.text, e.token_spans, e.outputs["ner"]) for e in encs]

    def no_second_pass(text):
        raise AssertionError("hyphen_joins ran again")

    monkeypatch.setattr(decoding, "hyphen_joins", no_second_pass)
    given = [decode_entities(nlp.ner.tagset, e.doc.text, e.token_spans, e.outputs["ner"], joins=e.joins) for e in encs]
    assert given == computed


# ------------------------------------------------------------------------------------------------
# batch invariance: a document's outputs do not depend on the documents batched with it
# ------------------------------------------------------------------------------------------------
WORDS = ("la DGA a commandé Griffon KNDS Brest Toulon ministre Armées contrat frégate the Ministry "
         "of Defence awarded Thales a contract to support Royal Navy frigates Caesar guns Ukraine").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _neighbour_sets(rng: random.Random, long_text: str) -> list[list[str]]:
    """Neighbours that share batches with a document: none, short ones, long ones, its own twin."""
    short = [_sentence(rng, rng.randint(1, 60)) for _ in range(40)]
    long = [" ".join(_sentence(rng, rng.randint(3, 40)) for _ in range(rng.randint(10, 40))) for _ in range(4)]
    return [[], short[:7], short, long, long[:2] + short[:20], [long_text] + short[20:30]]


def test_a_documents_outputs_do_not_depend_on_the_documents_batched_with_it(tiny_ner_dir):
    """Bit-identical head outputs and hidden states for a long document (many windows), a short
    one and a one-token one, whatever documents share the engine's pool and batches, wherever
    the document sits among them (issue 16: a resumed run must give the same bytes)."""
    from dataclasses import replace

    from defnlp.doc import Doc, prepare_doc
    from defnlp.inference import Engine

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False, token_budget=1024)
    rng = random.Random(16)
    long_text = " ".join(_sentence(rng, rng.randint(3, 45)) for _ in range(60))
    targets = [long_text, TEXTS[0], "A"]
    engines = [nlp.engine]  # and one whose pools hold a few documents: other pool boundaries
    small_pools = replace(nlp.engine.runtime, pool_docs=3)
    engines.append(Engine(nlp.engine.model, nlp.engine.tokenizer, nlp.engine.heads, small_pools,
                          nlp.engine.max_tokens, nlp.engine.overlap))

    def encode(engine, texts):
        return list(engine.run([prepare_doc(Doc(t), detect_lang=False) for t in texts], hidden=True))

    (ref_long,) = encode(nlp.engine, [long_text])
    assert len(ref_long.windows) >= 6
    for target in targets:
        (ref,) = encode(nlp.engine, [target])
        for neighbours in _neighbour_sets(rng, long_text):
            for at in sorted({0, len(neighbours) // 2, len(neighbours)}):
                for engine in engines:
                    texts = neighbours[:at] + [target] + neighbours[at:]
                    got = encode(engine, texts)[at]
                    assert got.token_spans == ref.token_spans and got.windows == ref.windows
                    same = np.array_equal(got.outputs["ner"], ref.outputs["ner"]) and np.array_equal(got.hidden, ref.hidden)
                    assert same, (f"{target[:20]!r} with {len(neighbours)} neighbours at {at}: max difference "
                                  f"{np.abs(got.hidden - ref.hidden).max():.2g} in the hidden states")


def test_a_documents_json_does_not_depend_on_the_documents_piped_with_it(tiny_ner_dir):
    """The same at the pipeline's output: a document's JSON, alone or in any stream, is the same
    bytes, and its scores the same floats before the JSON rounds them."""
    nlp = defnlp.load(tiny_ner_dir, device="cpu")
    rng = random.Random(7)
    long_text = " ".join(_sentence(rng, rng.randint(3, 45)) for _ in range(40))
    alone = nlp(long_text)
    scores = [(e.start, e.end, e.label, e.score) for e in alone.entities]
    assert scores
    for neighbours in _neighbour_sets(rng, long_text)[1:4]:
        docs = list(nlp.pipe(neighbours[:3] + [long_text] + neighbours[3:]))
        assert docs[3].to_json() == alone.to_json()
        assert [(e.start, e.end, e.label, e.score) for e in docs[3].entities] == scores


def test_int8_batches_are_padded_and_agree_with_exact_length_ones(tiny_ner_dir, monkeypatch):
    """int8 cannot be batch-independent (one activation scale per batch), so the engine gives it
    length-sorted padded batches (fewer, fuller): mixed lengths with masks, the same windows, and
    outputs close to those of exact-length int8 batches."""
    from defnlp.doc import Doc, prepare_doc
    from defnlp.inference import engine as engine_module

    nlp = defnlp.load(tiny_ner_dir, device="cpu", relations=False, precision="int8", token_budget=512)
    assert not nlp.runtime.exact_length_batches and defnlp.load(tiny_ner_dir, device="cpu", precision="fp32").runtime.exact_length_batches
    docs = [prepare_doc(Doc(t)) for t in TEXTS * 3]
    masks, modes = [], []
    real_batches = engine_module.padded_batches

    def spy_batches(*args, **kwargs):
        modes.append(kwargs["same_length"])
        for batch in real_batches(*args, **kwargs):
            masks.append(batch.attention_mask.copy())
            yield batch

    monkeypatch.setattr(engine_module, "padded_batches", spy_batches)
    padded = list(nlp.engine.run(docs))
    assert modes == [False] and any(not m.all() for m in masks)  # some rows padded
    assert len(masks) < len({len(enc.token_ids) for enc in padded})  # fewer batches than distinct lengths
    monkeypatch.setattr(type(nlp.runtime), "exact_length_batches", property(lambda self: True))
    exact = list(nlp.engine.run(docs))
    for a, b in zip(padded, exact, strict=True):
        assert a.windows == b.windows
        assert np.abs(a.outputs["ner"] - b.outputs["ner"]).max() < 0.5  # log-probabilities, int8 scale noise
