"""SiamRPN++ training labels: classification, box deltas and their weights over the anchor grid.

Spec: pysot-spec.md section 4.3 (``pysot/datasets/anchor_target.py``). Labels are numpy arrays made per
sample in the data loader; the box is a corner box (x1, y1, x2, y2) in search-crop pixels.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from lib.train.data.siamese.anchors import Anchors
from lib.utils.errors import ConfigError

__all__ = ["AnchorTarget", "build_anchor_target", "select_positions", "check_target_counts", "as_corner_box",
           "corner_to_center", "box_iou"]

logger = logging.getLogger(__name__)


def select_positions(position: tuple[np.ndarray, ...], keep_num: int,
                     rng: Any = None) -> tuple[tuple[np.ndarray, ...], int]:
    """Keep at most ``keep_num`` of the positions of an ``np.where`` result, chosen at random.

    matches PySOT: when there are more than ``keep_num`` positions, a permutation of their indices is drawn
    with ``shuffle`` (the global numpy RNG when ``rng`` is None, quirk 14) and its first ``keep_num`` are
    kept; with ``keep_num`` or fewer nothing is drawn, so the RNG stream only moves when sampling happens.

    Args:
        position: a tuple of index arrays of equal length, as ``np.where`` returns.
        keep_num: the most positions to keep.
        rng: ``np.random.RandomState`` or the ``np.random`` module (anything with ``shuffle``); None = global.

    Returns:
        The kept positions (same tuple layout) and their count.
    """
    num = position[0].shape[0]
    if num <= keep_num:
        return position, num
    order = np.arange(num)
    (np.random if rng is None else rng).shuffle(order)
    order = order[:keep_num]
    return tuple(p[order] for p in position), keep_num


def check_target_counts(pos_num: int, neg_num: int, total_num: int, what: str) -> None:
    """Reject sample counts that the label sampling cannot honour (shared with PointTarget)."""
    for key, value in (("POS_NUM", pos_num), ("NEG_NUM", neg_num), ("TOTAL_NUM", total_num)):
        if int(value) != value or value < 0:
            raise ConfigError(f"{what}: TRAIN.{key} must be a non-negative integer count of sampled labels, "
                              f"got {value!r}.")
    if total_num < pos_num:
        raise ConfigError(f"{what}: TRAIN.TOTAL_NUM ({total_num}) must be at least TRAIN.POS_NUM ({pos_num}); "
                          f"TOTAL_NUM - POS_NUM negatives are kept for a positive pair (PySOT: 64 and 16).")


def corner_to_center(box: Sequence[float]) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) -> (cx, cy, w, h) as Python floats."""
    x1, y1, x2, y2 = box
    return (x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1


def as_corner_box(target: Any) -> tuple[float, float, float, float]:
    """A corner box from any 4-sequence (a ``Corner`` namedtuple, list, numpy array, tensor) as Python floats.

    Python floats keep the label arithmetic in float32 against the float32 anchors, as in the original, where
    the box is a namedtuple of floats.
    """
    values = [float(v) for v in (target.tolist() if hasattr(target, "tolist") else target)]
    if len(values) != 4:
        raise ValueError(f"a target box must be a corner box (x1, y1, x2, y2) in search-crop pixels, "
                         f"got {len(values)} values: {values}.")
    if values[2] < values[0] or values[3] < values[1]:
        raise ValueError(f"a target box must be a corner box with x2 >= x1 and y2 >= y1 (not x, y, w, h), "
                         f"got {values}.")
    return values[0], values[1], values[2], values[3]


def box_iou(anchor_corners: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """IoU of every anchor (4, ...) with one corner box; no +1 pixel convention, as ``pysot/utils/bbox.py``."""
    x1, y1, x2, y2 = anchor_corners
    bx1, by1, bx2, by2 = box
    inter_w = np.maximum(0, np.minimum(x2, bx2) - np.maximum(x1, bx1))
    inter_h = np.maximum(0, np.minimum(y2, by2) - np.maximum(y1, by1))
    inter = inter_w * inter_h
    union = (x2 - x1) * (y2 - y1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union


class AnchorTarget:
    """PySOT's label maker: anchors above ``thr_high`` IoU are positives, below ``thr_low`` negatives.

    Args:
        thr_high: IoU above which an anchor is positive (TRAIN.THR_HIGH, 0.6).
        thr_low: IoU below which an anchor is negative (TRAIN.THR_LOW, 0.3).
        pos_num: the most positives kept (TRAIN.POS_NUM, 16).
        neg_num: negatives kept for a negative pair (TRAIN.NEG_NUM, 16).
        total_num: positives + negatives kept for a positive pair (TRAIN.TOTAL_NUM, 64).
        search_size: search-crop side (TRAIN.SEARCH_SIZE, 255).
        output_size: label-map side S (TRAIN.OUTPUT_SIZE, 25; 17 for AlexNet).
        stride: anchor stride (ANCHOR.STRIDE, 8).
        ratios: anchor ratios (ANCHOR.RATIOS).
        scales: anchor scales (ANCHOR.SCALES).
    """

    def __init__(self, thr_high: float = 0.6, thr_low: float = 0.3, pos_num: int = 16, neg_num: int = 16,
                 total_num: int = 64, search_size: int = 255, output_size: int = 25, stride: int = 8,
                 ratios: Sequence[float] = (0.33, 0.5, 1, 2, 3), scales: Sequence[float] = (8,)):
        if not 0.0 <= thr_low <= thr_high <= 1.0:
            raise ConfigError(f"AnchorTarget: the IoU thresholds must satisfy 0 <= TRAIN.THR_LOW <= TRAIN.THR_HIGH "
                              f"<= 1, got THR_LOW {thr_low} and THR_HIGH {thr_high} (PySOT: 0.3 and 0.6).")
        check_target_counts(pos_num, neg_num, total_num, "AnchorTarget")
        if int(output_size) != output_size or output_size < 1:
            raise ConfigError(f"AnchorTarget: TRAIN.OUTPUT_SIZE must be a positive integer, got {output_size!r}.")
        self.thr_high, self.thr_low = thr_high, thr_low
        self.pos_num, self.neg_num, self.total_num = int(pos_num), int(neg_num), int(total_num)
        self.search_size, self.output_size, self.stride = search_size, int(output_size), stride
        self.anchors = Anchors(stride, ratios, scales)
        self.anchors.generate_all_anchors(im_c=search_size // 2, size=self.output_size)

    def __call__(self, target: Any, size: int, neg: bool = False, rng: Any = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Labels of one search crop.

        Args:
            target: the object's corner box (x1, y1, x2, y2) in search-crop pixels.
            size: the label-map side; must be ``output_size``.
            neg: True for a negative pair (template and search show different objects).
            rng: ``np.random.RandomState`` or the ``np.random`` module; None = the global numpy RNG, so
                ``np.random.seed(s)`` before the call reproduces the original's labels.

        Returns:
            ``cls`` (A, S, S) int64 (1 positive, 0 negative, -1 ignored), ``delta`` (4, A, S, S) float32,
            ``delta_weight`` (A, S, S) float32 (1 / number of positives on the positives), ``overlap``
            (A, S, S) float32 IoU (all zeros for a negative pair).
        """
        if size != self.output_size:
            raise ConfigError(f"AnchorTarget was built for a {self.output_size}x{self.output_size} label map "
                              f"(TRAIN.OUTPUT_SIZE) but was called with size {size}.")
        box = as_corner_box(target)
        anchor_num = self.anchors.anchor_num
        cls = -1 * np.ones((anchor_num, size, size), dtype=np.int64)
        delta = np.zeros((4, anchor_num, size, size), dtype=np.float32)
        delta_weight = np.zeros((anchor_num, size, size), dtype=np.float32)
        tcx, tcy, tw, th = corner_to_center(box)

        if neg:
            # matches PySOT: a 7x7 window around the target's cell, found with ceil(... + 0.5) and clipped at
            # the border (empty when the cell is off the map, quirk 13); 16 of its anchors become negatives.
            cx = size // 2 + int(np.ceil((tcx - self.search_size // 2) / self.stride + 0.5))
            cy = size // 2 + int(np.ceil((tcy - self.search_size // 2) / self.stride + 0.5))
            left, right = max(0, cx - 3), min(size, cx + 4)
            up, down = max(0, cy - 3), min(size, cy + 4)
            cls[:, up:down, left:right] = 0
            negatives, _ = select_positions(np.where(cls == 0), self.neg_num, rng)
            cls[:] = -1
            cls[negatives] = 0
            overlap = np.zeros((anchor_num, size, size), dtype=np.float32)
            return cls, delta, delta_weight, overlap

        corner, center = self.anchors.all_anchors  # (4, A, S, S) each
        cx, cy, w, h = center
        delta[0] = (tcx - cx) / w
        delta[1] = (tcy - cy) / h
        delta[2] = np.log(tw / w)
        delta[3] = np.log(th / h)
        overlap = box_iou(corner, box)  # (A, S, S)

        positives = np.where(overlap > self.thr_high)
        negatives = np.where(overlap < self.thr_low)
        # matches PySOT: positives are sampled before negatives on the same RNG (quirk 14), and the negative
        # budget is TOTAL_NUM - POS_NUM whatever the number of positives found.
        positives, pos_count = select_positions(positives, self.pos_num, rng)
        negatives, _ = select_positions(negatives, self.total_num - self.pos_num, rng)
        cls[positives] = 1
        delta_weight[positives] = 1.0 / (pos_count + 1e-6)
        cls[negatives] = 0
        return cls, delta, delta_weight, overlap


def build_anchor_target(cfg: Any) -> AnchorTarget:
    """An :class:`AnchorTarget` from a PySOT config (``cfg.TRAIN.*`` and ``cfg.ANCHOR.*``)."""
    train, anchor = cfg.TRAIN, cfg.ANCHOR
    return AnchorTarget(thr_high=float(train.THR_HIGH), thr_low=float(train.THR_LOW), pos_num=int(train.POS_NUM),
                        neg_num=int(train.NEG_NUM), total_num=int(train.TOTAL_NUM),
                        search_size=int(train.SEARCH_SIZE), output_size=int(train.OUTPUT_SIZE),
                        stride=int(anchor.STRIDE), ratios=list(anchor.RATIOS), scales=list(anchor.SCALES))
