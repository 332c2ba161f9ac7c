"""Candidate-elimination helpers: the template mask and the keep-rate schedule (spec 3.6, 4.3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["generate_mask_cond", "adjust_keep_rate", "TEMPLATE_RANGES"]

TEMPLATE_RANGES = ("ALL", "CTR_POINT", "CTR_REC", "GT_BOX")


def _center_slice(feat_sz: int, width: int) -> slice:
    # matches OSTrack: the centre cell is (fz - 1) // 2 (3 for fz 7 and 8, 5 for 12, 6 for 14); the
    # original had a table for these four sizes only, this rule gives the same cells and any other size.
    start = (feat_sz - 1) // 2
    return slice(start, start + width)


def generate_mask_cond(template_range: str, batch_size: int, template_size: int, stride: int,
                       device: torch.device | str = "cpu",
                       template_box_norm: torch.Tensor | None = None) -> torch.Tensor | None:
    """The template tokens whose attention ranks search tokens in candidate elimination.

    Args:
        template_range: MODEL.BACKBONE.CE_TEMPLATE_RANGE: "ALL" (None: every template token), "CTR_POINT"
            (the centre token), "CTR_REC" (the central 2x2 tokens for even grids, 1 token for odd) or
            "GT_BOX" (the tokens whose cell centre lies in the target box).
        batch_size: B.
        template_size: template crop side in pixels (DATA.TEMPLATE.SIZE).
        stride: feature stride (MODEL.BACKBONE.STRIDE).
        device: where the mask lives.
        template_box_norm: (B, 4) target boxes in the template crop, normalised xywh (needed for GT_BOX).

    Returns:
        (B, fz*fz) bool mask, raster order, or None for "ALL".
    """
    fz = template_size // stride
    if template_range == "ALL":
        return None
    if template_range in ("CTR_POINT", "CTR_REC"):
        width = 1 if template_range == "CTR_POINT" or fz % 2 else 2
        index = _center_slice(fz, width)
        mask = torch.zeros(batch_size, fz, fz, dtype=torch.bool, device=device)
        mask[:, index, index] = True
        return mask.flatten(1)
    if template_range == "GT_BOX":
        if template_box_norm is None:
            raise ValueError("CE_TEMPLATE_RANGE GT_BOX needs the template boxes (template_box_norm)")
        box = template_box_norm.to(device=device, dtype=torch.float32) * template_size  # (B, 4) pixels
        # Pixels covered by the box: [int(x), ceil(x + w)). (The original used int(x + w - 1) as the end,
        # dropping the last covered pixel; spec 8.4 item 22.)
        start = box[:, :2].floor()
        end = (box[:, :2] + box[:, 2:]).ceil()
        pix = torch.arange(template_size, device=device, dtype=torch.float32)
        cols = (pix[None] >= start[:, 0, None]) & (pix[None] < end[:, 0, None])  # (B, T)
        rows = (pix[None] >= start[:, 1, None]) & (pix[None] < end[:, 1, None])  # (B, T)
        pixel_mask = (rows[:, :, None] & cols[:, None, :]).float().unsqueeze(1)  # (B, 1, T, T)
        # matches OSTrack: bilinear downsampling by 1/stride; any positive cell is selected.
        cells = F.interpolate(pixel_mask, scale_factor=1.0 / stride, mode="bilinear", align_corners=False)
        return (cells.flatten(1) > 0)
    raise ValueError(f"unknown CE template range {template_range!r}; known: {', '.join(TEMPLATE_RANGES)}")


def adjust_keep_rate(epoch: int, warmup_epochs: int, total_epochs: int, base_keep_rate: float,
                     max_keep_rate: float = 1.0) -> float:
    """CE keep rate of a (1-based) epoch: 1 before ``warmup_epochs``, then a cosine down to ``base_keep_rate``.

    The actor calls it with warmup_epochs = TRAIN.CE_START_EPOCH and total_epochs = CE_START_EPOCH +
    CE_WARM_EPOCH (spec 4.3): epochs < start (and = start) give 1.0, i.e. no elimination; epochs >= total give
    the base rate.

    Args:
        epoch: current epoch, 1-based.
        warmup_epochs: epoch at which the decrease starts.
        total_epochs: epoch at which the base rate is reached.
        base_keep_rate: final keep rate (CE_KEEP_RATIO of the layer).
        max_keep_rate: rate before the decrease.
    """
    if epoch < warmup_epochs:
        return float(max_keep_rate)
    if epoch >= total_epochs:
        return float(base_keep_rate)
    progress = (epoch - warmup_epochs) / (total_epochs - warmup_epochs)
    return base_keep_rate + (max_keep_rate - base_keep_rate) * (math.cos(progress * math.pi) + 1) * 0.5
