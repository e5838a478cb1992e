"""Where and how the encoder runs: device, precision, threads, batch sizes; and the CPU's bf16 units.

The hardware decisions about precision live here: :class:`Runtime` for inference,
:func:`resolve_training_precision` / :func:`training_autocast` for training steps (bf16 autocast
where the CPU multiplies bf16 natively, :func:`cpu_bf16_units`).

>>> rt = Runtime.create(device="cpu")
>>> rt.device.type, rt.precision
('cpu', 'fp32')
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["Runtime", "PRECISIONS", "TRAINING_PRECISIONS", "release_free_memory", "cpu_has_amx", "cpu_bf16_units",
           "cpu_features", "cpu_flags", "CPUINFO_FLAGS", "NO_AMX_ENV", "amx_disabled", "auto_precision",
           "resolve_training_precision", "training_autocast", "truncate_layers", "LayerOutput", "resolve_runtime"]

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
#: precisions of a training run (``precision`` of the training configs)
TRAINING_PRECISIONS = ("auto", "fp32", "bf16")


#: set to anything but ``""``/``"0"``, the runtime acts as on a CPU without AMX: its feature probes report no
#: AMX, so ``auto`` and the bf16 checks take the non-AMX path (``benchmarks/throughput.py --force-no-amx``,
#: which also caps oneDNN's kernels below AMX with ``ONEDNN_MAX_CPU_ISA``)
NO_AMX_ENV = "DEFNLP_NO_AMX"


def amx_disabled() -> bool:
    """Whether :data:`NO_AMX_ENV` asks the runtime to ignore the CPU's AMX units.

    >>> isinstance(amx_disabled(), bool)
    True
    """
    return os.environ.get(NO_AMX_ENV, "") not in ("", "0")


def _cpu_flag(name: str) -> bool:
    """``torch.cpu._is_<name>_supported()`` where this torch has it (private API: guarded), else False;
    AMX flags are False while :func:`amx_disabled`."""
    if name.startswith("amx") and amx_disabled():
        return False
    probe = getattr(torch.cpu, f"_is_{name}_supported", None)
    if probe is None:
        return False
    try:
        return bool(probe())
    except Exception:  # noqa: BLE001 - a probe that fails means "not available"
        return False


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows; for model cards and benchmarks.

    >>> isinstance(cpu_name(), str)
    True
    """
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: the ``/proc/cpuinfo`` flags that decide which precision is fast: AMX tiles (bf16, int8), AVX-512
#: (and its bf16 and VNNI int8 dot products), AVX-VNNI, AVX2
CPUINFO_FLAGS = ("amx_tile", "amx_bf16", "amx_int8", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx2")


def cpu_flags(names: Sequence[str] = CPUINFO_FLAGS, path: str = "/proc/cpuinfo") -> dict[str, bool] | None:
    """Which of ``names`` the CPU lists in ``/proc/cpuinfo`` (the hardware as the kernel sees it, whatever
    :data:`NO_AMX_ENV` says), or None where that file cannot be read (not Linux); for the benchmarks.

    >>> flags = cpu_flags()
    >>> flags is None or sorted(flags) == sorted(CPUINFO_FLAGS)
    True
    """
    try:
        with open(path, encoding="utf-8") as fh:
            line = next((x for x in fh if x.startswith(("flags", "Features"))), None)
    except OSError:
        return None
    present = set(line.split(":", 1)[1].split()) if line and ":" in line else set()
    return {name: name in present for name in names}


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tile units (Intel Sapphire Rapids and later), usable by torch's oneDNN.

    >>> isinstance(cpu_has_amx(), bool)
    True
    """
    return torch.backends.mkldnn.is_available() and _cpu_flag("amx_tile")


def cpu_bf16_units() -> str | None:
    """The CPU's native bf16 matrix units: ``"amx"``, ``"avx512_bf16"`` (AMD Zen 4+, Intel Cooper
    Lake+), or None (bf16 then runs emulated, far slower than fp32).

    Either unit makes bf16 matmuls faster than fp32 ones: 2.6× on a 2-core AMD EPYC with
    AVX512-BF16 and no AMX (``benchmarks/training_speed.py``); AMX units are faster still.

    >>> cpu_bf16_units() in ("amx", "avx512_bf16", None)
    True
    """
    if not torch.backends.mkldnn.is_available():
        return None
    if _cpu_flag("amx_tile"):
        return "amx"
    if _cpu_flag("avx512_bf16"):
        return "avx512_bf16"
    return None


#: the CPU features that decide precisions, and the torch probe (``torch.cpu._is_<probe>_supported``) of each
CPU_FEATURES = {"amx": "amx_tile", "avx512": "avx512", "avx512_bf16": "avx512_bf16", "vnni": "vnni"}


def cpu_features() -> dict[str, bool]:
    """The CPU features that decide precisions: AMX tiles, AVX-512, AVX512-BF16 and VNNI (int8 dot
    products), as torch sees them; for ``defnlp info`` and the benchmarks.

    >>> sorted(cpu_features())
    ['amx', 'avx512', 'avx512_bf16', 'vnni']
    """
    return {name: _cpu_flag(probe) for name, probe in CPU_FEATURES.items()}


def auto_precision(device: str | torch.device = "cpu") -> tuple[str, str]:
    """What ``precision="auto"`` resolves to on ``device``, and why: ``(precision, reason)``.

    >>> auto_precision("cpu")[0]
    'fp32'
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return "bf16", "GPU with bf16 support (autocast)"
        return "fp16", "GPU without bf16 support (fp16 autocast)"
    amx = "with" if cpu_has_amx() else "without"
    return "fp32", f"CPU {amx} AMX: fp16/bf16 inference runs on GPU only, int8 is opt-in (precision='int8')"


