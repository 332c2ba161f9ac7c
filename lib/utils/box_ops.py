"""Box format conversions, element-wise (G)IoU and the GIoU loss (spec 4.6).

Formats: ``xyxy`` (x1, y1, x2, y2), ``xywh`` (x1, y1, w, h), ``cxcywh`` (centre x, centre y, w, h); the last
dimension holds the 4 numbers. Conversions use :func:`torchvision.ops.box_convert`.
"""

from __future__ import annotations

import torch
from torchvision.ops import box_convert

__all__ = [
    "box_cxcywh_to_xyxy", "box_xyxy_to_cxcywh", "box_xywh_to_xyxy", "box_xyxy_to_xywh", "box_cxcywh_to_xywh",
    "box_iou_pairwise", "generalized_box_iou_pairwise", "giou_loss", "clip_box",
]


def box_cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) cxcywh -> xyxy."""
    return box_convert(boxes, "cxcywh", "xyxy")


def box_xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) xyxy -> cxcywh."""
    return box_convert(boxes, "xyxy", "cxcywh")


def box_xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) xywh -> xyxy."""
    return box_convert(boxes, "xywh", "xyxy")


def box_xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) xyxy -> xywh."""
    return box_convert(boxes, "xyxy", "xywh")


def box_cxcywh_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) cxcywh -> xywh."""
    return box_convert(boxes, "cxcywh", "xywh")


def _check_xyxy(boxes: torch.Tensor, name: str) -> None:
    if not bool((boxes[:, 2:] >= boxes[:, :2]).all()):
        raise ValueError(f"{name} must be valid xyxy boxes (x2 >= x1 and y2 >= y1)")


def box_iou_pairwise(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU of boxes1[i] with boxes2[i].

    Args:
        boxes1: (N, 4) xyxy.
        boxes2: (N, 4) xyxy.

    Returns:
        (iou (N,), union (N,)).
    """
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = area1 + area2 - inter
    return inter / union, union


def generalized_box_iou_pairwise(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """GIoU of boxes1[i] with boxes2[i] (Rezatofighi et al., CVPR 2019), as the original (no epsilon).

    Args:
        boxes1: (N, 4) xyxy.
        boxes2: (N, 4) xyxy.

    Returns:
        (giou (N,), iou (N,)).

    Raises:
        ValueError: a box has x2 < x1 or y2 < y1 (the original asserted this).
    """
    _check_xyxy(boxes1, "boxes1")
    _check_xyxy(boxes2, "boxes2")
    iou, union = box_iou_pairwise(boxes1, boxes2)
    lt = torch.min(boxes1[:, :2], boxes2[:, :2])
    rb = torch.max(boxes1[:, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    enclosing = wh[:, 0] * wh[:, 1]
    return iou - (enclosing - union) / enclosing, iou


def giou_loss(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean GIoU loss and the per-box IoU (the original's ``giou_loss``).

    Args:
        boxes1: predicted (N, 4) xyxy.
        boxes2: ground-truth (N, 4) xyxy (the actor clamps them to [0, 1]).

    Returns:
        (mean(1 - giou) scalar, iou (N,)).
    """
    giou, iou = generalized_box_iou_pairwise(boxes1, boxes2)
    return (1 - giou).mean(), iou


def clip_box(box: list[float], H: float, W: float, margin: float = 0) -> list[float]:
    """Clip an xywh box (image pixels) to the image, keeping at least ``margin`` pixels of width/height.

    matches OSTrack: the tracker's post-processing clip (called with margin 10).
    """
    x1, y1, w, h = box
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), W - margin)
    x2 = min(max(margin, x2), W)
    y1 = min(max(0, y1), H - margin)
    y2 = min(max(margin, y2), H)
    w = max(margin, x2 - x1)
    h = max(margin, y2 - y1)
    return [x1, y1, w, h]
