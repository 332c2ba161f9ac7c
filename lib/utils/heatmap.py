"""Ground-truth centre heatmaps: a Gaussian at the box centre on the search feature grid (spec 4.4).

The radius is CornerNet's ``gaussian_radius`` with the original's known arithmetic slip (each root divided by
2 instead of 2a), kept for training parity. Law & Deng, "CornerNet", ECCV 2018; Zhou et al., "Objects as
Points", 2019.
"""

from __future__ import annotations

import torch

__all__ = ["generate_heatmap", "gaussian_radius", "center_heatmap"]

MIN_OVERLAP = 0.7


def gaussian_radius(wh: torch.Tensor, min_overlap: float = MIN_OVERLAP) -> torch.Tensor:
    """Gaussian radius per box, truncated to int (the original's rule, min of three quadratic "roots").

    Args:
        wh: (N, 2) box width and height in feature cells.
        min_overlap: CornerNet's minimum IoU (0.7).

    Returns:
        (N,) int64 radii >= 0.
    """
    w, h = wh[:, 0], wh[:, 1]
    m = min_overlap
    b1 = h + w
    c1 = w * h * (1 - m) / (1 + m)
    r1 = (b1 + torch.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - m) * w * h
    r2 = (b2 + torch.sqrt(b2 ** 2 - 4 * 4 * c2)) / 2
    b3 = -2 * m * (h + w)
    c3 = (m - 1) * w * h
    r3 = (b3 + torch.sqrt(b3 ** 2 - 4 * (4 * m) * c3)) / 2
    # matches OSTrack: every root is divided by 2 (not 2a), then clamped at 0 and truncated.
    return torch.clamp_min(torch.min(r1, torch.min(r2, r3)), 0).to(torch.int64)


def center_heatmap(boxes_xywh_norm: torch.Tensor, feat_sz: int) -> torch.Tensor:
    """One Gaussian map per box.

    Args:
        boxes_xywh_norm: (B, 4) boxes normalised by the crop side.
        feat_sz: map side fs.

    Returns:
        (B, fs, fs) float32 maps on the boxes' device; the peak (1.0) is at the rounded box centre.
    """
    boxes = boxes_xywh_norm.detach().float().cpu() * feat_sz  # feature-cell units
    wh = boxes[:, 2:]
    # torch.round: half to even, as the original.
    centers = (boxes[:, :2] + wh / 2).round().to(torch.int64)  # (B, 2) x, y
    radius = gaussian_radius(wh)  # (B,)
    sigma = (2 * radius + 1).double() / 6  # (B,)
    grid = torch.arange(feat_sz, dtype=torch.int64)
    dx = grid[None, None, :] - centers[:, 0, None, None]  # (B, 1, fs)
    dy = grid[None, :, None] - centers[:, 1, None, None]  # (B, fs, 1)
    r = radius[:, None, None]
    inside = (dx.abs() <= r) & (dy.abs() <= r)  # (B, fs, fs): the (2r+1)^2 window, clipped at the borders
    gauss = torch.exp(-(dx * dx + dy * dy).double() / (2 * sigma[:, None, None] ** 2))  # float64 as numpy
    # matches OSTrack: values below eps * max (max = 1 at the centre) are zeroed.
    gauss = torch.where(gauss < torch.finfo(torch.float64).eps, torch.zeros_like(gauss), gauss)
    heat = torch.where(inside, gauss, torch.zeros_like(gauss)).float()
    return heat.to(boxes_xywh_norm.device)


def generate_heatmap(boxes_xywh_norm: torch.Tensor, search_size: int, stride: int
                     ) -> torch.Tensor | list[torch.Tensor]:
    """Ground-truth centre heatmaps for the focal loss (the original's ``generate_heatmap``).

    Args:
        boxes_xywh_norm: search boxes, normalised xywh in search-crop coordinates: (B, 4), or
            (num_frames, B, 4) as the actor's ``search_anno``.
        search_size: search crop side in pixels (DATA.SEARCH.SIZE).
        stride: feature stride (MODEL.BACKBONE.STRIDE); fs = search_size // stride.

    Returns:
        For (B, 4) input: (B, 1, fs, fs), ready for the loss. For (num_frames, B, 4) input: a list with one
        (B, fs, fs) map per frame, as the original (the actor uses ``maps[-1].unsqueeze(1)``).
    """
    feat_sz = search_size // stride
    if boxes_xywh_norm.dim() == 2:
        return center_heatmap(boxes_xywh_norm, feat_sz).unsqueeze(1)
    if boxes_xywh_norm.dim() == 3:
        return [center_heatmap(frame_boxes, feat_sz) for frame_boxes in boxes_xywh_norm]
    raise ValueError(f"expected boxes of shape (B, 4) or (F, B, 4), got {tuple(boxes_xywh_norm.shape)}")
