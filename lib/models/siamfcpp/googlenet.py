"""The Inception-v3 (GoogLeNet) backbone of SiamFC++ (video_analyst's ``Inception3``, googlenet.py), spec 4.4.

torchvision's Inception-v3 up to Mixed_6e with torchvision's module names (so its ImageNet checkpoint loads),
with these changes: BatchNorm eps 0.001 after bias-free convolutions, no max-pool after Conv2d_4a_3x3, nothing
after Mixed_6e but a border crop and a 1x1 ``channel_reduce`` to 256 channels. Total stride 8.
Spatial sizes: 127 -> 63 -> 61 -> 61 -> 30 -> 30 -> 28 -> 28 (Mixed_5*) -> 13 (Mixed_6*) -> crop 4 -> 5;
303 -> ... -> 27; 289 -> ... -> 25.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Inception3", "BasicConv2d", "InceptionA", "InceptionB", "InceptionC"]


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 0.001) -> ReLU, with torchvision's child names ``conv`` / ``bn``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int = 1, padding: int | tuple[int, int] = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    """1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg-pool -> 1x1, concatenated (224 + pool_features channels)."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], dim=1)


class InceptionB(nn.Module):
    """Stride-2 reduction: 3x3 | 1x1 -> 3x3 -> 3x3 | max-pool, concatenated (480 + in_channels channels)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        b3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b3dbl, bp], dim=1)


class InceptionC(nn.Module):
    """Factorised 7x7 block: 1x1 | 1x7 / 7x1 | two 7x1 / 1x7 pairs | avg-pool -> 1x1 (768 channels)."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7dbl = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            b7dbl = layer(b7dbl)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b7, b7dbl, bp], dim=1)


class Inception3(nn.Module):
    """Inception-v3 trunk up to Mixed_6e, border crop, 1x1 channel reduction to 256 (the SiamFC++ GoogLeNet).

    Args:
        crop_pad: pixels cropped from every border of the 768-channel map before ``channel_reduce``.
        pruned: stored only (matches video_analyst: the flag exists but the trunk is always the pruned one).
    """

    out_channels = 256
    total_stride = 8

    def __init__(self, crop_pad: int = 4, pruned: bool = True):
        super().__init__()
        self.crop_pad = crop_pad
        self.pruned = pruned
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        # matches video_analyst: a biased 1x1 conv and a BatchNorm (eps 0.001), no ReLU
        self.channel_reduce = nn.Sequential(nn.Conv2d(768, 256, 1), nn.BatchNorm2d(256, eps=0.001))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) BGR 0..255 -> (B, 256, (H - 127) / 8 + 5, ...)."""
        # matches video_analyst (quirk Q23): BGR -> RGB, then (v - 127.5) / 127.5 per channel
        x = (x.flip(1) - 127.5) / 127.5
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        # matches video_analyst: torchvision's max-pool after Conv2d_4a_3x3 is left out ("pruned")
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a,
                      self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
            x = block(x)  # (B, 768, 13, 13) for a 127 template
        if self.crop_pad > 0:
            p = self.crop_pad
            x = x[:, :, p:-p, p:-p]
        return self.channel_reduce(x)
