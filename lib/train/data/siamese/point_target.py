"""SiamBAN training labels: classification and box distances over the point grid.

Spec: pysot-spec.md section 4.4 (``siamban/datasets/point_target.py``). A point is positive inside the ellipse
with semi-axes (w/4, h/4) around the target centre, negative outside the one with semi-axes (w/2, h/2); the
ring between them is ignored. Labels are numpy arrays made per sample in the data loader.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from lib.train.data.siamese.anchor_target import as_corner_box, check_target_counts, corner_to_center, \
    select_positions
from lib.train.data.siamese.anchors import generate_points
from lib.utils.errors import ConfigError

__all__ = ["PointTarget", "build_point_target"]

logger = logging.getLogger(__name__)


def _ellipse_distance(points: np.ndarray, tcx: float, tcy: float, semi_w: float, semi_h: float) -> np.ndarray:
    """((cx - x) / a)^2 + ((cy - y) / b)^2 for every point, (S, S): < 1 inside the ellipse, > 1 outside."""
    return np.square(tcx - points[0]) / np.square(semi_w) + np.square(tcy - points[1]) / np.square(semi_h)


class PointTarget:
    """SiamBAN's label maker over a stride-spaced point grid.

    Args:
        pos_num: the most positives kept (TRAIN.POS_NUM, 16).
        neg_num: negatives kept for a negative pair (TRAIN.NEG_NUM, 16).
        total_num: positives + negatives kept for a positive pair (TRAIN.TOTAL_NUM, 64).
        search_size: search-crop side (TRAIN.SEARCH_SIZE, 255).
        output_size: label-map side S (TRAIN.OUTPUT_SIZE, 25).
        stride: point stride (POINT.STRIDE, 8).
    """

    def __init__(self, pos_num: int = 16, neg_num: int = 16, total_num: int = 64, search_size: int = 255,
                 output_size: int = 25, stride: int = 8):
        check_target_counts(pos_num, neg_num, total_num, "PointTarget")
        if int(output_size) != output_size or output_size < 1:
            raise ConfigError(f"PointTarget: TRAIN.OUTPUT_SIZE must be a positive integer, got {output_size!r}.")
        self.pos_num, self.neg_num, self.total_num = int(pos_num), int(neg_num), int(total_num)
        self.search_size, self.output_size, self.stride = search_size, int(output_size), stride
        self.points = generate_points(stride, self.output_size, search_size // 2)  # (2, S, S)

    def __call__(self, target: Any, size: int, neg: bool = False, rng: Any = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Labels of one search crop.

        Args:
            target: the object's corner box (x1, y1, x2, y2) in search-crop pixels.
            size: the label-map side; must be ``output_size``.
            neg: True for a negative pair.
            rng: ``np.random.RandomState`` or the ``np.random`` module; None = the global numpy RNG, so
                ``np.random.seed(s)`` before the call reproduces the original's labels.

        Returns:
            ``cls`` (S, S) int64 (1 positive, 0 negative, -1 ignored) and ``delta`` (4, S, S) float32: the
            distances from each point to the box's left, top, right and bottom sides (negative outside the box;
            all zeros for a negative pair).
        """
        if size != self.output_size:
            raise ConfigError(f"PointTarget was built for a {self.output_size}x{self.output_size} label map "
                              f"(TRAIN.OUTPUT_SIZE) but was called with size {size}.")
        box = as_corner_box(target)
        cls = -1 * np.ones((size, size), dtype=np.int64)
        delta = np.zeros((4, size, size), dtype=np.float32)
        tcx, tcy, tw, th = corner_to_center(box)
        points = self.points

        if neg:
            # matches SiamBAN: a negative pair marks (up to NEG_NUM of) the points inside the inner ellipse
            # as negatives, sampled with the same select as PySOT (quirk 14).
            inside = np.where(_ellipse_distance(points, tcx, tcy, tw / 4, th / 4) < 1)
            negatives, _ = select_positions(inside, self.neg_num, rng)
            cls[negatives] = 0
            return cls, delta

        delta[0] = points[0] - box[0]
        delta[1] = points[1] - box[1]
        delta[2] = box[2] - points[0]
        delta[3] = box[3] - points[1]

        positives = np.where(_ellipse_distance(points, tcx, tcy, tw / 4, th / 4) < 1)
        negatives = np.where(_ellipse_distance(points, tcx, tcy, tw / 2, th / 2) > 1)
        # matches SiamBAN: positives are sampled before negatives, and TOTAL_NUM - POS_NUM negatives are kept
        # whatever the number of positives (quirk 14).
        positives, _ = select_positions(positives, self.pos_num, rng)
        negatives, _ = select_positions(negatives, self.total_num - self.pos_num, rng)
        cls[positives] = 1
        cls[negatives] = 0
        return cls, delta


def build_point_target(cfg: Any) -> PointTarget:
    """A :class:`PointTarget` from a SiamBAN config (``cfg.TRAIN.*`` and ``cfg.POINT.STRIDE``)."""
    train = cfg.TRAIN
    return PointTarget(pos_num=int(train.POS_NUM), neg_num=int(train.NEG_NUM), total_num=int(train.TOTAL_NUM),
                       search_size=int(train.SEARCH_SIZE), output_size=int(train.OUTPUT_SIZE),
                       stride=int(cfg.POINT.STRIDE))
