"""The inference engine: same results as a plain per-document forward pass, any batching."""

import random

import numpy as np
import pytest
import torch

import defnlp
from defnlp.errors import ConfigError
from defnlp.inference import Runtime, pack_batches
from defnlp.ner.model import decode_entities
from defnlp.ner.tagging import make_units, trimmed_token_spans

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
    from defnlp.ner.tagging import TagSet

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
        units = make_units(text, trimmed_token_spans(text, enc["offset_mapping"]))
        log_probs = torch.log_softmax(logits, -1).numpy()
        out.append([(s, e, l) for s, e, l, _ in decode_entities(tagset, units, log_probs)])
    return out


def test_engine_matches_a_plain_unbatched_hf_forward(tiny_ner_dir):
    nlp = defnlp.load(tiny_ner_dir, device="cpu", token_budget=256)
    ours = [[(e.start, e.end, e.label) for e in d.entities] for d in nlp.pipe(TEXTS)]
    assert ours == reference_entities(tiny_ner_dir, TEXTS)


def test_int8_runs_and_keeps_offsets(tiny_ner_dir):
    nlp = defnlp.load(tiny_ner_dir, device="cpu", precision="int8")
    for d in nlp.pipe(TEXTS):
        for e in d.entities:
            assert d.text[e.start : e.end] == e.text


def _hidden(model, ids):
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state


def test_smoothing_leaves_fp32_outputs_unchanged(tiny_ner_dir):
    """Smoothing only moves per-channel scale from the inputs into the weights."""
    import copy

    from defnlp.inference.int8 import ScaledInput, calibration_batches, smooth_encoder
    from defnlp.ner.model import load_ner

    ner = load_ner(str(tiny_ner_dir))
    fp32 = ner.encoder.model.eval()
    smoothed = copy.deepcopy(fp32)
    n_layers = smooth_encoder(smoothed, calibration_batches(ner.encoder.tokenizer))
    assert n_layers == fp32.config.num_hidden_layers
    assert sum(isinstance(m, ScaledInput) for m in smoothed.modules()) == 2 * n_layers
    ids = torch.randint(5, 200, (2, 24))
    assert torch.allclose(_hidden(fp32, ids), _hidden(smoothed, ids), atol=1e-4)
    # the scales are real: some weight columns moved
    assert not torch.allclose(fp32.encoder.layer[0].intermediate.dense.weight,
                              smoothed.encoder.layer[0].intermediate.dense.inner.weight)


def test_smoothing_skips_encoders_without_the_bert_layout():
    from defnlp.inference.int8 import smooth_encoder

    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert smooth_encoder(model, []) == 0


def test_int8_quantises_every_encoder_linear_layer(tiny_ner_dir):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    from defnlp.inference.int8 import FusedQKV, ScaledInput, SpecialRowsLinear
    from defnlp.ner.model import load_ner

    ner = load_ner(str(tiny_ner_dir))
    fp32 = ner.encoder.model.eval()
    int8 = Runtime.create(device="cpu", precision="int8").prepare_model(fp32, ner.encoder.tokenizer)
    assert torch.backends.quantized.engine in torch.backends.quantized.supported_engines
    n_layers = fp32.config.num_hidden_layers
    assert sum(isinstance(m, ScaledInput) for m in int8.modules()) == n_layers  # up-projection smoothing
    fused = [m for m in int8.modules() if isinstance(m, FusedQKV)]
    assert len(fused) == n_layers and all(m.inv_scale is not None for m in fused)  # q/k/v input smoothing
    split = [m for m in int8.modules() if isinstance(m, SpecialRowsLinear)]
    assert len(split) == n_layers
    fp32_rows = {id(m.special) for m in split}
    linears = [m for name, m in int8.named_modules() if name.startswith("encoder.")
               and isinstance(m, (torch.nn.Linear, DynamicInt8Linear)) and id(m) not in fp32_rows]
    assert linears and all(isinstance(m, DynamicInt8Linear) for m in linears)
    assert all(type(m.special) is torch.nn.Linear and isinstance(m.ordinary, DynamicInt8Linear) for m in split)
    ids = torch.randint(5, 200, (2, 24))
    ids[:, 0], ids[:, -1] = ner.encoder.tokenizer.cls_token_id, ner.encoder.tokenizer.sep_token_id
    a, b = _hidden(fp32, ids), _hidden(int8, ids)
    assert torch.nn.functional.cosine_similarity(a.flatten(0, 1), b.flatten(0, 1)).min() > 0.99
    # a copy (its own hook and row bookkeeping) computes the same thing
    import copy

    assert torch.equal(_hidden(copy.deepcopy(int8), ids), b)
    # the input model is not modified, and the (unquantised) embedding table is shared, not copied
    assert isinstance(fp32.encoder.layer[0].intermediate.dense, torch.nn.Linear)
    assert isinstance(fp32.encoder.layer[0].attention.self.query, torch.nn.Linear)
    assert int8.get_input_embeddings().weight is fp32.get_input_embeddings().weight


def test_int8_without_tokenizer_keeps_the_ffn_outputs_fp32(tiny_ner_dir):
    from defnlp.inference.int8 import ScaledInput, SpecialRowsLinear, quantize_int8
    from defnlp.ner.model import load_ner

    fp32 = load_ner(str(tiny_ner_dir)).encoder.model.eval()
    int8 = quantize_int8(fp32)
    assert not any(isinstance(m, (ScaledInput, SpecialRowsLinear)) for m in int8.modules())
    assert all(type(layer.output.dense) is torch.nn.Linear for layer in int8.encoder.layer)
    ids = torch.randint(5, 200, (2, 24))
    a, b = _hidden(fp32, ids), _hidden(int8, ids)
    assert torch.nn.functional.cosine_similarity(a.flatten(0, 1), b.flatten(0, 1)).min() > 0.99


