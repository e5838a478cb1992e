"""int8 on CPU (:mod:`defnlp.inference.int8`): smoothing, fused self-attention, special-token rows.

The int8 model swaps its own modules into transformers' BERT layers. What that relies on upstream
(how the attention block calls its self-attention and reads its result, the encoder's
``input_ids``/``attention_mask`` arguments, the feed-forward output projection seeing one row per
token) is pinned here: a change fails these tests with the transformers version in the message.
"""

import copy
import threading

import pytest
import torch
import transformers

import defnlp
from defnlp.errors import ModelError
from defnlp.inference import Runtime

UPSTREAM = f"transformers {transformers.__version__} changed what the int8 modules rely on (see defnlp/inference/int8.py)"

INT8_TEXTS = [
    "Le ministre des Armées a rencontré la DGA à Brest le 3 mars 2024.",
    "Thales delivered 12 radars to the Royal Navy in Portsmouth.",
    "x",
]


def _hidden(model, ids, mask=None):
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids) if mask is None else mask).last_hidden_state


def _ner(tiny_ner_dir):
    from defnlp.ner.model import load_ner

    ner = load_ner(str(tiny_ner_dir))
    return ner.encoder.model.eval(), ner.encoder.tokenizer


def _int8(tiny_ner_dir):
    fp32, tokenizer = _ner(tiny_ner_dir)
    return fp32, Runtime.create(device="cpu", precision="int8").prepare_model(fp32, tokenizer), tokenizer


def _special_ids(tokenizer, batch=2, length=24, seed=0):
    torch.manual_seed(seed)
    ids = torch.randint(5, 200, (batch, length))
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    return ids


def test_int8_runs_and_keeps_offsets(tiny_ner_dir):
    nlp = defnlp.load(tiny_ner_dir, device="cpu", precision="int8")
    for d in nlp.pipe(INT8_TEXTS):
        for e in d.entities:
            assert d.text[e.start : e.end] == e.text


def test_smoothing_leaves_fp32_outputs_unchanged(tiny_ner_dir):
    """Smoothing only moves per-channel scale from the inputs into the weights."""
    from defnlp.inference.int8 import ScaledInput, calibration_batches, smooth_encoder

    fp32, tokenizer = _ner(tiny_ner_dir)
    smoothed = copy.deepcopy(fp32)
    n_layers = smooth_encoder(smoothed, calibration_batches(tokenizer))
    assert n_layers == fp32.config.num_hidden_layers
    assert sum(isinstance(m, ScaledInput) for m in smoothed.modules()) == 2 * n_layers
    ids = torch.randint(5, 200, (2, 24))
    assert torch.allclose(_hidden(fp32, ids), _hidden(smoothed, ids), atol=1e-4), UPSTREAM
    # the scales are real: some weight columns moved
    assert not torch.allclose(fp32.encoder.layer[0].intermediate.dense.weight,
                              smoothed.encoder.layer[0].intermediate.dense.inner.weight)


def test_smoothing_skips_encoders_without_the_bert_layout():
    from defnlp.inference.int8 import smooth_encoder

    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert smooth_encoder(model, []) == 0


def test_fused_self_attention_computes_what_transformers_does(tiny_ner_dir):
    """The swapped-in self-attention (one q/k/v projection, torch's SDPA) against transformers' own, in fp32."""
    from defnlp.inference.int8 import FusedQKV, calibration_batches, fuse_qkv, smooth_encoder

    fp32, tokenizer = _ner(tiny_ner_dir)
    fused = copy.deepcopy(fp32)
    assert fuse_qkv(fused) == fp32.config.num_hidden_layers, UPSTREAM
    smoothed_fused = copy.deepcopy(fp32)
    smooth_encoder(smoothed_fused, calibration_batches(tokenizer))
    assert fuse_qkv(smoothed_fused) == fp32.config.num_hidden_layers, UPSTREAM
    assert isinstance(smoothed_fused.encoder.layer[0].attention.self, FusedQKV)
    assert smoothed_fused.encoder.layer[0].attention.self.inv_scale is not None
    ids = torch.randint(5, 200, (3, 17))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    reference = _hidden(fp32, ids, mask)
    for model, atol in ((fused, 1e-5), (smoothed_fused, 1e-4)):
        assert torch.allclose(reference[mask.bool()], _hidden(model, ids, mask)[mask.bool()], atol=atol), UPSTREAM
        assert torch.allclose(_hidden(fp32, ids[:1]), _hidden(model, ids[:1]), atol=atol), UPSTREAM  # no padding


def test_a_self_attention_that_computes_something_else_is_not_fused(tiny_ner_dir, caplog):
    from defnlp.inference.int8 import FusedQKV, fuse_qkv

    fp32, _ = _ner(tiny_ner_dir)
    model = copy.deepcopy(fp32)
    attention = model.encoder.layer[0].attention.self
    plain = attention.forward
    attention.forward = lambda hidden_states, *args, **kwargs: (2 * plain(hidden_states, *args, **kwargs)[0], None)
    assert fuse_qkv(model) == fp32.config.num_hidden_layers - 1
    assert model.encoder.layer[0].attention.self is attention
    assert isinstance(model.encoder.layer[1].attention.self, FusedQKV)
    assert "encoder.layer.0.attention.self" in caplog.text and f"transformers {transformers.__version__}" in caplog.text


