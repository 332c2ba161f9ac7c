"""Region-proposal heads of SiamRPN / SiamRPN++: correlation of template and search features (spec 3.7).

``cls`` has ``2 * anchor_num`` channels in the (2, A) layout (background logits of all anchors first) and
``loc`` ``4 * anchor_num`` channels in the (4, A) layout (quirk 5); the released weights depend on both.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lib.models.layers.xcorr import xcorr_depthwise, xcorr_fast
from lib.utils.errors import ConfigError

__all__ = ["DepthwiseXCorr", "UPChannelHead", "UPChannelRPN", "DepthwiseRPN", "MultiLevelHead", "MultiRPN",
           "fuse_levels"]


def fuse_levels(values: Sequence[torch.Tensor], weight: torch.Tensor | None) -> torch.Tensor:
    """Fuse per-level maps: softmax-weighted sum, or the plain mean when ``weight`` is None.

    matches PySOT (quirk 4): the weights are the softmax of a learnable vector, and both sums run in level
    order starting from 0 (the order fixes the last bits of the result).
    """
    if weight is None:
        return sum(values) / len(values)
    normalised = F.softmax(weight, 0)
    fused = 0
    for i, value in enumerate(values):
        fused = fused + value * normalised[i]
    return fused


class DepthwiseXCorr(nn.Module):
    """Conv both branches, depthwise-correlate them, then a 1x1 conv head.

    Args:
        in_channels: channels of the neck features.
        hidden: channels of the branch convs and of the correlation.
        out_channels: channels of the output (2A for cls, 4A for loc).
        kernel_size: side of the branch convs (3: 7x7 template -> 5x5 kernel, 31x31 search -> 29x29).
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv_kernel = nn.Sequential(nn.Conv2d(in_channels, hidden, kernel_size=kernel_size, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.conv_search = nn.Sequential(nn.Conv2d(in_channels, hidden, kernel_size=kernel_size, bias=False),
                                         nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, kernel_size=1, bias=False), nn.BatchNorm2d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, kernel_size=1))

    def forward(self, kernel: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Template (B, C, 7, 7) and search (B, C, 31, 31) features -> (B, out_channels, 25, 25)."""
        kernel = self.conv_kernel(kernel)  # (B, hidden, 5, 5)
        search = self.conv_search(search)  # (B, hidden, 29, 29)
        return self.head(xcorr_depthwise(search, kernel))


class UPChannelHead(nn.Module):
    """Up-channel correlation (SiamRPN): the template conv produces the correlation kernels of every output channel.

    The shared part of :class:`UPChannelRPN` and SiamBAN's ``UPChannelBAN``.

    Args:
        feature_in: channels of the input features.
        cls_output: classification output channels.
        loc_output: regression output channels.
    """

    def __init__(self, feature_in: int, cls_output: int, loc_output: int):
        super().__init__()
        self.template_cls_conv = nn.Conv2d(feature_in, feature_in * cls_output, kernel_size=3)
        self.template_loc_conv = nn.Conv2d(feature_in, feature_in * loc_output, kernel_size=3)
        self.search_cls_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.search_loc_conv = nn.Conv2d(feature_in, feature_in, kernel_size=3)
        self.loc_adjust = nn.Conv2d(loc_output, loc_output, kernel_size=1)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Template and search features -> cls (B, cls_output, h, w), loc (B, loc_output, h, w)."""
        cls_kernel = self.template_cls_conv(z_f)  # (B, C * cls_output, hz, wz)
        loc_kernel = self.template_loc_conv(z_f)  # (B, C * loc_output, hz, wz)
        cls = xcorr_fast(self.search_cls_conv(x_f), cls_kernel)
        loc = self.loc_adjust(xcorr_fast(self.search_loc_conv(x_f), loc_kernel))
        return cls, loc


class UPChannelRPN(UPChannelHead):
    """SiamRPN's up-channel head: cls (B, 2A, h, w) and loc (B, 4A, h, w).

    Args:
        anchor_num: anchors per position A.
        feature_in: channels of the input features.
    """

    def __init__(self, anchor_num: int = 5, feature_in: int = 256):
        super().__init__(feature_in, 2 * anchor_num, 4 * anchor_num)


class DepthwiseRPN(nn.Module):
    """SiamRPN++'s depthwise head: one :class:`DepthwiseXCorr` for cls, one for loc.

    Args:
        anchor_num: anchors per position A.
        in_channels: channels of the input features.
        out_channels: hidden channels of the correlation.
    """

    def __init__(self, anchor_num: int = 5, in_channels: int = 256, out_channels: int = 256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4 * anchor_num)

    def forward(self, z_f: torch.Tensor, x_f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Template and search features -> cls (B, 2A, h, w), loc (B, 4A, h, w)."""
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiLevelHead(nn.Module):
    """One single-level head per backbone level (``<prefix>2``, ``<prefix>3``, ...), fused by :func:`fuse_levels`.

    The shared part of :class:`MultiRPN` and SiamBAN's ``MultiBAN``: subclasses build the level heads and
    may transform each level's loc before the fusion (:meth:`level_loc`).

    Args:
        in_channels: channels per level.
        make_level: builds the head of a level from its channel count.
        weighted: learn softmax fusion weights ``cls_weight`` / ``loc_weight`` (else a plain mean).
        level_prefix: module name of a level without its number ("rpn", "box"), as in the released state dicts.
        config_key: config entry of ``in_channels``, for the error message.
    """

    def __init__(self, in_channels: Sequence[int], make_level: Callable[[int], nn.Module], weighted: bool,
                 level_prefix: str, config_key: str):
        super().__init__()
        in_channels = list(in_channels)
        if not in_channels:
            raise ConfigError(f"{type(self).__name__} in_channels is empty ({config_key}): expected one channel "
                              f"count per backbone level such as [256, 256, 256].")
        self.level_names = [f"{level_prefix}{i + 2}" for i in range(len(in_channels))]
        for name, channels in zip(self.level_names, in_channels):
            self.add_module(name, make_level(channels))
        self.weighted = weighted
        if weighted:
            # a module's own parameters precede its children in the state dict, as in the released files
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))

    def forward_levels(self, z_fs: Sequence[torch.Tensor],
                       x_fs: Sequence[torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per-level (cls, loc) before fusion and before :meth:`level_loc`, keyed by level name."""
        if isinstance(z_fs, torch.Tensor):  # one level given as a tensor (a single-output backbone, e.g. AlexNet)
            z_fs = [z_fs]
        if isinstance(x_fs, torch.Tensor):
            x_fs = [x_fs]
        if len(z_fs) != len(self.level_names) or len(x_fs) != len(self.level_names):
            raise ValueError(f"{type(self).__name__} has {len(self.level_names)} levels but got {len(z_fs)} "
                             f"template and {len(x_fs)} search feature maps")
        return {name: getattr(self, name)(z_f, x_f) for name, z_f, x_f in zip(self.level_names, z_fs, x_fs)}

    def level_loc(self, index: int, loc: torch.Tensor) -> torch.Tensor:
        """The loc of level ``index`` as it enters the fusion (unchanged here)."""
        return loc

    def fuse(self, levels: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-level outputs of :meth:`forward_levels` -> fused (cls, loc)."""
        outputs = [levels[name] for name in self.level_names]
        cls = fuse_levels([c for c, _ in outputs], self.cls_weight if self.weighted else None)
        loc = fuse_levels([self.level_loc(i, raw) for i, (_, raw) in enumerate(outputs)],
                          self.loc_weight if self.weighted else None)
        return cls, loc

    def forward(self, z_fs: Sequence[torch.Tensor], x_fs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Lists of template / search features -> fused (cls, loc)."""
        return self.fuse(self.forward_levels(z_fs, x_fs))


class MultiRPN(MultiLevelHead):
    """One :class:`DepthwiseRPN` per backbone level (``rpn2``, ``rpn3``, ...), fused by :func:`fuse_levels`.

    Outputs fused cls (B, 2A, h, w) and loc (B, 4A, h, w).

    Args:
        anchor_num: anchors per position A.
        in_channels: channels per level.
        weighted: learn softmax fusion weights ``cls_weight`` / ``loc_weight`` (else a plain mean).
    """

    def __init__(self, anchor_num: int = 5, in_channels: Sequence[int] = (256, 256, 256), weighted: bool = False):
        super().__init__(in_channels, lambda channels: DepthwiseRPN(anchor_num, channels, channels), weighted,
                         level_prefix="rpn", config_key="RPN.KWARGS.in_channels")
