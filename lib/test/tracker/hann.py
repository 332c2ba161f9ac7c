"""Hann (cosine) windows for the tracker's score-map prior (spec 7.2)."""

from __future__ import annotations

import math

import torch

__all__ = ["hann1d", "hann2d"]


def hann1d(size: int, centered: bool = True) -> torch.Tensor:
    """1D cosine window of length ``size``.

    With ``centered`` (the tracker's case), h[k] = 0.5 * (1 - cos(2*pi*k / (size + 1))) for k = 1..size: a
    symmetric window that is never exactly zero. Otherwise a window peaked at index 0, wrapped around.
    """
    if centered:
        # matches OSTrack: float32 arithmetic in this order, so the windowed peak picks the same cell.
        return 0.5 * (1 - torch.cos((2 * math.pi / (size + 1)) * torch.arange(1, size + 1).float()))
    half = 0.5 * (1 + torch.cos((2 * math.pi / (size + 2)) * torch.arange(0, size // 2 + 1).float()))
    return torch.cat([half, half[1:size - size // 2].flip((0,))])


def hann2d(size: tuple[int, int], centered: bool = True) -> torch.Tensor:
    """2D window as the outer product of two 1D windows; shape (1, 1, size[0], size[1])."""
    return hann1d(size[0], centered).reshape(1, 1, -1, 1) * hann1d(size[1], centered).reshape(1, 1, 1, -1)
