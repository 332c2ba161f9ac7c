"""Test parameters of the OSTrack tracker: the experiment config's TEST.* keys and the checkpoint (spec 7.1).

The checkpoint defaults to the training output of the same config,
``<save_dir>/checkpoints/train/ostrack/<config>/OSTrack_ep<TEST.EPOCH:04d>.pth.tar``; an explicit path
(``--checkpoint``) overrides it. A missing checkpoint is one error that lists what exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from lib.config.ostrack.config import config_path, load_config
from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings, env_settings
from lib.utils.errors import CheckpointError

__all__ = ["parameters", "checkpoint_path", "resolve_checkpoint"]


def checkpoint_path(save_dir: str | os.PathLike, config_name: str, epoch: int, script: str = "ostrack",
                    prefix: str = "OSTrack") -> Path:
    """The training checkpoint of a config at an epoch (the trainer's naming: the network's class name)."""
    return Path(save_dir) / "checkpoints" / "train" / script / config_name / f"{prefix}_ep{epoch:04d}.pth.tar"


def resolve_checkpoint(config_name: str, epoch: int, save_dir: str | os.PathLike,
                       checkpoint: str | os.PathLike | None = None, script: str = "ostrack",
                       prefix: str = "OSTrack", epoch_key: str = "TEST.EPOCH") -> Path:
    """The checkpoint file to load; raises CheckpointError naming what exists when it is missing.

    Args:
        config_name: experiment config name (the checkpoint folder name).
        epoch: the epoch to evaluate (TEST.EPOCH).
        save_dir: the output folder training wrote into.
        checkpoint: explicit path (--checkpoint), used as given.
        script: the family (the checkpoint folder's parent).
        prefix: the checkpoint file prefix (the network's class name, e.g. SiamRPN).
        epoch_key: the config key that chose ``epoch``, for messages.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser().resolve()
        if not path.is_file():
            raise CheckpointError(f"--checkpoint {checkpoint}: no such file.")
        return path
    path = checkpoint_path(save_dir, config_name, epoch, script, prefix)
    if path.is_file():
        return path
    folder = path.parent
    if folder.is_dir():
        found = sorted(p.name for p in folder.glob(f"{prefix}_ep*.pth.tar"))
        how = f"pass {epoch_key} with" if epoch_key.startswith("--") else f"set {epoch_key} in the config to one of"
        what = (f"That folder holds {', '.join(found)}; {how} those epochs"
                if found else f"That folder holds no {prefix}_ep*.pth.tar checkpoint")
    else:
        trained = sorted(p.name for p in folder.parent.glob("*") if p.is_dir()) if folder.parent.is_dir() else []
        what = (f"The folder {folder} does not exist (training output for config {config_name!r} is not under "
                f"{save_dir}" + (f"; configs with checkpoints there: {', '.join(trained)}" if trained else "") + ")")
    raise CheckpointError(
        f"no checkpoint for config {config_name!r} at epoch {epoch} ({epoch_key}): {path} does not exist. {what}. "
        f"Pass --checkpoint PATH to use another file, or point --save_dir at the folder training wrote to.")


def parameters(yaml_name: str, checkpoint: str | os.PathLike | None = None, env: EnvSettings | None = None,
               resolve: bool = True, epoch: int | None = None, overrides: Mapping | None = None) -> TrackerParams:
    """Tracker parameters for an experiment config.

    Args:
        yaml_name: config name under experiments/ostrack/ (e.g. vitb_256_mae_ce_32x4_ep300) or a YAML path.
        checkpoint: explicit checkpoint path overriding the one derived from TEST.EPOCH.
        env: path settings (default: resolved from flags/environment/settings file).
        resolve: look the checkpoint up now (raising if it is missing); False leaves params.checkpoint None.
        epoch: the checkpoint epoch to evaluate instead of TEST.EPOCH (a checkpoint sweep, ``--epochs``).
        overrides: nested config overrides (``--opts``), validated as the YAML is.
    """
    cfg = load_config(yaml_name, overrides=overrides)
    config_name = config_path(yaml_name).stem
    params = TrackerParams(
        cfg=cfg,
        yaml_name=config_name,
        template_factor=cfg.TEST.TEMPLATE_FACTOR,
        template_size=cfg.TEST.TEMPLATE_SIZE,
        search_factor=cfg.TEST.SEARCH_FACTOR,
        search_size=cfg.TEST.SEARCH_SIZE,
        save_all_boxes=False,
        debug=0,
        checkpoint=None,
    )
    if resolve:
        env = env or env_settings()
        chosen, key = (cfg.TEST.EPOCH, "TEST.EPOCH") if epoch is None else (epoch, "--epochs")
        params.checkpoint = resolve_checkpoint(config_name, chosen, env.save_dir, checkpoint, epoch_key=key)
    return params
