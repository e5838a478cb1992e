"""What ``precision="auto"`` picks on CPU (issue 17): bf16 with AMX tiles, int8 with VNNI, else fp32.

The CPU is simulated: AMX by monkeypatching ``runtime.cpu_has_amx``, VNNI by monkeypatching
torch's probe ``torch.cpu._is_vnni_supported`` (what :func:`defnlp.inference.runtime.cpu_int8_inference`
reads); the conftest's ``DEFNLP_NO_AMX`` / ``DEFNLP_NO_VNNI`` are cleared for these tests only.
"""

from __future__ import annotations

import pytest
import torch

import defnlp
from defnlp.inference import runtime

SENTENCES = [
    "La DGA a commandé 42 Griffon à KNDS le 3 mars 2024.",
    "Nexter delivered 12 Caesar guns to Ukraine in 2023.",
]


def _cpu(monkeypatch, amx: bool, vnni: bool) -> None:
    monkeypatch.delenv(runtime.NO_AMX_ENV, raising=False)
    monkeypatch.delenv(runtime.NO_VNNI_ENV, raising=False)
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_vnni_supported", lambda: vnni, raising=False)


@pytest.fixture
def vnni(monkeypatch):
    """A CPU with VNNI int8 instructions and no AMX tiles (AMD Zen 4, Intel Ice Lake / Cascade Lake)."""
    _cpu(monkeypatch, amx=False, vnni=True)


@pytest.fixture
def plain(monkeypatch):
    """A CPU with neither (AVX2 only)."""
    _cpu(monkeypatch, amx=False, vnni=False)


def test_auto_is_int8_on_a_cpu_with_vnni_and_no_amx(vnni):
    precision, reason = runtime.auto_precision("cpu")
    assert precision == "int8" and "VNNI" in reason
    assert runtime.cpu_int8_inference() and runtime.cpu_features()["vnni"]
    assert runtime.Runtime.create(device="cpu").precision == "int8"
    assert runtime.Runtime.create(device="cpu", precision="fp32").precision == "fp32"  # explicit wins


def test_amx_wins_over_vnni(monkeypatch):
    _cpu(monkeypatch, amx=True, vnni=True)
    assert runtime.auto_precision("cpu")[0] == "bf16"


def test_auto_is_fp32_without_either_and_int8_stays_available(plain):
    precision, reason = runtime.auto_precision("cpu")
    assert precision == "fp32" and "opt-in" in reason
    assert not runtime.cpu_int8_inference()
    assert runtime.Runtime.create(device="cpu", precision="int8").precision == "int8"


def test_no_vnni_env_forces_the_plain_path(vnni, monkeypatch):
    monkeypatch.setenv(runtime.NO_VNNI_ENV, "1")
    assert not runtime.cpu_features()["vnni"] and not runtime.cpu_int8_inference()
    assert runtime.auto_precision("cpu")[0] == "fp32"
    monkeypatch.setenv(runtime.NO_VNNI_ENV, "0")
    assert runtime.auto_precision("cpu")[0] == "int8"


def test_int8_needs_int8_kernels_in_the_torch_build(vnni, monkeypatch):
    monkeypatch.setattr(runtime, "_int8_kernels", lambda: False)  # e.g. a build with qnnpack only
    assert not runtime.cpu_int8_inference()
    assert runtime.auto_precision("cpu")[0] == "fp32"


def test_info_reports_int8(vnni):
    from defnlp.cli.info import collect

    info = collect()
    if info["device"] == "cpu":
        assert info["precision_auto"] == "int8" and "VNNI" in info["precision_reason"]


def test_pipeline_at_auto_runs_the_int8_model_and_matches_explicit_int8(vnni, tiny_ner_dir):
    auto = defnlp.load(tiny_ner_dir, device="cpu")
    explicit = defnlp.load(tiny_ner_dir, device="cpu", precision="int8")
    assert auto.runtime.precision == "int8" and auto.info()["precision"] == "int8"
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in auto.engine.model.modules())
    got = [[(e.start, e.end, e.label) for e in d.entities] for d in auto.pipe(SENTENCES)]
    want = [[(e.start, e.end, e.label) for e in d.entities] for d in explicit.pipe(SENTENCES)]
    assert got == want


def test_training_evaluates_in_fp32_whatever_auto_picks(vnni, tiny_ner_dir, monkeypatch):
    from defnlp.doc import Doc
    from defnlp.inference import Runtime
    from defnlp.ner.model import NerModel
    from defnlp.training.dev_scoring import predict_docs

    nlp = defnlp.load(tiny_ner_dir, device="cpu", precision="fp32")
    made = []
    real = Runtime.create.__func__

    def create(cls, *args, **kwargs):
        rt = real(cls, *args, **kwargs)
        made.append(rt.precision)
        return rt

    monkeypatch.setattr(Runtime, "create", classmethod(create))
    ner = nlp.ner
    out = predict_docs(NerModel(ner.encoder.model, ner.head), ner.encoder.tokenizer, ner.tagset, [Doc(t) for t in SENTENCES],
                       ner.spec.max_tokens, ner.spec.overlap)
    assert len(out) == len(SENTENCES) and made == ["fp32"]
