"""``defnlp info``: versions, device, cache, encoders and models."""

from __future__ import annotations

import argparse
import json
import platform


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show versions, device, cache directory, encoders and models")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def collect() -> dict:
    """Environment report (no model is loaded, nothing is built)."""
    import torch
    import transformers

    from .. import __version__
    from ..config import cache_dir, data_dir, models_dir
    from ..encoders import ALIASES, encoder_cache_dir
    from ..models import shipped_models, read_model_dir
    from ..errors import DefnlpError

    models = []
    for path in shipped_models():
        try:
            spec, _ = read_model_dir(path)
            models.append({"name": spec.name, "task": spec.task, "path": str(path), "labels": len(spec.labels),
                           "encoder": spec.encoder.get("name"), "status": "ok"})
        except DefnlpError as err:
            models.append({"name": path.name, "path": str(path), "status": f"error: {err.message}"})
    built = {alias: (encoder_cache_dir() / dirname / "manifest.json").is_file() for alias, (dirname, _) in ALIASES.items()}
    return {
        "defnlp": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "cpu_threads": torch.get_num_threads(),
        **_runtime_report(),
        "cache_dir": str(cache_dir()),
        "encoders_built": built,
        "data_dir": str(data_dir(must_exist=False)),
        "models_dir": str(models_dir()),
        "models": models,
    }


def _runtime_report() -> dict:
    """The CPU (name, AMX / AVX-512 / AVX512-BF16 / VNNI) and what ``precision="auto"`` picks here, and why."""
    import torch

    from ..inference.runtime import auto_precision, cpu_features, cpu_name

    precision, reason = auto_precision("cuda" if torch.cuda.is_available() else "cpu")
    return {"cpu": cpu_name(), "cpu_features": cpu_features(), "precision_auto": precision, "precision_reason": reason}


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "models":
            print(f"{key:<{width}}  {len(value)} shipped")
            for m in value:
                print(f"{'':<{width}}  - {m['name']} ({m.get('task', '?')}, {m.get('status')}) {m['path']}")
        else:
            print(f"{key:<{width}}  {value}")
    return 0
