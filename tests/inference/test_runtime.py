"""Precision and hardware decisions (defnlp.inference.runtime): CPU bf16 units, training precision."""

from __future__ import annotations

import pytest
import torch

from defnlp.errors import ConfigError
from defnlp.inference import runtime


def test_cpu_units_are_reported_consistently():
    units = runtime.cpu_bf16_units()
    assert units in ("amx", "avx512_bf16", None)
    assert runtime.cpu_has_amx() == (units == "amx")


@pytest.mark.parametrize("flags, units", [({"amx_tile", "avx512_bf16"}, "amx"), ({"avx512_bf16"}, "avx512_bf16"), (set(), None)])
def test_bf16_units_from_cpu_flags(monkeypatch, flags, units):
    monkeypatch.setattr(runtime, "_cpu_flag", lambda name: name in flags)
    assert runtime.cpu_bf16_units() == units
    assert runtime.cpu_has_amx() == ("amx_tile" in flags)
    assert runtime.resolve_training_precision("auto") == ("bf16" if units else "fp32")
    assert runtime.resolve_training_precision("fp32") == "fp32"
    if units:
        assert runtime.resolve_training_precision("bf16") == "bf16"
    else:
        with pytest.raises(ConfigError, match="no bf16 units"):
            runtime.resolve_training_precision("bf16")


def test_a_torch_without_the_probe_means_no_units(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert runtime.cpu_bf16_units() is None and not runtime.cpu_has_amx()


def test_training_autocast():
    with runtime.training_autocast("fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with runtime.training_autocast("bf16"):
        assert torch.is_autocast_enabled("cpu")
        assert torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3)).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="not resolved"):
        runtime.training_autocast("auto")
    with pytest.raises(ConfigError, match="unknown training precision"):
        runtime.resolve_training_precision("int8")


# ---- the encoder pass shared by the engine's callers and the aligners -----------------------------
@pytest.fixture(scope="module")
def tiny():
    from defnlp.encoders import load_encoder

    return load_encoder("tiny-random-e5")


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_truncated_models_return_the_full_models_hidden_state(tiny, layers):
    ids = tiny.tokenizer(["Le ministre a signé.", "Oui."], return_tensors="pt", padding=True)
    with torch.inference_mode():
        full = tiny.model(**ids, output_hidden_states=True).hidden_states[layers]
    rt = runtime.Runtime.create(device="cpu", precision="fp32")
    short = rt.prepare_model(tiny.model, tiny.tokenizer, layers=layers)
    assert isinstance(short, runtime.LayerOutput) == (layers == 0)
    if layers:
        assert len(short.encoder.layer) == layers and short.embeddings is tiny.model.embeddings  # shared, no copy
    got = rt.encode(short, ids["input_ids"].numpy(), ids["attention_mask"].numpy())
    assert torch.allclose(got, full, atol=1e-5)


def test_encode_runs_in_inference_mode_on_the_device(tiny):
    rt = runtime.Runtime.create(device="cpu", precision="fp32")
    ids = torch.tensor([[0, 5, 6, 2]])
    out = rt.encode(tiny.model, ids, torch.ones_like(ids))
    assert out.shape == (1, 4, 32) and out.device.type == "cpu" and out.is_inference()


def test_int8_prepares_a_quantised_copy_of_the_truncated_model(tiny):
    rt = runtime.Runtime.create(device="cpu", precision="int8")
    short = rt.prepare_model(tiny.model, tiny.tokenizer, layers=1)
    assert len(short.encoder.layer) == 1
    assert type(tiny.model.encoder.layer[0].intermediate.dense) is torch.nn.Linear  # the original is untouched
    ids = tiny.tokenizer(["Le char Leclerc."], return_tensors="pt")
    assert rt.encode(short, ids["input_ids"], ids["attention_mask"]).shape[-1] == 32


def test_resolve_runtime():
    rt = runtime.Runtime.create(device="cpu", precision="fp32")
    assert runtime.resolve_runtime(rt) is rt
    assert runtime.resolve_runtime(None, "cpu", "int8").precision == "int8"
    with pytest.raises(ConfigError, match="both a runtime"):
        runtime.resolve_runtime(rt, precision="fp32")


