"""Test parameters of the SiamBAN tracker: the SiamBAN-key config and the checkpoint (pysot-spec 2.2, 10).

As lib.test.parameter.siamrpn, with configs under ``experiments/siamban/`` and checkpoints
``<save_dir>/checkpoints/train/siamban/<config>/SiamBAN_ep%04d.pth.tar``.
"""

from __future__ import annotations

import os
from typing import Mapping

from lib.test.parameter.siamrpn import siamese_parameters
from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings

__all__ = ["parameters"]


def parameters(yaml_name: str, checkpoint: str | os.PathLike | None = None, env: EnvSettings | None = None,
               resolve: bool = True, epoch: int | None = None, overrides: Mapping | None = None) -> TrackerParams:
    """SiamBAN tracker parameters for an experiment config (see siamrpn.siamese_parameters)."""
    return siamese_parameters("siamban", "SiamBAN", yaml_name, checkpoint=checkpoint, env=env, resolve=resolve,
                              epoch=epoch, overrides=overrides)
