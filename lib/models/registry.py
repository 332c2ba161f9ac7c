"""One table of model builders, by ``--script`` name: ``build_model("siamrpn", cfg)``.

Component tables inside a family (backbones, heads, necks) use the same :class:`~lib.utils.registry.Registry`.

Every builder has the signature ``builder(cfg, training: bool = False, pretrained_dir=None) -> nn.Module``:
``training`` builds the training variant (e.g. OSTrack's drop path, pretrained backbone weights from
``pretrained_dir``); trackers build with ``training=False`` and then load a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from lib.utils.registry import Registry

__all__ = ["MODEL_BUILDERS", "build_model", "Registry"]

MODEL_BUILDERS = Registry("model family", "--script", {
    "ostrack": "lib.models.ostrack:build_ostrack",
    "siamrpn": "lib.models.siamese.build:build_siamrpn_model",
    "siamban": "lib.models.siamese.build:build_siamban_model",
    "siamfcpp": "lib.models.siamfcpp.build:build_siamfcpp_model",
}, plural="model families")


def build_model(script: str, cfg, training: bool = False, pretrained_dir: str | Path | None = None) -> nn.Module:
    """Build the network of a family from its config."""
    return MODEL_BUILDERS.get(script)(cfg, training=training, pretrained_dir=pretrained_dir)
