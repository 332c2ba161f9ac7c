"""A baseline that reports the first-frame box in every frame.

It is the floor any learned tracker must clear: on a benchmark it measures how much of the score comes from
targets that barely move. ``python tracking/test.py first_box default --dataset synthetic_val``.
"""

from __future__ import annotations

import numpy as np

from lib.test.tracker.basetracker import BaseTracker
from lib.test.utils.params import TrackerParams

__all__ = ["FirstBoxTracker"]


class FirstBoxTracker(BaseTracker):
    """Repeats ``info['init_bbox']`` for every frame.

    Args:
        params: test parameters (unused apart from the base class contract).
        device: accepted for interface compatibility; no network runs.
    """

    def __init__(self, params: TrackerParams, device: str = "cpu"):
        super().__init__(params)
        self.box: list[float] = []

    def initialize(self, image: np.ndarray, info: dict) -> None:
        self.box = [float(v) for v in info["init_bbox"]]

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        return {"target_bbox": list(self.box)}