def test_encode_with_heads_runs_the_heads_on_the_encoders_states(tiny):
    rt = runtime.Runtime.create(device="cpu", precision="fp32")
    torch.manual_seed(0)
    head = torch.nn.Linear(32, 5)
    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    states, (logits,) = rt.encode_with_heads(tiny.model, ids.numpy(), mask.numpy(), [head])
    assert torch.equal(states, rt.encode(tiny.model, ids, mask))
    with torch.inference_mode():
        assert torch.equal(logits, head(states))
    assert rt.encode_with_heads(tiny.model, ids, mask)[1] == []


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_key_padding_mask_gives_the_same_states_as_the_mask_transformers_builds(tiny, precision):
    rt = runtime.Runtime.create(device="cpu", precision=precision)
    model = rt.prepare_model(tiny.model, tiny.tokenizer)
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 7, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    assert tiny.model.config._attn_implementation == "sdpa"
    assert runtime.encoder_attention_mask(model, mask).shape == (2, 1, 1, 5)
    with torch.inference_mode():
        built = model(input_ids=ids, attention_mask=mask).last_hidden_state  # transformers' own (B, 1, T, T) mask
    assert torch.equal(rt.encode(model, ids, mask), built)


def test_key_padding_mask_only_where_it_helps(tiny):
    full = torch.ones(2, 4, dtype=torch.long)
    assert runtime.encoder_attention_mask(tiny.model, full) is full  # no padding: transformers drops the mask
    eager = torch.nn.Module()
    eager.config = type("Config", (), {"_attn_implementation": "eager"})()
    padded = torch.tensor([[1, 1, 0]])
    assert runtime.encoder_attention_mask(eager, padded) is padded
    assert runtime.encoder_attention_mask(torch.nn.Linear(2, 2), padded) is padded  # no config: unchanged


# ---- what `auto` picks, and the CPU features it is picked from (reported by `defnlp info`) ---------
def test_cpu_features_come_from_the_torch_probes(monkeypatch):
    assert set(runtime.cpu_features()) == {"amx", "avx512", "avx512_bf16", "vnni"}
    monkeypatch.setattr(runtime, "_cpu_flag", lambda name: name in {"avx512", "vnni"})
    assert runtime.cpu_features() == {"amx": False, "avx512": True, "avx512_bf16": False, "vnni": True}


def test_auto_precision_is_what_runtime_create_picks():
    precision, reason = runtime.auto_precision("cpu")
    expected = "bf16" if runtime.cpu_bf16_inference() else "fp32"  # bf16 weights where the CPU has AMX tiles
    assert precision == runtime.Runtime.create(device="cpu", precision="auto").precision == expected
    assert "AMX" in reason


def test_info_reports_the_cpu_features_and_the_auto_precision():
    from defnlp.cli.info import collect

    info = collect()
    assert info["cpu_features"] == runtime.cpu_features()
    assert (info["precision_auto"], info["precision_reason"]) == runtime.auto_precision(info["device"])
    assert info["cpu"] == runtime.cpu_name()


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse avx2 avx512f avx512_vnni amx_tile amx_bf16\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    flags = runtime.cpu_flags(path=str(info))
    assert set(flags) == set(runtime.CPUINFO_FLAGS)
    assert {k for k, v in flags.items() if v} == {"avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_bf16"}
    assert runtime.cpu_flags(path=str(tmp_path / "missing")) is None
    real = runtime.cpu_flags()
    assert real is None or set(real) == set(runtime.CPUINFO_FLAGS)


def test_no_amx_env_makes_the_runtime_act_as_on_a_cpu_without_amx(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.delenv(runtime.NO_AMX_ENV, raising=False)
    assert runtime.cpu_has_amx() and runtime.cpu_bf16_units() == "amx" and runtime.cpu_features()["amx"]
    monkeypatch.setenv(runtime.NO_AMX_ENV, "0")
    assert not runtime.amx_disabled() and runtime.cpu_has_amx()
    monkeypatch.setenv(runtime.NO_AMX_ENV, "1")
    assert runtime.amx_disabled()
    assert not runtime.cpu_has_amx() and runtime.cpu_bf16_units() == "avx512_bf16" and not runtime.cpu_features()["amx"]
