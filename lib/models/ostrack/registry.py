"""Backbone and head tables: ``MODEL.BACKBONE.TYPE`` and ``MODEL.HEAD.TYPE`` -> constructor."""

from __future__ import annotations

from torch import nn

from lib.models.layers.head import CenterPredictor
from lib.models.ostrack import vit, vit_ce
from lib.models.registry import Registry

__all__ = ["BACKBONES", "HEADS"]

# Every backbone constructor takes the keyword arguments of VisionTransformer plus ce_loc / ce_keep_ratio
# (ignored, with a warning, by the types without CE).
BACKBONES: Registry[vit.VisionTransformer] = Registry("backbone", "MODEL.BACKBONE.TYPE", plural="backbone types")
for _fn in (vit.vit_base_patch16_224, vit_ce.vit_base_patch16_224_ce,
            vit.vit_large_patch16_224, vit_ce.vit_large_patch16_224_ce,
            vit.vit_small_patch16_224, vit_ce.vit_small_patch16_224_ce,
            vit.vit_tiny_patch16_224, vit_ce.vit_tiny_patch16_224_ce,
            vit.vit_nano_patch16_224, vit_ce.vit_nano_patch16_224_ce):
    BACKBONES.register(_fn.__name__, _fn)

# Head constructors take inplanes, channel, feat_sz, stride. Only CENTER works in OSTrack (spec 8.4 item 26).
HEADS: Registry[nn.Module] = Registry("head", "MODEL.HEAD.TYPE", plural="head types")
HEADS.register("CENTER", CenterPredictor)
