"""Build hook: the wheel carries the default models.

Everything about the package is declared in ``pyproject.toml``; this file only adds one step to
``build_py``: the model directories of the checkout's ``models/`` (each with ``defnlp.json`` and
``manifest.json``) are copied to ``defnlp/_models/<name>/`` in the build tree, so that
``pip wheel .`` / ``python -m build`` give a wheel with which ``defnlp.load()`` works after
``pip install`` (:func:`defnlp.models.find_model` searches ``defnlp/_models`` after the
checkout's ``models/``). Only the files the manifest lists are copied, and every copy is
re-hashed against the manifest: a model being rewritten while the wheel is built fails the build
instead of shipping a torn model. Editable installs (``pip install -e .``) copy nothing: the
checkout's ``models/`` is read in place. The sdist carries ``models/`` (MANIFEST.in), so a wheel
built from the sdist has the models too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
MODELS = ROOT / "models"
PACKAGED = PurePosixPath("defnlp", "_models")  # defnlp.models.PACKAGED_MODELS
SPEC_FILE, MANIFEST = "defnlp.json", "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _listed_files(model: Path) -> dict[str, str]:
    """``{relative path: sha256}`` from a model's manifest; plain relative paths only."""
    try:
        files = json.loads((model / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SetupError(f"{model / MANIFEST} cannot be read ({err}): rebuild the model's manifest") from err
    if not isinstance(files, dict) or SPEC_FILE not in files:
        raise SetupError(f"{model / MANIFEST} does not list {SPEC_FILE}")
    for name in files:
        parts = PurePosixPath(name).parts
        if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
            raise SetupError(f"{model / MANIFEST} lists {name!r}, which is not a path inside the model directory")
    return files


def copy_models(source: Path, target: Path) -> list[str]:
    """Copy every model directory of ``source`` (its manifest's files) to ``target``; return their names."""
    shutil.rmtree(target, ignore_errors=True)  # no stale model from an earlier build
    names = []
    for model in sorted(source.iterdir()) if source.is_dir() else []:
        if model.name.startswith(".") or not (model / SPEC_FILE).is_file() or not (model / MANIFEST).is_file():
            continue  # temporary folders of a training run writing a model, stray files
        files = _listed_files(model)
        out = target / model.name
        for name, expected in files.items():
            dst = out / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model / name, dst)
            if _sha256(dst) != expected:
                raise SetupError(f"models/{model.name}/{name} does not match its manifest (a model being rewritten?): "
                                 "build again once the model directory is complete")
        shutil.copyfile(model / MANIFEST, out / MANIFEST)
        names.append(model.name)
    return names


class build_py_with_models(build_py):
    """``build_py`` plus the checkout's ``models/`` copied to ``defnlp/_models/`` (not in editable mode)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        names = copy_models(MODELS, Path(self.build_lib, *PACKAGED.parts))
        self.announce(f"packaged models: {', '.join(names) or 'none'}", level=2)


setup(cmdclass={"build_py": build_py_with_models})