def test_fused_self_attention_refuses_what_it_does_not_compute(tiny_ner_dir):
    from defnlp.inference.int8 import FusedQKV

    fp32, _ = _ner(tiny_ner_dir)
    attention = FusedQKV(copy.deepcopy(fp32.encoder.layer[0].attention.self))
    x = torch.randn(1, 5, fp32.config.hidden_size)
    with torch.inference_mode():
        out, weights = attention(x, None, None, None, None, None, False)  # transformers 4.x passes these by position
        assert out.shape == x.shape and weights is None
        for kwargs in ({"encoder_hidden_states": x}, {"cache": object()}, {"output_attentions": True}):
            with pytest.raises(ModelError, match=f"transformers {transformers.__version__}"):
                attention(x, **kwargs)
        with pytest.raises(ModelError, match="positional argument 3"):
            attention(x, None, torch.ones(4))


def test_int8_quantises_every_encoder_linear_layer(tiny_ner_dir):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    from defnlp.inference.int8 import FusedQKV, ScaledInput, SpecialRowsLinear

    fp32, int8, tokenizer = _int8(tiny_ner_dir)
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
    ids = _special_ids(tokenizer)
    a, b = _hidden(fp32, ids), _hidden(int8, ids)
    assert torch.nn.functional.cosine_similarity(a.flatten(0, 1), b.flatten(0, 1)).min() > 0.99
    # a copy (its own hook and row bookkeeping) computes the same thing
    assert torch.equal(_hidden(copy.deepcopy(int8), ids), b)
    # the input model is not modified, and the (unquantised) embedding table is shared, not copied
    assert isinstance(fp32.encoder.layer[0].intermediate.dense, torch.nn.Linear)
    assert isinstance(fp32.encoder.layer[0].attention.self.query, torch.nn.Linear)
    assert int8.get_input_embeddings().weight is fp32.get_input_embeddings().weight


def test_int8_ffn_outputs_see_the_special_token_rows(tiny_ner_dir):
    """The encoder's pre-hook reads input_ids and the mask, and every feed-forward output projection gets
    one row per token: the ordinary rows go through int8, the special ones through fp32."""
    from defnlp.inference.int8 import SpecialRowsLinear

    _, int8, tokenizer = _int8(tiny_ner_dir)
    ids = _special_ids(tokenizer, batch=3, length=11)
    mask = torch.ones_like(ids)
    mask[2, 6:] = 0
    ids[2, 5], ids[2, 6:] = tokenizer.sep_token_id, tokenizer.pad_token_id
    rows_seen = []
    split = [m for m in int8.modules() if isinstance(m, SpecialRowsLinear)]
    hooks = [m.ordinary.register_forward_hook(lambda mod, args, out: rows_seen.append(args[0].shape[0])) for m in split]
    hooks += [m.special.register_forward_hook(lambda mod, args, out: rows_seen.append(-args[0].shape[0])) for m in split]
    try:
        _hidden(int8, ids, mask)
        _hidden(int8, ids, mask.bool())  # the engine's integer mask, or a boolean one
    finally:
        for h in hooks:
            h.remove()
    # per layer: the special rows in fp32 (2 + 2 + 2 real ones), then all 33 rows through int8
    assert rows_seen == [-6, 33] * 2 * len(split), UPSTREAM
    # after the forward the rows are forgotten: calling a projection directly runs it in fp32
    x = torch.randn(3, 11, split[0].special.in_features)
    with torch.inference_mode():
        assert torch.equal(split[0](x.clone()), split[0].special(x))


def test_int8_model_serves_several_threads(tiny_ner_dir):
    """Each thread's batch has its own special-token rows, even when the threads run the model at once."""
    _, int8, tokenizer = _int8(tiny_ner_dir)
    batches = [_special_ids(tokenizer, batch=1 + i % 3, length=9 + 4 * i, seed=i) for i in range(6)]
    expected = [_hidden(int8, ids) for ids in batches]
    results: dict[int, list[torch.Tensor]] = {}
    start = threading.Barrier(len(batches))

    def work(i):
        start.wait()
        results[i] = [_hidden(int8, batches[i]) for _ in range(5)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, outs in results.items():
        assert all(torch.allclose(out, expected[i], atol=1e-6) for out in outs)
    assert len(results) == len(batches)


def test_int8_without_tokenizer_keeps_the_ffn_outputs_fp32(tiny_ner_dir):
    from defnlp.inference.int8 import ScaledInput, SpecialRowsLinear, quantize_int8

    fp32, _ = _ner(tiny_ner_dir)
    int8 = quantize_int8(fp32)
    assert not any(isinstance(m, (ScaledInput, SpecialRowsLinear)) for m in int8.modules())
    assert all(type(layer.output.dense) is torch.nn.Linear for layer in int8.encoder.layer)
    ids = torch.randint(5, 200, (2, 24))
    a, b = _hidden(fp32, ids), _hidden(int8, ids)
    assert torch.nn.functional.cosine_similarity(a.flatten(0, 1), b.flatten(0, 1)).min() > 0.99


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
        # another model's rows are not this one's: every row in fp32
        SpecialTokenRows([0, 2]).hook(None, (ids,), {})
        assert torch.allclose(layer(x.clone()), linear(x))
        # no input_ids (e.g. inputs_embeds), or a batch of another shape: every row in fp32
        rows.hook(None, (), {"inputs_embeds": x})
        assert torch.allclose(layer(x.clone()), linear(x))
        rows.hook(None, (ids[:1],), {})
        assert torch.allclose(layer(x.clone()), linear(x))
        # after the encoder's forward the rows are forgotten: a direct call runs in fp32
        rows.hook(None, (), {"input_ids": ids, "attention_mask": mask})
        rows.clear()
        assert torch.allclose(layer(x.clone()), linear(x))
