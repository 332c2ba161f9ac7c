"""MobileNetV2 with dilated late stages, PySOT's variant (spec 3.4).

Differs from torchvision's MobileNetV2 in ways the released ``siamrpn_mobilev2_l234_dwxcorr`` weights
depend on (quirk 8): the stem conv has no padding, every inverted residual has its 1x1 expansion conv even
for expansion 1, stages 4..7 keep stride 8 through dilation, and the stages are children ``layer0`` ..
``layer7`` (keys ``layerN.M.conv.K``).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenetv2"]

# (expansion t, channels c, blocks n, stride s, dilation d) of layer1 .. layer7
_SETTINGS = ((1, 16, 1, 1, 1), (6, 24, 2, 2, 1), (6, 32, 3, 2, 1), (6, 64, 4, 1, 2),
             (6, 96, 3, 1, 2), (6, 160, 3, 1, 4), (6, 320, 1, 1, 4))


class InvertedResidual(nn.Module):
    """1x1 expansion -> 3x3 depthwise (strided / dilated) -> 1x1 projection, residual when shapes allow.

    Args:
        inp: input channels.
        oup: output channels.
        stride: stride of the depthwise conv.
        expand_ratio: hidden width = ``inp * expand_ratio``.
        dilation: dilation of the depthwise conv.
    """

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, dilation: int = 1):
        super().__init__()
        self.use_res_connect = stride == 1 and inp == oup
        hidden = inp * expand_ratio
        padding = dilation if dilation > 1 else 2 - stride  # matches PySOT: padding 0 for stride 2
        # matches PySOT: the expansion conv exists even for expand_ratio 1 (quirk 8)
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, padding, dilation=dilation, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """MobileNetV2 stages ``layer0`` .. ``layer7`` returning the outputs at ``used_layers``.

    Every stage is built whatever ``used_layers`` says (as PySOT does: the key list has all eight).

    Args:
        width_mult: channel multiplier (1.4 in the released config: outputs 44, 134, 448 at layers 3, 5, 7).
        used_layers: indices 0..7 of the stage outputs to return.
    """

    def __init__(self, width_mult: float = 1.0, used_layers: Sequence[int] = (3, 5, 7)):
        super().__init__()
        used_layers = [int(i) for i in used_layers]
        if not used_layers or any(i < 0 or i > 7 for i in used_layers):
            raise ConfigError(f"MobileNetV2 used_layers {used_layers} is invalid (BACKBONE.KWARGS.used_layers): "
                              f"expected a non-empty list of stage indices in 0..7 such as [3, 5, 7].")
        if not width_mult > 0:
            raise ConfigError(f"MobileNetV2 width_mult {width_mult!r} is invalid (BACKBONE.KWARGS.width_mult): "
                              f"expected a positive number such as 1.4.")
        self.used_layers = used_layers
        self.channels = [int(32 * width_mult)] + [int(c * width_mult) for _, c, _, _, _ in _SETTINGS]
        self.layer0 = nn.Sequential(
            nn.Conv2d(3, self.channels[0], 3, 2, 0, bias=False),  # matches PySOT: stem padding 0 (255 -> 127)
            nn.BatchNorm2d(self.channels[0]), nn.ReLU6(inplace=True))
        inp, last_dilation = self.channels[0], 1
        for index, (t, _, n, s, d) in enumerate(_SETTINGS, start=1):
            oup = self.channels[index]
            # the first block enters a newly dilated stage with half its dilation, as the ResNet layers do
            first_dilation = d if d == last_dilation else max(d // 2, 1)
            blocks = [InvertedResidual(inp, oup, s, t, first_dilation)]
            blocks += [InvertedResidual(oup, oup, 1, t, d) for _ in range(1, n)]
            self.add_module(f"layer{index}", nn.Sequential(*blocks))
            inp, last_dilation = oup, d

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """(B, 3, H, W) raw pixels -> one feature map, or a list when several stages are used (PySOT)."""
        outputs = []
        for i in range(8):
            x = getattr(self, f"layer{i}")(x)
            outputs.append(x)  # (B, channels[i], H_i, W_i)
        out = [outputs[i] for i in self.used_layers]
        return out[0] if len(out) == 1 else out


def mobilenetv2(width_mult: float = 1.0, used_layers: Sequence[int] = (3, 5, 7)) -> MobileNetV2:
    """PySOT's MobileNetV2 (``siamrpn_mobilev2_l234_dwxcorr``: width 1.4, used_layers [3, 5, 7])."""
    return MobileNetV2(width_mult=width_mult, used_layers=used_layers)
