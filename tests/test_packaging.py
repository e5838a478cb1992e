"""Models that install: the wheel carries models/ (setup.py), and model names resolve outside a checkout.

The end-to-end test builds the wheel from a copy of the checkout (pip wheel, no network),
installs it with ``pip install --target`` into a folder outside the checkout, and annotates a
French sentence offline in a subprocess that cannot import the checkout's ``defnlp``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import defnlp.models as models
from defnlp.errors import ModelError, ModelNotFoundError
from tests.conftest import ROOT, default_model_available

FR = "Le ministre des Armées a signé une lettre d'intention avec la Belgique à Bruxelles."


def _checkout_models() -> list[str]:
    return sorted(p.name for p in (ROOT / "models").iterdir()
                  if not p.name.startswith(".") and (p / "defnlp.json").is_file() and (p / "manifest.json").is_file())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The defnlp wheel, built from a copy of the checkout (its build/ and egg-info stay untouched)."""
    src = tmp_path_factory.mktemp("src") / "defnlp-src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "_models")
    shutil.copytree(ROOT / "defnlp", src / "defnlp", ignore=ignore)
    shutil.copytree(ROOT / "models", src / "models", ignore=shutil.ignore_patterns(".*"))
    out = src.parent / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(out), str(src)], check=True, cwd=src.parent, capture_output=True, timeout=300)
    (whl,) = out.glob("defnlp-*.whl")
    return whl


def test_the_wheel_carries_every_model_with_its_manifest(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        packaged = sorted({n.split("/")[2] for n in names if n.startswith("defnlp/_models/")})
        assert packaged == _checkout_models()
        for model in packaged:
            manifest = json.loads(z.read(f"defnlp/_models/{model}/manifest.json"))
            assert "defnlp.json" in manifest["files"]
            for name in manifest["files"]:  # every listed file, and nothing the manifest does not list
                assert f"defnlp/_models/{model}/{name}" in names
            inside = {n for n in names if n.startswith(f"defnlp/_models/{model}/")}
            assert inside == {f"defnlp/_models/{model}/{n}" for n in [*manifest["files"], "manifest.json"]}
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "defnlp = defnlp.spacy_component:make_component" in z.read(entry_points).decode()
        assert "defnlp/__main__.py" in names


@pytest.mark.skipif(not default_model_available(), reason="models/defence-v2-ner is not in this checkout")
def test_wheel_installed_outside_the_checkout_annotates_offline(wheel, tmp_path):
    """pip install of the wheel alone, then defnlp.load() and `python -m defnlp annotate`, offline."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    (work / "note.txt").write_text(FR, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEFNLP_MODELS_DIR", "PYTHON"))}
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false")
    script = (
        "import json, defnlp\n"
        "nlp = defnlp.load(device='cpu')\n"
        f"doc = nlp({FR!r})\n"
        "print(json.dumps({'file': defnlp.__file__, 'ner': str(nlp.info()['ner']['path']),\n"
        "                  'entities': [[e.text, e.label] for e in doc.entities]}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(site)  # not the checkout's defnlp
    assert Path(result["ner"]).is_relative_to(site / "defnlp" / "_models")
    assert ["Bruxelles", "LOC"] in result["entities"]
    cli = subprocess.run([sys.executable, "-m", "defnlp", "-q", "annotate", "note.txt", "--output", "out.jsonl",
                          "--device", "cpu"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-3000:]
    (record,) = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"text": "Bruxelles", "label": "LOC"}.items() <= next(e for e in record["entities"]
                                                                   if e["text"] == "Bruxelles").items()


def test_python_dash_m_defnlp_runs_the_cli():
    run = subprocess.run([sys.executable, "-m", "defnlp", "--version"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "0.1" in run.stdout + run.stderr


# ---- name resolution: checkout models/, installed defnlp/_models, hub ----------------------------
@pytest.fixture
def roots(tmp_path, monkeypatch, tiny_ner_dir):
    """A checkout models/ folder and an installed _models folder, each with one copy of the tiny model."""
    checkout, packaged = tmp_path / "checkout", tmp_path / "packaged"
    shutil.copytree(tiny_ner_dir, checkout / "both")
    shutil.copytree(tiny_ner_dir, packaged / "both")
    shutil.copytree(tiny_ner_dir, packaged / "only-installed")
    (packaged / ".tmp-being-written").mkdir()
    monkeypatch.setenv("DEFNLP_MODELS_DIR", str(checkout))
    monkeypatch.setattr(models, "PACKAGED_MODELS", packaged)
    return checkout, packaged


def test_names_are_found_in_the_checkout_first_then_in_the_installed_package(roots):
    checkout, packaged = roots
    assert models.model_roots() == [checkout, packaged]
    assert models.find_model("both") == checkout / "both"
    assert models.find_model("only-installed") == packaged / "only-installed"
    assert [p.name for p in models.shipped_models()] == ["both", "only-installed"]
    with pytest.raises(ModelNotFoundError) as err:
        models.find_model("nothing-here")
    assert "both, only-installed" in err.value.hint and "hf://" in err.value.hint
    with pytest.raises(ModelNotFoundError):
        models.find_model("../packaged/both")  # a name is a name, not a path out of the roots


def test_installed_models_load_with_the_hash_checks(roots, tiny_ner_dir):
    import defnlp

    _, packaged = roots
    nlp = defnlp.load("only-installed", device="cpu")
    assert Path(nlp.info()["ner"]["path"]) == packaged / "only-installed"
    weights = packaged / "only-installed" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelError):
        defnlp.load("only-installed", device="cpu")


def test_hub_models_are_copied_into_the_cache_as_plain_files(tmp_path, monkeypatch, tiny_ner_dir):
    """hf://owner/name: manifest first, then only the files it lists; symlinked Hub snapshots become plain files."""
    import huggingface_hub

    import defnlp

    snapshot = tmp_path / "hub" / "snapshots" / "0123abcd"
    blobs = tmp_path / "hub" / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    for f in tiny_ner_dir.iterdir():  # the Hub cache layout: snapshot files are links to blobs
        shutil.copy2(f, blobs / f.name)
        (snapshot / f.name).symlink_to(blobs / f.name)
    asked = []

    def fake_download(repo_id, filename, revision=None, **kwargs):
        asked.append((repo_id, filename, revision))
        return str(snapshot / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("DEFNLP_CACHE_DIR", str(tmp_path / "cache"))
    path = models.find_model("hf://someone/tiny-ner@v1")
    assert path == tmp_path / "cache" / "hub" / "someone--tiny-ner" / "0123abcd"
    assert asked[0] == ("someone/tiny-ner", "manifest.json", "v1")
    listed = json.loads((tiny_ner_dir / "manifest.json").read_text())["files"]
    assert sorted(f for _, f, _ in asked[1:]) == sorted(listed)
    assert not any(p.is_symlink() for p in path.iterdir())
    assert defnlp.load("hf://someone/tiny-ner@v1", device="cpu").entity_labels


def test_hub_failures_are_model_errors(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("offline and not in the cache")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(ModelError, match="someone/missing") as err:
        models.find_model("hf://someone/missing")
    assert "HF_HUB_OFFLINE" in err.value.hint
    for bad in ("hf://no-owner", "hf://a/b/c", "hf://../x"):
        with pytest.raises(ModelNotFoundError):
            models.find_model(bad)
