"""The SiamFC++ DenseboxHead (video_analyst's track_head.py), spec 4.6.

Two towers of valid 3x3 convolutions over the classification and regression correlation maps, then three 1x1
outputs: classification and centerness logits (both from the classification tower) and four box offsets
``exp(si * x + bi) * total_stride``, decoded around a fixed grid of search-patch pixels.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from lib.models.siamfcpp.common import ConvBnRelu
from lib.utils.errors import ConfigError

__all__ = ["DenseboxHead", "score_grid", "score_offset"]


def score_offset(x_size: int, score_size: int, total_stride: int) -> int:
    """Search-patch pixel of the first score-map position: (x_size - 1 - (S - 1) * stride) // 2 (87 for 303/17)."""
    return (x_size - 1 - (score_size - 1) * total_stride) // 2


def score_grid(x_size: int, score_size: int, total_stride: int) -> torch.Tensor:
    """The (1, S*S, 2) float32 pixel positions (x, y) of the score map, row-major with x first."""
    offset = score_offset(x_size, score_size, total_stride)
    coords = offset + torch.arange(score_size, dtype=torch.float32) * total_stride
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack((x, y), dim=-1).reshape(1, score_size * score_size, 2)


class DenseboxHead(nn.Module):
    """Classification, centerness and box prediction on the correlation maps.

    Args:
        total_stride: backbone stride; offsets are in units of it.
        score_size: side S of the score map the grid is built for.
        x_size: search-patch side the grid is built for.
        num_conv3x3: 3x3 convolutions per tower (each shrinks the map by 2).
        head_conv_bn: per tower convolution, whether it has a BatchNorm (length ``num_conv3x3``).
        head_width: channels of the correlation maps and the towers.
        conv_weight_std: standard deviation of the original initialisation of every head convolution.
        input_size_adapt: rebuild the grid for the actual map size when a search size is given.
    """

    def __init__(self, total_stride: int = 8, score_size: int = 17, x_size: int = 303, num_conv3x3: int = 3,
                 head_conv_bn: Sequence[bool] = (False, False, True), head_width: int = 256,
                 conv_weight_std: float = 0.0001, input_size_adapt: bool = False):
        super().__init__()
        if len(head_conv_bn) != num_conv3x3:
            raise ConfigError(f"DenseboxHead: head_conv_bn has {len(head_conv_bn)} entries {list(head_conv_bn)}, "
                              f"expected one per tower convolution (num_conv3x3 = {num_conv3x3}).")
        self.total_stride = total_stride
        self.score_size = score_size
        self.x_size = x_size
        self.num_conv3x3 = num_conv3x3
        self.input_size_adapt = input_size_adapt
        self.conv_weight_std = conv_weight_std
        self.score_offset = score_offset(x_size, score_size, total_stride)
        # bi / si come first in the state dict, as in video_analyst
        self.bi = nn.Parameter(torch.tensor(0.0))
        self.si = nn.Parameter(torch.tensor(1.0))
        for i in range(1, num_conv3x3 + 1):
            has_bn = bool(head_conv_bn[i - 1])
            setattr(self, f"cls_p5_conv{i}", ConvBnRelu(head_width, head_width, kernel_size=3, has_bn=has_bn))
            setattr(self, f"bbox_p5_conv{i}", ConvBnRelu(head_width, head_width, kernel_size=3, has_bn=has_bn))
        # matches video_analyst (quirk Q3): each 1x1 output keeps its BatchNorm (1, 1 and 4 channels)
        self.cls_score_p5 = ConvBnRelu(head_width, 1, kernel_size=1, has_relu=False)
        self.ctr_score_p5 = ConvBnRelu(head_width, 1, kernel_size=1, has_relu=False)
        self.bbox_offsets_p5 = ConvBnRelu(head_width, 4, kernel_size=1, has_relu=False)
        # a buffer (not in the state dict) so that it follows the module to its device
        self.register_buffer("fm_ctr", score_grid(x_size, score_size, total_stride), persistent=False)
        self.reset_parameters()

    def _towers(self) -> tuple[list[ConvBnRelu], list[ConvBnRelu]]:
        cls = [getattr(self, f"cls_p5_conv{i}") for i in range(1, self.num_conv3x3 + 1)]
        bbox = [getattr(self, f"bbox_p5_conv{i}") for i in range(1, self.num_conv3x3 + 1)]
        return cls, bbox

    def reset_parameters(self) -> None:
        """The original initialisation: conv weights N(0, conv_weight_std), cls bias for a 0.01 prior."""
        cls_tower, bbox_tower = self._towers()
        for block in [*cls_tower, *bbox_tower, self.cls_score_p5, self.ctr_score_p5, self.bbox_offsets_p5]:
            conv = block.conv
            nn.init.normal_(conv.weight, std=self.conv_weight_std)
            fan_in = conv.weight[0].numel()
            nn.init.uniform_(conv.bias, -1.0 / math.sqrt(fan_in), 1.0 / math.sqrt(fan_in))
        prior = 0.01
        nn.init.constant_(self.cls_score_p5.conv.bias, -math.log((1 - prior) / prior))
        with torch.no_grad():
            self.bi.fill_(0.0)
            self.si.fill_(1.0)

    def forward_raw(self, c_out: torch.Tensor, r_out: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits and offsets before decoding.

        Args:
            c_out: (B, C, H, W) classification correlation.
            r_out: (B, C, H, W) regression correlation.

        Returns:
            cls_score (B, S*S, 1), ctr_score (B, S*S, 1), offsets (B, 4, S, S) in pixels (l, t, r, b), and the
            classification tower output (B, C, S, S).
        """
        cls_tower, bbox_tower = self._towers()
        cls, bbox = c_out, r_out
        for cls_conv, bbox_conv in zip(cls_tower, bbox_tower):
            cls = cls_conv(cls)
            bbox = bbox_conv(bbox)
        batch = cls.shape[0]
        cls_score = self.cls_score_p5(cls).permute(0, 2, 3, 1).reshape(batch, -1, 1)  # (B, S*S, 1)
        # matches video_analyst: centerness hangs off the classification tower, not the regression one
        ctr_score = self.ctr_score_p5(cls).permute(0, 2, 3, 1).reshape(batch, -1, 1)  # (B, S*S, 1)
        offsets = torch.exp(self.si * self.bbox_offsets_p5(bbox) + self.bi) * self.total_stride  # (B, 4, S, S)
        return cls_score, ctr_score, offsets, cls

    def grid(self, map_size: int, x_size: int = 0) -> torch.Tensor:
        """The (1, map_size**2, 2) grid for a score map of side ``map_size``.

        Raises:
            ConfigError: the map is not the configured score_size and input_size_adapt is off (the original
                fails with a broadcasting error there).
        """
        if self.input_size_adapt and x_size > 0:
            return score_grid(x_size, map_size, self.total_stride).to(self.fm_ctr.device)
        if map_size != self.score_size:
            raise ConfigError(
                f"DenseboxHead: the score map is {map_size}x{map_size} but the head's grid was built for "
                f"score_size {self.score_size} (x_size {self.x_size}, {self.num_conv3x3} tower convs). Set "
                f"task_head.DenseboxHead.score_size / x_size to the search size you feed, "
                f"score_size = (x_size - 127) // {self.total_stride} + 1 - 2 * num_conv3x3, or turn on "
                f"input_size_adapt.")
        return self.fm_ctr

    def forward(self, c_out: torch.Tensor, r_out: torch.Tensor, x_size: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoded predictions.

        Args:
            c_out: (B, C, H, W) classification correlation.
            r_out: (B, C, H, W) regression correlation.
            x_size: search-patch side, used for the grid only with input_size_adapt.

        Returns:
            cls_score (B, S*S, 1) logits, ctr_score (B, S*S, 1) logits, box (B, S*S, 4) xyxy in search-patch
            pixels, and the classification tower output (B, C, S, S) (the original's ``corr_fea``).
        """
        cls_score, ctr_score, offsets, cls = self.forward_raw(c_out, r_out)
        batch, _, map_size, _ = offsets.shape
        grid = self.grid(map_size, x_size)  # (1, S*S, 2)
        offsets = offsets.permute(0, 2, 3, 1).reshape(batch, -1, 4)  # (B, S*S, 4) as (l, t, r, b)
        xy = grid.to(offsets.dtype)
        box = torch.cat((xy - offsets[..., :2], xy + offsets[..., 2:]), dim=-1)  # (B, S*S, 4) xyxy
        return cls_score, ctr_score, box, cls
