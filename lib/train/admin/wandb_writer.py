"""Optional Weights & Biases logging (``--use_wandb 1``); wandb is never required otherwise."""

from __future__ import annotations

import importlib.util
import os
from typing import Mapping

from lib.train.admin.stats import AverageMeter, StatValue
from lib.utils.errors import OSTrackError

__all__ = ["WandbWriter", "wandb_available"]


def wandb_available() -> bool:
    return importlib.util.find_spec("wandb") is not None


class WandbWriter:
    """Logs ``<loader>/<stat>`` values at a step counted in training samples (as the original).

    Args:
        run_name: the run's name (``ostrack/<config>``).
        directory: where wandb keeps its files (the run's tensorboard folder).
        config: a plain dict stored with the run (the merged experiment config).
        resume_id: stable id so a resumed run continues the same wandb run.
    """

    def __init__(self, run_name: str, directory: str | os.PathLike, config: dict | None = None,
                 resume_id: str | None = None):
        self.check_available()
        import wandb

        self._wandb = wandb
        self.run = wandb.init(project="tracking", name=run_name, config=config or {}, dir=str(directory),
                              id=resume_id, resume="allow" if resume_id else None)

    @staticmethod
    def check_available() -> None:
        if not wandb_available():
            raise OSTrackError("--use_wandb 1 needs the wandb package, which is not installed. Install it with "
                               "`.venv/bin/pip install wandb`, or run with --use_wandb 0 (tensorboard logs are "
                               "written either way).")

    def write_log(self, stats: Mapping[str, Mapping[str, AverageMeter | StatValue] | None], epoch: int,
                  step: int) -> None:
        """Log every loader's current averages; ``step`` is the number of training samples seen so far."""
        log: dict[str, float] = {}
        for loader_name, loader_stats in stats.items():
            if not loader_stats:
                continue
            log.update({f"{loader_name}/{name}": getattr(m, "avg", m.val) for name, m in loader_stats.items()})
            log[f"{loader_name}/epoch"] = epoch
        self._wandb.log(log, step=step)

    def close(self) -> None:
        self.run.finish()