def resolve_training_precision(precision: str = "auto", device: str = "cpu") -> str:
    """The precision a training run uses: ``"fp32"`` or ``"bf16"`` (autocast; weights and optimizer stay fp32).

    ``auto``: bf16 on a CPU with native bf16 units (:func:`cpu_bf16_units`) or a GPU that
    supports it, else fp32. ``bf16`` where no such units exist raises :class:`ConfigError`.

    >>> resolve_training_precision("fp32")
    'fp32'
    """
    if precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"unknown training precision {precision!r}", f"use one of {', '.join(TRAINING_PRECISIONS)}")
    if precision == "fp32":
        return "fp32"
    if torch.device(device).type == "cuda":
        fast = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    else:
        fast = cpu_bf16_units() is not None
    if precision == "auto":
        return "bf16" if fast else "fp32"
    if not fast:
        raise ConfigError(
            "precision 'bf16' was asked for, but this CPU has no bf16 units (neither AMX nor AVX512-BF16): "
            "bf16 would be emulated and run several times slower than fp32",
            "use precision = \"auto\" or \"fp32\"; check the CPU with "
            "`python -c 'import defnlp.inference.runtime as r; print(r.cpu_bf16_units())'` or `grep -o 'amx_tile\\|avx512_bf16' /proc/cpuinfo`",
        )
    return "bf16"


def training_autocast(precision: str, device: str = "cpu"):
    """The autocast context of a training step at a resolved ``precision`` (a no-op for fp32).

    >>> with training_autocast("fp32"):
    ...     pass
    """
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    if precision != "fp32":
        raise ConfigError(f"training precision {precision!r} is not resolved", "pass it through resolve_training_precision first")
    return contextlib.nullcontext()


