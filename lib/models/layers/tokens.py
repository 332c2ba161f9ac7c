"""Template/search token concatenation for the one-stream backbone (spec 3.4)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["combine_tokens", "recover_tokens", "CAT_MODES"]

CAT_MODES = ("direct", "template_central", "partition")


def combine_tokens(template: torch.Tensor, search: torch.Tensor, mode: str = "direct") -> torch.Tensor:
    """Join template (B, Nz, D) and search (B, Nx, D) tokens into one sequence.

    Args:
        template: template tokens, raster order of a square grid.
        search: search tokens, raster order of a square grid.
        mode: "direct" (template first; the shipped configs), "template_central" (template inserted in the
            middle of the search sequence) or "partition" (the template grid split into two halves placed side
            by side, then concatenated before the search).

    Returns:
        (B, N, D) tokens.
    """
    if mode == "direct":
        return torch.cat([template, search], dim=1)
    if mode == "template_central":
        pivot = search.shape[1] // 2
        return torch.cat([search[:, :pivot], template, search[:, pivot:]], dim=1)
    if mode == "partition":
        B, len_t, C = template.shape
        side_t = int(math.sqrt(len_t))
        window = math.ceil(side_t / 2)
        grid = template.view(B, side_t, side_t, C)
        # matches OSTrack: pad the height (at the top) to a multiple of the window.
        pad_top = (window - side_t % window) % window
        grid = F.pad(grid, (0, 0, 0, 0, pad_top, 0))
        grid = grid.view(B, grid.shape[1] // window, window, side_t, C)
        grid = torch.cat([grid[:, 0], grid[:, 1]], dim=2)  # (B, window, 2 * side_t, C)
        return torch.cat([grid.reshape(B, -1, C), search], dim=1)
    raise ValueError(f"unknown token concatenation mode {mode!r}; known: {', '.join(CAT_MODES)}")


def recover_tokens(tokens: torch.Tensor, len_template: int, len_search: int, mode: str = "direct") -> torch.Tensor:
    """Undo :func:`combine_tokens` so that the template comes first (identity for direct and partition)."""
    if mode in ("direct", "partition"):
        return tokens
    if mode == "template_central":
        pivot = len_search // 2
        first = tokens[:, :pivot]
        template = tokens[:, pivot:pivot + len_template]
        second = tokens[:, pivot + len_template:]
        return torch.cat([template, first, second], dim=1)
    raise ValueError(f"unknown token concatenation mode {mode!r}; known: {', '.join(CAT_MODES)}")