def test_fused_qkv_leaves_fp32_outputs_unchanged(tiny_ner_dir):
    import copy

    from defnlp.inference.int8 import FusedQKV, calibration_batches, fuse_qkv, smooth_encoder
    from defnlp.ner.model import load_ner

    ner = load_ner(str(tiny_ner_dir))
    fp32 = ner.encoder.model.eval()
    fused = copy.deepcopy(fp32)
    smooth_encoder(fused, calibration_batches(ner.encoder.tokenizer))
    assert fuse_qkv(fused) == fp32.config.num_hidden_layers
    assert isinstance(fused.encoder.layer[0].attention.self, FusedQKV)
    ids = torch.randint(5, 200, (3, 17))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.inference_mode():
        a = fp32(input_ids=ids, attention_mask=mask).last_hidden_state
        b = fused(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.allclose(a[mask.bool()], b[mask.bool()], atol=1e-4)


def test_int8_uses_all_8_activation_bits_where_the_kernels_allow():
    """torch's dynamic int8 keeps 7 activation bits by default (for fbgemm's saturating AVX2 kernels)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    from defnlp.inference.int8 import full_range_activations, int8_engine, quantize_int8

    engine = int8_engine()
    torch.manual_seed(0)
    fp32 = torch.nn.Sequential(torch.nn.Linear(64, 32))
    int8 = quantize_int8(fp32)
    assert isinstance(int8[0], DynamicInt8Linear)
    x = torch.randn(256, 64)
    reduced = torch.ops.quantized.linear_dynamic(x, int8[0]._packed_params._packed_params, reduce_range=True)

    def error(y):
        return float((y - fp32(x)).norm() / fp32(x).norm())

    with torch.inference_mode():
        if full_range_activations(engine):
            assert type(int8[0]).__name__ == "FullRangeInt8Linear"
            assert error(int8(x)) < 0.75 * error(reduced)
        else:
            assert type(int8[0]) is DynamicInt8Linear
            assert error(int8(x)) == pytest.approx(error(reduced))


def test_special_rows_linear_routes_special_tokens_to_fp32():
    from defnlp.inference.int8 import SpecialRowsLinear, SpecialTokenRows

    torch.manual_seed(0)
    linear = torch.nn.Linear(8, 3)
    rows = SpecialTokenRows([0, 2])  # e.g. <s>, </s>
    layer = SpecialRowsLinear(linear, rows)
    other = torch.nn.Linear(8, 3)  # stands in for the int8 copy: any different function
    layer.ordinary = other
    ids = torch.tensor([[0, 7, 9, 2, 1], [0, 5, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    rows.hook(None, (), {"input_ids": ids, "attention_mask": mask})
    x = torch.randn(2, 5, 8)
    with torch.inference_mode():
        out = layer(x.clone())
        special = torch.isin(ids, torch.tensor([0, 2])) & mask.bool()
        ordinary = ~torch.isin(ids, torch.tensor([0, 2])) & mask.bool()
        assert torch.allclose(out[special], linear(x[special]))
        assert torch.allclose(out[ordinary], other(x[ordinary]))
        # no input_ids (e.g. inputs_embeds), or a batch of another shape: every row in fp32
        rows.hook(None, (), {"inputs_embeds": x})
        assert torch.allclose(layer(x.clone()), linear(x))
        rows.hook(None, (ids[:1],), {})
        assert torch.allclose(layer(x.clone()), linear(x))
        # after the encoder's forward the rows are forgotten: a direct call runs in fp32
        rows.hook(None, (), {"input_ids": ids, "attention_mask": mask})
        rows.clear()
        assert torch.allclose(layer(x.clone()), linear(x))


def test_precision_rules():
    with pytest.raises(ConfigError, match="not supported on CPU"):
        Runtime.create(device="cpu", precision="bf16")
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


def test_release_free_memory_reports_whether_it_could():
    import platform

    from defnlp.inference.runtime import release_free_memory

    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")


def _brute_force_best(tagset, log_probs):
    """The best valid tag sequence by enumeration (tiny inputs only)."""
    import itertools

    best, best_score = None, -np.inf
    n, k = log_probs.shape
    for seq in itertools.product(range(k), repeat=n):
        if not tagset.start_allowed[seq[0]] or not all(tagset.allowed[a, b] for a, b in zip(seq, seq[1:])):
            continue
        score = sum(log_probs[i, t] for i, t in enumerate(seq))
        if score > best_score:
            best, best_score = list(seq), score
    return best, best_score


def test_viterbi_is_exact_and_valid():
    from defnlp.ner.tagging import TagSet

    tagset = TagSet(["PER", "LOC"])
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.3, 2.0, 6.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        tags = tagset.viterbi(log_probs)
        _, best_score = _brute_force_best(tagset, log_probs)
        assert tagset.start_allowed[tags[0]] and all(tagset.allowed[a, b] for a, b in zip(tags, tags[1:]))
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(best_score)
    # long sequences: the same optimum as dynamic programming over the whole sequence
    tagset = TagSet(["PER", "ORG", "LOC", "WPN"])
    for _ in range(100):
        n = int(rng.integers(50, 400))
        logits = rng.normal(size=(n, len(tagset))) * rng.choice([0.5, 3.0, 8.0])
        log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        tags, reference = tagset.viterbi(log_probs), tagset._viterbi_dp(log_probs)
        assert sum(log_probs[i, t] for i, t in enumerate(tags)) == pytest.approx(sum(log_probs[i, t] for i, t in enumerate(reference)))
