"""Name tables of the PySOT-family parts, keyed by PySOT's config names (BACKBONE.TYPE, ADJUST.TYPE, ...)."""

from __future__ import annotations

from torch import nn

from lib.utils.registry import Registry
from lib.models.siamese import alexnet, ban_head, mobilenet_v2, neck, resnet_atrous, rpn_head

__all__ = ["BACKBONES", "NECKS", "RPN_HEADS", "BAN_HEADS"]

BACKBONES: Registry[nn.Module] = Registry("backbone", "BACKBONE.TYPE")
BACKBONES.register("alexnetlegacy", alexnet.alexnetlegacy)
BACKBONES.register("mobilenetv2", mobilenet_v2.mobilenetv2)
BACKBONES.register("resnet18", resnet_atrous.resnet18)
BACKBONES.register("resnet34", resnet_atrous.resnet34)
BACKBONES.register("resnet50", resnet_atrous.resnet50)
BACKBONES.register("alexnet", alexnet.alexnet)

NECKS: Registry[nn.Module] = Registry("neck", "ADJUST.TYPE")
NECKS.register("AdjustLayer", neck.AdjustLayer)
NECKS.register("AdjustAllLayer", neck.AdjustAllLayer)

RPN_HEADS: Registry[nn.Module] = Registry("RPN head", "RPN.TYPE")
RPN_HEADS.register("UPChannelRPN", rpn_head.UPChannelRPN)
RPN_HEADS.register("DepthwiseRPN", rpn_head.DepthwiseRPN)
RPN_HEADS.register("MultiRPN", rpn_head.MultiRPN)

BAN_HEADS: Registry[nn.Module] = Registry("BAN head", "BAN.TYPE")
BAN_HEADS.register("UPChannelBAN", ban_head.UPChannelBAN)
BAN_HEADS.register("DepthwiseBAN", ban_head.DepthwiseBAN)
BAN_HEADS.register("MultiBAN", ban_head.MultiBAN)
