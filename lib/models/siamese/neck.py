"""The adjust neck: 1x1 conv + BN per backbone level, and the centre crop of template features (spec 3.5).

SiamRPN++ crops the 15x15 template feature map to its central 7x7 so that the correlation kernel covers
the object, not its context; the search map (31x31) is left as is.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["AdjustLayer", "AdjustAllLayer", "CROP_TRIGGER_WIDTH", "SIAMBAN_CROP_START"]

# matches PySOT: only feature maps narrower than this are cropped (the template's 15, not the search's 31)
CROP_TRIGGER_WIDTH = 20
# matches SiamBAN: its neck crops the fixed window [4:11] (the centred window of a 15x15 map)
SIAMBAN_CROP_START = 4


class AdjustLayer(nn.Module):
    """1x1 conv (no bias) + BN, then the centre crop of narrow (template) maps.

    Args:
        in_channels: backbone channels of this level.
        out_channels: channels after the 1x1 conv.
        center_size: side of the crop.
        crop_start: None crops the centred window, ``l = (width - center_size) // 2`` (PySOT); an int crops
            ``[crop_start, crop_start + center_size)`` whatever the width (SiamBAN uses 4, i.e. ``[4:11]``).
    """

    def __init__(self, in_channels: int, out_channels: int, center_size: int = 7, crop_start: int | None = None):
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
                                        nn.BatchNorm2d(out_channels))
        self.center_size = center_size
        self.crop_start = crop_start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, H, W), or (B, C_out, 7, 7) when W < 20."""
        x = self.downsample(x)
        width = x.size(3)
        if width < CROP_TRIGGER_WIDTH:
            # matches PySOT: triggered by the width alone and the same window on both axes (quirk 3)
            left = (width - self.center_size) // 2 if self.crop_start is None else self.crop_start
            right = left + self.center_size
            x = x[:, :, left:right, left:right]
        return x


class AdjustAllLayer(nn.Module):
    """One :class:`AdjustLayer` per backbone level.

    With one level the child is ``downsample`` and the forward takes a tensor; with several they are
    ``downsample2``, ``downsample3``, ... (the level index + 2, as the state-dict keys of the released
    models name them) and the forward maps a list to a list.

    Args:
        in_channels: backbone channels per level.
        out_channels: output channels per level.
        center_size: side of the template crop.
        crop_start: see :class:`AdjustLayer` (None for PySOT, 4 for SiamBAN).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int], center_size: int = 7,
                 crop_start: int | None = None):
        super().__init__()
        in_channels, out_channels = list(in_channels), list(out_channels)
        if not out_channels or len(in_channels) != len(out_channels):
            raise ConfigError(f"AdjustAllLayer needs one output width per input level (ADJUST.KWARGS): got "
                              f"in_channels {in_channels} and out_channels {out_channels}; expected two "
                              f"non-empty lists of the same length such as [512, 1024, 2048] and [256, 256, 256].")
        self.num = len(out_channels)
        if self.num == 1:
            self.downsample = AdjustLayer(in_channels[0], out_channels[0], center_size, crop_start)
        else:
            for i in range(self.num):
                self.add_module(f"downsample{i + 2}",
                                AdjustLayer(in_channels[i], out_channels[i], center_size, crop_start))

    def forward(self, features: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        """A tensor (one level) or a list of per-level maps -> the adjusted map(s)."""
        if self.num == 1:
            return self.downsample(features)
        if isinstance(features, torch.Tensor) or len(features) != self.num:
            got = "one tensor" if isinstance(features, torch.Tensor) else f"{len(features)} maps"
            raise ValueError(f"AdjustAllLayer expects a list of {self.num} feature maps (one per backbone level), "
                             f"got {got}; the backbone's used_layers and ADJUST.KWARGS must list the same levels")
        return [getattr(self, f"downsample{i + 2}")(f) for i, f in enumerate(features)]
