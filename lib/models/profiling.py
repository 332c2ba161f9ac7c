"""Model profiling: parameter counts, MACs (torch.utils.flop_counter) and batch-1 latency.

Used by ``tracking/profile_model.py``. MACs are FLOPs / 2 as counted by PyTorch's flop counter (matrix
multiplications, convolutions and attention); the fused CPU attention kernel is counted with PyTorch's own
attention formula.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

__all__ = ["count_params", "count_macs", "LatencyResult", "measure_latency_interleaved", "autocast_context",
           "cpu_has_fast_bf16"]


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters)."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def _sdpa_formula(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None,
                  **kwargs: Any) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _custom_flop_mapping() -> dict:
    mapping = {}
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is not None:  # not in PyTorch's default table
        mapping[op] = _sdpa_formula
    return mapping


def count_macs(fn: Callable[[], Any]) -> int:
    """Multiply-accumulates of one call of ``fn`` (FLOPs / 2 from torch.utils.flop_counter)."""
    with torch.inference_mode(), FlopCounterMode(display=False, custom_mapping=_custom_flop_mapping()) as counter:
        fn()
    return counter.get_total_flops() // 2


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN can run bf16 natively on this CPU (AVX512-BF16 or AMX); otherwise bf16 is emulated."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on the device, or a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")


@dataclass
class LatencyResult:
    """Per-variant latencies in milliseconds."""

    name: str
    times_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times_ms)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency_interleaved(variants: dict[str, Callable[[], Any]], device: torch.device, iters: int,
                                warmup: int) -> list[LatencyResult]:
    """Time several forward variants in turn (one call of each per round), so drift hits all of them alike.

    Args:
        variants: name -> a zero-argument callable running one forward.
        device: where the work runs (CUDA calls are synchronised around each timing).
        iters: timed rounds.
        warmup: untimed rounds first.

    Returns:
        One result per variant, in the given order.
    """
    results = {name: LatencyResult(name) for name in variants}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in variants.values():
                fn()
        _sync(device)
        for _ in range(iters):
            for name, fn in variants.items():
                _sync(device)
                start = time.perf_counter()
                fn()
                _sync(device)
                results[name].times_ms.append((time.perf_counter() - start) * 1000)
    return list(results.values())
