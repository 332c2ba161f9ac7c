"""Inference precision of a tracker's network: fp32, bf16 or fp16 weights and activations, chosen once at load.

``--precision bf16`` converts the network's weights (and so its activations) to bfloat16 once, instead of
re-casting them on every call as ``torch.autocast`` does. The numerically sensitive ends stay in float32: each
family names its output layers (:func:`convert_network`'s ``keep_fp32``), which are kept in float32 and get their
input cast up, so the score activation (sigmoid / softmax) and the box decode run on float32 values; the tracker's
backend also hands every output to the tracker's Python post-processing as float32.

``auto`` picks bf16 only where the device runs it natively (a CPU with AVX512-BF16 or AMX-BF16, a CUDA GPU of
compute capability 8.0 or later) and fp32 elsewhere, and logs which it chose. fp16 runs on CUDA only: CPUs without
AVX512-FP16 emulate it, slower than fp32.
"""

from __future__ import annotations

import copy
import fnmatch
import logging
import weakref
from typing import Sequence

import torch
from torch import nn

from lib.models.profiling import cpu_has_fast_bf16
from lib.utils.errors import ConfigError

__all__ = ["PRECISIONS", "PRECISION_DTYPES", "native_bf16", "resolve_precision", "convert_network",
           "converted_network"]

logger = logging.getLogger(__name__)

#: the values of --precision
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively (not emulated through float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        # Ampere (8.0) and later have bf16 tensor cores; earlier GPUs emulate it
        return torch.cuda.get_device_capability(device) >= (8, 0)
    return cpu_has_fast_bf16()


def resolve_precision(precision: str, device: str | torch.device, backend: str = "pytorch") -> str:
    """The precision to run: 'auto' resolved for ``device`` (logged), others checked.

    Args:
        precision: one of :data:`PRECISIONS`.
        device: where the network runs.
        backend: 'pytorch' or 'onnxruntime' (which runs the exported float32 graph only).

    Raises:
        ConfigError: an unknown precision, fp16 on a CPU, or bf16/fp16 with the ONNX Runtime backend.
    """
    device = torch.device(device)
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision!r} is not a precision; expected one of {', '.join(PRECISIONS)}.")
    if backend == "onnxruntime":
        if precision in ("bf16", "fp16"):
            raise ConfigError(f"--precision {precision} cannot be combined with --backend onnxruntime: the exported "
                              f"ONNX graph is float32. Use --precision fp32 (or auto), or the pytorch backend for "
                              f"{precision}.")
        if precision == "auto":
            _log_once(logging.INFO, "precision auto: fp32 (the ONNX Runtime backend runs the exported float32 graph)")
        return "fp32"
    if precision == "auto":
        chosen = "bf16" if native_bf16(device) else "fp32"
        where = (f"CUDA device {device}" if device.type == "cuda"
                 else f"this CPU ({torch.backends.cpu.get_cpu_capability()})")
        _log_once(logging.INFO, "precision auto: %s (%s %s native bfloat16)", chosen, where,
                  "has" if chosen == "bf16" else "has no")
        return chosen
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"--precision fp16 runs on CUDA devices only (the network is on {device}): CPUs emulate "
                          f"float16 more slowly than float32. Use --precision bf16 or auto on the CPU, or --device "
                          f"cuda.")
    if precision == "bf16" and device.type == "cpu" and not native_bf16(device):
        _log_once(logging.WARNING, "precision bf16 on a CPU without native bfloat16 (%s): it is emulated and slower "
                  "than fp32", torch.backends.cpu.get_cpu_capability())
    return precision


_LOGGED: set[tuple] = set()


def _log_once(level: int, message: str, *args) -> None:
    """Log a message once per process (trackers are created once per sequence)."""
    if (message, args) not in _LOGGED:
        _LOGGED.add((message, args))
        logger.log(level, message, *args)


def _to_fp32(module: nn.Module, args: tuple) -> tuple:
    return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)


def convert_network(network: nn.Module, precision: str, keep_fp32: Sequence[str] = ()) -> nn.Module:
    """Convert ``network`` in place to the dtype of ``precision``, keeping the ``keep_fp32`` submodules in float32.

    Args:
        network: the (float32, eval-mode) network.
        precision: 'fp32' (nothing changes), 'bf16' or 'fp16'.
        keep_fp32: fnmatch patterns of submodule names (``named_modules``) that stay float32; their floating
            inputs are cast to float32 by a forward pre-hook, so their outputs are float32.

    Returns:
        ``network``.

    A pattern may match nothing: a family lists the output layers of all its head types.
    """
    if precision == "fp32":
        return network
    network.to(PRECISION_DTYPES[precision])
    for name, module in network.named_modules():
        if name and any(fnmatch.fnmatchcase(name, pattern) for pattern in keep_fp32):
            module.float()
            module.register_forward_pre_hook(_to_fp32)
            logger.debug("kept %s in float32", name)
    return network


# id(fp32 network) -> (weak reference to it, precision, converted copy): the trackers are created once per sequence
# and share one fp32 network per process (their loaders cache it); converting a copy once keeps that one intact.
_CONVERTED: dict[int, tuple[weakref.ref, str, nn.Module]] = {}


def converted_network(network: nn.Module, precision: str, keep_fp32: Sequence[str] = ()) -> nn.Module:
    """A copy of ``network`` converted by :func:`convert_network`, made once per network and precision."""
    if precision == "fp32":
        return network
    entry = _CONVERTED.get(id(network))
    if entry is None or entry[0]() is not network or entry[1] != precision:
        _CONVERTED.clear()  # one network per process, as the loaders' caches
        _CONVERTED[id(network)] = (weakref.ref(network), precision,
                                   convert_network(copy.deepcopy(network), precision, keep_fp32))
        logger.info("network converted to %s once at load (float32 kept in: %s)", precision,
                    ", ".join(keep_fp32) or "the head's own float32 parts")
    return _CONVERTED[id(network)][2]
