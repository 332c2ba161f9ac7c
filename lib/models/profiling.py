"""Model profiling: parameter counts, MACs (torch.utils.flop_counter) and batch-1 latency.

Used by ``tracking/profile_model.py``. MACs are FLOPs / 2 as counted by PyTorch's flop counter (matrix
multiplications, convolutions and attention); the fused CPU attention kernel is counted with PyTorch's own
attention formula.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from lib.utils.registry import Registry

__all__ = ["count_params", "count_macs", "LatencyResult", "measure_latency_interleaved", "output_difference",
           "cpu_has_fast_bf16", "flop_counter", "matmul_peak_gflops", "roofline_line", "TRACKING_PATHS"]

#: --script -> ``tracking_path(model, cfg, device) -> {variant name: zero-argument forward}``: the network as the
#: family's tracker calls it per frame (OSTrack: with and without candidate elimination), on inputs drawn from
#: torch's global generator.
TRACKING_PATHS = Registry("tracking path", "--script", {
    "ostrack": "lib.models.ostrack.tracking_path:tracking_path",
    "siamrpn": "lib.models.siamese.build:tracking_path",
    "siamban": "lib.models.siamese.build:tracking_path",
    "siamfcpp": "lib.models.siamfcpp.build:tracking_path",
})


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters)."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def _sdpa_formula(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None,
                  **kwargs: Any) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _sdpa_backward_formula(grad_out_shape: Any, query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
                           out_shape: Any = None, **kwargs: Any) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


def _custom_flop_mapping() -> dict:
    mapping = {}
    # The fused CPU attention kernels are not in PyTorch's default table.
    for name, formula in (("_scaled_dot_product_flash_attention_for_cpu", _sdpa_formula),
                          ("_scaled_dot_product_flash_attention_for_cpu_backward", _sdpa_backward_formula)):
        op = getattr(torch.ops.aten, name, None)
        if op is not None:
            mapping[op] = formula
    return mapping


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode that also counts the fused CPU attention kernels (forward and backward)."""
    return FlopCounterMode(display=False, custom_mapping=_custom_flop_mapping())


def count_macs(fn: Callable[[], Any]) -> int:
    """Multiply-accumulates of one call of ``fn`` (FLOPs / 2 from torch.utils.flop_counter)."""
    with torch.inference_mode(), flop_counter() as counter:
        fn()
    return counter.get_total_flops() // 2


def _tensors(output: Any, name: str = "output") -> list[tuple[str, torch.Tensor]]:
    if isinstance(output, torch.Tensor):
        return [(name, output)]
    if isinstance(output, dict):
        return [pair for key, value in output.items() for pair in _tensors(value, str(key))]
    if isinstance(output, (list, tuple)):
        return [pair for value in output for pair in _tensors(value, name)]
    return []


def output_difference(a: Any, b: Any) -> tuple[str, float]:
    """(names, largest absolute difference) of the tensors of two outputs of the same forward (e.g. fp32 and bf16).

    Outputs are tensors or dicts, lists and tuples of them; dict keys name the tensors ("output" otherwise).
    """
    pairs = list(zip(_tensors(a), _tensors(b)))
    names = ", ".join(dict.fromkeys(name for (name, _), _ in pairs))
    diff = max((float((x.float() - y.float()).abs().max()) for (_, x), (_, y) in pairs if x.numel()), default=0.0)
    return names or "output", diff


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN can run bf16 natively on this CPU (AVX512-BF16 or AMX); otherwise bf16 is emulated."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


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


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, shape: tuple[int, int, int] = (
        2048, 768, 3072), iters: int = 10) -> float:
    """This machine's practical GEMM throughput: the best of ``iters`` timed (M x K) @ (K x N) products.

    The default shape is a ViT-B MLP layer over 2,048 tokens, a size at which BLAS libraries run near their peak;
    the result is the ceiling for the matrix products that make up most of a ViT's work.
    """
    m, k, n = shape
    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    best = float("inf")
    with torch.inference_mode():
        for i in range(iters + 2):
            _sync(device)
            start = time.perf_counter()
            torch.mm(a, b)
            _sync(device)
            if i >= 2:  # two warm-up products
                best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best / 1e9


def roofline_line(what: str, flops: float, seconds: float, peak_gflops: float) -> str:
    """One line comparing a measured time with the bound set by the GEMM peak (all FLOPs at peak speed)."""
    achieved = flops / seconds / 1e9
    bound = flops / (peak_gflops * 1e9)
    return (f"{what}: {flops / 1e9:.1f} GFLOP in {seconds * 1000:.1f} ms = {achieved:.1f} GFLOP/s, "
            f"{100 * achieved / peak_gflops:.0f}% of the GEMM peak {peak_gflops:.1f} GFLOP/s "
            f"(at peak it would take {bound * 1000:.1f} ms)")
