"""Name tables of the PySOT-family parts, keyed by PySOT's config names (BACKBONE.TYPE, ADJUST.TYPE, ...)."""

from __future__ import annotations

from typing import Callable, Sequence

from torch import nn

from lib.utils.registry import Registry
from lib.models.siamese import alexnet, ban_head, mobilenet_v2, neck, resnet_atrous, rpn_head

__all__ = ["BACKBONES", "NECKS", "RPN_HEADS", "BAN_HEADS"]


def _table(kind: str, where: str, constructors: Sequence[Callable[..., nn.Module]]) -> Registry[nn.Module]:
    # every constructor is named as PySOT's config names it (e.g. "resnet50", "MultiRPN"), so its
    # __name__ is its key; the order of the list is the order the unknown-name message lists them in
    return Registry(kind, where, {constructor.__name__: constructor for constructor in constructors})


BACKBONES = _table("backbone", "BACKBONE.TYPE", (
    alexnet.alexnetlegacy, mobilenet_v2.mobilenetv2, resnet_atrous.resnet18, resnet_atrous.resnet34,
    resnet_atrous.resnet50, alexnet.alexnet))
NECKS = _table("neck", "ADJUST.TYPE", (neck.AdjustLayer, neck.AdjustAllLayer))
RPN_HEADS = _table("RPN head", "RPN.TYPE", (rpn_head.UPChannelRPN, rpn_head.DepthwiseRPN, rpn_head.MultiRPN))
BAN_HEADS = _table("BAN head", "BAN.TYPE", (ban_head.UPChannelBAN, ban_head.DepthwiseBAN, ban_head.MultiBAN))
