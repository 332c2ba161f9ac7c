"""PySOT's anchor grid (SiamRPN++) and SiamBAN's point grid over the search crop.

Spec: pysot-spec.md section 4.2 (``pysot/utils/anchor.py``) and 4.4 (``siamban/utils/point.py``).
Both grids are numpy float32 arrays, as the original label code works in numpy inside the data loader.
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np

from lib.utils.errors import ConfigError

__all__ = ["Anchors", "generate_points"]

logger = logging.getLogger(__name__)


def _check_grid(stride: int, size: int, what: str) -> None:
    if int(stride) != stride or stride <= 0:
        raise ConfigError(f"{what}: the stride must be a positive integer number of search-crop pixels "
                          f"(e.g. ANCHOR.STRIDE / POINT.STRIDE 8), got {stride!r}.")
    if int(size) != size or size < 0:
        raise ConfigError(f"{what}: the map size must be a non-negative integer (TRAIN.OUTPUT_SIZE, e.g. 25), "
                          f"got {size!r}.")


class Anchors:
    """The A = len(ratios) * len(scales) anchor shapes of PySOT and their grid over a score map.

    Args:
        stride: anchor stride in search-crop pixels (ANCHOR.STRIDE, 8).
        ratios: height/width ratios (ANCHOR.RATIOS, ``[0.33, 0.5, 1, 2, 3]``), the outer loop of the order.
        scales: scales (ANCHOR.SCALES, ``[8]``), the inner loop.
        image_center: the crop centre of a grid made at construction (0 = none yet).
        size: the map side of that grid (0 = none yet).

    Attributes:
        anchors: (A, 4) float32 corner boxes (x1, y1, x2, y2) centred on 0.
        all_anchors: after :meth:`generate_all_anchors`, ``(corner, center)``, each (4, A, S, S) float32.
    """

    def __init__(self, stride: int, ratios: Sequence[float], scales: Sequence[float],
                 image_center: int = 0, size: int = 0):
        _check_grid(stride, size, "Anchors")
        if len(ratios) == 0 or len(scales) == 0:
            raise ConfigError(f"Anchors need at least one ratio and one scale (ANCHOR.RATIOS, ANCHOR.SCALES), "
                              f"got ratios={list(ratios)} scales={list(scales)}.")
        if any(r <= 0 for r in ratios) or any(s <= 0 for s in scales):
            raise ConfigError(f"Anchor ratios and scales must be positive, got ratios={list(ratios)} "
                              f"scales={list(scales)}.")
        self.stride = stride
        self.ratios = list(ratios)
        self.scales = list(scales)
        self.image_center = image_center
        self.size = size
        self.anchor_num = len(self.ratios) * len(self.scales)
        self.all_anchors: tuple[np.ndarray, np.ndarray] | None = None
        self.anchors = self.generate_anchors()

    def generate_anchors(self) -> np.ndarray:
        """The (A, 4) float32 corner boxes of the anchor shapes, centred on the origin.

        matches PySOT: width and height are truncated to integers before scaling (quirk 12), so with stride 8
        the shapes are 104x32, 88x40, 64x64, 40x80, 32x96 rather than exact ratios.
        """
        area = self.stride * self.stride
        anchors = np.zeros((self.anchor_num, 4), dtype=np.float32)
        row = 0
        for ratio in self.ratios:
            base_w = int(math.sqrt(area * 1.0 / ratio))
            base_h = int(base_w * ratio)
            for scale in self.scales:
                w, h = base_w * scale, base_h * scale
                anchors[row] = (-w * 0.5, -h * 0.5, w * 0.5, h * 0.5)
                row += 1
        self.anchors = anchors
        return anchors

    def generate_all_anchors(self, im_c: int, size: int) -> bool:
        """Lay the anchors on a size x size grid centred on pixel ``im_c`` of the crop.

        Returns False without work when the grid for (im_c, size) is the stored one (initially (0, 0),
        as the original), True after (re)building ``all_anchors``.
        """
        _check_grid(self.stride, size, "Anchors.generate_all_anchors")
        if self.image_center == im_c and self.size == size:
            return False
        self.image_center, self.size = im_c, size
        origin = im_c - (size // 2) * self.stride  # centre of the top-left cell
        corners = (self.anchors + np.float32(origin)).astype(np.float32)  # (A, 4)
        x1, y1, x2, y2 = (corners[:, i].reshape(self.anchor_num, 1, 1) for i in range(4))  # each (A, 1, 1)
        cx, cy = (x1 + x2) * 0.5, (y1 + y2) * 0.5
        w, h = x2 - x1, y2 - y1
        offsets = np.arange(size, dtype=np.float32) * self.stride  # (S,)
        grid = np.zeros((self.anchor_num, size, size), dtype=np.float32)
        cx = cx + offsets.reshape(1, 1, size) + grid  # (A, S, S), x varies along columns
        cy = cy + offsets.reshape(1, size, 1) + grid  # (A, S, S), y varies along rows
        w, h = w + grid, h + grid
        center = np.stack([cx, cy, w, h]).astype(np.float32)  # (4, A, S, S)
        corner = np.stack([cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5]).astype(np.float32)
        self.all_anchors = (corner, center)
        return True


def generate_points(stride: int, size: int, image_center: int) -> np.ndarray:
    """SiamBAN's training point grid: (2, S, S) float32, row 0 the x and row 1 the y coordinate of each cell.

    The grid is centred on ``image_center`` (SEARCH_SIZE // 2 = 127 in training): with stride 8 and size 25
    the positions are 31, 39, ..., 223 on both axes.

    Args:
        stride: POINT.STRIDE (8).
        size: the map side (TRAIN.OUTPUT_SIZE).
        image_center: the crop centre in pixels.
    """
    _check_grid(stride, size, "generate_points")
    origin = image_center - (size // 2) * stride
    coords = np.asarray([origin + stride * i for i in range(size)], dtype=np.float32)  # (S,)
    xs, ys = np.meshgrid(coords, coords)  # (S, S) each
    return np.stack([xs, ys]).astype(np.float32)  # (2, S, S)
