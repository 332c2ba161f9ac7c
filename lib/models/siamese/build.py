"""The PySOT-family entries of the framework's model tables (:data:`lib.models.registry.MODEL_BUILDERS`,
:data:`lib.models.profiling.TRACKING_PATHS`)."""

from __future__ import annotations

import os
from typing import Any, Callable

import torch
from torch import nn

from lib.models.siamese.model import SiamBAN, SiamRPN, build_siamban, build_siamrpn

__all__ = ["build_siamrpn_model", "build_siamban_model", "tracking_path"]


def build_siamrpn_model(cfg: Any, training: bool = False, pretrained_dir: str | os.PathLike | None = None) -> SiamRPN:
    """SiamRPN++ (the training script loads BACKBONE.PRETRAINED itself; trackers load a checkpoint)."""
    return build_siamrpn(cfg)


def build_siamban_model(cfg: Any, training: bool = False, pretrained_dir: str | os.PathLike | None = None) -> SiamBAN:
    """SiamBAN (see :func:`build_siamrpn_model`)."""
    return build_siamban(cfg)


def tracking_path(model: nn.Module, cfg: Any, device: torch.device) -> dict[str, Callable[[], Any]]:
    """The network as the tracker calls it per frame: ``track`` on a (1, 3, INSTANCE, INSTANCE) crop, after
    ``template`` stored the (1, 3, EXEMPLAR, EXEMPLAR) template features; raw 0..255 pixels."""
    template = torch.rand(1, 3, cfg.TRACK.EXEMPLAR_SIZE, cfg.TRACK.EXEMPLAR_SIZE, device=device) * 255
    search = torch.rand(1, 3, cfg.TRACK.INSTANCE_SIZE, cfg.TRACK.INSTANCE_SIZE, device=device) * 255
    model.template(template)
    return {"track": lambda: model.track(search)}
