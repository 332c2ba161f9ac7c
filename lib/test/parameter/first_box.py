"""Parameters of the first-box baseline: there are none (the parameter name only names the results folder)."""

from __future__ import annotations

import os
from typing import Mapping

from lib.test.utils.params import TrackerParams
from lib.utils.environment import EnvSettings
from lib.utils.errors import ConfigError

__all__ = ["parameters"]


def parameters(parameter_name: str = "default", checkpoint: str | os.PathLike | None = None,
               env: EnvSettings | None = None, epoch: int | None = None,
               overrides: Mapping | None = None) -> TrackerParams:
    """An empty parameter set with debug off; there is no checkpoint to sweep and no config to override."""
    if epoch is not None or overrides:
        raise ConfigError(f"the first_box tracker has no checkpoint and no config, so --epochs and --opts do not "
                          f"apply (got epoch={epoch}, overrides={dict(overrides or {})}).")
    return TrackerParams(parameter_name=parameter_name, debug=0, checkpoint=None)
