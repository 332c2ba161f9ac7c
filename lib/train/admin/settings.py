"""Training settings: one typed object for everything the trainer needs besides the modules themselves.

The original's ``Settings`` was a loose object that every stage added attributes to and that was pickled into
each checkpoint (spec 6.9). Here it is a dataclass: each training script's ``settings_from_cfg`` fills the cfg-derived fields once,
and :meth:`Settings.to_plain` gives the plain-data summary stored in checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lib.utils.environment import EnvSettings

__all__ = ["Settings"]


@dataclass
class Settings:
    """Run settings (paths, ranks, device, logging and checkpoint policy).

    Paths follow the original: checkpoints in ``<save_dir>/checkpoints/train/<script>/<config>/``, the log in
    ``<save_dir>/logs/<script>-<config>.log``, tensorboard in ``<tensorboard_dir>/train/<script>/<config>/``.
    """

    save_dir: Path
    script_name: str = "ostrack"
    config_name: str = "baseline"
    env: EnvSettings | None = None
    cfg_file: Path | None = None
    local_rank: int = -1
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 42
    use_lmdb: bool = False
    use_wandb: bool = False
    load_latest: bool = True
    description: str = ""
    # From the config (the training script's settings_from_cfg); the defaults here are the original trainer's.
    print_interval: int = 10
    print_stats: list[str] | None = None
    grad_clip_norm: float = 0.0
    batchsize: int = 1
    amp: bool = False
    amp_dtype: str = "float16"
    max_nonfinite_steps: int = 5
    # A finite loss above this is treated like a non-finite one (PySOT skips steps with a loss > 1e4).
    max_valid_loss: float = float("inf")
    save_interval: int = 40
    save_epochs: tuple[int, ...] = (79, 159, 239)
    save_last: int = 5
    save_every_epoch: bool = False
    # Between cadence checkpoints, also keep the newest epoch's checkpoint (deleted once the next one is written)
    # so that a killed run never loses a completed epoch.
    keep_resume_checkpoint: bool = True
    scheduler_type: str = "step"
    # None: a tqdm bar only when stderr is a terminal.
    progress_bar: bool | None = None

    @property
    def project_path(self) -> str:
        return f"train/{self.script_name}/{self.config_name}"

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.save_dir) / "checkpoints" / self.project_path

    @property
    def log_file(self) -> Path:
        return Path(self.save_dir) / "logs" / f"{self.script_name}-{self.config_name}.log"

    @property
    def tensorboard_dir(self) -> Path:
        root = self.env.tensorboard_dir if self.env is not None else Path(self.save_dir) / "tensorboard"
        return Path(root) / self.project_path

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def to_plain(self) -> dict[str, Any]:
        """A checkpoint-safe summary (strings and numbers only)."""
        return {"script_name": self.script_name, "config_name": self.config_name,
                "project_path": self.project_path, "save_dir": str(self.save_dir), "seed": self.seed,
                "world_size": self.world_size, "device": str(self.device), "batchsize": self.batchsize,
                "amp": self.amp, "amp_dtype": self.amp_dtype, "use_lmdb": self.use_lmdb}
