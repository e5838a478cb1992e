"""Where and how the encoder runs: device, precision, threads, batch sizes; and the CPU's bf16 units.

The hardware decisions about precision live here: :class:`Runtime` for inference (bf16 weights
on CPUs with AMX tiles, :func:`cpu_bf16_inference`), :func:`resolve_training_precision` /
:func:`training_autocast` for training steps (bf16 autocast where the CPU multiplies bf16
natively, :func:`cpu_bf16_units`).

>>> rt = Runtime.create(device="cpu")
>>> rt.device.type == "cpu", rt.precision in ("fp32", "bf16", "int8")
(True, True)
"""

from __future__ import annotations

import contextlib
import copy
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
           "ALLOW_CPU_BF16_ENV", "cpu_bf16_allowed", "cpu_bf16_inference", "NO_VNNI_ENV", "vnni_disabled",
           "cpu_int8_inference",
           "resolve_training_precision", "training_autocast", "truncate_layers", "LayerOutput", "resolve_runtime",
           "bf16_copy", "CPU_BF16_REFUSAL_HINT", "encoder_attention_mask"]

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
#: precisions of a training run (``precision`` of the training configs)
TRAINING_PRECISIONS = ("auto", "fp32", "bf16")


def _env_flag(name: str) -> bool:
    """Whether the environment switch ``name`` is on: set to anything but ``""`` or ``"0"``."""
    return os.environ.get(name, "") not in ("", "0")


#: set to anything but ``""``/``"0"``, the runtime acts as on a CPU without AMX: its feature probes report no
#: AMX, so ``auto`` and the bf16 checks take the non-AMX path (``benchmarks/throughput.py --force-no-amx``,
#: which also caps oneDNN's kernels below AMX with ``ONEDNN_MAX_CPU_ISA``)
NO_AMX_ENV = "DEFNLP_NO_AMX"


def amx_disabled() -> bool:
    """Whether :data:`NO_AMX_ENV` asks the runtime to ignore the CPU's AMX units.

    >>> isinstance(amx_disabled(), bool)
    True
    """
    return _env_flag(NO_AMX_ENV)


#: set to anything but ``""``/``"0"``, the runtime acts as on a CPU without VNNI int8 dot products: its
#: feature probe reports no VNNI, so ``auto`` does not pick int8 there (an explicit ``precision="int8"``
#: still runs). The test suite sets it with :data:`NO_AMX_ENV`, so that ``auto`` is fp32 on every machine.
NO_VNNI_ENV = "DEFNLP_NO_VNNI"


def vnni_disabled() -> bool:
    """Whether :data:`NO_VNNI_ENV` asks the runtime to ignore the CPU's VNNI int8 instructions.

    >>> isinstance(vnni_disabled(), bool)
    True
    """
    return _env_flag(NO_VNNI_ENV)


#: set to anything but ``""``/``"0"``, an explicit ``precision="bf16"`` runs on any CPU, with or without AMX:
#: for measuring bf16's quality on a CPU without AMX tiles (the same kind of bf16 matmuls, but slow
#: there). ``auto`` ignores it.
ALLOW_CPU_BF16_ENV = "DEFNLP_ALLOW_CPU_BF16"


def cpu_bf16_allowed() -> bool:
    """Whether :data:`ALLOW_CPU_BF16_ENV` lets an explicit ``precision="bf16"`` run on a CPU without AMX.

    >>> isinstance(cpu_bf16_allowed(), bool)
    True
    """
    return _env_flag(ALLOW_CPU_BF16_ENV)


def _cpu_flag(name: str) -> bool:
    """``torch.cpu._is_<name>_supported()`` where this torch has it (private API: guarded), else False;
    AMX flags are False while :func:`amx_disabled`, the VNNI flag while :func:`vnni_disabled`."""
    if name.startswith("amx") and amx_disabled():
        return False
    if name == "vnni" and vnni_disabled():
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


