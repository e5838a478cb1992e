"""Every training config the project ships (configs/ and configs/experiments/) loads, validates and
points at files that exist: a config that drifts from the code fails here, not an hour into a run."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from defnlp.config import load_config, project_root
from defnlp.training.ner import NerTrainingConfig
from defnlp.training.relations import RelationTrainingConfig

CONFIGS = sorted((project_root() / "configs").rglob("*.toml"))


def test_the_project_ships_its_default_configs() -> None:
    names = {p.name for p in CONFIGS}
    assert {"defence-v2-ner.toml", "defence-v2-re.toml", "defence-v2-ner-fast.toml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(project_root() / "configs")))
def test_config_loads_and_its_local_paths_exist(path: Path) -> None:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    cls = RelationTrainingConfig if "ner_model" in raw else NerTrainingConfig
    cfg = load_config(cls, path)
    assert cfg.name, f"{path}: no name"
    for source in [*cfg.train, *cfg.dev]:
        if source.format == "markup" and source.path:
            assert cfg.resolve(source.path).exists(), f"{path}: {source.path} does not exist"
    for key in ("ner_model", "init_from", "interpolate_with"):
        base = getattr(cfg, key, "")
        if base.startswith("."):  # a relative model directory (a bare name is looked up in the model registry)
            assert (cfg.resolve(base) / "defnlp.json").is_file(), f"{path}: {key} {base} is not a model directory"
    out = cfg.resolve(cfg.output).resolve()
    assert out.is_relative_to(project_root()), f"{path}: output {cfg.output} leaves the project"