@dataclass
class Runtime:
    """Execution settings shared by every encoder pass.

    * ``precision``: ``fp32``; ``int8`` (smoothed dynamic int8 quantisation of the linear
      layers, CPU only, see :mod:`defnlp.inference.int8`); ``fp16``/``bf16`` (autocast, GPU only:
      on CPUs without AMX units bf16 runs at well under 1 GFLOP/s, and its effect on F1 is not
      measured, so it is refused on CPU). ``auto`` = bf16 on GPUs that support it, else fp16 on
      GPU, fp32 on CPU.
    * ``token_budget``: padded tokens per batch (batch size × longest window); default 2048
      on CPU (1024-4096 tie in the sweep of ``benchmarks/throughput.py``, larger is slower), 65536 on GPU.
    * ``pool_tokens`` / ``pool_docs``: how much input is read ahead and length-sorted at once.
    """

    device: torch.device
    precision: str = "fp32"
    token_budget: int = 2048
    max_batch: int = 128
    pool_tokens: int = 65536
    pool_docs: int = 2048
    threads: int | None = None

    @classmethod
    def create(
        cls,
        device: str | None = "auto",
        precision: str = "auto",
        token_budget: int | None = None,
        max_batch: int = 128,
        pool_tokens: int | None = None,
        threads: int | None = None,
    ) -> "Runtime":
        if precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {precision!r}", f"use one of {', '.join(PRECISIONS)}")
        if device in (None, "auto"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except RuntimeError as err:
            raise ConfigError(f"unknown device {device!r}", "use 'cpu', 'cuda' or 'cuda:N'") from err
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available", "use --device cpu")
        if precision == "auto":
            precision, reason = auto_precision(dev)
            log.debug("precision auto -> %s (%s)", precision, reason)
        if dev.type == "cpu" and precision in ("fp16", "bf16"):
            raise ConfigError(
                f"precision {precision} is not supported on CPU (without AMX units it runs far slower than fp32)",
                "use fp32, or int8 for faster CPU inference",
            )
        if dev.type != "cpu" and precision == "int8":
            raise ConfigError("int8 dynamic quantisation runs on CPU only", "use bf16 or fp16 on GPU")
        if threads:
            torch.set_num_threads(int(threads))
        elif dev.type == "cpu":
            torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))
        if token_budget is None:
            token_budget = cls.token_budget if dev.type == "cpu" else 65536
        if pool_tokens is None:
            pool_tokens = max(65536, 8 * token_budget)
        return cls(dev, precision, int(token_budget), int(max_batch), int(pool_tokens), threads=threads)

    def autocast(self):
        if self.device.type == "cuda" and self.precision in ("fp16", "bf16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def prepare_model(self, model: nn.Module, tokenizer=None, *, layers: int | None = None) -> nn.Module:
        """Move ``model`` to the device and apply the precision.

        int8 (CPU): a quantised copy (:func:`defnlp.inference.int8.quantize_int8`), smoothed on
        the bundled calibration text when the ``tokenizer`` is given. ``layers``: keep only the
        first ``layers`` encoder layers (:func:`truncate_layers`; ``last_hidden_state`` is then
        that layer's output), for callers that read a middle layer (word alignment).
        """
        if layers is not None:
            model = truncate_layers(model, layers)
        model.eval()
        if self.precision == "int8":
            from .int8 import quantize_int8

            return quantize_int8(model, tokenizer)
        return model.to(self.device)

    def encode(self, model: nn.Module, input_ids, attention_mask) -> torch.Tensor:
        """The encoder's ``last_hidden_state`` ``(B, T, H)`` for one padded batch, on the runtime's
        device (in the precision's dtype: call ``.float()`` to read it): :meth:`encode_with_heads`
        without heads. The one encoder pass of the aligners.

        >>> from defnlp.encoders import load_encoder
        >>> from defnlp.inference.batching import padded_batches
        >>> enc = load_encoder("tiny-random-e5")
        >>> rt = Runtime.create(device="cpu", precision="fp32")
        >>> (batch,) = padded_batches([[5, 6, 7]], pad_id=1, token_budget=64)
        >>> rt.encode(rt.prepare_model(enc.model), batch.input_ids, batch.attention_mask).shape
        torch.Size([1, 3, 32])
        """
        return self.encode_with_heads(model, input_ids, attention_mask)[0]

    def encode_with_heads(self, model: nn.Module, input_ids, attention_mask,
                          heads: Sequence[nn.Module] = ()) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The encoder pass of every caller (the engine's NER/relation heads, the aligners, the
        embedders): ``input_ids`` / ``attention_mask`` (numpy or torch) moved to the device, the
        model run under ``torch.inference_mode`` and :meth:`autocast`, and each of ``heads`` applied
        to its ``last_hidden_state`` in the same precision. Returns the hidden states ``(B, T, H)``
        and the heads' outputs ``(B, T, K)``, on the device, in the precision's dtype.

        >>> from defnlp.encoders import load_encoder
        >>> enc = load_encoder("tiny-random-e5")
        >>> rt = Runtime.create(device="cpu", precision="fp32")
        >>> states, (logits,) = rt.encode_with_heads(enc.model, [[0, 5, 2]], [[1, 1, 1]], [nn.Linear(32, 3)])
        >>> states.shape, logits.shape
        (torch.Size([1, 3, 32]), torch.Size([1, 3, 3]))
        """
        ids = torch.as_tensor(input_ids).to(self.device, non_blocking=True)
        mask = torch.as_tensor(attention_mask).to(self.device, non_blocking=True)
        with torch.inference_mode(), self.autocast():
            states = model(input_ids=ids, attention_mask=mask).last_hidden_state
            return states, [head(states) for head in heads]


def resolve_runtime(runtime: Runtime | None = None, device: str | None = None, precision: str | None = None) -> Runtime:
    """``runtime`` when given (to share one, e.g. the pipeline's), else ``Runtime.create(device, precision)``
    (``"auto"`` for what is None): how the aligners and embedders take their settings.

    >>> resolve_runtime(device="cpu", precision="fp32").precision
    'fp32'
    >>> rt = Runtime.create(device="cpu"); resolve_runtime(rt) is rt
    True
    """
    if runtime is None:
        return Runtime.create(device=device or "auto", precision=precision or "auto")
    if device is not None or precision is not None:
        raise ConfigError("both a runtime and device/precision were given",
                          "drop device= and precision=: the runtime already decides them")
    return runtime


def truncate_layers(model: nn.Module, layers: int) -> nn.Module:
    """``model`` stopped after ``layers`` encoder layers (0 = the embeddings): weights shared, no copy.

    A BERT-layout model (``embeddings`` + ``encoder.layer``) becomes a model of its own class
    with the first ``layers`` blocks, so the layers above are never computed; any other model
    runs whole and keeps ``hidden_states[layers]`` (:class:`LayerOutput`). Either way the
    result's ``last_hidden_state`` is the full model's ``hidden_states[layers]``.

    >>> from defnlp.encoders import load_encoder
    >>> model = load_encoder("tiny-random-e5").model
    >>> len(truncate_layers(model, 1).encoder.layer), len(model.encoder.layer)
    (1, 2)
    """
    import copy

    blocks = getattr(getattr(model, "encoder", None), "layer", None)
    if blocks is None or not hasattr(model, "embeddings") or layers == 0:
        return LayerOutput(model, layers)
    cfg = copy.deepcopy(model.config)
    cfg.num_hidden_layers = layers
    try:
        with torch.device("meta"):
            short = type(model)(cfg, add_pooling_layer=False)
    except TypeError:
        return LayerOutput(model, layers)
    short.embeddings = model.embeddings
    short.encoder.layer = nn.ModuleList(list(blocks[:layers]))
    if any(p.is_meta for p in short.parameters()) or any(b.is_meta for b in short.buffers()):
        return LayerOutput(model, layers)
    return short.eval()


class LayerOutput(nn.Module):
    """Runs a whole model and returns hidden state ``layer`` as ``last_hidden_state``
    (the fallback of :func:`truncate_layers` for models that cannot be cut)."""

    def __init__(self, model: nn.Module, layer: int) -> None:
        super().__init__()
        self.model = model
        self.layer = layer
        self.config = getattr(model, "config", None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        from types import SimpleNamespace

        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return SimpleNamespace(last_hidden_state=outputs.hidden_states[self.layer])


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None


def release_free_memory() -> bool:
    """Hand the heap memory freed by finished batches back to the OS; True if it could.

    glibc keeps freed blocks in its arenas, so a process that has annotated many documents holds
    far more memory than it uses: in a trace, ``malloc_trim`` after a pool released ~350 MB and
    left RSS flat from 1,000 to 5,000 documents. (It does not lower the peak *within* a pool,
    which still creeps up with fragmentation: 1.198 × from 1k to 20k documents.) The engine calls
    it after each pool of documents. Elsewhere than glibc this does nothing and returns False.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
