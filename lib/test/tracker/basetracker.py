"""The interface every tracker implements: initialize on the first frame, then track frame by frame."""

from __future__ import annotations

import numpy as np

from lib.test.utils.params import TrackerParams

__all__ = ["BaseTracker"]


class BaseTracker:
    """Base class of trackers run by lib.test.evaluation (test.py, video demo).

    Images are (H, W, 3) uint8 RGB arrays. Boxes are [x, y, w, h] in image pixels.

    Args:
        params: test parameters (lib.test.parameter.<tracker>.parameters()).
    """

    def __init__(self, params: TrackerParams):
        self.params = params

    def initialize(self, image: np.ndarray, info: dict) -> dict | None:
        """Start tracking ``info['init_bbox']`` in the first frame."""
        raise NotImplementedError

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """Return ``{'target_bbox': [x, y, w, h]}`` for the next frame."""
        raise NotImplementedError
