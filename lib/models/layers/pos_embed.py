"""Resizing of position-embedding grids and patch-embedding kernels (spec 3.3)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["resize_pos_grid", "resize_pos_embed_with_prefix", "resize_patch_kernel"]


def resize_pos_grid(pos: torch.Tensor, new_hw: tuple[int, int], old_hw: tuple[int, int] | None = None
                    ) -> torch.Tensor:
    """Bicubically resize a flattened position-embedding grid.

    Args:
        pos: (1, H*W, D) raster-order embeddings without prefix tokens.
        new_hw: target grid (h, w).
        old_hw: source grid; default square.

    Returns:
        (1, h*w, D).
    """
    _, n, dim = pos.shape
    if old_hw is None:
        side = int(math.isqrt(n))
        if side * side != n:
            raise ValueError(f"cannot infer a square grid from {n} positions")
        old_hw = (side, side)
    if tuple(old_hw) == tuple(new_hw):
        return pos.clone()
    grid = pos.transpose(1, 2).reshape(1, dim, *old_hw)
    # matches OSTrack: bicubic, align_corners=False, no antialiasing (finetune_track).
    grid = F.interpolate(grid.float(), size=new_hw, mode="bicubic", align_corners=False).to(pos.dtype)
    return grid.flatten(2).transpose(1, 2)


def resize_pos_embed_with_prefix(pos: torch.Tensor, num_positions: int, num_prefix: int = 1) -> torch.Tensor:
    """Resize a (1, prefix + H*W, D) table with leading class-token slots to (1, num_positions, D)."""
    prefix, grid = pos[:, :num_prefix], pos[:, num_prefix:]
    side = int(math.isqrt(num_positions - num_prefix))
    return torch.cat([prefix, resize_pos_grid(grid, (side, side))], dim=1)


def resize_patch_kernel(weight: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Bicubically resize a patch-embedding conv kernel (D, 3, k, k) to (D, 3, p, p) (original: STRIDE != 16)."""
    if weight.shape[-1] == patch_size and weight.shape[-2] == patch_size:
        return weight
    return F.interpolate(weight.float(), size=(patch_size, patch_size), mode="bicubic",
                         align_corners=False).to(weight.dtype)
