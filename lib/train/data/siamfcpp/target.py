"""The SiamFC++ training target (video_analyst's DenseboxTarget and make_densebox_target), spec 5.

Every score-map position k = i * S + j looks at the search-patch pixel (x, y) = (o + j * s, o + i * s)
(o = score offset, s = total stride). A box labels the positions strictly inside it; where boxes overlap the
smallest one wins. Outputs per position: the class (1 inside, 0 outside), the centerness
sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)) of the chosen box and the box itself (xyxy, 0 outside).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from lib.utils.errors import ConfigError

__all__ = ["make_densebox_target", "DenseboxTarget", "densebox_score_size", "densebox_score_offset"]

_EPS = 1e-5


def densebox_score_size(x_size: int, z_size: int, total_stride: int, num_conv3x3: int) -> int:
    """Score-map side: (x_size - z_size) // total_stride + 1 - 2 * num_conv3x3 (17 for 303 / 127 / 8 / 3)."""
    return (x_size - z_size) // total_stride + 1 - 2 * num_conv3x3


def densebox_score_offset(x_size: int, score_size: int, total_stride: int) -> int:
    """Pixel of the first position: (x_size - 1 - (score_size - 1) * total_stride) // 2 (87 for 303 / 17 / 8)."""
    return (x_size - 1 - (score_size - 1) * total_stride) // 2


def make_densebox_target(boxes_xyxy: np.ndarray | torch.Tensor, score_size: int, score_offset: int,
                         total_stride: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Classification, centerness and box targets of the score map for one search patch.

    Args:
        boxes_xyxy: (N, 4) boxes (x0, y0, x1, y1) in search-patch pixels, or (N, 5) with a class column.
        score_size: side S of the score map.
        score_offset: pixel of position (0, 0).
        total_stride: pixels between neighbouring positions.

    Returns:
        cls (S*S, 1), ctr (S*S, 1) and box (S*S, 4) float32 tensors, positions row-major.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, np.asarray(boxes_xyxy).shape[-1])
    if boxes.shape[1] == 4:
        boxes = np.concatenate([boxes, np.ones((len(boxes), 1), dtype=np.float32)], axis=1)
    if boxes.shape[1] != 5:
        raise ValueError(f"make_densebox_target: boxes must be (N, 4) xyxy or (N, 5) xyxy + class, got "
                         f"{boxes.shape}.")
    # matches video_analyst: a dummy box (class 0) first, then sort by area without +1, smallest first
    boxes = np.concatenate([np.zeros((1, 5), dtype=np.float32), boxes], axis=0)
    area = np.abs((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    boxes = boxes[np.argsort(area, kind="stable")]

    coords = (score_offset + np.arange(score_size) * total_stride).astype(np.float32)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    x, y = x.reshape(1, -1), y.reshape(1, -1)  # (1, S*S) pixel of each position
    left = x - boxes[:, 0:1]  # (N + 1, S*S)
    top = y - boxes[:, 1:2]
    right = boxes[:, 2:3] - x
    bottom = boxes[:, 3:4] - y
    centerness = (np.minimum(left, right) * np.minimum(top, bottom)
                  / (np.maximum(left, right) * np.maximum(top, bottom) + np.float32(_EPS)))
    centerness = np.sqrt(np.abs(centerness))
    # matches video_analyst (quirk Q11): inside is strict on all four sides, so positions on an edge are outside
    inside = (left > 0) & (top > 0) & (right > 0) & (bottom > 0)
    is_dummy = boxes[:, 4] == 0
    inside[is_dummy] = False
    centerness[is_dummy] = 0.0
    chosen = np.argmax(inside, axis=0)  # the first (smallest) containing box; the dummy (0) when none
    positions = np.arange(score_size * score_size)
    cls = boxes[chosen, 4].reshape(-1, 1)
    ctr = centerness[chosen, positions].reshape(-1, 1)
    box = boxes[chosen, :4]
    return (torch.from_numpy(np.ascontiguousarray(cls, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(ctr, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(box, dtype=np.float32)))


class DenseboxTarget:
    """Labels a cropped training pair for the DenseboxHead (classification, centerness and box targets).

    The score-map side and offset are derived from the sizes; matches video_analyst (quirk Q10), which
    recomputes them and ignores configured values (the config loader checks that they agree with the head).

    Args:
        z_size: template crop side.
        x_size: search crop side.
        total_stride: backbone stride.
        num_conv3x3: 3x3 convolutions per head tower.
    """

    def __init__(self, z_size: int = 127, x_size: int = 303, total_stride: int = 8, num_conv3x3: int = 3):
        self.z_size = z_size
        self.x_size = x_size
        self.total_stride = total_stride
        self.num_conv3x3 = num_conv3x3
        self.score_size = densebox_score_size(x_size, z_size, total_stride, num_conv3x3)
        self.score_offset = densebox_score_offset(x_size, self.score_size, total_stride)
        if self.score_size <= 0:
            raise ConfigError(f"DenseboxTarget: x_size {x_size}, z_size {z_size}, total_stride {total_stride} and "
                              f"num_conv3x3 {num_conv3x3} give a score map of side {self.score_size}; expected a "
                              f"search crop large enough for a score map of side >= 1.")

    def targets(self, bbox_x: np.ndarray | torch.Tensor, is_negative_pair: bool
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """cls_gt (S*S, 1), ctr_gt (S*S, 1), box_gt (S*S, 4) for the search box (x0, y0, x1, y1) of one pair.

        For a negative pair the positions inside the box are negatives (0) and all others ignored (-1).
        """
        cls, ctr, box = make_densebox_target(np.asarray(bbox_x, dtype=np.float32).reshape(1, 4), self.score_size,
                                             self.score_offset, self.total_stride)
        if is_negative_pair:
            # matches video_analyst (quirk Q1): only cls is relabelled; ctr and box keep the (unrelated) box's
            # values, so the centerness loss still trains on the in-box positions of negative pairs
            cls[cls == 0] = -1
            cls[cls == 1] = 0
        return cls, ctr, box

    def __call__(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        """Label a cropped pair in video_analyst's sample layout.

        Args:
            sample: {"data1": {"image": template crop (z, z, 3) uint8 HWC, "anno": xyxy}, "data2": {"image":
                search crop (x, x, 3), "anno": xyxy}, "is_negative_pair": bool}.

        Returns:
            {im_z, im_x: CHW uint8 arrays; bbox_z, bbox_x; cls_gt, ctr_gt, box_gt; is_negative_pair: 0 / 1}.
        """
        data_z, data_x = sample["data1"], sample["data2"]
        negative = bool(sample["is_negative_pair"])
        cls, ctr, box = self.targets(data_x["anno"], negative)
        return {
            "im_z": np.ascontiguousarray(np.asarray(data_z["image"]).transpose(2, 0, 1)),
            "im_x": np.ascontiguousarray(np.asarray(data_x["image"]).transpose(2, 0, 1)),
            "bbox_z": np.asarray(data_z["anno"], dtype=np.float32),
            "bbox_x": np.asarray(data_x["anno"], dtype=np.float32),
            "cls_gt": cls,
            "ctr_gt": ctr,
            "box_gt": box,
            "is_negative_pair": int(negative),
        }
