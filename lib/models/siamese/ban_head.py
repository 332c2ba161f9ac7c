"""Box-adaptive heads of SiamBAN: per-point classification and box-side distances (spec 3.8).

SiamBAN (https://arxiv.org/abs/2003.06761) predicts at each point of the 25x25 map a (background,
foreground) pair and the distances (left, top, right, bottom) to the box sides, without anchors.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from lib.models.layers.xcorr import xcorr_fast
from lib.models.siamese.rpn_head import DepthwiseXCorr, fuse_levels
from lib.utils.errors import ConfigError

__all__ = ["UPChannelBAN", "DepthwiseBAN", "MultiBAN"]


class UPChannelBAN(nn.Module):
    """Up-channel BAN head: the template conv produces the correlation kernels of every output channel.

    Args:
        feature_in: channels of the input features.
        cls_out_channels: classification channels (2).
    """

    def __init__(self, feature_in: int = 256, cls_out_channels: int = 2):
        super().__init__()
        loc_output = 4
        self.template_cls_conv = nn.Conv2d(feature_in, feature_in * cls_out_channels, kernel_size=3)
        self.template_loc_conv = nn.Conv2d(feature_in, feature_in * loc_output, kernel_size=3)
        self.search_cls_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.search_loc_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.loc_adjust = nn.Conv2d(loc_output, loc_output, kernel_size=1)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Template and search features -> cls (B, cls_out_channels, h, w), raw loc (B, 4, h, w)."""
        cls_kernel = self.template_cls_conv(z_f)
        loc_kernel = self.template_loc_conv(z_f)
        cls = xcorr_fast(self.search_cls_conv(x_f), cls_kernel)
        loc = self.loc_adjust(xcorr_fast(self.search_loc_conv(x_f), loc_kernel))
        return cls, loc


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


class MultiBAN(nn.Module):
    """One :class:`DepthwiseBAN` per level (``box2``, ``box3``, ...), exp-scaled loc, fused by level weights.

    Args:
        in_channels: channels per level.
        cls_out_channels: classification channels (2).
        weighted: learn softmax fusion weights ``cls_weight`` / ``loc_weight`` (else a plain mean).
    """

    def __init__(self, in_channels: Sequence[int] = (256, 256, 256), cls_out_channels: int = 2,
                 weighted: bool = False):
        super().__init__()
        in_channels = list(in_channels)
        if not in_channels:
            raise ConfigError("MultiBAN in_channels is empty (BAN.KWARGS.in_channels): expected one channel count "
                              "per backbone level such as [256, 256, 256].")
        self.level_names = [f"box{i + 2}" for i in range(len(in_channels))]
        for name, channels in zip(self.level_names, in_channels):
            self.add_module(name, DepthwiseBAN(channels, channels, cls_out_channels))
        self.weighted = weighted
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))
        self.loc_scale = nn.Parameter(torch.ones(len(in_channels)))

    def forward_levels(self, z_fs: Sequence[torch.Tensor],
                       x_fs: Sequence[torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-level (cls, raw loc) before ``exp`` and fusion, keyed by level name (``box2``, ...)."""
        if isinstance(z_fs, torch.Tensor):  # one level given as a tensor (a single-output backbone, e.g. AlexNet)
            z_fs = [z_fs]
        if isinstance(x_fs, torch.Tensor):
            x_fs = [x_fs]
        if len(z_fs) != len(self.level_names) or len(x_fs) != len(self.level_names):
            raise ValueError(f"MultiBAN has {len(self.level_names)} levels but got {len(z_fs)} template and "
                             f"{len(x_fs)} search feature maps")
        return {name: getattr(self, name)(z_f, x_f) for name, z_f, x_f in zip(self.level_names, z_fs, x_fs)}

    def fuse(self, levels: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-level (cls, raw loc) of :meth:`forward_levels` -> fused cls and loc distances in search pixels."""
        outputs = [levels[name] for name in self.level_names]
        cls = [c for c, _ in outputs]
        # matches SiamBAN (quirk 6): each level's distances are exp(raw * loc_scale[i]) before the fusion
        loc = [torch.exp(raw * self.loc_scale[i]) for i, (_, raw) in enumerate(outputs)]
        return (fuse_levels(cls, self.cls_weight if self.weighted else None),
                fuse_levels(loc, self.loc_weight if self.weighted else None))

    def forward(self, z_fs: Sequence[torch.Tensor], x_fs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Lists of template / search features -> fused cls (B, 2, h, w), loc (B, 4, h, w) in search pixels."""
        return self.fuse(self.forward_levels(z_fs, x_fs))
