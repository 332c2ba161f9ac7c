"""TrainingStorage: the statistics of a run, in one object that the trainer writes and hooks read.

As detectron2's EventStorage: the trainer puts what each step produced (the actor's statistics, the phase times,
skipped samples, non-finite steps) and hooks read it (tensorboard, wandb, the step monitor, the family's per-step
LR schedule) without knowing the trainer's class. Per-epoch meters are sample-weighted averages per loader; they are
summed over all ranks before they are printed and before each epoch closes. Everything that a resume needs
serialises to plain data (:meth:`state_dict`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lib.train.admin.multigpu import all_reduce_sum
from lib.train.admin.stats import AverageMeter, StatValue, stats_from_state, stats_to_state
from lib.train.data.skips import SKIP_REASONS, count_skips, summarize_skips

__all__ = ["TrainingStorage"]

logger = logging.getLogger(__name__)

Meters = dict[str, AverageMeter | StatValue]


class TrainingStorage:
    """Per-loader epoch meters, the current step's values and the run's skip counters.

    Args:
        loader_names: names of the run's loaders (``train``, ``val``), the keys of :attr:`meters`.

    Attributes:
        meters: ``{loader name: {statistic: meter}}`` (None for a loader that has not run yet), the original's
            ``trainer.stats``.
        step_stats: the statistics the actor returned for the current step.
        step_times: the current step's phase times in seconds (data, transfer, forward, backward, optimizer).
        training: whether the current loader trains.
        iter_in_epoch: 1-based index of the current step within its loader pass.
        step_line: a one-line summary of the step, shown in the progress bar when a hook sets it.
        nonfinite_steps: training steps skipped for a non-finite loss or gradient in the whole run.
        consecutive_nonfinite: such steps in a row (reset by a good step).
    """

    def __init__(self, loader_names: Sequence[str]):
        self.meters: dict[str, Meters | None] = {name: None for name in loader_names}
        self.step_stats: dict[str, float] = {}
        self.step_times: dict[str, float] = {}
        self.training = True
        self.iter_in_epoch = 0
        self.step_line = ""
        self.nonfinite_steps = 0
        self.consecutive_nonfinite = 0
        self._epoch_nonfinite = 0
        self._epoch_skips: torch.Tensor | None = None
        self._epoch_samples = 0

    def begin_loader(self, training: bool) -> None:
        """A pass over a loader starts."""
        self.training = training
        self.iter_in_epoch = 0

    def put_step(self, loader_name: str, stats: Mapping[str, float], batch_size: int, finite: bool,
                 times: Mapping[str, float]) -> None:
        """Record one step: its statistics (into the epoch meters only when the step was finite) and times."""
        self.step_stats = dict(stats)
        self.step_times = dict(times)
        if not finite:
            return
        meters = self.meters.get(loader_name)
        if meters is None:
            meters = self.meters[loader_name] = {}
        for name, value in stats.items():
            meters.setdefault(name, AverageMeter()).update(float(value), batch_size)

    def put_nonfinite(self) -> int:
        """Count a skipped non-finite step; returns how many came in a row."""
        self.consecutive_nonfinite += 1
        self.nonfinite_steps += 1
        self._epoch_nonfinite += 1
        return self.consecutive_nonfinite

    def put_finite(self) -> None:
        self.consecutive_nonfinite = 0

    def put_samples(self, data: Mapping[str, Any], batch_size: int, stack_dim: int) -> None:
        """Count the batch's samples and the draws the data pipeline skipped (they travel inside the batch)."""
        self._epoch_samples += batch_size
        if data.get("skipped") is not None:
            counts = count_skips(data, stack_dim).detach().cpu().double()
            self._epoch_skips = counts if self._epoch_skips is None else self._epoch_skips + counts

    def averages(self, loader_name: str) -> dict[str, float]:
        """Averages over all ranks of a loader's meters, in the order the actor reported them (every rank calls)."""
        meters = {k: m for k, m in (self.meters.get(loader_name) or {}).items() if isinstance(m, AverageMeter)}
        flat = all_reduce_sum([v for m in meters.values() for v in (m.sum, m.count)])
        return {name: (flat[2 * k] / flat[2 * k + 1] if flat[2 * k + 1] else 0.0) for k, name in enumerate(meters)}

    def close_epoch(self, epoch: int, learning_rates: Mapping[str, Sequence[float]], is_main: bool) -> None:
        """Record each training loader's LRs, close every meter with its all-rank average, and log the epoch's
        skipped steps and samples (every rank calls; rank 0 logs).

        Args:
            epoch: the epoch that ends.
            learning_rates: ``{training loader name: LR of each parameter group}``.
            is_main: whether this process logs.
        """
        for name, lrs in learning_rates.items():
            meters = self.meters.get(name)
            if meters is None:
                meters = self.meters[name] = {}
            for k, lr in enumerate(lrs):
                meters.setdefault(f"LearningRate/group{k}", StatValue()).update(lr)
        for name in self.meters:
            meters = {k: m for k, m in (self.meters[name] or {}).items() if isinstance(m, AverageMeter)}
            flat = all_reduce_sum([v for m in meters.values() for v in (m.sum, m.count)])
            for k, meter in enumerate(meters.values()):
                meter.set_totals(flat[2 * k], int(flat[2 * k + 1]))
                meter.new_epoch()
        nonfinite = int(all_reduce_sum([self._epoch_nonfinite])[0])
        if nonfinite and is_main:
            logger.warning("epoch %d: %d training steps skipped for a non-finite loss or gradient (%d in the run)",
                           epoch, nonfinite, self.nonfinite_steps)
        self._epoch_nonfinite = 0
        local = self._epoch_skips.tolist() if self._epoch_skips is not None else [0.0] * len(SKIP_REASONS)
        *totals, samples = (int(v) for v in all_reduce_sum([*local, self._epoch_samples]))
        self._epoch_skips, self._epoch_samples = None, 0
        if is_main and any(totals):
            logger.warning("epoch %d: %s", epoch, summarize_skips(totals, samples=samples))

    def state_dict(self) -> dict[str, Any]:
        """The meters' histories and the run's non-finite count, as plain data."""
        return {"stats": stats_to_state(self.meters), "nonfinite_steps": self.nonfinite_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = stats_from_state(state.get("stats") or {})
        self.meters = {name: saved.get(name) for name in self.meters}
        self.nonfinite_steps = int(state.get("nonfinite_steps", 0))
