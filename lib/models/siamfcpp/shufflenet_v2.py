"""The ShuffleNetV2 backbones of SiamFC++ (video_analyst's ``ShuffleNetV2_x1_0`` / ``_x0_5``), spec 4.5.

Only the stem and stage2 reduce resolution (total stride 8): the first blocks of stage3 and stage4 keep the
two-branch downsampling structure but run their depthwise convolutions with stride 1. The three stage outputs
are concatenated, cropped at the border and reduced to 256 channels. Spatial sizes: 127 -> 64 -> 32 -> 16 ->
crop 4 -> 8 and 303 -> 152 -> 76 -> 38 -> 30. The layers live in the child ``_model`` so the state-dict keys
start with ``basemodel._model.`` as in video_analyst.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["ShuffleNetV2", "InvertedResidual", "channel_shuffle", "shufflenet_v2_x1_0", "shufflenet_v2_x0_5"]

_MEAN_RGB = (0.485, 0.456, 0.406)
_STD_RGB = (0.229, 0.224, 0.225)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: (B, g*C', H, W) -> (B, C'*g, H, W)."""
    b, c, h, w = x.shape
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, c, h, w)


def _depthwise(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """ShuffleNetV2 unit: a two-branch downsampling unit, or a split / transform / concatenate unit.

    Args:
        inp: input channels.
        oup: output channels (each branch gives oup / 2).
        downsample: build the two-branch unit (the original's ``stride > 1``).
        stride: stride of the depthwise convolutions; 1 with ``downsample`` is the original's ``false_stride``
            (the first unit of stage3 and stage4 keeps its structure but not its resolution drop).
    """

    def __init__(self, inp: int, oup: int, downsample: bool, stride: int):
        super().__init__()
        branch = oup // 2
        self.downsample = downsample
        if downsample:
            self.branch1 = nn.Sequential(
                _depthwise(inp, stride), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True))
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if downsample else branch, branch, 1, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            _depthwise(branch, stride), nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False), nn.BatchNorm2d(branch), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        else:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)


class _ShuffleNetV2Layers(nn.Module):
    """The layers of :class:`ShuffleNetV2` (the original's ``_model`` child)."""

    def __init__(self, stage_channels: Sequence[int], stage_repeats: Sequence[int], out_channels: int):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, stage_channels[0], 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(stage_channels[0]), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inp = stage_channels[0]
        for index, (repeats, oup) in enumerate(zip(stage_repeats, stage_channels[1:4])):
            stride = 2 if index == 0 else 1  # stage3 / stage4: downsampling structure with stride 1
            units = [InvertedResidual(inp, oup, downsample=True, stride=stride)]
            units += [InvertedResidual(oup, oup, downsample=False, stride=1) for _ in range(repeats - 1)]
            setattr(self, f"stage{index + 2}", nn.Sequential(*units))
            inp = oup
        fused = sum(stage_channels[1:4])
        # matches video_analyst: no bias, BatchNorm and ReLU (Inception3's reduction has a bias and no ReLU)
        self.channel_reduce = nn.Sequential(nn.Conv2d(fused, out_channels, 1, bias=False),
                                            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 trunk with fused stage outputs, border crop and a 1x1 reduction (stride 8).

    Args:
        stage_channels: channels of the stem and of stage2..4 (then conv5's, unused): x1.0 is
            [24, 116, 232, 464, 1024], x0.5 is [24, 48, 96, 192, 1024].
        stage_repeats: units per stage ([4, 8, 4]).
        crop_pad: pixels cropped from every border of the fused map.
        head_width: output channels of ``channel_reduce``.
    """

    total_stride = 8

    def __init__(self, stage_channels: Sequence[int] = (24, 116, 232, 464, 1024),
                 stage_repeats: Sequence[int] = (4, 8, 4), crop_pad: int = 4, head_width: int = 256):
        super().__init__()
        self.crop_pad = crop_pad
        self.out_channels = head_width
        self._model = _ShuffleNetV2Layers(stage_channels, stage_repeats, head_width)
        self.register_buffer("mean_rgb", torch.tensor(_MEAN_RGB).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std_rgb", torch.tensor(_STD_RGB).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) BGR 0..255 -> (B, head_width, (H - 127) / 8 + 8, ...)."""
        m = self._model
        # matches video_analyst (quirk Q23): /255, BGR -> RGB, ImageNet mean / std
        x = ((x / 255.0).flip(1) - self.mean_rgb) / self.std_rgb
        x = m.maxpool(m.conv1(x))
        f2 = m.stage2(x)
        f3 = m.stage3(f2)
        f4 = m.stage4(f3)
        x = torch.cat((f2, f3, f4), dim=1)  # (B, 812, 16, 16) for x1.0 and a 127 template
        if self.crop_pad > 0:
            p = self.crop_pad
            x = x[:, :, p:-p, p:-p]
        return m.channel_reduce(x)


def shufflenet_v2_x1_0(crop_pad: int = 4, head_width: int = 256) -> ShuffleNetV2:
    """ShuffleNetV2 x1.0 (stage channels 116 / 232 / 464)."""
    return ShuffleNetV2((24, 116, 232, 464, 1024), (4, 8, 4), crop_pad=crop_pad, head_width=head_width)


def shufflenet_v2_x0_5(crop_pad: int = 4, head_width: int = 256) -> ShuffleNetV2:
    """ShuffleNetV2 x0.5 (stage channels 48 / 96 / 192)."""
    return ShuffleNetV2((24, 48, 96, 192, 1024), (4, 8, 4), crop_pad=crop_pad, head_width=head_width)
