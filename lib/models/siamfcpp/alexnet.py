"""The BatchNorm AlexNet backbone of SiamFC++ (video_analyst's ``AlexNet``, alexnet_bn.py), spec 4.3.

Five valid convolutions, each with bias and BatchNorm, two ceil-mode max-pools; total stride 8.
Spatial sizes: 127 -> 59 -> 29 -> 25 -> 12 -> 10 -> 8 -> 6 and 303 -> 147 -> 73 -> 69 -> 34 -> 32 -> 30 -> 28.
"""

from __future__ import annotations

import torch
from torch import nn

from lib.models.siamfcpp.common import ConvBnRelu
from lib.utils.errors import ConfigError

__all__ = ["AlexNet"]


class AlexNet(nn.Module):
    """AlexNet with BatchNorm and no padding; its input is the raw BGR image in 0..255.

    The network takes no normalisation: matches video_analyst, whose AlexNet sees raw 0..255 BGR pixels
    (quirk Q23; Inception3 and ShuffleNetV2 normalise inside their forward instead).
    """

    total_stride = 8

    def __init__(self, width_mult: float = 1.0) -> None:
        """Args: width_mult: multiplier of every conv width (a framework addition for small models; the
        original is 1.0, i.e. 96, 256, 384, 384, 256 channels; the neck and head then take 256 * width_mult)."""
        super().__init__()
        if not width_mult > 0:
            raise ConfigError(f"model.backbone.AlexNet.width_mult must be positive, got {width_mult!r}.")
        c1, c2, c3, c4, c5 = (int(c * width_mult) for c in (96, 256, 384, 384, 256))
        self.out_channels = c5
        self.conv1 = ConvBnRelu(3, c1, stride=2, kernel_size=11)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = ConvBnRelu(c1, c2, kernel_size=5)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = ConvBnRelu(c2, c3, kernel_size=3)
        self.conv4 = ConvBnRelu(c3, c4, kernel_size=3)
        # matches video_analyst: the last block has no ReLU, its BatchNorm output feeds the neck directly
        self.conv5 = ConvBnRelu(c4, c5, kernel_size=3, has_relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) BGR 0..255 -> (B, 256, (H - 127) / 8 + 6, ...)."""
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        return self.conv5(self.conv4(self.conv3(x)))
