"""Augmentation settings (defnlp/training/augment/settings.py): validation, configuration tables."""

from __future__ import annotations

import pytest

from defnlp.config import config_from_dict
from defnlp.errors import ConfigError
from defnlp.training.augment import AugmentSettings, augment_docs
from tests.training.augment.checks import nested_doc


# ---- settings -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [{"copies": -1}, {"copies": 1.5}, {"replace": 2}, {"wrap": -0.1}, {"layout": True},
     {"wrap_min": 95, "wrap_max": 90}, {"wrap_min": 5}, {"gazetteers": "yes"}, {"corpus_labels": "EVENT"},
     {"corpus_labels": [""]}],
)
def test_bad_settings_raise_config_error(values):
    with pytest.raises(ConfigError):
        AugmentSettings(**values)


def test_settings_from_a_configuration_table():
    s = config_from_dict(AugmentSettings, {"copies": 2, "replace": 0, "wrap_max": 80}, where="augment")
    assert (s.copies, s.replace, s.wrap_max) == (2, 0.0, 80)
    with pytest.raises(ConfigError):
        config_from_dict(AugmentSettings, {"copise": 2}, where="augment")
    with pytest.raises(ConfigError):
        AugmentSettings.only("nope")
    assert augment_docs([nested_doc()], AugmentSettings(copies=0), seed=1) == []
