"""TrackPairFilter: rejects training frames whose target box is unusable (spec 7.3).

The filter looks at the raw annotation of a full frame, before cropping: a missing frame, a box that is not
finite or has no area, and (as in the original) an aspect ratio h / w beyond ``max_ratio`` either way.

matches video_analyst: the original meant to also reject boxes covering less than ``min_area_rate`` or more than
``max_area_rate`` of the image, but its two area comparisons sit in a tuple, which is always true, so only the
aspect ratio is enforced (quirk Q7). That defines SiamFC++'s training distribution and is kept by default;
``check_area=True`` turns the intended area test on.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["TrackPairFilter", "box_size_xyxy"]


def box_size_xyxy(box: Sequence[float]) -> tuple[float, float]:
    """(w, h) of an inclusive-pixel xyxy box: w = x1 - x0 + 1."""
    b = np.asarray(box, dtype=np.float32)
    return float(b[2] - b[0] + 1), float(b[3] - b[1] + 1)


class TrackPairFilter:
    """Decide whether a frame's target may be used for training.

    Args:
        max_area_rate: largest box area / image area (only with ``check_area``).
        min_area_rate: smallest box area / image area (only with ``check_area``).
        max_ratio: largest allowed max(h / w, w / h).
        check_area: enforce the area rates, which the original did not (quirk Q7).
    """

    def __init__(self, max_area_rate: float = 0.6, min_area_rate: float = 0.001, max_ratio: float = 10.0,
                 check_area: bool = False):
        if not 0 <= min_area_rate <= max_area_rate:
            raise ValueError(f"TrackPairFilter: need 0 <= min_area_rate <= max_area_rate, got {min_area_rate} "
                             f"and {max_area_rate}.")
        if max_ratio <= 1:
            raise ValueError(f"TrackPairFilter: max_ratio must be > 1 (it bounds max(h/w, w/h)), got {max_ratio}.")
        self.max_area_rate = float(max_area_rate)
        self.min_area_rate = float(min_area_rate)
        self.max_ratio = float(max_ratio)
        self.check_area = bool(check_area)

    def __repr__(self) -> str:
        return (f"TrackPairFilter(max_ratio={self.max_ratio}, check_area={self.check_area}, "
                f"area_rate=[{self.min_area_rate}, {self.max_area_rate}])")

    def box_filtered(self, box: Sequence[float] | None, image_hw: tuple[int, int] | None = None) -> bool:
        """True if the xyxy ``box`` must not be used (None, not finite, no area, or out of the bounds).

        Args:
            box: target box, xyxy inclusive pixels, or None.
            image_hw: (H, W) of the full frame; needed only with ``check_area``.
        """
        if box is None:
            return True
        w, h = box_size_xyxy(box)
        if not (math.isfinite(w) and math.isfinite(h)) or w <= 0 or h <= 0:
            return True
        ratio = h / (w + 1e-6)
        if not max(ratio, 1 / max(ratio, 1e-6)) < self.max_ratio:
            return True
        if self.check_area:
            if image_hw is None:
                raise ValueError("TrackPairFilter(check_area=True) needs the image size")
            area_rate = w * h / float(image_hw[0] * image_hw[1])
            return not self.min_area_rate < area_rate < self.max_area_rate
        return False

    def __call__(self, frame: dict | None) -> bool:
        """True if ``frame`` ({"image": (H, W, 3), "anno": xyxy}) must be rejected."""
        if frame is None:
            return True
        image = frame.get("image")
        hw = None if image is None or isinstance(image, str) else tuple(np.shape(image)[:2])
        return self.box_filtered(frame.get("anno"), hw)