def cpu_bf16_inference() -> bool:
    """Whether inference runs bf16 on this CPU: it has AMX tiles (:func:`cpu_has_amx`, so not while
    :data:`NO_AMX_ENV` is set). There a 2048² bf16 matmul ran at 1,378 GFLOP/s against 358 in fp32
    (same process), and bf16 entities were 99.98 % identical to fp32's on 200 documents (issue 17).

    >>> cpu_bf16_inference() == (cpu_has_amx() and not amx_disabled())
    True
    """
    return cpu_has_amx() and not amx_disabled()


def cpu_int8_inference() -> bool:
    """Whether ``auto`` runs int8 on this CPU: it has VNNI int8 dot products (AVX512-VNNI or AVX-VNNI,
    as torch's probe sees them; not while :data:`NO_VNNI_ENV` is set) and this torch build has int8
    CPU kernels (oneDNN, x86 or fbgemm). CPUs with AMX tiles run bf16 instead (:func:`auto_precision`).

    On a 2-core AMD EPYC with AVX512-VNNI and no AMX, int8 ran at 2.15x fp32's tokens/s
    (5,919 vs 2,747 on 300 FR/EN documents, padded int8 batches), with 99.0 % of entities identical to fp32's and F1
    changes of -0.29 to +0.13 on the evaluation sets (``benchmarks/throughput.py``,
    ``benchmarks/ner_quality.py --precision int8``); word alignment AER 5.82 vs 5.94.

    >>> isinstance(cpu_int8_inference(), bool)
    True
    """
    return _cpu_flag("vnni") and _int8_kernels()


def _int8_kernels() -> bool:
    """Whether this torch build has int8 CPU kernels for the linear layers (oneDNN, x86 or fbgemm)."""
    return any(e in torch.backends.quantized.supported_engines for e in ("onednn", "x86", "fbgemm"))


#: why an explicit ``bf16`` is refused on a CPU without AMX tiles (the hint of the error)
CPU_BF16_REFUSAL_HINT = (
    "bf16 inference on CPU runs only where the CPU has AMX tiles (there a 2048² bf16 matmul measured "
    "1,378 GFLOP/s against 358 in fp32); without them bf16 runs far slower than fp32 (well under 1 GFLOP/s "
    "where the CPU has no bf16 units at all) and its F1 change is not measured. Use precision \"auto\", \"fp32\" or "
    f"\"int8\" (faster on CPU); to measure bf16's quality here anyway (slow), set {ALLOW_CPU_BF16_ENV}=1"
)


