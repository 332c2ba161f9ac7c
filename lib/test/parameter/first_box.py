"""Parameters of the first-box baseline: there are none (the parameter name only names the results folder)."""

from __future__ import annotations

import os

from lib.test.utils.params import TrackerParams
from lib.train.admin.environment import EnvSettings

__all__ = ["parameters"]


def parameters(parameter_name: str = "default", checkpoint: str | os.PathLike | None = None,
               env: EnvSettings | None = None) -> TrackerParams:
    """An empty parameter set with debug off."""
    return TrackerParams(parameter_name=parameter_name, debug=0, checkpoint=None)
