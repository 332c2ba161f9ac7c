"""Box-adaptive heads of SiamBAN: per-point classification and box-side distances (spec 3.8).

SiamBAN (https://arxiv.org/abs/2003.06761) predicts at each point of the 25x25 map a (background,
foreground) pair and the distances (left, top, right, bottom) to the box sides, without anchors.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from lib.models.siamese.rpn_head import DepthwiseXCorr, MultiLevelHead, UPChannelHead

__all__ = ["UPChannelBAN", "DepthwiseBAN", "MultiBAN"]


class UPChannelBAN(UPChannelHead):
    """Up-channel BAN head: cls (B, cls_out_channels, h, w) and raw loc (B, 4, h, w).

    Args:
        feature_in: channels of the input features.
        cls_out_channels: classification channels (2).
    """

    def __init__(self, feature_in: int = 256, cls_out_channels: int = 2):
        super().__init__(feature_in, cls_out_channels, 4)


class DepthwiseBAN(nn.Module):
    """Depthwise-correlation BAN head for one level (raw loc, no exp).

    Args:
        in_channels: channels of the input features.
        out_channels: hidden channels of the correlation.
        cls_out_channels: classification channels (2).
        weighted: accepted for configuration compatibility with SiamBAN; unused.
    """

    def __init__(self, in_channels: int = 256, out_channels: int = 256, cls_out_channels: int = 2,
                 weighted: bool = False):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, cls_out_channels)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Template and search features -> cls (B, cls_out_channels, h, w), raw loc (B, 4, h, w)."""
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiBAN(MultiLevelHead):
    """One :class:`DepthwiseBAN` per level (``box2``, ``box3``, ...), exp-scaled loc, fused by level weights.

    Outputs fused cls (B, 2, h, w) and loc (B, 4, h, w) distances in search pixels; :meth:`forward_levels`
    gives each level's raw loc before ``exp``.

    Args:
        in_channels: channels per level.
        cls_out_channels: classification channels (2).
        weighted: learn softmax fusion weights ``cls_weight`` / ``loc_weight`` (else a plain mean).
    """

    def __init__(self, in_channels: Sequence[int] = (256, 256, 256), cls_out_channels: int = 2,
                 weighted: bool = False):
        super().__init__(in_channels, lambda channels: DepthwiseBAN(channels, channels, cls_out_channels), weighted,
                         level_prefix="box", config_key="BAN.KWARGS.in_channels")
        # registered after cls_weight / loc_weight: the state-dict order of the released files
        self.loc_scale = nn.Parameter(torch.ones(len(self.level_names)))

    def level_loc(self, index: int, loc: torch.Tensor) -> torch.Tensor:
        """Raw loc of level ``index`` -> its distances in search pixels."""
        # matches SiamBAN (quirk 6): each level's distances are exp(raw * loc_scale[i]) before the fusion
        return torch.exp(loc * self.loc_scale[index])