def auto_precision(device: str | torch.device = "cpu") -> tuple[str, str]:
    """What ``precision="auto"`` resolves to on ``device``, and why: ``(precision, reason)``.

    On CPU: bf16 (weights in bf16) where the CPU has AMX tiles (:func:`cpu_bf16_inference`), else
    int8 where it has VNNI int8 dot products (:func:`cpu_int8_inference`), else fp32.
    :data:`ALLOW_CPU_BF16_ENV` does not change it; :data:`NO_AMX_ENV` and :data:`NO_VNNI_ENV` do.

    >>> auto_precision("cpu")[0] == ("bf16" if cpu_bf16_inference() else "int8" if cpu_int8_inference() else "fp32")
    True
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return "bf16", "GPU with bf16 support (autocast)"
        return "fp16", "GPU without bf16 support (fp16 autocast)"
    if cpu_bf16_inference():
        return "bf16", "CPU with AMX tiles: bf16 weights"
    if cpu_int8_inference():
        return "int8", "CPU with VNNI int8 instructions, no AMX tiles: int8 (2.2x fp32 measured, F1 within 0.3)"
    return "fp32", "CPU without AMX tiles or VNNI int8 instructions (precision='int8' is opt-in here)"


@functools.cache
def _log_auto(device: str, precision: str, reason: str) -> None:
    """Log what ``auto`` resolved to, once per process for each outcome."""
    log.info("precision auto -> %s on %s (%s)", precision, device, reason)


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
      layers, CPU only, see :mod:`defnlp.inference.int8`); ``fp16`` (autocast, GPU only);
      ``bf16`` (autocast on GPU; on a CPU with AMX tiles, a copy of the encoder with bf16 weights,
      made once by :meth:`prepare_model`, whose hidden states are handed on in float32: the heads
      stay fp32. Refused on CPUs without AMX, see :data:`CPU_BF16_REFUSAL_HINT`, unless
      :data:`ALLOW_CPU_BF16_ENV` is set). ``auto`` = bf16 on GPUs that support it, else fp16 on
      GPU; bf16 on CPUs with AMX tiles, int8 on CPUs with VNNI int8 instructions, else fp32
      (:func:`auto_precision`).
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
            _log_auto(str(dev), precision, reason)
        if dev.type == "cpu" and precision == "fp16":
            raise ConfigError("precision fp16 is not supported on CPU", "use fp32, int8, or bf16 on a CPU with AMX tiles")
        if dev.type == "cpu" and precision == "bf16" and not cpu_bf16_inference():
            if not cpu_bf16_allowed():
                raise ConfigError("precision bf16 is not supported on this CPU: no AMX tiles"
                                  + (f" ({NO_AMX_ENV} is set)" if amx_disabled() else ""), CPU_BF16_REFUSAL_HINT)
            log.warning("precision bf16 on a CPU without AMX tiles (%s is set): for measuring quality, "
                        "it runs slower than fp32 here", ALLOW_CPU_BF16_ENV)
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

    @property
    def cpu_bf16(self) -> bool:
        """Whether the encoder runs with bf16 weights on the CPU (:meth:`prepare_model` casts them)."""
        return self.device.type == "cpu" and self.precision == "bf16"

    def autocast(self):
        """Autocast for GPU fp16/bf16; a no-op elsewhere (CPU bf16 has bf16 weights instead)."""
        if self.device.type == "cuda" and self.precision in ("fp16", "bf16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    @property
    def exact_length_batches(self) -> bool:
        """Whether the engine batches windows by exact length only (never padded, so that a window's
        numbers do not depend on the other windows of its batch): fp32 anywhere, bf16/fp16 on GPU.

        int8 gives each batch one activation scale, so its rows move with their neighbours
        whatever the batching (:mod:`~defnlp.inference.batching`); its windows go in
        length-sorted padded batches instead (:func:`~defnlp.inference.batching.pack_batches`):
        fewer, fuller batches, 1.2x faster on 300 FR/EN documents (24.7 s -> 20.5 s, 2 cores,
        AMD EPYC), 99.2 % of entities the same as with exact-length int8 batches. bf16 on CPU
        (AMX tiles) takes padded batches too: its matrix kernels reward the fuller batches more
        (8.66 s -> 6.37 s on the same 300 documents, 2 cores, Intel Xeon with AMX; 4,148 entities
        against 4,150), and like int8 it is a speed precision: fp32 is the one that gives a
        document the same bytes whatever its neighbours.

        >>> Runtime.create(device="cpu", precision="fp32").exact_length_batches
        True
        >>> Runtime(torch.device("cpu"), "bf16").exact_length_batches
        False
        """
        return not (self.precision == "int8" or (self.precision == "bf16" and self.device.type == "cpu"))

    def prepare_model(self, model: nn.Module, tokenizer=None, *, layers: int | None = None) -> nn.Module:
        """Move ``model`` to the device and apply the precision.

        int8 (CPU): a quantised copy (:func:`defnlp.inference.int8.quantize_int8`), smoothed on
        the bundled calibration text when the ``tokenizer`` is given. bf16 (CPU): a copy with bf16
        weights (:func:`bf16_copy`; ``model`` is left in fp32). ``layers``: keep only the
        first ``layers`` encoder layers (:func:`truncate_layers`; ``last_hidden_state`` is then
        that layer's output), for callers that read a middle layer (word alignment).
        """
        if layers is not None:
            model = truncate_layers(model, layers)
        model.eval()
        if self.precision == "int8":
            from .int8 import quantize_int8

            return quantize_int8(model, tokenizer)
        if self.cpu_bf16:
            return bf16_copy(model)
        return model.to(self.device)

    def encode(self, model: nn.Module, input_ids, attention_mask) -> torch.Tensor:
        """The encoder's ``last_hidden_state`` ``(B, T, H)`` for one padded batch, on the runtime's
        device (float32 on CPU; in the autocast dtype on GPU: call ``.float()`` to read it): :meth:`encode_with_heads`
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
        and the heads' outputs ``(B, T, K)``, on the device, in the precision's dtype on GPU and in
        float32 on CPU (bf16 weights: the states are cast to float32 before the fp32 heads).

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
            states = model(input_ids=ids, attention_mask=encoder_attention_mask(model, mask)).last_hidden_state
            if self.device.type == "cpu" and states.dtype != torch.float32:
                states = states.float()
            return states, [head(states) for head in heads]


def encoder_attention_mask(model: nn.Module, mask: torch.Tensor) -> torch.Tensor:
    """The attention mask to give a transformers encoder for a padded batch's ``(B, T)`` ``mask``.

    With SDPA attention, a batch with padding gets a boolean key-padding mask ``(B, 1, 1, T)``,
    which transformers passes to the kernel as it is: from it, PyTorch's CPU kernel computes the
    same numbers (bit for bit, gradients too) as from the ``(B, 1, T, T)`` mask that transformers
    would build, without reading a ``T × T`` mask per sequence (``benchmarks/throughput.py`` measures
    the engine with it). Other attention implementations, and batches without padding (no mask at
    all), get ``mask`` unchanged.

    >>> from defnlp.encoders import load_encoder
    >>> enc = load_encoder("tiny-random-e5")
    >>> encoder_attention_mask(enc.model, torch.tensor([[1, 1, 1], [1, 1, 0]])).shape
    torch.Size([2, 1, 1, 3])
    """
    config = getattr(model, "config", None)
    if mask.dim() != 2 or getattr(config, "_attn_implementation", None) != "sdpa" or bool(mask.all()):
        return mask
    return mask.bool()[:, None, None, :]


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


def bf16_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with bf16 weights (floating parameters and buffers), in eval mode; ``model`` is unchanged.

    The input embedding table (most of e5's weights, a lookup, no matmul) is shared in fp32, not
    copied: its output is cast to bf16 by a forward hook on the copy's embedding module. Only the
    bf16 tensors are allocated (no fp32 copy on the way). The copy's ``last_hidden_state`` is bf16.

    >>> from defnlp.encoders import load_encoder
    >>> model = load_encoder("tiny-random-e5").model
    >>> fast = bf16_copy(model)
    >>> fast.encoder.layer[0].attention.self.query.weight.dtype, model.encoder.layer[0].attention.self.query.weight.dtype
    (torch.bfloat16, torch.float32)
    """
    get = getattr(model, "get_input_embeddings", None)
    embeddings = get() if callable(get) else None
    shared = embeddings.weight if isinstance(embeddings, nn.Embedding) else None
    memo: dict[int, object] = {} if shared is None else {id(shared): shared}
    for tensor in (*model.parameters(), *model.buffers()):
        if id(tensor) in memo or not tensor.is_floating_point():
            continue
        half = tensor.detach().to(torch.bfloat16)
        memo[id(tensor)] = nn.Parameter(half, requires_grad=False) if isinstance(tensor, nn.Parameter) else half
    out = copy.deepcopy(model, memo).eval()
    if shared is not None:
        out.get_input_embeddings().register_forward_hook(_to_bf16)
    return out


def _to_bf16(module: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return output.to(torch.bfloat16)


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
