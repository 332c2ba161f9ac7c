"""Test parameters of the SiamFC++ tracker: the ``test.track`` branch of a config and the weights file.

The tracker's hyper-parameters are ``test.track.pipeline.SiamFCppTracker`` (test_lr, window_influence, penalty_k,
x_size, num_conv3x3, ...), the network is ``test.track.model``. The weights, in order of precedence:

1. ``--checkpoint PATH``: any file the model loads (this framework's checkpoint, a video_analyst ``epoch-N.pkl``
   or a released ``models/siamfcpp/*.pkl``);
2. ``test.track.model.task_model.SiamTrack.pretrain_model_path`` when set (the released model in the test configs),
   looked up as given and under the pretrained-models directory. The ``-trn`` configs name their own run's
   video_analyst snapshot, ``<train exp_save>/<train exp_name>/epoch-<k>.pkl`` (k 0-based, quirk Q36); when that
   file does not exist it stands for this framework's training output of the same config at epoch k + 1;
3. otherwise this framework's training output of the config at its last epoch (the trainer's max_epoch):
   ``<save_dir>/checkpoints/train/siamfcpp/<config>/SiamTrack_ep%04d.pth.tar``.

A missing file is one error that says where it was looked for.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lib.config.siamfcpp.config import config_path, load_config
from lib.test.parameter.ostrack import resolve_checkpoint
from lib.test.tracker.siamfcpp import TRACKER_DEFAULTS
from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings, env_settings
from lib.utils.errors import CheckpointError, ConfigError

__all__ = ["parameters", "default_checkpoint", "SCRIPT", "CHECKPOINT_PREFIX"]

SCRIPT = "siamfcpp"
#: the trainer names checkpoints after the network class: SiamTrack_ep0020.pth.tar
CHECKPOINT_PREFIX = "SiamTrack"

_PRETRAIN_KEY = "test.track.model.task_model.SiamTrack.pretrain_model_path"
_SNAPSHOT = re.compile(r"^(?P<save>.+)/(?P<name>[^/]+)/epoch-(?P<epoch>\d+)\.pkl$")


def _last_epoch(cfg: Any) -> tuple[int, str]:
    trainer = cfg.train.track.trainer
    name = trainer.name or "RegularTrainer"
    return int(trainer[name].max_epoch), f"train.track.trainer.{name}.max_epoch"


def default_checkpoint(cfg: Any, config_name: str, env: EnvSettings) -> Path:
    """The weights file a config points to when no --checkpoint is given (see the module docstring)."""
    from lib.models.siamfcpp.weights import resolve_weights_file

    pretrain = str(cfg.test.track.model.task_model.SiamTrack.pretrain_model_path)
    if pretrain:
        try:
            return resolve_weights_file(pretrain, env.pretrained_dir, _PRETRAIN_KEY)
        except CheckpointError:
            own = _SNAPSHOT.match(pretrain.replace(os.sep, "/"))
            train = cfg.train.track
            if own is None or (own["save"], own["name"]) != (str(train.exp_save), str(train.exp_name)):
                raise
            # video_analyst's snapshot of this config's own run: epoch-<k>.pkl is the framework's epoch k + 1
            epoch = int(own["epoch"]) + 1
            return resolve_checkpoint(config_name, epoch, env.save_dir, script=SCRIPT, prefix=CHECKPOINT_PREFIX,
                                      epoch_key=f"{_PRETRAIN_KEY} = {pretrain}")
    epoch, key = _last_epoch(cfg)
    return resolve_checkpoint(config_name, epoch, env.save_dir, script=SCRIPT, prefix=CHECKPOINT_PREFIX,
                              epoch_key=key)


def parameters(yaml_name: str, checkpoint: str | os.PathLike | None = None, env: EnvSettings | None = None,
               resolve: bool = True, epoch: int | None = None, overrides: Any = None) -> TrackerParams:
    """Tracker parameters for a SiamFC++ experiment config.

    Args:
        yaml_name: config name under experiments/siamfcpp/ (e.g. siamfcpp_alexnet) or a YAML path.
        checkpoint: explicit weights file, overriding the config's.
        env: path settings (default: resolved from flags/environment/settings file).
        resolve: look the weights file up now (raising CheckpointError if missing); False leaves it None.
        epoch: evaluate this framework's training output of the config at that epoch (``--epochs``).
        overrides: nested config overrides (``--opts``), validated as the YAML is.

    Returns:
        TrackerParams with ``cfg``, ``model_cfg`` (test.track.model), ``yaml_name``, ``checkpoint`` and the
        tracker hyper-parameters (``test_lr``, ``window_influence``, ``penalty_k``, ``x_size``, ...) as attributes.
    """
    cfg = load_config(str(yaml_name), overrides=overrides)
    config_name = config_path(str(yaml_name)).stem
    pipeline = cfg.test.track.pipeline
    if pipeline.name != "SiamFCppTracker":
        raise ConfigError(f"config {config_name}: test.track.pipeline.name is {pipeline.name!r}; the SiamFC++ tracker "
                          f"needs 'SiamFCppTracker' (and test.track.model set up for testing).")
    hps = {key: pipeline.SiamFCppTracker[key] for key in TRACKER_DEFAULTS}
    params = TrackerParams(cfg=cfg, model_cfg=cfg.test.track.model, yaml_name=config_name, save_all_boxes=False,
                           debug=0, checkpoint=None, **hps)
    if resolve:
        env = env or env_settings()
        if checkpoint is not None or epoch is not None:
            params.checkpoint = resolve_checkpoint(config_name, epoch or 0, env.save_dir, checkpoint, script=SCRIPT,
                                                   prefix=CHECKPOINT_PREFIX, epoch_key="--epochs")
        else:
            params.checkpoint = default_checkpoint(cfg, config_name, env)
    return params
