"""defnlp.config: ``--set`` overrides reach keys of tables and entries of arrays of tables."""
import pytest

from defnlp.config import apply_overrides, load_config
from defnlp.errors import ConfigError
from defnlp.training import NerTrainingConfig

CONFIG = """name = "x"
output = "o"
[[train]]
format = "markup"
path = "a.md"
sample = 2.0
[[train]]
format = "re3d"
split = "train"
"""


def test_a_number_picks_an_entry_of_an_array_of_tables(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG, encoding="utf-8")
    cfg = load_config(NerTrainingConfig, path, {"train.0.sample": 1.0, "train.1.sample": 4.0})
    assert [source.sample for source in cfg.train] == [1.0, 4.0]
    assert [source.format for source in cfg.train] == ["markup", "re3d"]


@pytest.mark.parametrize("key, message", [
    ("train.2.sample", "has no entry 2"),
    ("train.first.sample", "must be an entry number"),
    ("train.sample", "is an array of tables"),
])
def test_a_wrong_entry_names_the_entries_there_are(key, message):
    data = {"train": [{"sample": 2.0}, {"sample": 1.0}]}
    with pytest.raises(ConfigError, match=message) as caught:
        apply_overrides(data, {key: 3.0}, where="c.toml")
    assert "train.0" in caught.value.hint
    assert data == {"train": [{"sample": 2.0}, {"sample": 1.0}]}


def test_an_unknown_key_of_an_entry_is_refused_on_load(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError, match="nope"):
        load_config(NerTrainingConfig, path, {"train.1.nope": 1})
