"""ResNet with PySOT's dilation scheme: stride 8 from layer2 on, dilated layer3/layer4 (spec 3.2).

SiamRPN++ (https://arxiv.org/abs/1812.11703) keeps the search feature map at stride 8 so that the
correlation heads see 31x31 maps for a 255 crop. The geometry (padding-free stem and layer2 entry, 3x3
downsample convs, halved dilation in the first block of a dilated layer) is the one of PySOT's
``resnet_atrous.py``; the released ``model.pth`` / ``resnet50.model`` weights only fit this structure
(quirk 1), which is why torchvision's blocks (padding = dilation, 1x1 downsample) are not used.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["BasicBlock", "Bottleneck", "ResNetAtrous", "resnet18", "resnet34", "resnet50"]


def _first_block_dilation(stride: int, dilation: int, has_downsample: bool) -> tuple[int, int]:
    """(dilation, padding) of a block's strided 3x3 conv.

    matches PySOT: padding is ``2 - stride`` (so 0 for the stride-2 entry of layer2), and the first block of a
    dilated layer (the one with a downsample) uses half the layer's dilation (quirk 1).
    """
    padding = 2 - stride
    if has_downsample and dilation > 1:
        dilation = dilation // 2
        padding = dilation
    if dilation > 1:
        padding = dilation
    return dilation, padding


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided, dilated) -> 1x1 residual block with expansion 4.

    Args:
        inplanes: input channels.
        planes: width of the 3x3 conv; the output has ``4 * planes`` channels.
        stride: stride of the 3x3 conv.
        downsample: projection of the input for the residual add, or None.
        dilation: the layer's dilation (halved in the block that carries the downsample).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        dilation, padding = _first_block_dilation(stride, dilation, downsample is not None)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=padding, dilation=dilation,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual add (ResNet-18/34), PySOT's padding and dilation rules.

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: stride of the first conv.
        downsample: projection of the input for the residual add, or None.
        dilation: the layer's dilation (halved in the first conv of the block that carries the downsample).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1):
        super().__init__()
        first_dilation, padding = _first_block_dilation(stride, dilation, downsample is not None)
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=padding,
                               dilation=first_dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetAtrous(nn.Module):
    """Stride-8 dilated ResNet returning the outputs selected by ``used_layers``.

    The candidate outputs are ``[stem (pre-maxpool), layer1, layer2, layer3, layer4]`` (quirk 2: index 0 is
    the stem, so ``used_layers=[2, 3, 4]`` are layer2..layer4 with 512, 1024, 2048 channels for ResNet-50).
    Only the layers a used index needs are built: layer3 when 3 is used, layer4 when 4 is used (an unbuilt
    layer passes its input through and has no weights), as PySOT does. SiamBAN's copy differs only for
    ``used_layers`` with 4 but without 3 (it also builds layer3); no released model uses that.

    Args:
        block: :class:`Bottleneck` or :class:`BasicBlock`.
        layers: number of blocks in layer1..layer4.
        used_layers: indices into the candidate outputs (0..4).
    """

    def __init__(self, block: type[Bottleneck] | type[BasicBlock], layers: Sequence[int],
                 used_layers: Sequence[int] = (2, 3, 4)):
        super().__init__()
        used_layers = [int(i) for i in used_layers]
        if not used_layers or any(i < 0 or i > 4 for i in used_layers):
            raise ConfigError(f"ResNet used_layers {used_layers} is invalid (BACKBONE.KWARGS.used_layers): expected "
                              f"a non-empty list of indices into [stem, layer1, layer2, layer3, layer4], i.e. "
                              f"values in 0..4 such as [2, 3, 4].")
        self.used_layers = used_layers
        self.inplanes = 64
        # matches PySOT: the stem conv has no padding (127 -> 61, 255 -> 125; quirk 1)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=1, dilation=2) if 3 in used_layers \
            else nn.Identity()
        self.layer4 = self._make_layer(block, 512, layers[3], stride=1, dilation=4) if 4 in used_layers \
            else nn.Identity()
        self._init_weights()

    def _make_layer(self, block: type[Bottleneck] | type[BasicBlock], planes: int, blocks: int, stride: int = 1,
                    dilation: int = 1) -> nn.Sequential:
        downsample = None
        out_planes = planes * block.expansion
        if stride != 1 or self.inplanes != out_planes:
            if stride == 1 and dilation == 1:
                conv = nn.Conv2d(self.inplanes, out_planes, kernel_size=1, stride=stride, bias=False)
            else:
                # matches PySOT: a 3x3 projection (padding 0 at the stride-2 entry, half dilation in dilated layers)
                ds_dilation, ds_padding = (1, 0) if dilation == 1 else (dilation // 2, dilation // 2)
                conv = nn.Conv2d(self.inplanes, out_planes, kernel_size=3, stride=stride, padding=ds_padding,
                                 dilation=ds_dilation, bias=False)
            downsample = nn.Sequential(conv, nn.BatchNorm2d(out_planes))
        modules = [block(self.inplanes, planes, stride, downsample, dilation=dilation)]
        self.inplanes = out_planes
        modules += [block(self.inplanes, planes, dilation=dilation) for _ in range(1, blocks)]
        return nn.Sequential(*modules)

    def _init_weights(self) -> None:
        # matches PySOT: conv weights ~ N(0, sqrt(2 / (k_h * k_w * out_channels))), BatchNorm weight 1, bias 0
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        """(B, 3, H, W) raw pixels -> one feature map, or a list when several layers are used."""
        x_ = self.relu(self.bn1(self.conv1(x)))  # (B, 64, H', W') stem output before the max-pool
        p1 = self.layer1(self.maxpool(x_))
        p2 = self.layer2(p1)  # (B, 512, 31, 31) for a 255 search crop
        p3 = self.layer3(p2)
        p4 = self.layer4(p3)
        candidates = [x_, p1, p2, p3, p4]
        out = [candidates[i] for i in self.used_layers]
        return out[0] if len(out) == 1 else out


def resnet18(used_layers: Sequence[int] = (2, 3, 4)) -> ResNetAtrous:
    """Dilated ResNet-18 (BasicBlock [2, 2, 2, 2])."""
    return ResNetAtrous(BasicBlock, [2, 2, 2, 2], used_layers=used_layers)


def resnet34(used_layers: Sequence[int] = (2, 3, 4)) -> ResNetAtrous:
    """Dilated ResNet-34 (BasicBlock [3, 4, 6, 3])."""
    return ResNetAtrous(BasicBlock, [3, 4, 6, 3], used_layers=used_layers)


def resnet50(used_layers: Sequence[int] = (2, 3, 4)) -> ResNetAtrous:
    """Dilated ResNet-50 (Bottleneck [3, 4, 6, 3]), the backbone of SiamRPN++ r50 and SiamBAN."""
    return ResNetAtrous(Bottleneck, [3, 4, 6, 3], used_layers=used_layers)
