"""bf16 inference on CPU (issue 17): bf16 weights where the CPU has AMX tiles, refused elsewhere.

AMX is simulated by monkeypatching ``runtime.cpu_has_amx``; the bf16 matmuls themselves run on
whatever this CPU has (slowly without bf16 units: the models are tiny).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import defnlp
from defnlp.doc import Doc, prepare_doc
from defnlp.errors import ConfigError
from defnlp.inference import runtime

SENTENCES = [
    "Le ministre des Armées, Claire Dumont, a visité Brest avec la DGA.",
    "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.",
    "The Minister of Defence, John Carter, visited Toulon with Thales.",
    "Nexter delivered 12 Caesar guns to Ukraine in 2023.",
]


@pytest.fixture
def amx(monkeypatch):
    """A CPU with AMX tiles, as the runtime sees it."""
    monkeypatch.delenv(runtime.NO_AMX_ENV, raising=False)
    monkeypatch.delenv(runtime.ALLOW_CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: True)


@pytest.fixture
def no_amx(monkeypatch):
    """A CPU without AMX tiles."""
    monkeypatch.delenv(runtime.NO_AMX_ENV, raising=False)
    monkeypatch.delenv(runtime.ALLOW_CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: False)


def _entities(nlp) -> list:
    return [[(e.start, e.end, e.label) for e in doc.entities] for doc in nlp.pipe(SENTENCES)]


def test_auto_is_bf16_on_a_cpu_with_amx(amx):
    assert runtime.auto_precision("cpu") == ("bf16", "CPU with AMX tiles: bf16 weights")
    rt = runtime.Runtime.create(device="cpu", precision="auto")
    assert rt.precision == "bf16" and rt.cpu_bf16
    assert runtime.Runtime.create(device="cpu", precision="bf16").precision == "bf16"


def test_info_reports_bf16_on_a_cpu_with_amx(amx):
    from defnlp.cli.info import collect

    info = collect()
    if info["device"] == "cpu":
        assert (info["precision_auto"], info["precision_reason"]) == ("bf16", "CPU with AMX tiles: bf16 weights")


def test_without_amx_auto_is_fp32_and_bf16_is_refused_with_the_reason(no_amx):
    precision, reason = runtime.auto_precision("cpu")
    assert precision == "fp32" and "AMX" in reason
    assert runtime.Runtime.create(device="cpu", precision="auto").precision == "fp32"
    with pytest.raises(ConfigError, match="no AMX tiles") as err:
        runtime.Runtime.create(device="cpu", precision="bf16")
    assert "GFLOP/s" in err.value.hint and runtime.ALLOW_CPU_BF16_ENV in err.value.hint
    with pytest.raises(ConfigError, match="fp16"):
        runtime.Runtime.create(device="cpu", precision="fp16")


def test_no_amx_env_forces_the_non_amx_path(amx, monkeypatch):
    monkeypatch.setenv(runtime.NO_AMX_ENV, "1")
    assert runtime.auto_precision("cpu")[0] == "fp32"
    assert runtime.Runtime.create(device="cpu").precision == "fp32"
    with pytest.raises(ConfigError, match=runtime.NO_AMX_ENV):
        runtime.Runtime.create(device="cpu", precision="bf16")


def test_the_escape_hatch_allows_explicit_bf16_but_not_auto(no_amx, monkeypatch):
    monkeypatch.setenv(runtime.ALLOW_CPU_BF16_ENV, "1")
    assert runtime.Runtime.create(device="cpu", precision="bf16").precision == "bf16"
    assert runtime.Runtime.create(device="cpu", precision="auto").precision == "fp32"
    monkeypatch.setenv(runtime.ALLOW_CPU_BF16_ENV, "0")
    with pytest.raises(ConfigError):
        runtime.Runtime.create(device="cpu", precision="bf16")


def test_prepare_model_makes_a_bf16_copy_and_hands_on_float32(amx, tiny_encoder):
    model = tiny_encoder.model
    rt = runtime.Runtime.create(device="cpu", precision="auto")
    fast = rt.prepare_model(model, tiny_encoder.tokenizer)
    assert fast is not model
    assert fast.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16  # weights, not autocast
    assert fast.encoder.layer[0].output.LayerNorm.weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the original is untouched
    assert fast.get_input_embeddings().weight is model.get_input_embeddings().weight  # shared, not copied
    ids = tiny_encoder.tokenizer(SENTENCES, return_tensors="pt", padding=True)
    head = torch.nn.Linear(32, 5)
    states, (logits,) = rt.encode_with_heads(fast, ids["input_ids"], ids["attention_mask"], [head])
    assert states.dtype == logits.dtype == torch.float32
    fp32 = runtime.Runtime.create(device="cpu", precision="fp32")
    ref_states, (ref_logits,) = fp32.encode_with_heads(model, ids["input_ids"], ids["attention_mask"], [head])
    scale = ref_states.abs().max().item()
    assert torch.allclose(states, ref_states, atol=0.05 * scale)  # bf16: ~3 significant digits, 2 layers
    assert not torch.equal(states, ref_states)  # it did run in bf16
    short = rt.prepare_model(model, tiny_encoder.tokenizer, layers=1)  # the aligners' truncated model
    assert len(short.encoder.layer) == 1 and short.encoder.layer[0].intermediate.dense.weight.dtype == torch.bfloat16
    assert rt.encode(short, ids["input_ids"], ids["attention_mask"]).dtype == torch.float32


def test_ner_at_bf16_agrees_with_fp32(amx, tiny_ner_dir):
    fp32 = defnlp.load(tiny_ner_dir, device="cpu", precision="fp32")
    bf16 = defnlp.load(tiny_ner_dir, device="cpu", precision="auto")
    assert bf16.runtime.precision == "bf16" and bf16.info()["precision"] == "bf16"
    assert bf16.engine.model.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    assert all(p.dtype == torch.float32 for p in bf16.ner.head.parameters())  # heads stay fp32
    encs = list(bf16.engine.run([prepare_doc(Doc(t)) for t in SENTENCES], hidden=True))
    ref = list(fp32.engine.run([prepare_doc(Doc(t)) for t in SENTENCES], hidden=True))
    for got, want in zip(encs, ref, strict=True):
        out, exp = got.outputs["ner"], want.outputs["ner"]
        assert out.dtype == got.hidden.dtype == np.float32  # what the relation head reads
        assert np.allclose(out, exp, atol=0.1 + 0.05 * np.abs(exp).max())  # log-probabilities, bf16 tolerance
        assert np.allclose(got.hidden, want.hidden, atol=0.05 * np.abs(want.hidden).max())
    same = sum(a == b for a, b in zip(_entities(bf16), _entities(fp32)))
    assert same >= len(SENTENCES) - 1  # a tiny random model may flip a near-tie


def test_pipeline_with_relations_at_bf16(amx, tiny_ner_dir, tiny_markup_file, tmp_path_factory):
    from defnlp.io.corpora import DataSource
    from defnlp.training.relations import RelationTrainingConfig, train_relations

    out = tmp_path_factory.mktemp("models") / "tiny-re-bf16"
    data = [DataSource(format="markup", path=str(tiny_markup_file))]
    re_dir = train_relations(RelationTrainingConfig(name="tiny-re", output=str(out), ner_model=str(tiny_ner_dir),
                                                    epochs=2, lr=5e-3, train=data, dev=data, proj=32, mlp=32, dropout=0.0))
    nlp = defnlp.load(tiny_ner_dir, relations=re_dir, device="cpu")
    assert nlp.runtime.precision == "bf16"
    docs = list(nlp.pipe(SENTENCES))
    assert len(docs) == len(SENTENCES) and any(doc.entities for doc in docs)
    scores = [r.score for doc in docs for r in doc.relations]
    assert scores and all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)  # relation head read float32 states
