"""AlexNet with BatchNorm and no padding, in PySOT's two key namings (spec 3.3).

Both classes compute the same function; they differ only in module names (quirk 7): ``AlexNetLegacy``
keeps one ``features`` Sequential (keys ``features.0 ... features.15``, the naming of the released
``siamrpn_alex_dwxcorr`` model), ``AlexNet`` splits it into ``layer1`` .. ``layer5`` (the naming of the
``_16gpu`` training config and its ``alexnet-bn.pth`` pretrained weights).
"""

from __future__ import annotations

import torch
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["ALEXNET_CHANNELS", "AlexNetLegacy", "AlexNet", "alexnetlegacy", "alexnet"]

# Input then the five conv widths; every width except the 3 input channels scales with width_mult.
ALEXNET_CHANNELS = (3, 96, 256, 384, 384, 256)


def _channels(width_mult: float) -> list[int]:
    if not width_mult > 0:
        raise ConfigError(f"AlexNet width_mult {width_mult!r} is invalid (BACKBONE.KWARGS.width_mult): expected a "
                          f"positive number such as 1.0.")
    # matches PySOT: widths truncated with int(), the RGB input is never scaled
    return [c if c == 3 else int(c * width_mult) for c in ALEXNET_CHANNELS]


def _stages(channels: list[int]) -> list[list[nn.Module]]:
    """The five stages; BN comes before max-pool and ReLU in the first two, the last has no ReLU."""
    c = channels
    return [
        [nn.Conv2d(c[0], c[1], kernel_size=11, stride=2), nn.BatchNorm2d(c[1]),
         nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[1], c[2], kernel_size=5), nn.BatchNorm2d(c[2]),
         nn.MaxPool2d(kernel_size=3, stride=2), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[2], c[3], kernel_size=3), nn.BatchNorm2d(c[3]), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[3], c[4], kernel_size=3), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True)],
        [nn.Conv2d(c[4], c[5], kernel_size=3), nn.BatchNorm2d(c[5])],
    ]


class AlexNetLegacy(nn.Module):
    """AlexNet-BN as one ``features`` Sequential (127 -> 6x6, 255 -> 22x22, 287 -> 26x26 maps).

    Args:
        width_mult: multiplier of every conv width (truncated to int).
    """

    def __init__(self, width_mult: float = 1.0):
        super().__init__()
        channels = _channels(width_mult)
        self.features = nn.Sequential(*[m for stage in _stages(channels) for m in stage])
        self.feature_size = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) raw pixels -> (B, 256 * width_mult, H', W')."""
        return self.features(x)


class AlexNet(nn.Module):
    """AlexNet-BN with one Sequential per stage (``layer1`` .. ``layer5``), same function as the legacy naming.

    Args:
        width_mult: multiplier of every conv width (truncated to int).
    """

    def __init__(self, width_mult: float = 1.0):
        super().__init__()
        channels = _channels(width_mult)
        for i, stage in enumerate(_stages(channels), start=1):
            self.add_module(f"layer{i}", nn.Sequential(*stage))
        self.feature_size = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) raw pixels -> (B, 256 * width_mult, H', W')."""
        for i in range(1, 6):
            x = getattr(self, f"layer{i}")(x)
        return x


def alexnetlegacy(width_mult: float = 1.0) -> AlexNetLegacy:
    """AlexNet-BN with the legacy ``features.N`` key names (released ``siamrpn_alex_dwxcorr`` model)."""
    return AlexNetLegacy(width_mult=width_mult)


def alexnet(width_mult: float = 1.0) -> AlexNet:
    """AlexNet-BN with the ``layerN`` key names (``siamrpn_alex_dwxcorr_16gpu``)."""
    return AlexNet(width_mult=width_mult)
