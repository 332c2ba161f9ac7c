"""The conv -> BatchNorm -> ReLU block of SiamFC++ (video_analyst's ``conv_bn_relu``), named for its state dict.

A block called ``X`` contributes ``X.conv.weight``, ``X.conv.bias`` and, with BatchNorm, ``X.bn.*``: the names
of every released video_analyst snapshot. The backbones, the head towers and outputs, and the neck all use it.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBnRelu"]


class ConvBnRelu(nn.Module):
    """A 2-D convolution, optionally followed by BatchNorm2d and ReLU (in that order).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: convolution stride.
        kernel_size: square kernel side (the original's keyword is spelled ``kszie``).
        padding: zero padding on every side; SiamFC++ uses valid convolutions (0) throughout.
        has_bn: append ``bn`` (BatchNorm2d, eps 1e-5, momentum 0.1).
        has_relu: append a ReLU.
        bias: give the convolution a bias (the original keeps it even before BatchNorm).
        groups: convolution groups.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 padding: int = 0, has_bn: bool = True, has_relu: bool = True, bias: bool = True,
                 groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                              bias=bias, groups=groups)
        self.bn = nn.BatchNorm2d(out_channels) if has_bn else None
        self.relu = nn.ReLU() if has_relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x
