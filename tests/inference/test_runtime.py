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
