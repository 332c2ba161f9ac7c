"""Tensorboard output as the original: one SummaryWriter per loader under ``<tensorboard_dir>/<project_path>/``."""

from __future__ import annotations

import os
from typing import Mapping

from lib.train.admin.stats import AverageMeter, StatValue

__all__ = ["TensorboardWriter"]


class TensorboardWriter:
    """Writes each loader's per-epoch statistics to ``<directory>/<loader name>`` (e.g. ``train``, ``val``).

    Args:
        directory: the run's tensorboard folder (``<save_dir>/tensorboard/train/ostrack/<config>``).
        loader_names: one sub-folder and writer per loader.
    """

    def __init__(self, directory: str | os.PathLike, loader_names: list[str]):
        # Imported here: tensorboard is only needed by the main process of a training run.
        from torch.utils.tensorboard import SummaryWriter

        self.writers = {name: SummaryWriter(os.path.join(directory, name)) for name in loader_names}

    def write_info(self, script_name: str, description: str) -> None:
        writer = next(iter(self.writers.values()))
        writer.add_text("info/Script_name", script_name)
        writer.add_text("info/Description", description)

    def write_epoch(self, stats: Mapping[str, Mapping[str, AverageMeter | StatValue] | None], epoch: int) -> None:
        """Add the last epoch value of every statistic that saw data this epoch (LR values always count)."""
        for loader_name, loader_stats in stats.items():
            if loader_stats is None or loader_name not in self.writers:
                continue
            writer = self.writers[loader_name]
            for name, meter in loader_stats.items():
                if meter.history and getattr(meter, "has_new_data", True):
                    writer.add_scalar(name, meter.history[-1], epoch)
            writer.flush()

    def write_step(self, loader_name: str, scalars: Mapping[str, float], step: int) -> None:
        """Per-iteration scalars (e.g. ``step/lr``, ``step/Loss/total``, ``step/time/fwd``) at a global step."""
        writer = self.writers.get(loader_name)
        if writer is None:
            return
        for name, value in scalars.items():
            writer.add_scalar(name, value, step)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
