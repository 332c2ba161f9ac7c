"""Per-iteration timing and the statistics line.

The line keeps the original's format as its prefix (spec 6.3) and appends the time split, ETA and peak memory::

    [train: 1, 50 / 15000] FPS: 41.2 (40.8)  ,  DataTime: 0.012 (0.002)  ,  ForwardTime: 0.760  ,
    TotalTime: 0.776  ,  Loss/total: 3.21000  ,  ...  ,  IoU: 0.41000  ,  Fwd/Bwd/Opt: 0.250/0.480/0.030  ,
    ETA: 3:12:40  ,  PeakMem: 5120 MiB

(one line in the log). As in the original, DataTime is the wait for the loader (and, in brackets, the copy to the
device), ForwardTime everything after the copy (forward, backward and optimizer step), TotalTime the whole
iteration; all are seconds per batch averaged over the epoch so far. Fwd/Bwd/Opt splits ForwardTime.
"""

from __future__ import annotations

import contextlib
import datetime
import resource
import sys
import time
from typing import Any, Mapping

import torch

__all__ = ["IterationTimer", "format_stats_line", "format_step_line", "peak_memory_mib", "progress_bar"]

_PHASES = ("data", "transfer", "forward", "backward", "optimizer")


class IterationTimer:
    """Accumulates the time of each phase of the iterations of one loader cycle.

    Args:
        device: on CUDA the timer synchronises at phase boundaries, so the split is real and not queue time.
    """

    def __init__(self, device: torch.device):
        self.sync = device.type == "cuda"
        self.device = device
        self.start_time = time.perf_counter()
        self.prev_time = self.start_time
        self.mark_time = self.start_time
        self.totals = dict.fromkeys(_PHASES, 0.0)
        self.last = dict.fromkeys(_PHASES, 0.0)  # the phases of the current (or last) iteration
        self.num_frames = 0
        self.last_batch_time = 0.0

    def mark(self, phase: str) -> None:
        """The phase ``phase`` of the current iteration has just ended."""
        if self.sync and phase != "data":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.totals[phase] += now - self.mark_time
        self.last[phase] = now - self.mark_time
        self.mark_time = now

    def end_iteration(self, batch_size: int) -> None:
        now = time.perf_counter()
        self.num_frames += batch_size
        self.last_batch_time = now - self.prev_time
        self.prev_time = now
        self.mark_time = now

    def per_batch(self, phase: str, batch_size: int) -> float:
        return self.totals[phase] / max(self.num_frames, 1) * batch_size

    @property
    def elapsed(self) -> float:
        return self.prev_time - self.start_time


def peak_memory_mib(device: torch.device) -> float:
    """Peak allocated CUDA memory on ``device``, or the process's peak resident memory on the CPU, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def format_stats_line(loader_name: str, epoch: int, i: int, num_iters: int, timer: IterationTimer,
                      batch_size: int, averages: Mapping[str, float], eta_s: float | None,
                      peak_mib: float | None) -> str:
    """The statistics line: the original's fields, then Fwd/Bwd/Opt, ETA and PeakMem."""
    average_fps = timer.num_frames / max(timer.elapsed, 1e-9)
    batch_fps = batch_size / max(timer.last_batch_time, 1e-9)
    fields = [f"[{loader_name}: {epoch}, {i} / {num_iters}] FPS: {average_fps:.1f} ({batch_fps:.1f})",
              f"DataTime: {timer.per_batch('data', batch_size):.3f} ({timer.per_batch('transfer', batch_size):.3f})",
              "ForwardTime: %.3f" % sum(timer.per_batch(p, batch_size) for p in ("forward", "backward", "optimizer")),
              f"TotalTime: {timer.elapsed / max(timer.num_frames, 1) * batch_size:.3f}"]
    fields += [f"{name}: {value:.5f}" for name, value in averages.items()]
    fields.append("Fwd/Bwd/Opt: %.3f/%.3f/%.3f" % tuple(timer.per_batch(p, batch_size)
                                                      for p in ("forward", "backward", "optimizer")))
    if eta_s is not None:
        fields.append(f"ETA: {datetime.timedelta(seconds=int(eta_s))}")
    if peak_mib is not None:
        fields.append(f"PeakMem: {peak_mib:.0f} MiB")
    return "  ,  ".join(fields)


def format_step_line(epoch: int, lrs: list[float], stats: Mapping[str, float], times: Mapping[str, float],
                     peak_mib: float | None) -> str:
    """One iteration in video_analyst's TextInfo layout (shown in the progress bar).

    ``epoch 3, lr: 1.0e-02, Loss/total: 1.199, IoU: 0.311, data: 4.8e-01, fwd: 2.4e+00, bwd: 2.2e+00,
    optim: 1.2e-01,  max mem: 512.0M`` (epochs 1-based as everywhere in this framework's logs).
    """
    parts = [f"epoch {epoch}, "]
    parts += [f"lr: {lr:.1e}, " for lr in lrs[:1]]
    parts += [f"{name}: {value:.3f}, " for name, value in stats.items()]
    parts += [f"{name}: {value:.1e}, " for name, value in times.items()]
    if peak_mib is not None:
        parts.append(f" max mem: {peak_mib:.1f}M")
    return "".join(parts)


class _NoBar:
    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _Bar:
    """A tqdm bar plus logging redirected through it, closed together."""

    def __init__(self, bar: Any, redirect: contextlib.AbstractContextManager):
        self.bar = bar
        self.redirect = redirect

    def __enter__(self) -> Any:
        self.redirect.__enter__()
        return self.bar

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()
        self.redirect.__exit__(*exc)


def progress_bar(total: int, desc: str, enabled: bool) -> "_Bar | _NoBar":
    """A tqdm bar with logging routed through it (so log lines do not tear the bar), or a falsy no-op."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm
    return _Bar(tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True), logging_redirect_tqdm())
