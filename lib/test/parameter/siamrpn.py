"""Test parameters of the SiamRPN++ trackers: the PySOT-key config and the checkpoint (pysot-spec 2.1, 10).

The config is ``experiments/siamrpn/<name>.yaml`` (or a PySOT ``config.yaml`` path); its TRACK.* keys are the
tracker's hyper-parameters and TRACK.TYPE picks the tracker class (SiamRPNTracker, or SiamRPNLTTracker for the
``_lt`` config). The checkpoint defaults to the training output of the same config at TEST.EPOCH (0: the config's
TRAIN.EPOCH), ``<save_dir>/checkpoints/train/siamrpn/<config>/SiamRPN_ep%04d.pth.tar``; ``--checkpoint`` may name
any other file, e.g. a released PySOT ``model.pth``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Mapping

from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings, env_settings

__all__ = ["parameters", "siamese_parameters", "experiment_name"]


def experiment_name(yaml_name: str | os.PathLike) -> str:
    """The config name that names checkpoint and result folders.

    A name stays as it is; a YAML path gives its file stem, except PySOT's ``experiments/<config>/config.yaml``
    layout, which gives the folder name.
    """
    path = Path(yaml_name)
    if path.suffix not in (".yaml", ".yml"):
        return str(yaml_name)
    return path.parent.name if path.stem == "config" and path.parent.name else path.stem


def siamese_parameters(script: str, prefix: str, yaml_name: str, checkpoint: str | os.PathLike | None = None,
                       env: EnvSettings | None = None, resolve: bool = True, epoch: int | None = None,
                       overrides: Mapping | None = None) -> TrackerParams:
    """Parameters of a PySOT-family tracker.

    Args:
        script: the family's --script name ('siamrpn', 'siamban'): config module and checkpoint folder.
        prefix: the checkpoint file prefix ('SiamRPN', 'SiamBAN').
        yaml_name: config name under experiments/<script>/ or a YAML path.
        checkpoint: explicit checkpoint path overriding the one derived from TEST.EPOCH.
        env: path settings (default: resolved from flags/environment/settings file).
        resolve: look the checkpoint up now (raising CheckpointError if missing); False leaves it None.
        epoch: the checkpoint epoch to evaluate instead of TEST.EPOCH (a checkpoint sweep, ``--epochs``).
        overrides: nested config overrides (``--opts``), validated as the YAML is.
    """
    # imported here: the config module of a family is only needed when its tracker runs
    load_config = importlib.import_module(f"lib.config.{script}.config").load_config
    cfg = load_config(str(yaml_name), overrides=overrides)
    config_name = experiment_name(yaml_name)
    params = TrackerParams(cfg=cfg, yaml_name=config_name, save_all_boxes=False, debug=0, checkpoint=None)
    if resolve:
        from lib.test.parameter.ostrack import resolve_checkpoint

        env = env or env_settings()
        key = "TEST.EPOCH" if epoch is None else "--epochs"
        if epoch is None:
            epoch = cfg.TEST.EPOCH or cfg.TRAIN.EPOCH  # framework key: 0 means the last training epoch
        params.checkpoint = resolve_checkpoint(config_name, epoch, env.save_dir, checkpoint, script=script,
                                               prefix=prefix, epoch_key=key)
    return params


def parameters(yaml_name: str, checkpoint: str | os.PathLike | None = None, env: EnvSettings | None = None,
               resolve: bool = True, epoch: int | None = None, overrides: Mapping | None = None) -> TrackerParams:
    """SiamRPN++ tracker parameters for an experiment config (see :func:`siamese_parameters`)."""
    return siamese_parameters("siamrpn", "SiamRPN", yaml_name, checkpoint=checkpoint, env=env, resolve=resolve,
                              epoch=epoch, overrides=overrides)
